/*
 * mobilenetv3.c - MobileNetV3 small and large (see mobilenetv3.h): the two inverted-residual
 * tables, the building blocks (Conv2dNormActivation, SqueezeExcitation, InvertedResidual), the
 * classifier head, torchvision's initialisation, and the forward passes.
 */
#include "models/backbones/mobilenetv3.h"

#include <string.h>
#include <stdlib.h>

/* ------------------------------------------------------------------ the tables */

/* One row of the MobileNetV3 paper's Tables 1 and 2, before the width multiplier: input, kernel,
 * expanded and output channels, squeeze-excitation, Hardswish (else ReLU), stride. */
typedef struct {
    int in, kernel, expanded, out;
    int se, hardswish, stride;
} mbv3_row;

static const mbv3_row SMALL_ROWS[] = {
    {16, 3, 16, 16, 1, 0, 2},
    {16, 3, 72, 24, 0, 0, 2},
    {24, 3, 88, 24, 0, 0, 1},
    {24, 5, 96, 40, 1, 1, 2},
    {40, 5, 240, 40, 1, 1, 1},
    {40, 5, 240, 40, 1, 1, 1},
    {40, 5, 120, 48, 1, 1, 1},
    {48, 5, 144, 48, 1, 1, 1},
    {48, 5, 288, 96, 1, 1, 2},
    {96, 5, 576, 96, 1, 1, 1},
    {96, 5, 576, 96, 1, 1, 1},
};

static const mbv3_row LARGE_ROWS[] = {
    {16, 3, 16, 16, 0, 0, 1},
    {16, 3, 64, 24, 0, 0, 2},
    {24, 3, 72, 24, 0, 0, 1},
    {24, 5, 72, 40, 1, 0, 2},
    {40, 5, 120, 40, 1, 0, 1},
    {40, 5, 120, 40, 1, 0, 1},
    {40, 3, 240, 80, 0, 1, 2},
    {80, 3, 200, 80, 0, 1, 1},
    {80, 3, 184, 80, 0, 1, 1},
    {80, 3, 184, 80, 0, 1, 1},
    {80, 3, 480, 112, 1, 1, 1},
    {112, 3, 672, 112, 1, 1, 1},
    {112, 5, 672, 160, 1, 1, 2},
    {160, 5, 960, 160, 1, 1, 1},
    {160, 5, 960, 160, 1, 1, 1},
};

#define N_ROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Hidden width of the classifier before the width multiplier. */
static const int LAST_CHANNEL[2] = {1024, 1280};

static const double BN_EPS = 0.001, BN_MOMENTUM = 0.01;

mbv3_config mbv3_defaults(mbv3_variant variant)
{
    return (mbv3_config){.variant = variant, .width_mult = 1.0, .num_classes = 1000,
                         .dropout = 0.2, .in_channels = 3};
}

int64_t mbv3_make_divisible(double v, int64_t divisor)
{
    int64_t rounded = (int64_t)(v + (double)divisor / 2.0) / divisor * divisor;
    int64_t new_v = rounded > divisor ? rounded : divisor;
    if ((double)new_v < 0.9 * v)
        new_v += divisor;
    return new_v;
}

static int64_t adjust(int channels, double width_mult)
{
    return mbv3_make_divisible((double)channels * width_mult, 8);
}

/* ------------------------------------------------------------------ initialisation */

/* torchvision: normal_(0, 0.01) for Linear weights, zeros for their biases. */
static nn_module *linear_new(nn_store *s, const char *name, int64_t in, int64_t out)
{
    nn_module *m = nn_linear_new(s, name, in, out, 1);
    if (!m)
        return NULL;
    nn_linear *l = (nn_linear *)m;
    if (nn_init_normal(l->weight, 0.0, 0.01, nn_store_generator(s)) != PT_OK ||
        nn_init_constant(l->bias, 0.0) != PT_OK) {
        nn_module_free(m);
        return NULL;
    }
    return m;
}

/* ------------------------------------------------------------------ building blocks */

/* Conv2dNormActivation: .0 conv (no bias, "same" padding), .1 BatchNorm2d, then the activation
 * unless act is NN_IDENTITY (torchvision's activation_layer=None: no module at all). */
