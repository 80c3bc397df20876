/* test_store.c - Criterion tests for the HDF5 dataset store (data/store*.c).
 *
 * Owns: write/read round trips of every annotation kind (masks PNG and raw, instances with masks
 * and polygons including empty instance lists, points, areas, depth maps in float16 and float32),
 * raw and encoded images (pixels encoded by the store, and JPEG bytes stored as they are),
 * random-access order independence, concurrent reads from 4 threads equal to serial reads,
 * corrupt and foreign files (truncated HDF5, a text file renamed .h5, an HDF5 file without
 * pictor's marker, a pictor file missing a required dataset, a newer layout version) giving a
 * message naming the file, abort and failed commits leaving no final file, the ds_source view,
 * the summary, and the half-float conversion.
 */
#include <criterion/criterion.h>

#include <hdf5.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "codec/image.h"
#include "store/store.h"
#include "store/store_internal.h"

static char *g_dir;

static void setup(void) { g_dir = tst_tmpdir(); cr_assert_not_null(g_dir); }
static void teardown(void) { tst_rmtree(g_dir); }

TestSuite(store, .init = setup, .fini = teardown);

static const char *tmp_path(const char *name)
{
    static _Thread_local char buf[4][4096];
    static _Thread_local int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* No file in the temp directory whose name starts with prefix.tmp. */
static int no_temp_left(const char *path)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    return !file_exists(tmp);
}

/* ---------------------------------------------------------------- building samples */

static uint8_t *pixels(int h, int w, int c, unsigned seed)
{
    uint8_t *p = malloc((size_t)h * w * c);
    for (size_t i = 0; i < (size_t)h * w * c; i++)
        p[i] = (uint8_t)((i * 7 + seed * 31 + (i / (size_t)(w * c)) * 3) & 0xFF);
    return p;
}

static float *floats(int n, float base)
{
    float *f = malloc(sizeof *f * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++)
        f[i] = base + 0.25f * (float)i;
    return f;
}

/* Item k of the "everything" dataset: size varies with k; k % 3 == 1 has no instances at all,
 * k % 4 == 2 has no mask, no points, NAN areas and no depth. */
static void make_full_sample(sample *s, int k, int c)
{
    sample_init(s);
    s->h = 8 + k % 5;
    s->w = 11 + 2 * (k % 3);
    s->c = c;
    size_t px = (size_t)s->h * s->w;
    s->image = pixels(s->h, s->w, c, (unsigned)k);
    s->label = k % 3;
    s->domain = k % 2;
    s->group = 1000 + k / 2;
    int sparse = k % 4 == 2;
    if (!sparse) {
        s->mask = malloc(px);
        for (size_t i = 0; i < px; i++)
            s->mask[i] = (uint8_t)((i + k) % 3 == 0);
        s->n_points = 1 + k % 3;
        s->points = floats(2 * s->n_points, (float)k);
        s->area_ratio = 0.1f * (float)k;
        s->area_error = 0.01f * (float)k;
        s->depth = floats((int)px, 0.5f + (float)k);
    }
    if (k % 3 != 1) {
        s->n_instances = 2;
        s->instances = calloc(2, sizeof *s->instances);
        instance *a = &s->instances[0], *b = &s->instances[1];
        a->class_id = k;           /* mask and two polygons (one of them empty) */
        a->mask = malloc(px);
        for (size_t i = 0; i < px; i++)
            a->mask[i] = (uint8_t)(i % 2);
        a->n_polygons = 2;
        a->polygons = calloc(2, sizeof *a->polygons);
        a->polygons[0].n = 3 + k % 2;
        a->polygons[0].xy = floats(2 * a->polygons[0].n, 1.5f);
        a->polygons[1].n = 0;
        b->class_id = 7;           /* polygons only, no mask */
        b->n_polygons = 1;
        b->polygons = calloc(1, sizeof *b->polygons);
        b->polygons[0].n = 5;
        b->polygons[0].xy = floats(10, -3.0f);
    }
}

static void assert_bytes_eq(const void *a, const void *b, size_t n, const char *what, int k)
{
    if (!a || !b) {
        cr_assert(!a && !b, "item %d: %s present on one side only", k, what);
        return;
    }
    cr_assert_eq(memcmp(a, b, n), 0, "item %d: %s differs", k, what);
}

