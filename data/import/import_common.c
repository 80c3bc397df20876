/*
 * import_common.c - see import_internal.h and import.h: what every importer shares (listings,
 * stems, image loading with a reason, skip records and the report, progress, cancel, the final
 * commit-or-abort), and the COCO_MVal file-name rule.
 */
#include "import/import_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/image.h"
#include "base/err.h"

int imp_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vfail(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

/* ---------------------------------------------------------------- string lists */

int strlist_push(strlist *l, const char *s)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s)))
        return -1;
    l->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void strlist_sort(strlist *l)
{
    if (l->n > 1)
        qsort(l->v, (size_t)l->n, sizeof *l->v, cmp_str);
}

int strlist_find(const strlist *l, const char *s)
{
    int lo = 0, hi = l->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(l->v[mid], s);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

void strlist_free(strlist *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* ---------------------------------------------------------------- paths */

char *imp_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

int imp_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *imp_stem(const char *name)
{
    char *s = strdup(name);
    char *dot = s ? strrchr(s, '.') : NULL;
    if (dot && dot != s)
        *dot = 0;
    return s;
}

int imp_is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") ||
                   !strcasecmp(dot, ".png"));
}

int imp_list_dir(const char *dir, int dirs, strlist *out, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return imp_fail(err, errlen, -1, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *full = imp_join(dir, e->d_name);
        if (!full) {
            rc = imp_fail(err, errlen, -1, "out of memory");
            break;
        }
        if (imp_is_dir(full) == (dirs != 0) && strlist_push(out, e->d_name))
            rc = imp_fail(err, errlen, -1, "out of memory");
        free(full);
    }
    closedir(d);
    strlist_sort(out);
    return rc;
}

/* ---------------------------------------------------------------- images */

int imp_load_image(const char *path, int channels, uint8_t **data, size_t *len, uint8_t **px,
                   int *h, int *w, int *c, char *why, size_t whylen)
{
    char msg[512];
    if (px)
        *px = NULL;
    if (image_read_file(path, data, len, msg, sizeof msg)) {
        /* image_read_file names the file; the reason is what follows "path: " */
        size_t n = strlen(path);
        snprintf(why, whylen, "%s", strncmp(msg, path, n) == 0 && msg[n] == ':' ? msg + n + 2
                                                                                  : msg);
        return -1;
    }
    int rc = px ? image_decode(*data, *len, channels, px, h, w, c, why, whylen)
                : image_check(*data, *len, h, w, c, why, whylen);
    if (rc != 0) {
        free(*data);
        *data = NULL;
        return -1;
    }
    if (!px && channels)
        *c = channels; /* what the pixels will decode to */
    return 0;
}

/* ---------------------------------------------------------------- report */

int imp_skip(import_report *rep, const char *name, const char *why)
{
    size_t n = strlen(name) + strlen(why) + 4;
    char *line = malloc(n);
    char **v = realloc(rep->skipped_files, (size_t)(rep->skipped + 1) * sizeof *v);
    if (!line || !v) {
        free(line);
        if (v)
            rep->skipped_files = v;
        return -1;
    }
    snprintf(line, n, "%s (%s)", name, why);
    v[rep->skipped++] = line;
    rep->skipped_files = v;
    return 0;
}

void import_report_free(import_report *rep)
{
    for (int64_t i = 0; i < rep->skipped; i++)
        free(rep->skipped_files[i]);
    free(rep->skipped_files);
    memset(rep, 0, sizeof *rep);
}

void import_report_print(FILE *f, const char *out, const import_report *rep)
{
    fprintf(f, "wrote %s: %lld items", out, (long long)rep->written);
    if (rep->n_classes > 0)
        fprintf(f, ", %d classes", rep->n_classes);
    if (rep->n_domains > 0)
        fprintf(f, ", %d domains", rep->n_domains);
    fputc('\n', f);
    if (rep->resized_masks > 0)
        fprintf(f, "resized %lld masks to the size of their image (same aspect ratio)\n",
                (long long)rep->resized_masks);
    if (rep->skipped == 0)
        return;
    fprintf(f, "skipped %lld of %lld files:", (long long)rep->skipped, (long long)rep->seen);
    int one_line = rep->skipped <= 10;
    for (int64_t i = 0; i < rep->skipped; i++) {
        if (one_line)
            fprintf(f, "%s %s", i ? "," : "", rep->skipped_files[i]);
        else
            fprintf(f, "\n  %s", rep->skipped_files[i]);
    }
    fputc('\n', f);
}

/* ---------------------------------------------------------------- progress, cancel, finish */

static int on_terminal(const import_common *c)
{
    return c->progress && isatty(fileno(c->progress));
}

void imp_progress(const import_common *c, const char *what, int64_t done, int64_t total)
{
    if (!on_terminal(c) || total <= 0)
        return;
    int64_t step = total / 100 > 0 ? total / 100 : 1;
    if (done % step == 0)
        fprintf(c->progress, "\r%s %lld/%lld", what, (long long)done, (long long)total);
    fflush(c->progress);
}

void imp_progress_end(const import_common *c, const char *what, int64_t done, int64_t total)
{
    if (on_terminal(c))
        fprintf(c->progress, "\r%s %lld/%lld\n", what, (long long)done, (long long)total);
}

int imp_cancelled(const import_common *c)
{
    return c->cancel && *c->cancel;
}

int imp_finish(store_writer *w, const import_common *c, import_report *rep, int rc, char *err,
               size_t errlen)
{
    if (rc == IMPORT_OK && imp_cancelled(c))
        rc = imp_fail(err, errlen, IMPORT_CANCELLED, "%s: interrupted; nothing written", c->out);
    if (rc == IMPORT_OK && rep->written == 0) {
        /* say why: the first skipped files with their reasons */
        char why[1024] = "";
        size_t used = 0;
        for (int64_t i = 0; i < rep->skipped && i < 5 && used < sizeof why; i++) {
            int n = snprintf(why + used, sizeof why - used, "%s%s", i ? ", " : ": ",
                             rep->skipped_files[i]);
            used += n > 0 ? (size_t)n : 0;
        }
        if (rep->skipped > 5 && used < sizeof why)
            snprintf(why + used, sizeof why - used, ", ... and %lld more",
                     (long long)rep->skipped - 5);
        rc = imp_fail(err, errlen, IMPORT_USER_ERROR, "%s: no item could be imported (%lld "
                      "skipped%s); nothing written", c->out, (long long)rep->skipped, why);
    }
    if (rc != IMPORT_OK) {
        store_abort(w);
        return rc;
    }
    if (store_commit(w, err, errlen))
        return IMPORT_INTERNAL_ERROR;
    return IMPORT_OK;
}

/* ---------------------------------------------------------------- COCO_MVal names */

int import_parse_class_prefix(const char *stem, char *cls, size_t clslen, int64_t *photo_id)
{
    const char *us = strrchr(stem, '_');
    if (!us || us - stem < 3 || !us[1])
        return -1;
    int64_t id = 0;
    for (const char *p = us + 1; *p; p++) {
        if (!isdigit((unsigned char)*p) || id > (INT64_MAX - 9) / 10)
            return -1;
        id = id * 10 + (*p - '0');
    }
    if (!isdigit((unsigned char)us[-1]) || !isdigit((unsigned char)us[-2]))
        return -1;
    size_t n = (size_t)(us - 2 - stem);
    if (n == 0 || n >= clslen)
        return -1;
    memcpy(cls, stem, n);
    cls[n] = 0;
    *photo_id = id;
    return 0;
}
