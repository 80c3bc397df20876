/* test_sampler.c - Criterion tests for data/sampler.c.
 *
 * Owns: permutation coverage per epoch, sequential order and drop_last, balanced batches (every
 * domain in its quota, per-domain cycles cover every item), save/restore of the state reproducing
 * the remaining batches exactly, domain hold-out and selection, fingerprints, and the errors.
 * Needs no shim: sources here have labels/domains arrays only (samplers never read images).
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "pipeline/sampler.h"

#define MAX_N 512

static int32_t g_domains[MAX_N];

/* A source of n items whose domain is given by the sizes of consecutive domain blocks, interleaved
 * (item i is of domain i % k while every domain still has items, so indices mix). */
static ds_source make_source(int64_t n, const int *sizes, int k)
{
    int left[8] = {0};
    for (int d = 0; d < k; d++)
        left[d] = sizes[d];
    int64_t i = 0;
    for (int round = 0; i < n; round++) {
        for (int d = 0; d < k && i < n; d++) {
            if (left[d] > 0) {
                g_domains[i++] = d;
                left[d]--;
            }
        }
    }
    ds_source s = {0};
    s.count = n;
    s.domains = k > 0 ? g_domains : NULL;
    s.n_domains = k;
    return s;
}

static ds_source plain_source(int64_t n)
{
    ds_source s = {0};
    s.count = n;
    return s;
}

static sampler *must_new(const sampler_config *c, const ds_source *src)
{
    char err[512] = "";
    sampler *s = sampler_new(c, src, err, sizeof err);
    cr_assert_not_null(s, "sampler_new failed: %s", err);
    return s;
}

static void expect_error(const sampler_config *c, const ds_source *src, const char *needle)
{
    char err[512] = "";
    sampler *s = sampler_new(c, src, err, sizeof err);
    cr_assert_null(s, "expected an error containing '%s'", needle);
    cr_assert(strstr(err, needle), "error '%s' does not contain '%s'", err, needle);
}

/* Runs one epoch from the current state; counts[i] += occurrences; returns the number of items. */
static int64_t run_epoch(sampler *s, int *counts, int *batch_sizes)
{
    int64_t total = 0, idx[MAX_N];
    for (int64_t b = 0; b < sampler_batches_per_epoch(s); b++) {
        sampler_state st;
        int n = sampler_next(s, idx, &st, NULL, 0);
        cr_assert_gt(n, 0);
        cr_assert_eq(st.batch, b);
        if (batch_sizes)
            batch_sizes[b] = n;
        for (int j = 0; j < n; j++)
            counts[idx[j]]++;
        total += n;
    }
    return total;
}

TestSuite(sampler);

Test(sampler, random_permutation_covers_every_index_once_per_epoch)
{
    ds_source src = plain_source(103);
    sampler_config c = sampler_config_defaults();
    c.batch_size = 10;
    c.seed = 7;
    sampler *s = must_new(&c, &src);
    cr_assert_eq(sampler_batches_per_epoch(s), 11);
    int64_t first[2][10];
    for (int e = 0; e < 3; e++) {
        int counts[MAX_N] = {0}, sizes[16] = {0};
        cr_assert_eq(run_epoch(s, counts, sizes), 103);
        for (int i = 0; i < 103; i++)
            cr_assert_eq(counts[i], 1, "epoch %d: index %d seen %d times", e, i, counts[i]);
        cr_assert_eq(sizes[10], 3, "the last batch holds the 3 left over");
        if (e < 2) /* remember the first batch of epochs 0 and 1 */
            sampler_batch_at(s, (sampler_state){e, 0}, first[e], NULL, 0);
    }
    cr_assert_neq(memcmp(first[0], first[1], sizeof first[0]), 0, "epochs must differ");
    int64_t seq[10];
    for (int j = 0; j < 10; j++)
        seq[j] = j;
    cr_assert_neq(memcmp(first[0], seq, sizeof seq), 0, "random must not be sequential");
    sampler_free(s);
}

