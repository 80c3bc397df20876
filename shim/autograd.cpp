/*
 * autograd.cpp - gradients (requires_grad, backward, grad access, autograd.grad, no-grad
 * sections) and the optimizers (SGD, Adam, AdamW with parameter groups, lr per step, gradient
 * clipping; AdamW's update is FusedAdamW, one in-place pass per parameter, see optim_internal.h).
 * Optimizer state serialization lives in serialize.cpp.
 */
#include "internal.h"
#include "optim_internal.h"

#include <vector>

using namespace pictor;

namespace {
thread_local std::vector<bool> g_grad_modes; /* GradMode to restore at each pt_no_grad_end */
} // namespace

/* ------------------------------------------------------------------ fused AdamW */

namespace {

/* One pass over n elements: decay, both moments, the update (optim_internal.h). The operation
 * order is torch's (mul_ then add_ with alpha, addcmul_, sqrt / sqrt(bc2) + eps, addcdiv_). */
template <typename T>
void adamw_pass(T *p, const T *g, T *m, T *v, int64_t n, T decay, T b1, T b2, T bc2_sqrt, T eps,
                T step_size)
{
    const T one_b1 = (T)1 - b1, one_b2 = (T)1 - b2;
    at::parallel_for(0, n, 32768, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; i++) {
            T gi = g[i];
            T mi = m[i] * b1 + one_b1 * gi;
            T vi = v[i] * b2 + one_b2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            p[i] = p[i] * decay - step_size * (mi / (std::sqrt(vi) / bc2_sqrt + eps));
        }
    });
}

} // namespace

namespace pictor {

torch::Tensor FusedAdamW::step(LossClosure closure)
{
    at::NoGradGuard no_grad;
    torch::Tensor loss;
    if (closure) {
        at::AutoGradMode enable_grad(true);
        loss = closure();
    }
    for (auto &group : param_groups_) {
        auto &o = static_cast<torch::optim::AdamWOptions &>(group.options());
        const double lr = o.lr(), wd = o.weight_decay(), beta1 = std::get<0>(o.betas()),
                     beta2 = std::get<1>(o.betas()), eps = o.eps();
        for (auto &p : group.params()) {
            if (!p.grad().defined())
                continue;
            const at::Tensor &grad = p.grad();
            TORCH_CHECK(!grad.is_sparse(), "AdamW does not support sparse gradients");
            auto key = c10::guts::to_string(p.unsafeGetTensorImpl());
            auto it = state_.find(key);
            if (it == state_.end()) {
                auto st = std::make_unique<torch::optim::AdamWParamState>();
                st->step(0);
                st->exp_avg(torch::zeros_like(p, at::MemoryFormat::Preserve));
                st->exp_avg_sq(torch::zeros_like(p, at::MemoryFormat::Preserve));
                if (o.amsgrad())
                    st->max_exp_avg_sq(torch::zeros_like(p, at::MemoryFormat::Preserve));
                it = state_.emplace(key, std::move(st)).first;
            }
            auto &st = static_cast<torch::optim::AdamWParamState &>(*it->second);
            st.step(st.step() + 1);
            const double bc1 = 1 - std::pow(beta1, (double)st.step());
            const double bc2 = 1 - std::pow(beta2, (double)st.step());
            const double step_size = lr / bc1;
            at::Tensor &m = st.exp_avg(), &v = st.exp_avg_sq();
            const auto dt = p.scalar_type();
            const bool fast = !o.amsgrad() && (dt == at::kFloat || dt == at::kDouble) &&
                              grad.scalar_type() == dt && m.scalar_type() == dt &&
                              v.scalar_type() == dt && p.is_contiguous() && grad.is_contiguous() &&
                              m.is_contiguous() && v.is_contiguous() && !p.is_neg() &&
                              !p.is_conj() && grad.sizes() == p.sizes() && m.sizes() == p.sizes() &&
                              v.sizes() == p.sizes(); /* else the op form throws on a mismatch */
            if (fast && dt == at::kFloat) {
                adamw_pass<float>(p.data_ptr<float>(), grad.data_ptr<float>(), m.data_ptr<float>(),
                                  v.data_ptr<float>(), p.numel(), (float)(1 - lr * wd), (float)beta1,
                                  (float)beta2, (float)std::sqrt(bc2), (float)eps, (float)step_size);
                p.unsafeGetTensorImpl()->bump_version(); /* as an in-place op would */
                continue;
            }
            if (fast) {
                adamw_pass<double>(p.data_ptr<double>(), grad.data_ptr<double>(),
                                   m.data_ptr<double>(), v.data_ptr<double>(), p.numel(), 1 - lr * wd,
                                   beta1, beta2, std::sqrt(bc2), eps, step_size);
                p.unsafeGetTensorImpl()->bump_version();
                continue;
            }
            if (wd != 0) /* the base class's formula, op by op */
                p.mul_(1 - lr * wd);
            m.mul_(beta1).add_(grad, 1 - beta1);
            v.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
            at::Tensor denom;
            if (o.amsgrad()) {
                at::Tensor &mx = st.max_exp_avg_sq();
                at::maximum_out(mx, mx, v);
                denom = (mx.sqrt() / std::sqrt(bc2)).add_(eps);
            } else {
                denom = (v.sqrt() / std::sqrt(bc2)).add_(eps);
            }
            p.addcdiv_(m, denom, -step_size);
        }
    }
    return loss;
}

} // namespace pictor

