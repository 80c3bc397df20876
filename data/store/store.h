/*
 * store.h - the HDF5 dataset store: one file layout for every model type (see data/README.md).
 *
 * Owns: writing a dataset incrementally into "<path>.tmp.<pid>" and committing it atomically
 * (flush, close, fsync, rename), so a failed or interrupted import never leaves a half file under
 * the final name; opening a dataset with a check of its layout version and of every dataset it
 * needs (errors name the file and the missing or corrupt dataset); random access to item i
 * (image decoded by data/image.c, every annotation the file holds) into a `sample`; the label,
 * domain and group arrays for samplers; class and domain names; a ds_source for the loader.
 * It does not own importers (data/import.h), augmentation or batching.
 *
 * THREADS AND HDF5
 *   Debian's libhdf5 is built without its thread-safety option, so no two HDF5 calls may run at
 *   once anywhere in the process. Every HDF5 call in pictor goes through ONE global mutex:
 *   store_h5_lock() / store_h5_unlock(). Any other module that calls HDF5 directly (an exporter,
 *   a test) must take it too. The store holds the lock only while it moves bytes in or out of the
 *   file: decompression of raw image chunks, JPEG/PNG decoding and encoding happen outside it,
 *   so several loader threads calling store_read() on one reader scale with the cores.
 *   A store_reader may be used from any number of threads at once; a store_writer from one.
 *   HDF5's automatic error printing is switched off; its error stack is turned into the messages
 *   returned here.
 *
 * ERRORS
 *   Functions return 0 (or a valid pointer) on success; -1 (or NULL) on failure with a message in
 *   err (when err is not NULL and errlen > 0) that names the file, and the dataset and item when
 *   one is involved: "x.h5: missing dataset '/label' (not a complete pictor dataset)".
 */
#ifndef PICTOR_DATA_STORE_H
#define PICTOR_DATA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/sample.h"
#include "pipeline/source.h"

/* The layout version this build writes and reads (root attribute "layout_version"). */
#define STORE_LAYOUT_VERSION 1
/* The value of the root attribute "pictor_format" that marks a pictor dataset. */
#define STORE_FORMAT_NAME "pictor-dataset"

/* Annotation kinds a dataset may hold, as bit flags. label, domain and group are always there
 * (-1 = none). STORE_IMAGE is only meaningful as a store_read() part. */
enum {
    STORE_MASK = 1u << 0,      /* per-item mask (semantic / salient region), h x w u8 */
    STORE_INSTANCES = 1u << 1, /* per-item list of instances: class, mask and/or polygons */
    STORE_POINTS = 1u << 2,    /* per-item list of (x, y) points */
    STORE_AREA = 1u << 3,      /* per-item area_ratio and area_error */
    STORE_DEPTH = 1u << 4,     /* per-item h x w depth map */
    STORE_IMAGE = 1u << 5,     /* store_read(): decode the image */
    STORE_READ_ALL = 0x3Fu
};

typedef enum {
    STORE_ENCODED = 0, /* JPEG/PNG file bytes per item, as given (a byte table) */
    STORE_RAW = 1      /* fixed-size uint8 array, one chunk per item */
} store_storage;

typedef enum { STORE_DEPTH_F32 = 0, STORE_DEPTH_F16 = 1 } store_depth_type;

/* What a dataset holds: given to store_create(), reported by store_layout_of(). */
typedef struct {
    store_storage images;   /* ENCODED: image bytes as given; RAW: [N,H,W,C] u8 */
    int channels;           /* 1 or 3: what every image decodes to (RAW: the stored C) */
    int height, width;      /* RAW images only: every image's size (0 for ENCODED) */
    unsigned annotations;   /* STORE_MASK | STORE_INSTANCES | ... */
    store_storage masks;    /* ENCODED: PNG per item (may be absent per item); RAW: [N,H,W] u8,
                               every item has one (needs RAW images) */
    store_depth_type depth; /* file type of depth maps */
    int file_names;         /* 1: a source file name per item, as the importer saw it (relative
                               to its image folder): store_set_item_name, store_file_names */
    const char *source;     /* free text, kept as the "source" attribute; may be NULL */
} store_options;

/* ------------------------------------------------------------------------------------ locking */

void store_h5_lock(void);
void store_h5_unlock(void);

/* ------------------------------------------------------------------------------------ writing */

typedef struct store_writer store_writer;

/* Start a dataset that will appear at path on commit (it is written to path.tmp.<pid>; an
 * existing file at path stays untouched until then). */
store_writer *store_create(const char *path, const store_options *o, char *err, size_t errlen);

/* Class / domain names (UTF-8, any characters). Labels / domains appended must then be -1 or in
 * [0, n); checked on commit. May be called at any time before commit, once each. */
int store_set_class_names(store_writer *w, const char *const *names, int n, char *err,
                          size_t errlen);
int store_set_domain_names(store_writer *w, const char *const *names, int n, char *err,
                           size_t errlen);

