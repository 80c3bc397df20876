/*
 * resnet.c - ResNet (see resnet.h): the depth table, the BasicBlock and Bottleneck residual
 * blocks, the stem, the optional classifier, torchvision's initialisation, mmdet's freezing
 * options (frozen stages, norm_eval), and the forward pass that hands out C2 .. C5.
 */
#include "models/backbones/resnet.h"

#include <stdlib.h>
#include <string.h>

static const double BN_EPS = 1e-5, BN_MOMENTUM = 0.1;

/* Blocks per stage for each depth, and whether the depth uses Bottleneck blocks. */
typedef struct {
    int depth;
    int blocks[4];
    int bottleneck;
} resnet_arch;

static const resnet_arch ARCHS[] = {
    {18, {2, 2, 2, 2}, 0},
    {34, {3, 4, 6, 3}, 0},
    {50, {3, 4, 6, 3}, 1},
    {101, {3, 4, 23, 3}, 1},
    {152, {3, 8, 36, 3}, 1},
};

static const resnet_arch *arch_of(int depth)
{
    for (size_t i = 0; i < sizeof ARCHS / sizeof ARCHS[0]; i++)
        if (ARCHS[i].depth == depth)
            return &ARCHS[i];
    return NULL;
}

resnet_config resnet_defaults(int depth)
{
    return (resnet_config){.depth = depth, .frozen_stages = -1, .norm_eval = 0, .with_fc = 1,
                           .num_classes = 1000};
}

/* ------------------------------------------------------------------ layers with freezing */

/* How a module's parameters and statistics are treated. */
typedef struct {
    int frozen;    /* in a frozen stage: parameters frozen, BatchNorm statistics frozen */
    int norm_eval; /* BatchNorm statistics and affine parameters frozen */
} freeze_mode;

/* Freezes every parameter under "<name>.". */
static pt_status freeze_module(nn_store *s, const char *name)
{
    char prefix[NN_NAME_MAX];
    return nn_store_freeze(s, nn_path(prefix, "%s.", name)) < 0 ? PT_ERR : PT_OK;
}

/* torchvision: kaiming_normal_(mode="fan_out", nonlinearity="relu"), no bias. */
static nn_module *conv_new(nn_store *s, const char *name, int64_t in, int64_t out,
                           int64_t kernel, int64_t stride, freeze_mode fm)
{
    nn_conv_opts o = {.in = in, .out = out, .k = kernel, .stride = stride,
                      .pad = (kernel - 1) / 2, .no_bias = 1, .init = {NN_INIT_KAIMING_FAN_OUT}};
    nn_module *m = nn_conv2d_new(s, name, o);
    if (!m)
        return NULL;
    if (fm.frozen && freeze_module(s, name) != PT_OK) {
        nn_module_free(m);
        return NULL;
    }
    return m;
}

static nn_module *bn_new(nn_store *s, const char *name, int64_t channels, freeze_mode fm)
{
    nn_module *m = nn_batchnorm2d_new(s, name, channels, BN_EPS, BN_MOMENTUM);
    if (!m)
        return NULL;
    int freeze = fm.frozen || fm.norm_eval;
    if (freeze && (nn_batchnorm2d_set_frozen(m, 1) != PT_OK || freeze_module(s, name) != PT_OK)) {
        nn_module_free(m);
        return NULL;
    }
    return m;
}

/* ------------------------------------------------------------------ residual blocks */

/* BasicBlock (conv3 == NULL) or Bottleneck. */
typedef struct {
    nn_module base;
    nn_module *conv1, *bn1, *conv2, *bn2, *conv3, *bn3;
    nn_module *downsample; /* NULL when the identity has the output's shape */
} resnet_block;

static pt_tensor *block_forward(nn_module *m, const pt_tensor *x)
{
    resnet_block *b = (resnet_block *)m;
    size_t mark = pt_scope_begin();
    pt_tensor *y = pt_relu(nn_forward(b->bn1, nn_forward(b->conv1, x)));
    y = nn_forward(b->bn2, nn_forward(b->conv2, y));
    if (b->conv3)
        y = nn_forward(b->bn3, nn_forward(b->conv3, pt_relu(y)));
    const pt_tensor *identity = b->downsample ? nn_forward(b->downsample, x) : x;
    pt_tensor *out = NULL;
    if (y && identity && pt_add_(y, identity, 1.0) == PT_OK) /* out += identity, as torchvision */
        out = pt_relu(y);
    return pt_scope_return(mark, out);
}

static void block_destroy(nn_module *m)
{
    resnet_block *b = (resnet_block *)m;
    nn_module_free(b->conv1);
    nn_module_free(b->bn1);
    nn_module_free(b->conv2);
    nn_module_free(b->bn2);
    nn_module_free(b->conv3);
    nn_module_free(b->bn3);
    nn_module_free(b->downsample);
    free(b);
}

/* One block named name (e.g. "layer2.0"): in -> planes * expansion channels, stride on the 3x3
 * conv (conv1 of a BasicBlock, conv2 of a Bottleneck). Registration order is torchvision's:
 * conv1, bn1, conv2, bn2, [conv3, bn3], downsample. */
