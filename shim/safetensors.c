/* safetensors.c - the safetensors file format in C: pt_safetensors_save and pt_safetensors_load.
 *
 * Owns: the byte layout, the JSON header (built and parsed with cJSON), the dtype names, and every
 * way a file can be malformed. Layout:
 *
 *   u64 little-endian N | N bytes of JSON header | data buffer
 *   header: {"__metadata__": {str: str}, NAME: {"dtype": "F32", "shape": [2, 3],
 *            "data_offsets": [begin, end]}, ...}
 *
 * Offsets are relative to the start of the data buffer, which the tensors must cover exactly
 * (no overlap, no hole, nothing after the last tensor). Data is little-endian, row-major and
 * contiguous. The writer pads the header with spaces so the data buffer starts at a multiple of 8
 * and writes numbers as plain integers; it goes through pt_atomic_file (temp file, fsync,
 * rename), streaming each tensor from its CPU copy.
 *
 * The loader validates the whole header before it allocates any tensor and reports the first
 * problem through pt_error_set, naming the file. It then reads each tensor's bytes straight into a
 * new tensor (no second copy of the file). Tensors come back in data-offset order, so save ->
 * load keeps the order of the dict; metadata keeps the order of the header. Unknown fields in a
 * tensor entry are ignored, as the reference implementation does.
 */
#include "fileio.h"
#include "pt.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c copies tensor bytes as they are: it needs a little-endian host"
#endif

#define ST_METADATA_KEY "__metadata__"
#define ST_MAX_HEADER ((uint64_t)100000000)      /* the reference implementation's limit */
#define ST_MAX_DIMS 64
#define ST_MAX_EXACT_INT 9007199254740992.0      /* 2^53: larger JSON numbers are not exact */

/* ---------------------------------------------------------------- dtypes */

typedef struct {
    pt_dtype dt;
    const char *name;
    size_t size;
} st_dtype;

static const st_dtype st_dtypes[] = {
    {PT_BOOL, "BOOL", 1}, {PT_U8, "U8", 1},   {PT_I8, "I8", 1},       {PT_I16, "I16", 2},
    {PT_I32, "I32", 4},   {PT_I64, "I64", 8}, {PT_F16, "F16", 2},     {PT_BF16, "BF16", 2},
    {PT_F32, "F32", 4},   {PT_F64, "F64", 8},
};
#define ST_N_DTYPES (sizeof st_dtypes / sizeof st_dtypes[0])

static const st_dtype *dtype_by_name(const char *name)
{
    for (size_t i = 0; i < ST_N_DTYPES; i++)
        if (strcmp(st_dtypes[i].name, name) == 0)
            return &st_dtypes[i];
    return NULL;
}

static const st_dtype *dtype_by_enum(pt_dtype dt)
{
    for (size_t i = 0; i < ST_N_DTYPES; i++)
        if (st_dtypes[i].dt == dt)
            return &st_dtypes[i];
    return NULL;
}

/* ---------------------------------------------------------------- small helpers */

/* 1 if s[0, n) is well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (len == 0 || i + len > n)
            return 0;
        uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

static int utf8_valid_str(const char *s)
{
    return utf8_valid((const unsigned char *)s, strlen(s));
}

/* *out = a * b, or 0 on overflow. */
static int mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a != 0 && b > UINT64_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

static void store_le64(unsigned char out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t load_le64(const unsigned char in[8])
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | in[i];
    return v;
}

/* ================================================================ loading */

typedef struct {
    const char *name;       /* borrowed from the cJSON tree */
    const st_dtype *dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    uint64_t begin, end;    /* relative to the data buffer */
    int order;              /* position in the header: ties in the offset sort keep it */
} st_entry;

typedef struct {
    const char *path;
    int fd;
    uint64_t file_size;
    uint64_t header_len;
    uint64_t data_len;      /* bytes after the header */
    char *header;           /* header_len bytes + NUL */
    cJSON *root;
    st_entry *entries;
    int n_entries;
    const cJSON *metadata;  /* NULL if absent or null */
    int seen_metadata;
    pt_dict *dict;
} st_reader;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int load_fail(const st_reader *r, const char *fmt, ...)
{
    char problem[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof problem, fmt, ap);
    va_end(ap);
    pt_error_set("pt_safetensors_load: '%s': %s", r->path, problem);
    return -1;
}

