/*
 * inet.c - see inet.h: the interactive network, its split, its anchors and the assembling.
 */
#include "models/interactive/inet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static pt_status check_config(const inet_config *c)
{
    if (c->depth != 18 && c->depth != 34 && c->depth != 50) {
        pt_error_set("interactive: model.depth %d: expected 18, 34 or 50", c->depth);
        return PT_ERR;
    }
    if (c->k < 1 || c->k > 9) {
        pt_error_set("interactive: model.ps_grid %d: expected 1 .. 9", c->k);
        return PT_ERR;
    }
    if (c->n_sizes < 1 || c->n_sizes > 8 || c->n_ratios < 1 || c->n_ratios > 4 ||
        c->n_sizes * c->n_ratios > INET_MAX_ANCHORS) {
        pt_error_set("interactive: %d anchor sizes x %d ratios: expected 1..8 x 1..4", c->n_sizes,
                     c->n_ratios);
        return PT_ERR;
    }
    for (int i = 0; i < c->n_sizes; i++)
        if (!(c->sizes[i] > 0)) {
            pt_error_set("interactive: anchor size %g must be positive", c->sizes[i]);
            return PT_ERR;
        }
    for (int i = 0; i < c->n_ratios; i++)
        if (!(c->ratios[i] > 0)) {
            pt_error_set("interactive: anchor ratio %g must be positive", c->ratios[i]);
            return PT_ERR;
        }
    return PT_OK;
}

int inet_n_maps(const inet *m) { return m->cfg.prev_mask ? 3 : 2; }

pt_status inet_init(inet *m, nn_store *s, inet_config cfg)
{
    memset(m, 0, sizeof *m);
    if (check_config(&cfg) != PT_OK)
        return PT_ERR;
    m->cfg = cfg;
    m->n_anchors = cfg.n_sizes * cfg.n_ratios;
    resnet_config rc = resnet_defaults(cfg.depth);
    rc.with_fc = 0;
    if (resnet_init(&m->body, s, "backbone", rc) != PT_OK)
        return PT_ERR;
    int64_t c2 = resnet_channels(&m->body, 2), c3 = resnet_channels(&m->body, 3);
    int64_t c4 = resnet_channels(&m->body, 4), c5 = resnet_channels(&m->body, 5);
    m->rpn_conv = nn_conv2d_new(s, "rpn.head.conv.0.0", (nn_conv_opts){.in = c3, .out = c3,
                                                                       .k = 3, .pad = 1});
    m->rpn_cls = nn_conv2d_new(s, "rpn.head.cls_logits",
                               (nn_conv_opts){.in = c3, .out = m->n_anchors, .k = 1});
    m->rpn_box = nn_conv2d_new(s, "rpn.head.bbox_pred",
                               (nn_conv_opts){.in = c3, .out = 4 * m->n_anchors, .k = 1});
    m->fuse = nn_sequential_new();
    nn_seq_add(m->fuse, nn_conv2d_new(s, "fuse.0", (nn_conv_opts){.in = c3 + inet_n_maps(m),
                                                                  .out = c3, .k = 3, .pad = 1,
                                                                  .no_bias = 1}));
    nn_seq_add(m->fuse, nn_batchnorm2d_new(s, "fuse.1", c3, 1e-5, 0.1));
    nn_seq_add(m->fuse, nn_act_new(NN_RELU));
    int64_t in[4] = {c2, c3, c4, c5};
    segdec_config dc = segdec_defaults(in, 4);
    dc.width = cfg.decoder_width;
    dc.out_channels = cfg.decoder_width;
    int64_t kk = (int64_t)cfg.k * cfg.k;
    m->ps_head = nn_conv2d_new(s, "ps_head", (nn_conv_opts){.in = cfg.decoder_width,
                                                            .out = 2 * kk, .k = 1});
    if (!m->rpn_conv || !m->rpn_cls || !m->rpn_box || !nn_seq_ok(m->fuse) ||
        !m->ps_head || segdec_init(&m->decoder, s, "decoder", dc) != PT_OK) {
        inet_free(m);
        return PT_ERR;
    }
    return PT_OK;
}

void inet_free(inet *m)
{
    resnet_free(&m->body);
    nn_module_free(m->rpn_conv);
    nn_module_free(m->rpn_cls);
    nn_module_free(m->rpn_box);
    nn_module_free(m->fuse);
    segdec_free(&m->decoder);
    nn_module_free(m->ps_head);
    memset(m, 0, sizeof *m);
}

pt_status inet_part1(inet *m, const pt_tensor *x, inet_part1_out *out)
{
    static const int64_t pool_k[2] = {3, 3}, pool_s[2] = {2, 2}, pool_p[2] = {1, 1};
    memset(out, 0, sizeof *out);
    pt_tensor *y = pt_relu(nn_forward(m->body.bn1, nn_forward(m->body.conv1, x)));
    y = pt_max_pool2d(y, pool_k, pool_s, pool_p, NULL, 0);
    out->c2 = nn_forward(m->body.layers[0], y);
    out->c3 = nn_forward(m->body.layers[1], out->c2);
    pt_tensor *r = pt_relu(nn_forward(m->rpn_conv, out->c3));
    out->rpn_obj = nn_forward(m->rpn_cls, r);
    out->rpn_box = nn_forward(m->rpn_box, r);
    return out->rpn_obj && out->rpn_box ? PT_OK : PT_ERR;
}

