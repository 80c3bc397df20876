/*
 * drv_polarmask.c - model type `polarmask` (seed 004): polar-ray instance segmentation with the
 * coarse-to-fine refine module and the global contour head (train/polarmask.h).
 *
 * Data: the loader's workers build the targets of every batch (data/polar_targets.h) right after
 * the images, and keep the ground-truth instances as COCO run lengths for evaluation.
 * Loss (seed 004): L = cls + cnt + a * coarse + fine + contour, with
 *   cls      sigmoid focal loss (alpha, gamma) summed over locations x classes / max(1, positives)
 *   cnt      BCE with logits of the centerness at the positives (mean)
 *   coarse   polar IoU of the coarse rays at the positives, weighted by the centerness target
 *   fine     the same for the refined rays (refine on)
 *   contour  sigmoid focal loss of the boundary map / max(1, boundary cells) (contour head on)
 * each term logged on its own. Evaluation: scores = class probability x centerness, top-k per
 * level, rays -> polygons, class-wise NMS (train/polar_decode.h), masks rasterised at the input
 * size, COCO mask AP (train/mask_ap.h) and the detections as a COCO results file in the run dir.
 * The contour head is training-only and left out of exported weights. `pictor predict` draws
 * the same decoded detections over each image (polar_draw.h -> report/overlay.h) and writes
 * their results file (report/predictions.h).
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/driver.h"
#include "focal.h"
#include "eval/mask_ap.h"
#include "models/polarmask/polar_decode.h"
#include "models/polarmask/polar_draw.h"
#include "report/predictions.h"
#include "polar_iou.h"
#include "targets/polar_targets.h"
#include "models/polarmask/polarmask.h"
#include "geometry/raster.h"
#include "codec/rle.h"

enum { BACKBONE_R18 = 0, BACKBONE_R34, BACKBONE_R50 };
enum { T_CLS = 0, T_RAYS, T_CTR, T_CONTOUR, N_TARGETS };

typedef struct {
    int backbone;
    int64_t frozen_stages;
    int norm_eval;
    int64_t channels, num_rays, head_convs, gn_groups;
    int refine, contour_head;
    cfg_float_list size_ranges;
    double center_radius;
    char *pretrained;
} pm_model_cfg;

typedef struct {
    double coarse_weight, contour_weight, alpha, gamma;
} pm_loss_cfg;

typedef struct {
    double score_thr, nms_iou;
    int64_t nms_pre, max_dets;
} pm_infer_cfg;

typedef struct {
    pm_model_cfg model;
    pm_loss_cfg loss;
    pm_infer_cfg infer;
} pm_cfg;

static const cfg_field model_fields[] = {
    {"backbone", CFG_ENUM, offsetof(pm_cfg, model.backbone), "resnet50", 0, 0,
     "resnet18|resnet34|resnet50", "ResNet backbone (torchvision parameter names)", 0},
    {"frozen_stages", CFG_INT, offsetof(pm_cfg, model.frozen_stages), "-1", -1, 4, NULL,
     "-1 none; 0 the stem; k the stem and layer1..k (mmdet)", 0},
    {"norm_eval", CFG_BOOL, offsetof(pm_cfg, model.norm_eval), "false", 0, 0, NULL,
     "backbone BatchNorms in eval mode with frozen affine (for pretrained backbones)", 0},
    {"channels", CFG_INT, offsetof(pm_cfg, model.channels), "256", 8, 4096, NULL,
     "FPN and head channels", 0},
    {"num_rays", CFG_INT, offsetof(pm_cfg, model.num_rays), "36", 4, PM_MAX_RAYS, NULL,
     "rays per location (a multiple of 4)", 0},
    {"head_convs", CFG_INT, offsetof(pm_cfg, model.head_convs), "4", 0, 16, NULL,
     "3x3 conv + GroupNorm layers per head tower", 0},
    {"gn_groups", CFG_INT, offsetof(pm_cfg, model.gn_groups), "32", 1, 1024, NULL,
     "GroupNorm groups in the head (must divide channels)", 0},
    {"refine", CFG_BOOL, offsetof(pm_cfg, model.refine), "on", 0, 0, NULL,
     "the refine module: fine rays = coarse + sampled offsets (claims 5-6)", 0},
    {"contour_head", CFG_BOOL, offsetof(pm_cfg, model.contour_head), "on", 0, 0, NULL,
     "the global contour head on P3, training only (claim 11)", 0},
    {"size_ranges", CFG_FLOAT_LIST, offsetof(pm_cfg, model.size_ranges), "[64, 128, 256, 512]", 1,
     1e6, NULL, "level boundaries on a location's largest distance to its box sides", 4},
    {"center_radius", CFG_FLOAT, offsetof(pm_cfg, model.center_radius), "1.5", 0.01, 100, NULL,
     "positives within this many strides of the instance centre", 0},
    {"pretrained", CFG_STRING, offsetof(pm_cfg, model.pretrained), "", 0, 0, NULL,
     "torchvision ResNet weights (.safetensors or torch.save'd dict) for backbone.body; fc.* "
     "ignored", 0},
};

static const cfg_field loss_fields[] = {
    {"coarse_weight", CFG_FLOAT, offsetof(pm_cfg, loss.coarse_weight), "1.0", 0, 100, NULL,
     "a in cls + cnt + a*coarse + fine + contour", 0},
    {"contour_weight", CFG_FLOAT, offsetof(pm_cfg, loss.contour_weight), "1.0", 0, 100, NULL,
     "weight of the contour term", 0},
    {"focal_alpha", CFG_FLOAT, offsetof(pm_cfg, loss.alpha), "0.25", -1, 1, NULL,
     "focal loss alpha (< 0: none)", 0},
    {"focal_gamma", CFG_FLOAT, offsetof(pm_cfg, loss.gamma), "2.0", 0, 10, NULL,
     "focal loss gamma", 0},
};

static const cfg_field infer_fields[] = {
    {"score_thr", CFG_FLOAT, offsetof(pm_cfg, infer.score_thr), "0.05", 0, 1, NULL,
     "candidates need class probability x centerness above this", 0},
    {"nms_pre", CFG_INT, offsetof(pm_cfg, infer.nms_pre), "1000", 1, 1000000, NULL,
     "best candidates kept per level before NMS", 0},
    {"nms_iou", CFG_FLOAT, offsetof(pm_cfg, infer.nms_iou), "0.5", 0, 1, NULL,
     "class-wise box NMS threshold", 0},
    {"max_dets", CFG_INT, offsetof(pm_cfg, infer.max_dets), "100", 1, 10000, NULL,
     "detections kept per image", 0},
};

static const cfg_section model_section = {
    "model", model_fields, (int)(sizeof model_fields / sizeof model_fields[0]),
    "polarmask: ResNet + FPN + polar head, refine module, contour head"};
static const cfg_section loss_section = {
    "loss", loss_fields, (int)(sizeof loss_fields / sizeof loss_fields[0]),
    "loss weights of seed 004"};
static const cfg_section infer_section = {
    "infer", infer_fields, (int)(sizeof infer_fields / sizeof infer_fields[0]),
    "inference: candidates and NMS"};

/* ------------------------------------------------------------------ targets (loader threads) */

