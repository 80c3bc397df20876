/* focal.c - see focal.h for the formula: the sigmoid focal loss, elementwise and dense. */
#include "focal.h"

#include <math.h>
#include <string.h>

/* Below this, (1 - p_t)^gamma with gamma < 1 would have an infinite derivative. */
#define FOCAL_BASE_FLOOR 1e-30

static int is_floating(pt_dtype dt)
{
    return dt == PT_F16 || dt == PT_BF16 || dt == PT_F32 || dt == PT_F64;
}

static int check_params(const char *who, double alpha, double gamma)
{
    if (!(gamma >= 0.0) || !isfinite(gamma)) {
        pt_error_set("%s: gamma is %g, expected a finite value >= 0", who, gamma);
        return -1;
    }
    if (isnan(alpha) || alpha > 1.0) {
        pt_error_set("%s: alpha is %g, expected a value in [0, 1] (or < 0 for no alpha "
                     "weighting)", who, alpha);
        return -1;
    }
    return 0;
}

/* The unreduced loss; inputs already checked. */
static pt_tensor *focal_elementwise(const pt_tensor *x, const pt_tensor *t, double alpha,
                                    double gamma)
{
    pt_tensor *ce = pt_bce_with_logits(x, t, NULL, NULL, PT_REDUCE_NONE);
    pt_tensor *loss = ce;
    if (gamma != 0.0) {
        /* 1 - p_t = t sigmoid(-x) + (1 - t) sigmoid(x) */
        pt_tensor *one_minus_pt = pt_add(pt_mul(t, pt_sigmoid(pt_neg(x))),
                                         pt_mul(pt_rsub_s(t, 1.0), pt_sigmoid(x)));
        if (gamma < 1.0)
            one_minus_pt = pt_clamp(one_minus_pt, FOCAL_BASE_FLOOR, NAN);
        pt_tensor *modulator = gamma == 1.0 ? one_minus_pt
                               : gamma == 2.0 ? pt_square(one_minus_pt)
                               : pt_pow_s(one_minus_pt, gamma);
        loss = pt_mul(modulator, ce);
    }
    if (alpha >= 0.0) {
        /* alpha_t = alpha t + (1 - alpha)(1 - t) = (1 - alpha) + (2 alpha - 1) t */
        pt_tensor *alpha_t = pt_add_s(pt_mul_s(t, 2.0 * alpha - 1.0), 1.0 - alpha);
        loss = pt_mul(alpha_t, loss);
    }
    return loss;
}

pt_tensor *loss_sigmoid_focal(const pt_tensor *logits, const pt_tensor *target, double alpha,
                              double gamma, pt_reduction reduction)
{
    static const char *who = "sigmoid focal loss";
    if (!logits || !target) {
        if (!pt_error_pending())
            pt_error_set("%s: logits or target is NULL", who);
        return NULL;
    }
    if (check_params(who, alpha, gamma))
        return NULL;
    int64_t ls[16], ts[16];
    int ln = pt_shape(logits, ls, 16), tn = pt_shape(target, ts, 16);
    if (ln < 0 || tn < 0)
        return NULL;
    if (ln != tn || memcmp(ls, ts, (size_t)ln * sizeof ls[0]) != 0) {
        char a[128], b[128];
        pt_error_set("%s: target %s must have the shape of the logits %s", who,
                     pt_describe(target, b, sizeof b), pt_describe(logits, a, sizeof a));
        return NULL;
    }
    if (!is_floating(pt_dtype_of(logits)) || !is_floating(pt_dtype_of(target))) {
        char a[128], b[128];
        pt_error_set("%s: logits %s and target %s must both be floating point", who,
                     pt_describe(logits, a, sizeof a), pt_describe(target, b, sizeof b));
        return NULL;
    }
    if (reduction != PT_REDUCE_NONE && reduction != PT_REDUCE_MEAN &&
        reduction != PT_REDUCE_SUM) {
        pt_error_set("%s: unknown reduction %d, expected none, mean or sum", who,
                     (int)reduction);
        return NULL;
    }
    size_t mark = pt_scope_begin();
    pt_tensor *loss = focal_elementwise(logits, target, alpha, gamma);
    if (reduction == PT_REDUCE_MEAN && pt_numel(logits) > 0)
        loss = pt_mean(loss);
    else if (reduction == PT_REDUCE_MEAN) /* empty: 0 still attached to the graph, not NaN */
        loss = pt_sum(loss);
    else if (reduction == PT_REDUCE_SUM)
        loss = pt_sum(loss);
    return pt_scope_return(mark, loss);
}

pt_tensor *loss_sigmoid_focal_dense(const pt_tensor *logits, const pt_tensor *class_ids,
                                    double alpha, double gamma)
{
    static const char *who = "dense sigmoid focal loss";
    if (!logits || !class_ids) {
        if (!pt_error_pending())
            pt_error_set("%s: logits or class ids is NULL", who);
        return NULL;
    }
    if (check_params(who, alpha, gamma))
        return NULL;
    char a[128], b[128];
    int64_t n = pt_size(logits, 0), c = pt_size(logits, 1);
    if (pt_ndim(logits) != 2 || !is_floating(pt_dtype_of(logits)) || c < 1) {
        pt_error_set("%s: logits %s, expected a floating [N, C] tensor with C >= 1", who,
                     pt_describe(logits, a, sizeof a));
        return NULL;
    }
    pt_dtype idt = pt_dtype_of(class_ids);
    if (pt_ndim(class_ids) != 1 || pt_size(class_ids, 0) != n ||
        (idt != PT_I32 && idt != PT_I64)) {
        pt_error_set("%s: class ids %s, expected an int32 or int64 [%lld] tensor (one id per "
                     "row of the logits %s)", who, pt_describe(class_ids, b, sizeof b),
                     (long long)n, pt_describe(logits, a, sizeof a));
        return NULL;
    }
    size_t mark = pt_scope_begin();
    pt_tensor *ids = pt_to_dtype(class_ids, PT_I64);
    if (n > 0) {
        double lo = pt_item_or_nan(pt_min(ids)), hi = pt_item_or_nan(pt_max(ids));
        if (!(lo >= -1.0) || !(hi <= (double)(c - 1))) {
            pt_scope_end(mark);
            pt_error_set("%s: class ids range over %g..%g, expected -1 (background) .. %lld",
                         who, lo, hi, (long long)(c - 1));
            return NULL;
        }
    }
    /* Shift so background is column 0 of a (C + 1)-wide one-hot, then drop that column. */
    pt_tensor *one_hot = pt_one_hot(pt_add(ids, pt_scalar(1.0, PT_I64)), c + 1);
    pt_tensor *target = pt_to_dtype(pt_narrow(one_hot, 1, 1, c), pt_dtype_of(logits));
    pt_tensor *loss = pt_sum(focal_elementwise(logits, target, alpha, gamma));
    return pt_scope_return(mark, loss);
}