/* A JSON number that is a non-negative integer no larger than 2^53 (so exact in a double). */
static int json_uint(const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsNumber(item))
        return 0;
    double v = item->valuedouble;
    if (!(v >= 0.0 && v <= ST_MAX_EXACT_INT))
        return 0;
    uint64_t u = (uint64_t)v;
    if ((double)u != v)
        return 0;
    *out = u;
    return 1;
}

/* Reads the 8-byte length and the header text; checks sizes and UTF-8. */
static int read_header(st_reader *r)
{
    unsigned char len_bytes[8];
    if (r->file_size < 8)
        return load_fail(r, "file is too short (%" PRIu64 " bytes) to hold the 8-byte header "
                            "length", r->file_size);
    if (pt_file_read_at(r->fd, len_bytes, 8, 0, r->path) != PT_OK)
        return -1;
    r->header_len = load_le64(len_bytes);
    if (r->header_len > r->file_size - 8)
        return load_fail(r, "header length %" PRIu64 " is larger than the file (%" PRIu64
                            " bytes after the length field)", r->header_len, r->file_size - 8);
    if (r->header_len > ST_MAX_HEADER)
        return load_fail(r, "header length %" PRIu64 " is larger than the limit of %" PRIu64
                            " bytes", r->header_len, ST_MAX_HEADER);
    if (r->header_len == 0)
        return load_fail(r, "header is empty (invalid JSON)");
    r->data_len = r->file_size - 8 - r->header_len;
    r->header = malloc((size_t)r->header_len + 1);
    if (!r->header)
        return load_fail(r, "out of memory for a %" PRIu64 "-byte header", r->header_len);
    if (pt_file_read_at(r->fd, r->header, (size_t)r->header_len, 8, r->path) != PT_OK)
        return -1;
    r->header[r->header_len] = '\0';
    if (memchr(r->header, '\0', (size_t)r->header_len))
        return load_fail(r, "header contains a NUL byte (invalid JSON)");
    if (!utf8_valid((const unsigned char *)r->header, (size_t)r->header_len))
        return load_fail(r, "header is not valid UTF-8");
    return 0;
}

