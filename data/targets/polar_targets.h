/*
 * polar_targets.h - the training targets of PolarMask-style instance segmentation for one image:
 * which FPN location is positive for which instance, its class, its ray lengths to the instance's
 * contour, its centerness, and the boundary map of the global contour head.
 *
 * Owns: the configuration of the targets (levels, strides, size ranges, rays, sampling radius),
 * the layout of the location grid, and computing one image's targets from a sample. It does not
 * own contour geometry (contour.h), batching (the driver) or the losses.
 *
 * LAYOUT (the conventions shared by every polarmask part)
 *   Level l of an h x w image has H_l = ceil(h / s_l) rows and W_l = ceil(w / s_l) columns; its
 *   location (i, j) sits at image point ((j + 0.5) * s_l, (i + 0.5) * s_l). Locations of all
 *   levels are flattened level 0 first, each level row-major: N = sum_l H_l * W_l, flat index =
 *   offset_l + i * W_l + j. Ray k of R has angle theta_k = k * 360 / R degrees and direction
 *   (sin theta_k, cos theta_k): ray 0 points down (+y), ray R/4 right (+x).
 *
 * THE RULES (PolarMask's, made robust)
 *   Instance mask: instance.mask (h x w, non-zero = on) or, when it is NULL, its polygons filled
 *   with raster.h (even-odd, union of the parts). Without a pixel the instance is skipped and
 *   counted as empty.
 *   Box: the bounding box of all its pixels, [x0, x1) x [y0, y1). Area: its pixel count.
 *   Centre: the area centroid of the outer contour of its largest 8-connected component
 *   (contour.h). That contour runs along pixel edges, so its area is at least the component's
 *   pixel count: it never degenerates (a 1-px line or a single pixel is a thin rectangle, not
 *   the zero-area contour through pixel centres that PolarMask has to fall back from).
 *   Candidates: a location (x, y) of level l (stride s) is a candidate for the instance when
 *     |x - cx| <= center_radius * s and |y - cy| <= center_radius * s  (center sampling),
 *     x0 < x < x1 and y0 < y < y1                                       (inside the box),
 *     range_lo[l] < m <= range_hi[l], m = max(x - x0, y - y0, x1 - x, y1 - y) (level by size).
 *   Ownership: a location that is a candidate for several instances goes to the one of smallest
 *   area (ties: the first instance). An instance left without any location (a tiny object that
 *   no location samples, or one whose locations all went to smaller instances) gets the location
 *   nearest its centre on the level whose range holds max(cx - x0, cy - y0, x1 - cx, y1 - cy)
 *   (the nearest within +-2 cells that is free or owned by a larger instance keeping another
 *   location); if there is none it is counted as crowded. No non-empty instance is dropped
 *   silently.
 *   Rays: from the location (not the centre), ray k's length is the distance to the OUTERMOST
 *   intersection of the ray with the outer contour of the instance's largest component (exact
 *   ray/segment intersection). A ray that meets no contour (a location outside a concave shape)
 *   gets ray_floor; lengths below ray_floor are raised to it: never 0, negative or NaN.
 *   Centerness: sqrt(min_k r_k / max_k r_k).
 *   Contour map (at the contour level's resolution, stride s_c): cell (i, j) is 1 when it holds
 *   a boundary pixel (contour.h: on, with a 4-neighbour off or outside the image) of any
 *   component of any instance, else 0. Pixel (x, y) lies in cell (y / s_c, x / s_c).
 *
 * Thread-safe (no shared state): the loader threads call it concurrently. Cost: one pass over
 * each instance's mask plus, per positive location, R rays against the contour's segments.
 */
#ifndef PICTOR_DATA_POLAR_TARGETS_H
#define PICTOR_DATA_POLAR_TARGETS_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/sample.h"

#define POLAR_MAX_LEVELS 8
#define POLAR_MAX_RAYS 360
#define POLAR_MAX_STRIDE 4096
/* The fallback location is searched within +-POLAR_FALLBACK_CELLS cells of the centre's. */
#define POLAR_FALLBACK_CELLS 2

typedef struct {
    int num_levels;                   /* 1 .. POLAR_MAX_LEVELS */
    int strides[POLAR_MAX_LEVELS];    /* in pixels, 1 .. POLAR_MAX_STRIDE */
    float range_lo[POLAR_MAX_LEVELS]; /* size range (lo, hi] of level l on the largest distance */
    float range_hi[POLAR_MAX_LEVELS]; /* from the location to the box sides; hi may be INFINITY */
    int num_rays;                     /* R, 4 .. POLAR_MAX_RAYS */
    float center_radius;              /* center sampling radius in strides, > 0 */
    float ray_floor;                  /* smallest ray length in pixels, > 0 */
    int contour_level;                /* level whose resolution the contour map has */
    int num_classes;                  /* class ids must be < this; 0: not checked */
} polar_config;

/* PolarMask's: 5 levels, strides 8..128, ranges (-1, 64], (64, 128], (128, 256], (256, 512],
 * (512, inf), 36 rays, radius 1.5, floor 1e-2 px, contour level 0, classes not checked. */
void polar_config_default(polar_config *cfg);

/* 0 when cfg is usable, else -1 with a message naming the field and the expected range. */
int polar_config_check(const polar_config *cfg, char *err, size_t errlen);

/* N, the number of locations of all levels for an h x w image; -1 on a bad config or size. */
int64_t polar_num_locations(const polar_config *cfg, int h, int w);

/* The grid of level l: *rows = H_l, *cols = W_l, *offset = its first flat index (any of them
 * may be NULL). 0, or -1 on a bad config, size or level. */
int polar_level_grid(const polar_config *cfg, int level, int h, int w, int *rows, int *cols,
                     int64_t *offset);

/* Where one image's targets go: caller-allocated arrays, every element is written. */
typedef struct {
    int32_t *cls;      /* [N] class id 0..C-1 at positives, -1 elsewhere */
    float *rays;       /* [N * R] ray lengths in pixels at positives, 0 elsewhere */
    float *centerness; /* [N] sqrt(min/max) of the rays at positives, 0 elsewhere */
    float *contour;    /* [H_c * W_c] 0/1 boundary map of the contour level; NULL: not made */
    int32_t *owner;    /* [N] index of the instance a positive belongs to, -1 elsewhere; or NULL */
} polar_targets;

typedef struct {
    int positives;                         /* locations with an instance */
    int positives_per_level[POLAR_MAX_LEVELS];
    int instances_used;                    /* instances with at least one positive */
    int skipped_empty;                     /* instances without a pixel */
    int skipped_crowded;                   /* non-empty, but no location could be given */
    int fallback;                          /* instances given the location nearest the centre */
    int64_t floored_rays;                  /* rays at positives that met no contour */
} polar_stats;

/* The targets of the image s (s->h x s->w, its instances) into out; stats (optional) says what
 * was used and skipped. Returns 0, or -1 with a message in err naming what was wrong (the config
 * field, the instance index and what is expected of it: a negative or out-of-range class id, a
 * polygon with a NULL or non-finite vertex list) or "out of memory"; out is then unspecified. */
int polar_targets_compute(const polar_config *cfg, const sample *s, const polar_targets *out,
                          polar_stats *stats, char *err, size_t errlen);

#endif
