/*
 * image.c - see image.h: JPEG (TurboJPEG) and PNG (libpng) decoding and encoding in memory,
 * atomic PNG files, whole-file reads.
 *
 * libpng reports errors by longjmp: every libpng call sequence runs inside one small function that
 * calls setjmp, and everything that must survive the jump (buffers to free, the message) lives in
 * a context struct owned by its caller, so no local of the jumping function is used afterwards.
 */
#include "codec/image.h"

#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "base/err.h"
#include "fileio.h"

/* ---------------------------------------------------------------- format detection */

static const uint8_t PNG_MAGIC[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

image_format image_detect(const void *data, size_t len)
{
    const uint8_t *b = data;
    if (!b)
        return IMAGE_UNKNOWN;
    if (len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
        return IMAGE_JPEG;
    if (len >= 8 && memcmp(b, PNG_MAGIC, 8) == 0)
        return IMAGE_PNG;
    return IMAGE_UNKNOWN;
}

const char *image_format_name(image_format f)
{
    switch (f) {
    case IMAGE_JPEG: return "jpeg";
    case IMAGE_PNG: return "png";
    default: return "unknown";
    }
}

static int check_size(int64_t h, int64_t w, char *err, size_t errlen)
{
    if (h <= 0 || w <= 0)
        return err_fail(err, errlen, "image has no pixels (%lldx%lld)", (long long)w, (long long)h);
    if (h * w > IMAGE_MAX_PIXELS)
        return err_fail(err, errlen, "image too large (%lldx%lld pixels, limit %lld)", (long long)w,
                    (long long)h, (long long)IMAGE_MAX_PIXELS);
    return 0;
}

/* ---------------------------------------------------------------- JPEG */

/* A complete JPEG ends with the EOI marker FF D9 (a decoder failure on data that does not is a
 * truncated file, whatever libjpeg says: it may stop at a missing SOS before noticing the end). */
static int jpeg_has_eoi(const uint8_t *b, size_t len)
{
    return len >= 4 && b[len - 2] == 0xFF && b[len - 1] == 0xD9;
}

/* A TurboJPEG failure as our message: data without its EOI is a truncated file; the harmless
 * "extraneous bytes" warning is not a failure (returns 0). */
static int jpeg_failure(tjhandle tj, const void *data, size_t len, char *err, size_t errlen)
{
    const char *msg = tjGetErrorStr2(tj);
    if (!msg)
        msg = "unknown error";
    if (!jpeg_has_eoi(data, len))
        return err_fail(err, errlen, "truncated JPEG");
    if (tjGetErrorCode(tj) == TJERR_WARNING && strstr(msg, "extraneous bytes"))
        return 0;
    return err_fail(err, errlen, "corrupt JPEG: %s", msg);
}

/* Note: TurboJPEG 2.1 returns 0 from the header call when the data ends inside the header
 * (a warning) without setting the size, so the size is checked as well as the status. */
static int jpeg_header(tjhandle tj, const void *data, size_t len, int *h, int *w, int *cs,
                       char *err, size_t errlen)
{
    int subsamp = 0;
    *h = *w = 0;
    int rc = tjDecompressHeader3(tj, data, (unsigned long)len, w, h, &subsamp, cs);
    if (rc != 0 || *w <= 0 || *h <= 0) {
        const char *msg = tjGetErrorStr2(tj);
        if (!jpeg_has_eoi(data, len))
            return err_fail(err, errlen, "truncated JPEG");
        if (rc != 0)
            return err_fail(err, errlen, "corrupt JPEG: %s", msg ? msg : "bad header");
        return err_fail(err, errlen, "corrupt JPEG: no image size in the header");
    }
    return check_size(*h, *w, err, errlen);
}

/* CMYK (as Adobe applications write it, inverted) to RGB, in place order: 4 bytes in, 3 out. */
static void cmyk_to_rgb(const uint8_t *cmyk, uint8_t *rgb, size_t pixels)
{
    for (size_t i = 0; i < pixels; i++) {
        unsigned k = cmyk[4 * i + 3];
        rgb[3 * i + 0] = (uint8_t)((cmyk[4 * i + 0] * k + 127) / 255);
        rgb[3 * i + 1] = (uint8_t)((cmyk[4 * i + 1] * k + 127) / 255);
        rgb[3 * i + 2] = (uint8_t)((cmyk[4 * i + 2] * k + 127) / 255);
    }
}

static void rgb_to_grey(const uint8_t *rgb, uint8_t *grey, size_t pixels)
{
    for (size_t i = 0; i < pixels; i++)
        grey[i] = (uint8_t)((299u * rgb[3 * i] + 587u * rgb[3 * i + 1] + 114u * rgb[3 * i + 2] +
                             500u) / 1000u);
}

/* Decode a CMYK/YCCK JPEG: TurboJPEG only outputs those as CMYK pixels. */
static int jpeg_decode_cmyk(tjhandle tj, const void *data, size_t len, int h, int w, int want,
                            uint8_t *out, char *err, size_t errlen)
{
    size_t pixels = (size_t)h * (size_t)w;
    uint8_t *cmyk = malloc(pixels * 4);
    uint8_t *rgb = want == 1 ? malloc(pixels * 3) : out;
    if (!cmyk || !rgb) {
        free(cmyk);
        if (rgb != out)
            free(rgb);
        return err_fail(err, errlen, "out of memory decoding a %dx%d JPEG", w, h);
    }
    int rc = 0;
    if (tjDecompress2(tj, data, (unsigned long)len, cmyk, w, 0, h, TJPF_CMYK, 0) != 0)
        rc = jpeg_failure(tj, data, len, err, errlen);
    if (rc == 0) {
        cmyk_to_rgb(cmyk, rgb, pixels);
        if (want == 1)
            rgb_to_grey(rgb, out, pixels);
    }
    free(cmyk);
    if (rgb != out)
        free(rgb);
    return rc;
}

static int jpeg_decode(const void *data, size_t len, int channels, uint8_t **pixels, int *h,
                       int *w, int *c, char *err, size_t errlen)
{
    tjhandle tj = tjInitDecompress();
    if (!tj)
        return err_fail(err, errlen, "cannot start the JPEG decoder: %s", tjGetErrorStr2(NULL));
    int cs = 0, rc = jpeg_header(tj, data, len, h, w, &cs, err, errlen);
    int want = channels ? channels : (cs == TJCS_GRAY ? 1 : 3);
    uint8_t *out = NULL;
    if (rc == 0) {
        out = malloc((size_t)*h * (size_t)*w * (size_t)want);
        if (!out)
            rc = err_fail(err, errlen, "out of memory decoding a %dx%d JPEG", *w, *h);
    }
    if (rc == 0 && (cs == TJCS_CMYK || cs == TJCS_YCCK)) {
        rc = jpeg_decode_cmyk(tj, data, len, *h, *w, want, out, err, errlen);
    } else if (rc == 0) {
        int pf = want == 1 ? TJPF_GRAY : TJPF_RGB;
        if (tjDecompress2(tj, data, (unsigned long)len, out, *w, 0, *h, pf, 0) != 0)
            rc = jpeg_failure(tj, data, len, err, errlen);
    }
    tjDestroy(tj);
    if (rc != 0) {
        free(out);
        return -1;
    }
    *pixels = out;
    *c = want;
    return 0;
}

/* Decode the whole entropy-coded data at 1/8 scale: finds truncation and corruption like a
 * full decode, at a fraction of the cost (the inverse DCT is mostly skipped). */
static int jpeg_check(const void *data, size_t len, int *h, int *w, int *c, char *err,
                      size_t errlen)
{
    tjhandle tj = tjInitDecompress();
    if (!tj)
        return err_fail(err, errlen, "cannot start the JPEG decoder: %s", tjGetErrorStr2(NULL));
    int cs = 0, rc = jpeg_header(tj, data, len, h, w, &cs, err, errlen);
    tjscalingfactor eighth = {1, 8};
    int sw = TJSCALED(*w, eighth), sh = TJSCALED(*h, eighth);
    int cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK;
    uint8_t *small = rc == 0 ? malloc((size_t)(sw + 1) * (size_t)(sh + 1) * (cmyk ? 4 : 1))
                             : NULL;
    if (rc == 0 && !small)
        rc = err_fail(err, errlen, "out of memory checking a JPEG");
    if (rc == 0 && tjDecompress2(tj, data, (unsigned long)len, small, sw, 0, sh,
                                 cmyk ? TJPF_CMYK : TJPF_GRAY, 0) != 0)
        rc = jpeg_failure(tj, data, len, err, errlen);
    free(small);
    tjDestroy(tj);
    *c = cs == TJCS_GRAY ? 1 : 3;
    return rc;
}

int image_encode_jpeg(const uint8_t *pixels, int h, int w, int c, int quality, uint8_t **out,
                      size_t *len, char *err, size_t errlen)
{
    if (!pixels || (c != 1 && c != 3) || check_size(h, w, err, errlen))
        return err_fail(err, errlen, "cannot encode a %dx%dx%d image as JPEG", w, h, c);
    if (quality < 1 || quality > 100)
        return err_fail(err, errlen, "JPEG quality must be in [1, 100], got %d", quality);
    tjhandle tj = tjInitCompress();
    if (!tj)
        return err_fail(err, errlen, "cannot start the JPEG encoder: %s", tjGetErrorStr2(NULL));
    unsigned char *buf = NULL;
    unsigned long n = 0;
    int samp = c == 1 ? TJSAMP_GRAY : quality >= 90 ? TJSAMP_444 : TJSAMP_420;
    int rc = tjCompress2(tj, pixels, w, 0, h, c == 1 ? TJPF_GRAY : TJPF_RGB, &buf, &n, samp,
                         quality, 0);
    if (rc != 0)
        rc = err_fail(err, errlen, "JPEG encoding failed: %s", tjGetErrorStr2(tj));
    if (rc == 0) {
        *out = malloc(n);
        if (!*out)
            rc = err_fail(err, errlen, "out of memory encoding a JPEG");
        else
            memcpy(*out, buf, n), *len = n;
    }
    tjFree(buf);
    tjDestroy(tj);
    return rc;
}

/* ---------------------------------------------------------------- PNG decoding */

typedef struct {
    const uint8_t *data;
    size_t len, pos;
    char msg[256];
    uint8_t *pixels; /* owned here until handed to the caller */
    png_bytep *rows;
} png_reader;

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_reader *r = png_get_error_ptr(png);
    snprintf(r->msg, sizeof r->msg, "%s", msg ? msg : "unknown error");
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void png_read_mem(png_structp png, png_bytep out, size_t n)
{
    png_reader *r = png_get_io_ptr(png);
    if (n > r->len - r->pos)
        png_error(png, "truncated PNG");
    memcpy(out, r->data + r->pos, n);
    r->pos += n;
}

/* Ask libpng for 8-bit, alpha-free pixels with want channels, given the stored kind. */
static void png_set_transforms(png_structp png, int depth, int ctype, int trns, int stored,
                               int want)
{
    if (ctype == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16)
        png_set_scale_16(png);
    if ((ctype & PNG_COLOR_MASK_ALPHA) || trns) /* palette expansion turns tRNS into alpha */
        png_set_strip_alpha(png);
    if (want == 3 && stored == 1)
        png_set_gray_to_rgb(png);
    if (want == 1 && stored == 3)
        png_set_rgb_to_gray_fixed(png, 1, 29900, 58700); /* Rec. 601: .299 R + .587 G + .114 B */
    png_set_interlace_handling(png);
}

/* The libpng calls; a libpng error jumps back here and returns -1 with r->msg set. */
static int png_decode_into(png_structp png, png_infop info, png_reader *r, int channels, int *h,
                           int *w, int *c)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_set_read_fn(png, r, png_read_mem);
    png_read_info(png, info);
    png_uint_32 pw, ph;
    int depth, ctype;
    png_get_IHDR(png, info, &pw, &ph, &depth, &ctype, NULL, NULL, NULL);
    if (pw == 0 || ph == 0 || (int64_t)pw * (int64_t)ph > IMAGE_MAX_PIXELS) {
        char what[128]; /* refused from the header, before any pixel buffer exists */
        snprintf(what, sizeof what, "image size %ux%u out of range (limit %lld pixels)",
                 (unsigned)pw, (unsigned)ph, (long long)IMAGE_MAX_PIXELS);
        png_error(png, what);
    }
    int stored = (ctype & PNG_COLOR_MASK_COLOR) ? 3 : 1;
    int want = channels ? channels : stored;
    int trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    png_set_transforms(png, depth, ctype, trns, stored, want);
    png_read_update_info(png, info);
    size_t stride = (size_t)pw * (size_t)want;
    if (png_get_channels(png, info) != want || png_get_rowbytes(png, info) != stride)
        png_error(png, "unsupported pixel layout");
    r->pixels = malloc(stride * ph);
    r->rows = malloc(sizeof *r->rows * ph);
    if (!r->pixels || !r->rows)
        png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < ph; y++)
        r->rows[y] = r->pixels + (size_t)y * stride;
    png_read_image(png, r->rows);
    png_read_end(png, NULL);
    *h = (int)ph;
    *w = (int)pw;
    *c = want;
    return 0;
}

