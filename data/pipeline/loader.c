/* loader.c - see loader.h: worker threads build whole batches (read, augment, collate) for
 * tickets taken in sampler order; a ring of `prefetch` slots holds them until the consumer takes
 * them, in ticket order. One mutex guards the sampler, the ticket counter and the slots. */
#include "pipeline/loader.h"
#include "base/err.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LD_ERRLEN 1024

/* Key tag of the augmentation streams (keeps them apart from the sampler's). */
enum { TAG_AUGMENT = 0x41554731 };

/* One batch to build: its sequence number, where it is in the data order, its indices. */
typedef struct {
    int64_t seq;
    sampler_state state, next;
    int n;
    int64_t *indices;        /* owned until handed to the batch */
    char err[LD_ERRLEN];     /* non-empty: the sampler failed */
} ticket;

/* A ring slot: the batch (or the error) of ticket seq, once ready. */
typedef struct {
    int ready;
    int64_t seq;
    ld_batch *batch;         /* NULL when err is set */
    char err[LD_ERRLEN];
} slot;

struct loader {
    const ds_source *src;
    sampler *smp;
    loader_config cfg;
    int batch_size;

    pthread_mutex_t mu;
    pthread_cond_t can_take;   /* a slot freed, or stop */
    pthread_cond_t ready;      /* a slot filled, the end reached, or stop */
    pthread_t *threads;
    int n_threads;             /* started */
    atomic_int stop;

    int prefetch;
    slot *slots;
    int64_t next_seq;          /* next ticket to hand out */
    int64_t consumed;          /* tickets taken by the consumer */
    int64_t end_seq;           /* the ticket number where max_epochs is reached, or -1 */
    int halted;                /* a batch failed: no new tickets */

    sampler_state state;       /* consumer side: the next batch to be returned */
    int failed;
    char fail_msg[LD_ERRLEN];
};

loader_config loader_config_defaults(void)
{
    loader_config c;
    memset(&c, 0, sizeof c);
    c.workers = 2;
    return c;
}

/* ---------------------------------------------------------------- batches */

void ld_batch_free(ld_batch *b)
{
    if (!b)
        return;
    if (b->collated && b->collate_free_)
        b->collate_free_(b->collate_ctx_, b->collated);
    if (b->samples) {
        for (int i = 0; i < b->n; i++)
            sample_free(&b->samples[i]);
        free(b->samples);
    }
    free(b->indices);
    free(b);
}

/* Read and augment item `index`, sample j of the ticket's batch, into *s. 0, or -1 with a message
 * (index, batch, what failed). */
static int build_sample(loader *l, const ticket *t, int j, int64_t index, sample *s, char *err,
                        size_t errlen)
{
    char why[LD_ERRLEN] = "";
    sample_init(s);
    if (l->src->read(l->src->ctx, index, s, why, sizeof why)) {
        err_fail(err, errlen, "loader: reading sample %lld (batch %lld of epoch %lld): %s",
                 (long long)index, (long long)t->state.batch, (long long)t->state.epoch,
                 why[0] ? why : "the source gave no reason");
        return -1;
    }
    s->index = index;
    if (!aug_config_active(&l->cfg.augment))
        return 0;
    prng r;
    const uint64_t keys[5] = {l->cfg.seed, TAG_AUGMENT, (uint64_t)t->state.epoch,
                              (uint64_t)t->state.batch, (uint64_t)j};
    prng_seed_keys(&r, keys, 5);
    if (aug_apply(&l->cfg.augment, s, &r, why, sizeof why)) {
        err_fail(err, errlen, "loader: augmenting sample %lld (batch %lld of epoch %lld): %s",
                 (long long)index, (long long)t->state.batch, (long long)t->state.epoch, why);
        return -1;
    }
    return 0;
}

/* Build the batch of ticket t (takes t->indices). NULL with a message on error or on stop. */
static ld_batch *build_batch(loader *l, ticket *t, char *err, size_t errlen)
{
    ld_batch *b = calloc(1, sizeof *b);
    sample *ss = calloc((size_t)t->n, sizeof *ss);
    if (!b || !ss) {
        free(b), free(ss);
        err_fail(err, errlen, "loader: out of memory for batch %lld of epoch %lld",
                 (long long)t->state.batch, (long long)t->state.epoch);
        return NULL;
    }
    b->state = t->state;
    b->next = t->next;
    b->indices = t->indices;
    t->indices = NULL;
    b->samples = ss;
    b->collate_free_ = l->cfg.collate_free;
    b->collate_ctx_ = l->cfg.collate_ctx;
    for (int j = 0; j < t->n; j++) {
        b->n = j + 1; /* sample j is initialised by build_sample, freed with the batch */
        if (atomic_load(&l->stop)) {
            err_fail(err, errlen, "loader: stopped");
            goto fail;
        }
        if (build_sample(l, t, j, b->indices[j], &ss[j], err, errlen))
            goto fail;
    }
    if (l->cfg.collate) {
        char why[LD_ERRLEN] = "";
        b->collated = l->cfg.collate(l->cfg.collate_ctx, ss, b->n, why, sizeof why);
        if (!b->collated) {
            err_fail(err, errlen, "loader: collating batch %lld of epoch %lld: %s",
                     (long long)t->state.batch, (long long)t->state.epoch,
                     why[0] ? why : "the collate gave no reason");
            goto fail;
        }
        if (!l->cfg.keep_samples) {
            for (int j = 0; j < b->n; j++)
                sample_free(&ss[j]);
            free(ss);
            b->samples = NULL;
        }
    }
    return b;
fail:
    ld_batch_free(b);
    return NULL;
}

