/* helpers.h - small utilities shared by the Criterion tests. */
#ifndef PICTOR_TEST_HELPERS_H
#define PICTOR_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>
#include "pt.h"

/* Per-test set-up for suites that use the shim: one intra-op thread, seed 0, no pending error. */
void tst_setup(void);

/* A float32 / float64 / int64 tensor from a C array (copied). */
pt_tensor *tst_f32(const float *data, const int64_t *shape, int ndim);
pt_tensor *tst_f64(const double *data, const int64_t *shape, int ndim);
pt_tensor *tst_i64(const int64_t *data, const int64_t *shape, int ndim);

/* Element i (row-major) of t as double; NAN on error. */
double tst_at(const pt_tensor *t, int64_t i);
/* Largest |a - b| over all elements (shapes must match), +INF on error. */
double tst_max_abs_diff(const pt_tensor *a, const pt_tensor *b);

/* A fresh empty directory under $TMPDIR (or /tmp); the returned string is static per call site
 * owner: free() it. */
char *tst_tmpdir(void);
/* Remove a directory tree made by tst_tmpdir (best effort) and free the path. */
void tst_rmtree(char *dir);
/* Run Debian's /usr/bin/python3 on tests/reference/<script> with args; returns its exit status.
 * Output goes to the test's stderr. */
int tst_python(const char *script, const char *args);
/* Absolute path of a file under the source tree (static buffer per thread). */
const char *tst_src(const char *relpath);

/* --- The end-to-end suites: run the built `pictor` (PICTOR_BINARY_DIR) in a folder, keep its
 * output in DIR/out.txt, read and write files named relative to DIR. */

/* Run `pictor ARGS` (printf format) in dir, stdin /dev/null, stdout and stderr to dir/out.txt;
 * the exit status, or 128 + the signal that ended it. */
int tst_pictor(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A shell command (printf format) in dir; its exit status, or 128 + the signal. */
int tst_sh(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The whole of dir/name, NUL-terminated ("" when missing); free() it. */
char *tst_read(const char *dir, const char *name);
/* dir/name's first 256 KiB in one static buffer, overwritten by the next call ("" when missing):
 * for reading a file inside an assertion without freeing. */
const char *tst_text(const char *dir, const char *name);
/* The last 16 KiB of the last command's output (dir/out.txt) in a static buffer of its own: for
 * assertion messages. */
const char *tst_output(const char *dir);
/* 1 when the last command's output (as tst_output) contains every one of the strings; the
 * list ends with NULL. */
int tst_says(const char *dir, ...) __attribute__((sentinel));
/* Write n bytes / printf-formatted text to dir/name (truncating; nothing is written if it
 * cannot be opened). */
void tst_write(const char *dir, const char *name, const void *data, size_t n);
void tst_write_text(const char *dir, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 1 when dir/name exists. */
int tst_exists(const char *dir, const char *name);
/* How many temp files of atomic writes ("<name>.tmp.<digits>") are under dir; -1 on error. */
int tst_temp_files(const char *dir);

/* A committed store dir/name of n 8x8 grey images labelled i % 2 in the classes {"right",
 * "left"}; pixels(i, px) fills image i. 0, or -1 with the store's message in err. */
int tst_grey8_store(const char *dir, const char *name, int n,
                    void (*pixels)(int i, uint8_t px[64]), char *err, size_t errsz);
/* Two patterns for it, class i % 2 bright in the left half of image i: a fixed texture (bright
 * 180 + (i * 7 + k) % 50, dark 60 + the same), or noise from rand() (bright 170 + rand() % 60,
 * dark 60 + rand() % 60; srand() first for a fixed set). */
void tst_grey8_halves(int i, uint8_t px[64]);
void tst_grey8_noisy(int i, uint8_t px[64]);

#endif
