/*
 * config.c - the YAML config layer declared in config.h.
 *
 * Owns: the node tree (maps, sequences, scalars with file:line:col), reading it from libyaml's
 * event stream, `_base_` resolution and map merging, `--set` overrides, scalar -> typed value
 * conversion with range checks, binding descriptor tables, unknown keys and "did you mean",
 * emitting YAML and hashing it. Knows no section names (settings.c does).
 *
 * Reading order of this file: errors and locations, the tree, the doc, reading YAML, inheritance,
 * overrides, values, binding, unknown keys, emission and hashing.
 */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#define MAX_NESTING 64     /* maps/sequences inside each other in one file */
#define MAX_BASE_DEPTH 32  /* _base_ levels */
#define LOC_MAX 4200       /* a located prefix: path:line:col */

/* ================================================================ errors and locations */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Where a node or key came from. line == 0: no position (an override or a default); src is then
 * the whole label ("--set a.b=c"). src points into the doc's label pool. */
typedef struct {
    const char *src;
    int line, col;
} cfg_loc;

static const char *loc_str(cfg_loc l, char *buf, size_t len)
{
    if (l.line > 0)
        snprintf(buf, len, "%s:%d:%d", l.src, l.line, l.col);
    else
        snprintf(buf, len, "%s", l.src);
    return buf;
}

/* ================================================================ the tree */

typedef enum { NODE_SCALAR, NODE_SEQ, NODE_MAP } node_kind;

/* How a map entry was used by the bound tables. */
enum { UNUSED = 0, USED_FIELD, USED_SECTION, USED_VERBATIM };

typedef struct node node;

typedef struct {
    char *key;
    cfg_loc loc;   /* of the key */
    node *val;
    unsigned char used;
} entry;

struct node {
    node_kind kind;
    cfg_loc loc;
    char *text;      /* scalar */
    int plain;       /* scalar written without quotes (may be a number, bool or null) */
    int n, cap;      /* items or entries */
    node **items;    /* sequence */
    entry *entries;  /* map */
};

static node *node_new(node_kind kind, cfg_loc loc)
{
    node *n = calloc(1, sizeof *n);
    if (n) {
        n->kind = kind;
        n->loc = loc;
    }
    return n;
}

static void node_free(node *n)
{
    if (!n)
        return;
    for (int i = 0; i < n->n; i++) {
        if (n->kind == NODE_SEQ) {
            node_free(n->items[i]);
        } else if (n->kind == NODE_MAP) {
            free(n->entries[i].key);
            node_free(n->entries[i].val);
        }
    }
    free(n->items);
    free(n->entries);
    free(n->text);
    free(n);
}

static node *scalar_new(cfg_loc loc, const char *text, size_t len, int plain)
{
    node *n = node_new(NODE_SCALAR, loc);
    if (!n)
        return NULL;
    n->text = malloc(len + 1);
    if (!n->text) {
        free(n);
        return NULL;
    }
    memcpy(n->text, text, len);
    n->text[len] = '\0';
    n->plain = plain;
    return n;
}

/* Room for one more item or entry; -1 on out of memory. */
static int node_grow(node *n)
{
    if (n->n < n->cap)
        return 0;
    int cap = n->cap ? 2 * n->cap : 8;
    if (n->kind == NODE_SEQ) {
        node **p = realloc(n->items, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        n->items = p;
    } else {
        entry *p = realloc(n->entries, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        n->entries = p;
    }
    n->cap = cap;
    return 0;
}

static int seq_push(node *seq, node *item)
{
    if (node_grow(seq))
        return -1;
    seq->items[seq->n++] = item;
    return 0;
}

/* Append key (taken) -> val (taken); NULL on out of memory (nothing taken). */
static entry *map_add(node *map, char *key, cfg_loc loc, node *val)
{
    if (node_grow(map))
        return NULL;
    entry *e = &map->entries[map->n++];
    e->key = key;
    e->loc = loc;
    e->val = val;
    e->used = UNUSED;
    return e;
}

static entry *map_find(const node *map, const char *key, size_t keylen)
{
    if (!map || map->kind != NODE_MAP)
        return NULL;
    for (int i = 0; i < map->n; i++)
        if (strlen(map->entries[i].key) == keylen && !memcmp(map->entries[i].key, key, keylen))
            return &map->entries[i];
    return NULL;
}

/* Remove entry i from a map, handing its key and value to the caller. */
static void map_take(node *map, int i, char **key, node **val)
{
    *key = map->entries[i].key;
    *val = map->entries[i].val;
    memmove(&map->entries[i], &map->entries[i + 1], (size_t)(map->n - i - 1) * sizeof(entry));
    map->n--;
}

static const char *kind_name(const node *n)
{
    return n->kind == NODE_MAP ? "a map" : n->kind == NODE_SEQ ? "a list" : "a scalar";
}

/* A plain scalar YAML reads as null. */
static int is_null(const node *n)
{
    if (n->kind != NODE_SCALAR || !n->plain)
        return 0;
    const char *t = n->text;
    return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") ||
           !strcmp(t, "NULL");
}

/* The entry at a dotted path below root (NULL if any part is missing or not a map). */
static entry *find_entry(const node *root, const char *dotted)
{
    const node *cur = root;
    entry *e = NULL;
    const char *p = dotted;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        e = map_find(cur, p, len);
        if (!e || !dot)
            return e;
        cur = e->val;
        p = dot + 1;
    }
}

/* ================================================================ the doc */

struct cfg_doc {
    node *root;     /* always a map */
    char *path;
    char **labels;  /* interned file names and override labels, freed with the doc */
    int n_labels, cap_labels;
    char **known;   /* every dotted key and section path of the bound tables */
    int n_known, cap_known;
};

static int strv_push(char ***v, int *n, int *cap, char *s)
{
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 16;
        char **p = realloc(*v, (size_t)c * sizeof *p);
        if (!p)
            return -1;
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = s;
    return 0;
}

/* A stable copy of s owned by the doc; NULL on out of memory. */
static const char *doc_label(cfg_doc *d, const char *s)
{
    for (int i = 0; i < d->n_labels; i++)
        if (!strcmp(d->labels[i], s))
            return d->labels[i];
    char *c = strdup(s);
    if (!c || strv_push(&d->labels, &d->n_labels, &d->cap_labels, c)) {
        free(c);
        return NULL;
    }
    return c;
}

/* Remember a known key for suggestions (duplicates ignored). -1 on out of memory. */
static int doc_known(cfg_doc *d, const char *key)
{
    for (int i = 0; i < d->n_known; i++)
        if (!strcmp(d->known[i], key))
            return 0;
    char *c = strdup(key);
    if (!c || strv_push(&d->known, &d->n_known, &d->cap_known, c)) {
        free(c);
        return -1;
    }
    return 0;
}

void cfg_doc_free(cfg_doc *doc)
{
    if (!doc)
        return;
    node_free(doc->root);
    for (int i = 0; i < doc->n_labels; i++)
        free(doc->labels[i]);
    for (int i = 0; i < doc->n_known; i++)
        free(doc->known[i]);
    free(doc->labels);
    free(doc->known);
    free(doc->path);
    free(doc);
}

const char *cfg_doc_path(const cfg_doc *doc)
{
    return doc->path;
}

/* ================================================================ reading YAML */

typedef struct {
    yaml_parser_t parser;
    const char *label;  /* interned: file name, or "--set ..." / "default of ..." */
    int has_lines;      /* 0 for one-line values: locations are the bare label */
    char *err;
    size_t errlen;
} reader;

static cfg_loc mark_loc(const reader *r, yaml_mark_t m)
{
    cfg_loc l = {r->label, 0, 0};
    if (r->has_lines) {
        l.line = (int)m.line + 1;
        l.col = (int)m.column + 1;
    }
    return l;
}

/* The located message for an error at mark m. */
static void reader_err(reader *r, yaml_mark_t m, const char *what)
{
    char where[LOC_MAX];
    set_err(r->err, r->errlen, "%s: %s", loc_str(mark_loc(r, m), where, sizeof where), what);
}

/* libyaml's own error, with its position and problem text. */
static void parser_err(reader *r)
{
    yaml_parser_t *p = &r->parser;
    char where[LOC_MAX];
    if (p->error == YAML_MEMORY_ERROR) {
        set_err(r->err, r->errlen, "%s: out of memory reading YAML", r->label);
    } else if (p->error == YAML_READER_ERROR) {
        set_err(r->err, r->errlen, "%s: malformed YAML: %s at byte %zu", r->label,
                p->problem ? p->problem : "unreadable input", p->problem_offset);
    } else if (p->context && r->has_lines) {
        set_err(r->err, r->errlen, "%s: malformed YAML: %s (%s at line %zu)",
                loc_str(mark_loc(r, p->problem_mark), where, sizeof where),
                p->problem ? p->problem : "syntax error", p->context, p->context_mark.line + 1);
    } else if (r->has_lines) {
        set_err(r->err, r->errlen, "%s: malformed YAML: %s",
                loc_str(mark_loc(r, p->problem_mark), where, sizeof where),
                p->problem ? p->problem : "syntax error");
    } else {
        set_err(r->err, r->errlen, "%s: malformed value: %s%s%s%s", r->label,
                p->problem ? p->problem : "syntax error", p->context ? " (" : "",
                p->context ? p->context : "", p->context ? ")" : "");
    }
}

static int next_event(reader *r, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&r->parser, ev)) {
        parser_err(r);
        return -1;
    }
    return 0;
}