static nn_module *conv_norm_act(nn_store *s, const char *name, int64_t in, int64_t out,
                                int64_t kernel, int64_t stride, int64_t groups, nn_activation act)
{
    char path[NN_NAME_MAX];
    nn_module *seq = nn_sequential_new();
    nn_conv_opts o = {.in = in, .out = out, .k = kernel, .stride = stride,
                      .pad = (kernel - 1) / 2, .groups = groups, .no_bias = 1,
                      .init = {NN_INIT_KAIMING_FAN_OUT}};
    nn_seq_add(seq, nn_conv2d_new(s, nn_path(path, "%s.0", name), o));
    nn_seq_add(seq, nn_batchnorm2d_new(s, nn_path(path, "%s.1", name), out, BN_EPS, BN_MOMENTUM));
    if (act != NN_IDENTITY)
        nn_seq_add(seq, nn_act_new(act));
    if (!nn_seq_ok(seq)) {
        nn_module_free(seq);
        return NULL;
    }
    return seq;
}

/* SqueezeExcitation: x * hardsigmoid(fc2(relu(fc1(avgpool(x))))), fc1/fc2 1x1 convs with bias. */
typedef struct {
    nn_module base;
    nn_module *fc1, *fc2;
} mbv3_se;

static pt_tensor *se_forward(nn_module *m, const pt_tensor *x)
{
    mbv3_se *se = (mbv3_se *)m;
    size_t mark = pt_scope_begin();
    pt_tensor *scale = pt_adaptive_avg_pool2d(x, 1, 1);
    scale = nn_forward(se->fc1, scale);
    scale = pt_relu(scale);
    scale = nn_forward(se->fc2, scale);
    scale = pt_hardsigmoid(scale);
    return pt_scope_return(mark, pt_mul(scale, x));
}

static void se_destroy(nn_module *m)
{
    mbv3_se *se = (mbv3_se *)m;
    nn_module_free(se->fc1);
    nn_module_free(se->fc2);
    free(se);
}

static nn_module *se_new(nn_store *s, const char *name, int64_t channels, int64_t squeeze)
{
    char path[NN_NAME_MAX];
    mbv3_se *se = calloc(1, sizeof *se);
    if (!se) {
        pt_error_set("squeeze-excitation '%s': out of memory", name);
        return NULL;
    }
    se->base = (nn_module){.kind = "squeeze_excitation", .forward = se_forward,
                           .destroy = se_destroy};
    se->fc1 = nn_conv2d_new(s, nn_path(path, "%s.fc1", name),
                            (nn_conv_opts){.in = channels, .out = squeeze, .k = 1,
                                           .init = {NN_INIT_KAIMING_FAN_OUT}});
    se->fc2 = se->fc1 ? nn_conv2d_new(s, nn_path(path, "%s.fc2", name),
                                      (nn_conv_opts){.in = squeeze, .out = channels, .k = 1,
                                                     .init = {NN_INIT_KAIMING_FAN_OUT}})
                      : NULL;
    if (!se->fc2) {
        se_destroy(&se->base);
        return NULL;
    }
    return &se->base;
}

/* InvertedResidual: block = [expand] depthwise [se] project; plus the input when the shapes allow
 * (stride 1 and as many output channels as input channels). */
typedef struct {
    nn_module base;
    nn_module *block;
    int residual;
} mbv3_inverted_residual;

static pt_tensor *inverted_residual_forward(nn_module *m, const pt_tensor *x)
{
    mbv3_inverted_residual *ir = (mbv3_inverted_residual *)m;
    pt_tensor *y = nn_forward(ir->block, x);
    if (y && ir->residual && pt_add_(y, x, 1.0) != PT_OK) { /* y += x, as torchvision */
        pt_free(y);
        return NULL;
    }
    return y;
}

static void inverted_residual_destroy(nn_module *m)
{
    mbv3_inverted_residual *ir = (mbv3_inverted_residual *)m;
    nn_module_free(ir->block);
    free(ir);
}

