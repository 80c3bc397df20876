/*
 * loader.h - batches for the trainer: worker threads read samples from a ds_source, augment them
 * and collate them, into a bounded queue of ready batches consumed in sampler order.
 *
 * Owns: the worker threads (pthreads) and the prefetch queue, the per-sample random streams of
 * the augmentations, the propagation of read/augment/collate errors to the consumer, the clean
 * shutdown, and the sampler state of the next batch to be consumed (for checkpoints).
 *
 * DETERMINISM
 *   Batch (epoch e, batch k) holds the sampler's indices for (e, k), in that order; sample j of
 *   it is augmented with a generator seeded from (seed, e, k, j). Each worker builds whole
 *   batches and the consumer takes them in sequence, so the batches are bitwise identical
 *   whatever the number of workers (0, 1, 2, ...) and whatever the thread timing.
 *
 * ERRORS
 *   A failure while building a batch (a source read, an augmentation, the collate) is delivered
 *   to the consumer by loader_next() in place of that batch, as a message naming the dataset
 *   index, the batch and epoch, and what failed. Errors are sticky: every later call returns the
 *   same error. Workers stop taking new batches after an error. Nothing crashes or hangs.
 *
 * RESUME
 *   loader_state() is the sampler state of the NEXT batch loader_next() will return: save it in
 *   a checkpoint written after a step, restore it with sampler_set_state() before loader_new(),
 *   and the resumed loader yields exactly the batches the uninterrupted run would have.
 *
 * SHUTDOWN
 *   loader_free() may be called at any time (mid-epoch, with batches in flight): it stops the
 *   workers (they notice between two samples), joins them, frees every batch not handed out, and
 *   sets the sampler's state back to loader_state() so the sampler is consistent afterwards.
 *
 * Threads: one consumer thread calls loader_next/loader_state/loader_free; the source's read()
 * must be thread-safe; the sampler is borrowed and must not be used by anyone else while the
 * loader lives.
 */
#ifndef PICTOR_DATA_LOADER_H
#define PICTOR_DATA_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/augment.h"
#include "pipeline/sample.h"
#include "pipeline/sampler.h"
#include "pipeline/source.h"

/* A collate runs in the worker that built the batch; returns its result, or NULL with a message
 * in err. The free function releases a result (ctx is collate_ctx). See data/collate.h for the
 * image/label/mask collate (collate_for_loader, collate_free_for_loader). */
typedef void *(*ld_collate_fn)(void *ctx, const sample *samples, int n, char *err, size_t errlen);
typedef void (*ld_collate_free_fn)(void *ctx, void *collated);

typedef struct {
    int workers;           /* worker threads; 0 = build each batch inside loader_next() */
    int prefetch;          /* batches built ahead of the consumer; 0 = 2 * workers (at least 2) */
    uint64_t seed;         /* augmentation seed (independent of the sampler's seed) */
    aug_config augment;    /* copied; a zeroed aug_config = no augmentation */
    int64_t max_epochs;    /* loader_next returns LOADER_END when epoch max_epochs would start;
                            * 0 = endless */
    ld_collate_fn collate; /* NULL = batches carry samples only */
    ld_collate_free_fn collate_free;
    void *collate_ctx;     /* borrowed; must outlive the loader (and every batch) */
    int keep_samples;      /* with a collate: also keep the augmented samples in the batch */
} loader_config;

typedef struct {
    sampler_state state;   /* which batch this is */
    sampler_state next;    /* the batch after it: the resume point once this one is consumed */
    int n;                 /* samples in the batch */
    int64_t *indices;      /* n dataset indices, in sampler order */
    sample *samples;       /* n augmented samples, or NULL (collated and not kept) */
    void *collated;        /* collate result, or NULL */
    /* private */
    ld_collate_free_fn collate_free_;
    void *collate_ctx_;
} ld_batch;

typedef struct loader loader;

enum { LOADER_ERROR = -1, LOADER_OK = 0, LOADER_END = 1 };

/* Defaults: 2 workers, prefetch 0 (auto), seed 0, no augmentation, endless, no collate. */
loader_config loader_config_defaults(void);

/* Starts the workers at the sampler's current state. src and smp are borrowed. NULL on error
 * (bad config, no read function, thread creation failed) with a message in err. */
loader *loader_new(const ds_source *src, sampler *smp, const loader_config *cfg, char *err,
                   size_t errlen);
/* The next batch in sampler order: LOADER_OK with *out (free it with ld_batch_free), LOADER_END
 * after the last batch of epoch max_epochs - 1, LOADER_ERROR with a message in err. */
int loader_next(loader *l, ld_batch **out, char *err, size_t errlen);
/* The state of the next batch loader_next() will return. */
sampler_state loader_state(const loader *l);
/* Stop, join, free (see SHUTDOWN). NULL is fine. */
void loader_free(loader *l);

void ld_batch_free(ld_batch *b); /* NULL is fine */

#endif
