/*
 * config_load.c - a config file into a doc: `_base_` inheritance, then `--set` overrides
 * (cfg_load, cfg_load_string; config.h describes both rules).
 *
 * Inheritance: a file's `_base_` (a path or a list of paths, relative to that file) is loaded
 * recursively; the bases merge in order into one map and the file merges over them. Merging moves
 * entries: maps merge key by key, anything else replaces (lists are never concatenated), and the
 * location of the winning key is kept for messages. Files are identified by device and inode, so
 * a cycle through another spelling of a path is still caught; at most MAX_BASE_DEPTH levels.
 * Overrides "a.b.c=value" create missing maps on the way and refuse to go through a non-map.
 */
#include "config/config_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/err.h"

/* ---------------------------------------------------------------- inheritance */

/* Move every entry of src into dst (both maps): maps merge recursively, anything else replaces.
 * src is consumed whatever happens; -1 only on out of memory (dst stays well formed). */
static int merge_into(node *dst, node *src)
{
    int rc = 0;
    for (int i = 0; i < src->n; i++) {
        entry *s = &src->entries[i];
        if (rc) {
            free(s->key);
            cfg_node_free(s->val);
            continue;
        }
        entry *d = cfg_map_find(dst, s->key, strlen(s->key));
        if (!d) {
            if (!cfg_map_add(dst, s->key, s->loc, s->val)) {
                free(s->key);
                cfg_node_free(s->val);
                rc = -1;
            }
            continue;
        }
        d->loc = s->loc;
        free(s->key);
        if (d->val->kind == NODE_MAP && s->val->kind == NODE_MAP) {
            if (merge_into(d->val, s->val))
                rc = -1;
        } else {
            cfg_node_free(d->val);
            d->val = s->val;
        }
    }
    src->n = 0; /* every entry was moved or freed above */
    cfg_node_free(src);
    return rc;
}

typedef struct {
    dev_t dev;
    ino_t ino;
    const char *label;
} frame;

typedef struct {
    cfg_doc *doc;
    frame stack[MAX_BASE_DEPTH];
    int depth;
    char *err;
    size_t errlen;
} loader;

/* "a/b/../c/./d" -> "a/c/d" (lexical; leading ".." kept). Writes into out (size len). */
static void normalize_path(const char *in, char *out, size_t len)
{
    const char *seg[256];
    size_t seglen[256];
    int n = 0, absolute = in[0] == '/';
    const char *p = in;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t l = (size_t)(p - s);
        if (l == 1 && s[0] == '.')
            continue;
        if (l == 2 && s[0] == '.' && s[1] == '.' && n > 0 &&
            !(seglen[n - 1] == 2 && !memcmp(seg[n - 1], "..", 2))) {
            n--;
            continue;
        }
        if (n == 256) { /* absurd depth: keep the path as given */
            snprintf(out, len, "%s", in);
            return;
        }
        seg[n] = s;
        seglen[n++] = l;
    }
    size_t o = 0;
    out[0] = '\0';
    if (absolute && o + 1 < len)
        out[o++] = '/', out[o] = '\0';
    for (int i = 0; i < n; i++) {
        int w = snprintf(out + o, len - o, "%s%.*s", i ? "/" : "", (int)seglen[i], seg[i]);
        if (w < 0 || (size_t)w >= len - o)
            return;
        o += (size_t)w;
    }
    if (!n && !absolute)
        snprintf(out, len, ".");
}

/* base resolved against the directory of path (unless absolute), into out. */
static void join_relative(const char *path, const char *base, char *out, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (base[0] == '/' || !slash)
        snprintf(out, len, "%s", base);
    else
        snprintf(out, len, "%.*s/%s", (int)(slash - path), path, base);
}

static node *load_file(loader *L, const char *path, cfg_loc from);

/* "a.yaml -> b.yaml -> a.yaml": the stack from the frame that closes the cycle, then label. */
static void cycle_err(loader *L, int start, const char *label, cfg_loc from)
{
    char chain[LOC_MAX] = "";
    size_t o = 0;
    for (int i = start; i < L->depth && o < sizeof chain; i++) {
        int w = snprintf(chain + o, sizeof chain - o, "%s -> ", L->stack[i].label);
        if (w < 0)
            break;
        o += (size_t)w;
    }
    char where[LOC_MAX];
    err_fail(L->err, L->errlen, "%s: config cycle: %s%s", cfg_loc_str(from, where, sizeof where),
             chain, label);
}

