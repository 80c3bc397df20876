/* dict.c - pt_dict: an ordered name -> tensor dictionary that owns its tensors, plus ordered
 * string metadata (key -> value), both declared in pt.h.
 *
 * Owns: the entries (names copied, tensors owned: freed by pt_dict_free or when replaced), the
 * metadata strings, and the rules of pt_dict_put (names unique, insertion order kept, a replaced
 * entry keeps its position). It does not own any file format: safetensors.c and serialize.cpp
 * build on it.
 *
 * pt_dict_put always takes ownership of the tensor it is given, also when it fails (it frees
 * it then), so a caller never has to guess who frees. The one exception is a handle the dict
 * already owns under another name: that is refused and left alone, since freeing it would free
 * the other entry. Lookups are linear scans: a state dict holds hundreds of entries, and a
 * name -> tensor load of the whole dict stays far below the cost of the tensors themselves.
 */
#include "pt.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name;
    pt_tensor *tensor;
} dict_entry;

typedef struct {
    char *key;
    char *value;
} meta_entry;

struct pt_dict {
    dict_entry *entries;
    int n_entries, cap_entries;
    meta_entry *meta;
    int n_meta, cap_meta;
};

/* ---------------------------------------------------------------- small helpers */

/* Returns array (n used of *cap elements of elem_size bytes) with room for one more element,
 * reallocated if needed; NULL when out of memory (array is then unchanged). */
static void *grow_for_one(void *array, int *cap, int n, size_t elem_size)
{
    if (n < *cap)
        return array;
    if (*cap > INT_MAX / 2)
        return NULL;
    int new_cap = *cap ? *cap * 2 : 16;
    void *p = realloc(array, (size_t)new_cap * elem_size);
    if (p)
        *cap = new_cap;
    return p;
}

static int find_entry(const pt_dict *d, const char *name)
{
    for (int i = 0; i < d->n_entries; i++)
        if (strcmp(d->entries[i].name, name) == 0)
            return i;
    return -1;
}

static int find_meta(const pt_dict *d, const char *key)
{
    for (int i = 0; i < d->n_meta; i++)
        if (strcmp(d->meta[i].key, key) == 0)
            return i;
    return -1;
}

/* Index of the entry that holds handle t, -1 if none. */
static int find_handle(const pt_dict *d, const pt_tensor *t)
{
    for (int i = 0; i < d->n_entries; i++)
        if (d->entries[i].tensor == t)
            return i;
    return -1;
}

/* ---------------------------------------------------------------- life cycle */

pt_dict *pt_dict_new(void)
{
    pt_dict *d = calloc(1, sizeof *d);
    if (!d)
        pt_error_set("pt_dict_new: out of memory");
    return d;
}

void pt_dict_free(pt_dict *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->n_entries; i++) {
        pt_free(d->entries[i].tensor);
        free(d->entries[i].name);
    }
    for (int i = 0; i < d->n_meta; i++) {
        free(d->meta[i].key);
        free(d->meta[i].value);
    }
    free(d->entries);
    free(d->meta);
    free(d);
}

/* ---------------------------------------------------------------- tensors */

/* Stores t under a name not yet in d. On failure t is freed (the caller gave it away). */
static pt_status append_entry(pt_dict *d, const char *name, pt_tensor *t)
{
    char *copy = strdup(name);
    dict_entry *grown = copy ? grow_for_one(d->entries, &d->cap_entries, d->n_entries,
                                            sizeof d->entries[0])
                             : NULL;
    if (!grown) {
        free(copy);
        pt_free(t);
        pt_error_set("pt_dict_put: out of memory adding '%s'", name);
        return PT_ERR;
    }
    d->entries = grown;
    d->entries[d->n_entries].name = copy;
    d->entries[d->n_entries].tensor = t;
    d->n_entries++;
    return PT_OK;
}

