/* slic.c - SLIC superpixels over C channels plus position; see slic.h for the algorithm. */
#include "geometry/slic.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "geometry/distance.h"

slic_params slic_defaults(void)
{
    slic_params p = {100, 10.0, 10, 1, 0.5};
    return p;
}

/* The centres: features (c floats each) and position. */
typedef struct {
    int n, c;
    float *feat;   /* n * c */
    double *y, *x; /* n */
} centres;

static int grid_of(int h, int w, int k, int *ny, int *nx)
{
    if ((int64_t)k >= (int64_t)h * w) {
        *ny = h, *nx = w;
        return 0;
    }
    const double s = sqrt((double)h * (double)w / (double)k);
    long a = lround((double)h / s), b = lround((double)w / s);
    *ny = (int)(a < 1 ? 1 : a > h ? h : a);
    *nx = (int)(b < 1 ? 1 : b > w ? w : b);
    return 0;
}

/* base + the squared distance of the c features a and b; blocks of 8 channels in independent
 * lanes (vectorisable without reassociation flags), stopping once the sum reaches bound (the
 * pixel's best distance so far: it cannot win any more). */
static inline float feat_dist(const float *a, const float *b, int c, float base, float bound)
{
    if (c == 3) {
        const float t0 = a[0] - b[0], t1 = a[1] - b[1], t2 = a[2] - b[2];
        return base + t0 * t0 + t1 * t1 + t2 * t2;
    }
    float d = base;
    int ch = 0;
    for (; ch + 8 <= c; ch += 8) {
        float lane[8];
        for (int j = 0; j < 8; j++) {
            const float t = a[ch + j] - b[ch + j];
            lane[j] = t * t;
        }
        d += ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
        if (d >= bound)
            return d;
    }
    for (; ch < c; ch++) {
        const float t = a[ch] - b[ch];
        d += t * t;
    }
    return d;
}

/* Assign every pixel inside a centre's window to its nearest centre (dist is scratch). */
static void assign(const float *f, int h, int w, int c, const centres *ce, double sw, int r,
                   float *dist, int32_t *labels)
{
    const size_t hw = (size_t)h * (size_t)w;
    for (size_t i = 0; i < hw; i++)
        dist[i] = INFINITY;
    for (int k = 0; k < ce->n; k++) {
        const double cy = ce->y[k], cx = ce->x[k];
        const float *cf = ce->feat + (size_t)k * c;
        int y0 = (int)floor(cy) - r, y1 = (int)ceil(cy) + r;
        int x0 = (int)floor(cx) - r, x1 = (int)ceil(cx) + r;
        y0 = y0 < 0 ? 0 : y0, x0 = x0 < 0 ? 0 : x0;
        y1 = y1 > h - 1 ? h - 1 : y1, x1 = x1 > w - 1 ? w - 1 : x1;
        if (c == 3) { /* images: branch-free, the compiler keeps it in registers */
            const float swf = (float)sw, cxf = (float)cx;
            const float c0 = cf[0], c1 = cf[1], c2 = cf[2];
            for (int y = y0; y <= y1; y++) {
                const float dy = (float)((y - cy) * (y - cy) * sw);
                float *dr = dist + (size_t)y * w;
                int32_t *lr = labels + (size_t)y * w;
                const float *fr = f + (size_t)y * w * 3;
                for (int x = x0; x <= x1; x++) {
                    const float dx = (float)x - cxf;
                    const float t0 = fr[3 * x] - c0, t1 = fr[3 * x + 1] - c1,
                                t2 = fr[3 * x + 2] - c2;
                    const float d = dy + dx * dx * swf + t0 * t0 + t1 * t1 + t2 * t2;
                    const int better = d < dr[x];
                    dr[x] = better ? d : dr[x];
                    lr[x] = better ? k : lr[x];
                }
            }
            continue;
        }
        for (int y = y0; y <= y1; y++) {
            const double dy = (y - cy) * (y - cy) * sw;
            for (int x = x0; x <= x1; x++) {
                const size_t p = (size_t)y * w + x;
                const double dx = (x - cx) * (x - cx) * sw;
                float d = (float)(dy + dx);
                if (d >= dist[p])
                    continue;
                d = feat_dist(f + p * c, cf, c, d, dist[p]);
                if (d < dist[p]) {
                    dist[p] = d;
                    labels[p] = k;
                }
            }
        }
    }
}

