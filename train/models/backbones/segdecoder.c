/*
 * segdecoder.c - the top-down segmentation decoder and segnet (see segdecoder.h): the lateral
 * convs and conv-BN-ReLU blocks, the forward pass that upsamples to each skip's exact size, and
 * the wrapper that picks a backbone's levels for the output stride and adds the 1x1 head.
 */
#include "models/backbones/segdecoder.h"

#include <stdio.h>
#include <string.h>

static const double BN_EPS = 1e-5, BN_MOMENTUM = 0.1;

segdec_config segdec_defaults(const int64_t *in_channels, int n)
{
    segdec_config c = {.n_levels = n, .width = 64, .out_channels = 0, .block_convs = 1};
    for (int i = 0; in_channels && i < n && i < SEGDEC_MAX_LEVELS; i++)
        c.in_channels[i] = in_channels[i];
    return c;
}

static pt_status check_config(const segdec_config *c)
{
    if (c->n_levels < 1 || c->n_levels > SEGDEC_MAX_LEVELS) {
        pt_error_set("segdec: n_levels must be in 1..%d (got %d)", SEGDEC_MAX_LEVELS,
                     c->n_levels);
        return PT_ERR;
    }
    for (int i = 0; i < c->n_levels; i++)
        if (c->in_channels[i] <= 0) {
            pt_error_set("segdec: in_channels[%d] must be > 0 (got %lld)", i,
                         (long long)c->in_channels[i]);
            return PT_ERR;
        }
    if (c->image_input != 0 && c->image_input != 1) {
        pt_error_set("segdec: image_input must be 0 or 1 (got %d)", c->image_input);
        return PT_ERR;
    }
    if (c->width <= 0) {
        pt_error_set("segdec: width must be > 0 (got %lld)", (long long)c->width);
        return PT_ERR;
    }
    if (c->out_channels < 0) {
        pt_error_set("segdec: out_channels must be > 0, or 0 for the width (got %lld)",
                     (long long)c->out_channels);
        return PT_ERR;
    }
    if (c->block_convs < 1 || c->block_convs > SEGDEC_MAX_BLOCK_CONVS) {
        pt_error_set("segdec: block_convs must be in 1..%d (got %d)", SEGDEC_MAX_BLOCK_CONVS,
                     c->block_convs);
        return PT_ERR;
    }
    return PT_OK;
}

/* A "same"-padded conv with kaiming_normal_(fan_out, relu) weights and a zero bias (if any). */
static nn_module *conv_new(nn_store *s, const char *name, int64_t in, int64_t out,
                           int64_t kernel, int bias)
{
    return nn_conv2d_new(s, name, (nn_conv_opts){.in = in, .out = out, .k = kernel,
                                                 .pad = (kernel - 1) / 2, .no_bias = !bias,
                                                 .init = {NN_INIT_KAIMING_FAN_OUT}});
}

/* blocks.<level>: block_convs units of 3x3 conv (no bias), BatchNorm2d, ReLU; the last unit
 * gives out channels. */
static nn_module *block_new(nn_store *s, const char *pre, int level, int convs, int64_t width,
                            int64_t out)
{
    char path[NN_NAME_MAX];
    nn_module *seq = nn_sequential_new();
    for (int j = 0; j < convs; j++) { /* added unchecked, checked once below */
        int64_t c_out = j == convs - 1 ? out : width;
        nn_seq_add(seq, conv_new(s, nn_path(path, "%sblocks.%d.%d", pre, level, 3 * j), width,
                                 c_out, 3, 0));
        nn_seq_add(seq, nn_batchnorm2d_new(s, nn_path(path, "%sblocks.%d.%d", pre, level,
                                                      3 * j + 1),
                                           c_out, BN_EPS, BN_MOMENTUM));
        nn_seq_add(seq, nn_act_new(NN_RELU));
    }
    if (!nn_seq_ok(seq)) {
        nn_module_free(seq);
        return NULL;
    }
    return seq;
}

