/* test_safetensors.c - safetensors save/load (shim/safetensors.c) and atomic writes
 * (shim/fileio.c).
 *
 * Round trips of every dtype (0-dim, empty and non-contiguous tensors, metadata); the exact bytes
 * of tiny files built by hand, both ways; one test per malformed file the loader must reject,
 * checking the message names the file and the problem; atomic writes that leave no temp file and
 * failed writes that leave the previous file intact; and an exchange with an independent Python
 * reader/writer (tests/reference/safetensors_np.py).
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

/* ---------------------------------------------------------------- per-test directory */

static char *g_dir;  /* each test runs in its own process: one directory per test */

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(path);
        struct dirent *ent;
        while (dir && (ent = readdir(dir)) != NULL) {
            if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
                continue;
            char child[4096];
            snprintf(child, sizeof child, "%s/%s", path, ent->d_name);
            remove_tree(child);
        }
        if (dir)
            closedir(dir);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void st_teardown(void)
{
    if (g_dir)
        remove_tree(g_dir);
    free(g_dir);
    g_dir = NULL;
}

/* path of name inside this test's directory (static buffer, one per slot). */
static const char *in_dir(const char *name, int slot)
{
    static char paths[4][4096];
    if (!g_dir) {
        g_dir = tst_tmpdir();
        cr_assert_not_null(g_dir, "cannot create a temporary directory");
    }
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", g_dir, name);
    return paths[slot];
}

static int count_dir_entries(void)
{
    DIR *dir = opendir(g_dir);
    cr_assert_not_null(dir);
    int n = 0;
    struct dirent *ent;
    while ((ent = readdir(dir)) != NULL)
        if (strcmp(ent->d_name, ".") != 0 && strcmp(ent->d_name, "..") != 0)
            n++;
    closedir(dir);
    return n;
}

TestSuite(safetensors, .init = tst_setup, .fini = st_teardown);

/* ---------------------------------------------------------------- file helpers */

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

