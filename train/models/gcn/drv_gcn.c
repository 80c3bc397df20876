/*
 * drv_gcn.c - model type `gcn` (seed 003): region segmentation learned from area ratios alone,
 * through superpixels on learned features and a graph convolutional network.
 *
 * One training step, per image (claims 1, 4-6):
 *   FCN features [F, h, w] (model.fcn: `small` = model.depth 3x3 conv-BN-ReLU layers of
 *   model.features channels, dilations 1, 2, 4, ... (no downsampling), or a segnet backbone +
 *   decoder at model.output_stride 1 or 2, models/backbones/segdecoder.h);
 *   SLIC (data/geometry/slic.h) on a detached copy of the features, divided by their RMS over the
 *   image so that model.compactness keeps one meaning while the features change; k =
 *   model.superpixels, drawn uniformly in k (1 +- model.superpixels_jitter) per image in
 *   training (FGNet's random count), exactly k in evaluation;
 *   the graph (gcn_graph.h: 4-neighbour adjacency on both axes, weights exp(-d^2 / sigma^2),
 *   sigma = model.sigma or the median distance), vertex features = differentiable segment means;
 *   GCN (model.head: gcn): layers H <- A_hat H W + b of widths model.gcn_widths then 1, ReLU
 *   between, giving one foreground logit per vertex.
 * Weak labels (claims 2-3, gcn_weak.h): the ranking of the model's own (detached) vertex scores
 *   and the image's area ratio r and error e give foreground / background / left-out vertices,
 *   counted by vertices or by pixel area (model.ratio_by). Loss: class-balanced BCE: the mean BCE
 *   of the foreground vertices and that of the background vertices, averaged over the classes
 *   present in the image, then over images; logged as bce_fg and bce_bg (means over the images
 *   that have the class). An image where no vertex gets a label (a one-superpixel image, or e
 *   large enough) leaves the loss; a batch where no image has one gives a zero loss (the step
 *   still runs).
 * model.head: pixel (the study's "no GCN"): the same superpixels and vertex labels, ranked by the
 *   segment mean of a 1x1 head's pixel logits, applied to those pixel logits (class-balanced
 *   pixel BCE). model.supervision: mask (the study's "full masks"): plain pixel BCE of the 1x1
 *   head against the full mask; no superpixels. In ratio mode the trainer never reads the masks
 *   (they stay in the store for evaluation; tests/test_gcn.c checks that inverted masks give the
 *   same losses).
 * Inputs checked when the model is created (the training set's area columns, every item): no
 *   area annotation, a missing (NaN) ratio, a ratio outside [0, 1] or an error outside [0, 1] are
 *   user errors naming the file and item. e > r is allowed (no foreground vertex: gcn_weak.h).
 * Evaluation: probabilities painted from vertices to pixels (or the pixel head's), thresholded at
 *   model.threshold: Dice, IoU, boundary F (eval/segmetrics.h, DAVIS tolerance) against the full
 *   masks where present, and ratio_mae = mean |predicted area fraction - labelled ratio| over the
 *   items with a ratio; `superpixels` = their mean count. Predict: the mask and the superpixel
 *   boundaries drawn by report/overlay.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/rng.h"
#include "core/driver.h"
#include "eval/segmetrics.h"
#include "geometry/slic.h"
#include "models/backbones/segdecoder.h"
#include "models/gcn/gcn_graph.h"
#include "models/gcn/gcn_weak.h"
#include "report/overlay.h"

#define GCN_MAX_LAYERS 8

typedef struct {
    int fcn;                 /* 0 small, i > 0: segnet_backbone_names[i - 1] */
    int64_t features, depth, output_stride;
    cfg_int_list gcn_widths;
    int head;                /* 0 gcn, 1 pixel */
    int supervision;         /* 0 ratio, 1 mask */
    int ratio_by;            /* gcn_ratio_by */
    int64_t superpixels, slic_iters;
    double superpixels_jitter, compactness, sigma, threshold;
} gcn_cfg;

enum { HEAD_GCN = 0, HEAD_PIXEL = 1 };
enum { SUP_RATIO = 0, SUP_MASK = 1 };

