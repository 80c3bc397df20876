/*
 * overlay.c - see overlay.h. Reads top to bottom: scale and colours, the picture (image painted
 * through nearest-neighbour maps), mask contours (every outer contour and hole rim, traced with
 * contour_trace_outer from the first unvisited top edge), fills and outlines, instances and
 * labels, output. The worst-images sheet is in overlay_sheet.c.
 */
#include "report/overlay.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "geometry/contour.h"
#include "report/plot.h"
#include "pt.h"

#define OV_PI 3.14159265358979323846
#define LABEL_FONT_SIZE 11.0
#define PRED_LINE_WIDTH 2.0
#define INSTANCE_FILL_ALPHA 0.18

const overlay_line OVERLAY_GT_THIN = {{0.8, 0.8, 0.8}, 1.25, 0};
const overlay_line OVERLAY_GT_DASHED = {{1.0, 1.0, 1.0}, 2.0, 6.0};

struct overlay {
    int h, w;          /* the image */
    int ph, pw;        /* the picture */
    int *src_x, *src_y; /* picture column / row -> image column / row */
    cairo_surface_t *sf;
    cairo_t *cr;
};

int overlay_scale(int h, int w, int min_side)
{
    if (h <= 0 || w <= 0)
        return 0;
    if (min_side <= 0)
        min_side = OVERLAY_MIN_SIDE;
    int longer = h > w ? h : w;
    int k = (min_side + longer - 1) / longer;
    if (k < 1)
        k = 1;
    while (k > 1 && (int64_t)longer * k > OVERLAY_MAX_SIDE)
        k--;
    return k;
}

void overlay_class_colour(int class_id, double rgb[3])
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

/* ------------------------------------------------------------------ the picture */

static uint32_t *pixel_row(const overlay *o, int y)
{
    unsigned char *data = cairo_image_surface_get_data(o->sf);
    return (uint32_t *)(void *)(data + (size_t)y * (size_t)cairo_image_surface_get_stride(o->sf));
}

static void paint_image(overlay *o, const uint8_t *image, int c)
{
    cairo_surface_flush(o->sf);
    for (int y = 0; y < o->ph; y++) {
        const uint8_t *row = image + (size_t)o->src_y[y] * (size_t)o->w * (size_t)c;
        uint32_t *out = pixel_row(o, y);
        for (int x = 0; x < o->pw; x++) {
            const uint8_t *px = row + (size_t)o->src_x[x] * (size_t)c;
            uint32_t r = px[0], g = c == 3 ? px[1] : px[0], b = c == 3 ? px[2] : px[0];
            out[x] = (r << 16) | (g << 8) | b;
        }
    }
    cairo_surface_mark_dirty(o->sf);
}

/* Picture pixel i of n shows source pixel floor((i + 0.5) * src / n). */
static int *source_map(int n, int src)
{
    int *m = malloc((size_t)n * sizeof *m);
    for (int i = 0; m && i < n; i++) {
        int64_t v = ((int64_t)2 * i + 1) * src / (2 * (int64_t)n);
        m[i] = (int)(v < src ? v : src - 1);
    }
    return m;
}

