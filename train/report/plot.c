/*
 * plot.c - charts of a run's metrics as PNG files, drawn with cairo.
 *
 * Owns: everything behind plot.h. Top to bottom: axis ranges and "nice" ticks, text helpers,
 * drawing one chart (grid, curves, axes, labels, legend) into an image surface, encoding it to
 * PNG in memory and writing it atomically, then reading metrics.jsonl into series and choosing
 * the charts of a run directory.
 */
#include "report/plot.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cairo.h>
#include <cjson/cJSON.h>

#include "report/bytebuf.h"

#define MARGIN_L 84.0
#define MARGIN_R 24.0
#define MARGIN_T 44.0
#define MARGIN_B 58.0
#define MIN_SIZE 160
#define MAX_SIZE 8192
#define MAX_TICKS 16
#define RANGE_MAX 1e300 /* larger magnitudes do not widen the axes */
#define PIXEL_MAX 1e5   /* curve coordinates are clamped to this far outside the chart */
#define FONT "sans-serif"
#define PLOT_PI 3.14159265358979323846

typedef struct {
    double r, g, b;
} rgb;

/* Matplotlib's "tab10" colours, in order. */
static const rgb palette[] = {
    {0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173}, {0.839, 0.153, 0.157},
    {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294}, {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498},
    {0.737, 0.741, 0.133}, {0.090, 0.745, 0.812},
};
#define NCOLORS (sizeof palette / sizeof palette[0])

/* ---------------------------------------------------------------- axes and ticks */

typedef struct {
    double lo, hi;     /* data range shown */
    double p0, p1;     /* pixel positions of lo and hi */
    double tick[MAX_TICKS];
    int nticks;
    char label[MAX_TICKS][32];
} axis;

void plot_data_area(int height, int width, double *x0, double *y0, double *x1, double *y1)
{
    *x0 = MARGIN_L;
    *y0 = MARGIN_T;
    *x1 = (double)width - MARGIN_R;
    *y1 = (double)height - MARGIN_B;
}

