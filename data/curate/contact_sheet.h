/*
 * contact_sheet.h - a grid of small images in one PNG, for people to look at: the preview of a
 * synthetic data set (`pictor data synth ... --preview`) and the rejected drawings of
 * `pictor data filter-sketches`.
 *
 * Owns: placing tiles on a light grey sheet, fitting each image into its square cell (nearest
 * neighbour, aspect ratio kept, centred), and writing the PNG atomically. It does not own what
 * the tiles show.
 */
#ifndef PICTOR_DATA_CONTACT_SHEET_H
#define PICTOR_DATA_CONTACT_SHEET_H

#include <stddef.h>
#include <stdint.h>

typedef struct contact_sheet contact_sheet;

/* A sheet of rows x cols cells of tile x tile pixels with pad pixels between and around them.
 * NULL on out of memory or bad sizes. */
contact_sheet *contact_sheet_new(int rows, int cols, int tile, int pad);
void contact_sheet_free(contact_sheet *s); /* NULL-safe */

/* Put an h x w image of c channels (1 grey or 3 RGB) into cell (row, col), scaled to fit the
 * cell. Out-of-range cells are ignored. */
void contact_sheet_put(contact_sheet *s, int row, int col, const uint8_t *pixels, int h, int w,
                       int c);

/* Write the sheet as an RGB PNG at path, atomically (message names the file). */
int contact_sheet_write(const contact_sheet *s, const char *path, char *err, size_t errlen);

#endif
