/*
 * inet.h - the `interactive` network (seed 000, claims 2 and 4-6): a fully convolutional ResNet
 * split in two, a region proposal branch on its middle layer, correction distance maps fed into
 * a middle convolution, and position-sensitive inside/outside score maps assembled inside a
 * rectangle (InstanceFCN / FCIS assembling). Written with train/nn.
 *
 * Module paths:
 *   backbone.*            torchvision ResNet-18/34/50 without fc (train/models/backbones/resnet.h)
 *   rpn.head.conv.0.0     3x3 conv + ReLU on C3, rpn.head.cls_logits (A objectness logits) and
 *                         rpn.head.bbox_pred (4A deltas): torchvision's RPNHead names
 *   fuse.0, fuse.1        the "third convolutional layer" of claim 6: a 3x3 conv (no bias) taking
 *                         C3 and the correction maps in parallel, BatchNorm, ReLU -> C3 channels
 *   decoder.*             the kit's top-down decoder (backbones/segdecoder.h) over C2, fused C3,
 *                         C4, C5, output stride 4
 *   ps_head               1x1 conv -> 2 k^2 position-sensitive maps (inside 0..k^2-1, outside
 *                         k^2..2k^2-1, cell (i, j) at i * k + j)
 *
 * THE SPLIT (claim 2). part 1 = stem, layer1 (C2, stride 4), layer2 (C3, stride 8) and the RPN:
 * it depends on the image only and is computed once per image (inet_part1). part 2 = fuse,
 * layer3, layer4, decoder, ps_head (inet_part2): it takes part 1's cached C2/C3 and the
 * correction maps, so a tap re-runs part 2 only.
 *
 * CORRECTION MAPS (claim 6, DIOS): per kind of tap (positive, negative) the Euclidean distance of
 * every pixel to the nearest tap of that kind, truncated at 255 and divided by 255 (no tap of a
 * kind: all 1), at image size (targets/click_maps.h); optionally the previous mask as a third
 * map. They are resized (bilinear) to C3's size and concatenated with C3.
 *
 * ASSEMBLING (claim 5). For a rectangle (x0, y0, x1, y1) in image pixels, every pixel of the
 * stride-4 score maps whose centre ((x + 0.5) W / w, (y + 0.5) H / h) falls inside the rectangle
 * belongs to cell (i, j) = (floor(k (py - y0) / (y1 - y0)), floor(k (px - x0) / (x1 - x0)))
 * (clamped to k - 1) and takes inside - outside of that cell's pair of maps as its logit;
 * pixels outside the rectangle are background. The logits are resized (bilinear) to the image
 * size; the mask is sigmoid(logit) inside the rectangle, 0 outside.
 */
#ifndef PICTOR_INET_H
#define PICTOR_INET_H

#include "models/backbones/resnet.h"
#include "models/backbones/segdecoder.h"
#include "nn/nn.h"

#define INET_MAX_ANCHORS 32

typedef struct {
    int depth;             /* ResNet 18, 34, 50 */
    int k;                 /* position-sensitive grid, 1 .. 9 */
    int prev_mask;         /* 1: the previous mask is a third correction map */
    int64_t decoder_width; /* decoder channels */
    int n_sizes, n_ratios; /* anchors: sizes (px, side of a square anchor) x aspect ratios */
    double sizes[8], ratios[4];
} inet_config;

typedef struct {
    inet_config cfg;
    resnet body;
    nn_module *rpn_conv, *rpn_cls, *rpn_box;
    nn_module *fuse;      /* nn_sequential conv + bn + relu */
    segdec decoder;
    nn_module *ps_head;
    int n_anchors;        /* n_sizes * n_ratios */
} inet;

/* Part 1's outputs, new handles in the caller's scope. */
typedef struct {
    pt_tensor *c2, *c3;   /* [B, C, H/4, W/4], [B, C', H/8, W/8] */
    pt_tensor *rpn_obj;   /* [B, A, h8, w8] objectness logits */
    pt_tensor *rpn_box;   /* [B, 4A, h8, w8] box deltas (dx, dy, dw, dh per anchor) */
} inet_part1_out;

pt_status inet_init(inet *m, nn_store *s, inet_config cfg);
void inet_free(inet *m);
int inet_n_maps(const inet *m); /* 2, or 3 with prev_mask */

pt_status inet_part1(inet *m, const pt_tensor *x, inet_part1_out *out);
/* maps [B, n_maps, H, W] at image size -> position-sensitive maps [B, 2k^2, H/4, W/4]. */
pt_tensor *inet_part2(inet *m, const inet_part1_out *p1, const pt_tensor *maps);
/* Assemble inside each image's rectangle: boxes [B][4] (x0, y0, x1, y1) in image pixels;
 * returns logits [B, 1, H, W]; *inbox (if not NULL) gets a new [B, 1, H, W] float 0/1 tensor
 * of the pixels inside the rectangles. */
pt_tensor *inet_assemble(inet *m, const pt_tensor *ps, const float (*boxes)[4], int64_t img_h,
                         int64_t img_w, pt_tensor **inbox);

/* The anchors of a [h8, w8] grid at stride 8 in the layout of rpn_obj's channels: anchor index
 * (a * h8 + y) * w8 + x, a = size * n_ratios + ratio; anchors holds 4 * A * h8 * w8 floats
 * (x0, y0, x1, y1), each centred on its cell's centre (8x + 4, 8y + 4), of area size^2 and
 * height / width = ratio. */
void inet_anchors(const inet *m, int64_t h8, int64_t w8, float *anchors);

#endif
