/*
 * test_hostile_configs.c - the hostile-input battery, configs (through `pictor config show` and
 * `pictor train`): every bad file ends in exit 1 with one message naming the file (with
 * line:column when the problem has a place) and what is wrong, quickly: a FIFO or a device as
 * the config or its _base_ (refused as not a regular file instead of blocking or reading
 * forever), binary garbage, invalid UTF-8, nesting 10000 levels deep, the "billion laughs"
 * aliases, tab indentation, a duplicate key, an unknown key, a wrong type, a directory, a missing
 * file, a bad --set.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpers.h"

static char *g_dir;

static void setup(void) { g_dir = tst_tmpdir(); }
static void teardown(void) { tst_rmtree(g_dir); }

TestSuite(hostile_configs, .init = setup, .fini = teardown, .timeout = 120);

/* `pictor config show <file> <extra>` exits 1 within 20 s saying s1 and s2. */
static void refused(const char *file, const char *extra, const char *s1, const char *s2)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = tst_pictor(g_dir, "config show %s %s", file, extra);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    cr_expect_eq(rc, 1, "%s: exit %d: %s", file, rc, tst_output(g_dir));
    cr_expect(tst_says(g_dir, s1, s2, NULL), "%s: expected '%s' and '%s': %s", file, s1, s2,
              tst_output(g_dir));
    cr_expect_lt(took, 20, "%s took %.1f s", file, took);
}

Test(hostile_configs, special_files_are_refused_not_read)
{
    cr_assert_eq(tst_sh(g_dir, "mkfifo fifo.yaml && mkdir dir.yaml"), 0);
    tst_write_text(g_dir, "base_fifo.yaml", "_base_: fifo.yaml\ntrain: {epochs: 1}\n");
    refused("base_fifo.yaml", "", "base_fifo.yaml:1:9: cannot open base fifo.yaml",
            "not a regular file");
    refused("fifo.yaml", "", "cannot open fifo.yaml", "not a regular file");
    tst_write_text(g_dir, "base_zero.yaml", "_base_: /dev/zero\n");
    refused("base_zero.yaml", "", "cannot open base /dev/zero", "not a regular file");
    refused("dir.yaml", "", "cannot open dir.yaml", "Is a directory");
    refused("missing.yaml", "", "cannot open missing.yaml", "No such file or directory");
}

Test(hostile_configs, garbage_and_encodings)
{
    unsigned char junk[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 24);
    tst_write(g_dir, "junk.yaml", junk, sizeof junk);
    refused("junk.yaml", "", "junk.yaml", "malformed YAML");
    tst_write_text(g_dir, "utf8.yaml", "train:\n  epochs: 1\nrun: {name: \"\xc3\x28\"}\n");
    refused("utf8.yaml", "", "utf8.yaml: malformed YAML", "invalid");
    tst_write_text(g_dir, "tabs.yaml", "train:\n\tepochs: 1\n");
    refused("tabs.yaml", "", "tabs.yaml:2:1: malformed YAML", "tab");
}

Test(hostile_configs, deep_nesting_and_aliases)
{
    size_t n = 10000;
    char *deep = malloc(2 * n + 16);
    memcpy(deep, "a: ", 3);
    memset(deep + 3, '[', n);
    memset(deep + 3 + n, ']', n);
    deep[3 + 2 * n] = '\n';
    deep[4 + 2 * n] = '\0';
    tst_write_text(g_dir, "deep.yaml", "%s", deep);
    free(deep);
    refused("deep.yaml", "", "deep.yaml:1:", "nested too deeply");
    tst_write_text(g_dir, "laughs.yaml",
                   "a: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n"
                   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                   "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n");
    refused("laughs.yaml", "", "laughs.yaml:1:4: anchors and aliases", "not supported");
}

Test(hostile_configs, keys_and_values)
{
    tst_write_text(g_dir, "dup.yaml", "train:\n  epochs: 1\n  epochs: 2\n");
    refused("dup.yaml", "", "dup.yaml:3:3", "duplicate key 'epochs' (also at line 2)");
    tst_write_text(g_dir, "unknown.yaml", "train:\n  epoch: 1\n");
    refused("unknown.yaml", "", "unknown.yaml:2:3: unknown key 'train.epoch'",
            "did you mean 'train.epochs'");
    tst_write_text(g_dir, "type.yaml", "train:\n  epochs: ten\n");
    refused("type.yaml", "", "type.yaml:2:11: train.epochs", "expected an integer");
    tst_write_text(g_dir, "ok.yaml", "train: {epochs: 1}\n");
    refused("ok.yaml", "--set train.epochs=-5", "--set train.epochs=-5: train.epochs",
            "expected an integer in");
    refused("ok.yaml", "--set train.epochs.x=1", "--set train.epochs.x=1",
            "not a map of settings");
    cr_expect_eq(tst_pictor(g_dir, "config show ok.yaml"), 0, "%s", tst_output(g_dir));
}
