/*
 * config_tree.c - the located node tree and the doc of the config layer (config_internal.h):
 * nodes, maps with a hash index of their keys, dotted-path lookup, the doc's label pool and its
 * list of known keys, and the public queries on a doc (path, peek, where).
 *
 * A map's index is built once it has more than MAP_INDEX_MIN entries and rebuilt, four slots per
 * entry, whenever it would become more than half full, so probing stays short; entry order is
 * never changed by the index.
 */
#include "config/config_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- locations and nodes */

const char *cfg_loc_str(cfg_loc l, char *buf, size_t len)
{
    if (l.line > 0)
        snprintf(buf, len, "%s:%d:%d", l.src, l.line, l.col);
    else
        snprintf(buf, len, "%s", l.src);
    return buf;
}

node *cfg_node_new(node_kind kind, cfg_loc loc)
{
    node *n = calloc(1, sizeof *n);
    if (n) {
        n->kind = kind;
        n->loc = loc;
    }
    return n;
}

void cfg_node_free(node *n)
{
    if (!n)
        return;
    for (int i = 0; i < n->n; i++) {
        if (n->kind == NODE_SEQ) {
            cfg_node_free(n->items[i]);
        } else if (n->kind == NODE_MAP) {
            free(n->entries[i].key);
            cfg_node_free(n->entries[i].val);
        }
    }
    free(n->items);
    free(n->entries);
    free(n->index);
    free(n->text);
    free(n);
}

node *cfg_scalar_new(cfg_loc loc, const char *text, size_t len, int plain)
{
    node *n = cfg_node_new(NODE_SCALAR, loc);
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

int cfg_seq_push(node *seq, node *item)
{
    if (node_grow(seq))
        return -1;
    seq->items[seq->n++] = item;
    return 0;
}

/* FNV-1a of the key bytes. */
static uint64_t key_hash(const char *key, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static int key_is(const entry *e, const char *key, size_t keylen)
{
    return strlen(e->key) == keylen && !memcmp(e->key, key, keylen);
}

/* Put entry i into the index (which has a free slot). */
static void index_put(node *map, int i)
{
    size_t mask = (size_t)map->index_cap - 1;
    const char *k = map->entries[i].key;
    size_t s = (size_t)key_hash(k, strlen(k)) & mask;
    while (map->index[s])
        s = (s + 1) & mask;
    map->index[s] = i + 1;
}

/* (Re)build the index of a map with room for twice its entries; on out of memory the map goes
 * back to linear lookup (slower, still correct). */
static void index_rebuild(node *map)
{
    int cap = 16;
    while (cap < 4 * map->n)
        cap *= 2;
    free(map->index);
    map->index = calloc((size_t)cap, sizeof *map->index);
    map->index_cap = map->index ? cap : 0;
    for (int i = 0; map->index && i < map->n; i++)
        index_put(map, i);
}

/* Append key (taken) -> val (taken); NULL on out of memory (nothing taken). */
entry *cfg_map_add(node *map, char *key, cfg_loc loc, node *val)
{
    if (node_grow(map))
        return NULL;
    int i = map->n++;
    entry *e = &map->entries[i];
    e->key = key;
    e->loc = loc;
    e->val = val;
    e->used = UNUSED;
    if (map->n > MAP_INDEX_MIN) {
        if (2 * map->n > map->index_cap)
            index_rebuild(map);
        else
            index_put(map, i);
    }
    return e;
}

entry *cfg_map_find(const node *map, const char *key, size_t keylen)
{
    if (!map || map->kind != NODE_MAP)
        return NULL;
    if (!map->index) {
        for (int i = 0; i < map->n; i++)
            if (key_is(&map->entries[i], key, keylen))
                return &map->entries[i];
        return NULL;
    }
    size_t mask = (size_t)map->index_cap - 1;
    for (size_t s = (size_t)key_hash(key, keylen) & mask; map->index[s]; s = (s + 1) & mask) {
        entry *e = &map->entries[map->index[s] - 1];
        if (key_is(e, key, keylen))
            return e;
    }
    return NULL;
}

/* Remove entry i from a map, handing its key and value to the caller. */
void cfg_map_take(node *map, int i, char **key, node **val)
{
    *key = map->entries[i].key;
    *val = map->entries[i].val;
    memmove(&map->entries[i], &map->entries[i + 1], (size_t)(map->n - i - 1) * sizeof(entry));
    map->n--;
    if (map->index) /* entry indices after i moved down by one */
        index_rebuild(map);
}

const char *cfg_kind_name(const node *n)
{
    return n->kind == NODE_MAP ? "a map" : n->kind == NODE_SEQ ? "a list" : "a scalar";
}

/* A plain scalar YAML reads as null. */
int cfg_is_null(const node *n)
{
    if (n->kind != NODE_SCALAR || !n->plain)
        return 0;
    const char *t = n->text;
    return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") ||
           !strcmp(t, "NULL");
}

/* The entry at a dotted path below root (NULL if any part is missing or not a map). */
entry *cfg_find_entry(const node *root, const char *dotted)
{
    const node *cur = root;
    entry *e = NULL;
    const char *p = dotted;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        e = cfg_map_find(cur, p, len);
        if (!e || !dot)
            return e;
        cur = e->val;
        p = dot + 1;
    }
}

/* ---------------------------------------------------------------- the doc */

/* The copy of s in the string list *v, added if absent; NULL on out of memory. */
static const char *strv_intern(char ***v, int *n, int *cap, const char *s)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp((*v)[i], s))
            return (*v)[i];
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 16;
        char **p = realloc(*v, (size_t)c * sizeof *p);
        if (!p)
            return NULL;
        *v = p;
        *cap = c;
    }
    char *copy = strdup(s);
    if (copy)
        (*v)[(*n)++] = copy;
    return copy;
}

const char *cfg_doc_label(cfg_doc *d, const char *s)
{
    return strv_intern(&d->labels, &d->n_labels, &d->cap_labels, s);
}

int cfg_doc_known(cfg_doc *d, const char *key)
{
    return strv_intern(&d->known, &d->n_known, &d->cap_known, key) ? 0 : -1;
}

void cfg_doc_free(cfg_doc *doc)
{
    if (!doc)
        return;
    cfg_node_free(doc->root);
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

const char *cfg_peek_string(const cfg_doc *doc, const char *dotted)
{
    const entry *e = cfg_find_entry(doc->root, dotted);
    return e && e->val->kind == NODE_SCALAR ? e->val->text : NULL;
}

const char *cfg_where(const cfg_doc *doc, const char *dotted, char *buf, size_t len)
{
    const entry *e = cfg_find_entry(doc->root, dotted);
    if (e)
        return cfg_loc_str(e->val->loc, buf, len);
    snprintf(buf, len, "%s", doc->path);
    return buf;
}
