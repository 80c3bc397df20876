/*
 * store.c - the parts of the HDF5 store that the writer and the reader share: the global HDF5
 * lock and one-time set-up (automatic error printing off, shared types), turning HDF5's error
 * stack into messages, attributes, half floats, and the column table of the layout
 * (data/README.md documents the same table for people).
 */
#include "store/store_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- the layout */

#define BYTE_CHUNK ((hsize_t)1 << 20) /* encoded files: 1 MiB chunks, read straight through */

const column_spec STORE_COLUMNS[N_COLUMNS] = {
    [COL_IMAGE] = {"image", 0, WITH_ANY, KIND_PIXELS, LVL_IMAGE_BYTES, BYTE_CHUNK},
    [COL_IMAGE_START] = {"image_start", 0, WITH_ENCODED_IMAGES, KIND_I64, LVL_ITEM, 8192},
    [COL_IMAGE_COUNT] = {"image_count", 0, WITH_ENCODED_IMAGES, KIND_I32, LVL_ITEM, 8192},
    [COL_SHAPE] = {"image_shape", 0, WITH_ANY, KIND_SHAPE, LVL_ITEM, 4096},
    [COL_LABEL] = {"label", 0, WITH_ANY, KIND_I32, LVL_ITEM, 8192},
    [COL_DOMAIN] = {"domain", 0, WITH_ANY, KIND_I32, LVL_ITEM, 8192},
    [COL_GROUP] = {"group", 0, WITH_ANY, KIND_I64, LVL_ITEM, 8192},
    [COL_MASK] = {"mask", STORE_MASK, WITH_ANY, KIND_PIXELS, LVL_MASK_BYTES, BYTE_CHUNK},
    [COL_MASK_START] = {"mask_start", STORE_MASK, WITH_PNG_MASKS, KIND_I64, LVL_ITEM, 8192},
    [COL_MASK_COUNT] = {"mask_count", STORE_MASK, WITH_PNG_MASKS, KIND_I32, LVL_ITEM, 8192},
    [COL_AREA_RATIO] = {"area_ratio", STORE_AREA, WITH_ANY, KIND_F32, LVL_ITEM, 8192},
    [COL_AREA_ERROR] = {"area_error", STORE_AREA, WITH_ANY, KIND_F32, LVL_ITEM, 8192},
    [COL_INST_START] = {"instances/item_start", STORE_INSTANCES, WITH_ANY, KIND_I64, LVL_ITEM,
                        8192},
    [COL_INST_COUNT] = {"instances/item_count", STORE_INSTANCES, WITH_ANY, KIND_I32, LVL_ITEM,
                        8192},
    [COL_INST_CLASS] = {"instances/class_id", STORE_INSTANCES, WITH_ANY, KIND_I32, LVL_INSTANCE,
                        8192},
    [COL_INST_MASK] = {"instances/mask", STORE_INSTANCES, WITH_ANY, KIND_PIXELS,
                       LVL_INST_MASK_BYTES, BYTE_CHUNK},
    [COL_INST_MASK_START] = {"instances/mask_start", STORE_INSTANCES, WITH_ANY, KIND_I64,
                             LVL_INSTANCE, 8192},
    [COL_INST_MASK_COUNT] = {"instances/mask_count", STORE_INSTANCES, WITH_ANY, KIND_I32,
                             LVL_INSTANCE, 8192},
    [COL_INST_POLY_START] = {"instances/polygon_start", STORE_INSTANCES, WITH_ANY, KIND_I64,
                             LVL_INSTANCE, 8192},
    [COL_INST_POLY_COUNT] = {"instances/polygon_count", STORE_INSTANCES, WITH_ANY, KIND_I32,
                             LVL_INSTANCE, 8192},
    [COL_POLY_VSTART] = {"instances/vertex_start", STORE_INSTANCES, WITH_ANY, KIND_I64,
                         LVL_POLYGON, 8192},
    [COL_POLY_VCOUNT] = {"instances/vertex_count", STORE_INSTANCES, WITH_ANY, KIND_I32,
                         LVL_POLYGON, 8192},
    [COL_VERTEX_XY] = {"instances/vertex_xy", STORE_INSTANCES, WITH_ANY, KIND_XY, LVL_VERTEX,
                       8192},
    [COL_PT_START] = {"points/item_start", STORE_POINTS, WITH_ANY, KIND_I64, LVL_ITEM, 8192},
    [COL_PT_COUNT] = {"points/item_count", STORE_POINTS, WITH_ANY, KIND_I32, LVL_ITEM, 8192},
    [COL_PT_XY] = {"points/xy", STORE_POINTS, WITH_ANY, KIND_XY, LVL_POINT, 8192},
    [COL_DEPTH_START] = {"depth/item_start", STORE_DEPTH, WITH_ANY, KIND_I64, LVL_ITEM, 8192},
    [COL_DEPTH_VALUES] = {"depth/values", STORE_DEPTH, WITH_ANY, KIND_DEPTH, LVL_DEPTH, 65536},
    [COL_NAME] = {"file_name", 0, WITH_FILE_NAMES, KIND_PIXELS, LVL_NAME_BYTES, 65536},
    [COL_NAME_START] = {"file_name_start", 0, WITH_FILE_NAMES, KIND_I64, LVL_ITEM, 8192},
    [COL_NAME_COUNT] = {"file_name_count", 0, WITH_FILE_NAMES, KIND_I32, LVL_ITEM, 8192},
};