static int png_decode(const void *data, size_t len, int channels, uint8_t **pixels, int *h, int *w,
                      int *c, char *err, size_t errlen)
{
    png_reader r = {.data = data, .len = len};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, png_on_error,
                                             png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        return err_fail(err, errlen, "cannot start the PNG decoder (out of memory)");
    }
    int rc = png_decode_into(png, info, &r, channels, h, w, c);
    png_destroy_read_struct(&png, &info, NULL);
    free(r.rows);
    if (rc != 0) {
        free(r.pixels);
        if (!strcmp(r.msg, "truncated PNG"))
            return err_fail(err, errlen, "truncated PNG");
        return err_fail(err, errlen, "corrupt PNG: %s", r.msg);
    }
    *pixels = r.pixels;
    return 0;
}

/* ---------------------------------------------------------------- PNG encoding */

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    char msg[256];
} png_writer;

static void png_on_write_error(png_structp png, png_const_charp msg)
{
    png_writer *wr = png_get_error_ptr(png);
    snprintf(wr->msg, sizeof wr->msg, "%s", msg ? msg : "unknown error");
    png_longjmp(png, 1);
}

static void png_write_mem(png_structp png, png_bytep data, size_t n)
{
    png_writer *wr = png_get_io_ptr(png);
    if (n > wr->cap - wr->len) {
        size_t cap = wr->cap ? wr->cap : 4096;
        while (cap - wr->len < n)
            cap *= 2;
        uint8_t *b = realloc(wr->buf, cap);
        if (!b)
            png_error(png, "out of memory");
        wr->buf = b;
        wr->cap = cap;
    }
    memcpy(wr->buf + wr->len, data, n);
    wr->len += n;
}

