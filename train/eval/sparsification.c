/*
 * sparsification.c - see sparsification.h.
 */
#include "eval/sparsification.h"

#include <math.h>
#include <stdlib.h>

#include "base/err.h"

typedef struct {
    double key;
    int64_t idx;
    double a;    /* squared error (RMSE) or relative error (ABS_REL) */
} px;

/* Descending key; ties: larger index first (so removal is a stable order). */
static int by_key_desc(const void *x, const void *y)
{
    const px *p = x, *q = y;
    if (p->key != q->key)
        return p->key < q->key ? 1 : -1;
    return p->idx < q->idx ? 1 : p->idx > q->idx ? -1 : 0;
}

/* curve[t] = E over v[k_t ..) for a sorted array (suffix sums). */
static void curve_of(const px *v, int64_t n, sparse_metric m, int steps, double *curve)
{
    double *suffix = malloc(((size_t)n + 1) * sizeof *suffix);
    if (!suffix)
        return;
    suffix[n] = 0;
    for (int64_t i = n - 1; i >= 0; i--)
        suffix[i] = suffix[i + 1] + v[i].a;
    for (int t = 0; t < steps; t++) {
        int64_t k = (int64_t)((double)n * t / steps);
        double mean = suffix[k] / (double)(n - k);
        curve[t] = m == SPARSE_RMSE ? sqrt(mean) : mean;
    }
    free(suffix);
}

static double trapz(const double *y, int steps)
{
    double s = 0;
    for (int t = 0; t + 1 < steps; t++)
        s += 0.5 * (y[t] + y[t + 1]) / steps;
    return s;
}

int sparsification(const float *pred, const float *gt, const float *uncert, const uint8_t *valid,
                   size_t n, sparse_metric metric, int steps, sparse_result *out, double *curve,
                   double *oracle, char *err, size_t errlen)
{
    if (steps < 2)
        return err_fail(err, errlen, "sparsification: steps must be >= 2 (got %d)", steps);
    px *v = malloc((n ? n : 1) * sizeof *v);
    double *c = malloc(2 * (size_t)steps * sizeof *c);
    if (!v || !c) {
        free(v), free(c);
        return err_fail(err, errlen, "sparsification: out of memory");
    }
    int64_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if ((valid && !valid[i]) || (metric == SPARSE_ABS_REL && !(gt[i] > 0)))
            continue;
        double e = (double)pred[i] - gt[i];
        v[m++] = (px){uncert[i], (int64_t)i, metric == SPARSE_RMSE ? e * e : fabs(e) / gt[i]};
    }
    if (m < steps) {
        free(v), free(c);
        return err_fail(err, errlen, "sparsification: %lld valid pixels, fewer than the %d steps",
                        (long long)m, steps);
    }
    double sum = 0;
    for (int64_t i = 0; i < m; i++)
        sum += v[i].a;
    double full = metric == SPARSE_RMSE ? sqrt(sum / m) : sum / m;
    qsort(v, (size_t)m, sizeof *v, by_key_desc);
    curve_of(v, m, metric, steps, c);
    for (int64_t i = 0; i < m; i++)
        v[i].key = v[i].a; /* the oracle: largest error first */
    qsort(v, (size_t)m, sizeof *v, by_key_desc);
    curve_of(v, m, metric, steps, c + steps);
    double *diff = malloc((size_t)steps * sizeof *diff);
    if (!diff) {
        free(v), free(c);
        return err_fail(err, errlen, "sparsification: out of memory");
    }
    for (int t = 0; t < steps; t++)
        diff[t] = c[t] - c[steps + t];
    out->ause = trapz(diff, steps);
    for (int t = 0; t < steps; t++)
        diff[t] = full - c[t];
    out->aurg = trapz(diff, steps);
    for (int t = 0; t < steps; t++)
        diff[t] = full - c[steps + t];
    out->ause_random = trapz(diff, steps);
    out->full = full;
    out->pixels = m;
    for (int t = 0; t < steps; t++) {
        if (curve)
            curve[t] = c[t];
        if (oracle)
            oracle[t] = c[steps + t];
    }
    free(v), free(c), free(diff);
    return 0;
}