pt_status pt_dict_put(pt_dict *d, const char *name, pt_tensor *t)
{
    if (!t) {
        /* NULL propagation: keep the message of the op that failed first. */
        if (!pt_error_pending())
            pt_error_set("pt_dict_put: NULL tensor for '%s'", name ? name : "(null)");
        return PT_ERR;
    }
    pt_keep(t);
    if (!d || !name) {
        pt_free(t);
        pt_error_set("pt_dict_put: %s is NULL", d ? "name" : "dict");
        return PT_ERR;
    }
    int holder = find_handle(d, t);
    if (holder >= 0 && strcmp(d->entries[holder].name, name) != 0) {
        pt_error_set("pt_dict_put: the handle given for '%s' is already owned by entry '%s'",
                     name, d->entries[holder].name);
        return PT_ERR;
    }
    if (holder >= 0)
        return PT_OK;  /* the same handle put again under its own name */
    int i = find_entry(d, name);
    if (i < 0)
        return append_entry(d, name, t);
    pt_free(d->entries[i].tensor);
    d->entries[i].tensor = t;
    return PT_OK;
}

pt_tensor *pt_dict_get(const pt_dict *d, const char *name)
{
    if (!d || !name)
        return NULL;
    int i = find_entry(d, name);
    return i < 0 ? NULL : d->entries[i].tensor;
}

int pt_dict_size(const pt_dict *d)
{
    if (!d) {
        pt_error_set("pt_dict_size: dict is NULL");
        return -1;
    }
    return d->n_entries;
}

const char *pt_dict_name(const pt_dict *d, int i)
{
    if (!d || i < 0 || i >= d->n_entries) {
        pt_error_set("pt_dict_name: index %d out of range [0, %d)", i, d ? d->n_entries : 0);
        return NULL;
    }
    return d->entries[i].name;
}

pt_tensor *pt_dict_tensor(const pt_dict *d, int i)
{
    if (!d || i < 0 || i >= d->n_entries) {
        pt_error_set("pt_dict_tensor: index %d out of range [0, %d)", i, d ? d->n_entries : 0);
        return NULL;
    }
    return d->entries[i].tensor;
}

/* ---------------------------------------------------------------- metadata */

pt_status pt_dict_set_meta(pt_dict *d, const char *key, const char *value)
{
    if (!d || !key || !value) {
        pt_error_set("pt_dict_set_meta: %s is NULL", !d ? "dict" : !key ? "key" : "value");
        return PT_ERR;
    }
    char *value_copy = strdup(value);
    if (!value_copy) {
        pt_error_set("pt_dict_set_meta: out of memory setting '%s'", key);
        return PT_ERR;
    }
    int i = find_meta(d, key);
    if (i >= 0) {
        free(d->meta[i].value);
        d->meta[i].value = value_copy;
        return PT_OK;
    }
    char *key_copy = strdup(key);
    meta_entry *grown = key_copy ? grow_for_one(d->meta, &d->cap_meta, d->n_meta,
                                                sizeof d->meta[0])
                                 : NULL;
    if (!grown) {
        free(key_copy);
        free(value_copy);
        pt_error_set("pt_dict_set_meta: out of memory setting '%s'", key);
        return PT_ERR;
    }
    d->meta = grown;
    d->meta[d->n_meta].key = key_copy;
    d->meta[d->n_meta].value = value_copy;
    d->n_meta++;
    return PT_OK;
}

const char *pt_dict_meta(const pt_dict *d, const char *key)
{
    if (!d || !key)
        return NULL;
    int i = find_meta(d, key);
    return i < 0 ? NULL : d->meta[i].value;
}

int pt_dict_meta_size(const pt_dict *d)
{
    if (!d) {
        pt_error_set("pt_dict_meta_size: dict is NULL");
        return -1;
    }
    return d->n_meta;
}

const char *pt_dict_meta_key(const pt_dict *d, int i)
{
    if (!d || i < 0 || i >= d->n_meta) {
        pt_error_set("pt_dict_meta_key: index %d out of range [0, %d)", i, d ? d->n_meta : 0);
        return NULL;
    }
    return d->meta[i].key;
}
