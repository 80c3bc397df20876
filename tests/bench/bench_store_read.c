/* bench_store_read.c - throughput of reading packed images from the HDF5 store against reading
 * the same bytes from one flat file (the reference), in one run.
 *
 * Owns only this measurement. It packs N encoded images (JPEGs made here, or the COCO_MVal
 * photos when ../shared/data/coco_mval/img is given as argument) into a store and the same bytes
 * back to back into a flat file with an offset table, warms the page cache, then reads every
 * item in one shuffled order from each, several rounds, and prints
 *
 *   hdf5_read_vs_flat=<store throughput / flat-file throughput>
 *
 * (1.0 = the store is as fast as pread on a flat file; both read the encoded bytes only, no
 * decoding). It also prints the raw-storage variant (28x28 images, one deflated chunk each,
 * inflated outside the HDF5 lock) against a flat file of the raw pixels, and how decoding reads
 * scale with threads.
 *
 *   bench_store_read [IMAGE_DIR] [N]
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec/image.h"
#include "store/store.h"

#define ROUNDS 5

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
    uint8_t **bytes;
    size_t *len;
    int n;
} corpus;

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_store_read: %s: %s\n", what, err);
    exit(2);
}

/* N synthetic 320x240 JPEGs, quality 90 (about the size of real photos at that resolution). */
static void synth_corpus(corpus *c, int n)
{
    int h = 240, w = 320;
    uint8_t *px = malloc((size_t)h * w * 3);
    c->bytes = calloc((size_t)n, sizeof *c->bytes);
    c->len = calloc((size_t)n, sizeof *c->len);
    char err[256];
    for (int k = 0; k < n; k++) {
        uint32_t x = 12345u + (uint32_t)k * 7919u;
        for (int i = 0; i < h * w * 3; i++) {
            x = x * 1664525u + 1013904223u;
            px[i] = (uint8_t)(((i / 3) % w + (i / 3) / w + k * 13) % 256 / 2 + (x >> 29));
        }
        if (image_encode_jpeg(px, h, w, 3, 90, &c->bytes[k], &c->len[k], err, sizeof err))
            die("encode", err);
    }
    c->n = n;
    free(px);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void dir_corpus(corpus *c, const char *dir, int n)
{
    DIR *d = opendir(dir);
    if (!d)
        die(dir, "cannot open");
    char **names = NULL;
    int cnt = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (cnt == cap)
            names = realloc(names, (size_t)(cap = cap ? 2 * cap : 256) * sizeof *names);
        names[cnt++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)cnt, sizeof *names, cmp_name);
    c->n = cnt < n ? cnt : n;
    c->bytes = calloc((size_t)c->n, sizeof *c->bytes);
    c->len = calloc((size_t)c->n, sizeof *c->len);
    char err[512], path[4096];
    for (int k = 0; k < c->n; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        if (image_read_file(path, &c->bytes[k], &c->len[k], err, sizeof err))
            die(path, err);
    }
    for (int k = 0; k < cnt; k++)
        free(names[k]);
    free(names);
}

/* ---------------------------------------------------------------- packing */

static void pack_store(const corpus *c, const char *path)
{
    store_options o = {.images = STORE_ENCODED, .channels = 3};
    char err[512];
    store_writer *w = store_create(path, &o, err, sizeof err);
    if (!w)
        die(path, err);
    for (int k = 0; k < c->n; k++) {
        sample s;
        sample_init(&s);
        if (image_probe(c->bytes[k], c->len[k], &s.h, &s.w, &s.c, err, sizeof err))
            die("probe", err);
        s.c = 3;
        if (store_append_encoded(w, &s, c->bytes[k], c->len[k], err, sizeof err))
            die(path, err);
    }
    if (store_commit(w, err, sizeof err))
        die(path, err);
}

/* The flat reference: the bytes back to back, and their offsets. */
static uint64_t *pack_flat(const corpus *c, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        die(path, "cannot create");
    uint64_t *off = malloc(((size_t)c->n + 1) * sizeof *off);
    off[0] = 0;
    for (int k = 0; k < c->n; k++) {
        fwrite(c->bytes[k], 1, c->len[k], f);
        off[k + 1] = off[k] + c->len[k];
    }
    fclose(f);
    return off;
}

static void warm(const char *path)
{
    uint8_t *d;
    size_t n;
    char err[256];
    if (image_read_file(path, &d, &n, err, sizeof err) == 0)
        free(d);
}

/* ---------------------------------------------------------------- reading */

static int *shuffled(int n, unsigned seed)
{
    int *p = malloc((size_t)n * sizeof *p);
    for (int i = 0; i < n; i++)
        p[i] = i;
    for (int i = n - 1; i > 0; i--) {
        seed = seed * 1103515245u + 12345u;
        int j = (int)(seed % (unsigned)(i + 1)), t = p[i];
        p[i] = p[j], p[j] = t;
    }
    return p;
}

static double read_store(store_reader *r, const int *order, int n, size_t *total)
{
    char err[512];
    double t0 = now();
    for (int round = 0; round < ROUNDS; round++)
        for (int i = 0; i < n; i++) {
            uint8_t *b;
            size_t len;
            if (store_read_image_bytes(r, order[i], &b, &len, err, sizeof err))
                die("store read", err);
            *total += len;
            free(b);
        }
    return now() - t0;
}

/* Each read allocates like the store's does, so the comparison is of I/O paths only. */
static double read_flat(int fd, const uint64_t *off, const int *order, int n, size_t *total)
{
    double t0 = now();
    for (int round = 0; round < ROUNDS; round++)
        for (int i = 0; i < n; i++) {
            size_t len = off[order[i] + 1] - off[order[i]];
            uint8_t *b = malloc(len);
            if (pread(fd, b, len, (off_t)off[order[i]]) != (ssize_t)len)
                die("flat read", "short read");
            *total += len;
            free(b);
        }
    return now() - t0;
}