pt_status segdec_init(segdec *d, nn_store *s, const char *prefix, segdec_config cfg)
{
    memset(d, 0, sizeof *d);
    if (check_config(&cfg) != PT_OK)
        return PT_ERR;
    if (!s) {
        pt_error_set("segdec: a parameter store is required");
        return PT_ERR;
    }
    char pre[NN_NAME_MAX], path[NN_NAME_MAX];
    nn_prefix(pre, prefix);
    if (cfg.out_channels == 0)
        cfg.out_channels = cfg.width;
    d->cfg = cfg;
    int ok = 1;
    for (int i = 0; ok && i < cfg.n_levels; i++) {
        int64_t kernel = i == 0 && cfg.image_input ? 3 : 1;
        ok = (d->lateral[i] = conv_new(s, nn_path(path, "%slateral.%d", pre, i),
                                       cfg.in_channels[i], cfg.width, kernel, 1)) != NULL;
    }
    for (int i = 0; ok && i < cfg.n_levels; i++)
        ok = (d->blocks[i] = block_new(s, pre, i, cfg.block_convs, cfg.width,
                                       i == 0 ? cfg.out_channels : cfg.width)) != NULL;
    if (!ok) {
        segdec_free(d);
        return PT_ERR;
    }
    return PT_OK;
}

void segdec_free(segdec *d)
{
    if (!d)
        return;
    for (int i = 0; i < SEGDEC_MAX_LEVELS; i++) {
        nn_module_free(d->lateral[i]);
        nn_module_free(d->blocks[i]);
    }
    memset(d, 0, sizeof *d);
}

/* Every input 4-D with its configured channels and the same batch size. */
static pt_status check_inputs(const segdec *d, pt_tensor *const *inputs, int n)
{
    if (n != d->cfg.n_levels) {
        pt_error_set("segdec_forward: %d inputs given, the decoder was built for %d", n,
                     d->cfg.n_levels);
        return PT_ERR;
    }
    for (int i = 0; i < n; i++) {
        char shape[128];
        if (!inputs[i]) {
            if (!pt_error_pending())
                pt_error_set("segdec_forward: input %d is NULL", i);
            return PT_ERR;
        }
        if (pt_ndim(inputs[i]) != 4 || pt_size(inputs[i], 1) != d->cfg.in_channels[i] ||
            pt_size(inputs[i], 0) != pt_size(inputs[0], 0)) {
            pt_error_set("segdec_forward: input %d is %s, expected [%lld, %lld, H, W]", i,
                         pt_describe(inputs[i], shape, sizeof shape),
                         (long long)pt_size(inputs[0], 0), (long long)d->cfg.in_channels[i]);
            return PT_ERR;
        }
    }
    return PT_OK;
}

pt_tensor *segdec_forward(segdec *d, pt_tensor *const *inputs, int n)
{
    if (!d || !d->lateral[0] || !inputs) {
        pt_error_set("segdec_forward: an initialised decoder and its inputs are required");
        return NULL;
    }
    if (check_inputs(d, inputs, n) != PT_OK)
        return NULL;
    size_t mark = pt_scope_begin();
    pt_tensor *y = nn_forward(d->blocks[n - 1], nn_forward(d->lateral[n - 1], inputs[n - 1]));
    for (int i = n - 2; i >= 0 && y; i--) {
        pt_tensor *up = pt_interpolate(y, pt_size(inputs[i], 2), pt_size(inputs[i], 3),
                                       PT_INTERP_BILINEAR, 0);
        y = nn_forward(d->blocks[i], pt_add(nn_forward(d->lateral[i], inputs[i]), up));
    }
    if (!y && !pt_error_pending())
        pt_error_set("segdec_forward: forward pass failed");
    return pt_scope_return(mark, y);
}

/* ------------------------------------------------------------------ segnet */

const char *const segnet_backbone_names[] = {"resnet18",           "resnet34", "resnet50",
                                             "resnet101",          "resnet152",
                                             "mobilenet_v3_small", "mobilenet_v3_large"};
const int segnet_n_backbones =
    (int)(sizeof segnet_backbone_names / sizeof segnet_backbone_names[0]);
static const int RESNET_DEPTHS[] = {18, 34, 50, 101, 152}; /* the first names, in order */
#define N_RESNETS ((int)(sizeof RESNET_DEPTHS / sizeof RESNET_DEPTHS[0]))