static void grid_of(const pm_cfg *c, polar_config *g)
{
    polar_config_default(g);
    g->num_rays = (int)c->model.num_rays;
    g->center_radius = (float)c->model.center_radius;
    for (int l = 0; l < PM_LEVELS; l++) {
        g->strides[l] = polarmask_strides[l];
        g->range_lo[l] = l == 0 ? -1.0f : (float)c->model.size_ranges.v[l - 1];
        g->range_hi[l] = l == PM_LEVELS - 1 ? INFINITY : (float)c->model.size_ranges.v[l];
    }
}

/* Ground truth of a batch for evaluation: every instance as COCO run lengths. */
typedef struct {
    int64_t image_id;
    int class_id;
    int h, w;
    uint32_t *counts;
    size_t n;
} pm_gt;

typedef struct {
    int n;
    pm_gt *gt;
    int n_images;
    int64_t *image_ids; /* the dataset index of each image of the batch */
} pm_gt_list;

static void gt_list_free(void *p)
{
    pm_gt_list *l = p;
    if (!l)
        return;
    for (int i = 0; i < l->n; i++)
        free(l->gt[i].counts);
    free(l->gt);
    free(l->image_ids);
    free(l);
}

static int add_gt(pm_gt_list *l, const sample *s, int k, uint8_t *scratch, char *err, size_t errlen)
{
    const instance *in = &s->instances[k];
    const uint8_t *mask = in->mask;
    if (!mask) {
        memset(scratch, 0, (size_t)s->h * (size_t)s->w);
        raster_polygons(scratch, s->h, s->w, in->polygons, in->n_polygons, RASTER_EVEN_ODD, 1);
        mask = scratch;
    }
    if (!raster_count(mask, (size_t)s->h * (size_t)s->w))
        return 0; /* an empty instance is no object */
    pm_gt *g = &l->gt[l->n];
    if (rle_encode(mask, s->h, s->w, &g->counts, &g->n, err, errlen))
        return -1;
    g->image_id = s->index;
    g->class_id = in->class_id;
    g->h = s->h, g->w = s->w;
    l->n++;
    return 0;
}

