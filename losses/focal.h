/*
 * focal.h - the sigmoid focal loss (Lin et al., RetinaNet), as torchvision.ops.sigmoid_focal_loss
 * defines it: seed 004's classification loss L_cls and global contour loss L_hbb (claim 12):
 *
 *     p    = sigmoid(x)                                  x: logit, t: target in [0, 1]
 *     ce   = -t log(p) - (1 - t) log(1 - p)              (binary cross-entropy with logits)
 *     p_t  = p t + (1 - p)(1 - t)
 *     FL   = alpha_t (1 - p_t)^gamma ce,    alpha_t = alpha t + (1 - alpha)(1 - t)
 *
 * which for a 0/1 target is FL = -alpha_t (1 - p_t)^gamma log(p_t). alpha < 0 means no alpha
 * weighting (alpha_t = 1), as in torchvision. Defaults of the paper: alpha 0.25, gamma 2.
 *
 * Numerics: ce comes from the shim's bce_with_logits (log-sigmoid form, exact for any logit), and
 * 1 - p_t is computed as t sigmoid(-x) + (1 - t) sigmoid(x) (the same quantity, p + t - 2pt,
 * without the cancellation of 1 - p_t when p_t is near 1). For 0 < gamma < 1 the base is clamped
 * below at 1e-30 so the gradient of (1 - p_t)^gamma stays finite where sigmoid underflows. The
 * result is differentiable w.r.t. the logits through the shim's autograd; no NaN or inf for any
 * finite logit.
 *
 * Errors return NULL with pt_error() naming what was wrong: shapes that differ, a non-floating
 * dtype, gamma < 0 or not finite, alpha > 1 or NaN, class ids outside -1..C-1.
 */
#ifndef PICTOR_LOSS_FOCAL_H
#define PICTOR_LOSS_FOCAL_H

#include "pt.h"

#define FOCAL_ALPHA_DEFAULT 0.25
#define FOCAL_GAMMA_DEFAULT 2.0

/* Elementwise focal loss of logits against a float target of the same shape (any shape,
 * floating dtype), reduced by `reduction` (none: same shape as logits; mean / sum: a scalar).
 * Exactly torchvision.ops.sigmoid_focal_loss(logits, target, alpha, gamma, reduction), except
 * that the mean of an empty input is 0 (still attached to the logits' graph), not NaN. */
pt_tensor *loss_sigmoid_focal(const pt_tensor *logits, const pt_tensor *target, double alpha,
                              double gamma, pt_reduction reduction);

/* Dense classification: logits [N, C] (floating), class_ids [N] (int32 or int64) with a class
 * 0..C-1 at a positive location and -1 for background (an all-zero target row). Returns the SUM
 * of the focal loss over all N x C entries as a scalar; the caller divides by the positive
 * count. N = 0 gives a zero that is still connected to the logits' graph. */
pt_tensor *loss_sigmoid_focal_dense(const pt_tensor *logits, const pt_tensor *class_ids,
                                    double alpha, double gamma);

#endif
