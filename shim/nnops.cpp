/*
 * nnops.cpp - neural-network operations (convolutions, normalisation, activations, pooling,
 * resampling, dropout) and the loss primitives, as torch.nn.functional has them.
 */
#include "internal.h"

using namespace pictor;

namespace {
at::IntArrayRef pair(const int64_t *v, const char *what)
{
    if (!v)
        throw std::invalid_argument(std::string(what) + " is NULL (need {h, w})");
    return at::IntArrayRef(v, 2);
}

int64_t reduction_of(pt_reduction r)
{
    switch (r) {
    case PT_REDUCE_NONE: return at::Reduction::None;
    case PT_REDUCE_MEAN: return at::Reduction::Mean;
    case PT_REDUCE_SUM: return at::Reduction::Sum;
    }
    throw std::invalid_argument("unknown reduction " + std::to_string((int)r));
}

void need_dims(const at::Tensor &x, int64_t nd, const char *what)
{
    if (x.dim() != nd)
        throw std::invalid_argument(std::string(what) + " must have " + std::to_string(nd) +
                                    " dims, got " + describe(x));
}
} // namespace

extern "C" {

pt_tensor *pt_conv2d(const pt_tensor *x, const pt_tensor *w, const pt_tensor *b,
                     const int64_t stride[2], const int64_t padding[2],
                     const int64_t dilation[2], int64_t groups)
{
    PT_TRY_TENSOR(at::conv2d(T(x), T(w), OPT(b), pair(stride, "stride"), pair(padding, "padding"),
                             pair(dilation, "dilation"), groups))
}

pt_tensor *pt_conv_transpose2d(const pt_tensor *x, const pt_tensor *w, const pt_tensor *b,
                               const int64_t stride[2], const int64_t padding[2],
                               const int64_t output_padding[2], int64_t groups,
                               const int64_t dilation[2])
{
    PT_TRY_TENSOR(at::conv_transpose2d(T(x), T(w), OPT(b), pair(stride, "stride"),
                                       pair(padding, "padding"),
                                       pair(output_padding, "output_padding"), groups,
                                       pair(dilation, "dilation")))
}

pt_tensor *pt_linear(const pt_tensor *x, const pt_tensor *w, const pt_tensor *b) { PT_TRY_TENSOR(at::linear(T(x), T(w), OPT(b))) }
pt_tensor *pt_embedding(const pt_tensor *w, const pt_tensor *i) { PT_TRY_TENSOR(at::embedding(T(w), T(i))) }

pt_tensor *pt_batch_norm(const pt_tensor *x, const pt_tensor *w, const pt_tensor *b,
                         pt_tensor *rm, pt_tensor *rv, int training, double momentum, double eps)
{
    PT_TRY_TENSOR(at::batch_norm(T(x), OPT(w), OPT(b), OPT(rm), OPT(rv), training != 0, momentum,
                                 eps, true))
}

pt_tensor *pt_group_norm(const pt_tensor *x, int64_t groups, const pt_tensor *w,
                         const pt_tensor *b, double eps)
{
    PT_TRY_TENSOR(at::group_norm(T(x), groups, OPT(w), OPT(b), eps, true))
}

pt_tensor *pt_layer_norm(const pt_tensor *x, const int64_t *shape, int n, const pt_tensor *w,
                         const pt_tensor *b, double eps)
{
    PT_TRY_TENSOR(at::layer_norm(T(x), dims_of(shape, n), OPT(w), OPT(b), eps, true))
}

pt_tensor *pt_instance_norm(const pt_tensor *x, const pt_tensor *w, const pt_tensor *b,
                            pt_tensor *rm, pt_tensor *rv, int use_input_stats, double momentum,
                            double eps)
{
    PT_TRY_TENSOR(at::instance_norm(T(x), OPT(w), OPT(b), OPT(rm), OPT(rv), use_input_stats != 0,
                                    momentum, eps, true))
}

pt_tensor *pt_relu(const pt_tensor *x) { PT_TRY_TENSOR(at::relu(T(x))) }
pt_tensor *pt_relu6(const pt_tensor *x) { PT_TRY_TENSOR(at::hardtanh(T(x), 0.0, 6.0)) }
pt_tensor *pt_leaky_relu(const pt_tensor *x, double s) { PT_TRY_TENSOR(at::leaky_relu(T(x), s)) }
pt_tensor *pt_hardswish(const pt_tensor *x) { PT_TRY_TENSOR(at::hardswish(T(x))) }
pt_tensor *pt_hardsigmoid(const pt_tensor *x) { PT_TRY_TENSOR(at::hardsigmoid(T(x))) }
pt_tensor *pt_sigmoid(const pt_tensor *x) { PT_TRY_TENSOR(at::sigmoid(T(x))) }
pt_tensor *pt_tanh(const pt_tensor *x) { PT_TRY_TENSOR(at::tanh(T(x))) }
pt_tensor *pt_silu(const pt_tensor *x) { PT_TRY_TENSOR(at::silu(T(x))) }
pt_tensor *pt_gelu(const pt_tensor *x) { PT_TRY_TENSOR(at::gelu(T(x))) }
pt_tensor *pt_softplus(const pt_tensor *x) { PT_TRY_TENSOR(at::softplus(T(x))) }
pt_tensor *pt_softmax(const pt_tensor *x, int d) { PT_TRY_TENSOR(at::softmax(T(x), d)) }
pt_tensor *pt_log_softmax(const pt_tensor *x, int d) { PT_TRY_TENSOR(at::log_softmax(T(x), d)) }

pt_tensor *pt_max_pool2d(const pt_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                         const int64_t padding[2], const int64_t dilation[2], int ceil_mode)
{
    static const int64_t one[2] = {1, 1}, zero[2] = {0, 0};
    PT_TRY_TENSOR(at::max_pool2d(T(x), pair(kernel, "kernel"),
                                 stride ? pair(stride, "stride") : pair(kernel, "kernel"),
                                 padding ? pair(padding, "padding") : pair(zero, "padding"),
                                 dilation ? pair(dilation, "dilation") : pair(one, "dilation"),
                                 ceil_mode != 0))
}

pt_tensor *pt_avg_pool2d(const pt_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                         const int64_t padding[2], int ceil_mode, int count_include_pad)
{
    static const int64_t zero[2] = {0, 0};
    PT_TRY_TENSOR(at::avg_pool2d(T(x), pair(kernel, "kernel"),
                                 stride ? pair(stride, "stride") : pair(kernel, "kernel"),
                                 padding ? pair(padding, "padding") : pair(zero, "padding"),
                                 ceil_mode != 0, count_include_pad != 0))
}

pt_tensor *pt_adaptive_avg_pool2d(const pt_tensor *x, int64_t h, int64_t w) { PT_TRY_TENSOR(at::adaptive_avg_pool2d(T(x), {h, w})) }
pt_tensor *pt_adaptive_max_pool2d(const pt_tensor *x, int64_t h, int64_t w) { PT_TRY_TENSOR(std::get<0>(at::adaptive_max_pool2d(T(x), {h, w}))) }

pt_tensor *pt_interpolate(const pt_tensor *x, int64_t out_h, int64_t out_w, pt_interp mode,
                          int align_corners)
{
    PT_TRY_TENSOR(([&] {
        need_dims(T(x), 4, "input");
        if (mode == PT_INTERP_NEAREST)
            return at::upsample_nearest2d(T(x), {out_h, out_w});
        if (mode == PT_INTERP_BILINEAR)
            return at::upsample_bilinear2d(T(x), {out_h, out_w}, align_corners != 0);
        throw std::invalid_argument("unknown interpolation mode " + std::to_string((int)mode));
    }()))
}

pt_tensor *pt_grid_sample(const pt_tensor *x, const pt_tensor *grid, pt_interp mode,
                          pt_grid_padding padding, int align_corners)
{
    /* ATen codes: interpolation 0 bilinear, 1 nearest; padding 0 zeros, 1 border, 2 reflection */
    PT_TRY_TENSOR(at::grid_sampler(T(x), T(grid), mode == PT_INTERP_NEAREST ? 1 : 0, (int64_t)padding,
                                   align_corners != 0))
}

pt_tensor *pt_pad(const pt_tensor *x, const int64_t *pads, int n, double value)
{
    PT_TRY_TENSOR(at::constant_pad_nd(T(x), dims_of(pads, n), value))
}

pt_tensor *pt_dropout(const pt_tensor *x, double p, int training) { PT_TRY_TENSOR(at::dropout(T(x), p, training != 0)) }

/* ------------------------------------------------------------------ loss primitives */
pt_tensor *pt_cross_entropy(const pt_tensor *logits, const pt_tensor *target,
                            const pt_tensor *weight, int64_t ignore_index, pt_reduction r,
                            double label_smoothing)
{
    PT_TRY_TENSOR(at::cross_entropy_loss(T(logits), T(target), OPT(weight), reduction_of(r),
                                         ignore_index, label_smoothing))
}

pt_tensor *pt_nll_loss(const pt_tensor *lp, const pt_tensor *target, const pt_tensor *weight,
                       int64_t ignore_index, pt_reduction r)
{
    PT_TRY_TENSOR(at::nll_loss_nd(T(lp), T(target), OPT(weight), reduction_of(r), ignore_index))
}

pt_tensor *pt_bce_with_logits(const pt_tensor *x, const pt_tensor *t, const pt_tensor *w,
                              const pt_tensor *pos_weight, pt_reduction r)
{
    PT_TRY_TENSOR(at::binary_cross_entropy_with_logits(T(x), T(t), OPT(w), OPT(pos_weight),
                                                       reduction_of(r)))
}

pt_tensor *pt_bce(const pt_tensor *p, const pt_tensor *t, const pt_tensor *w, pt_reduction r)
{
    PT_TRY_TENSOR(at::binary_cross_entropy(T(p), T(t), OPT(w), reduction_of(r)))
}

pt_tensor *pt_mse_loss(const pt_tensor *a, const pt_tensor *b, pt_reduction r) { PT_TRY_TENSOR(at::mse_loss(T(a), T(b), reduction_of(r))) }
pt_tensor *pt_l1_loss(const pt_tensor *a, const pt_tensor *b, pt_reduction r) { PT_TRY_TENSOR(at::l1_loss(T(a), T(b), reduction_of(r))) }
pt_tensor *pt_smooth_l1_loss(const pt_tensor *a, const pt_tensor *b, pt_reduction r, double beta)
{
    PT_TRY_TENSOR(at::smooth_l1_loss(T(a), T(b), reduction_of(r), beta))
}

} /* extern "C" */
