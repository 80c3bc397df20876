/* ia_draw.c - the interactive model's `pictor predict` grid (ia_draw.h). */
#include "models/interactive/ia_draw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "curate/contact_sheet.h"
#include "report/overlay.h"

#define GRID_PAD 4

static const int columns[3] = {1, 3, 5}; /* taps shown */

int ia_trace_init(ia_trace *t, int h, int w)
{
    memset(t, 0, sizeof *t);
    t->pred = calloc((size_t)IA_TRACE_STEPS * (size_t)h * (size_t)w, 1);
    return t->pred ? 0 : -1;
}

void ia_trace_free(ia_trace *t)
{
    if (t)
        free(t->pred), t->pred = NULL;
}

/* Step s (0-based) of trace t drawn over the image into cell (row, col). */
static int put_step(contact_sheet *sheet, int row, int col, const uint8_t *rgb, const uint8_t *gt,
                    int h, int w, const ia_trace *t, int s, const char *name, char *err,
                    size_t errlen)
{
    const size_t hw = (size_t)h * (size_t)w;
    int longer = h > w ? h : w;
    overlay *o = overlay_new(rgb, h, w, 3, (double)IA_DRAW_TILE / longer, err, errlen);
    if (!o)
        return -1;
    static const double pred_rgb[3] = OVERLAY_SHEET_PRED_RGB, box_rgb[3] = {1.0, 0.85, 0.1};
    float xy[2 * IA_TRACE_STEPS];
    int positive[IA_TRACE_STEPS];
    for (int k = 0; k <= s; k++)
        xy[2 * k] = (float)t->taps[k].x, xy[2 * k + 1] = (float)t->taps[k].y,
        positive[k] = t->taps[k].positive;
    char caption[96];
    snprintf(caption, sizeof caption, "%s: %d tap%s, IoU %.3f", name, s + 1, s ? "s" : "",
             t->iou[s]);
    int rc = overlay_mask(o, t->pred + (size_t)s * hw, h, w, pred_rgb, OVERLAY_SHEET_PRED_ALPHA,
                          err, errlen);
    if (rc == 0)
        rc = overlay_mask_outline(o, gt, h, w, &OVERLAY_GT_DASHED, err, errlen);
    if (rc == 0)
        rc = overlay_box(o, t->box[s], box_rgb, err, errlen);
    if (rc == 0)
        rc = overlay_taps(o, xy, positive, s + 1, err, errlen);
    if (rc == 0)
        rc = overlay_caption(o, caption, err, errlen);
    uint8_t *pix = NULL;
    if (rc == 0 && !(pix = malloc((size_t)overlay_width(o) * (size_t)overlay_height(o) * 3)))
        rc = err_fail(err, errlen, "interactive picture: out of memory");
    if (rc == 0) {
        overlay_copy_rgb(o, pix);
        contact_sheet_put(sheet, row, col, pix, overlay_height(o), overlay_width(o), 3);
    }
    free(pix);
    overlay_free(o);
    return rc;
}

int ia_draw_png(const char *path, const uint8_t *rgb, const uint8_t *gt, int h, int w,
                const ia_trace *traces, const char *const *row_names, int rows, char *err,
                size_t errlen)
{
    const size_t hw = (size_t)h * (size_t)w;
    for (int r = 0; r < rows; r++)
        if (traces[r].n < 1 || traces[r].n > IA_TRACE_STEPS)
            return err_fail(err, errlen, "interactive picture '%s': protocol %s made %d taps "
                            "(expected 1 to %d)", path, row_names[r], traces[r].n,
                            IA_TRACE_STEPS);
    uint8_t *truth = malloc(hw);
    contact_sheet *sheet = contact_sheet_new(rows, 3, IA_DRAW_TILE, GRID_PAD);
    int rc = truth && sheet ? 0 : err_fail(err, errlen, "interactive picture: out of memory");
    for (size_t j = 0; rc == 0 && j < hw; j++)
        truth[j] = gt[j] == NOC_FG;
    for (int r = 0; rc == 0 && r < rows; r++)
        for (int c = 0; rc == 0 && c < 3; c++) {
            int s = columns[c] <= traces[r].n ? columns[c] - 1 : traces[r].n - 1;
            rc = put_step(sheet, r, c, rgb, truth, h, w, &traces[r], s, row_names[r], err,
                          errlen);
        }
    if (rc == 0)
        rc = contact_sheet_write(sheet, path, err, errlen);
    contact_sheet_free(sheet);
    free(truth);
    return rc ? -1 : 0;
}
