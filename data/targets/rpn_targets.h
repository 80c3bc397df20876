/*
 * rpn_targets.h - the region proposal branch's training targets and its decoding, for one image
 * with one object (interactive segmentation), in plain C. As torchvision's RegionProposalNetwork
 * (Ren et al. 2015), with one ground-truth box:
 *   - an anchor is positive when its IoU with the box is >= fg_iou (0.7) or is the highest IoU of
 *     all anchors (every anchor tied at that highest IoU: low-quality matches allowed), negative
 *     when its IoU is < bg_iou (0.3), ignored otherwise;
 *   - batch_size (256) anchors are sampled, at most positive_fraction (0.5) of them positive,
 *     negatives filling the rest, each set drawn uniformly without replacement (a seeded prng);
 *   - box deltas (BoxCoder, weights 1): dx = (gx - ax) / aw, dy = (gy - ay) / ah,
 *     dw = log(gw / aw), dh = log(gh / ah) of the centres and sizes; decoding clamps dw, dh at
 *     log(1000 / 16) and clips the box to the image.
 * Boxes are (x0, y0, x1, y1) in pixels, x1 and y1 exclusive edges (a one-pixel box at x is
 * [x, x + 1)).
 */
#ifndef PICTOR_RPN_TARGETS_H
#define PICTOR_RPN_TARGETS_H

#include <stdint.h>

#include "base/rng.h"

typedef struct {
    double fg_iou, bg_iou, positive_fraction;
    int batch_size;
} rpn_target_config;

rpn_target_config rpn_target_defaults(void);

double rpn_box_iou(const float *a, const float *b);

/* n anchors [n][4] against one box: label[i] = 1 positive, 0 negative (both sampled), -1 not in
 * the loss; deltas[4 i ..] for positives. Returns the number of sampled anchors (> 0 whenever n
 * > 0). */
int rpn_targets(const rpn_target_config *c, const float *anchors, int64_t n, const float *box,
                prng *r, float *label, float *deltas);

/* Decode deltas [4] on an anchor into a box clipped to an h x w image. */
void rpn_decode(const float *anchor, const float *delta, int h, int w, float *box);

#endif
