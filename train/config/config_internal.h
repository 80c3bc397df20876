/*
 * config_internal.h - what the files of the config layer share and nobody else sees: the located
 * node tree (maps, sequences, scalars that remember file:line:col), the doc, and the entry points
 * each file offers the others. The public API is config.h.
 *
 * The files and their one job each (a config flows through them in this order):
 *   config_tree.c     nodes, maps with a hash index of their keys, the doc, dotted-path lookup
 *   yaml_read.c       libyaml's event stream -> a node tree (anchors, duplicates, '---' refused)
 *   config_load.c     _base_ inheritance (map merge, cycles), --set overrides, cfg_load*()
 *   config_values.c   YAML scalar <-> typed value: parsing, ranges, messages, list conversion
 *   config_bind.c     descriptor tables -> structs (defaults, sections), release, accept
 *   config_unknown.c  keys no table used, and the "did you mean" suggestion
 *   config_emit.c     `config show` YAML and the config hash
 *
 * MAP LOOKUP
 *   A map keeps its entries in insertion order (emission and "first unknown key" follow the
 *   file) and, once it has more than MAP_INDEX_MIN entries, an open-addressing hash table of
 *   entry indices (FNV-1a of the key bytes, linear probing, at most half full). Lookup, add and
 *   the duplicate-key check are then O(1) on average, so reading and merging a map of n keys is
 *   O(n), not O(n^2). Removing an entry (only _base_, once per file) rebuilds the index.
 */
#ifndef PICTOR_CONFIG_INTERNAL_H
#define PICTOR_CONFIG_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

#include "config/config.h"

#define MAX_NESTING 64     /* maps/sequences inside each other in one file */
#define MAX_BASE_DEPTH 32  /* _base_ levels */
#define LOC_MAX 4200       /* a located prefix: path:line:col */
#define MAP_INDEX_MIN 8    /* maps with more entries than this get a hash index */

/* ---------------------------------------------------------------- locations and nodes */

/* Where a node or key came from. line == 0: no position (an override or a default); src is then
 * the whole label ("--set a.b=c"). src points into the doc's label pool. */
typedef struct {
    const char *src;
    int line, col;
} cfg_loc;

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
    int *index;      /* map: entry index + 1 per slot, 0 = empty; NULL while small */
    int index_cap;   /* slots (a power of two), 0 without an index */
};

/* "file:line:col", or the bare label when the location has no line. Returns buf. */
const char *cfg_loc_str(cfg_loc l, char *buf, size_t len);

node *cfg_node_new(node_kind kind, cfg_loc loc);
void cfg_node_free(node *n);                          /* NULL is fine */
node *cfg_scalar_new(cfg_loc loc, const char *text, size_t len, int plain);
int cfg_seq_push(node *seq, node *item);              /* -1 on out of memory (item not taken) */
/* Append key (taken) -> val (taken); NULL on out of memory (nothing taken). */
entry *cfg_map_add(node *map, char *key, cfg_loc loc, node *val);
/* The entry of map (which may be NULL or not a map) with this key; NULL if none. */
entry *cfg_map_find(const node *map, const char *key, size_t keylen);
/* Remove entry i from a map, handing its key and value to the caller. */
void cfg_map_take(node *map, int i, char **key, node **val);
const char *cfg_kind_name(const node *n);             /* "a map", "a list", "a scalar" */
int cfg_is_null(const node *n);                       /* a plain scalar YAML reads as null */
/* The entry at a dotted path below root (NULL if any part is missing or not a map). */
entry *cfg_find_entry(const node *root, const char *dotted);

/* ---------------------------------------------------------------- the doc */

struct cfg_doc {
    node *root;     /* always a map */
    char *path;
    char **labels;  /* interned file names and override labels, freed with the doc */
    int n_labels, cap_labels;
    char **known;   /* every dotted key and section path of the bound tables */
    int n_known, cap_known;
};

/* A stable copy of s owned by the doc; NULL on out of memory. */
const char *cfg_doc_label(cfg_doc *d, const char *s);
/* Remember a known key for suggestions (duplicates ignored). -1 on out of memory. */
int cfg_doc_known(cfg_doc *d, const char *key);

/* ---------------------------------------------------------------- reading YAML (yaml_read.c) */

/* One YAML value in text (a --set value or a default): locations are the bare label. */
node *cfg_read_value(const char *text, size_t len, const char *label, char *err, size_t errlen);
/* A whole document in text or an open file, whose top must be a map (an empty one becomes an
 * empty map). label is interned and names the source in messages. */
node *cfg_read_map_text(const char *text, size_t len, const char *label, char *err,
                        size_t errlen);
node *cfg_read_map_file(FILE *f, const char *label, char *err, size_t errlen);

/* ---------------------------------------------------------------- values (config_values.c) */

/* Shortest "%g" text that reads back as exactly v (".inf" / "-.inf" for infinities). */
void cfg_fmt_double(double v, char *buf, size_t len);
void cfg_range_text(const cfg_field *f, char *buf, size_t len); /* " in [a, b]", " >= a", "" */
cfg_type cfg_element_type(cfg_type t);
int cfg_is_list(cfg_type t);
/* The idx-th choice (NULL if out of range) and its length. */
const char *cfg_enum_name(const char *choices, int idx, int *len);
/* How a node looks, for messages: "'ten'", "the quoted string '10'", "a list". */
void cfg_got_text(const node *n, char *buf, size_t len);
/* Convert node n into the field f of out (key names it in messages); 0 or -1 with a message. */
int cfg_convert_field(const cfg_field *f, const char *key, const node *n, void *out, char *err,
                      size_t errlen);
/* Free a list field at `at` and zero it. */
void cfg_free_list(cfg_type t, void *at);

#endif
