/*
 * raster.c - see raster.h: scanline polygon fill with pixel-centre sampling.
 *
 * For each pixel row y the horizontal line through the centres (y + 0.5) is intersected with
 * every edge that spans it. An edge spans the line when exactly one of its end points is at or
 * above it (y_a <= yc < y_b in either direction), so a vertex lying on the line is counted once
 * and horizontal edges never. The crossings, sorted by x, bound the inside spans: pairwise for
 * even-odd, by the running winding number (+1 for downward edges, -1 for upward) for non-zero.
 * A span [xa, xb) covers the pixels whose centre x + 0.5 lies in it.
 */
#include "geometry/raster.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double y_lo, y_hi; /* rows it spans: y_lo <= yc < y_hi */
    double x_at_lo;    /* x at y_lo */
    double dxdy;       /* slope */
    int dir;           /* +1 going down (y grows), -1 going up */
} edge;

typedef struct {
    double x;
    int dir;
} crossing;

static int cmp_crossing(const void *a, const void *b)
{
    double xa = ((const crossing *)a)->x, xb = ((const crossing *)b)->x;
    return (xa > xb) - (xa < xb);
}

static void sort_crossings(crossing *c, int n)
{
    if (n > 24) {
        qsort(c, (size_t)n, sizeof *c, cmp_crossing);
        return;
    }
    for (int i = 1; i < n; i++) { /* insertion sort: rows usually have 2-6 crossings */
        crossing t = c[i];
        int k = i;
        while (k > 0 && c[k - 1].x > t.x) {
            c[k] = c[k - 1];
            k--;
        }
        c[k] = t;
    }
}

/* First pixel index whose centre is >= v, clamped to [0, limit]. */
static int first_centre_at_or_after(double v, int limit)
{
    double p = ceil(v - 0.5);
    return p <= 0 ? 0 : p >= limit ? limit : (int)p;
}

static void fill_span(uint8_t *row, int w, double xa, double xb, uint8_t value)
{
    int a = first_centre_at_or_after(xa, w), b = first_centre_at_or_after(xb, w);
    if (b > a)
        memset(row + a, value, (size_t)(b - a));
}

int raster_polygon(uint8_t *mask, int h, int w, const float *xy, int n, raster_rule rule,
                   uint8_t value)
{
    if (!mask || h < 0 || w < 0 || n < 0 || (n > 0 && !xy))
        return -1;
    for (int i = 0; i < 2 * n; i++)
        if (!isfinite(xy[i]))
            return -1;
    if (n < 3 || h == 0 || w == 0)
        return 0;
    edge *e = malloc((size_t)n * sizeof *e);
    crossing *c = malloc((size_t)n * sizeof *c);
    if (!e || !c) {
        free(e);
        free(c);
        return -1;
    }
    int ne = 0;
    double ymin = INFINITY, ymax = -INFINITY;
    for (int i = 0; i < n; i++) {
        int j = i + 1 < n ? i + 1 : 0;
        double x0 = xy[2 * i], y0 = xy[2 * i + 1], x1 = xy[2 * j], y1 = xy[2 * j + 1];
        if (y0 == y1)
            continue; /* horizontal: never crosses a scanline */
        edge *d = &e[ne++];
        d->dir = y1 > y0 ? 1 : -1;
        d->y_lo = y1 > y0 ? y0 : y1;
        d->y_hi = y1 > y0 ? y1 : y0;
        d->x_at_lo = y1 > y0 ? x0 : x1;
        d->dxdy = (x1 - x0) / (y1 - y0);
        ymin = d->y_lo < ymin ? d->y_lo : ymin;
        ymax = d->y_hi > ymax ? d->y_hi : ymax;
    }
    int y_start = ne ? first_centre_at_or_after(ymin, h) : 0;
    int y_end = ne ? first_centre_at_or_after(ymax, h) : 0;
    for (int y = y_start; y < y_end; y++) {
        double yc = y + 0.5;
        int nc = 0;
        for (int k = 0; k < ne; k++)
            if (e[k].y_lo <= yc && yc < e[k].y_hi) {
                c[nc].x = e[k].x_at_lo + (yc - e[k].y_lo) * e[k].dxdy;
                c[nc++].dir = e[k].dir;
            }
        sort_crossings(c, nc);
        uint8_t *row = mask + (size_t)y * (size_t)w;
        if (rule == RASTER_EVEN_ODD) {
            for (int k = 0; k + 1 < nc; k += 2)
                fill_span(row, w, c[k].x, c[k + 1].x, value);
        } else {
            int winding = 0;
            for (int k = 0; k + 1 < nc; k++) {
                winding += c[k].dir;
                if (winding != 0)
                    fill_span(row, w, c[k].x, c[k + 1].x, value);
            }
        }
    }
    free(e);
    free(c);
    return 0;
}

int raster_polygons(uint8_t *mask, int h, int w, const polygon *polys, int n, raster_rule rule,
                    uint8_t value)
{
    if (n < 0 || (n > 0 && !polys))
        return -1;
    for (int p = 0; p < n; p++)
        if (raster_polygon(mask, h, w, polys[p].xy, polys[p].n, rule, value))
            return -1;
    return 0;
}

int64_t raster_count(const uint8_t *mask, size_t n)
{
    int64_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += mask[i] != 0;
    return count;
}
