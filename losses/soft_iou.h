/*
 * soft_iou.h - the soft IoU loss of a predicted saliency map against a binary mask:
 *
 *     p = sigmoid(logits),  I = sum(p * t),  U = sum(p + t - p * t)   (per image, over H x W)
 *     loss = mean over the batch of  1 - (I + eps) / (U + eps)
 *
 * (seed 002, claim 2's saliency variant, trained on BCE + soft IoU).
 */
#ifndef PICTOR_LOSS_SOFT_IOU_H
#define PICTOR_LOSS_SOFT_IOU_H

#include "pt.h"

/* logits and target: [N, 1, H, W] (target 0/1 float). A new scalar tensor, NULL on error. */
pt_tensor *loss_soft_iou(const pt_tensor *logits, const pt_tensor *target, double eps);

#endif