/* The whole file in a malloc'ed buffer. */
static unsigned char *read_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            buf = realloc(buf, cap);
            cr_assert_not_null(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* A safetensors file: header_len declared as given (not necessarily strlen(header)). */
static void write_st_declared(const char *path, uint64_t header_len, const char *header,
                              const void *data, size_t data_len)
{
    size_t hlen = strlen(header);
    unsigned char *buf = malloc(8 + hlen + data_len + 1);
    cr_assert_not_null(buf);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(header_len >> (8 * i));
    memcpy(buf + 8, header, hlen);
    if (data_len)
        memcpy(buf + 8 + hlen, data, data_len);
    write_bytes(path, buf, 8 + hlen + data_len);
    free(buf);
}

static void write_st(const char *path, const char *header, const void *data, size_t data_len)
{
    write_st_declared(path, strlen(header), header, data, data_len);
}

/* pt_safetensors_load(path) must fail, naming path and containing word, without leaking. */
static void expect_reject(const char *path, const char *word)
{
    long live = pt_live_tensors();
    pt_error_clear();
    pt_dict *d = pt_safetensors_load(path);
    cr_assert_null(d, "%s was accepted", path);
    cr_assert(pt_error_pending());
    cr_assert_not_null(strstr(pt_error(), path), "message lacks the path: %s", pt_error());
    cr_assert_not_null(strstr(pt_error(), word), "message lacks '%s': %s", word, pt_error());
    cr_assert_eq(pt_live_tensors(), live);
}

/* Saves and loads back a file holding header (declared length = its length) and data. */
static void reject_case(const char *header, const void *data, size_t data_len, const char *word)
{
    const char *path = in_dir("bad.safetensors", 0);
    write_st(path, header, data, data_len);
    expect_reject(path, word);
}

/* ---------------------------------------------------------------- tensor helpers */

/* Checks t's dtype, shape and raw bytes. */
static void expect_tensor(const pt_tensor *t, pt_dtype dt, const int64_t *shape, int ndim,
                          const void *bytes, size_t nbytes)
{
    cr_assert_not_null(t);
    cr_assert_eq(pt_dtype_of(t), dt, "dtype %s, expected %s", pt_dtype_name(pt_dtype_of(t)),
                 pt_dtype_name(dt));
    int64_t got[16];
    cr_assert_eq(pt_shape(t, got, 16), ndim);
    for (int k = 0; k < ndim; k++)
        cr_assert_eq(got[k], shape[k], "dim %d: %lld, expected %lld", k, (long long)got[k],
                     (long long)shape[k]);
    cr_assert_eq((size_t)pt_numel(t) * pt_dtype_size(dt), nbytes);
    cr_assert(pt_is_contiguous(t));
    if (nbytes) {
        const void *p = pt_data_ptr(t);
        cr_assert_not_null(p);
        cr_assert_eq(memcmp(p, bytes, nbytes), 0, "bytes differ for %s", pt_dtype_name(dt));
    }
}

static void put_data(pt_dict *d, const char *name, const void *data, const int64_t *shape,
                     int ndim, pt_dtype dt)
{
    cr_assert_eq(pt_dict_put(d, name, pt_from_data(data, shape, ndim, dt)), PT_OK, "%s",
                 pt_error());
}

/* ---------------------------------------------------------------- round trips */

/* One tensor per dtype plus the shapes that are easy to get wrong. Values are the raw bytes. */
static const uint8_t v_bool[] = {1, 0, 1};
static const uint8_t v_u8[] = {0, 1, 254, 255};
static const int8_t v_i8[] = {-128, 127};
static const int16_t v_i16[] = {-32768, 1, 32767};
static const int32_t v_i32[] = {-7, 0, 7, 2147483647};
static const int64_t v_i64[] = {-(INT64_C(1) << 40), -1, 0, INT64_C(1) << 62};
static const uint16_t v_f16[] = {0x3C00, 0xC000};   /* 1.0, -2.0 */
static const uint16_t v_bf16[] = {0x3F80, 0xC040};  /* 1.0, -3.0 */
static const float v_f32[] = {-0.5f, -0.25f, 0.0f, 0.25f, 0.5f, 0.75f};
static const double v_f64[] = {1.0 / 3.0, -2.5, 1e300};
static const float v_scalar[] = {42.5f};

static const int64_t s_bool[] = {3}, s_u8[] = {2, 2, 1}, s_i8[] = {2}, s_i16[] = {3},
                     s_i32[] = {2, 2}, s_i64[] = {4}, s_f16[] = {2}, s_bf16[] = {2},
                     s_f32[] = {2, 3}, s_f64[] = {3}, s_empty[] = {0, 3}, s_empty3[] = {2, 0, 3};

/* The recipe shared with tests/reference/safetensors_check.py (keep the two in step). */
static pt_dict *recipe_dict(void)
{
    pt_dict *d = pt_dict_new();
    cr_assert_not_null(d);
    put_data(d, "f32", v_f32, s_f32, 2, PT_F32);
    put_data(d, "f64", v_f64, s_f64, 1, PT_F64);
    put_data(d, "i64", v_i64, s_i64, 1, PT_I64);
    put_data(d, "i32", v_i32, s_i32, 2, PT_I32);
    put_data(d, "i16", v_i16, s_i16, 1, PT_I16);
    put_data(d, "i8", v_i8, s_i8, 1, PT_I8);
    put_data(d, "u8", v_u8, s_u8, 3, PT_U8);
    put_data(d, "bool", v_bool, s_bool, 1, PT_BOOL);
    put_data(d, "f16", v_f16, s_f16, 1, PT_F16);
    put_data(d, "bf16", v_bf16, s_bf16, 1, PT_BF16);
    put_data(d, "scalar", v_scalar, NULL, 0, PT_F32);
    put_data(d, "empty", NULL, s_empty, 2, PT_F32);
    return d;
}

static void expect_recipe(const pt_dict *d, int with_extras)
{
    expect_tensor(pt_dict_get(d, "f32"), PT_F32, s_f32, 2, v_f32, sizeof v_f32);
    expect_tensor(pt_dict_get(d, "f64"), PT_F64, s_f64, 1, v_f64, sizeof v_f64);
    expect_tensor(pt_dict_get(d, "i64"), PT_I64, s_i64, 1, v_i64, sizeof v_i64);
    expect_tensor(pt_dict_get(d, "i32"), PT_I32, s_i32, 2, v_i32, sizeof v_i32);
    expect_tensor(pt_dict_get(d, "i16"), PT_I16, s_i16, 1, v_i16, sizeof v_i16);
    expect_tensor(pt_dict_get(d, "i8"), PT_I8, s_i8, 1, v_i8, sizeof v_i8);
    expect_tensor(pt_dict_get(d, "u8"), PT_U8, s_u8, 3, v_u8, sizeof v_u8);
    expect_tensor(pt_dict_get(d, "bool"), PT_BOOL, s_bool, 1, v_bool, sizeof v_bool);
    expect_tensor(pt_dict_get(d, "f16"), PT_F16, s_f16, 1, v_f16, sizeof v_f16);
    expect_tensor(pt_dict_get(d, "bf16"), PT_BF16, s_bf16, 1, v_bf16, sizeof v_bf16);
    expect_tensor(pt_dict_get(d, "scalar"), PT_F32, NULL, 0, v_scalar, sizeof v_scalar);
    expect_tensor(pt_dict_get(d, "empty"), PT_F32, s_empty, 2, NULL, 0);
    if (!with_extras)
        return;
    static const float transposed[] = {-0.5f, 0.25f, -0.25f, 0.5f, 0.0f, 0.75f};
    static const int64_t s_t[] = {3, 2};
    expect_tensor(pt_dict_get(d, "transposed"), PT_F32, s_t, 2, transposed, sizeof transposed);
    expect_tensor(pt_dict_get(d, "empty3"), PT_I64, s_empty3, 3, NULL, 0);
    expect_tensor(pt_dict_get(d, "last"), PT_U8, s_i8, 1, v_u8, 2);
}

Test(safetensors, roundtrip_every_dtype_keeps_values_order_and_metadata)
{
    long live = pt_live_tensors();
    pt_dict *d = recipe_dict();
    /* Right after "empty": same data_offsets, so only the header order can keep them in order. */
    put_data(d, "empty3", NULL, s_empty3, 3, PT_I64);
    /* A non-contiguous view: the file must hold its row-major contiguous copy. */
    pt_tensor *base = pt_from_data(v_f32, s_f32, 2, PT_F32);
    cr_assert_eq(pt_dict_put(d, "transposed", pt_transpose(base, 0, 1)), PT_OK, "%s",
                 pt_error());
    pt_free(base);
    put_data(d, "last", v_u8, s_i8, 1, PT_U8);
    cr_assert_eq(pt_dict_set_meta(d, "format", "pt"), PT_OK);
    cr_assert_eq(pt_dict_set_meta(d, "note", "h\xc3\xa9llo \"quoted\" \\ back\nslash\ttab"), PT_OK);
    cr_assert_eq(pt_dict_set_meta(d, "empty", ""), PT_OK);

    const char *path = in_dir("all.safetensors", 0);
    cr_assert_eq(pt_safetensors_save(d, path), PT_OK, "%s", pt_error());
    pt_dict *back = pt_safetensors_load(path);
    cr_assert_not_null(back, "%s", pt_error());

    cr_assert_eq(pt_dict_size(back), pt_dict_size(d));
    for (int i = 0; i < pt_dict_size(d); i++)
        cr_assert_str_eq(pt_dict_name(back, i), pt_dict_name(d, i), "order differs at %d", i);
    expect_recipe(back, 1);
    cr_assert_eq(pt_dict_meta_size(back), 3);
    cr_assert_str_eq(pt_dict_meta_key(back, 0), "format");
    cr_assert_str_eq(pt_dict_meta_key(back, 1), "note");
    cr_assert_str_eq(pt_dict_meta_key(back, 2), "empty");
    cr_assert_str_eq(pt_dict_meta(back, "format"), "pt");
    cr_assert_str_eq(pt_dict_meta(back, "note"), "h\xc3\xa9llo \"quoted\" \\ back\nslash\ttab");
    cr_assert_str_eq(pt_dict_meta(back, "empty"), "");

    /* The data buffer starts at a multiple of 8. */
    size_t len;
    unsigned char *bytes = read_bytes(path, &len);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | bytes[i];
    cr_assert_eq((8 + n) % 8, 0);
    cr_assert_eq(bytes[8], '{');
    free(bytes);

    pt_dict_free(back);
    pt_dict_free(d);
    cr_assert_eq(pt_live_tensors(), live);
    cr_assert_eq(count_dir_entries(), 1, "a temporary file was left behind");
}

Test(safetensors, roundtrip_requires_grad_and_overwrite)
{
    long live = pt_live_tensors();
    const char *path = in_dir("w.safetensors", 0);
    pt_dict *d = pt_dict_new();
    pt_tensor *w = pt_from_data(v_f32, s_f32, 2, PT_F32);
    cr_assert_eq(pt_set_requires_grad(w, 1), PT_OK);
    cr_assert_eq(pt_dict_put(d, "w", w), PT_OK);
    cr_assert_eq(pt_safetensors_save(d, path), PT_OK, "%s", pt_error());
    /* Overwrite with different content: the new file wins. */
    put_data(d, "w", v_i64, s_i64, 1, PT_I64);
    cr_assert_eq(pt_safetensors_save(d, path), PT_OK, "%s", pt_error());
    pt_dict *back = pt_safetensors_load(path);
    cr_assert_not_null(back, "%s", pt_error());
    cr_assert_eq(pt_dict_size(back), 1);
    expect_tensor(pt_dict_get(back, "w"), PT_I64, s_i64, 1, v_i64, sizeof v_i64);
    cr_assert_eq(pt_requires_grad(pt_dict_get(back, "w")), 0);
    pt_dict_free(back);
    pt_dict_free(d);
    cr_assert_eq(pt_live_tensors(), live);
    cr_assert_eq(count_dir_entries(), 1);
}

Test(safetensors, loaded_tensors_outlive_scopes)
{
    long live = pt_live_tensors();
    pt_dict *d = recipe_dict();
    const char *path = in_dir("s.safetensors", 0);
    cr_assert_eq(pt_safetensors_save(d, path), PT_OK, "%s", pt_error());
    size_t mark = pt_scope_begin();
    pt_dict *back = pt_safetensors_load(path);
    pt_scope_end(mark);
    /* The dict owns its tensors: the scope did not take them. */
    cr_assert_not_null(back, "%s", pt_error());
    expect_recipe(back, 0);
    pt_dict_free(back);
    pt_dict_free(d);
    cr_assert_eq(pt_live_tensors(), live);
}

Test(safetensors, empty_dict_roundtrip)
{
    pt_dict *d = pt_dict_new();
    const char *path = in_dir("empty.safetensors", 0);
    cr_assert_eq(pt_safetensors_save(d, path), PT_OK, "%s", pt_error());
    size_t len;
    unsigned char *bytes = read_bytes(path, &len);
    static const unsigned char expected[] = {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ',
                                             ' ', ' '};
    cr_assert_eq(len, sizeof expected);
    cr_assert_eq(memcmp(bytes, expected, len), 0);
    free(bytes);
    pt_dict *back = pt_safetensors_load(path);
    cr_assert_not_null(back, "%s", pt_error());
    cr_assert_eq(pt_dict_size(back), 0);
    cr_assert_eq(pt_dict_meta_size(back), 0);
    pt_dict_free(back);
    pt_dict_free(d);
}

Test(safetensors, save_rejects_reserved_name)
{
    pt_dict *d = pt_dict_new();
    put_data(d, "__metadata__", v_f32, s_f32, 2, PT_F32);
    const char *path = in_dir("reserved.safetensors", 0);
    cr_assert_eq(pt_safetensors_save(d, path), PT_ERR);
    cr_assert_not_null(strstr(pt_error(), "reserved"), "%s", pt_error());
    cr_assert_not_null(strstr(pt_error(), path), "%s", pt_error());
    cr_assert_eq(access(path, F_OK), -1, "a file was written");
    cr_assert_eq(count_dir_entries(), 0);
    pt_dict_free(d);
}

/* ---------------------------------------------------------------- exact bytes */

/* A file written by hand: the header, its padding to a multiple of 8, little-endian data. */
Test(safetensors, handmade_file_loads)
{
    static const char header[] =
        "{\"__metadata__\":{\"k\":\"v\"},"
        "\"b\":{\"dtype\":\"I16\",\"shape\":[3],\"data_offsets\":[0,6]},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[6,14]}} ";  /* 135 + 1 pad */
    cr_assert_eq(strlen(header), 136);
    static const unsigned char data[] = {
        0x01, 0x00, 0xFE, 0xFF, 0x03, 0x00,              /* I16 1, -2, 3 */
        0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0x80, 0xBE,  /* F32 1.5, -0.25 */
    };
    unsigned char file[8 + 136 + sizeof data] = {136, 0, 0, 0, 0, 0, 0, 0};
    memcpy(file + 8, header, 136);
    memcpy(file + 8 + 136, data, sizeof data);
    const char *path = in_dir("hand.safetensors", 0);
    write_bytes(path, file, sizeof file);

    long live = pt_live_tensors();
    pt_dict *d = pt_safetensors_load(path);
    cr_assert_not_null(d, "%s", pt_error());
    cr_assert_eq(pt_dict_size(d), 2);
    cr_assert_str_eq(pt_dict_name(d, 0), "b");  /* data-offset order, not name order */
    cr_assert_str_eq(pt_dict_name(d, 1), "a");
    static const int16_t b[] = {1, -2, 3};
    static const float a[] = {1.5f, -0.25f};
    static const int64_t sb[] = {3}, sa[] = {1, 2};
    expect_tensor(pt_dict_tensor(d, 0), PT_I16, sb, 1, b, sizeof b);
    expect_tensor(pt_dict_tensor(d, 1), PT_F32, sa, 2, a, sizeof a);
    cr_assert_eq(pt_dict_meta_size(d), 1);
    cr_assert_str_eq(pt_dict_meta(d, "k"), "v");
    pt_dict_free(d);
    cr_assert_eq(pt_live_tensors(), live);
}

/* pictor's writer produces exactly the bytes of the reference layout. */
Test(safetensors, save_writes_exact_bytes)
{
    static const float v[] = {1.0f, 2.0f};
    static const int64_t s[] = {2};
    static const char header[] =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}   ";  /* 85 + 3 pad */
    cr_assert_eq(strlen(header), 88);
    unsigned char expected[8 + 88 + 8] = {88, 0, 0, 0, 0, 0, 0, 0};
    memcpy(expected + 8, header, 88);
    static const unsigned char data[] = {0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40};
    memcpy(expected + 8 + 88, data, 8);

    pt_dict *d = pt_dict_new();
    put_data(d, "a", v, s, 1, PT_F32);
    cr_assert_eq(pt_dict_set_meta(d, "format", "pt"), PT_OK);
    const char *path = in_dir("exact.safetensors", 0);
    cr_assert_eq(pt_safetensors_save(d, path), PT_OK, "%s", pt_error());
    size_t len;
    unsigned char *bytes = read_bytes(path, &len);
    cr_assert_eq(len, sizeof expected);
    cr_assert_eq(memcmp(bytes, expected, len), 0, "file bytes differ from the reference layout");
    free(bytes);
    pt_dict_free(d);
}

