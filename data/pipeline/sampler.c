/* sampler.c - see sampler.h: sequential, random and balanced-by-domain batch orders, their
 * state, hold-out and domain selection. Every batch is a pure function of (config, epoch, batch);
 * the caches below only avoid recomputing permutations. */
#include "pipeline/sampler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/err.h"

/* Tags that keep the PRNG streams of different uses apart. */
enum { TAG_EPOCH = 1, TAG_DOMAIN_CYCLE = 2, TAG_BATCH_SHUFFLE = 3 };

/* One domain of the balanced sampler: its items and the cached permutation of one cycle. */
typedef struct {
    int64_t n;
    int64_t *items;    /* eligible items of the domain, index order */
    int64_t *perm;     /* items shuffled for cycle perm_cycle */
    int64_t perm_cycle;
    int quota;         /* items per batch; 0 = domain not used */
    double weight;
} domain_stream;

struct sampler {
    sampler_kind kind;
    int batch_size;           /* the global batch: per-rank batch x shards */
    int rank_batch, shards, shard; /* SHARDS in sampler.h; shards 1 = none */
    int64_t *global;          /* shards > 1: the global batch before slicing */
    int drop_last;
    uint64_t seed;
    int64_t bpe;              /* batches per epoch */
    int64_t n_items;
    int64_t *items;           /* eligible items, index order */
    int64_t *perm;            /* random: the permutation of perm_epoch */
    int64_t perm_epoch;
    int n_domains;
    domain_stream *doms;      /* balanced: n_domains streams */
    sampler_state state;
    uint64_t fingerprint;
};

sampler_config sampler_config_defaults(void)
{
    sampler_config c;
    memset(&c, 0, sizeof c);
    c.kind = SAMPLER_RANDOM;
    c.batch_size = 32;
    c.holdout_domain = SAMPLER_NO_DOMAIN;
    c.only_domain = SAMPLER_NO_DOMAIN;
    return c;
}

/* Fisher-Yates shuffle of a[0..n) in place with the stream of keys. */
static void shuffle(int64_t *a, int64_t n, const uint64_t *keys, int nkeys)
{
    prng r;
    prng_seed_keys(&r, keys, nkeys);
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)prng_below(&r, (uint64_t)i + 1);
        int64_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* ---------------------------------------------------------------- construction */

static const char *kind_name(sampler_kind k)
{
    switch (k) {
    case SAMPLER_SEQUENTIAL: return "sequential";
    case SAMPLER_RANDOM: return "random";
    case SAMPLER_BALANCED: return "balanced";
    }
    return "unknown";
}

static int check_config(const sampler_config *c, const ds_source *src, char *err, size_t errlen)
{
    if (c->kind != SAMPLER_SEQUENTIAL && c->kind != SAMPLER_RANDOM && c->kind != SAMPLER_BALANCED) {
        err_fail(err, errlen, "sampler: unknown kind %d", (int)c->kind);
        return -1;
    }
    if (c->batch_size < 1) {
        err_fail(err, errlen, "sampler: batch size must be >= 1 (got %d)", c->batch_size);
        return -1;
    }
    if (src->count < 0) {
        err_fail(err, errlen, "sampler: source has a negative item count (%lld)",
                 (long long)src->count);
        return -1;
    }
    int uses_domains = c->kind == SAMPLER_BALANCED || c->holdout_domain != SAMPLER_NO_DOMAIN ||
                       c->only_domain != SAMPLER_NO_DOMAIN;
    if (uses_domains && (!src->domains || src->n_domains < 1)) {
        err_fail(err, errlen, "sampler: %s needs a dataset with domains, this one has none",
                 c->kind == SAMPLER_BALANCED ? "the balanced sampler"
                                             : "a domain hold-out/selection");
        return -1;
    }
    const int doms[2] = {c->holdout_domain, c->only_domain};
    const char *names[2] = {"holdout_domain", "only_domain"};
    for (int i = 0; i < 2; i++) {
        if (doms[i] != SAMPLER_NO_DOMAIN && (doms[i] < 0 || doms[i] >= src->n_domains)) {
            err_fail(err, errlen, "sampler: %s %d is not a domain of the dataset (0..%d)", names[i],
                     doms[i], src->n_domains - 1);
            return -1;
        }
    }
    if (c->holdout_domain != SAMPLER_NO_DOMAIN && c->holdout_domain == c->only_domain) {
        err_fail(err, errlen, "sampler: domain %d is both held out and the only domain selected",
                 c->holdout_domain);
        return -1;
    }
    if (c->domain_weights && c->n_domain_weights != src->n_domains) {
        err_fail(err, errlen, "sampler: %d domain weights given for %d domains",
                 c->n_domain_weights, src->n_domains);
        return -1;
    }
    if (c->shard_count < 0 || c->shard_index < 0 ||
        c->shard_index >= (c->shard_count > 1 ? c->shard_count : 1) ||
        (int64_t)c->batch_size * (c->shard_count > 1 ? c->shard_count : 1) > INT32_MAX) {
        err_fail(err, errlen, "sampler: shard %d of %d does not exist (or the global batch is "
                 "too large)", c->shard_index, c->shard_count);
        return -1;
    }
    if (c->batches_per_epoch < 0) {
        err_fail(err, errlen, "sampler: batches_per_epoch must be >= 0 (got %lld)",
                 (long long)c->batches_per_epoch);
        return -1;
    }
    return 0;
}

