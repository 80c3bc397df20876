/*
 * synth_domains.c - see synth_domains.h: Fashion-MNIST rendered as photo, hand drawing and
 * cartoon, with the silhouette as the salient-region mask.
 *
 * Layout of this file: small image helpers (upscale, blur, silhouette), contours as pixel chains
 * and edge chains, a stroke rasteriser (anti-aliased capsules, darkest wins), the three
 * renderers, and the import loop with its preview. Components and contour tracing are
 * geometry/contour.h's.
 */
#include "synth/synth_domains.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "curate/contact_sheet.h"
#include "base/err.h"
#include "codec/idx.h"
#include "codec/image.h"
#include "geometry/contour.h"
#include "import/import_internal.h"
#include "base/rng.h"
#include "curate/sketch_filter.h"
#include "store/store.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

const char *const SYNTH_DOMAIN_NAMES[SYNTH_N_DOMAINS] = {"photo", "hand_drawn", "cartoon"};
const char *const SYNTH_FMNIST_CLASSES[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

/* Stream tags: each domain draws from its own stream of (seed, index, tag). */
enum { TAG_DRAWING = 0x48414e44, TAG_CARTOON = 0x43415254, TAG_GAP = 0x47415053 };

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ---------------------------------------------------------------- image helpers */

/* Bilinear resize of a grey image to n x n (pixel centres aligned, edges clamped). */
static void upscale_bilinear(const uint8_t *src, int sh, int sw, float *dst, int n)
{
    for (int y = 0; y < n; y++) {
        double fy = clampd((y + 0.5) * sh / n - 0.5, 0, sh - 1);
        int y0 = (int)fy, y1 = y0 + 1 < sh ? y0 + 1 : y0;
        double wy = fy - y0;
        for (int x = 0; x < n; x++) {
            double fx = clampd((x + 0.5) * sw / n - 0.5, 0, sw - 1);
            int x0 = (int)fx, x1 = x0 + 1 < sw ? x0 + 1 : x0;
            double wx = fx - x0;
            double top = src[y0 * sw + x0] * (1 - wx) + src[y0 * sw + x1] * wx;
            double bot = src[y1 * sw + x0] * (1 - wx) + src[y1 * sw + x1] * wx;
            dst[y * n + x] = (float)(top * (1 - wy) + bot * wy);
        }
    }
}

/* [1 2 1]/4 blur in both directions, edges clamped; tmp has n * n floats. */
static void blur121(float *img, float *tmp, int n)
{
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            int xl = x > 0 ? x - 1 : x, xr = x < n - 1 ? x + 1 : x;
            tmp[y * n + x] = 0.25f * img[y * n + xl] + 0.5f * img[y * n + x] +
                             0.25f * img[y * n + xr];
        }
    for (int y = 0; y < n; y++) {
        int yu = y > 0 ? y - 1 : y, yd = y < n - 1 ? y + 1 : y;
        for (int x = 0; x < n; x++)
            img[y * n + x] = 0.25f * tmp[yu * n + x] + 0.5f * tmp[y * n + x] +
                             0.25f * tmp[yd * n + x];
    }
}

static const int DX8[8] = {1, 1, 0, -1, -1, -1, 0, 1}; /* E SE S SW W NW N NE: clockwise */
static const int DY8[8] = {0, 1, 1, 1, 0, -1, -1, -1};

int synth_silhouette(const uint8_t *grey, int n, uint8_t *mask)
{
    size_t np = (size_t)n * n;
    int32_t *lab = malloc(np * sizeof *lab);
    int *stack = malloc(np * sizeof *stack);
    uint8_t *seen = calloc(np, 1);
    contour_component *comp = NULL;
    if (!lab || !stack || !seen) {
        free(lab), free(stack), free(seen);
        return -1;
    }
    for (size_t p = 0; p < np; p++)
        mask[p] = grey[p] > SYNTH_MASK_THRESHOLD;
    /* drop specks */
    int k = contour_components(mask, n, n, NULL, lab, &comp);
    if (k < 0) {
        free(lab), free(stack), free(seen);
        return -1;
    }
    int64_t min_area = (int64_t)(np / 400) > 2 ? (int64_t)(np / 400) : 2;
    for (size_t p = 0; p < np; p++)
        if (lab[p] && comp[lab[p] - 1].pixels < min_area)
            mask[p] = 0;
    free(comp);
    /* fill holes: background 4-connected to the frame stays background */
    int top = 0;
    for (int i = 0; i < n; i++) {
        int edge[4] = {i, (n - 1) * n + i, i * n, i * n + n - 1};
        for (int e = 0; e < 4; e++)
            if (!mask[edge[e]] && !seen[edge[e]]) {
                seen[edge[e]] = 1;
                stack[top++] = edge[e];
            }
    }
    static const int DX4[4] = {1, -1, 0, 0}, DY4[4] = {0, 0, 1, -1};
    while (top > 0) {
        int q = stack[--top], qx = q % n, qy = q / n;
        for (int d = 0; d < 4; d++) {
            int nx = qx + DX4[d], ny = qy + DY4[d];
            if (nx < 0 || ny < 0 || nx >= n || ny >= n)
                continue;
            int m = ny * n + nx;
            if (!mask[m] && !seen[m]) {
                seen[m] = 1;
                stack[top++] = m;
            }
        }
    }
    for (size_t p = 0; p < np; p++)
        mask[p] = !seen[p];
    free(lab), free(stack), free(seen);
    return 0;
}

/* ---------------------------------------------------------------- contours and chains */

static int in_mask(const uint8_t *mask, int w, int h, int x, int y)
{
    return x >= 0 && y >= 0 && x < w && y < h && mask[y * w + x];
}

/* Append pixel (x, y) to the chain unless it repeats the last one. */
static void chain_push(synth_contour *c, int x, int y)
{
    if (c->n > 0 && c->xy[2 * c->n - 2] == x && c->xy[2 * c->n - 1] == y)
        return;
    c->xy[2 * c->n] = x, c->xy[2 * c->n + 1] = y, c->n++;
}