/* Large offsets are written as plain integers, not 1e+15 (cJSON's default for big doubles). */
Test(safetensors, header_numbers_are_plain_integers)
{
    static const int64_t s[] = {1000, 1000};
    pt_dict *d = pt_dict_new();
    cr_assert_eq(pt_dict_put(d, "big", pt_zeros(s, 2, PT_U8)), PT_OK);
    cr_assert_eq(pt_dict_put(d, "next", pt_zeros(s, 1, PT_F64)), PT_OK);
    const char *path = in_dir("big.safetensors", 0);
    cr_assert_eq(pt_safetensors_save(d, path), PT_OK, "%s", pt_error());
    size_t len;
    char *bytes = (char *)read_bytes(path, &len);
    cr_assert_not_null(strstr(bytes + 8, "\"data_offsets\":[1000000,1008000]"));
    free(bytes);
    pt_dict_free(d);
}

/* ---------------------------------------------------------------- malformed files */

static const unsigned char zeros16[16];

Test(safetensors, reject_missing_file)
{
    expect_reject(in_dir("nope.safetensors", 0), "No such file");
}

Test(safetensors, reject_file_shorter_than_8_bytes)
{
    const char *path = in_dir("short.safetensors", 0);
    write_bytes(path, "\x02\0\0\0\0", 5);
    expect_reject(path, "too short");
}