segnet_config segnet_defaults(void)
{
    return (segnet_config){.backbone = "resnet18", .output_stride = 4, .width = 64,
                           .feature_channels = 0, .out_channels = 1, .block_convs = 1,
                           .frozen_stages = -1, .norm_eval = 0};
}

/* Index of name in segnet_backbone_names, -1 if absent. */
static int backbone_index(const char *name)
{
    for (int i = 0; name && i < segnet_n_backbones; i++)
        if (strcmp(name, segnet_backbone_names[i]) == 0)
            return i;
    return -1;
}

static pt_status check_segnet(const segnet_config *c)
{
    if (backbone_index(c->backbone) < 0) {
        pt_error_set("segnet: backbone '%s' is not one of " SEGNET_BACKBONES,
                     c->backbone ? c->backbone : "(null)");
        return PT_ERR;
    }
    if (c->output_stride != 1 && c->output_stride != 2 && c->output_stride != 4) {
        pt_error_set("segnet: output_stride must be 1, 2 or 4 (got %d)", c->output_stride);
        return PT_ERR;
    }
    if (c->out_channels <= 0) {
        pt_error_set("segnet: out_channels (head outputs) must be > 0 (got %lld)",
                     (long long)c->out_channels);
        return PT_ERR;
    }
    if (backbone_index(c->backbone) >= N_RESNETS && (c->frozen_stages != -1 || c->norm_eval != 0)) {
        pt_error_set("segnet: frozen_stages and norm_eval apply to ResNet backbones only "
                     "(backbone '%s' needs frozen_stages -1 and norm_eval 0)", c->backbone);
        return PT_ERR;
    }
    return PT_OK; /* width, feature_channels, block_convs: the decoder checks them; frozen_stages
                   * and norm_eval: resnet_init */
}

/* Channels of the backbone's levels, finest first, as segnet_levels hands them out. */
static int level_channels(const segnet *n, int64_t *ch)
{
    int k = 0, stride = n->cfg.output_stride;
    if (stride == 1)
        ch[k++] = 3;
    if (n->family == SEGNET_RESNET) {
        if (stride <= 2)
            ch[k++] = 64; /* the stem */
        for (int level = 2; level <= 5; level++)
            ch[k++] = resnet_channels(&n->res, level);
    } else {
        for (int t = stride <= 2 ? 0 : 1; t < n->mb.n_taps; t++)
            ch[k++] = n->mb.tap_channels[t];
        ch[k++] = n->mb.feature_channels;
    }
    return k;
}

pt_status segnet_init(segnet *n, nn_store *s, const char *prefix, segnet_config cfg)
{
    memset(n, 0, sizeof *n);
    if (check_segnet(&cfg) != PT_OK)
        return PT_ERR;
    if (!s) {
        pt_error_set("segnet: a parameter store is required");
        return PT_ERR;
    }
    char pre[NN_NAME_MAX], path[NN_NAME_MAX];
    nn_prefix(pre, prefix);
    int b = backbone_index(cfg.backbone);
    snprintf(n->backbone_name, sizeof n->backbone_name, "%s", cfg.backbone);
    cfg.backbone = n->backbone_name;
    n->cfg = cfg;
    pt_status st;
    if (b < N_RESNETS) {
        n->family = SEGNET_RESNET;
        resnet_config rc = resnet_defaults(RESNET_DEPTHS[b]);
        rc.with_fc = 0;
        rc.frozen_stages = cfg.frozen_stages;
        rc.norm_eval = cfg.norm_eval;
        st = resnet_init(&n->res, s, nn_path(path, "%sbackbone", pre), rc);
    } else {
        n->family = SEGNET_MBV3;
        mbv3_config mc = mbv3_defaults(b == N_RESNETS ? MBV3_SMALL : MBV3_LARGE);
        mc.num_classes = 0;
        st = mbv3_init(&n->mb, s, nn_path(path, "%sbackbone", pre), mc);
    }
    if (st != PT_OK) {
        memset(n, 0, sizeof *n);
        return PT_ERR;
    }
    int64_t ch[SEGDEC_MAX_LEVELS];
    int levels = level_channels(n, ch);
    segdec_config dc = segdec_defaults(ch, levels);
    dc.image_input = cfg.output_stride == 1;
    dc.width = cfg.width;
    dc.out_channels = cfg.feature_channels;
    dc.block_convs = cfg.block_convs;
    st = segdec_init(&n->decoder, s, nn_path(path, "%sdecoder", pre), dc);
    if (st == PT_OK)
        n->head = nn_conv2d_new(s, nn_path(path, "%shead", pre),
                                (nn_conv_opts){.in = n->decoder.cfg.out_channels,
                                               .out = cfg.out_channels, .k = 1});
    if (!n->head) {
        segnet_free(n);
        return PT_ERR;
    }
    n->cfg.feature_channels = n->decoder.cfg.out_channels;
    return PT_OK;
}