/* The boundary pixels along a traced outer contour (contour.h: pixel-edge vertices, clockwise on
 * screen, the component on the right-hand side), in order: each unit edge contributes the pixel
 * on its right (east: the pixel below it, south: the one to its left, west: above, north: to its
 * right), repeats in a row are dropped, and so is a return to the start at the end. This is the
 * chain Moore neighbour tracing gives: a pixel reached only through a corner is visited once per
 * pass, a one-pixel-wide part is walked there and back, a single pixel is a chain of one. */
static int boundary_chain(const polygon *poly, synth_contour *c)
{
    int64_t steps = 0;
    for (int i = 0; i < poly->n; i++) {
        int j = (i + 1) % poly->n;
        steps += (int64_t)(fabsf(poly->xy[2 * j] - poly->xy[2 * i]) +
                           fabsf(poly->xy[2 * j + 1] - poly->xy[2 * i + 1]));
    }
    c->n = 0;
    c->xy = malloc((size_t)(steps > 0 ? steps : 1) * 2 * sizeof *c->xy);
    if (!c->xy)
        return -1;
    for (int i = 0; i < poly->n; i++) {
        int j = (i + 1) % poly->n;
        int x = (int)poly->xy[2 * i], y = (int)poly->xy[2 * i + 1];
        int x1 = (int)poly->xy[2 * j], y1 = (int)poly->xy[2 * j + 1];
        int dx = (x1 > x) - (x1 < x), dy = (y1 > y) - (y1 < y);
        for (; x != x1 || y != y1; x += dx, y += dy)
            chain_push(c, dx > 0 ? x : dx < 0 ? x - 1 : dy > 0 ? x - 1 : x,
                       dx > 0 ? y : dx < 0 ? y - 1 : dy > 0 ? y : y - 1);
    }
    while (c->n > 1 && c->xy[2 * c->n - 2] == c->xy[0] && c->xy[2 * c->n - 1] == c->xy[1])
        c->n--;
    return 0;
}

int synth_trace_contours(const uint8_t *mask, int w, int h, synth_contour **out)
{
    *out = NULL;
    contour_component *comp = NULL;
    int k = contour_components(mask, h, w, NULL, NULL, &comp);
    if (k <= 0)
        return k;
    synth_contour *c = calloc((size_t)k, sizeof *c);
    if (!c) {
        free(comp);
        return -1;
    }
    for (int i = 0; i < k; i++) {
        polygon poly = {0, NULL};
        int rc = contour_trace_outer(mask, h, w, comp[i].first_x, comp[i].first_y, &poly);
        if (!rc)
            rc = boundary_chain(&poly, &c[i]);
        free(poly.xy);
        if (rc) {
            synth_contours_free(c, i + 1);
            free(comp);
            return -1;
        }
    }
    free(comp);
    *out = c;
    return k;
}

void synth_contours_free(synth_contour *c, int n)
{
    if (!c)
        return;
    for (int i = 0; i < n; i++)
        free(c[i].xy);
    free(c);
}

/* Chains of 8-connected pixels of the set e (n x n), walked from their ends (then closed loops),
 * into one flat list: chain j is pixels xy[start[j] .. start[j+1]). */
typedef struct {
    int n_chains;
    int *start; /* n_chains + 1 */
    int *xy;    /* 2 per pixel */
} chains;

static void chains_free(chains *c)
{
    free(c->start);
    free(c->xy);
    memset(c, 0, sizeof *c);
}

static int count_neighbours(const uint8_t *e, int n, int x, int y)
{
    int k = 0;
    for (int d = 0; d < 8; d++)
        k += in_mask(e, n, n, x + DX8[d], y + DY8[d]);
    return k;
}

static int link_chains(const uint8_t *e, int n, chains *out)
{
    memset(out, 0, sizeof *out);
    size_t np = (size_t)n * n;
    uint8_t *left = malloc(np);
    out->start = malloc((np + 1) * sizeof *out->start);
    out->xy = malloc(np * 2 * sizeof *out->xy);
    if (!left || !out->start || !out->xy) {
        free(left);
        chains_free(out);
        return -1;
    }
    memcpy(left, e, np);
    int at = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t p = 0; p < np; p++) {
            int x = (int)(p % n), y = (int)(p / n);
            if (!left[p] || (pass == 0 && count_neighbours(e, n, x, y) != 1))
                continue;
            out->start[out->n_chains++] = at;
            for (;;) {
                left[y * n + x] = 0;
                out->xy[2 * at] = x, out->xy[2 * at + 1] = y, at++;
                int next = -1;
                for (int d = 0; d < 8 && next < 0; d += 2) /* 4-neighbours first */
                    if (in_mask(left, n, n, x + DX8[d], y + DY8[d]))
                        next = d;
                for (int d = 1; d < 8 && next < 0; d += 2)
                    if (in_mask(left, n, n, x + DX8[d], y + DY8[d]))
                        next = d;
                if (next < 0)
                    break;
                x += DX8[next], y += DY8[next];
            }
        }
    out->start[out->n_chains] = at;
    free(left);
    return 0;
}

/* ---------------------------------------------------------------- strokes */

/* A darkest-wins ink canvas: 255 = paper. */
typedef struct {
    float *v;
    int n;
} canvas;

/* An anti-aliased capsule from (x0, y0) radius r0 to (x1, y1) radius r1 in ink level ink. */
static void capsule(canvas *cv, double x0, double y0, double r0, double x1, double y1, double r1,
                    double ink)
{
    double rmax = r0 > r1 ? r0 : r1;
    int bx0 = (int)floor(fmin(x0, x1) - rmax - 1), bx1 = (int)ceil(fmax(x0, x1) + rmax + 1);
    int by0 = (int)floor(fmin(y0, y1) - rmax - 1), by1 = (int)ceil(fmax(y0, y1) + rmax + 1);
    if (bx0 < 0) bx0 = 0;
    if (by0 < 0) by0 = 0;
    if (bx1 > cv->n - 1) bx1 = cv->n - 1;
    if (by1 > cv->n - 1) by1 = cv->n - 1;
    double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
    for (int y = by0; y <= by1; y++)
        for (int x = bx0; x <= bx1; x++) {
            double t = len2 > 0 ? ((x - x0) * dx + (y - y0) * dy) / len2 : 0;
            t = clampd(t, 0, 1);
            double qx = x0 + t * dx - x, qy = y0 + t * dy - y, r = r0 + t * (r1 - r0);
            double d2 = qx * qx + qy * qy;
            if (d2 >= (r + 0.5) * (r + 0.5))
                continue; /* no coverage */
            double cov = clampd(r + 0.5 - sqrt(d2), 0, 1);
            if (cov <= 0)
                continue;
            float v = (float)(255.0 - cov * (255.0 - ink));
            if (v < cv->v[y * cv->n + x])
                cv->v[y * cv->n + x] = v;
        }
}

