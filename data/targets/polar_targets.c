/*
 * polar_targets.c - see polar_targets.h: one image's PolarMask targets.
 *
 * Per instance, one pass over its mask (bounding box and pixel count), then work inside the box
 * only: components, the outer contour of the largest (contour.h), its centroid, and the
 * instance's boundary cells of the contour map. Candidates are enumerated from the centre (a few
 * locations per level), not by scanning the grid. Rays are cast once per positive location
 * against the contour's segments (R rays per segment in an inner loop the compiler vectorises).
 */
#include "targets/polar_targets.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geometry/contour.h"
#include "base/err.h"
#include "geometry/raster.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* Slack (pixels) at the ends of a segment, so that a ray through a vertex meets both of its
 * segments despite rounding. */
#define RAY_END_SLACK 1e-7

/* ---------------------------------------------------------------- configuration and grid */

void polar_config_default(polar_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->num_levels = 5;
    static const float lo[5] = {-1, 64, 128, 256, 512}, hi[5] = {64, 128, 256, 512, INFINITY};
    for (int l = 0; l < 5; l++) {
        cfg->strides[l] = 8 << l;
        cfg->range_lo[l] = lo[l];
        cfg->range_hi[l] = hi[l];
    }
    cfg->num_rays = 36;
    cfg->center_radius = 1.5f;
    cfg->ray_floor = 1e-2f;
    cfg->contour_level = 0;
    cfg->num_classes = 0;
}

int polar_config_check(const polar_config *cfg, char *err, size_t errlen)
{
    if (!cfg)
        return err_fail(err, errlen, "polar targets: no config");
    if (cfg->num_levels < 1 || cfg->num_levels > POLAR_MAX_LEVELS)
        return err_fail(err, errlen, "polar targets: num_levels is %d, expected 1..%d",
                    cfg->num_levels, POLAR_MAX_LEVELS);
    for (int l = 0; l < cfg->num_levels; l++) {
        if (cfg->strides[l] < 1 || cfg->strides[l] > POLAR_MAX_STRIDE)
            return err_fail(err, errlen, "polar targets: strides[%d] is %d, expected 1..%d", l,
                        cfg->strides[l], POLAR_MAX_STRIDE);
        float lo = cfg->range_lo[l], hi = cfg->range_hi[l];
        if (!isfinite(lo) || isnan(hi) || !(lo < hi))
            return err_fail(err, errlen,
                        "polar targets: size range of level %d is (%g, %g], expected a finite "
                        "lower bound below the upper one (which may be inf)",
                        l, (double)lo, (double)hi);
    }
    if (cfg->num_rays < 4 || cfg->num_rays > POLAR_MAX_RAYS)
        return err_fail(err, errlen, "polar targets: num_rays is %d, expected 4..%d", cfg->num_rays,
                    POLAR_MAX_RAYS);
    if (!isfinite(cfg->center_radius) || cfg->center_radius <= 0)
        return err_fail(err, errlen,
                    "polar targets: center_radius is %g, expected a positive number of strides",
                    (double)cfg->center_radius);
    if (!isfinite(cfg->ray_floor) || cfg->ray_floor <= 0)
        return err_fail(err, errlen,
                    "polar targets: ray_floor is %g, expected a small positive length in pixels",
                    (double)cfg->ray_floor);
    if (cfg->contour_level < 0 || cfg->contour_level >= cfg->num_levels)
        return err_fail(err, errlen, "polar targets: contour_level is %d, expected 0..%d",
                    cfg->contour_level, cfg->num_levels - 1);
    if (cfg->num_classes < 0)
        return err_fail(err, errlen, "polar targets: num_classes is %d, expected >= 0 (0: unchecked)",
                    cfg->num_classes);
    return 0;
}

int polar_level_grid(const polar_config *cfg, int level, int h, int w, int *rows, int *cols,
                     int64_t *offset)
{
    if (polar_config_check(cfg, NULL, 0) || h <= 0 || w <= 0 || level < 0 ||
        level >= cfg->num_levels)
        return -1;
    int64_t off = 0;
    for (int l = 0; l < level; l++) {
        int64_t s = cfg->strides[l];
        off += ((h + s - 1) / s) * ((w + s - 1) / s);
    }
    int s = cfg->strides[level];
    if (rows)
        *rows = (int)(((int64_t)h + s - 1) / s);
    if (cols)
        *cols = (int)(((int64_t)w + s - 1) / s);
    if (offset)
        *offset = off;
    return 0;
}

