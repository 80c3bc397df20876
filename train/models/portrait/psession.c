/*
 * psession.c - see psession.h.
 */
#include "models/portrait/psession.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "models/portrait/pfuse.h"
#include "models/portrait/portrait_model.h"
#include "pipeline/dense_augment.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void psession_result_free(psession_result *r)
{
    if (!r)
        return;
    free(r->mask), free(r->s_in), free(r->s_out), free(r->depth), free(r->conf);
    memset(r, 0, sizeof *r);
}

/* A canvas map back to the photo: unletterbox, then turn back if it was rotated. */
static float *back(const aug_letterbox *lb, const float *map, int rotated, char *err,
                   size_t errlen)
{
    if (!map)
        return NULL;
    float *a = aug_unletterbox_f32(lb, map, err, errlen);
    if (!a || !rotated)
        return a;
    float *b = pfuse_unrotate(a, lb->in_h, lb->in_w);
    free(a);
    if (!b)
        err_fail(err, errlen, "out of memory");
    return b;
}

int psession_run(void *model, const uint8_t *rgb, int h, int w, const float *sensor, int sh,
                 int sw, psession_result *out, char *err, size_t errlen)
{
    portrait *m = model;
    memset(out, 0, sizeof *out);
    if (h < PSESSION_MIN_SIDE || w < PSESSION_MIN_SIDE)
        return err_fail(err, errlen, "the photo is %dx%d: too small (at least %dx%d pixels)", w,
                        h, PSESSION_MIN_SIDE, PSESSION_MIN_SIDE);
    if (sensor && fabs((double)sw / sh - (double)w / h) > 0.02 * ((double)w / h))
        return err_fail(err, errlen, "the depth map is %dx%d but the photo %dx%d: not the same "
                        "view (aspect ratios differ by more than 2%%)", sw, sh, w, h);
    if (m->cfg.model.fusion == FUSION_SENSOR && !sensor)
        return err_fail(err, errlen, "model.fusion is sensor: give the sensor's depth map "
                        "(--depth FILE)");
    double t0 = now_s();
    sample smp;
    sample_init(&smp);
    smp.h = h, smp.w = w, smp.c = 3;
    smp.image = malloc((size_t)h * w * 3);
    if (!smp.image)
        return err_fail(err, errlen, "out of memory for a %dx%d photo", w, h);
    memcpy(smp.image, rgb, (size_t)h * w * 3);
    out->h = h, out->w = w;
    out->rotated = pfuse_is_landscape(h, w);
    if (out->rotated && aug_rot90(&smp, 1, err, errlen)) {
        sample_free(&smp);
        return -1;
    }
    int side = (int)m->env->cfg->data.image_size;
    int H = side > 0 ? side : smp.h, W = side > 0 ? side : smp.w;
    aug_letterbox lb;
    aug_fill fill = {(uint8_t)m->env->cfg->data.pad_value, 0};
    if (aug_letterbox_apply(&smp, H, W, &fill, &lb, err, errlen)) {
        sample_free(&smp);
        return -1;
    }
    collate_config cc;
    memset(&cc, 0, sizeof cc);
    drv_norm_apply(m->env->cfg, &cc);
    const size_t hw = (size_t)H * W;
    float *x = malloc(3 * hw * sizeof *x);
    if (!x) {
        sample_free(&smp);
        return err_fail(err, errlen, "out of memory");
    }
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < hw; i++)
            x[c * hw + i] = collate_normalise(&cc, smp.image[i * 3 + (size_t)c], c);
    sample_free(&smp);
    portrait_maps mp;
    memset(&mp, 0, sizeof mp);
    size_t mark = pt_scope_begin();
    int64_t shape[4] = {1, 3, H, W};
    pt_no_grad_begin();
    pt_status st = portrait_infer(m, pt_from_data(x, shape, 4, PT_F32), &mp);
    pt_no_grad_end();
    pt_scope_end(mark);
    free(x);
    if (st != PT_OK)
        return err_fail(err, errlen, "forward pass: %s", pt_error());
    portrait_maps full;
    memset(&full, 0, sizeof full);
    full.s_in = back(&lb, mp.s_in, out->rotated, err, errlen);
    full.i1 = back(&lb, mp.i1, out->rotated, err, errlen);
    full.depth = back(&lb, mp.depth, out->rotated, err, errlen);
    full.sigma = back(&lb, mp.sigma, out->rotated, err, errlen);
    int bad = !full.s_in || !full.i1 || (mp.depth && (!full.depth || !full.sigma));
    portrait_maps_free(&mp);
    out->infer_s = now_s() - t0;
    t0 = now_s();
    const size_t n = (size_t)h * w;
    float *sd = NULL;
    if (!bad && sensor) {
        sd = malloc(n * sizeof *sd);
        bad = !sd || pfuse_sensor_depth(sensor, sh, sw, h, w, m->cfg.model.sensor_blur, sd, err,
                                        errlen);
    }
    if (!bad)
        bad = portrait_fuse_maps(m, &full, m->cfg.model.fusion == FUSION_SENSOR ? sd : NULL, n,
                                 err, errlen) != 0;
    if (!bad && !(out->mask = malloc(n)))
        bad = 1, err_fail(err, errlen, "out of memory");
    if (bad) {
        free(sd);
        portrait_maps_free(&full);
        psession_result_free(out);
        if (!*err)
            err_fail(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        out->mask[i] = full.s_out[i] > m->cfg.model.out_threshold;
    out->s_in = full.s_in, out->s_out = full.s_out, out->conf = full.i2;
    if (m->cfg.model.fusion == FUSION_SENSOR) {
        out->depth = sd;
        free(full.depth);
    } else {
        out->depth = full.depth;
        free(sd);
    }
    free(full.i1), free(full.sigma);
    out->fuse_s = now_s() - t0;
    return 0;
}
