/*
 * drv_multidomain.c - model type `multidomain` (seed 002): one classifier (or saliency model) for
 * photos, hand drawings and cartoons. A MobileNetV3 backbone (torchvision names) feeds the task
 * head (torchvision's classifier, or a light saliency decoder) and an image-type head, a small
 * MLP on the pooled features. Training follows claims 4-6 (losses/loss_difference.h): the type
 * head learns from L2 (image-type cross entropy) alone, the backbone and task head from
 * L1 - lambda * L2, so the features stop telling image types apart. `adversarial.mode: none` is
 * the baseline (lambda = 0: plain task training, the type head still measured).
 * Evaluation: accuracy per domain and overall (held-out domain too), type-head accuracy, the
 * ratio of cross-domain same-class to different-class feature-centroid distances, and a
 * confusion matrix PNG (classify); MAE and IoU per domain (saliency). The type head is left out
 * of exported weights, so a classify export loads into torchvision's mobilenet_v3_*.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/driver.h"
#include "loss_difference.h"
#include "models/backbones/mobilenetv3.h"
#include "report/plot.h"
#include "soft_iou.h"

enum { TASK_CLASSIFY = 0, TASK_SALIENCY };
enum { ADV_LOSS_DIFFERENCE = 0, ADV_NONE };
#define MD_MAX_CLASSES 256
#define MD_MAX_DOMAINS 16

typedef struct {
    int backbone;          /* 0 mobilenet_v3_small, 1 mobilenet_v3_large */
    double width_mult;
    double dropout;
    int task;
    int64_t type_head_width;
    int64_t type_head_depth;
    int64_t decoder_channels;
    double bn_momentum;
} md_model_cfg;

typedef struct {
    int mode;
    double lambda;
    int schedule;          /* lambda_schedule */
} md_adv_cfg;

typedef struct {
    md_model_cfg model;
    md_adv_cfg adv;
} md_cfg;

static const cfg_field model_fields[] = {
    {"backbone", CFG_ENUM, offsetof(md_cfg, model.backbone), "mobilenet_v3_small", 0, 0,
     "mobilenet_v3_small|mobilenet_v3_large", "backbone (torchvision parameter names)", 0},
    {"width_mult", CFG_FLOAT, offsetof(md_cfg, model.width_mult), "1.0", 0.1, 4, NULL,
     "channel multiplier of the backbone", 0},
    {"dropout", CFG_FLOAT, offsetof(md_cfg, model.dropout), "0.2", 0, 0.99, NULL,
     "classifier dropout", 0},
    {"task", CFG_ENUM, offsetof(md_cfg, model.task), "classify", 0, 0, "classify|saliency",
     "classify images, or predict the salient-region mask (claim 2)", 0},
    {"type_head_width", CFG_INT, offsetof(md_cfg, model.type_head_width), "128", 1, 65536, NULL,
     "hidden units of the image-type head", 0},
    {"type_head_depth", CFG_INT, offsetof(md_cfg, model.type_head_depth), "2", 1, 8, NULL,
     "linear layers of the image-type head", 0},
    {"decoder_channels", CFG_INT, offsetof(md_cfg, model.decoder_channels), "64", 1, 1024, NULL,
     "saliency: channels of the decoder", 0},
    /* 0.1, not torchvision's 0.01: with 0.01 the eval-mode statistics of a CPU-length run (a
     * few hundred steps, weights moving fast) stay a mix of the initial 0/1 and stale batches,
     * and every image gets the same class (test multidomain/eval_on_training_images_...). */
    {"bn_momentum", CFG_FLOAT, offsetof(md_cfg, model.bn_momentum), "0.1", 0.001, 1, NULL,
     "BatchNorm running-statistics momentum (PyTorch's 0.1; torchvision's MobileNetV3 uses 0.01, "
     "which leaves eval statistics stale for thousands of steps)", 0},
};

static const cfg_field adv_fields[] = {
    {"mode", CFG_ENUM, offsetof(md_cfg, adv.mode), "loss_difference", 0, 0,
     "loss_difference|none", "loss_difference: backbone on L1 - lambda*L2; none: baseline", 0},
    {"lambda", CFG_FLOAT, offsetof(md_cfg, adv.lambda), "1.0", 0, 100, NULL,
     "weight of the image-type loss in the difference", 0},
    {"schedule", CFG_ENUM, offsetof(md_cfg, adv.schedule), "constant", 0, 0, "constant|dann",
     "lambda over training: constant, or the DANN ramp 2/(1+exp(-10p))-1", 0},
};