int64_t polar_num_locations(const polar_config *cfg, int h, int w)
{
    if (polar_config_check(cfg, NULL, 0) || h <= 0 || w <= 0)
        return -1;
    int rows, cols;
    int64_t off;
    if (polar_level_grid(cfg, cfg->num_levels - 1, h, w, &rows, &cols, &off))
        return -1;
    return off + (int64_t)rows * cols;
}

/* ---------------------------------------------------------------- per-instance geometry */

/* A segment of a crack contour: horizontal (y = at, lo <= x <= hi) or vertical (x = at,
 * lo <= y <= hi). */
typedef struct {
    double at, lo, hi;
} axis_seg;

typedef struct {
    int64_t area;      /* pixel count; 0: empty, skipped */
    contour_box box;   /* of all its pixels */
    double cx, cy;     /* centre */
    axis_seg *segs;    /* outer contour of the largest component: n_horiz horizontal segments, */
    int n_horiz, n_vert; /* then n_vert vertical ones */
    int positives;
} inst_geom;

typedef struct {
    int n_levels;
    int rows[POLAR_MAX_LEVELS], cols[POLAR_MAX_LEVELS];
    int64_t offset[POLAR_MAX_LEVELS];
} grid;

/* The pixels of instance k: its mask, or its polygons rasterised into buf. *mask = NULL when it
 * has neither. 0, or -1 with a message. */
static int instance_pixels(const sample *s, int k, uint8_t **buf, const uint8_t **mask,
                           char *err, size_t errlen)
{
    const instance *in = &s->instances[k];
    *mask = NULL;
    if (in->mask) {
        *mask = in->mask;
        return 0;
    }
    if (in->n_polygons < 0 || (in->n_polygons > 0 && !in->polygons))
        return err_fail(err, errlen,
                    "polar targets: instance %d has n_polygons %d with %s polygon list, expected "
                    "a mask or a list of n_polygons >= 0 polygons",
                    k, in->n_polygons, in->polygons ? "a" : "a NULL");
    if (in->n_polygons == 0)
        return 0;
    for (int p = 0; p < in->n_polygons; p++) {
        const polygon *pg = &in->polygons[p];
        if (pg->n < 0 || (pg->n > 0 && !pg->xy))
            return err_fail(err, errlen,
                        "polar targets: instance %d polygon %d has %d vertices and %s vertex "
                        "list, expected n >= 0 vertices in xy[2n]",
                        k, p, pg->n, pg->xy ? "a" : "a NULL");
        for (int i = 0; i < 2 * pg->n; i++)
            if (!isfinite(pg->xy[i]))
                return err_fail(err, errlen,
                            "polar targets: instance %d polygon %d vertex %d is not finite, "
                            "expected pixel coordinates",
                            k, p, i / 2);
    }
    size_t np = (size_t)s->h * (size_t)s->w;
    if (!*buf && !(*buf = malloc(np)))
        return err_fail(err, errlen, "polar targets: out of memory");
    memset(*buf, 0, np);
    if (raster_polygons(*buf, s->h, s->w, in->polygons, in->n_polygons, RASTER_EVEN_ODD, 1))
        return err_fail(err, errlen, "polar targets: instance %d: its polygons could not be filled",
                    k);
    *mask = *buf;
    return 0;
}

/* The segments of a crack contour (every edge horizontal or vertical, as contour.h traces
 * them), horizontal ones first. 0, or -1 on out of memory or a slanted edge. */
static int split_outline(const polygon *p, inst_geom *g)
{
    if (!(g->segs = malloc((size_t)p->n * sizeof *g->segs)))
        return -1;
    g->n_horiz = g->n_vert = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < p->n; i++) {
            int j = i + 1 < p->n ? i + 1 : 0;
            double ax = p->xy[2 * i], ay = p->xy[2 * i + 1];
            double bx = p->xy[2 * j], by = p->xy[2 * j + 1];
            if (ay == by && pass == 0)
                g->segs[g->n_horiz++] = (axis_seg){ay, fmin(ax, bx), fmax(ax, bx)};
            else if (ax == bx && ay != by && pass == 1)
                g->segs[g->n_horiz + g->n_vert++] = (axis_seg){ax, fmin(ay, by), fmax(ay, by)};
            else if (ax != bx && ay != by)
                return -1;
        }
    return 0;
}