static nn_module *block_new(nn_store *s, const char *name, int bottleneck, int64_t in,
                            int64_t planes, int64_t stride, freeze_mode fm)
{
    char path[NN_NAME_MAX];
    int64_t out = bottleneck ? 4 * planes : planes;
    resnet_block *b = calloc(1, sizeof *b);
    if (!b) {
        pt_error_set("resnet block '%s': out of memory", name);
        return NULL;
    }
    b->base = (nn_module){.kind = bottleneck ? "bottleneck" : "basic_block",
                          .forward = block_forward, .destroy = block_destroy};
    int ok;
    if (bottleneck) {
        ok = (b->conv1 = conv_new(s, nn_path(path, "%s.conv1", name), in, planes, 1, 1, fm)) &&
             (b->bn1 = bn_new(s, nn_path(path, "%s.bn1", name), planes, fm)) &&
             (b->conv2 = conv_new(s, nn_path(path, "%s.conv2", name), planes, planes, 3, stride,
                                  fm)) &&
             (b->bn2 = bn_new(s, nn_path(path, "%s.bn2", name), planes, fm)) &&
             (b->conv3 = conv_new(s, nn_path(path, "%s.conv3", name), planes, out, 1, 1, fm)) &&
             (b->bn3 = bn_new(s, nn_path(path, "%s.bn3", name), out, fm));
    } else {
        ok = (b->conv1 = conv_new(s, nn_path(path, "%s.conv1", name), in, planes, 3, stride,
                                  fm)) &&
             (b->bn1 = bn_new(s, nn_path(path, "%s.bn1", name), planes, fm)) &&
             (b->conv2 = conv_new(s, nn_path(path, "%s.conv2", name), planes, planes, 3, 1, fm)) &&
             (b->bn2 = bn_new(s, nn_path(path, "%s.bn2", name), planes, fm));
    }
    if (ok && (stride != 1 || in != out)) {
        ok = (b->downsample = nn_sequential_new()) != NULL &&
             nn_seq_add(b->downsample, conv_new(s, nn_path(path, "%s.downsample.0", name), in,
                                                out, 1, stride, fm)) == PT_OK &&
             nn_seq_add(b->downsample, bn_new(s, nn_path(path, "%s.downsample.1", name), out,
                                              fm)) == PT_OK;
    }
    if (!ok) {
        block_destroy(&b->base);
        return NULL;
    }
    return &b->base;
}

/* layer<index+1>: blocks[index] blocks, the first with the stage's stride. */
static nn_module *stage_new(nn_store *s, const char *pre, int index, const resnet_arch *a,
                            int64_t in, freeze_mode fm)
{
    char name[NN_NAME_MAX];
    int64_t planes = (int64_t)64 << index, stride = index == 0 ? 1 : 2;
    int64_t out = a->bottleneck ? 4 * planes : planes;
    nn_module *seq = nn_sequential_new();
    if (!seq)
        return NULL;
    for (int j = 0; j < a->blocks[index]; j++) {
        nn_path(name, "%slayer%d.%d", pre, index + 1, j);
        if (nn_seq_add(seq, block_new(s, name, a->bottleneck, j == 0 ? in : out, planes,
                                      j == 0 ? stride : 1, fm)) != PT_OK) {
            nn_module_free(seq);
            return NULL;
        }
    }
    return seq;
}

/* ------------------------------------------------------------------ the model */

static pt_status check_config(const resnet_config *c)
{
    if (!arch_of(c->depth)) {
        pt_error_set("resnet: depth must be 18, 34, 50, 101 or 152 (got %d)", c->depth);
        return PT_ERR;
    }
    if (c->frozen_stages < -1 || c->frozen_stages > 4) {
        pt_error_set("resnet: frozen_stages must be -1 (none), 0 (stem) or 1..4 (stem and "
                     "layer1..k) (got %d)", c->frozen_stages);
        return PT_ERR;
    }
    if (c->norm_eval != 0 && c->norm_eval != 1) {
        pt_error_set("resnet: norm_eval must be 0 or 1 (got %d)", c->norm_eval);
        return PT_ERR;
    }
    if (c->with_fc != 0 && c->with_fc != 1) {
        pt_error_set("resnet: with_fc must be 0 or 1 (got %d)", c->with_fc);
        return PT_ERR;
    }
    if (c->with_fc && c->num_classes <= 0) {
        pt_error_set("resnet: num_classes must be > 0 with with_fc (got %d)", c->num_classes);
        return PT_ERR;
    }
    return PT_OK;
}

