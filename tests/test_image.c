/* test_image.c - Criterion tests for data/image.c, the JPEG/PNG codecs.
 *
 * Owns: exact PNG round trips (grey, RGB, interlaced), PNG variants written here with libpng
 * directly (16-bit, palette with transparency, alpha, 1-bit grey) and what they decode to, JPEG
 * round trips within a tolerance, grey <-> RGB conversions, format detection and probing, and
 * every corrupt or truncated input giving an error message (never a crash), plus the file
 * helpers (atomic write, read of a missing file).
 */
#include <criterion/criterion.h>

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "codec/image.h"

/* ---------------------------------------------------------------- helpers */

/* Deterministic pixels: noise-free but varied, so every byte value matters. */
static uint8_t *pattern(int h, int w, int c, unsigned seed)
{
    uint8_t *p = malloc((size_t)h * w * c);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < (size_t)h * w * c; i++) {
        x = x * 1664525u + 1013904223u;
        p[i] = (uint8_t)(x >> 24);
    }
    return p;
}

/* A smooth image JPEG can reproduce closely. */
static uint8_t *gradient(int h, int w, int c)
{
    uint8_t *p = malloc((size_t)h * w * c);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                p[((size_t)y * w + x) * c + k] = (uint8_t)(40 + x + y + k * 30);
    return p;
}

typedef struct {
    uint8_t *buf;
    size_t len, cap;
} membuf;

static void mem_write(png_structp png, png_bytep d, size_t n)
{
    membuf *m = png_get_io_ptr(png);
    if (m->len + n > m->cap) {
        m->cap = (m->len + n) * 2;
        m->buf = realloc(m->buf, m->cap);
    }
    memcpy(m->buf + m->len, d, n);
    m->len += n;
}

static void mem_flush(png_structp png) { (void)png; }

/* A PNG of any colour type / depth written with libpng directly; rows hold the packed samples.
 * palette (n entries of RGB) and trns (alpha per palette entry) are optional. */
static membuf write_png_variant(int w, int h, int depth, int ctype, int interlace,
                                const uint8_t *rows, size_t stride, const png_color *palette,
                                int npal, const uint8_t *trns, int ntrns)
{
    membuf m = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    cr_assert(png && info);
    if (setjmp(png_jmpbuf(png)))
        cr_assert_fail("libpng failed writing a test PNG");
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, w, h, depth, ctype,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette)
        png_set_PLTE(png, info, palette, npal);
    if (trns)
        png_set_tRNS(png, info, trns, ntrns, NULL);
    png_write_info(png, info);
    if (depth == 16)
        png_set_swap(png); /* our rows are little-endian u16 */
    png_bytep *rp = malloc(sizeof *rp * h);
    for (int y = 0; y < h; y++)
        rp[y] = (png_bytep)rows + (size_t)y * stride;
    png_write_image(png, rp);
    png_write_end(png, NULL);
    free(rp);
    png_destroy_write_struct(&png, &info);
    return m;
}

static void decode_ok(const void *buf, size_t len, int channels, uint8_t **px, int *h, int *w,
                      int *c)
{
    char err[256] = "";
    int rc = image_decode(buf, len, channels, px, h, w, c, err, sizeof err);
    cr_assert_eq(rc, 0, "decode failed: %s", err);
}

static void decode_fails(const void *buf, size_t len, const char *expect)
{
    char err[256] = "";
    uint8_t *px = (uint8_t *)1;
    int h, w, c;
    int rc = image_decode(buf, len, 0, &px, &h, &w, &c, err, sizeof err);
    cr_assert_eq(rc, -1, "decoding should fail with '%s'", expect);
    cr_assert_null(px, "no pixels on failure");
    cr_assert(strstr(err, expect), "message '%s' should contain '%s'", err, expect);
}

/* ---------------------------------------------------------------- PNG round trips */

Test(image, png_round_trip_grey_and_rgb_exact)
{
    for (int c = 1; c <= 3; c += 2) {
        int h = 23, w = 37;
        uint8_t *src = pattern(h, w, c, (unsigned)c), *enc = NULL, *px = NULL;
        size_t len = 0;
        char err[256];
        cr_assert_eq(image_encode_png(src, h, w, c, &enc, &len, err, sizeof err), 0, "%s", err);
        cr_assert_eq(image_detect(enc, len), IMAGE_PNG);
        int dh, dw, dc;
        decode_ok(enc, len, 0, &px, &dh, &dw, &dc);
        cr_assert_eq(dh, h);
        cr_assert_eq(dw, w);
        cr_assert_eq(dc, c, "stored kind kept: %d channels", c);
        cr_assert_eq(memcmp(px, src, (size_t)h * w * c), 0, "PNG must be lossless");
        free(src), free(enc), free(px);
    }
}