static const cfg_section model_section = {
    "model", model_fields, (int)(sizeof model_fields / sizeof model_fields[0]),
    "multidomain: MobileNetV3 + task head + adversarial image-type head"};
static const cfg_section adv_section = {
    "adversarial", adv_fields, (int)(sizeof adv_fields / sizeof adv_fields[0]),
    "the loss-difference update of seed 002, claims 4-6"};

typedef struct {
    md_cfg cfg;
    const drv_env *env;
    mbv3 net;
    nn_module *type_head;
    nn_module *dec_top, *dec_lat16, *dec_lat8, *dec_out; /* saliency decoder */
    pt_tensor **main_params, **type_params;
    int n_main, n_type;
    int n_classes, n_domains, heldout;
    double lambda_now;
    pt_tensor *l1, *l2; /* of the current micro-batch (scope of the caller) */
    /* evaluation */
    int64_t hits[MD_MAX_DOMAINS], seen[MD_MAX_DOMAINS], type_hits;
    double ce_sum;         /* classify: summed cross entropy (comparable with loss/cls) */
    int64_t *confusion;    /* n_classes x n_classes */
    double *centroid;      /* [class][domain][C] sums */
    int64_t *centroid_n;   /* [class][domain] */
    double sal_mae[MD_MAX_DOMAINS], sal_iou[MD_MAX_DOMAINS];
} md;

/* ------------------------------------------------------------------ building */

static nn_module *mlp(nn_store *s, const char *prefix, int64_t in, int64_t width, int64_t depth,
                      int64_t out)
{
    char name[NN_NAME_MAX];
    nn_module *seq = nn_sequential_new();
    int64_t c = in;
    for (int64_t i = 0; i < depth; i++) {
        int64_t o = i == depth - 1 ? out : width;
        nn_seq_add(seq, nn_linear_new(s, nn_path(name, "%s.%d", prefix, (int)(2 * i)), c, o, 1));
        if (i < depth - 1)
            nn_seq_add(seq, nn_act_new(NN_RELU));
        c = o;
    }
    if (!nn_seq_ok(seq)) {
        nn_module_free(seq);
        return NULL;
    }
    return seq;
}

/* Split the store's parameters: the type head's, and everything else (backbone, task head). */
static int split_params(md *m)
{
    nn_store *s = m->env->store;
    int np;
    pt_tensor *const *all = nn_store_params(s, &np);
    m->main_params = calloc((size_t)np + 1, sizeof *m->main_params);
    m->type_params = calloc((size_t)np + 1, sizeof *m->type_params);
    if (!m->main_params || !m->type_params)
        return -1;
    for (int i = 0, k = 0; i < nn_store_size(s); i++) {
        if (!nn_store_is_param(s, i))
            continue;
        if (strncmp(nn_store_name(s, i), "type_head.", 10) == 0)
            m->type_params[m->n_type++] = all[k];
        else
            m->main_params[m->n_main++] = all[k];
        k++;
    }
    return 0;
}

static void md_destroy(void *self);