/* The pixel of v, clamped to PIXEL_MAX of the chart (cairo's fixed point must not overflow). */
static double axis_map(const axis *a, double v)
{
    double p = a->p0 + (v - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
    return p < -PIXEL_MAX ? -PIXEL_MAX : p > PIXEL_MAX ? PIXEL_MAX : p;
}

/* The range of the finite points (x and y both finite) of all series; 0 if there is none. */
static int data_range(const plot_chart *c, int want_y, double *lo, double *hi)
{
    int any = 0;
    for (int s = 0; s < c->nseries; s++) {
        const plot_series *ps = &c->series[s];
        for (size_t i = 0; i < ps->n; i++) {
            if (!isfinite(ps->x[i]) || !isfinite(ps->y[i]))
                continue;
            double v = want_y ? ps->y[i] : ps->x[i];
            if (fabs(v) > RANGE_MAX)
                continue; /* drawn off the chart rather than overflowing the axis span */
            if (!any || v < *lo)
                *lo = v;
            if (!any || v > *hi)
                *hi = v;
            any = 1;
        }
    }
    return any;
}

/* Widens an empty range and adds a margin of frac of the span on both sides. */
static void pad_range(double *lo, double *hi, double frac)
{
    if (*hi - *lo <= 0 || !isfinite(*hi - *lo)) {
        double d = fabs(*lo) > 0 ? fabs(*lo) * 0.1 : 1.0;
        *lo -= d;
        *hi += d;
        return;
    }
    double m = (*hi - *lo) * frac;
    *lo -= m;
    *hi += m;
}

/* 1, 2 or 5 times a power of ten, near span / target. */
static double nice_step(double span, int target)
{
    double raw = span / target;
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    double nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    return nf * mag;
}

/* Tick labels: whole numbers as such ("20k" for large multiples of 1000 when kilo_ok), other
 * values with the fewest significant digits that keep them distinct and faithful. */
static void label_ticks(axis *a, double step, int kilo_ok)
{
    int whole = step >= 1;
    double big = 0;
    for (int i = 0; i < a->nticks; i++) {
        whole = whole && fabs(a->tick[i] - round(a->tick[i])) < 1e-9 * step;
        big = fabs(a->tick[i]) > big ? fabs(a->tick[i]) : big;
    }
    if (whole && big < 1e7) {
        int kilo = kilo_ok && big >= 10000 && fmod(step, 1000) == 0;
        for (int i = 0; i < a->nticks; i++) {
            if (kilo)
                snprintf(a->label[i], sizeof a->label[i], a->tick[i] == 0 ? "0" : "%.0fk",
                         a->tick[i] / 1000);
            else
                snprintf(a->label[i], sizeof a->label[i], "%.0f", a->tick[i]);
        }
        return;
    }
    for (int prec = 1; prec <= 15; prec++) {
        int ok = 1;
        for (int i = 0; i < a->nticks && ok; i++) {
            snprintf(a->label[i], sizeof a->label[i], "%.*g", prec, a->tick[i]);
            ok = fabs(strtod(a->label[i], NULL) - a->tick[i]) <= step * 1e-6;
            for (int j = 0; j < i && ok; j++)
                ok = strcmp(a->label[i], a->label[j]) != 0;
        }
        if (ok)
            return;
    }
    for (int i = 0; i < a->nticks; i++) /* nothing better: full precision */
        snprintf(a->label[i], sizeof a->label[i], "%.17g", a->tick[i]);
}

/* Ticks for [lo, hi] at nice positions; kilo_ok allows "20k" labels for large whole numbers. */
static void make_ticks(axis *a, int target, int kilo_ok)
{
    double step = nice_step(a->hi - a->lo, target);
    double first = ceil(a->lo / step - 1e-9) * step;
    a->nticks = 0;
    for (int i = 0; i < MAX_TICKS; i++) {
        double v = first + i * step;
        if (v > a->hi + step * 1e-9)
            break;
        if (fabs(v) < step * 1e-9)
            v = 0;
        a->tick[a->nticks++] = v;
    }
    label_ticks(a, step, kilo_ok);
}

/* ---------------------------------------------------------------- text */

/* Draws s with its box anchored at (x, y): ax, ay in [0, 1] pick the anchor (0 = left / top,
 * 0.5 = centre, 1 = right / bottom); vertical placement uses the font's ascent and descent so
 * baselines line up. */
static void text_at(cairo_t *cr, const char *s, double x, double y, double ax, double ay)
{
    cairo_text_extents_t te;
    cairo_font_extents_t fe;
    cairo_text_extents(cr, s, &te);
    cairo_font_extents(cr, &fe);
    double h = fe.ascent + fe.descent;
    cairo_move_to(cr, x - ax * te.x_advance, y - ay * h + fe.ascent);
    cairo_show_text(cr, s);
}

static double text_width(cairo_t *cr, const char *s)
{
    cairo_text_extents_t te;
    cairo_text_extents(cr, s, &te);
    return te.x_advance;
}

static void set_font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

/* ---------------------------------------------------------------- curves */

/* Debiased exponential moving average of the finite values (TensorBoard's smoothing); gaps stay
 * gaps. */
static void smooth_ema(const double *y, size_t n, double w, double *out)
{
    double last = 0;
    double wk = 1; /* w^k */
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(y[i])) {
            out[i] = NAN;
            continue;
        }
        last = last * w + (1 - w) * y[i];
        wk *= w;
        out[i] = wk < 1 ? last / (1 - wk) : y[i];
    }
}

static double auto_weight(const plot_series *s)
{
    size_t finite = 0;
    for (size_t i = 0; i < s->n; i++)
        finite += isfinite(s->y[i]) && isfinite(s->x[i]);
    if (finite == 0)
        return 0.6;
    double w = 1.0 - 20.0 / (double)finite;
    return w < 0.6 ? 0.6 : w > 0.98 ? 0.98 : w;
}

static int point_ok(const plot_series *s, const double *y, size_t i)
{
    return isfinite(s->x[i]) && isfinite(y[i]);
}

/* Polyline through the finite points, broken at gaps; isolated points (and every point with
 * markers) become dots. */
