/*
 * drv_interactive.c - model type `interactive` (seed 000): foreground-only segmentation that a
 * user corrects with taps, re-running only the second half of the network (inet.h).
 *
 * Data: every object of the data set is one `foreground` object (claim 3): an image + mask
 * folder's mask, or one instance of an instance set (the instance is chosen by the item's dataset
 * index, so an item always means the same object). The loader's workers build, per image, the
 * object as NOC_* codes (eval/noc.h) and its box.
 * Training step (as RITM trains): part 1 once; the RPN loss on its anchors; the first tap at the
 * pixel deepest inside the object; 0 .. model.max_extra_taps further taps simulated under no-grad
 * with the model in eval mode, each at the pixel deepest inside the current error (eval/noc.h's
 * rule), from the model's own prediction inside the rectangle; the final pass, with gradient,
 * gives the mask loss. The rectangle is the object's box with random jitter
 * (model.box_jitter). Loss = rpn_obj (BCE over the sampled anchors) + rpn_box (smooth L1, beta
 * 1/9, over the positives / sampled) + mask (BCE inside the rectangle, or RITM's normalised
 * focal loss with loss.mask: nfl), each logged.
 * Evaluation: RITM's protocol (eval/noc.h) under two rectangles: `taps` (the RPN's best proposal
 * that contains the first tap, grown to take in any later positive tap outside it) and `rect`
 * (the ground-truth box grown by 10%); NoC@85/90, failures, mean IoU after 1/3/5 taps, ms per
 * tap and per full pass, and plots/noc_curve.png.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/rng.h"
#include "core/driver.h"
#include "eval/noc.h"
#include "geometry/raster.h"
#include "models/interactive/ia_draw.h"
#include "models/interactive/ia_model.h"
#include "normalized_focal.h"
#include "report/plot.h"
#include "targets/click_maps.h"
#include "targets/rpn_targets.h"



static const cfg_field model_fields[] = {
    {"backbone", CFG_ENUM, offsetof(ia_cfg, model.backbone), "resnet18", 0, 0,
     "resnet18|resnet34|resnet50", "ResNet split after layer2 (part 1) / from layer3 (part 2)", 0},
    {"ps_grid", CFG_INT, offsetof(ia_cfg, model.ps_grid), "3", 1, 9, NULL,
     "k: k x k position-sensitive inside/outside cells (claim 5)", 0},
    {"decoder_width", CFG_INT, offsetof(ia_cfg, model.decoder_width), "64", 8, 1024, NULL,
     "channels of the top-down decoder under the position-sensitive head", 0},
    {"prev_mask", CFG_BOOL, offsetof(ia_cfg, model.prev_mask), "on", 0, 0, NULL,
     "the previous prediction as a third correction map", 0},
    {"max_extra_taps", CFG_INT, offsetof(ia_cfg, model.max_extra_taps), "3", 0, 20, NULL,
     "training: up to this many simulated correction taps after the first (no-grad)", 0},
    {"tap_radius", CFG_INT, offsetof(ia_cfg, model.tap_radius), "-1", -1, 64, NULL,
     "taps are definite: the mask takes each tap's label within this radius (px at "
     "data.image_size; 0 the tapped pixel only, -1 off: the network's mask as it is); "
     "evaluation and the tool, not training", 0},
    {"anchor_sizes", CFG_FLOAT_LIST, offsetof(ia_cfg, model.anchor_sizes), "[32, 64, 128, 256]",
     1, 4096, NULL, "RPN anchor sides in pixels (stride 8, on layer2)", 0},
    {"anchor_ratios", CFG_FLOAT_LIST, offsetof(ia_cfg, model.anchor_ratios), "[0.5, 1.0, 2.0]",
     0.05, 20, NULL, "RPN anchor height/width ratios", 0},
    {"box_jitter", CFG_FLOAT, offsetof(ia_cfg, model.box_jitter), "0.1", 0, 1, NULL,
     "training rectangle: the object box grown by up to this fraction per side, shifted", 0},
    {"rpn_batch", CFG_INT, offsetof(ia_cfg, model.rpn_batch), "256", 2, 100000, NULL,
     "anchors sampled per image for the RPN loss (half positive at most)", 0},
};

static const cfg_field loss_fields[] = {
    {"rpn_weight", CFG_FLOAT, offsetof(ia_cfg, loss.rpn_weight), "1.0", 0, 100, NULL,
     "weight of rpn_obj + rpn_box", 0},
    {"mask_weight", CFG_FLOAT, offsetof(ia_cfg, loss.mask_weight), "1.0", 0, 100, NULL,
     "weight of the mask loss inside the rectangle", 0},
    {"mask", CFG_ENUM, offsetof(ia_cfg, loss.mask), "bce", 0, 0, "bce|nfl",
     "mask loss: BCE, or RITM's normalised focal loss (alpha 0.5, gamma 2)", 0},
};

static const cfg_field noc_fields[] = {
    {"max_taps", CFG_INT, offsetof(ia_cfg, noc.max_taps), "20", 1, NOC_MAX_CLICKS, NULL,
     "taps per object; an object never reaching the IoU target counts this many", 0},
    {"pred_thr", CFG_FLOAT, offsetof(ia_cfg, noc.pred_thr), "0.49", 0, 1, NULL,
     "probability threshold of the predicted mask (RITM: 0.49)", 0},
    {"stop_iou", CFG_FLOAT, offsetof(ia_cfg, noc.stop_iou), "0.9", 0, 1, NULL,
     "stop an object's taps once IoU >= this and 5 taps were made (0: always max_taps); later "
     "IoUs repeat the last", 0},
    {"rect_grow", CFG_FLOAT, offsetof(ia_cfg, noc.rect_grow), "0.1", 0, 2, NULL,
     "protocol rect: the ground-truth box grown by this fraction of its size", 0},
    {"protocols", CFG_ENUM, offsetof(ia_cfg, noc.protocols), "both", 0, 0, "both|taps|rect",
     "taps: RPN rectangle + taps (comparable with RITM); rect: user rectangle + taps", 0},
};

static const cfg_section model_section = {
    "model", model_fields, (int)(sizeof model_fields / sizeof model_fields[0]),
    "interactive: split ResNet, RPN, correction maps, position-sensitive assembling"};
static const cfg_section loss_section = {
    "loss", loss_fields, (int)(sizeof loss_fields / sizeof loss_fields[0]),
    "loss weights"};
static const cfg_section noc_section = {
    "noc", noc_fields, (int)(sizeof noc_fields / sizeof noc_fields[0]),
    "evaluation: RITM's simulated taps"};

/* ------------------------------------------------------------------ targets (loader threads) */