/* Pen parameters at size 64 (scaled by size / 64). */
#define PEN_MIN_WIDTH 1.3
#define PEN_MAX_WIDTH 2.8
#define PEN_OFFSET 0.35   /* per-stroke shift, each axis, +- px */
#define PEN_WOBBLE1 0.45  /* slow wobble amplitude, px (max) */
#define PEN_WOBBLE2 0.2   /* fast wobble amplitude, px (max) */

/* Draw the polyline pts (m points, x y pairs, pixel centres) as one pen stroke: own width, offset,
 * wobble along the normal, pressure variation, tapered ends, a little overshoot. */
static void pen_stroke(canvas *cv, const double *pts, int m, double width, double ink,
                       double scale, prng *r)
{
    if (m < 1)
        return;
    double ox = prng_range(r, -PEN_OFFSET, PEN_OFFSET) * scale;
    double oy = prng_range(r, -PEN_OFFSET, PEN_OFFSET) * scale;
    double a1 = prng_range(r, 0.15, PEN_WOBBLE1) * scale, l1 = prng_range(r, 12, 30) * scale;
    double a2 = prng_range(r, 0.0, PEN_WOBBLE2) * scale, l2 = prng_range(r, 5, 10) * scale;
    double f1 = prng_range(r, 0, 2 * M_PI), f2 = prng_range(r, 0, 2 * M_PI);
    double fp = prng_range(r, 0, 2 * M_PI), lp = prng_range(r, 15, 40) * scale;
    double over0 = prng_range(r, 0, 2.0) * scale, over1 = prng_range(r, 0, 2.0) * scale;
    /* total length, for the taper */
    double total = 0;
    for (int i = 1; i < m; i++)
        total += hypot(pts[2 * i] - pts[2 * i - 2], pts[2 * i + 1] - pts[2 * i - 1]);
    double px = 0, py = 0, pr = 0, s = 0;
    for (int i = 0; i < m; i++) {
        if (i > 0)
            s += hypot(pts[2 * i] - pts[2 * i - 2], pts[2 * i + 1] - pts[2 * i - 1]);
        int a = i > 0 ? i - 1 : i, b = i < m - 1 ? i + 1 : i;
        double tx = pts[2 * b] - pts[2 * a], ty = pts[2 * b + 1] - pts[2 * a + 1];
        double tl = hypot(tx, ty);
        if (tl > 0)
            tx /= tl, ty /= tl;
        double disp = a1 * sin(2 * M_PI * s / l1 + f1) + a2 * sin(2 * M_PI * s / l2 + f2);
        double x = pts[2 * i] + ox - ty * disp, y = pts[2 * i + 1] + oy + tx * disp;
        double end = s < total - s ? s : total - s;
        double taper = 0.7 + 0.3 * clampd(end / (4 * scale), 0, 1);
        double rad = 0.5 * width * taper * (0.9 + 0.1 * sin(2 * M_PI * s / lp + fp));
        if (i == 0 && m > 1 && tl > 0) /* overshoot before the start */
            capsule(cv, x - tx * over0, y - ty * over0, rad * 0.8, x, y, rad, ink);
        if (i > 0)
            capsule(cv, px, py, pr, x, y, rad, ink);
        else if (m == 1)
            capsule(cv, x, y, rad, x, y, rad, ink);
        if (i == m - 1 && m > 1 && tl > 0)
            capsule(cv, x, y, rad, x + tx * over1, y + ty * over1, rad * 0.8, ink);
        px = x, py = y, pr = rad;
    }
}

static int on_frame(int x, int y, int n) { return x == 0 || y == 0 || x == n - 1 || y == n - 1; }

/* Smooth a closed contour (circular moving average over 5 points) into pts (2 * m doubles). */
static void smooth_closed(const synth_contour *c, double *pts)
{
    int m = c->n, w = m >= 10 ? 2 : 0;
    for (int i = 0; i < m; i++) {
        double sx = 0, sy = 0;
        for (int k = -w; k <= w; k++) {
            int j = ((i + k) % m + m) % m;
            sx += c->xy[2 * j], sy += c->xy[2 * j + 1];
        }
        pts[2 * i] = sx / (2 * w + 1), pts[2 * i + 1] = sy / (2 * w + 1);
    }
}

/* The outline of one contour as 1-4 overlapping strokes; stretches along the frame skipped (the
 * strokes run up to the frame). */
