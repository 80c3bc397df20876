/*
 * test_merge.c - data/curate/merge (`pictor data merge`): two synthetic instance sets in one, in
 * order, with their classes; --foreground; the refusals (different layouts or class names, the
 * output being an input), each naming the files and what differs.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "curate/merge.h"
#include "helpers.h"
#include "pipeline/sample.h"
#include "store/store.h"

static char *g_dir;

/* g_dir/name, in one of 16 rotating buffers (enough for every path a test holds at once). */
static const char *in_dir(const char *name)
{
    static _Thread_local char buf[16][4200];
    static _Thread_local int k;
    k = (k + 1) % 16;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static void pictor_ok(const char *args)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s/pictor", PICTOR_BINARY_DIR);
    if (access(cmd, X_OK) != 0)
        cr_skip_test("%s not built", cmd);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/pictor' %s >/dev/null 2>&1", g_dir,
             PICTOR_BINARY_DIR, args);
    int st = system(cmd);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "pictor %s failed", args);
}

static void setup(void)
{
    g_dir = tst_tmpdir();
    pictor_ok("data synth shapes --n 3 --seed 1 --size 48 --out a.h5");
    pictor_ok("data synth shapes --n 2 --seed 2 --size 48 --out b.h5");
}

static void teardown(void) { tst_rmtree(g_dir); }

/* Labels of the first instance of every item of a store. */
static int first_classes(const char *path, int32_t *cls, int max)
{
    char err[512];
    store_reader *r = store_open(path, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    int n = (int)store_count(r);
    for (int i = 0; i < n && i < max; i++) {
        sample s;
        sample_init(&s);
        cr_assert_eq(store_read(r, i, STORE_READ_ALL, &s, err, sizeof err), 0, "%s", err);
        cls[i] = s.n_instances ? s.instances[0].class_id : -1;
        sample_free(&s);
    }
    store_close(r);
    return n;
}

Test(merge, items_in_order_with_their_classes, .init = setup, .fini = teardown)
{
    const char *in[2] = {in_dir("a.h5"), in_dir("b.h5")};
    int64_t items = 0;
    char err[1024];
    cr_assert_eq(merge_files(in, 2, in_dir("ab.h5"), 0, NULL, &items, err, sizeof err), 0, "%s",
                 err);
    cr_expect_eq(items, 5);
    int32_t a[8], b[8], ab[8];
    cr_assert_eq(first_classes(in[0], a, 8), 3);
    cr_assert_eq(first_classes(in[1], b, 8), 2);
    cr_assert_eq(first_classes(in_dir("ab.h5"), ab, 8), 5);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(ab[i], a[i], "item %d from a.h5", i);
    for (int i = 0; i < 2; i++)
        cr_expect_eq(ab[3 + i], b[i], "item %d from b.h5", 3 + i);
    /* the same through `pictor data merge` */
    pictor_ok("data merge --in a.h5 --in b.h5 --out cli.h5");
    int32_t cli[8];
    cr_expect_eq(first_classes(in_dir("cli.h5"), cli, 8), 5);
    cr_expect_eq(memcmp(cli, ab, sizeof(int32_t) * 5), 0);
    /* foreground: one class, every instance class 0 */
    cr_assert_eq(merge_files(in, 2, in_dir("fg.h5"), 1, NULL, &items, err, sizeof err), 0, "%s",
                 err);
    store_reader *r = store_open(in_dir("fg.h5"), err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_expect_eq(store_num_classes(r), 1);
    cr_expect_str_eq(store_class_names(r)[0], "foreground");
    store_close(r);
    int32_t fg[8];
    first_classes(in_dir("fg.h5"), fg, 8);
    for (int i = 0; i < 5; i++)
        cr_expect_eq(fg[i], 0);
}

Test(merge, refusals_name_the_files, .init = setup, .fini = teardown)
{
    char err[1024] = "";
    int64_t items = 7;
    const char *same[2] = {in_dir("a.h5"), in_dir("b.h5")};
    cr_expect_eq(merge_files(same, 2, in_dir("b.h5"), 0, NULL, &items, err, sizeof err), 1);
    cr_expect(strstr(err, "also an input"), "%s", err);
    cr_expect_eq(items, 0);
    /* grey images: a different layout */
    pictor_ok("data synth shapes --n 2 --seed 3 --size 48 --grey --out g.h5");
    const char *mixed[2] = {in_dir("a.h5"), in_dir("g.h5")};
    cr_expect_eq(merge_files(mixed, 2, in_dir("x.h5"), 0, NULL, &items, err, sizeof err), 1);
    cr_expect(strstr(err, "a.h5") && strstr(err, "g.h5") && strstr(err, "channels"), "%s", err);
    cr_expect_eq(access(in_dir("x.h5"), F_OK), -1, "nothing written");
    /* a foreground set and a multi-class one: different class names unless --foreground */
    pictor_ok("data foreground a.h5 --out afg.h5");
    const char *names[2] = {in_dir("afg.h5"), in_dir("b.h5")};
    cr_expect_eq(merge_files(names, 2, in_dir("y.h5"), 0, NULL, &items, err, sizeof err), 1);
    cr_expect(strstr(err, "class names") && strstr(err, "--foreground"), "%s", err);
    cr_expect_eq(merge_files(names, 2, in_dir("y.h5"), 1, NULL, &items, err, sizeof err), 0,
                 "%s", err);
    cr_expect_eq(items, 5);
    const char *missing[1] = {in_dir("nope.h5")};
    cr_expect_eq(merge_files(missing, 1, in_dir("z.h5"), 0, NULL, &items, err, sizeof err), 1);
    cr_expect(strstr(err, "nope.h5"), "%s", err);
}