/* Move every centre to the mean of its pixels (sums is n * (c + 3) doubles of scratch). */
static void update(const float *f, int h, int w, int c, centres *ce, const int32_t *labels,
                   double *sums)
{
    const int stride = c + 3;
    memset(sums, 0, sizeof *sums * (size_t)ce->n * stride);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const size_t p = (size_t)y * w + x;
            double *s = sums + (size_t)labels[p] * stride;
            const float *pf = f + p * c;
            for (int ch = 0; ch < c; ch++)
                s[ch] += pf[ch];
            s[c] += y, s[c + 1] += x, s[c + 2] += 1;
        }
    for (int k = 0; k < ce->n; k++) {
        const double *s = sums + (size_t)k * stride;
        if (s[c + 2] == 0)
            continue;
        for (int ch = 0; ch < c; ch++)
            ce->feat[(size_t)k * c + ch] = (float)(s[ch] / s[c + 2]);
        ce->y[k] = s[c] / s[c + 2];
        ce->x[k] = s[c + 1] / s[c + 2];
    }
}

int slic_segment(const float *x, int h, int w, int c, slic_layout layout, const slic_params *p,
                 int32_t *labels, char *err, size_t errlen)
{
    if (!x || !labels || !p)
        return err_fail(err, errlen, "slic_segment: NULL buffer or parameters");
    if (h < 1 || w < 1 || c < 1)
        return err_fail(err, errlen, "slic_segment: bad size %d x %d x %d (expected >= 1)", h, w,
                        c);
    if (p->n_segments < 1)
        return err_fail(err, errlen, "slic_segment: n_segments %d (expected >= 1)",
                        p->n_segments);
    if (!(p->compactness > 0) || !isfinite(p->compactness))
        return err_fail(err, errlen, "slic_segment: compactness %g (expected a finite value > 0)",
                        p->compactness);
    if (p->iterations < 0 || !(p->min_size_factor >= 0))
        return err_fail(err, errlen, "slic_segment: iterations %d / min_size_factor %g "
                        "(expected >= 0)", p->iterations, p->min_size_factor);
    const size_t hw = (size_t)h * (size_t)w, n_val = hw * (size_t)c;
    for (size_t i = 0; i < n_val; i++)
        if (!isfinite(x[i]))
            return err_fail(err, errlen, "slic_segment: feature value %zu is %g (expected finite)",
                            i, (double)x[i]);
    int ny, nx;
    grid_of(h, w, p->n_segments, &ny, &nx);
    centres ce = {ny * nx, c, NULL, NULL, NULL};
    float *planar = NULL, *dist = malloc(hw * sizeof *dist);
    double *sums = malloc(sizeof *sums * (size_t)ce.n * (size_t)(c + 3));
    ce.feat = malloc(sizeof *ce.feat * (size_t)ce.n * c);
    ce.y = malloc(sizeof *ce.y * (size_t)ce.n);
    ce.x = malloc(sizeof *ce.x * (size_t)ce.n);
    const float *f = x;
    if (layout == SLIC_CHW) { /* interleave once: the inner loop reads a pixel's channels */
        planar = malloc(n_val * sizeof *planar);
        if (planar)
            for (int ch = 0; ch < c; ch++)
                for (size_t i = 0; i < hw; i++)
                    planar[i * c + ch] = x[(size_t)ch * hw + i];
        f = planar;
    }
    int rc = -1;
    if (!dist || !sums || !ce.feat || !ce.y || !ce.x || !f) {
        err_fail(err, errlen, "slic_segment: out of memory (%d x %d x %d)", h, w, c);
        goto done;
    }
    for (int i = 0; i < ny; i++)
        for (int j = 0; j < nx; j++) {
            const int k = i * nx + j;
            ce.y[k] = (i + 0.5) * h / ny - 0.5;
            ce.x[k] = (j + 0.5) * w / nx - 0.5;
            int py = (int)lround(ce.y[k]), px = (int)lround(ce.x[k]);
            py = py < 0 ? 0 : py > h - 1 ? h - 1 : py;
            px = px < 0 ? 0 : px > w - 1 ? w - 1 : px;
            memcpy(ce.feat + (size_t)k * c, f + ((size_t)py * w + px) * c, sizeof(float) * c);
        }
    for (int y = 0; y < h; y++)
        for (int xx = 0; xx < w; xx++)
            labels[(size_t)y * w + xx] =
                (int32_t)(((int64_t)y * ny / h) * nx + (int64_t)xx * nx / w);
    const double step = fmax((double)h / ny, (double)w / nx);
    const double sw = (p->compactness / step) * (p->compactness / step);
    const int r = (int)ceil(step);
    for (int it = 0; it < p->iterations; it++) {
        assign(f, h, w, c, &ce, sw, r, dist, labels);
        update(f, h, w, c, &ce, labels, sums);
    }
    const int64_t min_size =
        p->enforce_connectivity ? (int64_t)floor(p->min_size_factor * (double)hw / ce.n) : 0;
    if (p->enforce_connectivity) {
        rc = slic_enforce_connectivity(labels, h, w, min_size, err, errlen);
    } else { /* renumber in raster order of first appearance */
        int32_t *map = malloc(sizeof *map * (size_t)ce.n);
        if (!map) {
            err_fail(err, errlen, "slic_segment: out of memory");
            goto done;
        }
        for (int k = 0; k < ce.n; k++)
            map[k] = -1;
        rc = 0;
        for (size_t i = 0; i < hw; i++) {
            if (map[labels[i]] < 0)
                map[labels[i]] = rc++;
            labels[i] = map[labels[i]];
        }
        free(map);
    }
done:
    free(planar);
    free(dist);
    free(sums);
    free(ce.feat);
    free(ce.y);
    free(ce.x);
    return rc;
}

