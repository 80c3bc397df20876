/* helpers.c - see helpers.h. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "helpers.h"

#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "store/store.h"

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

/* system()'s status as an exit status, or 128 + the signal. */
static int exit_status(int st)
{
    if (st == -1)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int tst_python(const char *script, const char *args)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/reference/%s' %s 1>&2",
             PICTOR_SOURCE_DIR, script, args ? args : "");
    return exit_status(system(cmd));
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

int tst_sh(const char *dir, const char *fmt, ...)
{
    char c[12288], cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c, sizeof c, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd '%s' && %s", dir, c);
    return exit_status(system(cmd));
}

int tst_pictor(const char *dir, const char *fmt, ...)
{
    char args[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return tst_sh(dir, "'%s/pictor' %s >'%s/out.txt' 2>&1 </dev/null", PICTOR_BINARY_DIR, args,
                  dir);
}

char *tst_read(const char *dir, const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    if (!f)
        return calloc(1, 1);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
    if (n > 0 && fread(b, 1, (size_t)n, f) != (size_t)n)
        b[0] = '\0';
    fclose(f);
    return b;
}

const char *tst_text(const char *dir, const char *name)
{
    static char buf[1 << 18];
    char *t = tst_read(dir, name);
    snprintf(buf, sizeof buf, "%s", t);
    free(t);
    return buf;
}

const char *tst_output(const char *dir)
{
    static char buf[16384];
    char *t = tst_read(dir, "out.txt");
    size_t n = strlen(t);
    snprintf(buf, sizeof buf, "%s", n >= sizeof buf ? t + n - (sizeof buf - 1) : t);
    free(t);
    return buf;
}

int tst_says(const char *dir, ...)
{
    va_list ap;
    va_start(ap, dir);
    const char *out = tst_output(dir);
    int ok = 1;
    for (const char *s; (s = va_arg(ap, const char *));)
        ok = ok && strstr(out, s) != NULL;
    va_end(ap);
    return ok;
}

void tst_write(const char *dir, const char *name, const void *data, size_t n)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (f) {
        if (n)
            fwrite(data, 1, n, f);
        fclose(f);
    }
}

void tst_write_text(const char *dir, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!text)
        return;
    va_start(ap, fmt);
    vsnprintf(text, (size_t)n + 1, fmt, ap);
    va_end(ap);
    tst_write(dir, name, text, (size_t)n);
    free(text);
}

int tst_exists(const char *dir, const char *name)
{
    char p[4200];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

int tst_temp_files(const char *dir)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "find '%s' -name '*.tmp.[0-9]*' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1)
            n = -1;
        pclose(p);
    }
    return n;
}

int tst_grey8_store(const char *dir, const char *name, int n,
                    void (*pixels)(int i, uint8_t px[64]), char *err, size_t errsz)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    store_options o = {0};
    o.images = STORE_RAW;
    o.channels = 1;
    o.height = o.width = 8;
    store_writer *w = store_create(path, &o, err, errsz);
    if (!w)
        return -1;
    const char *names[2] = {"right", "left"};
    int rc = store_set_class_names(w, names, 2, err, errsz);
    uint8_t px[64];
    for (int i = 0; i < n && rc == 0; i++) {
        pixels(i, px);
        sample s;
        sample_init(&s);
        s.h = s.w = 8;
        s.c = 1;
        s.image = px;
        s.label = i % 2;
        rc = store_append(w, &s, err, errsz);
    }
    if (rc == 0)
        return store_commit(w, err, errsz) == 0 ? 0 : -1;
    store_abort(w);
    return -1;
}

void tst_grey8_halves(int i, uint8_t px[64])
{
    for (int k = 0; k < 64; k++)
        px[k] = (uint8_t)(((k % 8 < 4) == (i % 2) ? 180 : 60) + (i * 7 + k) % 50);
}

void tst_grey8_noisy(int i, uint8_t px[64])
{
    for (int k = 0; k < 64; k++)
        px[k] = (uint8_t)(((k % 8 < 4) == (i % 2) ? 170 : 60) + rand() % 60);
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
