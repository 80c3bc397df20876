/*
 * drv_portrait.c - model type `portrait` (seed 001): portrait segmentation fused with a depth
 * map and its confidence (pnet.h: the MODNet-like segmentation network and the depth network
 * with a Laplacian confidence head; pfuse.h: I2, the sensor path and the fusion).
 *
 * Data: images with a person mask (nonzero = person; an image without a mask is left out of the
 * segmentation losses) and, where the data set has one, a depth map in [0, 1] (near = 0; 0 = no
 * reading, left out of the depth loss): `pictor portrait synth` makes such a set; real photos
 * (human_seg) bring masks only and train the segmentation alone.
 * Training: both networks in one step. loss = semantic_w L_s + detail_w L_d + fusion_w L_f
 * (losses/modnet_binary.h) + depth_w L_nll (losses/laplace_nll.h), each logged.
 * Evaluation (`pictor eval`): IoU, boundary F (DAVIS tolerance) and MAE of S_in (threshold
 * model.threshold) and of S_out (model.out_threshold) with the depth of model.fusion (network:
 * the depth network's d and I2 = 1 - exp(-conf_tau / sigma); sensor: the data set's depth map
 * processed as claim 4 with I2 = c - d / d_max; none: S_out = S_in); depth abs rel and RMSE of
 * the network against the stored maps (valid pixels), and the confidence's AUSE / AURG on RMSE
 * (eval/sparsification.h, 50 steps of 2%, per image then averaged; ause_random is a random
 * order's AUSE); ms per image for the forward pass.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "core/driver.h"
#include "eval/sparsification.h"
#include "laplace_nll.h"
#include "models/portrait/pfuse.h"
#include "models/portrait/portrait_model.h"
#include "modnet_binary.h"

static const cfg_field model_fields[] = {
    {"backbone", CFG_ENUM, offsetof(portrait_cfg, model.backbone), "mobilenet_v3_small", 0, 0,
     PNET_BACKBONES, "segmentation network's backbone (torchvision names: seg.backbone.*)", 0},
    {"depth_backbone", CFG_ENUM, offsetof(portrait_cfg, model.depth_backbone),
     "mobilenet_v3_small", 0, 0, PNET_BACKBONES, "depth network's backbone (depth.backbone.*)", 0},
    {"width", CFG_INT, offsetof(portrait_cfg, model.width), "32", 4, 1024, NULL,
     "channels of the semantic, detail and fusion branches and of the depth decoder", 0},
    {"depth_net", CFG_BOOL, offsetof(portrait_cfg, model.depth_net), "on", 0, 0, NULL,
     "build and train the depth network with its confidence head (off: segmentation only)", 0},
    {"fusion", CFG_ENUM, offsetof(portrait_cfg, model.fusion), "network", 0, 0,
     "network|sensor|none", "depth used by S_out: the depth network, the data's depth map as a "
     "sensor reading, or none (S_out = S_in)", 0},
    {"conf_tau", CFG_FLOAT, offsetof(portrait_cfg, model.conf_tau), "0.05", 1e-6, 1, NULL,
     "network I2 = P(|error| < tau) = 1 - exp(-tau / sigma)", 0},
    {"sensor_c", CFG_FLOAT, offsetof(portrait_cfg, model.sensor_c), "1.0", 0, 2, NULL,
     "sensor I2 = c - d / d_max (claim 5)", 0},
    {"sensor_blur", CFG_FLOAT, offsetof(portrait_cfg, model.sensor_blur), "1.0", 0, 50, NULL,
     "Gaussian blur (pixels) of the resized sensor map (claim 4)", 0},
    {"normalize", CFG_BOOL, offsetof(portrait_cfg, model.normalize), "on", 0, 0, NULL,
     "divide S_out by its maximum (claim 7)", 0},
    {"threshold", CFG_FLOAT, offsetof(portrait_cfg, model.threshold), "0.5", 0, 1, NULL,
     "S_in above this is the portrait", 0},
    {"out_threshold", CFG_FLOAT, offsetof(portrait_cfg, model.out_threshold), "0.5", 0, 1, NULL,
     "S_out above this is the portrait (the target mask)", 0},
};

static const cfg_field loss_fields[] = {
    {"semantic", CFG_FLOAT, offsetof(portrait_cfg, loss.semantic), "10", 0, 1000, NULL,
     "weight of MODNet's semantic MSE", 0},
    {"detail", CFG_FLOAT, offsetof(portrait_cfg, loss.detail), "10", 0, 1000, NULL,
     "weight of the detail L1 in the transition band", 0},
    {"fusion", CFG_FLOAT, offsetof(portrait_cfg, loss.fusion), "1", 0, 1000, NULL,
     "weight of the fusion L1 + compositional term", 0},
    {"depth", CFG_FLOAT, offsetof(portrait_cfg, loss.depth), "1", 0, 1000, NULL,
     "weight of the depth network's Laplacian NLL", 0},
    {"band_radius", CFG_INT, offsetof(portrait_cfg, loss.band_radius), "3", 1, 64, NULL,
     "transition band: dilate - erode of the mask by this many pixels", 0},
    {"log_sigma_bound", CFG_FLOAT, offsetof(portrait_cfg, loss.log_sigma_bound), "10", 1, 50,
     NULL, "log sigma = U tanh(u / U)", 0},
};

static const cfg_section model_section = {
    "model", model_fields, (int)(sizeof model_fields / sizeof model_fields[0]),
    "portrait: MODNet-like segmentation + depth with confidence, fused (seed 001)"};
static const cfg_section loss_section = {
    "loss", loss_fields, (int)(sizeof loss_fields / sizeof loss_fields[0]), "loss weights"};

/* ------------------------------------------------------------------ targets (loader threads) */

