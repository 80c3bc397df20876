/*
 * polar_draw.c - see polar_draw.h. Reads top to bottom: checks, the upscaled image, the
 * ground-truth outlines, the detections (lowest score first, so the best ones end on top), the
 * PNG in memory and its atomic write.
 */
#include "models/polarmask/polar_draw.h"

#include <cairo.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/plot.h"
#include "pt.h"

#define DRAW_PI 3.14159265358979323846
#define LABEL_FONT_SIZE 11.0
#define GT_GREY 0.8

int polar_draw_scale(int h, int w, int min_side)
{
    if (h <= 0 || w <= 0)
        return 0;
    if (min_side <= 0)
        min_side = POLAR_DRAW_MIN_SIDE;
    int longer = h > w ? h : w;
    int k = (min_side + longer - 1) / longer;
    if (k < 1)
        k = 1;
    while (k > 1 && (int64_t)longer * k > POLAR_DRAW_MAX_SIDE)
        k--;
    return k;
}

void polar_draw_class_colour(int class_id, double rgb[3])
{
    static const double palette[10][3] = {
        {0.12, 0.47, 0.71}, /* blue */
        {1.00, 0.50, 0.05}, /* orange */
        {0.17, 0.63, 0.17}, /* green */
        {0.84, 0.15, 0.16}, /* red */
        {0.58, 0.40, 0.74}, /* purple */
        {0.55, 0.34, 0.29}, /* brown */
        {0.89, 0.47, 0.76}, /* pink */
        {0.74, 0.74, 0.13}, /* olive */
        {0.09, 0.75, 0.81}, /* cyan */
        {1.00, 0.84, 0.00}, /* gold */
    };
    if (class_id < 0)
        class_id = 0;
    if (class_id < 10) {
        memcpy(rgb, palette[class_id], sizeof palette[class_id]);
        return;
    }
    /* golden-ratio steps around the hue circle, saturation 0.75, value 0.95 (HSV -> RGB) */
    double hue = fmod(0.05 + 0.6180339887498949 * class_id, 1.0) * 6.0;
    double v = 0.95, s = 0.75, f = hue - floor(hue);
    double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    switch ((int)floor(hue) % 6) {
    case 0: rgb[0] = v, rgb[1] = t, rgb[2] = p; break;
    case 1: rgb[0] = q, rgb[1] = v, rgb[2] = p; break;
    case 2: rgb[0] = p, rgb[1] = v, rgb[2] = t; break;
    case 3: rgb[0] = p, rgb[1] = q, rgb[2] = v; break;
    case 4: rgb[0] = t, rgb[1] = p, rgb[2] = v; break;
    default: rgb[0] = v, rgb[1] = p, rgb[2] = q; break;
    }
}

/* ------------------------------------------------------------------ checks */

