/*
 * isession.h - the interactive model as a tool (`pictor segment`, and later an annotation UI):
 * one call for the first pass, one to apply taps. Part 1 of the network runs once per image
 * (isession_begin) and its features stay cached; every tap re-runs part 2 only.
 *
 * Geometry: the image is letterboxed onto the model's canvas (data.image_size, or the image
 * itself when that is 0); taps and the rectangle are given and masks returned in the ORIGINAL
 * image's pixels. The rectangle: the user's when given (claim 8), else the RPN's best proposal
 * containing the first positive tap (a positive tap outside the rectangle grows it to take the
 * tap in). Before any tap and without a rectangle there is no mask yet.
 *
 * Tensors: the session keeps a shim scope open from begin to end; calls must not interleave
 * with other scopes of the same thread (a tool's straight-line use).
 */
#ifndef PICTOR_ISESSION_H
#define PICTOR_ISESSION_H

#include <stddef.h>
#include <stdint.h>

typedef struct isession isession;

/* model: the `interactive` driver's object (driver->create). rgb: h x w x 3. box: x, y, width,
 * height in image pixels, or NULL. NULL with a message in err (a box outside the image or
 * empty, out of memory, a failing forward pass). */
isession *isession_begin(void *model, const uint8_t *rgb, int h, int w, const float *box,
                         char *err, size_t errlen);
/* The mask of the rectangle alone (no tap yet): 0 and mask (h * w, 0/255) filled, or 1 when there
 * is no rectangle yet, -1 on error. */
int isession_first_mask(isession *s, uint8_t *mask, char *err, size_t errlen);
/* Add a tap at (x, y) (positive: on the object) and re-run part 2: 0 and the new mask, -1 on
 * error (a tap outside the image, a negative first tap without a rectangle). */
int isession_tap(isession *s, int x, int y, int positive, uint8_t *mask, char *err,
                 size_t errlen);
/* Seconds of the last part 1 and of the last part 2 run. */
void isession_times(const isession *s, double *part1_s, double *part2_s);
/* The rectangle in use (x0, y0, x1, y1 in image pixels): 1, or 0 when there is none yet. */
int isession_box(const isession *s, float *box);
void isession_end(isession *s);

#endif
