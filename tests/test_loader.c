/* test_loader.c - Criterion tests for data/loader.c and data/collate.c.
 *
 * Owns: an in-memory ds_source (deterministic pixels from the index, optional slow reads, a
 * failing index, varying sizes), and the loader's promises: bitwise-identical batches for 0, 1, 2
 * and 4 workers; batches in sampler order with the right states and an end after max_epochs;
 * read/augment/collate errors delivered with the index and the cause (sticky, no hang); a clean
 * stop mid-epoch; resume from loader_state() matching the uninterrupted run; balanced batches
 * through the loader; and the collate's tensors (shapes, normalisation, masks, errors).
 */
#include <criterion/criterion.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/collate.h"
#include "helpers.h"
#include "pipeline/loader.h"

/* ---------------------------------------------------------------- the in-memory source */

#define MAX_ITEMS 512

typedef struct {
    int h, w, c;
    int vary_size;          /* odd items are one row taller */
    int64_t fail_index;     /* read() fails on this index; -1 = never */
    int delay_us;           /* each read sleeps this long */
    atomic_long reads;
    int32_t labels[MAX_ITEMS];
    int32_t domains[MAX_ITEMS];
} mem_source;

static uint8_t pixel_of(int64_t index, size_t p)
{
    return (uint8_t)((index * 31 + (int64_t)p * 7 + (int64_t)(p * p % 13)) % 256);
}

static int mem_read(void *ctx, int64_t index, sample *out, char *err, size_t errlen)
{
    mem_source *m = ctx;
    atomic_fetch_add(&m->reads, 1);
    if (m->delay_us > 0) {
        struct timespec ts = {0, (long)m->delay_us * 1000L};
        nanosleep(&ts, NULL);
    }
    if (index == m->fail_index) {
        snprintf(err, errlen, "corrupt PNG (bad CRC in IDAT)");
        return -1;
    }
    out->h = m->h + (m->vary_size && (index % 2));
    out->w = m->w;
    out->c = m->c;
    size_t hw = (size_t)out->h * (size_t)out->w;
    out->image = malloc(hw * (size_t)m->c);
    out->mask = malloc(hw);
    if (!out->image || !out->mask) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t p = 0; p < hw * (size_t)m->c; p++)
        out->image[p] = pixel_of(index, p);
    for (size_t p = 0; p < hw; p++)
        out->mask[p] = out->image[p * (size_t)m->c] > 127;
    out->label = m->labels[index];
    out->domain = m->domains[index];
    return 0;
}

static ds_source mem_new(mem_source *m, int64_t n, int h, int w, int c)
{
    memset(m, 0, sizeof *m);
    m->h = h, m->w = w, m->c = c;
    m->fail_index = -1;
    atomic_init(&m->reads, 0);
    for (int64_t i = 0; i < n; i++) {
        m->labels[i] = (int32_t)(i % 10);
        m->domains[i] = (int32_t)(i % 3);
    }
    ds_source s = {0};
    s.ctx = m;
    s.count = n;
    s.read = mem_read;
    s.labels = m->labels;
    s.domains = m->domains;
    s.n_domains = 3;
    return s;
}

/* ---------------------------------------------------------------- helpers */

static char g_err[1024];

static sampler *new_sampler(const ds_source *src, sampler_kind kind, int batch, uint64_t seed)
{
    sampler_config c = sampler_config_defaults();
    c.kind = kind;
    c.batch_size = batch;
    c.seed = seed;
    sampler *s = sampler_new(&c, src, g_err, sizeof g_err);
    cr_assert_not_null(s, "%s", g_err);
    return s;
}

