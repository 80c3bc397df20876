/* test_polar_targets.c - Criterion tests of data/contour.c (suite `contour`) and
 * data/polar_targets.c (suite `polar_targets`).
 *
 * Owns: components, traced outer contours (exact vertex lists of small shapes, area = pixels +
 * holes and rasterisation = filled component on random masks), centroids of known shapes,
 * boundary pixels; the targets of known rectangles and discs against their analytic rays, ray
 * directions, centerness, the robustness cases of the issue (empty and 1-pixel masks, objects on
 * the image border, two objects with one centre, no objects, 1-px lines, diagonal chains, holes,
 * several components, sizes not divisible by the strides), level assignment by size, the
 * contour map, polygons-only instances, bad input, and invariants over random images (no NaN or
 * zero ray, rays against an independent ray-marching oracle).
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geometry/contour.h"
#include "targets/polar_targets.h"
#include "geometry/raster.h"
#include "base/rng.h"
#include "pipeline/sample.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

TestSuite(contour, .timeout = 60);
TestSuite(polar_targets, .timeout = 60);

/* ---------------------------------------------------------------- helpers */

static void fill_rect(uint8_t *m, int w, int x0, int y0, int x1, int y1, uint8_t v)
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            m[y * w + x] = v;
}

/* Pixels whose centres are within rad of (cx, cy). */
static void fill_disc(uint8_t *m, int h, int w, double cx, double cy, double rad)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
            if (dx * dx + dy * dy <= rad * rad)
                m[y * w + x] = 1;
        }
}

/* A sample of n instances with empty h x w masks (owned by the sample). */
static void make_sample(sample *s, int h, int w, int n)
{
    sample_init(s);
    s->h = h;
    s->w = w;
    s->n_instances = n;
    if (n) {
        s->instances = calloc((size_t)n, sizeof *s->instances);
        cr_assert_not_null(s->instances);
    }
    for (int k = 0; k < n; k++) {
        s->instances[k].mask = calloc((size_t)h * w, 1);
        cr_assert_not_null(s->instances[k].mask);
    }
}

/* One run of the targets with its own arrays. */
typedef struct {
    polar_config cfg;
    int64_t n;
    int r, hc, wc;
    int32_t *cls, *owner;
    float *rays, *cnt, *contour;
    polar_stats st;
    char err[512];
} run;

static int run_targets(run *t, const polar_config *cfg, const sample *s)
{
    memset(t, 0, sizeof *t);
    if (cfg)
        t->cfg = *cfg;
    else
        polar_config_default(&t->cfg);
    t->n = polar_num_locations(&t->cfg, s->h, s->w);
    cr_assert_gt(t->n, 0);
    t->r = t->cfg.num_rays;
    cr_assert_eq(polar_level_grid(&t->cfg, t->cfg.contour_level, s->h, s->w, &t->hc, &t->wc,
                                  NULL), 0);
    t->cls = malloc((size_t)t->n * sizeof *t->cls);
    t->owner = malloc((size_t)t->n * sizeof *t->owner);
    t->rays = malloc((size_t)t->n * t->r * sizeof *t->rays);
    t->cnt = malloc((size_t)t->n * sizeof *t->cnt);
    t->contour = malloc((size_t)t->hc * t->wc * sizeof *t->contour);
    cr_assert(t->cls && t->owner && t->rays && t->cnt && t->contour);
    polar_targets out = {t->cls, t->rays, t->cnt, t->contour, t->owner};
    return polar_targets_compute(&t->cfg, s, &out, &t->st, t->err, sizeof t->err);
}

static void free_run(run *t)
{
    free(t->cls), free(t->owner), free(t->rays), free(t->cnt), free(t->contour);
}

/* Direction of ray k of r, exact along the axes (ray 0 down, r/4 right, r/2 up, 3r/4 left). */
static void ray_dir(int k, int r, double *sx, double *cy)
{
    static const double axis_sin[4] = {0, 1, 0, -1}, axis_cos[4] = {1, 0, -1, 0};
    if (4 * k % r == 0) {
        *sx = axis_sin[4 * k / r];
        *cy = axis_cos[4 * k / r];
        return;
    }
    double th = 2.0 * M_PI * k / r;
    *sx = sin(th);
    *cy = cos(th);
}

/* Distance from (x, y) inside the box [x0, x1) x [y0, y1) to its border along ray k of r. */
static double box_ray(double x, double y, int k, int r, double x0, double y0, double x1,
                      double y1)
{
    double sx, cy;
    ray_dir(k, r, &sx, &cy);
    double tx = sx > 1e-12 ? (x1 - x) / sx : sx < -1e-12 ? (x0 - x) / sx : INFINITY;
    double ty = cy > 1e-12 ? (y1 - y) / cy : cy < -1e-12 ? (y0 - y) / cy : INFINITY;
    return fmin(tx, ty);
}

/* Distance from (x, y) inside the circle of centre (cx, cy) and radius rad to it along ray k. */
static double circle_ray(double x, double y, int k, int r, double cx, double cy, double rad)
{
    double sx, c;
    ray_dir(k, r, &sx, &c);
    double fx = x - cx, fy = y - cy, b = sx * fx + c * fy, q = fx * fx + fy * fy - rad * rad;
    return -b + sqrt(b * b - q);
}

/* Flat index of level l's location (i, j). */
static int64_t loc(const run *t, int l, int h, int w, int i, int j)
{
    int rows, cols;
    int64_t off;
    cr_assert_eq(polar_level_grid(&t->cfg, l, h, w, &rows, &cols, &off), 0);
    cr_assert(i >= 0 && i < rows && j >= 0 && j < cols);
    return off + (int64_t)i * cols + j;
}

/* The level of flat index f, and its image point. */
static int where(const run *t, int h, int w, int64_t f, double *x, double *y)
{
    for (int l = 0; l < t->cfg.num_levels; l++) {
        int rows, cols;
        int64_t off;
        polar_level_grid(&t->cfg, l, h, w, &rows, &cols, &off);
        if (f < off + (int64_t)rows * cols) {
            int64_t p = f - off;
            double s = t->cfg.strides[l];
            *x = (p % cols + 0.5) * s;
            *y = (p / cols + 0.5) * s;
            return l;
        }
    }
    cr_assert_fail("location %lld beyond the grid", (long long)f);
    return -1;
}

static int count_positives(const run *t)
{
    int n = 0;
    for (int64_t f = 0; f < t->n; f++)
        n += t->cls[f] >= 0;
    return n;
}

/* Every positive of instance k has exactly the rays of the box [x0, x1) x [y0, y1) (to 1e-3 px;
 * the box's contour is exact) and their centerness; returns how many there are. */
static int check_box_rays(const run *t, int h, int w, int k, double x0, double y0, double x1,
                          double y1)
{
    int n = 0;
    for (int64_t f = 0; f < t->n; f++) {
        if (t->owner[f] != k)
            continue;
        double x, y;
        where(t, h, w, f, &x, &y);
        double lo = INFINITY, hi = 0;
        for (int q = 0; q < t->r; q++) {
            double want = box_ray(x, y, q, t->r, x0, y0, x1, y1);
            cr_assert_float_eq(t->rays[f * t->r + q], want, 1e-3,
                               "instance %d at (%g, %g) ray %d: %g, expected %g", k, x, y, q,
                               (double)t->rays[f * t->r + q], want);
            lo = fmin(lo, want), hi = fmax(hi, want);
        }
        cr_assert_float_eq(t->cnt[f], sqrt(lo / hi), 1e-5, "centerness at (%g, %g)", x, y);
        n++;
    }
    return n;
}

/* ---------------------------------------------------------------- contour */

