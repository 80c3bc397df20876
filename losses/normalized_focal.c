/*
 * normalized_focal.c - see normalized_focal.h.
 */
#include "normalized_focal.h"

#include <math.h>

pt_tensor *loss_normalized_focal(const pt_tensor *logits, const pt_tensor *target,
                                 const pt_tensor *weight, double alpha, double gamma)
{
    if (!logits || !target || !weight)
        return NULL;
    if (pt_ndim(logits) != 4 || pt_size(logits, 1) != 1 || pt_ndim(target) != 4 ||
        pt_ndim(weight) != 4 || pt_numel(target) != pt_numel(logits) ||
        pt_numel(weight) != pt_numel(logits)) {
        char a[96], b[96], c[96];
        pt_error_set("normalized focal loss: logits %s, target %s and weight %s must all be "
                     "[B, 1, H, W]", pt_describe(logits, a, sizeof a),
                     pt_describe(target, b, sizeof b), pt_describe(weight, c, sizeof c));
        return NULL;
    }
    const double eps = 1e-8;
    const int64_t hw[2] = {2, 3};
    pt_tensor *valid = pt_gt_s(weight, 0.0);
    pt_tensor *p = pt_sigmoid(logits);
    pt_tensor *pt_ = pt_where(valid, pt_rsub_s(pt_abs(pt_sub(target, p)), 1.0), pt_ones_like(p));
    pt_tensor *a = pt_mul(pt_add_s(pt_mul_s(pt_to_dtype(pt_gt_s(target, 0.5), PT_F32), 2 * alpha - 1), 1 - alpha), weight);
    pt_tensor *beta = pt_pow_s(pt_rsub_s(pt_, 1.0), gamma);
    pt_tensor *mult = pt_detach(pt_div(pt_sum_dims(weight, hw, 2, 1),
                                       pt_add_s(pt_sum_dims(beta, hw, 2, 1), eps)));
    pt_tensor *l = pt_mul(pt_mul(pt_neg(a), pt_mul(beta, mult)), pt_log(pt_clamp(pt_add_s(pt_, eps), NAN, 1.0)));
    pt_tensor *per = pt_div(pt_sum_dims(pt_mul(l, weight), hw, 2, 0),
                            pt_add_s(pt_sum_dims(weight, hw, 2, 0), eps));
    return pt_mean(per);
}