/* The row's channels are already multiplied by the width (in, expanded, out). */
static nn_module *inverted_residual_new(nn_store *s, const char *name, const mbv3_row *r,
                                        int64_t in, int64_t expanded, int64_t out)
{
    char path[NN_NAME_MAX];
    nn_activation act = r->hardswish ? NN_HARDSWISH : NN_RELU;
    nn_module *block = nn_sequential_new();
    int j = 0;
    if (expanded != in)
        nn_seq_add(block, conv_norm_act(s, nn_path(path, "%s.block.%d", name, j++), in, expanded, 1, 1,
                                 1, act));
    nn_seq_add(block, conv_norm_act(s, nn_path(path, "%s.block.%d", name, j++), expanded, expanded,
                             r->kernel, r->stride, expanded, act));
    if (r->se)
        nn_seq_add(block, se_new(s, nn_path(path, "%s.block.%d", name, j++), expanded,
                          mbv3_make_divisible((double)(expanded / 4), 8)));
    nn_seq_add(block, conv_norm_act(s, nn_path(path, "%s.block.%d", name, j++), expanded, out, 1, 1, 1,
                             NN_IDENTITY));
    int ok = nn_seq_ok(block);
    mbv3_inverted_residual *ir = ok ? calloc(1, sizeof *ir) : NULL;
    if (!ir) {
        if (ok)
            pt_error_set("inverted residual '%s': out of memory", name);
        nn_module_free(block);
        return NULL;
    }
    ir->base = (nn_module){.kind = "inverted_residual", .forward = inverted_residual_forward,
                           .destroy = inverted_residual_destroy};
    ir->block = block;
    ir->residual = r->stride == 1 && in == out;
    return &ir->base;
}

/* ------------------------------------------------------------------ the model */

static pt_status check_config(const mbv3_config *c)
{
    if (c->variant != MBV3_SMALL && c->variant != MBV3_LARGE) {
        pt_error_set("mobilenetv3: variant must be small or large (got %d)", (int)c->variant);
        return PT_ERR;
    }
    if (!(c->width_mult > 0 && c->width_mult <= 16)) {
        pt_error_set("mobilenetv3: width_mult must be in (0, 16] (got %g)", c->width_mult);
        return PT_ERR;
    }
    if (c->num_classes < 0) {
        pt_error_set("mobilenetv3: num_classes must be >= 0, 0 for no classifier (got %d)",
                     c->num_classes);
        return PT_ERR;
    }
    if (!(c->dropout >= 0 && c->dropout < 1)) {
        pt_error_set("mobilenetv3: dropout must be in [0, 1) (got %g)", c->dropout);
        return PT_ERR;
    }
    if (c->in_channels != 3 && c->in_channels != 1) {
        pt_error_set("mobilenetv3: in_channels must be 3 (RGB) or 1 (grey) (got %d)",
                     c->in_channels);
        return PT_ERR;
    }
    return PT_OK;
}

/* features.0 .. features.n+1. Records the stage ends (the layer before each later stride 2). */
static nn_module *features_new(mbv3 *m, nn_store *s, const char *pre)
{
    char path[NN_NAME_MAX];
    const mbv3_config *c = &m->cfg;
    const mbv3_row *rows = c->variant == MBV3_SMALL ? SMALL_ROWS : LARGE_ROWS;
    int n = c->variant == MBV3_SMALL ? N_ROWS(SMALL_ROWS) : N_ROWS(LARGE_ROWS);
    double w = c->width_mult;
    nn_module *f = nn_sequential_new();
    int64_t stem = adjust(rows[0].in, w);
    nn_seq_add(f, conv_norm_act(s, nn_path(path, "%sfeatures.0", pre), c->in_channels, stem, 3, 2, 1,
                         NN_HARDSWISH));
    int64_t channels = stem;
    for (int i = 0; i < n; i++) {
        const mbv3_row *r = &rows[i];
        if (r->stride == 2 && m->n_taps < MBV3_MAX_TAPS) {
            m->tap_layer[m->n_taps] = i; /* features.i, the layer before this row's */
            m->tap_channels[m->n_taps++] = channels;
        }
        int64_t in = adjust(r->in, w), expanded = adjust(r->expanded, w), out = adjust(r->out, w);
        nn_seq_add(f, inverted_residual_new(s, nn_path(path, "%sfeatures.%d", pre, i + 1), r, in,
                                     expanded, out));
        channels = out;
    }
    m->feature_channels = 6 * channels;
    nn_seq_add(f, conv_norm_act(s, nn_path(path, "%sfeatures.%d", pre, n + 1), channels,
                         m->feature_channels, 1, 1, 1, NN_HARDSWISH));
    if (!nn_seq_ok(f)) {
        nn_module_free(f);
        return NULL;
    }
    return f;
}