static void check_components(void)
{
    enum { H = 10, W = 12 };
    uint8_t m[H * W] = {0};
    int32_t labels[H * W];
    contour_component *c = NULL;
    cr_assert_eq(contour_components(m, H, W, NULL, labels, &c), 0, "empty mask");
    cr_assert_null(c);
    cr_assert_eq(contour_largest(c, 0), -1);

    /* A: a diagonal chain (corner contacts only) of 4 pixels starting at (5, 0);
     * B: a 2x2 block at (0, 2); C: a 2x2 block at (9, 6) (ties with B: B is first) */
    for (int i = 0; i < 4; i++)
        m[i * W + 5 + i] = 1;
    fill_rect(m, W, 0, 2, 2, 4, 1);
    fill_rect(m, W, 9, 6, 11, 8, 1);
    int32_t junk = 77;
    for (int i = 0; i < H * W; i++)
        labels[i] = junk;
    int n = contour_components(m, H, W, NULL, labels, &c);
    cr_assert_eq(n, 3);
    cr_assert_eq(c[0].pixels, 4);
    cr_assert_eq(c[0].first_x, 5);
    cr_assert_eq(c[0].first_y, 0);
    cr_assert(c[0].box.x0 == 5 && c[0].box.y0 == 0 && c[0].box.x1 == 9 && c[0].box.y1 == 4);
    cr_assert_eq(c[1].pixels, 4);
    cr_assert_eq(c[1].first_x, 0);
    cr_assert_eq(c[1].first_y, 2);
    cr_assert_eq(c[2].pixels, 4);
    cr_assert_eq(c[2].first_x, 9);
    cr_assert_eq(c[2].first_y, 6);
    cr_assert_eq(contour_largest(c, n), 0, "ties go to the first in raster order");
    cr_assert_eq(labels[3 * W + 8], 1);
    cr_assert_eq(labels[2 * W + 0], 2);
    cr_assert_eq(labels[7 * W + 10], 3);
    cr_assert_eq(labels[0], 0);
    free(c);

    /* one more pixel makes C the largest; a window sees only part of the mask */
    m[8 * W + 9] = 1;
    n = contour_components(m, H, W, NULL, NULL, &c);
    cr_assert_eq(n, 3);
    cr_assert_eq(contour_largest(c, n), 2);
    free(c);
    for (int i = 0; i < H * W; i++)
        labels[i] = junk;
    contour_box win = {0, 0, 7, 10};
    n = contour_components(m, H, W, &win, labels, &c);
    cr_assert_eq(n, 2, "window [0, 7): the chain's first two pixels and B");
    cr_assert_eq(c[0].pixels, 2);
    cr_assert_eq(labels[9 * W + 11], junk, "outside the window: untouched");
    free(c);

    /* U shape joined only at the bottom row: one component; the scan meets its arms first */
    uint8_t u[5 * 5] = {1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1};
    n = contour_components(u, 5, 5, NULL, NULL, &c);
    cr_assert_eq(n, 1);
    cr_assert_eq(c[0].pixels, 13);
    free(c);

    contour_box bad = {0, 0, W + 1, H};
    cr_assert_eq(contour_components(m, H, W, &bad, NULL, NULL), -1);
    cr_assert_eq(contour_components(NULL, H, W, NULL, NULL, NULL), -1);
    cr_assert_eq(contour_components(m, 0, W, NULL, NULL, NULL), -1);
}

static void expect_vertices(const polygon *p, const float *want, int n, const char *what)
{
    cr_assert_eq(p->n, n, "%s: %d vertices, expected %d", what, p->n, n);
    for (int i = 0; i < 2 * n; i++)
        cr_assert_eq(p->xy[i], want[i], "%s: coordinate %d is %g, expected %g", what, i,
                     (double)p->xy[i], (double)want[i]);
}

static void check_small_contours(void)
{
    enum { H = 8, W = 9 };
    uint8_t m[H * W];
    polygon p;
    contour_component c;

    memset(m, 0, sizeof m);
    cr_assert_eq(contour_largest_outer(m, H, W, &p, &c), 0, "empty mask");
    cr_assert_eq(p.n, 0);
    cr_assert_null(p.xy);

    m[3 * W + 4] = 1; /* one pixel: the unit square, clockwise on screen */
    cr_assert_eq(contour_largest_outer(m, H, W, &p, &c), 1);
    expect_vertices(&p, (float[]){4, 3, 5, 3, 5, 4, 4, 4}, 4, "pixel");
    cr_assert_float_eq(contour_polygon_area(p.xy, p.n), 1.0, 1e-12);
    free(p.xy);

    memset(m, 0, sizeof m); /* an L: three pixels of row 3 and two below its first */
    fill_rect(m, W, 2, 3, 5, 4, 1);
    fill_rect(m, W, 2, 4, 3, 6, 1);
    cr_assert_eq(contour_largest_outer(m, H, W, &p, &c), 1);
    expect_vertices(&p, (float[]){2, 3, 5, 3, 5, 4, 3, 4, 3, 6, 2, 6}, 6, "L");
    cr_assert_float_eq(contour_polygon_area(p.xy, p.n), 5.0, 1e-12);
    free(p.xy);

    memset(m, 0, sizeof m); /* two pixels touching at a corner: a figure eight through it */
    m[1 * W + 1] = m[2 * W + 2] = 1;
    cr_assert_eq(contour_largest_outer(m, H, W, &p, &c), 1);
    expect_vertices(&p, (float[]){1, 1, 2, 1, 2, 2, 3, 2, 3, 3, 2, 3, 2, 2, 1, 2}, 8,
                    "diagonal pair");
    cr_assert_eq(c.pixels, 2);
    cr_assert_float_eq(contour_polygon_area(p.xy, p.n), 2.0, 1e-12);
    free(p.xy);

    memset(m, 0, sizeof m); /* the anti-diagonal pair: the first pixel is the upper right */
    m[1 * W + 2] = m[2 * W + 1] = 1;
    cr_assert_eq(contour_largest_outer(m, H, W, &p, &c), 1);
    expect_vertices(&p, (float[]){2, 1, 3, 1, 3, 2, 2, 2, 2, 3, 1, 3, 1, 2, 2, 2}, 8,
                    "anti-diagonal pair");
    free(p.xy);

    memset(m, 0, sizeof m); /* a 1-px line: collinear steps merged into 4 vertices */
    fill_rect(m, W, 1, 6, 8, 7, 1);
    cr_assert_eq(contour_largest_outer(m, H, W, &p, &c), 1);
    expect_vertices(&p, (float[]){1, 6, 8, 6, 8, 7, 1, 7}, 4, "horizontal line");
    double cx, cy; /* not degenerate: a thin rectangle with the line's centre */
    cr_assert_eq(contour_polygon_centroid(p.xy, p.n, &cx, &cy), 0);
    cr_assert_float_eq(cx, 4.5, 1e-12);
    cr_assert_float_eq(cy, 6.5, 1e-12);
    free(p.xy);
    memset(m, 0, sizeof m);
    fill_rect(m, W, 8, 0, 9, 8, 1); /* a vertical line along the right frame */
    cr_assert_eq(contour_largest_outer(m, H, W, &p, &c), 1);
    expect_vertices(&p, (float[]){8, 0, 9, 0, 9, 8, 8, 8}, 4, "vertical line on the frame");
    free(p.xy);

    memset(m, 1, sizeof m); /* the whole image: its frame */
    cr_assert_eq(contour_largest_outer(m, H, W, &p, &c), 1);
    expect_vertices(&p, (float[]){0, 0, W, 0, W, H, 0, H}, 4, "full mask");
    free(p.xy);

    memset(m, 0, sizeof m); /* pixels in the last row and column corner */
    m[(H - 1) * W + W - 1] = 1;
    cr_assert_eq(contour_largest_outer(m, H, W, &p, &c), 1);
    expect_vertices(&p, (float[]){W - 1, H - 1, W, H - 1, W, H, W - 1, H}, 4, "corner pixel");
    free(p.xy);

    /* tracing needs an on start pixel whose upper neighbour is off */
    memset(m, 0, sizeof m);
    fill_rect(m, W, 2, 2, 4, 4, 1);
    cr_assert_eq(contour_trace_outer(m, H, W, 0, 0, &p), -1, "start pixel off");
    cr_assert_eq(contour_trace_outer(m, H, W, 2, 3, &p), -1, "pixel above is on");
    cr_assert_eq(p.n, 0);
    cr_assert_null(p.xy);
    cr_assert_eq(contour_trace_outer(m, H, W, 9, 2, &p), -1, "outside the image");
    cr_assert_eq(contour_largest_outer(NULL, H, W, &p, &c), -1);
}