pt_status resnet_init(resnet *m, nn_store *s, const char *prefix, resnet_config cfg)
{
    memset(m, 0, sizeof *m);
    if (check_config(&cfg) != PT_OK)
        return PT_ERR;
    if (!s) {
        pt_error_set("resnet: a parameter store is required");
        return PT_ERR;
    }
    char pre[NN_NAME_MAX], path[NN_NAME_MAX];
    nn_prefix(pre, prefix);
    const resnet_arch *a = arch_of(cfg.depth);
    m->cfg = cfg;
    freeze_mode stem = {.frozen = cfg.frozen_stages >= 0, .norm_eval = cfg.norm_eval};
    int ok = (m->conv1 = conv_new(s, nn_path(path, "%sconv1", pre), 3, 64, 7, 2, stem)) &&
             (m->bn1 = bn_new(s, nn_path(path, "%sbn1", pre), 64, stem));
    int64_t channels = 64;
    for (int i = 0; ok && i < 4; i++) {
        freeze_mode fm = {.frozen = cfg.frozen_stages >= i + 1, .norm_eval = cfg.norm_eval};
        ok = (m->layers[i] = stage_new(s, pre, i, a, channels, fm)) != NULL;
        channels = ((int64_t)64 << i) * (a->bottleneck ? 4 : 1);
        m->stage_channels[i] = channels;
    }
    if (ok && cfg.with_fc) {
        /* PyTorch's default Linear init, as torchvision leaves it */
        ok = (m->fc = nn_linear_new(s, nn_path(path, "%sfc", pre), channels, cfg.num_classes,
                                    1)) != NULL;
    }
    if (!ok) {
        resnet_free(m);
        return PT_ERR;
    }
    return PT_OK;
}

void resnet_free(resnet *m)
{
    if (!m)
        return;
    nn_module_free(m->conv1);
    nn_module_free(m->bn1);
    for (int i = 0; i < 4; i++)
        nn_module_free(m->layers[i]);
    nn_module_free(m->fc);
    memset(m, 0, sizeof *m);
}

int64_t resnet_channels(const resnet *m, int level)
{
    if (!m || level < 2 || level > 5)
        return -1;
    return m->stage_channels[level - 2];
}

/* ------------------------------------------------------------------ forward */

/* resnet_forward, also handing out the stem's output when stem is not NULL. */
static pt_status forward(resnet *m, const pt_tensor *x, pt_tensor **stem, pt_tensor *stages[4],
                         pt_tensor **logits)
{
    for (int i = 0; stages && i < 4; i++)
        stages[i] = NULL;
    if (stem)
        *stem = NULL;
    if (logits)
        *logits = NULL;
    if (!m || !m->conv1) {
        pt_error_set("resnet_forward: the model is not initialised");
        return PT_ERR;
    }
    if (logits && !m->fc) {
        pt_error_set("resnet_forward: logits need the classifier, but the model was built with "
                     "with_fc 0 (a backbone)");
        return PT_ERR;
    }
    if (!x) {
        if (!pt_error_pending())
            pt_error_set("resnet_forward: input is NULL");
        return PT_ERR;
    }
    if (pt_ndim(x) != 4 || pt_size(x, 1) != 3) {
        char shape[128];
        pt_error_set("resnet_forward: input must be [N, 3, H, W], got %s",
                     pt_describe(x, shape, sizeof shape));
        return PT_ERR;
    }
    static const int64_t pool_k[2] = {3, 3}, pool_s[2] = {2, 2}, pool_p[2] = {1, 1};
    size_t mark = pt_scope_begin();
    pt_tensor *y = pt_relu(nn_forward(m->bn1, nn_forward(m->conv1, x))), *s0 = y;
    y = pt_max_pool2d(y, pool_k, pool_s, pool_p, NULL, 0);
    pt_tensor *c[4];
    for (int i = 0; i < 4; i++)
        y = c[i] = nn_forward(m->layers[i], y);
    pt_tensor *out = NULL;
    if (logits && y)
        out = nn_forward(m->fc, pt_flatten(pt_adaptive_avg_pool2d(y, 1, 1), 1, -1));
    if (!y || (logits && !out)) {
        pt_scope_end(mark);
        if (!pt_error_pending())
            pt_error_set("resnet_forward: forward pass failed");
        return PT_ERR;
    }
    /* hand the requested outputs to the caller's scope (if any), as an op's result would be */
    pt_tensor *keep[6] = {0};
    for (int i = 0; stages && i < 4; i++)
        keep[i] = stages[i] = c[i];
    keep[4] = out;
    keep[5] = stem ? s0 : NULL;
    pt_scope_return_n(mark, keep, 6);
    if (logits)
        *logits = out;
    if (stem)
        *stem = s0;
    return PT_OK;
}

pt_status resnet_forward(resnet *m, const pt_tensor *x, pt_tensor *stages[4], pt_tensor **logits)
{
    return forward(m, x, NULL, stages, logits);
}

pt_status resnet_forward_stem(resnet *m, const pt_tensor *x, pt_tensor **stem,
                              pt_tensor *stages[4])
{
    if (!stem) {
        pt_error_set("resnet_forward_stem: an output for the stem is required");
        return PT_ERR;
    }
    return forward(m, x, stem, stages, NULL);
}

pt_tensor *resnet_logits(resnet *m, const pt_tensor *x)
{
    pt_tensor *logits = NULL;
    return resnet_forward(m, x, NULL, &logits) == PT_OK ? logits : NULL;
}