static node *read_node(reader *r, yaml_event_t *ev, int depth);

/* Refuse anchors (and with them aliases and merge keys): one way to share values, _base_. */
static int refuse_anchor(reader *r, const yaml_event_t *ev)
{
    const yaml_char_t *anchor = ev->type == YAML_SCALAR_EVENT           ? ev->data.scalar.anchor
                                : ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.anchor
                                : ev->type == YAML_MAPPING_START_EVENT  ? ev->data.mapping_start.anchor
                                                                        : NULL;
    if (!anchor && ev->type != YAML_ALIAS_EVENT)
        return 0;
    reader_err(r, ev->start_mark,
               "anchors and aliases (&name, *name) are not supported: write the value out, or "
               "share it through _base_");
    return -1;
}

static node *read_seq(reader *r, cfg_loc loc, int depth)
{
    node *seq = node_new(NODE_SEQ, loc);
    if (!seq) {
        set_err(r->err, r->errlen, "%s: out of memory", r->label);
        return NULL;
    }
    for (;;) {
        yaml_event_t ev;
        if (next_event(r, &ev))
            goto fail;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return seq;
        }
        node *item = read_node(r, &ev, depth + 1);
        if (!item)
            goto fail;
        if (seq_push(seq, item)) {
            node_free(item);
            set_err(r->err, r->errlen, "%s: out of memory", r->label);
            goto fail;
        }
    }
fail:
    node_free(seq);
    return NULL;
}

/* One key: a scalar, not yet in map. Returns the malloc'ed key or NULL with a message. */
static char *read_key(reader *r, node *map, yaml_event_t *ev, cfg_loc *loc)
{
    if (refuse_anchor(r, ev))
        return NULL;
    if (ev->type != YAML_SCALAR_EVENT) {
        reader_err(r, ev->start_mark, "a key must be a plain name, not a list or a map");
        return NULL;
    }
    const char *k = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    *loc = mark_loc(r, ev->start_mark);
    entry *dup = map_find(map, k, len);
    if (dup) {
        char msg[512];
        if (dup->loc.line > 0)
            snprintf(msg, sizeof msg, "duplicate key '%.*s' (also at line %d)", (int)len, k,
                     dup->loc.line);
        else
            snprintf(msg, sizeof msg, "duplicate key '%.*s'", (int)len, k);
        reader_err(r, ev->start_mark, msg);
        return NULL;
    }
    char *key = malloc(len + 1);
    if (!key) {
        set_err(r->err, r->errlen, "%s: out of memory", r->label);
        return NULL;
    }
    memcpy(key, k, len);
    key[len] = '\0';
    return key;
}

static node *read_map(reader *r, cfg_loc loc, int depth)
{
    node *map = node_new(NODE_MAP, loc);
    if (!map) {
        set_err(r->err, r->errlen, "%s: out of memory", r->label);
        return NULL;
    }
    for (;;) {
        yaml_event_t ev;
        if (next_event(r, &ev))
            goto fail;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return map;
        }
        cfg_loc kloc;
        char *key = read_key(r, map, &ev, &kloc);
        yaml_event_delete(&ev);
        if (!key)
            goto fail;
        if (next_event(r, &ev)) {
            free(key);
            goto fail;
        }
        node *val = read_node(r, &ev, depth + 1);
        if (!val) {
            free(key);
            goto fail;
        }
        if (!map_add(map, key, kloc, val)) {
            free(key);
            node_free(val);
            set_err(r->err, r->errlen, "%s: out of memory", r->label);
            goto fail;
        }
    }
fail:
    node_free(map);
    return NULL;
}