static int draw_outline(canvas *cv, const synth_contour *c, double ink, double scale, prng *r)
{
    int m = c->n, n = cv->n;
    double *pts = malloc((size_t)m * 2 * sizeof *pts);
    double *run = malloc((size_t)(m + 16) * 2 * sizeof *run);
    if (!pts || !run) {
        free(pts), free(run);
        return -1;
    }
    smooth_closed(c, pts);
    int k = 1 + (int)(m / (70 * scale)) + (int)prng_below(r, 2);
    if (k > 4)
        k = 4;
    if (k > m)
        k = 1;
    int offset = (int)prng_below(r, (uint64_t)m);
    for (int j = 0; j < k; j++) {
        /* stroke j covers [a - overlap, b + overlap) of the loop, starting at offset */
        int a = offset + (int)((int64_t)j * m / k), b = offset + (int)((int64_t)(j + 1) * m / k);
        int ov = k > 1 ? 2 + (int)prng_below(r, 3) : 0;
        if (k == 1)
            b = a + m + 1; /* one stroke closes the loop */
        double width = prng_range(r, PEN_MIN_WIDTH, PEN_MAX_WIDTH) * scale;
        int len = 0;
        for (int i = a - ov; i < b + ov; i++) {
            int q = ((i % m) + m) % m, qa = (q + m - 1) % m, qb = (q + 1) % m;
            if (on_frame(c->xy[2 * q], c->xy[2 * q + 1], n) &&
                on_frame(c->xy[2 * qa], c->xy[2 * qa + 1], n) &&
                on_frame(c->xy[2 * qb], c->xy[2 * qb + 1], n)) { /* inside a run on the frame */
                pen_stroke(cv, run, len, width, ink, scale, r);
                len = 0;
                continue;
            }
            run[2 * len] = pts[2 * q], run[2 * len + 1] = pts[2 * q + 1], len++;
        }
        pen_stroke(cv, run, len, width, ink, scale, r);
    }
    free(pts), free(run);
    return 0;
}

#define MAX_INNER_STROKES 10

/* Inner edges of the grey image g (blurred) inside the silhouette eroded by a few pixels:
 * Sobel, non-maximum suppression, hysteresis; linked into chains and drawn as thinner strokes. */
