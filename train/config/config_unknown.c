/*
 * config_unknown.c - keys of a doc that no bound table used (cfg_check_unknown), reported at
 * their location with a suggestion among the keys of the bound tables.
 *
 * The walk is depth first in file order and descends only into maps marked as sections, so the
 * first unknown key reported is the first one in the file. A suggestion is the known key with
 * the smallest optimal-string-alignment distance (base/strdist.h) within max(2, length / 4), or
 * the same leaf name in another section ("train.lr" -> "optim.lr"), or in the same section a leaf
 * that starts the other ("optim.lr_rate" -> "optim.lr"); ancestors of the unknown key are never
 * suggested.
 */
#include "config/config_internal.h"

#include <string.h>

#include "base/err.h"
#include "base/strdist.h"

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
        int d = strdist_osa(unknown, k), score = -1;
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
    err_fail(err, errlen, "%s: unknown key '%s'%s", cfg_loc_str(e->loc, where, sizeof where), path,
             hint);
    return -1;
}

