/*
 * contour.h - the geometry of binary masks that polar targets and drawings need: connected
 * components, the outer contour of a component as a polygon, polygon area and centroid, and the
 * boundary pixels of a mask.
 *
 * Owns: 8-connected component labelling, crack (pixel-edge) contour tracing, shoelace area and
 * centroid, boundary pixels. It does not own rasterising polygons (raster.h) or the polar targets
 * built from these (polar_targets.h).
 *
 * COORDINATES (continuous, as everywhere in pictor): x to the right, y down; pixel (row y, col x)
 * covers [x, x+1) x [y, y+1) and its centre is (x + 0.5, y + 0.5). A mask is h x w row-major;
 * a pixel is "on" when its byte is non-zero.
 *
 * CONNECTIVITY: components are 8-connected (pixels touching only at a corner belong together).
 * The background is therefore 4-connected: a background pixel whose four neighbours are all on
 * is a hole.
 *
 * THE OUTER CONTOUR of a component runs along pixel edges (the "crack" contour, vertices at
 * integer pixel corners), around the component's outside, with the component on its right-hand
 * side as drawn on screen (clockwise on screen; positive shoelace area in these y-down
 * coordinates). At a corner where two of its pixels touch only diagonally it passes through the
 * shared corner, so the polygon may touch itself there (a figure eight) but never crosses.
 * Collinear steps are merged: every vertex is a turn. Its area equals the component's pixel count
 * plus the pixels of its holes; a single pixel gives the unit square (4 vertices).
 *
 * BOUNDARY PIXELS: on pixels with at least one 4-neighbour that is off or outside the image (the
 * image frame counts as a boundary, as the traced contour runs along it too). Hole rims are
 * boundary pixels.
 *
 * Thread-safe (no shared state). Functions never read outside the mask; bad arguments (NULL
 * buffers, non-positive sizes, a window outside the image) return -1.
 */
#ifndef PICTOR_DATA_CONTOUR_H
#define PICTOR_DATA_CONTOUR_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/sample.h"

/* A rectangle of pixels: columns x0 .. x1-1, rows y0 .. y1-1 (so in continuous coordinates the
 * box [x0, x1) x [y0, y1)). Empty when x1 <= x0 or y1 <= y0. */
typedef struct {
    int x0, y0, x1, y1;
} contour_box;

/* One 8-connected component. */
typedef struct {
    int64_t pixels;       /* its pixel count */
    int first_x, first_y; /* its first pixel in raster order (the start of its outer contour) */
    contour_box box;      /* its bounding box */
} contour_component;

/* Bounding box of the on pixels of the h x w mask into *box (all zero when there is none).
 * Returns the number of on pixels, or -1 on bad arguments. */
int64_t contour_mask_box(const uint8_t *mask, int h, int w, contour_box *box);

/* Label the 8-connected components of the on pixels inside window (NULL: the whole mask; pixels
 * outside the window are ignored, as if off). labels (h * w int32, or NULL when not wanted)
 * receives, for each pixel inside the window, 0 for off and k = 1..n for component k; entries
 * outside the window are left untouched. Components are numbered in raster order of
 * their first pixel. When components is not NULL it receives a malloc'ed array of the n
 * components (NULL when n is 0; free() it). Returns n >= 0, or -1 on bad arguments or out of
 * memory (then *components is NULL). */
int contour_components(const uint8_t *mask, int h, int w, const contour_box *window,
                       int32_t *labels, contour_component **components);

/* Index (0-based) of the component with the most pixels; ties go to the first in raster order.
 * -1 when n <= 0 or c is NULL. */
int contour_largest(const contour_component *c, int n);

/* The closed contour through the top edge of pixel (start_x, start_y), which must be on and have
 * its upper neighbour off or outside the image. When the start is the first pixel of its
 * component in raster order (contour_component.first_x/y) this is the component's outer contour
 * (see above). out->xy is malloc'ed (2 * out->n floats; free() it); out is left empty ({0, NULL})
 * on error. Returns 0, or -1 on bad arguments (including a start pixel that is off or has its
 * upper neighbour on) or out of memory. */
int contour_trace_outer(const uint8_t *mask, int h, int w, int start_x, int start_y,
                        polygon *out);

/* The outer contour of the largest component of the mask (labelling + contour_largest +
 * contour_trace_outer). info (optional) receives that component. Returns 1 when found, 0 for an
 * empty mask (out = {0, NULL}), -1 on bad arguments or out of memory. */
int contour_largest_outer(const uint8_t *mask, int h, int w, polygon *out,
                          contour_component *info);

/* Signed shoelace area of the closed polygon of n vertices xy[2n] = (x0, y0, x1, y1, ...):
 * positive when it runs clockwise on screen (y down), as traced contours do. 0 for n < 3 or
 * xy NULL. */
double contour_polygon_area(const float *xy, int n);

/* Area centroid of the polygon (shoelace). Returns 0, or -1 when the polygon is degenerate (its
 * area is 0: fewer than 3 vertices, collinear points) or on bad arguments; then *cx, *cy are
 * untouched. */
int contour_polygon_centroid(const float *xy, int n, double *cx, double *cy);

/* 1 when pixel (x, y), inside the image, is a boundary pixel of the mask (see above), else 0. */
static inline int contour_is_boundary_pixel(const uint8_t *mask, int h, int w, int x, int y)
{
    size_t p = (size_t)y * (size_t)w + (size_t)x;
    if (!mask[p])
        return 0;
    return x == 0 || y == 0 || x == w - 1 || y == h - 1 || !mask[p - 1] || !mask[p + 1] ||
           !mask[p - (size_t)w] || !mask[p + (size_t)w];
}

/* out (h * w) = 1 at the boundary pixels of the mask inside window (NULL: the whole mask), 0 at
 * the other pixels of the window; entries outside the window are left untouched (neighbours
 * outside the window are still read from the mask). Returns the number of boundary pixels found,
 * or -1 on bad arguments. */
int64_t contour_boundary(const uint8_t *mask, int h, int w, const contour_box *window,
                         uint8_t *out);

#endif
