/*
 * slic.h - SLIC superpixels (Achanta et al., "SLIC Superpixels Compared to State-of-the-Art
 * Superpixel Methods", TPAMI 2012) over any number of float channels plus position: on an image
 * (e.g. CIELAB) or on a network's feature map (the gcn model clusters its FCN's pixel features
 * inside every training step, seed 003 claim 4).
 *
 * Owns: the clustering, connectivity enforcement, the superpixel boundary map and the boundary
 * recall used to compare superpixel methods. It does not own the graph built on the result
 * (train/models/gcn/) or colour conversions.
 *
 * THE ALGORITHM
 *   Grid: S = sqrt(h * w / k); ny = clamp(round(h / S), 1, h) rows and nx = clamp(round(w / S),
 *     1, w) columns of centres (so k >= h * w gives one centre per pixel, k = 1 one centre); the
 *     centre of cell (i, j) is at pixel coordinates ((i + 0.5) h / ny - 0.5, (j + 0.5) w / nx -
 *     0.5) with the features of the pixel nearest to it. Every pixel starts in the cell that
 *     holds it (y * ny / h, x * nx / w): with 0 iterations the result is that grid.
 *   Distance of pixel p to centre k (step = max(h / ny, w / nx), m = compactness):
 *     D = sum_c (f_c(p) - f_c(k))^2 + (m / step)^2 ((y - y_k)^2 + (x - x_k)^2),
 *     the paper's D' = sqrt(dc^2 + (ds / S)^2 m^2) squared (scikit-image's `slic` ranks by the
 *     same value divided by m^2).
 *   Each iteration assigns every pixel within ceil(step) rows and columns of a centre (the
 *     paper's 2S x 2S window; scikit-image searches 4S x 4S) to its nearest such centre, a pixel
 *     no window reaches keeping its label, then moves every centre to the mean features and
 *     position of its pixels (a centre left with no pixel stays where it was). Ties go to the
 *     lower centre index. No randomness: the result is a function of the input alone.
 *   Connectivity (the paper's post-processing): the 4-connected components of equal label are
 *     visited in raster order of their first pixel; a component smaller than
 *     min_size = floor(min_size_factor * h * w / (ny * nx)) pixels joins the component of the
 *     pixel left of (or, on the first column, above) its first pixel, already numbered; others
 *     get the next label. Result: every label is ONE 4-connected region and labels are
 *     0 .. n-1 in raster order of first appearance. The first component never merges (nothing
 *     was numbered before it), so it may stay smaller than min_size.
 *
 * EDGE CASES: a 1 x 1 image gives one superpixel; a constant image gives the grid's rectangles
 *   (positions alone decide); k larger than the pixel count gives one superpixel per pixel;
 *   NaN or infinite features are refused (they would make the assignment arbitrary).
 *
 * Cost: O(iterations * h * w * (c + 2) * 4) for the assignment (each pixel is seen by about four
 *   windows), O(h * w) memory besides the caller's buffers (a float copy of CHW input, per-pixel
 *   distances, the centres). Single-threaded, re-entrant (no shared state).
 *
 * ERRORS: functions returning int give the result (>= 0) or -1 with a message in err (base/err.h)
 * naming what was wrong: NULL buffers, h, w or c < 1, k < 1, compactness <= 0 or not finite,
 * iterations < 0, a non-finite feature value, out of memory.
 */
#ifndef PICTOR_DATA_SLIC_H
#define PICTOR_DATA_SLIC_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    SLIC_HWC = 0, /* x[(y * w + x) * c + ch]: interleaved, like an image */
    SLIC_CHW = 1  /* x[(ch * h + y) * w + x]: planar, like a tensor [C, H, W] */
} slic_layout;

typedef struct {
    int n_segments;         /* k: the wanted number of superpixels (approximate), >= 1 */
    double compactness;     /* m > 0: weight of position against features */
    int iterations;         /* k-means iterations, >= 0 */
    int enforce_connectivity; /* 1: the post-processing above (default); 0: raw k-means labels,
                                 renumbered 0 .. n-1 in raster order but possibly disconnected */
    double min_size_factor; /* connectivity: the fraction of the mean superpixel size below
                               which a component is merged (0.5, as scikit-image), >= 0 */
} slic_params;

/* k 100, compactness 10, 10 iterations, connectivity on, min_size_factor 0.5. */
slic_params slic_defaults(void);

/* Superpixels of the h x w image x with c channels in the given layout. labels (h * w) receives
 * 0 .. n-1; returns n >= 1, or -1 with a message in err. */
int slic_segment(const float *x, int h, int w, int c, slic_layout layout, const slic_params *p,
                 int32_t *labels, char *err, size_t errlen);

/* The connectivity post-processing alone on any h x w label image (values arbitrary int32):
 * components smaller than min_size join their raster-order predecessor (see above). labels are
 * rewritten to 0 .. n-1; returns n, or -1 on bad arguments or out of memory. */
int slic_enforce_connectivity(int32_t *labels, int h, int w, int64_t min_size, char *err,
                              size_t errlen);

/* out (h * w) = 1 at pixels with a 4-neighbour of another label, else 0. Returns how many, or -1
 * on bad arguments. */
int64_t slic_boundary_map(const int32_t *labels, int h, int w, uint8_t *out);

/* Boundary recall: the fraction of the ground-truth boundary pixels (gt_boundary, h * w, non-zero
 * = boundary) within tolerance pixels (Euclidean, pixel centres) of a superpixel boundary pixel
 * (slic_boundary_map). 1 when the ground truth has no boundary pixel; -1 on bad arguments. */
double slic_boundary_recall(const int32_t *labels, const uint8_t *gt_boundary, int h, int w,
                            double tolerance);

#endif
