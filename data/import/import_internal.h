/*
 * import_internal.h - helpers the importers share (data/import_common.c): sorted string lists,
 * directory listings, paths and stems, reading and decoding one image file with the reason it
 * failed, skip records, progress and cancel. Not a public header.
 */
#ifndef PICTOR_DATA_IMPORT_INTERNAL_H
#define PICTOR_DATA_IMPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "import/import.h"
#include "pipeline/sample.h"
#include "store/store.h"

typedef struct {
    char **v;
    int n, cap;
} strlist;

int strlist_push(strlist *l, const char *s); /* copies s; -1 on out of memory */
void strlist_sort(strlist *l);               /* byte-wise (strcmp) order */
int strlist_find(const strlist *l, const char *s); /* index in a sorted list, or -1 */
void strlist_free(strlist *l);

/* Names in dir, sorted, hidden ones (".x") left out: its subfolders (dirs != 0) or its other
 * entries (dirs == 0). A message naming dir on failure. */
int imp_list_dir(const char *dir, int dirs, strlist *out, char *err, size_t errlen);
int imp_is_dir(const char *path);
/* "a/b" (malloc'ed; NULL on out of memory). */
char *imp_join(const char *a, const char *b);
/* File name without its last extension (malloc'ed). */
char *imp_stem(const char *name);
/* Has a .jpg, .jpeg or .png extension (any case). */
int imp_is_image_name(const char *name);

/* An image file read and decoded to channels: its bytes (*data, *len) and pixels (*px, h, w, c).
 * With px NULL the image is only checked (image_check) and c is set to channels.
 * On failure returns -1 and a short reason ("truncated JPEG", "No such file or directory"). */
int imp_load_image(const char *path, int channels, uint8_t **data, size_t *len, uint8_t **px,
                   int *h, int *w, int *c, char *why, size_t whylen);

/* Record a skipped entry "name (why)". -1 on out of memory. */
int imp_skip(import_report *rep, const char *name, const char *why);

/* Progress on a terminal: "\r<what> done/total" about every 1%; nothing on a pipe or file. */
void imp_progress(const import_common *c, const char *what, int64_t done, int64_t total);
void imp_progress_end(const import_common *c, const char *what, int64_t done, int64_t total);
int imp_cancelled(const import_common *c);

/* The end of every importer: commit w (or abort it when nothing was written, on cancel, or
 * when rc is already an error). Returns the final status and sets err. */
int imp_finish(store_writer *w, const import_common *c, import_report *rep, int rc, char *err,
               size_t errlen);

int imp_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