/* Mark the cells (side sc, wc per row) holding a boundary pixel of the mask inside box b. A
 * pixel on the image frame is a boundary pixel when on; inside, when one of its 4-neighbours is
 * off (contour.h), tested a cell's span of a row at a time in a loop that vectorises. */
static void mark_boundary_cells(const uint8_t *mask, int h, int w, const contour_box *b,
                                float *contour, int sc, int wc)
{
    for (int y = b->y0; y < b->y1; y++) {
        const uint8_t *row = mask + (size_t)y * (size_t)w;
        int frame_row = y == 0 || y == h - 1;
        const uint8_t *up = frame_row ? row : row - (size_t)w; /* neighbours: inside rows only */
        const uint8_t *down = frame_row ? row : row + (size_t)w;
        float *cells = contour + (size_t)(y / sc) * (size_t)wc;
        for (int c = b->x0 / sc; c * sc < b->x1; c++) {
            if (cells[c] != 0.0f)
                continue;
            int xa = c * sc > b->x0 ? c * sc : b->x0;
            int xb = (c + 1) * sc < b->x1 ? (c + 1) * sc : b->x1;
            int any = 0;
            if (frame_row) {
                for (int x = xa; x < xb; x++)
                    any |= row[x] != 0;
            } else {
                if (xa == 0)
                    any |= row[0] != 0, xa = 1;
                if (xb == w)
                    any |= row[w - 1] != 0, xb = w - 1;
                for (int x = xa; x < xb; x++)
                    any |= (row[x] != 0) & ((row[x - 1] == 0) | (row[x + 1] == 0) |
                                            (up[x] == 0) | (down[x] == 0));
            }
            if (any)
                cells[c] = 1.0f;
        }
    }
}

/* Box, area, outline and centre of one instance's mask; its boundary cells into contour (when
 * not NULL, cells of side sc, wc per row). 0, or -1 on out of memory (or a contour that is not
 * a crack contour, which tracing never gives). */
static int instance_geometry(const uint8_t *mask, int h, int w, float *contour, int sc, int wc,
                             inst_geom *g)
{
    g->area = contour_mask_box(mask, h, w, &g->box);
    if (g->area <= 0)
        return g->area < 0 ? -1 : 0;
    contour_component *comps = NULL;
    int n = contour_components(mask, h, w, &g->box, NULL, &comps);
    if (n <= 0)
        return -1; /* a non-empty box has at least one component */
    int best = contour_largest(comps, n);
    contour_component c = comps[best];
    free(comps);
    polygon outline;
    if (contour_trace_outer(mask, h, w, c.first_x, c.first_y, &outline))
        return -1;
    /* a crack contour encloses at least its component's pixels, so its area is >= 1 and the
     * centroid exists (a 1-px line or a lone pixel is a proper rectangle here, not the
     * zero-area contour through pixel centres that PolarMask falls back from) */
    int rc = split_outline(&outline, g);
    if (!rc)
        rc = contour_polygon_centroid(outline.xy, outline.n, &g->cx, &g->cy);
    free(outline.xy);
    if (!rc && contour)
        mark_boundary_cells(mask, h, w, &g->box, contour, sc, wc);
    return rc;
}

/* ---------------------------------------------------------------- assignment */

/* The largest distance from (x, y) to the sides of the box. */
static double box_reach(const contour_box *b, double x, double y)
{
    double m = x - b->x0;
    m = fmax(m, y - b->y0);
    m = fmax(m, b->x1 - x);
    return fmax(m, b->y1 - y);
}

static int in_range(const polar_config *cfg, int l, double m)
{
    return m > cfg->range_lo[l] && m <= cfg->range_hi[l];
}

/* Give location f to instance k when it is free or held by a larger instance. */
static void claim(int32_t *owner, inst_geom *g, int64_t f, int k)
{
    int o = owner[f];
    if (o >= 0 && g[o].area <= g[k].area)
        return;
    if (o >= 0)
        g[o].positives--;
    owner[f] = k;
    g[k].positives++;
}

