/*
 * noc.c - see noc.h: RITM's simulated taps and the NoC summary.
 */
#include "eval/noc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "geometry/distance.h"

void noc_gt_from_mask(const uint8_t *mask, size_t n, uint8_t *gt)
{
    for (size_t i = 0; i < n; i++)
        gt[i] = mask[i] == 128 ? NOC_IGNORE : mask[i] ? NOC_FG : NOC_BG;
}

int noc_clicker_init(noc_clicker *c, const uint8_t *gt, int h, int w, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (h <= 0 || w <= 0) return err_fail(err, errlen, "noc: bad mask size %dx%d", h, w);
    size_t n = (size_t)h * (size_t)w, np = (size_t)(h + 2) * (size_t)(w + 2);
    c->h = h;
    c->w = w;
    c->gt = gt;
    c->clicked = calloc(n, 1);
    c->seed = malloc(np);
    c->dist = malloc(np * sizeof *c->dist);
    if (!c->clicked || !c->seed || !c->dist) {
        noc_clicker_free(c);
        return err_fail(err, errlen, "noc: out of memory for a %dx%d mask", h, w);
    }
    return 0;
}

void noc_clicker_free(noc_clicker *c)
{
    free(c->clicked);
    free(c->seed);
    free(c->dist);
    memset(c, 0, sizeof *c);
}

/* The deepest not-yet-clicked pixel of the error kind `want_fn` (1: false negatives), by the
 * distance transform of the error region padded with one non-error pixel; returns its distance
 * and its index in *at (first in row-major order among equals), or 0 when there is none. */
static double deepest_error(noc_clicker *c, const uint8_t *pred, int want_fn, size_t *at)
{
    const int h = c->h, w = c->w, wp = w + 2;
    memset(c->seed, 1, (size_t)(h + 2) * (size_t)wp); /* 1 = not an error: a seed of the EDT */
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * (size_t)w + (size_t)x;
            uint8_t g = c->gt[i];
            int p = pred[i] != 0;
            int error = want_fn ? (g == NOC_FG && !p) : (g == NOC_BG && p);
            c->seed[(size_t)(y + 1) * (size_t)wp + (size_t)(x + 1)] = (uint8_t)!error;
        }
    }
    if (distance_edt(c->seed, h + 2, wp, c->dist))
        return 0.0; /* out of memory: no tap (the caller sees NOC_DONE) */
    double best = 0.0;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * (size_t)w + (size_t)x;
            double d = c->clicked[i] ? 0.0 : c->dist[(size_t)(y + 1) * (size_t)wp + (size_t)(x + 1)];
            if (d > best) {
                best = d;
                *at = i;
            }
        }
    }
    return best;
}

noc_step noc_next_click(noc_clicker *c, const uint8_t *pred, noc_click *out)
{
    if (c->n_clicks >= NOC_MAX_CLICKS) return NOC_FULL;
    size_t fn_at = 0, fp_at = 0;
    double fn = deepest_error(c, pred, 1, &fn_at);
    double fp = deepest_error(c, pred, 0, &fp_at);
    if (fn <= 0.0 && fp <= 0.0) return NOC_DONE;
    int positive = fn > fp;
    size_t at = positive ? fn_at : fp_at;
    noc_click k = {(int)(at / (size_t)c->w), (int)(at % (size_t)c->w), positive};
    c->clicked[at] = 1;
    c->clicks[c->n_clicks++] = k;
    if (out) *out = k;
    return NOC_CLICKED;
}

double noc_iou(const uint8_t *gt, const uint8_t *pred, int h, int w)
{
    size_t n = (size_t)h * (size_t)w, inter = 0, uni = 0;
    for (size_t i = 0; i < n; i++) {
        if (gt[i] == NOC_IGNORE) continue;
        int g = gt[i] == NOC_FG, p = pred[i] != 0;
        inter += (size_t)(g && p);
        uni += (size_t)(g || p);
    }
    return uni ? (double)inter / (double)uni : 1.0;
}

int noc_summary_init(noc_summary *s, int max_clicks, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (max_clicks < 1 || max_clicks > NOC_MAX_CLICKS)
        return err_fail(err, errlen, "noc: max_clicks %d outside 1..%d", max_clicks,
                        NOC_MAX_CLICKS);
    s->max_clicks = max_clicks;
    return 0;
}

void noc_summary_free(noc_summary *s)
{
    free(s->ious);
    memset(s, 0, sizeof *s);
}

int noc_summary_add(noc_summary *s, const double *ious, int n_ious)
{
    if (n_ious < 1 || n_ious > s->max_clicks) return -1;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        double *p = realloc(s->ious, (size_t)cap * (size_t)s->max_clicks * sizeof *p);
        if (!p) return -1;
        s->ious = p;
        s->cap = cap;
    }
    double *row = s->ious + (size_t)s->n * (size_t)s->max_clicks;
    for (int k = 0; k < s->max_clicks; k++) row[k] = ious[k < n_ious ? k : n_ious - 1];
    s->n++;
    return 0;
}

double noc_summary_noc(const noc_summary *s, double t, int *failures)
{
    int fails = 0;
    double sum = 0.0;
    for (int i = 0; i < s->n; i++) {
        const double *row = s->ious + (size_t)i * (size_t)s->max_clicks;
        int k = 0;
        while (k < s->max_clicks && row[k] < t) k++;
        if (k == s->max_clicks) {
            fails++;
            sum += s->max_clicks;
        } else {
            sum += k + 1;
        }
    }
    if (failures) *failures = fails;
    return s->n ? sum / s->n : NAN;
}

double noc_summary_miou(const noc_summary *s, int k)
{
    if (!s->n || k < 1 || k > s->max_clicks) return NAN;
    double sum = 0.0;
    for (int i = 0; i < s->n; i++) sum += s->ious[(size_t)i * (size_t)s->max_clicks + (size_t)(k - 1)];
    return sum / s->n;
}
