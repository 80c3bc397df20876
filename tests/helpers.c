/* helpers.c - see helpers.h. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "helpers.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tst_setup(void)
{
    pt_set_num_threads(1);
    pt_manual_seed(0);
    pt_error_clear();
}

pt_tensor *tst_f32(const float *data, const int64_t *shape, int ndim)
{
    return pt_from_data(data, shape, ndim, PT_F32);
}

pt_tensor *tst_f64(const double *data, const int64_t *shape, int ndim)
{
    return pt_from_data(data, shape, ndim, PT_F64);
}

pt_tensor *tst_i64(const int64_t *data, const int64_t *shape, int ndim)
{
    return pt_from_data(data, shape, ndim, PT_I64);
}

double tst_at(const pt_tensor *t, int64_t i)
{
    pt_tensor *d = pt_to_dtype(t, PT_F64);
    pt_tensor *c = pt_contiguous(d);
    double v = NAN;
    if (c && i >= 0 && i < pt_numel(c))
        v = ((const double *)pt_data_ptr(c))[i];
    pt_free(c);
    pt_free(d);
    return v;
}

double tst_max_abs_diff(const pt_tensor *a, const pt_tensor *b)
{
    int64_t sa[16], sb[16];
    int na = pt_shape(a, sa, 16), nb = pt_shape(b, sb, 16);
    if (na < 0 || na != nb || memcmp(sa, sb, (size_t)na * sizeof sa[0]) != 0)
        return INFINITY;
    pt_tensor *da = pt_to_dtype(a, PT_F64), *db = pt_to_dtype(b, PT_F64);
    pt_tensor *d = pt_sub(da, db);
    pt_tensor *ad = pt_abs(d);
    pt_tensor *m = pt_numel(a) ? pt_max(ad) : NULL;
    double v = pt_numel(a) ? pt_item_or_nan(m) : 0.0;
    pt_free(m);
    pt_free(ad);
    pt_free(d);
    pt_free(db);
    pt_free(da);
    return isnan(v) ? INFINITY : v;
}

char *tst_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/pictor-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpl))
        return NULL;
    return strdup(tmpl);
}

const char *tst_src(const char *relpath)
{
    static _Thread_local char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", PICTOR_SOURCE_DIR, relpath);
    return buf;
}

int tst_python(const char *script, const char *args)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/reference/%s' %s 1>&2",
             PICTOR_SOURCE_DIR, script, args ? args : "");
    int st = system(cmd);
    if (st == -1)
        return -1;
    return (st & 0x7f) ? 128 + (st & 0x7f) : (st >> 8) & 0xff;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void tst_rmtree(char *dir)
{
    if (dir && strncmp(dir, "/", 1) == 0 && strstr(dir, "pictor-test-"))
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

#ifdef PICTOR_SANITIZED
/* LeakSanitizer: fontconfig (loaded by cairo to draw plot text) keeps its parsed configuration
 * for the life of the process, and Criterion's runner keeps a few of its own records (48-byte
 * callocs inside libcriterion) until exit; neither is pictor's memory. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\nleak:libcriterion.so\n";
}
#endif
