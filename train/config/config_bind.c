/*
 * config_bind.c - descriptor tables into structs (cfg_bind, cfg_release, cfg_accept).
 *
 * Binding a section: remember its path, its prefixes and its field keys (for "did you mean"),
 * give every field its default (the table's text read as YAML by the same code as file values,
 * so the table is the one source of truth), then convert the keys found under the section's map
 * and mark them used. Every map on the section's path is marked as a section, so the unknown-key
 * walk descends into it; a path part that is a scalar or a list is an error ("train: 3"), a null
 * one ("train:" with nothing) means all defaults.
 */
#include "config/config_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"

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
        name = cfg_enum_name(f->choices, 0, &l);
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
    const char *l = cfg_doc_label(doc, label);
    if (!l) {
        err_fail(err, errlen, "%s: out of memory", label);
        return -1;
    }
    char buf[128];
    const char *def = implicit_default(f, buf, sizeof buf);
    node *n = cfg_read_value(def, strlen(def), l, err, errlen);
    if (!n)
        return -1;
    int rc = cfg_convert_field(f, key, n, out, err, errlen);
    cfg_node_free(n);
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
        entry *e = cfg_map_find(cur, p, len);
        if (!e)
            return 0;
        if (e->val->kind != NODE_MAP && !cfg_is_null(e->val)) {
            char where[LOC_MAX], got[160];
            cfg_got_text(e->val, got, sizeof got);
            err_fail(err, errlen, "%s: %.*s: expected a map of settings (key: value), got %s",
                     cfg_loc_str(e->val->loc, where, sizeof where), (int)(p + len - name), name,
                     got);
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
        int rc = cfg_doc_known(doc, key);
        *dot = '.';
        if (rc)
            return -1;
    }
    if (cfg_doc_known(doc, key))
        return -1;
    for (int i = 0; i < sec->n_fields; i++) {
        field_key(sec, &sec->fields[i], key, sizeof key);
        if (cfg_doc_known(doc, key))
            return -1;
    }
    return 0;
}

int cfg_bind(cfg_doc *doc, const cfg_section *sec, void *out, char *err, size_t errlen)
{
    if (remember_keys(doc, sec)) {
        err_fail(err, errlen, "%s: out of memory", sec->name);
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
        entry *e = cfg_map_find(map, f->name, strlen(f->name));
        if (!e)
            continue;
        e->used = USED_FIELD;
        char key[512];
        field_key(sec, f, key, sizeof key);
        if (cfg_convert_field(f, key, e->val, out, err, errlen))
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
        } else if (cfg_is_list(f->type)) {
            cfg_free_list(f->type, at);
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