overlay *overlay_new(const uint8_t *image, int h, int w, int c, double scale, char *err,
                     size_t errlen)
{
    if (!image || h <= 0 || w <= 0 || (c != 1 && c != 3)) {
        err_fail(err, errlen, "overlay: %s (expected a u8 image of positive size with 1 or 3 "
                 "channels, got %dx%d with %d)", image ? "unusable image" : "no image", w, h, c);
        return NULL;
    }
    if (!(scale > 0) || !isfinite(scale))
        scale = overlay_scale(h, w, 0);
    double pw = round(w * scale), ph = round(h * scale);
    if (pw > OVERLAY_MAX_SIDE || ph > OVERLAY_MAX_SIDE) {
        err_fail(err, errlen, "overlay: a %dx%d image scaled by %g is larger than %d pixels", w, h,
                 scale, OVERLAY_MAX_SIDE);
        return NULL;
    }
    overlay *o = calloc(1, sizeof *o);
    if (!o) {
        err_fail(err, errlen, "overlay: out of memory");
        return NULL;
    }
    o->h = h, o->w = w;
    o->pw = pw < 1 ? 1 : (int)pw;
    o->ph = ph < 1 ? 1 : (int)ph;
    o->src_x = source_map(o->pw, w);
    o->src_y = source_map(o->ph, h);
    o->sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, o->pw, o->ph);
    if (!o->src_x || !o->src_y || cairo_surface_status(o->sf) != CAIRO_STATUS_SUCCESS) {
        err_fail(err, errlen, "overlay: cannot make a %dx%d picture: %s", o->pw, o->ph,
                 o->src_x && o->src_y ? cairo_status_to_string(cairo_surface_status(o->sf))
                                      : "out of memory");
        overlay_free(o);
        return NULL;
    }
    paint_image(o, image, c);
    o->cr = cairo_create(o->sf);
    cairo_select_font_face(o->cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(o->cr, LABEL_FONT_SIZE);
    return o;
}

void overlay_free(overlay *o)
{
    if (!o)
        return;
    if (o->cr)
        cairo_destroy(o->cr);
    if (o->sf)
        cairo_surface_destroy(o->sf);
    free(o->src_x);
    free(o->src_y);
    free(o);
}

int overlay_width(const overlay *o) { return o ? o->pw : 0; }
int overlay_height(const overlay *o) { return o ? o->ph : 0; }

static double px_x(const overlay *o, double x) { return x * o->pw / o->w; }
static double px_y(const overlay *o, double y) { return y * o->ph / o->h; }

static int drawing_ok(const overlay *o, const char *what, char *err, size_t errlen)
{
    cairo_status_t st = cairo_status(o->cr);
    if (st != CAIRO_STATUS_SUCCESS)
        return err_fail(err, errlen, "overlay: %s: cairo: %s", what, cairo_status_to_string(st));
    return 0;
}

static int check_size(const overlay *o, const void *mask, int h, int w, const char *what,
                      char *err, size_t errlen)
{
    if (!o)
        return err_fail(err, errlen, "overlay: %s: no picture", what);
    if (!mask)
        return err_fail(err, errlen, "overlay: %s: no mask", what);
    if (h != o->h || w != o->w)
        return err_fail(err, errlen, "overlay: %s is %dx%d, the image %dx%d (expected the "
                        "image's size)", what, w, h, o->w, o->h);
    return 0;
}

/* ------------------------------------------------------------------ mask contours */

/* Every contour of the binary mask (outer contours and hole rims), as closed polygons along pixel
 * edges. Each on pixel with its upper neighbour off has its top edge on exactly one contour,
 * walked rightwards; tracing from the first such edge not yet walked finds each contour once.
 * Returns the number of polygons (*out malloc'ed, each xy malloc'ed), or -1 (out of memory). */
static int mask_contours(const uint8_t *mask, int h, int w, polygon **out)
{
    *out = NULL;
    uint8_t *walked = calloc((size_t)h * (size_t)w, 1);
    if (!walked)
        return -1;
    polygon *list = NULL;
    int n = 0, cap = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t p = (size_t)y * (size_t)w + (size_t)x;
            if (!mask[p] || (y > 0 && mask[p - (size_t)w]) || walked[p])
                continue;
            if (n == cap) {
                int nc = cap ? 2 * cap : 8;
                polygon *m = realloc(list, (size_t)nc * sizeof *m);
                if (!m)
                    goto fail;
                list = m, cap = nc;
            }
            if (contour_trace_outer(mask, h, w, x, y, &list[n]))
                goto fail;
            const polygon *pg = &list[n++];
            for (int v = 0; v < pg->n; v++) { /* mark the top edges walked rightwards */
                int u = v + 1 < pg->n ? v + 1 : 0;
                int x0 = (int)pg->xy[2 * v], y0 = (int)pg->xy[2 * v + 1];
                int x1 = (int)pg->xy[2 * u], y1 = (int)pg->xy[2 * u + 1];
                if (y0 == y1 && x1 > x0 && y0 < h)
                    for (int k = x0; k < x1; k++)
                        walked[(size_t)y0 * (size_t)w + (size_t)k] = 1;
            }
        }
    free(walked);
    *out = list;
    return n;
