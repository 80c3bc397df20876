/* dense_augment.c - see dense_augment.h: crop with padding, rotation, the object crop and the
 * letterbox, as resamplers handed to augment.c's aug_transform. Plain C, no libtorch. */
#include "pipeline/dense_augment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

/* ---------------------------------------------------------------- fill */

/* The bytes of one uncovered pixel of a plane of this kind (px bytes, at most 4 * channels). */
static void fill_pixel(const aug_fill *fill, aug_plane_kind kind, int channels, uint8_t *px)
{
    size_t n = kind == AUG_PLANE_DEPTH || kind == AUG_PLANE_SCORES ? sizeof(float) * channels
                                                                  : (size_t)channels;
    uint8_t v = kind == AUG_PLANE_IMAGE ? fill->image : kind == AUG_PLANE_MASK ? fill->mask : 0;
    memset(px, v, n); /* depth: all-zero bytes are 0.0f */
}

static size_t px_bytes(aug_plane_kind kind, int channels)
{
    return kind == AUG_PLANE_DEPTH || kind == AUG_PLANE_SCORES ? sizeof(float) * channels
                                                              : (size_t)channels;
}

/* The largest pixel of any plane: an RGB image (3 bytes) or one float. */
#define MAX_PX 16

/* ---------------------------------------------------------------- crop with padding */

typedef struct {
    int y0, x0;
    const aug_fill *fill;
} crop_pad_ctx;

static void *crop_pad_resampler(void *ctx, const void *src, int h, int w, int channels,
                                aug_plane_kind kind, int out_h, int out_w)
{
    const crop_pad_ctx *c = ctx;
    size_t px = px_bytes(kind, channels);
    uint8_t *dst = malloc((size_t)out_h * (size_t)out_w * px), fillpx[MAX_PX];
    if (!dst)
        return NULL;
    fill_pixel(c->fill, kind, channels, fillpx);
    /* columns of the window that lie inside the image: [ja, jb) */
    int ja = c->x0 < 0 ? -c->x0 : 0, jb = w - c->x0 < out_w ? w - c->x0 : out_w;
    if (jb < ja)
        jb = ja;
    for (int i = 0; i < out_h; i++) {
        uint8_t *row = dst + (size_t)i * (size_t)out_w * px;
        int si = c->y0 + i;
        for (int j = 0; j < out_w; j++)
            memcpy(row + (size_t)j * px, fillpx, px);
        if (si >= 0 && si < h && jb > ja)
            memcpy(row + (size_t)ja * px,
                   (const uint8_t *)src + ((size_t)si * (size_t)w + (size_t)(c->x0 + ja)) * px,
                   (size_t)(jb - ja) * px);
    }
    return dst;
}

int aug_crop_pad(sample *s, int y0, int x0, int h, int w, const aug_fill *fill, char *err,
                 size_t errlen)
{
    if (h < 1 || w < 1)
        return err_fail(err, errlen, "crop_pad: window %dx%d at (row %d, col %d) is empty", h, w,
                        y0, x0);
    if (s->c > 3 || s->c < 0)
        return err_fail(err, errlen, "crop_pad: %d image channels (at most 3)", s->c);
    crop_pad_ctx c = {y0, x0, fill};
    const double xy[6] = {-x0, 1, 0, -y0, 0, 1};
    return aug_transform(s, h, w, crop_pad_resampler, &c, xy, "crop_pad", err, errlen);
}

/* ---------------------------------------------------------------- rotation */

typedef struct {
    double cos_t, sin_t;
    double cx, cy;
    const aug_fill *fill;
} rotate_ctx;

/* Source pixel (row v, col u) of a u8 plane, or the fill outside the image. */
static float tap_u8(const uint8_t *src, int h, int w, int c, int v, int u, int k, float fill)
{
    if (u < 0 || v < 0 || u >= w || v >= h)
        return fill;
    return src[((size_t)v * (size_t)w + (size_t)u) * (size_t)c + (size_t)k];
}

static uint8_t round_u8(float v)
{
    if (!(v > 0.0f))
        return 0;
    if (v >= 255.0f)
        return 255;
    return (uint8_t)(v + 0.5f);
}

