/*
 * store_write.c - see store.h: the writer of the HDF5 dataset store.
 *
 * A dataset is written into "<path>.tmp.<pid>" as extendible, chunked, deflate-compressed columns
 * (the column table of store_internal.h). Each column buffers at most 4 MB of rows in memory and
 * appends them with one H5Dset_extent + H5Dwrite, so memory stays bounded whatever the size of
 * the dataset. Encoded files (images, PNG masks) go to flat byte tables, with a start and a count
 * per item. Commit flushes, closes the file, fsyncs it and renames it over path.
 *
 * Encoding (PNG of pixels and masks, half floats of depth maps) is done before the HDF5 lock is
 * taken; the lock is held only to hand rows to HDF5.
 */
#include "store/store_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec/image.h"
#include "fileio.h"

#define PENDING_BYTES (4u << 20)
#define DEFLATE_LEVEL 4

typedef struct {
    hid_t dset;         /* -1 when the dataset does not hold this column */
    hid_t mem_type;     /* borrowed */
    int rank;
    hsize_t inner[3];   /* dimensions after the first */
    size_t row_bytes;   /* bytes of one row in memory */
    hsize_t written;    /* rows in the file */
    uint8_t *pending;   /* rows not yet in the file */
    size_t n_pending, cap_rows;
} column;

struct store_writer {
    char *path, *tmp;
    hid_t file;
    hid_t groups[3];
    store_options o;
    column col[N_COLUMNS];
    int64_t rows[N_LEVELS];
    int32_t max_label, max_domain;
    int n_classes, n_domains; /* -1 until set */
    int failed;
    char *next_name;          /* file_names: the name of the next item, or NULL */
};

/* ---------------------------------------------------------------- column types */

typedef struct {
    hid_t file_type, mem_type;
    int rank;
    hsize_t inner[3];
    size_t row_bytes;
    int shuffle, deflate;
} column_type;

/* Pixel columns: raw arrays (one item per row), or byte tables of encoded files, not compressed
 * again (so reading a file is one straight read of its bytes). */
static void pixel_type(const store_writer *w, column_id id, column_type *t)
{
    t->file_type = H5T_STD_U8LE;
    t->mem_type = H5T_NATIVE_UINT8;
    t->shuffle = 0;
    if (!store_column_raw(&w->o, id)) {
        t->row_bytes = 1;
        t->deflate = 0;
        return;
    }
    t->inner[0] = (hsize_t)w->o.height;
    t->inner[1] = (hsize_t)w->o.width;
    t->inner[2] = (hsize_t)w->o.channels;
    t->rank = id == COL_IMAGE ? 4 : 3;
    t->row_bytes = (size_t)w->o.height * (size_t)w->o.width * (id == COL_IMAGE ? w->o.channels : 1);
}

static void column_type_of(const store_writer *w, column_id id, column_type *t)
{
    memset(t, 0, sizeof *t);
    t->rank = 1;
    t->shuffle = 1;
    t->deflate = 1;
    switch (STORE_COLUMNS[id].kind) {
    case KIND_I32:
        t->file_type = H5T_STD_I32LE, t->mem_type = H5T_NATIVE_INT32, t->row_bytes = 4;
        break;
    case KIND_I64:
        t->file_type = H5T_STD_I64LE, t->mem_type = H5T_NATIVE_INT64, t->row_bytes = 8;
        break;
    case KIND_F32:
        t->file_type = H5T_IEEE_F32LE, t->mem_type = H5T_NATIVE_FLOAT, t->row_bytes = 4;
        break;
    case KIND_SHAPE:
        t->file_type = H5T_STD_I32LE, t->mem_type = H5T_NATIVE_INT32, t->row_bytes = 12;
        t->rank = 2, t->inner[0] = 3;
        break;
    case KIND_XY:
        t->file_type = H5T_IEEE_F32LE, t->mem_type = H5T_NATIVE_FLOAT, t->row_bytes = 8;
        t->rank = 2, t->inner[0] = 2;
        break;
    case KIND_DEPTH:
        if (w->o.depth == STORE_DEPTH_F16)
            t->file_type = t->mem_type = store_types_get()->f16, t->row_bytes = 2;
        else
            t->file_type = H5T_IEEE_F32LE, t->mem_type = H5T_NATIVE_FLOAT, t->row_bytes = 4;
        break;
    case KIND_PIXELS:
        pixel_type(w, id, t);
        break;
    }
}