/* ---------------------------------------------------------------- tickets (under the mutex) */

/* Hand out the next ticket: 1 with *t filled, 0 when the end (max_epochs) is reached. */
static int take_ticket(loader *l, ticket *t)
{
    sampler_state st = sampler_get_state(l->smp);
    if (l->cfg.max_epochs > 0 && st.epoch >= l->cfg.max_epochs) {
        if (l->end_seq < 0)
            l->end_seq = l->next_seq;
        return 0;
    }
    memset(t, 0, sizeof *t);
    t->seq = l->next_seq++;
    t->indices = malloc((size_t)l->batch_size * sizeof *t->indices);
    if (!t->indices) {
        err_fail(t->err, sizeof t->err, "loader: out of memory for batch indices");
        sampler_state nx = sampler_advance(l->smp, st);
        sampler_set_state(l->smp, nx, NULL, 0);
        t->state = st;
        t->next = nx;
        return 1;
    }
    t->n = sampler_next(l->smp, t->indices, &t->state, t->err, sizeof t->err);
    t->next = sampler_get_state(l->smp);
    return 1;
}

static void ticket_release(ticket *t)
{
    free(t->indices);
    t->indices = NULL;
}

/* Build ticket t outside the lock: the batch, or the error text in msg. */
static ld_batch *run_ticket(loader *l, ticket *t, char *msg, size_t msglen)
{
    ld_batch *b = NULL;
    if (t->err[0] || t->n < 1)
        err_fail(msg, msglen, "%s", t->err[0] ? t->err : "loader: the sampler gave an empty batch");
    else
        b = build_batch(l, t, msg, msglen);
    ticket_release(t);
    return b;
}

/* ---------------------------------------------------------------- workers */

static void *worker_main(void *arg)
{
    loader *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!atomic_load(&l->stop) && !l->halted && l->end_seq < 0 &&
               l->next_seq >= l->consumed + l->prefetch)
            pthread_cond_wait(&l->can_take, &l->mu);
        if (atomic_load(&l->stop) || l->halted || l->end_seq >= 0)
            break;
        ticket t;
        if (!take_ticket(l, &t)) {
            pthread_cond_broadcast(&l->ready); /* the consumer may be waiting for the end */
            break;
        }
        pthread_mutex_unlock(&l->mu);

        slot *sl = &l->slots[t.seq % l->prefetch];
        char msg[LD_ERRLEN] = "";
        ld_batch *b = run_ticket(l, &t, msg, sizeof msg);

        pthread_mutex_lock(&l->mu);
        sl->seq = t.seq;
        sl->batch = b;
        snprintf(sl->err, sizeof sl->err, "%s", b ? "" : msg);
        sl->ready = 1;
        if (!b)
            l->halted = 1;
        pthread_cond_broadcast(&l->ready);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* ---------------------------------------------------------------- the loader */

static void stop_workers(loader *l)
{
    pthread_mutex_lock(&l->mu);
    atomic_store(&l->stop, 1);
    pthread_cond_broadcast(&l->can_take);
    pthread_cond_broadcast(&l->ready);
    pthread_mutex_unlock(&l->mu);
    for (int i = 0; i < l->n_threads; i++)
        pthread_join(l->threads[i], NULL);
    l->n_threads = 0;
}

static int check_config(const ds_source *src, const sampler *smp, const loader_config *c,
                        char *err, size_t errlen)
{
    if (!src || !smp || !c) {
        err_fail(err, errlen, "loader: no source, sampler or config");
        return -1;
    }
    if (!src->read) {
        err_fail(err, errlen, "loader: the source has no read function");
        return -1;
    }
    if (c->workers < 0 || c->workers > 256 || c->prefetch < 0 || c->prefetch > 4096) {
        err_fail(err, errlen, "loader: workers must be in 0..256 and prefetch in 0..4096 "
                 "(got %d and %d)", c->workers, c->prefetch);
        return -1;
    }
    if (c->max_epochs < 0) {
        err_fail(err, errlen, "loader: max_epochs must be >= 0 (got %lld)",
                 (long long)c->max_epochs);
        return -1;
    }
    if (c->collate && !c->collate_free) {
        err_fail(err, errlen, "loader: a collate needs its free function");
        return -1;
    }
    char why[LD_ERRLEN];
    if (aug_config_check(&c->augment, why, sizeof why)) {
        err_fail(err, errlen, "loader: %s", why);
        return -1;
    }
    return 0;
}