static int check_inputs(const char *path, const sample *s, const polar_dets *d, char *err,
                        size_t errlen)
{
    if (!path || !*path) {
        snprintf(err, errlen, "polar_draw: no output path");
        return -1;
    }
    if (!s || !s->image || s->h <= 0 || s->w <= 0 || (s->c != 1 && s->c != 3)) {
        snprintf(err, errlen, "cannot draw '%s': the sample has %s (expected a %s)", path,
                 !s || !s->image ? "no image" : "an image of unusable size or channels",
                 "u8 image of positive size with 1 or 3 channels");
        return -1;
    }
    for (int i = 0; i < s->n_instances; i++) {
        const instance *in = &s->instances[i];
        for (int p = 0; p < in->n_polygons; p++)
            if (in->polygons[p].n > 0 && !in->polygons[p].xy) {
                snprintf(err, errlen, "cannot draw '%s': instance %d, polygon %d has %d points "
                         "and no coordinates", path, i, p, in->polygons[p].n);
                return -1;
            }
    }
    if (!d || d->n <= 0)
        return 0;
    if (!d->det || d->num_rays < 3) {
        snprintf(err, errlen, "cannot draw '%s': %d detections with %d rays each (expected at "
                 "least 3 rays with their vertices)", path, d->n, d->num_rays);
        return -1;
    }
    for (int i = 0; i < d->n; i++) {
        const polar_det *t = &d->det[i];
        int finite = t->xy && isfinite(t->x) && isfinite(t->y) && isfinite(t->score);
        for (int k = 0; finite && k < 2 * d->num_rays; k++)
            finite = isfinite(t->xy[k]);
        for (int k = 0; finite && k < 4; k++)
            finite = isfinite(t->box[k]);
        if (!finite) {
            snprintf(err, errlen, "cannot draw '%s': detection %d (class %d) has %s", path, i,
                     t->class_id, t->xy ? "a non-finite coordinate or score" : "no vertices");
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ drawing */

/* The image, each pixel a k x k block. */
static void paint_image(cairo_surface_t *sf, const sample *s, int k)
{
    cairo_surface_flush(sf);
    unsigned char *data = cairo_image_surface_get_data(sf);
    const int stride = cairo_image_surface_get_stride(sf);
    for (int y = 0; y < s->h; y++) {
        const uint8_t *row = s->image + (size_t)y * (size_t)s->w * (size_t)s->c;
        uint32_t *out = (uint32_t *)(void *)(data + (size_t)y * (size_t)k * (size_t)stride);
        for (int x = 0; x < s->w; x++) {
            const uint8_t *px = row + (size_t)x * (size_t)s->c;
            uint32_t r = px[0], g = s->c == 3 ? px[1] : px[0], b = s->c == 3 ? px[2] : px[0];
            uint32_t v = (r << 16) | (g << 8) | b;
            for (int j = 0; j < k; j++)
                out[x * k + j] = v;
        }
        for (int j = 1; j < k; j++)
            memcpy(data + ((size_t)y * (size_t)k + (size_t)j) * (size_t)stride, out,
                   (size_t)s->w * (size_t)k * sizeof *out);
    }
    cairo_surface_mark_dirty(sf);
}

static int inside(const uint8_t *mask, int h, int w, int y, int x)
{
    return y >= 0 && y < h && x >= 0 && x < w && mask[(size_t)y * (size_t)w + (size_t)x] != 0;
}

/* The pixel edges between inside and outside of a mask, as a path (runs merged). */
static void mask_outline_path(cairo_t *cr, const uint8_t *mask, int h, int w, double k)
{
    for (int y = 0; y <= h; y++) /* horizontal edges on the line between rows y - 1 and y */
        for (int x = 0; x < w;) {
            if (inside(mask, h, w, y - 1, x) == inside(mask, h, w, y, x)) {
                x++;
                continue;
            }
            int x0 = x;
            while (x < w && inside(mask, h, w, y - 1, x) != inside(mask, h, w, y, x))
                x++;
            cairo_move_to(cr, x0 * k, y * k);
            cairo_line_to(cr, x * k, y * k);
        }
    for (int x = 0; x <= w; x++) /* vertical edges on the line between columns x - 1 and x */
        for (int y = 0; y < h;) {
            if (inside(mask, h, w, y, x - 1) == inside(mask, h, w, y, x)) {
                y++;
                continue;
            }
            int y0 = y;
            while (y < h && inside(mask, h, w, y, x - 1) != inside(mask, h, w, y, x))
                y++;
            cairo_move_to(cr, x * k, y0 * k);
            cairo_line_to(cr, x * k, y * k);
        }
}

/* Each instance's outline: a thin grey line over a faint dark halo (visible on any image). */
static void draw_ground_truth(cairo_t *cr, const sample *s, double k)
{
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (int i = 0; i < s->n_instances; i++) {
        const instance *in = &s->instances[i];
        cairo_new_path(cr);
        if (in->mask) {
            mask_outline_path(cr, in->mask, s->h, s->w, k);
        } else {
            for (int p = 0; p < in->n_polygons; p++) {
                const polygon *pg = &in->polygons[p];
                for (int v = 0; v < pg->n; v++) {
                    double x = pg->xy[2 * v] * k, y = pg->xy[2 * v + 1] * k;
                    if (!isfinite(x) || !isfinite(y))
                        continue;
                    if (v == 0)
                        cairo_move_to(cr, x, y);
                    else
                        cairo_line_to(cr, x, y);
                }
                if (pg->n > 2)
                    cairo_close_path(cr);
            }
        }
        cairo_set_line_width(cr, 3.0);
        cairo_set_source_rgba(cr, 0, 0, 0, 0.35);
        cairo_stroke_preserve(cr);
        cairo_set_line_width(cr, 1.25);
        cairo_set_source_rgba(cr, GT_GREY, GT_GREY, GT_GREY, 0.95);
        cairo_stroke(cr);
    }
}

static void class_label(const polar_draw_options *o, int class_id, float score, char *out,
                        size_t cap)
{
    if (o && o->class_names && class_id >= 0 && class_id < o->num_classes &&
        o->class_names[class_id] && o->class_names[class_id][0])
        snprintf(out, cap, "%.40s %.2f", o->class_names[class_id], score);
    else
        snprintf(out, cap, "class %d %.2f", class_id, score);
}

/* The label over the top-left of the detection's box, kept inside the picture. */
static void draw_label(cairo_t *cr, const char *text, const double rgb[3], double bx, double by,
                       double pic_w, double pic_h)
{
    cairo_text_extents_t te;
    cairo_font_extents_t fe;
    cairo_text_extents(cr, text, &te);
    cairo_font_extents(cr, &fe);
    double tw = te.x_advance + 6, th = fe.ascent + fe.descent + 2;
    double x = fmin(fmax(bx, 0), fmax(pic_w - tw, 0));
    double y = by - th >= 0 ? by - th : fmin(fmax(by, 0), fmax(pic_h - th, 0));
    cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], 0.85);
    cairo_rectangle(cr, x, y, tw, th);
    cairo_fill(cr);
    double luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
    double ink = luma > 0.55 ? 0.0 : 1.0;
    cairo_set_source_rgb(cr, ink, ink, ink);
    cairo_move_to(cr, x + 3, y + 1 + fe.ascent);
    cairo_show_text(cr, text);
}

static void draw_detection(cairo_t *cr, const polar_det *t, int num_rays,
                           const polar_draw_options *o, double k, double pic_w, double pic_h)
{
    double rgb[3];
    polar_draw_class_colour(t->class_id, rgb);
    const double ox = t->x * k, oy = t->y * k;
    /* the rays, faint */
    cairo_set_line_width(cr, 1.0);
    cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], 0.35);
    cairo_new_path(cr);
    for (int r = 0; r < num_rays; r++) {
        cairo_move_to(cr, ox, oy);
        cairo_line_to(cr, t->xy[2 * r] * k, t->xy[2 * r + 1] * k);
    }
    cairo_stroke(cr);
    /* the polygon through the ray end points: a light fill and a solid outline */
    cairo_new_path(cr);
    for (int r = 0; r < num_rays; r++)
        cairo_line_to(cr, t->xy[2 * r] * k, t->xy[2 * r + 1] * k);
    cairo_close_path(cr);
    cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], 0.18);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_set_line_width(cr, 2.0);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_stroke(cr);
    /* the ray origin: a dot ringed in white */
    cairo_new_path(cr);
    cairo_arc(cr, ox, oy, 3.5, 0, 2 * DRAW_PI);
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_set_line_width(cr, 1.2);
    cairo_stroke(cr);
    char text[96];
    class_label(o, t->class_id, t->score, text, sizeof text);
    draw_label(cr, text, rgb, t->box[0] * k, t->box[1] * k, pic_w, pic_h);
}

