/*
 * polarmask.c - the polarmask network: backbone + FPN + shared head + refine module + contour
 * head (see polarmask.h for the module paths and the refine arithmetic). Owns the head's layers
 * and initialisation (PolarMask's: normal(0, 0.01) convs, zero biases, the classification bias at
 * the prior 0.01, level scales 1) and the flattening of per-level outputs.
 *
 * Intermediate tensors of a forward pass land in the caller's scope (the trainer opens one per
 * step), as the graph needs them until backward.
 */
#include "models/polarmask/polarmask.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const int polarmask_strides[PM_LEVELS] = {8, 16, 32, 64, 128};

static const double prior_bias = -4.59511985013459; /* -log((1 - 0.01) / 0.01) */

/* conv with normal(0, 0.01) weight and constant bias */
static nn_module *conv_normal(nn_store *s, const char *name, int64_t in, int64_t out, int64_t k,
                              int64_t groups, double bias)
{
    return nn_conv2d_new(s, name, (nn_conv_opts){.in = in, .out = out, .k = k, .pad = k / 2,
                                                 .groups = groups,
                                                 .init = {NN_INIT_NORMAL, .std = 0.01,
                                                          .bias = bias}});
}

/* head_convs x (3x3 conv, GroupNorm, ReLU) at prefix.{3i, 3i+1} */
static nn_module *tower(nn_store *s, const char *prefix, const polarmask_config *c)
{
    nn_module *seq = nn_sequential_new();
    char name[NN_NAME_MAX];
    for (int i = 0; seq && i < c->head_convs; i++) {
        if (nn_seq_add(seq, conv_normal(s, nn_path(name, "%s.%d", prefix, 3 * i), c->channels,
                                        c->channels, 3, 1, 0.0)) != PT_OK ||
            nn_seq_add(seq, nn_groupnorm_new(s, nn_path(name, "%s.%d", prefix, 3 * i + 1),
                                             c->gn_groups, c->channels, 1e-5)) != PT_OK ||
            nn_seq_add(seq, nn_act_new(NN_RELU)) != PT_OK) {
            nn_module_free(seq);
            return NULL;
        }
    }
    return seq;
}

static nn_module *contour_tower(nn_store *s, int64_t in)
{
    static const int64_t widths[4] = {128, 64, 64, 64};
    nn_module *seq = nn_sequential_new();
    char name[NN_NAME_MAX];
    int64_t prev = in;
    for (int i = 0; seq && i < 4; i++) {
        if (nn_seq_add(seq, conv_normal(s, nn_path(name, "contour_head.%d", 2 * i), prev,
                                        widths[i], 3, 1, 0.0)) != PT_OK ||
            nn_seq_add(seq, nn_act_new(NN_RELU)) != PT_OK) {
            nn_module_free(seq);
            return NULL;
        }
        prev = widths[i];
    }
    if (seq && nn_seq_add(seq, conv_normal(s, "contour_head.8", prev, 1, 1, 1, prior_bias)) != PT_OK) {
        nn_module_free(seq);
        return NULL;
    }
    return seq;
}

static pt_status check_config(const polarmask_config *c)
{
    if (c->depth != 18 && c->depth != 34 && c->depth != 50 && c->depth != 101 && c->depth != 152)
        return pt_error_set("polarmask: backbone depth %d (expected 18, 34, 50, 101 or 152)",
                            c->depth), PT_ERR;
    if (c->num_classes < 1)
        return pt_error_set("polarmask: num_classes %d (expected at least 1)", c->num_classes),
               PT_ERR;
    if (c->num_rays < 4 || c->num_rays > PM_MAX_RAYS || c->num_rays % 4)
        return pt_error_set("polarmask: num_rays %d (expected a multiple of 4 in 4..%d)",
                            c->num_rays, PM_MAX_RAYS), PT_ERR;
    if (c->channels < 1 || c->gn_groups < 1 || c->channels % c->gn_groups)
        return pt_error_set("polarmask: %d GroupNorm groups do not divide %lld channels",
                            c->gn_groups, (long long)c->channels), PT_ERR;
    if (c->head_convs < 0 || c->head_convs > 16)
        return pt_error_set("polarmask: head_convs %d (expected 0..16)", c->head_convs), PT_ERR;
    return PT_OK;
}