Test(safetensors, reject_header_length_larger_than_file)
{
    const char *path = in_dir("long.safetensors", 0);
    write_st_declared(path, 1000, "{}      ", NULL, 0);
    expect_reject(path, "larger than the file");
}

Test(safetensors, reject_header_length_huge)
{
    const char *path = in_dir("huge.safetensors", 0);
    write_st_declared(path, UINT64_MAX, "{}      ", NULL, 0);
    expect_reject(path, "larger than the file");
}

Test(safetensors, reject_empty_header)
{
    reject_case("", NULL, 0, "empty");
}

Test(safetensors, reject_invalid_json)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",", NULL, 0, "invalid JSON");
}

Test(safetensors, reject_header_not_an_object)
{
    reject_case("[1, 2]  ", NULL, 0, "invalid JSON");
}

Test(safetensors, reject_garbage_after_header)
{
    reject_case("{} x", NULL, 0, "invalid JSON");
}

Test(safetensors, reject_header_not_utf8)
{
    reject_case("{\"__metadata__\":{\"k\":\"\xff\"}}", NULL, 0, "UTF-8");
}

Test(safetensors, reject_entry_not_an_object)
{
    reject_case("{\"a\":5}", NULL, 0, "not an object");
}

Test(safetensors, reject_missing_dtype)
{
    reject_case("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", zeros16, 4, "no dtype");
}