/* Background pixels not 4-connected to the image frame: the holes of the mask. */
static int count_holes(const uint8_t *m, int h, int w)
{
    uint8_t *seen = calloc((size_t)h * w, 1);
    int *stack = malloc((size_t)h * w * sizeof *stack);
    cr_assert(seen && stack);
    int top = 0, holes = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if ((x == 0 || y == 0 || x == w - 1 || y == h - 1) && !m[y * w + x] &&
                !seen[y * w + x])
                seen[y * w + x] = 1, stack[top++] = y * w + x;
    while (top) {
        int p = stack[--top], x = p % w, y = p / w;
        int nb[4][2] = {{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}};
        for (int k = 0; k < 4; k++) {
            int nx = nb[k][0], ny = nb[k][1];
            if (nx < 0 || ny < 0 || nx >= w || ny >= h)
                continue;
            int q = ny * w + nx;
            if (!m[q] && !seen[q])
                seen[q] = 1, stack[top++] = q;
        }
    }
    for (int p = 0; p < h * w; p++)
        holes += !m[p] && !seen[p];
    free(seen), free(stack);
    return holes;
}

Test(contour, random_masks_area_and_fill)
{
    enum { H = 40, W = 36 };
    uint8_t m[H * W], only[H * W], filled[H * W];
    int32_t labels[H * W];
    prng r;
    prng_seed(&r, 11);
    int with_holes = 0, with_diagonals = 0;
    for (int trial = 0; trial < 300; trial++) {
        memset(m, 0, sizeof m);
        /* a few rectangles, discs and random pixels, sometimes cut by the frame */
        int parts = 1 + (int)prng_below(&r, 5);
        for (int q = 0; q < parts; q++) {
            int x0 = (int)prng_below(&r, W), y0 = (int)prng_below(&r, H);
            if (prng_below(&r, 2))
                fill_rect(m, W, x0, y0, x0 + 1 + (int)prng_below(&r, W - x0),
                          y0 + 1 + (int)prng_below(&r, H - y0), 1);
            else
                fill_disc(m, H, W, x0, y0, prng_range(&r, 0.5, 12));
        }
        for (int q = 0; q < 60; q++) /* speckle: diagonal contacts, holes, tiny parts */
            m[prng_below(&r, H * W)] ^= 1;
        contour_component *c = NULL;
        int n = contour_components(m, H, W, NULL, labels, &c);
        cr_assert_geq(n, 0);
        if (n == 0)
            continue;
        int best = contour_largest(c, n);
        for (int k = 0; k < n; k++)
            cr_assert(c[k].pixels <= c[best].pixels);
        for (int p = 0; p < H * W; p++)
            only[p] = labels[p] == best + 1;
        polygon p;
        cr_assert_eq(contour_trace_outer(m, H, W, c[best].first_x, c[best].first_y, &p), 0);
        int holes = count_holes(only, H, W);
        with_holes += holes > 0;
        /* every vertex a turn, every edge axis-aligned, on pixel corners */
        for (int i = 0; i < p.n; i++) {
            int a = (i + p.n - 1) % p.n, b = (i + 1) % p.n;
            float ex0 = p.xy[2 * i] - p.xy[2 * a], ey0 = p.xy[2 * i + 1] - p.xy[2 * a + 1];
            float ex1 = p.xy[2 * b] - p.xy[2 * i], ey1 = p.xy[2 * b + 1] - p.xy[2 * i + 1];
            cr_assert((ex0 == 0) != (ey0 == 0), "trial %d: edge %d not axis-aligned", trial, i);
            cr_assert(ex0 * ey1 - ey0 * ex1 != 0, "trial %d: vertex %d is not a turn", trial, i);
        }
        for (int i = 0; i + 1 < p.n; i++)
            for (int j = i + 1; j < p.n; j++)
                if (p.xy[2 * i] == p.xy[2 * j] && p.xy[2 * i + 1] == p.xy[2 * j + 1])
                    with_diagonals++, i = j = p.n; /* a vertex visited twice */
        cr_assert_float_eq(contour_polygon_area(p.xy, p.n), (double)(c[best].pixels + holes),
                           1e-9, "trial %d: area %g, expected %lld pixels + %d in holes", trial,
                           contour_polygon_area(p.xy, p.n), (long long)c[best].pixels, holes);
        /* filling the contour gives the component with its holes filled */
        memset(filled, 0, sizeof filled);
        cr_assert_eq(raster_polygon(filled, H, W, p.xy, p.n, RASTER_EVEN_ODD, 1), 0);
        int extra = 0;
        for (int q = 0; q < H * W; q++) {
            cr_assert(!only[q] || filled[q], "trial %d: pixel %d of the component not inside",
                      trial, q);
            extra += filled[q] && !only[q];
        }
        cr_assert_eq(extra, holes, "trial %d", trial);
        free(p.xy);
        free(c);
    }
    cr_assert_gt(with_holes, 10, "the random masks should exercise holes");
    cr_assert_gt(with_diagonals, 10, "and contours through diagonal contacts");
}

static void check_centroids(void)
{
    double cx = 0, cy = 0;
    float rect[] = {2, 3, 7, 3, 7, 5, 2, 5};
    cr_assert_eq(contour_polygon_centroid(rect, 4, &cx, &cy), 0);
    cr_assert_float_eq(cx, 4.5, 1e-12);
    cr_assert_float_eq(cy, 4.0, 1e-12);
    cr_assert_float_eq(contour_polygon_area(rect, 4), 10.0, 1e-12);

    float tri[] = {0, 0, 6, 0, 0, 3}; /* clockwise on screen: positive area */
    cr_assert_float_eq(contour_polygon_area(tri, 3), 9.0, 1e-12);
    cr_assert_eq(contour_polygon_centroid(tri, 3, &cx, &cy), 0);
    cr_assert_float_eq(cx, 2.0, 1e-12);
    cr_assert_float_eq(cy, 1.0, 1e-12);
    float tri_ccw[] = {0, 0, 0, 3, 6, 0};
    cr_assert_float_eq(contour_polygon_area(tri_ccw, 3), -9.0, 1e-12);
    cr_assert_eq(contour_polygon_centroid(tri_ccw, 3, &cx, &cy), 0);
    cr_assert_float_eq(cx, 2.0, 1e-12);
    cr_assert_float_eq(cy, 1.0, 1e-12);

    /* the traced L of 5 pixels: (3 * (1.5, 0.5) + 2 * (0.5, 2)) / 5, moved by (2, 3) */
    enum { H = 8, W = 9 };
    uint8_t m[H * W] = {0};
    fill_rect(m, W, 2, 3, 5, 4, 1);
    fill_rect(m, W, 2, 4, 3, 6, 1);
    polygon p;
    cr_assert_eq(contour_largest_outer(m, H, W, &p, NULL), 1);
    cr_assert_eq(contour_polygon_centroid(p.xy, p.n, &cx, &cy), 0);
    cr_assert_float_eq(cx, 3.1, 1e-9);
    cr_assert_float_eq(cy, 4.1, 1e-9);
    free(p.xy);

    /* far from the origin, the result keeps its precision */
    float far[] = {10000, 20000, 10003, 20000, 10003, 20001, 10000, 20001};
    cr_assert_eq(contour_polygon_centroid(far, 4, &cx, &cy), 0);
    cr_assert_float_eq(cx, 10001.5, 1e-9);
    cr_assert_float_eq(cy, 20000.5, 1e-9);

    /* degenerate: collinear points, too few points; outputs untouched */
    float line[] = {0, 0, 5, 5, 10, 10};
    cx = cy = -7;
    cr_assert_eq(contour_polygon_centroid(line, 3, &cx, &cy), -1);
    cr_assert_eq(contour_polygon_centroid(rect, 2, &cx, &cy), -1);
    cr_assert_eq(cx, -7);
    cr_assert_eq(cy, -7);
    cr_assert_eq(contour_polygon_area(rect, 2), 0.0);
}

