/*
 * raster.h - polygon rasterisation: outlines in pixel coordinates -> 0/1 masks.
 *
 * Owns: a scanline fill of one polygon (even-odd or non-zero winding) and of an instance's list
 * of polygons (their union, as COCO defines a multi-part object), and counting mask pixels.
 * It does not own contour tracing or mask encoding.
 *
 * Sampling rule: pixel (x, y) covers [x, x+1) x [y, y+1) and is inside when its centre
 * (x + 0.5, y + 0.5) is inside the polygon; a centre exactly on a left or top edge is inside, on a
 * right or bottom edge outside (half-open spans). So an axis-aligned rectangle with integer
 * corners (x0, y0)-(x1, y1) fills exactly (x1 - x0) * (y1 - y0) pixels, and two polygons that
 * share an edge never both cover a pixel. Parts outside the h x w mask are clipped.
 *
 * Thread-safe (no shared state). Functions return 0, or -1 on a bad argument (NULL buffers,
 * negative sizes, a non-finite coordinate) or out of memory, leaving the mask partly filled.
 */
#ifndef PICTOR_DATA_RASTER_H
#define PICTOR_DATA_RASTER_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/sample.h"

typedef enum {
    RASTER_EVEN_ODD = 0, /* inside where a ray crosses the outline an odd number of times */
    RASTER_NONZERO = 1   /* inside where the outline winds around the point (winding != 0) */
} raster_rule;

/* Set to value the pixels of the h x w row-major mask whose centres lie inside the polygon of n
 * vertices xy[2n] = (x0, y0, x1, y1, ...), closed implicitly (last -> first). Other pixels are
 * left as they are, so several calls paint a union. Fewer than 3 vertices fill nothing. */
int raster_polygon(uint8_t *mask, int h, int w, const float *xy, int n, raster_rule rule,
                   uint8_t value);

/* The union of n polygons (each filled on its own with rule, then OR'ed): an instance made of
 * several parts. */
int raster_polygons(uint8_t *mask, int h, int w, const polygon *polys, int n, raster_rule rule,
                    uint8_t value);

/* Number of non-zero bytes in mask[0 .. n). */
int64_t raster_count(const uint8_t *mask, size_t n);

#endif
