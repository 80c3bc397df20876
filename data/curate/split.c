/*
 * split.c - see split.h: group keys (regex on file names, or the /group column), the greedy
 * assignment over shuffled groups, and writing both sides.
 */
#include "curate/split.h"

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/rng.h"
#include "curate/item_copy.h"
#include "store/store.h"

/* ---------------------------------------------------------------- group keys */

typedef struct {
    char *key; /* NULL: no match, own group */
    int64_t item;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->item > y->item) - (x->item < y->item);
}

/* The key of one name: capture group 1 when it took part, else the whole match; NULL when the
 * name does not match (*key_out stays NULL) ; -1 on out of memory. */
static int key_of(const regex_t *re, const char *name, char **key_out)
{
    regmatch_t m[2];
    *key_out = NULL;
    if (!name || regexec(re, name, 2, m, 0) != 0)
        return 0;
    const regmatch_t *g = re->re_nsub >= 1 && m[1].rm_so >= 0 ? &m[1] : &m[0];
    size_t len = (size_t)(g->rm_eo - g->rm_so);
    if (!(*key_out = malloc(len + 1)))
        return -1;
    memcpy(*key_out, name + g->rm_so, len);
    (*key_out)[len] = 0;
    return 0;
}

int split_groups_by_regex(const char *const *names, int64_t n, const char *regex,
                          int64_t *group_of, int64_t *n_groups, int64_t *unmatched, char *err,
                          size_t errlen)
{
    regex_t re;
    int rc = regcomp(&re, regex, REG_EXTENDED);
    if (rc != 0) {
        char why[256];
        regerror(rc, &re, why, sizeof why);
        return err_fail(err, errlen, "invalid regular expression '%s': %s", regex, why);
    }
    keyed *k = calloc((size_t)n + 1, sizeof *k);
    int64_t nk = 0, groups = 0;
    *unmatched = 0;
    rc = k ? 0 : -1;
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        char *key;
        if (key_of(&re, names[i], &key)) {
            rc = -1;
        } else if (key) {
            k[nk].key = key, k[nk++].item = i;
        } else {
            group_of[i] = groups++;
            ++*unmatched;
        }
    }
    regfree(&re);
    if (rc == 0) {
        qsort(k, (size_t)nk, sizeof *k, cmp_keyed);
        for (int64_t j = 0; j < nk; j++) {
            if (j > 0 && strcmp(k[j].key, k[j - 1].key))
                groups++;
            group_of[k[j].item] = groups;
        }
        groups += nk > 0;
        *n_groups = groups;
    }
    for (int64_t j = 0; k && j < nk; j++)
        free(k[j].key);
    free(k);
    return rc ? err_fail(err, errlen, "out of memory for %lld file names", (long long)n) : 0;
}

typedef struct {
    int64_t id, item;
} id_item;

static int cmp_id_item(const void *a, const void *b)
{
    const id_item *x = a, *y = b;
    if (x->id != y->id)
        return (x->id > y->id) - (x->id < y->id);
    return (x->item > y->item) - (x->item < y->item);
}

int split_groups_by_id(const int64_t *ids, int64_t n, int64_t *group_of, int64_t *n_groups)
{
    id_item *v = malloc(((size_t)n + 1) * sizeof *v);
    if (!v)
        return -1;
    int64_t nv = 0, groups = 0;
    for (int64_t i = 0; i < n; i++) {
        if (ids[i] < 0)
            group_of[i] = groups++;
        else
            v[nv].id = ids[i], v[nv++].item = i;
    }
    qsort(v, (size_t)nv, sizeof *v, cmp_id_item);
    for (int64_t j = 0; j < nv; j++) {
        if (j > 0 && v[j].id != v[j - 1].id)
            groups++;
        group_of[v[j].item] = groups;
    }
    *n_groups = groups + (nv > 0);
    free(v);
    return 0;
}

/* ---------------------------------------------------------------- assignment */

int64_t split_assign(const int64_t *group_of, int64_t n, int64_t n_groups, double val,
                     uint64_t seed, uint8_t *is_val)
{
    int64_t *size = calloc((size_t)n_groups + 1, sizeof *size);
    int64_t *order = malloc(((size_t)n_groups + 1) * sizeof *order);
    uint8_t *side = calloc((size_t)n_groups + 1, 1);
    int64_t count = -1;
    if (size && order && side) {
        for (int64_t i = 0; i < n; i++)
            size[group_of[i]]++;
        prng g;
        uint64_t keys[2] = {seed, 0x73706c6974ull}; /* "split" */
        prng_seed_keys(&g, keys, 2);
        for (int64_t j = 0; j < n_groups; j++)
            order[j] = j;
        for (int64_t j = n_groups - 1; j > 0; j--) { /* Fisher-Yates */
            int64_t r = (int64_t)prng_below(&g, (uint64_t)j + 1), t = order[j];
            order[j] = order[r], order[r] = t;
        }
        double target = val * (double)n;
        count = 0;
        for (int64_t j = 0; j < n_groups; j++) {
            int64_t s = size[order[j]];
            if (fabs((double)(count + s) - target) < fabs((double)count - target)) {
                side[order[j]] = 1;
                count += s;
            }
        }
        for (int64_t i = 0; i < n; i++)
            is_val[i] = side[group_of[i]];
    }
    free(size);
    free(order);
    free(side);
    return count;
}

/* ---------------------------------------------------------------- the file */