static int eligible(const sampler_config *c, const ds_source *src, int64_t i)
{
    if (!src->domains)
        return 1;
    int32_t d = src->domains[i];
    if (c->holdout_domain != SAMPLER_NO_DOMAIN && d == c->holdout_domain)
        return 0;
    if (c->only_domain != SAMPLER_NO_DOMAIN && d != c->only_domain)
        return 0;
    return 1;
}

/* Collect the eligible items; checks domain ids when the sampler uses them. */
static int collect_items(sampler *s, const sampler_config *c, const ds_source *src, char *err,
                         size_t errlen)
{
    int check_ids = c->kind == SAMPLER_BALANCED || c->holdout_domain != SAMPLER_NO_DOMAIN ||
                    c->only_domain != SAMPLER_NO_DOMAIN;
    s->items = malloc((size_t)(src->count > 0 ? src->count : 1) * sizeof *s->items);
    if (!s->items) {
        err_fail(err, errlen, "sampler: out of memory for %lld items", (long long)src->count);
        return -1;
    }
    for (int64_t i = 0; i < src->count; i++) {
        if (check_ids && (src->domains[i] < 0 || src->domains[i] >= src->n_domains)) {
            err_fail(err, errlen, "sampler: item %lld has domain %d, outside 0..%d", (long long)i,
                     (int)src->domains[i], src->n_domains - 1);
            return -1;
        }
        if (eligible(c, src, i))
            s->items[s->n_items++] = i;
    }
    if (s->n_items == 0) {
        err_fail(err, errlen, "sampler: no items to sample (%lld in the dataset, none eligible "
                 "after the domain hold-out/selection)", (long long)src->count);
        return -1;
    }
    return 0;
}

/* Largest-remainder split of the batch by weight, then at least 1 per active domain. */
static int split_quotas(sampler *s, char *err, size_t errlen)
{
    int active = 0;
    double total = 0;
    for (int d = 0; d < s->n_domains; d++) {
        if (s->doms[d].n > 0) {
            active++;
            total += s->doms[d].weight;
        }
    }
    if (active > s->batch_size) {
        err_fail(err, errlen, "sampler: a balanced batch of %d cannot hold %d domains",
                 s->batch_size, active);
        return -1;
    }
    int given = 0;
    double *frac = calloc((size_t)s->n_domains, sizeof *frac);
    if (!frac) {
        err_fail(err, errlen, "sampler: out of memory");
        return -1;
    }
    for (int d = 0; d < s->n_domains; d++) {
        if (s->doms[d].n == 0)
            continue;
        double exact = s->batch_size * s->doms[d].weight / total;
        s->doms[d].quota = (int)exact;
        frac[d] = exact - s->doms[d].quota;
        given += s->doms[d].quota;
    }
    for (; given < s->batch_size; given++) { /* the remainder, largest fraction first */
        int best = -1;
        for (int d = 0; d < s->n_domains; d++)
            if (s->doms[d].n > 0 && frac[d] >= 0 && (best < 0 || frac[d] > frac[best]))
                best = d;
        s->doms[best].quota++;
        frac[best] = -1;
    }
    free(frac);
    for (int d = 0; d < s->n_domains; d++) { /* every domain at least once: take from the largest */
        if (s->doms[d].n == 0 || s->doms[d].quota > 0)
            continue;
        int big = 0;
        for (int e = 1; e < s->n_domains; e++)
            if (s->doms[e].quota > s->doms[big].quota)
                big = e;
        s->doms[big].quota--;
        s->doms[d].quota = 1;
    }
    return 0;
}