static void check_boundary_pixels(void)
{
    enum { H = 9, W = 9 };
    uint8_t m[H * W] = {0}, b[H * W];
    cr_assert_eq(contour_boundary(m, H, W, NULL, b), 0, "empty mask");
    fill_rect(m, W, 2, 2, 7, 7, 1); /* 5x5: its 16 rim pixels */
    cr_assert_eq(contour_boundary(m, H, W, NULL, b), 16);
    cr_assert_eq(b[2 * W + 2], 1);
    cr_assert_eq(b[2 * W + 4], 1);
    cr_assert_eq(b[3 * W + 3], 0);
    cr_assert_eq(b[0], 0);
    m[4 * W + 4] = 0; /* a hole: its four neighbours become boundary pixels */
    cr_assert_eq(contour_boundary(m, H, W, NULL, b), 20);
    cr_assert_eq(b[3 * W + 4], 1);
    cr_assert_eq(b[3 * W + 3], 0);

    memset(m, 0, sizeof m); /* against the frame: the frame counts as outside */
    fill_rect(m, W, 0, 0, 4, 4, 1);
    cr_assert_eq(contour_boundary(m, H, W, NULL, b), 12);
    cr_assert_eq(b[0], 1);
    cr_assert_eq(b[1 * W + 1], 0);
    memset(m, 1, sizeof m);
    cr_assert_eq(contour_boundary(m, H, W, NULL, b), 2 * W + 2 * (H - 2), "full mask: frame");

    /* a window: only its pixels are written, neighbours outside it are still read */
    memset(m, 0, sizeof m);
    fill_rect(m, W, 2, 2, 7, 7, 1);
    memset(b, 9, sizeof b);
    contour_box win = {3, 3, 6, 6};
    cr_assert_eq(contour_boundary(m, H, W, &win, b), 0, "the window holds interior pixels");
    cr_assert_eq(b[3 * W + 3], 0);
    cr_assert_eq(b[2 * W + 2], 9);
    contour_box bad = {-1, 0, 3, 3};
    cr_assert_eq(contour_boundary(m, H, W, &bad, b), -1);
    cr_assert_eq(contour_boundary(NULL, H, W, NULL, b), -1);

    contour_box box;
    cr_assert_eq(contour_mask_box(m, H, W, &box), 25);
    cr_assert(box.x0 == 2 && box.y0 == 2 && box.x1 == 7 && box.y1 == 7);
    memset(m, 0, sizeof m);
    cr_assert_eq(contour_mask_box(m, H, W, &box), 0);
    cr_assert(box.x0 == 0 && box.x1 == 0 && box.y0 == 0 && box.y1 == 0);
    m[H * W - 1] = 3; /* any non-zero byte is on */
    cr_assert_eq(contour_mask_box(m, H, W, &box), 1);
    cr_assert(box.x0 == W - 1 && box.y0 == H - 1 && box.x1 == W && box.y1 == H);
}

Test(contour, components_boxes_and_boundary_pixels)
{
    check_components();
    check_boundary_pixels();
}

Test(contour, outer_contours_and_centroids)
{
    check_small_contours();
    check_centroids();
}

/* ---------------------------------------------------------------- polar targets */

