/*
 * segdecoder.h - a top-down segmentation decoder with skip connections (U-Net / FPN style) over a
 * backbone's multi-scale features, and "segnet": backbone + decoder + 1x1 head, the network the
 * dense segmenters (interactive, gcn, portrait) build on. Written with train/nn; the PyTorch
 * module with the same names and arithmetic is tests/reference/segdecoder_ref.py.
 *
 * Decoder (prefix "" or, e.g., "decoder" -> "decoder.lateral.0.weight"), for levels
 * i = 0 .. n-1, finest first (e.g. the stem at stride 2, then C2 .. C5 at strides 4 .. 32):
 *   lateral.i          conv with bias, in_channels[i] -> width: 1x1, or 3x3 (padding 1) for an
 *                      image level (image_input: level 0 is the raw input image, whose pixels
 *                      need some spatial context)
 *   blocks.i.{3j}      3x3 conv (padding 1, no bias), j < block_convs, width -> width; the last
 *                      conv of blocks.0 gives out_channels
 *   blocks.i.{3j+1}    BatchNorm2d (eps 1e-5, momentum 0.1), then ReLU (.{3j+2}, no parameters)
 * State-dict order: every lateral, then every block (PyTorch's for two ModuleLists).
 *
 * Forward: y = blocks[n-1](lateral[n-1](F[n-1])); for i = n-2 .. 0:
 *   y = blocks[i](lateral[i](F[i]) + bilinear_upsample(y, to F[i]'s height and width)),
 * bilinear with align_corners False. The output has F[0]'s size and out_channels channels (after
 * a ReLU: a feature map; segnet's head turns it into logits).
 * Sizes that are not multiples of 32: each upsampling goes to the skip's exact size (not x2), so
 * a backbone's ceil-rounded sizes (a stride-2 step maps s to ceil(s / 2)) never misalign; a 70x54
 * input gives 35x27 at stride 2, 18x14 at stride 4, 3x2 at stride 32.
 * Initialisation: kaiming_normal_(fan_out, relu) for every conv weight, zero biases, BatchNorm
 * weight 1 and bias 0.
 *
 * segnet (prefix "" or e.g. "net"):
 *   backbone.*         torchvision's resnet18/34/50/101/152 without fc (backbone.conv1.weight ...)
 *                      or mobilenet_v3_small/large without classifier (backbone.features.0.0...)
 *   decoder.*          the decoder over the backbone's levels for the output stride:
 *                        stride 4: C2 .. C5; stride 2: the stride-2 feature, C2 .. C5;
 *                        stride 1: the input image (image_input), the stride-2 feature, C2 .. C5
 *                      ResNet: stride-2 feature = relu(bn1(conv1(x))) (64 channels, before the
 *                      max pool), C2 .. C5 = layer1 .. layer4. MobileNetV3: the stage ends of
 *                      mbv3_features_taps at strides 2, 4, 8, 16 and the last features layer
 *                      (576 / 960 channels) at stride 32.
 *   head               1x1 conv with bias, feature_channels -> out_channels (logits), PyTorch's
 *                      default Conv2d init
 * A ResNet backbone takes resnet.h's frozen_stages and norm_eval (mmdet's semantics, for
 * pretrained weights and small batches); MobileNetV3 has no such options.
 * Outputs for an [N, 3, H, W] input: features [N, feature_channels, ceil(H / s), ceil(W / s)] and
 * logits [N, out_channels, same size], s the output stride (exact H, W at stride 1).
 */
#ifndef PICTOR_SEGDECODER_H
#define PICTOR_SEGDECODER_H

#include "models/backbones/mobilenetv3.h"
#include "models/backbones/resnet.h"
#include "nn/nn.h"

#define SEGDEC_MAX_LEVELS 6
#define SEGDEC_MAX_BLOCK_CONVS 4

typedef struct {
    int n_levels;                            /* 1 .. SEGDEC_MAX_LEVELS */
    int64_t in_channels[SEGDEC_MAX_LEVELS];  /* finest first, each > 0 */
    int image_input;                         /* 1: level 0 is the input image (3x3 lateral) */
    int64_t width;                           /* channels inside the decoder, > 0 */
    int64_t out_channels;                    /* channels of the output; 0 means width */
    int block_convs;                         /* 3x3 conv-BN-ReLU units per level, 1 .. 4 */
} segdec_config;