static int setup_balanced(sampler *s, const sampler_config *c, const ds_source *src, char *err,
                          size_t errlen)
{
    s->n_domains = src->n_domains;
    s->doms = calloc((size_t)s->n_domains, sizeof *s->doms);
    if (!s->doms)
        goto oom;
    for (int64_t i = 0; i < s->n_items; i++)
        s->doms[src->domains[s->items[i]]].n++;
    for (int d = 0; d < s->n_domains; d++) {
        domain_stream *ds = &s->doms[d];
        int excluded = d == c->holdout_domain ||
                       (c->only_domain != SAMPLER_NO_DOMAIN && d != c->only_domain);
        ds->perm_cycle = -1;
        ds->weight = c->domain_weights ? c->domain_weights[d] : 1.0;
        if (excluded)
            continue;
        if (ds->n == 0) {
            const char *name = src->domain_names && src->domain_names[d] ? src->domain_names[d] : "";
            err_fail(err, errlen, "sampler: domain %d%s%s%s has no items; every balanced batch "
                     "needs every domain (hold it out to train without it)", d, *name ? " (" : "",
                     name, *name ? ")" : "");
            return -1;
        }
        if (!(ds->weight > 0)) {
            err_fail(err, errlen, "sampler: domain weight %d must be > 0 (got %g)", d, ds->weight);
            return -1;
        }
        ds->items = malloc((size_t)ds->n * sizeof *ds->items);
        ds->perm = malloc((size_t)ds->n * sizeof *ds->perm);
        if (!ds->items || !ds->perm)
            goto oom;
        ds->n = 0;
    }
    for (int64_t i = 0; i < s->n_items; i++) {
        domain_stream *ds = &s->doms[src->domains[s->items[i]]];
        if (ds->items)
            ds->items[ds->n++] = s->items[i];
    }
    return split_quotas(s, err, errlen);
oom:
    err_fail(err, errlen, "sampler: out of memory");
    return -1;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    uint64_t x = h ^ v;
    return prng_splitmix64(&x);
}

static uint64_t compute_fingerprint(const sampler *s)
{
    uint64_t h = mix(0x5A3D1E, (uint64_t)s->kind);
    h = mix(h, s->seed);
    h = mix(h, (uint64_t)s->batch_size);
    h = mix(h, (uint64_t)s->drop_last);
    h = mix(h, (uint64_t)s->bpe);
    h = mix(h, (uint64_t)s->n_items);
    for (int64_t i = 0; i < s->n_items; i++)
        h = mix(h, (uint64_t)s->items[i]);
    for (int d = 0; s->doms && d < s->n_domains; d++)
        h = mix(h, (uint64_t)s->doms[d].quota);
    return h;
}

sampler *sampler_new(const sampler_config *c, const ds_source *src, char *err, size_t errlen)
{
    if (!c || !src) {
        err_fail(err, errlen, "sampler: no config or no source");
        return NULL;
    }
    if (check_config(c, src, err, errlen))
        return NULL;
    sampler *s = calloc(1, sizeof *s);
    if (!s) {
        err_fail(err, errlen, "sampler: out of memory");
        return NULL;
    }
    s->kind = c->kind;
    s->shards = c->shard_count > 1 ? c->shard_count : 1;
    s->shard = c->shard_index;
    s->rank_batch = c->batch_size;
    s->batch_size = c->batch_size * s->shards;
    if (s->shards > 1 && !(s->global = malloc((size_t)s->batch_size * sizeof *s->global))) {
        err_fail(err, errlen, "sampler: out of memory");
        goto fail;
    }
    s->drop_last = c->drop_last != 0;
    s->seed = c->seed;
    s->perm_epoch = -1;
    if (collect_items(s, c, src, err, errlen))
        goto fail;
    if (s->kind == SAMPLER_BALANCED && setup_balanced(s, c, src, err, errlen))
        goto fail;
    if (s->kind == SAMPLER_RANDOM) {
        s->perm = malloc((size_t)s->n_items * sizeof *s->perm);
        if (!s->perm) {
            err_fail(err, errlen, "sampler: out of memory");
            goto fail;
        }
    }
    s->bpe = s->drop_last ? s->n_items / s->batch_size
                          : (s->n_items + s->batch_size - 1) / s->batch_size;
    if (s->kind == SAMPLER_BALANCED && c->batches_per_epoch > 0)
        s->bpe = c->batches_per_epoch;
    if (s->bpe == 0) {
        err_fail(err, errlen, "sampler: %lld items make no full batch of %d with drop_last",
                 (long long)s->n_items, s->batch_size);
        goto fail;
    }
    s->fingerprint = compute_fingerprint(s);
    return s;
fail:
    sampler_free(s);
    return NULL;
}

void sampler_free(sampler *s)
{
    if (!s)
        return;
    for (int d = 0; s->doms && d < s->n_domains; d++) {
        free(s->doms[d].items);
        free(s->doms[d].perm);
    }
    free(s->doms);
    free(s->global);
    free(s->perm);
    free(s->items);
    free(s);
}

/* ---------------------------------------------------------------- queries and state */

