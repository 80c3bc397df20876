/*
 * overlay.h - results drawn over an image, for people to look at: predicted masks (binary or
 * soft) as a translucent fill with an outline, ground-truth outlines, and generic instances (a
 * polygon, its class name and score, the point it grows from, optionally its rays). Drawn with
 * cairo; every model's pictures go through here (a model folder only converts its outputs into
 * these calls, as models/polarmask/polar_draw.c does).
 *
 * Owns: the picture (the image scaled by a factor, nearest neighbour, no margins), how each kind
 * of mark looks, the outlines of masks (traced with data/geometry/contour.h along pixel edges:
 * outer contours and hole rims), and writing the picture as a PNG atomically (through
 * plot_write_surface_png: in memory, temp file, fsync, rename). It does not own metrics: the
 * worst-images sheet draws the IoU values it is given (train/eval/segmetrics.h computes them).
 *
 * COORDINATES: masks and polygons are in pixels of the image (x right, y down, pixel (x, y)
 * covers [x, x+1) x [y, y+1)); the picture is pw x ph = round(w * scale) x round(h * scale) and a
 * point (x, y) of the image lands at (x * pw / w, y * ph / h). Picture pixel (X, Y) shows image
 * pixel (floor((X + 0.5) * w / pw), floor((Y + 0.5) * h / ph)), so an integer scale k shows each
 * image pixel as a k x k block.
 *
 * FILL (exact, so tests and people can read it): a picture pixel whose image pixel is in the mask
 * becomes, per channel, round((1 - a) * v + a * 255 * rgb) where v is its current value (the
 * image, or whatever was drawn there before) and a = alpha for a binary mask (non-zero = in),
 * alpha * p for a soft mask of probability p (clamped to [0, 1]; NaN = 0).
 *
 * OUTLINES are stroked centred on the pixel edges, so an outline of width 2 covers the picture
 * pixels on both sides of an edge at an integer picture coordinate fully (those pixels get the
 * line's colour exactly). A predicted mask's outline is solid, in its fill colour; the outline of
 * a soft mask is that of p >= 0.5. Ground-truth outlines (overlay_line) lie over a dark halo (so
 * they show on any image) and may be dashed: dashes of `dash` picture pixels, starting on, from
 * the contour's first vertex (a traced contour starts at the top-left corner of its first pixel
 * in raster order and runs rightwards along the top edge).
 *
 * ERRORS: functions returning int give 0 (or a count), or -1 with a message in err naming the
 * file or the bad input (a mask of another size than the image, a polygon without vertices, a
 * non-finite coordinate, N = 0, an unwritable path).
 */
#ifndef PICTOR_REPORT_OVERLAY_H
#define PICTOR_REPORT_OVERLAY_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/sample.h"

#define OVERLAY_MIN_SIDE 256  /* overlay_scale's default: the longer side is at least this */
#define OVERLAY_MAX_SIDE 8192 /* no picture side is larger (cairo's image limit is 32767) */
#define OVERLAY_SHEET_TILE 192 /* default tile side of the worst-images sheet */

typedef struct overlay overlay;

/* A line for ground-truth outlines. */
typedef struct {
    double rgb[3]; /* components in [0, 1] */
    double width;  /* picture pixels; <= 0: 2 */
    double dash;   /* dash and gap length in picture pixels; 0 = solid */
} overlay_line;

/* Light grey, solid, 1.25 px: the outlines `pictor predict` draws under polarmask detections. */
extern const overlay_line OVERLAY_GT_THIN;
/* White, dashed (6 px), 2 px: the ground truth over a filled prediction (the worst-images sheet). */
extern const overlay_line OVERLAY_GT_DASHED;

/* A generic instance: what a detector found. */
typedef struct {
    const float *xy;    /* n vertices (x, y), image pixels; the closed polygon through them */
    int n;              /* >= 3 */
    int class_id;       /* its colour (overlay_class_colour) and its label's fallback name */
    const char *name;   /* class name for the label, or NULL / "" ("class <id>") */
    double score;       /* shown as "<name> 0.87"; NaN: no score in the label */
    int has_origin;     /* non-zero: (ox, oy) is marked with a dot ringed in white */
    double ox, oy;      /* the point the instance grows from (a ray origin, a centre) */
    int rays;           /* non-zero (with an origin): faint lines from the origin to each vertex */
    const float *box;   /* x0, y0, x1, y1 whose top-left the label sits over, or NULL (the
                           vertices' box clipped to the image) */
} overlay_instance;

/* The integer factor an h x w image is scaled by: the smallest k >= 1 with max(h, w) * k >=
 * min_side (min_side <= 0: OVERLAY_MIN_SIDE), reduced so that no side exceeds OVERLAY_MAX_SIDE
 * (never below 1). 0 when h or w is not positive. */
int overlay_scale(int h, int w, int min_side);

/* The RGB colour of a class (components in [0, 1]); the first ten are distinct hues, later ones
 * step around the hue circle (golden-ratio steps). A negative id gets class 0's colour. */
