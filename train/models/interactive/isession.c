/*
 * isession.c - see isession.h.
 */
#include "models/interactive/isession.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "models/interactive/ia_model.h"
#include "pipeline/dense_augment.h"

struct isession {
    ia *m;
    size_t scope;            /* the shim scope holding part 1's outputs */
    inet_part1_out p1;
    aug_letterbox lb;        /* image -> canvas */
    int H, W;                /* canvas */
    int has_box;
    float box[4];            /* canvas pixels */
    noc_click clicks[NOC_MAX_CLICKS];
    int n;
    float *prob;             /* H * W, the last prediction */
    uint8_t *pred;           /* H * W */
    int has_prev;
    double part1_s, part2_s;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

isession *isession_begin(void *model, const uint8_t *rgb, int h, int w, const float *box,
                         char *err, size_t errlen)
{
    ia *m = model;
    if (box && !(box[2] >= 1 && box[3] >= 1 && box[0] >= 0 && box[1] >= 0 &&
                 box[0] + box[2] <= w && box[1] + box[3] <= h)) {
        err_fail(err, errlen, "the box x=%g, y=%g, w=%g, h=%g is empty or not inside the %dx%d "
                 "image", box[0], box[1], box[2], box[3], w, h);
        return NULL;
    }
    isession *s = calloc(1, sizeof *s);
    if (!s) {
        err_fail(err, errlen, "out of memory");
        return NULL;
    }
    s->m = m;
    int side = (int)m->env->cfg->data.image_size;
    s->H = side > 0 ? side : h;
    s->W = side > 0 ? side : w;
    sample smp;
    sample_init(&smp);
    smp.h = h, smp.w = w, smp.c = 3;
    smp.image = malloc((size_t)h * (size_t)w * 3);
    s->prob = calloc((size_t)s->H * (size_t)s->W, sizeof *s->prob);
    s->pred = calloc((size_t)s->H * (size_t)s->W, 1);
    aug_fill fill = {0, 0};
    if (!smp.image || !s->prob || !s->pred) {
        err_fail(err, errlen, "out of memory for a %dx%d image", w, h);
        goto fail;
    }
    memcpy(smp.image, rgb, (size_t)h * (size_t)w * 3);
    if (aug_letterbox_apply(&smp, s->H, s->W, &fill, &s->lb, err, errlen))
        goto fail;
    collate_config cc;
    memset(&cc, 0, sizeof cc);
    drv_norm_apply(m->env->cfg, &cc);
    const size_t hw = (size_t)s->H * (size_t)s->W;
    float *x = malloc(3 * hw * sizeof *x);
    if (!x) {
        err_fail(err, errlen, "out of memory");
        goto fail;
    }
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < hw; i++)
            x[c * hw + i] = collate_normalise(&cc, smp.image[i * 3 + (size_t)c], c);
    sample_free(&smp);
    s->scope = pt_scope_begin();
    int64_t shape[4] = {1, 3, s->H, s->W};
    double t0 = now_s();
    pt_no_grad_begin();
    pt_status st = inet_part1(&m->net, pt_from_data(x, shape, 4, PT_F32), &s->p1);
    pt_no_grad_end();
    s->part1_s = now_s() - t0;
    free(x);
    if (st != PT_OK) {
        err_fail(err, errlen, "first pass: %s", pt_error());
        pt_scope_end(s->scope);
        free(s->prob), free(s->pred), free(s);
        return NULL;
    }
    if (box) {
        s->has_box = 1;
        s->box[0] = (float)(box[0] * s->lb.scale_x + s->lb.left);
        s->box[1] = (float)(box[1] * s->lb.scale_y + s->lb.top);
        s->box[2] = (float)((box[0] + box[2]) * s->lb.scale_x + s->lb.left);
        s->box[3] = (float)((box[1] + box[3]) * s->lb.scale_y + s->lb.top);
    }
    return s;
fail:
    sample_free(&smp);
    free(s->prob), free(s->pred), free(s);
    return NULL;
}