static void draw_curve(cairo_t *cr, const axis *ax, const axis *ay, const plot_series *s,
                       const double *y, rgb col, double alpha, double lw, int markers)
{
    cairo_set_source_rgba(cr, col.r, col.g, col.b, alpha);
    cairo_set_line_width(cr, lw);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    int pen = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!point_ok(s, y, i)) {
            pen = 0;
            continue;
        }
        double px = axis_map(ax, s->x[i]), py = axis_map(ay, y[i]);
        if (pen)
            cairo_line_to(cr, px, py);
        else
            cairo_move_to(cr, px, py);
        pen = 1;
    }
    cairo_stroke(cr);
    for (size_t i = 0; i < s->n; i++) {
        if (!point_ok(s, y, i))
            continue;
        int alone = (i == 0 || !point_ok(s, y, i - 1)) && (i + 1 == s->n || !point_ok(s, y, i + 1));
        if (!alone && !markers)
            continue;
        cairo_new_sub_path(cr);
        cairo_arc(cr, axis_map(ax, s->x[i]), axis_map(ay, y[i]), lw + 1.5, 0, 2 * PLOT_PI);
    }
    cairo_fill(cr);
}

/* One series: faint raw + smoothed line (weight > 0) or the raw line alone. 0 or -1 (memory). */
static int draw_series(cairo_t *cr, const axis *ax, const axis *ay, const plot_chart *c, int k)
{
    const plot_series *s = &c->series[k];
    rgb col = palette[(size_t)k % NCOLORS];
    double w = c->smoothing < 0 ? auto_weight(s) : c->smoothing;
    if (w <= 0 || w >= 1) {
        draw_curve(cr, ax, ay, s, s->y, col, 1.0, 1.8, c->markers);
        return 0;
    }
    double *sm = malloc((s->n ? s->n : 1) * sizeof *sm);
    if (!sm)
        return -1;
    smooth_ema(s->y, s->n, w, sm);
    draw_curve(cr, ax, ay, s, s->y, col, 0.25, 1.0, c->markers);
    draw_curve(cr, ax, ay, s, sm, col, 1.0, 2.0, 0);
    free(sm);
    return 0;
}

/* ---------------------------------------------------------------- chart frame */

static void draw_grid(cairo_t *cr, const axis *ax, const axis *ay)
{
    cairo_set_source_rgb(cr, 0.90, 0.90, 0.90);
    cairo_set_line_width(cr, 1.0);
    for (int i = 0; i < ax->nticks; i++) {
        double px = floor(axis_map(ax, ax->tick[i])) + 0.5;
        cairo_move_to(cr, px, ay->p1);
        cairo_line_to(cr, px, ay->p0);
    }
    for (int i = 0; i < ay->nticks; i++) {
        double py = floor(axis_map(ay, ay->tick[i])) + 0.5;
        cairo_move_to(cr, ax->p0, py);
        cairo_line_to(cr, ax->p1, py);
    }
    cairo_stroke(cr);
}

static void draw_axes(cairo_t *cr, const axis *ax, const axis *ay)
{
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_set_line_width(cr, 1.0);
    cairo_rectangle(cr, floor(ax->p0) + 0.5, floor(ay->p1) + 0.5, floor(ax->p1 - ax->p0),
                    floor(ay->p0 - ay->p1));
    cairo_stroke(cr);
    set_font(cr, 12, 0);
    for (int i = 0; i < ax->nticks; i++) {
        double px = floor(axis_map(ax, ax->tick[i])) + 0.5;
        cairo_move_to(cr, px, ay->p0);
        cairo_line_to(cr, px, ay->p0 + 5);
        cairo_stroke(cr);
        text_at(cr, ax->label[i], px, ay->p0 + 8, 0.5, 0);
    }
    for (int i = 0; i < ay->nticks; i++) {
        double py = floor(axis_map(ay, ay->tick[i])) + 0.5;
        cairo_move_to(cr, ax->p0 - 5, py);
        cairo_line_to(cr, ax->p0, py);
        cairo_stroke(cr);
        text_at(cr, ay->label[i], ax->p0 - 8, py, 1, 0.5);
    }
}