/* Parses the header text into r->root: a JSON object, followed by nothing but whitespace. */
static int parse_header_json(st_reader *r)
{
    if (r->header[0] != '{')
        return load_fail(r, "header does not start with '{' (invalid JSON: the header must be "
                            "a JSON object)");
    const char *end = NULL;
    r->root = cJSON_ParseWithLengthOpts(r->header, (size_t)r->header_len, &end, 0);
    if (!r->root) {
        size_t at = end ? (size_t)(end - r->header) : 0;
        return load_fail(r, "invalid JSON in header near byte %zu", at);
    }
    for (const char *p = end; p < r->header + r->header_len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return load_fail(r, "invalid JSON: unexpected data after the header object at "
                                "byte %zu", (size_t)(p - r->header));
    if (!cJSON_IsObject(r->root))
        return load_fail(r, "invalid JSON: the header is not an object");
    return 0;
}

/* Checks the "__metadata__" entry: an object (or null) whose values are all strings. */
static int parse_metadata(st_reader *r, const cJSON *item)
{
    if (r->seen_metadata)
        return load_fail(r, "duplicate \"" ST_METADATA_KEY "\" entry");
    r->seen_metadata = 1;
    if (cJSON_IsNull(item))
        return 0;
    if (!cJSON_IsObject(item))
        return load_fail(r, "\"" ST_METADATA_KEY "\" is not an object of strings");
    for (const cJSON *m = item->child; m; m = m->next) {
        if (!cJSON_IsString(m))
            return load_fail(r, "metadata value for key '%s' is not a string", m->string);
        for (const cJSON *o = item->child; o != m; o = o->next)
            if (strcmp(o->string, m->string) == 0)
                return load_fail(r, "duplicate metadata key '%s'", m->string);
    }
    r->metadata = item;
    return 0;
}

/* Finds the dtype, shape and data_offsets fields of a tensor entry (each at most once). */
static int tensor_fields(st_reader *r, const cJSON *item, const cJSON **dtype,
                         const cJSON **shape, const cJSON **offsets)
{
    *dtype = *shape = *offsets = NULL;
    for (const cJSON *f = item->child; f; f = f->next) {
        const cJSON **slot = strcmp(f->string, "dtype") == 0          ? dtype
                             : strcmp(f->string, "shape") == 0        ? shape
                             : strcmp(f->string, "data_offsets") == 0 ? offsets
                                                                      : NULL;
        if (!slot)
            continue;
        if (*slot)
            return load_fail(r, "tensor '%s' has a duplicate \"%s\" field", item->string,
                             f->string);
        *slot = f;
    }
    return 0;
}

static int parse_dtype(st_reader *r, const char *name, const cJSON *dtype, st_entry *e)
{
    if (!dtype)
        return load_fail(r, "tensor '%s' has no dtype", name);
    if (!cJSON_IsString(dtype))
        return load_fail(r, "dtype of tensor '%s' is not a string", name);
    e->dtype = dtype_by_name(dtype->valuestring);
    if (!e->dtype)
        return load_fail(r, "tensor '%s' has an unknown dtype '%s' (known: BOOL, U8, I8, I16, "
                            "I32, I64, F16, BF16, F32, F64)", name, dtype->valuestring);
    return 0;
}

/* Fills e->shape and returns the number of elements in *numel. */
static int parse_shape(st_reader *r, const char *name, const cJSON *shape, st_entry *e,
                       uint64_t *numel)
{
    if (!shape)
        return load_fail(r, "tensor '%s' has no shape", name);
    if (!cJSON_IsArray(shape))
        return load_fail(r, "shape of tensor '%s' is not a list of non-negative integers",
                         name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > ST_MAX_DIMS)
        return load_fail(r, "shape of tensor '%s' has %d dimensions (at most %d)", name, ndim,
                         ST_MAX_DIMS);
    *numel = 1;
    int k = 0;
    for (const cJSON *dim = shape->child; dim; dim = dim->next, k++) {
        uint64_t v;
        if (!json_uint(dim, &v))
            return load_fail(r, "shape of tensor '%s' is not a list of non-negative integers "
                                "(dimension %d)", name, k);
        if (!mul_u64(*numel, v, numel))
            return load_fail(r, "shape of tensor '%s' has too many elements", name);
        e->shape[k] = (int64_t)v;
    }
    e->ndim = ndim;
    return 0;
}

static int parse_offsets(st_reader *r, const char *name, const cJSON *offsets, st_entry *e,
                         uint64_t numel)
{
    if (!offsets)
        return load_fail(r, "tensor '%s' has no data_offsets", name);
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2)
        return load_fail(r, "data_offsets of tensor '%s' is not a list of two integers", name);
    if (!json_uint(offsets->child, &e->begin) || !json_uint(offsets->child->next, &e->end))
        return load_fail(r, "data_offsets of tensor '%s' are not non-negative integers", name);
    if (e->begin > e->end)
        return load_fail(r, "data_offsets of tensor '%s' are reversed: [%" PRIu64 ", %" PRIu64
                            "]", name, e->begin, e->end);
    if (e->end > r->data_len)
        return load_fail(r, "data_offsets of tensor '%s' are out of bounds: [%" PRIu64
                            ", %" PRIu64 "] but the data buffer has %" PRIu64 " bytes",
                         name, e->begin, e->end, r->data_len);
    uint64_t nbytes;
    if (!mul_u64(numel, e->dtype->size, &nbytes))
        return load_fail(r, "tensor '%s' is too large (size mismatch with its data_offsets)",
                         name);
    if (nbytes != e->end - e->begin)
        return load_fail(r, "data_offsets of tensor '%s' span %" PRIu64 " bytes but %s with "
                            "%" PRIu64 " elements needs %" PRIu64 " (size mismatch)", name,
                         e->end - e->begin, e->dtype->name, numel, nbytes);
    return 0;
}