fail:
    for (int i = 0; i < n; i++)
        free(list[i].xy);
    free(list);
    free(walked);
    return -1;
}

static void free_contours(polygon *list, int n)
{
    for (int i = 0; i < n; i++)
        free(list[i].xy);
    free(list);
}

/* The closed polygons as the current path, in picture coordinates (non-finite vertices are
 * skipped). */
static void polygons_path(overlay *o, const polygon *pgs, int n)
{
    cairo_new_path(o->cr);
    for (int p = 0; p < n; p++) {
        int started = 0;
        for (int v = 0; v < pgs[p].n; v++) {
            double x = px_x(o, pgs[p].xy[2 * v]), y = px_y(o, pgs[p].xy[2 * v + 1]);
            if (!isfinite(x) || !isfinite(y))
                continue;
            if (!started)
                cairo_move_to(o->cr, x, y), started = 1;
            else
                cairo_line_to(o->cr, x, y);
        }
        if (pgs[p].n > 2)
            cairo_close_path(o->cr);
    }
}

/* The contours of the binary mask as the current path. */
static int mask_path(overlay *o, const uint8_t *mask, char *err, size_t errlen)
{
    polygon *pgs;
    int n = mask_contours(mask, o->h, o->w, &pgs);
    if (n < 0)
        return err_fail(err, errlen, "overlay: out of memory tracing a mask's outline");
    polygons_path(o, pgs, n);
    free_contours(pgs, n);
    return 0;
}

/* ------------------------------------------------------------------ fills and outlines */

static uint8_t blend(uint32_t v, double colour, double a)
{
    return (uint8_t)lround((1.0 - a) * (double)(v & 255) + a * 255.0 * colour);
}

/* Per picture pixel: opacity alpha * weight of its image pixel (weight from the binary mask or
 * the probabilities). */
static void fill(overlay *o, const uint8_t *mask, const float *prob, const double rgb[3],
                 double alpha)
{
    cairo_surface_flush(o->sf);
    for (int y = 0; y < o->ph; y++) {
        uint32_t *row = pixel_row(o, y);
        size_t base = (size_t)o->src_y[y] * (size_t)o->w;
        for (int x = 0; x < o->pw; x++) {
            size_t p = base + (size_t)o->src_x[x];
            double a = alpha;
            if (mask && !mask[p])
                continue;
            if (prob) {
                double q = prob[p] > 0 ? (prob[p] < 1 ? prob[p] : 1.0) : 0.0; /* NaN: 0 */
                if (q <= 0)
                    continue;
                a *= q;
            }
            uint32_t v = row[x];
            row[x] = (uint32_t)blend(v >> 16, rgb[0], a) << 16 |
                     (uint32_t)blend(v >> 8, rgb[1], a) << 8 | blend(v, rgb[2], a);
        }
    }
    cairo_surface_mark_dirty(o->sf);
}

static int check_colour(const double rgb[3], double alpha, const char *what, char *err,
                        size_t errlen)
{
    if (!rgb || !(alpha >= 0 && alpha <= 1))
        return err_fail(err, errlen, "overlay: %s: %s (expected a colour and an opacity in "
                        "[0, 1], got %g)", what, rgb ? "bad opacity" : "no colour", alpha);
    return 0;
}

static void stroke_solid(overlay *o, const double rgb[3], double width)
{
    cairo_set_source_rgb(o->cr, rgb[0], rgb[1], rgb[2]);
    cairo_set_line_width(o->cr, width);
    cairo_set_line_join(o->cr, CAIRO_LINE_JOIN_MITER);
    cairo_set_dash(o->cr, NULL, 0, 0);
    cairo_stroke(o->cr);
}

