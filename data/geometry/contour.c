/*
 * contour.c - see contour.h: component labelling on runs, crack contour tracing, shoelace area
 * and centroid, boundary pixels.
 *
 * Tracing walks the lattice of pixel corners. At corner (vx, vy) the four pixels around it are
 * NE = (vx, vy-1), SE = (vx, vy), SW = (vx-1, vy), NW = (vx-1, vy-1). Heading d (0 right, 1 down,
 * 2 left, 3 up), the pixel ahead on the left is corner pixel d and the one ahead on the right is
 * corner pixel d+1 (in the order NE, SE, SW, NW), with the component kept on the right-hand side:
 *   ahead-left on   -> turn left  (8-connectivity: a diagonal neighbour stays in the contour)
 *   ahead-right on  -> straight on
 *   otherwise       -> turn right
 * Starting at the top-left corner of the component's first pixel heading right (the pixel above
 * is off), the walk goes around the outside once and comes back to that corner heading right.
 */
#include "geometry/contour.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int box_valid(const contour_box *b, int h, int w)
{
    return b->x0 >= 0 && b->y0 >= 0 && b->x1 <= w && b->y1 <= h;
}

/* 1 when any byte of p[0 .. n) is non-zero (word-wise OR, which the compiler vectorises). */
static int any_on(const uint8_t *p, size_t n)
{
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        acc |= v;
    }
    for (; i < n; i++)
        acc |= p[i];
    return acc != 0;
}

int64_t contour_mask_box(const uint8_t *mask, int h, int w, contour_box *box)
{
    if (!mask || !box || h <= 0 || w <= 0)
        return -1;
    int64_t count = 0;
    int x0 = w, y0 = h, x1 = 0, y1 = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = mask + (size_t)y * (size_t)w;
        if (!any_on(row, (size_t)w))
            continue;
        int first = 0, last = w - 1;
        while (!row[first])
            first++;
        while (!row[last])
            last--;
        int on = 0;
        for (int x = first; x <= last; x++)
            on += row[x] != 0;
        count += on;
        if (y0 == h)
            y0 = y;
        y1 = y + 1;
        x0 = first < x0 ? first : x0;
        x1 = last + 1 > x1 ? last + 1 : x1;
    }
    *box = count ? (contour_box){x0, y0, x1, y1} : (contour_box){0, 0, 0, 0};
    return count;
}

/* Labelling works on runs (maximal horizontal stretches of on pixels of one row): a run touches
 * a run of the row above when their column ranges overlap or meet at a corner (8-connectivity);
 * touching runs are merged with union-find, the root of a set being its first run in raster
 * order. */
typedef struct {
    int y, x0, x1; /* row, columns x0 .. x1-1 */
    int parent;    /* union-find; a root is its own parent */
} run;

static int find_root(run *r, int i)
{
    while (r[i].parent != i) {
        r[i].parent = r[r[i].parent].parent; /* path halving */
        i = r[i].parent;
    }
    return i;
}

static void unite(run *r, int a, int b)
{
    a = find_root(r, a);
    b = find_root(r, b);
    if (a < b)
        r[b].parent = a;
    else if (b < a)
        r[a].parent = b;
}

/* The runs of the window, rows in order; *n_runs of them (malloc'ed), NULL with *n_runs = -1 on
 * out of memory. Runs of consecutive rows are united as they are found. */
static run *window_runs(const uint8_t *mask, int w, const contour_box *win, int *n_runs)
{
    int cap = 64, n = 0;
    run *r = malloc((size_t)cap * sizeof *r);
    if (!r) {
        *n_runs = -1;
        return NULL;
    }
    int prev_begin = 0, prev_end = 0; /* runs of the previous row */
    for (int y = win->y0; y < win->y1; y++) {
        const uint8_t *row = mask + (size_t)y * (size_t)w;
        int begin = n;
        if (any_on(row + win->x0, (size_t)(win->x1 - win->x0)))
            for (int x = win->x0; x < win->x1;) {
                if (!row[x]) {
                    x++;
                    continue;
                }
                int x0 = x;
                while (x < win->x1 && row[x])
                    x++;
                if (n == cap) {
                    if (cap > INT32_MAX / 2) {
                        free(r);
                        *n_runs = -1;
                        return NULL;
                    }
                    run *grown = realloc(r, (size_t)cap * 2 * sizeof *r);
                    if (!grown) {
                        free(r);
                        *n_runs = -1;
                        return NULL;
                    }
                    r = grown;
                    cap *= 2;
                }
                r[n] = (run){y, x0, x, n};
                n++;
            }
        /* unite with the touching runs of the row above (both lists sorted by x) */
        if (prev_end > prev_begin && y == r[prev_begin].y + 1) {
            int a = prev_begin;
            for (int b = begin; b < n; b++) {
                while (a < prev_end && r[a].x1 < r[b].x0)
                    a++; /* ends left of b's reach: cannot touch b or any later run */
                for (int c = a; c < prev_end && r[c].x0 <= r[b].x1; c++)
                    unite(r, c, b);
            }
        }
        if (n > begin)
            prev_begin = begin, prev_end = n;
        else
            prev_begin = prev_end = 0;
    }
    *n_runs = n;
    return r;
}

