/*
 * plot.h - PNG plots of a run's metrics, drawn with cairo.
 *
 * Owns: the PNG files in RUN_DIR/plots/ and how a chart looks (axes, ticks, labels, legend,
 * title, the smoothing of noisy curves). The data comes from RUN_DIR/metrics.jsonl (format in
 * runlog.h), except for the confusion matrix a classifier's evaluation hands to
 * plot_confusion_png (plot_confusion.c). Pictures over images are report/overlay.h's.
 *
 * plot_run() draws, from the complete lines of metrics.jsonl:
 *   plots/loss.png            every train "loss" and "loss/<term>" vs step: each as a faint raw
 *                             line under a smoothed one (exponential moving average, debiased
 *                             as in TensorBoard)
 *   plots/lr.png              every train "lr" and "lr/<group>" vs step (raw)
 *   plots/train_<name>.png    each other train scalar (images_per_s, grad_norm, ...), smoothed
 *   plots/eval_<name>.png     each eval metric vs step, lines with a dot per evaluation
 * Names are made file-safe (characters other than [A-Za-z0-9._-] become '_'; a clash gets a
 * "-2", "-3" ... suffix). Each PNG is written atomically (temp file, fsync, rename): a reader
 * never sees half a plot.
 *
 * Robustness: lines that are not a complete JSON object (a torn last line, garbage) are skipped;
 * null (NaN/Inf, see runlog.h) values are gaps in the lines; an isolated finite point between
 * gaps, or a series of one point, is drawn as a dot; a chart with no finite value at all is a
 * valid PNG with empty axes saying "no finite values". Points of a series are sorted by step
 * and, for a step logged twice (a resumed run whose file was not truncated), the last one wins.
 * An empty metrics file (or one with no usable line) writes nothing and returns 0.
 */
#ifndef PICTOR_PLOT_H
#define PICTOR_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "pt.h"

/* ---------------------------------------------------------------- one chart */

typedef struct {
    const char *name; /* legend text */
    const double *x;  /* n steps */
    const double *y;  /* n values; NaN or Inf = no value (a gap) */
    size_t n;
} plot_series;

typedef struct {
    const char *title, *xlabel, *ylabel; /* NULL = none */
    const plot_series *series;
    int nseries;
    int width, height;  /* pixels; 0 = PLOT_DEFAULT_WIDTH x PLOT_DEFAULT_HEIGHT */
    double smoothing;   /* EMA weight in [0, 1): 0 = raw lines only; > 0 = faint raw + smoothed;
                           < 0 = automatic per series (more points, smoother; 0.6 .. 0.98) */
    int markers;        /* non-zero: a dot at every finite point */
    double x_min, x_max; /* x_min < x_max: this x range; otherwise the data's */
} plot_chart;

#define PLOT_DEFAULT_WIDTH 960
#define PLOT_DEFAULT_HEIGHT 540

/* Draws c into a PNG at path, atomically. */
pt_status plot_chart_png(const plot_chart *c, const char *path);

/* A confusion matrix as a PNG at path, atomically: k x k cells of PLOT_CONFUSION_CELL pixels,
 * rows = true class, columns = predicted (counts row-major, k * k, non-negative), each cell
 * shaded by its share s of its row (RGB (1 - 0.8 s, 1 - 0.6 s, 1): white for 0, (51, 102, 255)
 * for 1; an empty row stays white) with its count in it, the class names (NULL: "class <r>")
 * left of the rows, a title above. The picture is (PLOT_CONFUSION_LEFT + k * cell + 20) x
 * (PLOT_CONFUSION_TOP + k * cell + 20); the cell (r, c) starts at (PLOT_CONFUSION_LEFT + c * cell,
 * PLOT_CONFUSION_TOP + r * cell). PT_ERR with pt_error() on bad arguments (k < 1 or too large for
 * PLOT_CONFUSION_MAX_SIDE, NULL counts) or a failed write. */
#define PLOT_CONFUSION_CELL 40
#define PLOT_CONFUSION_LEFT 150
#define PLOT_CONFUSION_TOP 40
#define PLOT_CONFUSION_MAX_SIDE 8192
pt_status plot_confusion_png(const int64_t *counts, int k, const char *const *names,
                             const char *path);

/* Encodes a finished cairo image surface (a cairo_surface_t *; void * so this header needs no
 * cairo) as PNG and writes it atomically (temp file, fsync, rename). PT_ERR with pt_error()
 * naming the path. Every PNG pictor writes goes through here. */
pt_status plot_write_surface_png(void *surface, const char *path);

/* The pixel rectangle of the data area of a height x width chart (x0 < x1, y0 < y1; y grows
 * downwards). The x axis maps x_min..x_max to x0..x1 when a fixed range is given. */
void plot_data_area(int height, int width, double *x0, double *y0, double *x1, double *y1);

/* ---------------------------------------------------------------- a run directory */

typedef struct {
    int width, height;  /* 0 = defaults */
    double smoothing;   /* EMA weight of the smoothed charts: 0 = automatic, in (0, 1) = that
                           weight, < 0 = no smoothing (raw lines only) */
} plot_options;

/* Draws every chart listed above for run_dir (opt may be NULL). Returns the number of PNGs
 * written, or -1 with a message in pt_error() (missing metrics.jsonl, plots/ not creatable,
 * a write failure: earlier plots stay, the failing one is not touched). */
int plot_run(const char *run_dir, const plot_options *opt);

/* Frees cairo's process-wide font and surface caches (cairo_debug_reset_static_data). Optional:
 * call once at exit, after the last plot and with no drawing under way, so leak checkers see a
 * clean process. fontconfig's own configuration (loaded once by cairo) is not freed by it:
 * valgrind needs a suppression for FcInitLoadConfigAndFonts. */
void plot_release_caches(void);

#endif
