/*
 * polarmask.h - the polarmask network (seed 004, after PolarMask, Xie et al. 2020): ResNet + FPN,
 * a head shared by the five levels, the refine module of claims 5-6 and the global contour head of
 * claim 11, written with train/nn.
 *
 * Module paths (as torchvision's detection models name their parts):
 *   backbone.body.*         ResNet-18/34/50 (train/resnet.h, torchvision names), no fc
 *   backbone.fpn.*          FPN on C3..C5 with P6/P7 (train/fpn.h), strides 8 .. 128
 *   head.cls_tower.{3i,3i+1}  conv 3x3 + GroupNorm (+ ReLU), i < head_convs: the classification
 *                           tower; head.cls_logits (num_classes) and head.centerness (1) on it
 *   head.reg_tower.*        the same for the regression tower; head.rays (num_rays) on it
 *   head.scales             [5] one learned scale per level: coarse rays = exp(scales[l] * rays)
 *   refine.offsets          1x1 conv, num_rays groups, num_rays*C -> num_rays (claims 5-6)
 *   contour_head.{0,2,4,6}  3x3 convs C->128->64->64->64 with ReLU, contour_head.8 1x1 -> 1
 *                           boundary logit on P3 (training only: left out of exports)
 *
 * Outputs are flattened over the levels as data/polar_targets.h lays out its targets: level 0
 * first, each level row-major, N = sum H_l * W_l locations.
 *
 * Refine module: for location (i, j) of level l with stride d and coarse rays r_k, the contour
 * sampling points in the level's feature coordinates are x_k = j + 0.5 + r_k sin(theta_k) / d,
 * y_k = i + 0.5 + r_k cos(theta_k) / d (theta_k = k * 360 / R degrees); the level's FPN map is
 * sampled there bilinearly (zeros outside), the R vectors of C channels are stacked along the
 * channels (R*C) and a 1x1 convolution with R groups gives one offset per ray; fine rays = coarse
 * + offset, floored at 1e-3 px. The sampling positions are taken from the detached coarse rays:
 * the fine loss trains the offsets and the features, not the coarse rays through the positions.
 */
#ifndef PICTOR_POLARMASK_H
#define PICTOR_POLARMASK_H

#include "models/backbones/fpn.h"
#include "nn/nn.h"
#include "models/backbones/resnet.h"

#define PM_LEVELS 5
#define PM_MAX_RAYS 360

typedef struct {
    int depth;              /* ResNet depth: 18, 34, 50 */
    int frozen_stages;      /* -1 none; 0 stem; k stem + layer1..k (mmdet) */
    int norm_eval;          /* BatchNorms of the backbone in eval mode, affine frozen */
    int64_t channels;       /* FPN and head width (256) */
    int num_classes;        /* > 0 */
    int num_rays;           /* 36; 4 .. PM_MAX_RAYS, a multiple of 4 */
    int head_convs;         /* convs per tower (4) */
    int gn_groups;          /* GroupNorm groups (32); must divide channels */
    int refine;             /* the refine module on/off */
    int contour_head;       /* the global contour head on/off */
} polarmask_config;

typedef struct {
    polarmask_config cfg;
    resnet body;
    fpn neck;
    nn_module *cls_tower, *reg_tower;   /* nn_sequential */
    nn_module *cls_logits, *centerness, *rays;
    pt_tensor *scales;                  /* borrowed from the store */
    nn_module *refine;                  /* NULL when off */
    nn_module *contour;                 /* nn_sequential, NULL when off */
    double sin_t[PM_MAX_RAYS], cos_t[PM_MAX_RAYS];
} polarmask;

/* One forward pass. Every tensor is a new handle in the caller's scope, NULL where absent. */
typedef struct {
    pt_tensor *cls;         /* [B, N, num_classes] logits */
    pt_tensor *centerness;  /* [B, N] logits */
    pt_tensor *coarse;      /* [B, N, R] ray lengths in pixels, > 0 */
    pt_tensor *fine;        /* [B, N, R], refine on */
    pt_tensor *contour;     /* [B, 1, H_0, W_0] boundary logits, contour head on and with_contour */
    int64_t level_h[PM_LEVELS], level_w[PM_LEVELS];
    int64_t n_locations;
} polarmask_out;

/* Strides of the five levels: 8, 16, 32, 64, 128. */
extern const int polarmask_strides[PM_LEVELS];

/* Registers the parameters (names above). PT_OK, or PT_ERR with pt_error() naming the bad
 * option; m is then empty. */
pt_status polarmask_init(polarmask *m, nn_store *s, polarmask_config cfg);
void polarmask_free(polarmask *m);

/* x [B, 3, H, W], or [B, 1, H, W] (grey, repeated to 3 channels); H, W >= 32. with_contour: also run the contour head. */
pt_status polarmask_forward(polarmask *m, const pt_tensor *x, int with_contour,
                            polarmask_out *out);

/* The refine module's offsets for one level: feat [B, C, H, W] (the level's FPN map), coarse
 * [B, R, H, W] ray lengths in pixels, stride d of the level -> [B, R, H, W]. Needs refine on. */
pt_tensor *polarmask_refine_offsets(polarmask *m, const pt_tensor *feat, const pt_tensor *coarse,
                                    int stride);

#endif
