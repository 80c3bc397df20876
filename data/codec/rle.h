/*
 * rle.h - COCO run-length encoding of binary masks, in both of its JSON forms.
 *
 * Owns: decoding runs to a mask and encoding a mask to runs, and the compressed string form of
 * the runs that COCO files and result files use. It does not own JSON parsing (the COCO importer
 * reads the "counts" and "size" keys) or polygon rasterisation (raster.h).
 *
 * THE FORMAT
 *   A mask of h rows and w columns is read in column-major order (down the first column, then
 *   the next: index x * h + y) as alternating runs of 0s and 1s, starting with 0s; counts[i] is
 *   the length of run i (the first may be 0 when the mask starts with a 1; the counts sum to
 *   h * w). JSON: {"size": [h, w], "counts": [c0, c1, ...]} ("uncompressed", used by COCO's
 *   iscrowd annotations) or {"size": [h, w], "counts": "<string>"} ("compressed").
 *
 *   The string form: from the fourth count on (i > 2) each count is replaced by its difference
 *   to the count two places before (counts[i] - counts[i - 2], the previous run of the same
 *   value, so it may be negative). Each value is then written as a little-endian sequence of
 *   5-bit groups, least significant first, one character per group: character = 48 + (group |
 *   0x20 when more groups follow). The value is signed: the last group's bit 0x10 is its sign
 *   bit (two's complement over 5 * groups bits), and the encoder emits groups until the rest of
 *   the value is 0 (or -1 for a negative value) and the sign bit of the last group agrees.
 *   Characters therefore lie in '0' (48) .. 'o' (111).
 *
 * The pixels produced and read here are row-major (index y * w + x), 0 or 1, as everywhere else
 * in pictor. Functions return 0, or -1 with a short message in err (when err is not NULL and
 * errlen > 0): "counts sum to 95, expected 10 x 10 = 100", "invalid character '~' at 7".
 * Output buffers are malloc'ed; free() them. Thread-safe.
 */
#ifndef PICTOR_DATA_RLE_H
#define PICTOR_DATA_RLE_H

#include <stddef.h>
#include <stdint.h>

/* Check that n counts describe an h x w mask (their sum is h * w). */
int rle_check(const uint32_t *counts, size_t n, int h, int w, char *err, size_t errlen);

/* Decode n counts (column-major runs, see above) into the row-major h x w mask (overwritten:
 * every pixel becomes 0 or 1). The counts must pass rle_check. */
int rle_decode(const uint32_t *counts, size_t n, int h, int w, uint8_t *mask, char *err,
               size_t errlen);

/* Runs of a row-major h x w mask (non-zero = 1): *counts (*n values, malloc'ed). */
int rle_encode(const uint8_t *mask, int h, int w, uint32_t **counts, size_t *n, char *err,
               size_t errlen);

/* The compressed string of COCO (the whole NUL-terminated s) -> *counts (*n values). Errors:
 * a character outside '0'..'o', a string that ends inside a value, a value of more than 60
 * bits, or a count that comes out negative or above 2^32 - 1. */
int rle_from_string(const char *s, uint32_t **counts, size_t *n, char *err, size_t errlen);

/* counts -> the compressed string (*out, NUL-terminated, malloc'ed). */
int rle_to_string(const uint32_t *counts, size_t n, char **out, char *err, size_t errlen);

#endif
