/*
 * config_diff.c - key-by-key comparison of two emitted configs (see config_diff.h).
 */
#include "core/config_diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 16
#define ABSENT "(absent)"

typedef struct {
    char *key, *val;
    int used;
} kv;

typedef struct {
    kv *v;
    int n, cap;
} kv_list;

static void kv_list_free(kv_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i].key), free(l->v[i].val);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* end of the value on [s, e): before a " #" comment outside double quotes, trailing blanks cut */
static const char *value_end(const char *s, const char *e)
{
    int quoted = 0;
    const char *p = s;
    for (; p < e; p++) {
        if (quoted && *p == '\\' && p + 1 < e)
            p++;
        else if (*p == '"')
            quoted = !quoted;
        else if (!quoted && *p == '#' && (p == s || p[-1] == ' '))
            break;
    }
    while (p > s && (p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\r'))
        p--;
    return p;
}

static int push(kv_list *l, const char *const *path, int depth, const char *key, size_t key_len,
                const char *val, size_t val_len)
{
    size_t len = key_len + 1;
    for (int i = 0; i < depth; i++)
        len += strlen(path[i]) + 1;
    char *k = malloc(len);
    if (!k)
        return -1;
    k[0] = 0;
    for (int i = 0; i < depth; i++)
        strcat(strcat(k, path[i]), ".");
    strncat(k, key, key_len);
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        kv *v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) {
            free(k);
            return -1;
        }
        l->v = v, l->cap = cap;
    }
    char *vv = dup_n(val, val_len);
    if (!vv) {
        free(k);
        return -1;
    }
    l->v[l->n++] = (kv){k, vv, 0};
    return 0;
}

/* "key: value" lines under their section path; section names live in path[] (owned). */
static int flatten(const char *text, kv_list *out)
{
    char *path[MAX_DEPTH] = {0};
    int rc = 0, item = 0;
    for (const char *line = text; *line && !rc;) {
        const char *nl = strchr(line, '\n');
        const char *e = nl ? nl : line + strlen(line);
        const char *p = line;
        while (p < e && *p == ' ')
            p++;
        int depth = (int)(p - line) / 2;
        if (p < e && *p != '#' && depth < MAX_DEPTH) {
            const char *colon = memchr(p, ':', (size_t)(e - p));
            if (*p == '-' || !colon) { /* a block-list item (not emitted today): numbered */
                char name[32];
                int n = snprintf(name, sizeof name, "[%d]", item++);
                const char *vend = value_end(p, e);
                rc = push(out, (const char *const *)path, depth, name, (size_t)n, p,
                          (size_t)(vend - p));
            } else {
                const char *v = colon + 1;
                while (v < e && *v == ' ')
                    v++;
                const char *vend = value_end(v, e);
                for (int i = depth; i < MAX_DEPTH; i++)
                    free(path[i]), path[i] = NULL;
                if (vend == v) { /* a section */
                    if (!(path[depth] = dup_n(p, (size_t)(colon - p))))
                        rc = -1;
                    item = 0;
                } else {
                    rc = push(out, (const char *const *)path, depth, p, (size_t)(colon - p), v,
                              (size_t)(vend - v));
                }
            }
        }
        line = nl ? nl + 1 : e;
    }
    for (int i = 0; i < MAX_DEPTH; i++)
        free(path[i]);
    return rc;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const kv *)a)->key, ((const kv *)b)->key);
}

static int run_length_key(const char *k)
{
    static const char *const free_keys[] = {
        "train.max_steps", "train.epochs",     "train.threads", "train.log_every",
        "train.eval_every", "train.checkpoint_every", "data.workers", "data.prefetch",
        "data.val"};
    if (!strncmp(k, "run.", 4))
        return 1;
    for (size_t i = 0; i < sizeof free_keys / sizeof *free_keys; i++)
        if (!strcmp(k, free_keys[i]))
            return 1;
    return 0;
}

static int add_entry(cfgdiff *d, int *cap, const char *key, const char *o, const char *n)
{
    if (d->n == *cap) {
        int c = *cap ? 2 * *cap : 16;
        cfgdiff_entry *e = realloc(d->e, (size_t)c * sizeof *e);
        if (!e)
            return -1;
        d->e = e, *cap = c;
    }
    cfgdiff_entry *x = &d->e[d->n];
    x->key = strdup(key), x->old_val = strdup(o), x->new_val = strdup(n);
    x->blocking = 0;
    d->n++;
    if (!x->key || !x->old_val || !x->new_val)
        return -1;
    x->blocking = !run_length_key(key);
    d->n_blocking += x->blocking;
    return 0;
}

int cfgdiff_compute(const char *old_text, const char *new_text, cfgdiff *out, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof *out);
    kv_list a = {0}, b = {0};
    int cap = 0, rc = flatten(old_text, &a) || flatten(new_text, &b) ? -1 : 0;
    if (!rc && a.n) /* no qsort/bsearch of a NULL array: an empty text has none */
        qsort(a.v, (size_t)a.n, sizeof *a.v, by_key);
    for (int i = 0; i < b.n && !rc; i++) {
        kv *hit = a.n ? bsearch(&b.v[i], a.v, (size_t)a.n, sizeof *a.v, by_key) : NULL;
        if (hit)
            hit->used = 1;
        if (!hit || strcmp(hit->val, b.v[i].val))
            rc = add_entry(out, &cap, b.v[i].key, hit ? hit->val : ABSENT, b.v[i].val);
    }
    for (int i = 0; i < a.n && !rc; i++)
        if (!a.v[i].used)
            rc = add_entry(out, &cap, a.v[i].key, a.v[i].val, ABSENT);
    kv_list_free(&a);
    kv_list_free(&b);
    if (rc) {
        cfgdiff_free(out);
        snprintf(err, errlen, "out of memory comparing configs");
    }
    return rc;
}

void cfgdiff_format(const cfgdiff *d, int blocking_only, int max_lines, char *buf, size_t len)
{
    size_t at = 0;
    int shown = 0, left = 0;
    if (len)
        buf[0] = 0;
    for (int i = 0; i < d->n; i++) {
        if (blocking_only && !d->e[i].blocking)
            continue;
        if (shown == max_lines) {
            left++;
            continue;
        }
        int w = at < len ? snprintf(buf + at, len - at, "  %s: %s -> %s\n", d->e[i].key,
                                    d->e[i].old_val, d->e[i].new_val)
                         : 0;
        if (w > 0)
            at += (size_t)w;
        shown++;
    }
    if (left && at < len)
        snprintf(buf + at, len - at, "  ... and %d more\n", left);
}

void cfgdiff_free(cfgdiff *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->n; i++)
        free(d->e[i].key), free(d->e[i].old_val), free(d->e[i].new_val);
    free(d->e);
    memset(d, 0, sizeof *d);
}