int overlay_mask(overlay *o, const uint8_t *mask, int h, int w, const double rgb[3], double alpha,
                 char *err, size_t errlen)
{
    if (check_size(o, mask, h, w, "predicted mask", err, errlen) ||
        check_colour(rgb, alpha, "predicted mask", err, errlen))
        return -1;
    fill(o, mask, NULL, rgb, alpha);
    if (mask_path(o, mask, err, errlen))
        return -1;
    stroke_solid(o, rgb, PRED_LINE_WIDTH);
    return drawing_ok(o, "predicted mask", err, errlen);
}

int overlay_soft_mask(overlay *o, const float *prob, int h, int w, const double rgb[3],
                      double alpha, char *err, size_t errlen)
{
    if (check_size(o, prob, h, w, "soft mask", err, errlen) ||
        check_colour(rgb, alpha, "soft mask", err, errlen))
        return -1;
    size_t n = (size_t)h * (size_t)w;
    uint8_t *half = malloc(n);
    if (!half)
        return err_fail(err, errlen, "overlay: soft mask: out of memory");
    for (size_t i = 0; i < n; i++)
        half[i] = prob[i] >= 0.5f;
    fill(o, NULL, prob, rgb, alpha);
    int rc = mask_path(o, half, err, errlen);
    free(half);
    if (rc)
        return -1;
    stroke_solid(o, rgb, PRED_LINE_WIDTH);
    return drawing_ok(o, "soft mask", err, errlen);
}

/* The current path as a ground-truth line: a dark halo, then the line (dashed or solid). */
static void stroke_line(overlay *o, const overlay_line *line)
{
    const overlay_line *l = line ? line : &OVERLAY_GT_THIN;
    double width = l->width > 0 ? l->width : 2.0;
    cairo_set_line_join(o->cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_dash(o->cr, NULL, 0, 0);
    cairo_set_line_width(o->cr, width + 1.75);
    cairo_set_source_rgba(o->cr, 0, 0, 0, 0.35);
    cairo_stroke_preserve(o->cr);
    if (l->dash > 0)
        cairo_set_dash(o->cr, &l->dash, 1, 0);
    cairo_set_line_width(o->cr, width);
    cairo_set_source_rgb(o->cr, l->rgb[0], l->rgb[1], l->rgb[2]);
    cairo_stroke(o->cr);
    cairo_set_dash(o->cr, NULL, 0, 0);
}

int overlay_mask_outline(overlay *o, const uint8_t *mask, int h, int w, const overlay_line *line,
                         char *err, size_t errlen)
{
    if (check_size(o, mask, h, w, "ground-truth mask", err, errlen) ||
        mask_path(o, mask, err, errlen))
        return -1;
    stroke_line(o, line);
    return drawing_ok(o, "ground-truth outline", err, errlen);
}

int overlay_polygon_outline(overlay *o, const polygon *polygons, int n_polygons,
                            const overlay_line *line, char *err, size_t errlen)
{
    if (!o || n_polygons < 0 || (n_polygons > 0 && !polygons))
        return err_fail(err, errlen, "overlay: ground-truth polygons: %s",
                        o ? "no polygons" : "no picture");
    for (int p = 0; p < n_polygons; p++)
        if (polygons[p].n < 0 || (polygons[p].n > 0 && !polygons[p].xy))
            return err_fail(err, errlen, "overlay: ground-truth polygon %d has %d points and no "
                            "coordinates", p, polygons[p].n);
    polygons_path(o, polygons, n_polygons);
    stroke_line(o, line);
    return drawing_ok(o, "ground-truth outline", err, errlen);
}

/* ------------------------------------------------------------------ instances and labels */

/* text on a box of colour rgb (alpha 0.85) with its top-left at (bx, by), or (above) with its
 * bottom at by when that fits; always kept inside the picture. The ink is black or white,
 * whichever reads on the box. */
static void label_box(overlay *o, const char *text, const double rgb[3], double bx, double by,
                      int above)
{
    cairo_t *cr = o->cr;
    cairo_text_extents_t te;
    cairo_font_extents_t fe;
    cairo_text_extents(cr, text, &te);
    cairo_font_extents(cr, &fe);
    double tw = te.x_advance + 6, th = fe.ascent + fe.descent + 2;
    double x = fmin(fmax(bx, 0), fmax(o->pw - tw, 0));
    double y = above && by - th >= 0 ? by - th : fmin(fmax(by, 0), fmax(o->ph - th, 0));
    cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], 0.85);
    cairo_rectangle(cr, x, y, tw, th);
    cairo_fill(cr);
    double luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
    double ink = luma > 0.55 ? 0.0 : 1.0;
    cairo_set_source_rgb(cr, ink, ink, ink);
    cairo_move_to(cr, x + 3, y + 1 + fe.ascent);
    cairo_show_text(cr, text);
}