pt_status polarmask_init(polarmask *m, nn_store *s, polarmask_config cfg)
{
    memset(m, 0, sizeof *m);
    if (check_config(&cfg) != PT_OK)
        return PT_ERR;
    m->cfg = cfg;
    for (int k = 0; k < cfg.num_rays; k++) {
        double t = 2.0 * 3.14159265358979323846 * k / cfg.num_rays;
        m->sin_t[k] = sin(t);
        m->cos_t[k] = cos(t);
    }
    resnet_config rc = resnet_defaults(cfg.depth);
    rc.with_fc = 0;
    rc.frozen_stages = cfg.frozen_stages;
    rc.norm_eval = cfg.norm_eval;
    if (resnet_init(&m->body, s, "backbone.body", rc) != PT_OK)
        return PT_ERR;
    int64_t in[3] = {resnet_channels(&m->body, 3), resnet_channels(&m->body, 4),
                     resnet_channels(&m->body, 5)};
    fpn_config fc = fpn_defaults(in, 3);
    fc.out_channels = cfg.channels;
    fc.extra_p6p7 = 1;
    if (fpn_init(&m->neck, s, "backbone.fpn", fc) != PT_OK)
        goto fail;
    m->cls_tower = tower(s, "head.cls_tower", &cfg);
    m->cls_logits = conv_normal(s, "head.cls_logits", cfg.channels, cfg.num_classes, 3, 1,
                                prior_bias);
    m->centerness = conv_normal(s, "head.centerness", cfg.channels, 1, 3, 1, 0.0);
    m->reg_tower = tower(s, "head.reg_tower", &cfg);
    m->rays = conv_normal(s, "head.rays", cfg.channels, cfg.num_rays, 3, 1, 0.0);
    int64_t shape[1] = {PM_LEVELS};
    m->scales = nn_store_param(s, "head.scales", pt_ones(shape, 1, PT_F32));
    if (!m->cls_tower || !m->cls_logits || !m->centerness || !m->reg_tower || !m->rays ||
        !m->scales)
        goto fail;
    if (cfg.refine &&
        !(m->refine = conv_normal(s, "refine.offsets", cfg.num_rays * cfg.channels, cfg.num_rays,
                                  1, cfg.num_rays, 0.0)))
        goto fail;
    if (cfg.contour_head && !(m->contour = contour_tower(s, cfg.channels)))
        goto fail;
    return PT_OK;
fail:
    polarmask_free(m);
    return PT_ERR;
}

void polarmask_free(polarmask *m)
{
    if (!m)
        return;
    resnet_free(&m->body);
    fpn_free(&m->neck);
    nn_module_free(m->cls_tower);
    nn_module_free(m->reg_tower);
    nn_module_free(m->cls_logits);
    nn_module_free(m->centerness);
    nn_module_free(m->rays);
    nn_module_free(m->refine);
    nn_module_free(m->contour);
    memset(m, 0, sizeof *m);
}

/* [B, K, H, W] -> [B, H*W, K] */
static pt_tensor *flat_level(const pt_tensor *t)
{
    return pt_reshape(pt_permute(t, PT_SHAPE(0, 2, 3, 1)),
                      PT_SHAPE(pt_size(t, 0), -1, pt_size(t, 1)));
}

pt_tensor *polarmask_refine_offsets(polarmask *m, const pt_tensor *feat, const pt_tensor *coarse,
                                    int stride)
{
    if (!m->refine) {
        pt_error_set("polarmask: the refine module is off");
        return NULL;
    }
    int64_t B = pt_size(feat, 0), C = pt_size(feat, 1), H = pt_size(feat, 2),
            W = pt_size(feat, 3), R = m->cfg.num_rays;
    /* sampling positions in feature coordinates, then grid_sample's [-1, 1] (align_corners 0):
     * g = 2 * pos / size - 1 */
    float sn[PM_MAX_RAYS], cs[PM_MAX_RAYS];
    for (int64_t k = 0; k < R; k++) {
        sn[k] = (float)m->sin_t[k];
        cs[k] = (float)m->cos_t[k];
    }
    pt_tensor *r = pt_div_s(pt_detach(coarse), (double)stride);
    pt_tensor *col = pt_reshape(pt_add_s(pt_arange(0, (double)W, 1, PT_F32), 0.5),
                                PT_SHAPE(1, 1, 1, W));
    pt_tensor *row = pt_reshape(pt_add_s(pt_arange(0, (double)H, 1, PT_F32), 0.5),
                                PT_SHAPE(1, 1, H, 1));
    pt_tensor *px = pt_add(col, pt_mul(r, pt_from_data(sn, PT_SHAPE(1, R, 1, 1), PT_F32)));
    pt_tensor *py = pt_add(row, pt_mul(r, pt_from_data(cs, PT_SHAPE(1, R, 1, 1), PT_F32)));
    pt_tensor *gx = pt_sub_s(pt_mul_s(px, 2.0 / (double)W), 1.0);
    pt_tensor *gy = pt_sub_s(pt_mul_s(py, 2.0 / (double)H), 1.0);
    pt_tensor *pair[2] = {gx, gy};
    pt_tensor *grid = pt_reshape(pt_stack(pair, 2, -1), PT_SHAPE(B, R, H * W, 2));
    /* [B, C, R, HW] -> [B, R, C, HW] -> [B, R*C, H, W] */
    pt_tensor *sampled = pt_grid_sample(feat, grid, PT_INTERP_BILINEAR, PT_PAD_ZEROS, 0);
    pt_tensor *x = pt_reshape(pt_permute(sampled, PT_SHAPE(0, 2, 1, 3)),
                              PT_SHAPE(B, R * C, H, W));
    return nn_forward(m->refine, x);
}