Test(safetensors, reject_unknown_dtype)
{
    reject_case("{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", zeros16, 4,
                "unknown dtype 'Q7'");
}

Test(safetensors, reject_dtype_not_a_string)
{
    reject_case("{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", zeros16, 4,
                "dtype of tensor 'a' is not a string");
}

Test(safetensors, reject_missing_shape)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", zeros16, 4, "no shape");
}

Test(safetensors, reject_shape_not_a_list)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,4]}}", zeros16, 4,
                "not a list of non-negative integers");
}

Test(safetensors, reject_shape_negative)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", zeros16, 4,
                "not a list of non-negative integers");
}

Test(safetensors, reject_shape_fractional)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", zeros16, 4,
                "not a list of non-negative integers");
}

Test(safetensors, reject_shape_with_string)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", zeros16,
                4, "not a list of non-negative integers");
}

Test(safetensors, reject_missing_data_offsets)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", zeros16, 4, "no data_offsets");
}

Test(safetensors, reject_data_offsets_one_element)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", zeros16, 4,
                "not a list of two integers");
}

Test(safetensors, reject_data_offsets_three_elements)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", zeros16, 8,
                "not a list of two integers");
}

Test(safetensors, reject_data_offsets_negative)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", zeros16, 4,
                "not non-negative integers");
}