static void check_config_and_grid(void)
{
    polar_config c;
    polar_config_default(&c);
    cr_assert_eq(c.num_levels, 5);
    cr_assert_eq(c.num_rays, 36);
    int strides[5] = {8, 16, 32, 64, 128};
    float lo[5] = {-1, 64, 128, 256, 512}, hi[4] = {64, 128, 256, 512};
    for (int l = 0; l < 5; l++) {
        cr_assert_eq(c.strides[l], strides[l]);
        cr_assert_eq(c.range_lo[l], lo[l]);
        if (l < 4)
            cr_assert_eq(c.range_hi[l], hi[l]);
    }
    cr_assert(isinf(c.range_hi[4]));
    cr_assert_float_eq(c.center_radius, 1.5, 1e-7);
    cr_assert(c.ray_floor > 0 && c.ray_floor <= 0.1);
    cr_assert_eq(c.contour_level, 0);
    char err[256];
    cr_assert_eq(polar_config_check(&c, err, sizeof err), 0);

    /* 100 x 75: 13*10 + 7*5 + 4*3 + 2*2 + 1*1 */
    cr_assert_eq(polar_num_locations(&c, 100, 75), 182);
    cr_assert_eq(polar_num_locations(&c, 256, 256), 1024 + 256 + 64 + 16 + 4);
    int rows, cols;
    int64_t off;
    cr_assert_eq(polar_level_grid(&c, 2, 100, 75, &rows, &cols, &off), 0);
    cr_assert_eq(rows, 4);
    cr_assert_eq(cols, 3);
    cr_assert_eq(off, 165);
    cr_assert_eq(polar_level_grid(&c, 5, 100, 75, &rows, &cols, &off), -1);
    cr_assert_eq(polar_num_locations(&c, 0, 75), -1);

    /* each bad field is refused with its name */
    struct {
        int field, ivalue;
        float fvalue;
        const char *word;
    } bad[] = {
        {0, 0, 0, "num_levels"},   {0, 9, 0, "num_levels"},      {1, 0, 0, "strides[2]"},
        {2, 3, 0, "num_rays"},     {2, 361, 0, "num_rays"},      {3, 0, 0, "center_radius"},
        {3, 0, NAN, "center_radius"}, {4, 0, 0, "ray_floor"},    {5, 5, 0, "contour_level"},
        {6, -1, 0, "num_classes"}, {7, 0, 64, "size range of level 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        polar_config b = c;
        switch (bad[i].field) {
        case 0: b.num_levels = bad[i].ivalue; break;
        case 1: b.strides[2] = bad[i].ivalue; break;
        case 2: b.num_rays = bad[i].ivalue; break;
        case 3: b.center_radius = bad[i].fvalue; break;
        case 4: b.ray_floor = bad[i].fvalue; break;
        case 5: b.contour_level = bad[i].ivalue; break;
        case 6: b.num_classes = bad[i].ivalue; break;
        case 7: b.range_hi[1] = bad[i].fvalue; break; /* (64, 64] */
        }
        err[0] = 0;
        cr_assert_eq(polar_config_check(&b, err, sizeof err), -1, "case %zu", i);
        cr_assert(strstr(err, bad[i].word), "case %zu: \"%s\" should name %s", i, err,
                  bad[i].word);
        cr_assert_eq(polar_num_locations(&b, 64, 64), -1);
    }
    cr_assert_eq(polar_config_check(NULL, err, sizeof err), -1);
}

static void check_rectangle(void)
{
    enum { H = 128, W = 128 };
    sample s;
    make_sample(&s, H, W, 1);
    s.instances[0].class_id = 3;
    fill_rect(s.instances[0].mask, W, 40, 48, 88, 80, 1); /* 48 x 32, centre (64, 64) */
    run t;
    cr_assert_eq(run_targets(&t, NULL, &s), 0, "%s", t.err);
    /* level 0 (largest box distance <= 36 < 64), within 12 px of the centre: x, y in
     * {52, 60, 68, 76}, all inside the box */
    cr_assert_eq(t.st.positives, 16);
    cr_assert_eq(t.st.positives_per_level[0], 16);
    cr_assert_eq(t.st.instances_used, 1);
    cr_assert_eq(t.st.fallback, 0);
    cr_assert_eq(t.st.floored_rays, 0);
    for (int i = 6; i <= 9; i++)
        for (int j = 6; j <= 9; j++) {
            int64_t f = loc(&t, 0, H, W, i, j);
            cr_assert_eq(t.cls[f], 3);
            cr_assert_eq(t.owner[f], 0);
        }
    cr_assert_eq(check_box_rays(&t, H, W, 0, 40, 48, 88, 80), 16);
    /* ray 0 points down, ray 9 right, ray 18 up, ray 27 left: from (52, 52) */
    int64_t f = loc(&t, 0, H, W, 6, 6);
    float *r = t.rays + f * 36;
    cr_assert_float_eq(r[0], 28, 1e-4);
    cr_assert_float_eq(r[9], 36, 1e-4);
    cr_assert_float_eq(r[18], 4, 1e-4);
    cr_assert_float_eq(r[27], 12, 1e-4);
    /* background everywhere else */
    for (int64_t g = 0; g < t.n; g++) {
        if (t.cls[g] >= 0)
            continue;
        cr_assert_eq(t.owner[g], -1);
        cr_assert_eq(t.cnt[g], 0.0f);
        for (int q = 0; q < 36; q++)
            cr_assert_eq(t.rays[g * 36 + q], 0.0f);
    }
    free_run(&t);

    /* 4 and 72 rays: the same geometry */
    polar_config c;
    polar_config_default(&c);
    c.num_rays = 4;
    cr_assert_eq(run_targets(&t, &c, &s), 0, "%s", t.err);
    f = loc(&t, 0, H, W, 9, 8); /* (68, 76) */
    cr_assert_float_eq(t.rays[f * 4 + 0], 4, 1e-4);
    cr_assert_float_eq(t.rays[f * 4 + 1], 20, 1e-4);
    cr_assert_float_eq(t.rays[f * 4 + 2], 28, 1e-4);
    cr_assert_float_eq(t.rays[f * 4 + 3], 28, 1e-4);
    free_run(&t);
    c.num_rays = 72;
    cr_assert_eq(run_targets(&t, &c, &s), 0, "%s", t.err);
    cr_assert_eq(check_box_rays(&t, H, W, 0, 40, 48, 88, 80), 16);
    free_run(&t);
    sample_free(&s);
}

static void check_disc(void)
{
    enum { H = 128, W = 128 };
    const double cx = 60, cy = 60, rad = 20;
    sample s;
    make_sample(&s, H, W, 1);
    fill_disc(s.instances[0].mask, H, W, cx, cy, rad);
    run t;
    cr_assert_eq(run_targets(&t, NULL, &s), 0, "%s", t.err);
    cr_assert_eq(t.st.positives, 9, "x, y in {52, 60, 68}");
    cr_assert_eq(t.st.floored_rays, 0);
    /* from the centre location (60, 60): every ray within 0.5 px of the radius */
    int64_t f = loc(&t, 0, H, W, 7, 7);
    cr_assert_eq(t.cls[f], 0);
    double lo = INFINITY, hi = 0;
    for (int q = 0; q < 36; q++) {
        cr_assert_float_eq(t.rays[f * 36 + q], rad, 0.5, "ray %d: %g", q,
                           (double)t.rays[f * 36 + q]);
        lo = fmin(lo, t.rays[f * 36 + q]), hi = fmax(hi, t.rays[f * 36 + q]);
    }
    cr_assert_float_eq(t.cnt[f], sqrt(lo / hi), 1e-6);
    cr_assert_gt(t.cnt[f], 0.97);
    /* elsewhere: the contour of the digitised disc lies between the circles of radius
     * rad -+ sqrt(2)/2 (a boundary point is within half a pixel diagonal of an inside and an
     * outside pixel centre), so each ray ends between its intersections with those circles */
    double half_diag = sqrt(0.5);
    for (int64_t g = 0; g < t.n; g++) {
        if (t.cls[g] < 0)
            continue;
        double x, y;
        where(&t, H, W, g, &x, &y);
        for (int q = 0; q < 36; q++) {
            double v = t.rays[g * 36 + q];
            double a = circle_ray(x, y, q, 36, cx, cy, rad - half_diag);
            double b = circle_ray(x, y, q, 36, cx, cy, rad + half_diag);
            cr_assert(v >= a - 1e-4 && v <= b + 1e-4,
                      "(%g, %g) ray %d: %g, expected within [%g, %g]", x, y, q, v, a, b);
        }
    }
    /* off-centre locations have less centerness */
    cr_assert_lt(t.cnt[loc(&t, 0, H, W, 6, 6)], t.cnt[f]);
    free_run(&t);
    sample_free(&s);
}

Test(polar_targets, empty_tiny_and_no_objects)
{
    enum { H = 64, W = 80 };
    sample s;
    run t;

    make_sample(&s, H, W, 0); /* no objects */
    cr_assert_eq(run_targets(&t, NULL, &s), 0, "%s", t.err);
    cr_assert_eq(t.st.positives, 0);
    cr_assert_eq(t.st.instances_used, 0);
    for (int64_t f = 0; f < t.n; f++)
        cr_assert(t.cls[f] == -1 && t.cnt[f] == 0 && t.owner[f] == -1);
    for (int i = 0; i < t.hc * t.wc; i++)
        cr_assert_eq(t.contour[i], 0.0f);
    free_run(&t);
    sample_free(&s);

    make_sample(&s, H, W, 2); /* an all-zero mask, and an instance with neither mask nor polygon */
    free(s.instances[1].mask);
    s.instances[1].mask = NULL;
    cr_assert_eq(run_targets(&t, NULL, &s), 0, "%s", t.err);
    cr_assert_eq(t.st.skipped_empty, 2);
    cr_assert_eq(t.st.positives, 0);
    cr_assert_eq(count_positives(&t), 0);
    free_run(&t);
    sample_free(&s);

    /* one pixel at (50, 37): no location samples it; the nearest to its centre (50.5, 37.5) on
     * level 0 is (52, 36) = (i 4, j 6) */
    make_sample(&s, H, W, 1);
    s.instances[0].class_id = 7;
    s.instances[0].mask[37 * W + 50] = 1;
    cr_assert_eq(run_targets(&t, NULL, &s), 0, "%s", t.err);
    cr_assert_eq(t.st.positives, 1);
    cr_assert_eq(t.st.fallback, 1);
    cr_assert_eq(t.st.instances_used, 1);
    int64_t f = loc(&t, 0, H, W, 4, 6);
    cr_assert_eq(t.cls[f], 7);
    /* seen from (52, 36) the pixel [50, 51) x [37, 38) spans the angles 296.6..333.4 degrees:
     * rays 30..33 meet it (and end at its far side), the others get the floor */
    float fl = t.cfg.ray_floor;
    double hi = 0;
    for (int q = 0; q < 36; q++) {
        float v = t.rays[f * 36 + q];
        cr_assert(isfinite(v) && v >= fl);
        if (q >= 30 && q <= 33)
            cr_assert(v > 1.4 && v < 2.9, "ray %d: %g", q, (double)v);
        else
            cr_assert_eq(v, fl, "ray %d: %g, expected the floor", q, (double)v);
        hi = fmax(hi, v);
    }
    cr_assert_eq(t.st.floored_rays, 32);
    cr_assert_float_eq(t.cnt[f], sqrt(fl / hi), 1e-6);
    cr_assert_gt(t.cnt[f], 0);
    free_run(&t);

    /* 1-pixel objects in two image corners both get their corner location */
    sample_free(&s);
    make_sample(&s, H, W, 2);
    s.instances[0].mask[0] = 1;
    s.instances[1].mask[(H - 1) * W + W - 1] = 1;
    cr_assert_eq(run_targets(&t, NULL, &s), 0, "%s", t.err);
    cr_assert_eq(t.st.positives, 2);
    cr_assert_eq(t.st.fallback, 2);
    cr_assert_eq(t.owner[loc(&t, 0, H, W, 0, 0)], 0);
    cr_assert_eq(t.owner[loc(&t, 0, H, W, H / 8 - 1, W / 8 - 1)], 1);
    free_run(&t);
    sample_free(&s);
}

Test(polar_targets, objects_on_the_image_border)
{
    enum { H = 90, W = 100 }; /* not multiples of 8: the last row and column of locations lie
                                 partly outside the image */
    sample s;
    make_sample(&s, H, W, 2);
    fill_rect(s.instances[0].mask, W, 0, 0, 30, 20, 1);    /* top-left corner, centre (15, 10) */
    fill_rect(s.instances[1].mask, W, 70, 75, 100, 90, 1); /* bottom-right, centre (85, 82.5) */
    s.instances[1].class_id = 1;
    run t;
    cr_assert_eq(run_targets(&t, NULL, &s), 0, "%s", t.err);
    /* x in {4, 12, 20} (28 is 13 px away), y in {4, 12} (20 is on the box side) */
    cr_assert_eq(check_box_rays(&t, H, W, 0, 0, 0, 30, 20), 6);
    /* x in {76, 84, 92}, y in {76, 84}; x = 100 and y = 92 are outside */
    cr_assert_eq(check_box_rays(&t, H, W, 1, 70, 75, 100, 90), 6);
    cr_assert_eq(t.st.floored_rays, 0);
    int64_t f = loc(&t, 0, H, W, 0, 0); /* (4, 4): the frame is the contour */
    cr_assert_float_eq(t.rays[f * 36 + 18], 4, 1e-4);
    cr_assert_float_eq(t.rays[f * 36 + 27], 4, 1e-4);
    f = loc(&t, 0, H, W, 10, 11); /* (92, 84) */
    cr_assert_eq(t.owner[f], 1);
    cr_assert_float_eq(t.rays[f * 36 + 9], 8, 1e-4);
    cr_assert_float_eq(t.rays[f * 36 + 0], 6, 1e-4);
    /* the contour map marks the cells along the frame too */
    cr_assert_eq(t.contour[0], 1.0f);
    cr_assert_eq(t.contour[t.hc * t.wc - 1], 1.0f);
    free_run(&t);
    sample_free(&s);
}

Test(polar_targets, two_objects_with_one_centre)
{
    enum { H = 128, W = 128 };
    run t;
    /* a 40x40 square and a 12x12 one, both centred at (64, 64); in both orders */
    for (int order = 0; order < 2; order++) {
        int big = order, small = 1 - order;
        sample s;
        make_sample(&s, H, W, 2);
        fill_rect(s.instances[big].mask, W, 44, 44, 84, 84, 1);
        fill_rect(s.instances[small].mask, W, 58, 58, 70, 70, 1);
        s.instances[big].class_id = 1;
        s.instances[small].class_id = 2;
        cr_assert_eq(run_targets(&t, NULL, &s), 0, "%s", t.err);
        /* both sample {52, 60, 68, 76}^2; the small box holds {60, 68}^2: the small one owns
         * those 4, the big one keeps the other 12 */
        cr_assert_eq(check_box_rays(&t, H, W, small, 58, 58, 70, 70), 4, "order %d", order);
        cr_assert_eq(check_box_rays(&t, H, W, big, 44, 44, 84, 84), 12, "order %d", order);
        int64_t f = loc(&t, 0, H, W, 7, 7); /* (60, 60): the small square's rays */
        cr_assert_eq(t.cls[f], 2);
        cr_assert_float_eq(t.rays[f * 36 + 9], 10, 1e-4);
        cr_assert_eq(t.st.instances_used, 2);
        cr_assert_eq(t.st.fallback, 0);
        free_run(&t);
        sample_free(&s);
    }
    /* a 40x40 and a 36x36 square with one centre sample the same 16 locations: the smaller takes
     * all of them; the larger is not dropped but gets the nearest free location */
    sample s;
    make_sample(&s, H, W, 2);
    fill_rect(s.instances[0].mask, W, 44, 44, 84, 84, 1);
    fill_rect(s.instances[1].mask, W, 46, 46, 82, 82, 1);
    cr_assert_eq(run_targets(&t, NULL, &s), 0, "%s", t.err);
    int per[2] = {0, 0};
    for (int64_t f = 0; f < t.n; f++)
        if (t.owner[f] >= 0)
            per[t.owner[f]]++;
    cr_assert_eq(per[1], 16);
    cr_assert_eq(per[0], 1);
    cr_assert_eq(t.st.fallback, 1);
    cr_assert_eq(t.st.instances_used, 2);
    cr_assert_eq(t.st.skipped_crowded, 0);
    free_run(&t);
    sample_free(&s);
}

Test(polar_targets, degenerate_contours)
{
    enum { H = 128, W = 128 };
    sample s;
    run t;

    /* a 1-px horizontal line [30, 70) x [64, 65): no location centre lies strictly inside its
     * box; the nearest to its centre (50, 64.5) on level 0 is (52, 68); from there ray 18 (up)
     * ends on the line's top side, 4 px away, and the rays pointing away get the floor */
    make_sample(&s, H, W, 1);
    fill_rect(s.instances[0].mask, W, 30, 64, 70, 65, 1);
    cr_assert_eq(run_targets(&t, NULL, &s), 0, "%s", t.err);
    cr_assert_eq(t.st.positives, 1);
    cr_assert_eq(t.st.fallback, 1);
    int64_t f = loc(&t, 0, H, W, 8, 6);
    cr_assert_eq(t.cls[f], 0);
    cr_assert_float_eq(t.rays[f * 36 + 18], 4, 1e-4);
    cr_assert_eq(t.rays[f * 36 + 0], t.cfg.ray_floor);
    free_run(&t);
    sample_free(&s);

    /* a diagonal chain of 30 pixels (corner contacts only) from (20, 20) to (49, 49): one
     * component, centre (35, 35); with 8 rays, from the corner point (36, 36) the diagonal rays
     * run through the contacts to the chain's ends, the axis rays stop after one pixel */
    make_sample(&s, H, W, 1);
    for (int i = 0; i < 30; i++)
        s.instances[0].mask[(20 + i) * W + 20 + i] = 1;
    polar_config c;
    polar_config_default(&c);
    c.num_rays = 8;
    cr_assert_eq(run_targets(&t, &c, &s), 0, "%s", t.err);
    cr_assert_eq(t.st.positives, 9, "x, y in {28, 36, 44}");
    f = loc(&t, 0, H, W, 4, 4);
    cr_assert_eq(t.cls[f], 0);
    float fl = c.ray_floor;
    float want[8] = {1, (float)(14 * sqrt(2.0)), 1, fl, 1, (float)(16 * sqrt(2.0)), 1, fl};
    for (int q = 0; q < 8; q++)
        cr_assert_float_eq(t.rays[f * 8 + q], want[q], 1e-4, "ray %d: %g, expected %g", q,
                           (double)t.rays[f * 8 + q], (double)want[q]);
    free_run(&t);
    sample_free(&s);

    /* a square ring (a 48x48 square with a 24x24 hole): locations in the hole still cast their
     * rays to the outer contour, and the hole's rim is in the contour map */
    make_sample(&s, H, W, 1);
    fill_rect(s.instances[0].mask, W, 40, 40, 88, 88, 1);
    fill_rect(s.instances[0].mask, W, 52, 52, 76, 76, 0);
    cr_assert_eq(run_targets(&t, NULL, &s), 0, "%s", t.err);
    cr_assert_eq(check_box_rays(&t, H, W, 0, 40, 40, 88, 88), 16);
    f = loc(&t, 0, H, W, 7, 7); /* (60, 60), inside the hole */
    cr_assert_float_eq(t.rays[f * 36 + 9], 28, 1e-4);
    cr_assert_eq(t.contour[6 * t.wc + 7], 1.0f, "cell holding the hole's upper rim");
    cr_assert_eq(t.contour[7 * t.wc + 7], 0.0f, "cell inside the hole");
    cr_assert_eq(t.contour[5 * t.wc + 7], 1.0f, "cell holding the outer rim");
    free_run(&t);
    sample_free(&s);

    /* two components: a 30x30 square and a 10x10 one to its right on the same rows. The centre
     * and the rays are the large one's (ray 9 from (36, 36) ends at x = 50, not at 70); the box
     * and the contour map take both */
    make_sample(&s, H, W, 1);
    fill_rect(s.instances[0].mask, W, 20, 20, 50, 50, 1);
    fill_rect(s.instances[0].mask, W, 60, 30, 70, 40, 1);
    cr_assert_eq(run_targets(&t, NULL, &s), 0, "%s", t.err);
    cr_assert_eq(check_box_rays(&t, H, W, 0, 20, 20, 50, 50), 9, "x, y in {28, 36, 44}");
    f = loc(&t, 0, H, W, 4, 4);
    cr_assert_float_eq(t.rays[f * 36 + 9], 14, 1e-4);
    cr_assert_eq(t.contour[3 * t.wc + 7], 1.0f, "the small component's boundary cell");
    free_run(&t);
    sample_free(&s);
}

static void check_levels_by_size(void)
{
    enum { H = 512, W = 512 };
    sample s;
    make_sample(&s, H, W, 3);
    fill_rect(s.instances[0].mask, W, 20, 20, 60, 60, 1);     /* 40 px: reach 20..32 */
    fill_rect(s.instances[1].mask, W, 100, 280, 300, 480, 1); /* 200 px: reach 100..148 */
    fill_rect(s.instances[2].mask, W, 56, 56, 456, 456, 1);   /* 400 px: reach 200..296 */
    run t;
    cr_assert_eq(run_targets(&t, NULL, &s), 0, "%s", t.err);
    int levels[3][5] = {{0}};
    for (int64_t f = 0; f < t.n; f++) {
        int k = t.owner[f];
        if (k < 0)
            continue;
        double x, y;
        int l = where(&t, H, W, f, &x, &y);
        levels[k][l]++;
        /* the rule: the largest distance to the box sides is in the level's range */
        static const double box[3][4] = {{20, 20, 60, 60}, {100, 280, 300, 480}, {56, 56, 456, 456}};
        double m = fmax(fmax(x - box[k][0], y - box[k][1]), fmax(box[k][2] - x, box[k][3] - y));
        cr_assert(m > t.cfg.range_lo[l] && m <= t.cfg.range_hi[l],
                  "instance %d at (%g, %g) on level %d with reach %g", k, x, y, l, m);
    }
    cr_assert_gt(levels[0][0], 0);
    cr_assert_eq(levels[0][1] + levels[0][2] + levels[0][3] + levels[0][4], 0);
    cr_assert_gt(levels[1][1], 0);
    cr_assert_eq(levels[1][0] + levels[1][3] + levels[1][4], 0);
    cr_assert_gt(levels[2][2] + levels[2][3], 0);
    cr_assert_eq(levels[2][0] + levels[2][1] + levels[2][4], 0);
    int sum = 0;
    for (int l = 0; l < 5; l++)
        sum += t.st.positives_per_level[l];
    cr_assert_eq(sum, t.st.positives);
    cr_assert_eq(t.st.positives_per_level[0], levels[0][0]);
    free_run(&t);
    sample_free(&s);
}

static void check_contour_map(void)
{
    enum { H = 64, W = 64 };
    sample s;
    make_sample(&s, H, W, 1);
    fill_rect(s.instances[0].mask, W, 8, 16, 40, 48, 1);
    run t;
    cr_assert_eq(run_targets(&t, NULL, &s), 0, "%s", t.err);
    int positives = t.st.positives;
    cr_assert_eq(positives, 16, "x in {12, 20, 28, 36}, y in {20, 28, 36, 44}");
    cr_assert_eq(t.hc, 8);
    cr_assert_eq(t.wc, 8);
    /* boundary pixels: rows 16 and 47, columns 8 and 39 -> the rim of cells rows 2..5, cols 1..4 */
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++) {
            int rim = i >= 2 && i <= 5 && j >= 1 && j <= 4 && (i == 2 || i == 5 || j == 1 || j == 4);
            cr_assert_eq(t.contour[i * 8 + j], rim ? 1.0f : 0.0f, "cell (%d, %d)", i, j);
        }
    free_run(&t);
    /* at level 1 (16 px cells): rows 1..2, columns 0..2 */
    polar_config c;
    polar_config_default(&c);
    c.contour_level = 1;
    cr_assert_eq(run_targets(&t, &c, &s), 0, "%s", t.err);
    cr_assert_eq(t.hc, 4);
    cr_assert_eq(t.wc, 4);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            cr_assert_eq(t.contour[i * 4 + j], (i >= 1 && i <= 2 && j <= 2) ? 1.0f : 0.0f,
                         "level 1 cell (%d, %d)", i, j);
    free_run(&t);
    /* without a contour array the rest is made all the same */
    polar_config_default(&c);
    int64_t n = polar_num_locations(&c, H, W);
    int32_t *cls = malloc((size_t)n * sizeof *cls);
    float *rays = malloc((size_t)n * 36 * sizeof *rays), *cnt = malloc((size_t)n * sizeof *cnt);
    polar_targets out = {cls, rays, cnt, NULL, NULL};
    polar_stats st;
    char err[256];
    cr_assert_eq(polar_targets_compute(&c, &s, &out, &st, err, sizeof err), 0, "%s", err);
    cr_assert_eq(st.positives, positives);
    free(cls), free(rays), free(cnt);
    sample_free(&s);
}