static const cfg_field model_fields[] = {
    {"fcn", CFG_ENUM, offsetof(gcn_cfg, fcn), "small", 0, 0, "small|" SEGNET_BACKBONES,
     "pixel features: a small no-downsampling FCN, or a segnet backbone + decoder", 0},
    {"features", CFG_INT, offsetof(gcn_cfg, features), "32", 1, 1024, NULL,
     "channels of the pixel features (small FCN width, segnet feature_channels)", 0},
    {"depth", CFG_INT, offsetof(gcn_cfg, depth), "4", 1, 16, NULL,
     "small FCN: 3x3 conv-BN-ReLU layers (dilations 1, 2, 4, ...)", 0},
    {"output_stride", CFG_INT, offsetof(gcn_cfg, output_stride), "2", 1, 2, NULL,
     "segnet FCN: feature stride 1 or 2 (the small FCN is always 1)", 0},
    {"gcn_widths", CFG_INT_LIST, offsetof(gcn_cfg, gcn_widths), "[32]", 1, 4096, NULL,
     "hidden widths of the GCN layers (a last layer gives 1 logit per vertex)", 0},
    {"head", CFG_ENUM, offsetof(gcn_cfg, head), "gcn", 0, 0, "gcn|pixel",
     "gcn: vertex logits from the GCN; pixel: vertex labels applied to a 1x1 head's pixel "
     "logits (no GCN)", 0},
    {"supervision", CFG_ENUM, offsetof(gcn_cfg, supervision), "ratio", 0, 0, "ratio|mask",
     "ratio: area ratios only (weak); mask: full masks, pixel BCE of the 1x1 head", 0},
    {"ratio_by", CFG_ENUM, offsetof(gcn_cfg, ratio_by), "vertices", 0, 0, "vertices|area",
     "count N1/N2 by vertices (claim 2) or by pixel area", 0},
    {"superpixels", CFG_INT, offsetof(gcn_cfg, superpixels), "100", 1, 1000000, NULL,
     "SLIC k (superpixels per image)", 0},
    {"superpixels_jitter", CFG_FLOAT, offsetof(gcn_cfg, superpixels_jitter), "0.3", 0, 0.95, NULL,
     "training: k drawn uniformly in k (1 +- this) per image", 0},
    {"compactness", CFG_FLOAT, offsetof(gcn_cfg, compactness), "1.0", 1e-6, 1e6, NULL,
     "SLIC compactness on the RMS-normalised features", 0},
    {"slic_iters", CFG_INT, offsetof(gcn_cfg, slic_iters), "10", 0, 100, NULL,
     "SLIC iterations", 0},
    {"sigma", CFG_FLOAT, offsetof(gcn_cfg, sigma), "0", 0, 1e9, NULL,
     "edge weight exp(-d^2 / sigma^2); 0 = the median edge distance of the image", 0},
    {"threshold", CFG_FLOAT, offsetof(gcn_cfg, threshold), "0.5", 0, 1, NULL,
     "foreground probability threshold of the predicted mask", 0},
};

static const cfg_section model_section = {
    "model", model_fields, (int)(sizeof model_fields / sizeof model_fields[0]),
    "gcn: FCN features -> SLIC superpixels -> graph -> GCN, trained from area ratios"};

/* ------------------------------------------------------------------ targets (loader threads) */

typedef struct {
    int n, h, w;
    int64_t *index;
    float *ratio, *error;  /* NaN = none */
    uint8_t *has_mask;
    uint8_t *mask;         /* n * h * w (zeros where there is none) */
    uint8_t *rgb;          /* n * h * w * 3 */
} gcn_payload;

static void payload_free(void *p)
{
    gcn_payload *l = p;
    if (!l)
        return;
    free(l->index), free(l->ratio), free(l->error), free(l->has_mask), free(l->mask);
    free(l->rgb);
    free(l);
}