typedef struct {
    store_reader *r;
    char **names;
    int64_t *group_of;
    uint8_t *is_val;
    store_writer *w[2]; /* train, val */
    char *source;
} split_job;

static void job_free(split_job *j)
{
    store_abort(j->w[0]);
    store_abort(j->w[1]);
    store_free_names(j->names, j->names ? store_count(j->r) : 0);
    store_close(j->r);
    free(j->group_of);
    free(j->is_val);
    free(j->source);
}

static int check_options(const split_options *o, char *err, size_t errlen)
{
    if (!o->in || !o->out_train || !o->out_val)
        return err_fail(err, errlen, "split: needs an input and two outputs");
    if (!(o->val > 0 && o->val < 1))
        return err_fail(err, errlen, "split: the validation fraction must be in (0, 1), got %g",
                        o->val);
    if (!strcmp(o->out_train, o->out_val) || !strcmp(o->in, o->out_train) ||
        !strcmp(o->in, o->out_val))
        return err_fail(err, errlen, "split: the input and the two outputs must be three "
                        "different files");
    return 0;
}

/* Groups of every item, then the sides. */
static int assign(split_job *j, const split_options *o, split_report *rep, char *err,
                  size_t errlen)
{
    int64_t n = store_count(j->r);
    j->group_of = malloc(((size_t)n + 1) * sizeof *j->group_of);
    j->is_val = calloc((size_t)n + 1, 1);
    if (!j->group_of || !j->is_val)
        return err_fail(err, errlen, "out of memory for %lld items", (long long)n);
    if (o->group_regex) {
        int has = store_file_names(j->r, &j->names, err, errlen);
        if (has < 0)
            return -1;
        if (has == 0)
            return err_fail(err, errlen, "%s has no file names to group by (imported before "
                            "they were recorded?); import it again, or split by its /group "
                            "column without a regular expression", o->in);
        if (split_groups_by_regex((const char *const *)j->names, n, o->group_regex,
                                  j->group_of, &rep->groups, &rep->unmatched, err, errlen))
            return -1;
    } else if (split_groups_by_id(store_groups(j->r), n, j->group_of, &rep->groups)) {
        return err_fail(err, errlen, "out of memory for %lld items", (long long)n);
    } else if (store_file_names(j->r, &j->names, err, errlen) < 0) {
        return -1;
    }
    rep->items = n;
    rep->target = o->val * (double)n;
    rep->val_items = split_assign(j->group_of, n, rep->groups, o->val, o->seed, j->is_val);
    if (rep->val_items < 0)
        return err_fail(err, errlen, "out of memory for %lld groups", (long long)rep->groups);
    /* groups on the validation side, and the largest group */
    int64_t *size = calloc((size_t)rep->groups + 1, sizeof *size);
    if (!size)
        return err_fail(err, errlen, "out of memory for %lld groups", (long long)rep->groups);
    for (int64_t i = 0; i < n; i++)
        size[j->group_of[i]]++;
    for (int64_t i = 0; i < n; i++) {
        int64_t *s = &size[j->group_of[i]];
        if (*s > rep->largest_group)
            rep->largest_group = *s;
        if (*s > 0 && j->is_val[i])
            rep->val_groups++;
        *s = 0; /* count each group once */
    }
    free(size);
    return 0;
}

static int write_sides(split_job *j, const split_options *o, char *err, size_t errlen)
{
    const char *src = store_layout_of(j->r)->o.source;
    size_t slen = strlen(src) + (o->group_regex ? strlen(o->group_regex) : 0) + 160;
    if (!(j->source = malloc(slen))) {
        err_fail(err, errlen, "out of memory");
        return 2;
    }
    const char *out[2] = {o->out_train, o->out_val};
    for (int side = 0; side < 2; side++) {
        snprintf(j->source, slen, "split (%s side, val %g, seed %llu, groups %s%s%s%s) of: %s",
                 side ? "val" : "train", o->val, (unsigned long long)o->seed,
                 o->group_regex ? "by '" : "by /group", o->group_regex ? o->group_regex : "",
                 o->group_regex ? "'" : "", o->foreground ? ", foreground" : "", src);
        if (!(j->w[side] = item_copy_create(j->r, out[side], j->source, o->foreground, err,
                                            errlen)))
            return 1;
    }
    for (int64_t i = 0; i < store_count(j->r); i++) {
        if (o->cancel && *o->cancel) {
            err_fail(err, errlen, "%s, %s: interrupted; nothing written", o->out_train,
                     o->out_val);
            return 130;
        }
        if (item_copy(j->r, i, j->w[j->is_val[i]], j->names ? j->names[i] : NULL,
                      o->foreground, err, errlen))
            return 2;
    }
    for (int side = 0; side < 2; side++) {
        store_writer *w = j->w[side];
        j->w[side] = NULL;
        if (store_commit(w, err, errlen)) {
            if (side == 1)
                unlink(o->out_train); /* both sides or neither */
            return 2;
        }
    }
    return 0;
}

int split_file(const split_options *o, split_report *rep, char *err, size_t errlen)
{
    memset(rep, 0, sizeof *rep);
    if (check_options(o, err, errlen))
        return 1;
    split_job j;
    memset(&j, 0, sizeof j);
    if (!(j.r = store_open(o->in, err, errlen)))
        return 1;
    int rc = assign(&j, o, rep, err, errlen) ? 1 : write_sides(&j, o, err, errlen);
    job_free(&j);
    return rc;
}