int store_column_raw(const store_options *o, column_id id)
{
    return (id == COL_IMAGE && o->images == STORE_RAW) ||
           (id == COL_MASK && o->masks == STORE_RAW);
}

int store_column_present(const store_options *o, column_id id)
{
    const column_spec *c = &STORE_COLUMNS[id];
    if (c->needs && !(o->annotations & c->needs))
        return 0;
    if (c->with == WITH_ENCODED_IMAGES)
        return o->images == STORE_ENCODED;
    if (c->with == WITH_PNG_MASKS)
        return o->masks == STORE_ENCODED;
    if (c->with == WITH_FILE_NAMES)
        return o->file_names != 0;
    return 1;
}

col_level store_column_level(const store_options *o, column_id id)
{
    return store_column_raw(o, id) ? LVL_ITEM : STORE_COLUMNS[id].level;
}

/* ---------------------------------------------------------------- the lock and set-up */

static pthread_mutex_t h5_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t h5_once = PTHREAD_ONCE_INIT;
static store_types h5_types;

static hid_t make_f16(void)
{
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0)
        return t;
    /* sign bit 15, exponent bits 10..14, mantissa bits 0..9, bias 15: IEEE binary16 */
    if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_precision(t, 16) < 0 ||
        H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 15) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static void h5_init(void)
{
    pthread_mutex_lock(&h5_mutex);
    H5open();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    h5_types.str = H5Tcopy(H5T_C_S1);
    H5Tset_size(h5_types.str, H5T_VARIABLE);
    H5Tset_cset(h5_types.str, H5T_CSET_UTF8);
    h5_types.f16 = make_f16();
    pthread_mutex_unlock(&h5_mutex);
}

void store_h5_lock(void)
{
    pthread_once(&h5_once, h5_init);
    pthread_mutex_lock(&h5_mutex);
}

void store_h5_unlock(void)
{
    pthread_mutex_unlock(&h5_mutex);
}

const store_types *store_types_get(void)
{
    return &h5_types;
}

/* ---------------------------------------------------------------- messages */

typedef struct {
    char inner[256]; /* the most specific description (where the error was detected) */
    char outer[256]; /* the API-level one */
    int n;
} h5_walk;

static herr_t h5_walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    h5_walk *w = data;
    const char *desc = e->desc && *e->desc ? e->desc : NULL;
    if (desc && w->n == 0)
        snprintf(w->inner, sizeof w->inner, "%s", desc);
    if (desc)
        snprintf(w->outer, sizeof w->outer, "%s", desc);
    w->n += desc != NULL;
    (void)n;
    return 0;
}

/* What the error stack says: "outer (inner)", or one of them; clears the stack. */
static void h5_error_text(char *buf, size_t len)
{
    h5_walk w = {{0}, {0}, 0};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_walk_cb, &w);
    H5Eclear2(H5E_DEFAULT);
    if (w.n == 0)
        snprintf(buf, len, "HDF5 call failed");
    else if (w.n == 1 || !strcmp(w.inner, w.outer))
        snprintf(buf, len, "%s", w.inner);
    else
        snprintf(buf, len, "%s (%s)", w.outer, w.inner);
}