static void draw_labels(cairo_t *cr, const plot_chart *c, const axis *ax, const axis *ay,
                        int width)
{
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    if (c->title) {
        set_font(cr, 16, 1);
        text_at(cr, c->title, width / 2.0, 12, 0.5, 0);
    }
    set_font(cr, 13, 0);
    if (c->xlabel)
        text_at(cr, c->xlabel, (ax->p0 + ax->p1) / 2, ay->p0 + 30, 0.5, 0);
    if (c->ylabel) {
        cairo_save(cr);
        cairo_translate(cr, 14, (ay->p0 + ay->p1) / 2);
        cairo_rotate(cr, -PLOT_PI / 2);
        text_at(cr, c->ylabel, 0, 0, 0.5, 0);
        cairo_restore(cr);
    }
}

/* Finite points of the chart inside the pixel box (x, y, w, h). */
static size_t points_in_box(const plot_chart *c, const axis *ax, const axis *ay, double x,
                            double y, double w, double h)
{
    size_t n = 0;
    for (int k = 0; k < c->nseries; k++) {
        const plot_series *s = &c->series[k];
        for (size_t i = 0; i < s->n; i++) {
            if (!point_ok(s, s->y, i))
                continue;
            double px = axis_map(ax, s->x[i]), py = axis_map(ay, s->y[i]);
            n += px >= x - 4 && px <= x + w + 4 && py >= y - 4 && py <= y + h + 4;
        }
    }
    return n;
}

/* The legend box goes in the corner of the data area that covers the fewest points (top right,
 * top left, bottom right, bottom left on a tie, in that order). */
static void draw_legend(cairo_t *cr, const plot_chart *c, const axis *ax, const axis *ay)
{
    if (c->nseries == 0)
        return;
    set_font(cr, 12, 0);
    double wmax = 0;
    for (int i = 0; i < c->nseries; i++) {
        double w = text_width(cr, c->series[i].name ? c->series[i].name : "");
        wmax = w > wmax ? w : wmax;
    }
    double row = 18, bw = wmax + 42, bh = row * c->nseries + 10;
    double left = ax->p0 + 8, right = ax->p1 - bw - 8, top = ay->p1 + 8, bottom = ay->p0 - bh - 8;
    const double corner[4][2] = {{right, top}, {left, top}, {right, bottom}, {left, bottom}};
    double x = right, y = top;
    size_t best = (size_t)-1;
    for (int i = 0; i < 4; i++) {
        size_t n = points_in_box(c, ax, ay, corner[i][0], corner[i][1], bw, bh);
        if (n < best) {
            best = n;
            x = corner[i][0];
            y = corner[i][1];
        }
    }
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_rectangle(cr, x, y, bw, bh);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    for (int i = 0; i < c->nseries; i++) {
        rgb col = palette[(size_t)i % NCOLORS];
        double cy = y + 5 + row * (i + 0.5);
        cairo_set_source_rgb(cr, col.r, col.g, col.b);
        cairo_set_line_width(cr, 2.5);
        cairo_move_to(cr, x + 8, cy);
        cairo_line_to(cr, x + 30, cy);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text_at(cr, c->series[i].name ? c->series[i].name : "", x + 36, cy, 0, 0.5);
    }
}

/* Axis ranges and ticks for chart c of width x height; returns 0 if no point is finite. */
static int layout_axes(const plot_chart *c, int height, int width, axis *ax, axis *ay)
{
    double x0, y0, x1, y1;
    plot_data_area(height, width, &x0, &y0, &x1, &y1);
    int any = data_range(c, 0, &ax->lo, &ax->hi) && data_range(c, 1, &ay->lo, &ay->hi);
    if (!any) {
        ax->lo = 0, ax->hi = 1, ay->lo = 0, ay->hi = 1;
    } else {
        pad_range(&ax->lo, &ax->hi, 0.01);
        pad_range(&ay->lo, &ay->hi, 0.05);
    }
    if (c->x_min < c->x_max)
        ax->lo = c->x_min, ax->hi = c->x_max;
    ax->p0 = x0, ax->p1 = x1;
    ay->p0 = y1, ay->p1 = y0; /* larger values go up */
    make_ticks(ax, (int)((x1 - x0) / 110) + 1, 1);
    make_ticks(ay, (int)((y1 - y0) / 60) + 1, 0);
    return any;
}

