/* idx.c - reader for IDX files (MNIST / Fashion-MNIST), plain or gzip-compressed.
 *
 * Owns: the byte-level parsing of one IDX file and every way it can be malformed (missing file,
 * bad magic, unknown type, bad rank, size overflow, truncation, trailing bytes, corrupt gzip
 * stream), the conversion of big-endian elements to host order, and the Fashion-MNIST pair loader.
 * zlib's gzread reads gzip and plain files alike, so there is one code path for both.
 *
 * The data buffer grows as bytes arrive instead of being sized from the header up front, so a
 * corrupt header that claims terabytes yields a "truncated" error, not a huge allocation.
 * Floating-point types assume the host uses IEEE 754 (as every platform libtorch runs on does).
 *
 * Limitation: bytes after the end of a gzip member that are not another gzip member are skipped
 * by zlib itself and cannot be seen through gzread; trailing bytes inside the (decompressed) data
 * are always caught.
 */
#include "codec/idx.h"
#include "base/err.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_HEADER_BYTES 4
#define IDX_GZ_BUFFER (128u * 1024u)          /* zlib's internal buffer, larger than its default */
#define IDX_READ_CHUNK (1u << 30)             /* gzread takes an unsigned and returns an int */
#define IDX_INITIAL_CAPACITY ((size_t)16 << 20)

/* ---------------------------------------------------------------- errors and small helpers */

size_t idx_elem_size(uint8_t type_code)
{
    switch (type_code) {
    case IDX_U8:  return 1;
    case IDX_I8:  return 1;
    case IDX_I16: return 2;
    case IDX_I32: return 4;
    case IDX_F32: return 4;
    case IDX_F64: return 8;
    default:      return 0;
    }
}

const char *idx_type_name(uint8_t type_code)
{
    switch (type_code) {
    case IDX_U8:  return "u8";
    case IDX_I8:  return "i8";
    case IDX_I16: return "i16";
    case IDX_I32: return "i32";
    case IDX_F32: return "f32";
    case IDX_F64: return "f64";
    default:      return "unknown";
    }
}

