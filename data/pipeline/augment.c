/* augment.c - see augment.h: geometric ops that move every annotation with the image, photometric
 * ops on the image, and the configured pipeline. Plain C on u8/float buffers, no libtorch. */
#include "pipeline/augment.h"
#include "pipeline/dense_augment.h"
#include "base/err.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- the planes of a sample */

/* Every per-pixel buffer of a sample: where it lives, its channels, what it holds. */
typedef struct {
    void **buf;
    int channels;
    aug_plane_kind kind;
} plane;

static size_t plane_px_bytes(aug_plane_kind kind, int channels)
{
    size_t elem = kind == AUG_PLANE_DEPTH || kind == AUG_PLANE_SCORES ? sizeof(float) : 1;
    return elem * (size_t)channels;
}

/* Lists the non-NULL planes of s into *out (malloc'ed; caller frees). Returns the count, -1 OOM. */
static int list_planes(sample *s, plane **out)
{
    plane *p = malloc((size_t)(3 + s->n_instances) * sizeof *p);
    int n = 0;
    if (!p)
        return -1;
    if (s->image)
        p[n++] = (plane){(void **)&s->image, s->c, AUG_PLANE_IMAGE};
    if (s->mask)
        p[n++] = (plane){(void **)&s->mask, 1, AUG_PLANE_MASK};
    for (int i = 0; i < s->n_instances; i++)
        if (s->instances[i].mask)
            p[n++] = (plane){(void **)&s->instances[i].mask, 1, AUG_PLANE_INSTANCE};
    if (s->depth)
        p[n++] = (plane){(void **)&s->depth, 1, AUG_PLANE_DEPTH};
    *out = p;
    return n;
}

/* Replace every plane by its new buffer (fresh[i] for planes[i]) and free the old ones. */
static void commit_planes(const plane *planes, void **fresh, int n)
{
    for (int i = 0; i < n; i++) {
        free(*planes[i].buf);
        *planes[i].buf = fresh[i];
    }
}

static void free_all(void **bufs, int n)
{
    for (int i = 0; i < n; i++)
        free(bufs[i]);
}

/* (x, y) -> (a[0] + a[1] x + a[2] y, a[3] + a[4] x + a[5] y) on every point and polygon vertex. */
static void map_xy(float *xy, int n, const double a[6])
{
    for (int k = 0; k < n; k++) {
        double x = xy[2 * k], y = xy[2 * k + 1];
        xy[2 * k] = (float)(a[0] + a[1] * x + a[2] * y);
        xy[2 * k + 1] = (float)(a[3] + a[4] * x + a[5] * y);
    }
}

static void map_coords(sample *s, const double a[6])
{
    if (s->points)
        map_xy(s->points, s->n_points, a);
    for (int i = 0; i < s->n_instances; i++)
        for (int p = 0; p < s->instances[i].n_polygons; p++)
            map_xy(s->instances[i].polygons[p].xy, s->instances[i].polygons[p].n, a);
}

/* ---------------------------------------------------------------- integer pixel maps */

/* Destination pixel (i, j) of an out_h x out_w plane reads source pixel
 * (r0 + ri*i + rj*j, c0 + ci*i + cj*j); coordinates move by the affine map xy. */
typedef struct {
    int out_h, out_w;
    int r0, ri, rj, c0, ci, cj;
    double xy[6];
} pixel_map;

static void *remap_plane(const void *src, int sw, size_t px, const pixel_map *m)
{
    uint8_t *dst = malloc((size_t)m->out_h * (size_t)m->out_w * px);
    if (!dst)
        return NULL;
    const uint8_t *s = src;
    for (int i = 0; i < m->out_h; i++) {
        uint8_t *row = dst + (size_t)i * (size_t)m->out_w * px;
        for (int j = 0; j < m->out_w; j++) {
            size_t si = (size_t)(m->r0 + m->ri * i + m->rj * j);
            size_t sj = (size_t)(m->c0 + m->ci * i + m->cj * j);
            const uint8_t *from = s + (si * (size_t)sw + sj) * px;
            if (px == 1)
                row[j] = *from;
            else
                memcpy(row + (size_t)j * px, from, px);
        }
    }
    return dst;
}

/* See augment.h: every plane through fn (all new buffers first, so on OOM s is unchanged), then
 * the coordinates through xy. */