/* The node that starts with *ev (which this call deletes); NULL with a message. */
static node *read_node(reader *r, yaml_event_t *ev, int depth)
{
    node *n = NULL;
    cfg_loc loc = mark_loc(r, ev->start_mark);
    if (refuse_anchor(r, ev)) {
        yaml_event_delete(ev);
        return NULL;
    }
    if (depth > MAX_NESTING) {
        reader_err(r, ev->start_mark, "maps and lists nested too deeply");
        yaml_event_delete(ev);
        return NULL;
    }
    yaml_event_type_t type = ev->type;
    if (type == YAML_SCALAR_EVENT) {
        n = scalar_new(loc, (const char *)ev->data.scalar.value, ev->data.scalar.length,
                       ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
        if (!n)
            set_err(r->err, r->errlen, "%s: out of memory", r->label);
    }
    yaml_event_delete(ev);
    if (type == YAML_SEQUENCE_START_EVENT)
        n = read_seq(r, loc, depth);
    else if (type == YAML_MAPPING_START_EVENT)
        n = read_map(r, loc, depth);
    else if (type != YAML_SCALAR_EVENT)
        set_err(r->err, r->errlen, "%s: unexpected YAML event %d", r->label, (int)type);
    return n;
}

/* One whole stream: its single document's root node. An empty stream is a null scalar. */
static node *read_stream(reader *r)
{
    yaml_event_t ev;
    node *root = NULL;
    if (next_event(r, &ev))
        return NULL;
    yaml_event_delete(&ev); /* STREAM_START */
    if (next_event(r, &ev))
        return NULL;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        cfg_loc l = {r->label, r->has_lines, r->has_lines};
        root = scalar_new(l, "", 0, 1);
        if (!root)
            set_err(r->err, r->errlen, "%s: out of memory", r->label);
        return root;
    }
    yaml_event_delete(&ev); /* DOCUMENT_START */
    if (next_event(r, &ev))
        return NULL;
    root = read_node(r, &ev, 0);
    if (!root)
        return NULL;
    if (next_event(r, &ev)) /* DOCUMENT_END */
        goto fail;
    yaml_event_delete(&ev);
    if (next_event(r, &ev))
        goto fail;
    if (ev.type != YAML_STREAM_END_EVENT) {
        reader_err(r, ev.start_mark, "a second YAML document ('---'): a config is one document");
        yaml_event_delete(&ev);
        goto fail;
    }
    yaml_event_delete(&ev);
    return root;
fail:
    node_free(root);
    return NULL;
}

/* The top of a file must be a mapping; null (empty file) becomes an empty one. */
static node *require_top_map(reader *r, node *root)
{
    if (!root || root->kind == NODE_MAP)
        return root;
    if (is_null(root)) {
        node *m = node_new(NODE_MAP, root->loc);
        if (!m)
            set_err(r->err, r->errlen, "%s: out of memory", r->label);
        node_free(root);
        return m;
    }
    char where[LOC_MAX];
    set_err(r->err, r->errlen, "%s: expected a map of sections (key: value) at the top, got %s",
            loc_str(root->loc, where, sizeof where), kind_name(root));
    node_free(root);
    return NULL;
}

/* Parse YAML text (len bytes) labelled label (interned). */
static node *read_text(const char *text, size_t len, const char *label, int has_lines, char *err,
                       size_t errlen)
{
    reader r = {.label = label, .has_lines = has_lines, .err = err, .errlen = errlen};
    if (!yaml_parser_initialize(&r.parser)) {
        set_err(err, errlen, "%s: out of memory", label);
        return NULL;
    }
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
    node *n = read_stream(&r);
    yaml_parser_delete(&r.parser);
    return n;
}

/* Parse an open file labelled label (interned) into its top map. */
static node *read_file(FILE *f, const char *label, char *err, size_t errlen)
{
    reader r = {.label = label, .has_lines = 1, .err = err, .errlen = errlen};
    if (!yaml_parser_initialize(&r.parser)) {
        set_err(err, errlen, "%s: out of memory", label);
        return NULL;
    }
    yaml_parser_set_input_file(&r.parser, f);
    node *n = require_top_map(&r, read_stream(&r));
    yaml_parser_delete(&r.parser);
    return n;
}

/* ================================================================ inheritance */

/* Move every entry of src into dst (both maps): maps merge recursively, anything else replaces.
 * src is consumed whatever happens; -1 only on out of memory (dst stays well formed). */