static int parse_tensor(st_reader *r, const cJSON *item, st_entry *e)
{
    const char *name = item->string;
    const cJSON *dtype, *shape, *offsets;
    uint64_t numel = 0;
    if (!cJSON_IsObject(item))
        return load_fail(r, "entry for tensor '%s' is not an object", name);
    if (tensor_fields(r, item, &dtype, &shape, &offsets) != 0 ||
        parse_dtype(r, name, dtype, e) != 0 || parse_shape(r, name, shape, e, &numel) != 0 ||
        parse_offsets(r, name, offsets, e, numel) != 0)
        return -1;
    e->name = name;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const st_entry *)a)->name, ((const st_entry *)b)->name);
}

static int by_offset(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

/* Walks the header object: the metadata and one st_entry per tensor. */
static int parse_entries(st_reader *r)
{
    int n = cJSON_GetArraySize(r->root);
    r->entries = calloc(n > 0 ? (size_t)n : 1, sizeof r->entries[0]);
    if (!r->entries)
        return load_fail(r, "out of memory for %d header entries", n);
    for (const cJSON *item = r->root->child; item; item = item->next) {
        if (strcmp(item->string, ST_METADATA_KEY) == 0) {
            if (parse_metadata(r, item) != 0)
                return -1;
            continue;
        }
        st_entry *e = &r->entries[r->n_entries];
        e->order = r->n_entries;
        if (parse_tensor(r, item, e) != 0)
            return -1;
        r->n_entries++;
    }
    return 0;
}

/* Names unique; tensors cover the data buffer exactly. Leaves the entries in offset order. */
static int check_layout(st_reader *r)
{
    qsort(r->entries, (size_t)r->n_entries, sizeof r->entries[0], by_name);
    for (int i = 1; i < r->n_entries; i++)
        if (strcmp(r->entries[i - 1].name, r->entries[i].name) == 0)
            return load_fail(r, "duplicate tensor name '%s'", r->entries[i].name);
    qsort(r->entries, (size_t)r->n_entries, sizeof r->entries[0], by_offset);
    uint64_t covered = 0;
    const char *prev = NULL;
    for (int i = 0; i < r->n_entries; i++) {
        const st_entry *e = &r->entries[i];
        if (e->begin < covered)
            return load_fail(r, "tensor '%s' [%" PRIu64 ", %" PRIu64 "] overlaps tensor '%s' "
                                "which ends at %" PRIu64, e->name, e->begin, e->end, prev,
                             covered);
        if (e->begin > covered)
            return load_fail(r, "hole in the data buffer: bytes [%" PRIu64 ", %" PRIu64 ") "
                                "before tensor '%s' belong to no tensor", covered, e->begin,
                             e->name);
        covered = e->end;
        prev = e->name;
    }
    if (covered != r->data_len)
        return load_fail(r, "data buffer has %" PRIu64 " trailing bytes after the last tensor "
                            "(bytes [%" PRIu64 ", %" PRIu64 ") belong to no tensor)",
                         r->data_len - covered, covered, r->data_len);
    return 0;
}

static int copy_metadata(st_reader *r)
{
    if (!r->metadata)
        return 0;
    for (const cJSON *m = r->metadata->child; m; m = m->next)
        if (pt_dict_set_meta(r->dict, m->string, m->valuestring) != PT_OK)
            return -1;
    return 0;
}

/* Reports a failure of the shim (its pending message) as a problem of this file. */
static int load_fail_shim(const st_reader *r, const char *what, const char *name)
{
    char why[1024];
    snprintf(why, sizeof why, "%s", pt_error());
    return load_fail(r, "%s '%s': %s", what, name, why);
}

/* Creates each tensor (owned by the dict at once) and reads its bytes into it. */
static int read_tensors(st_reader *r)
{
    uint64_t data_start = 8 + r->header_len;
    for (int i = 0; i < r->n_entries; i++) {
        const st_entry *e = &r->entries[i];
        pt_tensor *t = pt_empty(e->shape, e->ndim, e->dtype->dt);
        if (!t)
            return load_fail_shim(r, "cannot create tensor", e->name);
        if (pt_dict_put(r->dict, e->name, t) != PT_OK)
            return load_fail_shim(r, "cannot store tensor", e->name);
        size_t nbytes = (size_t)(e->end - e->begin);
        if (nbytes == 0)
            continue;
        void *dst = pt_data_ptr(t);
        if (!dst)
            return load_fail_shim(r, "cannot fill tensor", e->name);
        if (pt_file_read_at(r->fd, dst, nbytes, data_start + e->begin, r->path) != PT_OK)
            return -1;
    }
    return 0;
}

static void reader_close(st_reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    free(r->header);
    cJSON_Delete(r->root);
    free(r->entries);
}

pt_dict *pt_safetensors_load(const char *path)
{
    st_reader r;
    memset(&r, 0, sizeof r);
    r.path = path ? path : "(null)";
    r.fd = pt_file_open_read(path, &r.file_size);
    int ok = r.fd >= 0 && read_header(&r) == 0 && parse_header_json(&r) == 0 &&
             parse_entries(&r) == 0 && check_layout(&r) == 0;
    if (ok) {
        r.dict = pt_dict_new();
        ok = r.dict && copy_metadata(&r) == 0 && read_tensors(&r) == 0;
    }
    pt_dict *d = r.dict;
    if (!ok) {
        pt_dict_free(d);
        d = NULL;
    }
    reader_close(&r);
    return d;
}

/* ================================================================ saving */

typedef struct {
    const char *name;
    const pt_tensor *tensor;
    const st_dtype *dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    uint64_t begin, nbytes;
} st_out;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static pt_status save_fail(const char *path, const char *fmt, ...)
{
    char problem[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof problem, fmt, ap);
    va_end(ap);
    pt_error_set("pt_safetensors_save: '%s': %s", path, problem);
    return PT_ERR;
}

/* Describes tensor i of d in o (dtype, shape, size) and places it at *offset. */
static pt_status describe_tensor(const pt_dict *d, int i, const char *path, uint64_t *offset,
                                 st_out *o)
{
    o->name = pt_dict_name(d, i);
    o->tensor = pt_dict_tensor(d, i);
    if (strcmp(o->name, ST_METADATA_KEY) == 0)
        return save_fail(path, "'" ST_METADATA_KEY "' is reserved and cannot name a tensor");
    if (!utf8_valid_str(o->name))
        return save_fail(path, "tensor name '%s' is not valid UTF-8", o->name);
    o->dtype = dtype_by_enum(pt_dtype_of(o->tensor));
    if (!o->dtype)
        return save_fail(path, "tensor '%s' has a dtype safetensors cannot store", o->name);
    o->ndim = pt_ndim(o->tensor);
    if (o->ndim < 0 || o->ndim > ST_MAX_DIMS)
        return save_fail(path, "tensor '%s' has %d dimensions (at most %d)", o->name, o->ndim,
                         ST_MAX_DIMS);
    pt_shape(o->tensor, o->shape, ST_MAX_DIMS);
    uint64_t numel = 1;
    for (int k = 0; k < o->ndim; k++)
        if (o->shape[k] < 0 || !mul_u64(numel, (uint64_t)o->shape[k], &numel))
            return save_fail(path, "tensor '%s' has a bad shape", o->name);
    if (!mul_u64(numel, o->dtype->size, &o->nbytes) || *offset + o->nbytes < *offset)
        return save_fail(path, "tensor '%s' is too large", o->name);
    o->begin = *offset;
    *offset += o->nbytes;
    return PT_OK;
}

/* Appends a JSON integer written as plain digits (cJSON would print large doubles as 1e+15). */
static int add_uint(cJSON *array, uint64_t v)
{
    char digits[24];
    snprintf(digits, sizeof digits, "%" PRIu64, v);
    cJSON *raw = cJSON_CreateRaw(digits);
    if (!raw || !cJSON_AddItemToArray(array, raw)) {
        cJSON_Delete(raw);
        return -1;
    }
    return 0;
}

static int add_tensor_json(cJSON *root, const st_out *o)
{
    cJSON *entry = cJSON_AddObjectToObject(root, o->name);
    if (!entry || !cJSON_AddStringToObject(entry, "dtype", o->dtype->name))
        return -1;
    cJSON *shape = cJSON_AddArrayToObject(entry, "shape");
    if (!shape)
        return -1;
    for (int k = 0; k < o->ndim; k++)
        if (add_uint(shape, (uint64_t)o->shape[k]) != 0)
            return -1;
    cJSON *offsets = cJSON_AddArrayToObject(entry, "data_offsets");
    if (!offsets || add_uint(offsets, o->begin) != 0 ||
        add_uint(offsets, o->begin + o->nbytes) != 0)
        return -1;
    return 0;
}

static int add_metadata_json(cJSON *root, const pt_dict *d, const char *path)
{
    int n = pt_dict_meta_size(d);
    if (n == 0)
        return 0;
    cJSON *meta = cJSON_AddObjectToObject(root, ST_METADATA_KEY);
    if (!meta)
        return -1;
    for (int i = 0; i < n; i++) {
        const char *key = pt_dict_meta_key(d, i), *value = pt_dict_meta(d, key);
        if (!utf8_valid_str(key) || !utf8_valid_str(value)) {
            save_fail(path, "metadata '%s' is not valid UTF-8", key);
            return 1;
        }
        if (!cJSON_AddStringToObject(meta, key, value))
            return -1;
    }
    return 0;
}

/* The header text padded with spaces so that 8 + *len is a multiple of 8 (malloc'ed). */
static char *build_header(const pt_dict *d, const st_out *outs, int n, const char *path,
                          size_t *len)
{
    cJSON *root = cJSON_CreateObject();
    int rc = root ? add_metadata_json(root, d, path) : -1;
    for (int i = 0; i < n && rc == 0; i++)
        rc = add_tensor_json(root, &outs[i]);
    char *json = rc == 0 ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (rc > 0)
        return NULL;  /* reported already */
    if (!json) {
        save_fail(path, "out of memory building the header");
        return NULL;
    }
    size_t json_len = strlen(json), pad = (8 - (8 + json_len) % 8) % 8;
    char *header = malloc(json_len + pad);
    if (header) {
        memcpy(header, json, json_len);
        memset(header + json_len, ' ', pad);
        *len = json_len + pad;
    } else {
        save_fail(path, "out of memory building the header");
    }
    cJSON_free(json);
    return header;
}

/* Streams the bytes of one tensor (as a contiguous CPU copy when it is not one already). */
static pt_status write_tensor_data(pt_atomic_file *f, const st_out *o, const char *path)
{
    if (o->nbytes == 0)
        return PT_OK;
    size_t mark = pt_scope_begin();
    pt_tensor *cpu = pt_to_device(o->tensor, PT_CPU);
    pt_tensor *dense = pt_contiguous(cpu);
    const void *bytes = pt_data_ptr(dense);
    pt_status st = PT_ERR;
    if (bytes) {
        st = pt_atomic_write(f, bytes, (size_t)o->nbytes);
    } else {
        char why[1024];
        snprintf(why, sizeof why, "%s", pt_error());
        save_fail(path, "cannot read tensor '%s': %s", o->name, why);
        pt_atomic_abort(f);
    }
    pt_scope_end(mark);
    return st;
}

static pt_status write_file(const char *path, const char *header, size_t header_len,
                            const st_out *outs, int n)
{
    unsigned char len_bytes[8];
    store_le64(len_bytes, (uint64_t)header_len);
    pt_atomic_file f;
    if (pt_atomic_open(&f, path) != PT_OK || pt_atomic_write(&f, len_bytes, 8) != PT_OK ||
        pt_atomic_write(&f, header, header_len) != PT_OK)
        return PT_ERR;
    for (int i = 0; i < n; i++)
        if (write_tensor_data(&f, &outs[i], path) != PT_OK)
            return PT_ERR;
    return pt_atomic_commit(&f);
}

pt_status pt_safetensors_save(const pt_dict *d, const char *path)
{
    if (!d || !path)
        return save_fail(path ? path : "(null)", "%s is NULL", d ? "path" : "dict");
    int n = pt_dict_size(d);
    st_out *outs = calloc(n > 0 ? (size_t)n : 1, sizeof outs[0]);
    if (!outs)
        return save_fail(path, "out of memory");
    uint64_t offset = 0;
    pt_status st = PT_OK;
    for (int i = 0; i < n && st == PT_OK; i++)
        st = describe_tensor(d, i, path, &offset, &outs[i]);
    size_t header_len = 0;
    char *header = st == PT_OK ? build_header(d, outs, n, path, &header_len) : NULL;
    if (header)
        st = write_file(path, header, header_len, outs, n);
    else
        st = PT_ERR;
    free(header);
    free(outs);
    return st;
}