int aug_transform(sample *s, int out_h, int out_w, aug_resample_fn fn, void *ctx,
                  const double xy[6], const char *op, char *err, size_t errlen)
{
    plane *planes;
    int n = list_planes(s, &planes);
    void **fresh = n >= 0 ? calloc((size_t)n + 1, sizeof *fresh) : NULL;
    int ok = fresh != NULL;
    for (int i = 0; ok && i < n; i++)
        ok = (fresh[i] = fn(ctx, *planes[i].buf, s->h, s->w, planes[i].channels, planes[i].kind,
                            out_h, out_w)) != NULL;
    if (!ok) {
        if (fresh)
            free_all(fresh, n);
        free(fresh);
        if (n >= 0)
            free(planes);
        err_fail(err, errlen, "%s: out of memory for a %dx%d sample (to %dx%d)", op, s->h, s->w,
                 out_h, out_w);
        return -1;
    }
    commit_planes(planes, fresh, n);
    free(fresh);
    free(planes);
    map_coords(s, xy);
    s->h = out_h;
    s->w = out_w;
    return 0;
}

static void *remap_resampler(void *ctx, const void *src, int h, int w, int channels,
                             aug_plane_kind kind, int out_h, int out_w)
{
    (void)h, (void)out_h, (void)out_w;
    return remap_plane(src, w, plane_px_bytes(kind, channels), ctx);
}

/* Apply m to every plane and coordinate of s. */
static int apply_pixel_map(sample *s, const pixel_map *m, const char *op, char *err, size_t errlen)
{
    return aug_transform(s, m->out_h, m->out_w, remap_resampler, (void *)m, m->xy, op, err,
                         errlen);
}

int aug_hflip(sample *s, char *err, size_t errlen)
{
    int W = s->w;
    pixel_map m = {s->h, W, 0, 1, 0, W - 1, 0, -1, {W, -1, 0, 0, 0, 1}};
    return apply_pixel_map(s, &m, "hflip", err, errlen);
}

int aug_rot90(sample *s, int k, char *err, size_t errlen)
{
    int H = s->h, W = s->w;
    k = ((k % 4) + 4) % 4;
    if (k == 0)
        return 0;
    pixel_map m;
    if (k == 1) /* new[i][j] = old[j][W-1-i]; (x, y) -> (y, W - x) */
        m = (pixel_map){W, H, 0, 0, 1, W - 1, -1, 0, {0, 0, 1, W, -1, 0}};
    else if (k == 2) /* new[i][j] = old[H-1-i][W-1-j]; (x, y) -> (W - x, H - y) */
        m = (pixel_map){H, W, H - 1, -1, 0, W - 1, 0, -1, {W, -1, 0, H, 0, -1}};
    else /* new[i][j] = old[H-1-j][i]; (x, y) -> (H - y, x) */
        m = (pixel_map){W, H, H - 1, 0, -1, 0, 1, 0, {H, 0, -1, 0, 1, 0}};
    return apply_pixel_map(s, &m, "rot90", err, errlen);
}

int aug_crop(sample *s, int y0, int x0, int h, int w, char *err, size_t errlen)
{
    if (h < 1 || w < 1 || y0 < 0 || x0 < 0 || y0 + h > s->h || x0 + w > s->w) {
        err_fail(err, errlen,
                 "crop: window %dx%d at (row %d, col %d) does not fit in a %dx%d image", h, w, y0,
                 x0, s->h, s->w);
        return -1;
    }
    pixel_map m = {h, w, y0, 1, 0, x0, 0, 1, {-x0, 1, 0, -y0, 0, 1}};
    return apply_pixel_map(s, &m, "crop", err, errlen);
}

/* ---------------------------------------------------------------- resize */

/* One axis of a bilinear resize: for each output position, two source taps and the weight of
 * the second (half-pixel centres, clamped at the edges). */
typedef struct {
    int *lo, *hi;
    float *w;
} axis_taps;

static int taps_init(axis_taps *t, int in, int out)
{
    t->lo = malloc((size_t)out * sizeof *t->lo);
    t->hi = malloc((size_t)out * sizeof *t->hi);
    t->w = malloc((size_t)out * sizeof *t->w);
    if (!t->lo || !t->hi || !t->w)
        return -1;
    double scale = (double)in / out;
    for (int o = 0; o < out; o++) {
        double src = (o + 0.5) * scale - 0.5;
        if (src < 0)
            src = 0;
        int lo = (int)src;
        if (lo > in - 1)
            lo = in - 1;
        t->lo[o] = lo;
        t->hi[o] = lo + 1 < in ? lo + 1 : in - 1;
        t->w[o] = (float)(src - lo);
    }
    return 0;
}

