/*
 * synth_instances.c - see synth_instances.h: synthetic multi-instance scenes (shapes, and
 * Fashion-MNIST items on a canvas) and the data sets built from them.
 *
 * Layout of this file: colours and textures, the scene builder (an owner map: which object is
 * on top at each pixel, and the placement rule that limits occlusion), the shape geometry, the
 * canvas items, painting a finished scene, and the data set loop with its preview.
 */
#include "synth/synth_instances.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "curate/contact_sheet.h"
#include "base/err.h"
#include "codec/idx.h"
#include "import/import_internal.h"
#include "geometry/raster.h"
#include "base/rng.h"
#include "store/store.h"
#include "synth/synth_domains.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

const char *const SYNTH_SHAPE_CLASSES[SYNTH_N_SHAPES] = {
    "ellipse", "rectangle", "triangle", "star", "cross", "ring", "crescent",
};

/* Stream tags: the kind and the split are part of every scene's keys. */
enum { TAG_SHAPES = 0x53484150, TAG_CANVAS = 0x43414e56, SPLIT_TRAIN = 1, SPLIT_TEST = 2 };

/* Placement tries per object before it is left out. */
#define PLACE_TRIES 12
/* Colour draws per object when looking for one far enough from its surroundings. */
#define COLOUR_TRIES 24

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

static int randint(prng *r, int lo, int hi) /* uniform in [lo, hi] */
{
    return hi <= lo ? lo : lo + (int)prng_below(r, (uint64_t)(hi - lo + 1));
}

/* ---------------------------------------------------------------- colours and textures */

static void hsv_to_rgb(double h, double s, double v, double out[3])
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
    out[0] = (r + m) * 255, out[1] = (g + m) * 255, out[2] = (b + m) * 255;
}

static double luma(const double c[3]) { return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]; }

/* How far apart two colours look in the image that will be stored: RGB distance, or the luma
 * difference for grey images. */
static double colour_distance(const double a[3], const double b[3], int channels)
{
    if (channels == 1)
        return fabs(luma(a) - luma(b));
    double d0 = a[0] - b[0], d1 = a[1] - b[1], d2 = a[2] - b[2];
    return sqrt(d0 * d0 + d1 * d1 + d2 * d2);
}

/* Wanted distances of an object's colour from the background's and from other objects'. */
static double min_distance_background(int channels) { return channels == 1 ? 60 : 100; }
static double min_distance_object(int channels) { return channels == 1 ? 35 : 60; }

typedef enum { TEX_FLAT, TEX_STRIPES, TEX_GRADIENT, TEX_NOISE, TEX_CHECKER } texture_kind;

#define NOISE_GRID_MAX 8

/* colour(x, y) = base + delta * t(x, y) + grain * hash noise, with t in [-1, 1]. */
typedef struct {
    texture_kind kind;
    double base[3], delta[3];
    double ox, oy;       /* origin (object centre or image centre) */
    double ux, uy;       /* unit direction of stripes, gradient and checker */
    double period;       /* stripes, checker cells */
    double phase;
    double extent;       /* half-length of the gradient, half-side of the noise domain */
    int grid;            /* noise: grid x grid random values over [o - extent, o + extent]^2 */
    float noise[NOISE_GRID_MAX * NOISE_GRID_MAX];
    double grain;        /* amplitude of per-pixel noise */
} texture;

static void random_direction(prng *r, double *ux, double *uy)
{
    double a = prng_range(r, 0, 2 * M_PI);
    *ux = cos(a), *uy = sin(a);
}

/* A random vector in RGB of the given length. */
static void random_delta(prng *r, double length, double delta[3])
{
    double v[3], n = 0;
    do {
        n = 0;
        for (int k = 0; k < 3; k++) {
            v[k] = prng_range(r, -1, 1);
            n += v[k] * v[k];
        }
    } while (n < 1e-3);
    n = sqrt(n);
    for (int k = 0; k < 3; k++)
        delta[k] = v[k] / n * length;
}

/* The pattern of a texture (its colours are set by the caller). */
static void texture_pattern(prng *r, texture *t, texture_kind kind, double ox, double oy,
                            double extent, double period)
{
    t->kind = kind;
    t->ox = ox, t->oy = oy;
    t->extent = extent > 1 ? extent : 1;
    t->period = period > 2 ? period : 2;
    t->phase = prng_range(r, 0, 2 * M_PI);
    random_direction(r, &t->ux, &t->uy);
    t->grid = 0;
    if (kind == TEX_NOISE) {
        t->grid = randint(r, 3, NOISE_GRID_MAX);
        for (int k = 0; k < t->grid * t->grid; k++)
            t->noise[k] = (float)prng_range(r, -1, 1);
    }
}

static double smoothstep(double f) { return f * f * (3 - 2 * f); }