static void png_flush_mem(png_structp png)
{
    (void)png;
}

/* Masks and label maps (one channel, every value < 16) compress best and 3-5x faster with no
 * row filter and zlib's run-length strategy; photos keep libpng's adaptive filters. */
static int is_label_map(const uint8_t *pixels, size_t n, int c)
{
    if (c != 1)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (pixels[i] >= 16)
            return 0;
    return 1;
}

static int png_encode_into(png_structp png, png_infop info, png_writer *wr, const uint8_t *pixels,
                           int h, int w, int c)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_set_write_fn(png, wr, png_write_mem, png_flush_mem);
    png_set_compression_level(png, 6);
    if (is_label_map(pixels, (size_t)h * (size_t)w, c)) {
        png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
        png_set_compression_strategy(png, 3 /* Z_RLE */);
    }
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
                 c == 1 ? PNG_COLOR_TYPE_GRAY : c == 4 ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    size_t stride = (size_t)w * (size_t)c;
    for (int y = 0; y < h; y++)
        png_write_row(png, pixels + (size_t)y * stride);
    png_write_end(png, NULL);
    return 0;
}

int image_encode_png(const uint8_t *pixels, int h, int w, int c, uint8_t **out, size_t *len,
                     char *err, size_t errlen)
{
    if (!pixels || (c != 1 && c != 3 && c != 4) || check_size(h, w, err, errlen))
        return err_fail(err, errlen, "cannot encode a %dx%dx%d image as PNG", w, h, c);
    png_writer wr = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &wr, png_on_write_error,
                                              png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(png ? &png : NULL, NULL);
        return err_fail(err, errlen, "cannot start the PNG encoder (out of memory)");
    }
    int rc = png_encode_into(png, info, &wr, pixels, h, w, c);
    png_destroy_write_struct(&png, &info);
    if (rc != 0) {
        free(wr.buf);
        return err_fail(err, errlen, "PNG encoding failed: %s", wr.msg);
    }
    *out = wr.buf;
    *len = wr.len;
    return 0;
}