static void taps_free(axis_taps *t)
{
    free(t->lo);
    free(t->hi);
    free(t->w);
}

static uint8_t to_u8(float v)
{
    if (!(v > 0.0f))
        return 0;
    if (v >= 255.0f)
        return 255;
    return (uint8_t)(v + 0.5f);
}

/* Bilinear resize of a u8 (rounded, clamped) or, with is_float, a float plane of c channels. */
static void *resize_bilinear(const void *src, int ih, int iw, int c, int oh, int ow, int is_float)
{
    axis_taps ty = {0}, tx = {0};
    size_t elem = is_float ? sizeof(float) : 1;
    void *dst = malloc((size_t)oh * (size_t)ow * (size_t)c * elem);
    if (!dst || taps_init(&ty, ih, oh) || taps_init(&tx, iw, ow)) {
        free(dst);
        taps_free(&ty);
        taps_free(&tx);
        return NULL;
    }
    const uint8_t *su = src;
    const float *sf = src;
    size_t row = (size_t)iw * (size_t)c;
    for (int i = 0; i < oh; i++) {
        size_t r0 = (size_t)ty.lo[i] * row, r1 = (size_t)ty.hi[i] * row;
        float wy = ty.w[i];
        for (int j = 0; j < ow; j++) {
            size_t a = (size_t)tx.lo[j] * (size_t)c, b = (size_t)tx.hi[j] * (size_t)c;
            float wx = tx.w[j];
            size_t o = ((size_t)i * (size_t)ow + (size_t)j) * (size_t)c;
            for (size_t k = 0; k < (size_t)c; k++) {
                float p00 = is_float ? sf[r0 + a + k] : su[r0 + a + k];
                float p01 = is_float ? sf[r0 + b + k] : su[r0 + b + k];
                float p10 = is_float ? sf[r1 + a + k] : su[r1 + a + k];
                float p11 = is_float ? sf[r1 + b + k] : su[r1 + b + k];
                float top = p00 + wx * (p01 - p00);
                float bot = p10 + wx * (p11 - p10);
                float v = top + wy * (bot - top);
                if (is_float)
                    ((float *)dst)[o + k] = v;
                else
                    ((uint8_t *)dst)[o + k] = to_u8(v);
            }
        }
    }
    taps_free(&ty);
    taps_free(&tx);
    return dst;
}

/* Nearest-exact source index of output o: floor((o + 0.5) * in / out). */
static int nearest_src(int o, int in, int out)
{
    int64_t s = ((2 * (int64_t)o + 1) * in) / (2 * (int64_t)out);
    return s < in ? (int)s : in - 1;
}

static void *resize_nearest(const void *src, int ih, int iw, size_t px, int oh, int ow)
{
    uint8_t *dst = malloc((size_t)oh * (size_t)ow * px);
    if (!dst)
        return NULL;
    const uint8_t *s = src;
    for (int i = 0; i < oh; i++) {
        size_t si = (size_t)nearest_src(i, ih, oh);
        for (int j = 0; j < ow; j++) {
            size_t sj = (size_t)nearest_src(j, iw, ow);
            memcpy(dst + ((size_t)i * (size_t)ow + (size_t)j) * px,
                   s + (si * (size_t)iw + sj) * px, px);
        }
    }
    return dst;
}

void *aug_resize_plane(const void *src, int h, int w, int channels, aug_plane_kind kind,
                       int out_h, int out_w)
{
    if (kind == AUG_PLANE_IMAGE || kind == AUG_PLANE_SCORES)
        return resize_bilinear(src, h, w, channels, out_h, out_w, kind == AUG_PLANE_SCORES);
    return resize_nearest(src, h, w, plane_px_bytes(kind, channels), out_h, out_w);
}

static void *resize_resampler(void *ctx, const void *src, int h, int w, int channels,
                              aug_plane_kind kind, int out_h, int out_w)
{
    (void)ctx;
    return aug_resize_plane(src, h, w, channels, kind, out_h, out_w);
}