static void check_polygons_and_bad_input(void)
{
    enum { H = 64, W = 72 };
    /* an instance given only as polygons (a triangle and a square) has the targets of its
     * rasterised mask */
    static float tri[] = {10.5f, 8, 40, 12.25f, 22, 40.75f};
    static float sq[] = {44, 30, 60, 30, 60, 46, 44, 46};
    sample s;
    make_sample(&s, H, W, 1);
    s.instances[0].class_id = 4;
    polygon parts[2] = {{3, tri}, {4, sq}};
    cr_assert_eq(raster_polygons(s.instances[0].mask, H, W, parts, 2, RASTER_EVEN_ODD, 1), 0);
    run a, b;
    cr_assert_eq(run_targets(&a, NULL, &s), 0, "%s", a.err);
    free(s.instances[0].mask);
    s.instances[0].mask = NULL;
    s.instances[0].polygons = parts;
    s.instances[0].n_polygons = 2;
    cr_assert_eq(run_targets(&b, NULL, &s), 0, "%s", b.err);
    cr_assert_gt(a.st.positives, 0);
    cr_assert_eq(a.st.positives, b.st.positives);
    cr_assert_eq(memcmp(a.cls, b.cls, (size_t)a.n * sizeof *a.cls), 0);
    cr_assert_eq(memcmp(a.rays, b.rays, (size_t)a.n * 36 * sizeof *a.rays), 0);
    cr_assert_eq(memcmp(a.contour, b.contour, (size_t)a.hc * a.wc * sizeof *a.contour), 0);
    free_run(&a), free_run(&b);

    /* bad polygons */
    float bad_xy[] = {1, 1, NAN, 5, 9, 9};
    polygon bad_part = {3, bad_xy};
    s.instances[0].polygons = &bad_part;
    s.instances[0].n_polygons = 1;
    cr_assert_eq(run_targets(&a, NULL, &s), -1);
    cr_assert(strstr(a.err, "instance 0 polygon 0 vertex 1"), "%s", a.err);
    free_run(&a);
    polygon null_part = {3, NULL};
    s.instances[0].polygons = &null_part;
    cr_assert_eq(run_targets(&a, NULL, &s), -1);
    cr_assert(strstr(a.err, "instance 0 polygon 0"), "%s", a.err);
    free_run(&a);
    s.instances[0].polygons = NULL;
    s.instances[0].n_polygons = 2;
    cr_assert_eq(run_targets(&a, NULL, &s), -1);
    cr_assert(strstr(a.err, "instance 0") && strstr(a.err, "n_polygons 2"), "%s", a.err);
    free_run(&a);
    s.instances[0].n_polygons = 0; /* (the sample does not own the polygons above) */
    sample_free(&s);

    /* class ids */
    make_sample(&s, H, W, 2);
    fill_rect(s.instances[0].mask, W, 5, 5, 20, 20, 1);
    fill_rect(s.instances[1].mask, W, 30, 30, 50, 50, 1);
    s.instances[1].class_id = -1;
    cr_assert_eq(run_targets(&a, NULL, &s), -1);
    cr_assert(strstr(a.err, "instance 1") && strstr(a.err, "class id -1"), "%s", a.err);
    free_run(&a);
    s.instances[1].class_id = 7;
    polar_config c;
    polar_config_default(&c);
    c.num_classes = 5;
    cr_assert_eq(run_targets(&a, &c, &s), -1);
    cr_assert(strstr(a.err, "instance 1") && strstr(a.err, "0..4"), "%s", a.err);
    free_run(&a);
    c.num_classes = 8;
    cr_assert_eq(run_targets(&a, &c, &s), 0, "%s", a.err);
    free_run(&a);

    /* the call itself */
    int64_t n = polar_num_locations(&c, H, W);
    int32_t *cls = malloc((size_t)n * sizeof *cls);
    float *rays = malloc((size_t)n * 36 * sizeof *rays), *cnt = malloc((size_t)n * sizeof *cnt);
    char err[256];
    polar_targets out = {cls, rays, cnt, NULL, NULL};
    polar_targets no_cls = {NULL, rays, cnt, NULL, NULL};
    cr_assert_eq(polar_targets_compute(&c, &s, &no_cls, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "cls"), "%s", err);
    sample empty_size = s;
    empty_size.h = 0;
    cr_assert_eq(polar_targets_compute(&c, &empty_size, &out, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "image size 0 x 72"), "%s", err);
    sample no_list = s;
    no_list.instances = NULL;
    cr_assert_eq(polar_targets_compute(&c, &no_list, &out, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "instance list"), "%s", err);
    cr_assert_eq(polar_targets_compute(&c, NULL, &out, NULL, err, sizeof err), -1);
    c.num_rays = 1000;
    cr_assert_eq(polar_targets_compute(&c, &s, &out, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "num_rays is 1000"), "%s", err);
    cr_assert_eq(polar_targets_compute(&c, &s, &out, NULL, NULL, 0), -1, "no err buffer");
    free(cls), free(rays), free(cnt);
    sample_free(&s);
}