/* ---------------------------------------------------------------- columns */

static int column_create(store_writer *w, column_id id, char *err, size_t errlen)
{
    column *c = &w->col[id];
    column_type t;
    column_type_of(w, id, &t);
    hsize_t dims[4] = {0}, maxdims[4] = {H5S_UNLIMITED}, chunk[4];
    chunk[0] = t.rank <= 2 ? STORE_COLUMNS[id].chunk : 1; /* raw pixels: one item per chunk */
    for (int d = 1; d < t.rank; d++)
        dims[d] = maxdims[d] = chunk[d] = t.inner[d - 1];
    hid_t space = H5Screate_simple(t.rank, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    int ok = space >= 0 && dcpl >= 0 && H5Pset_chunk(dcpl, t.rank, chunk) >= 0 &&
             (!t.shuffle || H5Pset_shuffle(dcpl) >= 0) &&
             (!t.deflate || H5Pset_deflate(dcpl, DEFLATE_LEVEL) >= 0);
    if (ok)
        c->dset = H5Dcreate2(w->file, STORE_COLUMNS[id].path, t.file_type, space, H5P_DEFAULT,
                             dcpl, H5P_DEFAULT);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    if (!ok || c->dset < 0) {
        c->dset = -1;
        return store_fail_h5(err, errlen, "%s: cannot create dataset '/%s'", w->path,
                             STORE_COLUMNS[id].path);
    }
    c->mem_type = t.mem_type;
    c->rank = t.rank;
    memcpy(c->inner, t.inner, sizeof c->inner);
    c->row_bytes = t.row_bytes;
    size_t cap = PENDING_BYTES / t.row_bytes;
    c->cap_rows = cap < 1 ? 1 : cap;
    c->pending = malloc(c->cap_rows * c->row_bytes);
    if (!c->pending)
        return err_fail(err, errlen, "%s: out of memory", w->path);
    return 0;
}

/* Append n rows at the end of the dataset, straight from rows. */
static int column_write(store_writer *w, column_id id, const void *rows, size_t n, char *err,
                        size_t errlen)
{
    column *c = &w->col[id];
    hsize_t dims[4], start[4] = {c->written}, count[4] = {n};
    dims[0] = c->written + n;
    for (int d = 1; d < c->rank; d++)
        dims[d] = count[d] = c->inner[d - 1], start[d] = 0;
    hid_t fs = -1, ms = -1;
    int ok = H5Dset_extent(c->dset, dims) >= 0 && (fs = H5Dget_space(c->dset)) >= 0 &&
             H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
             (ms = H5Screate_simple(c->rank, count, NULL)) >= 0 &&
             H5Dwrite(c->dset, c->mem_type, ms, fs, H5P_DEFAULT, rows) >= 0;
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    if (!ok)
        return store_fail_h5(err, errlen, "%s: cannot write %zu rows to '/%s'", w->path, n,
                             STORE_COLUMNS[id].path);
    c->written += n;
    return 0;
}

static int column_flush(store_writer *w, column_id id, char *err, size_t errlen)
{
    column *c = &w->col[id];
    if (c->dset < 0 || c->n_pending == 0)
        return 0;
    int rc = column_write(w, id, c->pending, c->n_pending, err, errlen);
    c->n_pending = 0;
    return rc;
}

/* Append n fixed-size rows (copied). */
static int column_push(store_writer *w, column_id id, const void *rows, size_t n, char *err,
                       size_t errlen)
{
    column *c = &w->col[id];
    if (n == 0)
        return 0;
    if (c->n_pending + n > c->cap_rows && column_flush(w, id, err, errlen))
        return -1;
    if (n > c->cap_rows)
        return column_write(w, id, rows, n, err, errlen);
    memcpy(c->pending + c->n_pending * c->row_bytes, rows, n * c->row_bytes);
    c->n_pending += n;
    return 0;
}

static void columns_close(store_writer *w)
{
    for (int id = 0; id < N_COLUMNS; id++) {
        column *c = &w->col[id];
        free(c->pending);
        c->pending = NULL;
        if (c->dset >= 0)
            H5Dclose(c->dset);
        c->dset = -1;
    }
    for (int g = 0; g < 3; g++)
        if (w->groups[g] >= 0)
            H5Gclose(w->groups[g]), w->groups[g] = -1;
}

/* ---------------------------------------------------------------- creating */

static int check_options(const char *path, const store_options *o, char *err, size_t errlen)
{
    if (o->images != STORE_ENCODED && o->images != STORE_RAW)
        return err_fail(err, errlen, "%s: unknown image storage %d", path, (int)o->images);
    if (o->channels != 1 && o->channels != 3)
        return err_fail(err, errlen, "%s: channels must be 1 or 3, got %d", path, o->channels);
    if (o->images == STORE_RAW && (o->height <= 0 || o->width <= 0))
        return err_fail(err, errlen, "%s: raw images need a size, got %dx%d", path, o->width,
                        o->height);
    if (o->annotations & ~(unsigned)(STORE_MASK | STORE_INSTANCES | STORE_POINTS | STORE_AREA |
                                     STORE_DEPTH))
        return err_fail(err, errlen, "%s: unknown annotation flags 0x%x", path, o->annotations);
    if ((o->annotations & STORE_MASK) && o->masks == STORE_RAW && o->images != STORE_RAW)
        return err_fail(err, errlen, "%s: raw masks need raw images (a fixed size)", path);
    return 0;
}

static int write_root_attrs(store_writer *w)
{
    const store_options *o = &w->o;
    hid_t root = w->file;
    if (store_attr_write_str(root, ATTR_FORMAT, STORE_FORMAT_NAME) ||
        store_attr_write_i64(root, ATTR_VERSION, STORE_LAYOUT_VERSION) ||
        store_attr_write_str(root, ATTR_IMAGE_STORAGE,
                             o->images == STORE_RAW ? "raw" : "encoded") ||
        store_attr_write_i64(root, ATTR_CHANNELS, o->channels))
        return -1;
    if ((o->annotations & STORE_MASK) &&
        store_attr_write_str(root, ATTR_MASK_STORAGE, o->masks == STORE_RAW ? "raw" : "png"))
        return -1;
    if ((o->annotations & STORE_DEPTH) &&
        store_attr_write_str(root, ATTR_DEPTH_TYPE,
                             o->depth == STORE_DEPTH_F16 ? "float16" : "float32"))
        return -1;
    return 0;
}

static int create_groups(store_writer *w)
{
    static const struct { unsigned flag; const char *name; } groups[3] = {
        {STORE_INSTANCES, STORE_GROUP_INSTANCES},
        {STORE_POINTS, STORE_GROUP_POINTS},
        {STORE_DEPTH, STORE_GROUP_DEPTH},
    };
    for (int g = 0; g < 3; g++) {
        if (!(w->o.annotations & groups[g].flag))
            continue;
        w->groups[g] = H5Gcreate2(w->file, groups[g].name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (w->groups[g] < 0)
            return -1;
    }
    return 0;
}

static hid_t create_file(const char *tmp)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return -1;
    hid_t f = -1;
    /* 1.10 format: extensible-array chunk indexes, O(1) chunk lookup for appended columns. */
    if (H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110) >= 0 &&
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0)
        f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    return f;
}