int aug_resize(sample *s, int h, int w, char *err, size_t errlen)
{
    if (h < 1 || w < 1 || s->h < 1 || s->w < 1) {
        err_fail(err, errlen, "resize: cannot resize a %dx%d image to %dx%d", s->h, s->w, h, w);
        return -1;
    }
    if (h == s->h && w == s->w)
        return 0;
    const double a[6] = {0, (double)w / s->w, 0, 0, 0, (double)h / s->h};
    return aug_transform(s, h, w, resize_resampler, NULL, a, "resize", err, errlen);
}

/* ---------------------------------------------------------------- gaussian blur */

/* Mirror index i into [0, n) with the edge repeated: ... c b a | a b c ... (period 2n). */
static int mirror(int i, int n)
{
    int p = 2 * n;
    i %= p;
    if (i < 0)
        i += p;
    return i < n ? i : p - 1 - i;
}

/* One separable pass over a float plane of `lines` lines of `len` samples spaced `stride` apart
 * (lines `step` apart): out = w0 x + sum_k w_k (x[-k] + x[+k]); pairs are added first, so mirror
 * images give bit-identical sums. */
static void blur_pass(const float *in, float *out, int lines, int len, size_t step, size_t stride,
                      const float *wk, int r)
{
    for (int l = 0; l < lines; l++) {
        const float *x = in + (size_t)l * step;
        float *y = out + (size_t)l * step;
        for (int i = 0; i < len; i++) {
            float acc = wk[0] * x[(size_t)i * stride];
            for (int k = 1; k <= r; k++)
                acc += wk[k] * (x[(size_t)mirror(i - k, len) * stride] +
                                x[(size_t)mirror(i + k, len) * stride]);
            y[(size_t)i * stride] = acc;
        }
    }
}

int aug_blur(sample *s, float sigma, char *err, size_t errlen)
{
    if (!(sigma > 0) || !s->image)
        return 0;
    int r = (int)ceilf(3.0f * sigma);
    size_t plane_n = (size_t)s->h * (size_t)s->w;
    float *wk = malloc((size_t)(r + 1) * sizeof *wk);
    float *a = malloc(plane_n * sizeof *a), *b = malloc(plane_n * sizeof *b);
    if (!wk || !a || !b) {
        free(wk), free(a), free(b);
        err_fail(err, errlen, "blur: out of memory for a %dx%d image", s->h, s->w);
        return -1;
    }
    double sum = 0;
    for (int k = 0; k <= r; k++) {
        wk[k] = (float)exp(-(double)k * k / (2.0 * sigma * sigma));
        sum += k ? 2.0 * wk[k] : wk[k];
    }
    for (int k = 0; k <= r; k++)
        wk[k] = (float)(wk[k] / sum);
    int c = s->c;
    for (int ch = 0; ch < c; ch++) {
        for (size_t p = 0; p < plane_n; p++)
            a[p] = s->image[p * (size_t)c + (size_t)ch];
        blur_pass(a, b, s->h, s->w, (size_t)s->w, 1, wk, r);  /* along rows */
        blur_pass(b, a, s->w, s->h, 1, (size_t)s->w, wk, r);  /* along columns */
        for (size_t p = 0; p < plane_n; p++)
            s->image[p * (size_t)c + (size_t)ch] = to_u8(a[p]);
    }
    free(wk), free(a), free(b);
    return 0;
}

/* ---------------------------------------------------------------- colour jitter */

static float clamp255(float v)
{
    return v < 0 ? 0 : v > 255 ? 255 : v;
}

static float grey_of(const float *px, int c)
{
    return c == 3 ? 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2] : px[0];
}