static void *md_create(const drv_env *env, char *err, size_t errlen)
{
    const md_cfg *c = env->model_cfg;
    if (env->num_domains < 2 || env->num_domains > MD_MAX_DOMAINS) {
        snprintf(err, errlen, "multidomain: the dataset needs 2..%d image types (domain names), "
                 "has %d (pictor data synth fmnist-domains makes one)", MD_MAX_DOMAINS,
                 env->num_domains);
        return NULL;
    }
    if (c->model.task == TASK_CLASSIFY && (env->num_classes < 2 || env->num_classes > MD_MAX_CLASSES)) {
        snprintf(err, errlen, "multidomain: classify needs 2..%d class names, the dataset has %d",
                 MD_MAX_CLASSES, env->num_classes);
        return NULL;
    }
    md *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->cfg = *c;
    m->env = env;
    m->n_classes = env->num_classes;
    m->n_domains = env->num_domains;
    m->heldout = (int)env->cfg->data.holdout_domain;
    mbv3_config bc = mbv3_defaults(c->model.backbone ? MBV3_LARGE : MBV3_SMALL);
    bc.width_mult = c->model.width_mult;
    bc.dropout = c->model.dropout;
    bc.in_channels = env->in_channels;
    bc.num_classes = c->model.task == TASK_CLASSIFY ? env->num_classes : 0;
    if (mbv3_init(&m->net, env->store, NULL, bc) != PT_OK)
        goto fail;
    nn_store_set_bn_momentum(env->store, c->model.bn_momentum);
    if (c->model.task == TASK_SALIENCY) {
        char name[NN_NAME_MAX];
        int64_t d = c->model.decoder_channels;
        if (m->net.n_taps < 4) {
            pt_error_set("the backbone hands out %d feature taps, the decoder needs 4", m->net.n_taps);
            goto fail;
        }
        m->dec_top = nn_conv2d_new(env->store, nn_path(name, "decoder.top"),
                                   (nn_conv_opts){.in = m->net.feature_channels, .out = d, .k = 1});
        m->dec_lat16 = nn_conv2d_new(env->store, nn_path(name, "decoder.lat16"),
                                     (nn_conv_opts){.in = m->net.tap_channels[3], .out = d, .k = 1});
        m->dec_lat8 = nn_conv2d_new(env->store, nn_path(name, "decoder.lat8"),
                                    (nn_conv_opts){.in = m->net.tap_channels[2], .out = d, .k = 1});
        m->dec_out = nn_conv2d_new(env->store, nn_path(name, "decoder.out"),
                                   (nn_conv_opts){.in = d, .out = 1, .k = 3, .pad = 1});
        if (!m->dec_top || !m->dec_lat16 || !m->dec_lat8 || !m->dec_out)
            goto fail;
    }
    m->type_head = mlp(env->store, "type_head", m->net.feature_channels, c->model.type_head_width,
                       c->model.type_head_depth, env->num_domains);
    if (!m->type_head || split_params(m) != 0)
        goto fail;
    if (c->model.task == TASK_CLASSIFY) {
        size_t k = (size_t)m->n_classes, d = (size_t)m->n_domains;
        m->confusion = calloc(k * k, sizeof *m->confusion);
        m->centroid = calloc(k * d * (size_t)m->net.feature_channels, sizeof *m->centroid);
        m->centroid_n = calloc(k * d, sizeof *m->centroid_n);
        if (!m->confusion || !m->centroid || !m->centroid_n)
            goto fail;
    }
    m->lambda_now = c->adv.mode == ADV_NONE ? 0.0 : c->adv.lambda;
    return m;
fail:
    snprintf(err, errlen, "multidomain: %s", pt_error());
    md_destroy(m);
    return NULL;
}

static void md_destroy(void *self)
{
    md *m = self;
    if (!m)
        return;
    mbv3_free(&m->net);
    nn_module_free(m->type_head);
    nn_module_free(m->dec_top);
    nn_module_free(m->dec_lat16);
    nn_module_free(m->dec_lat8);
    nn_module_free(m->dec_out);
    free(m->main_params);
    free(m->type_params);
    free(m->confusion);
    free(m->centroid);
    free(m->centroid_n);
    free(m);
}

static collate_config md_collate(const drv_env *env)
{
    const md_cfg *c = env->model_cfg;
    collate_config cc;
    memset(&cc, 0, sizeof cc);
    drv_norm_apply(env->cfg, &cc);
    cc.mask = c->model.task == TASK_SALIENCY ? COLLATE_MASK_FLOAT : COLLATE_MASK_NONE;
    return cc;
}

/* ------------------------------------------------------------------ forward */

/* Saliency logits [N, 1, H, W] at the input size, and the pooled features for the type head.
 * Every intermediate lives in the caller's scope (the trainer and evaluator open one per batch). */