static int gcn_targets(const void *ctx, const sample *s, int n, collated_batch *out, char *err,
                       size_t errlen)
{
    (void)ctx;
    const int h = s[0].h, w = s[0].w;
    const size_t hw = (size_t)h * (size_t)w;
    gcn_payload *p = calloc(1, sizeof *p);
    if (p) {
        out->payload = p;
        out->payload_free = payload_free;
        p->n = n, p->h = h, p->w = w;
        p->index = calloc((size_t)n, sizeof *p->index);
        p->ratio = calloc((size_t)n, sizeof *p->ratio);
        p->error = calloc((size_t)n, sizeof *p->error);
        p->has_mask = calloc((size_t)n, 1);
        p->mask = calloc((size_t)n * hw, 1);
        p->rgb = malloc((size_t)n * hw * 3);
    }
    if (!p || !p->index || !p->ratio || !p->error || !p->has_mask || !p->mask || !p->rgb)
        return err_fail(err, errlen, "gcn targets: out of memory");
    for (int i = 0; i < n; i++) {
        p->index[i] = s[i].index;
        p->ratio[i] = s[i].area_ratio;
        p->error[i] = s[i].area_error;
        if (!isnan(s[i].area_ratio)) {
            char why[160];
            if (gcn_weak_check(s[i].area_ratio, s[i].area_error, why, sizeof why))
                return err_fail(err, errlen, "dataset item %lld: %s", (long long)s[i].index,
                                why);
        }
        if (s[i].mask) {
            p->has_mask[i] = 1;
            for (size_t j = 0; j < hw; j++)
                p->mask[(size_t)i * hw + j] = s[i].mask[j] != 0;
        }
        for (size_t j = 0; j < hw; j++)
            for (int c = 0; c < 3; c++)
                p->rgb[((size_t)i * hw + j) * 3 + c] = s[i].image[j * s[i].c + (s[i].c == 3 ? c : 0)];
    }
    return 0;
}

static collate_config gcn_collate(const drv_env *env)
{
    collate_config cc;
    memset(&cc, 0, sizeof cc);
    drv_norm_apply(env->cfg, &cc);
    cc.targets = gcn_targets;
    cc.targets_ctx = env->model_cfg;
    return cc;
}

/* ------------------------------------------------------------------ model */

typedef struct {
    gcn_cfg cfg;
    const drv_env *env;
    int use_segnet;
    segnet net;
    nn_module *fcn, *head;
    nn_module *gcn[GCN_MAX_LAYERS];
    int n_gcn;
    prng rng;
    /* evaluation */
    segmetrics_acc *acc;
    double ratio_abs, sp_sum;
    int64_t ratio_n, images;
} gcn_model;

static void gcn_destroy(void *self)
{
    gcn_model *m = self;
    if (!m)
        return;
    if (m->use_segnet)
        segnet_free(&m->net);
    nn_module_free(m->fcn);
    nn_module_free(m->head);
    for (int i = 0; i < m->n_gcn; i++)
        nn_module_free(m->gcn[i]);
    segmetrics_acc_free(m->acc);
    free(m);
}

/* The training set's area labels, every item: present and valid (user errors otherwise). */
static int check_train_ratios(store_reader *r, char *err, size_t errlen)
{
    if (!(store_layout_of(r)->o.annotations & STORE_AREA))
        return err_fail(err, errlen, "%s: no area ratios (model.supervision: ratio needs them; "
                        "make them with `pictor data ratios`)", store_path(r));
    for (int64_t i = 0; i < store_count(r); i++) {
        sample s;
        sample_init(&s);
        char why[256];
        int rc = store_read(r, i, STORE_AREA, &s, why, sizeof why);
        if (rc == 0 && gcn_weak_check(s.area_ratio, s.area_error, why, sizeof why))
            rc = -1;
        sample_free(&s);
        if (rc)
            return err_fail(err, errlen, "%s: item %lld: %s", store_path(r), (long long)i, why);
    }
    return 0;
}

