/*
 * store_read.c - see store.h: the reader of the HDF5 dataset store.
 *
 * Opening validates the file against the column table (store_internal.h): the format marker and
 * layout version, every dataset the file's annotations need, its element kind and shape, and that
 * the columns of one table have equal lengths. The label, domain and group arrays are loaded for
 * samplers; nothing else is read until asked for.
 *
 * Reading item i happens in two phases. Under the HDF5 lock: fetch the bytes (the encoded image
 * and masks as stored, read straight from their byte tables with no chunk cache in between; raw
 * image chunks still deflate-compressed through H5Dread_chunk; the small per-item tables). Without the lock: inflate, decode JPEG/PNG, convert half floats, build the
 * sample. So loader threads spend the lock only on I/O.
 */
#include "store/store_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "codec/image.h"

struct store_reader {
    char *path;
    hid_t file;
    hid_t dxpl; /* variable-length data allocated with malloc */
    hid_t dset[N_COLUMNS];
    int rank[N_COLUMNS];
    hsize_t inner[N_COLUMNS][3];
    store_layout layout;
    int64_t rows[N_LEVELS];
    char *source;
    int32_t *labels, *domains;
    int64_t *groups;
    char **class_names, **domain_names;
    int n_classes, n_domains;
    int direct[N_COLUMNS];   /* raw column read chunk by chunk, inflated by us */
    int filtered[N_COLUMNS]; /* its chunks are deflate-compressed */
    int depth_f16;
};

#define READ_BLOCK 65536

/* ---------------------------------------------------------------- small helpers */

static int is_raw_pixels(const store_reader *r, column_id id)
{
    return store_column_raw(&r->layout.o, id);
}

/* Read rows [start, start + n) of a column (every inner element) into buf. Lock held. */
static int read_rows(store_reader *r, column_id id, int64_t start, int64_t n, hid_t mem_type,
                     void *buf, char *err, size_t errlen)
{
    if (n == 0)
        return 0;
    int rank = r->rank[id];
    hsize_t off[4] = {(hsize_t)start}, count[4] = {(hsize_t)n};
    for (int d = 1; d < rank; d++)
        off[d] = 0, count[d] = r->inner[id][d - 1];
    hid_t fs = H5Dget_space(r->dset[id]), ms = -1;
    int ok = fs >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, count, NULL) >= 0 &&
             (ms = H5Screate_simple(rank, count, NULL)) >= 0 &&
             H5Dread(r->dset[id], mem_type, ms, fs, r->dxpl, buf) >= 0;
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    if (!ok)
        return store_fail_h5(err, errlen, "%s: cannot read rows %lld..%lld of '/%s'", r->path,
                             (long long)start, (long long)(start + n - 1),
                             STORE_COLUMNS[id].path);
    return 0;
}

static int corrupt(const store_reader *r, column_id id, char *err, size_t errlen, const char *what)
{
    return err_fail(err, errlen, "%s: dataset '/%s' is corrupt: %s", r->path,
                    STORE_COLUMNS[id].path, what);
}

/* ---------------------------------------------------------------- opening: columns */

/* Does the element type of a column match its kind? */
static int type_matches(const store_reader *r, column_id id, hid_t t)
{
    H5T_class_t cls = H5Tget_class(t);
    size_t size = H5Tget_size(t);
    switch (STORE_COLUMNS[id].kind) {
    case KIND_I32:
    case KIND_I64:
    case KIND_SHAPE:
        return cls == H5T_INTEGER;
    case KIND_F32:
    case KIND_XY:
        return cls == H5T_FLOAT;
    case KIND_DEPTH:
        return cls == H5T_FLOAT && (size == 2 || size == 4 || size == 8);
    case KIND_PIXELS:
        return cls == H5T_INTEGER && size == 1;
    }
    (void)r;
    return 0;
}

static int expected_rank(const store_reader *r, column_id id)
{
    col_kind k = STORE_COLUMNS[id].kind;
    if (k == KIND_SHAPE || k == KIND_XY)
        return 2;
    if (is_raw_pixels(r, id))
        return id == COL_IMAGE ? 4 : 3;
    return 1;
}