/* The instances of a sample: its own, or (image + mask folders, `pictor data import-masks`) its
 * mask as one instance of its label. *view is s, or a copy pointing at one. */
static int instances_of(const sample *s, sample *view, instance *one, char *err, size_t errlen)
{
    *view = *s;
    if (s->n_instances > 0 || !s->mask)
        return 0;
    if (s->label < 0) {
        snprintf(err, errlen, "it has a mask but no class label (import-masks "
                 "--class-from-prefix gives one)");
        return -1;
    }
    *one = (instance){.class_id = s->label, .mask = s->mask};
    view->instances = one;
    view->n_instances = 1;
    return 0;
}

static int pm_targets(const void *ctx, const sample *samples, int n, collated_batch *out,
                      char *err, size_t errlen)
{
    const sample *s = samples;
    const pm_cfg *c = ctx;
    polar_config g;
    grid_of(c, &g);
    const int h = s[0].h, w = s[0].w, R = g.num_rays;
    int64_t N = polar_num_locations(&g, h, w);
    int hc, wc;
    if (N < 0 || polar_level_grid(&g, g.contour_level, h, w, &hc, &wc, NULL)) {
        snprintf(err, errlen, "polarmask targets: bad grid for %dx%d images", w, h);
        return -1;
    }
    int64_t s_cls[2] = {n, N}, s_rays[3] = {n, N, R}, s_ctr[2] = {n, N}, s_con[4] = {n, 1, hc, wc};
    out->targets[T_CLS] = pt_empty(s_cls, 2, PT_I32);
    out->targets[T_RAYS] = pt_empty(s_rays, 3, PT_F32);
    out->targets[T_CTR] = pt_empty(s_ctr, 2, PT_F32);
    out->targets[T_CONTOUR] = pt_empty(s_con, 4, PT_F32);
    out->n_targets = N_TARGETS;
    int total = 0;
    for (int i = 0; i < n; i++)
        total += s[i].n_instances > 0 ? s[i].n_instances : 1;
    pm_gt_list *gl = calloc(1, sizeof *gl);
    uint8_t *scratch = malloc((size_t)h * (size_t)w);
    if (gl) {
        out->payload = gl;
        out->payload_free = gt_list_free;
        gl->gt = calloc((size_t)total + 1, sizeof *gl->gt);
        gl->image_ids = calloc((size_t)n, sizeof *gl->image_ids);
    }
    for (int t = 0; t < N_TARGETS; t++)
        if (!out->targets[t]) {
            snprintf(err, errlen, "polarmask targets: %s", pt_error());
            free(scratch);
            return -1;
        }
    if (!gl || !gl->gt || !gl->image_ids || !scratch) {
        snprintf(err, errlen, "polarmask targets: out of memory");
        free(scratch);
        return -1;
    }
    int32_t *cls = pt_data_ptr(out->targets[T_CLS]);
    float *rays = pt_data_ptr(out->targets[T_RAYS]), *ctr = pt_data_ptr(out->targets[T_CTR]),
          *con = pt_data_ptr(out->targets[T_CONTOUR]);
    gl->n_images = n;
    for (int i = 0; i < n; i++) {
        gl->image_ids[i] = s[i].index;
        polar_targets pt = {cls + i * N, rays + i * N * R, ctr + i * N,
                            con + (int64_t)i * hc * wc, NULL};
        char why[512];
        sample v;
        instance one;
        if (instances_of(&samples[i], &v, &one, why, sizeof why) ||
            polar_targets_compute(&g, &v, &pt, NULL, why, sizeof why)) {
            snprintf(err, errlen, "polarmask targets of dataset item %lld: %s",
                     (long long)s[i].index, why);
            free(scratch);
            return -1;
        }
        for (int k = 0; k < v.n_instances; k++)
            if (add_gt(gl, &v, k, scratch, why, sizeof why)) {
                snprintf(err, errlen, "dataset item %lld, instance %d: %s", (long long)s[i].index,
                         k, why);
                free(scratch);
                return -1;
            }
    }
    free(scratch);
    return 0;
}