static int draw_inner_edges(canvas *cv, const float *g, const uint8_t *mask, double ink,
                            double scale, prng *r)
{
    int n = cv->n;
    size_t np = (size_t)n * n;
    float *mag = calloc(np, sizeof *mag);
    uint8_t *dirq = calloc(np, 1), *inner = malloc(np), *tmp = malloc(np);
    uint8_t *edge = calloc(np, 1);
    int *stack = malloc(np * sizeof *stack);
    chains ch = {0};
    int rc = -1;
    if (!mag || !dirq || !inner || !tmp || !edge || !stack)
        goto done;
    /* erode the mask by e pixels (square) */
    memcpy(inner, mask, np);
    int e = (int)lround(3 * scale);
    for (int it = 0; it < e; it++) {
        memcpy(tmp, inner, np);
        memset(inner, 0, np); /* the frame erodes (outside the image is not in the mask) */
        for (int y = 1; y < n - 1; y++)
            for (int x = 1; x < n - 1; x++) {
                const uint8_t *t = tmp + (size_t)y * n + x;
                inner[y * n + x] = t[0] && t[-1] && t[1] && t[-n] && t[n] && t[-n - 1] &&
                                   t[-n + 1] && t[n - 1] && t[n + 1];
            }
    }
    float maxmag = 0;
    for (int y = 1; y < n - 1; y++)
        for (int x = 1; x < n - 1; x++) {
            if (!inner[y * n + x])
                continue;
#define G(dx, dy) g[(y + (dy)) * n + x + (dx)]
            double gx = G(1, -1) + 2 * G(1, 0) + G(1, 1) - G(-1, -1) - 2 * G(-1, 0) - G(-1, 1);
            double gy = G(-1, 1) + 2 * G(0, 1) + G(1, 1) - G(-1, -1) - 2 * G(0, -1) - G(1, -1);
#undef G
            float m = (float)hypot(gx, gy);
            mag[y * n + x] = m;
            double ang = atan2(gy, gx) * 180 / M_PI;
            if (ang < 0)
                ang += 180;
            dirq[y * n + x] = (uint8_t)(((int)((ang + 22.5) / 45)) % 4); /* 0 E, 1 SE, 2 S, 3 SW */
            if (m > maxmag)
                maxmag = m;
        }
    double high = 0.35 * maxmag > 110 ? 0.35 * maxmag : 110, low = 0.5 * high;
    static const int NX[4] = {1, 1, 0, -1}, NY[4] = {0, 1, 1, 1};
    int top = 0;
    for (int y = 1; y < n - 1; y++)
        for (int x = 1; x < n - 1; x++) {
            size_t p = (size_t)y * n + x;
            float m = mag[p];
            if (m < low)
                continue;
            int q = dirq[p];
            if (m < mag[p + NY[q] * n + NX[q]] || m < mag[p - NY[q] * n - NX[q]])
                continue;
            edge[p] = 1; /* weak */
            if (m >= high) {
                edge[p] = 2;
                stack[top++] = (int)p;
            }
        }
    while (top > 0) { /* hysteresis: weak pixels connected to strong ones */
        int p = stack[--top], x = p % n, y = p / n;
        for (int d = 0; d < 8; d++) {
            int nx = x + DX8[d], ny = y + DY8[d];
            if (nx < 0 || ny < 0 || nx >= n || ny >= n || edge[ny * n + nx] != 1)
                continue;
            edge[ny * n + nx] = 2;
            stack[top++] = ny * n + nx;
        }
    }
    for (size_t p = 0; p < np; p++)
        edge[p] = edge[p] == 2;
    if (link_chains(edge, n, &ch))
        goto done;
    int min_len = (int)(7 * scale) > 5 ? (int)(7 * scale) : 5;
    double *pts = malloc(np * 2 * sizeof *pts);
    if (!pts)
        goto done;
    /* the longest chains first, at most MAX_INNER_STROKES of them */
    int *order = malloc(((size_t)ch.n_chains + 1) * sizeof *order), kept = 0;
    if (!order) {
        free(pts);
        goto done;
    }
    for (int j = 0; j < ch.n_chains; j++)
        if (ch.start[j + 1] - ch.start[j] >= min_len)
            order[kept++] = j;
    for (int i = 1; i < kept; i++) /* insertion sort by length, longest first, stable */
        for (int j = i; j > 0 && ch.start[order[j] + 1] - ch.start[order[j]] >
                                     ch.start[order[j - 1] + 1] - ch.start[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    if (kept > MAX_INNER_STROKES)
        kept = MAX_INNER_STROKES;
    for (int o = 0; o < kept; o++) {
        int j = order[o], a = ch.start[j], len = ch.start[j + 1] - a;
        for (int i = 0; i < len; i++) { /* moving average over 3 points */
            int i0 = i > 0 ? i - 1 : i, i1 = i < len - 1 ? i + 1 : i;
            pts[2 * i] = (ch.xy[2 * (a + i0)] + ch.xy[2 * (a + i)] + ch.xy[2 * (a + i1)]) / 3.0;
            pts[2 * i + 1] = (ch.xy[2 * (a + i0) + 1] + ch.xy[2 * (a + i) + 1] +
                              ch.xy[2 * (a + i1) + 1]) / 3.0;
        }
        double width = prng_range(r, 1.2, 2.0) * scale;
        pen_stroke(cv, pts, len, width, ink, scale, r);
    }
    free(order);
    free(pts);
    rc = 0;
done:
    chains_free(&ch);
    free(mag), free(dirq), free(inner), free(tmp), free(edge), free(stack);
    return rc;
}

/* ---------------------------------------------------------------- the three renderers */

static void render_photo(const float *up, int n, uint8_t *rgb)
{
    for (int p = 0; p < n * n; p++) {
        uint8_t v = (uint8_t)lround(clampd(up[p], 0, 255));
        rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = v;
    }
}

static int render_drawing(const float *g, const uint8_t *mask, int n, double scale, prng *r,
                          uint8_t *rgb)
{
    canvas cv = {malloc((size_t)n * n * sizeof(float)), n};
    if (!cv.v)
        return -1;
    for (int p = 0; p < n * n; p++)
        cv.v[p] = 255;
    double ink = prng_range(r, 10, 60);
    synth_contour *c = NULL;
    int k = synth_trace_contours(mask, n, n, &c);
    int rc = k < 0 ? -1 : 0;
    for (int i = 0; i < k && rc == 0; i++)
        rc = draw_outline(&cv, &c[i], ink, scale, r);
    synth_contours_free(c, k);
    if (rc == 0)
        rc = draw_inner_edges(&cv, g, mask, ink, scale, r);
    for (int p = 0; p < n * n; p++) {
        uint8_t v = (uint8_t)lround(clampd(cv.v[p], 0, 255));
        rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = v;
    }
    free(cv.v);
    return rc;
}

static void hsv_to_rgb(double h, double s, double v, uint8_t out[3])
{
    h = fmod(h, 360);
    if (h < 0)
        h += 360;
    double c = v * s, x = c * (1 - fabs(fmod(h / 60, 2) - 1)), m = v - c;
    double r = 0, g = 0, b = 0;
    switch ((int)(h / 60) % 6) {
    case 0: r = c, g = x; break;
    case 1: r = x, g = c; break;
    case 2: g = c, b = x; break;
    case 3: g = x, b = c; break;
    case 4: r = x, b = c; break;
    default: r = c, b = x; break;
    }
    out[0] = (uint8_t)lround((r + m) * 255);
    out[1] = (uint8_t)lround((g + m) * 255);
    out[2] = (uint8_t)lround((b + m) * 255);
}

#define MAX_LEVELS 4

/* Grey-level centres of the mask's pixels: 1-D k-means on the histogram, started at quantiles;
 * centres closer than 14 levels merge. Returns the number of levels (1..k). */
static int grey_levels(const float *g, const uint8_t *mask, int n, int k, double *centre)
{
    double hist[256] = {0}, total = 0;
    for (int p = 0; p < n * n; p++)
        if (mask[p]) {
            hist[(int)clampd(g[p], 0, 255)] += 1;
            total += 1;
        }
    if (total == 0)
        return 0;
    for (int j = 0, b = 0; j < k; j++) { /* quantile starts */
        double want = total * (j + 0.5) / k, acc = 0;
        for (b = 0; b < 256; b++)
            if ((acc += hist[b]) >= want)
                break;
        centre[j] = b;
    }
    for (int it = 0; it < 12; it++) {
        double sum[MAX_LEVELS] = {0}, cnt[MAX_LEVELS] = {0};
        for (int b = 0; b < 256; b++) {
            if (hist[b] == 0)
                continue;
            int best = 0;
            for (int j = 1; j < k; j++)
                if (fabs(b - centre[j]) < fabs(b - centre[best]))
                    best = j;
            sum[best] += b * hist[b], cnt[best] += hist[b];
        }
        for (int j = 0; j < k; j++)
            if (cnt[j] > 0)
                centre[j] = sum[j] / cnt[j];
    }
    /* sort, then merge near ones */
    for (int i = 1; i < k; i++)
        for (int j = i; j > 0 && centre[j] < centre[j - 1]; j--) {
            double t = centre[j];
            centre[j] = centre[j - 1], centre[j - 1] = t;
        }
    int m = 1;
    for (int j = 1; j < k; j++)
        if (centre[j] - centre[m - 1] >= 14)
            centre[m++] = centre[j];
    return m;
}

/* Regions (4-connected pixels of one level inside the mask) smaller than min_area take the
 * level most of their neighbours have. */
static int merge_small_regions(uint8_t *lv, const uint8_t *mask, int n, int k, int min_area)
{
    size_t np = (size_t)n * n;
    uint8_t *seen = calloc(np, 1);
    int *region = malloc(np * sizeof *region);
    if (!seen || !region) {
        free(seen), free(region);
        return -1;
    }
    static const int DX4[4] = {1, -1, 0, 0}, DY4[4] = {0, 0, 1, -1};
    for (size_t p0 = 0; p0 < np; p0++) {
        if (!mask[p0] || seen[p0])
            continue;
        int len = 0, head = 0, votes[MAX_LEVELS] = {0};
        uint8_t level = lv[p0];
        region[len++] = (int)p0;
        seen[p0] = 1;
        while (head < len) {
            int p = region[head++], x = p % n, y = p / n;
            for (int d = 0; d < 4; d++) {
                int qx = x + DX4[d], qy = y + DY4[d], q = qy * n + qx;
                if (!in_mask(mask, n, n, qx, qy))
                    continue;
                if (lv[q] != level)
                    votes[lv[q]]++;
                else if (!seen[q]) {
                    seen[q] = 1;
                    region[len++] = q;
                }
            }
        }
        if (len >= min_area)
            continue;
        int best = -1;
        for (int j = 0; j < k; j++)
            if (votes[j] > 0 && (best < 0 || votes[j] > votes[best]))
                best = j;
        if (best >= 0)
            for (int i = 0; i < len; i++)
                lv[region[i]] = (uint8_t)best;
    }
    free(seen), free(region);
    return 0;
}

static int render_cartoon(const float *g, const uint8_t *mask, int n, double scale, prng *r,
                          uint8_t *rgb)
{
    size_t np = (size_t)n * n;
    uint8_t *lv = malloc(np), *tmp = malloc(np);
    if (!lv || !tmp) {
        free(lv), free(tmp);
        return -1;
    }
    double centre[MAX_LEVELS];
    int k = grey_levels(g, mask, n, 2 + (int)prng_below(r, 3), centre);
    for (size_t p = 0; p < np; p++) {
        int best = 0;
        for (int j = 1; j < k; j++)
            if (fabs(g[p] - centre[j]) < fabs(g[p] - centre[best]))
                best = j;
        lv[p] = mask[p] ? (uint8_t)best : 255;
    }
    /* majority filter (3x3, inside the silhouette), twice */
    for (int it = 0; it < 2; it++) {
        memcpy(tmp, lv, np);
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++) {
                if (!mask[y * n + x])
                    continue;
                int votes[MAX_LEVELS] = {0};
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                        if (in_mask(mask, n, n, x + dx, y + dy))
                            votes[tmp[(y + dy) * n + x + dx]]++;
                int best = tmp[y * n + x];
                for (int j = 0; j < k; j++)
                    if (votes[j] > votes[best])
                        best = j;
                lv[y * n + x] = (uint8_t)best;
            }
    }
    if (merge_small_regions(lv, mask, n, k, (int)(np / 150) > 6 ? (int)(np / 150) : 6)) {
        free(lv), free(tmp);
        return -1;
    }
    /* palette: hues around a base, darker colours for darker greys */
    uint8_t col[MAX_LEVELS][3], bg[3], line[3];
    double hue = prng_range(r, 0, 360), step = prng_range(r, 25, 70);
    if (prng_chance(r, 0.5))
        step = -step;
    double sat = prng_range(r, 0.55, 0.9);
    for (int j = 0; j < k; j++) {
        double v = k > 1 ? 0.5 + 0.45 * j / (k - 1) : 0.85;
        hsv_to_rgb(hue + j * step, sat, clampd(v + prng_range(r, -0.05, 0.05), 0, 1), col[j]);
    }
    hsv_to_rgb(prng_range(r, 0, 360), prng_range(r, 0.06, 0.18), prng_range(r, 0.95, 1.0), bg);
    hsv_to_rgb(hue, 0.5, prng_range(r, 0.08, 0.18), line);
    /* bold outline: pixels within r_in (inside) / r_out (outside) of a pixel of the other
     * side, found from the pixels next to the edge (the nearest pixel of the other side always
     * is one) */
    double r_in = 1.5 * scale, r_out = 1.0 * scale;
    double lim2_in = r_in * r_in + 1e-9, lim2_out = r_out * r_out + 1e-9;
    int win = (int)ceil(r_in > r_out ? r_in : r_out);
    uint8_t *bold = tmp;
    memset(bold, 0, np);
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            int q = y * n + x, side = mask[q];
            if (!((x > 0 && mask[q - 1] != side) || (x < n - 1 && mask[q + 1] != side) ||
                  (y > 0 && mask[q - n] != side) || (y < n - 1 && mask[q + n] != side)))
                continue;
            for (int dy = -win; dy <= win; dy++)
                for (int dx = -win; dx <= win; dx++) {
                    int px = x + dx, py = y + dy;
                    if (px < 0 || py < 0 || px >= n || py >= n || mask[py * n + px] == side)
                        continue;
                    if (dx * dx + dy * dy <= (side ? lim2_out : lim2_in))
                        bold[py * n + px] = 1;
                }
        }
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            int p = y * n + x;
            const uint8_t *c = mask[p] ? col[lv[p]] : bg;
            if (bold[p])
                c = line;
            else if (mask[p] && ((x + 1 < n && mask[p + 1] && lv[p + 1] != lv[p]) ||
                                 (y + 1 < n && mask[p + n] && lv[p + n] != lv[p])))
                c = line; /* thin line between flat regions */
            memcpy(rgb + 3 * p, c, 3);
        }
    free(lv), free(tmp);
    return 0;
}