int aug_jitter(sample *s, float brightness, float contrast, float saturation, char *err,
               size_t errlen)
{
    if (!s->image)
        return 0;
    if (brightness < 0 || contrast < 0 || saturation < 0) {
        err_fail(err, errlen, "jitter: factors must be >= 0 (brightness %g, contrast %g, "
                 "saturation %g)", brightness, contrast, saturation);
        return -1;
    }
    size_t n = (size_t)s->h * (size_t)s->w, c = (size_t)s->c;
    float *f = malloc(n * c * sizeof *f);
    if (!f) {
        err_fail(err, errlen, "jitter: out of memory for a %dx%d image", s->h, s->w);
        return -1;
    }
    for (size_t i = 0; i < n * c; i++)
        f[i] = clamp255(s->image[i] * brightness);
    if (contrast != 1.0f) {
        double mean = 0;
        for (size_t p = 0; p < n; p++)
            mean += grey_of(f + p * c, (int)c);
        float m = (float)(n ? mean / (double)n : 0);
        for (size_t i = 0; i < n * c; i++)
            f[i] = clamp255(f[i] * contrast + m * (1.0f - contrast));
    }
    if (saturation != 1.0f && c == 3) {
        for (size_t p = 0; p < n; p++) {
            float g = grey_of(f + p * 3, 3);
            for (size_t k = 0; k < 3; k++)
                f[p * 3 + k] = clamp255(f[p * 3 + k] * saturation + g * (1.0f - saturation));
        }
    }
    for (size_t i = 0; i < n * c; i++)
        s->image[i] = to_u8(f[i]);
    free(f);
    return 0;
}

/* ---------------------------------------------------------------- the pipeline */

static int check_prob(float p, const char *name, char *err, size_t errlen)
{
    if (!(p >= 0 && p <= 1)) {
        err_fail(err, errlen, "augment: %s must be in [0, 1] (got %g)", name, p);
        return -1;
    }
    return 0;
}

static int check_pair(int a, int b, const char *name, char *err, size_t errlen)
{
    if (a < 0 || b < 0 || (a == 0) != (b == 0)) {
        err_fail(err, errlen, "augment: %s must be two sizes >= 1, or both 0 for off (got %dx%d)",
                 name, a, b);
        return -1;
    }
    return 0;
}

int aug_config_check(const aug_config *c, char *err, size_t errlen)
{
    if (check_prob(c->rot90_prob, "rot90 probability", err, errlen) ||
        check_prob(c->hflip_prob, "hflip probability", err, errlen) ||
        check_prob(c->blur_prob, "blur probability", err, errlen) ||
        check_prob(c->jitter_prob, "jitter probability", err, errlen) ||
        check_pair(c->crop_h, c->crop_w, "crop", err, errlen) ||
        check_pair(c->resize_h, c->resize_w, "resize", err, errlen))
        return -1;
    if (c->crop_scale_max != 0 || c->crop_scale_min != 0) {
        if (!(c->crop_scale_min > 0 && c->crop_scale_min <= c->crop_scale_max &&
              c->crop_scale_max <= 1)) {
            err_fail(err, errlen, "augment: crop scale range must satisfy 0 < min <= max <= 1 "
                     "(got [%g, %g])", c->crop_scale_min, c->crop_scale_max);
            return -1;
        }
        if (c->crop_h > 0) {
            err_fail(err, errlen,
                     "augment: give either a crop size or a crop scale range, not both");
            return -1;
        }
    }
    if (c->blur_prob > 0 && !(c->blur_sigma_min > 0 && c->blur_sigma_min <= c->blur_sigma_max)) {
        err_fail(err, errlen,
                 "augment: blur sigma range must satisfy 0 < min <= max (got [%g, %g])",
                 c->blur_sigma_min, c->blur_sigma_max);
        return -1;
    }
    if (!(c->brightness >= 0 && c->contrast >= 0 && c->saturation >= 0)) {
        err_fail(err, errlen, "augment: jitter strengths must be >= 0 (brightness %g, contrast %g, "
                 "saturation %g)", c->brightness, c->contrast, c->saturation);
        return -1;
    }
    if (!(c->rotate_deg >= 0 && c->rotate_deg <= 180)) {
        err_fail(err, errlen, "augment: rotate_deg must be in [0, 180] degrees (got %g)",
                 c->rotate_deg);
        return -1;
    }
    if (check_prob(c->object_crop_prob, "object crop probability", err, errlen))
        return -1;
    if (c->object_crop_prob > 0) {
        float lo = c->object_crop_scale_min, hi = c->object_crop_scale_max;
        if (!(lo > 0 && lo <= hi && isfinite(hi))) {
            err_fail(err, errlen, "augment: object crop scale range must satisfy 0 < min <= max "
                     "(got [%g, %g])", c->object_crop_scale_min, c->object_crop_scale_max);
            return -1;
        }
        if (c->resize_h < 1 || c->resize_first) {
            err_fail(err, errlen, "augment: the object crop needs a resize after it (its output "
                     "size): set resize_h/resize_w, without resize_first");
            return -1;
        }
    }
    return 0;
}