/* Draws the whole chart; 0, or -1 when memory ran out. */
static int draw_chart(cairo_t *cr, const plot_chart *c, int height, int width)
{
    axis ax, ay;
    int any = layout_axes(c, height, width, &ax, &ay);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    draw_grid(cr, &ax, &ay);
    cairo_save(cr);
    cairo_rectangle(cr, ax.p0, ay.p1, ax.p1 - ax.p0, ay.p0 - ay.p1);
    cairo_clip(cr);
    int rc = 0;
    for (int k = 0; k < c->nseries && rc == 0; k++)
        rc = draw_series(cr, &ax, &ay, c, k);
    cairo_restore(cr);
    draw_axes(cr, &ax, &ay);
    draw_labels(cr, c, &ax, &ay, width);
    draw_legend(cr, c, &ax, &ay);
    if (!any) {
        set_font(cr, 15, 0);
        cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
        text_at(cr, "no finite values", (ax.p0 + ax.p1) / 2, (ay.p0 + ay.p1) / 2, 0.5, 0.5);
    }
    return rc;
}

/* ---------------------------------------------------------------- PNG output */

static cairo_status_t png_sink(void *closure, const unsigned char *data, unsigned int len)
{
    bytebuf *b = closure;
    bb_put(b, data, len);
    return b->oom ? CAIRO_STATUS_NO_MEMORY : CAIRO_STATUS_SUCCESS;
}

pt_status plot_write_surface_png(void *surface, const char *path)
{
    cairo_surface_t *sf = surface;
    bytebuf png = {0};
    cairo_status_t cst = cairo_surface_status(sf);
    if (cst == CAIRO_STATUS_SUCCESS) {
        cairo_surface_flush(sf);
        cst = cairo_surface_write_to_png_stream(sf, png_sink, &png);
    }
    pt_status st = PT_OK;
    if (cst != CAIRO_STATUS_SUCCESS) {
        pt_error_set("cannot write the PNG '%s': cairo: %s", path, cairo_status_to_string(cst));
        st = PT_ERR;
    } else {
        st = pt_write_file_atomic(path, png.p, png.n);
    }
    free(png.p);
    return st;
}

static pt_status check_chart(const plot_chart *c, const char *path, int height, int width)
{
    if (!c || !path || !*path) {
        pt_error_set("plot_chart_png: %s", !c ? "NULL chart" : "empty path");
        return PT_ERR;
    }
    if (width < MIN_SIZE || height < MIN_SIZE || width > MAX_SIZE || height > MAX_SIZE) {
        pt_error_set("cannot plot '%s': size %dx%d is outside %d..%d pixels", path, width, height,
                     MIN_SIZE, MAX_SIZE);
        return PT_ERR;
    }
    if (c->nseries < 0 || (c->nseries > 0 && !c->series)) {
        pt_error_set("cannot plot '%s': invalid series list", path);
        return PT_ERR;
    }
    for (int i = 0; i < c->nseries; i++) {
        if (c->series[i].n > 0 && (!c->series[i].x || !c->series[i].y)) {
            pt_error_set("cannot plot '%s': series %d has no data arrays", path, i);
            return PT_ERR;
        }
    }
    return PT_OK;
}

pt_status plot_chart_png(const plot_chart *c, const char *path)
{
    int width = c && c->width > 0 ? c->width : PLOT_DEFAULT_WIDTH;
    int height = c && c->height > 0 ? c->height : PLOT_DEFAULT_HEIGHT;
    if (check_chart(c, path, height, width) != PT_OK)
        return PT_ERR;
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    cairo_t *cr = cairo_create(surf);
    int rc = cairo_status(cr) == CAIRO_STATUS_SUCCESS ? draw_chart(cr, c, height, width) : -1;
    cairo_status_t cst = rc != 0 ? CAIRO_STATUS_NO_MEMORY : cairo_status(cr);
    cairo_destroy(cr);
    pt_status st;
    if (cst != CAIRO_STATUS_SUCCESS) {
        pt_error_set("cannot plot '%s': cairo: %s", path, cairo_status_to_string(cst));
        st = PT_ERR;
    } else {
        st = plot_write_surface_png(surf, path);
    }
    cairo_surface_destroy(surf);
    return st;
}