pt_status polarmask_forward(polarmask *m, const pt_tensor *x, int with_contour,
                            polarmask_out *out)
{
    memset(out, 0, sizeof *out);
    if (!x)
        return PT_ERR;
    if (pt_ndim(x) != 4 || (pt_size(x, 1) != 3 && pt_size(x, 1) != 1) || pt_size(x, 2) < 32 ||
        pt_size(x, 3) < 32) {
        pt_error_set("polarmask: expected images [B, 3 or 1, H >= 32, W >= 32]");
        return PT_ERR;
    }
    const pt_tensor *in = x;
    if (pt_size(x, 1) == 1) {
        in = pt_expand(x, PT_SHAPE(pt_size(x, 0), 3, pt_size(x, 2), pt_size(x, 3)));
    }
    pt_tensor *stages[4] = {0};
    if (resnet_forward(&m->body, in, stages, NULL) != PT_OK)
        return PT_ERR;
    pt_tensor *p[FPN_MAX_OUTPUTS] = {0};
    if (fpn_forward(&m->neck, stages + 1, 3, p) != PT_OK)
        return PT_ERR;
    pt_tensor *cls[PM_LEVELS], *ctr[PM_LEVELS], *coarse[PM_LEVELS], *fine[PM_LEVELS];
    for (int l = 0; l < PM_LEVELS; l++) {
        out->level_h[l] = pt_size(p[l], 2);
        out->level_w[l] = pt_size(p[l], 3);
        out->n_locations += out->level_h[l] * out->level_w[l];
        pt_tensor *cf = nn_forward(m->cls_tower, p[l]);
        cls[l] = flat_level(nn_forward(m->cls_logits, cf));
        ctr[l] = flat_level(nn_forward(m->centerness, cf));
        pt_tensor *rf = nn_forward(m->reg_tower, p[l]);
        /* exp(scale_l * raw), the exponent capped at 12 (e^12 px ~ 163k) so it cannot overflow */
        pt_tensor *raw = pt_mul(nn_forward(m->rays, rf), pt_select(m->scales, 0, l));
        pt_tensor *rays = pt_exp(pt_clamp(raw, NAN, 12.0));
        coarse[l] = flat_level(rays);
        fine[l] = NULL;
        if (m->refine) {
            pt_tensor *off = polarmask_refine_offsets(m, p[l], rays, polarmask_strides[l]);
            fine[l] = flat_level(pt_clamp(pt_add(rays, off), 1e-3, NAN));
        }
    }
    out->cls = pt_cat(cls, PM_LEVELS, 1);
    out->centerness = pt_reshape(pt_cat(ctr, PM_LEVELS, 1),
                                 PT_SHAPE(pt_size(x, 0), out->n_locations));
    out->coarse = pt_cat(coarse, PM_LEVELS, 1);
    if (m->refine)
        out->fine = pt_cat(fine, PM_LEVELS, 1);
    if (m->contour && with_contour)
        out->contour = nn_forward(m->contour, p[0]);
    if (!out->cls || !out->centerness || !out->coarse || (m->refine && !out->fine) ||
        (m->contour && with_contour && !out->contour)) {
        memset(out, 0, sizeof *out);
        return PT_ERR;
    }
    return PT_OK;
}
