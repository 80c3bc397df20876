/*
 * autograd.cpp - gradients (requires_grad, backward, grad access, autograd.grad, no-grad
 * sections) and the optimizers (SGD, Adam, AdamW with parameter groups, lr per step, gradient
 * clipping). Optimizer state serialization lives in serialize.cpp.
 */
#include "internal.h"
#include "optim_internal.h"

#include <vector>

using namespace pictor;

namespace {
thread_local std::vector<bool> g_grad_modes; /* GradMode to restore at each pt_no_grad_end */
} // namespace

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