/* ---------------------------------------------------------------- metrics.jsonl into series */

typedef struct {
    char *kind, *name;
    double *x, *y;
    size_t n, cap;
} mseries;

typedef struct {
    mseries *s;
    size_t n, cap;
} mset;

static void mset_free(mset *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->s[i].kind);
        free(m->s[i].name);
        free(m->s[i].x);
        free(m->s[i].y);
    }
    free(m->s);
    m->s = NULL;
    m->n = m->cap = 0;
}

/* The series (kind, name), created when new; NULL when memory ran out. */
static mseries *mset_get(mset *m, const char *kind, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->s[i].kind, kind) == 0 && strcmp(m->s[i].name, name) == 0)
            return &m->s[i];
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 16;
        mseries *s = realloc(m->s, cap * sizeof *s);
        if (!s)
            return NULL;
        m->s = s;
        m->cap = cap;
    }
    mseries *s = &m->s[m->n];
    memset(s, 0, sizeof *s);
    s->kind = strdup(kind);
    s->name = strdup(name);
    if (!s->kind || !s->name) {
        free(s->kind);
        free(s->name);
        return NULL;
    }
    m->n++;
    return s;
}

static int mseries_add(mseries *s, double x, double y)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        double *nx = realloc(s->x, cap * sizeof *nx);
        if (!nx)
            return -1;
        s->x = nx;
        double *ny = realloc(s->y, cap * sizeof *ny);
        if (!ny)
            return -1;
        s->y = ny;
        s->cap = cap;
    }
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
    return 0;
}

static int is_reserved(const char *key)
{
    return strcmp(key, "kind") == 0 || strcmp(key, "step") == 0 || strcmp(key, "epoch") == 0 ||
           strcmp(key, "time") == 0 || strcmp(key, "nonfinite") == 0;
}

/* Adds the numbers (and nulls, as NaN) of one line; lines that are not a complete object with a
 * numeric step are ignored. 0, or -1 when memory ran out. */
static int parse_line(mset *m, const char *line, size_t len)
{
    const char *end = NULL;
    cJSON *obj = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    int whole = obj && cJSON_IsObject(obj);
    for (const char *c = end; whole && c < line + len; c++)
        whole = (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n');
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(obj, "step");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
    int rc = 0;
    if (whole && cJSON_IsNumber(step) && isfinite(step->valuedouble)) {
        const char *k = cJSON_IsString(kind) ? kind->valuestring : "train";
        for (const cJSON *it = obj->child; it && rc == 0; it = it->next) {
            if (!it->string || is_reserved(it->string))
                continue;
            if (!cJSON_IsNumber(it) && !cJSON_IsNull(it))
                continue;
            mseries *s = mset_get(m, k, it->string);
            double y = cJSON_IsNumber(it) ? it->valuedouble : NAN;
            rc = s ? mseries_add(s, step->valuedouble, y) : -1;
        }
    }
    cJSON_Delete(obj);
    return rc;
}

typedef struct {
    double x, y;
    size_t seq;
} point;

static int point_cmp(const void *a, const void *b)
{
    const point *p = a, *q = b;
    if (p->x != q->x)
        return p->x < q->x ? -1 : 1;
    return p->seq < q->seq ? -1 : p->seq > q->seq;
}

/* Sorts the points by step; of points with the same step, the last logged one stays. */
static int mseries_sort(mseries *s)
{
    if (s->n < 2)
        return 0;
    point *p = malloc(s->n * sizeof *p);
    if (!p)
        return -1;
    for (size_t i = 0; i < s->n; i++)
        p[i] = (point){s->x[i], s->y[i], i};
    qsort(p, s->n, sizeof *p, point_cmp);
    size_t out = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (i + 1 < s->n && p[i + 1].x == p[i].x)
            continue;
        s->x[out] = p[i].x;
        s->y[out] = p[i].y;
        out++;
    }
    s->n = out;
    free(p);
    return 0;
}

