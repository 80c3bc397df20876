/*
 * laplace_nll.c - see laplace_nll.h.
 */
#include "laplace_nll.h"

#include <stddef.h>

static pt_tensor *bounded_log_sigma(const pt_tensor *u, double bound)
{
    return pt_mul_s(pt_tanh(pt_div_s(u, bound)), bound);
}

pt_tensor *laplace_sigma(const pt_tensor *log_sigma_raw, double bound)
{
    if (!(bound > 0)) {
        pt_error_set("laplace_sigma: bound must be > 0 (got %g)", bound);
        return NULL;
    }
    return pt_exp(bounded_log_sigma(log_sigma_raw, bound));
}

pt_tensor *loss_laplace_nll(const pt_tensor *depth, const pt_tensor *target,
                            const pt_tensor *log_sigma_raw, const pt_tensor *valid, double bound)
{
    if (!(bound > 0)) {
        pt_error_set("loss_laplace_nll: bound must be > 0 (got %g)", bound);
        return NULL;
    }
    if (!depth || !target || !log_sigma_raw)
        return NULL;
    int nd = pt_ndim(depth);
    if (nd != pt_ndim(target) || nd != pt_ndim(log_sigma_raw) || (valid && nd != pt_ndim(valid))) {
        pt_error_set("loss_laplace_nll: depth, target, log sigma and valid need one shape");
        return NULL;
    }
    for (int k = 0; k < nd; k++)
        if (pt_size(target, k) != pt_size(depth, k) || pt_size(log_sigma_raw, k) != pt_size(depth, k) ||
            (valid && pt_size(valid, k) != pt_size(depth, k))) {
            pt_error_set("loss_laplace_nll: depth, target, log sigma and valid need one shape "
                         "(dimension %d differs)", k);
            return NULL;
        }
    size_t mark = pt_scope_begin();
    pt_tensor *s = bounded_log_sigma(log_sigma_raw, bound);
    pt_tensor *l = pt_add(pt_mul(pt_abs(pt_sub(depth, target)), pt_exp(pt_neg(s))), s);
    pt_tensor *out;
    if (valid) {
        double n = pt_item_or_nan(pt_sum(valid));
        out = pt_div_s(pt_sum(pt_mul(l, valid)), n > 1 ? n : 1);
    } else {
        out = pt_mean(l);
    }
    return pt_scope_return(mark, out);
}