/* RGBA (the cut-outs of `pictor segment`): colour type 6 in the header, the RGB read back exactly
 * (decoding drops the alpha), and the alpha is the 4th byte of every pixel as written. */
Test(image, png_rgba_encode)
{
    int h = 9, w = 14;
    uint8_t *src = pattern(h, w, 4, 5u), *enc = NULL, *px = NULL;
    size_t len = 0;
    char err[256];
    cr_assert_eq(image_encode_png(src, h, w, 4, &enc, &len, err, sizeof err), 0, "%s", err);
    cr_assert_gt(len, 26);
    cr_expect_eq(enc[25], 6, "IHDR colour type %d, expected 6 (RGBA)", enc[25]);
    int dh, dw, dc;
    decode_ok(enc, len, 3, &px, &dh, &dw, &dc);
    for (int i = 0; i < h * w; i++)
        cr_assert_eq(memcmp(px + 3 * i, src + 4 * i, 3), 0, "pixel %d", i);
    free(enc);
    enc = NULL;
    cr_expect_neq(image_encode_png(src, h, w, 2, &enc, &len, err, sizeof err), 0,
                  "two channels are refused");
    free(src), free(enc), free(px);
}

Test(image, png_channel_conversion)
{
    int h = 4, w = 5;
    uint8_t *grey = pattern(h, w, 1, 7), *enc = NULL, *px = NULL;
    size_t len;
    char err[256];
    cr_assert_eq(image_encode_png(grey, h, w, 1, &enc, &len, err, sizeof err), 0);
    int dh, dw, dc;
    decode_ok(enc, len, 3, &px, &dh, &dw, &dc);
    cr_assert_eq(dc, 3);
    for (int i = 0; i < h * w; i++)
        cr_assert(px[3 * i] == grey[i] && px[3 * i + 1] == grey[i] && px[3 * i + 2] == grey[i]);
    free(px), free(enc);
    /* RGB pixels with r == g == b convert back to that grey value; pure red to 0.299 * 255 */
    uint8_t rgb[3 * 4] = {10, 10, 10, 200, 200, 200, 255, 0, 0, 0, 0, 255};
    cr_assert_eq(image_encode_png(rgb, 2, 2, 3, &enc, &len, err, sizeof err), 0);
    decode_ok(enc, len, 1, &px, &dh, &dw, &dc);
    cr_assert_eq(dc, 1);
    cr_assert_eq(px[0], 10);
    cr_assert_eq(px[1], 200);
    cr_assert(abs(px[2] - 76) <= 1, "red -> %d", px[2]);
    cr_assert(abs(px[3] - 29) <= 1, "blue -> %d", px[3]);
    free(px), free(enc), free(grey);
}

Test(image, png_interlaced)
{
    int h = 19, w = 13;
    uint8_t *src = pattern(h, w, 3, 3);
    membuf m = write_png_variant(w, h, 8, PNG_COLOR_TYPE_RGB, 1, src, (size_t)w * 3, NULL, 0,
                                 NULL, 0);
    uint8_t *px;
    int dh, dw, dc;
    decode_ok(m.buf, m.len, 0, &px, &dh, &dw, &dc);
    cr_assert_eq(memcmp(px, src, (size_t)h * w * 3), 0);
    free(px), free(src), free(m.buf);
}

Test(image, png_16bit_alpha_is_scaled_and_stripped)
{
    /* 2x1 RGBA 16-bit: (65535, 0, 32896, alpha 0), (257*100, 257*50, 257*25, alpha 65535) */
    uint16_t row[8] = {65535, 0, 32896, 0, 25700, 12850, 6425, 65535};
    membuf m = write_png_variant(2, 1, 16, PNG_COLOR_TYPE_RGB_ALPHA, 0, (uint8_t *)row,
                                 sizeof row, NULL, 0, NULL, 0);
    uint8_t *px;
    int h, w, c;
    decode_ok(m.buf, m.len, 0, &px, &h, &w, &c);
    cr_assert_eq(c, 3, "alpha stripped");
    uint8_t expect[6] = {255, 0, 128, 100, 50, 25};
    cr_assert_eq(memcmp(px, expect, 6), 0, "got %d %d %d %d %d %d", px[0], px[1], px[2], px[3],
                 px[4], px[5]);
    free(px), free(m.buf);
}