int slic_enforce_connectivity(int32_t *labels, int h, int w, int64_t min_size, char *err,
                              size_t errlen)
{
    if (!labels || h < 1 || w < 1)
        return err_fail(err, errlen, "slic_enforce_connectivity: bad arguments (%d x %d)", h, w);
    const size_t hw = (size_t)h * (size_t)w;
    int32_t *out = malloc(hw * sizeof *out);
    int32_t *queue = malloc(hw * sizeof *queue);
    if (!out || !queue) {
        free(out);
        free(queue);
        return err_fail(err, errlen, "slic_enforce_connectivity: out of memory (%d x %d)", h, w);
    }
    for (size_t i = 0; i < hw; i++)
        out[i] = -1;
    int32_t n = 0;
    for (size_t start = 0; start < hw; start++) {
        if (out[start] >= 0)
            continue;
        const int sy = (int)(start / w), sx = (int)(start % w);
        /* the already numbered neighbour: left, else above (none only for pixel 0) */
        int32_t adj = sx > 0 ? out[start - 1] : sy > 0 ? out[start - w] : -1;
        const int32_t old = labels[start];
        size_t head = 0, tail = 0;
        queue[tail++] = (int32_t)start;
        out[start] = n;
        while (head < tail) {
            const int32_t q = queue[head++];
            const int qy = q / w, qx = q % w;
            const int32_t nb[4] = {qx > 0 ? q - 1 : -1, qx < w - 1 ? q + 1 : -1,
                                   qy > 0 ? q - w : -1, qy < h - 1 ? q + w : -1};
            for (int j = 0; j < 4; j++)
                if (nb[j] >= 0 && out[nb[j]] < 0 && labels[nb[j]] == old) {
                    out[nb[j]] = n;
                    queue[tail++] = nb[j];
                }
        }
        if ((int64_t)tail < min_size && adj >= 0) {
            for (size_t j = 0; j < tail; j++)
                out[queue[j]] = adj;
        } else {
            n++;
        }
    }
    memcpy(labels, out, hw * sizeof *out);
    free(out);
    free(queue);
    return n;
}

int64_t slic_boundary_map(const int32_t *labels, int h, int w, uint8_t *out)
{
    if (!labels || !out || h < 1 || w < 1)
        return -1;
    int64_t n = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const size_t p = (size_t)y * w + x;
            const int32_t l = labels[p];
            const int b = (x > 0 && labels[p - 1] != l) || (x < w - 1 && labels[p + 1] != l) ||
                          (y > 0 && labels[p - w] != l) || (y < h - 1 && labels[p + w] != l);
            out[p] = (uint8_t)b;
            n += b;
        }
    return n;
}

double slic_boundary_recall(const int32_t *labels, const uint8_t *gt_boundary, int h, int w,
                            double tolerance)
{
    if (!labels || !gt_boundary || h < 1 || w < 1 || !(tolerance >= 0))
        return -1;
    const size_t hw = (size_t)h * (size_t)w;
    uint8_t *sp = malloc(hw);
    double *d2 = malloc(hw * sizeof *d2);
    double r = -1;
    if (sp && d2 && slic_boundary_map(labels, h, w, sp) >= 0 &&
        distance_edt_sq(sp, h, w, d2) == 0) {
        int64_t total = 0, hit = 0;
        for (size_t i = 0; i < hw; i++)
            if (gt_boundary[i]) {
                total++;
                hit += d2[i] <= tolerance * tolerance;
            }
        r = total ? (double)hit / (double)total : 1.0;
    }
    free(sp);
    free(d2);
    return r;
}