extern "C" {

pt_status pt_set_requires_grad(pt_tensor *t, int on) { PT_TRY_STATUS({ T(t).requires_grad_(on != 0); }) }

pt_status pt_backward(const pt_tensor *loss, const pt_tensor *grad, int retain_graph)
{
    PT_TRY_STATUS({
        const at::Tensor &l = T(loss);
        if (!grad && l.numel() != 1)
            throw std::invalid_argument("backward of non-scalar " + describe(l) +
                                        " needs a grad tensor");
        l.backward(grad ? T(grad) : at::Tensor(), retain_graph != 0);
    })
}

int pt_has_grad(const pt_tensor *t) { return t && t->t.grad().defined() ? 1 : 0; }

pt_tensor *pt_grad(const pt_tensor *t)
{
    PT_TRY_TENSOR(([&] {
        at::Tensor g = T(t).grad();
        if (!g.defined())
            throw std::invalid_argument(describe(T(t)) + " has no gradient");
        return g;
    }()))
}

pt_status pt_set_grad(pt_tensor *t, const pt_tensor *grad)
{
    PT_TRY_STATUS({ T(t).mutable_grad() = grad ? T(grad).detach().clone() : at::Tensor(); })
}

pt_status pt_zero_grad(pt_tensor *t) { PT_TRY_STATUS({ T(t).mutable_grad() = at::Tensor(); }) }

pt_tensor *pt_detach(const pt_tensor *t) { PT_TRY_TENSOR(T(t).detach()) }

pt_status pt_autograd_grad(pt_tensor *const *outputs, int n_outputs, pt_tensor *const *inputs,
                           int n_inputs, pt_tensor **grads_out, int retain_graph,
                           int create_graph, int allow_unused)
{
    PT_TRY_STATUS({
        if (n_outputs <= 0 || n_inputs <= 0 || !outputs || !inputs || !grads_out)
            throw std::invalid_argument("need outputs, inputs and grads_out");
        std::vector<at::Tensor> outs, ins;
        for (int i = 0; i < n_outputs; i++)
            outs.push_back(T(outputs[i]));
        for (int i = 0; i < n_inputs; i++)
            ins.push_back(T(inputs[i]));
        auto gs = torch::autograd::grad(outs, ins, {}, retain_graph != 0, create_graph != 0,
                                        allow_unused != 0);
        for (int i = 0; i < n_inputs; i++)
            grads_out[i] = gs[(size_t)i].defined() ? wrap(gs[(size_t)i]) : nullptr;
    })
}

void pt_no_grad_begin(void)
{
    g_grad_modes.push_back(c10::GradMode::is_enabled());
    c10::GradMode::set_enabled(false);
}

void pt_no_grad_end(void)
{
    if (g_grad_modes.empty())
        return;
    c10::GradMode::set_enabled(g_grad_modes.back());
    g_grad_modes.pop_back();
}

int pt_grad_enabled(void) { return c10::GradMode::is_enabled() ? 1 : 0; }

/* ------------------------------------------------------------------ optimizers */

pt_optim_options pt_optim_defaults(pt_optim_kind kind)
{
    pt_optim_options o;
    o.kind = kind;
    o.lr = kind == PT_OPTIM_SGD ? 0.01 : 1e-3;
    o.weight_decay = kind == PT_OPTIM_ADAMW ? 1e-2 : 0.0;
    o.momentum = 0.0;
    o.dampening = 0.0;
    o.nesterov = 0;
    o.beta1 = 0.9;
    o.beta2 = 0.999;
    o.eps = 1e-8;
    o.amsgrad = 0;
    return o;
}

pt_optim *pt_optim_new(const pt_optim_options *opts)
{
    if (!opts) {
        on_null(__func__);
        return nullptr;
    }
    if (opts->kind != PT_OPTIM_SGD && opts->kind != PT_OPTIM_ADAM && opts->kind != PT_OPTIM_ADAMW) {
        set_error("pt_optim_new: unknown optimizer kind " + std::to_string((int)opts->kind));
        return nullptr;
    }
    if (!(opts->lr >= 0) || !(opts->weight_decay >= 0)) {
        set_error("pt_optim_new: lr and weight_decay must be >= 0");
        return nullptr;
    }
    return new pt_optim{*opts, nullptr};
}

void pt_optim_free(pt_optim *o) { delete o; }

int pt_optim_add_group(pt_optim *o, pt_tensor *const *params, int n, double lr,
                       double weight_decay)
{
    try {
        if (!o)
            throw std::invalid_argument("optimizer is NULL");
        if (n <= 0 || !params)
            throw std::invalid_argument("a parameter group needs at least one tensor");
        std::vector<at::Tensor> ps;
        for (int i = 0; i < n; i++) {
            const at::Tensor &p = T(params[i]);
            if (!p.is_leaf() || !p.requires_grad())
                throw std::invalid_argument("parameter " + std::to_string(i) + " (" +
                                            describe(p) + ") is not a leaf requiring grad");
            ps.push_back(p);
        }
        torch::optim::OptimizerParamGroup group(ps, optim_group_options(o->opts, lr, weight_decay));
        if (!o->opt) {
            o->opt = optim_create(o->opts, {group});
        } else {
            o->opt->add_param_group(group);
        }
        return (int)o->opt->param_groups().size() - 1;
    } catch (const null_arg &) {
        on_null(__func__);
    } catch (const std::exception &e) {
        set_error(std::string("pt_optim_add_group: ") + first_line(e.what()));
    }
    return -1;
}

int pt_optim_num_groups(const pt_optim *o) { return o && o->opt ? (int)o->opt->param_groups().size() : 0; }

pt_status pt_optim_set_lr(pt_optim *o, int group, double lr)
{
    PT_TRY_STATUS({
        if (!o || !o->opt)
            throw std::invalid_argument("optimizer has no parameter group");
        auto &groups = o->opt->param_groups();
        if (group >= (int)groups.size())
            throw std::invalid_argument("group " + std::to_string(group) + " of " +
                                        std::to_string(groups.size()));
        for (size_t i = 0; i < groups.size(); i++)
            if (group < 0 || (size_t)group == i)
                groups[i].options().set_lr(lr);
    })
}

double pt_optim_get_lr(const pt_optim *o, int group)
{
    if (!o || !o->opt || group < 0 || group >= (int)o->opt->param_groups().size()) {
        set_error("pt_optim_get_lr: no group " + std::to_string(group));
        return NAN;
    }
    return o->opt->param_groups()[(size_t)group].options().get_lr();
}

pt_status pt_optim_step(pt_optim *o)
{
    PT_TRY_STATUS({
        if (!o || !o->opt)
            throw std::invalid_argument("optimizer has no parameter group");
        o->opt->step();
    })
}

pt_status pt_optim_zero_grad(pt_optim *o)
{
    PT_TRY_STATUS({
        if (!o || !o->opt)
            throw std::invalid_argument("optimizer has no parameter group");
        for (auto &g : o->opt->param_groups())
            for (auto &p : g.params())
                p.mutable_grad() = at::Tensor();
    })
}

pt_status pt_clip_grad_norm(pt_tensor *const *params, int n, double max_norm, double norm_type,
                            double *total_norm)
{
    PT_TRY_STATUS({
        std::vector<at::Tensor> ps;
        for (int i = 0; i < n; i++)
            ps.push_back(T(params[i]));
        double norm = torch::nn::utils::clip_grad_norm_(ps, max_norm, norm_type);
        if (total_norm)
            *total_norm = norm;
    })
}

} /* extern "C" */