static pt_tensor *saliency_logits(md *m, const pt_tensor *x, pt_tensor **pooled)
{
    pt_tensor *taps[MBV3_MAX_TAPS] = {0};
    pt_tensor *f = mbv3_features_taps(&m->net, x, taps);
    *pooled = mbv3_pool(&m->net, f);
    pt_tensor *p = nn_forward(m->dec_top, f);
    pt_tensor *l16 = nn_forward(m->dec_lat16, taps[3]), *l8 = nn_forward(m->dec_lat8, taps[2]);
    p = pt_add(pt_interpolate(p, pt_size(l16, 2), pt_size(l16, 3), PT_INTERP_NEAREST, 0), l16);
    p = pt_add(pt_interpolate(p, pt_size(l8, 2), pt_size(l8, 3), PT_INTERP_NEAREST, 0), l8);
    pt_tensor *o = nn_forward(m->dec_out, pt_relu(p));
    return pt_interpolate(o, pt_size(x, 2), pt_size(x, 3), PT_INTERP_BILINEAR, 0);
}

static pt_tensor *md_loss(void *self, const collated_batch *b, drv_terms *terms)
{
    md *m = self;
    pt_tensor *pooled = NULL, *task = NULL;
    if (m->cfg.model.task == TASK_CLASSIFY) {
        pooled = mbv3_pool(&m->net, mbv3_features(&m->net, b->images));
        pt_tensor *logits = nn_forward(m->net.classifier, pooled);
        m->l1 = pt_cross_entropy(logits, b->labels, NULL, -1, PT_REDUCE_MEAN, 0.0);
        drv_terms_add(terms, "cls", m->l1);
    } else {
        task = saliency_logits(m, b->images, &pooled);
        pt_tensor *bce = pt_bce_with_logits(task, b->masks, NULL, NULL, PT_REDUCE_MEAN);
        pt_tensor *iou = loss_soft_iou(task, b->masks, 1.0);
        m->l1 = pt_add(bce, iou);
        drv_terms_add(terms, "sal_bce", bce);
        drv_terms_add(terms, "sal_iou", iou);
    }
    pt_tensor *type_logits = nn_forward(m->type_head, pooled);
    m->l2 = pt_cross_entropy(type_logits, b->domains, NULL, -1, PT_REDUCE_MEAN, 0.0);
    drv_terms_add(terms, "type", m->l2);
    return loss_difference(m->l1, m->l2, m->lambda_now);
}

static pt_status md_backward(void *self, pt_tensor *total, const drv_terms *terms, double scale)
{
    md *m = self;
    (void)total, (void)terms;
    return loss_difference_backward(m->l1, m->l2, m->lambda_now, scale, m->main_params, m->n_main,
                                    m->type_params, m->n_type);
}

static void md_set_progress(void *self, int64_t step, int64_t total)
{
    md *m = self;
    double p = total > 0 ? (double)step / (double)total : 0;
    m->lambda_now = m->cfg.adv.mode == ADV_NONE
                        ? 0.0
                        : loss_difference_lambda(m->cfg.adv.lambda, (lambda_schedule)m->cfg.adv.schedule, p);
}

/* ------------------------------------------------------------------ evaluation */

static void md_eval_begin(void *self)
{
    md *m = self;
    memset(m->hits, 0, sizeof m->hits);
    memset(m->seen, 0, sizeof m->seen);
    memset(m->sal_mae, 0, sizeof m->sal_mae);
    memset(m->sal_iou, 0, sizeof m->sal_iou);
    m->type_hits = 0;
    m->ce_sum = 0;
    if (m->confusion) {
        size_t k = (size_t)m->n_classes, d = (size_t)m->n_domains;
        memset(m->confusion, 0, k * k * sizeof *m->confusion);
        memset(m->centroid, 0, k * d * (size_t)m->net.feature_channels * sizeof *m->centroid);
        memset(m->centroid_n, 0, k * d * sizeof *m->centroid_n);
    }
}

/* A [n] int64 tensor to a host array (n entries). */
static int to_host_i64(const pt_tensor *t, int64_t *out, int64_t n)
{
    return pt_copy_to(t, out, (size_t)n * sizeof *out) == PT_OK ? 0 : -1;
}