void segnet_free(segnet *n)
{
    if (!n)
        return;
    if (n->family == SEGNET_RESNET)
        resnet_free(&n->res);
    else
        mbv3_free(&n->mb);
    segdec_free(&n->decoder);
    nn_module_free(n->head);
    memset(n, 0, sizeof *n);
}

pt_status segnet_levels(segnet *n, const pt_tensor *x, pt_tensor **levels, int *n_levels)
{
    for (int i = 0; levels && i < SEGDEC_MAX_LEVELS; i++)
        levels[i] = NULL;
    if (n_levels)
        *n_levels = 0;
    if (!n || !n->head || !levels || !n_levels) {
        pt_error_set("segnet_levels: an initialised segnet and output arrays are required");
        return PT_ERR;
    }
    if (!x) {
        if (!pt_error_pending())
            pt_error_set("segnet_levels: input is NULL");
        return PT_ERR;
    }
    if (pt_ndim(x) != 4 || pt_size(x, 1) != 3) {
        char shape[128];
        pt_error_set("segnet: input must be [N, 3, H, W], got %s",
                     pt_describe(x, shape, sizeof shape));
        return PT_ERR;
    }
    int stride = n->cfg.output_stride, k = 0;
    pt_status st = PT_OK;
    if (stride == 1)
        st = (levels[k++] = pt_alias(x)) ? PT_OK : PT_ERR;
    if (st == PT_OK && n->family == SEGNET_RESNET) {
        if (stride <= 2) {
            st = resnet_forward_stem(&n->res, x, &levels[k], &levels[k + 1]);
            k += 5;
        } else {
            st = resnet_forward(&n->res, x, &levels[k], NULL);
            k += 4;
        }
    } else if (st == PT_OK) {
        pt_tensor *taps[MBV3_MAX_TAPS] = {0};
        pt_tensor *last = mbv3_features_taps(&n->mb, x, taps);
        st = last ? PT_OK : PT_ERR;
        for (int t = 0; t < n->mb.n_taps; t++) {
            if (stride <= 2 || t > 0)
                levels[k++] = taps[t];
            else
                pt_free(taps[t]);
        }
        levels[k++] = last;
    }
    if (st != PT_OK) {
        for (int i = 0; i < SEGDEC_MAX_LEVELS; i++) {
            pt_free(levels[i]);
            levels[i] = NULL;
        }
        if (!pt_error_pending())
            pt_error_set("segnet_levels: the backbone's forward pass failed");
        return PT_ERR;
    }
    *n_levels = k;
    return PT_OK;
}

pt_status segnet_forward(segnet *n, const pt_tensor *x, pt_tensor **features, pt_tensor **logits)
{
    if (features)
        *features = NULL;
    if (logits)
        *logits = NULL;
    size_t mark = pt_scope_begin();
    pt_tensor *levels[SEGDEC_MAX_LEVELS];
    int n_levels = 0;
    pt_tensor *f = NULL, *l = NULL;
    if (segnet_levels(n, x, levels, &n_levels) == PT_OK) {
        f = segdec_forward(&n->decoder, levels, n_levels);
        l = logits ? nn_forward(n->head, f) : NULL;
    }
    if (!f || (logits && !l)) {
        pt_scope_end(mark);
        if (!pt_error_pending())
            pt_error_set("segnet_forward: forward pass failed");
        return PT_ERR;
    }
    /* hand the outputs to the caller's scope (if any), as an op's result would be */
    pt_tensor *out[2] = {f, l};
    pt_scope_return_n(mark, out, 2);
    if (features)
        *features = f;
    else
        pt_free(f);
    if (logits)
        *logits = l;
    return PT_OK;
}