static int open_column(store_reader *r, column_id id, char *err, size_t errlen)
{
    const char *path = STORE_COLUMNS[id].path;
    if (H5Lexists(r->file, path, H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return err_fail(err, errlen, "%s: missing dataset '/%s' (not a complete pictor dataset)",
                        r->path, path);
    }
    /* Byte tables are read in long straight runs: no chunk cache (HDF5 then reads into the
     * caller's buffer directly). */
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (dapl >= 0 && STORE_COLUMNS[id].kind == KIND_PIXELS && !is_raw_pixels(r, id))
        H5Pset_chunk_cache(dapl, 0, 0, 1.0);
    r->dset[id] = H5Dopen2(r->file, path, dapl >= 0 ? dapl : H5P_DEFAULT);
    if (dapl >= 0)
        H5Pclose(dapl);
    if (r->dset[id] < 0)
        return store_fail_h5(err, errlen, "%s: cannot open dataset '/%s'", r->path, path);
    hid_t t = H5Dget_type(r->dset[id]), s = H5Dget_space(r->dset[id]);
    hsize_t dims[4] = {0};
    int rank = s >= 0 ? H5Sget_simple_extent_ndims(s) : -1;
    int ok = t >= 0 && type_matches(r, id, t);
    if (ok && rank == expected_rank(r, id))
        H5Sget_simple_extent_dims(s, dims, NULL);
    else
        ok = 0;
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    if (!ok)
        return corrupt(r, id, err, errlen, "unexpected element type or rank");
    r->rank[id] = rank;
    for (int d = 1; d < rank; d++)
        r->inner[id][d - 1] = dims[d];
    if (STORE_COLUMNS[id].kind == KIND_SHAPE && dims[1] != 3)
        return corrupt(r, id, err, errlen, "expected 3 values (h, w, c) per item");
    if (STORE_COLUMNS[id].kind == KIND_XY && dims[1] != 2)
        return corrupt(r, id, err, errlen, "expected 2 values (x, y) per row");
    int64_t n = (int64_t)dims[0];
    col_level lvl = store_column_level(&r->layout.o, id);
    if (r->rows[lvl] < 0) {
        r->rows[lvl] = n;
    } else if (r->rows[lvl] != n) {
        char what[160];
        snprintf(what, sizeof what, "%lld rows where its table has %lld", (long long)n,
                 (long long)r->rows[lvl]);
        return corrupt(r, id, err, errlen, what);
    }
    return 0;
}

/* Raw pixel columns chunked one item per chunk, deflate or nothing: read them with
 * H5Dread_chunk and inflate outside the lock. Anything else goes through H5Dread. */
static void check_direct(store_reader *r, column_id id)
{
    hid_t dcpl = H5Dget_create_plist(r->dset[id]);
    if (dcpl < 0)
        return;
    hsize_t chunk[4] = {0};
    int rank = r->rank[id];
    int ok = H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, rank, chunk) == rank &&
             chunk[0] == 1;
    for (int d = 1; ok && d < rank; d++)
        ok = chunk[d] == r->inner[id][d - 1];
    int nf = ok ? H5Pget_nfilters(dcpl) : -1;
    if (nf == 1) {
        unsigned flags = 0, cd[8];
        size_t ncd = 8;
        ok = H5Pget_filter2(dcpl, 0, &flags, &ncd, cd, 0, NULL, NULL) == H5Z_FILTER_DEFLATE;
    } else {
        ok = nf == 0;
    }
    r->direct[id] = ok;
    r->filtered[id] = nf == 1;
    H5Pclose(dcpl);
    H5Eclear2(H5E_DEFAULT);
}

/* ---------------------------------------------------------------- opening: attributes */

static int read_format(store_reader *r, char *err, size_t errlen)
{
    char *fmt = NULL;
    int rc = store_attr_read_str(r->file, ATTR_FORMAT, &fmt);
    if (rc <= 0 || strcmp(fmt, STORE_FORMAT_NAME) != 0) {
        if (rc < 0)
            H5Eclear2(H5E_DEFAULT);
        err_fail(err, errlen, "%s: not a pictor dataset (%s)", r->path,
                 rc > 0 ? "wrong 'pictor_format' attribute" : "no 'pictor_format' attribute");
        free(fmt);
        return -1;
    }
    free(fmt);
    int64_t v = 0;
    if (store_attr_read_i64(r->file, ATTR_VERSION, &v) <= 0 || v < 1)
        return err_fail(err, errlen, "%s: corrupt pictor dataset: no valid '%s' attribute",
                        r->path, ATTR_VERSION);
    if (v > STORE_LAYOUT_VERSION)
        return err_fail(err, errlen,
                        "%s: layout version %lld is newer than this pictor reads (%d); update "
                        "pictor", r->path, (long long)v, STORE_LAYOUT_VERSION);
    r->layout.version = (int)v;
    return 0;
}

/* A string attribute that must be one of two values: 0 or 1 for which, -1 otherwise. */
static int read_choice(store_reader *r, const char *name, const char *a, const char *b,
                       char *err, size_t errlen)
{
    char *s = NULL;
    int rc = store_attr_read_str(r->file, name, &s);
    int which = rc > 0 && !strcmp(s, a) ? 0 : rc > 0 && !strcmp(s, b) ? 1 : -1;
    free(s);
    if (which < 0) {
        H5Eclear2(H5E_DEFAULT);
        return err_fail(err, errlen, "%s: corrupt pictor dataset: attribute '%s' must be '%s' "
                        "or '%s'", r->path, name, a, b);
    }
    return which;
}

static int exists(store_reader *r, const char *path)
{
    int e = H5Lexists(r->file, path, H5P_DEFAULT) > 0;
    H5Eclear2(H5E_DEFAULT);
    return e;
}

static int read_options(store_reader *r, char *err, size_t errlen)
{
    store_options *o = &r->layout.o;
    int k = read_choice(r, ATTR_IMAGE_STORAGE, "encoded", "raw", err, errlen);
    if (k < 0)
        return -1;
    o->images = k ? STORE_RAW : STORE_ENCODED;
    int64_t c = 0;
    if (store_attr_read_i64(r->file, ATTR_CHANNELS, &c) <= 0 || (c != 1 && c != 3)) {
        H5Eclear2(H5E_DEFAULT);
        return err_fail(err, errlen, "%s: corrupt pictor dataset: attribute '%s' must be 1 or "
                        "3", r->path, ATTR_CHANNELS);
    }
    o->channels = (int)c;
    o->annotations = (exists(r, "mask") ? STORE_MASK : 0) |
                     (exists(r, STORE_GROUP_INSTANCES) ? STORE_INSTANCES : 0) |
                     (exists(r, STORE_GROUP_POINTS) ? STORE_POINTS : 0) |
                     (exists(r, "area_ratio") ? STORE_AREA : 0) |
                     (exists(r, STORE_GROUP_DEPTH) ? STORE_DEPTH : 0);
    o->file_names = exists(r, STORE_COLUMNS[COL_NAME].path);
    if (o->annotations & STORE_MASK) {
        if ((k = read_choice(r, ATTR_MASK_STORAGE, "png", "raw", err, errlen)) < 0)
            return -1;
        o->masks = k ? STORE_RAW : STORE_ENCODED;
    }
    if (o->annotations & STORE_DEPTH) {
        if ((k = read_choice(r, ATTR_DEPTH_TYPE, "float32", "float16", err, errlen)) < 0)
            return -1;
        o->depth = k ? STORE_DEPTH_F16 : STORE_DEPTH_F32;
    }
    if (store_attr_read_str(r->file, ATTR_SOURCE, &r->source) < 0)
        H5Eclear2(H5E_DEFAULT);
    o->source = r->source ? r->source : "";
    return 0;
}