/* ---------------------------------------------------------------- one item */

void synth_item_free(synth_item *it)
{
    if (!it)
        return;
    free(it->mask);
    for (int d = 0; d < SYNTH_N_DOMAINS; d++)
        free(it->image[d]);
    memset(it, 0, sizeof *it);
}

int synth_render_item(const uint8_t *src, int src_h, int src_w, int size, uint64_t seed,
                      int64_t index, synth_item *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (size < SYNTH_MIN_SIZE || size > SYNTH_MAX_SIZE || src_h <= 0 || src_w <= 0 || !src)
        return err_fail(err, errlen, "synth: size %d out of range [%d, %d]", size, SYNTH_MIN_SIZE,
                    SYNTH_MAX_SIZE);
    size_t np = (size_t)size * size;
    float *up = malloc(np * sizeof *up), *g = malloc(np * sizeof *g);
    float *tmp = malloc(np * sizeof *tmp);
    uint8_t *grey = malloc(np);
    out->size = size;
    out->mask = malloc(np);
    for (int d = 0; d < SYNTH_N_DOMAINS; d++)
        out->image[d] = malloc(np * 3);
    int ok = up && g && tmp && grey && out->mask && out->image[0] && out->image[1] && out->image[2];
    if (ok) {
        double scale = size / 64.0;
        upscale_bilinear(src, src_h, src_w, up, size);
        for (size_t p = 0; p < np; p++)
            grey[p] = (uint8_t)lround(clampd(up[p], 0, 255));
        ok = synth_silhouette(grey, size, out->mask) == 0;
        memcpy(g, up, np * sizeof *g);
        blur121(g, tmp, size);
        render_photo(up, size, out->image[SYNTH_PHOTO]);
        prng r;
        uint64_t kd[3] = {seed, (uint64_t)index, TAG_DRAWING};
        prng_seed_keys(&r, kd, 3);
        ok = ok && render_drawing(g, out->mask, size, scale, &r, out->image[SYNTH_HAND_DRAWN]) == 0;
        uint64_t kc[3] = {seed, (uint64_t)index, TAG_CARTOON};
        prng_seed_keys(&r, kc, 3);
        if (ok)
            blur121(g, tmp, size); /* flatter regions for the cartoon */
        ok = ok && render_cartoon(g, out->mask, size, scale, &r, out->image[SYNTH_CARTOON]) == 0;
    }
    free(up), free(g), free(tmp), free(grey);
    if (!ok) {
        synth_item_free(out);
        return err_fail(err, errlen, "synth: out of memory");
    }
    return 0;
}