Test(safetensors, reject_data_offsets_reversed)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", zeros16, 4,
                "reversed");
}

Test(safetensors, reject_data_offsets_out_of_bounds)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", zeros16, 4,
                "out of bounds");
}

Test(safetensors, reject_data_offsets_size_mismatch)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", zeros16, 4,
                "size mismatch");
}

Test(safetensors, reject_overlapping_tensors)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                zeros16, 12, "overlaps");
}

Test(safetensors, reject_identical_offsets)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                zeros16, 4, "overlaps");
}

Test(safetensors, reject_hole_between_tensors)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                zeros16, 12, "hole");
}

Test(safetensors, reject_hole_at_start)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", zeros16, 8,
                "hole");
}

Test(safetensors, reject_trailing_bytes_after_last_tensor)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", zeros16, 8,
                "trailing");
}

Test(safetensors, reject_duplicate_tensor_names)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                zeros16, 8, "duplicate tensor name 'a'");
}

Test(safetensors, reject_duplicate_field)
{
    reject_case("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"I32\",\"shape\":[1],"
                "\"data_offsets\":[0,4]}}", zeros16, 4, "duplicate \"dtype\"");
}

Test(safetensors, reject_metadata_value_not_a_string)
{
    reject_case("{\"__metadata__\":{\"epoch\":3}}", NULL, 0,
                "metadata value for key 'epoch' is not a string");
}

Test(safetensors, reject_metadata_not_an_object)
{
    reject_case("{\"__metadata__\":[\"a\"]}", NULL, 0, "not an object");
}

Test(safetensors, reject_duplicate_metadata_key)
{
    reject_case("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", NULL, 0, "duplicate metadata key");
}