int contour_components(const uint8_t *mask, int h, int w, const contour_box *window,
                       int32_t *labels, contour_component **components)
{
    if (components)
        *components = NULL;
    if (!mask || h <= 0 || w <= 0)
        return -1;
    contour_box win = window ? *window : (contour_box){0, 0, w, h};
    if (!box_valid(&win, h, w))
        return -1;
    if (win.x1 <= win.x0 || win.y1 <= win.y0)
        return 0;
    int n_runs;
    run *r = window_runs(mask, w, &win, &n_runs);
    if (!r)
        return -1;
    /* number the roots in run order (= raster order of the components' first pixels) */
    int n = 0;
    for (int i = 0; i < n_runs; i++)
        if (find_root(r, i) == i)
            n++;
    contour_component *list = n ? malloc((size_t)n * sizeof *list) : NULL;
    int *comp_of_root = n_runs > 0 ? malloc((size_t)n_runs * sizeof *comp_of_root) : NULL;
    if ((n && !list) || (n_runs > 0 && !comp_of_root)) {
        free(list);
        free(comp_of_root);
        free(r);
        return -1;
    }
    int k = 0;
    for (int i = 0; i < n_runs; i++) {
        int root = find_root(r, i);
        if (root == i) {
            comp_of_root[i] = k;
            list[k++] = (contour_component){0, r[i].x0, r[i].y, {r[i].x0, r[i].y, r[i].x1,
                                                                 r[i].y + 1}};
        }
        contour_component *c = &list[comp_of_root[root]];
        c->pixels += r[i].x1 - r[i].x0;
        if (r[i].x0 < c->box.x0)
            c->box.x0 = r[i].x0;
        if (r[i].x1 > c->box.x1)
            c->box.x1 = r[i].x1;
        c->box.y1 = r[i].y + 1;
    }
    if (labels) {
        for (int y = win.y0; y < win.y1; y++)
            memset(labels + (size_t)y * (size_t)w + (size_t)win.x0, 0,
                   (size_t)(win.x1 - win.x0) * sizeof *labels);
        for (int i = 0; i < n_runs; i++) {
            int32_t label = comp_of_root[find_root(r, i)] + 1;
            int32_t *row = labels + (size_t)r[i].y * (size_t)w;
            for (int x = r[i].x0; x < r[i].x1; x++)
                row[x] = label;
        }
    }
    free(comp_of_root);
    free(r);
    if (components)
        *components = list;
    else
        free(list);
    return n;
}

int contour_largest(const contour_component *c, int n)
{
    if (!c || n <= 0)
        return -1;
    int best = 0;
    for (int i = 1; i < n; i++)
        if (c[i].pixels > c[best].pixels)
            best = i;
    return best;
}

static int pixel_on(const uint8_t *mask, int h, int w, int x, int y)
{
    return x >= 0 && y >= 0 && x < w && y < h && mask[(size_t)y * (size_t)w + (size_t)x];
}

/* Append vertex (x, y) to the growing array; 0, or -1 on out of memory. */
static int push_vertex(float **xy, int *n, int *cap, int x, int y)
{
    if (*n == *cap) {
        int grown_cap = *cap ? 2 * *cap : 16;
        float *grown = realloc(*xy, (size_t)grown_cap * 2 * sizeof **xy);
        if (!grown)
            return -1;
        *xy = grown;
        *cap = grown_cap;
    }
    (*xy)[2 * *n] = (float)x;
    (*xy)[2 * *n + 1] = (float)y;
    (*n)++;
    return 0;
}