static double texture_t(const texture *t, double x, double y)
{
    double dx = x - t->ox, dy = y - t->oy, u = dx * t->ux + dy * t->uy;
    switch (t->kind) {
    case TEX_STRIPES:
        return clampd(2 * sin(2 * M_PI * u / t->period + t->phase), -1, 1);
    case TEX_GRADIENT:
        return clampd(u / t->extent, -1, 1);
    case TEX_CHECKER: {
        double v = -dx * t->uy + dy * t->ux;
        long k = (long)floor(u / t->period) + (long)floor(v / t->period);
        return (k & 1) ? 1 : -1;
    }
    case TEX_NOISE: {
        int g = t->grid;
        double gx = clampd((dx / t->extent + 1) * 0.5 * (g - 1), 0, g - 1);
        double gy = clampd((dy / t->extent + 1) * 0.5 * (g - 1), 0, g - 1);
        int x0 = (int)gx < g - 1 ? (int)gx : g - 2, y0 = (int)gy < g - 1 ? (int)gy : g - 2;
        double fx = smoothstep(gx - x0), fy = smoothstep(gy - y0);
        const float *n = t->noise;
        double top = n[y0 * g + x0] * (1 - fx) + n[y0 * g + x0 + 1] * fx;
        double bot = n[(y0 + 1) * g + x0] * (1 - fx) + n[(y0 + 1) * g + x0 + 1] * fx;
        return clampd(1.6 * (top * (1 - fy) + bot * fy), -1, 1);
    }
    case TEX_FLAT:
    default:
        return 0;
    }
}