static void assert_same_floats(const float *a, const float *b, size_t n, float tol,
                               const char *what, int k)
{
    if (!a || !b) {
        cr_assert(!a && !b, "item %d: %s present on one side only", k, what);
        return;
    }
    for (size_t i = 0; i < n; i++)
        cr_assert(fabsf(a[i] - b[i]) <= tol * fmaxf(1.0f, fabsf(a[i])),
                  "item %d: %s[%zu] %g vs %g", k, what, i, a[i], b[i]);
}

static void assert_same_instances(const sample *a, const sample *b, int k)
{
    cr_assert_eq(a->n_instances, b->n_instances, "item %d: instance count", k);
    size_t px = (size_t)a->h * a->w;
    for (int i = 0; i < a->n_instances; i++) {
        const instance *x = &a->instances[i], *y = &b->instances[i];
        cr_assert_eq(x->class_id, y->class_id);
        assert_bytes_eq(x->mask, y->mask, px, "instance mask", k);
        cr_assert_eq(x->n_polygons, y->n_polygons);
        for (int p = 0; p < x->n_polygons; p++) {
            cr_assert_eq(x->polygons[p].n, y->polygons[p].n);
            assert_same_floats(x->polygons[p].n ? x->polygons[p].xy : NULL,
                               y->polygons[p].n ? y->polygons[p].xy : NULL,
                               2 * (size_t)x->polygons[p].n, 0, "polygon", k);
        }
    }
}

/* Everything a read gives back equals what was written (depth within tol). */
static void assert_same_sample(const sample *a, const sample *b, float depth_tol, int k)
{
    cr_assert(a->h == b->h && a->w == b->w && a->c == b->c, "item %d: size", k);
    size_t px = (size_t)a->h * a->w;
    assert_bytes_eq(a->image, b->image, px * a->c, "image", k);
    cr_assert(a->label == b->label && a->domain == b->domain && a->group == b->group,
              "item %d: label/domain/group", k);
    assert_bytes_eq(a->mask, b->mask, px, "mask", k);
    cr_assert_eq(a->n_points, b->n_points, "item %d: points", k);
    assert_same_floats(a->points, b->points, 2 * (size_t)a->n_points, 0, "points", k);
    cr_assert(isnan(a->area_ratio) ? isnan(b->area_ratio) : a->area_ratio == b->area_ratio);
    cr_assert(isnan(a->area_error) ? isnan(b->area_error) : a->area_error == b->area_error);
    assert_same_floats(a->depth, b->depth, px, depth_tol, "depth", k);
    assert_same_instances(a, b, k);
}

static const char *const CLASSES[3] = {"cat", "baseball bat", "\xc3\xa9t\xc3\xa9"};
static const char *const DOMAINS[2] = {"photo", "sketch"};

