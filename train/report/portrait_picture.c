/*
 * portrait_picture.c - see portrait_picture.h.
 */
#include "report/portrait_picture.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "pipeline/augment.h"

/* A copy of the h x w x c pixels blurred with sigma (augment.h's Gaussian); NULL on failure. */
static uint8_t *blurred(const uint8_t *px, int h, int w, int c, double sigma)
{
    sample s;
    sample_init(&s);
    s.h = h, s.w = w, s.c = c;
    s.image = malloc((size_t)h * w * c);
    char err[128];
    if (!s.image) {
        sample_free(&s);
        return NULL;
    }
    memcpy(s.image, px, (size_t)h * w * c);
    if (aug_blur(&s, (float)sigma, err, sizeof err)) {
        sample_free(&s);
        return NULL;
    }
    uint8_t *out = s.image;
    s.image = NULL;
    sample_free(&s);
    return out;
}

int portrait_picture(const uint8_t *rgb, int h, int w, const uint8_t *mask, const float *depth,
                     const picture_options *o, uint8_t *out, char *err, size_t errlen)
{
    const size_t n = (size_t)h * w;
    if (o->mode == PICTURE_BLUR && !(o->max_sigma > 0))
        return err_fail(err, errlen, "portrait picture: the blur must be > 0 pixels");
    if (o->mode == PICTURE_IMAGE && (!o->image || o->bg_h < 1 || o->bg_w < 1))
        return err_fail(err, errlen, "portrait picture: no background image");
    uint8_t *a8 = malloc(n), *bg = malloc(3 * n);
    uint8_t *lv[PORTRAIT_BLUR_LEVELS] = {0};
    int rc = -1;
    if (!a8 || !bg)
        goto oom;
    for (size_t i = 0; i < n; i++)
        a8[i] = mask[i] ? 255 : 0;
    if (o->edge > 0) {
        uint8_t *f = blurred(a8, h, w, 1, o->edge);
        if (!f)
            goto oom;
        free(a8);
        a8 = f;
    }
    if (o->mode == PICTURE_COLOUR) {
        for (size_t i = 0; i < n; i++)
            memcpy(bg + 3 * i, o->colour, 3);
    } else if (o->mode == PICTURE_IMAGE) {
        double s = fmax((double)h / o->bg_h, (double)w / o->bg_w);
        int nh = (int)ceil(o->bg_h * s), nw = (int)ceil(o->bg_w * s);
        nh = nh < h ? h : nh, nw = nw < w ? w : nw;
        uint8_t *r = aug_resize_plane(o->image, o->bg_h, o->bg_w, 3, AUG_PLANE_IMAGE, nh, nw);
        if (!r)
            goto oom;
        int oy = (nh - h) / 2, ox = (nw - w) / 2;
        for (int y = 0; y < h; y++)
            memcpy(bg + (size_t)y * w * 3, r + ((size_t)(y + oy) * nw + ox) * 3, (size_t)w * 3);
        free(r);
    } else {
        double focus = 0;
        size_t fg = 0;
        for (size_t i = 0; depth && i < n; i++)
            if (mask[i])
                focus += depth[i], fg++;
        focus = fg ? focus / (double)fg : 0;
        lv[0] = (uint8_t *)rgb;
        for (int k = 1; k < PORTRAIT_BLUR_LEVELS; k++)
            if (!(lv[k] = blurred(rgb, h, w, 3, o->max_sigma * k / (PORTRAIT_BLUR_LEVELS - 1))))
                goto oom;
        const double top = PORTRAIT_BLUR_LEVELS - 1;
        for (size_t i = 0; i < n; i++) {
            double t = top;
            if (depth) {
                double u = focus < 1 ? (depth[i] - focus) / (1 - focus) : 0;
                t = (u < 0 ? 0 : u > 1 ? 1 : u) * top;
            }
            int k0 = (int)floor(t), k1 = k0 + 1 > top ? k0 : k0 + 1;
            double f = t - k0;
            for (int c = 0; c < 3; c++)
                bg[3 * i + c] = (uint8_t)lround((1 - f) * lv[k0][3 * i + c] + f * lv[k1][3 * i + c]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        double a = a8[i] / 255.0;
        for (int c = 0; c < 3; c++)
            out[3 * i + c] = (uint8_t)lround(a * rgb[3 * i + c] + (1 - a) * bg[3 * i + c]);
    }
    rc = 0;
    goto done;
oom:
    err_fail(err, errlen, "portrait picture: out of memory for a %dx%d photo", w, h);
done:
    for (int k = 1; k < PORTRAIT_BLUR_LEVELS; k++)
        free(lv[k]);
    free(a8), free(bg);
    return rc;
}