/* The header promises more data bytes than the file holds (a truncated download). */
Test(safetensors, reject_truncated_data)
{
    const char *path = in_dir("cut.safetensors", 0);
    write_st(path, "{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}", zeros16,
             15);
    expect_reject(path, "out of bounds");
}

/* ---------------------------------------------------------------- atomic writes */

Test(safetensors, atomic_write_replaces_and_leaves_no_temp)
{
    const char *path = in_dir("f.bin", 0);
    cr_assert_eq(pt_write_file_atomic(path, "old", 3), PT_OK, "%s", pt_error());
    cr_assert_eq(pt_write_file_atomic(path, "new content", 11), PT_OK, "%s", pt_error());
    size_t len;
    unsigned char *bytes = read_bytes(path, &len);
    cr_assert_eq(len, 11);
    cr_assert_eq(memcmp(bytes, "new content", 11), 0);
    free(bytes);
    cr_assert_eq(count_dir_entries(), 1, "a temporary file was left behind");
    cr_assert_eq(pt_write_file_atomic(path, NULL, 0), PT_OK, "%s", pt_error());
    bytes = read_bytes(path, &len);
    cr_assert_eq(len, 0);
    free(bytes);
}

Test(safetensors, atomic_write_fails_when_parent_is_a_file)
{
    const char *file = in_dir("plain", 0);
    write_bytes(file, "x", 1);
    const char *path = in_dir("plain/w.safetensors", 1);
    pt_dict *d = recipe_dict();
    pt_error_clear();
    cr_assert_eq(pt_safetensors_save(d, path), PT_ERR);
    cr_assert_not_null(strstr(pt_error(), path), "%s", pt_error());
    cr_assert_not_null(strstr(pt_error(), "Not a directory"), "%s", pt_error());
    cr_assert_eq(pt_write_file_atomic("/proc/pictor-test/x", "x", 1), PT_ERR);
    cr_assert_not_null(strstr(pt_error(), "/proc/pictor-test/x"), "%s", pt_error());
    pt_dict_free(d);
}

/* A write that fails half-way (file size limit: EFBIG) removes the temp file and leaves the
 * previous file as it was. */
Test(safetensors, failed_write_keeps_previous_file)
{
    const char *path = in_dir("keep.safetensors", 0);
    pt_dict *old = recipe_dict();
    cr_assert_eq(pt_safetensors_save(old, path), PT_OK, "%s", pt_error());

    static const int64_t s[] = {64, 1024};
    pt_dict *big = pt_dict_new();
    cr_assert_eq(pt_dict_put(big, "w", pt_ones(s, 2, PT_F32)), PT_OK);
    struct rlimit saved, small;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
    small = saved;
    small.rlim_cur = 16384;
    signal(SIGXFSZ, SIG_IGN);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    pt_status st = pt_safetensors_save(big, path);
    setrlimit(RLIMIT_FSIZE, &saved);
    cr_assert_eq(st, PT_ERR, "the write did not fail");
    cr_assert_not_null(strstr(pt_error(), path), "%s", pt_error());
    cr_assert_not_null(strstr(pt_error(), "File too large"), "%s", pt_error());
    cr_assert_eq(count_dir_entries(), 1, "the temporary file was left behind");

    pt_dict *back = pt_safetensors_load(path);
    cr_assert_not_null(back, "previous file damaged: %s", pt_error());
    expect_recipe(back, 0);
    pt_dict_free(back);
    pt_dict_free(big);
    pt_dict_free(old);
}

/* The temp file is "<path>.tmp.<pid>": when that name is taken by a directory the write fails,
 * the directory (not ours) stays, and so does the previous file. */
Test(safetensors, temp_name_taken_keeps_previous_file)
{
    const char *path = in_dir("t.bin", 0);
    cr_assert_eq(pt_write_file_atomic(path, "old", 3), PT_OK, "%s", pt_error());
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    cr_assert_eq(mkdir(tmp, 0700), 0);
    cr_assert_eq(pt_write_file_atomic(path, "new", 3), PT_ERR);
    cr_assert_not_null(strstr(pt_error(), tmp), "%s", pt_error());
    cr_assert_not_null(strstr(pt_error(), "Is a directory"), "%s", pt_error());
    struct stat st;
    cr_assert_eq(stat(tmp, &st), 0);
    cr_assert(S_ISDIR(st.st_mode));
    size_t len;
    unsigned char *bytes = read_bytes(path, &len);
    cr_assert_eq(len, 3);
    cr_assert_eq(memcmp(bytes, "old", 3), 0);
    free(bytes);
}