/* Reads path into m. 0, or -1 with a message. */
static int read_metrics(const char *path, mset *m)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        pt_error_set("cannot plot: cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) > 0)
        rc = parse_line(m, line, (size_t)len);
    if (rc == 0 && ferror(f)) {
        pt_error_set("cannot plot: error reading '%s'", path);
        rc = -1;
    } else if (rc != 0) {
        pt_error_set("cannot plot '%s': out of memory", path);
    }
    free(line);
    fclose(f);
    for (size_t i = 0; rc == 0 && i < m->n; i++)
        if (mseries_sort(&m->s[i]) != 0) {
            pt_error_set("cannot plot '%s': out of memory", path);
            rc = -1;
        }
    return rc;
}

/* ---------------------------------------------------------------- the charts of a run */

typedef struct {
    const char *dir;  /* RUN_DIR/plots */
    int width, height;
    double smoothing; /* plot_chart.smoothing for the smoothed charts */
    char **used;      /* file names taken so far */
    int nused;
    int written;
} run_ctx;

static int is_group(const char *name, const char *group)
{
    size_t g = strlen(group);
    return strcmp(name, group) == 0 || (strncmp(name, group, g) == 0 && name[g] == '/');
}

/* "<prefix><name>.png" made file-safe and unique in ctx; NULL when memory ran out. */
static char *unique_file_name(run_ctx *ctx, const char *prefix, const char *name)
{
    size_t cap = strlen(prefix) + strlen(name) + 24;
    char *base = malloc(cap), *out = malloc(cap);
    char **used = realloc(ctx->used, (size_t)(ctx->nused + 1) * sizeof *used);
    if (used)
        ctx->used = used;
    if (!base || !out || !used) {
        free(base);
        free(out);
        return NULL;
    }
    snprintf(base, cap, "%s%s", prefix, name);
    for (char *c = base; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '_' || *c == '-'))
            *c = '_';
    snprintf(out, cap, "%s.png", base);
    for (int n = 2;; n++) {
        int clash = 0;
        for (int i = 0; i < ctx->nused && !clash; i++)
            clash = strcmp(ctx->used[i], out) == 0;
        if (!clash)
            break;
        snprintf(out, cap, "%s-%d.png", base, n);
    }
    free(base);
    ctx->used[ctx->nused++] = out;
    return out;
}

/* Writes one chart of the series idx[0..n) of m. 0, or -1 with a message. */
static int write_chart(run_ctx *ctx, const mset *m, const size_t *idx, int n, const char *file,
                       const char *title, const char *ylabel, double smoothing, int markers)
{
    plot_series *ps = calloc((size_t)n, sizeof *ps);
    size_t plen = strlen(ctx->dir) + strlen(file) + 2;
    char *path = malloc(plen);
    if (!ps || !path) {
        free(ps);
        free(path);
        pt_error_set("cannot plot '%s': out of memory", file);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const mseries *s = &m->s[idx[i]];
        ps[i] = (plot_series){s->name, s->x, s->y, s->n};
    }
    snprintf(path, plen, "%s/%s", ctx->dir, file);
    plot_chart c = {title, "step", ylabel, ps, n, ctx->width, ctx->height, smoothing, markers,
                    0, 0};
    pt_status st = plot_chart_png(&c, path);
    free(path);
    free(ps);
    if (st != PT_OK)
        return -1;
    ctx->written++;
    return 0;
}