/* Center sampling of instance k on every level. */
static void sample_centre(const polar_config *cfg, const grid *gr, inst_geom *g, int k,
                          int32_t *owner)
{
    const inst_geom *q = &g[k];
    for (int l = 0; l < gr->n_levels; l++) {
        double s = cfg->strides[l], rad = (double)cfg->center_radius * s;
        /* location j sits at (j + 0.5) s: the ones within rad of the centre, one spare a side */
        int j0 = (int)floor((q->cx - rad) / s - 0.5), j1 = (int)ceil((q->cx + rad) / s - 0.5);
        int i0 = (int)floor((q->cy - rad) / s - 0.5), i1 = (int)ceil((q->cy + rad) / s - 0.5);
        j0 = j0 < 0 ? 0 : j0;
        i0 = i0 < 0 ? 0 : i0;
        j1 = j1 >= gr->cols[l] ? gr->cols[l] - 1 : j1;
        i1 = i1 >= gr->rows[l] ? gr->rows[l] - 1 : i1;
        for (int i = i0; i <= i1; i++) {
            double y = (i + 0.5) * s;
            if (fabs(y - q->cy) > rad || !(y > q->box.y0 && y < q->box.y1))
                continue;
            for (int j = j0; j <= j1; j++) {
                double x = (j + 0.5) * s;
                if (fabs(x - q->cx) > rad || !(x > q->box.x0 && x < q->box.x1))
                    continue;
                if (!in_range(cfg, l, box_reach(&q->box, x, y)))
                    continue;
                claim(owner, g, gr->offset[l] + (int64_t)i * gr->cols[l] + j, k);
            }
        }
    }
}

/* The level for an instance's size: the one whose range holds the reach of its centre (the
 * first whose upper bound it does not exceed when ranges leave gaps; the last when beyond). */
static int fit_level(const polar_config *cfg, const inst_geom *q)
{
    double m = box_reach(&q->box, q->cx, q->cy);
    for (int l = 0; l < cfg->num_levels; l++)
        if (m <= cfg->range_hi[l])
            return l;
    return cfg->num_levels - 1;
}

/* An instance left without a location: the nearest usable one to its centre on its level.
 * Returns 1 when one was given, 0 when every nearby location is taken. */
static int give_nearest(const polar_config *cfg, const grid *gr, inst_geom *g, int k,
                        int32_t *owner)
{
    const inst_geom *q = &g[k];
    int l = fit_level(cfg, q);
    double s = cfg->strides[l];
    int ci = (int)floor(q->cy / s), cj = (int)floor(q->cx / s);
    ci = ci < 0 ? 0 : ci >= gr->rows[l] ? gr->rows[l] - 1 : ci;
    cj = cj < 0 ? 0 : cj >= gr->cols[l] ? gr->cols[l] - 1 : cj;
    int64_t best = -1;
    double best_d2 = INFINITY;
    for (int i = ci - POLAR_FALLBACK_CELLS; i <= ci + POLAR_FALLBACK_CELLS; i++)
        for (int j = cj - POLAR_FALLBACK_CELLS; j <= cj + POLAR_FALLBACK_CELLS; j++) {
            if (i < 0 || j < 0 || i >= gr->rows[l] || j >= gr->cols[l])
                continue;
            int64_t f = gr->offset[l] + (int64_t)i * gr->cols[l] + j;
            int o = owner[f];
            if (o >= 0 && !(g[o].area > q->area && g[o].positives > 1))
                continue;
            double dx = (j + 0.5) * s - q->cx, dy = (i + 0.5) * s - q->cy;
            double d2 = dx * dx + dy * dy;
            if (d2 < best_d2)
                best_d2 = d2, best = f;
        }
    if (best < 0)
        return 0;
    if (owner[best] >= 0)
        g[owner[best]].positives--;
    owner[best] = k;
    g[k].positives++;
    return 1;
}

/* ---------------------------------------------------------------- rays */

/* Directions of the R rays: (sin theta_k, cos theta_k), exact at multiples of 90 degrees. */
static void ray_directions(int r, double *sn, double *cs)
{
    static const double quarter_sin[4] = {0, 1, 0, -1}, quarter_cos[4] = {1, 0, -1, 0};
    for (int k = 0; k < r; k++) {
        if ((4 * k) % r == 0) {
            sn[k] = quarter_sin[4 * k / r];
            cs[k] = quarter_cos[4 * k / r];
        } else {
            double theta = 2.0 * M_PI * k / r;
            sn[k] = sin(theta);
            cs[k] = cos(theta);
        }
    }
}

/* Rays k0 .. k1-1 against one segment: it lies at signed distance q across the ray's axis
 * (y for a horizontal segment, x for a vertical one) and spans [lo, hi] along the other axis,
 * relative to the location. Ray k meets the segment's line at t = q * inv_across[k], at
 * t * along[k] along it; the largest such t on the segment is kept. */