/* ---------------------------------------------------------------- the data set */

#define PREVIEW_ITEMS 10 /* columns: one per class */

static int put_preview(contact_sheet *sheet, int col, const synth_item *it, uint8_t *maskrgb)
{
    int n = it->size;
    for (int d = 0; d < SYNTH_N_DOMAINS; d++)
        contact_sheet_put(sheet, d, col, it->image[d], n, n, 3);
    for (int p = 0; p < n * n; p++)
        maskrgb[p] = it->mask[p] ? 255 : 0;
    contact_sheet_put(sheet, SYNTH_N_DOMAINS, col, maskrgb, n, n, 1);
    return 0;
}

/* Validation data: a gap of a fraction from the 5% grid [0, max] cut into the item's hand
 * drawing. Returns the fraction, or -2 on out of memory. */
static double cut_gap(synth_item *it, uint64_t seed, int64_t index, double max)
{
    prng r;
    uint64_t keys[3] = {seed, (uint64_t)index, TAG_GAP};
    prng_seed_keys(&r, keys, 3);
    int levels = (int)floor(max / 0.05 + 1e-9) + 1;
    double gap = 0.05 * (double)prng_below(&r, (uint64_t)levels);
    int reach = (int)lround(4.0 * it->size / 64.0);
    if (sketch_cut_gap(it->image[SYNTH_HAND_DRAWN], 3, it->mask, it->size, it->size, gap,
                       prng_next(&r), reach < 4 ? 4 : reach) < 0)
        return -2;
    return gap;
}

/* Rendering runs on every core, RENDER_BLOCK items at a time; items are written in order, and
 * each item's pixels depend only on (seed, index), so the output does not depend on threads. */
#define RENDER_BLOCK 128
#define MAX_RENDER_THREADS 8

typedef struct {
    const uint8_t *pix;
    int sh, sw, size;
    uint64_t seed;
    int64_t first, count;
    int thread, n_threads;
    synth_item *items; /* count, shared by the workers of a block */
    int failed;
    char err[256];
} render_job;

static void *render_worker(void *arg)
{
    render_job *j = arg;
    for (int64_t k = j->thread; k < j->count && !j->failed; k += j->n_threads)
        if (synth_render_item(j->pix + (size_t)(j->first + k) * j->sh * j->sw, j->sh, j->sw,
                              j->size, j->seed, j->first + k, &j->items[k], j->err,
                              sizeof j->err))
            j->failed = 1;
    return NULL;
}

static int render_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_RENDER_THREADS ? MAX_RENDER_THREADS : (int)n;
}

/* Render items [first, first + count) into items (all empty on failure). */
static int render_block(const uint8_t *pix, int sh, int sw, int size, uint64_t seed,
                        int64_t first, int64_t count, int n_threads, synth_item *items,
                        char *err, size_t errlen)
{
    render_job job[MAX_RENDER_THREADS];
    pthread_t tid[MAX_RENDER_THREADS];
    int started[MAX_RENDER_THREADS] = {0};
    memset(items, 0, (size_t)count * sizeof *items);
    for (int t = 0; t < n_threads; t++) {
        job[t] = (render_job){.pix = pix, .sh = sh, .sw = sw, .size = size, .seed = seed,
                              .first = first, .count = count, .thread = t,
                              .n_threads = n_threads, .items = items};
        job[t].err[0] = 0;
        if (t > 0)
            started[t] = pthread_create(&tid[t], NULL, render_worker, &job[t]) == 0;
    }
    render_worker(&job[0]);
    for (int t = 1; t < n_threads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            render_worker(&job[t]); /* no thread: do its share here */
    }
    for (int t = 0; t < n_threads; t++)
        if (job[t].failed) {
            err_fail(err, errlen, "%s", job[t].err);
            for (int64_t k = 0; k < count; k++)
                synth_item_free(&items[k]);
            return -1;
        }
    return 0;
}

static int append_domain(store_writer *w, const synth_item *it, int d, int label, int64_t group,
                         char *err, size_t errlen)
{
    sample s;
    sample_init(&s);
    s.h = s.w = it->size;
    s.c = 3;
    s.image = it->image[d]; /* borrowed */
    s.mask = it->mask;
    s.label = label;
    s.domain = d;
    s.group = group;
    return store_append(w, &s, err, errlen);
}