/* Per-pixel grain in [-1, 1), a hash of the pixel and the scene's key (order-independent). */
static double grain_at(uint64_t key, int p)
{
    uint64_t x = key ^ ((uint64_t)(unsigned)p * 0xD1B54A32D192ED03ull);
    return (double)(prng_splitmix64(&x) >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

static void put_colour(uint8_t *rgb, const double c[3])
{
    for (int k = 0; k < 3; k++)
        rgb[k] = (uint8_t)lround(clampd(c[k], 0, 255));
}

/* A textured background over the size x size image: low contrast, any of four patterns. */
static void random_background(prng *r, int size, double light_lo, double light_hi, texture *t)
{
    static const texture_kind kinds[4] = {TEX_GRADIENT, TEX_STRIPES, TEX_NOISE, TEX_CHECKER};
    double scale = size / 128.0;
    texture_kind kind = kinds[prng_below(r, 4)];
    double period = kind == TEX_CHECKER ? prng_range(r, 8, 32) * scale
                                        : prng_range(r, 6, 24) * scale;
    texture_pattern(r, t, kind, size / 2.0, size / 2.0, size / 2.0, period);
    hsv_to_rgb(prng_range(r, 0, 360), prng_range(r, 0.05, 0.6),
               prng_range(r, light_lo, light_hi), t->base);
    random_delta(r, prng_range(r, 12, 30), t->delta);
    t->grain = prng_range(r, 2, 6);
}

/* ---------------------------------------------------------------- the scene builder */

/* An object while the scene is being built: what it is, where, and how it looks. */
typedef struct {
    int32_t class_id;
    int64_t source;
    int x0, y0, x1, y1; /* drawn box (unclipped) */
    int64_t drawn, visible;
    texture tex;        /* shapes: the object's texture */
    float *item;        /* fmnist-canvas: the resized grey item, item_size^2, at (x0, y0) */
    int item_size;
    double tint[3];     /* fmnist-canvas: colour of the item's white */
    double colour[3];   /* the object's typical colour (for the distance rule) */
} object;

typedef struct {
    int size, channels;
    int8_t *owner;      /* size * size: index of the object on top, -1 = background */
    uint8_t *cand;      /* size * size scratch: the object being placed (cleared after) */
    int cx0, cy0, cx1, cy1; /* its box clipped to the image (half-open) */
    int n;
    object obj[SYNTH_SCENE_MAX_INSTANCES];
    texture background;
    uint64_t grain_key;
    int dropped;
} builder;

static void builder_free(builder *b)
{
    free(b->owner);
    free(b->cand);
    for (int k = 0; k < b->n; k++)
        free(b->obj[k].item);
    memset(b, 0, sizeof *b);
}

static int builder_init(builder *b, int size, int channels)
{
    memset(b, 0, sizeof *b);
    size_t np = (size_t)size * size;
    b->size = size, b->channels = channels;
    b->owner = malloc(np);
    b->cand = calloc(np, 1);
    if (!b->owner || !b->cand) {
        builder_free(b);
        return -1;
    }
    memset(b->owner, -1, np);
    return 0;
}

static void clip_box(builder *b, double x0, double y0, double x1, double y1)
{
    int s = b->size;
    b->cx0 = (int)clampd(floor(x0), 0, s), b->cy0 = (int)clampd(floor(y0), 0, s);
    b->cx1 = (int)clampd(ceil(x1) + 1, 0, s), b->cy1 = (int)clampd(ceil(y1) + 1, 0, s);
}

static void clear_candidate(builder *b)
{
    for (int y = b->cy0; y < b->cy1; y++)
        memset(b->cand + (size_t)y * b->size + b->cx0, 0, (size_t)(b->cx1 - b->cx0));
}

/* Try to place the candidate (b->cand within the clipped box) on top of the scene: it must
 * show SYNTH_SCENE_MIN_AREA pixels and leave every earlier object SYNTH_SCENE_MIN_VISIBLE of
 * its drawn area. On success it becomes object b->n (filled by the caller) and the function
 * returns its index; otherwise -1. The candidate is cleared either way. */
static int place_candidate(builder *b)
{
    int64_t area = 0, hidden[SYNTH_SCENE_MAX_INSTANCES] = {0};
    int s = b->size;
    for (int y = b->cy0; y < b->cy1; y++)
        for (int x = b->cx0; x < b->cx1; x++) {
            int p = y * s + x;
            if (!b->cand[p])
                continue;
            area++;
            if (b->owner[p] >= 0)
                hidden[b->owner[p]]++;
        }
    int ok = area >= SYNTH_SCENE_MIN_AREA && b->n < SYNTH_SCENE_MAX_INSTANCES;
    for (int j = 0; j < b->n && ok; j++)
        ok = b->obj[j].visible - hidden[j] >= (int64_t)ceil(SYNTH_SCENE_MIN_VISIBLE *
                                                            (double)b->obj[j].drawn);
    if (ok) {
        int8_t k = (int8_t)b->n;
        for (int y = b->cy0; y < b->cy1; y++)
            for (int x = b->cx0; x < b->cx1; x++)
                if (b->cand[y * s + x])
                    b->owner[y * s + x] = k;
        for (int j = 0; j < b->n; j++)
            b->obj[j].visible -= hidden[j];
        object *o = &b->obj[b->n++];
        memset(o, 0, sizeof *o);
        o->drawn = o->visible = area;
    }
    clear_candidate(b);
    return ok ? b->n - 1 : -1;
}

/* Whether the drawn boxes of objects j and k touch or overlap (within 2 pixels). */
static int boxes_near(const object *j, const object *k)
{
    return j->x0 <= k->x1 + 2 && k->x0 <= j->x1 + 2 && j->y0 <= k->y1 + 2 && k->y0 <= j->y1 + 2;
}

/* A colour for object k (its box set) far enough from the background's and from the colours
 * of the earlier objects it may touch: draws from pick() until both distances hold, keeping
 * the best draw. */
typedef void (*colour_draw)(prng *r, void *ctx, double out[3]);

static void choose_colour(builder *b, prng *r, int k, colour_draw pick, void *ctx,
                          double out[3])
{
    double best = -1, want_bg = min_distance_background(b->channels);
    double want_obj = min_distance_object(b->channels);
    for (int t = 0; t < COLOUR_TRIES; t++) {
        double c[3];
        pick(r, ctx, c);
        /* score: the smaller of the two distances, each relative to what is wanted */
        double score = colour_distance(c, b->background.base, b->channels) / want_bg;
        for (int j = 0; j < k; j++) {
            if (!boxes_near(&b->obj[j], &b->obj[k]))
                continue;
            double d = colour_distance(c, b->obj[j].colour, b->channels) / want_obj;
            score = d < score ? d : score;
        }
        if (score > best) {
            best = score;
            memcpy(out, c, sizeof c);
        }
        if (score >= 1)
            break;
    }
}

/* ---------------------------------------------------------------- shapes */

#define MAX_VERTICES 160

/* An ellipse (semi-axes a, b, rotated by angle) as a polygon fine enough for its size. */
static int ellipse_polygon(float *xy, double cx, double cy, double a, double b, double angle)
{
    int n = (int)ceil(2 * M_PI * (a > b ? a : b) / 1.5);
    n = n < 24 ? 24 : n > MAX_VERTICES ? MAX_VERTICES : n;
    double ca = cos(angle), sa = sin(angle);
    for (int k = 0; k < n; k++) {
        double t = 2 * M_PI * k / n, u = a * cos(t), v = b * sin(t);
        xy[2 * k] = (float)(cx + u * ca - v * sa);
        xy[2 * k + 1] = (float)(cy + u * sa + v * ca);
    }
    return n;
}

/* Local (u, v) points rotated by angle and moved to (cx, cy). */
static void place_points(float *xy, const double *uv, int n, double cx, double cy, double angle)
{
    double ca = cos(angle), sa = sin(angle);
    for (int k = 0; k < n; k++) {
        double u = uv[2 * k], v = uv[2 * k + 1];
        xy[2 * k] = (float)(cx + u * ca - v * sa);
        xy[2 * k + 1] = (float)(cy + u * sa + v * ca);
    }
}

static void polygon_bounds(const float *xy, int n, double *x0, double *y0, double *x1,
                           double *y1)
{
    *x0 = *y0 = INFINITY, *x1 = *y1 = -INFINITY;
    for (int k = 0; k < n; k++) {
        double x = xy[2 * k], y = xy[2 * k + 1];
        *x0 = x < *x0 ? x : *x0, *x1 = x > *x1 ? x : *x1;
        *y0 = y < *y0 ? y : *y0, *y1 = y > *y1 ? y : *y1;
    }
}

/* Rasterise a shape of class cls, bounding-circle radius R, centred at (cx, cy), into the
 * candidate; sets the clipped box and the drawn box (unclipped, into box[4]). */
static int shape_candidate(builder *b, prng *r, int cls, double cx, double cy, double R,
                           double angle, int box[4])
{
    float outer[2 * MAX_VERTICES], inner[2 * MAX_VERTICES];
    double uv[2 * 16];
    int n_outer = 0, n_inner = 0;
    switch (cls) {
    case SYNTH_SHAPE_ELLIPSE:
        n_outer = ellipse_polygon(outer, cx, cy, R, R * prng_range(r, 0.5, 1.0), angle);
        break;
    case SYNTH_SHAPE_RECTANGLE: {
        double beta = prng_range(r, 0.3, M_PI / 4), a = R * cos(beta), h = R * sin(beta);
        double pts[8] = {-a, -h, a, -h, a, h, -a, h};
        place_points(outer, pts, 4, cx, cy, angle);
        n_outer = 4;
        break;
    }
    case SYNTH_SHAPE_TRIANGLE:
        for (int k = 0; k < 3; k++) {
            double t = 2 * M_PI * k / 3 + prng_range(r, -0.35, 0.35), rad = R * prng_range(r, 0.75, 1);
            uv[2 * k] = rad * cos(t), uv[2 * k + 1] = rad * sin(t);
        }
        place_points(outer, uv, 3, cx, cy, angle);
        n_outer = 3;
        break;
    case SYNTH_SHAPE_STAR: {
        int points = randint(r, 5, 7);
        double in = R * prng_range(r, 0.38, 0.6);
        for (int k = 0; k < 2 * points; k++) {
            double t = M_PI * k / points, rad = k % 2 ? in : R;
            uv[2 * k] = rad * cos(t), uv[2 * k + 1] = rad * sin(t);
        }
        place_points(outer, uv, 2 * points, cx, cy, angle);
        n_outer = 2 * points;
        break;
    }
    case SYNTH_SHAPE_CROSS: {
        double w = R * prng_range(r, 0.22, 0.4), L = R, M = R * prng_range(r, 0.7, 1.0);
        double pts[24] = {w, -M, w, -w, L, -w, L, w, w, w, w, M,
                          -w, M, -w, w, -L, w, -L, -w, -w, -w, -w, -M};
        place_points(outer, pts, 12, cx, cy, angle);
        n_outer = 12;
        break;
    }
    case SYNTH_SHAPE_RING: {
        double bfrac = prng_range(r, 0.8, 1.0), hole = prng_range(r, 0.4, 0.65);
        n_outer = ellipse_polygon(outer, cx, cy, R, R * bfrac, angle);
        n_inner = ellipse_polygon(inner, cx, cy, R * hole, R * bfrac * hole, angle);
        break;
    }
    case SYNTH_SHAPE_CRESCENT:
    default: {
        double rin = R * prng_range(r, 0.7, 0.9), off = R * prng_range(r, 0.35, 0.6);
        n_outer = ellipse_polygon(outer, cx, cy, R, R, 0);
        n_inner = ellipse_polygon(inner, cx + off * cos(angle), cy + off * sin(angle), rin, rin,
                                  0);
        break;
    }
    }
    double x0, y0, x1, y1;
    polygon_bounds(outer, n_outer, &x0, &y0, &x1, &y1);
    clip_box(b, x0, y0, x1, y1);
    box[0] = (int)floor(x0), box[1] = (int)floor(y0);
    box[2] = (int)ceil(x1), box[3] = (int)ceil(y1);
    int s = b->size;
    if (raster_polygon(b->cand, s, s, outer, n_outer, RASTER_EVEN_ODD, 1) ||
        (n_inner && raster_polygon(b->cand, s, s, inner, n_inner, RASTER_EVEN_ODD, 0)))
        return -1;
    return 0;
}

static void draw_object_colour(prng *r, void *ctx, double out[3])
{
    (void)ctx;
    hsv_to_rgb(prng_range(r, 0, 360), prng_range(r, 0.25, 1.0), prng_range(r, 0.25, 1.0), out);
}

/* The objects of a shapes scene: a count, then per object a class and size, and positions
 * tried until one fits. */
static int build_shapes(builder *b, prng *r)
{
    int size = b->size;
    double scale = size / 128.0;
    double min_d = 10 * scale > 6 ? 10 * scale : 6, max_d = 0.7 * size;
    int count = randint(r, 1, SYNTH_SHAPES_MAX_OBJECTS);
    for (int o = 0; o < count; o++) {
        int cls = (int)prng_below(r, SYNTH_N_SHAPES);
        for (int t = 0; t < PLACE_TRIES; t++) {
            double R = 0.5 * exp(prng_range(r, log(min_d), log(max_d)));
            double cx = prng_range(r, 0, size), cy = prng_range(r, 0, size);
            double angle = prng_range(r, 0, 2 * M_PI);
            int box[4];
            if (shape_candidate(b, r, cls, cx, cy, R, angle, box))
                return -1;
            int k = place_candidate(b);
            if (k < 0)
                continue;
            object *ob = &b->obj[k];
            ob->class_id = cls;
            ob->source = -1;
            ob->x0 = box[0], ob->y0 = box[1], ob->x1 = box[2], ob->y1 = box[3];
            static const texture_kind kinds[4] = {TEX_FLAT, TEX_STRIPES, TEX_GRADIENT,
                                                  TEX_NOISE};
            texture_kind kind = kinds[prng_below(r, 4)];
            double period = R * prng_range(r, 0.25, 0.7);
            texture_pattern(r, &ob->tex, kind, cx, cy, R, period > 3 ? period : 3);
            choose_colour(b, r, k, draw_object_colour, NULL, ob->colour);
            memcpy(ob->tex.base, ob->colour, sizeof ob->colour);
            if (kind == TEX_FLAT)
                memset(ob->tex.delta, 0, sizeof ob->tex.delta);
            else
                random_delta(r, prng_range(r, 15, 35), ob->tex.delta);
            ob->tex.grain = prng_range(r, 2, 6);
            break;
        }
    }
    if (b->n == 0) { /* nothing fitted (rare): a disc in the middle always does */
        int box[4];
        if (shape_candidate(b, r, SYNTH_SHAPE_ELLIPSE, size / 2.0, size / 2.0, size / 4.0, 0,
                            box))
            return -1;
        int k = place_candidate(b);
        object *ob = &b->obj[k];
        ob->class_id = SYNTH_SHAPE_ELLIPSE;
        ob->source = -1;
        ob->x0 = box[0], ob->y0 = box[1], ob->x1 = box[2], ob->y1 = box[3];
        texture_pattern(r, &ob->tex, TEX_FLAT, size / 2.0, size / 2.0, size / 4.0, 3);
        choose_colour(b, r, k, draw_object_colour, NULL, ob->colour);
        memcpy(ob->tex.base, ob->colour, sizeof ob->colour);
        ob->tex.grain = 3;
    }
    return 0;
}

/* ---------------------------------------------------------------- canvas items */

/* Bilinear resize of a grey sh x sw image to n x n (pixel centres aligned, edges clamped). */
static void resize_bilinear(const uint8_t *src, int sh, int sw, float *dst, int n)
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

/* How bright an item pixel of grey level g is, as a fraction of the tint. */
static double item_shade(double g) { return 0.25 + 0.75 * g / 255.0; }

typedef struct {
    double mean_shade; /* the item's mean shade over its silhouette */
} tint_ctx;

static void draw_tint(prng *r, void *ctx, double out[3])
{
    const tint_ctx *c = ctx;
    double tint[3];
    hsv_to_rgb(prng_range(r, 0, 360), prng_range(r, 0.0, 0.8), prng_range(r, 0.7, 1.0), tint);
    for (int k = 0; k < 3; k++)
        out[k] = tint[k] * c->mean_shade; /* the colour the item shows on average */
}

/* The item resized to n x n (grey in *item, silhouette into sil), its silhouette placed at
 * (x0, y0) into the candidate. Returns the silhouette's mean shade, or -1 on out of memory. */
static double item_candidate(builder *b, const uint8_t *src, int sh, int sw, int n, int x0,
                             int y0, float *item, uint8_t *grey, uint8_t *sil)
{
    resize_bilinear(src, sh, sw, item, n);
    for (int p = 0; p < n * n; p++)
        grey[p] = (uint8_t)lround(clampd(item[p], 0, 255));
    if (synth_silhouette(grey, n, sil))
        return -1;
    double shade = 0;
    int64_t inside = 0;
    int s = b->size;
    clip_box(b, x0, y0, x0 + n - 1, y0 + n - 1);
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            if (!sil[y * n + x])
                continue;
            shade += item_shade(item[y * n + x]);
            inside++;
            int px = x0 + x, py = y0 + y;
            if (px >= 0 && py >= 0 && px < s && py < s)
                b->cand[py * s + px] = 1;
        }
    return inside ? shade / (double)inside : item_shade(0);
}

/* The items of a canvas. Returns 0, -1 on out of memory, or -2 when not even the last item
 * drawn fits alone in the middle at the largest scale (*bad_source: it has almost no pixel
 * above the silhouette threshold). */
static int build_canvas(builder *b, prng *r, const uint8_t *items, const uint8_t *labels,
                        int64_t n_items, int sh, int sw, int64_t *bad_source)
{
    int size = b->size;
    double scale = size / 128.0;
    int n_min = (int)lround(24 * scale), n_max = (int)lround(64 * scale);
    n_min = n_min < 12 ? 12 : n_min;
    n_max = n_max < n_min ? n_min : n_max;
    size_t cap = (size_t)n_max * n_max;
    float *item = malloc(cap * sizeof *item);
    uint8_t *grey = malloc(cap), *sil = malloc(cap);
    int rc = item && grey && sil ? 0 : -1;
    int count = randint(r, SYNTH_CANVAS_MIN_ITEMS, SYNTH_CANVAS_MAX_ITEMS);
    int64_t last_source = -1;
    for (int o = 0; o < count && rc == 0; o++) {
        int64_t src = (int64_t)prng_below(r, (uint64_t)n_items);
        last_source = src;
        for (int t = 0; t < PLACE_TRIES && rc == 0; t++) {
            int n = randint(r, n_min, n_max);
            int x0 = randint(r, -n / 4, size - 3 * n / 4);
            int y0 = randint(r, -n / 4, size - 3 * n / 4);
            double shade = item_candidate(b, items + (size_t)src * sh * sw, sh, sw, n, x0, y0,
                                          item, grey, sil);
            if (shade < 0) {
                rc = -1;
                break;
            }
            int k = place_candidate(b);
            if (k < 0)
                continue;
            object *ob = &b->obj[k];
            ob->class_id = labels[src];
            ob->source = src;
            ob->x0 = x0, ob->y0 = y0, ob->x1 = x0 + n, ob->y1 = y0 + n;
            ob->item_size = n;
            if (!(ob->item = malloc((size_t)n * n * sizeof *ob->item))) {
                rc = -1;
                break;
            }
            memcpy(ob->item, item, (size_t)n * n * sizeof *item);
            tint_ctx ctx = {shade};
            choose_colour(b, r, k, draw_tint, &ctx, ob->colour);
            for (int c = 0; c < 3; c++)
                ob->tint[c] = ob->colour[c] / shade;
            ob->tex.grain = prng_range(r, 2, 5);
            break;
        }
    }
    if (rc == 0 && b->n == 0 && last_source >= 0) {
        /* nothing fitted (rare): the last item, large, in the middle */
        int x0 = (size - n_max) / 2;
        double shade = item_candidate(b, items + (size_t)last_source * sh * sw, sh, sw, n_max,
                                      x0, x0, item, grey, sil);
        int k = shade < 0 ? -1 : place_candidate(b);
        if (shade < 0) {
            rc = -1;
        } else if (k < 0) {
            rc = -2;
            *bad_source = last_source;
        } else {
            object *ob = &b->obj[k];
            ob->class_id = labels[last_source];
            ob->source = last_source;
            ob->x0 = ob->y0 = x0, ob->x1 = ob->y1 = x0 + n_max;
            ob->item_size = n_max;
            if (!(ob->item = malloc(cap * sizeof *ob->item)))
                rc = -1;
            else
                memcpy(ob->item, item, cap * sizeof *item);
            tint_ctx ctx = {shade};
            choose_colour(b, r, k, draw_tint, &ctx, ob->colour);
            for (int c = 0; c < 3; c++)
                ob->tint[c] = ob->colour[c] / shade;
            ob->tex.grain = 3;
        }
    }
    free(item), free(grey), free(sil);
    return rc;
}

/* ---------------------------------------------------------------- painting a scene */

/* Drop objects left with fewer than SYNTH_SCENE_MIN_AREA visible pixels: their pixels become
 * background and the remaining objects are renumbered in order. */
static void drop_tiny(builder *b)
{
    int8_t remap[SYNTH_SCENE_MAX_INSTANCES];
    int kept = 0;
    for (int j = 0; j < b->n; j++) {
        if (b->obj[j].visible >= SYNTH_SCENE_MIN_AREA) {
            remap[j] = (int8_t)kept;
            b->obj[kept++] = b->obj[j];
        } else {
            remap[j] = -1;
            free(b->obj[j].item);
            b->dropped++;
        }
    }
    if (kept == b->n)
        return;
    size_t np = (size_t)b->size * b->size;
    for (size_t p = 0; p < np; p++)
        if (b->owner[p] >= 0)
            b->owner[p] = remap[b->owner[p]];
    b->n = kept;
}

static void object_colour_at(const object *o, int x, int y, double out[3])
{
    if (o->item) {
        int lx = x - o->x0, ly = y - o->y0;
        double shade = item_shade(o->item[ly * o->item_size + lx]);
        for (int k = 0; k < 3; k++)
            out[k] = o->tint[k] * shade;
    } else {
        double t = texture_t(&o->tex, x + 0.5, y + 0.5);
        for (int k = 0; k < 3; k++)
            out[k] = o->tex.base[k] + o->tex.delta[k] * t;
    }
}

/* Paint the image and cut the masks out of the owner map into out. */
static int paint_scene(builder *b, synth_scene *out)
{
    int s = b->size, ch = b->channels;
    size_t np = (size_t)s * s;
    drop_tiny(b);
    out->size = s, out->channels = ch;
    out->dropped = b->dropped;
    if (!(out->image = malloc(np * (size_t)ch)))
        return -1;
    for (int j = 0; j < b->n; j++) {
        synth_scene_instance *in = &out->inst[j];
        const object *o = &b->obj[j];
        in->class_id = o->class_id;
        in->source = o->source;
        in->x0 = o->x0, in->y0 = o->y0, in->x1 = o->x1, in->y1 = o->y1;
        in->drawn_area = o->drawn;
        if (!(in->mask = calloc(np, 1)))
            return -1;
        out->n = j + 1;
    }
    for (int y = 0; y < s; y++)
        for (int x = 0; x < s; x++) {
            int p = y * s + x, k = b->owner[p];
            double c[3], grain;
            if (k >= 0) {
                object_colour_at(&b->obj[k], x, y, c);
                grain = b->obj[k].tex.grain;
                out->inst[k].mask[p] = 1;
                out->inst[k].area++;
            } else {
                double t = texture_t(&b->background, x + 0.5, y + 0.5);
                for (int i = 0; i < 3; i++)
                    c[i] = b->background.base[i] + b->background.delta[i] * t;
                grain = b->background.grain;
            }
            double g = grain * grain_at(b->grain_key, p);
            for (int i = 0; i < 3; i++)
                c[i] += g;
            if (ch == 3) {
                put_colour(out->image + 3 * (size_t)p, c);
            } else {
                out->image[p] = (uint8_t)lround(clampd(luma(c), 0, 255));
            }
        }
    return 0;
}

void synth_scene_free(synth_scene *s)
{
    if (!s)
        return;
    free(s->image);
    for (int k = 0; k < SYNTH_SCENE_MAX_INSTANCES; k++)
        free(s->inst[k].mask);
    memset(s, 0, sizeof *s);
}

static int check_scene_args(const char *kind, int size, int channels, char *err, size_t errlen)
{
    if (size < SYNTH_SCENE_MIN_SIZE || size > SYNTH_SCENE_MAX_SIZE)
        return err_fail(err, errlen, "synth %s: size %d out of range [%d, %d]", kind, size,
                    SYNTH_SCENE_MIN_SIZE, SYNTH_SCENE_MAX_SIZE);
    if (channels != 1 && channels != 3)
        return err_fail(err, errlen, "synth %s: channels must be 1 (grey) or 3 (RGB), got %d", kind,
                    channels);
    return 0;
}

static void seed_scene(prng *r, uint32_t tag, uint64_t seed, int train, int64_t index, int size,
                       int channels)
{
    uint64_t keys[6] = {seed, tag, train ? SPLIT_TRAIN : SPLIT_TEST, (uint64_t)index,
                        (uint64_t)size, (uint64_t)channels};
    prng_seed_keys(r, keys, 6);
}

int synth_shapes_scene(int size, int channels, uint64_t seed, int train, int64_t index,
                       synth_scene *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (check_scene_args("shapes", size, channels, err, errlen))
        return -1;
    builder b;
    if (builder_init(&b, size, channels))
        return err_fail(err, errlen, "synth shapes: out of memory");
    prng r;
    seed_scene(&r, TAG_SHAPES, seed, train, index, size, channels);
    random_background(&r, size, 0.2, 0.9, &b.background);
    b.grain_key = prng_next(&r);
    int rc = build_shapes(&b, &r);
    if (rc == 0)
        rc = paint_scene(&b, out);
    builder_free(&b);
    if (rc) {
        synth_scene_free(out);
        return err_fail(err, errlen, "synth shapes: out of memory");
    }
    return 0;
}

int synth_canvas_scene(const uint8_t *items, const uint8_t *labels, int64_t n_items,
                       int item_h, int item_w, int size, int channels, uint64_t seed, int train,
                       int64_t index, synth_scene *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (check_scene_args("fmnist-canvas", size, channels, err, errlen))
        return -1;
    if (!items || !labels || n_items <= 0 || item_h <= 0 || item_w <= 0)
        return err_fail(err, errlen, "synth fmnist-canvas: no source items (%lld of %dx%d)",
                    (long long)n_items, item_w, item_h);
    builder b;
    if (builder_init(&b, size, channels))
        return err_fail(err, errlen, "synth fmnist-canvas: out of memory");
    prng r;
    seed_scene(&r, TAG_CANVAS, seed, train, index, size, channels);
    random_background(&r, size, 0.08, 0.5, &b.background);
    b.grain_key = prng_next(&r);
    int64_t bad_source = -1;
    int rc = build_canvas(&b, &r, items, labels, n_items, item_h, item_w, &bad_source);
    if (rc == 0)
        rc = paint_scene(&b, out);
    builder_free(&b);
    if (rc) {
        synth_scene_free(out);
        if (rc == -2)
            return err_fail(err, errlen, "synth fmnist-canvas: scene %lld: source item %lld has "
                        "fewer than %d pixels above the silhouette threshold %d even at the "
                        "largest scale (a blank image?)", (long long)index,
                        (long long)bad_source, SYNTH_SCENE_MIN_AREA, SYNTH_MASK_THRESHOLD);
        return err_fail(err, errlen, "synth fmnist-canvas: out of memory");
    }
    return 0;
}

/* ---------------------------------------------------------------- the data set */

#define PREVIEW_SCENES 8

/* Instance colours of the preview's mask row. */
static const uint8_t PREVIEW_PALETTE[SYNTH_SCENE_MAX_INSTANCES][3] = {
    {230, 25, 75}, {60, 180, 75}, {255, 225, 25}, {0, 130, 200}, {245, 130, 48}, {145, 30, 180},
};

static void put_preview(contact_sheet *sheet, int col, const synth_scene *sc, uint8_t *rgb)
{
    int s = sc->size;
    size_t np = (size_t)s * s;
    contact_sheet_put(sheet, 0, col, sc->image, s, s, sc->channels);
    memset(rgb, 0, np * 3);
    for (int k = 0; k < sc->n; k++)
        for (size_t p = 0; p < np; p++)
            if (sc->inst[k].mask[p])
                memcpy(rgb + 3 * p, PREVIEW_PALETTE[k], 3);
    contact_sheet_put(sheet, 1, col, rgb, s, s, 3);
}

static int append_scene(store_writer *w, const synth_scene *sc, int64_t index, char *err,
                        size_t errlen)
{
    instance inst[SYNTH_SCENE_MAX_INSTANCES];
    memset(inst, 0, sizeof inst);
    for (int k = 0; k < sc->n; k++) {
        inst[k].class_id = sc->inst[k].class_id;
        inst[k].mask = sc->inst[k].mask; /* borrowed */
    }
    sample s;
    sample_init(&s);
    s.h = s.w = sc->size;
    s.c = sc->channels;
    s.image = sc->image; /* borrowed */
    s.group = index;
    s.n_instances = sc->n;
    s.instances = inst;
    return store_append(w, &s, err, errlen);
}

int synth_instances(const synth_instances_options *o, import_report *rep, char *err,
                    size_t errlen)
{
    memset(rep, 0, sizeof *rep);
    const import_common *c = &o->common;
    int canvas = o->kind == SYNTH_SCENE_FMNIST_CANVAS;
    const char *what = canvas ? "synth fmnist-canvas" : "synth shapes";
    int size = o->size ? o->size : SYNTH_SCENE_DEFAULT_SIZE;
    int channels = o->channels ? o->channels : 3;
    if (o->kind != SYNTH_SCENE_SHAPES && o->kind != SYNTH_SCENE_FMNIST_CANVAS) {
        err_fail(err, errlen, "synth: unknown scene kind %d", (int)o->kind);
        return IMPORT_USER_ERROR;
    }
    if (!c->out) {
        err_fail(err, errlen, "%s: no output file (--out)", what);
        return IMPORT_USER_ERROR;
    }
    if (size < SYNTH_SCENE_MIN_SIZE || size > SYNTH_SCENE_MAX_SIZE) {
        err_fail(err, errlen, "%s: --size %d out of range [%d, %d]", what, size,
             SYNTH_SCENE_MIN_SIZE, SYNTH_SCENE_MAX_SIZE);
        return IMPORT_USER_ERROR;
    }
    if (channels != 1 && channels != 3) {
        err_fail(err, errlen, "%s: channels must be 1 (grey) or 3 (RGB), got %d", what, channels);
        return IMPORT_USER_ERROR;
    }
    if (c->limit < 0) {
        err_fail(err, errlen, "%s: --n must be >= 1, got %lld", what, (long long)c->limit);
        return IMPORT_USER_ERROR;
    }
    int64_t n = c->limit > 0 ? c->limit
                : o->train ? SYNTH_SCENE_DEFAULT_N_TRAIN : SYNTH_SCENE_DEFAULT_N_TEST;
    idx_array img = {0}, lab = {0};
    if (canvas && idx_load_fashion_mnist(o->dir, o->train, &img, &lab, err, errlen))
        return IMPORT_USER_ERROR;
    char source[512];
    snprintf(source, sizeof source, "%s: %s split, %lld scenes, seed %llu, size %d, %s%s", what,
             o->train ? "train" : "test", (long long)n, (unsigned long long)o->seed, size,
             channels == 3 ? "RGB" : "grey",
             canvas ? (o->train ? ", items from the Fashion-MNIST training set"
                                : ", items from the Fashion-MNIST test set")
                    : "");
    store_options so = {.images = STORE_RAW, .channels = channels, .height = size, .width = size,
                        .annotations = STORE_INSTANCES, .source = source};
    int rc = IMPORT_OK;
    contact_sheet *sheet = NULL;
    uint8_t *preview_rgb = NULL;
    synth_scene scene;
    memset(&scene, 0, sizeof scene);
    store_writer *w = store_create(c->out, &so, err, errlen);
    if (!w) {
        rc = IMPORT_USER_ERROR;
        goto done;
    }
    if (canvas ? store_set_class_names(w, SYNTH_FMNIST_CLASSES, 10, err, errlen)
               : store_set_class_names(w, SYNTH_SHAPE_CLASSES, SYNTH_N_SHAPES, err, errlen)) {
        rc = IMPORT_INTERNAL_ERROR;
        goto done;
    }
    rep->n_classes = canvas ? 10 : SYNTH_N_SHAPES;
    if (o->preview) {
        int tile = size < 96 ? 2 * size : size > 256 ? 256 : size;
        sheet = contact_sheet_new(2, PREVIEW_SCENES, tile, 4);
        preview_rgb = malloc((size_t)size * size * 3);
        if (!sheet || !preview_rgb) {
            err_fail(err, errlen, "%s: out of memory", what);
            rc = IMPORT_INTERNAL_ERROR;
            goto done;
        }
    }
    for (int64_t i = 0; i < n && rc == IMPORT_OK && !imp_cancelled(c); i++) {
        int bad = canvas ? synth_canvas_scene(img.data, lab.data, img.dims[0], (int)img.dims[1],
                                              (int)img.dims[2], size, channels, o->seed,
                                              o->train, i, &scene, err, errlen)
                         : synth_shapes_scene(size, channels, o->seed, o->train, i, &scene, err,
                                              errlen);
        if (bad) {
            rc = IMPORT_INTERNAL_ERROR;
            break;
        }
        rep->seen++;
        if (append_scene(w, &scene, i, err, errlen)) {
            rc = IMPORT_INTERNAL_ERROR;
        } else {
            rep->written++;
            rep->instances += scene.n;
            rep->tiny_dropped += scene.dropped;
            if (sheet && i < PREVIEW_SCENES)
                put_preview(sheet, (int)i, &scene, preview_rgb);
        }
        synth_scene_free(&scene);
        imp_progress(c, what, i + 1, n);
    }
    imp_progress_end(c, what, rep->seen, n);
    if (rc == IMPORT_OK && imp_cancelled(c)) {
        err_fail(err, errlen, "%s: interrupted; nothing written", c->out);
        rc = IMPORT_CANCELLED;
    }
    if (rc == IMPORT_OK && sheet && contact_sheet_write(sheet, o->preview, err, errlen))
        rc = IMPORT_USER_ERROR;
    if (rc == IMPORT_OK) {
        rc = store_commit(w, err, errlen) ? IMPORT_INTERNAL_ERROR : IMPORT_OK;
        w = NULL;
    }
done:
    store_abort(w);
    synth_scene_free(&scene);
    contact_sheet_free(sheet);
    free(preview_rgb);
    idx_free(&img);
    idx_free(&lab);
    return rc;
}
