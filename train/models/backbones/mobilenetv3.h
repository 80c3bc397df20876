/*
 * mobilenetv3.h - MobileNetV3 small and large (Howard et al. 2019) written with train/nn, with the
 * module paths of torchvision 0.14's mobilenet_v3_small / mobilenet_v3_large, so that exported
 * weights load there with load_state_dict(strict=True) and torchvision's weights load here.
 *
 * Module paths (prefix "" or, e.g., "backbone" -> "backbone.features.0.0.weight"):
 *   features.0              Conv2dNormActivation(in, c0, 3x3, stride 2, Hardswish): .0 conv, .1 bn
 *   features.1 .. n         InvertedResidual, one per row of the variant's table:
 *     .block.0              expand: 1x1 conv + bn + act        (only when expanded != input)
 *     .block.k              depthwise: kxk conv + bn + act
 *     .block.k+1            SqueezeExcitation: .fc1, .fc2 = 1x1 convs with bias (only when SE)
 *     .block.last           project: 1x1 conv + bn, no activation
 *   features.n+1            Conv2dNormActivation(c_last, 6 * c_last, 1x1, Hardswish)
 *   avgpool                 AdaptiveAvgPool2d(1) (no parameters)
 *   classifier.0, .3        Linear(6 * c_last, last_channel), Hardswish, Dropout, Linear(., classes)
 * Every conv has no bias except the SE ones; BatchNorm2d has eps 0.001 and momentum 0.01.
 * Initialisation as torchvision: kaiming_normal_(fan_out) for convs, zero conv biases, BN ones and
 * zeros, Linear weights normal(0, 0.01) and zero biases.
 *
 * Departures from torchvision, both opt-in:
 *   - num_classes 0 builds no classifier (features + avgpool only, a backbone); its state_dict is
 *     torchvision's without the classifier.* entries.
 *   - in_channels 1 (grey input) gives features.0.0.weight one input channel; torchvision always
 *     has 3, so such weights do not load there. Parity with torchvision needs in_channels 3.
 * Not offered: torchvision's reduced_tail and dilated options (segmentation backbones).
 */
#ifndef PICTOR_MOBILENETV3_H
#define PICTOR_MOBILENETV3_H

#include "nn/nn.h"

typedef enum { MBV3_SMALL = 0, MBV3_LARGE = 1 } mbv3_variant;

typedef struct {
    mbv3_variant variant;
    double width_mult;   /* channels * width_mult, rounded by _make_divisible(., 8); > 0 */
    int num_classes;     /* 0 = no classifier head */
    double dropout;      /* classifier dropout probability, in [0, 1) */
    int in_channels;     /* 3, or 1 for grey input (not torchvision-compatible) */
} mbv3_config;

/* width 1.0, 1000 classes, dropout 0.2, 3 input channels (torchvision's defaults). */
mbv3_config mbv3_defaults(mbv3_variant variant);

/* Feature maps mbv3_features_taps hands out: the ends of the stride 2, 4, 8 and 16 stages. */
#define MBV3_MAX_TAPS 4

typedef struct {
    mbv3_config cfg;
    int64_t feature_channels;  /* channels of mbv3_features / mbv3_pool (576 small, 960 large) */
    int64_t last_channel;      /* classifier hidden width (1024 small, 1280 large) */
    nn_module *features;       /* nn_sequential: the features.* layers */
    nn_module *classifier;     /* nn_sequential, NULL when num_classes == 0 */
    int n_taps;                /* stage ends: features.<tap_layer[i]>, see mbv3_features_taps */
    int tap_layer[MBV3_MAX_TAPS];
    int64_t tap_channels[MBV3_MAX_TAPS];
} mbv3;

/* Registers the parameters in s under prefix (NULL or "" for none). Returns PT_OK, or PT_ERR with
 * pt_error() set and m left empty (entries already registered in s stay there). */
pt_status mbv3_init(mbv3 *m, nn_store *s, const char *prefix, mbv3_config cfg);
void mbv3_free(mbv3 *m);

/* torchvision's _make_divisible(v, divisor): the nearest multiple of divisor, at least divisor and
 * not below 90% of v. */
int64_t mbv3_make_divisible(double v, int64_t divisor);

/* Forward passes. Each borrows its input and returns a new handle, NULL on failure (pt_error()).
 * Train/eval mode (BatchNorm statistics, dropout) follows the store. */
pt_tensor *mbv3_features(mbv3 *m, const pt_tensor *x);     /* [N, in, H, W] -> [N, C, h, w], stride 32 */
pt_tensor *mbv3_pool(mbv3 *m, const pt_tensor *features);  /* [N, C, h, w] -> [N, C] */
pt_tensor *mbv3_logits(mbv3 *m, const pt_tensor *x);       /* [N, in, H, W] -> [N, classes] */

/* mbv3_features, also handing out the feature maps a decoder needs: taps[i] (new handles, i <
 * m->n_taps) is the output of features.<tap_layer[i]>, the last layer at strides 2, 4, 8 and 16
 * (torchvision's stage ends). taps may be NULL. On failure every taps[i] is NULL. */
pt_tensor *mbv3_features_taps(mbv3 *m, const pt_tensor *x, pt_tensor **taps);

#endif