/* classifier: .0 Linear, .1 Hardswish, .2 Dropout, .3 Linear. */
static nn_module *classifier_new(mbv3 *m, nn_store *s, const char *pre)
{
    char path[NN_NAME_MAX];
    nn_module *k = nn_sequential_new();
    nn_seq_add(k, linear_new(s, nn_path(path, "%sclassifier.0", pre), m->feature_channels,
                      m->last_channel));
    nn_seq_add(k, nn_act_new(NN_HARDSWISH));
    nn_seq_add(k, nn_dropout_new(s, m->cfg.dropout));
    nn_seq_add(k, linear_new(s, nn_path(path, "%sclassifier.3", pre), m->last_channel,
                      m->cfg.num_classes));
    if (!nn_seq_ok(k)) {
        nn_module_free(k);
        return NULL;
    }
    return k;
}

pt_status mbv3_init(mbv3 *m, nn_store *s, const char *prefix, mbv3_config cfg)
{
    memset(m, 0, sizeof *m);
    if (check_config(&cfg) != PT_OK)
        return PT_ERR;
    if (!s) {
        pt_error_set("mobilenetv3: a parameter store is required");
        return PT_ERR;
    }
    char pre[NN_NAME_MAX];
    nn_prefix(pre, prefix);
    m->cfg = cfg;
    m->last_channel = adjust(LAST_CHANNEL[cfg.variant], cfg.width_mult);
    m->features = features_new(m, s, pre);
    if (m->features && cfg.num_classes > 0)
        m->classifier = classifier_new(m, s, pre);
    if (!m->features || (cfg.num_classes > 0 && !m->classifier)) {
        mbv3_free(m);
        return PT_ERR;
    }
    return PT_OK;
}

void mbv3_free(mbv3 *m)
{
    if (!m)
        return;
    nn_module_free(m->features);
    nn_module_free(m->classifier);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------------ forward passes */

pt_tensor *mbv3_features(mbv3 *m, const pt_tensor *x)
{
    return nn_forward(m->features, x);
}

pt_tensor *mbv3_pool(mbv3 *m, const pt_tensor *features)
{
    (void)m;
    size_t mark = pt_scope_begin();
    pt_tensor *pooled = pt_adaptive_avg_pool2d(features, 1, 1);
    return pt_scope_return(mark, pt_flatten(pooled, 1, -1));
}

pt_tensor *mbv3_logits(mbv3 *m, const pt_tensor *x)
{
    if (!m->classifier) {
        pt_error_set("mbv3_logits: the model was built with num_classes 0 (a backbone); use "
                     "mbv3_features and mbv3_pool");
        return NULL;
    }
    size_t mark = pt_scope_begin();
    pt_tensor *features = mbv3_features(m, x);
    pt_tensor *pooled = mbv3_pool(m, features);
    return pt_scope_return(mark, nn_forward(m->classifier, pooled));
}

pt_tensor *mbv3_features_taps(mbv3 *m, const pt_tensor *x, pt_tensor **taps)
{
    for (int i = 0; taps && i < m->n_taps; i++)
        taps[i] = NULL;
    int n = nn_seq_size(m->features), next_tap = 0;
    pt_tensor *cur = NULL;
    for (int layer = 0; layer < n; layer++) {
        pt_tensor *out = nn_forward(nn_seq_child(m->features, layer), cur ? cur : x);
        int is_tap = taps && next_tap < m->n_taps && m->tap_layer[next_tap] == layer;
        if (is_tap && out)
            taps[next_tap++] = pt_alias(out);
        pt_free(cur);
        cur = out;
        if (!out)
            break;
    }
    if (!cur) {
        for (int i = 0; taps && i < m->n_taps; i++) {
            pt_free(taps[i]);
            taps[i] = NULL;
        }
        if (!pt_error_pending())
            pt_error_set("mbv3_features_taps: the model has no layers");
    }
    return cur;
}