/* ------------------------------------------------------------------ model */

typedef struct {
    pm_cfg cfg;
    const drv_env *env;
    polarmask net;
    polar_config grid;
    polar_decode_config dec;
    int num_classes;
    mask_ap *ap;
    mask_ap *ap_any;   /* the same detections and ground truth with every class as one */
    int64_t eval_images, eval_dets;
    double ray_iou_coarse, ray_iou_fine; /* sums over the positives of the evaluated images */
    int64_t ray_positives;
} pm;

static void pm_destroy(void *self)
{
    pm *m = self;
    if (!m)
        return;
    polarmask_free(&m->net);
    mask_ap_free(m->ap);
    mask_ap_free(m->ap_any);
    free(m);
}

static void *pm_create(const drv_env *env, char *err, size_t errlen)
{
    const pm_cfg *c = env->model_cfg;
    if (env->num_classes < 1) {
        snprintf(err, errlen, "polarmask: the dataset has no class names (instances need classes; "
                 "import COCO or use pictor data synth shapes|fmnist-canvas)");
        return NULL;
    }
    store_reader *any = env->train ? env->train : env->val;
    if (any && !(store_layout_of(any)->o.annotations & (STORE_INSTANCES | STORE_MASK))) {
        snprintf(err, errlen, "polarmask: '%s' has neither instances nor masks (import COCO "
                 "instances, image + mask folders, or pictor data synth shapes|fmnist-canvas)",
                 store_path(any));
        return NULL;
    }
    if (env->in_channels != 1 && env->in_channels != 3) {
        snprintf(err, errlen, "polarmask: images with %d channels (expected 1 or 3)",
                 env->in_channels);
        return NULL;
    }
    for (int l = 1; l < c->model.size_ranges.n; l++)
        if (c->model.size_ranges.v[l] <= c->model.size_ranges.v[l - 1]) {
            snprintf(err, errlen, "polarmask: model.size_ranges must increase");
            return NULL;
        }
    pm *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->cfg = *c;
    m->env = env;
    m->num_classes = env->num_classes;
    static const int depths[] = {18, 34, 50};
    polarmask_config pc = {
        .depth = depths[c->model.backbone],
        .frozen_stages = (int)c->model.frozen_stages,
        .norm_eval = c->model.norm_eval,
        .channels = c->model.channels,
        .num_classes = env->num_classes,
        .num_rays = (int)c->model.num_rays,
        .head_convs = (int)c->model.head_convs,
        .gn_groups = (int)c->model.gn_groups,
        .refine = c->model.refine,
        .contour_head = c->model.contour_head,
    };
    if (polarmask_init(&m->net, env->store, pc) != PT_OK) {
        snprintf(err, errlen, "%s", pt_error());
        pm_destroy(m);
        return NULL;
    }
    /* model.pretrained: a torchvision resnet state dict -> backbone.body.*, strict but for fc.* */
    static const char *const not_backbone[] = {"fc.", NULL};
    if (c->model.pretrained[0] && nn_store_load_file(env->store, "backbone.body.",
                                                     c->model.pretrained, "", not_backbone, 1) < 0) {
        snprintf(err, errlen, "model.pretrained: %s (a torchvision resnet%d state dict was "
                 "expected)", pt_error(), depths[c->model.backbone]);
        pm_destroy(m);
        return NULL;
    }
    grid_of(c, &m->grid);
    m->grid.num_classes = env->num_classes;
    char why[256];
    if (polar_config_check(&m->grid, why, sizeof why)) {
        snprintf(err, errlen, "polarmask: %s", why);
        pm_destroy(m);
        return NULL;
    }
    m->dec = polar_decode_defaults();
    m->dec.score_thr = (float)c->infer.score_thr;
    m->dec.nms_pre = (int)c->infer.nms_pre;
    m->dec.nms_iou = (float)c->infer.nms_iou;
    m->dec.max_dets = (int)c->infer.max_dets;
    return m;
}