Test(image, png_grey_alpha_and_1bit)
{
    uint8_t ga[4] = {9, 0, 240, 255}; /* grey+alpha 8-bit, 2x1 */
    membuf m = write_png_variant(2, 1, 8, PNG_COLOR_TYPE_GRAY_ALPHA, 0, ga, 4, NULL, 0, NULL, 0);
    uint8_t *px;
    int h, w, c;
    decode_ok(m.buf, m.len, 0, &px, &h, &w, &c);
    cr_assert_eq(c, 1);
    cr_assert(px[0] == 9 && px[1] == 240);
    free(px), free(m.buf);
    uint8_t bits[1] = {0xA0}; /* 1-bit grey, 3x1: 1 0 1 */
    m = write_png_variant(3, 1, 1, PNG_COLOR_TYPE_GRAY, 0, bits, 1, NULL, 0, NULL, 0);
    decode_ok(m.buf, m.len, 0, &px, &h, &w, &c);
    cr_assert(c == 1 && w == 3);
    cr_assert(px[0] == 255 && px[1] == 0 && px[2] == 255, "1-bit expands to 0/255");
    free(px), free(m.buf);
}

Test(image, png_palette_with_transparency)
{
    png_color pal[3] = {{255, 0, 0}, {0, 255, 0}, {1, 2, 3}};
    uint8_t trns[3] = {255, 0, 128};
    uint8_t idx[1] = {0x12}; /* 4-bit indices 1, 2 */
    membuf m = write_png_variant(2, 1, 4, PNG_COLOR_TYPE_PALETTE, 0, idx, 1, pal, 3, trns, 3);
    uint8_t *px;
    int h, w, c;
    decode_ok(m.buf, m.len, 0, &px, &h, &w, &c);
    cr_assert_eq(c, 3);
    uint8_t expect[6] = {0, 255, 0, 1, 2, 3};
    cr_assert_eq(memcmp(px, expect, 6), 0);
    free(px), free(m.buf);
}

/* ---------------------------------------------------------------- JPEG */

Test(image, jpeg_round_trip_within_tolerance)
{
    for (int c = 1; c <= 3; c += 2) {
        int h = 48, w = 64;
        uint8_t *src = gradient(h, w, c), *enc = NULL, *px = NULL;
        size_t len;
        char err[256];
        cr_assert_eq(image_encode_jpeg(src, h, w, c, 95, &enc, &len, err, sizeof err), 0, "%s",
                     err);
        cr_assert_eq(image_detect(enc, len), IMAGE_JPEG);
        int dh, dw, dc;
        decode_ok(enc, len, 0, &px, &dh, &dw, &dc);
        cr_assert(dh == h && dw == w && dc == c);
        double sum = 0;
        int worst = 0;
        for (size_t i = 0; i < (size_t)h * w * c; i++) {
            int d = abs((int)px[i] - (int)src[i]);
            sum += d;
            worst = d > worst ? d : worst;
        }
        cr_assert_lt(sum / (h * w * c), 1.5, "mean error %g", sum / (h * w * c));
        cr_assert_leq(worst, 12, "worst error %d", worst);
        free(px);
        /* the other channel count on request */
        decode_ok(enc, len, c == 1 ? 3 : 1, &px, &dh, &dw, &dc);
        cr_assert_eq(dc, c == 1 ? 3 : 1);
        free(px), free(enc), free(src);
    }
}

Test(image, detect_and_probe)
{
    uint8_t *src = gradient(10, 20, 3), *png = NULL, *jpg = NULL;
    size_t plen, jlen;
    char err[256];
    cr_assert_eq(image_encode_png(src, 10, 20, 3, &png, &plen, err, sizeof err), 0);
    cr_assert_eq(image_encode_jpeg(src, 10, 20, 3, 80, &jpg, &jlen, err, sizeof err), 0);
    int h, w, c;
    cr_assert_eq(image_probe(png, plen, &h, &w, &c, err, sizeof err), 0);
    cr_assert(h == 10 && w == 20 && c == 3);
    cr_assert_eq(image_probe(jpg, jlen, &h, &w, &c, err, sizeof err), 0, "%s", err);
    cr_assert(h == 10 && w == 20 && c == 3);
    cr_assert_eq(image_detect("GIF89a", 6), IMAGE_UNKNOWN);
    cr_assert_eq(image_detect(NULL, 0), IMAGE_UNKNOWN);
    cr_assert_str_eq(image_format_name(IMAGE_PNG), "png");
    free(src), free(png), free(jpg);
}

