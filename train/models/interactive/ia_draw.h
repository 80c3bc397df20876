/*
 * ia_draw.h - pictures of the interactive model at work (`pictor predict`): for one object, a
 * grid whose rows are the evaluation protocols (taps only with the RPN's rectangle; rectangle +
 * taps) and whose columns are the simulated user's taps 1, 3 and 5 (RITM's clicker, as
 * `pictor eval` places them). Each tile is the image with the predicted mask filled, the ground
 * truth dashed, the rectangle the model used at that step, and every tap so far (green on the
 * object, red on the background), captioned with the protocol, the taps and the IoU.
 *
 * Owns only the conversion of a recorded trace into report/overlay.h calls and the layout on
 * data/curate/contact_sheet.h's grid (which writes the PNG atomically). A trace that stopped
 * before tap 3 or 5 (nothing left to correct) shows its last step in those columns.
 */
#ifndef PICTOR_IA_DRAW_H
#define PICTOR_IA_DRAW_H

#include <stddef.h>
#include <stdint.h>

#include "eval/noc.h"

#define IA_TRACE_STEPS 5
#define IA_DRAW_TILE 240 /* tile side of the grid, picture pixels */

/* What one object's evaluation under one protocol did in its first IA_TRACE_STEPS taps. */
typedef struct {
    int n;                         /* steps recorded (taps made), 0..IA_TRACE_STEPS */
    uint8_t *pred;                 /* IA_TRACE_STEPS * h * w binary predictions, owned */
    float box[IA_TRACE_STEPS][4];  /* the rectangle of each step, x0 y0 x1 y1 */
    double iou[IA_TRACE_STEPS];
    noc_click taps[IA_TRACE_STEPS];
} ia_trace;

/* An empty trace for h x w predictions (0, or -1 out of memory); ia_trace_free is NULL-safe. */
int ia_trace_init(ia_trace *t, int h, int w);
void ia_trace_free(ia_trace *t);

/* The grid of rows traces (row_names[r] captions row r) of the h x w RGB image rgb with its
 * NOC_* ground truth gt, as a PNG at path. Returns 0, or -1 with a message in err (a trace with
 * no step, an unwritable path). */
int ia_draw_png(const char *path, const uint8_t *rgb, const uint8_t *gt, int h, int w,
                const ia_trace *traces, const char *const *row_names, int rows, char *err,
                size_t errlen);

#endif