static collate_config pm_collate(const drv_env *env)
{
    collate_config cc;
    memset(&cc, 0, sizeof cc);
    drv_norm_apply(env->cfg, &cc);
    cc.targets = pm_targets;
    cc.targets_ctx = env->model_cfg;
    return cc;
}

/* ------------------------------------------------------------------ loss */

static pt_tensor *pm_loss(void *self, const collated_batch *b, drv_terms *terms)
{
    pm *m = self;
    const pm_cfg *c = &m->cfg;
    if (b->n_targets != N_TARGETS) {
        pt_error_set("polarmask: the batch has no polar targets");
        return NULL;
    }
    polarmask_out o;
    if (polarmask_forward(&m->net, b->images, c->model.contour_head, &o) != PT_OK)
        return NULL;
    const int64_t B = b->n, N = o.n_locations, C = m->num_classes, R = c->model.num_rays;
    if (pt_size(b->targets[T_CLS], 1) != N) {
        pt_error_set("polarmask: the network has %lld locations, the targets %lld",
                     (long long)N, (long long)pt_size(b->targets[T_CLS], 1));
        return NULL;
    }
    pt_tensor *ids = pt_reshape(b->targets[T_CLS], PT_SHAPE(B * N));
    pt_tensor *pos = pt_reshape(pt_nonzero(pt_ge_s(ids, 0)), PT_SHAPE(-1)); /* positive locations */
    double n_pos = (double)pt_size(pos, 0);
    pt_tensor *cls = pt_div_s(loss_sigmoid_focal_dense(pt_reshape(o.cls, PT_SHAPE(B * N, C)), ids,
                                                       c->loss.alpha, c->loss.gamma),
                              fmax(n_pos, 1.0));
    pt_tensor *ctr_t = pt_index_select(pt_reshape(b->targets[T_CTR], PT_SHAPE(B * N)), 0, pos);
    pt_tensor *ctr_p = pt_index_select(pt_reshape(o.centerness, PT_SHAPE(B * N)), 0, pos);
    pt_tensor *cnt = n_pos > 0 ? pt_bce_with_logits(ctr_p, ctr_t, NULL, NULL, PT_REDUCE_MEAN)
                               : pt_mul_s(pt_sum(o.centerness), 0.0);
    pt_tensor *rays_t = pt_index_select(pt_reshape(b->targets[T_RAYS], PT_SHAPE(B * N, R)), 0, pos);
    pt_tensor *coarse = loss_polar_iou(pt_index_select(pt_reshape(o.coarse, PT_SHAPE(B * N, R)),
                                                       0, pos),
                                       rays_t, ctr_t, POLAR_IOU_EPS);
    drv_terms_add(terms, "cls", cls);
    drv_terms_add(terms, "cnt", cnt);
    drv_terms_add(terms, "coarse", coarse);
    pt_tensor *total = pt_add(pt_add(cls, cnt), pt_mul_s(coarse, c->loss.coarse_weight));
    if (o.fine) {
        pt_tensor *fine = loss_polar_iou(pt_index_select(pt_reshape(o.fine, PT_SHAPE(B * N, R)),
                                                         0, pos),
                                         rays_t, ctr_t, POLAR_IOU_EPS);
        drv_terms_add(terms, "fine", fine);
        total = pt_add(total, fine);
    }
    if (o.contour) {
        pt_tensor *ct = b->targets[T_CONTOUR];
        if (pt_size(ct, 2) != pt_size(o.contour, 2) || pt_size(ct, 3) != pt_size(o.contour, 3)) {
            pt_error_set("polarmask: contour map %lldx%lld, target %lldx%lld",
                         (long long)pt_size(o.contour, 2), (long long)pt_size(o.contour, 3),
                         (long long)pt_size(ct, 2), (long long)pt_size(ct, 3));
            return NULL;
        }
        double n_edge = pt_item_or_nan(pt_sum(ct));
        pt_tensor *contour = pt_div_s(loss_sigmoid_focal(o.contour, ct, c->loss.alpha,
                                                         c->loss.gamma, PT_REDUCE_SUM),
                                      fmax(n_edge, 1.0));
        drv_terms_add(terms, "contour", contour);
        total = pt_add(total, pt_mul_s(contour, c->loss.contour_weight));
    }
    return total;
}

