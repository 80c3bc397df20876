/* test_idx.c - Criterion tests for data/idx.c, the IDX (MNIST / Fashion-MNIST) reader.
 *
 * Owns: small hand-built IDX files (every element type, big-endian to host conversion, plain and
 * gzip), one test per way a file can be malformed (each must fail with a message naming the file),
 * the Fashion-MNIST pair loader's checks, and the real Debian Fashion-MNIST files (counts, label
 * histogram, pixel checksum).
 *
 * Needs no shim: the temp directory is made here with mkdtemp so the file also builds by hand:
 *   gcc -std=c11 -D_POSIX_C_SOURCE=200809L -Idata -Itests -Ishim tests/test_idx.c data/idx.c \
 *       -o /tmp/test_idx -lcriterion -lz
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "codec/idx.h"

/* ---------------------------------------------------------------- fixture: a temp directory */

#define MAX_FILES 16

static char g_dir[4096];
static char g_files[MAX_FILES][4200];
static int g_nfiles;

static void make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/pictor-idx-XXXXXX", base && *base ? base : "/tmp");
    cr_assert_not_null(mkdtemp(g_dir), "mkdtemp failed");
    g_nfiles = 0;
}

static void remove_tmpdir(void)
{
    for (int i = 0; i < g_nfiles; i++)
        unlink(g_files[i]);
    rmdir(g_dir);
}

TestSuite(idx, .init = make_tmpdir, .fini = remove_tmpdir);

/* Path of name inside the temp directory, remembered for removal. */
static const char *tmp_path(const char *name)
{
    cr_assert_lt(g_nfiles, MAX_FILES);
    snprintf(g_files[g_nfiles], sizeof g_files[0], "%s/%s", g_dir, name);
    return g_files[g_nfiles++];
}

/* ---------------------------------------------------------------- building IDX bytes */

typedef struct {
    uint8_t b[8192];
    size_t n;
} bytes;

static void put_u8(bytes *w, uint8_t v)
{
    cr_assert_lt(w->n, sizeof w->b);
    w->b[w->n++] = v;
}

static void put_be(bytes *w, uint64_t v, int size)
{
    for (int i = size - 1; i >= 0; i--)
        put_u8(w, (uint8_t)(v >> (8 * i)));
}

static void put_header(bytes *w, uint8_t type, int ndim, const uint32_t *dims)
{
    put_u8(w, 0);
    put_u8(w, 0);
    put_u8(w, type);
    put_u8(w, (uint8_t)ndim);
    for (int i = 0; i < ndim; i++)
        put_be(w, dims[i], 4);
}

static void put_f32(bytes *w, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put_be(w, u, 4);
}

static void put_f64(bytes *w, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    put_be(w, u, 8);
}

static void write_plain(const char *path, const bytes *w)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(w->b, 1, w->n, f), w->n);
    cr_assert_eq(fclose(f), 0);
}

static void write_gz(const char *path, const bytes *w)
{
    gzFile f = gzopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    if (w->n > 0)
        cr_assert_eq(gzwrite(f, w->b, (unsigned)w->n), (int)w->n);
    cr_assert_eq(gzclose(f), Z_OK);
}

/* Write w to a new temp file (gzip when gz) and return its path. */
static const char *write_tmp(const char *name, const bytes *w, int gz)
{
    const char *path = tmp_path(name);
    if (gz)
        write_gz(path, w);
    else
        write_plain(path, w);
    return path;
}