static void hit_segment(int k0, int k1, double q, double lo, double hi, const double *inv_across,
                        const double *along, double *len)
{
    for (int k = k0; k < k1; k++) {
        double t = q * inv_across[k], a = t * along[k];
        len[k] = (t > len[k]) & (a >= lo) & (a <= hi) ? t : len[k];
    }
}

/* len[k] = distance from (px, py) to the outermost intersection of ray k (of r) with the
 * instance's contour, 0 when the ray meets it nowhere ahead. A horizontal segment at y = py + qy
 * can only be met by the rays whose cos theta has the sign of qy (the ranges below may include
 * a ray parallel to the segment: its inverse is 0, so t = 0 and it never counts), a vertical one
 * at x = px + qx by those whose sin theta has the sign of qx. inv_sn, inv_cs are 1/sin, 1/cos
 * (0 where those are 0). */
static void cast_rays(const inst_geom *g, double px, double py, const double *sn,
                      const double *cs, const double *inv_sn, const double *inv_cs, int r,
                      double *len)
{
    const int quarter_lo = r / 4, quarter_hi = (r + 3) / 4;          /* floor, ceil of r/4 */
    const int half_lo = r / 2, half_hi = (r + 1) / 2;                /* of r/2 */
    const int three_lo = 3 * r / 4, three_hi = (3 * r + 3) / 4;      /* of 3r/4 */
    for (int k = 0; k < r; k++)
        len[k] = 0.0;
    for (int i = 0; i < g->n_horiz; i++) {
        const axis_seg *sg = &g->segs[i];
        double qy = sg->at - py, lo = sg->lo - px - RAY_END_SLACK, hi = sg->hi - px + RAY_END_SLACK;
        if (qy > 0) { /* below: cos > 0, rays 0 .. r/4 and 3r/4 .. r-1 */
            hit_segment(0, quarter_lo + 1, qy, lo, hi, inv_cs, sn, len);
            hit_segment(three_hi, r, qy, lo, hi, inv_cs, sn, len);
        } else if (qy < 0) { /* above: cos < 0 */
            hit_segment(quarter_hi, three_lo + 1, qy, lo, hi, inv_cs, sn, len);
        }
    }
    for (int i = g->n_horiz; i < g->n_horiz + g->n_vert; i++) {
        const axis_seg *sg = &g->segs[i];
        double qx = sg->at - px, lo = sg->lo - py - RAY_END_SLACK, hi = sg->hi - py + RAY_END_SLACK;
        if (qx > 0) /* right: sin > 0 */
            hit_segment(0, half_lo + 1, qx, lo, hi, inv_sn, cs, len);
        else if (qx < 0) /* left: sin < 0 */
            hit_segment(half_hi, r, qx, lo, hi, inv_sn, cs, len);
    }
}

/* ---------------------------------------------------------------- the image */