/* Part 2 with the current taps and rectangle; the prediction back at image size into mask. */
static int run_part2(isession *s, uint8_t *mask, char *err, size_t errlen)
{
    ia *m = s->m;
    const size_t hw = (size_t)s->H * (size_t)s->W;
    double t0 = now_s();
    size_t mark = pt_scope_begin();
    pt_no_grad_begin();
    const noc_click *cl = s->clicks;
    int nc = s->n;
    pt_tensor *inbox = NULL;
    pt_tensor *lg = inet_assemble(&m->net,
                                  inet_part2(&m->net, &s->p1,
                                             ia_maps_tensor(m, &cl, &nc, 1, s->H, s->W,
                                                            s->has_prev ? s->prob : NULL)),
                                  (const float(*)[4])&s->box, s->H, s->W, &inbox);
    pt_status st = lg ? ia_host_prediction(lg, inbox, hw, s->prob, s->pred, m->cfg.noc.pred_thr)
                      : PT_ERR;
    if (st == PT_OK)
        ia_pin_taps(s->pred, s->H, s->W, s->clicks, s->n, m->cfg.model.tap_radius);
    pt_no_grad_end();
    pt_scope_end(mark);
    s->part2_s = now_s() - t0;
    if (st != PT_OK)
        return err_fail(err, errlen, "correction pass: %s", pt_error());
    s->has_prev = 1;
    uint8_t *full = aug_unletterbox_u8(&s->lb, s->pred, err, errlen);
    if (!full)
        return -1;
    const size_t n = (size_t)s->lb.in_h * (size_t)s->lb.in_w;
    for (size_t i = 0; i < n; i++)
        mask[i] = full[i] ? 255 : 0;
    free(full);
    return 0;
}

int isession_first_mask(isession *s, uint8_t *mask, char *err, size_t errlen)
{
    if (!s->has_box)
        return 1;
    return run_part2(s, mask, err, errlen);
}

int isession_tap(isession *s, int x, int y, int positive, uint8_t *mask, char *err,
                 size_t errlen)
{
    if (x < 0 || y < 0 || x >= s->lb.in_w || y >= s->lb.in_h)
        return err_fail(err, errlen, "tap %d at x=%d, y=%d is outside the %dx%d image",
                        s->n + 1, x, y, s->lb.in_w, s->lb.in_h);
    if (s->n >= NOC_MAX_CLICKS)
        return err_fail(err, errlen, "at most %d taps", NOC_MAX_CLICKS);
    if (!s->has_box && !positive)
        return err_fail(err, errlen, "tap 1 is negative, but without a box the first tap must "
                        "be on the object (+x,y)");
    int cy = (int)floor((y + 0.5) * s->lb.scale_y + s->lb.top);
    int cx = (int)floor((x + 0.5) * s->lb.scale_x + s->lb.left);
    cy = cy < 0 ? 0 : cy >= s->H ? s->H - 1 : cy;
    cx = cx < 0 ? 0 : cx >= s->W ? s->W - 1 : cx;
    s->clicks[s->n++] = (noc_click){cy, cx, positive};
    if (!s->has_box) {
        if (ia_proposal(s->m, &s->p1, 0, s->H, s->W, cy, cx, s->box) != PT_OK)
            return err_fail(err, errlen, "region proposal: %s", pt_error());
        s->has_box = 1;
    } else if (positive) {
        ia_take_in(s->box, cy, cx, s->H, s->W);
    }
    return run_part2(s, mask, err, errlen);
}

void isession_times(const isession *s, double *part1_s, double *part2_s)
{
    *part1_s = s->part1_s;
    *part2_s = s->part2_s;
}

int isession_box(const isession *s, float *box)
{
    if (!s->has_box)
        return 0;
    box[0] = (float)((s->box[0] - s->lb.left) / s->lb.scale_x);
    box[1] = (float)((s->box[1] - s->lb.top) / s->lb.scale_y);
    box[2] = (float)((s->box[2] - s->lb.left) / s->lb.scale_x);
    box[3] = (float)((s->box[3] - s->lb.top) / s->lb.scale_y);
    return 1;
}

void isession_end(isession *s)
{
    if (!s)
        return;
    pt_scope_end(s->scope);
    free(s->prob);
    free(s->pred);
    free(s);
}
