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

#endif