loader *loader_new(const ds_source *src, sampler *smp, const loader_config *cfg, char *err,
                   size_t errlen)
{
    if (check_config(src, smp, cfg, err, errlen))
        return NULL;
    loader *l = calloc(1, sizeof *l);
    if (!l) {
        err_fail(err, errlen, "loader: out of memory");
        return NULL;
    }
    l->src = src;
    l->smp = smp;
    l->cfg = *cfg;
    l->batch_size = sampler_batch_size(smp);
    l->prefetch = cfg->prefetch > 0 ? cfg->prefetch : (2 * cfg->workers > 2 ? 2 * cfg->workers : 2);
    l->end_seq = -1;
    l->state = sampler_get_state(smp);
    atomic_init(&l->stop, 0);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->can_take, NULL);
    pthread_cond_init(&l->ready, NULL);
    l->slots = calloc((size_t)l->prefetch, sizeof *l->slots);
    l->threads = calloc((size_t)(cfg->workers > 0 ? cfg->workers : 1), sizeof *l->threads);
    if (!l->slots || !l->threads) {
        err_fail(err, errlen, "loader: out of memory");
        loader_free(l);
        return NULL;
    }
    for (int i = 0; i < cfg->workers; i++) {
        int rc = pthread_create(&l->threads[i], NULL, worker_main, l);
        if (rc) {
            err_fail(err, errlen, "loader: cannot start worker thread %d of %d: %s", i + 1,
                     cfg->workers, strerror(rc));
            loader_free(l);
            return NULL;
        }
        l->n_threads++;
    }
    return l;
}

/* Without workers: take the ticket and build the batch here. */
static ld_batch *next_inline(loader *l, int *end, char *msg, size_t msglen)
{
    ticket t;
    if (!take_ticket(l, &t)) {
        *end = 1;
        return NULL;
    }
    return run_ticket(l, &t, msg, msglen);
}

/* With workers: wait for the slot of ticket `consumed`, or the end. */
static ld_batch *next_from_workers(loader *l, int *end, char *msg, size_t msglen)
{
    pthread_mutex_lock(&l->mu);
    slot *sl = &l->slots[l->consumed % l->prefetch];
    while (!(sl->ready && sl->seq == l->consumed)) {
        if (l->end_seq >= 0 && l->consumed >= l->end_seq) {
            pthread_mutex_unlock(&l->mu);
            *end = 1;
            return NULL;
        }
        pthread_cond_wait(&l->ready, &l->mu);
    }
    ld_batch *b = sl->batch;
    if (!b)
        snprintf(msg, msglen, "%s", sl->err);
    sl->batch = NULL;
    sl->ready = 0;
    l->consumed++;
    pthread_cond_broadcast(&l->can_take);
    pthread_mutex_unlock(&l->mu);
    return b;
}

int loader_next(loader *l, ld_batch **out, char *err, size_t errlen)
{
    *out = NULL;
    if (l->failed) {
        err_fail(err, errlen, "%s", l->fail_msg);
        return LOADER_ERROR;
    }
    int end = 0;
    char msg[LD_ERRLEN] = "";
    ld_batch *b = l->cfg.workers > 0 ? next_from_workers(l, &end, msg, sizeof msg)
                                     : next_inline(l, &end, msg, sizeof msg);
    if (end)
        return LOADER_END;
    if (!b) {
        l->failed = 1;
        snprintf(l->fail_msg, sizeof l->fail_msg, "%s", msg[0] ? msg : "loader: unknown failure");
        err_fail(err, errlen, "%s", l->fail_msg);
        return LOADER_ERROR;
    }
    l->state = b->next;
    *out = b;
    return LOADER_OK;
}

sampler_state loader_state(const loader *l)
{
    return l->state;
}

void loader_free(loader *l)
{
    if (!l)
        return;
    stop_workers(l);
    for (int i = 0; l->slots && i < l->prefetch; i++)
        ld_batch_free(l->slots[i].batch);
    sampler_set_state(l->smp, l->state, NULL, 0);
    pthread_cond_destroy(&l->ready);
    pthread_cond_destroy(&l->can_take);
    pthread_mutex_destroy(&l->mu);
    free(l->slots);
    free(l->threads);
    free(l);
}
