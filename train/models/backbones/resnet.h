/*
 * resnet.h - ResNet-18/34/50/101/152 (He et al. 2016) written with train/nn, with the module
 * paths of torchvision 0.14's resnet18 ... resnet152, so that exported weights load there with
 * load_state_dict(strict=True) and torchvision's (ImageNet) weights load here. Also the detection
 * backbone options of mmdetection's ResNet: frozen stages and norm_eval.
 *
 * Module paths (prefix "" or, e.g., "backbone.body" -> "backbone.body.conv1.weight"):
 *   conv1, bn1                7x7 stride 2 conv (no bias) + BatchNorm2d, then ReLU and a 3x3
 *                             stride 2 max pool (no parameters)
 *   layer1 .. layer4          blocks layerS.0 .. layerS.(n-1); layerS.0 has stride 2 for S >= 2
 *     BasicBlock (18, 34):    .conv1 3x3 (stride), .bn1, .conv2 3x3, .bn2
 *     Bottleneck (50+):       .conv1 1x1, .bn1, .conv2 3x3 (stride, torchvision's "v1.5"),
 *                             .bn2, .conv3 1x1 to 4x the width, .bn3
 *     .downsample.0, .1       1x1 conv (stride) + BatchNorm2d on the identity path, in the first
 *                             block of a stage whose shape changes
 *   fc                        Linear(512 * expansion, num_classes) after the global average pool
 *                             (only with with_fc)
 * Convs have no bias; BatchNorm2d has eps 1e-5 and momentum 0.1. Initialisation as torchvision:
 * kaiming_normal_(fan_out, relu) for convs, BatchNorm weight 1 and bias 0, PyTorch's default
 * Linear init for fc; zero_init_residual is not offered (torchvision's default, off).
 *
 * Detection options (mmdet's ResNet semantics):
 *   frozen_stages k >= 0      the stem (conv1, bn1) and layer1 .. layerk are frozen: their
 *                             parameters are frozen in the store (nn_store_freeze: no gradient,
 *                             not in nn_store_params) and their BatchNorms keep eval mode (running
 *                             statistics used, never updated). -1 freezes nothing.
 *   norm_eval                 every BatchNorm keeps eval mode and its weight and bias are frozen
 *                             (mmdet's norm_eval=True with norm_cfg requires_grad=False; the same
 *                             arithmetic as torchvision's FrozenBatchNorm2d).
 * Names never change: a frozen model's state_dict is the same as an unfrozen one's.
 */
#ifndef PICTOR_RESNET_H
#define PICTOR_RESNET_H

#include "nn/nn.h"

typedef struct {
    int depth;          /* 18, 34 (BasicBlock), 50, 101, 152 (Bottleneck) */
    int frozen_stages;  /* -1 none; 0 the stem; k in 1..4 the stem and layer1 .. layerk */
    int norm_eval;      /* 1: every BatchNorm in eval mode with frozen weight and bias */
    int with_fc;        /* 1: global average pool + fc (torchvision's classifier); 0: backbone */
    int num_classes;    /* fc outputs (> 0) when with_fc */
} resnet_config;

/* torchvision's classifier: frozen_stages -1, norm_eval 0, with_fc 1, 1000 classes. */
resnet_config resnet_defaults(int depth);

typedef struct {
    resnet_config cfg;
    nn_module *conv1, *bn1;
    nn_module *layers[4];      /* nn_sequential of blocks: layer1 .. layer4 */
    nn_module *fc;             /* NULL without with_fc */
    int64_t stage_channels[4]; /* output channels of layer1 .. layer4 (C2 .. C5) */
} resnet;

/* Registers the parameters in s under prefix (NULL or "" for none) and applies the freezing
 * options. Returns PT_OK, or PT_ERR with pt_error() set and m left empty (entries already
 * registered in s stay there). */
pt_status resnet_init(resnet *m, nn_store *s, const char *prefix, resnet_config cfg);
void resnet_free(resnet *m);

/* Output channels of C<level> (level 2 .. 5: layer1 .. layer4); -1 for another level. The
 * stride of C<level> is 2^level. */
int64_t resnet_channels(const resnet *m, int level);

/* One forward pass of x [N, 3, H, W]. stages (may be NULL) receives new handles to C2 .. C5
 * (layer1 .. layer4 outputs, strides 4 .. 32, spatial sizes as torchvision's: each stride-2
 * step maps s to floor((s - 1) / 2) + 1). logits (may be NULL) receives fc's [N, classes]
 * output, which needs with_fc. Outputs join the caller's open scope, as an op's result would.
 * Train/eval mode follows the store (except frozen BatchNorms). On failure returns PT_ERR and
 * every requested output is NULL. */
pt_status resnet_forward(resnet *m, const pt_tensor *x, pt_tensor *stages[4],
                         pt_tensor **logits);

/* resnet_forward without logits, also handing out the stem's output in *stem (required): a new
 * handle to relu(bn1(conv1(x))), [N, 64, ceil(H / 2), ceil(W / 2)] at stride 2, before the max
 * pool (a decoder's stride-2 skip). On failure every output is NULL. */
pt_status resnet_forward_stem(resnet *m, const pt_tensor *x, pt_tensor **stem,
                              pt_tensor *stages[4]);

/* resnet_forward for the logits only: [N, 3, H, W] -> [N, classes]; NULL on failure. */
pt_tensor *resnet_logits(resnet *m, const pt_tensor *x);

#endif