/* A random image: 3-7 ellipses and stars, later ones in front, some cut by the frame, plus a
 * one-pixel instance and an empty one. */
static void random_image(sample *s, prng *r, int h, int w)
{
    int n = 3 + (int)prng_below(r, 5);
    make_sample(s, h, w, n + 2);
    for (int k = 0; k < n; k++) {
        float xy[2 * 32];
        double cx = prng_range(r, -10, w + 10), cy = prng_range(r, -10, h + 10);
        double size = prng_range(r, 3, 50), rot = prng_range(r, 0, M_PI);
        int nv = 32;
        for (int i = 0; i < nv; i++) {
            double t = 2 * M_PI * i / nv;
            double rad = prng_below(r, 2) ? size : size * prng_range(r, 0.4, 1.0);
            xy[2 * i] = (float)(cx + rad * cos(t + rot));
            xy[2 * i + 1] = (float)(cy + 0.6 * rad * sin(t + rot));
        }
        cr_assert_eq(raster_polygon(s->instances[k].mask, h, w, xy, nv, RASTER_EVEN_ODD, 1), 0);
        for (int q = 0; q < k; q++)
            for (int p = 0; p < h * w; p++)
                if (s->instances[k].mask[p])
                    s->instances[q].mask[p] = 0;
        s->instances[k].class_id = (int32_t)prng_below(r, 6);
    }
    s->instances[n].mask[prng_below(r, (uint64_t)h * w)] = 1;
    s->instances[n].class_id = 5;
}