/* Write n "everything" items; returns 0 on success. */
static int write_full(const char *path, int n, store_storage images, store_depth_type depth,
                      int c)
{
    store_options o = {.images = images, .channels = c,
                       .annotations = STORE_MASK | STORE_INSTANCES | STORE_POINTS | STORE_AREA |
                                      STORE_DEPTH,
                       .masks = STORE_ENCODED, .depth = depth, .source = "test_store"};
    char err[512];
    store_writer *w = store_create(path, &o, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(store_set_class_names(w, CLASSES, 3, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_set_domain_names(w, DOMAINS, 2, err, sizeof err), 0, "%s", err);
    for (int k = 0; k < n; k++) {
        sample s;
        make_full_sample(&s, k, c);
        int rc = store_append(w, &s, err, sizeof err);
        sample_free(&s);
        cr_assert_eq(rc, 0, "%s", err);
    }
    cr_assert_eq(store_writer_count(w), n);
    cr_assert_eq(store_commit(w, err, sizeof err), 0, "%s", err);
    return 0;
}

static store_reader *open_ok(const char *path)
{
    char err[512] = "";
    store_reader *r = store_open(path, err, sizeof err);
    cr_assert_not_null(r, "open failed: %s", err);
    return r;
}

static void read_ok(store_reader *r, int64_t i, sample *s)
{
    char err[512] = "";
    sample_init(s);
    int rc = store_read(r, i, STORE_READ_ALL, s, err, sizeof err);
    cr_assert_eq(rc, 0, "read %lld failed: %s", (long long)i, err);
}

/* ---------------------------------------------------------------- round trips */

static void check_full_round_trip(const char *name, store_depth_type depth, int c)
{
    const char *path = tmp_path(name);
    int n = 13;
    write_full(path, n, STORE_ENCODED, depth, c);
    cr_assert(no_temp_left(path));
    store_reader *r = open_ok(path);
    const store_layout *L = store_layout_of(r);
    cr_assert_eq(store_count(r), n);
    cr_assert_eq(L->o.images, STORE_ENCODED);
    cr_assert_eq(L->o.channels, c);
    cr_assert_eq(L->o.annotations, STORE_MASK | STORE_INSTANCES | STORE_POINTS | STORE_AREA |
                                       STORE_DEPTH);
    cr_assert_eq(L->o.depth, depth);
    cr_assert_str_eq(L->o.source, "test_store");
    cr_assert_eq(store_num_classes(r), 3);
    cr_assert_str_eq(store_class_name(r, 1), "baseball bat");
    cr_assert_str_eq(store_class_name(r, 2), CLASSES[2]);
    cr_assert_str_eq(store_domain_name(r, 1), "sketch");
    cr_assert_null(store_class_name(r, 3));
    for (int k = 0; k < n; k++) {
        sample want, got;
        make_full_sample(&want, k, c);
        read_ok(r, k, &got);
        cr_assert_eq(got.index, k);
        assert_same_sample(&want, &got, depth == STORE_DEPTH_F16 ? 1e-3f : 0.0f, k);
        cr_assert_eq(store_labels(r)[k], want.label);
        cr_assert_eq(store_domains(r)[k], want.domain);
        cr_assert_eq(store_groups(r)[k], want.group);
        sample_free(&want);
        sample_free(&got);
    }
    store_close(r);
}

Test(store, encoded_round_trip_every_annotation_f16)
{
    check_full_round_trip("full16.h5", STORE_DEPTH_F16, 3);
}

Test(store, encoded_round_trip_every_annotation_f32_grey)
{
    check_full_round_trip("full32.h5", STORE_DEPTH_F32, 1);
}

Test(store, raw_images_and_raw_masks)
{
    const char *path = tmp_path("raw.h5");
    store_options o = {.images = STORE_RAW, .channels = 1, .height = 28, .width = 28,
                       .annotations = STORE_MASK, .masks = STORE_RAW};
    char err[512];
    store_writer *w = store_create(path, &o, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    int n = 12000; /* 784-byte rows: the 4 MB row buffer is flushed twice before the commit */
    for (int k = 0; k < n; k++) {
        sample s;
        sample_init(&s);
        s.h = s.w = 28, s.c = 1, s.label = k % 10;
        s.image = pixels(28, 28, 1, (unsigned)k);
        s.mask = pixels(28, 28, 1, (unsigned)k + 1);
        cr_assert_eq(store_append(w, &s, err, sizeof err), 0, "%s", err);
        sample_free(&s);
    }
    cr_assert_eq(store_commit(w, err, sizeof err), 0, "%s", err);
    store_reader *r = open_ok(path);
    const store_layout *L = store_layout_of(r);
    cr_assert(L->o.images == STORE_RAW && L->o.height == 28 && L->o.width == 28);
    cr_assert(L->o.masks == STORE_RAW);
    cr_assert_eq(store_num_classes(r), 0);
    int picks[] = {0, 1, 5349, 11999};
    for (int j = 0; j < 4; j++) {
        int k = picks[j];
        sample s;
        read_ok(r, k, &s);
        uint8_t *img = pixels(28, 28, 1, (unsigned)k), *m = pixels(28, 28, 1, (unsigned)k + 1);
        cr_assert_eq(memcmp(s.image, img, 784), 0, "raw image %d", k);
        cr_assert_eq(memcmp(s.mask, m, 784), 0, "raw mask %d", k);
        cr_assert_eq(s.label, k % 10);
        cr_assert_eq(s.group, -1);
        cr_assert(isnan(s.area_ratio));
        uint8_t *bytes;
        size_t len;
        cr_assert_eq(store_read_image_bytes(r, k, &bytes, &len, err, sizeof err), 0, "%s", err);
        cr_assert(len == 784 && memcmp(bytes, img, 784) == 0);
        free(bytes), free(img), free(m);
        sample_free(&s);
    }
    store_close(r);
}

Test(store, encoded_bytes_are_stored_as_given)
{
    const char *path = tmp_path("jpeg.h5");
    store_options o = {.images = STORE_ENCODED, .channels = 3};
    char err[512];
    store_writer *w = store_create(path, &o, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    uint8_t *src = pixels(20, 30, 3, 1), *jpg;
    size_t jlen;
    cr_assert_eq(image_encode_jpeg(src, 20, 30, 3, 90, &jpg, &jlen, err, sizeof err), 0);
    sample s;
    sample_init(&s);
    s.h = 20, s.w = 30, s.c = 3, s.label = 4;
    cr_assert_eq(store_append_encoded(w, &s, jpg, jlen, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_append_encoded(w, &s, "junk", 4, err, sizeof err), -1);
    cr_assert(strstr(err, "not a JPEG or PNG"), "%s", err);
    cr_assert_eq(store_commit(w, err, sizeof err), 0, "%s", err);
    store_reader *r = open_ok(path);
    uint8_t *bytes;
    size_t len;
    cr_assert_eq(store_read_image_bytes(r, 0, &bytes, &len, err, sizeof err), 0, "%s", err);
    cr_assert(len == jlen && memcmp(bytes, jpg, len) == 0, "the JPEG bytes come back unchanged");
    sample got;
    read_ok(r, 0, &got);
    cr_assert(got.h == 20 && got.w == 30 && got.c == 3 && got.label == 4);
    uint8_t *dec;
    int h, ww, c;
    cr_assert_eq(image_decode(jpg, jlen, 3, &dec, &h, &ww, &c, err, sizeof err), 0);
    cr_assert_eq(memcmp(dec, got.image, 20 * 30 * 3), 0, "read decodes the stored JPEG");
    free(dec), free(bytes), free(jpg), free(src);
    sample_free(&got);
    store_close(r);
}

Test(store, image_only_parts_and_range_errors)
{
    const char *path = tmp_path("parts.h5");
    write_full(path, 4, STORE_ENCODED, STORE_DEPTH_F32, 3);
    store_reader *r = open_ok(path);
    sample s;
    sample_init(&s);
    char err[512];
    cr_assert_eq(store_read(r, 0, STORE_IMAGE, &s, err, sizeof err), 0, "%s", err);
    cr_assert(s.image && !s.mask && !s.depth && s.n_instances == 0 && s.n_points == 0);
    sample_free(&s);
    cr_assert_eq(store_read(r, 0, STORE_MASK, &s, err, sizeof err), 0, "%s", err);
    cr_assert(!s.image && s.mask && s.h > 0);
    sample_free(&s);
    cr_assert_eq(store_read(r, 4, STORE_READ_ALL, &s, err, sizeof err), -1);
    cr_assert(strstr(err, "out of range") && strstr(err, "parts.h5"), "%s", err);
    cr_assert_eq(store_read(r, -1, STORE_READ_ALL, &s, err, sizeof err), -1);
    sample_free(&s);
    store_close(r);
}

Test(store, random_access_is_order_independent)
{
    const char *path = tmp_path("order.h5");
    int n = 40;
    write_full(path, n, STORE_ENCODED, STORE_DEPTH_F16, 3);
    store_reader *a = open_ok(path), *b = open_ok(path);
    sample fwd[40];
    for (int k = 0; k < n; k++)
        read_ok(a, k, &fwd[k]);
    for (int j = 0; j < n; j++) {
        int k = (j * 17 + 5) % n; /* a permutation of 0..39 */
        sample s;
        read_ok(b, k, &s);
        assert_same_sample(&fwd[k], &s, 0.0f, k);
        sample_free(&s);
    }
    for (int k = 0; k < n; k++)
        sample_free(&fwd[k]);
    store_close(a);
    store_close(b);
}

/* ---------------------------------------------------------------- threads */

typedef struct {
    store_reader *r;
    int n, offset, failures;
    uint64_t sums[64];
} thread_job;

static uint64_t sample_checksum(const sample *s)
{
    uint64_t h = 1469598103934665603ull;
    size_t px = (size_t)s->h * s->w;
    for (size_t i = 0; i < px * s->c; i++)
        h = (h ^ s->image[i]) * 1099511628211ull;
    for (size_t i = 0; s->mask && i < px; i++)
        h = (h ^ s->mask[i]) * 1099511628211ull;
    for (int k = 0; k < s->n_instances; k++)
        h = (h ^ (uint64_t)s->instances[k].class_id) * 1099511628211ull;
    for (size_t i = 0; s->depth && i < px; i++)
        h = (h ^ (uint64_t)(s->depth[i] * 1000)) * 1099511628211ull;
    return h ^ (uint64_t)s->label;
}

static void *read_all(void *arg)
{
    thread_job *j = arg;
    for (int rep = 0; rep < 5; rep++) {
        for (int t = 0; t < j->n; t++) {
            int k = (t + j->offset) % j->n;
            sample s;
            sample_init(&s);
            char err[512];
            if (store_read(j->r, k, STORE_READ_ALL, &s, err, sizeof err) != 0)
                j->failures++;
            else
                j->sums[k] = sample_checksum(&s);
            sample_free(&s);
        }
    }
    return NULL;
}

Test(store, four_threads_read_what_one_reads)
{
    const char *path = tmp_path("threads.h5");
    int n = 48;
    write_full(path, n, STORE_ENCODED, STORE_DEPTH_F16, 3);
    store_reader *r = open_ok(path);
    uint64_t serial[64];
    for (int k = 0; k < n; k++) {
        sample s;
        read_ok(r, k, &s);
        serial[k] = sample_checksum(&s);
        sample_free(&s);
    }
    pthread_t th[4];
    thread_job jobs[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (thread_job){.r = r, .n = n, .offset = t * 11};
        pthread_create(&th[t], NULL, read_all, &jobs[t]);
    }
    for (int t = 0; t < 4; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < 4; t++) {
        cr_assert_eq(jobs[t].failures, 0, "thread %d had read failures", t);
        for (int k = 0; k < n; k++)
            cr_assert_eq(jobs[t].sums[k], serial[k], "thread %d item %d differs", t, k);
    }
    store_close(r);
}

/* ---------------------------------------------------------------- bad files */

static void open_fails(const char *path, const char *expect)
{
    char err[512] = "";
    store_reader *r = store_open(path, err, sizeof err);
    cr_assert_null(r, "opening %s should fail", path);
    cr_assert(strstr(err, path), "message names the file: %s", err);
    cr_assert(strstr(err, expect), "message '%s' should say '%s'", err, expect);
}

Test(store, missing_and_text_files)
{
    open_fails(tmp_path("absent.h5"), "No such file");
    const char *txt = tmp_path("notes.h5");
    FILE *f = fopen(txt, "w");
    fputs("this is a plain text file, renamed .h5\n", f);
    fclose(f);
    open_fails(txt, "not an HDF5 file");
}

Test(store, truncated_file)
{
    const char *path = tmp_path("trunc.h5");
    write_full(path, 6, STORE_ENCODED, STORE_DEPTH_F16, 3);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(truncate(path, st.st_size / 2), 0);
    open_fails(path, "corrupt HDF5 file");
}

/* Change a finished file with raw HDF5 calls (under the store's lock). */
static hid_t h5_open_rw(const char *path)
{
    store_h5_lock();
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    return f;
}

static void h5_close(hid_t f)
{
    H5Fclose(f);
    store_h5_unlock();
}

Test(store, missing_required_dataset)
{
    const char *path = tmp_path("nolabel.h5");
    write_full(path, 3, STORE_ENCODED, STORE_DEPTH_F16, 3);
    hid_t f = h5_open_rw(path);
    cr_assert_geq(H5Ldelete(f, "label", H5P_DEFAULT), 0);
    h5_close(f);
    open_fails(path, "missing dataset '/label'");
    /* an annotation group without one of its datasets */
    path = tmp_path("noxy.h5");
    write_full(path, 3, STORE_ENCODED, STORE_DEPTH_F16, 3);
    f = h5_open_rw(path);
    cr_assert_geq(H5Ldelete(f, "instances/vertex_xy", H5P_DEFAULT), 0);
    h5_close(f);
    open_fails(path, "missing dataset '/instances/vertex_xy'");
}

Test(store, wrong_length_dataset)
{
    const char *path = tmp_path("short.h5");
    write_full(path, 5, STORE_ENCODED, STORE_DEPTH_F16, 3);
    hid_t f = h5_open_rw(path);
    hid_t d = H5Dopen2(f, "domain", H5P_DEFAULT);
    hsize_t n = 4;
    cr_assert_geq(H5Dset_extent(d, &n), 0);
    H5Dclose(d);
    h5_close(f);
    open_fails(path, "'/domain' is corrupt");
}

Test(store, foreign_hdf5_and_newer_version)
{
    const char *path = tmp_path("foreign.h5");
    store_h5_lock();
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t n = 4;
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t d = H5Dcreate2(f, "data", H5T_NATIVE_INT, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(d), H5Sclose(sp), H5Fclose(f);
    store_h5_unlock();
    open_fails(path, "not a pictor dataset");

    path = tmp_path("future.h5");
    write_full(path, 2, STORE_ENCODED, STORE_DEPTH_F16, 3);
    f = h5_open_rw(path);
    cr_assert_geq(H5Adelete(f, ATTR_VERSION), 0);
    cr_assert_eq(store_attr_write_i64(f, ATTR_VERSION, STORE_LAYOUT_VERSION + 1), 0);
    h5_close(f);
    open_fails(path, "newer than this pictor reads");
}

Test(store, corrupt_image_bytes_give_an_item_error)
{
    const char *path = tmp_path("badjpeg.h5");
    store_options o = {.images = STORE_ENCODED, .channels = 3};
    char err[512];
    store_writer *w = store_create(path, &o, err, sizeof err);
    uint8_t *src = pixels(16, 16, 3, 2), *jpg;
    size_t jlen;
    cr_assert_eq(image_encode_jpeg(src, 16, 16, 3, 90, &jpg, &jlen, err, sizeof err), 0);
    sample s;
    sample_init(&s);
    s.h = s.w = 16, s.c = 3;
    cr_assert_eq(store_append_encoded(w, &s, jpg, jlen / 2, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_commit(w, err, sizeof err), 0, "%s", err);
    store_reader *r = open_ok(path);
    sample got;
    sample_init(&got);
    cr_assert_eq(store_read(r, 0, STORE_READ_ALL, &got, err, sizeof err), -1);
    cr_assert(strstr(err, "badjpeg.h5") && strstr(err, "item 0") && strstr(err, "truncated JPEG"),
              "%s", err);
    sample_free(&got);
    store_close(r);
    free(jpg), free(src);
}

/* ---------------------------------------------------------------- atomicity */

Test(store, abort_leaves_no_file_and_keeps_an_older_one)
{
    const char *path = tmp_path("aborted.h5");
    store_options o = {.images = STORE_ENCODED, .channels = 3};
    char err[512];
    store_writer *w = store_create(path, &o, err, sizeof err);
    cr_assert_not_null(w);
    sample s;
    sample_init(&s);
    s.h = s.w = 4, s.c = 3, s.image = pixels(4, 4, 3, 0);
    cr_assert_eq(store_append(w, &s, err, sizeof err), 0, "%s", err);
    cr_assert(!file_exists(path), "nothing under the final name before commit");
    store_abort(w); /* a failure mid-write */
    cr_assert(!file_exists(path));
    cr_assert(no_temp_left(path));

    /* an older file at path survives an aborted rewrite untouched */
    write_full(path, 2, STORE_ENCODED, STORE_DEPTH_F16, 3);
    struct stat before, after;
    stat(path, &before);
    w = store_create(path, &o, err, sizeof err);
    store_append(w, &s, err, sizeof err);
    store_abort(w);
    stat(path, &after);
    cr_assert_eq(before.st_size, after.st_size);
    store_reader *r = open_ok(path);
    cr_assert_eq(store_count(r), 2);
    store_close(r);
    sample_free(&s);
}

Test(store, failed_commit_and_bad_appends)
{
    const char *path = tmp_path("bad.h5");
    store_options o = {.images = STORE_RAW, .channels = 1, .height = 4, .width = 4};
    char err[512];
    store_writer *w = store_create(path, &o, err, sizeof err);
    const char *names[2] = {"a", "b"};
    cr_assert_eq(store_set_class_names(w, names, 2, err, sizeof err), 0);
    sample s;
    sample_init(&s);
    s.h = s.w = 4, s.c = 1, s.image = pixels(4, 4, 1, 0);
    s.label = 5;
    cr_assert_eq(store_append(w, &s, err, sizeof err), -1, "label out of range");
    cr_assert(strstr(err, "label 5"), "%s", err);
    s.label = 1;
    s.w = 5;
    cr_assert_eq(store_append(w, &s, err, sizeof err), -1, "wrong raw size");
    s.w = 4;
    s.mask = pixels(4, 4, 1, 1);
    cr_assert_eq(store_append(w, &s, err, sizeof err), -1, "undeclared mask");
    cr_assert(strstr(err, "mask"), "%s", err);
    free(s.mask);
    s.mask = NULL;
    cr_assert_eq(store_append(w, &s, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_set_class_names(w, names, 2, err, sizeof err), -1, "names set twice");
    cr_assert_eq(store_commit(w, err, sizeof err), 0, "%s", err);
    sample_free(&s);

    /* labels past the class names (names set after the appends) fail at commit */
    path = tmp_path("bad2.h5");
    w = store_create(path, &o, err, sizeof err);
    sample_init(&s);
    s.h = s.w = 4, s.c = 1, s.image = pixels(4, 4, 1, 0), s.label = 3;
    cr_assert_eq(store_append(w, &s, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_set_class_names(w, names, 2, err, sizeof err), 0);
    cr_assert_eq(store_commit(w, err, sizeof err), -1);
    cr_assert(strstr(err, "label 3"), "%s", err);
    cr_assert(!file_exists(path) && no_temp_left(path));
    sample_free(&s);

    /* bad options */
    store_options bad = {.images = STORE_RAW, .channels = 3};
    cr_assert_null(store_create(tmp_path("x.h5"), &bad, err, sizeof err));
    cr_assert(strstr(err, "size"), "%s", err);
    bad = (store_options){.images = STORE_ENCODED, .channels = 2};
    cr_assert_null(store_create(tmp_path("x.h5"), &bad, err, sizeof err));
    bad = (store_options){.images = STORE_ENCODED, .channels = 3, .annotations = STORE_MASK,
                          .masks = STORE_RAW};
    cr_assert_null(store_create(tmp_path("x.h5"), &bad, err, sizeof err));
    cr_assert_null(store_create(tmp_path("no/dir/x.h5"), &o, err, sizeof err));
    cr_assert(strstr(err, "no/dir/x.h5"), "%s", err);
}

/* ---------------------------------------------------------------- views */

Test(store, source_and_summary)
{
    const char *path = tmp_path("view.h5");
    write_full(path, 12, STORE_ENCODED, STORE_DEPTH_F16, 3);
    store_reader *r = open_ok(path);
    ds_source src;
    store_source(r, &src);
    cr_assert_eq(src.count, 12);
    cr_assert_eq(src.labels, store_labels(r));
    cr_assert_eq(src.domains, store_domains(r));
    cr_assert_eq(src.n_domains, 2);
    cr_assert_eq(ds_source_find_domain(&src, "sketch"), 1);
    sample s;
    sample_init(&s);
    char err[512];
    cr_assert_eq(src.read(src.ctx, 5, &s, err, sizeof err), 0, "%s", err);
    cr_assert_eq(s.index, 5);
    sample_free(&s);
    store_summary sum;
    cr_assert_eq(store_summarize(r, &sum, err, sizeof err), 0, "%s", err);
    cr_assert(sum.min_h == 8 && sum.max_h == 12 && sum.min_w == 11 && sum.max_w == 15,
              "%d %d %d %d", sum.min_h, sum.max_h, sum.min_w, sum.max_w);
    cr_assert_eq(sum.items_with_instances, 8); /* k % 3 != 1 for k < 12 */
    cr_assert_eq(sum.items_with_depth, 9);     /* k % 4 != 2 */
    cr_assert_eq(sum.items_with_area, 9);
    cr_assert_eq(sum.items_with_points, 9);
    cr_assert_eq(sum.distinct_groups, 6);
    const store_layout *L = store_layout_of(r);
    cr_assert_eq(L->n_instances, 16);
    cr_assert_eq(L->n_polygons, 24);
    store_close(r);
}

Test(store, half_floats)
{
    cr_assert_eq(store_f32_to_f16(1.0f), 0x3C00);
    cr_assert_eq(store_f32_to_f16(-2.0f), 0xC000);
    cr_assert_eq(store_f32_to_f16(65504.0f), 0x7BFF);
    cr_assert_eq(store_f32_to_f16(70000.0f), 0x7C00);
    cr_assert_eq(store_f32_to_f16(1e-9f), 0x0000);
    cr_assert_eq(store_f32_to_f16(5.9604645e-8f), 0x0001); /* smallest subnormal */
    cr_assert_eq(store_f32_to_f16(1.0009765625f), 0x3C01);
    cr_assert_eq(store_f32_to_f16(1.00048828125f), 0x3C00, "ties round to even");
    cr_assert(isnan(store_f16_to_f32(store_f32_to_f16(NAN))));
    for (uint32_t h = 0; h < 0x7C00; h++)
        cr_assert_eq(store_f32_to_f16(store_f16_to_f32((uint16_t)h)), h, "half %04x", h);
}
