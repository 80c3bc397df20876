/*
 * contact_sheet.c - see contact_sheet.h: tiles on a grid, written as one PNG.
 */
#include "curate/contact_sheet.h"

#include <stdlib.h>
#include <string.h>

#include "codec/image.h"

struct contact_sheet {
    int rows, cols, tile, pad;
    int h, w;
    uint8_t *rgb; /* h * w * 3 */
};

contact_sheet *contact_sheet_new(int rows, int cols, int tile, int pad)
{
    if (rows <= 0 || cols <= 0 || tile <= 0 || pad < 0 || rows > 4096 || cols > 4096 ||
        tile > 4096 || pad > 256)
        return NULL;
    int64_t h = (int64_t)rows * (tile + pad) + pad, w = (int64_t)cols * (tile + pad) + pad;
    if (h * w > IMAGE_MAX_PIXELS)
        return NULL;
    contact_sheet *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->rows = rows, s->cols = cols, s->tile = tile, s->pad = pad;
    s->h = (int)h, s->w = (int)w;
    if (!(s->rgb = malloc((size_t)h * (size_t)w * 3))) {
        free(s);
        return NULL;
    }
    memset(s->rgb, 200, (size_t)h * (size_t)w * 3);
    return s;
}

void contact_sheet_free(contact_sheet *s)
{
    if (!s)
        return;
    free(s->rgb);
    free(s);
}

void contact_sheet_put(contact_sheet *s, int row, int col, const uint8_t *px, int h, int w,
                       int c)
{
    if (!s || !px || row < 0 || col < 0 || row >= s->rows || col >= s->cols || h <= 0 ||
        w <= 0 || (c != 1 && c != 3))
        return;
    /* scale so the longer side fills the cell */
    int side = h > w ? h : w;
    int th = (int)((int64_t)h * s->tile / side), tw = (int)((int64_t)w * s->tile / side);
    if (th < 1) th = 1;
    if (tw < 1) tw = 1;
    int y0 = s->pad + row * (s->tile + s->pad) + (s->tile - th) / 2;
    int x0 = s->pad + col * (s->tile + s->pad) + (s->tile - tw) / 2;
    for (int y = 0; y < th; y++) {
        int sy = (int)((int64_t)y * h / th);
        uint8_t *dst = s->rgb + ((size_t)(y0 + y) * s->w + x0) * 3;
        for (int x = 0; x < tw; x++) {
            int sx = (int)((int64_t)x * w / tw);
            const uint8_t *p = px + ((size_t)sy * w + sx) * c;
            dst[3 * x] = p[0];
            dst[3 * x + 1] = p[c == 3 ? 1 : 0];
            dst[3 * x + 2] = p[c == 3 ? 2 : 0];
        }
    }
}

int contact_sheet_write(const contact_sheet *s, const char *path, char *err, size_t errlen)
{
    return image_write_png(path, s->rgb, s->h, s->w, 3, err, errlen);
}