Test(sampler, same_seed_same_order_other_seed_other_order)
{
    ds_source src = plain_source(50);
    sampler_config c = sampler_config_defaults();
    c.batch_size = 50;
    c.seed = 3;
    sampler *a = must_new(&c, &src), *b = must_new(&c, &src);
    c.seed = 4;
    sampler *o = must_new(&c, &src);
    int64_t ia[50], ib[50], io[50];
    cr_assert_eq(sampler_next(a, ia, NULL, NULL, 0), 50);
    cr_assert_eq(sampler_next(b, ib, NULL, NULL, 0), 50);
    cr_assert_eq(sampler_next(o, io, NULL, NULL, 0), 50);
    cr_assert_eq(memcmp(ia, ib, sizeof ia), 0);
    cr_assert_neq(memcmp(ia, io, sizeof ia), 0);
    cr_assert_eq(sampler_fingerprint(a), sampler_fingerprint(b));
    cr_assert_neq(sampler_fingerprint(a), sampler_fingerprint(o));
    sampler_free(a), sampler_free(b), sampler_free(o);
}

Test(sampler, sequential_order_and_drop_last)
{
    ds_source src = plain_source(23);
    sampler_config c = sampler_config_defaults();
    c.kind = SAMPLER_SEQUENTIAL;
    c.batch_size = 5;
    sampler *s = must_new(&c, &src);
    cr_assert_eq(sampler_batches_per_epoch(s), 5);
    int64_t idx[5];
    for (int e = 0; e < 2; e++) {
        int64_t want = 0;
        for (int b = 0; b < 5; b++) {
            int n = sampler_next(s, idx, NULL, NULL, 0);
            cr_assert_eq(n, b < 4 ? 5 : 3);
            for (int j = 0; j < n; j++)
                cr_assert_eq(idx[j], want++);
        }
    }
    sampler_free(s);

    c.drop_last = 1;
    s = must_new(&c, &src);
    cr_assert_eq(sampler_batches_per_epoch(s), 4);
    sampler_free(s);

    c.kind = SAMPLER_RANDOM;
    s = must_new(&c, &src);
    cr_assert_eq(sampler_batches_per_epoch(s), 4);
    for (int e = 0; e < 3; e++) {
        int counts[MAX_N] = {0}, sizes[8];
        cr_assert_eq(run_epoch(s, counts, sizes), 20);
        for (int b = 0; b < 4; b++)
            cr_assert_eq(sizes[b], 5);
        for (int i = 0; i < 23; i++)
            cr_assert_leq(counts[i], 1);
    }
    sampler_free(s);
}

/* Domains of the items of one batch, counted. */
static void count_domains(const int64_t *idx, int n, int *per_domain)
{
    for (int j = 0; j < n; j++)
        per_domain[g_domains[idx[j]]]++;
}

Test(sampler, balanced_every_batch_holds_every_domain_equally)
{
    const int sizes[3] = {50, 20, 7};
    ds_source src = make_source(77, sizes, 3);
    sampler_config c = sampler_config_defaults();
    c.kind = SAMPLER_BALANCED;
    c.batch_size = 12;
    c.seed = 11;
    sampler *s = must_new(&c, &src);
    cr_assert_eq(sampler_batches_per_epoch(s), 7); /* ceil(77 / 12) */
    for (int d = 0; d < 3; d++)
        cr_assert_eq(sampler_quota(s, d), 4);
    /* 25 batches: domain 0 drawn 100 times = 2 full cycles of 50; domain 2: 100 = 14 cycles of
     * 7 plus 2 draws, domain 1: 5 cycles of 20. */
    int counts[MAX_N] = {0};
    int64_t idx[12];
    for (int b = 0; b < 35; b++) {
        int per[3] = {0};
        cr_assert_eq(sampler_next(s, idx, NULL, NULL, 0), 12);
        count_domains(idx, 12, per);
        for (int d = 0; d < 3; d++)
            cr_assert_eq(per[d], 4, "batch %d has %d items of domain %d", b, per[d], d);
        for (int j = 0; j < 12; j++)
            counts[idx[j]]++;
        if (b == 24) {
            for (int i = 0; i < 77; i++) {
                if (g_domains[i] == 0)
                    cr_assert_eq(counts[i], 2, "item %d of domain 0 seen %d times", i, counts[i]);
                if (g_domains[i] == 1)
                    cr_assert_eq(counts[i], 5, "item %d of domain 1 seen %d times", i, counts[i]);
                if (g_domains[i] == 2)
                    cr_assert(counts[i] == 14 || counts[i] == 15);
            }
        }
    }
    sampler_free(s);
}

