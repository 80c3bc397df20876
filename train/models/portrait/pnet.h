/*
 * pnet.h - the two networks of the `portrait` model (seed 001): a MODNet-like segmentation
 * network (claim 2, figs. 10-11) and a depth network with a confidence head (claim 3).
 *
 * Segmentation ("seg.*"), for an input x [B, 3, H, W]:
 *   backbone      torchvision ResNet-18/34 or MobileNetV3 small/large (models/backbones), its
 *                 levels L2, L4, L8, L16, L32 (strides 2 .. 32; L2 = the ResNet stem before the
 *                 max pool / MobileNetV3's stride-2 stage end).
 *   semantic      the kit's top-down decoder (segdecoder.h) over L8, L16, L32 -> F_s at stride
 *                 8 ("macro" features); semantic_head (1x1) -> semantic logits [B, 1, H/8, W/8].
 *   detail        at stride 2 ("micro" features): [x resized to L2's size, L2, F_s upsampled]
 *                 -> two 3x3 conv-BN-ReLU -> F_d; detail_head (1x1) -> detail logits, upsampled
 *                 (bilinear) to [B, 1, H, W].
 *   fusion        [F_s upsampled to stride 2, F_d] -> 3x3 conv-BN-ReLU, upsampled to H x W,
 *                 with x concatenated -> 3x3 conv-BN-ReLU (width / 2) -> fusion_head (1x1) ->
 *                 fusion logits [B, 1, H, W]. S_in = sigmoid(fusion logits).
 *   I1 (the first probability image) = sigmoid(semantic logits) upsampled bilinearly to H x W:
 *   the coarse probability that a pixel belongs to the portrait, S_in the fine segmentation.
 * Depth ("depth.*"): the kit's segnet (backbone + decoder, output stride 4) with a 2-channel
 *   head, upsampled bilinearly to H x W: channel 0 -> d = sigmoid (in [0, 1], near = 0),
 *   channel 1 -> u, the raw log sigma of a Laplacian (losses/laplace_nll.h).
 * Every conv-BN-ReLU is named <module>.<3j> (conv, no bias), <3j+1> (BatchNorm2d) as the kit's
 * decoder. Sizes need not be multiples of 32 (every upsampling goes to an exact size).
 */
#ifndef PICTOR_PNET_H
#define PICTOR_PNET_H

#include "models/backbones/segdecoder.h"

#define PNET_BACKBONES "resnet18|resnet34|mobilenet_v3_small|mobilenet_v3_large"
extern const char *const pnet_backbone_names[];

typedef struct {
    int backbone;        /* index into pnet_backbone_names (segmentation) */
    int depth_backbone;  /* the same for the depth network */
    int64_t width;       /* branch channels (>= 4) */
    int with_depth;      /* 0: segmentation only (no depth.* parameters) */
} pnet_config;

typedef struct {
    pnet_config cfg;
    int mbv;                 /* segmentation backbone is MobileNetV3 */
    resnet res;
    mbv3 mb;
    int64_t l2_channels;
    segdec semantic;
    nn_module *semantic_head, *detail, *detail_head, *fusion1, *fusion2, *fusion_head;
    segnet depth;
} pnet;

typedef struct {
    pt_tensor *semantic_logits; /* [B, 1, ceil(H / 8), ceil(W / 8)] */
    pt_tensor *detail_logits;   /* [B, 1, H, W] */
    pt_tensor *fusion_logits;   /* [B, 1, H, W] */
    pt_tensor *depth;           /* [B, 1, H, W] in [0, 1]; NULL without depth */
    pt_tensor *log_sigma_raw;   /* [B, 1, H, W]; NULL without depth */
} pnet_out;

pt_status pnet_init(pnet *n, nn_store *s, pnet_config cfg);
void pnet_free(pnet *n);
/* x [B, 3, H, W]; want_depth: also run the depth network. New handles in the caller's scope. */
pt_status pnet_forward(pnet *n, const pt_tensor *x, int want_depth, pnet_out *out);

#endif