static void *rotate_resampler(void *ctx, const void *src, int h, int w, int channels,
                              aug_plane_kind kind, int out_h, int out_w)
{
    const rotate_ctx *r = ctx;
    size_t px = px_bytes(kind, channels);
    uint8_t *dst = malloc((size_t)out_h * (size_t)out_w * px), fillpx[MAX_PX];
    if (!dst)
        return NULL;
    fill_pixel(r->fill, kind, channels, fillpx);
    const uint8_t *s = src;
    for (int i = 0; i < out_h; i++) {
        double dy = i + 0.5 - r->cy;
        for (int j = 0; j < out_w; j++) {
            double dx = j + 0.5 - r->cx;
            /* the inverse rotation of the output pixel's centre */
            double sx = r->cx + r->cos_t * dx - r->sin_t * dy;
            double sy = r->cy + r->sin_t * dx + r->cos_t * dy;
            uint8_t *out = dst + ((size_t)i * (size_t)out_w + (size_t)j) * px;
            if (kind == AUG_PLANE_IMAGE) {
                double u = sx - 0.5, v = sy - 0.5;
                double fu = floor(u), fv = floor(v);
                int u0 = (int)fu, v0 = (int)fv;
                float wx = (float)(u - fu), wy = (float)(v - fv), f = r->fill->image;
                if (u0 < -1 || v0 < -1 || u0 >= w || v0 >= h) {
                    memcpy(out, fillpx, px);
                    continue;
                }
                for (int k = 0; k < channels; k++) {
                    float p00 = tap_u8(s, h, w, channels, v0, u0, k, f);
                    float p01 = tap_u8(s, h, w, channels, v0, u0 + 1, k, f);
                    float p10 = tap_u8(s, h, w, channels, v0 + 1, u0, k, f);
                    float p11 = tap_u8(s, h, w, channels, v0 + 1, u0 + 1, k, f);
                    float top = p00 + wx * (p01 - p00), bot = p10 + wx * (p11 - p10);
                    out[k] = round_u8(top + wy * (bot - top));
                }
            } else {
                double fx = floor(sx), fy = floor(sy);
                if (fx < 0 || fy < 0 || fx >= w || fy >= h)
                    memcpy(out, fillpx, px);
                else
                    memcpy(out, s + ((size_t)fy * (size_t)w + (size_t)fx) * px, px);
            }
        }
    }
    return dst;
}

/* cos and sin of an angle in degrees, exact at multiples of 90. */
static void cos_sin_deg(double degrees, double *c, double *s)
{
    double quarter = degrees / 90.0;
    if (quarter == floor(quarter) && fabs(quarter) < 1e15) {
        static const double cq[4] = {1, 0, -1, 0}, sq[4] = {0, 1, 0, -1};
        long q = ((long)fmod(quarter, 4.0) + 4) % 4;
        *c = cq[q];
        *s = sq[q];
        return;
    }
    double rad = degrees * (3.14159265358979323846 / 180.0);
    *c = cos(rad);
    *s = sin(rad);
}

int aug_rotate(sample *s, double degrees, const aug_fill *fill, char *err, size_t errlen)
{
    if (!isfinite(degrees))
        return err_fail(err, errlen, "rotate: the angle must be a finite number of degrees");
    if (degrees == 0)
        return 0;
    if (s->h < 1 || s->w < 1 || s->c > 3 || s->c < 0)
        return err_fail(err, errlen, "rotate: cannot rotate a %dx%dx%d image", s->h, s->w, s->c);
    rotate_ctx r = {0, 0, s->w / 2.0, s->h / 2.0, fill};
    cos_sin_deg(degrees, &r.cos_t, &r.sin_t);
    /* forward map of coordinates: x' = cx + cos dx + sin dy, y' = cy - sin dx + cos dy */
    const double xy[6] = {r.cx - r.cos_t * r.cx - r.sin_t * r.cy, r.cos_t, r.sin_t,
                          r.cy + r.sin_t * r.cx - r.cos_t * r.cy, -r.sin_t, r.cos_t};
    return aug_transform(s, s->h, s->w, rotate_resampler, &r, xy, "rotate", err, errlen);
}

/* ---------------------------------------------------------------- the object crop */