/* The paths listed by a _base_ value: a scalar or a list of scalars. 0, or -1 with a message. */
static int check_base_value(loader *L, const node *v)
{
    char where[LOC_MAX];
    int ok = v->kind == NODE_SCALAR || v->kind == NODE_SEQ;
    for (int i = 0; ok && v->kind == NODE_SEQ && i < v->n; i++)
        ok = v->items[i]->kind == NODE_SCALAR;
    if (ok && v->kind == NODE_SCALAR)
        ok = !cfg_is_null(v);
    for (int i = 0; ok && v->kind == NODE_SEQ && i < v->n; i++)
        ok = !cfg_is_null(v->items[i]);
    if (ok)
        return 0;
    err_fail(L->err, L->errlen, "%s: _base_: expected a path or a list of paths to YAML files",
             cfg_loc_str(v->loc, where, sizeof where));
    return -1;
}

/* Load one base (path relative to the including file) and merge it into acc. */
static int merge_base(loader *L, node *acc, const char *including, const node *ref)
{
    char joined[LOC_MAX], label[LOC_MAX];
    join_relative(including, ref->text, joined, sizeof joined);
    normalize_path(joined, label, sizeof label);
    node *b = load_file(L, label, ref->loc);
    if (!b)
        return -1;
    if (merge_into(acc, b)) {
        err_fail(L->err, L->errlen, "%s: out of memory", label);
        return -1;
    }
    return 0;
}

/* If root (of the file at path) has _base_, the merge of its bases overlaid by root; else root.
 * Consumes root. */
static node *resolve_bases(loader *L, node *root, const char *path)
{
    int i;
    for (i = 0; i < root->n && strcmp(root->entries[i].key, "_base_"); i++)
        ;
    if (i == root->n)
        return root;
    char *key;
    node *bases;
    cfg_map_take(root, i, &key, &bases);
    free(key);
    node *acc = cfg_node_new(NODE_MAP, root->loc);
    if (!acc)
        err_fail(L->err, L->errlen, "%s: out of memory", path);
    if (!acc || check_base_value(L, bases))
        goto fail;
    if (bases->kind == NODE_SCALAR) {
        if (merge_base(L, acc, path, bases))
            goto fail;
    } else {
        for (int k = 0; k < bases->n; k++)
            if (merge_base(L, acc, path, bases->items[k]))
                goto fail;
    }
    cfg_node_free(bases);
    if (merge_into(acc, root)) {
        err_fail(L->err, L->errlen, "%s: out of memory", path);
        cfg_node_free(acc);
        return NULL;
    }
    return acc;
fail:
    cfg_node_free(bases);
    cfg_node_free(acc);
    cfg_node_free(root);
    return NULL;
}

/* Open path, refuse cycles, read it and resolve its bases. from: where it was named (line 0 and
 * src NULL for the top file). */
static node *load_file(loader *L, const char *path, cfg_loc from)
{
    char where[LOC_MAX + 8] = "", at[LOC_MAX];
    if (from.src)
        snprintf(where, sizeof where, "%s: ", cfg_loc_str(from, at, sizeof at));
    const char *label = cfg_doc_label(L->doc, path);
    if (!label) {
        err_fail(L->err, L->errlen, "%s: out of memory", path);
        return NULL;
    }
    struct stat st;
    int e = 0;
    FILE *f = NULL;
    /* only regular files: a FIFO or a terminal would block the open or the read, a device such
     * as /dev/zero would never end */
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        e = S_ISDIR(st.st_mode) ? EISDIR : 0;
    else if (!(f = fopen(path, "rb")))
        e = errno;
    else if (fstat(fileno(f), &st))
        e = errno;
    if (e || !f) {
        err_fail(L->err, L->errlen, "%scannot open %s%s: %s", where, from.src ? "base " : "", path,
                 e ? strerror(e) : "not a regular file");
        if (f)
            fclose(f);
        return NULL;
    }
    for (int i = 0; i < L->depth; i++) {
        if (L->stack[i].dev == st.st_dev && L->stack[i].ino == st.st_ino) {
            fclose(f);
            cycle_err(L, i, label, from);
            return NULL;
        }
    }
    if (L->depth == MAX_BASE_DEPTH) {
        fclose(f);
        err_fail(L->err, L->errlen, "%smore than %d levels of _base_ at %s", where, MAX_BASE_DEPTH,
                 path);
        return NULL;
    }
    node *root = cfg_read_map_file(f, label, L->err, L->errlen);
    fclose(f);
    if (!root)
        return NULL;
    L->stack[L->depth++] = (frame){st.st_dev, st.st_ino, label};
    root = resolve_bases(L, root, label);
    L->depth--;
    return root;
}

/* ---------------------------------------------------------------- overrides */

