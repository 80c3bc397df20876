/*
 * normalized_focal.h - the normalised focal loss of RITM (Sofiiuk et al., "Reviving iterative
 * training with mask guidance"; NormalizedFocalLossSigmoid), the `interactive` model's optional
 * mask loss (loss.mask: nfl). Per image, over its valid pixels (weight w > 0):
 *
 *     p     = sigmoid(x)                                  x: logit, t: target 0/1
 *     p_t   = 1 - |t - p|            (1 where w = 0)
 *     a_t   = alpha where t > 0.5, else 1 - alpha          (times w)
 *     beta  = (1 - p_t)^gamma
 *     beta' = beta * sum(w) / (sum(beta) + eps)           the normaliser is detached (no gradient)
 *     L     = sum(-a_t beta' log(min(p_t + eps, 1)) w) / (sum(w) + eps)
 *
 * so the focal weights of an image always add up to its number of valid pixels: easy pixels do
 * not make the loss vanish as the model improves. The batch loss is the mean of the per-image L.
 * eps = 1e-8; alpha 0.5, gamma 2 are RITM's defaults. Errors: NULL with pt_error() (shapes that
 * differ, or not [B, 1, H, W]).
 */
#ifndef PICTOR_LOSS_NORMALIZED_FOCAL_H
#define PICTOR_LOSS_NORMALIZED_FOCAL_H

#include "pt.h"

/* logits, target, weight: float [B, 1, H, W]; a scalar. */
pt_tensor *loss_normalized_focal(const pt_tensor *logits, const pt_tensor *target,
                                 const pt_tensor *weight, double alpha, double gamma);

#endif