void idx_free(idx_array *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* "[60000, 28, 28]" for messages. */
static void format_dims(const idx_array *a, char *buf, size_t buflen)
{
    size_t used = 0;
    int n = snprintf(buf, buflen, "[");
    for (int i = 0; n >= 0 && i < a->ndim; i++) {
        used += (size_t)n;
        if (used >= buflen)
            return;
        n = snprintf(buf + used, buflen - used, "%s%lld", i ? ", " : "", (long long)a->dims[i]);
    }
    if (n >= 0 && (used += (size_t)n) < buflen)
        snprintf(buf + used, buflen - used, "]");
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int host_is_little_endian(void)
{
    const uint16_t probe = 1;
    uint8_t first;
    memcpy(&first, &probe, 1);
    return first == 1;
}

/* Reverse the bytes of each of count elements of size bytes, in place. */
static void swap_elements(uint8_t *p, size_t count, size_t size)
{
    for (size_t i = 0; i < count; i++, p += size) {
        for (size_t lo = 0, hi = size - 1; lo < hi; lo++, hi--) {
            uint8_t t = p[lo];
            p[lo] = p[hi];
            p[hi] = t;
        }
    }
}

static void to_host_order(idx_array *a)
{
    if (a->elem_size > 1 && a->count > 0 && host_is_little_endian())
        swap_elements(a->data, a->count, a->elem_size);
}

/* ---------------------------------------------------------------- reading the stream */

/* Read up to n bytes, stopping early only at end of input. Returns the number of bytes read, or
 * -1 on a read or decompression error (zlib keeps the message: see stream_error). A gzip stream
 * that ends before its trailer is reported by zlib as Z_BUF_ERROR; it counts as end of input here
 * so the caller reports it as truncation, with the byte counts. */
static long long read_upto(gzFile f, void *buf, size_t n)
{
    uint8_t *p = buf;
    size_t got = 0;
    while (got < n) {
        size_t want = n - got < IDX_READ_CHUNK ? n - got : IDX_READ_CHUNK;
        int r = gzread(f, p + got, (unsigned)want);
        if (r < 0) {
            int errnum;
            gzerror(f, &errnum);
            if (errnum == Z_BUF_ERROR)
                break;
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long long)got;
}

/* zlib's message for the last error, without the "path: " prefix zlib puts on it. */
static const char *stream_error(gzFile f, const char *path)
{
    int errnum;
    const char *msg = gzerror(f, &errnum);
    if (!msg || !*msg)
        return "unknown read error";
    size_t n = strlen(path);
    if (strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        msg += n + 2;
    return msg;
}

/* " (the gzip stream ends early)" when zlib saw a cut compressed stream, else "". */
static const char *truncation_note(gzFile f)
{
    int errnum;
    gzerror(f, &errnum);
    return errnum == Z_BUF_ERROR ? " (the gzip stream ends early)" : "";
}

/* Magic, type and rank; fills ndim, type_code and elem_size. */
static int read_header(gzFile f, const char *path, idx_array *a, char *err, size_t errlen)
{
    uint8_t h[IDX_HEADER_BYTES];
    long long got = read_upto(f, h, sizeof h);
    if (got < 0) {
        err_fail(err, errlen, "%s: read error in the header: %s", path, stream_error(f, path));
        return -1;
    }
    if (got < IDX_HEADER_BYTES) {
        err_fail(err, errlen, "%s: truncated header: expected %d bytes, found %lld%s", path,
                 IDX_HEADER_BYTES, got, truncation_note(f));
        return -1;
    }
    if (h[0] != 0 || h[1] != 0) {
        err_fail(err, errlen, "%s: bad magic 0x%02x%02x%02x%02x: an IDX file starts with two zero "
                 "bytes (not an IDX file?)", path, h[0], h[1], h[2], h[3]);
        return -1;
    }
    a->type_code = h[2];
    a->elem_size = idx_elem_size(h[2]);
    if (a->elem_size == 0) {
        err_fail(err, errlen, "%s: unknown element type 0x%02x (expected 0x08 u8, 0x09 i8, "
                 "0x0b i16, 0x0c i32, 0x0d f32 or 0x0e f64)", path, h[2]);
        return -1;
    }
    if (h[3] == 0 || h[3] > IDX_MAX_DIMS) {
        err_fail(err, errlen, "%s: %u dimensions; expected 1 to %d", path, h[3], IDX_MAX_DIMS);
        return -1;
    }
    a->ndim = h[3];
    return 0;
}

/* The ndim big-endian u32 sizes that follow the header. */
static int read_dims(gzFile f, const char *path, idx_array *a, char *err, size_t errlen)
{
    uint8_t raw[4 * IDX_MAX_DIMS];
    size_t want = 4 * (size_t)a->ndim;
    long long got = read_upto(f, raw, want);
    if (got < 0) {
        err_fail(err, errlen, "%s: read error in the dimension sizes: %s", path,
                 stream_error(f, path));
        return -1;
    }
    if ((size_t)got < want) {
        err_fail(err, errlen, "%s: truncated header: %d dimension sizes: expected %zu bytes, "
                 "found %lld%s", path, a->ndim, want, got, truncation_note(f));
        return -1;
    }
    for (int i = 0; i < a->ndim; i++)
        a->dims[i] = (int64_t)be32(raw + 4 * i);
    return 0;
}

/* Product of the dims into *count; -1 if it exceeds limit. Any zero dimension makes it 0, even
 * next to dimensions whose product would overflow. */
static int dims_product(const idx_array *a, size_t limit, size_t *count)
{
    *count = 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] == 0)
            return 0;
    size_t c = 1;
    for (int i = 0; i < a->ndim; i++) {
        size_t d = (size_t)a->dims[i];
        if (c > limit / d)
            return -1;
        c *= d;
    }
    *count = c;
    return 0;
}

/* Sets a->count and *nbytes; the byte size must fit both size_t and int64_t (the tensor side
 * counts in int64). */
static int compute_size(const char *path, idx_array *a, size_t *nbytes, char *err, size_t errlen)
{
    const size_t limit = SIZE_MAX < (size_t)INT64_MAX ? SIZE_MAX : (size_t)INT64_MAX;
    size_t count;
    if (dims_product(a, limit, &count) < 0 || count > limit / a->elem_size) {
        char dims[160];
        format_dims(a, dims, sizeof dims);
        err_fail(err, errlen, "%s: size overflow: dims %s of %zu-byte %s elements exceed %zu bytes",
                 path, dims, a->elem_size, idx_type_name(a->type_code), limit);
        return -1;
    }
    a->count = count;
    *nbytes = count * a->elem_size;
    return 0;
}

static int grow(uint8_t **buf, size_t *cap, size_t nbytes, const char *path, char *err,
                size_t errlen)
{
    size_t next;
    if (*cap == 0)
        next = nbytes < IDX_INITIAL_CAPACITY ? nbytes : IDX_INITIAL_CAPACITY;
    else
        next = *cap > nbytes / 2 ? nbytes : *cap * 2;
    uint8_t *p = realloc(*buf, next);
    if (!p) {
        err_fail(err, errlen, "%s: out of memory for %zu bytes of data", path, next);
        return -1;
    }
    *buf = p;
    *cap = next;
    return 0;
}

/* The nbytes of elements, into a->data. */
static int read_payload(gzFile f, const char *path, idx_array *a, size_t nbytes, char *err,
                        size_t errlen)
{
    if (nbytes == 0)
        return 0;
    size_t cap = 0, have = 0;
    uint8_t *buf = NULL;
    while (have < nbytes) {
        if (have == cap && grow(&buf, &cap, nbytes, path, err, errlen) < 0)
            goto fail;
        long long got = read_upto(f, buf + have, cap - have);
        if (got < 0) {
            err_fail(err, errlen, "%s: read error after %zu of %zu data bytes: %s", path, have,
                     nbytes, stream_error(f, path));
            goto fail;
        }
        have += (size_t)got;
        if (have < cap)
            break;              /* end of input */
    }
    if (have < nbytes) {
        char dims[160];
        format_dims(a, dims, sizeof dims);
        err_fail(err, errlen, "%s: truncated data: dims %s of %s: expected %zu bytes, found %zu%s",
                 path, dims, idx_type_name(a->type_code), nbytes, have, truncation_note(f));
        goto fail;
    }
    a->data = buf;
    return 0;
fail:
    free(buf);
    return -1;
}

/* The file must end right after the data. Reading on also makes zlib check the gzip trailer. */
static int check_end(gzFile f, const char *path, size_t nbytes, char *err, size_t errlen)
{
    uint8_t scratch[4096];
    unsigned long long extra = 0;
    for (;;) {
        long long got = read_upto(f, scratch, sizeof scratch);
        if (got < 0) {
            err_fail(err, errlen, "%s: read error at the end of the data: %s", path,
                     stream_error(f, path));
            return -1;
        }
        if (got == 0)
            break;
        extra += (unsigned long long)got;
    }
    if (extra > 0) {
        err_fail(err, errlen, "%s: trailing garbage: %llu extra bytes after the %zu data bytes "
                 "(header size does not match the file)", path, extra, nbytes);
        return -1;
    }
    return 0;
}

static int read_open(gzFile f, const char *path, idx_array *out, char *err, size_t errlen)
{
    size_t nbytes = 0;
    if (read_header(f, path, out, err, errlen) < 0 || read_dims(f, path, out, err, errlen) < 0 ||
        compute_size(path, out, &nbytes, err, errlen) < 0 ||
        read_payload(f, path, out, nbytes, err, errlen) < 0 ||
        check_end(f, path, nbytes, err, errlen) < 0)
        return -1;
    to_host_order(out);
    return 0;
}

int idx_read(const char *path, idx_array *out, char *err, size_t errlen)
{
    if (!out) {
        err_fail(err, errlen, "%s: idx_read: no output array", path ? path : "(null)");
        return -1;
    }
    memset(out, 0, sizeof *out);
    if (!path) {
        err_fail(err, errlen, "(null): idx_read: no path given");
        return -1;
    }
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        err_fail(err, errlen, "%s: cannot open: %s", path,
                 errno ? strerror(errno) : "out of memory");
        return -1;
    }
    gzbuffer(f, IDX_GZ_BUFFER);
    int rc = read_open(f, path, out, err, errlen);
    int close_rc = gzclose_r(f);
    if (rc == 0 && close_rc != Z_OK) {
        err_fail(err, errlen, "%s: error closing the file (zlib status %d)", path, close_rc);
        rc = -1;
    }
    if (rc < 0)
        idx_free(out);
    return rc;
}

/* ---------------------------------------------------------------- Fashion-MNIST */

#define FMNIST_SIDE 28
#define FMNIST_CLASSES 10

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fclose(f);
    return 1;
}