static pt_status md_eval_batch(void *self, const collated_batch *b)
{
    md *m = self;
    int64_t n = b->n, C = m->net.feature_channels;
    int64_t *dom = calloc((size_t)n, sizeof *dom), *lab = calloc((size_t)n, sizeof *lab);
    int64_t *pred = calloc((size_t)n, sizeof *pred), *tpred = calloc((size_t)n, sizeof *tpred);
    float *feat = NULL, *err = NULL, *iou = NULL;
    pt_status st = PT_ERR;
    if (!dom || !lab || !pred || !tpred || to_host_i64(b->domains, dom, n) ||
        to_host_i64(b->labels, lab, n))
        goto done;
    pt_tensor *pooled = NULL;
    if (m->cfg.model.task == TASK_CLASSIFY) {
        pooled = mbv3_pool(&m->net, mbv3_features(&m->net, b->images));
        pt_tensor *logits = nn_forward(m->net.classifier, pooled);
        double ce = pt_item_or_nan(pt_cross_entropy(logits, b->labels, NULL, -1, PT_REDUCE_SUM, 0.0));
        if (!isfinite(ce))
            goto done;
        m->ce_sum += ce;
        feat = malloc((size_t)(n * C) * sizeof *feat);
        if (!feat || to_host_i64(pt_argmax(logits, 1, 0), pred, n) ||
            pt_copy_to(pooled, feat, (size_t)(n * C) * sizeof *feat) != PT_OK)
            goto done;
    } else {
        static const int64_t spatial[3] = {1, 2, 3};
        pt_tensor *logits = saliency_logits(m, b->images, &pooled);
        pt_tensor *p = pt_sigmoid(logits);
        pt_tensor *mae = pt_mean_dims(pt_abs(pt_sub(p, b->masks)), spatial, 3, 0);
        pt_tensor *bin = pt_to_dtype(pt_gt_s(p, 0.5), PT_F32);
        pt_tensor *inter = pt_sum_dims(pt_mul(bin, b->masks), spatial, 3, 0);
        pt_tensor *uni = pt_sum_dims(pt_clamp(pt_add(bin, b->masks), NAN, 1.0), spatial, 3, 0);
        pt_tensor *ratio = pt_div(pt_add_s(inter, 1e-6), pt_add_s(uni, 1e-6));
        err = malloc((size_t)n * sizeof *err);
        iou = malloc((size_t)n * sizeof *iou);
        if (!err || !iou || pt_copy_to(mae, err, (size_t)n * sizeof *err) != PT_OK ||
            pt_copy_to(ratio, iou, (size_t)n * sizeof *iou) != PT_OK)
            goto done;
    }
    if (to_host_i64(pt_argmax(nn_forward(m->type_head, pooled), 1, 0), tpred, n))
        goto done;
    for (int64_t i = 0; i < n; i++) {
        int d = (int)dom[i];
        if (d < 0 || d >= m->n_domains)
            continue;
        m->seen[d]++;
        m->type_hits += tpred[i] == d;
        if (m->cfg.model.task == TASK_SALIENCY) {
            m->sal_mae[d] += err[i];
            m->sal_iou[d] += iou[i];
            continue;
        }
        int k = (int)lab[i];
        if (k < 0 || k >= m->n_classes)
            continue;
        m->hits[d] += pred[i] == k;
        if (pred[i] >= 0 && pred[i] < m->n_classes)
            m->confusion[(size_t)k * (size_t)m->n_classes + (size_t)pred[i]]++;
        size_t cell = (size_t)k * (size_t)m->n_domains + (size_t)d;
        m->centroid_n[cell]++;
        for (int64_t c = 0; c < C; c++)
            m->centroid[cell * (size_t)C + (size_t)c] += feat[i * C + c];
    }
    st = PT_OK;
done:
    if (st != PT_OK && !pt_error_pending())
        pt_error_set("multidomain evaluation: out of memory");
    free(dom), free(lab), free(pred), free(tpred), free(feat), free(err), free(iou);
    return st;
}

/* Mean distance between class centroids of the same class in different domains, over the mean
 * distance between centroids of different classes (any domains). Lower: features of one class
 * from different image types are closer together relative to the class separation. */