int image_write_png(const char *path, const uint8_t *pixels, int h, int w, int c, char *err,
                    size_t errlen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char msg[256];
    if (image_encode_png(pixels, h, w, c, &buf, &len, msg, sizeof msg))
        return err_fail(err, errlen, "%s: %s", path, msg);
    int rc = image_write_file_atomic(path, buf, len, err, errlen);
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------- probing and dispatch */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads the PNG IHDR chunk (always first, at byte 8). */
static int png_probe(const uint8_t *b, size_t len, int *h, int *w, int *c, char *err,
                     size_t errlen)
{
    if (len < 33)
        return err_fail(err, errlen, "truncated PNG");
    if (be32(b + 8) != 13 || memcmp(b + 12, "IHDR", 4) != 0)
        return err_fail(err, errlen, "corrupt PNG: no IHDR chunk first");
    uint32_t pw = be32(b + 16), ph = be32(b + 20);
    if (pw > 0x7fffffff || ph > 0x7fffffff || check_size(ph, pw, err, errlen))
        return err_fail(err, errlen, "corrupt PNG: image size %ux%u out of range", pw, ph);
    *w = (int)pw;
    *h = (int)ph;
    *c = (b[25] & PNG_COLOR_MASK_COLOR) ? 3 : 1;
    return 0;
}

int image_probe(const void *data, size_t len, int *h, int *w, int *c, char *err, size_t errlen)
{
    switch (image_detect(data, len)) {
    case IMAGE_PNG:
        return png_probe(data, len, h, w, c, err, errlen);
    case IMAGE_JPEG: {
        tjhandle tj = tjInitDecompress();
        if (!tj)
            return err_fail(err, errlen, "cannot start the JPEG decoder");
        int cs = 0, rc = jpeg_header(tj, data, len, h, w, &cs, err, errlen);
        tjDestroy(tj);
        *c = cs == TJCS_GRAY ? 1 : 3;
        return rc;
    }
    default:
        return err_fail(err, errlen, "not a JPEG or PNG image");
    }
}

int image_decode(const void *data, size_t len, int channels, uint8_t **pixels, int *h, int *w,
                 int *c, char *err, size_t errlen)
{
    *pixels = NULL;
    if (channels != 0 && channels != 1 && channels != 3)
        return err_fail(err, errlen, "cannot decode to %d channels (0, 1 or 3)", channels);
    switch (image_detect(data, len)) {
    case IMAGE_JPEG:
        return jpeg_decode(data, len, channels, pixels, h, w, c, err, errlen);
    case IMAGE_PNG:
        return png_decode(data, len, channels, pixels, h, w, c, err, errlen);
    default:
        return err_fail(err, errlen, len == 0 ? "empty file" : "not a JPEG or PNG image");
    }
}

int image_check(const void *data, size_t len, int *h, int *w, int *c, char *err, size_t errlen)
{
    if (image_detect(data, len) == IMAGE_JPEG)
        return jpeg_check(data, len, h, w, c, err, errlen);
    uint8_t *px = NULL;
    int rc = image_decode(data, len, 0, &px, h, w, c, err, errlen);
    free(px);
    return rc;
}

/* ---------------------------------------------------------------- files */

int image_read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return err_fail(err, errlen, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return err_fail(err, errlen, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return err_fail(err, errlen, "%s: %s", path,
                    S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    }
    size_t n = (size_t)st.st_size, got = 0;
    uint8_t *buf = malloc(n + 1);
    if (!buf) {
        close(fd);
        return err_fail(err, errlen, "%s: out of memory (%zu bytes)", path, n);
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? errno : 0;
            free(buf);
            close(fd);
            return err_fail(err, errlen, "%s: %s", path, e ? strerror(e) : "file shrank while read");
        }
        got += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *data = buf;
    *len = n;
    return 0;
}

/* The atomic writes are the shim's (fileio.h); these two only move its message into err. */
int image_commit_temp_file(const char *tmp, const char *path, char *err, size_t errlen)
{
    return pt_commit_temp_file(tmp, path) == PT_OK ? 0 : err_fail(err, errlen, "%s", pt_error());
}

int image_write_file_atomic(const char *path, const void *data, size_t len, char *err,
                            size_t errlen)
{
    return pt_write_file_atomic(path, data, len) == PT_OK ? 0
                                                          : err_fail(err, errlen, "%s", pt_error());
}
