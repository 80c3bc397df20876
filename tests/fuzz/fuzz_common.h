/*
 * fuzz_common.h - what the libFuzzer harnesses of tests/fuzz share: a per-process scratch file
 * (the parsers that take a path get the input through it) in $PICTOR_FUZZ_TMP, else /dev/shm,
 * else /tmp; the images folder the importers' harnesses read; the check that no temp file of an
 * atomic write is left; the reading of a store as `pictor data info` and the loader read it.
 * Header-only; each harness is its own program.
 */
#ifndef PICTOR_FUZZ_COMMON_H
#define PICTOR_FUZZ_COMMON_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/image.h"
#include "pipeline/sample.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The scratch directory of this process ("<tmp>/pictor-fuzz-<pid>"), created on first use. */
static inline const char *fuzz_dir(void)
{
    static char dir[512];
    if (!dir[0]) {
        const char *base = getenv("PICTOR_FUZZ_TMP");
        struct stat st;
        if (!base || !*base)
            base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/pictor-fuzz-%ld", base, (long)getpid());
        mkdir(dir, 0777);
    }
    return dir;
}

/* "<dir>/<name>" in a static buffer (one per call site is enough for the harnesses). */
static inline const char *fuzz_path(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", fuzz_dir(), name);
    return buf;
}

/* Write data to path (truncating); aborts on failure, which is the machine's fault, not the
 * input's. */
static inline void fuzz_write(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* Write the images the importers' seeds (make_seeds.py) name into dir: a.png (6x4 RGB), b.jpg
 * (8x8 RGB) and g.png (5x5 grey). */
static inline void fuzz_make_images(const char *dir)
{
    char p[700], err[256];
    uint8_t rgb[8 * 8 * 3], grey[25];
    for (size_t i = 0; i < sizeof rgb; i++)
        rgb[i] = (uint8_t)(i * 37);
    for (size_t i = 0; i < sizeof grey; i++)
        grey[i] = (uint8_t)(i * 11);
    uint8_t *jpg = NULL;
    size_t len = 0;
    snprintf(p, sizeof p, "%s/a.png", dir);
    if (image_write_png(p, rgb, 4, 6, 3, err, sizeof err))
        abort();
    snprintf(p, sizeof p, "%s/g.png", dir);
    if (image_write_png(p, grey, 5, 5, 1, err, sizeof err))
        abort();
    snprintf(p, sizeof p, "%s/b.jpg", dir);
    if (image_encode_jpeg(rgb, 8, 8, 3, 90, &jpg, &len, err, sizeof err))
        abort();
    fuzz_write(p, jpg, len);
    free(jpg);
}

/* The scratch folder "images" holding those images, made on first use. */
static inline const char *fuzz_images(void)
{
    static char images[600];
    if (!images[0]) {
        fuzz_path("images", images, sizeof images);
        mkdir(images, 0777);
        fuzz_make_images(images);
    }
    return images;
}

/* Abort if a temp file of an atomic write ("<name>.tmp.<pid>") is left in dir. */
static inline void fuzz_check_no_temp(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        abort();
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".tmp."))
            abort();
    closedir(d);
}

/* How many items of a store the harnesses read. */
#define FUZZ_ITEMS_READ 8

/* Read an open store as `pictor data info` and the loader do: every part of the first
 * FUZZ_ITEMS_READ items, the summary, the file names, the class names (a NULL one aborts); then
 * close it. Errors are the input's and are ignored. */
static inline void fuzz_read_store(store_reader *r)
{
    char err[1024];
    int64_t n = store_count(r);
    for (int64_t i = 0; i < n && i < FUZZ_ITEMS_READ; i++) {
        sample s;
        sample_init(&s);
        store_read(r, i, STORE_READ_ALL, &s, err, sizeof err);
        sample_free(&s);
        uint8_t *bytes = NULL;
        size_t len = 0;
        store_read_image_bytes(r, i, &bytes, &len, err, sizeof err);
        free(bytes);
    }
    store_summary sum;
    store_summarize(r, &sum, err, sizeof err);
    char **names = NULL;
    if (store_file_names(r, &names, err, sizeof err) == 1)
        store_free_names(names, n);
    for (int k = 0; k < store_num_classes(r); k++)
        if (!store_class_name(r, k))
            abort();
    store_close(r);
}

#endif