int polar_targets_compute(const polar_config *cfg, const sample *s, const polar_targets *out,
                          polar_stats *stats, char *err, size_t errlen)
{
    if (polar_config_check(cfg, err, errlen))
        return -1;
    if (!s)
        return err_fail(err, errlen, "polar targets: no sample");
    if (s->h <= 0 || s->w <= 0 || (int64_t)s->h * s->w > INT32_MAX)
        return err_fail(err, errlen,
                    "polar targets: image size %d x %d, expected 1 .. 2^31-1 pixels (h, w > 0)",
                    s->h, s->w);
    if (s->n_instances < 0 || (s->n_instances > 0 && !s->instances))
        return err_fail(err, errlen,
                    "polar targets: sample has n_instances %d and %s instance list, expected "
                    "n_instances >= 0 instances",
                    s->n_instances, s->instances ? "an" : "a NULL");
    if (!out || !out->cls || !out->rays || !out->centerness)
        return err_fail(err, errlen, "polar targets: output arrays cls, rays and centerness are "
                                 "required (contour and owner may be NULL)");
    for (int k = 0; k < s->n_instances; k++) {
        int32_t c = s->instances[k].class_id;
        if (c < 0 || (cfg->num_classes > 0 && c >= cfg->num_classes)) {
            if (cfg->num_classes > 0)
                return err_fail(err, errlen, "polar targets: instance %d has class id %d, expected "
                            "0..%d", k, (int)c, cfg->num_classes - 1);
            return err_fail(err, errlen, "polar targets: instance %d has class id %d, expected "
                        ">= 0", k, (int)c);
        }
    }

    const int h = s->h, w = s->w, r = cfg->num_rays;
    grid gr = {.n_levels = cfg->num_levels};
    for (int l = 0; l < cfg->num_levels; l++)
        polar_level_grid(cfg, l, h, w, &gr.rows[l], &gr.cols[l], &gr.offset[l]);
    const int lc = cfg->contour_level;
    const int64_t n_loc = gr.offset[cfg->num_levels - 1] +
                          (int64_t)gr.rows[cfg->num_levels - 1] * gr.cols[cfg->num_levels - 1];

    for (int64_t f = 0; f < n_loc; f++)
        out->cls[f] = -1, out->centerness[f] = 0.0f;
    memset(out->rays, 0, (size_t)n_loc * (size_t)r * sizeof *out->rays);
    if (out->contour)
        memset(out->contour, 0, (size_t)gr.rows[lc] * (size_t)gr.cols[lc] * sizeof *out->contour);
    polar_stats st;
    memset(&st, 0, sizeof st);

    int rc = -1;
    int n_inst = s->n_instances;
    inst_geom *g = n_inst ? calloc((size_t)n_inst, sizeof *g) : NULL;
    int32_t *owner = out->owner ? out->owner : malloc((size_t)n_loc * sizeof *owner);
    uint8_t *raster_buf = NULL;
    double *sn = malloc((size_t)r * 5 * sizeof *sn);
    if ((n_inst && !g) || !owner || !sn) {
        err_fail(err, errlen, "polar targets: out of memory");
        goto done;
    }
    double *cs = sn + r, *inv_sn = sn + 2 * r, *inv_cs = sn + 3 * r, *len = sn + 4 * r;
    ray_directions(r, sn, cs);
    for (int k = 0; k < r; k++) {
        inv_sn[k] = sn[k] != 0.0 ? 1.0 / sn[k] : 0.0;
        inv_cs[k] = cs[k] != 0.0 ? 1.0 / cs[k] : 0.0;
    }
    for (int64_t f = 0; f < n_loc; f++)
        owner[f] = -1;

    /* geometry of every instance, its boundary cells, and its candidates */
    for (int k = 0; k < n_inst; k++) {
        const uint8_t *mask;
        if (instance_pixels(s, k, &raster_buf, &mask, err, errlen))
            goto done;
        if (mask && instance_geometry(mask, h, w, out->contour, cfg->strides[lc], gr.cols[lc],
                                      &g[k])) {
            err_fail(err, errlen, "polar targets: instance %d: out of memory", k);
            goto done;
        }
        if (g[k].area == 0) {
            st.skipped_empty++;
            continue;
        }
        sample_centre(cfg, &gr, g, k, owner);
    }
    /* instances left without a location get the one nearest their centre */
    for (int k = 0; k < n_inst; k++)
        if (g[k].area > 0 && g[k].positives == 0) {
            if (give_nearest(cfg, &gr, g, k, owner))
                st.fallback++;
            else
                st.skipped_crowded++;
        }

    /* rays and centerness at the positives */
    double floor_len = cfg->ray_floor;
    for (int l = 0; l < cfg->num_levels; l++) {
        double stride = cfg->strides[l];
        for (int i = 0; i < gr.rows[l]; i++)
            for (int j = 0; j < gr.cols[l]; j++) {
                int64_t f = gr.offset[l] + (int64_t)i * gr.cols[l] + j;
                int k = owner[f];
                if (k < 0)
                    continue;
                cast_rays(&g[k], (j + 0.5) * stride, (i + 0.5) * stride, sn, cs, inv_sn, inv_cs,
                          r, len);
                double lo = INFINITY, hi = 0;
                float *rays = out->rays + (size_t)f * (size_t)r;
                for (int q = 0; q < r; q++) {
                    double v = len[q];
                    if (!(v >= floor_len)) {
                        st.floored_rays++;
                        v = floor_len;
                    }
                    rays[q] = (float)v;
                    lo = v < lo ? v : lo;
                    hi = v > hi ? v : hi;
                }
                out->cls[f] = s->instances[k].class_id;
                out->centerness[f] = (float)sqrt(lo / hi);
                st.positives++;
                st.positives_per_level[l]++;
            }
    }
    for (int k = 0; k < n_inst; k++)
        st.instances_used += g[k].positives > 0;
    rc = 0;
done:
    for (int k = 0; g && k < n_inst; k++)
        free(g[k].segs);
    free(g);
    if (!out->owner)
        free(owner);
    free(raster_buf);
    free(sn);
    if (stats)
        *stats = st;
    return rc;
}
