/*
 * image.h - image codecs of pictor: JPEG (libjpeg-turbo's TurboJPEG API) and PNG (libpng).
 *
 * Owns: recognising a format from its magic bytes, decoding a JPEG or PNG held in memory into
 * 8-bit interleaved pixels (HWC, 1 grey or 3 RGB channels), encoding pixels as PNG or JPEG into
 * memory, writing files atomically (temp file, fsync, rename), and reading a whole file into
 * memory. It does not own resizing, augmentation or the dataset store.
 *
 * Decoding is strict: a corrupt or truncated file is an error, never a crash and never a warning
 * with half a picture (a JPEG that ends early is an error). Palette, low-bit-depth and 16-bit PNGs
 * are converted to 8 bits; alpha is dropped; grey <-> RGB conversion is done on request (RGB to
 * grey with the Rec. 601 luma weights).
 *
 * Every function is thread-safe (no shared state) and returns 0 on success or -1 on failure with a
 * short message in err (when err is not NULL and errlen > 0) such as "truncated JPEG" or
 * "corrupt PNG: IDAT: invalid distance too far back". Messages do not name a file: callers that
 * know the file prefix its name. Output buffers are malloc'ed; the caller frees them with free().
 */
#ifndef PICTOR_DATA_IMAGE_H
#define PICTOR_DATA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef enum { IMAGE_UNKNOWN = 0, IMAGE_JPEG = 1, IMAGE_PNG = 2 } image_format;

/* Largest image accepted by the decoders, in pixels (guards against absurd headers). */
#define IMAGE_MAX_PIXELS ((int64_t)1 << 27)

/* The format of an encoded image from its first bytes; IMAGE_UNKNOWN if neither. */
image_format image_detect(const void *data, size_t len);
/* "jpeg", "png" or "unknown". */
const char *image_format_name(image_format f);

/* Height, width and stored channel count (1 grey, 3 colour) from the header only; no pixels are
 * decoded, so a file truncated after its header passes this check. */
int image_probe(const void *data, size_t len, int *h, int *w, int *c, char *err, size_t errlen);

/* Decode a JPEG or PNG (detected from its magic bytes) into *pixels (h * w * c bytes, HWC).
 * channels: 0 keeps the stored kind (1 for grey images, 3 otherwise), 1 or 3 converts. */
int image_decode(const void *data, size_t len, int channels, uint8_t **pixels, int *h, int *w,
                 int *c, char *err, size_t errlen);

/* Check that an image decodes completely (truncated or corrupt data is an error, as for
 * image_decode) and return its size and stored channel count, without keeping pixels. JPEGs are
 * decoded at 1/8 scale, which still reads all of their entropy-coded data: much faster than a
 * full decode. Importers use it to validate files they store as they are. */
int image_check(const void *data, size_t len, int *h, int *w, int *c, char *err, size_t errlen);

/* Encode h x w x c pixels (c = 1 grey, 3 RGB or 4 RGBA) as a PNG (lossless, zlib level 6). */
int image_encode_png(const uint8_t *pixels, int h, int w, int c, uint8_t **out, size_t *len,
                     char *err, size_t errlen);
/* Encode as a baseline JPEG of the given quality (1..100); 4:4:4 chroma from quality 90 up,
 * 4:2:0 below; grey images stay grey. */
int image_encode_jpeg(const uint8_t *pixels, int h, int w, int c, int quality, uint8_t **out,
                      size_t *len, char *err, size_t errlen);

/* Encode as PNG and write it to path atomically (path.tmp.<pid>, fsync, rename): a crash never
 * leaves a half-written file under path. The message names the file. */
int image_write_png(const char *path, const uint8_t *pixels, int h, int w, int c, char *err,
                    size_t errlen);

/* pt_write_file_atomic (the project's one atomic writer, shim/fileio.h) with its message in err:
 * path.tmp.<pid>, fsync, rename, fsync the directory. On failure the temp file is removed and an
 * existing file at path is left untouched. */
int image_write_file_atomic(const char *path, const void *data, size_t len, char *err,
                            size_t errlen);
/* pt_commit_temp_file with its message in err: the last step of an atomic write, for writers
 * that fill the temp file themselves (the HDF5 store): fsync tmp, rename it over path, fsync the
 * directory. On failure tmp is removed. */
int image_commit_temp_file(const char *tmp, const char *path, char *err, size_t errlen);

/* Read a whole regular file into *data (*len bytes; one extra NUL byte is appended, not counted).
 * The message names the file ("x.jpg: No such file or directory"). */
int image_read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen);

#endif