int store_fail_h5(char *err, size_t errlen, const char *fmt, ...)
{
    char h5[600];
    h5_error_text(h5, sizeof h5);
    va_list ap;
    va_start(ap, fmt);
    err_vfail(err, errlen, fmt, ap);
    va_end(ap);
    size_t n = err ? strnlen(err, errlen) : 0;
    if (err && n + 1 < errlen)
        snprintf(err + n, errlen - n, ": %s", h5);
    return -1;
}

/* ---------------------------------------------------------------- attributes */

static int attr_write(hid_t obj, const char *name, hid_t type, const void *value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = space < 0 ? -1 : H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || H5Awrite(a, type, value) < 0 ? -1 : 0;
    if (a >= 0)
        H5Aclose(a);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

int store_attr_write_str(hid_t obj, const char *name, const char *value)
{
    return attr_write(obj, name, h5_types.str, &value);
}

int store_attr_write_i64(hid_t obj, const char *name, int64_t value)
{
    return attr_write(obj, name, H5T_NATIVE_INT64, &value);
}

/* Opens attribute name of obj: 1 open (*a set), 0 absent, -1 error. */
static int attr_open(hid_t obj, const char *name, hid_t *a)
{
    htri_t exists = H5Aexists(obj, name);
    if (exists <= 0)
        return exists < 0 ? -1 : 0;
    *a = H5Aopen(obj, name, H5P_DEFAULT);
    return *a < 0 ? -1 : 1;
}

static int attr_read_str_typed(hid_t a, hid_t ftype, char **value)
{
    if (H5Tget_class(ftype) != H5T_STRING)
        return -1;
    if (H5Tis_variable_str(ftype) > 0) {
        char *s = NULL;
        if (H5Aread(a, h5_types.str, &s) < 0)
            return -1;
        *value = strdup(s ? s : "");
        H5free_memory(s);
        return *value ? 1 : -1;
    }
    size_t n = H5Tget_size(ftype);
    hid_t mt = H5Tcopy(ftype);
    char *s = calloc(n + 1, 1);
    int rc = mt >= 0 && s && H5Aread(a, mt, s) >= 0 ? 1 : -1;
    if (mt >= 0)
        H5Tclose(mt);
    if (rc < 0)
        free(s);
    else
        *value = s;
    return rc;
}

int store_attr_read_str(hid_t obj, const char *name, char **value)
{
    hid_t a = -1;
    int rc = attr_open(obj, name, &a);
    if (rc <= 0)
        return rc;
    hid_t ft = H5Aget_type(a);
    rc = ft < 0 ? -1 : attr_read_str_typed(a, ft, value);
    if (ft >= 0)
        H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

int store_attr_read_i64(hid_t obj, const char *name, int64_t *value)
{
    hid_t a = -1;
    int rc = attr_open(obj, name, &a);
    if (rc <= 0)
        return rc;
    hid_t ft = H5Aget_type(a);
    if (ft < 0 || H5Tget_class(ft) != H5T_INTEGER || H5Aread(a, H5T_NATIVE_INT64, value) < 0)
        rc = -1;
    if (ft >= 0)
        H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

/* ---------------------------------------------------------------- half floats */

uint16_t store_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t exp = (x >> 23) & 0xFFu, man = x & 0x7FFFFFu;
    if (exp == 0xFF) /* inf or nan (keep nan quiet and non-zero) */
        return (uint16_t)(sign | 0x7C00u | (man ? 0x200u : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31)
        return (uint16_t)(sign | 0x7C00u); /* overflow to inf */
    if (e <= 0) { /* subnormal half or zero */
        if (e < -10)
            return sign;
        man |= 0x800000u;
        int shift = 14 - e; /* 24-bit mantissa down to the half's subnormal grid */
        uint32_t half = man >> shift, rest = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rest > mid || (rest == mid && (half & 1u)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = ((uint32_t)e << 10) | (man >> 13), rest = man & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u)))
        half++; /* may carry into the exponent, which is still correct (up to inf) */
    return (uint16_t)(sign | half);
}

float store_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu;
    uint32_t x;
    if (exp == 0x1F) {
        x = sign | 0x7F800000u | (man << 13);
    } else if (exp == 0) {
        if (man == 0) {
            x = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400u));
            x = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3FFu) << 13);
        }
    } else {
        x = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* ---------------------------------------------------------------- vlen memory */

void *store_vlen_alloc(size_t size, void *info)
{
    (void)info;
    return malloc(size ? size : 1);
}

void store_vlen_free(void *mem, void *info)
{
    (void)info;
    free(mem);
}