/* ---------------------------------------------------------------- opening: arrays and names */

static int read_names(store_reader *r, const char *ds, char ***names, int *n, char *err,
                      size_t errlen)
{
    *names = NULL;
    *n = 0;
    if (!exists(r, ds))
        return 0;
    hid_t d = H5Dopen2(r->file, ds, H5P_DEFAULT);
    hid_t s = d >= 0 ? H5Dget_space(d) : -1, t = d >= 0 ? H5Dget_type(d) : -1;
    hssize_t cnt = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    int ok = t >= 0 && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0 &&
             cnt >= 0 && cnt < INT32_MAX;
    if (ok && cnt > 0) {
        *names = calloc((size_t)cnt, sizeof **names);
        ok = *names && H5Dread(d, store_types_get()->str, H5S_ALL, H5S_ALL, r->dxpl, *names) >= 0;
    }
    if (ok)
        *n = (int)cnt;
    for (int k = 0; ok && k < *n; k++)
        if (!(*names)[k] && !((*names)[k] = strdup("")))
            ok = 0;
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    if (d >= 0)
        H5Dclose(d);
    if (!ok)
        return store_fail_h5(err, errlen, "%s: dataset '/%s' is corrupt: expected a list of "
                             "variable-length strings", r->path, ds);
    return 0;
}

static int load_item_arrays(store_reader *r, char *err, size_t errlen)
{
    size_t n = (size_t)r->layout.count;
    r->labels = malloc((n ? n : 1) * sizeof *r->labels);
    r->domains = malloc((n ? n : 1) * sizeof *r->domains);
    r->groups = malloc((n ? n : 1) * sizeof *r->groups);
    if (!r->labels || !r->domains || !r->groups)
        return err_fail(err, errlen, "%s: out of memory for %zu items", r->path, n);
    if (read_rows(r, COL_LABEL, 0, (int64_t)n, H5T_NATIVE_INT32, r->labels, err, errlen) ||
        read_rows(r, COL_DOMAIN, 0, (int64_t)n, H5T_NATIVE_INT32, r->domains, err, errlen) ||
        read_rows(r, COL_GROUP, 0, (int64_t)n, H5T_NATIVE_INT64, r->groups, err, errlen))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (r->labels[i] < -1 || (r->n_classes > 0 && r->labels[i] >= r->n_classes))
            return corrupt(r, COL_LABEL, err, errlen, "a label is out of range of the classes");
        if (r->domains[i] < -1 || (r->n_domains > 0 && r->domains[i] >= r->n_domains))
            return corrupt(r, COL_DOMAIN, err, errlen, "a domain is out of range of the names");
    }
    return 0;
}

/* ---------------------------------------------------------------- opening */

static int check_raw_shape(store_reader *r, char *err, size_t errlen)
{
    store_options *o = &r->layout.o;
    if (o->images == STORE_RAW) {
        if ((int)r->inner[COL_IMAGE][2] != o->channels)
            return corrupt(r, COL_IMAGE, err, errlen, "channels differ from the attribute");
        o->height = (int)r->inner[COL_IMAGE][0];
        o->width = (int)r->inner[COL_IMAGE][1];
        if ((int64_t)o->height * o->width > IMAGE_MAX_PIXELS || o->height <= 0 || o->width <= 0)
            return corrupt(r, COL_IMAGE, err, errlen, "image size out of range");
        check_direct(r, COL_IMAGE);
    }
    if ((o->annotations & STORE_MASK) && o->masks == STORE_RAW) {
        if (o->images != STORE_RAW || (int)r->inner[COL_MASK][0] != o->height ||
            (int)r->inner[COL_MASK][1] != o->width)
            return corrupt(r, COL_MASK, err, errlen, "raw masks must have the images' size");
        check_direct(r, COL_MASK);
    }
    return 0;
}

static int open_columns(store_reader *r, char *err, size_t errlen)
{
    for (int l = 0; l < N_LEVELS; l++)
        r->rows[l] = -1;
    for (int id = 0; id < N_COLUMNS; id++)
        if (store_column_present(&r->layout.o, id) && open_column(r, id, err, errlen))
            return -1;
    for (int l = 0; l < N_LEVELS; l++)
        if (r->rows[l] < 0)
            r->rows[l] = 0;
    r->layout.count = r->rows[LVL_ITEM];
    r->layout.n_instances = r->rows[LVL_INSTANCE];
    r->layout.n_polygons = r->rows[LVL_POLYGON];
    r->layout.n_vertices = r->rows[LVL_VERTEX];
    r->layout.n_points = r->rows[LVL_POINT];
    int64_t count = 0;
    if (store_attr_read_i64(r->file, ATTR_COUNT, &count) <= 0 || count != r->layout.count) {
        H5Eclear2(H5E_DEFAULT);
        return err_fail(err, errlen, "%s: corrupt pictor dataset: attribute '%s' missing or "
                        "not equal to the %lld rows of '/label'", r->path, ATTR_COUNT,
                        (long long)r->layout.count);
    }
    if (r->layout.o.annotations & STORE_DEPTH) {
        hid_t t = H5Dget_type(r->dset[COL_DEPTH_VALUES]);
        r->depth_f16 = t >= 0 && H5Tget_size(t) == 2;
        if (t >= 0)
            H5Tclose(t);
    }
    return check_raw_shape(r, err, errlen);
}