/* Append one item from its decoded pixels (s->image, s->h x s->w x s->c, c == channels) and the
 * annotations the dataset declared. ENCODED datasets store the image as a lossless PNG.
 * An annotation the sample has but the dataset did not declare is an error; a declared one the
 * sample lacks is stored as absent (no mask, no instances, NAN areas, no depth), except RAW masks
 * which every item must have. Masks, instance masks and depth maps are s->h x s->w. */
int store_append(store_writer *w, const sample *s, char *err, size_t errlen);

/* Append one item whose image is already encoded (JPEG or PNG bytes, stored as they are; ENCODED
 * datasets only). s gives its decoded size s->h, s->w, s->c (c == channels) and the annotations;
 * s->image is ignored. The caller is expected to have checked that the bytes decode. */
int store_append_encoded(store_writer *w, const sample *s, const void *image, size_t len,
                         char *err, size_t errlen);

int64_t store_writer_count(const store_writer *w);

/* The source file name of the next item appended (datasets created with file_names; copied,
 * used by the next store_append / store_append_encoded only; an item without one gets ""). */
int store_set_item_name(store_writer *w, const char *name, char *err, size_t errlen);

/* Flush, close, fsync and rename into place. Always releases w; on failure nothing appears at
 * path (and an older file there is kept). */
int store_commit(store_writer *w, char *err, size_t errlen);
/* Drop everything written: close and remove the temp file, release w. NULL-safe. */
void store_abort(store_writer *w);

/* ------------------------------------------------------------------------------------ reading */

typedef struct store_reader store_reader;

typedef struct {
    store_options o;     /* o.source points into the reader ("" if absent) */
    int version;         /* layout_version of the file */
    int64_t count;       /* items */
    int64_t n_instances; /* rows of the flat instance / polygon / vertex / point tables */
    int64_t n_polygons;
    int64_t n_vertices;
    int64_t n_points;
} store_layout;

/* Open and validate (format marker, layout version, every required dataset and its length);
 * loads the label, domain and group arrays (16 bytes per item), nothing else. */
store_reader *store_open(const char *path, char *err, size_t errlen);
void store_close(store_reader *r); /* NULL-safe */

const char *store_path(const store_reader *r);
int64_t store_count(const store_reader *r);
const store_layout *store_layout_of(const store_reader *r);

/* Per-item arrays of store_count() values, owned by the reader (-1 = none). */
const int32_t *store_labels(const store_reader *r);
const int32_t *store_domains(const store_reader *r);
const int64_t *store_groups(const store_reader *r);

int store_num_classes(const store_reader *r);
int store_num_domains(const store_reader *r);
/* Name of class / domain k, or NULL when out of range. The arrays of all names: */
const char *store_class_name(const store_reader *r, int k);
const char *store_domain_name(const store_reader *r, int k);
const char *const *store_class_names(const store_reader *r);
const char *const *store_domain_names(const store_reader *r);

/* Read item i into *out (initialised with sample_init by the caller; on failure it may be
 * partly filled: sample_free it either way). parts: STORE_READ_ALL, or STORE_IMAGE | STORE_MASK
 * | ... to skip what is not needed (label, domain and group are always filled). Thread-safe. */
int store_read(store_reader *r, int64_t i, unsigned parts, sample *out, char *err,
               size_t errlen);

/* The stored image bytes of item i: ENCODED: the JPEG/PNG bytes; RAW: the h*w*c pixels.
 * *data is malloc'ed (free it). Thread-safe. */
int store_read_image_bytes(store_reader *r, int64_t i, uint8_t **data, size_t *len, char *err,
                           size_t errlen);

/* Image sizes of items [start, start + n) as n (h, w, c) triples. Thread-safe. */
int store_image_shapes(store_reader *r, int64_t start, int64_t n, int32_t *hwc, char *err,
                       size_t errlen);

/* Every item's source file name (file_names): *names gets store_count() malloc'ed strings
 * ("" when an item has none; free with store_free_names). Returns 1, or 0 with *names NULL when
 * the file holds no names, or -1 on error. */
int store_file_names(store_reader *r, char ***names, char *err, size_t errlen);
void store_free_names(char **names, int64_t n);

/* Figures for `pictor data info`, computed by reading the small per-item tables in blocks. */
typedef struct {
    int min_h, max_h, min_w, max_w;
    int64_t items_with_instances; /* STORE_INSTANCES: items with at least one instance */
    int64_t items_with_points;
    int64_t items_with_depth;
    int64_t items_with_area;      /* non-NAN area_ratio */
    int64_t distinct_groups;      /* distinct group ids >= 0 */
} store_summary;
int store_summarize(store_reader *r, store_summary *s, char *err, size_t errlen);

/* A ds_source over r for samplers and the loader (r must outlive it). labels is NULL when the
 * file has no class names, domains NULL when it has no domain names. */
void store_source(store_reader *r, ds_source *src);

#endif
