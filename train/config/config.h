/*
 * config.h - pictor's generic YAML config layer (libyaml): files into a tree of located nodes,
 * `_base_` inheritance, `--set` overrides, and typed C structs filled through descriptor tables.
 *
 * Owns: reading YAML into maps / sequences / scalars that remember their file, line and column;
 * resolving `_base_` (relative paths, several levels, cycles refused); applying `--set a.b=c`
 * overrides; the descriptor tables (one per section, the redis config.c way) and binding them to
 * structs with type and range checks; unknown-key errors with "did you mean"; emitting the
 * resolved config as YAML (with docs as comments) and hashing it. It knows no section names:
 * those live in settings.h and in the drivers.
 *
 * The implementation is one file per job (config_tree.c, yaml_read.c, config_load.c,
 * config_values.c, config_bind.c, config_unknown.c, config_emit.c); config_internal.h lists them
 * and holds what they share.
 *
 * LIFE OF A CONFIG
 *   cfg_doc *doc = cfg_load("configs/x.yaml", overrides, n, err, sizeof err);
 *   cfg_bind(doc, &train_section, &train_struct, err, sizeof err);     one call per section
 *   cfg_bind(doc, &optim_section, &optim_struct, err, sizeof err);
 *   cfg_check_unknown(doc, err, sizeof err);                           after every bind
 *   ... use the structs; cfg_emit() them into runs/<name>/config.yaml ...
 *   cfg_release(&train_section, &train_struct); ...; cfg_doc_free(doc);
 *
 * INHERITANCE
 *   A file may start with `_base_: path` or `_base_: [path, ...]`, relative to that file's
 *   directory (or absolute). Bases are resolved recursively; later bases override earlier ones
 *   and the file overrides all its bases. Maps merge key by key, recursively; a scalar or a list
 *   replaces whatever it overrides (lists are never concatenated). A cycle is an error naming the
 *   chain: "config cycle: a.yaml -> b.yaml -> a.yaml".
 *
 * OVERRIDES
 *   Each override is "a.b.c=value" (the text after `--set`). They are applied in order after
 *   inheritance; value is read as YAML (a scalar, or a flow list such as [1, 2]) and typed by the
 *   descriptor when bound. Intermediate maps are created as needed, so an override may add a key
 *   no file has; a key path no bound table knows is reported by cfg_check_unknown() exactly like
 *   an unknown key in a file. Override errors are located as "--set a.b.c=value".
 *
 * VALUES (what a YAML scalar must look like for each field type)
 *   CFG_INT     a plain decimal integer ("-3", "+7"), no fraction, no exponent.
 *   CFG_FLOAT   a plain number ("0.1", "1e-3", "3", ".inf"); NaN is refused.
 *   CFG_BOOL    true/false, yes/no, on/off (any case).
 *   CFG_STRING  any scalar, kept as text; a plain null ("", "~", "null") is the empty string.
 *   CFG_ENUM    one of the '|'-separated choices, exactly.
 *   CFG_*_LIST  a sequence (block or flow [a, b]) of the element type; "[]" is empty.
 *   Quoted scalars ("10", '1.5') are strings: they are refused for numbers, bools and enums.
 *
 * ERRORS
 *   Functions that can fail take (char *err, size_t errlen) and write one line without a final
 *   newline, naming where and what was expected, e.g.
 *     configs/x.yaml:12:15: train.epochs: expected an integer in [0, 100000], got 'ten'
 *     configs/x.yaml:7:3: unknown key 'optim.lr_rate' (did you mean 'optim.lr'?)
 *     configs/x.yaml:4:3: malformed YAML: mapping values are not allowed in this context
 *     cannot open configs/x.yaml: No such file or directory
 *     --set optim.lr=abc: optim.lr: expected a number >= 0, got 'abc'
 *   err may be NULL (or errlen 0) when the caller does not want the text.
 *
 * Not thread-safe per doc; distinct docs may be used from distinct threads.
 */
#ifndef PICTOR_CONFIG_H
#define PICTOR_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    CFG_INT,         /* int64_t */
    CFG_FLOAT,       /* double */
    CFG_BOOL,        /* int, 0 or 1 */
    CFG_STRING,      /* char *, malloc'ed, never NULL after a successful bind ("" when unset) */
    CFG_ENUM,        /* int, index into choices */
    CFG_INT_LIST,    /* cfg_int_list */
    CFG_FLOAT_LIST,  /* cfg_float_list */
    CFG_STRING_LIST  /* cfg_string_list */
} cfg_type;

typedef struct { int n; int64_t *v; } cfg_int_list;
typedef struct { int n; double *v; } cfg_float_list;
typedef struct { int n; char **v; } cfg_string_list;

/* One key of a section: its name, type, where it lives in the struct, its default (a string read
 * by the same code as file values, so this table is the one source of truth), its range and its
 * one-line doc. */