static int open_file(store_reader *r, char *err, size_t errlen)
{
    htri_t is = H5Fis_hdf5(r->path);
    if (is <= 0) {
        if (is < 0)
            return store_fail_h5(err, errlen, "%s: cannot read the file", r->path);
        return err_fail(err, errlen, "%s: not an HDF5 file (no HDF5 signature)", r->path);
    }
    r->file = H5Fopen(r->path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (r->file < 0)
        return store_fail_h5(err, errlen, "%s: corrupt HDF5 file", r->path);
    r->dxpl = H5Pcreate(H5P_DATASET_XFER);
    if (r->dxpl < 0 || H5Pset_vlen_mem_manager(r->dxpl, store_vlen_alloc, NULL, store_vlen_free,
                                               NULL) < 0)
        return store_fail_h5(err, errlen, "%s: cannot set up reading", r->path);
    return 0;
}

static int open_all(store_reader *r, char *err, size_t errlen)
{
    if (open_file(r, err, errlen) || read_format(r, err, errlen) ||
        read_options(r, err, errlen) || open_columns(r, err, errlen) ||
        read_names(r, DS_CLASS_NAMES, &r->class_names, &r->n_classes, err, errlen) ||
        read_names(r, DS_DOMAIN_NAMES, &r->domain_names, &r->n_domains, err, errlen) ||
        load_item_arrays(r, err, errlen))
        return -1;
    return 0;
}

static void free_names(char **names, int n)
{
    for (int k = 0; names && k < n; k++)
        free(names[k]);
    free(names);
}

/* Close every HDF5 object of r. Lock held. */
static void close_handles(store_reader *r)
{
    for (int id = 0; id < N_COLUMNS; id++)
        if (r->dset[id] >= 0)
            H5Dclose(r->dset[id]), r->dset[id] = -1;
    if (r->dxpl >= 0)
        H5Pclose(r->dxpl), r->dxpl = -1;
    if (r->file >= 0)
        H5Fclose(r->file), r->file = -1;
    H5Eclear2(H5E_DEFAULT);
}

store_reader *store_open(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        err_fail(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        err_fail(err, errlen, "%s: not a regular file", path);
        return NULL;
    }
    store_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        err_fail(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    r->file = r->dxpl = -1;
    for (int id = 0; id < N_COLUMNS; id++)
        r->dset[id] = -1;
    store_h5_lock();
    int rc = open_all(r, err, errlen);
    store_h5_unlock();
    if (rc != 0) {
        store_close(r);
        return NULL;
    }
    return r;
}

void store_close(store_reader *r)
{
    if (!r)
        return;
    store_h5_lock();
    close_handles(r);
    store_h5_unlock();
    free_names(r->class_names, r->n_classes);
    free_names(r->domain_names, r->n_domains);
    free(r->labels);
    free(r->domains);
    free(r->groups);
    free(r->source);
    free(r->path);
    free(r);
}

/* ---------------------------------------------------------------- accessors */

const char *store_path(const store_reader *r) { return r->path; }
int64_t store_count(const store_reader *r) { return r->layout.count; }
const store_layout *store_layout_of(const store_reader *r) { return &r->layout; }
const int32_t *store_labels(const store_reader *r) { return r->labels; }
const int32_t *store_domains(const store_reader *r) { return r->domains; }
const int64_t *store_groups(const store_reader *r) { return r->groups; }
int store_num_classes(const store_reader *r) { return r->n_classes; }
int store_num_domains(const store_reader *r) { return r->n_domains; }

const char *store_class_name(const store_reader *r, int k)
{
    return k >= 0 && k < r->n_classes ? r->class_names[k] : NULL;
}

const char *store_domain_name(const store_reader *r, int k)
{
    return k >= 0 && k < r->n_domains ? r->domain_names[k] : NULL;
}

const char *const *store_class_names(const store_reader *r)
{
    return (const char *const *)r->class_names;
}

const char *const *store_domain_names(const store_reader *r)
{
    return (const char *const *)r->domain_names;
}

/* ---------------------------------------------------------------- fetching (lock held) */

/* Bytes of one stored pixel array: encoded bytes, raw pixels, or a deflated raw chunk. */
typedef struct {
    uint8_t *bytes;
    size_t len;
    int deflated;
} blob;

/* What phase one of a read fetches for phase two. */
typedef struct {
    int32_t shape[3];
    blob image, mask;
    float area[2];
    int32_t n_inst;
    int32_t *inst_class, *poly_count, *vcount;
    int32_t *inst_mask_count; /* bytes of each instance's PNG, in a row in inst_mask_bytes */
    uint8_t *inst_mask_bytes;
    int64_t n_poly, n_vert;
    float *vxy;
    int32_t n_points;
    float *points;
    void *depth; /* h*w half or single floats, or NULL */
} fetched;

static void fetched_free(fetched *f)
{
    free(f->image.bytes);
    free(f->mask.bytes);
    free(f->inst_class);
    free(f->poly_count);
    free(f->vcount);
    free(f->inst_mask_count);
    free(f->inst_mask_bytes);
    free(f->vxy);
    free(f->points);
    free(f->depth);
}

static int fetch_raw(store_reader *r, column_id id, int64_t i, size_t row_bytes, blob *b,
                     char *err, size_t errlen)
{
    hsize_t off[4] = {(hsize_t)i, 0, 0, 0}, nbytes = 0;
    if (r->direct[id] && H5Dget_chunk_storage_size(r->dset[id], off, &nbytes) >= 0 && nbytes > 0 &&
        nbytes <= 2 * row_bytes + 1024) {
        uint32_t filters = 0;
        if (!(b->bytes = malloc(nbytes)))
            return err_fail(err, errlen, "%s: out of memory", r->path);
        if (H5Dread_chunk(r->dset[id], H5P_DEFAULT, off, &filters, b->bytes) < 0)
            return store_fail_h5(err, errlen, "%s: cannot read item %lld of '/%s'", r->path,
                                 (long long)i, STORE_COLUMNS[id].path);
        b->len = nbytes;
        b->deflated = r->filtered[id] && !(filters & 1u);
        return 0;
    }
    H5Eclear2(H5E_DEFAULT);
    if (!(b->bytes = malloc(row_bytes)))
        return err_fail(err, errlen, "%s: out of memory", r->path);
    b->len = row_bytes;
    b->deflated = 0;
    return read_rows(r, id, i, 1, H5T_NATIVE_UINT8, b->bytes, err, errlen);
}

/* Read n int64 starts and int32 counts of rows [first, first + n), check that they describe one
 * contiguous run of rows of the next table (of next_rows rows) and return its start and length.
 * counts (n values) is returned malloc'ed. */
static int fetch_run(store_reader *r, column_id start_col, column_id count_col, int64_t first,
                     int64_t n, int64_t next_rows, int32_t **counts, int64_t *run_start,
                     int64_t *run_len, char *err, size_t errlen)
{
    *counts = NULL;
    *run_start = *run_len = 0;
    if (n == 0)
        return 0;
    int64_t *starts = malloc((size_t)n * sizeof *starts);
    *counts = malloc((size_t)n * sizeof **counts);
    int rc = !starts || !*counts ? err_fail(err, errlen, "%s: out of memory", r->path) : 0;
    if (rc == 0)
        rc = read_rows(r, start_col, first, n, H5T_NATIVE_INT64, starts, err, errlen);
    if (rc == 0)
        rc = read_rows(r, count_col, first, n, H5T_NATIVE_INT32, *counts, err, errlen);
    int64_t at = n > 0 ? starts[0] : 0;
    for (int64_t k = 0; rc == 0 && k < n; k++) {
        if (starts[k] != at || (*counts)[k] < 0)
            rc = corrupt(r, start_col, err, errlen, "runs of rows are not contiguous");
        at += (*counts)[k];
    }
    if (rc == 0 && (starts[0] < 0 || at > next_rows))
        rc = corrupt(r, start_col, err, errlen, "a run of rows ends past its table");
    if (rc == 0) {
        *run_start = starts[0];
        *run_len = at - starts[0];
    }
    free(starts);
    return rc;
}

/* Bytes [start, start + n) of a byte table, malloc'ed (NULL when n == 0). */
static int fetch_byte_range(store_reader *r, column_id id, int64_t start, int64_t n,
                            uint8_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (n == 0)
        return 0;
    if (!(*out = malloc((size_t)n)))
        return err_fail(err, errlen, "%s: out of memory", r->path);
    return read_rows(r, id, start, n, H5T_NATIVE_UINT8, *out, err, errlen);
}

/* The encoded file of item i in a byte table (COL_x, then its _START and _COUNT columns). */
static int fetch_encoded(store_reader *r, column_id id, int64_t i, blob *b, char *err,
                         size_t errlen)
{
    int32_t *count = NULL;
    int64_t start = 0, n = 0;
    int rc = fetch_run(r, id + 1, id + 2, i, 1, r->rows[store_column_level(&r->layout.o, id)],
                       &count, &start, &n, err, errlen);
    free(count);
    if (rc == 0)
        rc = fetch_byte_range(r, id, start, n, &b->bytes, err, errlen);
    b->len = (size_t)n;
    b->deflated = 0;
    return rc;
}

static int fetch_pixels(store_reader *r, column_id id, int64_t i, size_t row_bytes, blob *b,
                        char *err, size_t errlen)
{
    return is_raw_pixels(r, id) ? fetch_raw(r, id, i, row_bytes, b, err, errlen)
                                : fetch_encoded(r, id, i, b, err, errlen);
}

static int fetch_instances(store_reader *r, int64_t i, fetched *f, char *err, size_t errlen)
{
    int32_t *count1 = NULL;
    int64_t first = 0, n = 0, p0 = 0, v0 = 0;
    if (fetch_run(r, COL_INST_START, COL_INST_COUNT, i, 1, r->rows[LVL_INSTANCE], &count1,
                  &first, &n, err, errlen)) {
        free(count1);
        return -1;
    }
    free(count1);
    if (n == 0)
        return 0;
    f->n_inst = (int32_t)n;
    f->inst_class = malloc((size_t)n * sizeof *f->inst_class);
    if (!f->inst_class)
        return err_fail(err, errlen, "%s: out of memory", r->path);
    int64_t m0 = 0, mlen = 0;
    if (read_rows(r, COL_INST_CLASS, first, n, H5T_NATIVE_INT32, f->inst_class, err, errlen) ||
        fetch_run(r, COL_INST_MASK_START, COL_INST_MASK_COUNT, first, n,
                  r->rows[LVL_INST_MASK_BYTES], &f->inst_mask_count, &m0, &mlen, err, errlen) ||
        fetch_byte_range(r, COL_INST_MASK, m0, mlen, &f->inst_mask_bytes, err, errlen) ||
        fetch_run(r, COL_INST_POLY_START, COL_INST_POLY_COUNT, first, n, r->rows[LVL_POLYGON],
                  &f->poly_count, &p0, &f->n_poly, err, errlen) ||
        fetch_run(r, COL_POLY_VSTART, COL_POLY_VCOUNT, p0, f->n_poly, r->rows[LVL_VERTEX],
                  &f->vcount, &v0, &f->n_vert, err, errlen))
        return -1;
    if (f->n_vert > 0 && !(f->vxy = malloc((size_t)f->n_vert * 2 * sizeof(float))))
        return err_fail(err, errlen, "%s: out of memory", r->path);
    return read_rows(r, COL_VERTEX_XY, v0, f->n_vert, H5T_NATIVE_FLOAT, f->vxy, err, errlen);
}

static int fetch_points(store_reader *r, int64_t i, fetched *f, char *err, size_t errlen)
{
    int32_t *count1 = NULL;
    int64_t first = 0, n = 0;
    int rc = fetch_run(r, COL_PT_START, COL_PT_COUNT, i, 1, r->rows[LVL_POINT], &count1, &first,
                       &n, err, errlen);
    free(count1);
    if (rc || n == 0)
        return rc;
    if (n > INT32_MAX / 2 || !(f->points = malloc((size_t)n * 2 * sizeof(float))))
        return err_fail(err, errlen, "%s: out of memory", r->path);
    f->n_points = (int32_t)n;
    return read_rows(r, COL_PT_XY, first, n, H5T_NATIVE_FLOAT, f->points, err, errlen);
}

static int fetch_depth(store_reader *r, int64_t i, fetched *f, char *err, size_t errlen)
{
    int64_t start = -1, n = (int64_t)f->shape[0] * f->shape[1];
    if (read_rows(r, COL_DEPTH_START, i, 1, H5T_NATIVE_INT64, &start, err, errlen))
        return -1;
    if (start < 0)
        return 0;
    if (start + n > r->rows[LVL_DEPTH])
        return corrupt(r, COL_DEPTH_START, err, errlen, "a depth map ends past '/depth/values'");
    size_t esize = r->depth_f16 ? 2 : 4;
    if (!(f->depth = malloc((size_t)n * esize)))
        return err_fail(err, errlen, "%s: out of memory", r->path);
    hid_t mt = r->depth_f16 ? store_types_get()->f16 : H5T_NATIVE_FLOAT;
    return read_rows(r, COL_DEPTH_VALUES, start, n, mt, f->depth, err, errlen);
}

static int fetch_item(store_reader *r, int64_t i, unsigned parts, fetched *f, char *err,
                      size_t errlen)
{
    const store_options *o = &r->layout.o;
    unsigned have = parts & (o->annotations | STORE_IMAGE);
    if (read_rows(r, COL_SHAPE, i, 1, H5T_NATIVE_INT32, f->shape, err, errlen))
        return -1;
    int32_t h = f->shape[0], w = f->shape[1], c = f->shape[2];
    if (h <= 0 || w <= 0 || (int64_t)h * w > IMAGE_MAX_PIXELS || c != o->channels ||
        (o->images == STORE_RAW && (h != o->height || w != o->width)))
        return corrupt(r, COL_SHAPE, err, errlen, "an image size is out of range");
    size_t pixels = (size_t)h * (size_t)w;
    if ((have & STORE_IMAGE) &&
        fetch_pixels(r, COL_IMAGE, i, pixels * (size_t)c, &f->image, err, errlen))
        return -1;
    if ((have & STORE_MASK) && fetch_pixels(r, COL_MASK, i, pixels, &f->mask, err, errlen))
        return -1;
    if ((have & STORE_AREA) &&
        (read_rows(r, COL_AREA_RATIO, i, 1, H5T_NATIVE_FLOAT, &f->area[0], err, errlen) ||
         read_rows(r, COL_AREA_ERROR, i, 1, H5T_NATIVE_FLOAT, &f->area[1], err, errlen)))
        return -1;
    if ((have & STORE_INSTANCES) && fetch_instances(r, i, f, err, errlen))
        return -1;
    if ((have & STORE_POINTS) && fetch_points(r, i, f, err, errlen))
        return -1;
    if ((have & STORE_DEPTH) && fetch_depth(r, i, f, err, errlen))
        return -1;
    return 0;
}

/* ---------------------------------------------------------------- decoding (no lock) */

/* Raw pixels of n bytes from a blob (inflating a deflated chunk). */
static int raw_pixels(blob *b, size_t n, uint8_t **out, char *msg, size_t msglen)
{
    if (!b->deflated) {
        if (b->len != n)
            return err_fail(msg, msglen, "raw chunk has %zu bytes, expected %zu", b->len, n);
        *out = b->bytes;
        b->bytes = NULL;
        return 0;
    }
    uint8_t *px = malloc(n);
    uLongf got = (uLongf)n;
    if (!px)
        return err_fail(msg, msglen, "out of memory");
    int zr = uncompress(px, &got, b->bytes, (uLong)b->len);
    if (zr != Z_OK || got != n) {
        free(px);
        return err_fail(msg, msglen, "raw chunk does not inflate (zlib %d)", zr);
    }
    *out = px;
    return 0;
}

/* An encoded (or raw) pixel array as h x w x c pixels. */
static int decode_pixels(const store_reader *r, column_id id, blob *b, int h, int w, int c,
                         uint8_t **out, char *msg, size_t msglen)
{
    *out = NULL;
    if (is_raw_pixels(r, id))
        return raw_pixels(b, (size_t)h * w * c, out, msg, msglen);
    int dh, dw, dc;
    if (image_decode(b->bytes, b->len, c, out, &dh, &dw, &dc, msg, msglen))
        return -1;
    if (dh != h || dw != w) {
        free(*out);
        *out = NULL;
        return err_fail(msg, msglen, "decodes to %dx%d, '/image_shape' says %dx%d", dw, dh, w,
                        h);
    }
    return 0;
}

static int build_instances(const store_reader *r, fetched *f, sample *s, char *msg,
                           size_t msglen)
{
    if (f->n_inst == 0)
        return 0;
    if (!(s->instances = calloc((size_t)f->n_inst, sizeof *s->instances)))
        return err_fail(msg, msglen, "out of memory");
    s->n_instances = f->n_inst;
    int64_t p = 0, v = 0;
    size_t at = 0;
    for (int k = 0; k < f->n_inst; k++) {
        instance *in = &s->instances[k];
        in->class_id = f->inst_class[k];
        size_t mlen = (size_t)f->inst_mask_count[k];
        at += mlen;
        if (mlen > 0) {
            blob b = {f->inst_mask_bytes + at - mlen, mlen, 0};
            char why[400];
            if (decode_pixels(r, COL_INST_MASK, &b, s->h, s->w, 1, &in->mask, why, sizeof why))
                return err_fail(msg, msglen, "instance %d mask: %s", k, why);
        }
        int np = f->poly_count[k];
        if (np > 0 && !(in->polygons = calloc((size_t)np, sizeof *in->polygons)))
            return err_fail(msg, msglen, "out of memory");
        in->n_polygons = np;
        for (int q = 0; q < np; q++, p++) {
            int nv = f->vcount[p];
            in->polygons[q].n = nv;
            if (nv == 0)
                continue;
            if (!(in->polygons[q].xy = malloc((size_t)nv * 2 * sizeof(float))))
                return err_fail(msg, msglen, "out of memory");
            memcpy(in->polygons[q].xy, f->vxy + 2 * v, (size_t)nv * 2 * sizeof(float));
            v += nv;
        }
    }
    return 0;
}

static int build_depth(const store_reader *r, fetched *f, sample *s, char *msg, size_t msglen)
{
    size_t n = (size_t)s->h * (size_t)s->w;
    if (!r->depth_f16) {
        s->depth = f->depth;
        f->depth = NULL;
        return 0;
    }
    if (!(s->depth = malloc(n * sizeof *s->depth)))
        return err_fail(msg, msglen, "out of memory");
    const uint16_t *h = f->depth;
    for (size_t k = 0; k < n; k++)
        s->depth[k] = store_f16_to_f32(h[k]);
    return 0;
}

static int build_sample(const store_reader *r, unsigned parts, fetched *f, sample *s, char *msg,
                        size_t msglen)
{
    s->h = f->shape[0];
    s->w = f->shape[1];
    s->c = f->shape[2];
    unsigned have = parts & (r->layout.o.annotations | STORE_IMAGE);
    char why[400];
    if ((have & STORE_IMAGE) &&
        decode_pixels(r, COL_IMAGE, &f->image, s->h, s->w, s->c, &s->image, why, sizeof why))
        return err_fail(msg, msglen, "image: %s", why);
    if ((have & STORE_MASK) && (f->mask.len > 0 || is_raw_pixels(r, COL_MASK)) &&
        decode_pixels(r, COL_MASK, &f->mask, s->h, s->w, 1, &s->mask, why, sizeof why))
        return err_fail(msg, msglen, "mask: %s", why);
    if (have & STORE_AREA) {
        s->area_ratio = f->area[0];
        s->area_error = f->area[1];
    }
    if (build_instances(r, f, s, msg, msglen))
        return -1;
    if (f->n_points > 0) {
        s->points = f->points;
        s->n_points = f->n_points;
        f->points = NULL;
    }
    if (f->depth && build_depth(r, f, s, msg, msglen))
        return -1;
    return 0;
}

/* ---------------------------------------------------------------- reading */

int store_read(store_reader *r, int64_t i, unsigned parts, sample *out, char *err, size_t errlen)
{
    if (i < 0 || i >= r->layout.count)
        return err_fail(err, errlen, "%s: item %lld out of range (%lld items)", r->path,
                        (long long)i, (long long)r->layout.count);
    out->index = i;
    out->label = r->labels[i];
    out->domain = r->domains[i];
    out->group = r->groups[i];
    fetched f;
    memset(&f, 0, sizeof f);
    store_h5_lock();
    int rc = fetch_item(r, i, parts, &f, err, errlen);
    store_h5_unlock();
    if (rc == 0) {
        char msg[512];
        rc = build_sample(r, parts, &f, out, msg, sizeof msg);
        if (rc != 0)
            err_fail(err, errlen, "%s: item %lld: %s", r->path, (long long)i, msg);
    }
    fetched_free(&f);
    return rc;
}

int store_read_image_bytes(store_reader *r, int64_t i, uint8_t **data, size_t *len, char *err,
                           size_t errlen)
{
    *data = NULL;
    *len = 0;
    if (i < 0 || i >= r->layout.count)
        return err_fail(err, errlen, "%s: item %lld out of range (%lld items)", r->path,
                        (long long)i, (long long)r->layout.count);
    const store_options *o = &r->layout.o;
    size_t row = (size_t)o->height * (size_t)o->width * (size_t)o->channels;
    blob b = {0};
    store_h5_lock();
    int rc = fetch_pixels(r, COL_IMAGE, i, row, &b, err, errlen);
    store_h5_unlock();
    if (rc == 0 && o->images == STORE_RAW) {
        char msg[256];
        uint8_t *px = NULL;
        rc = raw_pixels(&b, row, &px, msg, sizeof msg);
        if (rc != 0)
            err_fail(err, errlen, "%s: item %lld: %s", r->path, (long long)i, msg);
        else
            *data = px, *len = row;
    } else if (rc == 0) {
        *data = b.bytes;
        *len = b.len;
        b.bytes = NULL;
    }
    free(b.bytes);
    return rc;
}

int store_image_shapes(store_reader *r, int64_t start, int64_t n, int32_t *hwc, char *err,
                       size_t errlen)
{
    if (start < 0 || n < 0 || start + n > r->layout.count)
        return err_fail(err, errlen, "%s: items %lld..%lld out of range (%lld items)", r->path,
                        (long long)start, (long long)(start + n - 1),
                        (long long)r->layout.count);
    store_h5_lock();
    int rc = read_rows(r, COL_SHAPE, start, n, H5T_NATIVE_INT32, hwc, err, errlen);
    store_h5_unlock();
    return rc;
}

/* ---------------------------------------------------------------- file names */

void store_free_names(char **names, int64_t n)
{
    for (int64_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

/* The names from the byte table (starts, counts, bytes already read): checked, split. */
static int split_names(const store_reader *r, const int64_t *start, const int32_t *count,
                       const uint8_t *bytes, int64_t nbytes, char **names, char *err,
                       size_t errlen)
{
    for (int64_t i = 0; i < r->layout.count; i++) {
        if (count[i] < 0 || start[i] < 0 || start[i] + count[i] > nbytes)
            return corrupt(r, COL_NAME_START, err, errlen, "a name lies outside '/file_name'");
        if (!(names[i] = malloc((size_t)count[i] + 1)))
            return err_fail(err, errlen, "%s: out of memory", r->path);
        memcpy(names[i], bytes + start[i], (size_t)count[i]);
        names[i][count[i]] = 0;
    }
    return 0;
}

int store_file_names(store_reader *r, char ***names, char *err, size_t errlen)
{
    *names = NULL;
    if (!r->layout.o.file_names)
        return 0;
    int64_t n = r->layout.count, nbytes = r->rows[LVL_NAME_BYTES];
    int64_t *start = malloc(((size_t)n + 1) * sizeof *start);
    int32_t *count = malloc(((size_t)n + 1) * sizeof *count);
    uint8_t *bytes = malloc((size_t)nbytes + 1);
    char **out = calloc((size_t)n + 1, sizeof *out);
    int rc = start && count && bytes && out ? 0
             : err_fail(err, errlen, "%s: out of memory", r->path);
    if (rc == 0) {
        store_h5_lock();
        rc = read_rows(r, COL_NAME_START, 0, n, H5T_NATIVE_INT64, start, err, errlen) ||
                     read_rows(r, COL_NAME_COUNT, 0, n, H5T_NATIVE_INT32, count, err, errlen) ||
                     read_rows(r, COL_NAME, 0, nbytes, H5T_NATIVE_UINT8, bytes, err, errlen)
                 ? -1
                 : 0;
        store_h5_unlock();
    }
    if (rc == 0)
        rc = split_names(r, start, count, bytes, nbytes, out, err, errlen);
    free(start);
    free(count);
    free(bytes);
    if (rc != 0) {
        store_free_names(out, n);
        return -1;
    }
    *names = out;
    return 1;
}

/* ---------------------------------------------------------------- summary */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t distinct_groups(const store_reader *r)
{
    size_t n = 0;
    int64_t *g = malloc(((size_t)r->layout.count + 1) * sizeof *g);
    if (!g)
        return -1;
    for (int64_t i = 0; i < r->layout.count; i++)
        if (r->groups[i] >= 0)
            g[n++] = r->groups[i];
    qsort(g, n, sizeof *g, cmp_i64);
    int64_t d = 0;
    for (size_t k = 0; k < n; k++)
        d += k == 0 || g[k] != g[k - 1];
    free(g);
    return d;
}

/* Count the rows of [start, start + n) of one per-item column that pass a test. */
static int count_block(store_reader *r, column_id id, int64_t start, int64_t n, void *buf,
                       int64_t *count, char *err, size_t errlen)
{
    col_kind k = STORE_COLUMNS[id].kind;
    hid_t mt = k == KIND_I32 ? H5T_NATIVE_INT32 : k == KIND_I64 ? H5T_NATIVE_INT64
                                                                : H5T_NATIVE_FLOAT;
    if (read_rows(r, id, start, n, mt, buf, err, errlen))
        return -1;
    for (int64_t j = 0; j < n; j++)
        *count += k == KIND_I32   ? ((int32_t *)buf)[j] > 0
                  : k == KIND_I64 ? ((int64_t *)buf)[j] >= 0
                                  : !isnan(((float *)buf)[j]);
    return 0;
}

static int summarize_block(store_reader *r, int64_t start, int64_t n, void *buf,
                           store_summary *s, char *err, size_t errlen)
{
    int32_t *hwc = buf;
    if (read_rows(r, COL_SHAPE, start, n, H5T_NATIVE_INT32, hwc, err, errlen))
        return -1;
    for (int64_t j = 0; j < n; j++) {
        int h = hwc[3 * j], w = hwc[3 * j + 1];
        if (start + j == 0 || h < s->min_h) s->min_h = h;
        if (start + j == 0 || h > s->max_h) s->max_h = h;
        if (start + j == 0 || w < s->min_w) s->min_w = w;
        if (start + j == 0 || w > s->max_w) s->max_w = w;
    }
    unsigned a = r->layout.o.annotations;
    if ((a & STORE_INSTANCES) &&
        count_block(r, COL_INST_COUNT, start, n, buf, &s->items_with_instances, err, errlen))
        return -1;
    if ((a & STORE_POINTS) &&
        count_block(r, COL_PT_COUNT, start, n, buf, &s->items_with_points, err, errlen))
        return -1;
    if ((a & STORE_DEPTH) &&
        count_block(r, COL_DEPTH_START, start, n, buf, &s->items_with_depth, err, errlen))
        return -1;
    if ((a & STORE_AREA) &&
        count_block(r, COL_AREA_RATIO, start, n, buf, &s->items_with_area, err, errlen))
        return -1;
    return 0;
}

int store_summarize(store_reader *r, store_summary *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    void *buf = malloc((size_t)READ_BLOCK * 3 * sizeof(int32_t));
    if (!buf)
        return err_fail(err, errlen, "%s: out of memory", r->path);
    int rc = 0;
    store_h5_lock();
    for (int64_t start = 0; rc == 0 && start < r->layout.count; start += READ_BLOCK) {
        int64_t n = r->layout.count - start < READ_BLOCK ? r->layout.count - start : READ_BLOCK;
        rc = summarize_block(r, start, n, buf, s, err, errlen);
    }
    store_h5_unlock();
    free(buf);
    s->distinct_groups = distinct_groups(r);
    return rc;
}

/* ---------------------------------------------------------------- ds_source */

static int source_read(void *ctx, int64_t index, sample *out, char *err, size_t errlen)
{
    return store_read(ctx, index, STORE_READ_ALL, out, err, errlen);
}

void store_source(store_reader *r, ds_source *src)
{
    memset(src, 0, sizeof *src);
    src->ctx = r;
    src->count = r->layout.count;
    src->read = source_read;
    src->labels = r->n_classes > 0 ? r->labels : NULL;
    int all_domains = r->n_domains > 0;
    for (int64_t i = 0; all_domains && i < r->layout.count; i++)
        all_domains = r->domains[i] >= 0;
    if (all_domains) {
        src->domains = r->domains;
        src->n_domains = r->n_domains;
        src->domain_names = (const char *const *)r->domain_names;
    }
}
