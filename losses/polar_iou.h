/*
 * polar_iou.h - PolarMask's polar IoU loss, seed 004's first and second regression losses
 * L_coarse and L_fine (claim 12; L_all = L_cls + L_cnt + a L_coarse + L_fine + L_hbb), on the
 * coarse and the fine ray lengths of the positive locations:
 *
 *     for each positive i with R predicted lengths p_ik and target lengths t_ik (k = 0..R-1):
 *         l_i  = log( sum_k max(p_ik, t_ik) / max(eps, sum_k min(p_ik, t_ik)) )
 *     loss = sum_i w_i l_i / max(eps, sum_i w_i)        w_i = the centerness target of i
 *     loss = (1 / N) sum_i l_i                          when weights is NULL
 *
 * (the log of the inverse of the polar IoU sum_k min / sum_k max, the mask IoU of the two
 * star-shaped polygons with the rays' angular sampling). l_i >= 0, and 0 only when p_i = t_i.
 *
 * Guards, exactly:
 *   - the min sum is clamped below at eps: a predicted row whose lengths are all near 0 or
 *     negative (fine rays = coarse + offset can go negative) gives a large finite l_i, never
 *     inf or NaN; while the min sum is above eps, a negative p_ik still gets the gradient
 *     -1 / sum_min that pushes it up. Below eps that row's min part has no gradient: keep
 *     predictions positive (exp for coarse rays) where possible.
 *   - the weight sum is clamped below at eps, so all-zero weights give 0.
 *   - N = 0 (no positive location): returns sum(pred) * 0, a zero scalar still attached to
 *     pred's autograd graph, so backward() works and pred gets an all-zero gradient.
 *   - max(p, t) and min(p, t) split the gradient equally at exact ties (torch.maximum).
 *
 * Errors return NULL with pt_error() naming what was wrong: pred and target not floating
 * [N, R] of the same shape (R >= 1), weights not [N], a target length that is not finite or
 * <= 0, a prediction that is not finite, a weight that is negative or not finite, eps <= 0.
 */
#ifndef PICTOR_LOSS_POLAR_IOU_H
#define PICTOR_LOSS_POLAR_IOU_H

#include "pt.h"

#define POLAR_IOU_EPS 1e-6

/* pred, target: [N, R]; weights: [N] or NULL. A new scalar tensor, NULL on error. */
pt_tensor *loss_polar_iou(const pt_tensor *pred, const pt_tensor *target,
                          const pt_tensor *weights, double eps);

#endif
