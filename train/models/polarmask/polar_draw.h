/*
 * polar_draw.h - pictures of polarmask predictions (`pictor predict`): one image with its
 * ground-truth outlines and the decoded detections over it, as a PNG.
 *
 * Owns only the conversion: the sample's instances become ground-truth outlines (masks or
 * polygons, thin and grey: OVERLAY_GT_THIN) and each detection (models/polarmask/polar_decode.h)
 * a generic overlay_instance (its polygon through the ray end points, its class name and score,
 * the ray origin with its rays, the label over its box), drawn lowest score first so the best end
 * on top. How all that looks, the scaling and the atomic PNG write belong to report/overlay.h.
 *
 * The picture is the image scaled by the integer overlay_scale(h, w, min_side), nothing else (no
 * margins), so it is (w * scale) x (h * scale) pixels.
 */
#ifndef PICTOR_POLAR_DRAW_H
#define PICTOR_POLAR_DRAW_H

#include <stddef.h>

#include "models/polarmask/polar_decode.h"
#include "pipeline/sample.h"
#include "report/overlay.h"

typedef struct {
    int min_side;                    /* longer side of the picture at least this (0 = default) */
    const char *const *class_names;  /* num_classes names, or NULL ("class <id>") */
    int num_classes;
} polar_draw_options;

/* The factor the picture of an h x w image is scaled by (overlay_scale). */
static inline int polar_draw_scale(int h, int w, int min_side)
{
    return overlay_scale(h, w, min_side);
}

/* Draw s (its u8 image, 1 or 3 channels, and its instances' masks or polygons as ground truth)
 * with the detections d (may be NULL or empty) and write the PNG to path. Returns 0, or -1 with
 * a message in err naming the file or the bad input (image size, channels, a mask of another
 * size, detections with fewer than 3 rays, a non-finite coordinate, ...). */
int polar_draw_png(const char *path, const sample *s, const polar_dets *d,
                   const polar_draw_options *opt, char *err, size_t errlen);

#endif
