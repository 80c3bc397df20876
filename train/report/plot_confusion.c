/*
 * plot_confusion.c - plot_confusion_png of plot.h: the confusion matrix of a classifier's
 * evaluation as a shaded grid of counts.
 */
#include <cairo.h>
#include <stdio.h>

#include "report/plot.h"

pt_status plot_confusion_png(const int64_t *counts, int k, const char *const *names,
                             const char *path)
{
    const int cell = PLOT_CONFUSION_CELL, left = PLOT_CONFUSION_LEFT, top = PLOT_CONFUSION_TOP;
    if (!path || !*path)
        return pt_error_set("confusion matrix: no output path"), PT_ERR;
    if (!counts || k < 1 || (int64_t)left + (int64_t)k * cell + 20 > PLOT_CONFUSION_MAX_SIDE)
        return pt_error_set("confusion matrix '%s': %d classes%s (expected 1 to %d classes "
                            "with their counts)", path, k, counts ? "" : " and no counts",
                            (PLOT_CONFUSION_MAX_SIDE - left - 20) / cell), PT_ERR;
    for (int64_t i = 0; i < (int64_t)k * k; i++)
        if (counts[i] < 0)
            return pt_error_set("confusion matrix '%s': count %lld (row %lld, column %lld) is "
                                "negative", path, (long long)counts[i], (long long)(i / k),
                                (long long)(i % k)), PT_ERR;
    int w = left + k * cell + 20, h = top + k * cell + 20;
    cairo_surface_t *sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(sf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 11);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, left, 20);
    cairo_show_text(cr, "confusion: rows true class, columns predicted");
    for (int r = 0; r < k; r++) {
        int64_t row = 0;
        for (int c = 0; c < k; c++)
            row += counts[(size_t)r * (size_t)k + (size_t)c];
        char label[64];
        if (names && names[r])
            snprintf(label, sizeof label, "%.20s", names[r]);
        else
            snprintf(label, sizeof label, "class %d", r);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, 4, top + r * cell + cell / 2 + 4);
        cairo_show_text(cr, label);
        for (int c = 0; c < k; c++) {
            int64_t v = counts[(size_t)r * (size_t)k + (size_t)c];
            double share = row ? (double)v / (double)row : 0;
            cairo_set_source_rgb(cr, 1 - 0.8 * share, 1 - 0.6 * share, 1);
            cairo_rectangle(cr, left + c * cell, top + r * cell, cell - 1, cell - 1);
            cairo_fill(cr);
            char num[32];
            snprintf(num, sizeof num, "%lld", (long long)v);
            double ink = share > 0.5 ? 1 : 0;
            cairo_set_source_rgb(cr, ink, ink, ink);
            cairo_move_to(cr, left + c * cell + 4, top + r * cell + cell / 2 + 4);
            cairo_show_text(cr, num);
        }
    }
    cairo_status_t cst = cairo_status(cr);
    cairo_destroy(cr);
    pt_status st = PT_OK;
    if (cst != CAIRO_STATUS_SUCCESS)
        st = PT_ERR, pt_error_set("confusion matrix '%s': cairo: %s", path,
                                  cairo_status_to_string(cst));
    else
        st = plot_write_surface_png(sf, path);
    cairo_surface_destroy(sf);
    return st;
}
