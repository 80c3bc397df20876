/*
 * sampler.h - which dataset items go into which batch, in which order: sequential, random, and
 * balanced-by-domain (every batch holds every domain / image type).
 *
 * Owns: the batch order of an epoch as a pure function of (config, seed, epoch, batch), the
 * sampler state (epoch, batch) that a checkpoint saves, domain hold-out and domain selection.
 * Does not read images (only the source's labels/domains arrays) and uses data/rng.h, never
 * libtorch's generator.
 *
 * STATE AND RESUME
 *   A sampler_state {epoch, batch} names the NEXT batch to be produced. Batch (e, k) is computed
 *   from the seed, e and k alone, so restoring a saved state with sampler_set_state() yields
 *   exactly the batches the uninterrupted run would have produced from that point on.
 *
 * KINDS
 *   SAMPLER_SEQUENTIAL  the eligible items in index order, every epoch the same.
 *   SAMPLER_RANDOM      a fresh permutation of the eligible items per epoch, from (seed, epoch).
 *   SAMPLER_BALANCED    every batch holds quota[d] items of each domain d; quotas split the batch
 *                       by the domain weights (default equal) with the largest-remainder rule,
 *                       ties to the lower domain id, at least 1 per domain. Each domain's items
 *                       are drawn from its own stream of shuffled passes ("cycles") over its
 *                       items: every item of domain d is used once per cycle before any is
 *                       reused, and the streams continue across epoch boundaries, so small
 *                       domains repeat (oversampling) and large ones are fully covered over
 *                       consecutive epochs. The items of a batch are then shuffled. An epoch is
 *                       ceil(eligible / batch_size) batches (floor with drop_last), or
 *                       batches_per_epoch when set. Balanced batches are always full.
 *
 *   drop_last: sequential/random drop the short last batch of an epoch (else it is shorter).
 *   holdout_domain: items of that domain are excluded (leave-one-domain-out training).
 *   only_domain: only items of that domain are used (evaluating on the held-out domain).
 *
 * Not thread-safe: one sampler per thread (the loader calls it under its own lock).
 */
#ifndef PICTOR_DATA_SAMPLER_H
#define PICTOR_DATA_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/source.h"

typedef enum { SAMPLER_SEQUENTIAL = 0, SAMPLER_RANDOM, SAMPLER_BALANCED } sampler_kind;

#define SAMPLER_NO_DOMAIN (-1)

typedef struct {
    sampler_kind kind;
    int batch_size;               /* >= 1 */
    int drop_last;                /* 0/1 */
    uint64_t seed;
    int holdout_domain;           /* SAMPLER_NO_DOMAIN, or a domain id to exclude */
    int only_domain;              /* SAMPLER_NO_DOMAIN, or the one domain id to use */
    const double *domain_weights; /* balanced: n_domain_weights (== n_domains) weights > 0, or
                                   * NULL for equal; copied. The held-out domain's is ignored. */
    int n_domain_weights;
    int64_t batches_per_epoch;    /* balanced only: 0 = default (see above) */
    int shard_count;              /* data parallel (see SHARDS): ranks sharing each batch; 0 or 1
                                   * = no sharding */
    int shard_index;              /* this rank, 0 <= shard_index < shard_count */
} sampler_config;

/* The state of the NEXT batch: epoch >= 0, 0 <= batch < batches per epoch. */
typedef struct {
    int64_t epoch;
    int64_t batch;
} sampler_state;

typedef struct sampler sampler;

/* SHARDS (data-parallel training, train/core/ddp.h)
 *   With shard_count = W > 1 the sampler computes each batch (e, k) of the global batch size
 *   W x batch_size exactly as an unsharded sampler of that batch size would, and returns shard
 *   shard_index of it: m = ceil(n / W) items (n: the global batch's count) at positions
 *   shard_index*m .. shard_index*m + m - 1, wrapped modulo n (DistributedSampler's padding of a
 *   short last batch). The W shards of a full batch are disjoint and together are the batch one
 *   process would train on; batches per epoch and the fingerprint are those of the global batch
 *   size, so a checkpoint resumes on W ranks or on one process with the global batch size.
 *   sampler_batch_size() is the per-rank batch_size. */

/* Defaults: random, batch 32, no drop_last, seed 0, no hold-out, no domain selection, equal
 * weights. Start every config from this: in a zeroed struct 0 is a domain id for holdout_domain
 * and only_domain (sampler_new rejects that combination, and batch size 0). */
sampler_config sampler_config_defaults(void);

/* A sampler over src (borrowed; its labels/domains arrays must outlive the sampler), starting at
 * state {0, 0}. NULL on error with a message in err: bad batch size, unknown domain, a domain
 * with no items for the balanced sampler, no eligible items, batch smaller than the number of
 * domains to balance, out-of-range domain ids in the source. */
sampler *sampler_new(const sampler_config *cfg, const ds_source *src, char *err, size_t errlen);
void sampler_free(sampler *s);                     /* NULL is fine */

int sampler_batch_size(const sampler *s);
int64_t sampler_num_items(const sampler *s);       /* eligible items (after hold-out) */
int64_t sampler_batches_per_epoch(const sampler *s);
/* Balanced: items of domain d per batch (0 for an excluded domain); others: -1. */
int sampler_quota(const sampler *s, int domain);
/* A hash of everything that determines the order (kind, seed, sizes, weights, eligible items):
 * store it with a checkpoint and compare on resume to refuse a changed data setup. */
uint64_t sampler_fingerprint(const sampler *s);

sampler_state sampler_get_state(const sampler *s);
/* Restore a saved state; -1 with a message if it is out of range for this sampler. */
int sampler_set_state(sampler *s, sampler_state st, char *err, size_t errlen);
/* The state that follows st (next batch, or batch 0 of the next epoch). */
sampler_state sampler_advance(const sampler *s, sampler_state st);

/* Write the dataset indices of batch st into idx (room for batch_size entries). Returns the
 * number written (1..batch_size), or -1 on error (out of memory, st out of range) with a message.
 * Does not change the sampler's state. */
int sampler_batch_at(sampler *s, sampler_state st, int64_t *idx, char *err, size_t errlen);
/* The batch at the current state, then advance. *st_out (may be NULL) receives the state of the
 * returned batch. Returns the count or -1 like sampler_batch_at. */
int sampler_next(sampler *s, int64_t *idx, sampler_state *st_out, char *err, size_t errlen);

#endif
