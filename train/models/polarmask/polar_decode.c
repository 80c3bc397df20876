/*
 * polar_decode.c - polarmask inference: candidates, polygons, class-wise box NMS, masks (see
 * polar_decode.h). Plain C over host arrays; one image at a time.
 */
#include "models/polarmask/polar_decode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "geometry/raster.h"

polar_decode_config polar_decode_defaults(void)
{
    polar_decode_config c = {.score_thr = 0.05f, .nms_pre = 1000, .nms_iou = 0.5f, .max_dets = 100};
    return c;
}

typedef struct {
    float score;
    int64_t loc;
    int cls;
} cand;

/* score descending; ties: lower location, then lower class (a total, deterministic order) */
static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->loc != y->loc)
        return x->loc < y->loc ? -1 : 1;
    return (x->cls > y->cls) - (x->cls < y->cls);
}

static float box_iou(const float *a, const float *b)
{
    float iw = fminf(a[2], b[2]) - fmaxf(a[0], b[0]);
    float ih = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    if (iw <= 0 || ih <= 0)
        return 0;
    float inter = iw * ih;
    float ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return ua > 0 ? inter / ua : 0;
}

/* The image point of flat location loc. */
static void location_point(const polar_config *grid, int h, int w, int64_t loc, double *x,
                           double *y)
{
    int l = 0, rows, cols;
    int64_t off = 0;
    while (l + 1 < grid->num_levels) {
        int64_t next;
        polar_level_grid(grid, l + 1, h, w, NULL, NULL, &next);
        if (loc < next)
            break;
        l++;
    }
    polar_level_grid(grid, l, h, w, &rows, &cols, &off);
    int64_t cell = loc - off;
    double s = grid->strides[l];
    *x = ((double)(cell % cols) + 0.5) * s;
    *y = ((double)(cell / cols) + 0.5) * s;
}

void polar_dets_free(polar_dets *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->n; i++)
        free(d->det[i].xy);
    free(d->det);
    memset(d, 0, sizeof *d);
}

int polar_decode(const polar_decode_config *cfg, const polar_config *grid, int h, int w,
                 int num_classes, const float *scores, const float *rays, polar_dets *out,
                 char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (polar_config_check(grid, err, errlen))
        return -1;
    if (h <= 0 || w <= 0 || num_classes < 1 || !scores || !rays || cfg->nms_pre < 1 ||
        cfg->max_dets < 1)
        return err_fail(err, errlen, "polar_decode: bad arguments (%dx%d image, %d classes)", h, w,
                    num_classes);
    const int R = grid->num_rays;
    out->num_rays = R;
    /* 1. candidates per level */
    cand *all = NULL;
    size_t n_all = 0, cap = 0;
    for (int l = 0; l < grid->num_levels; l++) {
        int rows, cols;
        int64_t off;
        polar_level_grid(grid, l, h, w, &rows, &cols, &off);
        size_t first = n_all;
        for (int64_t loc = off; loc < off + (int64_t)rows * cols; loc++)
            for (int c = 0; c < num_classes; c++) {
                float s = scores[loc * num_classes + c];
                if (!(s > cfg->score_thr))
                    continue;
                if (n_all == cap) {
                    size_t nc = cap ? 2 * cap : 1024;
                    cand *t = realloc(all, nc * sizeof *t);
                    if (!t) {
                        free(all);
                        return err_fail(err, errlen, "polar_decode: out of memory");
                    }
                    all = t, cap = nc;
                }
                all[n_all++] = (cand){s, loc, c};
            }
        size_t n_level = n_all - first;
        if (n_level > (size_t)cfg->nms_pre) {
            qsort(all + first, n_level, sizeof *all, cand_cmp);
            n_all = first + (size_t)cfg->nms_pre;
        }
    }
    if (n_all) /* qsort's array may not be NULL, even for 0 elements */
        qsort(all, n_all, sizeof *all, cand_cmp);
    /* 2. boxes of the candidates' polygons, 3. class-wise NMS in score order */
    float (*box)[4] = n_all ? malloc(n_all * sizeof *box) : NULL;
    char *keep = n_all ? calloc(n_all, 1) : NULL;
    if (n_all && (!box || !keep)) {
        free(all), free(box), free(keep);
        return err_fail(err, errlen, "polar_decode: out of memory");
    }
    double sn[POLAR_MAX_RAYS], cs[POLAR_MAX_RAYS];
    for (int k = 0; k < R; k++) {
        sn[k] = sin(2.0 * 3.14159265358979323846 * k / R);
        cs[k] = cos(2.0 * 3.14159265358979323846 * k / R);
    }
    for (size_t i = 0; i < n_all; i++) {
        double x, y;
        location_point(grid, h, w, all[i].loc, &x, &y);
        float b[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
        for (int k = 0; k < R; k++) {
            double r = rays[all[i].loc * R + k];
            float px = (float)fmin(fmax(x + r * sn[k], 0.0), (double)w);
            float py = (float)fmin(fmax(y + r * cs[k], 0.0), (double)h);
            b[0] = fminf(b[0], px), b[1] = fminf(b[1], py);
            b[2] = fmaxf(b[2], px), b[3] = fmaxf(b[3], py);
        }
        memcpy(box[i], b, sizeof b);
    }
    int kept = 0;
    for (size_t i = 0; i < n_all && kept < cfg->max_dets; i++) {
        int suppressed = 0;
        for (size_t j = 0; j < i && !suppressed; j++)
            suppressed = keep[j] && all[j].cls == all[i].cls &&
                         box_iou(box[i], box[j]) > cfg->nms_iou;
        if (!suppressed) {
            keep[i] = 1;
            kept++;
        }
    }
    /* the kept ones, with their polygons */
    out->det = kept ? calloc((size_t)kept, sizeof *out->det) : NULL;
    if (kept && !out->det) {
        free(all), free(box), free(keep);
        return err_fail(err, errlen, "polar_decode: out of memory");
    }
    for (size_t i = 0; i < n_all && out->n < kept; i++) {
        if (!keep[i])
            continue;
        polar_det *d = &out->det[out->n];
        d->xy = malloc(2 * (size_t)R * sizeof *d->xy);
        if (!d->xy) {
            free(all), free(box), free(keep);
            polar_dets_free(out);
            return err_fail(err, errlen, "polar_decode: out of memory");
        }
        double x, y;
        location_point(grid, h, w, all[i].loc, &x, &y);
        for (int k = 0; k < R; k++) {
            double r = rays[all[i].loc * R + k];
            d->xy[2 * k] = (float)fmin(fmax(x + r * sn[k], 0.0), (double)w);
            d->xy[2 * k + 1] = (float)fmin(fmax(y + r * cs[k], 0.0), (double)h);
        }
        d->class_id = all[i].cls;
        d->score = all[i].score;
        d->x = (float)x, d->y = (float)y;
        memcpy(d->box, box[i], sizeof d->box);
        out->n++;
    }
    free(all), free(box), free(keep);
    return 0;
}

int polar_det_mask(const polar_dets *d, int i, uint8_t *mask, int h, int w)
{
    if (!d || i < 0 || i >= d->n || !mask || h <= 0 || w <= 0)
        return -1;
    memset(mask, 0, (size_t)h * (size_t)w);
    return raster_polygon(mask, h, w, d->det[i].xy, d->num_rays, RASTER_NONZERO, 1);
}
