/* polar_iou.c - see polar_iou.h for the formula and its guards: PolarMask's polar IoU loss. */
#include "polar_iou.h"

#include <math.h>

static const char *WHO = "polar IoU loss";

static int is_floating(pt_dtype dt)
{
    return dt == PT_F16 || dt == PT_BF16 || dt == PT_F32 || dt == PT_F64;
}

/* 1 when every element of t is finite, 0 when not, -1 on a shim failure. */
static int all_finite(const pt_tensor *t)
{
    pt_tensor *f = pt_isfinite(t);
    pt_tensor *all = pt_all(f);
    double v = pt_item_or_nan(all);
    pt_free(all);
    pt_free(f);
    return isnan(v) ? -1 : v != 0.0;
}

static double min_of(const pt_tensor *t)
{
    pt_tensor *m = pt_min(t);
    double v = pt_item_or_nan(m);
    pt_free(m);
    return v;
}

/* Checks shapes, dtypes and values; returns N (>= 0) or -1 with the error set. */
static int64_t check_inputs(const pt_tensor *pred, const pt_tensor *target,
                            const pt_tensor *weights, double eps)
{
    char a[128], b[128];
    if (!pred || !target) {
        if (!pt_error_pending())
            pt_error_set("%s: pred or target is NULL", WHO);
        return -1;
    }
    if (!(eps > 0.0) || !isfinite(eps)) {
        pt_error_set("%s: eps is %g, expected a finite value > 0", WHO, eps);
        return -1;
    }
    int64_t n = pt_size(pred, 0), r = pt_size(pred, 1);
    if (pt_ndim(pred) != 2 || r < 1 || pt_ndim(target) != 2 || pt_size(target, 0) != n ||
        pt_size(target, 1) != r || !is_floating(pt_dtype_of(pred)) ||
        !is_floating(pt_dtype_of(target))) {
        pt_error_set("%s: pred %s and target %s must be floating [N, R] tensors of the same "
                     "shape with R >= 1", WHO, pt_describe(pred, a, sizeof a),
                     pt_describe(target, b, sizeof b));
        return -1;
    }
    if (weights && (pt_ndim(weights) != 1 || pt_size(weights, 0) != n ||
                    !is_floating(pt_dtype_of(weights)))) {
        pt_error_set("%s: weights %s, expected a floating [%lld] tensor (one per row of "
                     "pred %s)", WHO, pt_describe(weights, a, sizeof a), (long long)n,
                     pt_describe(pred, b, sizeof b));
        return -1;
    }
    if (n == 0)
        return 0;
    int ok;
    if ((ok = all_finite(target)) != 1 || !(min_of(target) > 0.0)) {
        if (ok >= 0)
            pt_error_set("%s: target ray lengths must be finite and > 0 (smallest %g); a ray "
                         "that meets no contour needs a small positive floor", WHO,
                         min_of(target));
        return -1;
    }
    if ((ok = all_finite(pred)) != 1) {
        if (ok == 0)
            pt_error_set("%s: pred %s holds a non-finite ray length", WHO,
                         pt_describe(pred, a, sizeof a));
        return -1;
    }
    if (weights && ((ok = all_finite(weights)) != 1 || !(min_of(weights) >= 0.0))) {
        if (ok >= 0)
            pt_error_set("%s: weights must be finite and >= 0 (smallest %g)", WHO,
                         min_of(weights));
        return -1;
    }
    return n;
}

pt_tensor *loss_polar_iou(const pt_tensor *pred, const pt_tensor *target,
                          const pt_tensor *weights, double eps)
{
    static const int64_t rays_dim[1] = {1};
    int64_t n = check_inputs(pred, target, weights, eps);
    if (n < 0)
        return NULL;
    size_t mark = pt_scope_begin();
    if (n == 0)
        return pt_scope_return(mark, pt_mul_s(pt_sum(pred), 0.0));
    pt_tensor *sum_max = pt_sum_dims(pt_maximum(pred, target), rays_dim, 1, 0);
    pt_tensor *sum_min = pt_clamp(pt_sum_dims(pt_minimum(pred, target), rays_dim, 1, 0), eps,
                                  NAN);
    pt_tensor *per_row = pt_log(pt_div(sum_max, sum_min));
    pt_tensor *loss;
    if (weights)
        loss = pt_div(pt_sum(pt_mul(per_row, weights)), pt_clamp(pt_sum(weights), eps, NAN));
    else
        loss = pt_mean(per_row);
    return pt_scope_return(mark, loss);
}