static double feature_distance_ratio(const md *m)
{
    int K = m->n_classes, D = m->n_domains;
    int64_t C = m->net.feature_channels;
    double same = 0, diff = 0;
    int64_t n_same = 0, n_diff = 0;
    for (int a = 0; a < K * D; a++) {
        if (!m->centroid_n[a])
            continue;
        for (int b = a + 1; b < K * D; b++) {
            if (!m->centroid_n[b])
                continue;
            double d2 = 0;
            for (int64_t c = 0; c < C; c++) {
                double u = m->centroid[(size_t)a * (size_t)C + (size_t)c] / (double)m->centroid_n[a];
                double v = m->centroid[(size_t)b * (size_t)C + (size_t)c] / (double)m->centroid_n[b];
                d2 += (u - v) * (u - v);
            }
            if (a / D == b / D)
                same += sqrt(d2), n_same++;
            else
                diff += sqrt(d2), n_diff++;
        }
    }
    return n_same && n_diff && diff > 0 ? (same / (double)n_same) / (diff / (double)n_diff) : NAN;
}

/* plots/confusion.png (report/plot.h): a failed write is a warning, not a failed evaluation. */
static void write_confusion_png(const md *m)
{
    if (!m->env->run_dir)
        return;
    char path[4200];
    snprintf(path, sizeof path, "%s/plots/confusion.png", m->env->run_dir);
    if (plot_confusion_png(m->confusion, m->n_classes, m->env->class_names, path) != PT_OK)
        fprintf(stderr, "pictor: warning: %s\n", pt_error());
}

static int md_eval_end(void *self, drv_metrics *out, char *err, size_t errlen)
{
    md *m = self;
    (void)err, (void)errlen;
    int64_t hits = 0, seen = 0;
    double mae = 0, iou = 0;
    for (int d = 0; d < m->n_domains; d++) {
        hits += m->hits[d];
        seen += m->seen[d];
        mae += m->sal_mae[d];
        iou += m->sal_iou[d];
    }
    char name[64];
    if (m->cfg.model.task == TASK_CLASSIFY) {
        drv_metrics_add(out, "accuracy", seen ? (double)hits / (double)seen : NAN);
        drv_metrics_add(out, "loss", seen ? m->ce_sum / (double)seen : NAN);
        for (int d = 0; d < m->n_domains; d++) {
            snprintf(name, sizeof name, "accuracy/%s",
                     m->env->domain_names ? m->env->domain_names[d] : "?");
            drv_metrics_add(out, name, m->seen[d] ? (double)m->hits[d] / (double)m->seen[d] : NAN);
        }
        if (m->heldout >= 0 && m->heldout < m->n_domains)
            drv_metrics_add(out, "heldout_accuracy",
                            m->seen[m->heldout] ? (double)m->hits[m->heldout] / (double)m->seen[m->heldout]
                                                : NAN);
        drv_metrics_add(out, "feature_distance_ratio", feature_distance_ratio(m));
        write_confusion_png(m);
    } else {
        drv_metrics_add(out, "iou", seen ? iou / (double)seen : NAN);
        drv_metrics_add(out, "mae", seen ? mae / (double)seen : NAN);
        for (int d = 0; d < m->n_domains; d++) {
            snprintf(name, sizeof name, "iou/%s", m->env->domain_names ? m->env->domain_names[d] : "?");
            drv_metrics_add(out, name, m->seen[d] ? m->sal_iou[d] / (double)m->seen[d] : NAN);
        }
        if (m->heldout >= 0 && m->heldout < m->n_domains)
            drv_metrics_add(out, "heldout_iou", m->seen[m->heldout]
                                                    ? m->sal_iou[m->heldout] / (double)m->seen[m->heldout]
                                                    : NAN);
    }
    drv_metrics_add(out, "type_accuracy", seen ? (double)m->type_hits / (double)seen : NAN);
    return 0;
}

static const char *const md_export_exclude[] = {"type_head.", NULL};
static const cfg_section *const md_more_sections[] = {&adv_section, NULL};

const driver drv_multidomain = {
    .type = "multidomain",
    .summary = "one classifier/saliency model for photos, drawings and cartoons (seed 002)",
    .model_section = &model_section,
    .model_cfg_size = sizeof(md_cfg),
    .more_sections = md_more_sections,
    .export_exclude = md_export_exclude,
    .collate = md_collate,
    .create = md_create,
    .loss = md_loss,
    .backward = md_backward,
    .set_progress = md_set_progress,
    .eval_begin = md_eval_begin,
    .eval_batch = md_eval_batch,
    .eval_end = md_eval_end,
    .destroy = md_destroy,
};
