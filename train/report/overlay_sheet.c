/*
 * overlay_sheet.c - the worst-images sheet of overlay.h: check every item, order them by IoU
 * (ties by input order), draw the first worst_n as overlays at tile size, caption them, and lay
 * them out on data/curate/contact_sheet.h's grid (which writes the PNG atomically).
 */
#include "report/overlay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "curate/contact_sheet.h"

#define SHEET_PAD 4

typedef struct {
    double iou;
    int index;
} ranked;

static int by_iou(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->iou != y->iou)
        return x->iou < y->iou ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static int check_items(const char *path, const overlay_sheet_item *items, int n, int worst_n,
                       char *err, size_t errlen)
{
    if (!path || !*path)
        return err_fail(err, errlen, "worst-images sheet: no output path");
    if (n < 1 || !items)
        return err_fail(err, errlen, "worst-images sheet '%s': no images (expected at least 1)",
                        path);
    if (worst_n < 1)
        return err_fail(err, errlen, "worst-images sheet '%s': N = %d (expected at least 1 "
                        "image to show)", path, worst_n);
    for (int i = 0; i < n; i++) {
        const overlay_sheet_item *it = &items[i];
        if (!it->image || it->h <= 0 || it->w <= 0 || (it->c != 1 && it->c != 3))
            return err_fail(err, errlen, "worst-images sheet '%s': item %d has %s (expected a u8 "
                            "image of positive size with 1 or 3 channels)", path, i,
                            it->image ? "an image of unusable size or channels" : "no image");
        if (!isfinite(it->iou))
            return err_fail(err, errlen, "worst-images sheet '%s': item %d has IoU %g (expected "
                            "a finite value)", path, i, it->iou);
    }
    return 0;
}

/* Item it as a tile (its longer side tile pixels), into the sheet's cell (row, col). */
static int put_tile(contact_sheet *sheet, int row, int col, const overlay_sheet_item *it,
                    int tile, char *err, size_t errlen)
{
    int longer = it->h > it->w ? it->h : it->w;
    overlay *o = overlay_new(it->image, it->h, it->w, it->c, (double)tile / longer, err, errlen);
    if (!o)
        return -1;
    static const double pred_rgb[3] = OVERLAY_SHEET_PRED_RGB;
    char caption[64];
    if (it->id >= 0)
        snprintf(caption, sizeof caption, "IoU %.3f #%lld", it->iou, (long long)it->id);
    else
        snprintf(caption, sizeof caption, "IoU %.3f", it->iou);
    int rc = 0;
    if (it->pred)
        rc = overlay_mask(o, it->pred, it->h, it->w, pred_rgb, OVERLAY_SHEET_PRED_ALPHA, err,
                          errlen);
    if (rc == 0 && it->gt)
        rc = overlay_mask_outline(o, it->gt, it->h, it->w, &OVERLAY_GT_DASHED, err, errlen);
    if (rc == 0)
        rc = overlay_caption(o, caption, err, errlen);
    uint8_t *rgb = NULL;
    if (rc == 0 && !(rgb = malloc((size_t)overlay_width(o) * (size_t)overlay_height(o) * 3)))
        rc = err_fail(err, errlen, "worst-images sheet: out of memory");
    if (rc == 0) {
        overlay_copy_rgb(o, rgb);
        contact_sheet_put(sheet, row, col, rgb, overlay_height(o), overlay_width(o), 3);
    }
    free(rgb);
    overlay_free(o);
    return rc;
}

int overlay_worst_sheet(const char *path, const overlay_sheet_item *items, int n, int worst_n,
                        int tile, int *order, char *err, size_t errlen)
{
    if (check_items(path, items, n, worst_n, err, errlen))
        return -1;
    if (tile <= 0)
        tile = OVERLAY_SHEET_TILE;
    ranked *r = malloc((size_t)n * sizeof *r);
    if (!r)
        return err_fail(err, errlen, "worst-images sheet '%s': out of memory", path);
    for (int i = 0; i < n; i++)
        r[i] = (ranked){items[i].iou, i};
    qsort(r, (size_t)n, sizeof *r, by_iou);
    const int count = worst_n < n ? worst_n : n;
    int cols = (int)ceil(sqrt((double)count));
    int rows = (count + cols - 1) / cols;
    contact_sheet *sheet = contact_sheet_new(rows, cols, tile, SHEET_PAD);
    int rc = sheet ? 0
                   : err_fail(err, errlen, "worst-images sheet '%s': %d x %d tiles of %d pixels "
                              "are too large (or out of memory)", path, rows, cols, tile);
    for (int t = 0; rc == 0 && t < count; t++) {
        rc = put_tile(sheet, t / cols, t % cols, &items[r[t].index], tile, err, errlen);
        if (order)
            order[t] = r[t].index;
    }
    if (rc == 0)
        rc = contact_sheet_write(sheet, path, err, errlen);
    contact_sheet_free(sheet);
    free(r);
    return rc ? -1 : count;
}