void overlay_class_colour(int class_id, double rgb[3]);

/* A picture of the h x w u8 image of c channels (1 grey, 3 RGB), scaled by scale (<= 0: the
 * integer overlay_scale(h, w, 0)). NULL with a message on bad sizes, a picture side above
 * OVERLAY_MAX_SIDE or out of memory. */
overlay *overlay_new(const uint8_t *image, int h, int w, int c, double scale, char *err,
                     size_t errlen);
void overlay_free(overlay *o); /* NULL-safe */

/* The picture's size in pixels. */
int overlay_width(const overlay *o);
int overlay_height(const overlay *o);

/* A predicted binary mask (h x w, must be the image's size): filled with rgb at opacity alpha
 * (in [0, 1]) and outlined solid in rgb (2 px). */
int overlay_mask(overlay *o, const uint8_t *mask, int h, int w, const double rgb[3], double alpha,
                 char *err, size_t errlen);
/* A predicted soft mask (probabilities, h x w): fill weighted by p, outline of p >= 0.5. */
int overlay_soft_mask(overlay *o, const float *prob, int h, int w, const double rgb[3],
                      double alpha, char *err, size_t errlen);

/* The outline of a ground-truth mask (h x w) / of n_polygons polygons (image pixels), no fill. */
int overlay_mask_outline(overlay *o, const uint8_t *mask, int h, int w, const overlay_line *line,
                         char *err, size_t errlen);
int overlay_polygon_outline(overlay *o, const polygon *polygons, int n_polygons,
                            const overlay_line *line, char *err, size_t errlen);

/* One instance: its rays (if asked), its polygon lightly filled (alpha 0.18) and outlined (2 px)
 * in its class colour, its origin, and the label over its box, kept inside the picture. */
int overlay_draw_instance(overlay *o, const overlay_instance *in, char *err, size_t errlen);

/* Taps of an interactive user: n points (x, y) in image pixels (the centre of the tapped pixel
 * is x + 0.5, y + 0.5), each a dot of radius OVERLAY_TAP_RADIUS picture pixels ringed in white,
 * OVERLAY_TAP_POS_RGB where positive[i] is non-zero, else OVERLAY_TAP_NEG_RGB; later taps over
 * earlier ones. Errors: a point outside the image or not finite, n < 0. */
#define OVERLAY_TAP_RADIUS 4.0
#define OVERLAY_TAP_POS_RGB {0.10, 0.85, 0.20}
#define OVERLAY_TAP_NEG_RGB {0.95, 0.15, 0.15}
int overlay_taps(overlay *o, const float *xy, const int *positive, int n, char *err,
                 size_t errlen);

/* A rectangle box = x0, y0, x1, y1 (image pixels, x0 < x1, y0 < y1) outlined solid in rgb, 2 px
 * wide, centred on its edges (a box of whole pixels outlines them as a mask's outline would). */
int overlay_box(overlay *o, const float box[4], const double rgb[3], char *err, size_t errlen);

/* A line of text on a dark box at the picture's top-left corner (a tile's caption). */
int overlay_caption(overlay *o, const char *text, char *err, size_t errlen);

/* The picture as an RGB PNG at path, written atomically. */
int overlay_write_png(const overlay *o, const char *path, char *err, size_t errlen);
/* The picture's pixels as RGB, row-major, overlay_height x overlay_width x 3, into rgb. */
void overlay_copy_rgb(const overlay *o, uint8_t *rgb);

/* ---------------------------------------------------------------- the worst images */

/* One image of the worst-images sheet. */
typedef struct {
    const uint8_t *image; /* h x w x c, c = 1 or 3 */
    int h, w, c;
    const uint8_t *pred;  /* h x w binary prediction (filled in red), or NULL */
    const uint8_t *gt;    /* h x w binary ground truth (dashed white outline), or NULL */
    double iou;           /* its IoU, finite: the sort key and the caption */
    int64_t id;           /* dataset index in the caption ("#12"), or -1 */
} overlay_sheet_item;

/* One PNG of the min(worst_n, n) items of lowest IoU, lowest first (equal IoUs in input order),
 * row by row on a grid of ceil(sqrt(count)) columns: each tile is the item's overlay (prediction
 * fill + ground-truth outline), scaled so its longer side is tile pixels (<= 0:
 * OVERLAY_SHEET_TILE), captioned "IoU 0.123 #id", on data/curate/contact_sheet.h's grey sheet
 * (4 px between tiles). order (may be NULL, room for worst_n) receives the item indices in tile
 * order. Returns the number of tiles, or -1 (n or worst_n < 1, a bad item, unwritable path). */
int overlay_worst_sheet(const char *path, const overlay_sheet_item *items, int n, int worst_n,
                        int tile, int *order, char *err, size_t errlen);

/* The fill colour and opacity of the predictions on the sheet. */
#define OVERLAY_SHEET_PRED_RGB {0.90, 0.10, 0.10}
#define OVERLAY_SHEET_PRED_ALPHA 0.45

#endif