static loader *new_loader(const ds_source *src, sampler *smp, const loader_config *c)
{
    loader *l = loader_new(src, smp, c, g_err, sizeof g_err);
    cr_assert_not_null(l, "%s", g_err);
    return l;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A growing byte record of everything a run delivered. */
typedef struct {
    uint8_t *p;
    size_t n, cap;
} bytes;

static void put(bytes *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
        cr_assert_not_null(b->p);
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put_tensor(bytes *b, const pt_tensor *t)
{
    cr_assert_not_null(t);
    put(b, pt_data_ptr(t), (size_t)pt_numel(t) * pt_dtype_size(pt_dtype_of(t)));
}

/* Records one batch: its state, indices and collated tensors. */
static void put_batch(bytes *b, const ld_batch *batch)
{
    put(b, &batch->state, sizeof batch->state);
    put(b, batch->indices, (size_t)batch->n * sizeof *batch->indices);
    const collated_batch *cb = batch->collated;
    put_tensor(b, cb->images);
    put_tensor(b, cb->labels);
    put_tensor(b, cb->domains);
    put_tensor(b, cb->masks);
}

static aug_config typical_augment(void)
{
    aug_config a;
    memset(&a, 0, sizeof a);
    a.rot90_prob = 0.5f;
    a.hflip_prob = 0.5f;
    a.crop_scale_min = 0.6f, a.crop_scale_max = 1.0f;
    a.resize_h = 24, a.resize_w = 24;
    a.blur_prob = 0.3f, a.blur_sigma_min = 0.5f, a.blur_sigma_max = 1.0f;
    a.jitter_prob = 0.8f, a.brightness = 0.3f, a.contrast = 0.3f;
    return a;
}

static collate_config g_collate = {.norm = NORM_UNIT, .std = {1, 1, 1}, .mask = COLLATE_MASK_FLOAT};

static loader_config collating_config(int workers)
{
    loader_config c = loader_config_defaults();
    c.workers = workers;
    c.seed = 1234;
    c.augment = typical_augment();
    c.collate = collate_for_loader;
    c.collate_free = collate_free_for_loader;
    c.collate_ctx = &g_collate;
    return c;
}

TestSuite(loader, .init = tst_setup);

/* ---------------------------------------------------------------- determinism */

/* Every batch of `epochs` epochs, recorded. */
static bytes run_all(const ds_source *src, int workers, int epochs)
{
    sampler *smp = new_sampler(src, SAMPLER_RANDOM, 16, 77);
    loader_config c = collating_config(workers);
    c.max_epochs = epochs;
    loader *l = new_loader(src, smp, &c);
    bytes rec = {0};
    ld_batch *b;
    int rc, count = 0;
    while ((rc = loader_next(l, &b, g_err, sizeof g_err)) == LOADER_OK) {
        put_batch(&rec, b);
        ld_batch_free(b);
        count++;
    }
    cr_assert_eq(rc, LOADER_END, "%s", g_err);
    cr_assert_eq(count, epochs * sampler_batches_per_epoch(smp));
    loader_free(l);
    sampler_free(smp);
    return rec;
}

Test(loader, same_batches_whatever_the_worker_count)
{
    mem_source m;
    ds_source src = mem_new(&m, 150, 28, 28, 1);
    bytes ref = run_all(&src, 0, 2);
    cr_assert_gt(ref.n, 0);
    const int workers[3] = {1, 2, 4};
    for (int i = 0; i < 3; i++) {
        bytes got = run_all(&src, workers[i], 2);
        cr_assert_eq(got.n, ref.n);
        cr_assert_eq(memcmp(got.p, ref.p, ref.n), 0, "%d workers differ from 0 workers",
                     workers[i]);
        free(got.p);
    }
    free(ref.p);
    cr_assert_eq(pt_live_tensors(), 0, "tensors leaked");
}

Test(loader, batches_follow_the_sampler_and_end)
{
    mem_source m;
    ds_source src = mem_new(&m, 30, 4, 5, 3);
    sampler *smp = new_sampler(&src, SAMPLER_SEQUENTIAL, 7, 0);
    sampler *ref = new_sampler(&src, SAMPLER_SEQUENTIAL, 7, 0);
    loader_config c = loader_config_defaults();
    c.workers = 2;
    c.max_epochs = 2;
    loader *l = new_loader(&src, smp, &c);
    sampler_state want = {0, 0};
    for (int k = 0; k < 10; k++) {
        ld_batch *b;
        cr_assert_eq(loader_next(l, &b, g_err, sizeof g_err), LOADER_OK, "%s", g_err);
        cr_assert(b->state.epoch == want.epoch && b->state.batch == want.batch);
        want = sampler_advance(ref, want);
        cr_assert(b->next.epoch == want.epoch && b->next.batch == want.batch);
        sampler_state now = loader_state(l);
        cr_assert(now.epoch == want.epoch && now.batch == want.batch);
        int64_t idx[7];
        int n = sampler_batch_at(ref, b->state, idx, NULL, 0);
        cr_assert_eq(b->n, n);
        cr_assert_eq(memcmp(b->indices, idx, (size_t)n * sizeof *idx), 0);
        cr_assert_null(b->collated);
        for (int j = 0; j < n; j++) {
            const sample *s = &b->samples[j];
            cr_assert_eq(s->index, idx[j]);
            cr_assert(s->h == 4 && s->w == 5 && s->c == 3);
            cr_assert_eq(s->image[17], pixel_of(idx[j], 17));
            cr_assert_eq(s->label, idx[j] % 10);
        }
        ld_batch_free(b);
    }
    ld_batch *b;
    cr_assert_eq(loader_next(l, &b, g_err, sizeof g_err), LOADER_END);
    cr_assert_eq(loader_next(l, &b, g_err, sizeof g_err), LOADER_END);
    cr_assert_null(b);
    loader_free(l);
    sampler_free(smp);
    sampler_free(ref);
}

/* ---------------------------------------------------------------- errors */

/* Batches delivered before the error; checks the message and that it is sticky. */
static void check_read_error(int workers)
{
    mem_source m;
    ds_source src = mem_new(&m, 100, 6, 6, 1);
    m.fail_index = 37;
    sampler *smp = new_sampler(&src, SAMPLER_RANDOM, 8, 5);
    /* Which batch of epoch 0 holds item 37? */
    int64_t failing = -1, idx[8];
    for (int64_t k = 0; k < sampler_batches_per_epoch(smp) && failing < 0; k++) {
        int n = sampler_batch_at(smp, (sampler_state){0, k}, idx, NULL, 0);
        for (int j = 0; j < n; j++)
            if (idx[j] == 37)
                failing = k;
    }
    loader_config c = loader_config_defaults();
    c.workers = workers;
    loader *l = new_loader(&src, smp, &c);
    ld_batch *b;
    int rc, delivered = 0;
    while ((rc = loader_next(l, &b, g_err, sizeof g_err)) == LOADER_OK) {
        ld_batch_free(b);
        delivered++;
        cr_assert_leq(delivered, 13, "the error never came");
    }
    cr_assert_eq(rc, LOADER_ERROR);
    cr_assert_eq(delivered, failing, "%d workers: %d batches before the error, want %lld",
                 workers, delivered, (long long)failing);
    cr_assert(strstr(g_err, "sample 37"), "%s", g_err);
    char want_where[64];
    snprintf(want_where, sizeof want_where, "batch %lld of epoch 0", (long long)failing);
    cr_assert(strstr(g_err, want_where), "%s", g_err);
    cr_assert(strstr(g_err, "corrupt PNG (bad CRC in IDAT)"), "%s", g_err);
    char again[1024] = "";
    cr_assert_eq(loader_next(l, &b, again, sizeof again), LOADER_ERROR);
    cr_assert_str_eq(again, g_err);
    sampler_state st = loader_state(l);
    cr_assert(st.epoch == 0 && st.batch == failing, "the failed batch is the resume point");
    loader_free(l);
    sampler_free(smp);
}

Test(loader, read_error_names_the_index)
{
    check_read_error(0);
    check_read_error(1);
    check_read_error(2);
    check_read_error(4);
}

Test(loader, augment_and_collate_errors_are_delivered)
{
    mem_source m;
    ds_source src = mem_new(&m, 20, 28, 28, 1);
    sampler *smp = new_sampler(&src, SAMPLER_SEQUENTIAL, 4, 0);
    loader_config c = loader_config_defaults();
    c.augment.crop_h = 40, c.augment.crop_w = 40;
    loader *l = new_loader(&src, smp, &c);
    ld_batch *b;
    cr_assert_eq(loader_next(l, &b, g_err, sizeof g_err), LOADER_ERROR);
    cr_assert(strstr(g_err, "augmenting sample 0") && strstr(g_err, "40x40") &&
              strstr(g_err, "28x28"), "%s", g_err);
    loader_free(l);

    m.vary_size = 1;
    c = loader_config_defaults();
    c.collate = collate_for_loader;
    c.collate_free = collate_free_for_loader;
    c.collate_ctx = &g_collate;
    l = new_loader(&src, smp, &c);
    cr_assert_eq(loader_next(l, &b, g_err, sizeof g_err), LOADER_ERROR);
    cr_assert(strstr(g_err, "collating batch 0 of epoch 0") && strstr(g_err, "index 1") &&
              strstr(g_err, "29x28x1") && strstr(g_err, "28x28x1"), "%s", g_err);
    loader_free(l);

    c.collate_free = NULL; /* a config error, refused at creation */
    cr_assert_null(loader_new(&src, smp, &c, g_err, sizeof g_err));
    cr_assert(strstr(g_err, "free function"), "%s", g_err);
    c = loader_config_defaults();
    c.augment.hflip_prob = 2;
    cr_assert_null(loader_new(&src, smp, &c, g_err, sizeof g_err));
    cr_assert(strstr(g_err, "hflip"), "%s", g_err);
    sampler_free(smp);
}

/* ---------------------------------------------------------------- shutdown and resume */

Test(loader, stops_cleanly_mid_epoch)
{
    mem_source m;
    ds_source src = mem_new(&m, 400, 8, 8, 1);
    m.delay_us = 2000;
    sampler *smp = new_sampler(&src, SAMPLER_RANDOM, 16, 3);
    loader_config c = collating_config(4);
    c.augment = (aug_config){0};
    c.prefetch = 8;
    /* Freed right away, with every worker mid-batch. */
    loader *l = new_loader(&src, smp, &c);
    double t0 = now_s();
    loader_free(l);
    cr_assert_lt(now_s() - t0, 0.5, "stopping took %.3f s", now_s() - t0);
    sampler_state st = sampler_get_state(smp);
    cr_assert(st.epoch == 0 && st.batch == 0, "nothing consumed, the sampler is back at 0");

    /* Freed after two batches, with the prefetch queue full. */
    l = new_loader(&src, smp, &c);
    ld_batch *b;
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(loader_next(l, &b, g_err, sizeof g_err), LOADER_OK, "%s", g_err);
        ld_batch_free(b);
    }
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL); /* let the workers fill the queue */
    t0 = now_s();
    loader_free(l);
    cr_assert_lt(now_s() - t0, 0.5, "stopping took %.3f s", now_s() - t0);
    st = sampler_get_state(smp);
    cr_assert(st.epoch == 0 && st.batch == 2, "after free, the sampler is at the next batch");
    cr_assert_lt(atomic_load(&m.reads), 400, "the workers must not read the whole epoch");
    cr_assert_eq(pt_live_tensors(), 0, "tensors of unconsumed batches leaked");
    sampler_free(smp);
}