Test(sampler, balanced_weights_set_the_proportions)
{
    const int sizes[3] = {30, 30, 30};
    ds_source src = make_source(90, sizes, 3);
    sampler_config c = sampler_config_defaults();
    c.kind = SAMPLER_BALANCED;
    c.batch_size = 8;
    const double w[3] = {2, 1, 1};
    c.domain_weights = w;
    c.n_domain_weights = 3;
    sampler *s = must_new(&c, &src);
    cr_assert_eq(sampler_quota(s, 0), 4);
    cr_assert_eq(sampler_quota(s, 1), 2);
    cr_assert_eq(sampler_quota(s, 2), 2);
    int64_t idx[8];
    for (int b = 0; b < 20; b++) {
        int per[3] = {0};
        cr_assert_eq(sampler_next(s, idx, NULL, NULL, 0), 8);
        count_domains(idx, 8, per);
        cr_assert(per[0] == 4 && per[1] == 2 && per[2] == 2, "batch %d: %d %d %d", b, per[0],
                  per[1], per[2]);
    }
    sampler_free(s);

    /* Largest remainder: 10 over three equal weights = 4, 3, 3; a tiny weight still gets 1. */
    c.domain_weights = NULL;
    c.batch_size = 10;
    s = must_new(&c, &src);
    cr_assert(sampler_quota(s, 0) == 4 && sampler_quota(s, 1) == 3 && sampler_quota(s, 2) == 3);
    sampler_free(s);
    const double w2[3] = {100, 100, 0.01};
    c.domain_weights = w2;
    s = must_new(&c, &src);
    cr_assert_eq(sampler_quota(s, 0) + sampler_quota(s, 1) + sampler_quota(s, 2), 10);
    cr_assert_eq(sampler_quota(s, 2), 1);
    sampler_free(s);
}

/* The batches of states from..from+count, concatenated into out (sizes too). */
static void record(sampler *s, int count, int64_t *out, int *sizes, int bs)
{
    for (int b = 0; b < count; b++)
        sizes[b] = sampler_next(s, out + (size_t)b * (size_t)bs, NULL, NULL, 0);
}

static void check_resume(sampler_kind kind)
{
    const int dsizes[3] = {40, 13, 8};
    ds_source src = make_source(61, dsizes, 3);
    sampler_config c = sampler_config_defaults();
    c.kind = kind;
    c.batch_size = 9;
    c.seed = 99;
    sampler *full = must_new(&c, &src);
    int64_t bpe = sampler_batches_per_epoch(full);
    int total = (int)(3 * bpe);
    int64_t *all = calloc((size_t)total * 9, sizeof *all);
    int sizes[64];
    record(full, total, all, sizes, 9);

    /* Interrupt after k batches: save the state, restore it into a fresh sampler. */
    for (int k = 0; k < total; k += 5) {
        sampler *a = must_new(&c, &src);
        int64_t scratch[9];
        for (int i = 0; i < k; i++)
            sampler_next(a, scratch, NULL, NULL, 0);
        sampler_state saved = sampler_get_state(a);
        cr_assert_eq(saved.epoch * bpe + saved.batch, k);
        sampler_free(a);
        sampler *b = must_new(&c, &src);
        char err[256];
        cr_assert_eq(sampler_set_state(b, saved, err, sizeof err), 0, "%s", err);
        for (int i = k; i < total; i++) {
            int n = sampler_next(b, scratch, NULL, NULL, 0);
            cr_assert_eq(n, sizes[i]);
            cr_assert_eq(memcmp(scratch, all + (size_t)i * 9, (size_t)n * sizeof *scratch), 0,
                         "%s: batch %d differs after resuming at %d", kind == SAMPLER_BALANCED
                         ? "balanced" : "random", i, k);
        }
        sampler_free(b);
    }
    /* Going back in time (cached permutations are recomputed). */
    int64_t again[9];
    int n = sampler_batch_at(full, (sampler_state){0, 1}, again, NULL, 0);
    cr_assert_eq(memcmp(again, all + 9, (size_t)n * sizeof *again), 0);
    free(all);
    sampler_free(full);
}

Test(sampler, restore_reproduces_the_remaining_sequence)
{
    check_resume(SAMPLER_RANDOM);
    check_resume(SAMPLER_BALANCED);
    check_resume(SAMPLER_SEQUENTIAL);
}