/* ------------------------------------------------------------------ evaluation */

static void pm_eval_begin(void *self)
{
    pm *m = self;
    mask_ap_free(m->ap);
    mask_ap_free(m->ap_any);
    m->ap = mask_ap_new(m->num_classes);
    m->ap_any = mask_ap_new(1);
    m->eval_images = m->eval_dets = 0;
    m->ray_iou_coarse = m->ray_iou_fine = 0;
    m->ray_positives = 0;
}

/* The decoded detections of every image of a batch, the one decoding path of evaluation and
 * predict: forward, scores = class probability x centerness, the refined rays (else the coarse)
 * to host memory, then polar_decode per image (polar_decode.h). dets[0..b->n) must be zeroed;
 * they are filled (free each with polar_dets_free, also after a failure); *o gets the forward's
 * outputs (in the caller's scope). Returns 0, or 2 with a message in err. */
static int decode_batch(pm *m, const collated_batch *b, polarmask_out *o, polar_dets *dets,
                        char *err, size_t errlen)
{
    if (polarmask_forward(&m->net, b->images, 0, o) != PT_OK)
        return snprintf(err, errlen, "%s", pt_error()), 2;
    const int64_t B = b->n, N = o->n_locations, C = m->num_classes, R = m->cfg.model.num_rays;
    const int h = (int)pt_size(b->images, 2), w = (int)pt_size(b->images, 3);
    if (polar_num_locations(&m->grid, h, w) != N)
        return snprintf(err, errlen, "grid mismatch (%lld locations)", (long long)N), 2;
    pt_tensor *scores = pt_contiguous(pt_mul(pt_sigmoid(o->cls),
                                             pt_unsqueeze(pt_sigmoid(o->centerness), 2)));
    pt_tensor *rays = pt_contiguous(o->fine ? o->fine : o->coarse);
    size_t n_scores = (size_t)(B * N * C), n_rays = (size_t)(B * N * R);
    float *hs = malloc(n_scores * sizeof *hs), *hr = malloc(n_rays * sizeof *hr);
    int rc = 0;
    if (!hs || !hr)
        rc = 2, snprintf(err, errlen, "out of memory");
    else if (pt_copy_to(scores, hs, n_scores * sizeof *hs) != PT_OK ||
             pt_copy_to(rays, hr, n_rays * sizeof *hr) != PT_OK)
        rc = 2, snprintf(err, errlen, "%s", pt_error());
    for (int64_t i = 0; rc == 0 && i < B; i++)
        if (polar_decode(&m->dec, &m->grid, h, w, (int)C, hs + i * N * C, hr + i * N * R,
                         &dets[i], err, errlen))
            rc = 2;
    free(hs), free(hr);
    return rc;
}

/* One image's detections into the evaluators (class-wise and class-agnostic), each rasterised
 * at h x w into mask. Returns 0, or 2 with a message in err. */
static int add_dets(pm *m, int64_t id, const polar_dets *d, int h, int w, uint8_t *mask,
                    char *err, size_t errlen)
{
    for (int i = 0; i < d->n; i++) {
        polar_det_mask(d, i, mask, h, w);
        if (mask_ap_add_det(m->ap, id, d->det[i].class_id, d->det[i].score, mask, h, w, err,
                            errlen) ||
            mask_ap_add_det(m->ap_any, id, 0, d->det[i].score, mask, h, w, err, errlen))
            return 2;
    }
    m->eval_dets += d->n;
    return 0;
}

/* A zeroed detections array for each image of b and an h x w mask, or NULL (out of memory). */
static polar_dets *dets_new(const collated_batch *b, uint8_t **mask)
{
    *mask = malloc((size_t)pt_size(b->images, 2) * (size_t)pt_size(b->images, 3));
    polar_dets *d = calloc((size_t)b->n + 1, sizeof *d);
    if (!*mask || !d) {
        free(*mask), free(d);
        *mask = NULL;
        return NULL;
    }
    return d;
}