/* Read the raw bytes of a file (used to damage gzip files). */
static size_t slurp(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* idx_read must fail, leave the array empty, and name the file and each of the needles. */
static void expect_failure(const char *path, const char *needle1, const char *needle2)
{
    idx_array a;
    char err[512] = "";
    cr_assert_eq(idx_read(path, &a, err, sizeof err), -1, "expected an error for %s", path);
    cr_assert_null(a.data);
    cr_assert_eq(a.count, 0);
    cr_assert_eq(a.ndim, 0);
    cr_assert_not_null(strstr(err, path), "message does not name the file: %s", err);
    if (needle1)
        cr_assert_not_null(strstr(err, needle1), "message lacks \"%s\": %s", needle1, err);
    if (needle2)
        cr_assert_not_null(strstr(err, needle2), "message lacks \"%s\": %s", needle2, err);
}

/* ---------------------------------------------------------------- well-formed files */

static void check_u8_2x3(int gz)
{
    const uint32_t dims[2] = {2, 3};
    bytes w = {0};
    put_header(&w, IDX_U8, 2, dims);
    for (int i = 0; i < 6; i++)
        put_u8(&w, (uint8_t)(250 + i));     /* 250..255 */
    const char *path = write_tmp(gz ? "u8.idx.gz" : "u8.idx", &w, gz);

    idx_array a;
    char err[256] = "";
    cr_assert_eq(idx_read(path, &a, err, sizeof err), 0, "%s", err);
    cr_assert_eq(a.ndim, 2);
    cr_assert_eq(a.dims[0], 2);
    cr_assert_eq(a.dims[1], 3);
    cr_assert_eq(a.dims[2], 0);
    cr_assert_eq(a.type_code, IDX_U8);
    cr_assert_eq(a.elem_size, 1);
    cr_assert_eq(a.count, 6);
    const uint8_t *d = a.data;
    for (int i = 0; i < 6; i++)
        cr_assert_eq(d[i], 250 + i);
    idx_free(&a);
    cr_assert_null(a.data);
    idx_free(&a);   /* twice is harmless */
}

Test(idx, u8_plain)
{
    check_u8_2x3(0);
}

Test(idx, u8_gzip)
{
    check_u8_2x3(1);
}

static void check_i32(int gz)
{
    const int32_t want[4] = {0x01020304, -2, INT32_MIN, INT32_MAX};
    const uint32_t dims[1] = {4};
    bytes w = {0};
    put_header(&w, IDX_I32, 1, dims);
    for (int i = 0; i < 4; i++)
        put_be(&w, (uint32_t)want[i], 4);
    cr_assert_eq(w.b[8], 0x01);         /* the first element really is big-endian in the file */
    cr_assert_eq(w.b[11], 0x04);
    const char *path = write_tmp(gz ? "i32.idx.gz" : "i32.idx", &w, gz);

    idx_array a;
    char err[256] = "";
    cr_assert_eq(idx_read(path, &a, err, sizeof err), 0, "%s", err);
    cr_assert_eq(a.type_code, IDX_I32);
    cr_assert_eq(a.elem_size, 4);
    cr_assert_eq(a.count, 4);
    const int32_t *d = a.data;
    for (int i = 0; i < 4; i++)
        cr_assert_eq(d[i], want[i], "element %d: %d, expected %d", i, d[i], want[i]);
    idx_free(&a);
}

Test(idx, i32_big_endian_plain)
{
    check_i32(0);
}

Test(idx, i32_big_endian_gzip)
{
    check_i32(1);
}

static void check_f32(int gz)
{
    const float want[6] = {1.5f, -0.25f, 3.0e38f, 1.0e-40f /* subnormal */, 0.0f, -1234.5625f};
    const uint32_t dims[3] = {1, 2, 3};
    bytes w = {0};
    put_header(&w, IDX_F32, 3, dims);
    for (int i = 0; i < 6; i++)
        put_f32(&w, want[i]);
    cr_assert_eq(w.b[16], 0x3f);        /* 1.5f = 0x3fc00000, most significant byte first */
    cr_assert_eq(w.b[17], 0xc0);
    const char *path = write_tmp(gz ? "f32.idx.gz" : "f32.idx", &w, gz);

    idx_array a;
    char err[256] = "";
    cr_assert_eq(idx_read(path, &a, err, sizeof err), 0, "%s", err);
    cr_assert_eq(a.ndim, 3);
    cr_assert_eq(a.dims[2], 3);
    cr_assert_eq(a.type_code, IDX_F32);
    cr_assert_eq(a.count, 6);
    const float *d = a.data;
    for (int i = 0; i < 6; i++)
        cr_assert_eq(memcmp(&d[i], &want[i], 4), 0, "element %d: %g, expected %g", i,
                     (double)d[i], (double)want[i]);
    idx_free(&a);
}

Test(idx, f32_big_endian_plain)
{
    check_f32(0);
}

Test(idx, f32_big_endian_gzip)
{
    check_f32(1);
}

Test(idx, i8_i16_f64_big_endian)
{
    const uint32_t three[1] = {3};
    bytes w8 = {0}, w16 = {0}, w64 = {0};
    put_header(&w8, IDX_I8, 1, three);
    put_u8(&w8, 0x80);
    put_u8(&w8, 0x7f);
    put_u8(&w8, 0xff);
    put_header(&w16, IDX_I16, 1, three);
    put_be(&w16, 0x1234, 2);
    put_be(&w16, 0x8000, 2);
    put_be(&w16, 0xfffe, 2);
    put_header(&w64, IDX_F64, 1, three);
    put_f64(&w64, 0.1);
    put_f64(&w64, -2.5e300);
    put_f64(&w64, 1.0);

    idx_array a;
    char err[256] = "";
    cr_assert_eq(idx_read(write_tmp("i8.idx", &w8, 0), &a, err, sizeof err), 0, "%s", err);
    const int8_t *d8 = a.data;
    cr_assert(a.elem_size == 1 && d8[0] == -128 && d8[1] == 127 && d8[2] == -1);
    idx_free(&a);

    cr_assert_eq(idx_read(write_tmp("i16.idx.gz", &w16, 1), &a, err, sizeof err), 0, "%s", err);
    const int16_t *d16 = a.data;
    cr_assert_eq(a.elem_size, 2);
    cr_assert(d16[0] == 0x1234 && d16[1] == INT16_MIN && d16[2] == -2, "%d %d %d", d16[0],
              d16[1], d16[2]);
    idx_free(&a);

    cr_assert_eq(idx_read(write_tmp("f64.idx", &w64, 0), &a, err, sizeof err), 0, "%s", err);
    const double *d64 = a.data;
    cr_assert_eq(a.elem_size, 8);
    cr_assert(d64[0] == 0.1 && d64[1] == -2.5e300 && d64[2] == 1.0);
    idx_free(&a);
}

Test(idx, eight_dims_and_empty_dimension)
{
    const uint32_t ones[8] = {1, 2, 1, 1, 1, 1, 1, 2};
    bytes w = {0};
    put_header(&w, IDX_U8, 8, ones);
    for (int i = 0; i < 4; i++)
        put_u8(&w, (uint8_t)i);
    idx_array a;
    char err[256] = "";
    cr_assert_eq(idx_read(write_tmp("rank8.idx", &w, 0), &a, err, sizeof err), 0, "%s", err);
    cr_assert_eq(a.ndim, 8);
    cr_assert_eq(a.dims[7], 2);
    cr_assert_eq(a.count, 4);
    idx_free(&a);

    /* A zero dimension is a valid empty array, even next to a huge one. */
    const uint32_t empty[3] = {0xffffffffu, 0, 0xffffffffu};
    bytes e = {0};
    put_header(&e, IDX_F64, 3, empty);
    cr_assert_eq(idx_read(write_tmp("empty.idx.gz", &e, 1), &a, err, sizeof err), 0, "%s", err);
    cr_assert_eq(a.count, 0);
    cr_assert_null(a.data);
    cr_assert_eq(a.dims[0], 0xffffffffLL);
    idx_free(&a);
}

/* ---------------------------------------------------------------- malformed files */

Test(idx, missing_file)
{
    expect_failure(tmp_path("does-not-exist.idx.gz"), "cannot open", "No such file");
}

Test(idx, bad_magic)
{
    bytes w = {0};
    const uint32_t dims[1] = {1};
    put_header(&w, IDX_U8, 1, dims);
    put_u8(&w, 7);
    w.b[1] = 0x01;                      /* magic 0x0001 */
    expect_failure(write_tmp("magic.idx", &w, 0), "bad magic", NULL);
    expect_failure(write_tmp("magic.idx.gz", &w, 1), "bad magic", NULL);
}

Test(idx, unknown_type)
{
    bytes w = {0};
    const uint32_t dims[1] = {1};
    put_header(&w, 0x0A, 1, dims);
    put_u8(&w, 7);
    expect_failure(write_tmp("type.idx", &w, 0), "unknown element type 0x0a", NULL);
}

Test(idx, zero_dims)
{
    bytes w = {0};
    put_header(&w, IDX_U8, 0, NULL);
    put_u8(&w, 7);
    expect_failure(write_tmp("rank0.idx", &w, 0), "0 dimensions", NULL);
}

Test(idx, too_many_dims)
{
    const uint32_t ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    bytes w = {0};
    put_header(&w, IDX_U8, 9, ones);
    put_u8(&w, 7);
    expect_failure(write_tmp("rank9.idx", &w, 0), "9 dimensions", NULL);
}

Test(idx, size_overflow)
{
    /* (2^32 - 1)^2 * 8 bytes > 2^63: overflows the int64 element-byte limit. */
    const uint32_t dims[2] = {0xffffffffu, 0xffffffffu};
    bytes w = {0};
    put_header(&w, IDX_F64, 2, dims);
    expect_failure(write_tmp("overflow.idx", &w, 0), "size overflow", "4294967295");

    /* (2^32 - 1)^3 overflows the element count itself. */
    const uint32_t dims3[3] = {0xffffffffu, 0xffffffffu, 0xffffffffu};
    bytes w3 = {0};
    put_header(&w3, IDX_U8, 3, dims3);
    expect_failure(write_tmp("overflow3.idx.gz", &w3, 1), "size overflow", NULL);
}

Test(idx, huge_header_small_file_is_truncation)
{
    /* 2^40 bytes claimed, 3 present: a truncation error, not an attempt to allocate a terabyte. */
    const uint32_t dims[2] = {1u << 20, 1u << 20};
    bytes w = {0};
    put_header(&w, IDX_U8, 2, dims);
    put_u8(&w, 1);
    put_u8(&w, 2);
    put_u8(&w, 3);
    expect_failure(write_tmp("huge.idx", &w, 0), "expected 1099511627776 bytes", "found 3");
}

Test(idx, truncated_data)
{
    const uint32_t dims[2] = {3, 5};
    bytes w = {0};
    put_header(&w, IDX_I16, 2, dims);
    for (int i = 0; i < 14; i++)        /* 14 of 15 elements: 28 of 30 bytes */
        put_be(&w, (uint64_t)i, 2);
    expect_failure(write_tmp("short.idx", &w, 0), "expected 30 bytes", "found 28");
    expect_failure(write_tmp("short.idx.gz", &w, 1), "expected 30 bytes", "found 28");
}

Test(idx, truncated_header)
{
    bytes w = {0};
    put_u8(&w, 0);
    put_u8(&w, 0);
    expect_failure(write_tmp("hdr.idx", &w, 0), "truncated header", "found 2");
    bytes none = {0};
    expect_failure(write_tmp("empty.idx", &none, 0), "truncated header", "found 0");

    const uint32_t dims[3] = {2, 2, 2};
    bytes d = {0};
    put_header(&d, IDX_U8, 3, dims);
    d.n -= 3;                           /* the third size is cut to one byte */
    expect_failure(write_tmp("dims.idx.gz", &d, 1), "expected 12 bytes", "found 9");
}

Test(idx, truncated_gzip_stream)
{
    const uint32_t dims[1] = {4000};
    bytes w = {0};
    put_header(&w, IDX_U8, 1, dims);
    uint32_t x = 2463534242u;           /* xorshift32: bytes gzip cannot compress much */
    for (int i = 0; i < 4000; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        put_u8(&w, (uint8_t)(x >> 24));
    }
    const char *full = write_tmp("full.idx.gz", &w, 1);
    static uint8_t raw[16384];
    size_t n = slurp(full, raw, sizeof raw);
    cr_assert_gt(n, 2000);

    bytes cut = {0};
    memcpy(cut.b, raw, n / 2);
    cut.n = n / 2;
    const char *path = write_tmp("cut.idx.gz", &cut, 0);   /* raw copy of half the gzip file */
    expect_failure(path, "truncated data", "expected 4000 bytes");
    expect_failure(path, "gzip stream ends early", NULL);
}

Test(idx, corrupt_gzip_checksum)
{
    const uint32_t dims[1] = {100};
    bytes w = {0};
    put_header(&w, IDX_U8, 1, dims);
    for (int i = 0; i < 100; i++)
        put_u8(&w, (uint8_t)i);
    static uint8_t raw[4096];
    size_t n = slurp(write_tmp("good.idx.gz", &w, 1), raw, sizeof raw);
    cr_assert_gt(n, 8);
    raw[n - 8] ^= 0xff;                 /* first byte of the CRC-32 in the gzip trailer */
    bytes bad = {0};
    memcpy(bad.b, raw, n);
    bad.n = n;
    expect_failure(write_tmp("badcrc.idx.gz", &bad, 0), "incorrect data check", NULL);
}

Test(idx, trailing_garbage)
{
    const uint32_t dims[1] = {4};
    bytes w = {0};
    put_header(&w, IDX_I32, 1, dims);
    for (int i = 0; i < 4; i++)
        put_be(&w, (uint64_t)i, 4);
    put_u8(&w, 0xaa);
    put_u8(&w, 0xbb);
    put_u8(&w, 0xcc);
    expect_failure(write_tmp("tail.idx", &w, 0), "trailing garbage", "3 extra bytes");
    expect_failure(write_tmp("tail.idx.gz", &w, 1), "trailing garbage", "3 extra bytes");
}

Test(idx, null_arguments)
{
    idx_array a;
    char err[128] = "";
    cr_assert_eq(idx_read(NULL, &a, err, sizeof err), -1);
    cr_assert_null(a.data);
    cr_assert_eq(idx_read("x.idx", NULL, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "x.idx"), "%s", err);
    /* No error buffer: still fails cleanly. */
    cr_assert_eq(idx_read(tmp_path("absent.idx"), &a, NULL, 0), -1);
}

Test(idx, small_error_buffer)
{
    char err[8];
    memset(err, 'x', sizeof err);
    idx_array a;
    cr_assert_eq(idx_read(tmp_path("a-long-missing-file-name.idx"), &a, err, sizeof err), -1);
    cr_assert_eq(strlen(err), sizeof err - 1);  /* cut and NUL-terminated */
}

/* ---------------------------------------------------------------- Fashion-MNIST loader */

/* A fake Fashion-MNIST pair of n items in g_dir: images [n, side, 28] u8, labels [nl] u8. */
static void write_fake_pair(const char *split, int gz, uint32_t n, uint32_t side, uint32_t nl,
                            uint8_t bad_label)
{
    char name[128];
    const uint32_t idims[3] = {n, side, 28};
    bytes im = {0};
    put_header(&im, IDX_U8, 3, idims);
    for (uint32_t i = 0; i < n * side * 28; i++)
        put_u8(&im, (uint8_t)i);
    snprintf(name, sizeof name, "%s-images-idx3-ubyte%s", split, gz ? ".gz" : "");
    write_tmp(name, &im, gz);

    const uint32_t ldims[1] = {nl};
    bytes lb = {0};
    put_header(&lb, IDX_U8, 1, ldims);
    for (uint32_t i = 0; i < nl; i++)
        put_u8(&lb, i + 1 == nl && bad_label ? bad_label : (uint8_t)(i % 10));
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte%s", split, gz ? ".gz" : "");
    write_tmp(name, &lb, gz);
}

static void expect_fmnist_failure(const char *needle1, const char *needle2)
{
    idx_array im, lb;
    char err[768] = "";
    cr_assert_eq(idx_load_fashion_mnist(g_dir, 0, &im, &lb, err, sizeof err), -1);
    cr_assert(im.data == NULL && lb.data == NULL && im.count == 0 && lb.count == 0);
    cr_assert_not_null(strstr(err, g_dir), "message does not name the file: %s", err);
    cr_assert_not_null(strstr(err, needle1), "message lacks \"%s\": %s", needle1, err);
    if (needle2)
        cr_assert_not_null(strstr(err, needle2), "message lacks \"%s\": %s", needle2, err);
}

Test(idx, fmnist_loader_plain_files)
{
    write_fake_pair("t10k", 0, 3, 28, 3, 0);   /* only uncompressed files: the fallback */
    idx_array im, lb;
    char err[512] = "";
    cr_assert_eq(idx_load_fashion_mnist(g_dir, 0, &im, &lb, err, sizeof err), 0, "%s", err);
    cr_assert_eq(im.dims[0], 3);
    cr_assert_eq(lb.count, 3);
    cr_assert_eq(((const uint8_t *)lb.data)[2], 2);
    cr_assert_eq(((const uint8_t *)im.data)[300], 300 % 256);
    idx_free(&im);
    idx_free(&lb);
}

Test(idx, fmnist_loader_missing_files)
{
    expect_fmnist_failure("t10k-images-idx3-ubyte.gz", "dataset-fashion-mnist");
}

Test(idx, fmnist_loader_wrong_image_shape)
{
    write_fake_pair("t10k", 1, 2, 27, 2, 0);
    expect_fmnist_failure("t10k-images-idx3-ubyte.gz", "[2, 27, 28]");
}

Test(idx, fmnist_loader_count_mismatch)
{
    write_fake_pair("t10k", 1, 2, 28, 3, 0);
    expect_fmnist_failure("t10k-labels-idx1-ubyte.gz", "3 labels for 2 images");
}

Test(idx, fmnist_loader_label_out_of_range)
{
    write_fake_pair("t10k", 1, 4, 28, 4, 10);
    expect_fmnist_failure("t10k-labels-idx1-ubyte.gz", "label 10 at index 3");
}

/* ---------------------------------------------------------------- the real Debian files */

/* Sums of all image bytes (after the 16-byte header), computed once with:
 *   /usr/bin/python3 -c 'import gzip; d = gzip.open("/usr/share/datasets/fashion-mnist/"
 *       "train-images-idx3-ubyte.gz").read(); print(sum(d[16:]))'
 * and the same for t10k-images-idx3-ubyte.gz. The files of dataset-fashion-mnist are fixed. */
#define FMNIST_TRAIN_PIXEL_SUM 3431114169ULL
#define FMNIST_TEST_PIXEL_SUM 573469082ULL

static void check_real_split(int train, int64_t n, uint64_t pixel_sum, const uint8_t first4[4])
{
    idx_array im, lb;
    char err[768] = "";
    cr_assert_eq(idx_load_fashion_mnist(NULL, train, &im, &lb, err, sizeof err), 0, "%s", err);
    cr_assert_eq(im.ndim, 3);
    cr_assert_eq(im.dims[0], n);
    cr_assert_eq(im.dims[1], 28);
    cr_assert_eq(im.dims[2], 28);
    cr_assert_eq(im.count, (size_t)n * 784);
    cr_assert_eq(lb.dims[0], n);

    uint64_t sum = 0;
    const uint8_t *px = im.data;
    for (size_t i = 0; i < im.count; i++)
        sum += px[i];
    cr_assert_eq(sum, pixel_sum, "pixel sum %llu, expected %llu", (unsigned long long)sum,
                 (unsigned long long)pixel_sum);

    int64_t hist[10] = {0};
    const uint8_t *y = lb.data;
    for (size_t i = 0; i < lb.count; i++)
        hist[y[i]]++;
    for (int c = 0; c < 10; c++)
        cr_assert_eq(hist[c], n / 10, "class %d has %lld items", c, (long long)hist[c]);
    cr_assert_eq(memcmp(y, first4, 4), 0);
    idx_free(&im);
    idx_free(&lb);
}

Test(idx, fashion_mnist_train)
{
    const uint8_t first4[4] = {9, 0, 0, 3};
    check_real_split(1, 60000, FMNIST_TRAIN_PIXEL_SUM, first4);
}

Test(idx, fashion_mnist_test)
{
    const uint8_t first4[4] = {9, 2, 1, 1};
    check_real_split(0, 10000, FMNIST_TEST_PIXEL_SUM, first4);
}