static void payload_free(void *p)
{
    ia_payload *l = p;
    if (!l)
        return;
    free(l->index);
    free(l->gt);
    free(l->box);
    free(l->rgb);
    free(l->empty);
    free(l);
}

/* The object of sample s as NOC_* codes in gt (h * w); its box. 0, 1 when the object has no
 * pixel at this size, or -1 with a message. */
static int object_of(const sample *s, uint8_t *gt, float *box, char *err, size_t errlen)
{
    const size_t n = (size_t)s->h * (size_t)s->w;
    if (s->mask) {
        noc_gt_from_mask(s->mask, n, gt);
    } else if (s->n_instances > 0) {
        uint64_t key = (uint64_t)s->index;
        const instance *in = &s->instances[prng_splitmix64(&key) % (uint64_t)s->n_instances];
        memset(gt, 0, n);
        if (in->mask)
            for (size_t i = 0; i < n; i++)
                gt[i] = in->mask[i] ? NOC_FG : NOC_BG;
        else
            raster_polygons(gt, s->h, s->w, in->polygons, in->n_polygons, RASTER_EVEN_ODD,
                            NOC_FG);
    } else {
        snprintf(err, errlen, "it has neither a mask nor instances (interactive segmentation "
                 "needs an object per image)");
        return -1;
    }
    int x0 = s->w, y0 = s->h, x1 = -1, y1 = -1;
    for (int y = 0; y < s->h; y++)
        for (int x = 0; x < s->w; x++)
            if (gt[(size_t)y * s->w + x] == NOC_FG) {
                x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
            }
    if (x1 < 0) { /* gone with resizing or cropping (or empty from the start): the caller
                     decides; the box is the whole image */
        box[0] = 0, box[1] = 0, box[2] = (float)s->w, box[3] = (float)s->h;
        return 1;
    }
    box[0] = (float)x0, box[1] = (float)y0, box[2] = (float)(x1 + 1), box[3] = (float)(y1 + 1);
    return 0;
}