static void *gcn_create(const drv_env *env, char *err, size_t errlen)
{
    const gcn_cfg *c = env->model_cfg;
    if (c->gcn_widths.n > GCN_MAX_LAYERS - 1) {
        err_fail(err, errlen, "gcn: at most %d model.gcn_widths", GCN_MAX_LAYERS - 1);
        return NULL;
    }
    if (c->fcn > 0 && env->in_channels != 3) {
        err_fail(err, errlen, "gcn: a segnet FCN needs RGB images (got %d channels)",
                 env->in_channels);
        return NULL;
    }
    if (env->train && c->supervision == SUP_RATIO && check_train_ratios(env->train, err, errlen))
        return NULL;
    gcn_model *m = calloc(1, sizeof *m);
    if (!m) {
        err_fail(err, errlen, "out of memory");
        return NULL;
    }
    m->cfg = *c;
    m->env = env;
    nn_store *s = env->store;
    const int64_t f = c->features;
    if (c->fcn == 0) {
        m->fcn = nn_sequential_new();
        int64_t in = env->in_channels, dil = 1;
        char name[64];
        for (int i = 0; i < c->depth; i++, dil = dil < 8 ? dil * 2 : 1) {
            snprintf(name, sizeof name, "fcn.%d", 3 * i);
            nn_seq_add(m->fcn, nn_conv2d_new(s, name, (nn_conv_opts){.in = in, .out = f, .k = 3,
                       .pad = dil, .dilation = dil, .no_bias = 1,
                       .init = {NN_INIT_KAIMING_FAN_OUT}}));
            snprintf(name, sizeof name, "fcn.%d", 3 * i + 1);
            nn_seq_add(m->fcn, nn_batchnorm2d_new(s, name, f, 1e-5, 0.1));
            nn_seq_add(m->fcn, nn_act_new(NN_RELU));
            in = f;
        }
        m->head = nn_conv2d_new(s, "head", (nn_conv_opts){.in = f, .out = 1, .k = 1});
        if (!nn_seq_ok(m->fcn) || !m->head) {
            err_fail(err, errlen, "gcn: %s", pt_error());
            gcn_destroy(m);
            return NULL;
        }
    } else {
        segnet_config sc = segnet_defaults();
        sc.backbone = segnet_backbone_names[c->fcn - 1];
        sc.output_stride = (int)c->output_stride;
        sc.feature_channels = f;
        sc.out_channels = 1;
        if (segnet_init(&m->net, s, "fcn", sc) != PT_OK) {
            err_fail(err, errlen, "gcn: %s", pt_error());
            gcn_destroy(m);
            return NULL;
        }
        m->use_segnet = 1;
    }
    int64_t in = f;
    for (int i = 0; i <= c->gcn_widths.n; i++) {
        const int64_t out = i < c->gcn_widths.n ? c->gcn_widths.v[i] : 1;
        char name[64];
        snprintf(name, sizeof name, "gcn.%d", i);
        m->gcn[m->n_gcn++] = nn_linear_new(s, name, in, out, 1);
        if (!m->gcn[m->n_gcn - 1]) {
            err_fail(err, errlen, "gcn: %s", pt_error());
            gcn_destroy(m);
            return NULL;
        }
        in = out;
    }
    prng_seed_keys(&m->rng, (const uint64_t[]){(uint64_t)env->cfg->train.seed, 0x6c11u}, 2);
    return m;
}

/* Features [B, F, h, w] and pixel logits [B, 1, h, w] of the images (new handles). */
static pt_status forward(gcn_model *m, const pt_tensor *x, pt_tensor **feat, pt_tensor **logit)
{
    if (m->use_segnet)
        return segnet_forward(&m->net, x, feat, logit);
    *feat = nn_forward(m->fcn, x);
    *logit = nn_forward(m->head, *feat);
    return *feat && *logit ? PT_OK : PT_ERR;
}

/* One image's superpixels and graph. */
typedef struct {
    int n, h, w;
    int32_t *labels;
    gcn_graph g;
    pt_tensor *labels64; /* [h * w] */
} sp_graph;

static void sp_free(sp_graph *sp)
{
    free(sp->labels);
    gcn_graph_free(&sp->g);
    memset(sp, 0, sizeof *sp);
}

