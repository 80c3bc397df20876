/*
 * yaml_read.c - libyaml's event stream into the config layer's located node tree
 * (config_internal.h): maps, sequences and scalars that remember file:line:col, and whether a
 * scalar was plain (unquoted: may be a number, bool or null).
 *
 * Refused, each with a located message: anchors and aliases (one way to share values: _base_),
 * keys that are lists or maps, duplicate keys (naming the line of the first), nesting deeper
 * than MAX_NESTING, a second document ('---'), and whatever libyaml itself rejects (its problem
 * text and position). An empty stream is a null scalar; a file's top must be a map, and a null
 * top becomes an empty map. One-line values (--set, defaults) are located by their bare label.
 */
#include "config/config_internal.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/err.h"

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
    err_fail(r->err, r->errlen, "%s: %s", cfg_loc_str(mark_loc(r, m), where, sizeof where), what);
}

/* libyaml's own error, with its position and problem text. */
static void parser_err(reader *r)
{
    yaml_parser_t *p = &r->parser;
    char where[LOC_MAX];
    if (p->error == YAML_MEMORY_ERROR) {
        err_fail(r->err, r->errlen, "%s: out of memory reading YAML", r->label);
    } else if (p->error == YAML_READER_ERROR) {
        err_fail(r->err, r->errlen, "%s: malformed YAML: %s at byte %zu", r->label,
                 p->problem ? p->problem : "unreadable input", p->problem_offset);
    } else if (p->context && r->has_lines) {
        err_fail(r->err, r->errlen, "%s: malformed YAML: %s (%s at line %zu)",
                 cfg_loc_str(mark_loc(r, p->problem_mark), where, sizeof where),
                 p->problem ? p->problem : "syntax error", p->context, p->context_mark.line + 1);
    } else if (r->has_lines) {
        err_fail(r->err, r->errlen, "%s: malformed YAML: %s",
                 cfg_loc_str(mark_loc(r, p->problem_mark), where, sizeof where),
                 p->problem ? p->problem : "syntax error");
    } else {
        err_fail(r->err, r->errlen, "%s: malformed value: %s%s%s%s", r->label,
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
    entry *dup = cfg_map_find(map, k, len);
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
        err_fail(r->err, r->errlen, "%s: out of memory", r->label);
        return NULL;
    }
    memcpy(key, k, len);
    key[len] = '\0';
    return key;
}

/* The sequence item that starts with *ev (deleted), appended to seq; -1 with a message. */
static int read_item(reader *r, node *seq, yaml_event_t *ev, int depth)
{
    node *item = read_node(r, ev, depth + 1);
    if (!item)
        return -1;
    if (cfg_seq_push(seq, item)) {
        cfg_node_free(item);
        return err_fail(r->err, r->errlen, "%s: out of memory", r->label);
    }
    return 0;
}

/* The map entry whose key starts with *ev (deleted), then its value, added to map; -1 with a
 * message. */
static int read_entry(reader *r, node *map, yaml_event_t *ev, int depth)
{
    cfg_loc kloc;
    char *key = read_key(r, map, ev, &kloc);
    yaml_event_delete(ev);
    if (!key)
        return -1;
    node *val = NULL;
    if (!next_event(r, ev))
        val = read_node(r, ev, depth + 1);
    if (!val) {
        free(key);
        return -1;
    }
    if (!cfg_map_add(map, key, kloc, val)) {
        free(key);
        cfg_node_free(val);
        return err_fail(r->err, r->errlen, "%s: out of memory", r->label);
    }
    return 0;
}

/* A sequence or a map, up to its end event. */
static node *read_container(reader *r, node_kind kind, cfg_loc loc, int depth)
{
    yaml_event_type_t end = kind == NODE_SEQ ? YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT;
    node *c = cfg_node_new(kind, loc);
    if (!c) {
        err_fail(r->err, r->errlen, "%s: out of memory", r->label);
        return NULL;
    }
    for (;;) {
        yaml_event_t ev;
        if (next_event(r, &ev))
            break;
        if (ev.type == end) {
            yaml_event_delete(&ev);
            return c;
        }
        if (kind == NODE_SEQ ? read_item(r, c, &ev, depth) : read_entry(r, c, &ev, depth))
            break;
    }
    cfg_node_free(c);
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
        n = cfg_scalar_new(loc, (const char *)ev->data.scalar.value, ev->data.scalar.length,
                           ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
        if (!n)
            err_fail(r->err, r->errlen, "%s: out of memory", r->label);
    }
    yaml_event_delete(ev);
    if (type == YAML_SEQUENCE_START_EVENT)
        n = read_container(r, NODE_SEQ, loc, depth);
    else if (type == YAML_MAPPING_START_EVENT)
        n = read_container(r, NODE_MAP, loc, depth);
    else if (type != YAML_SCALAR_EVENT)
        err_fail(r->err, r->errlen, "%s: unexpected YAML event %d", r->label, (int)type);
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
        root = cfg_scalar_new(l, "", 0, 1);
        if (!root)
            err_fail(r->err, r->errlen, "%s: out of memory", r->label);
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
    cfg_node_free(root);
    return NULL;
}

/* The top of a file must be a mapping; null (empty file) becomes an empty one. */
static node *require_top_map(reader *r, node *root)
{
    if (!root || root->kind == NODE_MAP)
        return root;
    if (cfg_is_null(root)) {
        node *m = cfg_node_new(NODE_MAP, root->loc);
        if (!m)
            err_fail(r->err, r->errlen, "%s: out of memory", r->label);
        cfg_node_free(root);
        return m;
    }
    char where[LOC_MAX];
    err_fail(r->err, r->errlen, "%s: expected a map of sections (key: value) at the top, got %s",
             cfg_loc_str(root->loc, where, sizeof where), cfg_kind_name(root));
    cfg_node_free(root);
    return NULL;
}

/* Parse YAML text (len bytes) labelled label (interned). */
static node *read_text(const char *text, size_t len, const char *label, int has_lines, char *err,
                       size_t errlen)
{
    reader r = {.label = label, .has_lines = has_lines, .err = err, .errlen = errlen};
    if (!yaml_parser_initialize(&r.parser)) {
        err_fail(err, errlen, "%s: out of memory", label);
        return NULL;
    }
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
    node *n = read_stream(&r);
    yaml_parser_delete(&r.parser);
    return n;
}

node *cfg_read_value(const char *text, size_t len, const char *label, char *err, size_t errlen)
{
    return read_text(text, len, label, 0, err, errlen);
}

node *cfg_read_map_text(const char *text, size_t len, const char *label, char *err,
                        size_t errlen)
{
    reader r = {.label = label, .has_lines = 1, .err = err, .errlen = errlen};
    return require_top_map(&r, read_text(text, len, label, 1, err, errlen));
}

node *cfg_read_map_file(FILE *f, const char *label, char *err, size_t errlen)
{
    reader r = {.label = label, .has_lines = 1, .err = err, .errlen = errlen};
    if (!yaml_parser_initialize(&r.parser)) {
        err_fail(err, errlen, "%s: out of memory", label);
        return NULL;
    }
    yaml_parser_set_input_file(&r.parser, f);
    node *n = require_top_map(&r, read_stream(&r));
    yaml_parser_delete(&r.parser);
    return n;
}