int sampler_batch_size(const sampler *s) { return s->rank_batch; }
int64_t sampler_num_items(const sampler *s) { return s->n_items; }
int64_t sampler_batches_per_epoch(const sampler *s) { return s->bpe; }
uint64_t sampler_fingerprint(const sampler *s) { return s->fingerprint; }
sampler_state sampler_get_state(const sampler *s) { return s->state; }

int sampler_quota(const sampler *s, int domain)
{
    if (s->kind != SAMPLER_BALANCED)
        return -1;
    if (domain < 0 || domain >= s->n_domains)
        return 0;
    return s->doms[domain].quota;
}

static int state_valid(const sampler *s, sampler_state st)
{
    return st.epoch >= 0 && st.batch >= 0 && st.batch < s->bpe;
}

int sampler_set_state(sampler *s, sampler_state st, char *err, size_t errlen)
{
    if (!state_valid(s, st)) {
        err_fail(err, errlen, "sampler: state (epoch %lld, batch %lld) is out of range for a %s "
                 "sampler of %lld batches per epoch", (long long)st.epoch, (long long)st.batch,
                 kind_name(s->kind), (long long)s->bpe);
        return -1;
    }
    s->state = st;
    return 0;
}

sampler_state sampler_advance(const sampler *s, sampler_state st)
{
    if (++st.batch >= s->bpe) {
        st.batch = 0;
        st.epoch++;
    }
    return st;
}

/* ---------------------------------------------------------------- batches */

static int epoch_batch(sampler *s, sampler_state st, int64_t *idx)
{
    const int64_t *order = s->items;
    if (s->kind == SAMPLER_RANDOM) {
        if (s->perm_epoch != st.epoch) {
            memcpy(s->perm, s->items, (size_t)s->n_items * sizeof *s->perm);
            const uint64_t keys[3] = {s->seed, TAG_EPOCH, (uint64_t)st.epoch};
            shuffle(s->perm, s->n_items, keys, 3);
            s->perm_epoch = st.epoch;
        }
        order = s->perm;
    }
    int64_t start = st.batch * s->batch_size;
    int64_t n = s->n_items - start;
    if (n > s->batch_size)
        n = s->batch_size;
    memcpy(idx, order + start, (size_t)n * sizeof *idx);
    return (int)n;
}

/* Item at position p of domain d's endless stream of shuffled cycles. */
static int64_t domain_item(sampler *s, int d, int64_t p)
{
    domain_stream *ds = &s->doms[d];
    int64_t cycle = p / ds->n;
    if (ds->perm_cycle != cycle) {
        memcpy(ds->perm, ds->items, (size_t)ds->n * sizeof *ds->perm);
        const uint64_t keys[4] = {s->seed, TAG_DOMAIN_CYCLE, (uint64_t)d, (uint64_t)cycle};
        shuffle(ds->perm, ds->n, keys, 4);
        ds->perm_cycle = cycle;
    }
    return ds->perm[p % ds->n];
}

static int balanced_batch(sampler *s, sampler_state st, int64_t *idx)
{
    int64_t global = st.epoch * s->bpe + st.batch; /* batches since the start */
    int n = 0;
    for (int d = 0; d < s->n_domains; d++) {
        int q = s->doms[d].quota;
        for (int j = 0; j < q; j++)
            idx[n++] = domain_item(s, d, global * q + j);
    }
    const uint64_t keys[4] = {s->seed, TAG_BATCH_SHUFFLE, (uint64_t)st.epoch, (uint64_t)st.batch};
    shuffle(idx, n, keys, 4);
    return n;
}

int sampler_batch_at(sampler *s, sampler_state st, int64_t *idx, char *err, size_t errlen)
{
    if (!state_valid(s, st)) {
        err_fail(err, errlen, "sampler: batch %lld of epoch %lld does not exist (%lld batches per "
                 "epoch)", (long long)st.batch, (long long)st.epoch, (long long)s->bpe);
        return -1;
    }
    if (s->shards == 1)
        return s->kind == SAMPLER_BALANCED ? balanced_batch(s, st, idx) : epoch_batch(s, st, idx);
    int n = s->kind == SAMPLER_BALANCED ? balanced_batch(s, st, s->global)
                                        : epoch_batch(s, st, s->global);
    int m = (n + s->shards - 1) / s->shards;
    for (int j = 0; j < m; j++)
        idx[j] = s->global[((int64_t)s->shard * m + j) % n];
    return m;
}

int sampler_next(sampler *s, int64_t *idx, sampler_state *st_out, char *err, size_t errlen)
{
    int n = sampler_batch_at(s, s->state, idx, err, errlen);
    if (n < 0)
        return -1;
    if (st_out)
        *st_out = s->state;
    s->state = sampler_advance(s, s->state);
    return n;
}
