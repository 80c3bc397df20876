/*
 * fpn.h - the feature pyramid network of Lin et al. 2017 written with train/nn, with the module
 * paths and the arithmetic of torchvision 0.14's torchvision.ops.FeaturePyramidNetwork (no norm
 * layer) and its LastLevelP6P7 extra block, so that exported weights load there with
 * load_state_dict(strict=True) and torchvision's weights load here.
 *
 * Module paths (prefix "" or, e.g., "backbone.fpn" -> "backbone.fpn.inner_blocks.0.0.weight"),
 * for inputs i = 0 .. n-1, finest first (C3, C4, C5):
 *   inner_blocks.i.0          1x1 conv with bias, in_channels[i] -> out_channels (lateral)
 *   layer_blocks.i.0          3x3 conv with bias, padding 1, out -> out (output smoothing)
 *   extra_blocks.p6, .p7      3x3 stride 2 convs with bias, padding 1, out -> out (with extra_p6p7)
 * Initialisation as torchvision: kaiming_uniform_(a=1) (U(-sqrt(3/fan_in), sqrt(3/fan_in))) for
 * every weight, zero biases.
 *
 * Forward (torchvision's): inner = inner_blocks[n-1](C_last); P_last = layer_blocks[n-1](inner);
 * then for i = n-2 .. 0: inner = inner_blocks[i](C_i) + nearest-upsample(inner, to C_i's size);
 * P_i = layer_blocks[i](inner). With extra_p6p7 (LastLevelP6P7(out, out): in == out, so P6 comes
 * from P5): P6 = p6(P_last), P7 = p7(relu(P6)); a stride-2 3x3 conv with padding 1 maps a size s
 * to ceil(s / 2), so inputs whose size is not a multiple of 128 work.
 * For C3 .. C5 of a stride-32 backbone the outputs are P3 .. P7 at strides 8 .. 128.
 * Not offered: torchvision's norm_layer option and the LastLevelMaxPool / P6-from-C5 variants.
 */
#ifndef PICTOR_FPN_H
#define PICTOR_FPN_H

#include "nn/nn.h"

#define FPN_MAX_INPUTS 4
#define FPN_MAX_OUTPUTS (FPN_MAX_INPUTS + 2)

typedef struct {
    int n_inputs;                        /* 1 .. FPN_MAX_INPUTS */
    int64_t in_channels[FPN_MAX_INPUTS]; /* finest first, e.g. {128, 256, 512} for ResNet-18 */
    int64_t out_channels;                /* > 0 (256 in the papers) */
    int extra_p6p7;                      /* 1: LastLevelP6P7 adds two coarser levels */
} fpn_config;

/* n inputs with these channels, 256 output channels, P6/P7 on. */
fpn_config fpn_defaults(const int64_t *in_channels, int n);

typedef struct {
    fpn_config cfg;
    int n_outputs; /* n_inputs, + 2 with extra_p6p7 */
    nn_module *inner_blocks[FPN_MAX_INPUTS], *layer_blocks[FPN_MAX_INPUTS];
    nn_module *p6, *p7; /* NULL without extra_p6p7 */
} fpn;

/* Registers the parameters in s under prefix (NULL or "" for none). Returns PT_OK, or PT_ERR with
 * pt_error() set and f left empty (entries already registered in s stay there). */
pt_status fpn_init(fpn *f, nn_store *s, const char *prefix, fpn_config cfg);
void fpn_free(fpn *f);

/* inputs: n == cfg.n_inputs tensors [N, in_channels[i], H_i, W_i] (borrowed), finest first.
 * outputs (f->n_outputs slots) receive new handles [N, out_channels, H_i, W_i], then P6 and P7;
 * they join the caller's open scope, as an op's result would. The error names the input whose
 * shape is wrong. On failure every output is NULL. */
pt_status fpn_forward(fpn *f, pt_tensor *const *inputs, int n, pt_tensor **outputs);

#endif