static int check_instance(const overlay_instance *in, char *err, size_t errlen)
{
    if (!in || !in->xy || in->n < 3)
        return err_fail(err, errlen, "overlay: instance with %d vertices (expected at least 3 "
                        "with their coordinates)", in ? in->n : 0);
    int finite = 1;
    for (int k = 0; finite && k < 2 * in->n; k++)
        finite = isfinite(in->xy[k]);
    for (int k = 0; finite && in->box && k < 4; k++)
        finite = isfinite(in->box[k]);
    if (finite && in->has_origin)
        finite = isfinite(in->ox) && isfinite(in->oy);
    if (!finite)
        return err_fail(err, errlen, "overlay: instance of class %d has a non-finite coordinate",
                        in->class_id);
    return 0;
}

int overlay_draw_instance(overlay *o, const overlay_instance *in, char *err, size_t errlen)
{
    if (!o)
        return err_fail(err, errlen, "overlay: instance: no picture");
    if (check_instance(in, err, errlen))
        return -1;
    cairo_t *cr = o->cr;
    double rgb[3];
    overlay_class_colour(in->class_id, rgb);
    const double ox = px_x(o, in->ox), oy = px_y(o, in->oy);
    if (in->has_origin && in->rays) { /* the rays, faint */
        cairo_set_line_width(cr, 1.0);
        cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], 0.35);
        cairo_new_path(cr);
        for (int r = 0; r < in->n; r++) {
            cairo_move_to(cr, ox, oy);
            cairo_line_to(cr, px_x(o, in->xy[2 * r]), px_y(o, in->xy[2 * r + 1]));
        }
        cairo_stroke(cr);
    }
    /* the polygon: a light fill and a solid outline */
    polygon pg = {in->n, (float *)in->xy};
    polygons_path(o, &pg, 1);
    cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], INSTANCE_FILL_ALPHA);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_set_line_width(cr, PRED_LINE_WIDTH);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_stroke(cr);
    if (in->has_origin) { /* a dot ringed in white */
        cairo_new_path(cr);
        cairo_arc(cr, ox, oy, 3.5, 0, 2 * OV_PI);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_set_line_width(cr, 1.2);
        cairo_stroke(cr);
    }
    double bx, by;
    if (in->box) {
        bx = in->box[0], by = in->box[1];
    } else { /* the top-left of the vertices' box, clipped to the image */
        bx = in->xy[0], by = in->xy[1];
        for (int v = 1; v < in->n; v++)
            bx = fmin(bx, in->xy[2 * v]), by = fmin(by, in->xy[2 * v + 1]);
        bx = fmin(fmax(bx, 0), o->w), by = fmin(fmax(by, 0), o->h);
    }
    char text[96];
    const char *name = in->name && in->name[0] ? in->name : NULL;
    char fallback[32];
    if (!name)
        snprintf(fallback, sizeof fallback, "class %d", in->class_id), name = fallback;
    if (isnan(in->score))
        snprintf(text, sizeof text, "%.40s", name);
    else
        snprintf(text, sizeof text, "%.40s %.2f", name, in->score);
    label_box(o, text, rgb, px_x(o, bx), px_y(o, by), 1);
    return drawing_ok(o, "instance", err, errlen);
}