/* Decoding reads (store_read of the image) from T threads: the HDF5 lock covers only the byte
 * fetch, so this should scale with the cores. */
typedef struct {
    store_reader *r;
    const int *order;
    int n;
} job;

static void *decode_job(void *arg)
{
    job *j = arg;
    char err[512];
    for (int i = 0; i < j->n; i++) {
        sample s;
        sample_init(&s);
        if (store_read(j->r, j->order[i], STORE_IMAGE, &s, err, sizeof err))
            die("store_read", err);
        sample_free(&s);
    }
    return NULL;
}

static double decode_rate(store_reader *r, const int *order, int n, int threads)
{
    pthread_t th[8];
    job jobs[8];
    double t0 = now();
    for (int t = 0; t < threads; t++) {
        jobs[t] = (job){r, order, n};
        pthread_create(&th[t], NULL, decode_job, &jobs[t]);
    }
    for (int t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
    return threads * n / (now() - t0);
}

static void threads_figure(store_reader *r, const int *order, int n)
{
    int m = n < 200 ? n : 200;
    double one = decode_rate(r, order, m, 1), two = decode_rate(r, order, m, 2),
           four = decode_rate(r, order, m, 4);
    printf("decoded reads: %.0f images/s (1 thread), %.0f (2), %.0f (4); %ld cores online\n", one,
           two, four, sysconf(_SC_NPROCESSORS_ONLN));
    printf("hdf5_decode_2threads_vs_1thread=%.2f\n", two / one);
}

/* Raw storage: n 28x28 grey images, one deflated chunk each, against the raw flat bytes. */
static void raw_figure(const char *dir, int n)
{
    char path[4096], flat[4096], err[512];
    snprintf(path, sizeof path, "%s/raw.h5", dir);
    snprintf(flat, sizeof flat, "%s/raw.bin", dir);
    store_options o = {.images = STORE_RAW, .channels = 1, .height = 28, .width = 28};
    store_writer *w = store_create(path, &o, err, sizeof err);
    FILE *f = fopen(flat, "wb");
    uint8_t px[784];
    for (int k = 0; k < n; k++) {
        for (int i = 0; i < 784; i++)
            px[i] = (uint8_t)((i % 28 + k) % 17 * 15 * ((i / 28 + k) % 3 > 0));
        sample s;
        sample_init(&s);
        s.h = s.w = 28, s.c = 1, s.image = px;
        if (store_append(w, &s, err, sizeof err))
            die(path, err);
        fwrite(px, 1, 784, f);
    }
    fclose(f);
    if (store_commit(w, err, sizeof err))
        die(path, err);
    warm(path);
    warm(flat);
    store_reader *r = store_open(path, err, sizeof err);
    int fd = open(flat, O_RDONLY);
    uint64_t *off = malloc(((size_t)n + 1) * sizeof *off);
    for (int k = 0; k <= n; k++)
        off[k] = (uint64_t)k * 784;
    int *order = shuffled(n, 7);
    size_t a = 0, b = 0;
    double ts = read_store(r, order, n, &a), tf = read_flat(fd, off, order, n, &b);
    printf("raw 28x28: store %.0f images/s, flat %.0f images/s\n", ROUNDS * n / ts,
           ROUNDS * n / tf);
    printf("hdf5_raw_read_vs_flat=%.3f\n", tf / ts);
    free(order), free(off);
    close(fd);
    store_close(r);
    unlink(path), unlink(flat);
}

int main(int argc, char **argv)
{
    int n = argc > 2 ? atoi(argv[2]) : 800;
    corpus c = {0};
    if (argc > 1)
        dir_corpus(&c, argv[1], n);
    else
        synth_corpus(&c, n);
    char dir[] = "/tmp/pictor-bench-XXXXXX", store_path[256], flat_path[256], err[512];
    if (!mkdtemp(dir))
        die("mkdtemp", "failed");
    snprintf(store_path, sizeof store_path, "%s/images.h5", dir);
    snprintf(flat_path, sizeof flat_path, "%s/images.bin", dir);
    pack_store(&c, store_path);
    uint64_t *off = pack_flat(&c, flat_path);
    warm(store_path);
    warm(flat_path);
    store_reader *r = store_open(store_path, err, sizeof err);
    if (!r)
        die(store_path, err);
    int fd = open(flat_path, O_RDONLY);
    int *order = shuffled(c.n, 1);
    size_t bytes_store = 0, bytes_flat = 0;
    read_flat(fd, off, order, c.n, &bytes_flat); /* one more warm-up of both paths */
    read_store(r, order, c.n, &bytes_store);
    bytes_store = bytes_flat = 0;
    double ts = read_store(r, order, c.n, &bytes_store);
    double tf = read_flat(fd, off, order, c.n, &bytes_flat);
    printf("encoded: %d images, %.1f MB; store %.0f MB/s (%.0f images/s), flat %.0f MB/s\n",
           c.n, off[c.n] / 1e6, bytes_store / ts / 1e6, ROUNDS * c.n / ts,
           bytes_flat / tf / 1e6);
    printf("hdf5_read_vs_flat=%.3f\n", tf / ts);
    threads_figure(r, order, c.n);
    raw_figure(dir, 20000);
    store_close(r);
    close(fd);
    unlink(store_path), unlink(flat_path), rmdir(dir);
    for (int k = 0; k < c.n; k++)
        free(c.bytes[k]);
    free(c.bytes), free(c.len), free(off), free(order);
    return 0;
}
