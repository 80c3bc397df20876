/*
 * distance.c - see distance.h: the exact Euclidean distance transform, Felzenszwalb-Huttenlocher
 * lower envelope of parabolas applied along rows, then along columns.
 */
#include "geometry/distance.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

void distance_edt_1d(const double *f, int n, double *d, int *v, double *z)
{
    int k = -1; /* index of the rightmost parabola of the envelope */
    for (int q = 0; q < n; q++) {
        if (isinf(f[q]))
            continue;
        double fq = f[q] + (double)q * (double)q;
        if (k < 0) {
            k = 0;
            v[0] = q;
            z[0] = -INFINITY;
            z[1] = INFINITY;
            continue;
        }
        double s;
        for (;;) {
            /* where the parabola of q crosses that of v[k] (z[0] = -inf stops the loop) */
            int p = v[k];
            s = (fq - (f[p] + (double)p * (double)p)) / (2.0 * (double)q - 2.0 * (double)p);
            if (s > z[k])
                break;
            k--;
        }
        k++;
        v[k] = q;
        z[k] = s;
        z[k + 1] = INFINITY;
    }
    if (k < 0) {
        for (int q = 0; q < n; q++)
            d[q] = INFINITY;
        return;
    }
    k = 0;
    for (int q = 0; q < n; q++) {
        while (z[k + 1] < (double)q)
            k++;
        double dq = (double)q - (double)v[k];
        d[q] = dq * dq + f[v[k]];
    }
}

int distance_edt_sq(const uint8_t *seed, int h, int w, double *out)
{
    if (!seed || !out || h < 1 || w < 1 || (size_t)h > SIZE_MAX / sizeof(double) / (size_t)w)
        return -1;
    int n = h > w ? h : w;
    double *f = malloc((size_t)n * sizeof *f);
    double *d = malloc((size_t)n * sizeof *d);
    double *z = malloc(((size_t)n + 1) * sizeof *z);
    int *v = malloc((size_t)n * sizeof *v);
    if (!f || !d || !z || !v) {
        free(f);
        free(d);
        free(z);
        free(v);
        return -1;
    }
    /* rows: squared distance to the nearest seed of the same row (+inf for a row without) */
    for (int y = 0; y < h; y++) {
        const uint8_t *srow = seed + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++)
            f[x] = srow[x] ? 0.0 : INFINITY;
        distance_edt_1d(f, w, out + (size_t)y * (size_t)w, v, z);
    }
    /* columns: min over rows y' of (y - y')^2 + row result at (y', x) */
    for (int x = 0; x < w; x++) {
        for (int y = 0; y < h; y++)
            f[y] = out[(size_t)y * (size_t)w + (size_t)x];
        distance_edt_1d(f, h, d, v, z);
        for (int y = 0; y < h; y++)
            out[(size_t)y * (size_t)w + (size_t)x] = d[y];
    }
    free(f);
    free(d);
    free(z);
    free(v);
    return 0;
}

int distance_edt(const uint8_t *seed, int h, int w, double *out)
{
    if (distance_edt_sq(seed, h, w, out) != 0)
        return -1;
    size_t np = (size_t)h * (size_t)w;
    for (size_t i = 0; i < np; i++)
        out[i] = sqrt(out[i]); /* sqrt(+inf) = +inf */
    return 0;
}

/* The double transform (squared or not) rounded into a float buffer. */
static int edt_to_f32(const uint8_t *seed, int h, int w, float *out, int squared)
{
    if (!seed || !out || h < 1 || w < 1 || (size_t)h > SIZE_MAX / sizeof(double) / (size_t)w)
        return -1;
    size_t np = (size_t)h * (size_t)w;
    double *tmp = malloc(np * sizeof *tmp);
    if (!tmp)
        return -1;
    int rc = squared ? distance_edt_sq(seed, h, w, tmp) : distance_edt(seed, h, w, tmp);
    if (rc == 0)
        for (size_t i = 0; i < np; i++)
            out[i] = (float)tmp[i];
    free(tmp);
    return rc;
}

int distance_edt_sq_f32(const uint8_t *seed, int h, int w, float *out)
{
    return edt_to_f32(seed, h, w, out, 1);
}

int distance_edt_f32(const uint8_t *seed, int h, int w, float *out)
{
    return edt_to_f32(seed, h, w, out, 0);
}
