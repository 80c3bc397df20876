/* loss_difference.c - see loss_difference.h for the formulas. */
#include "loss_difference.h"

#include <math.h>
#include <stdlib.h>

double loss_difference_lambda(double lambda, lambda_schedule schedule, double progress)
{
    if (schedule == LAMBDA_CONSTANT)
        return lambda;
    if (progress < 0)
        progress = 0;
    if (progress > 1)
        progress = 1;
    return lambda * (2.0 / (1.0 + exp(-10.0 * progress)) - 1.0);
}

pt_tensor *loss_difference(const pt_tensor *l1, const pt_tensor *l2, double lambda)
{
    size_t mark = pt_scope_begin();
    pt_tensor *d = pt_sub(l1, pt_mul_s(l2, lambda));
    return pt_scope_return(mark, d);
}

/* grad += g for each parameter (g NULL: the loss does not reach it). */
static pt_status accumulate(pt_tensor *const *params, pt_tensor **grads, int n)
{
    pt_status st = PT_OK;
    for (int i = 0; i < n && st == PT_OK; i++) {
        if (!grads[i])
            continue;
        if (pt_has_grad(params[i])) {
            pt_tensor *g = pt_grad(params[i]);
            st = pt_add_(g, grads[i], 1.0);
            pt_free(g);
        } else {
            st = pt_set_grad(params[i], grads[i]);
        }
    }
    return st;
}

pt_status loss_difference_backward(const pt_tensor *l1, const pt_tensor *l2, double lambda,
                                   double scale, pt_tensor *const *main_params, int n_main,
                                   pt_tensor *const *type_params, int n_type)
{
    int n = n_main > n_type ? n_main : n_type;
    pt_tensor **g = calloc((size_t)(n > 0 ? n : 1), sizeof *g);
    if (!g) {
        pt_error_set("loss_difference_backward: out of memory");
        return PT_ERR;
    }
    size_t mark = pt_scope_begin();
    pt_status st = PT_OK;
    pt_tensor *type_obj = pt_mul_s(l2, scale);
    pt_tensor *main_obj = pt_mul_s(loss_difference(l1, l2, lambda), scale);
    if (n_type > 0) {
        st = pt_autograd_grad(&type_obj, 1, type_params, n_type, g, 1, 0, 1);
        if (st == PT_OK)
            st = accumulate(type_params, g, n_type);
        for (int i = 0; i < n_type; i++)
            pt_free(g[i]), g[i] = NULL;
    }
    if (st == PT_OK && n_main > 0) {
        st = pt_autograd_grad(&main_obj, 1, main_params, n_main, g, 0, 0, 1);
        if (st == PT_OK)
            st = accumulate(main_params, g, n_main);
        for (int i = 0; i < n_main; i++)
            pt_free(g[i]), g[i] = NULL;
    }
    pt_scope_end(mark);
    free(g);
    return st;
}