/* ---------------------------------------------------------------- exchange with Python */

/* Python's recipe (tests/reference/safetensors_check.py, write_recipe). */
static void expect_python_recipe(const pt_dict *d)
{
    static const float z_first[] = {1.5f, -2.5f};
    static const uint8_t a_bool[] = {1, 1, 0, 0, 1};
    static const int64_t m_i64[] = {1, -2, 3, -4};
    static const uint16_t bf[] = {0x4049};
    static const uint16_t h[] = {0x3800, 0xB400, 0x7BFF};  /* 0.5, -0.25, 65504 */
    static const int32_t s[] = {7};
    static const uint8_t u[] = {0, 128, 255};
    static const int8_t b[] = {-1, 1};
    static const int16_t w[] = {-300};
    static const int64_t sh2[] = {2}, sh5[] = {5}, sh22[] = {2, 2}, sh1[] = {1}, sh3[] = {3},
                         sh0[] = {0};
    cr_assert_eq(pt_dict_size(d), 10);
    expect_tensor(pt_dict_get(d, "z_first"), PT_F32, sh2, 1, z_first, sizeof z_first);
    expect_tensor(pt_dict_get(d, "a_bool"), PT_BOOL, sh5, 1, a_bool, sizeof a_bool);
    expect_tensor(pt_dict_get(d, "m_i64"), PT_I64, sh22, 2, m_i64, sizeof m_i64);
    expect_tensor(pt_dict_get(d, "bf"), PT_BF16, sh1, 1, bf, sizeof bf);
    expect_tensor(pt_dict_get(d, "h"), PT_F16, sh3, 1, h, sizeof h);
    expect_tensor(pt_dict_get(d, "s"), PT_I32, NULL, 0, s, sizeof s);
    expect_tensor(pt_dict_get(d, "e"), PT_F64, sh0, 1, NULL, 0);
    expect_tensor(pt_dict_get(d, "u"), PT_U8, sh3, 1, u, sizeof u);
    expect_tensor(pt_dict_get(d, "b"), PT_I8, sh2, 1, b, sizeof b);
    expect_tensor(pt_dict_get(d, "w"), PT_I16, sh1, 1, w, sizeof w);
    cr_assert_eq(pt_dict_meta_size(d), 2);
    cr_assert_str_eq(pt_dict_meta(d, "source"), "numpy");
    cr_assert_str_eq(pt_dict_meta(d, "k"), "v with spaces");
    /* The Python writer orders by alignment, then name: I64 and F64 first. */
    cr_assert_str_eq(pt_dict_name(d, 0), "e");
    cr_assert_str_eq(pt_dict_name(d, 1), "m_i64");
}

Test(safetensors, exchange_with_python_reader_and_writer)
{
    long live = pt_live_tensors();
    pt_dict *d = recipe_dict();
    cr_assert_eq(pt_dict_set_meta(d, "format", "pt"), PT_OK);
    cr_assert_eq(pt_dict_set_meta(d, "author", "Zo\xc3\xab"), PT_OK);
    const char *c_file = in_dir("from_c.safetensors", 0);
    const char *py_file = in_dir("from_py.safetensors", 1);
    cr_assert_eq(pt_safetensors_save(d, c_file), PT_OK, "%s", pt_error());

    char args[9000];
    snprintf(args, sizeof args,
             "--check '%s' --meta format=pt --meta 'author=Zo\xc3\xab' --write '%s'", c_file,
             py_file);
    cr_assert_eq(tst_python("safetensors_check.py", args), 0,
                 "the Python reader rejected pictor's file (see stderr)");

    pt_dict *back = pt_safetensors_load(py_file);
    cr_assert_not_null(back, "%s", pt_error());
    expect_python_recipe(back);
    pt_dict_free(back);
    pt_dict_free(d);
    cr_assert_eq(pt_live_tensors(), live);
}