/* Superpixels of feat [F, h, w] (one image) with k centres, and their graph. */
static pt_status superpixels(const gcn_model *m, const pt_tensor *feat, int k, sp_graph *sp)
{
    memset(sp, 0, sizeof *sp);
    const int64_t f = pt_size(feat, 0), h = pt_size(feat, 1), w = pt_size(feat, 2);
    const size_t n_val = (size_t)(f * h * w);
    float *buf = malloc(n_val * sizeof *buf);
    sp->labels = malloc(sizeof *sp->labels * (size_t)(h * w));
    pt_tensor *d = pt_contiguous(pt_detach(feat));
    if (!buf || !sp->labels || !d || pt_copy_to(d, buf, n_val * sizeof *buf) != PT_OK) {
        pt_free(d), free(buf), sp_free(sp);
        if (!pt_error_pending())
            pt_error_set("gcn: out of memory");
        return PT_ERR;
    }
    pt_free(d);
    double ss = 0;
    for (size_t i = 0; i < n_val; i++)
        ss += (double)buf[i] * buf[i];
    const double rms = sqrt(ss / (double)n_val);
    float *norm = malloc(n_val * sizeof *norm);
    if (!norm) {
        free(buf), sp_free(sp);
        pt_error_set("gcn: out of memory");
        return PT_ERR;
    }
    for (size_t i = 0; i < n_val; i++)
        norm[i] = rms > 0 ? (float)(buf[i] / rms) : 0.f;
    slic_params sp_p = slic_defaults();
    sp_p.n_segments = k;
    sp_p.compactness = m->cfg.compactness;
    sp_p.iterations = (int)m->cfg.slic_iters;
    char err[256];
    int n = slic_segment(norm, (int)h, (int)w, (int)f, SLIC_CHW, &sp_p, sp->labels, err,
                         sizeof err);
    free(norm);
    if (n < 1 || gcn_graph_build(sp->labels, n, (int)h, (int)w, buf, (int)f, m->cfg.sigma, &sp->g,
                                 err, sizeof err)) {
        free(buf), sp_free(sp);
        pt_error_set("gcn: %s", err);
        return PT_ERR;
    }
    free(buf);
    sp->n = n, sp->h = (int)h, sp->w = (int)w;
    int64_t *l64 = malloc(sizeof *l64 * (size_t)(h * w));
    if (!l64) {
        sp_free(sp);
        pt_error_set("gcn: out of memory");
        return PT_ERR;
    }
    for (int64_t i = 0; i < h * w; i++)
        l64[i] = sp->labels[i];
    sp->labels64 = pt_from_data(l64, PT_SHAPE(h * w), PT_I64);
    free(l64);
    return sp->labels64 ? PT_OK : PT_ERR;
}

/* Vertex logits [n] of one image through the GCN. */
static pt_tensor *gcn_vertices(gcn_model *m, const pt_tensor *feat, const sp_graph *sp)
{
    size_t mark = pt_scope_begin();
    pt_tensor *a = gcn_graph_adjacency(&sp->g);
    pt_tensor *hv = gcn_segment_mean(feat, sp->labels64, &sp->g);
    for (int i = 0; i < m->n_gcn; i++) {
        hv = pt_sparse_mm(a, nn_forward(m->gcn[i], hv));
        if (i < m->n_gcn - 1)
            hv = pt_relu(hv);
    }
    return pt_scope_return(mark, pt_reshape(hv, PT_SHAPE(-1)));
}

/* Host copy of a float tensor (n values). */
static float *host(const pt_tensor *t, size_t n)
{
    float *v = malloc(n * sizeof *v);
    pt_tensor *c = pt_contiguous(pt_detach(t));
    if (!v || !c || pt_copy_to(c, v, n * sizeof *v) != PT_OK) {
        free(v);
        v = NULL;
    }
    pt_free(c);
    return v;
}

/* Class-balanced BCE of logits [n] against labels (1, 0, -1 = left out): returns the loss of the
 * image (NULL-free: a zero-dim tensor) and the per-class means in *fg, *bg (NULL when absent). */
static pt_tensor *balanced_bce(const pt_tensor *logits, const int8_t *lab, int64_t n,
                               pt_tensor **fg, pt_tensor **bg)
{
    float *t = malloc(sizeof *t * (size_t)n), *wf = malloc(sizeof *wf * (size_t)n),
          *wb = malloc(sizeof *wb * (size_t)n);
    int64_t nf = 0, nb = 0;
    for (int64_t i = 0; i < n && t && wf && wb; i++) {
        nf += lab[i] == 1, nb += lab[i] == 0;
    }
    *fg = *bg = NULL;
    pt_tensor *loss = NULL;
    if (t && wf && wb) {
        for (int64_t i = 0; i < n; i++) {
            t[i] = lab[i] == 1 ? 1.f : 0.f;
            wf[i] = lab[i] == 1 ? 1.f / (float)nf : 0.f;
            wb[i] = lab[i] == 0 ? 1.f / (float)nb : 0.f;
        }
        pt_tensor *tt = pt_from_data(t, PT_SHAPE(n), PT_F32);
        pt_tensor *raw = pt_bce_with_logits(logits, tt, NULL, NULL, PT_REDUCE_NONE);
        if (nf)
            *fg = pt_sum(pt_mul(raw, pt_from_data(wf, PT_SHAPE(n), PT_F32)));
        if (nb)
            *bg = pt_sum(pt_mul(raw, pt_from_data(wb, PT_SHAPE(n), PT_F32)));
        if (*fg && *bg)
            loss = pt_mul_s(pt_add(*fg, *bg), 0.5);
        else
            loss = *fg ? *fg : *bg;
    }
    free(t), free(wf), free(wb);
    return loss;
}