/* One chart of every train series in group ("loss", "lr"); nothing if there is none. */
static int chart_group(run_ctx *ctx, const mset *m, const char *group, const char *title,
                       double smoothing)
{
    size_t *idx = malloc((m->n ? m->n : 1) * sizeof *idx);
    if (!idx) {
        pt_error_set("cannot plot: out of memory");
        return -1;
    }
    int n = 0;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->s[i].kind, "train") == 0 && is_group(m->s[i].name, group))
            idx[n++] = i;
    int rc = 0;
    if (n > 0) {
        char *file = unique_file_name(ctx, "", group);
        rc = file ? write_chart(ctx, m, idx, n, file, title, group, smoothing, 0) : -1;
        if (!file)
            pt_error_set("cannot plot: out of memory");
    }
    free(idx);
    return rc;
}

/* One chart per series of kind that is not in the loss or lr groups (for "train"). */
static int chart_each(run_ctx *ctx, const mset *m, const char *kind, double smoothing,
                      int markers)
{
    for (size_t i = 0; i < m->n; i++) {
        const mseries *s = &m->s[i];
        if (strcmp(s->kind, kind) != 0)
            continue;
        int train = strcmp(kind, "train") == 0;
        if (train && (is_group(s->name, "loss") || is_group(s->name, "lr")))
            continue;
        char prefix[64], title[512];
        snprintf(prefix, sizeof prefix, "%s_", kind);
        snprintf(title, sizeof title, "%c%s: %s", toupper((unsigned char)kind[0]), kind + 1,
                 s->name);
        char *file = unique_file_name(ctx, prefix, s->name);
        if (!file) {
            pt_error_set("cannot plot: out of memory");
            return -1;
        }
        if (write_chart(ctx, m, &i, 1, file, title, s->name, smoothing, markers) != 0)
            return -1;
    }
    return 0;
}

static int ensure_dir(const char *dir)
{
    if (mkdir(dir, 0777) == 0)
        return 0;
    int err = errno;
    struct stat st;
    if (err == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    pt_error_set("cannot create plot directory '%s': %s", dir,
                 err == EEXIST ? "exists and is not a directory" : strerror(err));
    return -1;
}

static double smoothing_of(const plot_options *opt)
{
    double s = opt ? opt->smoothing : 0;
    if (s == 0)
        return -1; /* automatic */
    if (s < 0)
        return 0;  /* none */
    return s < 0.999 ? s : 0.999;
}

static int draw_all(run_ctx *ctx, const mset *m)
{
    double sm = ctx->smoothing;
    if (chart_group(ctx, m, "loss", "Training loss", sm) != 0 ||
        chart_group(ctx, m, "lr", "Learning rate", 0) != 0 ||
        chart_each(ctx, m, "train", sm, 0) != 0)
        return -1;
    /* eval metrics, and kinds other than train and eval, one chart each */
    for (size_t i = 0; i < m->n; i++) {
        const char *kind = m->s[i].kind;
        int seen = strcmp(kind, "train") == 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(m->s[j].kind, kind) == 0;
        if (!seen && chart_each(ctx, m, kind, 0, 1) != 0)
            return -1;
    }
    return 0;
}

int plot_run(const char *run_dir, const plot_options *opt)
{
    if (!run_dir || !*run_dir) {
        pt_error_set("plot_run: empty run directory");
        return -1;
    }
    size_t len = strlen(run_dir) + 32;
    char *metrics = malloc(len), *plots = malloc(len);
    mset m = {0};
    run_ctx ctx = {plots, opt ? opt->width : 0, opt ? opt->height : 0, smoothing_of(opt),
                   NULL, 0, 0};
    int rc = -1;
    if (!metrics || !plots) {
        pt_error_set("plot_run '%s': out of memory", run_dir);
        goto done;
    }
    snprintf(metrics, len, "%s/metrics.jsonl", run_dir);
    snprintf(plots, len, "%s/plots", run_dir);
    if (read_metrics(metrics, &m) != 0)
        goto done;
    if (m.n == 0) {
        rc = 0;
        goto done;
    }
    if (ensure_dir(plots) != 0 || draw_all(&ctx, &m) != 0)
        goto done;
    rc = ctx.written;
done:
    for (int i = 0; i < ctx.nused; i++)
        free(ctx.used[i]);
    free(ctx.used);
    mset_free(&m);
    free(metrics);
    free(plots);
    return rc;
}

void plot_release_caches(void)
{
    cairo_debug_reset_static_data();
}