/* Box of the nonzero pixels of an h x w mask; 0 when there are none. */
static int mask_box(const uint8_t *m, int h, int w, aug_box *b)
{
    int found = 0;
    *b = (aug_box){w, h, 0, 0};
    for (int i = 0; i < h; i++) {
        const uint8_t *row = m + (size_t)i * (size_t)w;
        for (int j = 0; j < w; j++) {
            if (!row[j])
                continue;
            found = 1;
            if (j < b->x0)
                b->x0 = j;
            if (j + 1 > b->x1)
                b->x1 = j + 1;
            if (i < b->y0)
                b->y0 = i;
            b->y1 = i + 1;
        }
    }
    return found;
}

/* Box of an instance: its mask's, else its polygon vertices' extent clipped to the image. */
static int instance_box(const instance *in, int h, int w, aug_box *b)
{
    if (in->mask)
        return mask_box(in->mask, h, w, b);
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int p = 0; p < in->n_polygons; p++) {
        const polygon *pg = &in->polygons[p];
        for (int k = 0; k < pg->n; k++) {
            double x = pg->xy[2 * k], y = pg->xy[2 * k + 1];
            x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
            y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
        }
    }
    if (!(x1 >= x0))
        return 0;
    x0 = floor(x0), y0 = floor(y0), x1 = ceil(x1), y1 = ceil(y1);
    b->x0 = x0 < 0 ? 0 : x0 > w ? w : (int)x0;
    b->y0 = y0 < 0 ? 0 : y0 > h ? h : (int)y0;
    b->x1 = x1 < 0 ? 0 : x1 > w ? w : (int)x1;
    b->y1 = y1 < 0 ? 0 : y1 > h ? h : (int)y1;
    return b->x1 > b->x0 && b->y1 > b->y0;
}

int aug_object_box(const sample *s, prng *r, aug_box *box)
{
    int n_ok = 0;
    for (int i = 0; i < s->n_instances; i++) {
        aug_box b;
        n_ok += instance_box(&s->instances[i], s->h, s->w, &b);
    }
    if (n_ok > 0) {
        int pick = n_ok > 1 ? (int)prng_below(r, (uint64_t)n_ok) : 0;
        for (int i = 0; i < s->n_instances; i++) {
            aug_box b;
            if (instance_box(&s->instances[i], s->h, s->w, &b) && pick-- == 0) {
                *box = b;
                return 1;
            }
        }
    }
    if (s->mask && mask_box(s->mask, s->h, s->w, box))
        return 1;
    *box = (aug_box){0, 0, s->w, s->h};
    return 0;
}

/* Start of a window of length win along an axis of length len holding (or held by) [b0, b1). */
static int place_axis(int b0, int b1, int win, int len, prng *r)
{
    int lo = b1 - win < b0 ? b1 - win : b0, hi = b1 - win < b0 ? b0 : b1 - win;
    int start = lo + (int)prng_below(r, (uint64_t)(hi - lo) + 1);
    int smin = win <= len ? 0 : len - win, smax = win <= len ? len - win : 0;
    return start < smin ? smin : start > smax ? smax : start;
}

aug_box aug_object_window(const aug_box *obj, int img_h, int img_w, double scale, int out_h,
                          int out_w, prng *r)
{
    double aspect = (double)out_h / out_w;
    double bw = obj->x1 - obj->x0, bh = obj->y1 - obj->y0;
    double base_w = bw > bh / aspect ? bw : bh / aspect;
    double cw = round(scale * base_w), ch = round(scale * base_w * aspect);
    int win_w = cw < 1 ? 1 : cw > 1e7 ? 10000000 : (int)cw;
    int win_h = ch < 1 ? 1 : ch > 1e7 ? 10000000 : (int)ch;
    aug_box w;
    w.x0 = place_axis(obj->x0, obj->x1, win_w, img_w, r);
    w.y0 = place_axis(obj->y0, obj->y1, win_h, img_h, r);
    w.x1 = w.x0 + win_w;
    w.y1 = w.y0 + win_h;
    return w;
}

