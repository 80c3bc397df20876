/* test_config_scale.c - Criterion tests (suite `config_scale`): the config layer stays linear in
 * the number of keys of a map (config_internal.h, MAP LOOKUP).
 *
 * A generated 50,000-key map goes through every path that looks keys up: reading (the
 * duplicate-key check), _base_ merging (every key of the file overrides one of its base),
 * --set into the big map, cfg_accept, the unknown-key walk, and emission. With the former linear
 * lookup a 32,000-key map took 10 s to read; these must finish in a few seconds even in a
 * sanitizer build, and the values must be the right ones (not just fast).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "helpers.h"

#define N_KEYS 50000
#define SECONDS_MAX 3.0

/* Processor time since start, in seconds: what the config layer costs, whatever else the
 * machine runs. */
static double cpu_seconds(clock_t start)
{
    return (double)(clock() - start) / CLOCKS_PER_SEC;
}

/* "model:\n  k00000: <first + 0>\n  k00001: ...": n keys under model, values first + i. Optional
 * head line(s) before. Caller frees. */
static char *big_map(const char *head, int n, int first)
{
    size_t cap = strlen(head) + 16 + (size_t)n * 24;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    size_t o = (size_t)snprintf(s, cap, "%smodel:\n", head);
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(s + o, cap - o, "  k%05d: %d\n", i, first + i);
    return s;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(fputs(text, f) >= 0, 1);
    cr_assert_eq(fclose(f), 0);
}

Test(config_scale, a_50000_key_map_reads_merges_and_emits_in_linear_time, .timeout = 60)
{
    char *dir = tst_tmpdir(), base[4200], top[4200], err[512] = "";
    snprintf(base, sizeof base, "%s/base.yaml", dir);
    snprintf(top, sizeof top, "%s/top.yaml", dir);
    char *b = big_map("", N_KEYS, 0);
    char *t = big_map("_base_: base.yaml\n", N_KEYS, 1000000);
    write_file(base, b);
    write_file(top, t);
    free(b);
    free(t);

    clock_t t0 = clock();
    const char *ov[] = {"model.k49999=7", "model.extra=8"};
    cfg_doc *doc = cfg_load(top, ov, 2, err, sizeof err);
    cr_assert_not_null(doc, "%s", err);
    cfg_accept(doc, "model");
    cr_expect_eq(cfg_check_unknown(doc, err, sizeof err), 0, "%s", err);
    char shown[4200];
    snprintf(shown, sizeof shown, "%s/shown.yaml", dir);
    FILE *f = fopen(shown, "w");
    cr_assert_not_null(f);
    const cfg_section model = {"model", NULL, 0, NULL};
    const cfg_section *secs_[] = {&model};
    const int nothing = 0;
    const void *structs[] = {&nothing};
    cr_expect_eq(cfg_emit(f, secs_, structs, 1, doc, 0), 0);
    cr_assert_eq(fclose(f), 0);
    double secs = cpu_seconds(t0);

    /* the file's values win over its base's, the override over both */
    cr_expect_str_eq(cfg_peek_string(doc, "model.k00000"), "1000000");
    cr_expect_str_eq(cfg_peek_string(doc, "model.k31234"), "1031234");
    cr_expect_str_eq(cfg_peek_string(doc, "model.k49999"), "7");
    cr_expect_str_eq(cfg_peek_string(doc, "model.extra"), "8");
    cr_expect_null(cfg_peek_string(doc, "model.k50000"));
    char where[4400], want[4400];
    snprintf(want, sizeof want, "%s:%d:11", top, 31234 + 3); /* the value of "  k31234: ..." */
    cr_expect_str_eq(cfg_where(doc, "model.k31234", where, sizeof where), want);
    cfg_doc_free(doc);

    /* what was emitted reads back to the same values */
    doc = cfg_load(shown, NULL, 0, err, sizeof err);
    cr_assert_not_null(doc, "%s", err);
    cr_expect_str_eq(cfg_peek_string(doc, "model.k00001"), "1000001");
    cr_expect_str_eq(cfg_peek_string(doc, "model.k49999"), "7");
    cr_expect_str_eq(cfg_peek_string(doc, "model.extra"), "8");
    cfg_doc_free(doc);

    fprintf(stderr, "config_scale: 2 x %d keys read, merged, overridden, walked and emitted in "
                    "%.3f s\n", N_KEYS, secs);
    cr_expect_lt(secs, SECONDS_MAX, "%d keys took %.2f s (quadratic lookup?)", N_KEYS, secs);
    tst_rmtree(dir);
}

/* The hash index must still find a duplicate however far apart the two keys are, and name the
 * line of the first one. */
Test(config_scale, a_duplicate_key_is_found_among_50000, .timeout = 60)
{
    char *y = big_map("", N_KEYS, 0);
    size_t len = strlen(y);
    char *dup = malloc(len + 32);
    cr_assert_not_null(dup);
    snprintf(dup, len + 32, "%s  k00003: x\n", y);
    free(y);
    char err[512] = "";
    clock_t t0 = clock();
    cfg_doc *doc = cfg_load_string(dup, "big.yaml", NULL, 0, err, sizeof err);
    double secs = cpu_seconds(t0);
    free(dup);
    cr_expect_null(doc);
    cfg_doc_free(doc);
    char want[128];
    snprintf(want, sizeof want, "big.yaml:%d:3: duplicate key 'k00003' (also at line 5)",
             N_KEYS + 2);
    cr_expect_str_eq(err, want);
    cr_expect_lt(secs, SECONDS_MAX, "%d keys took %.2f s", N_KEYS, secs);
}

/* An unknown key in a big section is still the first one in file order. */
Test(config_scale, the_first_unknown_key_of_a_big_section_is_reported, .timeout = 60)
{
    char *y = big_map("", N_KEYS, 0);
    char err[512] = "";
    cfg_doc *doc = cfg_load_string(y, "big.yaml", NULL, 0, err, sizeof err);
    free(y);
    cr_assert_not_null(doc, "%s", err);
    cr_expect_eq(cfg_check_unknown(doc, err, sizeof err), -1);
    cr_expect_str_eq(err, "big.yaml:1:1: unknown key 'model'");
    cfg_doc_free(doc);
}