static int ia_targets(const void *ctx, const sample *s, int n, collated_batch *out, char *err,
                      size_t errlen)
{
    (void)ctx;
    const int h = s[0].h, w = s[0].w;
    ia_payload *p = calloc(1, sizeof *p);
    if (p) {
        out->payload = p;
        out->payload_free = payload_free;
        p->n = n, p->h = h, p->w = w;
        p->index = calloc((size_t)n, sizeof *p->index);
        p->gt = malloc((size_t)n * (size_t)h * (size_t)w);
        p->box = calloc((size_t)n, sizeof *p->box);
        p->rgb = malloc((size_t)n * (size_t)h * (size_t)w * 3);
        p->empty = calloc((size_t)n, 1);
    }
    if (!p || !p->index || !p->gt || !p->box || !p->rgb || !p->empty) {
        snprintf(err, errlen, "interactive targets: out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char why[256];
        p->index[i] = s[i].index;
        if (s[i].c == 3)
            memcpy(p->rgb + (size_t)i * h * w * 3, s[i].image, (size_t)h * w * 3);
        else /* grey: the same value in the three channels */
            for (size_t j = 0; j < (size_t)h * w; j++)
                memset(p->rgb + ((size_t)i * h * w + j) * 3, s[i].image[j * s[i].c], 3);
        int rc = object_of(&s[i], p->gt + (size_t)i * h * w, p->box[i], why, sizeof why);
        if (rc < 0) {
            snprintf(err, errlen, "dataset item %lld: %s", (long long)s[i].index, why);
            return -1;
        }
        p->empty[i] = rc == 1;
    }
    return 0;
}

static collate_config ia_collate(const drv_env *env)
{
    collate_config cc;
    memset(&cc, 0, sizeof cc);
    drv_norm_apply(env->cfg, &cc);
    cc.targets = ia_targets;
    cc.targets_ctx = env->model_cfg;
    return cc;
}

/* ------------------------------------------------------------------ model */


static void sheet_free(ia_eval *e)
{
    for (int i = 0; i < e->n_sheet; i++) {
        free((void *)e->sheet[i].image);
        free((void *)e->sheet[i].pred);
        free((void *)e->sheet[i].gt);
    }
    free(e->sheet);
    e->sheet = NULL;
    e->n_sheet = e->cap_sheet = 0;
}

static void ia_destroy(void *self)
{
    ia *m = self;
    if (!m)
        return;
    inet_free(&m->net);
    sheet_free(&m->ev);
    noc_summary_free(&m->ev.sum[0]);
    noc_summary_free(&m->ev.sum[1]);
    free(m);
}

static void *ia_create(const drv_env *env, char *err, size_t errlen)
{
    const ia_cfg *c = env->model_cfg;
    if (env->in_channels != 3) {
        snprintf(err, errlen, "interactive: images with %d channels (expected RGB)",
                 env->in_channels);
        return NULL;
    }
    if (c->model.anchor_sizes.n > 8 || c->model.anchor_ratios.n > 4) {
        snprintf(err, errlen, "interactive: at most 8 model.anchor_sizes and 4 "
                 "model.anchor_ratios");
        return NULL;
    }
    ia *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->cfg = *c;
    m->env = env;
    static const int depths[] = {18, 34, 50};
    inet_config ic = {.depth = depths[c->model.backbone], .k = (int)c->model.ps_grid,
                      .prev_mask = c->model.prev_mask,
                      .decoder_width = c->model.decoder_width,
                      .n_sizes = c->model.anchor_sizes.n, .n_ratios = c->model.anchor_ratios.n};
    for (int i = 0; i < ic.n_sizes; i++)
        ic.sizes[i] = c->model.anchor_sizes.v[i];
    for (int i = 0; i < ic.n_ratios; i++)
        ic.ratios[i] = c->model.anchor_ratios.v[i];
    if (inet_init(&m->net, env->store, ic) != PT_OK) {
        snprintf(err, errlen, "%s", pt_error());
        ia_destroy(m);
        return NULL;
    }
    prng_seed(&m->rng, (uint64_t)env->cfg->train.seed * 7919u + 17u);
    m->rpn = rpn_target_defaults();
    m->rpn.batch_size = (int)c->model.rpn_batch;
    return m;
}

/* ------------------------------------------------------------------ pieces of a pass */

/* Correction maps of every image [B, n_maps, H, W]: taps of image i are clicks[i][0..nc[i]),
 * prev (B * H * W probabilities, or NULL = none yet: zeros) the previous prediction. */
pt_tensor *ia_maps_tensor(const ia *m, const noc_click *const *clicks, const int *nc, int b,
                              int h, int w, const float *prev)
{
    const int nm = inet_n_maps(&m->net);
    const size_t hw = (size_t)h * (size_t)w;
    float *buf = malloc((size_t)b * (size_t)nm * hw * sizeof *buf);
    click *cl = malloc(NOC_MAX_CLICKS * sizeof *cl);
    if (!buf || !cl) {
        free(buf), free(cl);
        pt_error_set("interactive: out of memory for correction maps");
        return NULL;
    }
    for (int i = 0; i < b; i++) {
        for (int k = 0; k < nc[i]; k++)
            cl[k] = (click){clicks[i][k].y, clicks[i][k].x, clicks[i][k].positive};
        char err[256];
        float *dst = buf + (size_t)i * nm * hw;
        if (click_maps(cl, nc[i], h, w, dst, err, sizeof err)) {
            free(buf), free(cl);
            pt_error_set("interactive: %s", err);
            return NULL;
        }
        if (nm == 3) {
            if (prev)
                memcpy(dst + 2 * hw, prev + (size_t)i * hw, hw * sizeof *dst);
            else
                memset(dst + 2 * hw, 0, hw * sizeof *dst);
        }
    }
    int64_t shape[4] = {b, nm, h, w};
    pt_tensor *t = pt_from_data(buf, shape, 4, PT_F32);
    free(buf), free(cl);
    return t;
}

/* Probabilities (sigmoid inside the rectangle, 0 outside) of logits [B, 1, H, W] into host
 * memory, and the binary prediction at thr. */
pt_status ia_host_prediction(const pt_tensor *logits, const pt_tensor *inbox, size_t n,
                                 float *prob, uint8_t *pred, double thr)
{
    pt_tensor *p = pt_contiguous(pt_mul(pt_sigmoid(logits), inbox));
    if (!p || pt_copy_to(p, prob, n * sizeof *prob) != PT_OK)
        return PT_ERR;
    for (size_t i = 0; i < n; i++)
        pred[i] = prob[i] > thr;
    return PT_OK;
}

/* See ia_model.h. */
void ia_pin_taps(uint8_t *pred, int h, int w, const noc_click *taps, int n, int64_t radius)
{
    if (radius < 0)
        return;
    const int r = (int)radius;
    for (int t = 0; t < n; t++) {
        const noc_click *c = &taps[t];
        for (int y = c->y > r ? c->y - r : 0; y <= c->y + r && y < h; y++)
            for (int x = c->x > r ? c->x - r : 0; x <= c->x + r && x < w; x++)
                if ((y - c->y) * (y - c->y) + (x - c->x) * (x - c->x) <= r * r)
                    pred[(size_t)y * (size_t)w + (size_t)x] = (uint8_t)(c->positive != 0);
    }
    for (int t = 0; t < n; t++)
        if (taps[t].y >= 0 && taps[t].y < h && taps[t].x >= 0 && taps[t].x < w)
            pred[(size_t)taps[t].y * (size_t)w + (size_t)taps[t].x] = (uint8_t)(taps[t].positive != 0);
}

/* See ia_model.h. */
void ia_grown_box(const float *box, double jitter, double grow, prng *r, int h, int w,
                  float *out)
{
    double bw = box[2] - box[0], bh = box[3] - box[1];
    double g[4];
    for (int k = 0; k < 4; k++)
        g[k] = jitter >= 0 ? prng_uniform(r) * jitter : grow / 2;
    out[0] = (float)fmax(0, box[0] - g[0] * bw);
    out[1] = (float)fmax(0, box[1] - g[1] * bh);
    out[2] = (float)fmin(w, box[2] + g[2] * bw);
    out[3] = (float)fmin(h, box[3] + g[3] * bh);
}

/* ------------------------------------------------------------------ loss */

/* RPN loss of the batch: objectness BCE over the sampled anchors and smooth L1 of the
 * positives' deltas, both / sampled. */
static pt_status rpn_loss(ia *m, const inet_part1_out *p1, const ia_payload *p, pt_tensor **obj,
                          pt_tensor **box)
{
    const int64_t B = p->n, A = m->net.n_anchors, h8 = pt_size(p1->rpn_obj, 2),
                  w8 = pt_size(p1->rpn_obj, 3), na = A * h8 * w8;
    float *anchors = malloc((size_t)na * 4 * sizeof *anchors);
    float *label = malloc((size_t)(B * na) * sizeof *label);
    float *weight = malloc((size_t)(B * na) * sizeof *weight);
    float *deltas = calloc((size_t)(B * na) * 4, sizeof *deltas);
    float *posw = malloc((size_t)(B * na) * sizeof *posw);
    pt_status st = PT_OK;
    int64_t sampled = 0;
    if (!anchors || !label || !weight || !deltas || !posw) {
        pt_error_set("interactive: out of memory for RPN targets");
        st = PT_ERR;
    }
    if (st == PT_OK) {
        inet_anchors(&m->net, h8, w8, anchors);
        for (int64_t i = 0; i < B; i++) {
            float *li = label + i * na;
            int k = 0;
            if (p->empty[i])
                for (int64_t a = 0; a < na; a++)
                    li[a] = -1.0f; /* no object: out of the RPN loss */
            else
                k = rpn_targets(&m->rpn, anchors, na, p->box[i], &m->rng, li, deltas + i * na * 4);
            if (k < 0) {
                pt_error_set("interactive: out of memory for RPN targets");
                st = PT_ERR;
                break;
            }
            sampled += k;
            for (int64_t a = 0; a < na; a++) {
                weight[i * na + a] = li[a] >= 0 ? 1.0f : 0.0f;
                posw[i * na + a] = li[a] > 0 ? 1.0f : 0.0f;
                li[a] = li[a] > 0 ? 1.0f : 0.0f;
            }
        }
    }
    if (st == PT_OK) {
        int64_t s1[1] = {B * na}, s2[2] = {B * na, 4}, s5[5] = {B, A, 4, h8, w8},
                perm[5] = {0, 1, 3, 4, 2}, sp[2] = {B * na, 1};
        pt_tensor *lt = pt_from_data(label, s1, 1, PT_F32), *wt = pt_from_data(weight, s1, 1, PT_F32);
        pt_tensor *dt = pt_from_data(deltas, s2, 2, PT_F32), *pw = pt_from_data(posw, sp, 2, PT_F32);
        double norm = (double)(sampled > 0 ? sampled : 1);
        *obj = pt_div_s(pt_bce_with_logits(pt_reshape(p1->rpn_obj, s1, 1), lt, wt, NULL,
                                           PT_REDUCE_SUM),
                        norm);
        pt_tensor *pred = pt_reshape(pt_permute(pt_reshape(p1->rpn_box, s5, 5), perm, 5), s2, 2);
        *box = pt_div_s(pt_sum(pt_mul(pt_smooth_l1_loss(pred, dt, PT_REDUCE_NONE, 1.0 / 9.0), pw)),
                        norm);
        st = *obj && *box ? PT_OK : PT_ERR;
    }
    free(anchors), free(label), free(weight), free(deltas), free(posw);
    return st;
}

static pt_tensor *ia_loss(void *self, const collated_batch *b, drv_terms *terms)
{
    ia *m = self;
    const ia_payload *p = b->payload;
    if (!p || p->n != b->n) {
        pt_error_set("interactive: the batch has no object masks");
        return NULL;
    }
    const int B = p->n, h = p->h, w = p->w;
    const size_t hw = (size_t)h * (size_t)w;
    inet_part1_out p1;
    if (inet_part1(&m->net, b->images, &p1) != PT_OK)
        return NULL;
    pt_tensor *obj = NULL, *rbox = NULL;
    if (rpn_loss(m, &p1, p, &obj, &rbox) != PT_OK)
        return NULL;
    /* taps: the first at the deepest object pixel, then simulated corrections */
    noc_clicker *ck = calloc((size_t)B, sizeof *ck);
    float (*boxes)[4] = calloc((size_t)B, sizeof *boxes);
    float *prob = calloc((size_t)B * hw, sizeof *prob);
    uint8_t *pred = calloc((size_t)B * hw, 1);
    const noc_click **cl = calloc((size_t)B, sizeof *cl);
    int *nc = calloc((size_t)B, sizeof *nc);
    pt_tensor *total = NULL;
    int extra = (int)prng_below(&m->rng, (uint64_t)m->cfg.model.max_extra_taps + 1), ok = 1;
    if (!ck || !boxes || !prob || !pred || !cl || !nc) {
        pt_error_set("interactive: out of memory");
        ok = 0;
    }
    int n_objects = 0;
    for (int i = 0; ok && i < B; i++)
        n_objects += !p->empty[i];
    if (ok && n_objects == 0) {
        pt_error_set("interactive: no image of the batch (dataset items %lld ...) has an object "
                     "pixel at %dx%d: empty masks, or objects too small for data.image_size",
                     (long long)p->index[0], w, h);
        ok = 0;
    }
    for (int i = 0; ok && i < B; i++) {
        char err[256] = "";
        noc_click k;
        if (noc_clicker_init(&ck[i], p->gt + (size_t)i * hw, h, w, err, sizeof err) ||
            (!p->empty[i] && noc_next_click(&ck[i], pred + (size_t)i * hw, &k) != NOC_CLICKED)) {
            pt_error_set("interactive: dataset item %lld: %s", (long long)p->index[i],
                         err[0] ? err : "no object pixel to tap");
            ok = 0;
            break;
        }
        cl[i] = ck[i].clicks;
        ia_grown_box(p->box[i], m->cfg.model.box_jitter, 0, &m->rng, h, w, boxes[i]);
    }
    const float *prev = NULL;
    for (int t = 0; ok && t < extra; t++) {
        nn_store_set_training(m->env->store, 0);
        pt_no_grad_begin();
        for (int i = 0; i < B; i++)
            nc[i] = ck[i].n_clicks;
        pt_tensor *inbox = NULL;
        pt_tensor *lg = inet_assemble(&m->net, inet_part2(&m->net, &p1, ia_maps_tensor(m, cl, nc, B, h,
                                                                                  w, prev)),
                                      (const float(*)[4])boxes, h, w, &inbox);
        ok = lg && ia_host_prediction(lg, inbox, (size_t)B * hw, prob, pred, 0.49) == PT_OK;
        pt_no_grad_end();
        nn_store_set_training(m->env->store, 1);
        prev = prob;
        for (int i = 0; ok && i < B; i++)
            noc_next_click(&ck[i], pred + (size_t)i * hw, NULL); /* DONE: nothing to add */
    }
    if (ok) {
        for (int i = 0; i < B; i++)
            nc[i] = ck[i].n_clicks;
        pt_tensor *inbox = NULL;
        pt_tensor *lg = inet_assemble(&m->net, inet_part2(&m->net, &p1, ia_maps_tensor(m, cl, nc, B, h,
                                                                                  w, prev)),
                                      (const float(*)[4])boxes, h, w, &inbox);
        float *tg = malloc((size_t)B * hw * sizeof *tg);
        if (!tg) {
            pt_error_set("interactive: out of memory");
        } else {
            for (size_t i = 0; i < (size_t)B * hw; i++)
                tg[i] = p->gt[i] == NOC_FG;
            int64_t s4[4] = {B, 1, h, w};
            pt_tensor *target = pt_from_data(tg, s4, 4, PT_F32);
            free(tg);
            for (size_t i = 0; i < (size_t)B; i++) /* prob (free now): 1 per image kept */
                prob[i] = p->empty[i] ? 0.0f : 1.0f;
            int64_t sk[4] = {B, 1, 1, 1};
            pt_tensor *wt = pt_mul(inbox, pt_from_data(prob, sk, 4, PT_F32));
            pt_tensor *mask =
                m->cfg.loss.mask == 1
                    ? loss_normalized_focal(lg, target, wt, 0.5, 2.0)
                    : pt_div_s(pt_bce_with_logits(lg, target, wt, NULL, PT_REDUCE_SUM),
                               fmax(pt_item_or_nan(pt_sum(wt)), 1.0));
            drv_terms_add(terms, "rpn_obj", obj);
            drv_terms_add(terms, "rpn_box", rbox);
            drv_terms_add(terms, "mask", mask);
            total = pt_add(pt_mul_s(pt_add(obj, rbox), m->cfg.loss.rpn_weight),
                           pt_mul_s(mask, m->cfg.loss.mask_weight));
        }
    }
    for (int i = 0; ck && i < B; i++)
        noc_clicker_free(&ck[i]);
    free(ck), free(boxes), free(prob), free(pred), free(cl), free(nc);
    return total;
}

/* ------------------------------------------------------------------ evaluation */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Keep image i of the batch, its prediction and ground truth for the worst-N sheet. */
static pt_status sheet_add(ia_eval *e, const ia_payload *p, int64_t i, const uint8_t *pred,
                           double iou)
{
    const size_t hw = (size_t)p->h * (size_t)p->w;
    if (e->n_sheet == e->cap_sheet) {
        int cap = e->cap_sheet ? 2 * e->cap_sheet : 64;
        overlay_sheet_item *t = realloc(e->sheet, (size_t)cap * sizeof *t);
        if (!t)
            return pt_error_set("interactive eval: out of memory"), PT_ERR;
        e->sheet = t;
        e->cap_sheet = cap;
    }
    uint8_t *img = malloc(3 * hw), *pr = malloc(hw), *gt = malloc(hw);
    if (!img || !pr || !gt) {
        free(img), free(pr), free(gt);
        return pt_error_set("interactive eval: out of memory"), PT_ERR;
    }
    memcpy(img, p->rgb + (size_t)i * 3 * hw, 3 * hw);
    memcpy(pr, pred, hw);
    for (size_t j = 0; j < hw; j++)
        gt[j] = p->gt[(size_t)i * hw + j] == NOC_FG;
    e->sheet[e->n_sheet++] = (overlay_sheet_item){img, p->h, p->w, 3, pr, gt, iou, p->index[i]};
    return PT_OK;
}

static void ia_eval_begin(void *self)
{
    ia *m = self;
    sheet_free(&m->ev);
    for (int i = 0; i < 2; i++) {
        noc_summary_free(&m->ev.sum[i]);
        noc_summary_init(&m->ev.sum[i], (int)m->cfg.noc.max_taps, NULL, 0);
    }
    m->ev.tap_s = m->ev.full_s = m->ev.proposal_iou = 0;
    m->ev.taps = m->ev.full = m->ev.objects = m->ev.vanished = 0;
    m->ev.failed = 0;
}

/* The RPN's rectangle for image i of part 1's outputs: the highest-objectness decoded proposal
 * containing the tap (y, x), or, if none does, the best proposal grown to contain it. */
pt_status ia_proposal(ia *m, const inet_part1_out *p1, int64_t i, int h, int w, int ty,
                          int tx, float *box)
{
    const int64_t A = m->net.n_anchors, h8 = pt_size(p1->rpn_obj, 2), w8 = pt_size(p1->rpn_obj, 3),
                  na = A * h8 * w8;
    float *anchors = malloc((size_t)na * 4 * sizeof *anchors);
    float *obj = malloc((size_t)na * sizeof *obj), *del = malloc((size_t)na * 4 * sizeof *del);
    pt_status st = PT_ERR;
    if (!anchors || !obj || !del) {
        pt_error_set("interactive: out of memory");
        goto done;
    }
    pt_tensor *o = pt_contiguous(pt_select(p1->rpn_obj, 0, i));
    pt_tensor *d = pt_contiguous(pt_select(p1->rpn_box, 0, i)); /* [4A, h8, w8] */
    if (pt_copy_to(o, obj, (size_t)na * sizeof *obj) != PT_OK ||
        pt_copy_to(d, del, (size_t)na * 4 * sizeof *del) != PT_OK)
        goto done;
    inet_anchors(&m->net, h8, w8, anchors);
    int64_t best = -1, best_any = -1;
    float bb[4];
    for (int64_t a = 0; a < na; a++) {
        int64_t an = a / (h8 * w8), cell = a % (h8 * w8);
        float dd[4];
        for (int k = 0; k < 4; k++)
            dd[k] = del[(an * 4 + k) * h8 * w8 + cell];
        rpn_decode(anchors + 4 * a, dd, h, w, bb);
        if (bb[2] - bb[0] < 1 || bb[3] - bb[1] < 1)
            continue;
        if (best_any < 0 || obj[a] > obj[best_any])
            best_any = a;
        if (tx + 0.5f >= bb[0] && tx + 0.5f < bb[2] && ty + 0.5f >= bb[1] && ty + 0.5f < bb[3] &&
            (best < 0 || obj[a] > obj[best]))
            best = a;
    }
    int64_t a = best >= 0 ? best : best_any;
    if (a < 0) { /* no usable proposal: a square around the tap */
        float s = (float)fmin(h, w) / 4;
        box[0] = fmaxf(0, tx - s), box[1] = fmaxf(0, ty - s);
        box[2] = fminf((float)w, tx + s), box[3] = fminf((float)h, ty + s);
    } else {
        int64_t an = a / (h8 * w8), cell = a % (h8 * w8);
        float dd[4];
        for (int k = 0; k < 4; k++)
            dd[k] = del[(an * 4 + k) * h8 * w8 + cell];
        rpn_decode(anchors + 4 * a, dd, h, w, box);
    }
    st = PT_OK;
done:
    free(anchors), free(obj), free(del);
    return st;
}

/* Grow box to contain the tap (y, x) with a margin of 10% of the box size. */
void ia_take_in(float *box, int y, int x, int h, int w)
{
    float mx = 0.1f * (box[2] - box[0]), my = 0.1f * (box[3] - box[1]);
    if (x + 0.5f < box[0]) box[0] = fmaxf(0, x - mx);
    if (x + 0.5f >= box[2]) box[2] = fminf((float)w, x + 1 + mx);
    if (y + 0.5f < box[1]) box[1] = fmaxf(0, y - my);
    if (y + 0.5f >= box[3]) box[3] = fminf((float)h, y + 1 + my);
}

/* One object under one protocol: taps until the target IoU (or max_taps); its IoUs go to the
 * protocol's summary. */
static pt_status eval_object(ia *m, const inet_part1_out *p1, const ia_payload *p, int64_t i,
                             int proto, ia_trace *tr)
{
    const int h = p->h, w = p->w, T = (int)m->cfg.noc.max_taps;
    const size_t hw = (size_t)h * (size_t)w;
    inet_part1_out one = {pt_narrow(p1->c2, 0, i, 1), pt_narrow(p1->c3, 0, i, 1),
                          pt_narrow(p1->rpn_obj, 0, i, 1), pt_narrow(p1->rpn_box, 0, i, 1)};
    noc_clicker ck;
    char err[256];
    float *prob = calloc(hw, sizeof *prob);
    uint8_t *pred = calloc(hw, 1);
    double *ious = calloc((size_t)T, sizeof *ious);
    if (!prob || !pred || !ious || noc_clicker_init(&ck, p->gt + (size_t)i * hw, h, w, err, sizeof err)) {
        free(prob), free(pred), free(ious);
        return pt_error_set("interactive eval: out of memory"), PT_ERR;
    }
    noc_click k;
    pt_status st = PT_OK;
    int n = 0;
    float box[4];
    if (noc_next_click(&ck, pred, &k) != NOC_CLICKED) {
        st = PT_ERR;
        pt_error_set("interactive eval: dataset item %lld has no object pixel", (long long)p->index[i]);
    } else if (proto == 1) {
        ia_grown_box(p->box[i], -1, m->cfg.noc.rect_grow, NULL, h, w, box);
    } else {
        st = ia_proposal(m, p1, i, h, w, k.y, k.x, box);
        m->ev.proposal_iou += rpn_box_iou(box, p->box[i]);
    }
    const float *prev = NULL;
    while (st == PT_OK && n < T) {
        double t0 = now_s();
        size_t mark = pt_scope_begin();
        const noc_click *cl = ck.clicks;
        int nc = ck.n_clicks;
        pt_tensor *inbox = NULL;
        pt_tensor *lg = inet_assemble(&m->net, inet_part2(&m->net, &one, ia_maps_tensor(m, &cl, &nc, 1, h, w, prev)),
                                      (const float(*)[4])&box, h, w, &inbox);
        st = lg ? ia_host_prediction(lg, inbox, hw, prob, pred, m->cfg.noc.pred_thr) : PT_ERR;
        ia_pin_taps(pred, h, w, ck.clicks, ck.n_clicks, m->cfg.model.tap_radius);
        pt_scope_end(mark);
        m->ev.tap_s += now_s() - t0;
        m->ev.taps++;
        prev = prob;
        ious[n++] = noc_iou(p->gt + (size_t)i * hw, pred, h, w);
        if (tr && n <= IA_TRACE_STEPS) { /* for `pictor predict`'s picture */
            memcpy(tr->pred + (size_t)(n - 1) * hw, pred, hw);
            memcpy(tr->box[n - 1], box, sizeof box);
            tr->iou[n - 1] = ious[n - 1];
            tr->taps[n - 1] = ck.clicks[n - 1];
            tr->n = n;
        }
        int first_proto = m->cfg.noc.protocols == PROTO_RECT ? 1 : 0;
        if (n == 1 && proto == first_proto && sheet_add(&m->ev, p, i, pred, ious[0]) != PT_OK)
            st = PT_ERR;
        if (m->cfg.noc.stop_iou > 0 && ious[n - 1] >= m->cfg.noc.stop_iou && n >= 5)
            break;
        if (n < T && noc_next_click(&ck, pred, &k) != NOC_CLICKED)
            break;
        if (proto == 0 && k.positive)
            ia_take_in(box, k.y, k.x, h, w);
    }
    if (st == PT_OK && noc_summary_add(&m->ev.sum[proto], ious, n))
        st = PT_ERR, pt_error_set("interactive eval: out of memory");
    noc_clicker_free(&ck);
    free(prob), free(pred), free(ious);
    return st;
}

static pt_status ia_eval_batch(void *self, const collated_batch *b)
{
    ia *m = self;
    const ia_payload *p = b->payload;
    if (!p || p->n != b->n)
        return pt_error_set("interactive eval: the batch has no object masks"), PT_ERR;
    double t0 = now_s();
    inet_part1_out p1;
    if (inet_part1(&m->net, b->images, &p1) != PT_OK)
        return PT_ERR;
    m->ev.full_s += now_s() - t0; /* part 1; part 2 of the first tap is added in eval_end */
    m->ev.full += b->n;
    for (int64_t i = 0; i < b->n; i++) {
        if (p->empty[i]) { /* the object vanished at this size: counted, not evaluated */
            m->ev.vanished++;
            continue;
        }
        for (int proto = 0; proto < 2; proto++) {
            int want = m->cfg.noc.protocols;
            if ((want == PROTO_TAPS && proto == 1) || (want == PROTO_RECT && proto == 0))
                continue;
            if (eval_object(m, &p1, p, i, proto, NULL) != PT_OK)
                return PT_ERR;
        }
        m->ev.objects++;
    }
    return PT_OK;
}

/* ------------------------------------------------------------------ predict (`pictor predict`) */

/* Each object evaluated as `pictor eval` does, its first taps drawn into out_dir/<index>.png
 * (models/interactive/ia_draw.h): one row per protocol, columns after taps 1, 3 and 5. */
static int ia_predict(void *self, const collated_batch *b, const sample *samples, int n,
                      const char *out_dir, char *err, size_t errlen)
{
    ia *m = self;
    const ia_payload *p = b->payload;
    (void)samples;
    if (!p || p->n != b->n)
        return snprintf(err, errlen, "interactive predict: the batch has no object masks"), 2;
    inet_part1_out p1;
    if (inet_part1(&m->net, b->images, &p1) != PT_OK)
        return snprintf(err, errlen, "%s", pt_error()), 2;
    static const char *const names[2] = {"taps", "rect"};
    const int want = m->cfg.noc.protocols;
    int rc = 0;
    for (int64_t i = 0; rc == 0 && i < n && i < b->n; i++) {
        if (p->empty[i]) {
            fprintf(stderr, "pictor: note: dataset item %lld: the object has no pixel left at "
                    "this size; no picture\n", (long long)p->index[i]);
            continue;
        }
        ia_trace tr[2];
        const char *rows[2];
        int nr = 0;
        for (int proto = 0; rc == 0 && proto < 2; proto++) {
            if ((want == PROTO_TAPS && proto == 1) || (want == PROTO_RECT && proto == 0))
                continue;
            if (ia_trace_init(&tr[nr], p->h, p->w)) {
                rc = 2, snprintf(err, errlen, "interactive predict: out of memory");
                break;
            }
            rows[nr] = names[proto];
            if (eval_object(m, &p1, p, i, proto, &tr[nr++]) != PT_OK)
                rc = 2, snprintf(err, errlen, "%s", pt_error());
        }
        if (rc == 0) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%lld.png", out_dir, (long long)p->index[i]);
            const size_t hw = (size_t)p->h * (size_t)p->w;
            if (ia_draw_png(path, p->rgb + (size_t)i * 3 * hw, p->gt + (size_t)i * hw, p->h, p->w,
                            tr, rows, nr, err, errlen))
                rc = 1;
        }
        for (int k = 0; k < nr; k++)
            ia_trace_free(&tr[k]);
    }
    return rc;
}