/* Read dir/name.gz, or dir/name when only that exists; the path used goes to path. */
static int load_one(const char *dir, const char *name, idx_array *a, char *path, size_t pathlen,
                    char *err, size_t errlen)
{
    int n = snprintf(path, pathlen, "%s/%s.gz", dir, name);
    if (n < 0 || (size_t)n >= pathlen) {
        err_fail(err, errlen, "%s/%s.gz: path too long", dir, name);
        return -1;
    }
    if (!file_exists(path)) {
        path[n - 3] = '\0';            /* drop ".gz" */
        if (!file_exists(path))
            path[n - 3] = '.';         /* neither exists: report the .gz name */
    }
    if (idx_read(path, a, err, errlen) == 0)
        return 0;
    if (!file_exists(path) && err && errlen > 0) {
        size_t used = strlen(err);
        err_fail(err + used, errlen - used, " (also tried %s/%s; Debian ships the files in "
                 "package dataset-fashion-mnist)", dir, name);
    }
    return -1;
}

static int check_images(const idx_array *im, const char *name, char *err, size_t errlen)
{
    if (im->type_code != IDX_U8 || im->ndim != 3 || im->dims[1] != FMNIST_SIDE ||
        im->dims[2] != FMNIST_SIDE) {
        char dims[160];
        format_dims(im, dims, sizeof dims);
        err_fail(err, errlen, "%s: Fashion-MNIST images must be [N, 28, 28] u8; found %s %s", name,
                 dims, idx_type_name(im->type_code));
        return -1;
    }
    return 0;
}