static pt_tensor *gcn_loss(void *self, const collated_batch *b, drv_terms *terms)
{
    gcn_model *m = self;
    const gcn_payload *p = b->payload;
    pt_tensor *feat = NULL, *logit = NULL;
    if (forward(m, b->images, &feat, &logit) != PT_OK)
        return NULL;
    if (m->cfg.supervision == SUP_MASK) {
        pt_tensor *mask = pt_from_data(p->mask, PT_SHAPE(p->n, 1, p->h, p->w), PT_U8);
        mask = pt_to_dtype(mask, PT_F32);
        if (pt_size(logit, 2) != p->h || pt_size(logit, 3) != p->w)
            logit = pt_interpolate(logit, p->h, p->w, PT_INTERP_BILINEAR, 0);
        for (int i = 0; i < p->n; i++)
            if (!p->has_mask[i]) {
                pt_error_set("gcn: dataset item %lld has no mask (model.supervision: mask)",
                             (long long)p->index[i]);
                return NULL;
            }
        pt_tensor *l = pt_bce_with_logits(logit, mask, NULL, NULL, PT_REDUCE_MEAN);
        drv_terms_add(terms, "bce", l);
        return l;
    }
    pt_tensor *total = pt_mul_s(pt_sum(logit), 0.0), *sum_fg = NULL, *sum_bg = NULL;
    int n_img = 0, n_fg = 0, n_bg = 0;
    for (int i = 0; i < p->n; i++) {
        if (isnan(p->ratio[i])) {
            pt_error_set("gcn: dataset item %lld has no area ratio", (long long)p->index[i]);
            return NULL;
        }
        const double j = m->cfg.superpixels_jitter;
        int k = (int)lround((double)m->cfg.superpixels * prng_range(&m->rng, 1 - j, 1 + j));
        k = k < 1 ? 1 : k;
        pt_tensor *fi = pt_select(feat, 0, i);
        sp_graph sp;
        if (superpixels(m, fi, k, &sp) != PT_OK)
            return NULL;
        pt_tensor *score; /* vertex scores that rank, [n] */
        pt_tensor *li = pt_reshape(pt_select(logit, 0, i), PT_SHAPE(-1)); /* pixel logits */
        if (m->cfg.head == HEAD_GCN) {
            score = gcn_vertices(m, fi, &sp);
        } else {
            pt_tensor *v = gcn_segment_mean(pt_unsqueeze(li, 0), sp.labels64, &sp.g);
            score = pt_reshape(v, PT_SHAPE(-1));
        }
        float *sv = host(score, (size_t)sp.n);
        int8_t *lab = malloc((size_t)sp.n);
        char err[256];
        if (!sv || !lab ||
            gcn_weak_labels(sv, sp.g.area, sp.n, p->ratio[i], p->error[i],
                            (gcn_ratio_by)m->cfg.ratio_by, lab, NULL, NULL, err, sizeof err)) {
            if (sv && lab)
                pt_error_set("gcn: dataset item %lld: %s", (long long)p->index[i], err);
            else
                pt_error_set("gcn: out of memory");
            free(sv), free(lab), sp_free(&sp);
            return NULL;
        }
        pt_tensor *fg, *bg, *l;
        if (m->cfg.head == HEAD_GCN) {
            l = balanced_bce(score, lab, sp.n, &fg, &bg);
        } else { /* the vertex labels on the pixels */
            const size_t hw = (size_t)sp.h * sp.w;
            int8_t *pl = malloc(hw);
            if (!pl) {
                free(sv), free(lab), sp_free(&sp);
                pt_error_set("gcn: out of memory");
                return NULL;
            }
            for (size_t q = 0; q < hw; q++)
                pl[q] = lab[sp.labels[q]];
            l = balanced_bce(li, pl, (int64_t)hw, &fg, &bg);
            free(pl);
        }
        free(sv), free(lab), sp_free(&sp);
        if (!l)
            continue;
        total = pt_add(total, l);
        n_img++;
        if (fg)
            sum_fg = sum_fg ? pt_add(sum_fg, fg) : fg, n_fg++;
        if (bg)
            sum_bg = sum_bg ? pt_add(sum_bg, bg) : bg, n_bg++;
    }
    if (n_img)
        total = pt_div_s(total, n_img);
    drv_terms_add(terms, "bce_fg", sum_fg ? pt_detach(pt_div_s(sum_fg, n_fg)) : pt_scalar(0, PT_F32));
    drv_terms_add(terms, "bce_bg", sum_bg ? pt_detach(pt_div_s(sum_bg, n_bg)) : pt_scalar(0, PT_F32));
    return total;
}

