/* soft_iou.c - see soft_iou.h for the formula. */
#include "soft_iou.h"

pt_tensor *loss_soft_iou(const pt_tensor *logits, const pt_tensor *target, double eps)
{
    static const int64_t spatial[3] = {1, 2, 3};
    size_t mark = pt_scope_begin();
    pt_tensor *p = pt_sigmoid(logits);
    pt_tensor *inter = pt_sum_dims(pt_mul(p, target), spatial, 3, 0);
    pt_tensor *uni = pt_sum_dims(pt_sub(pt_add(p, target), pt_mul(p, target)), spatial, 3, 0);
    pt_tensor *ratio = pt_div(pt_add_s(inter, eps), pt_add_s(uni, eps));
    pt_tensor *loss = pt_mean(pt_rsub_s(ratio, 1.0));
    return pt_scope_return(mark, loss);
}