Test(loader, resume_matches_the_uninterrupted_run)
{
    mem_source m;
    ds_source src = mem_new(&m, 90, 28, 28, 1);
    const int total = 14, cut = 5; /* 6 batches per epoch: the cut and the end cross epochs */
    bytes full = {0}, resumed = {0};
    size_t at_cut = 0;
    {
        sampler *smp = new_sampler(&src, SAMPLER_RANDOM, 16, 21);
        loader *l = new_loader(&src, smp, &(loader_config){0});
        loader_free(l); /* a loader with no workers, freed unused, changes nothing */
        loader_config c = collating_config(2);
        l = new_loader(&src, smp, &c);
        for (int k = 0; k < total; k++) {
            ld_batch *b;
            cr_assert_eq(loader_next(l, &b, g_err, sizeof g_err), LOADER_OK, "%s", g_err);
            put_batch(&full, b);
            ld_batch_free(b);
            if (k == cut - 1)
                at_cut = full.n;
        }
        loader_free(l);
        sampler_free(smp);
    }
    /* Run 2: stop after `cut` batches, save the state as a checkpoint would. */
    sampler_state saved;
    {
        sampler *smp = new_sampler(&src, SAMPLER_RANDOM, 16, 21);
        loader_config c = collating_config(4);
        loader *l = new_loader(&src, smp, &c);
        for (int k = 0; k < cut; k++) {
            ld_batch *b;
            cr_assert_eq(loader_next(l, &b, g_err, sizeof g_err), LOADER_OK, "%s", g_err);
            ld_batch_free(b);
        }
        saved = loader_state(l);
        loader_free(l);
        sampler_free(smp);
    }
    cr_assert(saved.epoch == 0 && saved.batch == cut);
    /* Run 3: a new process restores the state. */
    {
        sampler *smp = new_sampler(&src, SAMPLER_RANDOM, 16, 21);
        cr_assert_eq(sampler_set_state(smp, saved, g_err, sizeof g_err), 0, "%s", g_err);
        loader_config c = collating_config(1);
        loader *l = new_loader(&src, smp, &c);
        for (int k = cut; k < total; k++) {
            ld_batch *b;
            cr_assert_eq(loader_next(l, &b, g_err, sizeof g_err), LOADER_OK, "%s", g_err);
            put_batch(&resumed, b);
            ld_batch_free(b);
        }
        loader_free(l);
        sampler_free(smp);
    }
    cr_assert_eq(resumed.n, full.n - at_cut);
    cr_assert_eq(memcmp(resumed.p, full.p + at_cut, resumed.n), 0,
                 "the resumed batches differ from the uninterrupted run");
    free(full.p);
    free(resumed.p);
}