/* n levels with these channels, width 64, out_channels = width, one conv per level, no image. */
segdec_config segdec_defaults(const int64_t *in_channels, int n);

typedef struct {
    segdec_config cfg;                          /* out_channels resolved (> 0) */
    nn_module *lateral[SEGDEC_MAX_LEVELS];      /* nn_conv2d */
    nn_module *blocks[SEGDEC_MAX_LEVELS];       /* nn_sequential */
} segdec;

/* Registers the parameters in s under prefix (NULL or "" for none). Returns PT_OK, or PT_ERR with
 * pt_error() naming the bad option; d is then empty (entries already registered in s stay). */
pt_status segdec_init(segdec *d, nn_store *s, const char *prefix, segdec_config cfg);
void segdec_free(segdec *d);

/* inputs: n == cfg.n_levels tensors [N, in_channels[i], H_i, W_i] (borrowed), finest first.
 * Returns a new handle [N, out_channels, H_0, W_0]
 * in the caller's scope, or NULL with pt_error() naming the input whose shape is wrong. */
pt_tensor *segdec_forward(segdec *d, pt_tensor *const *inputs, int n);

/* ------------------------------------------------------------------ segnet */

/* The backbone names segnet accepts, '|'-separated (torchvision's builder names), for a driver's
 * enum option; segnet_backbone_names[i] is the i-th. */
#define SEGNET_BACKBONES "resnet18|resnet34|resnet50|resnet101|resnet152|mobilenet_v3_small|" \
                         "mobilenet_v3_large"
extern const char *const segnet_backbone_names[];
extern const int segnet_n_backbones;

typedef struct {
    const char *backbone;      /* one of SEGNET_BACKBONES (borrowed, copied by segnet_init) */
    int output_stride;         /* 1, 2 or 4 */
    int64_t width;             /* decoder width, > 0 */
    int64_t feature_channels;  /* decoder output channels; 0 means width */
    int64_t out_channels;      /* head outputs (logits), > 0 */
    int block_convs;           /* 1 .. SEGDEC_MAX_BLOCK_CONVS */
    int frozen_stages;         /* ResNet only (resnet.h): -1 none, 0 the stem, k stem + layer1..k */
    int norm_eval;             /* ResNet only: backbone BatchNorms in eval mode, affine frozen */
} segnet_config;

/* resnet18, output stride 4, width 64, feature_channels = width, 1 output, one conv per level,
 * nothing frozen. Start from these: frozen_stages 0 freezes the stem. */
segnet_config segnet_defaults(void);

typedef enum { SEGNET_RESNET = 0, SEGNET_MBV3 = 1 } segnet_family;

typedef struct {
    segnet_config cfg;         /* cfg.backbone points to backbone_name */
    char backbone_name[32];
    segnet_family family;
    resnet res;                /* family SEGNET_RESNET */
    mbv3 mb;                   /* family SEGNET_MBV3 */
    segdec decoder;
    nn_module *head;
} segnet;

/* Registers backbone.*, decoder.*, head.* in s under prefix (NULL or "" for none). PT_OK, or
 * PT_ERR with pt_error() naming the bad option (unknown backbone, unsupported output stride...);
 * n is then empty. */
pt_status segnet_init(segnet *n, nn_store *s, const char *prefix, segnet_config cfg);
void segnet_free(segnet *n);

/* The backbone's multi-scale features of x [N, 3, H, W] that the decoder takes, finest first
 * (the image itself at stride 1): *n_levels (<= SEGDEC_MAX_LEVELS) new handles in levels. On
 * failure PT_ERR and every level NULL. */
pt_status segnet_levels(segnet *n, const pt_tensor *x, pt_tensor **levels, int *n_levels);

/* One forward pass of x [N, 3, H, W]: features (may be NULL) gets the decoder's output, logits
 * (may be NULL) the head's (see the sizes above); new handles in the caller's scope. Train/eval
 * mode follows the store. On failure PT_ERR and both outputs NULL. */
pt_status segnet_forward(segnet *n, const pt_tensor *x, pt_tensor **features, pt_tensor **logits);

#endif
