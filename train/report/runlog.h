/*
 * runlog.h - the run logger the trainer core calls: RUN_DIR/metrics.jsonl, console progress,
 * and (optionally) TensorBoard scalars.
 *
 * Owns: the format of metrics.jsonl, what the console shows during training, and the resume-time
 * truncation of metrics.jsonl. Plots are drawn from metrics.jsonl by plot.h; TensorBoard files
 * are written through tbevents.h.
 *
 * METRICS.JSONL - one JSON object per line, appended and handed to the kernel line by line (one
 * write() per line, nothing buffered in the process), so a killed run keeps every complete line:
 *   {"kind":"train","step":120,"epoch":1,"time":1712345678.123,"loss":0.41,"loss/cls":0.3,
 *    "lr":0.001,"images_per_s":812.5}
 *   {"kind":"eval","step":500,"epoch":2,"time":1712345699.456,"accuracy":0.87,"loss":0.39}
 *   - "kind", "step", "epoch", "time" (Unix seconds, millisecond precision) come first; then the
 *     named scalars in the order given. Numbers are written with the shortest decimal form that
 *     reads back to the same double.
 *   - A NaN or +-Inf value is written as JSON null, and the line gets one more member,
 *     "nonfinite":{"<name>":"nan"|"inf"|"-inf", ...}, naming each such scalar and what it was.
 *     Readers treat null as "no value at this step" (plot.c draws a gap).
 *   - Names are free text (JSON-escaped) but must be non-empty, unique within a call, and not one
 *     of the reserved keys kind, step, epoch, time, nonfinite.
 *   Conventions the console and plot.c rely on (train lines): "loss" is the total loss,
 *   "loss/<term>" its terms, "lr" (or "lr/<group>") the learning rate, "images_per_s" the
 *   throughput. Anything else is logged and plotted as a further scalar.
 *   If a write fails (disk full), the partial line is cut off again, the call returns PT_ERR
 *   with the file and strerror in pt_error(), and later calls try again. A file whose last line
 *   is incomplete when runlog_open() finds it (a crash during a write) has that fragment removed.
 *
 * CONSOLE - RUNLOG_CONSOLE_AUTO picks a bar when the output stream is a terminal (and TERM is
 *   not "dumb"), plain lines otherwise. The bar is one line redrawn in place ('\r', erase to end of line):
 *     [#########.........] 1200/10000 12% ep 3 loss 0.4321 812 img/s ETA 12:34
 *   (img/s falls back to steps/s when no "images_per_s" scalar is given; the ETA comes from the
 *   step rate measured since the first call of this session). Plain lines, one per runlog_step:
 *     step 1200/10000 (12%) epoch 3 loss 0.4321 loss/cls 0.2 lr 0.001 ... | 3.21 step/s ETA 12:34
 *   runlog_eval prints "eval step 1200 epoch 3: accuracy 0.8123 loss 0.43" in both modes, and
 *   runlog_printf any message, without breaking the bar.
 *
 * TENSORBOARD - with options.tensorboard set, the same scalars go to an event file in RUN_DIR
 *   (tbevents.h): train scalars under their own names, eval metrics under "eval/<name>". A
 *   resumed run (options.resume_step > 0) makes TensorBoard drop the events after resume_step
 *   that earlier event files hold.
 *
 * RESUME - call runlog_truncate_after(run_dir, resumed_step, ...) BEFORE runlog_open(): it
 *   rewrites metrics.jsonl atomically (temp file, fsync, rename) keeping only the complete lines
 *   whose "step" is <= resumed_step.
 *
 * Errors: functions returning pt_status or a pointer report failures through pt_error() (pt.h).
 * A runlog is used from one thread.
 */
#ifndef PICTOR_RUNLOG_H
#define PICTOR_RUNLOG_H

#include <stdint.h>
#include <stdio.h>

#include "pt.h"

typedef struct runlog runlog;

/* One named value: a loss term, a learning rate, a throughput, an eval metric. */
typedef struct {
    const char *name;
    double value;
} runlog_scalar;

typedef enum {
    RUNLOG_CONSOLE_AUTO = 0, /* bar if the output stream is a terminal, lines otherwise */
    RUNLOG_CONSOLE_BAR,
    RUNLOG_CONSOLE_LINES,
    RUNLOG_CONSOLE_OFF
} runlog_console;

/* All-zero is the default for every field. */
typedef struct {
    runlog_console console;
    FILE *out;              /* console stream; NULL = stdout */
    int tensorboard;        /* non-zero: also write a TensorBoard event file in run_dir */
    int64_t resume_step;    /* > 0: this session resumes after that step (TensorBoard purge) */
    double bar_interval_s;  /* least time between two bar redraws; 0 = 0.1 s, < 0 = none */
    double line_interval_s; /* least time between two plain lines; 0 = one per runlog_step */
    int width;              /* console columns for the bar; 0 = the terminal's (or 100) */
} runlog_options;

/* Opens (creating or appending to) RUN_DIR/metrics.jsonl; run_dir must exist. total_steps <= 0
 * means unknown (no percentage, no ETA). opt may be NULL (defaults). NULL on failure. */
runlog *runlog_open(const char *run_dir, int64_t total_steps, const runlog_options *opt);

/* A logged training step: one "train" line, the console, TensorBoard. n may be 0. */
pt_status runlog_step(runlog *rl, int64_t step, int64_t epoch, const runlog_scalar *scalars,
                      int n);

/* An evaluation at step: one "eval" line, an eval line on the console, TensorBoard. */
pt_status runlog_eval(runlog *rl, int64_t step, int64_t epoch, const runlog_scalar *metrics,
                      int n);

/* Redraws the bar for step without logging anything (for steps between logged ones); a no-op in
 * the other console modes. */
void runlog_progress(runlog *rl, int64_t step, int64_t epoch);

/* Prints a message without breaking the bar; a newline is added unless it ends with one. */
void runlog_printf(runlog *rl, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Ends the bar line, fsyncs and closes the files, frees rl. PT_ERR if a final sync or close
 * failed (rl is freed anyway). NULL is fine. */
pt_status runlog_close(runlog *rl);

/* Keeps only the complete lines of RUN_DIR/metrics.jsonl whose "step" is <= step (lines that are
 * not a JSON object with a numeric "step", such as a torn last line, are dropped too); rewrites
 * the file atomically, and only if a line goes. A missing file is not an error. *removed
 * (optional) receives the number of lines dropped. No runlog may have the file open. */
pt_status runlog_truncate_after(const char *run_dir, int64_t step, long *removed);

#endif