typedef struct {
    const char *name;     /* key inside the section, e.g. "epochs" */
    cfg_type type;
    size_t offset;        /* offsetof(the section's struct, member) */
    const char *def;      /* default as YAML text ("0.1", "[0.9, 0.999]", "adamw"); NULL = zero,
                           * empty string or empty list */
    double min, max;      /* inclusive range of numbers (of each element for lists); min == max
                           * == 0 means no range. Use -INFINITY / INFINITY for one-sided. */
    const char *choices;  /* CFG_ENUM: "a|b|c" (index 0 is "a"); NULL otherwise */
    const char *doc;      /* one line, no trailing period needed */
    int count;            /* lists: exact number of elements required, 0 = any */
} cfg_field;

/* A section: the fields under one dotted path of the YAML ("train", "data.augment"). */
typedef struct {
    const char *name;
    const cfg_field *fields;
    int n_fields;
    const char *doc;      /* optional one-line description, emitted as a comment */
} cfg_section;

typedef struct cfg_doc cfg_doc;

/* Read path, resolve its _base_ chain, apply the overrides ("a.b=value" each; may be NULL when
 * n_overrides is 0). NULL on error with a message in err. The top level must be a mapping (an
 * empty file is an empty mapping). Anchors, aliases and multi-document files are refused. */
cfg_doc *cfg_load(const char *path, const char *const *overrides, int n_overrides, char *err,
                  size_t errlen);
/* The same from YAML text in memory; label names it in messages ("<string>" when NULL) and
 * relative _base_ paths are resolved from the label's directory (the current directory when the
 * label has no '/'). */
cfg_doc *cfg_load_string(const char *yaml, const char *label, const char *const *overrides,
                         int n_overrides, char *err, size_t errlen);
void cfg_doc_free(cfg_doc *doc);                   /* NULL is fine */

/* The path given to cfg_load (the label for cfg_load_string). */
const char *cfg_doc_path(const cfg_doc *doc);

/* Fill out from sec: every field gets its default, then the value found in the doc (if any),
 * checked for type, range, choices and count. Keys found are marked used, and every key of the
 * table is remembered for "did you mean". out must be zeroed (or released) before the first
 * bind; strings and lists already in it are freed when replaced, so binding the same section
 * twice does not leak. Returns 0, or -1 with a located message; on failure out may hold part of
 * the values: release it with cfg_release() either way. */
int cfg_bind(cfg_doc *doc, const cfg_section *sec, void *out, char *err, size_t errlen);

/* After every section is bound: 0 if every key of the doc was used, else -1 with the first
 * unknown key located and a suggestion among the keys of the bound tables, e.g.
 *   configs/x.yaml:7:3: unknown key 'optim.lr_rate' (did you mean 'optim.lr'?) */
int cfg_check_unknown(const cfg_doc *doc, char *err, size_t errlen);

/* Mark every key under the dotted map path as used without a table (e.g. model.* before a driver
 * registers its table): they are then kept and emitted verbatim by cfg_emit(). No-op if absent. */
void cfg_accept(cfg_doc *doc, const char *dotted);

/* The text of the scalar at a dotted path ("model.type"), or NULL if absent or not a scalar.
 * Marks nothing as used. Owned by doc. */
const char *cfg_peek_string(const cfg_doc *doc, const char *dotted);

/* Where the value at a dotted path came from: "file:line:col" or "--set a.b=c". If the path is
 * absent, the doc's path (so messages about defaults still name the file). Returns buf. */
const char *cfg_where(const cfg_doc *doc, const char *dotted, char *buf, size_t len);

/* Free the strings and lists of out (zeroing them); numbers are left alone. */
void cfg_release(const cfg_section *sec, void *out);

#define CFG_EMIT_DOCS 1u  /* write each field's doc, range and choices as a comment line */

/* Write secs[i] filled from structs[i] as YAML: every field, nested by the dotted section names
 * (sections sharing a name are emitted as one map, a field name emitted once). verbatim (may be
 * NULL) adds the keys accepted with cfg_accept() under the matching sections. The output read
 * back by cfg_load() and bound to the same tables gives identical structs. Returns 0, or -1 on
 * a write error (errno set by stdio). */
int cfg_emit(FILE *f, const cfg_section *const *secs, const void *const *structs, int n,
             const cfg_doc *verbatim, unsigned flags);

/* FNV-1a 64 of the cfg_emit() text without comments: changes with any value, not with the key
 * order or layout of the source files. */
uint64_t cfg_hash(const cfg_section *const *secs, const void *const *structs, int n,
                  const cfg_doc *verbatim);
/* 16 lowercase hex digits and a NUL into out; returns out. */
char *cfg_hash_hex(uint64_t h, char out[17]);

#endif