int contour_trace_outer(const uint8_t *mask, int h, int w, int start_x, int start_y,
                        polygon *out)
{
    if (out)
        *out = (polygon){0, NULL};
    if (!mask || !out || h <= 0 || w <= 0 || !pixel_on(mask, h, w, start_x, start_y) ||
        pixel_on(mask, h, w, start_x, start_y - 1))
        return -1;
    /* corner pixels NE, SE, SW, NW relative to the corner, and the steps of the headings */
    static const int corner_dx[4] = {0, 0, -1, -1}, corner_dy[4] = {-1, 0, 0, -1};
    static const int step_dx[4] = {1, 0, -1, 0}, step_dy[4] = {0, 1, 0, -1};
    float *xy = NULL;
    int n = 0, cap = 0;
    int vx = start_x, vy = start_y, d = 0;
    /* every boundary edge is walked at most once: 4 per pixel bounds the walk */
    int64_t max_steps = 4 * (int64_t)h * (int64_t)w + 4;
    if (push_vertex(&xy, &n, &cap, vx, vy))
        goto fail;
    for (int64_t steps = 0;; steps++) {
        if (steps > max_steps)
            goto fail; /* cannot happen for a valid start; refuse rather than loop */
        vx += step_dx[d];
        vy += step_dy[d];
        int left = (d + 0) & 3, right = (d + 1) & 3;
        int nd;
        if (pixel_on(mask, h, w, vx + corner_dx[left], vy + corner_dy[left]))
            nd = (d + 3) & 3;
        else if (pixel_on(mask, h, w, vx + corner_dx[right], vy + corner_dy[right]))
            nd = d;
        else
            nd = (d + 1) & 3;
        if (vx == start_x && vy == start_y && nd == 0)
            break;
        if (nd != d && push_vertex(&xy, &n, &cap, vx, vy))
            goto fail;
        d = nd;
    }
    out->n = n;
    out->xy = xy;
    return 0;
fail:
    free(xy);
    return -1;
}

int contour_largest_outer(const uint8_t *mask, int h, int w, polygon *out,
                          contour_component *info)
{
    if (out)
        *out = (polygon){0, NULL};
    if (!mask || !out || h <= 0 || w <= 0)
        return -1;
    contour_component *comps = NULL;
    int n = contour_components(mask, h, w, NULL, NULL, &comps);
    if (n <= 0)
        return n; /* 0: empty, -1: error */
    int best = contour_largest(comps, n);
    contour_component c = comps[best];
    free(comps);
    if (contour_trace_outer(mask, h, w, c.first_x, c.first_y, out))
        return -1;
    if (info)
        *info = c;
    return 1;
}

double contour_polygon_area(const float *xy, int n)
{
    if (!xy || n < 3)
        return 0.0;
    double twice = 0.0;
    for (int i = 0; i < n; i++) {
        int j = i + 1 < n ? i + 1 : 0;
        twice += (double)xy[2 * i] * xy[2 * j + 1] - (double)xy[2 * j] * xy[2 * i + 1];
    }
    return 0.5 * twice;
}

int contour_polygon_centroid(const float *xy, int n, double *cx, double *cy)
{
    if (!xy || !cx || !cy || n < 3)
        return -1;
    /* relative to the first vertex, for accuracy far from the origin */
    double ox = xy[0], oy = xy[1];
    double twice = 0.0, sx = 0.0, sy = 0.0;
    for (int i = 0; i < n; i++) {
        int j = i + 1 < n ? i + 1 : 0;
        double xi = xy[2 * i] - ox, yi = xy[2 * i + 1] - oy;
        double xj = xy[2 * j] - ox, yj = xy[2 * j + 1] - oy;
        double cross = xi * yj - xj * yi;
        twice += cross;
        sx += (xi + xj) * cross;
        sy += (yi + yj) * cross;
    }
    if (!isfinite(twice) || fabs(twice) < 1e-12)
        return -1;
    *cx = ox + sx / (3.0 * twice);
    *cy = oy + sy / (3.0 * twice);
    return 0;
}

int64_t contour_boundary(const uint8_t *mask, int h, int w, const contour_box *window,
                         uint8_t *out)
{
    if (!mask || !out || h <= 0 || w <= 0)
        return -1;
    contour_box win = window ? *window : (contour_box){0, 0, w, h};
    if (!box_valid(&win, h, w))
        return -1;
    int64_t count = 0;
    for (int y = win.y0; y < win.y1; y++)
        for (int x = win.x0; x < win.x1; x++) {
            int b = contour_is_boundary_pixel(mask, h, w, x, y);
            out[(size_t)y * (size_t)w + (size_t)x] = (uint8_t)b;
            count += b;
        }
    return count;
}
