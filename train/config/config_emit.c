/*
 * config_emit.c - the resolved config as YAML (cfg_emit, for `config show` and a run's
 * config.yaml) and its hash (cfg_hash).
 *
 * One writer serves both: a sink writes to a FILE, or folds the same bytes into an FNV-1a 64
 * hash (without comments), so the hash changes with any value and never with the layout of the
 * source files. Sections are nested by their dotted names, sections sharing a name are one map
 * and a field name is emitted once; floats always look like floats ("1.0") and read back
 * exactly; strings are double-quoted with escapes libyaml reads back; keys accepted verbatim
 * (cfg_accept) follow the fields of their section, maps in block style, the rest in flow style.
 */
#include "config/config_internal.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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
    cfg_fmt_double(v, buf, sizeof buf);
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
        const char *name = cfg_enum_name(f->choices, *(const int *)at, &len);
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
    if (!cfg_is_list(f->type)) {
        put_scalar_value(s, f, f->type, at);
        return;
    }
    cfg_type et = cfg_element_type(f->type);
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
    cfg_range_text(f, range, sizeof range);
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
        if (n->plain && cfg_is_null(n))
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
    const entry *sec = es->verbatim && *prefix ? cfg_find_entry(es->verbatim->root, prefix) : NULL;
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