/* ------------------------------------------------------------------ evaluation */

/* Foreground probabilities of image i at the image's size (h * w, malloc'ed) and, when sp is not
 * NULL, its superpixels (left empty for the mask-supervised model). */
static float *predict_image(gcn_model *m, const pt_tensor *feat, const pt_tensor *logit, int i,
                            int h, int w, sp_graph *sp_out)
{
    size_t mark = pt_scope_begin();
    pt_tensor *fi = pt_select(feat, 0, i);
    pt_tensor *prob = NULL;
    sp_graph sp;
    memset(&sp, 0, sizeof sp);
    if (m->cfg.supervision == SUP_MASK || m->cfg.head == HEAD_PIXEL) {
        prob = pt_sigmoid(pt_narrow(logit, 0, i, 1));
        if (m->cfg.supervision == SUP_RATIO && superpixels(m, fi, (int)m->cfg.superpixels, &sp))
            prob = NULL;
    } else if (superpixels(m, fi, (int)m->cfg.superpixels, &sp) == PT_OK) {
        float *v = host(pt_sigmoid(gcn_vertices(m, fi, &sp)), (size_t)sp.n);
        const size_t n = (size_t)sp.h * sp.w;
        float *pix = v ? malloc(n * sizeof *pix) : NULL;
        if (pix) {
            gcn_paint(sp.labels, n, v, pix);
            prob = pt_from_data(pix, PT_SHAPE(1, 1, sp.h, sp.w), PT_F32);
        }
        free(v), free(pix);
    }
    if (prob && (pt_size(prob, 2) != h || pt_size(prob, 3) != w))
        prob = pt_interpolate(prob, h, w, PT_INTERP_BILINEAR, 0);
    float *out = prob ? host(prob, (size_t)h * w) : NULL;
    pt_scope_end(mark);
    if (sp_out)
        *sp_out = sp;
    else
        sp_free(&sp);
    return out;
}

static void gcn_eval_begin(void *self)
{
    gcn_model *m = self;
    segmetrics_acc_free(m->acc);
    m->acc = segmetrics_acc_new(1.0);
    m->ratio_abs = m->sp_sum = 0;
    m->ratio_n = m->images = 0;
}

static pt_status gcn_eval_batch(void *self, const collated_batch *b)
{
    gcn_model *m = self;
    const gcn_payload *p = b->payload;
    pt_tensor *feat = NULL, *logit = NULL;
    if (forward(m, b->images, &feat, &logit) != PT_OK)
        return PT_ERR;
    const size_t hw = (size_t)p->h * p->w;
    uint8_t *pred = malloc(hw);
    if (!pred) {
        pt_error_set("gcn: out of memory");
        return PT_ERR;
    }
    for (int i = 0; i < p->n; i++) {
        sp_graph sp;
        float *prob = predict_image(m, feat, logit, i, p->h, p->w, &sp);
        if (!prob) {
            free(pred), sp_free(&sp);
            return PT_ERR;
        }
        int64_t fg = 0;
        for (size_t q = 0; q < hw; q++)
            fg += pred[q] = prob[q] > m->cfg.threshold;
        m->images++;
        m->sp_sum += sp.n;
        if (!isnan(p->ratio[i])) {
            m->ratio_abs += fabs((double)fg / (double)hw - p->ratio[i]);
            m->ratio_n++;
        }
        char err[256];
        int rc = 0;
        if (p->has_mask[i])
            rc = segmetrics_acc_add(m->acc, pred, prob, p->mask + (size_t)i * hw, NULL, p->h,
                                    p->w, err, sizeof err);
        free(prob), sp_free(&sp);
        if (rc) {
            free(pred);
            pt_error_set("gcn eval: %s", err);
            return PT_ERR;
        }
    }
    free(pred);
    return PT_OK;
}