int overlay_taps(overlay *o, const float *xy, const int *positive, int n, char *err,
                 size_t errlen)
{
    if (!o || n < 0 || (n > 0 && (!xy || !positive)))
        return err_fail(err, errlen, "overlay: taps: %s", o ? "no points" : "no picture");
    static const double pos[3] = OVERLAY_TAP_POS_RGB, neg[3] = OVERLAY_TAP_NEG_RGB;
    for (int i = 0; i < n; i++) {
        double x = xy[2 * i], y = xy[2 * i + 1];
        if (!isfinite(x) || !isfinite(y) || x < 0 || y < 0 || x >= o->w || y >= o->h)
            return err_fail(err, errlen, "overlay: tap %d at (%g, %g) is outside the %dx%d image",
                            i, x, y, o->w, o->h);
    }
    cairo_t *cr = o->cr;
    for (int i = 0; i < n; i++) {
        const double *rgb = positive[i] ? pos : neg;
        cairo_new_path(cr);
        cairo_arc(cr, px_x(o, xy[2 * i] + 0.5), px_y(o, xy[2 * i + 1] + 0.5), OVERLAY_TAP_RADIUS,
                  0, 2 * OV_PI);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_set_line_width(cr, 1.2);
        cairo_stroke(cr);
    }
    return drawing_ok(o, "taps", err, errlen);
}

int overlay_box(overlay *o, const float box[4], const double rgb[3], char *err, size_t errlen)
{
    if (!o || !box)
        return err_fail(err, errlen, "overlay: box: %s", o ? "no box" : "no picture");
    for (int k = 0; k < 4; k++)
        if (!isfinite(box[k]))
            return err_fail(err, errlen, "overlay: box has a non-finite coordinate");
    if (!(box[0] < box[2] && box[1] < box[3]))
        return err_fail(err, errlen, "overlay: box (%g, %g, %g, %g) is empty (expected x0 < x1 "
                        "and y0 < y1)", box[0], box[1], box[2], box[3]);
    if (check_colour(rgb, 1.0, "box", err, errlen))
        return -1;
    cairo_new_path(o->cr);
    cairo_rectangle(o->cr, px_x(o, box[0]), px_y(o, box[1]), px_x(o, box[2]) - px_x(o, box[0]),
                    px_y(o, box[3]) - px_y(o, box[1]));
    stroke_solid(o, rgb, PRED_LINE_WIDTH);
    return drawing_ok(o, "box", err, errlen);
}

int overlay_caption(overlay *o, const char *text, char *err, size_t errlen)
{
    if (!o || !text)
        return err_fail(err, errlen, "overlay: caption: %s", o ? "no text" : "no picture");
    static const double dark[3] = {0.1, 0.1, 0.1};
    label_box(o, text, dark, 0, 0, 0);
    return drawing_ok(o, "caption", err, errlen);
}

/* ------------------------------------------------------------------ output */

int overlay_write_png(const overlay *o, const char *path, char *err, size_t errlen)
{
    if (!o || !path || !*path)
        return err_fail(err, errlen, "overlay: %s", o ? "no output path" : "no picture");
    if (plot_write_surface_png(o->sf, path) != PT_OK) {
        err_fail(err, errlen, "%s", pt_error());
        pt_error_clear();
        return -1;
    }
    return 0;
}

void overlay_copy_rgb(const overlay *o, uint8_t *rgb)
{
    cairo_surface_flush(o->sf);
    for (int y = 0; y < o->ph; y++) {
        const uint32_t *row = pixel_row(o, y);
        uint8_t *out = rgb + (size_t)y * (size_t)o->pw * 3;
        for (int x = 0; x < o->pw; x++) {
            out[3 * x] = (uint8_t)(row[x] >> 16);
            out[3 * x + 1] = (uint8_t)(row[x] >> 8);
            out[3 * x + 2] = (uint8_t)row[x];
        }
    }
}