typedef struct {
    int n, h, w;
    int64_t *index;
    uint8_t *mask, *has_mask, *has_depth;
    float *depth;
} pp_payload;

static void payload_free(void *p)
{
    pp_payload *l = p;
    if (!l)
        return;
    free(l->index), free(l->mask), free(l->has_mask), free(l->has_depth), free(l->depth);
    free(l);
}

static int pp_targets(const void *ctx, const sample *s, int n, collated_batch *out, char *err,
                      size_t errlen)
{
    (void)ctx;
    const int h = s[0].h, w = s[0].w;
    const size_t hw = (size_t)h * w;
    pp_payload *p = calloc(1, sizeof *p);
    float *m = malloc((size_t)n * hw * sizeof *m), *valid = malloc((size_t)n * hw * sizeof *valid);
    float *imw = malloc((size_t)n * sizeof *imw);
    if (p) {
        out->payload = p;
        out->payload_free = payload_free;
        p->n = n, p->h = h, p->w = w;
        p->index = malloc((size_t)n * sizeof *p->index);
        p->mask = calloc((size_t)n * hw, 1);
        p->has_mask = calloc((size_t)n, 1), p->has_depth = calloc((size_t)n, 1);
        p->depth = calloc((size_t)n * hw, sizeof *p->depth);
    }
    if (!p || !m || !valid || !imw || !p->index || !p->mask || !p->has_mask || !p->has_depth ||
        !p->depth) {
        free(m), free(valid), free(imw);
        snprintf(err, errlen, "portrait targets: out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        p->index[i] = s[i].index;
        p->has_mask[i] = s[i].mask != NULL;
        p->has_depth[i] = s[i].depth != NULL;
        imw[i] = s[i].mask ? 1.0f : 0.0f;
        for (size_t j = 0; j < hw; j++) {
            uint8_t v = s[i].mask ? s[i].mask[j] != 0 : 0;
            p->mask[(size_t)i * hw + j] = v;
            m[(size_t)i * hw + j] = v;
            float d = s[i].depth ? s[i].depth[j] : 0;
            int ok = d > 0 && isfinite(d);
            p->depth[(size_t)i * hw + j] = ok ? d : 0;
            valid[(size_t)i * hw + j] = (float)ok;
        }
    }
    int64_t s4[4] = {n, 1, h, w}, s1[1] = {n};
    out->targets[0] = pt_from_data(m, s4, 4, PT_F32);
    out->targets[1] = pt_from_data(p->depth, s4, 4, PT_F32);
    out->targets[2] = pt_from_data(valid, s4, 4, PT_F32);
    out->targets[3] = pt_from_data(imw, s1, 1, PT_F32);
    out->n_targets = 4;
    free(m), free(valid), free(imw);
    for (int k = 0; k < 4; k++)
        if (!out->targets[k]) {
            snprintf(err, errlen, "portrait targets: %s", pt_error());
            return -1;
        }
    return 0;
}

static collate_config pp_collate(const drv_env *env)
{
    collate_config cc;
    memset(&cc, 0, sizeof cc);
    drv_norm_apply(env->cfg, &cc);
    cc.targets = pp_targets;
    cc.targets_ctx = env->model_cfg;
    return cc;
}

/* ------------------------------------------------------------------ model */

static void pp_destroy(void *self)
{
    portrait *m = self;
    if (!m)
        return;
    pnet_free(&m->net);
    segmetrics_acc_free(m->ev.in);
    segmetrics_acc_free(m->ev.out);
    free(m);
}

static void *pp_create(const drv_env *env, char *err, size_t errlen)
{
    const portrait_cfg *c = env->model_cfg;
    if (env->in_channels != 3) {
        snprintf(err, errlen, "portrait: images with %d channels (expected RGB)", env->in_channels);
        return NULL;
    }
    if (c->model.fusion == FUSION_NETWORK && !c->model.depth_net) {
        snprintf(err, errlen, "portrait: model.fusion network needs model.depth_net on (or set "
                 "model.fusion to sensor or none)");
        return NULL;
    }
    portrait *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->cfg = *c;
    m->env = env;
    pnet_config pc = {.backbone = c->model.backbone, .depth_backbone = c->model.depth_backbone,
                      .width = c->model.width, .with_depth = c->model.depth_net};
    if (pnet_init(&m->net, env->store, pc) != PT_OK) {
        snprintf(err, errlen, "%s", pt_error());
        pp_destroy(m);
        return NULL;
    }
    return m;
}

static pt_tensor *pp_loss(void *self, const collated_batch *b, drv_terms *terms)
{
    portrait *m = self;
    if (b->n_targets != 4) {
        pt_error_set("portrait: the batch has no portrait targets");
        return NULL;
    }
    pnet_out o;
    if (pnet_forward(&m->net, b->images, m->cfg.model.depth_net, &o) != PT_OK)
        return NULL;
    modnet_losses L;
    if (loss_modnet_binary(o.semantic_logits, o.detail_logits, o.fusion_logits, b->targets[0],
                           b->images, b->targets[3], (int)m->cfg.loss.band_radius, &L) != PT_OK)
        return NULL;
    const portrait_cfg *c = &m->cfg;
    pt_tensor *total = pt_add(pt_add(pt_mul_s(L.semantic, c->loss.semantic),
                                     pt_mul_s(L.detail, c->loss.detail)),
                              pt_mul_s(L.fusion, c->loss.fusion));
    drv_terms_add(terms, "semantic", L.semantic);
    drv_terms_add(terms, "detail", L.detail);
    drv_terms_add(terms, "fusion", L.fusion);
    if (c->model.depth_net) {
        pt_tensor *nll = loss_laplace_nll(o.depth, b->targets[1], o.log_sigma_raw, b->targets[2],
                                          c->loss.log_sigma_bound);
        drv_terms_add(terms, "depth_nll", nll);
        total = pt_add(total, pt_mul_s(nll, c->loss.depth));
    }
    return total;
}

/* ------------------------------------------------------------------ host maps */

static float *host(const pt_tensor *t, size_t n)
{
    float *v = malloc(n * sizeof *v);
    if (v && pt_copy_to(pt_contiguous(t), v, n * sizeof *v) != PT_OK) {
        free(v);
        return NULL;
    }
    return v;
}

void portrait_maps_free(portrait_maps *m)
{
    free(m->s_in), free(m->i1), free(m->depth), free(m->sigma), free(m->i2), free(m->s_out);
    memset(m, 0, sizeof *m);
}

pt_status portrait_infer(portrait *m, const pt_tensor *x, portrait_maps *maps)
{
    const int64_t B = pt_size(x, 0), h = pt_size(x, 2), w = pt_size(x, 3);
    const size_t hw = (size_t)h * (size_t)w;
    size_t mark = pt_scope_begin();
    pnet_out o;
    pt_status st = pnet_forward(&m->net, x, m->cfg.model.depth_net, &o);
    pt_tensor *sin = NULL, *i1 = NULL, *sg = NULL;
    if (st == PT_OK) {
        sin = pt_sigmoid(o.fusion_logits);
        i1 = pt_interpolate(pt_sigmoid(o.semantic_logits), h, w, PT_INTERP_BILINEAR, 0);
        if (o.depth)
            sg = laplace_sigma(o.log_sigma_raw, m->cfg.loss.log_sigma_bound);
    }
    for (int64_t i = 0; st == PT_OK && i < B; i++) {
        portrait_maps *p = &maps[i];
        memset(p, 0, sizeof *p);
        p->s_in = host(pt_select(sin, 0, i), hw);
        p->i1 = host(pt_select(i1, 0, i), hw);
        if (o.depth) {
            p->depth = host(pt_select(o.depth, 0, i), hw);
            p->sigma = host(pt_select(sg, 0, i), hw);
        }
        if (!p->s_in || !p->i1 || (o.depth && (!p->depth || !p->sigma))) {
            for (int64_t k = 0; k <= i; k++)
                portrait_maps_free(&maps[k]);
            if (!pt_error_pending())
                pt_error_set("portrait: out of memory for a %lldx%lld map", (long long)h,
                             (long long)w);
            st = PT_ERR;
        }
    }
    pt_scope_end(mark);
    return st;
}

int portrait_fuse_maps(const portrait *m, portrait_maps *p, const float *sensor, size_t n,
                       char *err, size_t errlen)
{
    const portrait_cfg *c = &m->cfg;
    p->s_out = malloc(n * sizeof *p->s_out);
    if (!p->s_out)
        return err_fail(err, errlen, "portrait: out of memory");
    if (c->model.fusion == FUSION_NONE) {
        memcpy(p->s_out, p->s_in, n * sizeof *p->s_out);
        return 0;
    }
    p->i2 = malloc(n * sizeof *p->i2);
    if (!p->i2)
        return err_fail(err, errlen, "portrait: out of memory");
    if (c->model.fusion == FUSION_SENSOR) {
        if (!sensor)
            return err_fail(err, errlen, "portrait: model.fusion sensor needs a depth map");
        pfuse_conf_from_sensor(sensor, n, c->model.sensor_c, p->i2);
        pfuse_fuse(p->s_in, p->i1, sensor, p->i2, n, c->model.normalize, p->s_out);
        return 0;
    }
    if (!p->depth || !p->sigma)
        return err_fail(err, errlen, "portrait: model.fusion network needs the depth network");
    pfuse_conf_from_sigma(p->sigma, n, c->model.conf_tau, p->i2);
    pfuse_fuse(p->s_in, p->i1, p->depth, p->i2, n, c->model.normalize, p->s_out);
    return 0;
}

/* ------------------------------------------------------------------ evaluation */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void pp_eval_begin(void *self)
{
    portrait *m = self;
    segmetrics_acc_free(m->ev.in);
    segmetrics_acc_free(m->ev.out);
    memset(&m->ev, 0, sizeof m->ev);
}

/* The metrics of one image i of the batch from its maps. */
static int eval_image(portrait *m, const pp_payload *p, int i, portrait_maps *mp, char *err,
                      size_t errlen)
{
    const int h = p->h, w = p->w;
    const size_t hw = (size_t)h * w;
    const uint8_t *gt = p->mask + (size_t)i * hw;
    const float *dgt = p->depth + (size_t)i * hw;
    float *sensor = NULL;
    if (m->cfg.model.fusion == FUSION_SENSOR) {
        if (!p->has_depth[i])
            return err_fail(err, errlen, "model.fusion sensor: dataset item %lld has no depth "
                            "map to read as the sensor's", (long long)p->index[i]);
        sensor = malloc(hw * sizeof *sensor);
        if (!sensor || pfuse_sensor_depth(dgt, h, w, h, w, m->cfg.model.sensor_blur, sensor, err,
                                          errlen)) {
            free(sensor);
            return sensor ? -1 : err_fail(err, errlen, "out of memory");
        }
    }
    int rc = portrait_fuse_maps(m, mp, sensor, hw, err, errlen);
    free(sensor);
    if (rc)
        return -1;
    uint8_t *pred = malloc(hw);
    if (!pred)
        return err_fail(err, errlen, "out of memory");
    for (size_t j = 0; j < hw; j++)
        pred[j] = mp->s_in[j] > m->cfg.model.threshold;
    rc = segmetrics_acc_add(m->ev.in, pred, mp->s_in, gt, NULL, h, w, err, errlen);
    for (size_t j = 0; j < hw; j++)
        pred[j] = mp->s_out[j] > m->cfg.model.out_threshold;
    rc = rc ? rc : segmetrics_acc_add(m->ev.out, pred, mp->s_out, gt, NULL, h, w, err, errlen);
    free(pred);
    if (rc)
        return -1;
    if (mp->depth && p->has_depth[i]) {
        double ar = 0, se = 0;
        int64_t nv = 0;
        uint8_t *valid = malloc(hw);
        if (!valid)
            return err_fail(err, errlen, "out of memory");
        for (size_t j = 0; j < hw; j++) {
            valid[j] = dgt[j] > 0;
            if (!valid[j])
                continue;
            double e = mp->depth[j] - dgt[j];
            ar += fabs(e) / dgt[j], se += e * e, nv++;
        }
        if (nv > 0) {
            m->ev.abs_rel += ar / (double)nv;
            m->ev.rmse += sqrt(se / (double)nv);
            m->ev.depth_images++;
        }
        sparse_result sr;
        char why[256];
        if (nv >= 50 && sparsification(mp->depth, dgt, mp->sigma, valid, hw, SPARSE_RMSE, 50, &sr,
                                       NULL, NULL, why, sizeof why) == 0) {
            m->ev.ause += sr.ause, m->ev.aurg += sr.aurg, m->ev.ause_random += sr.ause_random;
            m->ev.sparse_images++;
        }
        free(valid);
    }
    m->ev.images++;
    return 0;
}

static pt_status pp_eval_batch(void *self, const collated_batch *b)
{
    portrait *m = self;
    const pp_payload *p = b->payload;
    if (!p || p->n != b->n)
        return pt_error_set("portrait eval: the batch has no portrait targets"), PT_ERR;
    if (!m->ev.in) {
        double tol = segmetrics_davis_tolerance(p->h, p->w);
        m->ev.in = segmetrics_acc_new(tol);
        m->ev.out = segmetrics_acc_new(tol);
        if (!m->ev.in || !m->ev.out)
            return pt_error_set("portrait eval: out of memory"), PT_ERR;
    }
    portrait_maps *maps = calloc((size_t)b->n, sizeof *maps);
    if (!maps)
        return pt_error_set("portrait eval: out of memory"), PT_ERR;
    double t0 = now_s();
    pt_status st = portrait_infer(m, b->images, maps);
    m->ev.seconds += now_s() - t0;
    for (int i = 0; st == PT_OK && i < p->n; i++) {
        char err[512];
        if (!p->has_mask[i])
            continue;
        if (eval_image(m, p, i, &maps[i], err, sizeof err)) {
            pt_error_set("portrait eval: %s", err);
            st = PT_ERR;
        }
    }
    for (int i = 0; st == PT_OK && i < p->n; i++)
        portrait_maps_free(&maps[i]);
    if (st != PT_OK)
        for (int i = 0; i < p->n; i++)
            portrait_maps_free(&maps[i]);
    free(maps);
    return st;
}

static int pp_eval_end(void *self, drv_metrics *out, char *err, size_t errlen)
{
    portrait *m = self;
    (void)err, (void)errlen;
    segmetrics_summary si, so;
    segmetrics_acc_summary(m->ev.in, &si);
    segmetrics_acc_summary(m->ev.out, &so);
    if (!m->ev.in)
        si.images = so.images = 0, si.mean_iou = so.mean_iou = NAN, si.mean_boundary_f = NAN,
        so.mean_boundary_f = NAN, si.mean_mae = so.mean_mae = NAN;
    drv_metrics_add(out, "iou", si.mean_iou);
    drv_metrics_add(out, "boundary_f", si.mean_boundary_f);
    drv_metrics_add(out, "mae", si.mean_mae);
    drv_metrics_add(out, "iou_out", so.mean_iou);
    drv_metrics_add(out, "boundary_f_out", so.mean_boundary_f);
    drv_metrics_add(out, "mae_out", so.mean_mae);
    double nd = (double)m->ev.depth_images, ns = (double)m->ev.sparse_images;
    drv_metrics_add(out, "depth_abs_rel", nd > 0 ? m->ev.abs_rel / nd : NAN);
    drv_metrics_add(out, "depth_rmse", nd > 0 ? m->ev.rmse / nd : NAN);
    drv_metrics_add(out, "ause_rmse", ns > 0 ? m->ev.ause / ns : NAN);
    drv_metrics_add(out, "aurg_rmse", ns > 0 ? m->ev.aurg / ns : NAN);
    drv_metrics_add(out, "ause_random_rmse", ns > 0 ? m->ev.ause_random / ns : NAN);
    drv_metrics_add(out, "images", (double)m->ev.images);
    drv_metrics_add(out, "depth_images", nd);
    drv_metrics_add(out, "forward_ms", m->ev.images ? 1e3 * m->ev.seconds / (double)m->ev.images : NAN);
    return 0;
}

static const cfg_section *const pp_more_sections[] = {&loss_section, NULL};

const driver drv_portrait = {
    .type = "portrait",
    .summary = "portrait segmentation fused with depth and its confidence (seed 001)",
    .model_section = &model_section,
    .model_cfg_size = sizeof(portrait_cfg),
    .more_sections = pp_more_sections,
    .collate = pp_collate,
    .create = pp_create,
    .loss = pp_loss,
    .eval_begin = pp_eval_begin,
    .eval_batch = pp_eval_batch,
    .eval_end = pp_eval_end,
    .destroy = pp_destroy,
};