pt_tensor *inet_part2(inet *m, const inet_part1_out *p1, const pt_tensor *maps)
{
    if (!p1->c3 || !maps)
        return NULL;
    if (pt_ndim(maps) != 4 || pt_size(maps, 1) != inet_n_maps(m)) {
        char d[96];
        pt_error_set("interactive: correction maps must be [B, %d, H, W], got %s",
                     inet_n_maps(m), pt_describe(maps, d, sizeof d));
        return NULL;
    }
    pt_tensor *small = pt_interpolate(maps, pt_size(p1->c3, 2), pt_size(p1->c3, 3),
                                      PT_INTERP_BILINEAR, 0);
    pt_tensor *parts[2] = {p1->c3, small};
    pt_tensor *c3f = nn_forward(m->fuse, pt_cat(parts, 2, 1));
    pt_tensor *c4 = nn_forward(m->body.layers[2], c3f);
    pt_tensor *c5 = nn_forward(m->body.layers[3], c4);
    pt_tensor *levels[4] = {p1->c2, c3f, c4, c5};
    if (!c5)
        return NULL;
    return nn_forward(m->ps_head, segdec_forward(&m->decoder, levels, 4));
}

pt_tensor *inet_assemble(inet *m, const pt_tensor *ps, const float (*boxes)[4], int64_t img_h,
                         int64_t img_w, pt_tensor **inbox)
{
    if (inbox)
        *inbox = NULL;
    if (!ps)
        return NULL;
    const int k = m->cfg.k;
    const int64_t kk = (int64_t)k * k, b = pt_size(ps, 0), h = pt_size(ps, 2),
                  w = pt_size(ps, 3);
    /* one-hot cell weights [B, k^2, h, w] (zero outside the rectangle), and the image-size
     * inside-the-rectangle mask */
    size_t nw = (size_t)(b * kk * h * w), ni = (size_t)(b * img_h * img_w);
    float *cell = calloc(nw, sizeof *cell), *in = calloc(ni, sizeof *in);
    if (!cell || !in) {
        free(cell);
        free(in);
        pt_error_set("interactive: out of memory assembling %lld masks", (long long)b);
        return NULL;
    }
    for (int64_t n = 0; n < b; n++) {
        float x0 = boxes[n][0], y0 = boxes[n][1], x1 = boxes[n][2], y1 = boxes[n][3];
        float bw = fmaxf(x1 - x0, 1e-3f), bh = fmaxf(y1 - y0, 1e-3f);
        for (int64_t y = 0; y < h; y++) {
            float py = (y + 0.5f) * (float)img_h / (float)h;
            if (py < y0 || py >= y1)
                continue;
            int i = (int)floorf(k * (py - y0) / bh);
            i = i < 0 ? 0 : i >= k ? k - 1 : i;
            for (int64_t x = 0; x < w; x++) {
                float px = (x + 0.5f) * (float)img_w / (float)w;
                if (px < x0 || px >= x1)
                    continue;
                int j = (int)floorf(k * (px - x0) / bw);
                j = j < 0 ? 0 : j >= k ? k - 1 : j;
                cell[((n * kk + i * k + j) * h + y) * w + x] = 1.0f;
            }
        }
        for (int64_t y = 0; y < img_h; y++)
            for (int64_t x = 0; x < img_w; x++)
                in[(n * img_h + y) * img_w + x] =
                    (float)(y + 0.5f >= y0 && y + 0.5f < y1 && x + 0.5f >= x0 && x + 0.5f < x1);
    }
    int64_t cshape[4] = {b, kk, h, w}, ishape[4] = {b, 1, img_h, img_w};
    pt_tensor *cells = pt_from_data(cell, cshape, 4, PT_F32);
    pt_tensor *inside_t = pt_from_data(in, ishape, 4, PT_F32);
    free(cell);
    free(in);
    pt_tensor *inside = pt_sum_dims(pt_mul(pt_narrow(ps, 1, 0, kk), cells), (int64_t[]){1}, 1, 1);
    pt_tensor *outside =
        pt_sum_dims(pt_mul(pt_narrow(ps, 1, kk, kk), cells), (int64_t[]){1}, 1, 1);
    pt_tensor *logits = pt_interpolate(pt_sub(inside, outside), img_h, img_w,
                                       PT_INTERP_BILINEAR, 0);
    if (inbox)
        *inbox = inside_t;
    return logits;
}

void inet_anchors(const inet *m, int64_t h8, int64_t w8, float *anchors)
{
    const inet_config *c = &m->cfg;
    for (int si = 0; si < c->n_sizes; si++) {
        for (int ri = 0; ri < c->n_ratios; ri++) {
            int a = si * c->n_ratios + ri;
            double hr = sqrt(c->ratios[ri]), aw = c->sizes[si] / hr, ah = c->sizes[si] * hr;
            for (int64_t y = 0; y < h8; y++) {
                for (int64_t x = 0; x < w8; x++) {
                    float *p = anchors + 4 * (((int64_t)a * h8 + y) * w8 + x);
                    double cx = 8.0 * x + 4.0, cy = 8.0 * y + 4.0;
                    p[0] = (float)(cx - aw / 2);
                    p[1] = (float)(cy - ah / 2);
                    p[2] = (float)(cx + aw / 2);
                    p[3] = (float)(cy + ah / 2);
                }
            }
        }
    }
}