static void dets_free(polar_dets *d, int64_t n, uint8_t *mask)
{
    for (int64_t i = 0; d && i < n; i++)
        polar_dets_free(&d[i]);
    free(d);
    free(mask);
}

/* Polar IoU of the rays at the ground truth's positive locations, sum_k min / sum_k max per
 * location: how well the coarse and the refined rays regress, whatever the classification. */
static pt_status add_ray_iou(pm *m, const collated_batch *b, const polarmask_out *o)
{
    const int64_t BN = b->n * o->n_locations, R = m->cfg.model.num_rays;
    pt_tensor *pos = pt_reshape(pt_nonzero(pt_ge_s(pt_reshape(b->targets[T_CLS], PT_SHAPE(BN)),
                                                   0)),
                                PT_SHAPE(-1));
    pt_tensor *t = pt_index_select(pt_reshape(b->targets[T_RAYS], PT_SHAPE(BN, R)), 0, pos);
    const pt_tensor *pred[2] = {o->coarse, o->fine};
    double *acc[2] = {&m->ray_iou_coarse, &m->ray_iou_fine};
    for (int i = 0; i < 2; i++) {
        if (!pred[i])
            continue;
        pt_tensor *p = pt_index_select(pt_reshape(pred[i], PT_SHAPE(BN, R)), 0, pos);
        pt_tensor *iou = pt_div(pt_sum_dims(pt_minimum(p, t), PT_SHAPE(1), 0),
                                pt_sum_dims(pt_maximum(p, t), PT_SHAPE(1), 0));
        double v = pt_size(pos, 0) ? pt_item_or_nan(pt_sum(iou)) : 0.0;
        if (isnan(v))
            return PT_ERR;
        *acc[i] += v;
    }
    if (!pos)
        return PT_ERR;
    m->ray_positives += pt_size(pos, 0);
    return PT_OK;
}

static pt_status pm_eval_batch(void *self, const collated_batch *b)
{
    pm *m = self;
    if (!m->ap || !m->ap_any)
        return pt_error_set("polarmask eval: out of memory"), PT_ERR;
    const pm_gt_list *gl = b->payload;
    if (b->n_targets != N_TARGETS || !gl)
        return pt_error_set("polarmask eval: the batch has no ground truth"), PT_ERR;
    char err[512];
    for (int i = 0; i < gl->n; i++) {
        const pm_gt *g = &gl->gt[i];
        if (mask_ap_add_gt_rle(m->ap, g->image_id, g->class_id, g->counts, g->n, g->h, g->w, 0,
                               err, sizeof err) ||
            mask_ap_add_gt_rle(m->ap_any, g->image_id, 0, g->counts, g->n, g->h, g->w, 0, err,
                               sizeof err))
            return pt_error_set("polarmask eval: %s", err), PT_ERR;
    }
    polarmask_out o;
    const int h = (int)pt_size(b->images, 2), w = (int)pt_size(b->images, 3);
    uint8_t *mask;
    polar_dets *dets = dets_new(b, &mask);
    int rc = dets ? decode_batch(m, b, &o, dets, err, sizeof err)
                  : (snprintf(err, sizeof err, "out of memory"), 2);
    for (int64_t i = 0; rc == 0 && i < b->n && i < gl->n_images; i++)
        rc = add_dets(m, gl->image_ids[i], &dets[i], h, w, mask, err, sizeof err);
    m->eval_images += b->n;
    dets_free(dets, b->n, mask);
    if (rc)
        return pt_error_set("polarmask eval: %s", err), PT_ERR;
    return add_ray_iou(m, b, &o);
}

