/*
 * store_internal.h - what store.c (locking, errors, types, the column table), store_write.c (the
 * writer) and store_read.c (the reader) share. Not a public header: only the store includes it.
 *
 * THE COLUMN TABLE
 *   Every dataset of the layout (data/README.md) is one row of STORE_COLUMNS: its path, which
 *   annotation flag brings it in, its element kind, the table it belongs to (items, instances,
 *   polygons, vertices, points, depth values) and its chunk length. The writer creates the
 *   columns from it and the reader validates a file against it, so the two cannot drift apart.
 */
#ifndef PICTOR_DATA_STORE_INTERNAL_H
#define PICTOR_DATA_STORE_INTERNAL_H

#include <hdf5.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "base/err.h"

/* A byte table (COL_IMAGE, COL_MASK, COL_INST_MASK) is always followed by its _START and _COUNT
 * columns: the code relies on that order. */
typedef enum {
    COL_IMAGE,          /* image            encoded: u8 [B] bytes; raw: u8 [N,H,W,C] */
    COL_IMAGE_START,    /* image_start      i64 [N]  encoded: first byte of the item's file */
    COL_IMAGE_COUNT,    /* image_count      i32 [N]  encoded: its length in bytes */
    COL_SHAPE,          /* image_shape      i32 [N,3] (h, w, c) */
    COL_LABEL,          /* label            i32 [N] */
    COL_DOMAIN,         /* domain           i32 [N] */
    COL_GROUP,          /* group            i64 [N] */
    COL_MASK,           /* mask             png: u8 [B] bytes; raw: u8 [N,H,W] */
    COL_MASK_START,     /* mask_start       i64 [N]  png masks only */
    COL_MASK_COUNT,     /* mask_count       i32 [N]  png masks only (0 = no mask) */
    COL_AREA_RATIO,     /* area_ratio       f32 [N] */
    COL_AREA_ERROR,     /* area_error       f32 [N] */
    COL_INST_START,     /* instances/item_start     i64 [N]  first instance row */
    COL_INST_COUNT,     /* instances/item_count     i32 [N] */
    COL_INST_CLASS,     /* instances/class_id       i32 [M] */
    COL_INST_MASK,      /* instances/mask           u8 [B] PNG bytes */
    COL_INST_MASK_START,/* instances/mask_start     i64 [M] */
    COL_INST_MASK_COUNT,/* instances/mask_count     i32 [M]  (0 = no mask) */
    COL_INST_POLY_START,/* instances/polygon_start  i64 [M]  first polygon row */
    COL_INST_POLY_COUNT,/* instances/polygon_count  i32 [M] */
    COL_POLY_VSTART,    /* instances/vertex_start   i64 [P]  first vertex row */
    COL_POLY_VCOUNT,    /* instances/vertex_count   i32 [P] */
    COL_VERTEX_XY,      /* instances/vertex_xy      f32 [V,2] */
    COL_PT_START,       /* points/item_start        i64 [N] */
    COL_PT_COUNT,       /* points/item_count        i32 [N] */
    COL_PT_XY,          /* points/xy                f32 [Q,2] */
    COL_DEPTH_START,    /* depth/item_start         i64 [N]  first value, -1 = no map */
    COL_DEPTH_VALUES,   /* depth/values             f16 or f32 [T] */
    COL_NAME,           /* file_name        u8 [B]   UTF-8 bytes, no NUL (file_names) */
    COL_NAME_START,     /* file_name_start  i64 [N]  first byte of the item's name */
    COL_NAME_COUNT,     /* file_name_count  i32 [N]  its length (0 = no name) */
    N_COLUMNS
} column_id;

typedef enum { KIND_I32, KIND_I64, KIND_F32, KIND_SHAPE, KIND_XY, KIND_PIXELS, KIND_DEPTH } col_kind;
typedef enum {
    LVL_ITEM, LVL_INSTANCE, LVL_POLYGON, LVL_VERTEX, LVL_POINT, LVL_DEPTH,
    LVL_IMAGE_BYTES, LVL_MASK_BYTES, LVL_INST_MASK_BYTES, LVL_NAME_BYTES, N_LEVELS
} col_level;

/* Storage a column exists in: any, or only when the pixel column it describes is encoded. */
enum { WITH_ANY = 0, WITH_ENCODED_IMAGES, WITH_PNG_MASKS, WITH_FILE_NAMES };

typedef struct {
    const char *path;  /* relative to the root */
    unsigned needs;    /* annotation flag that brings the column in; 0 = always present */
    int with;          /* WITH_ANY, or the storage it needs */
    col_kind kind;
    col_level level;   /* which table's row count its length must equal (pixel columns: the
                          level of their encoded bytes; see store_column_level) */
    hsize_t chunk;     /* rows per chunk (pixel columns in RAW storage: 1 item) */
} column_spec;

extern const column_spec STORE_COLUMNS[N_COLUMNS];

/* Is column id part of a dataset with these options? */
int store_column_present(const store_options *o, column_id id);
/* Pixel columns stored raw (one item per row: [N,H,W,C] or [N,H,W]); otherwise they are byte
 * tables of encoded files. */
int store_column_raw(const store_options *o, column_id id);
/* The table whose length the column's length must equal. */
col_level store_column_level(const store_options *o, column_id id);

/* Groups that hold columns, created before them. */
#define STORE_GROUP_INSTANCES "instances"
#define STORE_GROUP_POINTS "points"
#define STORE_GROUP_DEPTH "depth"

/* Root attributes. */
#define ATTR_FORMAT "pictor_format"
#define ATTR_VERSION "layout_version"
#define ATTR_IMAGE_STORAGE "image_storage"
#define ATTR_CHANNELS "channels"
#define ATTR_MASK_STORAGE "mask_storage"
#define ATTR_DEPTH_TYPE "depth_type"
#define ATTR_COUNT "count"
#define ATTR_SOURCE "source"
#define ATTR_CREATED "created"
#define DS_CLASS_NAMES "class_names"
#define DS_DOMAIN_NAMES "domain_names"

/* Types created once (under the lock) and kept for the life of the process. */
typedef struct {
    hid_t str; /* variable-length UTF-8 string */
    hid_t f16; /* IEEE half float, little-endian */
} store_types;

/* The shared types; valid once store_h5_lock() has been called (it runs the set-up). */
const store_types *store_types_get(void);

/* err_fail (base/err.h), then ": " and what HDF5's error stack says (the stack is cleared).
 * Returns -1. */
int store_fail_h5(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* String and integer attributes of an object. */
int store_attr_write_str(hid_t obj, const char *name, const char *value);
int store_attr_write_i64(hid_t obj, const char *name, int64_t value);
/* 1 = read, 0 = absent, -1 = error. *value is malloc'ed. */
int store_attr_read_str(hid_t obj, const char *name, char **value);
int store_attr_read_i64(hid_t obj, const char *name, int64_t *value);

/* Half floats (IEEE 754 binary16), round to nearest even. */
uint16_t store_f32_to_f16(float f);
float store_f16_to_f32(uint16_t h);

/* malloc/free for HDF5's variable-length reads (the name lists): a transfer property list that
 * uses them lets the caller free() what HDF5 allocated. */
void *store_vlen_alloc(size_t size, void *info);
void store_vlen_free(void *mem, void *info);

#endif