int aug_config_active(const aug_config *c)
{
    return c->rot90_prob > 0 || c->hflip_prob > 0 || c->crop_h > 0 || c->crop_scale_max > 0 ||
           c->resize_h > 0 || c->blur_prob > 0 || c->rotate_deg > 0 ||
           c->object_crop_prob > 0 ||
           (c->jitter_prob > 0 && (c->brightness > 0 || c->contrast > 0 || c->saturation > 0));
}

/* A jitter factor uniform in [max(0, 1 - v), 1 + v]; exactly 1 (no draw) when v is 0. */
static float jitter_factor(prng *r, float v)
{
    if (!(v > 0))
        return 1.0f;
    double lo = 1.0 - v < 0 ? 0 : 1.0 - v;
    return (float)prng_range(r, lo, 1.0 + v);
}

static int random_crop(const aug_config *c, sample *s, prng *r, char *err, size_t errlen)
{
    int ch, cw;
    if (c->crop_h > 0) {
        ch = c->crop_h;
        cw = c->crop_w;
        if (ch > s->h || cw > s->w) {
            err_fail(err, errlen, "crop: %dx%d is larger than the %dx%d image", ch, cw, s->h, s->w);
            return -1;
        }
    } else {
        double side = sqrt(prng_range(r, c->crop_scale_min, c->crop_scale_max));
        ch = (int)lround(s->h * side);
        cw = (int)lround(s->w * side);
        ch = ch < 1 ? 1 : ch > s->h ? s->h : ch;
        cw = cw < 1 ? 1 : cw > s->w ? s->w : cw;
    }
    if (c->crop_h > 0 && c->crop_center)
        return aug_crop(s, (s->h - ch) / 2, (s->w - cw) / 2, ch, cw, err, errlen);
    int y0 = (int)prng_below(r, (uint64_t)(s->h - ch + 1));
    int x0 = (int)prng_below(r, (uint64_t)(s->w - cw + 1));
    return aug_crop(s, y0, x0, ch, cw, err, errlen);
}

/* The pipeline's resize: stretched (aug_resize) or letterboxed. */
static int final_resize(const aug_config *c, sample *s, char *err, size_t errlen)
{
    if (!c->letterbox)
        return aug_resize(s, c->resize_h, c->resize_w, err, errlen);
    const aug_fill fill = {c->fill_image, c->fill_mask};
    return aug_letterbox_apply(s, c->resize_h, c->resize_w, &fill, NULL, err, errlen);
}

int aug_apply(const aug_config *c, sample *s, prng *r, char *err, size_t errlen)
{
    const aug_fill fill = {c->fill_image, c->fill_mask};
    if (c->rot90_prob > 0 && prng_chance(r, c->rot90_prob) &&
        aug_rot90(s, 1 + (int)prng_below(r, 3), err, errlen))
        return -1;
    if (c->hflip_prob > 0 && prng_chance(r, c->hflip_prob) && aug_hflip(s, err, errlen))
        return -1;
    if (c->rotate_deg > 0 &&
        aug_rotate(s, prng_range(r, -c->rotate_deg, c->rotate_deg), &fill, err, errlen))
        return -1;
    int crop = c->crop_h > 0 || c->crop_scale_max > 0, resize = c->resize_h > 0;
    if (resize && c->resize_first && final_resize(c, s, err, errlen))
        return -1;
    if (c->object_crop_prob > 0 && prng_chance(r, c->object_crop_prob)) {
        if (aug_object_crop(s, c->object_crop_scale_min, c->object_crop_scale_max, c->resize_h,
                            c->resize_w, &fill, r, err, errlen))
            return -1;
    } else if (crop && random_crop(c, s, r, err, errlen)) {
        return -1;
    }
    if (resize && !c->resize_first && final_resize(c, s, err, errlen))
        return -1;
    if (c->blur_prob > 0 && prng_chance(r, c->blur_prob) &&
        aug_blur(s, (float)prng_range(r, c->blur_sigma_min, c->blur_sigma_max), err, errlen))
        return -1;
    if (c->jitter_prob > 0 && prng_chance(r, c->jitter_prob)) {
        float b = jitter_factor(r, c->brightness);
        float k = jitter_factor(r, c->contrast);
        float sat = jitter_factor(r, c->saturation);
        if (aug_jitter(s, b, k, sat, err, errlen))
            return -1;
    }
    return 0;
}