int aug_object_crop(sample *s, double scale_min, double scale_max, int out_h, int out_w,
                    const aug_fill *fill, prng *r, char *err, size_t errlen)
{
    if (!(scale_min > 0 && scale_min <= scale_max && isfinite(scale_max)))
        return err_fail(err, errlen, "object crop: scale range must satisfy 0 < min <= max "
                        "(got [%g, %g])", scale_min, scale_max);
    if (out_h < 1 || out_w < 1)
        return err_fail(err, errlen, "object crop: output size %dx%d must be at least 1x1",
                        out_h, out_w);
    aug_box obj;
    aug_object_box(s, r, &obj);
    double scale = prng_range(r, scale_min, scale_max);
    aug_box win = aug_object_window(&obj, s->h, s->w, scale, out_h, out_w, r);
    if (aug_crop_pad(s, win.y0, win.x0, win.y1 - win.y0, win.x1 - win.x0, fill, err, errlen))
        return -1;
    return aug_resize(s, out_h, out_w, err, errlen);
}

/* ---------------------------------------------------------------- letterbox */

aug_letterbox aug_letterbox_plan(int in_h, int in_w, int out_h, int out_w)
{
    aug_letterbox t = {in_h, in_w, out_h, out_w, out_h, out_w, 0, 0, 1, 1};
    if (in_h < 1 || in_w < 1 || out_h < 1 || out_w < 1)
        return t;
    double sy = (double)out_h / in_h, sx = (double)out_w / in_w, sc = sx < sy ? sx : sy;
    long h = lround(in_h * sc), w = lround(in_w * sc);
    t.h = h < 1 ? 1 : h > out_h ? out_h : (int)h;
    t.w = w < 1 ? 1 : w > out_w ? out_w : (int)w;
    t.top = (out_h - t.h) / 2;
    t.left = (out_w - t.w) / 2;
    t.scale_x = (double)t.w / in_w;
    t.scale_y = (double)t.h / in_h;
    return t;
}

int aug_letterbox_apply(sample *s, int out_h, int out_w, const aug_fill *fill, aug_letterbox *t,
                        char *err, size_t errlen)
{
    if (out_h < 1 || out_w < 1 || s->h < 1 || s->w < 1)
        return err_fail(err, errlen, "letterbox: cannot fit a %dx%d image into %dx%d", s->h, s->w,
                        out_h, out_w);
    aug_letterbox p = aug_letterbox_plan(s->h, s->w, out_h, out_w);
    if (aug_resize(s, p.h, p.w, err, errlen) ||
        ((p.h != out_h || p.w != out_w) &&
         aug_crop_pad(s, -p.top, -p.left, out_h, out_w, fill, err, errlen)))
        return -1;
    if (t)
        *t = p;
    return 0;
}

static int check_plan(const aug_letterbox *t, char *err, size_t errlen)
{
    if (t->in_h < 1 || t->in_w < 1 || t->h < 1 || t->w < 1 || t->top < 0 || t->left < 0 ||
        t->top + t->h > t->out_h || t->left + t->w > t->out_w)
        return err_fail(err, errlen, "unletterbox: inconsistent transform (%dx%d content at "
                        "(row %d, col %d) of a %dx%d canvas, original %dx%d)", t->h, t->w, t->top,
                        t->left, t->out_h, t->out_w, t->in_h, t->in_w);
    return 0;
}

/* Cut the content rectangle of a px-byte canvas and resize it to the original size. */
static void *unletterbox(const aug_letterbox *t, const void *canvas, aug_plane_kind kind,
                         char *err, size_t errlen)
{
    if (check_plan(t, err, errlen))
        return NULL;
    size_t px = px_bytes(kind, 1);
    uint8_t *content = malloc((size_t)t->h * (size_t)t->w * px);
    void *out = NULL;
    if (content) {
        for (int i = 0; i < t->h; i++)
            memcpy(content + (size_t)i * (size_t)t->w * px,
                   (const uint8_t *)canvas +
                       ((size_t)(t->top + i) * (size_t)t->out_w + (size_t)t->left) * px,
                   (size_t)t->w * px);
        out = aug_resize_plane(content, t->h, t->w, 1, kind, t->in_h, t->in_w);
    }
    free(content);
    if (!out)
        err_fail(err, errlen, "unletterbox: out of memory for %dx%d", t->in_h, t->in_w);
    return out;
}

uint8_t *aug_unletterbox_u8(const aug_letterbox *t, const uint8_t *mask, char *err,
                            size_t errlen)
{
    return unletterbox(t, mask, AUG_PLANE_MASK, err, errlen);
}

float *aug_unletterbox_f32(const aug_letterbox *t, const float *scores, char *err, size_t errlen)
{
    return unletterbox(t, scores, AUG_PLANE_SCORES, err, errlen);
}