Test(loader, balanced_batches_through_the_loader)
{
    mem_source m;
    ds_source src = mem_new(&m, 60, 6, 6, 1);
    for (int i = 0; i < 60; i++) /* unequal domains: 40, 15, 5 */
        m.domains[i] = i < 40 ? 0 : i < 55 ? 1 : 2;
    sampler *smp = new_sampler(&src, SAMPLER_BALANCED, 9, 8);
    loader_config c = collating_config(2);
    c.augment = (aug_config){0};
    c.keep_samples = 1;
    c.max_epochs = 3;
    loader *l = new_loader(&src, smp, &c);
    ld_batch *b;
    int batches = 0;
    while (loader_next(l, &b, g_err, sizeof g_err) == LOADER_OK) {
        int per[3] = {0};
        const collated_batch *cb = b->collated;
        for (int j = 0; j < b->n; j++) {
            per[b->samples[j].domain]++;
            cr_assert_eq(tst_at(cb->domains, j), b->samples[j].domain);
        }
        cr_assert(per[0] == 3 && per[1] == 3 && per[2] == 3, "batch %d: %d %d %d", batches,
                  per[0], per[1], per[2]);
        ld_batch_free(b);
        batches++;
    }
    cr_assert_eq(batches, 3 * 7);
    loader_free(l);
    sampler_free(smp);
}

