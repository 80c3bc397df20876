/*
 * polar_draw.h - pictures of polarmask predictions (`pictor predict`): one image with its
 * ground-truth outlines and the predicted polygons over it, as a PNG, drawn with cairo.
 *
 * Owns: the upscaling of the image (integer factor, nearest neighbour, so small images stay
 * crisp and readable), the drawing (ground-truth instance outlines thin and grey; per predicted
 * instance its faint rays, its polygon through the ray end points in the class's colour, the ray
 * origin marked, and a label "<class name> <score>"), and writing the PNG atomically (in memory,
 * then temp file, fsync, rename).
 *
 * Coordinates of the detections (train/polar_decode.h) are pixels of the sample's image; the
 * picture is that image scaled by polar_draw_scale(), nothing else (no margins), so it is
 * (w * scale) x (h * scale) pixels.
 */
#ifndef PICTOR_POLAR_DRAW_H
#define PICTOR_POLAR_DRAW_H

#include <stddef.h>

#include "models/polarmask/polar_decode.h"
#include "pipeline/sample.h"

#define POLAR_DRAW_MIN_SIDE 256 /* default: the picture's longer side is at least this */
#define POLAR_DRAW_MAX_SIDE 8192 /* no picture side is larger (cairo's image limit is 32767) */

typedef struct {
    int min_side;                    /* longer side of the picture at least this (0 = default) */
    const char *const *class_names;  /* num_classes names, or NULL ("class <id>") */
    int num_classes;
} polar_draw_options;

/* The integer factor an h x w image is scaled by: the smallest k >= 1 with max(h, w) * k >=
 * min_side (min_side <= 0: POLAR_DRAW_MIN_SIDE), reduced so that no side exceeds
 * POLAR_DRAW_MAX_SIDE (never below 1). 0 when h or w is not positive. */
int polar_draw_scale(int h, int w, int min_side);

/* The RGB colour of a class (components in [0, 1]); the first ten are distinct hues, later ones
 * step around the hue circle. */
void polar_draw_class_colour(int class_id, double rgb[3]);

/* Draw s (its u8 image, 1 or 3 channels, and its instances' masks or polygons as ground truth)
 * with the detections d (may be NULL or empty) and write the PNG to path. Returns 0, or -1 with
 * a message in err naming the file or the bad input (image size, channels, a mask of another
 * size, detection polygons with no vertices, ...). */
int polar_draw_png(const char *path, const sample *s, const polar_dets *d,
                   const polar_draw_options *opt, char *err, size_t errlen);

#endif