/* The map that holds the last segment of key (creating missing maps), or NULL with a message. */
static node *override_parent(cfg_doc *doc, const char *key, size_t keylen, cfg_loc loc,
                             const char **last, char *err, size_t errlen)
{
    node *cur = doc->root;
    const char *p = key, *end = key + keylen;
    for (;;) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t len = dot ? (size_t)(dot - p) : (size_t)(end - p);
        if (!len) {
            err_fail(err, errlen, "%s: empty name in the key path '%.*s'", loc.src, (int)keylen,
                     key);
            return NULL;
        }
        if (!dot) {
            *last = p;
            return cur;
        }
        entry *e = cfg_map_find(cur, p, len);
        if (!e) {
            node *m = cfg_node_new(NODE_MAP, loc);
            char *k = strndup(p, len);
            if (!m || !k || !(e = cfg_map_add(cur, k, loc, m))) {
                free(m);
                free(k);
                err_fail(err, errlen, "%s: out of memory", loc.src);
                return NULL;
            }
        } else if (e->val->kind != NODE_MAP) {
            char where[LOC_MAX];
            err_fail(err, errlen, "%s: '%.*s' is %s (at %s), not a map of settings", loc.src,
                     (int)(dot - key), key, cfg_kind_name(e->val),
                     cfg_loc_str(e->val->loc, where, sizeof where));
            return NULL;
        }
        cur = e->val;
        p = dot + 1;
    }
}

/* Apply one "a.b.c=value". */
static int apply_override(cfg_doc *doc, const char *ov, char *err, size_t errlen)
{
    char buf[LOC_MAX];
    snprintf(buf, sizeof buf, "--set %s", ov);
    const char *label = cfg_doc_label(doc, buf);
    if (!label)
        return err_fail(err, errlen, "%s: out of memory", buf);
    const char *eq = strchr(ov, '=');
    if (!eq || eq == ov)
        return err_fail(err, errlen, "%s: expected key.path=value", label);
    cfg_loc loc = {label, 0, 0};
    const char *last;
    node *parent = override_parent(doc, ov, (size_t)(eq - ov), loc, &last, err, errlen);
    if (!parent)
        return -1;
    node *val = cfg_read_value(eq + 1, strlen(eq + 1), label, err, errlen);
    if (!val)
        return -1;
    size_t lastlen = (size_t)(eq - last);
    entry *e = cfg_map_find(parent, last, lastlen);
    if (!e) {
        char *k = strndup(last, lastlen);
        if (!k || !cfg_map_add(parent, k, loc, val)) {
            free(k);
            cfg_node_free(val);
            return err_fail(err, errlen, "%s: out of memory", label);
        }
        return 0;
    }
    e->loc = loc;
    if (e->val->kind == NODE_MAP && val->kind == NODE_MAP)
        return merge_into(e->val, val) ? err_fail(err, errlen, "%s: out of memory", label) : 0;
    cfg_node_free(e->val);
    e->val = val;
    return 0;
}

/* ---------------------------------------------------------------- loading */

static cfg_doc *doc_new(const char *path)
{
    cfg_doc *d = calloc(1, sizeof *d);
    if (d && !(d->path = strdup(path))) {
        free(d);
        d = NULL;
    }
    return d;
}

static cfg_doc *finish_load(cfg_doc *doc, const char *const *overrides, int n_overrides,
                            char *err, size_t errlen)
{
    if (!doc->root) {
        cfg_doc_free(doc);
        return NULL;
    }
    for (int i = 0; i < n_overrides; i++) {
        if (apply_override(doc, overrides[i], err, errlen)) {
            cfg_doc_free(doc);
            return NULL;
        }
    }
    return doc;
}

cfg_doc *cfg_load(const char *path, const char *const *overrides, int n_overrides, char *err,
                  size_t errlen)
{
    cfg_doc *doc = doc_new(path);
    if (!doc) {
        err_fail(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    loader L = {.doc = doc, .err = err, .errlen = errlen};
    doc->root = load_file(&L, path, (cfg_loc){NULL, 0, 0});
    return finish_load(doc, overrides, n_overrides, err, errlen);
}

cfg_doc *cfg_load_string(const char *yaml, const char *label, const char *const *overrides,
                         int n_overrides, char *err, size_t errlen)
{
    if (!label)
        label = "<string>";
    cfg_doc *doc = doc_new(label);
    const char *l = doc ? cfg_doc_label(doc, label) : NULL;
    if (!l) {
        cfg_doc_free(doc);
        err_fail(err, errlen, "%s: out of memory", label);
        return NULL;
    }
    node *root = cfg_read_map_text(yaml, strlen(yaml), l, err, errlen);
    if (root) {
        loader L = {.doc = doc, .err = err, .errlen = errlen};
        root = resolve_bases(&L, root, label);
    }
    doc->root = root;
    return finish_load(doc, overrides, n_overrides, err, errlen);
}