static int pm_eval_end(void *self, drv_metrics *out, char *err, size_t errlen)
{
    pm *m = self;
    mask_ap_result r, any;
    char why[512];
    if (!m->ap || !m->ap_any)
        return snprintf(err, errlen, "polarmask evaluation: out of memory"), 2;
    if (mask_ap_summarize(m->ap, &r, why, sizeof why) ||
        mask_ap_summarize(m->ap_any, &any, why, sizeof why))
        return snprintf(err, errlen, "polarmask evaluation: %s", why), 2;
    drv_metrics_add(out, "mask_ap", r.ap);
    drv_metrics_add(out, "mask_ap50", r.ap50);
    drv_metrics_add(out, "mask_ap75", r.ap75);
    drv_metrics_add(out, "mask_ap_s", r.ap_small);
    drv_metrics_add(out, "mask_ap_m", r.ap_medium);
    drv_metrics_add(out, "mask_ap_l", r.ap_large);
    drv_metrics_add(out, "mask_ar100", r.ar100);
    drv_metrics_add(out, "mask_ap_agnostic", any.ap); /* class ignored: localisation only */
    drv_metrics_add(out, "mask_ap50_agnostic", any.ap50);
    if (m->ray_positives > 0) {
        drv_metrics_add(out, "ray_iou_coarse", m->ray_iou_coarse / (double)m->ray_positives);
        if (m->cfg.model.refine)
            drv_metrics_add(out, "ray_iou_fine", m->ray_iou_fine / (double)m->ray_positives);
    }
    drv_metrics_add(out, "dets_per_image",
                    m->eval_images ? (double)m->eval_dets / (double)m->eval_images : 0);
    /* the results file in the run directory; none when there is no place for it (its parent
     * is missing), which is not an evaluation error */
    return predictions_write(m->ap, m->env->run_dir, err, errlen) < 0 ? 1 : 0;
}

/* ------------------------------------------------------------------ predict (`pictor predict`) */

/* Each image's detections drawn over it into out_dir/<dataset index>.png (train/polar_draw.h)
 * and added to the evaluator, whose results file pm_predict_end writes. */
static int pm_predict(void *self, const collated_batch *b, const sample *samples, int n,
                      const char *out_dir, char *err, size_t errlen)
{
    pm *m = self;
    if (!m->ap || !m->ap_any)
        return snprintf(err, errlen, "out of memory"), 2;
    polarmask_out o;
    const int h = (int)pt_size(b->images, 2), w = (int)pt_size(b->images, 3);
    uint8_t *mask;
    polar_dets *dets = dets_new(b, &mask);
    int rc = dets ? decode_batch(m, b, &o, dets, err, errlen)
                  : (snprintf(err, errlen, "out of memory"), 2);
    polar_draw_options opt = {0, m->env->class_names, m->num_classes};
    for (int i = 0; rc == 0 && i < n && i < b->n; i++) {
        const sample *s = &samples[i];
        char path[4200];
        if (s->h != h || s->w != w) {
            rc = 2, snprintf(err, errlen, "dataset item %lld is %dx%d, its batch %dx%d",
                             (long long)s->index, s->w, s->h, w, h);
            break;
        }
        snprintf(path, sizeof path, "%s/%lld.png", out_dir, (long long)s->index);
        rc = polar_draw_png(path, s, &dets[i], &opt, err, errlen)
                 ? 1
                 : add_dets(m, s->index, &dets[i], h, w, mask, err, errlen);
    }
    dets_free(dets, b->n, mask);
    return rc;
}

static int pm_predict_end(void *self, const char *out_dir, char *err, size_t errlen)
{
    pm *m = self;
    if (!m->ap)
        return snprintf(err, errlen, "out of memory"), 2;
    return predictions_write(m->ap, out_dir, err, errlen) ? 1 : 0;
}

static const char *const pm_export_exclude[] = {"contour_head.", NULL};
static const cfg_section *const pm_more_sections[] = {&loss_section, &infer_section, NULL};

const driver drv_polarmask = {
    .type = "polarmask",
    .summary = "polar-ray instance segmentation, refine module and contour head (seed 004)",
    .model_section = &model_section,
    .model_cfg_size = sizeof(pm_cfg),
    .more_sections = pm_more_sections,
    .export_exclude = pm_export_exclude,
    .collate = pm_collate,
    .create = pm_create,
    .loss = pm_loss,
    .eval_begin = pm_eval_begin,
    .eval_batch = pm_eval_batch,
    .eval_end = pm_eval_end,
    .predict = pm_predict,
    .predict_end = pm_predict_end,
    .destroy = pm_destroy,
};