Test(sampler, state_out_of_range_is_refused)
{
    ds_source src = plain_source(20);
    sampler_config c = sampler_config_defaults();
    c.batch_size = 5;
    sampler *s = must_new(&c, &src);
    char err[256] = "";
    cr_assert_eq(sampler_set_state(s, (sampler_state){0, 4}, err, sizeof err), -1);
    cr_assert(strstr(err, "batch 4"), "%s", err);
    cr_assert_eq(sampler_set_state(s, (sampler_state){-1, 0}, err, sizeof err), -1);
    sampler_state st = sampler_advance(s, (sampler_state){2, 3});
    cr_assert(st.epoch == 3 && st.batch == 0);
    sampler_free(s);
}

Test(sampler, holdout_excludes_a_domain)
{
    const int sizes[3] = {20, 15, 10};
    ds_source src = make_source(45, sizes, 3);
    sampler_config c = sampler_config_defaults();
    c.batch_size = 4;
    c.holdout_domain = 1;
    sampler *s = must_new(&c, &src);
    cr_assert_eq(sampler_num_items(s), 30);
    int counts[MAX_N] = {0};
    cr_assert_eq(run_epoch(s, counts, NULL), 30);
    for (int i = 0; i < 45; i++)
        cr_assert_eq(counts[i], g_domains[i] == 1 ? 0 : 1, "item %d (domain %d)", i, g_domains[i]);
    sampler_free(s);

    c.kind = SAMPLER_BALANCED;
    s = must_new(&c, &src);
    cr_assert_eq(sampler_quota(s, 1), 0);
    cr_assert_eq(sampler_quota(s, 0), 2);
    cr_assert_eq(sampler_quota(s, 2), 2);
    int64_t idx[4];
    for (int b = 0; b < 30; b++) {
        int per[3] = {0};
        sampler_next(s, idx, NULL, NULL, 0);
        count_domains(idx, 4, per);
        cr_assert(per[0] == 2 && per[1] == 0 && per[2] == 2);
    }
    sampler_free(s);

    /* Evaluation on the held-out domain: only_domain. */
    c.kind = SAMPLER_SEQUENTIAL;
    c.holdout_domain = SAMPLER_NO_DOMAIN;
    c.only_domain = 1;
    s = must_new(&c, &src);
    memset(counts, 0, sizeof counts);
    cr_assert_eq(run_epoch(s, counts, NULL), 15);
    for (int i = 0; i < 45; i++)
        cr_assert_eq(counts[i], g_domains[i] == 1);
    sampler_free(s);
}

Test(sampler, errors_are_clear)
{
    const int sizes[3] = {5, 5, 0};
    ds_source doms = make_source(10, sizes, 3);
    ds_source plain = plain_source(10);
    sampler_config c = sampler_config_defaults();
    c.batch_size = 0;
    expect_error(&c, &plain, "batch size");
    c.batch_size = 4;
    c.kind = SAMPLER_BALANCED;
    expect_error(&c, &plain, "domains");
    expect_error(&c, &doms, "domain 2");          /* a domain without items */
    c.holdout_domain = 2;                          /* ... unless it is held out */
    sampler *s = must_new(&c, &doms);
    sampler_free(s);
    c.batch_size = 1;
    expect_error(&c, &doms, "cannot hold 2 domains");
    c.batch_size = 4;
    c.holdout_domain = 5;
    expect_error(&c, &doms, "holdout_domain 5");
    c.holdout_domain = 1;
    c.only_domain = 1;
    expect_error(&c, &doms, "both held out");
    c = sampler_config_defaults();
    c.kind = SAMPLER_BALANCED;
    c.holdout_domain = 2;
    const double w[2] = {1, 1};
    c.domain_weights = w;
    c.n_domain_weights = 2;
    expect_error(&c, &doms, "2 domain weights given for 3 domains");
    const double bad[3] = {1, -1, 1};
    c.domain_weights = bad;
    c.n_domain_weights = 3;
    expect_error(&c, &doms, "weight 1");
    c = sampler_config_defaults();
    c.batch_size = 20;
    c.drop_last = 1;
    expect_error(&c, &plain, "no full batch");
    g_domains[3] = 7;
    c = sampler_config_defaults();
    c.holdout_domain = 0;
    expect_error(&c, &doms, "item 3 has domain 7");
}