/* ---------------------------------------------------------------- collate */

static sample tiny(int64_t index, int h, int w, int c, uint8_t base, int with_mask)
{
    sample s;
    sample_init(&s);
    s.index = index;
    s.h = h, s.w = w, s.c = c;
    s.image = malloc((size_t)(h * w * c));
    for (int i = 0; i < h * w * c; i++)
        s.image[i] = (uint8_t)(base + i);
    if (with_mask) {
        s.mask = malloc((size_t)(h * w));
        for (int i = 0; i < h * w; i++)
            s.mask[i] = (uint8_t)(i % 3);
    }
    s.label = (int32_t)index;
    s.domain = (int32_t)(index % 2);
    return s;
}

Test(loader, collate_shapes_normalisation_and_masks)
{
    sample ss[2] = {tiny(4, 2, 3, 3, 0, 1), tiny(7, 2, 3, 3, 100, 1)};
    collate_config cfg = {.norm = NORM_UNIT, .std = {1, 1, 1}, .mask = COLLATE_MASK_FLOAT};
    collated_batch cb;
    cr_assert_eq(collate_samples(&cfg, ss, 2, &cb, g_err, sizeof g_err), 0, "%s", g_err);
    int64_t shape[4];
    cr_assert_eq(pt_shape(cb.images, shape, 4), 4);
    cr_assert(shape[0] == 2 && shape[1] == 3 && shape[2] == 2 && shape[3] == 3);
    cr_assert_eq(pt_dtype_of(cb.images), PT_F32);
    /* images[b, ch, i, j] = image[(i*w + j)*c + ch] / 255 */
    for (int b = 0; b < 2; b++)
        for (int ch = 0; ch < 3; ch++)
            for (int p = 0; p < 6; p++)
                cr_assert_float_eq(tst_at(cb.images, ((b * 3 + ch) * 6) + p),
                                   ss[b].image[p * 3 + ch] / 255.0, 1e-7);
    cr_assert_eq(pt_dtype_of(cb.labels), PT_I64);
    cr_assert(tst_at(cb.labels, 0) == 4 && tst_at(cb.labels, 1) == 7);
    cr_assert(tst_at(cb.domains, 0) == 0 && tst_at(cb.domains, 1) == 1);
    cr_assert_eq(pt_shape(cb.masks, shape, 4), 4);
    cr_assert(shape[0] == 2 && shape[1] == 1 && shape[2] == 2 && shape[3] == 3);
    cr_assert_eq(pt_dtype_of(cb.masks), PT_F32);
    cr_assert_eq(tst_at(cb.masks, 6 + 2), 2.0);
    collated_batch_free(&cb);

    cfg.norm = NORM_SYMMETRIC;
    cfg.mask = COLLATE_MASK_INT64;
    cr_assert_eq(collate_samples(&cfg, ss, 2, &cb, g_err, sizeof g_err), 0, "%s", g_err);
    cr_assert_float_eq(tst_at(cb.images, 0), -1.0, 1e-7);                      /* 0 */
    cr_assert_float_eq(tst_at(cb.images, 6 * 3 + 1), (103 - 127.5) / 127.5, 1e-6); /* b1 ch0 p1 */
    cr_assert_eq(pt_dtype_of(cb.masks), PT_I64);
    cr_assert_eq(tst_at(cb.masks, 4), 1.0);
    collated_batch_free(&cb);

    cfg = (collate_config){.norm = NORM_MEAN_STD, .mean = {0.5f, 0.4f, 0.3f}, .std = {0.2f, 0.25f, 0.5f}};
    cr_assert_eq(collate_samples(&cfg, ss, 2, &cb, g_err, sizeof g_err), 0, "%s", g_err);
    cr_assert_null(cb.masks);
    cr_assert_float_eq(tst_at(cb.images, 6 * 2 + 1), (5 / 255.0 - 0.3) / 0.5, 1e-6); /* ch2 p1 = byte 5 */
    collated_batch_free(&cb);
    cr_assert_eq(pt_live_tensors(), 0);
    sample_free(&ss[0]);
    sample_free(&ss[1]);
}

Test(loader, collate_errors_name_the_sample)
{
    sample ss[3] = {tiny(4, 2, 3, 1, 0, 1), tiny(9, 2, 3, 1, 0, 0), tiny(11, 3, 3, 1, 0, 1)};
    collate_config cfg = {.norm = NORM_UNIT, .std = {1, 1, 1}, .mask = COLLATE_MASK_FLOAT};
    collated_batch cb;
    cr_assert_eq(collate_samples(&cfg, ss, 2, &cb, g_err, sizeof g_err), -1);
    cr_assert(strstr(g_err, "sample 1 (index 9) has no mask"), "%s", g_err);
    cr_assert_null(cb.images);
    cfg.mask = COLLATE_MASK_NONE;
    cr_assert_eq(collate_samples(&cfg, ss, 3, &cb, g_err, sizeof g_err), -1);
    cr_assert(strstr(g_err, "sample 2 (index 11) is 3x3x1 but sample 0 (index 4) is 2x3x1"),
              "%s", g_err);
    cr_assert_eq(collate_samples(&cfg, ss, 0, &cb, g_err, sizeof g_err), -1);
    cr_assert_eq(pt_live_tensors(), 0);
    for (int i = 0; i < 3; i++)
        sample_free(&ss[i]);
}