/* ---------------------------------------------------------------- bad input */

Test(image, truncated_and_corrupt_png_are_errors)
{
    uint8_t *src = pattern(32, 32, 3, 5), *enc = NULL;
    size_t len;
    char err[256];
    cr_assert_eq(image_encode_png(src, 32, 32, 3, &enc, &len, err, sizeof err), 0);
    decode_fails(enc, len / 2, "truncated PNG");
    decode_fails(enc, len - 4, "truncated PNG"); /* IEND's CRC missing */
    decode_fails(enc, 20, "truncated PNG");
    uint8_t *bad = malloc(len);
    memcpy(bad, enc, len);
    bad[len / 2] ^= 0x55; /* inside IDAT: its CRC no longer matches */
    decode_fails(bad, len, "corrupt PNG");
    memcpy(bad, enc, len);
    bad[12] = 'X'; /* the first chunk is no longer IHDR */
    decode_fails(bad, len, "corrupt PNG");
    free(bad), free(enc), free(src);
}

Test(image, truncated_and_corrupt_jpeg_are_errors)
{
    uint8_t *src = gradient(64, 64, 3), *enc = NULL;
    size_t len;
    char err[256];
    cr_assert_eq(image_encode_jpeg(src, 64, 64, 3, 90, &enc, &len, err, sizeof err), 0);
    decode_fails(enc, len / 2, "truncated JPEG");
    decode_fails(enc, len - 2, "truncated JPEG"); /* only the EOI marker missing */
    decode_fails(enc, 4, "JPEG");
    uint8_t *bad = malloc(len);
    memcpy(bad, enc, len);
    memset(bad + 4, 0x42, 40); /* the headers after SOI are garbage */
    decode_fails(bad, len, "corrupt JPEG");
    free(bad), free(enc), free(src);
}

Test(image, not_an_image_and_bad_arguments)
{
    decode_fails("hello world, not an image", 25, "not a JPEG or PNG");
    decode_fails("", 0, "empty");
    uint8_t px[4] = {0};
    uint8_t *out = NULL;
    size_t len;
    char err[256];
    cr_assert_eq(image_encode_png(px, 2, 2, 2, &out, &len, err, sizeof err), -1);
    cr_assert_eq(image_encode_png(px, 0, 2, 1, &out, &len, err, sizeof err), -1);
    cr_assert_eq(image_encode_jpeg(px, 2, 2, 1, 0, &out, &len, err, sizeof err), -1);
    int h, w, c;
    cr_assert_eq(image_decode(px, 4, 2, &out, &h, &w, &c, err, sizeof err), -1);
    cr_assert(strstr(err, "channels"));
}

/* ---------------------------------------------------------------- files */

Test(image, write_png_atomically_and_read_back)
{
    char *dir = tst_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/sheet.png", dir);
    uint8_t *src = pattern(9, 11, 3, 9);
    char err[256];
    cr_assert_eq(image_write_png(path, src, 9, 11, 3, err, sizeof err), 0, "%s", err);
    uint8_t *data, *px;
    size_t len;
    cr_assert_eq(image_read_file(path, &data, &len, err, sizeof err), 0, "%s", err);
    int h, w, c;
    decode_ok(data, len, 0, &px, &h, &w, &c);
    cr_assert(h == 9 && w == 11 && c == 3);
    cr_assert_eq(memcmp(px, src, 9 * 11 * 3), 0);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    cr_assert_neq(access(tmp, F_OK), 0, "no temp file left behind");
    /* a failing write leaves no file */
    char bad[4200];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.png", dir);
    cr_assert_eq(image_write_png(bad, src, 9, 11, 3, err, sizeof err), -1);
    cr_assert(strstr(err, "x.png"), "message names the file: %s", err);
    free(px), free(data), free(src);
    tst_rmtree(dir);
}

Test(image, read_missing_file_names_it)
{
    uint8_t *data = (uint8_t *)1;
    size_t len;
    char err[256];
    cr_assert_eq(image_read_file("/nonexistent/pic.jpg", &data, &len, err, sizeof err), -1);
    cr_assert_null(data);
    cr_assert(strstr(err, "/nonexistent/pic.jpg") && strstr(err, "No such file"), "%s", err);
    cr_assert_eq(image_read_file("/tmp", &data, &len, err, sizeof err), -1);
    cr_assert(strstr(err, "directory"), "%s", err);
}