static int merge_into(node *dst, node *src)
{
    int rc = 0;
    for (int i = 0; i < src->n; i++) {
        entry *s = &src->entries[i];
        if (rc) {
            free(s->key);
            node_free(s->val);
            continue;
        }
        entry *d = map_find(dst, s->key, strlen(s->key));
        if (!d) {
            if (!map_add(dst, s->key, s->loc, s->val)) {
                free(s->key);
                node_free(s->val);
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
            node_free(d->val);
            d->val = s->val;
        }
    }
    free(src->entries);
    free(src->text);
    free(src);
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
    set_err(L->err, L->errlen, "%s: config cycle: %s%s", loc_str(from, where, sizeof where),
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
        ok = !is_null(v);
    for (int i = 0; ok && v->kind == NODE_SEQ && i < v->n; i++)
        ok = !is_null(v->items[i]);
    if (ok)
        return 0;
    set_err(L->err, L->errlen, "%s: _base_: expected a path or a list of paths to YAML files",
            loc_str(v->loc, where, sizeof where));
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
        set_err(L->err, L->errlen, "%s: out of memory", label);
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
    map_take(root, i, &key, &bases);
    free(key);
    node *acc = node_new(NODE_MAP, root->loc);
    if (!acc)
        set_err(L->err, L->errlen, "%s: out of memory", path);
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
    node_free(bases);
    if (merge_into(acc, root)) {
        set_err(L->err, L->errlen, "%s: out of memory", path);
        node_free(acc);
        return NULL;
    }
    return acc;
fail:
    node_free(bases);
    node_free(acc);
    node_free(root);
    return NULL;
}

/* Open path, refuse cycles, read it and resolve its bases. from: where it was named (line 0 and
 * src NULL for the top file). */
static node *load_file(loader *L, const char *path, cfg_loc from)
{
    char where[LOC_MAX + 8] = "", at[LOC_MAX];
    if (from.src)
        snprintf(where, sizeof where, "%s: ", loc_str(from, at, sizeof at));
    const char *label = doc_label(L->doc, path);
    if (!label) {
        set_err(L->err, L->errlen, "%s: out of memory", path);
        return NULL;
    }
    struct stat st;
    int e = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        e = errno;
    else if (fstat(fileno(f), &st))
        e = errno;
    else if (S_ISDIR(st.st_mode))
        e = EISDIR;
    if (e) {
        set_err(L->err, L->errlen, "%scannot open %s%s: %s", where, from.src ? "base " : "", path,
                strerror(e));
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
        set_err(L->err, L->errlen, "%smore than %d levels of _base_ at %s", where, MAX_BASE_DEPTH,
                path);
        return NULL;
    }
    node *root = read_file(f, label, L->err, L->errlen);
    fclose(f);
    if (!root)
        return NULL;
    L->stack[L->depth++] = (frame){st.st_dev, st.st_ino, label};
    root = resolve_bases(L, root, label);
    L->depth--;
    return root;
}

/* ================================================================ overrides */

static int override_err(char *err, size_t errlen, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int override_err(char *err, size_t errlen, const char *label, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    set_err(err, errlen, "%s: %s", label, msg);
    return -1;
}

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
            override_err(err, errlen, loc.src, "empty name in the key path '%.*s'", (int)keylen,
                         key);
            return NULL;
        }
        if (!dot) {
            *last = p;
            return cur;
        }
        entry *e = map_find(cur, p, len);
        if (!e) {
            node *m = node_new(NODE_MAP, loc);
            char *k = strndup(p, len);
            if (!m || !k || !(e = map_add(cur, k, loc, m))) {
                free(m);
                free(k);
                override_err(err, errlen, loc.src, "out of memory");
                return NULL;
            }
        } else if (e->val->kind != NODE_MAP) {
            char where[LOC_MAX];
            override_err(err, errlen, loc.src, "'%.*s' is %s (at %s), not a map of settings",
                         (int)(dot - key), key, kind_name(e->val),
                         loc_str(e->val->loc, where, sizeof where));
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
    const char *label = doc_label(doc, buf);
    if (!label)
        return override_err(err, errlen, buf, "out of memory");
    const char *eq = strchr(ov, '=');
    if (!eq || eq == ov)
        return override_err(err, errlen, label, "expected key.path=value");
    cfg_loc loc = {label, 0, 0};
    const char *last;
    node *parent = override_parent(doc, ov, (size_t)(eq - ov), loc, &last, err, errlen);
    if (!parent)
        return -1;
    node *val = read_text(eq + 1, strlen(eq + 1), label, 0, err, errlen);
    if (!val)
        return -1;
    size_t lastlen = (size_t)(eq - last);
    entry *e = map_find(parent, last, lastlen);
    if (!e) {
        char *k = strndup(last, lastlen);
        if (!k || !map_add(parent, k, loc, val)) {
            free(k);
            node_free(val);
            return override_err(err, errlen, label, "out of memory");
        }
        return 0;
    }
    e->loc = loc;
    if (e->val->kind == NODE_MAP && val->kind == NODE_MAP)
        return merge_into(e->val, val) ? override_err(err, errlen, label, "out of memory") : 0;
    node_free(e->val);
    e->val = val;
    return 0;
}

/* ================================================================ loading */

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
        set_err(err, errlen, "%s: out of memory", path);
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
    const char *l = doc ? doc_label(doc, label) : NULL;
    if (!l) {
        cfg_doc_free(doc);
        set_err(err, errlen, "%s: out of memory", label);
        return NULL;
    }
    reader r = {.label = l, .has_lines = 1, .err = err, .errlen = errlen};
    node *root = read_text(yaml, strlen(yaml), l, 1, err, errlen);
    root = require_top_map(&r, root);
    if (root) {
        loader L = {.doc = doc, .err = err, .errlen = errlen};
        root = resolve_bases(&L, root, label);
    }
    doc->root = root;
    return finish_load(doc, overrides, n_overrides, err, errlen);
}

/* ================================================================ values */

static int no_range(const cfg_field *f)
{
    return f->min == 0 && f->max == 0;
}

/* Shortest "%g" text that reads back as exactly v, without an exponent for whole numbers below
 * 1e15 ("10", not "1e+01"); ".inf" / "-.inf" for infinities. */
static void fmt_double(double v, char *buf, size_t len)
{
    if (isinf(v)) {
        snprintf(buf, len, "%s", v > 0 ? ".inf" : "-.inf");
        return;
    }
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    double a = fabs(v);
    if (a >= 1 && a < 1e15) {
        int digits = (int)floor(log10(a)) + 1;
        if (digits > prec)
            prec = digits;
    }
    snprintf(buf, len, "%.*g", prec, v);
}

static void fmt_bound(const cfg_field *f, double v, char *buf, size_t len)
{
    if (f->type == CFG_INT || f->type == CFG_INT_LIST)
        snprintf(buf, len, "%.0f", v);
    else
        fmt_double(v, buf, len);
}

/* " in [a, b]", " >= a", " <= b" or "" */
static void range_text(const cfg_field *f, char *buf, size_t len)
{
    char lo[64], hi[64];
    buf[0] = '\0';
    if (no_range(f) || f->type == CFG_BOOL || f->type == CFG_ENUM || f->type == CFG_STRING ||
        f->type == CFG_STRING_LIST)
        return;
    fmt_bound(f, f->min, lo, sizeof lo);
    fmt_bound(f, f->max, hi, sizeof hi);
    if (isinf(f->max) && isinf(f->min))
        return;
    if (isinf(f->max))
        snprintf(buf, len, " >= %s", lo);
    else if (isinf(f->min))
        snprintf(buf, len, " <= %s", hi);
    else
        snprintf(buf, len, " in [%s, %s]", lo, hi);
}

static cfg_type element_type(cfg_type t)
{
    return t == CFG_INT_LIST ? CFG_INT : t == CFG_FLOAT_LIST ? CFG_FLOAT
                                     : t == CFG_STRING_LIST  ? CFG_STRING
                                                             : t;
}

static int is_list(cfg_type t)
{
    return t == CFG_INT_LIST || t == CFG_FLOAT_LIST || t == CFG_STRING_LIST;
}

/* What a value of f must look like, for messages: "an integer in [1, 100000]". element: describe
 * one element of a list field. */
static void expected_text(const cfg_field *f, int element, char *buf, size_t len)
{
    char range[160];
    range_text(f, range, sizeof range);
    cfg_type t = element ? element_type(f->type) : f->type;
    switch (t) {
    case CFG_INT: snprintf(buf, len, "an integer%s", range); break;
    case CFG_FLOAT: snprintf(buf, len, "a number%s", range); break;
    case CFG_BOOL: snprintf(buf, len, "true or false"); break;
    case CFG_STRING: snprintf(buf, len, "a string"); break;
    case CFG_ENUM: snprintf(buf, len, "one of %s", f->choices ? f->choices : "(no choices)"); break;
    default: {
        const char *what = t == CFG_INT_LIST ? "integers" : t == CFG_FLOAT_LIST ? "numbers"
                                                                                 : "strings";
        char count[32] = "";
        if (f->count)
            snprintf(count, sizeof count, "%d ", f->count);
        snprintf(buf, len, "a list of %s%s%s", count, what, range);
    }
    }
}

/* How a node looks, for messages: "'ten'", "the quoted string '10'", "a list". */
static void got_text(const node *n, char *buf, size_t len)
{
    if (n->kind != NODE_SCALAR) {
        snprintf(buf, len, "%s", kind_name(n));
        return;
    }
    if (is_null(n)) {
        snprintf(buf, len, "nothing (null)");
        return;
    }
    size_t tl = strlen(n->text);
    int cut = tl > 60;
    snprintf(buf, len, "%s'%.*s%s'", n->plain ? "" : "the quoted string ", cut ? 57 : (int)tl,
             n->text, cut ? "..." : "");
}

/* Strict decimal integer. */
static int parse_int(const char *s, int64_t *out)
{
    const char *p = s + (*s == '+' || *s == '-');
    if (!isdigit((unsigned char)*p))
        return -1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = (int64_t)v;
    return 0;
}

/* A decimal number or YAML's .inf; NaN and hex are refused. */
static int parse_float(const char *s, double *out)
{
    static const char *const inf[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"};
    static const char *const ninf[] = {"-.inf", "-.Inf", "-.INF"};
    for (size_t i = 0; i < sizeof inf / sizeof *inf; i++)
        if (!strcmp(s, inf[i]))
            return *out = INFINITY, 0;
    for (size_t i = 0; i < sizeof ninf / sizeof *ninf; i++)
        if (!strcmp(s, ninf[i]))
            return *out = -INFINITY, 0;
    int digits = 0;
    for (const char *q = s; *q; q++) {
        if (isdigit((unsigned char)*q))
            digits = 1;
        else if (!strchr("+-.eE", *q))
            return -1;
    }
    if (!digits)
        return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (*end || errno == ERANGE || isnan(v))
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    for (int i = 0; i < 3; i++) {
        if (!strcasecmp(s, yes[i]))
            return *out = 1, 0;
        if (!strcasecmp(s, no[i]))
            return *out = 0, 0;
    }
    return -1;
}

static int parse_enum(const char *s, const char *choices, int *out)
{
    size_t sl = strlen(s);
    int idx = 0;
    for (const char *p = choices; p && *p; idx++) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == sl && !memcmp(p, s, l))
            return *out = idx, 0;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

/* The idx-th choice (NULL if out of range) and its length. */
static const char *enum_name(const char *choices, int idx, int *len)
{
    const char *p = choices;
    for (int i = 0; p && i < idx; i++) {
        p = strchr(p, '|');
        if (p)
            p++;
    }
    if (!p || idx < 0)
        return NULL;
    const char *bar = strchr(p, '|');
    *len = bar ? (int)(bar - p) : (int)strlen(p);
    return p;
}

static int in_range(const cfg_field *f, double v)
{
    return no_range(f) || (v >= f->min && v <= f->max);
}

/* A converted scalar: one of these is set according to the element type. */
typedef union {
    int64_t i;
    double d;
    int b;
    char *s;
} scalar_val;

/* Context of one conversion, for messages. */
typedef struct {
    const cfg_field *f;
    const char *key;    /* dotted key, with [i] for list elements */
    int element;        /* converting one element of a list */
    char *err;
    size_t errlen;
} conv;

static int conv_fail(const conv *c, const node *n)
{
    char where[LOC_MAX], exp[256], got[160];
    expected_text(c->f, c->element, exp, sizeof exp);
    got_text(n, got, sizeof got);
    set_err(c->err, c->errlen, "%s: %s: expected %s, got %s", loc_str(n->loc, where, sizeof where),
            c->key, exp, got);
    return -1;
}

/* One scalar of type t (the field's element type). */
static int convert_scalar(const conv *c, const node *n, cfg_type t, scalar_val *v)
{
    if (n->kind != NODE_SCALAR)
        return conv_fail(c, n);
    if (t == CFG_STRING) {
        v->s = strdup(is_null(n) ? "" : n->text);
        if (!v->s)
            set_err(c->err, c->errlen, "%s: out of memory", c->key);
        return v->s ? 0 : -1;
    }
    if (!n->plain)
        return conv_fail(c, n);
    switch (t) {
    case CFG_INT:
        if (parse_int(n->text, &v->i) || !in_range(c->f, (double)v->i))
            return conv_fail(c, n);
        return 0;
    case CFG_FLOAT:
        if (parse_float(n->text, &v->d) || !in_range(c->f, v->d))
            return conv_fail(c, n);
        return 0;
    case CFG_BOOL:
        return parse_bool(n->text, &v->b) ? conv_fail(c, n) : 0;
    case CFG_ENUM:
        return parse_enum(n->text, c->f->choices, &v->b) ? conv_fail(c, n) : 0;
    default:
        return conv_fail(c, n);
    }
}

static void free_list(cfg_type t, void *at)
{
    if (t == CFG_STRING_LIST) {
        cfg_string_list *l = at;
        for (int i = 0; i < l->n; i++)
            free(l->v[i]);
    }
    /* every list struct starts with {int n; T *v;} */
    if (t == CFG_INT_LIST) {
        free(((cfg_int_list *)at)->v);
        *(cfg_int_list *)at = (cfg_int_list){0, NULL};
    } else if (t == CFG_FLOAT_LIST) {
        free(((cfg_float_list *)at)->v);
        *(cfg_float_list *)at = (cfg_float_list){0, NULL};
    } else if (t == CFG_STRING_LIST) {
        free(((cfg_string_list *)at)->v);
        *(cfg_string_list *)at = (cfg_string_list){0, NULL};
    }
}

/* A list field from a sequence (or a plain null: the empty list); stored into at on success. */
static int convert_list(const conv *c, const node *n, void *at)
{
    int count = n->kind == NODE_SEQ ? n->n : 0;
    if (n->kind != NODE_SEQ && !is_null(n))
        return conv_fail(c, n);
    if (c->f->count && count != c->f->count) {
        char where[LOC_MAX], exp[256];
        expected_text(c->f, 0, exp, sizeof exp);
        set_err(c->err, c->errlen, "%s: %s: expected %s, got a list of %d",
                loc_str(n->loc, where, sizeof where), c->key, exp, count);
        return -1;
    }
    cfg_type et = element_type(c->f->type);
    size_t es = et == CFG_INT ? sizeof(int64_t) : et == CFG_FLOAT ? sizeof(double) : sizeof(char *);
    void *arr = count ? calloc((size_t)count, es) : NULL;
    if (count && !arr) {
        set_err(c->err, c->errlen, "%s: out of memory", c->key);
        return -1;
    }
    for (int i = 0; i < count; i++) {
        char key[512];
        snprintf(key, sizeof key, "%s[%d]", c->key, i);
        conv ce = {c->f, key, 1, c->err, c->errlen};
        scalar_val v;
        if (convert_scalar(&ce, n->items[i], et, &v)) {
            cfg_string_list partial = {i, arr};
            if (et == CFG_STRING)
                free_list(CFG_STRING_LIST, &partial);
            else
                free(arr);
            return -1;
        }
        if (et == CFG_INT)
            ((int64_t *)arr)[i] = v.i;
        else if (et == CFG_FLOAT)
            ((double *)arr)[i] = v.d;
        else
            ((char **)arr)[i] = v.s;
    }
    free_list(c->f->type, at);
    if (c->f->type == CFG_INT_LIST)
        *(cfg_int_list *)at = (cfg_int_list){count, arr};
    else if (c->f->type == CFG_FLOAT_LIST)
        *(cfg_float_list *)at = (cfg_float_list){count, arr};
    else
        *(cfg_string_list *)at = (cfg_string_list){count, arr};
    return 0;
}

/* Convert node n into the field f of out. */
static int convert_field(const cfg_field *f, const char *key, const node *n, void *out, char *err,
                         size_t errlen)
{
    void *at = (char *)out + f->offset;
    conv c = {f, key, 0, err, errlen};
    if (is_list(f->type))
        return convert_list(&c, n, at);
    scalar_val v;
    if (convert_scalar(&c, n, f->type, &v))
        return -1;
    switch (f->type) {
    case CFG_INT: *(int64_t *)at = v.i; break;
    case CFG_FLOAT: *(double *)at = v.d; break;
    case CFG_BOOL:
    case CFG_ENUM: *(int *)at = v.b; break;
    case CFG_STRING:
        free(*(char **)at);
        *(char **)at = v.s;
        break;
    default: break;
    }
    return 0;
}

/* ================================================================ binding */

static void field_key(const cfg_section *sec, const cfg_field *f, char *buf, size_t len)
{
    snprintf(buf, len, "%s.%s", sec->name, f->name);
}

/* The default text of f: its def, or zero / false / the first choice / empty. */
static const char *implicit_default(const cfg_field *f, char *buf, size_t len)
{
    int l = 0;
    const char *name;
    if (f->def)
        return f->def;
    switch (f->type) {
    case CFG_INT:
    case CFG_FLOAT: return "0";
    case CFG_BOOL: return "false";
    case CFG_ENUM:
        name = enum_name(f->choices, 0, &l);
        snprintf(buf, len, "%.*s", l, name ? name : "");
        return buf;
    default: return ""; /* the empty string, the empty list */
    }
}

/* Field f of sec gets its default: def read as YAML by the same code as file values. */
static int bind_default(cfg_doc *doc, const cfg_section *sec, const cfg_field *f, void *out,
                        char *err, size_t errlen)
{
    char key[512], label[600];
    field_key(sec, f, key, sizeof key);
    snprintf(label, sizeof label, "default of %s", key);
    const char *l = doc_label(doc, label);
    if (!l) {
        set_err(err, errlen, "%s: out of memory", label);
        return -1;
    }
    char buf[128];
    const char *def = implicit_default(f, buf, sizeof buf);
    node *n = read_text(def, strlen(def), l, 0, err, errlen);
    if (!n)
        return -1;
    int rc = convert_field(f, key, n, out, err, errlen);
    node_free(n);
    return rc;
}

/* The map of a dotted section path, marking the path's entries as sections. *map = NULL when
 * the doc has no such section. -1 with a message if part of the path is not a map. */
static int find_section(cfg_doc *doc, const char *name, node **map, char *err, size_t errlen)
{
    node *cur = doc->root;
    const char *p = name;
    *map = NULL;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        entry *e = map_find(cur, p, len);
        if (!e)
            return 0;
        if (e->val->kind != NODE_MAP && !is_null(e->val)) {
            char where[LOC_MAX], got[160];
            got_text(e->val, got, sizeof got);
            set_err(err, errlen, "%s: %.*s: expected a map of settings (key: value), got %s",
                    loc_str(e->val->loc, where, sizeof where), (int)(p + len - name), name, got);
            return -1;
        }
        e->used = USED_SECTION;
        if (e->val->kind != NODE_MAP) /* "train:" with nothing: all defaults */
            return 0;
        cur = e->val;
        if (!dot) {
            *map = cur;
            return 0;
        }
        p = dot + 1;
    }
}

/* Remember sec's path (and its prefixes) and every field key, for suggestions. */
static int remember_keys(cfg_doc *doc, const cfg_section *sec)
{
    char key[512];
    snprintf(key, sizeof key, "%s", sec->name);
    for (char *dot = key; (dot = strchr(dot, '.')); dot++) {
        *dot = '\0';
        int rc = doc_known(doc, key);
        *dot = '.';
        if (rc)
            return -1;
    }
    if (doc_known(doc, key))
        return -1;
    for (int i = 0; i < sec->n_fields; i++) {
        field_key(sec, &sec->fields[i], key, sizeof key);
        if (doc_known(doc, key))
            return -1;
    }
    return 0;
}

int cfg_bind(cfg_doc *doc, const cfg_section *sec, void *out, char *err, size_t errlen)
{
    if (remember_keys(doc, sec)) {
        set_err(err, errlen, "%s: out of memory", sec->name);
        return -1;
    }
    for (int i = 0; i < sec->n_fields; i++)
        if (bind_default(doc, sec, &sec->fields[i], out, err, errlen))
            return -1;
    node *map;
    if (find_section(doc, sec->name, &map, err, errlen))
        return -1;
    for (int i = 0; map && i < sec->n_fields; i++) {
        const cfg_field *f = &sec->fields[i];
        entry *e = map_find(map, f->name, strlen(f->name));
        if (!e)
            continue;
        e->used = USED_FIELD;
        char key[512];
        field_key(sec, f, key, sizeof key);
        if (convert_field(f, key, e->val, out, err, errlen))
            return -1;
    }
    return 0;
}

void cfg_release(const cfg_section *sec, void *out)
{
    for (int i = 0; i < sec->n_fields; i++) {
        const cfg_field *f = &sec->fields[i];
        void *at = (char *)out + f->offset;
        if (f->type == CFG_STRING) {
            free(*(char **)at);
            *(char **)at = NULL;
        } else if (is_list(f->type)) {
            free_list(f->type, at);
        }
    }
}

void cfg_accept(cfg_doc *doc, const char *dotted)
{
    node *map;
    if (find_section(doc, dotted, &map, NULL, 0) || !map)
        return;
    for (int i = 0; i < map->n; i++)
        if (map->entries[i].used == UNUSED)
            map->entries[i].used = USED_VERBATIM;
}

const char *cfg_peek_string(const cfg_doc *doc, const char *dotted)
{
    const entry *e = find_entry(doc->root, dotted);
    return e && e->val->kind == NODE_SCALAR ? e->val->text : NULL;
}

const char *cfg_where(const cfg_doc *doc, const char *dotted, char *buf, size_t len)
{
    const entry *e = find_entry(doc->root, dotted);
    if (e)
        return loc_str(e->val->loc, buf, len);
    snprintf(buf, len, "%s", doc->path);
    return buf;
}

/* ================================================================ unknown keys */

/* Optimal-string-alignment distance (edits, with adjacent transpositions); keys are short. */
static int edit_distance(const char *a, const char *b)
{
    enum { MAXL = 127 };
    size_t la = strlen(a), lb = strlen(b);
    if (la > MAXL || lb > MAXL)
        return MAXL + 1;
    int rows[3][MAXL + 1]; /* i - 2, i - 1, i */
    int *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int v = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            cur[j] = v;
        }
        int *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

static const char *leaf(const char *key)
{
    const char *dot = strrchr(key, '.');
    return dot ? dot + 1 : key;
}

/* Same parent path ("optim" for "optim.lr")? */
static int same_parent(const char *a, const char *b)
{
    size_t pa = (size_t)(leaf(a) - a), pb = (size_t)(leaf(b) - b);
    return pa == pb && !memcmp(a, b, pa);
}

/* Is anc a dotted ancestor of key ("data" of "data.x")? */
static int is_ancestor(const char *anc, const char *key)
{
    size_t l = strlen(anc);
    return !strncmp(anc, key, l) && key[l] == '.';
}

/* The closest known key to an unknown one, or NULL if nothing is plausibly meant: a small edit
 * distance, the same name in another section ("train.lr" -> "optim.lr"), or in the same section
 * a name that starts the other ("optim.lr_rate" -> "optim.lr"). Ties go to the earlier key. */
static const char *suggest(const cfg_doc *doc, const char *unknown)
{
    const char *best = NULL;
    int best_score = 1 << 20;
    size_t ul = strlen(unknown);
    int threshold = ul / 4 > 2 ? (int)(ul / 4) : 2;
    for (int i = 0; i < doc->n_known; i++) {
        const char *k = doc->known[i];
        if (is_ancestor(k, unknown))
            continue;
        int d = edit_distance(unknown, k), score = -1;
        const char *lu = leaf(unknown), *lk = leaf(k);
        size_t llu = strlen(lu), llk = strlen(lk);
        size_t shorter = llu < llk ? llu : llk;
        if (d <= threshold && d < (int)ul)
            score = 2 * d;
        else if (!strcmp(lu, lk))
            score = 1;
        else if (same_parent(unknown, k) && shorter >= 2 && !strncmp(lu, lk, shorter))
            score = 2 * d;
        if (score >= 0 && score < best_score) {
            best = k;
            best_score = score;
        }
    }
    return best;
}

/* Depth-first: the first entry no table used, its dotted path written into path. */
static const entry *first_unknown(const node *map, char *path, size_t cap, size_t len)
{
    for (int i = 0; i < map->n; i++) {
        const entry *e = &map->entries[i];
        int w = snprintf(path + len, cap - len, "%s%s", len ? "." : "", e->key);
        if (w < 0 || (size_t)w >= cap - len)
            w = (int)(cap - len - 1);
        if (e->used == UNUSED)
            return e;
        if (e->used == USED_SECTION && e->val->kind == NODE_MAP) {
            const entry *u = first_unknown(e->val, path, cap, len + (size_t)w);
            if (u)
                return u;
        }
        path[len] = '\0';
    }
    return NULL;
}

int cfg_check_unknown(const cfg_doc *doc, char *err, size_t errlen)
{
    char path[1024] = "";
    const entry *e = first_unknown(doc->root, path, sizeof path, 0);
    if (!e)
        return 0;
    char where[LOC_MAX], hint[1100] = "";
    const char *s = suggest(doc, path);
    if (s)
        snprintf(hint, sizeof hint, " (did you mean '%s'?)", s);
    set_err(err, errlen, "%s: unknown key '%s'%s", loc_str(e->loc, where, sizeof where), path,
            hint);
    return -1;
}

/* ================================================================ emission and hashing */

/* Output goes to a FILE, or into a hash when f is NULL. */
typedef struct {
    FILE *f;
    uint64_t hash;
    int failed;
    int docs;   /* write comments */
    int col;    /* characters since the last newline (to align comments) */
} sink;

#define DOC_COLUMN 36 /* field comments start here when the line is shorter */

static void put(sink *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s->col = p[i] == '\n' ? 0 : s->col + 1;
    if (s->f) {
        if (n && fwrite(p, 1, n, s->f) != n)
            s->failed = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        s->hash ^= (unsigned char)p[i];
        s->hash *= 0x100000001b3ull;
    }
}

static void puts_(sink *s, const char *p)
{
    put(s, p, strlen(p));
}

static void printf_(sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void printf_(sink *s, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) {
        s->failed = 1;
        return;
    }
    if ((size_t)n < sizeof buf) {
        put(s, buf, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        s->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    put(s, big, (size_t)n);
    free(big);
}

static void indent(sink *s, int depth)
{
    for (int i = 0; i < depth; i++)
        puts_(s, "  ");
}

/* A double-quoted YAML string, escaped so that libyaml reads back the same bytes. */
static void put_quoted(sink *s, const char *t)
{
    puts_(s, "\"");
    for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            put(s, e, 2);
        } else if (*p == '\n') {
            puts_(s, "\\n");
        } else if (*p == '\t') {
            puts_(s, "\\t");
        } else if (*p < 0x20 || *p == 0x7f) {
            printf_(s, "\\x%02X", *p);
        } else {
            put(s, (const char *)p, 1);
        }
    }
    puts_(s, "\"");
}

/* A float that reads back exactly and looks like a float ("1.0", not "1"). */
static void put_double(sink *s, double v)
{
    char buf[64];
    fmt_double(v, buf, sizeof buf);
    puts_(s, buf);
    if (!strpbrk(buf, ".eEin"))
        puts_(s, ".0");
}

static void put_scalar_value(sink *s, const cfg_field *f, cfg_type t, const void *at)
{
    switch (t) {
    case CFG_INT: printf_(s, "%" PRId64, *(const int64_t *)at); break;
    case CFG_FLOAT: put_double(s, *(const double *)at); break;
    case CFG_BOOL: puts_(s, *(const int *)at ? "true" : "false"); break;
    case CFG_STRING: put_quoted(s, *(char *const *)at ? *(char *const *)at : ""); break;
    case CFG_ENUM: {
        int len;
        const char *name = enum_name(f->choices, *(const int *)at, &len);
        if (name)
            put(s, name, (size_t)len);
        else /* not a valid index: written as a number, which reading back refuses */
            printf_(s, "%d", *(const int *)at);
        break;
    }
    default: break;
    }
}

static void put_field_value(sink *s, const cfg_field *f, const void *base)
{
    const void *at = (const char *)base + f->offset;
    if (!is_list(f->type)) {
        put_scalar_value(s, f, f->type, at);
        return;
    }
    cfg_type et = element_type(f->type);
    int n = *(const int *)at; /* every list struct starts with int n */
    puts_(s, "[");
    for (int i = 0; i < n; i++) {
        if (i)
            puts_(s, ", ");
        if (f->type == CFG_INT_LIST)
            put_scalar_value(s, f, et, &((const cfg_int_list *)at)->v[i]);
        else if (f->type == CFG_FLOAT_LIST)
            put_scalar_value(s, f, et, &((const cfg_float_list *)at)->v[i]);
        else
            put_scalar_value(s, f, et, &((const cfg_string_list *)at)->v[i]);
    }
    puts_(s, "]");
}

/* "  # doc (a|b|c)" or "  # doc [0, 1]" */
static void put_field_doc(sink *s, const cfg_field *f)
{
    if (!s->docs || (!f->doc && !f->choices))
        return;
    char range[160] = "";
    range_text(f, range, sizeof range);
    puts_(s, "  ");
    while (s->col < DOC_COLUMN)
        puts_(s, " ");
    puts_(s, "#");
    if (f->doc)
        printf_(s, " %s", f->doc);
    if (f->type == CFG_ENUM && f->choices)
        printf_(s, " (%s)", f->choices);
    else if (range[0])
        printf_(s, " (%s)", range + 1);
}

/* Plain-safe YAML text (written as is), for verbatim scalars and keys. */
static int plain_safe(const char *t)
{
    if (!*t || isspace((unsigned char)t[0]) || isspace((unsigned char)t[strlen(t) - 1]))
        return 0;
    if (strchr("?!&*|>%@`'\"#-,[]{}", t[0]) && !(t[0] == '-' && t[1] && !isspace((unsigned char)t[1])))
        return 0;
    for (const char *p = t; *p; p++)
        if (strchr(",[]{}#:\"'\\\n\t", *p) || (unsigned char)*p < 0x20)
            return 0;
    return 1;
}

static void put_key(sink *s, const char *k)
{
    if (plain_safe(k))
        puts_(s, k);
    else
        put_quoted(s, k);
}

/* A verbatim node in flow style ([a, b], {k: v}); scalars keep their plain/quoted nature. */
static void put_flow(sink *s, const node *n)
{
    if (n->kind == NODE_SCALAR) {
        if (n->plain && is_null(n))
            puts_(s, "~");
        else if (n->plain && plain_safe(n->text))
            puts_(s, n->text);
        else
            put_quoted(s, n->text);
        return;
    }
    puts_(s, n->kind == NODE_SEQ ? "[" : "{");
    for (int i = 0; i < n->n; i++) {
        if (i)
            puts_(s, ", ");
        if (n->kind == NODE_SEQ) {
            put_flow(s, n->items[i]);
        } else {
            put_key(s, n->entries[i].key);
            puts_(s, ": ");
            put_flow(s, n->entries[i].val);
        }
    }
    puts_(s, n->kind == NODE_SEQ ? "]" : "}");
}

/* A verbatim entry at depth: maps in block style, everything else in flow style. */
static void put_verbatim_entry(sink *s, const entry *e, int depth)
{
    indent(s, depth);
    put_key(s, e->key);
    if (e->val->kind == NODE_MAP && e->val->n) {
        puts_(s, ":\n");
        for (int i = 0; i < e->val->n; i++)
            put_verbatim_entry(s, &e->val->entries[i], depth + 1);
        return;
    }
    puts_(s, ": ");
    put_flow(s, e->val);
    puts_(s, "\n");
}

typedef struct {
    const cfg_section *const *secs;
    const void *const *structs;
    int n;
    const cfg_doc *verbatim;
} emit_set;

/* Has an earlier section at this prefix already emitted field name? */
static int field_emitted(const emit_set *es, int upto, const char *prefix, const char *name)
{
    for (int j = 0; j < upto; j++) {
        if (strcmp(es->secs[j]->name, prefix))
            continue;
        for (int k = 0; k < es->secs[j]->n_fields; k++)
            if (!strcmp(es->secs[j]->fields[k].name, name))
                return 1;
    }
    return 0;
}

static int any_field_named(const emit_set *es, const char *prefix, const char *name)
{
    return field_emitted(es, es->n, prefix, name);
}

/* The child name under prefix of section name ("augment" for "data.augment" under "data"), its
 * length into *len; NULL if name is not below prefix. */
static const char *child_of(const char *prefix, const char *name, size_t *len)
{
    size_t pl = strlen(prefix);
    if (pl) {
        if (strncmp(name, prefix, pl) || name[pl] != '.')
            return NULL;
        name += pl + 1;
    }
    const char *dot = strchr(name, '.');
    *len = dot ? (size_t)(dot - name) : strlen(name);
    return name;
}

static void emit_level(sink *s, const emit_set *es, const char *prefix, int depth);

/* The fields of the sections named exactly prefix, then the verbatim keys there. */
static void emit_fields(sink *s, const emit_set *es, const char *prefix, int depth)
{
    for (int i = 0; i < es->n; i++) {
        const cfg_section *sec = es->secs[i];
        if (strcmp(sec->name, prefix))
            continue;
        for (int k = 0; k < sec->n_fields; k++) {
            const cfg_field *f = &sec->fields[k];
            if (field_emitted(es, i, prefix, f->name))
                continue;
            indent(s, depth);
            printf_(s, "%s: ", f->name);
            put_field_value(s, f, es->structs[i]);
            put_field_doc(s, f);
            puts_(s, "\n");
        }
    }
    const entry *sec = es->verbatim && *prefix ? find_entry(es->verbatim->root, prefix) : NULL;
    if (!sec || sec->val->kind != NODE_MAP)
        return;
    for (int i = 0; i < sec->val->n; i++) {
        const entry *e = &sec->val->entries[i];
        if (e->used == USED_VERBATIM && !any_field_named(es, prefix, e->key))
            put_verbatim_entry(s, e, depth);
    }
}

static void emit_level(sink *s, const emit_set *es, const char *prefix, int depth)
{
    if (*prefix)
        emit_fields(s, es, prefix, depth);
    for (int i = 0; i < es->n; i++) {
        size_t len;
        const char *child = child_of(prefix, es->secs[i]->name, &len);
        if (!child)
            continue;
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) {
            size_t lj;
            const char *cj = child_of(prefix, es->secs[j]->name, &lj);
            seen = cj && lj == len && !memcmp(cj, child, len);
        }
        if (seen)
            continue;
        /* the path of the child is the start of this section's own dotted name */
        char path[512];
        size_t plen = (size_t)(child - es->secs[i]->name) + len;
        if (plen >= sizeof path) {
            s->failed = 1;
            continue;
        }
        memcpy(path, es->secs[i]->name, plen);
        path[plen] = '\0';
        for (int j = 0; s->docs && j < es->n; j++) {
            if (!strcmp(es->secs[j]->name, path) && es->secs[j]->doc) {
                indent(s, depth);
                printf_(s, "# %s\n", es->secs[j]->doc);
                break;
            }
        }
        indent(s, depth);
        printf_(s, "%.*s:\n", (int)len, child);
        emit_level(s, es, path, depth + 1);
    }
}

int cfg_emit(FILE *f, const cfg_section *const *secs, const void *const *structs, int n,
             const cfg_doc *verbatim, unsigned flags)
{
    sink s = {.f = f, .docs = (flags & CFG_EMIT_DOCS) != 0};
    emit_set es = {secs, structs, n, verbatim};
    emit_level(&s, &es, "", 0);
    if (fflush(f))
        s.failed = 1;
    return s.failed ? -1 : 0;
}

uint64_t cfg_hash(const cfg_section *const *secs, const void *const *structs, int n,
                  const cfg_doc *verbatim)
{
    sink s = {.f = NULL, .hash = 0xcbf29ce484222325ull};
    emit_set es = {secs, structs, n, verbatim};
    emit_level(&s, &es, "", 0);
    return s.hash;
}

char *cfg_hash_hex(uint64_t h, char out[17])
{
    snprintf(out, 17, "%016" PRIx64, h);
    return out;
}