static int gcn_eval_end(void *self, drv_metrics *out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    gcn_model *m = self;
    segmetrics_summary s;
    segmetrics_acc_summary(m->acc, &s);
    drv_metrics_add(out, "dice", s.mean_dice);
    drv_metrics_add(out, "iou", s.mean_iou);
    drv_metrics_add(out, "boundary_f", s.mean_boundary_f);
    drv_metrics_add(out, "ratio_mae", m->ratio_n ? m->ratio_abs / (double)m->ratio_n : NAN);
    drv_metrics_add(out, "superpixels", m->images ? m->sp_sum / (double)m->images : NAN);
    drv_metrics_add(out, "images_with_mask", (double)s.images);
    return 0;
}

static int gcn_predict(void *self, const collated_batch *b, const sample *samples, int n,
                       const char *out_dir, char *err, size_t errlen)
{
    (void)samples, (void)n;
    gcn_model *m = self;
    const gcn_payload *p = b->payload;
    pt_tensor *feat = NULL, *logit = NULL;
    if (forward(m, b->images, &feat, &logit) != PT_OK)
        {
        err_fail(err, errlen, "gcn predict: %s", pt_error());
        return 2;
    }
    const size_t hw = (size_t)p->h * p->w;
    uint8_t *pred = malloc(hw), *bnd = malloc(hw);
    int rc = 0;
    for (int i = 0; i < p->n && rc == 0; i++) {
        sp_graph sp;
        float *prob = pred && bnd ? predict_image(m, feat, logit, i, p->h, p->w, &sp) : NULL;
        if (!prob) {
            rc = 2;
            err_fail(err, errlen, "gcn predict: %s", pt_error());
            break;
        }
        for (size_t q = 0; q < hw; q++)
            pred[q] = prob[q] > m->cfg.threshold;
        overlay *o = overlay_new(p->rgb + (size_t)i * hw * 3, p->h, p->w, 3,
                                 overlay_scale(p->h, p->w, 256), err, errlen);
        static const double fg_rgb[3] = {0.1, 0.8, 0.3}, sp_rgb[3] = {1.0, 0.9, 0.1};
        char path[4096];
        snprintf(path, sizeof path, "%s/%lld.png", out_dir, (long long)p->index[i]);
        if (!o)
            rc = 1;
        if (!rc && sp.n > 0 && sp.h == p->h && sp.w == p->w) {
            slic_boundary_map(sp.labels, sp.h, sp.w, bnd);
            if (overlay_mask(o, bnd, p->h, p->w, sp_rgb, 0.5, err, errlen))
                rc = 1;
        }
        if (!rc && overlay_mask(o, pred, p->h, p->w, fg_rgb, 0.35, err, errlen))
            rc = 1;
        if (!rc && p->has_mask[i] &&
            overlay_mask_outline(o, p->mask + (size_t)i * hw, p->h, p->w, &OVERLAY_GT_DASHED, err, errlen))
            rc = 1;
        if (!rc && overlay_write_png(o, path, err, errlen))
            rc = 1;
        overlay_free(o);
        free(prob), sp_free(&sp);
    }
    free(pred), free(bnd);
    return rc;
}

const driver drv_gcn = {
    .type = "gcn",
    .summary = "region segmentation from area ratios: FCN features, SLIC, graph, GCN (seed 003)",
    .model_section = &model_section,
    .model_cfg_size = sizeof(gcn_cfg),
    .collate = gcn_collate,
    .create = gcn_create,
    .loss = gcn_loss,
    .eval_begin = gcn_eval_begin,
    .eval_batch = gcn_eval_batch,
    .eval_end = gcn_eval_end,
    .predict = gcn_predict,
    .destroy = gcn_destroy,
};