static int check_labels(const idx_array *lb, const idx_array *im, const char *name, char *err,
                        size_t errlen)
{
    if (lb->type_code != IDX_U8 || lb->ndim != 1) {
        char dims[160];
        format_dims(lb, dims, sizeof dims);
        err_fail(err, errlen, "%s: Fashion-MNIST labels must be [N] u8; found %s %s", name, dims,
                 idx_type_name(lb->type_code));
        return -1;
    }
    if (lb->dims[0] != im->dims[0]) {
        err_fail(err, errlen, "%s: %lld labels for %lld images", name, (long long)lb->dims[0],
                 (long long)im->dims[0]);
        return -1;
    }
    const uint8_t *y = lb->data;
    for (size_t i = 0; i < lb->count; i++) {
        if (y[i] >= FMNIST_CLASSES) {
            err_fail(err, errlen, "%s: label %u at index %zu; expected 0 to %d", name, y[i], i,
                     FMNIST_CLASSES - 1);
            return -1;
        }
    }
    return 0;
}

int idx_load_fashion_mnist(const char *dir, int train, idx_array *images, idx_array *labels,
                           char *err, size_t errlen)
{
    if (!images || !labels) {
        err_fail(err, errlen, "idx_load_fashion_mnist: no output arrays");
        return -1;
    }
    memset(images, 0, sizeof *images);
    memset(labels, 0, sizeof *labels);
    if (!dir)
        dir = IDX_FASHION_MNIST_DIR;
    const char *split = train ? "train" : "t10k";
    char im_name[64], lb_name[64], im_path[4096], lb_path[4096];
    snprintf(im_name, sizeof im_name, "%s-images-idx3-ubyte", split);
    snprintf(lb_name, sizeof lb_name, "%s-labels-idx1-ubyte", split);

    if (load_one(dir, im_name, images, im_path, sizeof im_path, err, errlen) < 0 ||
        check_images(images, im_path, err, errlen) < 0 ||
        load_one(dir, lb_name, labels, lb_path, sizeof lb_path, err, errlen) < 0 ||
        check_labels(labels, images, lb_path, err, errlen) < 0) {
        idx_free(images);
        idx_free(labels);
        return -1;
    }
    return 0;
}