/* The largest component of the mask with its holes filled (the region its outer contour
 * bounds), by labelling and a 4-connected flood of the background from the frame. */
static void filled_largest(const uint8_t *mask, int h, int w, uint8_t *out)
{
    int32_t *labels = malloc((size_t)h * w * sizeof *labels);
    contour_component *c = NULL;
    int n = contour_components(mask, h, w, NULL, labels, &c);
    cr_assert_gt(n, 0);
    int best = contour_largest(c, n);
    uint8_t *only = malloc((size_t)h * w);
    for (int p = 0; p < h * w; p++)
        only[p] = labels[p] == best + 1;
    /* background reachable from the frame (as count_holes floods it) */
    uint8_t *seen = calloc((size_t)h * w, 1);
    int *stack = malloc((size_t)h * w * sizeof *stack), top = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if ((x == 0 || y == 0 || x == w - 1 || y == h - 1) && !only[y * w + x])
                seen[y * w + x] = 1, stack[top++] = y * w + x;
    while (top) {
        int p = stack[--top], x = p % w, y = p / w;
        int nb[4][2] = {{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}};
        for (int k = 0; k < 4; k++) {
            int nx = nb[k][0], ny = nb[k][1];
            if (nx >= 0 && ny >= 0 && nx < w && ny < h && !only[ny * w + nx] && !seen[ny * w + nx])
                seen[ny * w + nx] = 1, stack[top++] = ny * w + nx;
        }
    }
    for (int p = 0; p < h * w; p++)
        out[p] = only[p] || !seen[p];
    free(labels), free(c), free(only), free(seen), free(stack);
}

/* Whether (px, py) is in the closure of the on pixels: on a pixel edge or corner, any pixel
 * touching it counts (the contour includes its edges, and rays along the grid lines from
 * locations at integer coordinates run on them). */
static int in_closure(const uint8_t *m, int h, int w, double px, double py)
{
    int x1 = (int)floor(px), y1 = (int)floor(py);
    int x0 = px == x1 ? x1 - 1 : x1, y0 = py == y1 ? y1 - 1 : y1;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            if (x >= 0 && y >= 0 && x < w && y < h && m[y * w + x])
                return 1;
    return 0;
}

Test(polar_targets, random_images_invariants_and_ray_oracle)
{
    enum { H = 120, W = 160 }; /* 120 and 160 are not multiples of 128 (nor 120 of 16) */
    prng r;
    prng_seed(&r, 2024);
    uint8_t *filled = malloc((size_t)H * W), *bnd = malloc((size_t)H * W);
    float *cells = NULL;
    long checked = 0, agree = 0, positives = 0, fallback = 0;
    const double step = 0.02, diag = sqrt((double)H * H + (double)W * W);
    for (int img = 0; img < 20; img++) {
        sample s;
        random_image(&s, &r, H, W);
        run t;
        cr_assert_eq(run_targets(&t, NULL, &s), 0, "%s", t.err);
        positives += t.st.positives;
        fallback += t.st.fallback;
        /* every instance is used, empty, or (counted) crowded; positives add up */
        cr_assert_eq(t.st.instances_used + t.st.skipped_empty + t.st.skipped_crowded,
                     s.n_instances);
        cr_assert_geq(t.st.skipped_empty, 1, "the empty instance");
        cr_assert_eq(count_positives(&t), t.st.positives);
        int *used = calloc((size_t)s.n_instances, sizeof *used);
        float fl = t.cfg.ray_floor;
        for (int64_t f = 0; f < t.n; f++) {
            if (t.cls[f] < 0) {
                cr_assert(t.owner[f] == -1 && t.cnt[f] == 0.0f);
                for (int q = 0; q < 36; q++)
                    cr_assert_eq(t.rays[f * 36 + q], 0.0f);
                continue;
            }
            int k = t.owner[f];
            cr_assert(k >= 0 && k < s.n_instances);
            cr_assert_eq(t.cls[f], s.instances[k].class_id);
            used[k] = 1;
            double lo = INFINITY, hi = 0;
            for (int q = 0; q < 36; q++) {
                float v = t.rays[f * 36 + q];
                cr_assert(isfinite(v) && v >= fl && v <= diag + 2, "image %d ray %g", img,
                          (double)v);
                lo = fmin(lo, v), hi = fmax(hi, v);
            }
            cr_assert(t.cnt[f] > 0 && t.cnt[f] <= 1 && isfinite(t.cnt[f]));
            cr_assert_float_eq(t.cnt[f], sqrt(lo / hi), 1e-5);
        }
        for (int k = 0; k < s.n_instances; k++)
            if (contour_mask_box(s.instances[k].mask, H, W, &(contour_box){0, 0, 0, 0}) > 0 &&
                !used[k])
                cr_assert_gt(t.st.skipped_crowded, 0, "image %d: instance %d dropped", img, k);
        free(used);

        /* the contour map is the union of the instances' boundary pixels, cell by cell */
        cells = realloc(cells, (size_t)t.hc * t.wc * sizeof *cells);
        memset(cells, 0, (size_t)t.hc * t.wc * sizeof *cells);
        for (int k = 0; k < s.n_instances; k++) {
            cr_assert_geq(contour_boundary(s.instances[k].mask, H, W, NULL, bnd), 0);
            for (int p = 0; p < H * W; p++)
                if (bnd[p])
                    cells[(p / W) / 8 * t.wc + (p % W) / 8] = 1;
        }
        cr_assert_eq(memcmp(cells, t.contour, (size_t)t.hc * t.wc * sizeof *cells), 0,
                     "image %d: contour map", img);

        /* rays against ray marching on the filled largest component, at every 3rd positive */
        int seen_pos = 0;
        for (int64_t f = 0; f < t.n; f++) {
            if (t.cls[f] < 0 || seen_pos++ % 3)
                continue;
            filled_largest(s.instances[t.owner[f]].mask, H, W, filled);
            double x, y;
            where(&t, H, W, f, &x, &y);
            for (int q = 0; q < 36; q++) {
                double sx, cy, last = -1;
                ray_dir(q, 36, &sx, &cy);
                for (double d = step; d < diag + 1; d += step) {
                    double px = x + d * sx, py = y + d * cy;
                    if (px < 0 || py < 0 || px > W || py > H)
                        break;
                    if (in_closure(filled, H, W, px, py))
                        last = d;
                }
                double v = t.rays[f * 36 + q];
                checked++;
                int ok = last < 0 ? v == t.cfg.ray_floor
                                  : v >= last - 1e-6 && v <= last + step + 1e-6;
                agree += ok;
                if (!ok && checked - agree <= 10)
                    cr_log_warn("image %d (%g, %g) ray %d: %g, ray marching %g", img, x, y, q,
                                v, last);
            }
        }
        free_run(&t);
        sample_free(&s);
    }
    cr_log_info("random images: %ld positives, %ld fallbacks, %ld rays checked by marching, "
                "%ld agree", positives, fallback, checked, agree);
    cr_assert_gt(checked, 2000);
    cr_assert_geq(agree, checked - checked / 1000, "%ld of %ld rays agree with ray marching",
                  agree, checked);
    free(filled), free(bnd), free(cells);
}

Test(polar_targets, config_grid_and_bad_input)
{
    check_config_and_grid();
    check_polygons_and_bad_input();
}

Test(polar_targets, rectangle_and_disc)
{
    check_rectangle();
    check_disc();
}

Test(polar_targets, levels_by_size_and_contour_map)
{
    check_levels_by_size();
    check_contour_map();
}