int synth_fmnist_domains(const synth_fmnist_options *o, import_report *rep, char *err,
                         size_t errlen)
{
    memset(rep, 0, sizeof *rep);
    const import_common *c = &o->common;
    int size = o->size ? o->size : SYNTH_DEFAULT_SIZE;
    if (!c->out) {
        err_fail(err, errlen, "synth fmnist-domains: no output file (--out)");
        return IMPORT_USER_ERROR;
    }
    if (!(o->cut_gaps >= 0 && o->cut_gaps <= 1)) {
        err_fail(err, errlen, "synth fmnist-domains: gap fraction %g out of range [0, 1]",
             o->cut_gaps);
        return IMPORT_USER_ERROR;
    }
    if (size < SYNTH_MIN_SIZE || size > SYNTH_MAX_SIZE) {
        err_fail(err, errlen, "synth fmnist-domains: --size %d out of range [%d, %d]", size,
             SYNTH_MIN_SIZE, SYNTH_MAX_SIZE);
        return IMPORT_USER_ERROR;
    }
    idx_array img = {0}, lab = {0};
    if (idx_load_fashion_mnist(o->dir, o->train, &img, &lab, err, errlen))
        return IMPORT_USER_ERROR;
    int64_t n = img.dims[0];
    if (c->limit > 0 && c->limit < n)
        n = c->limit;
    int sh = (int)img.dims[1], sw = (int)img.dims[2];
    char source[512];
    snprintf(source, sizeof source, "synth fmnist-domains: fashion-mnist %s, %lld items, seed "
             "%llu, size %d, %s", o->train ? "train" : "test", (long long)n,
             (unsigned long long)o->seed, size,
             o->one_domain_per_item ? "one domain per item (i % 3)" : "all three domains per item");
    store_options so = {.images = STORE_RAW, .channels = 3, .height = size, .width = size,
                        .annotations = STORE_MASK, .masks = STORE_RAW, .source = source};
    int rc = IMPORT_OK;
    contact_sheet *sheet = NULL;
    uint8_t *maskrgb = NULL;
    store_writer *w = store_create(c->out, &so, err, errlen);
    if (!w) {
        rc = IMPORT_USER_ERROR;
        goto done;
    }
    if (store_set_class_names(w, SYNTH_FMNIST_CLASSES, 10, err, errlen) ||
        store_set_domain_names(w, SYNTH_DOMAIN_NAMES, SYNTH_N_DOMAINS, err, errlen)) {
        rc = IMPORT_INTERNAL_ERROR;
        goto done;
    }
    rep->n_classes = 10;
    rep->n_domains = SYNTH_N_DOMAINS;
    if (o->preview) {
        int tile = size < 96 ? 2 * size : size;
        sheet = contact_sheet_new(SYNTH_N_DOMAINS + 1, PREVIEW_ITEMS, tile, 4);
        maskrgb = malloc((size_t)size * size);
        if (!sheet || !maskrgb) {
            err_fail(err, errlen, "synth fmnist-domains: out of memory");
            rc = IMPORT_INTERNAL_ERROR;
            goto done;
        }
    }
    const uint8_t *pix = img.data, *labels = lab.data;
    int shown[PREVIEW_ITEMS] = {0};
    synth_item *block = calloc(RENDER_BLOCK, sizeof *block);
    if (!block) {
        err_fail(err, errlen, "synth fmnist-domains: out of memory");
        rc = IMPORT_INTERNAL_ERROR;
        goto done;
    }
    FILE *gaps = NULL;
    char *gaps_text = NULL;
    size_t gaps_len = 0;
    if (o->cut_gaps > 0 && o->gaps_csv) {
        if (!(gaps = open_memstream(&gaps_text, &gaps_len))) {
            err_fail(err, errlen, "synth fmnist-domains: out of memory");
            rc = IMPORT_INTERNAL_ERROR;
        } else {
            fprintf(gaps, "index,source_item,gap\n");
        }
    }
    int threads = render_threads();
    for (int64_t first = 0; first < n && rc == IMPORT_OK && !imp_cancelled(c);
         first += RENDER_BLOCK) {
        int64_t count = n - first < RENDER_BLOCK ? n - first : RENDER_BLOCK;
        if (render_block(pix, sh, sw, size, o->seed, first, count, threads, block, err,
                         errlen)) {
            rc = IMPORT_INTERNAL_ERROR;
            break;
        }
        for (int64_t k = 0; k < count && rc == IMPORT_OK; k++) {
            int64_t i = first + k;
            const synth_item *it = &block[k];
            rep->seen++;
            double gap = o->cut_gaps > 0 ? cut_gap(&block[k], o->seed, i, o->cut_gaps) : -1;
            if (gap < -1) {
                err_fail(err, errlen, "synth fmnist-domains: out of memory");
                rc = IMPORT_INTERNAL_ERROR;
            }
            for (int d = 0; d < SYNTH_N_DOMAINS && rc == IMPORT_OK; d++) {
                if (o->one_domain_per_item && d != (int)(i % SYNTH_N_DOMAINS))
                    continue;
                if (d == SYNTH_HAND_DRAWN && gaps)
                    fprintf(gaps, "%lld,%lld,%.2f\n", (long long)rep->written, (long long)i, gap);
                if (append_domain(w, it, d, labels[i], i, err, errlen))
                    rc = IMPORT_INTERNAL_ERROR;
                else
                    rep->written++;
            }
            if (sheet && labels[i] < PREVIEW_ITEMS && !shown[labels[i]]) {
                shown[labels[i]] = 1;
                put_preview(sheet, labels[i], it, maskrgb);
            }
            imp_progress(c, "synth fmnist-domains", i + 1, n);
        }
        for (int64_t k = 0; k < count; k++)
            synth_item_free(&block[k]);
    }
    free(block);
    if (gaps)
        fclose(gaps);
    imp_progress_end(c, "synth fmnist-domains", rep->seen, n);
    if (rc == IMPORT_OK && imp_cancelled(c)) {
        err_fail(err, errlen, "%s: interrupted; nothing written", c->out);
        rc = IMPORT_CANCELLED;
    }
    if (rc == IMPORT_OK && rep->written == 0) {
        err_fail(err, errlen, "%s: no item to write; nothing written", c->out);
        rc = IMPORT_USER_ERROR;
    }
    if (rc == IMPORT_OK && sheet && contact_sheet_write(sheet, o->preview, err, errlen))
        rc = IMPORT_USER_ERROR;
    if (rc == IMPORT_OK && gaps_text &&
        image_write_file_atomic(o->gaps_csv, gaps_text, gaps_len, err, errlen))
        rc = IMPORT_USER_ERROR;
    free(gaps_text);
    if (rc == IMPORT_OK) {
        rc = store_commit(w, err, errlen) ? IMPORT_INTERNAL_ERROR : IMPORT_OK;
        w = NULL;
    }
done:
    store_abort(w);
    contact_sheet_free(sheet);
    free(maskrgb);
    idx_free(&img);
    idx_free(&lab);
    return rc;
}