static void noc_metrics(const noc_summary *s, const char *tag, drv_metrics *out)
{
    char name[48];
    int fails = 0;
    snprintf(name, sizeof name, "noc85_%s", tag);
    drv_metrics_add(out, name, noc_summary_noc(s, 0.85, NULL));
    snprintf(name, sizeof name, "noc90_%s", tag);
    drv_metrics_add(out, name, noc_summary_noc(s, 0.90, &fails));
    snprintf(name, sizeof name, "fails90_%s", tag);
    drv_metrics_add(out, name, fails);
    static const int at[3] = {1, 3, 5};
    for (int j = 0; j < 3; j++) {
        snprintf(name, sizeof name, "miou@%d_%s", at[j], tag);
        drv_metrics_add(out, name, noc_summary_miou(s, at[j]));
    }
}

static int ia_eval_end(void *self, drv_metrics *out, char *err, size_t errlen)
{
    ia *m = self;
    static const char *tags[2] = {"taps", "rect"};
    for (int k = 0; k < 2; k++)
        if (m->ev.sum[k].n)
            noc_metrics(&m->ev.sum[k], tags[k], out);
    double tap_ms = m->ev.taps ? 1e3 * m->ev.tap_s / (double)m->ev.taps : NAN;
    double part1_ms = m->ev.full ? 1e3 * m->ev.full_s / (double)m->ev.full : NAN;
    drv_metrics_add(out, "tap_ms", tap_ms);
    drv_metrics_add(out, "full_pass_ms", part1_ms + tap_ms);
    drv_metrics_add(out, "correction_speedup", (part1_ms + tap_ms) / tap_ms);
    if (m->ev.sum[0].n)
        drv_metrics_add(out, "proposal_iou", m->ev.proposal_iou / (double)m->ev.sum[0].n);
    drv_metrics_add(out, "objects", (double)m->ev.objects);
    drv_metrics_add(out, "objects_too_small", (double)m->ev.vanished);
    /* mean IoU against taps, one line per protocol */
    int T = (int)m->cfg.noc.max_taps, ns = 0;
    double *x = malloc((size_t)T * sizeof *x), *y = malloc(2 * (size_t)T * sizeof *y);
    plot_series series[2];
    for (int k = 0; x && y && k < 2; k++) {
        if (!m->ev.sum[k].n)
            continue;
        for (int t = 0; t < T; t++) {
            x[t] = t + 1;
            y[k * T + t] = noc_summary_miou(&m->ev.sum[k], t + 1);
        }
        series[ns++] = (plot_series){k ? "rectangle + taps" : "taps only (RPN rectangle)", x,
                                     y + k * T, (size_t)T};
    }
    if (ns && m->env->run_dir) {
        char path[4200];
        snprintf(path, sizeof path, "%s/plots/noc_curve.png", m->env->run_dir);
        plot_chart ch = {.title = "mean IoU after k taps", .xlabel = "taps", .ylabel = "mean IoU",
                         .series = series, .nseries = ns, .markers = 1};
        if (plot_chart_png(&ch, path) != PT_OK) /* a picture is not the evaluation: warn */
            fprintf(stderr, "pictor: warning: %s\n", pt_error());
    }
    free(x), free(y);
    if (m->ev.n_sheet && m->env->run_dir) {
        char path[4200], why[512];
        snprintf(path, sizeof path, "%s/plots/worst_first_tap.png", m->env->run_dir);
        if (overlay_worst_sheet(path, m->ev.sheet, m->ev.n_sheet, 16, 0, NULL, why, sizeof why) < 0)
            fprintf(stderr, "pictor: warning: %s\n", why);
    }
    (void)err, (void)errlen;
    return 0;
}

static const cfg_section *const ia_more_sections[] = {&loss_section, &noc_section, NULL};

const driver drv_interactive = {
    .type = "interactive",
    .summary = "foreground segmentation corrected by taps; only part 2 re-runs (seed 000)",
    .model_section = &model_section,
    .model_cfg_size = sizeof(ia_cfg),
    .more_sections = ia_more_sections,
    .collate = ia_collate,
    .create = ia_create,
    .loss = ia_loss,
    .eval_begin = ia_eval_begin,
    .eval_batch = ia_eval_batch,
    .eval_end = ia_eval_end,
    .predict = ia_predict,
    .destroy = ia_destroy,
};