static void writer_free(store_writer *w)
{
    free(w->next_name);
    free(w->path);
    free(w->tmp);
    free(w);
}

/* Everything after the temp file exists; called with the lock held. */
static int writer_setup(store_writer *w, char *err, size_t errlen)
{
    if (write_root_attrs(w) || create_groups(w))
        return store_fail_h5(err, errlen, "%s: cannot set up the dataset", w->path);
    for (int id = 0; id < N_COLUMNS; id++)
        if (store_column_present(&w->o, id) && column_create(w, id, err, errlen))
            return -1;
    return 0;
}

store_writer *store_create(const char *path, const store_options *o, char *err, size_t errlen)
{
    if (check_options(path, o, err, errlen))
        return NULL;
    store_writer *w = calloc(1, sizeof *w);
    size_t n = strlen(path) + 32;
    if (!w || !(w->path = strdup(path)) || !(w->tmp = malloc(n))) {
        if (w)
            writer_free(w);
        err_fail(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    snprintf(w->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    w->o = *o;
    w->o.source = NULL;
    w->o.height = o->images == STORE_RAW ? o->height : 0;
    w->o.width = o->images == STORE_RAW ? o->width : 0;
    w->max_label = w->max_domain = -1;
    w->n_classes = w->n_domains = -1;
    for (int id = 0; id < N_COLUMNS; id++)
        w->col[id].dset = -1;
    for (int g = 0; g < 3; g++)
        w->groups[g] = -1;
    char dir[4096];
    if (pt_parent_dir(path, dir, sizeof dir) && !pt_is_dir(dir)) { /* runs/data/ in a fresh clone */
        err_fail(err, errlen, "%s: its folder %s does not exist (make it first: mkdir -p %s)",
                 path, dir, dir);
        writer_free(w);
        return NULL;
    }
    store_h5_lock();
    w->file = create_file(w->tmp);
    int rc = w->file < 0 ? store_fail_h5(err, errlen, "%s: cannot create %s", path, w->tmp)
                         : writer_setup(w, err, errlen);
    if (rc == 0 && o->source && store_attr_write_str(w->file, ATTR_SOURCE, o->source))
        rc = store_fail_h5(err, errlen, "%s: cannot write the source attribute", path);
    store_h5_unlock();
    if (rc != 0) {
        store_abort(w);
        return NULL;
    }
    return w;
}

/* ---------------------------------------------------------------- names */

static int write_names(store_writer *w, const char *ds, const char *const *names, int n,
                       char *err, size_t errlen)
{
    if (n < 0 || (n > 0 && !names))
        return err_fail(err, errlen, "%s: bad name list for '/%s'", w->path, ds);
    for (int k = 0; k < n; k++)
        if (!names[k])
            return err_fail(err, errlen, "%s: name %d of '/%s' is NULL", w->path, k, ds);
    store_h5_lock();
    hsize_t dims[1] = {(hsize_t)n};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t d = space < 0 ? -1 : H5Dcreate2(w->file, ds, store_types_get()->str, space,
                                          H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = d < 0 || (n > 0 && H5Dwrite(d, store_types_get()->str, H5S_ALL, H5S_ALL,
                                          H5P_DEFAULT, names) < 0)
                 ? store_fail_h5(err, errlen, "%s: cannot write '/%s'", w->path, ds)
                 : 0;
    if (d >= 0)
        H5Dclose(d);
    if (space >= 0)
        H5Sclose(space);
    store_h5_unlock();
    return rc;
}

int store_set_class_names(store_writer *w, const char *const *names, int n, char *err,
                          size_t errlen)
{
    if (w->n_classes >= 0)
        return err_fail(err, errlen, "%s: class names set twice", w->path);
    if (write_names(w, DS_CLASS_NAMES, names, n, err, errlen))
        return -1;
    w->n_classes = n;
    return 0;
}

int store_set_domain_names(store_writer *w, const char *const *names, int n, char *err,
                           size_t errlen)
{
    if (w->n_domains >= 0)
        return err_fail(err, errlen, "%s: domain names set twice", w->path);
    if (write_names(w, DS_DOMAIN_NAMES, names, n, err, errlen))
        return -1;
    w->n_domains = n;
    return 0;
}

/* ---------------------------------------------------------------- appending */

/* The encoded parts of one item, made before the lock is taken. */
typedef struct {
    uint8_t *image;
    size_t image_len;
    uint8_t *mask;
    size_t mask_len;
    uint8_t **inst_mask;
    size_t *inst_mask_len;
    int n_inst;
    uint16_t *depth16;
} prepared;

static void prepared_free(prepared *p)
{
    free(p->image);
    free(p->mask);
    for (int k = 0; k < p->n_inst; k++)
        free(p->inst_mask[k]);
    free(p->inst_mask);
    free(p->inst_mask_len);
    free(p->depth16);
    memset(p, 0, sizeof *p);
}

static int check_geometry(const sample *s, char *err, size_t errlen)
{
    for (int k = 0; k < s->n_instances; k++) {
        const instance *in = &s->instances[k];
        if (in->n_polygons < 0 || (in->n_polygons > 0 && !in->polygons))
            return err_fail(err, errlen, "instance %d has a bad polygon list", k);
        for (int p = 0; p < in->n_polygons; p++)
            if (in->polygons[p].n < 0 || (in->polygons[p].n > 0 && !in->polygons[p].xy))
                return err_fail(err, errlen, "instance %d polygon %d has no points", k, p);
    }
    if (s->n_points < 0 || (s->n_points > 0 && !s->points))
        return err_fail(err, errlen, "bad point list (%d points)", s->n_points);
    return 0;
}

/* Which annotations the sample has that the dataset did not declare, as a message. */
static int check_declared(const store_writer *w, const sample *s, char *err, size_t errlen)
{
    unsigned a = w->o.annotations;
    const char *extra = s->mask && !(a & STORE_MASK) ? "a mask"
                        : s->n_instances > 0 && !(a & STORE_INSTANCES) ? "instances"
                        : s->n_points > 0 && !(a & STORE_POINTS) ? "points"
                        : (!isnan(s->area_ratio) || !isnan(s->area_error)) && !(a & STORE_AREA)
                            ? "an area ratio"
                        : s->depth && !(a & STORE_DEPTH) ? "a depth map"
                                                          : NULL;
    if (extra)
        return err_fail(err, errlen, "the sample has %s but the dataset was created without",
                        extra);
    if ((a & STORE_MASK) && w->o.masks == STORE_RAW && !s->mask)
        return err_fail(err, errlen, "the dataset stores raw masks: every item needs a mask");
    return 0;
}

static int check_sample(const store_writer *w, const sample *s, char *err, size_t errlen)
{
    if (s->h <= 0 || s->w <= 0 || (int64_t)s->h * s->w > IMAGE_MAX_PIXELS)
        return err_fail(err, errlen, "bad image size %dx%d", s->w, s->h);
    if (s->c != w->o.channels)
        return err_fail(err, errlen, "image has %d channels, the dataset %d", s->c,
                        w->o.channels);
    if (w->o.images == STORE_RAW && (s->h != w->o.height || s->w != w->o.width))
        return err_fail(err, errlen, "image is %dx%d, the dataset's raw images %dx%d", s->w,
                        s->h, w->o.width, w->o.height);
    if (s->label < -1 || (w->n_classes >= 0 && s->label >= w->n_classes))
        return err_fail(err, errlen, "label %d out of range", (int)s->label);
    if (s->domain < -1 || (w->n_domains >= 0 && s->domain >= w->n_domains))
        return err_fail(err, errlen, "domain %d out of range", (int)s->domain);
    if (s->n_instances < 0 || (s->n_instances > 0 && !s->instances))
        return err_fail(err, errlen, "bad instance list (%d instances)", s->n_instances);
    if (check_declared(w, s, err, errlen) || check_geometry(s, err, errlen))
        return -1;
    return 0;
}

static int prepare_masks(const store_writer *w, const sample *s, prepared *p, char *err,
                         size_t errlen)
{
    if ((w->o.annotations & STORE_MASK) && w->o.masks == STORE_ENCODED && s->mask &&
        image_encode_png(s->mask, s->h, s->w, 1, &p->mask, &p->mask_len, err, errlen))
        return -1;
    if (s->n_instances == 0)
        return 0;
    p->inst_mask = calloc((size_t)s->n_instances, sizeof *p->inst_mask);
    p->inst_mask_len = calloc((size_t)s->n_instances, sizeof *p->inst_mask_len);
    if (!p->inst_mask || !p->inst_mask_len)
        return err_fail(err, errlen, "out of memory");
    p->n_inst = s->n_instances;
    for (int k = 0; k < s->n_instances; k++)
        if (s->instances[k].mask && image_encode_png(s->instances[k].mask, s->h, s->w, 1,
                                                     &p->inst_mask[k], &p->inst_mask_len[k],
                                                     err, errlen))
            return -1;
    return 0;
}

static int prepare(const store_writer *w, const sample *s, const void *encoded, size_t len,
                   prepared *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (w->o.images == STORE_ENCODED) {
        if (encoded) {
            if (!(p->image = malloc(len ? len : 1)))
                return err_fail(err, errlen, "out of memory");
            memcpy(p->image, encoded, len);
            p->image_len = len;
        } else if (!s->image) {
            return err_fail(err, errlen, "the sample has no image");
        } else if (image_encode_png(s->image, s->h, s->w, s->c, &p->image, &p->image_len, err,
                                    errlen)) {
            return -1;
        }
    } else if (!s->image) {
        return err_fail(err, errlen, "the sample has no image");
    }
    if (prepare_masks(w, s, p, err, errlen))
        return -1;
    if ((w->o.annotations & STORE_DEPTH) && s->depth && w->o.depth == STORE_DEPTH_F16) {
        size_t n = (size_t)s->h * (size_t)s->w;
        if (!(p->depth16 = malloc(n * sizeof *p->depth16)))
            return err_fail(err, errlen, "out of memory");
        for (size_t i = 0; i < n; i++)
            p->depth16[i] = store_f32_to_f16(s->depth[i]);
    }
    return 0;
}

/* Append one encoded file to a byte table with its start and count (len 0 = none). The table's
 * _START and _COUNT columns follow it in column_id order (store_internal.h). */
static int push_bytes(store_writer *w, column_id bytes, col_level level, const uint8_t *data,
                      size_t len, char *err, size_t errlen)
{
    int64_t start = w->rows[level];
    int32_t count = (int32_t)len;
    if (len > INT32_MAX)
        return err_fail(err, errlen, "%s: an encoded file of %zu bytes is too large", w->path,
                        len);
    if (column_push(w, bytes + 1, &start, 1, err, errlen) || /* the _START column */
        column_push(w, bytes + 2, &count, 1, err, errlen) || /* the _COUNT column */
        column_push(w, bytes, data, len, err, errlen))
        return -1;
    w->rows[level] += (int64_t)len;
    return 0;
}

#define PUSH(id, rows, n)                                                                      \
    do {                                                                                       \
        if (column_push(w, (id), (rows), (size_t)(n), err, errlen))                            \
            return -1;                                                                         \
    } while (0)

static int push_instances(store_writer *w, const sample *s, prepared *p, char *err,
                          size_t errlen)
{
    int64_t start = w->rows[LVL_INSTANCE];
    int32_t count = s->n_instances;
    PUSH(COL_INST_START, &start, 1);
    PUSH(COL_INST_COUNT, &count, 1);
    for (int k = 0; k < s->n_instances; k++) {
        const instance *in = &s->instances[k];
        int64_t pstart = w->rows[LVL_POLYGON];
        int32_t pcount = in->n_polygons;
        PUSH(COL_INST_CLASS, &in->class_id, 1);
        if (push_bytes(w, COL_INST_MASK, LVL_INST_MASK_BYTES, p->inst_mask[k],
                       p->inst_mask_len[k], err, errlen))
            return -1;
        PUSH(COL_INST_POLY_START, &pstart, 1);
        PUSH(COL_INST_POLY_COUNT, &pcount, 1);
        for (int q = 0; q < in->n_polygons; q++) {
            int64_t vstart = w->rows[LVL_VERTEX];
            int32_t vcount = in->polygons[q].n;
            PUSH(COL_POLY_VSTART, &vstart, 1);
            PUSH(COL_POLY_VCOUNT, &vcount, 1);
            PUSH(COL_VERTEX_XY, in->polygons[q].xy, vcount);
            w->rows[LVL_VERTEX] += vcount;
            w->rows[LVL_POLYGON]++;
        }
        w->rows[LVL_INSTANCE]++;
    }
    return 0;
}

static int push_optional(store_writer *w, const sample *s, prepared *p, char *err, size_t errlen)
{
    unsigned a = w->o.annotations;
    if ((a & STORE_MASK) && w->o.masks == STORE_RAW)
        PUSH(COL_MASK, s->mask, 1);
    if ((a & STORE_MASK) && w->o.masks == STORE_ENCODED &&
        push_bytes(w, COL_MASK, LVL_MASK_BYTES, p->mask, p->mask_len, err, errlen))
        return -1;
    if (a & STORE_AREA) {
        PUSH(COL_AREA_RATIO, &s->area_ratio, 1);
        PUSH(COL_AREA_ERROR, &s->area_error, 1);
    }
    if ((a & STORE_INSTANCES) && push_instances(w, s, p, err, errlen))
        return -1;
    if (a & STORE_POINTS) {
        int64_t start = w->rows[LVL_POINT];
        int32_t count = s->n_points;
        PUSH(COL_PT_START, &start, 1);
        PUSH(COL_PT_COUNT, &count, 1);
        PUSH(COL_PT_XY, s->points, count);
        w->rows[LVL_POINT] += count;
    }
    if (a & STORE_DEPTH) {
        int64_t start = s->depth ? w->rows[LVL_DEPTH] : -1, n = (int64_t)s->h * s->w;
        PUSH(COL_DEPTH_START, &start, 1);
        if (s->depth) {
            if (p->depth16)
                PUSH(COL_DEPTH_VALUES, p->depth16, n);
            else
                PUSH(COL_DEPTH_VALUES, s->depth, n);
            w->rows[LVL_DEPTH] += n;
        }
    }
    return 0;
}

static int push_item(store_writer *w, const sample *s, prepared *p, char *err, size_t errlen)
{
    if (w->o.images == STORE_RAW)
        PUSH(COL_IMAGE, s->image, 1);
    else if (push_bytes(w, COL_IMAGE, LVL_IMAGE_BYTES, p->image, p->image_len, err, errlen))
        return -1;
    int32_t shape[3] = {s->h, s->w, s->c};
    PUSH(COL_SHAPE, shape, 1);
    PUSH(COL_LABEL, &s->label, 1);
    PUSH(COL_DOMAIN, &s->domain, 1);
    PUSH(COL_GROUP, &s->group, 1);
    if (push_optional(w, s, p, err, errlen))
        return -1;
    if (w->o.file_names &&
        push_bytes(w, COL_NAME, LVL_NAME_BYTES, (const uint8_t *)w->next_name,
                   w->next_name ? strlen(w->next_name) : 0, err, errlen))
        return -1;
    w->rows[LVL_ITEM]++;
    if (s->label > w->max_label)
        w->max_label = s->label;
    if (s->domain > w->max_domain)
        w->max_domain = s->domain;
    return 0;
}

static int append(store_writer *w, const sample *s, const void *encoded, size_t len, char *err,
                  size_t errlen)
{
    char msg[512];
    if (w->failed)
        return err_fail(err, errlen, "%s: an earlier write failed; abort the dataset", w->path);
    prepared p;
    memset(&p, 0, sizeof p);
    if (check_sample(w, s, msg, sizeof msg) || prepare(w, s, encoded, len, &p, msg, sizeof msg)) {
        prepared_free(&p);
        return err_fail(err, errlen, "%s: item %lld: %s", w->path,
                        (long long)w->rows[LVL_ITEM], msg);
    }
    store_h5_lock();
    int rc = push_item(w, s, &p, err, errlen);
    store_h5_unlock();
    prepared_free(&p);
    free(w->next_name);
    w->next_name = NULL;
    if (rc != 0)
        w->failed = 1; /* columns may now disagree on their lengths */
    return rc;
}

int store_append(store_writer *w, const sample *s, char *err, size_t errlen)
{
    return append(w, s, NULL, 0, err, errlen);
}

int store_append_encoded(store_writer *w, const sample *s, const void *image, size_t len,
                         char *err, size_t errlen)
{
    if (w->o.images != STORE_ENCODED)
        return err_fail(err, errlen, "%s: the dataset stores raw images, not encoded ones",
                        w->path);
    if (!image || image_detect(image, len) == IMAGE_UNKNOWN)
        return err_fail(err, errlen, "%s: item %lld: not a JPEG or PNG image", w->path,
                        (long long)w->rows[LVL_ITEM]);
    return append(w, s, image, len, err, errlen);
}

int64_t store_writer_count(const store_writer *w)
{
    return w->rows[LVL_ITEM];
}

int store_set_item_name(store_writer *w, const char *name, char *err, size_t errlen)
{
    if (!w->o.file_names)
        return err_fail(err, errlen, "%s: the dataset was created without file names",
                        w->path);
    char *copy = strdup(name ? name : "");
    if (!copy)
        return err_fail(err, errlen, "%s: out of memory", w->path);
    free(w->next_name);
    w->next_name = copy;
    return 0;
}

/* ---------------------------------------------------------------- commit and abort */

static int finish_file(store_writer *w, const char *source_time, char *err, size_t errlen)
{
    for (int id = 0; id < N_COLUMNS; id++)
        if (column_flush(w, id, err, errlen))
            return -1;
    if (store_attr_write_i64(w->file, ATTR_COUNT, w->rows[LVL_ITEM]) ||
        store_attr_write_str(w->file, ATTR_CREATED, source_time))
        return store_fail_h5(err, errlen, "%s: cannot write the root attributes", w->path);
    columns_close(w);
    hid_t f = w->file;
    w->file = -1;
    if (H5Fclose(f) < 0)
        return store_fail_h5(err, errlen, "%s: cannot close %s", w->path, w->tmp);
    return 0;
}

static int check_ranges(const store_writer *w, char *err, size_t errlen)
{
    if (w->n_classes >= 0 && w->max_label >= w->n_classes)
        return err_fail(err, errlen, "%s: label %d but only %d class names", w->path,
                        (int)w->max_label, w->n_classes);
    if (w->n_domains >= 0 && w->max_domain >= w->n_domains)
        return err_fail(err, errlen, "%s: domain %d but only %d domain names", w->path,
                        (int)w->max_domain, w->n_domains);
    return 0;
}

int store_commit(store_writer *w, char *err, size_t errlen)
{
    if (!w)
        return err_fail(err, errlen, "no dataset to commit");
    if (w->failed || check_ranges(w, err, errlen)) {
        if (w->failed)
            err_fail(err, errlen, "%s: an earlier write failed; nothing written", w->path);
        store_abort(w);
        return -1;
    }
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    store_h5_lock();
    int rc = finish_file(w, stamp, err, errlen);
    store_h5_unlock();
    if (rc != 0) {
        store_abort(w);
        return -1;
    }
    rc = image_commit_temp_file(w->tmp, w->path, err, errlen);
    writer_free(w);
    return rc;
}

void store_abort(store_writer *w)
{
    if (!w)
        return;
    store_h5_lock();
    columns_close(w);
    if (w->file >= 0)
        H5Fclose(w->file);
    H5Eclear2(H5E_DEFAULT);
    store_h5_unlock();
    unlink(w->tmp);
    writer_free(w);
}