int polar_draw_png(const char *path, const sample *s, const polar_dets *d,
                   const polar_draw_options *opt, char *err, size_t errlen)
{
    if (check_inputs(path, s, d, err, errlen))
        return -1;
    const int k = polar_draw_scale(s->h, s->w, opt ? opt->min_side : 0);
    const int pic_w = s->w * k, pic_h = s->h * k;
    if (pic_w > POLAR_DRAW_MAX_SIDE || pic_h > POLAR_DRAW_MAX_SIDE) {
        snprintf(err, errlen, "cannot draw '%s': a %dx%d image is larger than %d pixels", path,
                 s->w, s->h, POLAR_DRAW_MAX_SIDE);
        return -1;
    }
    cairo_surface_t *sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, pic_w, pic_h);
    cairo_t *cr = NULL;
    cairo_status_t cst = cairo_surface_status(sf);
    if (cst == CAIRO_STATUS_SUCCESS) {
        paint_image(sf, s, k);
        cr = cairo_create(sf);
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                               CAIRO_FONT_WEIGHT_BOLD);
        cairo_set_font_size(cr, LABEL_FONT_SIZE);
        draw_ground_truth(cr, s, k);
        for (int i = d ? d->n - 1 : -1; i >= 0; i--)
            draw_detection(cr, &d->det[i], d->num_rays, opt, k, pic_w, pic_h);
        cst = cairo_status(cr);
    }
    if (cr)
        cairo_destroy(cr);
    int rc = 0;
    if (cst != CAIRO_STATUS_SUCCESS) {
        snprintf(err, errlen, "cannot draw '%s': cairo: %s", path, cairo_status_to_string(cst));
        rc = -1;
    } else if (plot_write_surface_png(sf, path) != PT_OK) {
        snprintf(err, errlen, "%s", pt_error());
        rc = -1;
    }
    cairo_surface_destroy(sf);
    return rc;
}
