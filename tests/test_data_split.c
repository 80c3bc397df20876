/* test_data_split.c - Criterion tests for the foreground conversion and the group-aware split
 * (data/curate/item_copy.c, data/curate/split.c), the file-name column of the store, and the
 * table-driven option parser of the command line (tools/cliopt.c, linked into the test binary),
 * also through `pictor data` itself.
 *
 * Owns: a small instance dataset written here (3 classes, masks, polygons, file names) and its
 * foreground conversion (one class `foreground`, every mask byte-equal, counts equal, names
 * kept, in place too); group keys from a regex (capture group, whole match, no match, bad
 * regex); the greedy assignment's bound (|val - target| <= largest group / 2) over many random
 * group sizes, its determinism per seed; the split of ../shared/data/coco_mval imported with
 * import-masks (a subset of 240 pairs; skipped when the folder is absent): no photo id on both
 * sides, the fraction within one group's size, the same sides for one seed and different sides
 * for another, import-masks --val/--out-val giving the same split in one command; and the
 * parser's messages (did you mean, missing value, out of range, open ranges, enums, setters,
 * required lists) and its usage text listing every option of a table.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "base/rng.h"
#include "codec/image.h"
#include "curate/item_copy.h"
#include "curate/split.h"
#include "store/store.h"

#include "base/err.h"
#include "cliopt.h"

#define SHARED_DATA PICTOR_SOURCE_DIR "/../shared/data"

static char *g_dir;

static void setup(void) { g_dir = tst_tmpdir(); cr_assert_not_null(g_dir); }
static void teardown(void) { tst_rmtree(g_dir); }

TestSuite(data_split, .init = setup, .fini = teardown, .timeout = 240);

static const char *path_in(const char *rel)
{
    static _Thread_local char buf[8][4096];
    static _Thread_local int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, rel);
    return buf[k];
}

static int exists(const char *rel)
{
    struct stat st;
    return stat(path_in(rel), &st) == 0;
}

/* ---------------------------------------------------------------- a small instance dataset */

enum { SMALL_N = 6, SMALL_H = 12, SMALL_W = 16 };

/* Item i: label i % 3 (item 5: -1), i % 3 + 1 instances of class (i + k) % 3 with a mask of a
 * rectangle and one polygon, a mask of their union, file name "item<i>.png". */
static void small_sample(int i, sample *s)
{
    sample_init(s);
    s->h = SMALL_H, s->w = SMALL_W, s->c = 3;
    s->image = malloc(SMALL_H * SMALL_W * 3);
    for (int p = 0; p < SMALL_H * SMALL_W * 3; p++)
        s->image[p] = (uint8_t)(p * 7 + i * 31);
    s->label = i == 5 ? -1 : i % 3;
    s->group = 100 + i / 2;
    s->mask = calloc(SMALL_H * SMALL_W, 1);
    s->n_instances = i % 3 + 1;
    s->instances = calloc((size_t)s->n_instances, sizeof *s->instances);
    for (int k = 0; k < s->n_instances; k++) {
        instance *in = &s->instances[k];
        in->class_id = (i + k) % 3;
        in->mask = calloc(SMALL_H * SMALL_W, 1);
        for (int y = 1 + k; y < 5 + k; y++)
            for (int x = 2 * k; x < 2 * k + 3 + i; x++)
                in->mask[y * SMALL_W + x] = 1, s->mask[y * SMALL_W + x] = 1;
        in->n_polygons = 1;
        in->polygons = calloc(1, sizeof *in->polygons);
        in->polygons[0].n = 3;
        in->polygons[0].xy = malloc(6 * sizeof(float));
        for (int q = 0; q < 6; q++)
            in->polygons[0].xy[q] = (float)(q + k + i);
    }
}

static void write_small(const char *rel)
{
    char err[512];
    store_options so = {.images = STORE_ENCODED, .channels = 3,
                        .annotations = STORE_MASK | STORE_INSTANCES, .masks = STORE_ENCODED,
                        .file_names = 1, .source = "test"};
    store_writer *w = store_create(path_in(rel), &so, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    const char *classes[3] = {"cat", "dog", "baseball bat"};
    cr_assert_eq(store_set_class_names(w, classes, 3, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < SMALL_N; i++) {
        sample s;
        small_sample(i, &s);
        char name[32];
        snprintf(name, sizeof name, "item%d.png", i);
        cr_assert_eq(store_set_item_name(w, name, err, sizeof err), 0, "%s", err);
        cr_assert_eq(store_append(w, &s, err, sizeof err), 0, "%s", err);
        sample_free(&s);
    }
    cr_assert_eq(store_commit(w, err, sizeof err), 0, "%s", err);
}

static store_reader *open_ok(const char *rel)
{
    char err[512];
    store_reader *r = store_open(path_in(rel), err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    return r;
}

Test(data_split, file_names_round_trip)
{
    write_small("small.h5");
    store_reader *r = open_ok("small.h5");
    char **names = NULL, err[512];
    cr_assert_eq(store_file_names(r, &names, err, sizeof err), 1, "%s", err);
    for (int i = 0; i < SMALL_N; i++) {
        char want[32];
        snprintf(want, sizeof want, "item%d.png", i);
        cr_expect_str_eq(names[i], want);
    }
    cr_expect(store_layout_of(r)->o.file_names);
    cr_expect_eq(store_layout_of(r)->o.annotations, STORE_MASK | STORE_INSTANCES,
                 "file names are not an annotation");
    store_free_names(names, SMALL_N);
    store_close(r);
    /* a store without names: 0 and NULL; setting a name there is refused */
    store_options so = {.images = STORE_ENCODED, .channels = 3};
    store_writer *w = store_create(path_in("nonames.h5"), &so, err, sizeof err);
    cr_assert_not_null(w);
    cr_expect_eq(store_set_item_name(w, "a.png", err, sizeof err), -1);
    cr_expect(strstr(err, "without file names"), "%s", err);
    sample s;
    small_sample(0, &s);
    free(s.mask), s.mask = NULL;
    for (int k = 0; k < s.n_instances; k++)
        free(s.instances[k].mask), free(s.instances[k].polygons[0].xy),
            free(s.instances[k].polygons);
    free(s.instances), s.instances = NULL, s.n_instances = 0;
    cr_assert_eq(store_append(w, &s, err, sizeof err), 0, "%s", err);
    sample_free(&s);
    cr_assert_eq(store_commit(w, err, sizeof err), 0, "%s", err);
    r = open_ok("nonames.h5");
    cr_expect_eq(store_file_names(r, &names, err, sizeof err), 0);
    cr_expect_null(names);
    store_close(r);
}

/* ---------------------------------------------------------------- foreground */

static void expect_foreground_of(const char *in_rel, const char *out_rel)
{
    store_reader *a = open_ok(in_rel), *b = open_ok(out_rel);
    char err[512];
    cr_assert_eq(store_count(b), store_count(a));
    cr_assert_eq(store_num_classes(b), 1);
    cr_expect_str_eq(store_class_name(b, 0), "foreground");
    int64_t inst_a = 0, inst_b = 0;
    for (int64_t i = 0; i < store_count(a); i++) {
        sample x, y;
        sample_init(&x), sample_init(&y);
        cr_assert_eq(store_read(a, i, STORE_READ_ALL, &x, err, sizeof err), 0, "%s", err);
        cr_assert_eq(store_read(b, i, STORE_READ_ALL, &y, err, sizeof err), 0, "%s", err);
        cr_expect_eq(y.label, x.label >= 0 ? 0 : -1, "item %lld", (long long)i);
        cr_expect_eq(y.group, x.group);
        cr_assert_eq(y.h, x.h);
        cr_expect_eq(memcmp(y.image, x.image, (size_t)x.h * x.w * x.c), 0);
        cr_expect_eq(memcmp(y.mask, x.mask, (size_t)x.h * x.w), 0, "mask %lld unchanged",
                     (long long)i);
        cr_assert_eq(y.n_instances, x.n_instances);
        for (int k = 0; k < x.n_instances; k++) {
            cr_expect_eq(y.instances[k].class_id, 0);
            cr_expect_eq(memcmp(y.instances[k].mask, x.instances[k].mask, (size_t)x.h * x.w), 0);
            cr_assert_eq(y.instances[k].n_polygons, x.instances[k].n_polygons);
            cr_expect_eq(memcmp(y.instances[k].polygons[0].xy, x.instances[k].polygons[0].xy,
                                6 * sizeof(float)), 0);
        }
        inst_a += x.n_instances, inst_b += y.n_instances;
        sample_free(&x), sample_free(&y);
    }
    cr_expect_eq(inst_b, inst_a);
    char **na = NULL, **nb = NULL;
    cr_assert_eq(store_file_names(a, &na, err, sizeof err), 1);
    cr_assert_eq(store_file_names(b, &nb, err, sizeof err), 1, "names are copied");
    for (int64_t i = 0; i < store_count(a); i++)
        cr_expect_str_eq(nb[i], na[i]);
    store_free_names(na, store_count(a));
    store_free_names(nb, store_count(b));
    store_close(a);
    store_close(b);
}

Test(data_split, foreground_conversion)
{
    write_small("small.h5");
    char err[512];
    int64_t n = 0;
    cr_assert_eq(foreground_file(path_in("small.h5"), path_in("fg.h5"), NULL, &n, err,
                                 sizeof err), 0, "%s", err);
    cr_expect_eq(n, SMALL_N);
    expect_foreground_of("small.h5", "fg.h5");
    /* the sample-level conversion: -1 stays -1 */
    sample s;
    small_sample(5, &s);
    foreground_sample(&s);
    cr_expect_eq(s.label, -1);
    for (int k = 0; k < s.n_instances; k++)
        cr_expect_eq(s.instances[k].class_id, 0);
    sample_free(&s);
    /* in place: the file is replaced only when complete */
    cr_assert_eq(foreground_file(path_in("fg.h5"), path_in("fg.h5"), NULL, &n, err, sizeof err),
                 0, "%s", err);
    expect_foreground_of("small.h5", "fg.h5");
    /* cancelled: exit 130, nothing written; a missing input: 1, named */
    volatile sig_atomic_t stop = 1;
    cr_expect_eq(foreground_file(path_in("small.h5"), path_in("c.h5"), &stop, &n, err,
                                 sizeof err), 130);
    cr_expect(!exists("c.h5"));
    cr_expect_eq(foreground_file(path_in("nope.h5"), path_in("c.h5"), NULL, &n, err,
                                 sizeof err), 1);
    cr_expect(strstr(err, "nope.h5"), "%s", err);
}

/* ---------------------------------------------------------------- group keys, assignment */

Test(data_split, group_keys_from_a_regex)
{
    const char *names[] = {"baseball bat00_000000057232.png", "airplane01_000000281693.jpg",
                           "baseball bat01_000000057232.png", "nomatch.png", "",
                           "airplane00_000000281693.jpg", "cat03_000000000001.png"};
    int64_t g[7], ng = 0, unmatched = 0;
    char err[512];
    cr_assert_eq(split_groups_by_regex(names, 7, "_([0-9]+)\\.", g, &ng, &unmatched, err,
                                       sizeof err), 0, "%s", err);
    cr_expect_eq(ng, 5, "3 photo ids + 2 names without a match");
    cr_expect_eq(unmatched, 2);
    cr_expect_eq(g[0], g[2]);
    cr_expect_eq(g[1], g[5]);
    cr_expect_neq(g[0], g[1]);
    cr_expect_neq(g[3], g[4]);
    cr_expect_neq(g[6], g[0]);
    for (int i = 0; i < 7; i++)
        cr_expect(g[i] >= 0 && g[i] < ng);
    /* no capture group: the whole match is the key ("bat0" twice, "ane0" twice, ...) */
    cr_assert_eq(split_groups_by_regex(names, 7, "[a-z]{3}0", g, &ng, &unmatched, err,
                                       sizeof err), 0);
    cr_expect_eq(g[0], g[2]);
    cr_expect_eq(g[1], g[5]);
    cr_expect_eq(unmatched, 2, "nomatch.png and '' have no 'xxx0'");
    cr_expect_neq(g[6], g[0], "'cat0' is a key of its own");
    /* a bad expression: a message naming it */
    cr_expect_eq(split_groups_by_regex(names, 7, "_([0-9]+\\.", g, &ng, &unmatched, err,
                                       sizeof err), -1);
    cr_expect(strstr(err, "invalid regular expression '_([0-9]+\\.'"), "%s", err);
    /* group ids: -1 is a group of its own */
    int64_t ids[6] = {7, -1, 7, 3, -1, 3}, gi[6];
    cr_assert_eq(split_groups_by_id(ids, 6, gi, &ng), 0);
    cr_expect_eq(ng, 4);
    cr_expect_eq(gi[0], gi[2]);
    cr_expect_eq(gi[3], gi[5]);
    cr_expect_neq(gi[1], gi[4]);
}

Test(data_split, greedy_assignment_bound_and_seeds)
{
    enum { N = 3000 };
    static int64_t group_of[N];
    static uint8_t a[N], b[N];
    prng g;
    prng_seed(&g, 42);
    for (int trial = 0; trial < 40; trial++) {
        /* groups of 1..(trial % 9 + 1) items, in item order */
        int64_t n = 0, ng = 0, largest = 0;
        while (n < N) {
            int64_t s = 1 + (int64_t)prng_below(&g, (uint64_t)(trial % 9 + 1));
            s = s < N - n ? s : N - n;
            for (int64_t k = 0; k < s; k++)
                group_of[n++] = ng;
            ng++;
            largest = s > largest ? s : largest;
        }
        double val = 0.05 + 0.9 * prng_uniform(&g);
        int64_t cnt = split_assign(group_of, N, ng, val, (uint64_t)trial, a);
        int64_t check = 0;
        for (int i = 0; i < N; i++) {
            check += a[i];
            if (i > 0 && group_of[i] == group_of[i - 1])
                cr_assert_eq(a[i], a[i - 1], "a group on both sides");
        }
        cr_assert_eq(cnt, check);
        cr_expect_leq(fabs((double)cnt - val * N), largest / 2.0 + 1e-9,
                      "trial %d: %lld val items for a target %.1f (largest group %lld)", trial,
                      (long long)cnt, val * N, (long long)largest);
        cr_assert_eq(split_assign(group_of, N, ng, val, (uint64_t)trial, b), cnt);
        cr_expect_eq(memcmp(a, b, N), 0, "same seed, same split");
        split_assign(group_of, N, ng, val, (uint64_t)trial + 1000, b);
        cr_expect_neq(memcmp(a, b, N), 0, "another seed, another split");
    }
}

Test(data_split, split_file_of_a_small_store)
{
    write_small("small.h5");
    char err[512];
    split_options o = {.in = path_in("small.h5"), .out_train = path_in("t.h5"),
                       .out_val = path_in("v.h5"), .val = 0.5, .seed = 3};
    split_report rep;
    cr_assert_eq(split_file(&o, &rep, err, sizeof err), 0, "%s", err);
    cr_expect_eq(rep.items, SMALL_N);
    cr_expect_eq(rep.groups, 3, "the /group column: 100, 101, 102");
    cr_expect_eq(rep.val_items % 2, 0, "groups of two");
    store_reader *t = open_ok("t.h5"), *v = open_ok("v.h5");
    cr_expect_eq(store_count(t) + store_count(v), SMALL_N);
    cr_expect_eq(store_count(v), rep.val_items);
    for (int64_t i = 0; i < store_count(t); i++)
        for (int64_t j = 0; j < store_count(v); j++)
            cr_expect_neq(store_groups(t)[i], store_groups(v)[j]);
    cr_expect_eq(store_num_classes(v), 3);
    store_close(t);
    store_close(v);
    /* options out of range, three files that are not different, a regex without names */
    o.val = 1;
    cr_expect_eq(split_file(&o, &rep, err, sizeof err), 1);
    cr_expect(strstr(err, "(0, 1)"), "%s", err);
    o.val = 0.5, o.out_val = o.out_train;
    cr_expect_eq(split_file(&o, &rep, err, sizeof err), 1);
    cr_expect(strstr(err, "three different files"), "%s", err);
    /* with a regex: the file names ("item<i>.png"; by the digit: six groups of one) */
    o.out_val = path_in("v.h5"), o.group_regex = "item([0-9])", o.val = 0.5;
    cr_assert_eq(split_file(&o, &rep, err, sizeof err), 0, "%s", err);
    cr_expect_eq(rep.groups, SMALL_N);
    cr_expect_eq(rep.val_items, 3, "groups of one meet the target exactly");
    o.group_regex = "item(";
    cr_expect_eq(split_file(&o, &rep, err, sizeof err), 1);
    cr_expect(strstr(err, "invalid regular expression 'item('"), "%s", err);
}

/* ---------------------------------------------------------------- the pictor binary */

static int pictor(const char *args)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s/pictor", PICTOR_BINARY_DIR);
    if (access(cmd, X_OK) != 0)
        cr_skip_test("%s not built", cmd);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/pictor' %s >'%s/out.txt' 2>&1", g_dir,
             PICTOR_BINARY_DIR, args, g_dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static const char *output(void)
{
    static char buf[65536];
    FILE *f = fopen(path_in("out.txt"), "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
    return buf;
}

/* A COCO_MVal subset: the first 240 image/mask pairs linked into sub/img and sub/gt. */
static void coco_mval_subset(void)
{
    struct stat st;
    if (stat(SHARED_DATA "/coco_mval/img", &st) != 0)
        cr_skip_test("%s/coco_mval not present", SHARED_DATA);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && mkdir -p sub/img sub/gt && ls '%s/coco_mval/img' | "
             "head -240 | while read -r f; do ln -s \"%s/coco_mval/img/$f\" sub/img/ && "
             "ln -s \"%s/coco_mval/gt/${f%%.*}.png\" sub/gt/; done", g_dir, SHARED_DATA,
             SHARED_DATA, SHARED_DATA);
    cr_assert_eq(system(cmd), 0);
}

/* The photo id of a COCO_MVal name ("..._000000057232.jpg"). */
static long long photo_id(const char *name)
{
    const char *u = strrchr(name, '_');
    return u ? atoll(u + 1) : -1;
}

/* Photo ids of a store's items, and the items' names joined (for comparing two splits). */
static int64_t photo_ids(const char *rel, long long *ids, char *joined, size_t len)
{
    store_reader *r = open_ok(rel);
    char **names = NULL, err[512];
    cr_assert_eq(store_file_names(r, &names, err, sizeof err), 1, "%s", err);
    int64_t n = store_count(r);
    joined[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        ids[i] = photo_id(names[i]);
        cr_assert_geq(ids[i], 0, "%s", names[i]);
        cr_assert_eq(ids[i], (long long)store_groups(r)[i], "the name's id is the group");
        snprintf(joined + strlen(joined), len - strlen(joined), "%s|", names[i]);
    }
    store_free_names(names, n);
    store_close(r);
    return n;
}

/* Both sides of a split: no photo on both, every item once, the fraction within one group. */
static void check_split(const char *train, const char *val, int64_t total, double frac,
                        int64_t largest, char *joined_val, size_t len)
{
    static long long a[400], b[400];
    static char joined_train[65536];
    int64_t na = photo_ids(train, a, joined_train, sizeof joined_train);
    int64_t nb = photo_ids(val, b, joined_val, len);
    cr_expect_eq(na + nb, total);
    for (int64_t i = 0; i < na; i++)
        for (int64_t j = 0; j < nb; j++)
            cr_assert_neq(a[i], b[j], "photo %lld on both sides", a[i]);
    cr_expect_leq(fabs((double)nb - frac * total), (double)largest,
                  "%lld val items for a target %.1f", (long long)nb, frac * total);
    cr_expect_gt(nb, 0);
}

Test(data_split, coco_mval_split_by_photo_id)
{
    coco_mval_subset();
    cr_assert_eq(pictor("data import-masks sub --images img --masks gt --class-from-prefix "
                        "--out all.h5"), 0, "%s", output());
    store_reader *r = open_ok("all.h5");
    int64_t total = store_count(r);
    cr_assert_gt(total, 200);
    /* the largest photo group of the subset */
    static int64_t g[400];
    int64_t ng = 0, largest = 0;
    cr_assert_eq(split_groups_by_id(store_groups(r), total, g, &ng), 0);
    static int64_t size[400];
    for (int64_t i = 0; i < total; i++)
        largest = ++size[g[i]] > largest ? size[g[i]] : largest;
    store_close(r);
    cr_assert_lt(ng, total, "some photos appear several times");
    cr_log_info("coco_mval subset: %lld items, %lld photos, largest group %lld",
                (long long)total, (long long)ng, (long long)largest);

    static char v1[65536], v1b[65536], v2[65536];
    cr_assert_eq(pictor("data split all.h5 --val 0.2 --group '_([0-9]+)\\.' --seed 1 "
                        "--out-train t1.h5 --out-val v1.h5"), 0, "%s", output());
    cr_expect(strstr(output(), "split"), "%s", output());
    check_split("t1.h5", "v1.h5", total, 0.2, largest, v1, sizeof v1);
    cr_assert_eq(pictor("data split all.h5 --val 0.2 --group '_([0-9]+)\\.' --seed 1 "
                        "--out-train t1b.h5 --out-val v1b.h5"), 0, "%s", output());
    check_split("t1b.h5", "v1b.h5", total, 0.2, largest, v1b, sizeof v1b);
    cr_expect_str_eq(v1b, v1, "one seed, one split");
    cr_assert_eq(pictor("data split all.h5 --val 0.2 --group '_([0-9]+)\\.' --seed 2 "
                        "--out-train t2.h5 --out-val v2.h5"), 0, "%s", output());
    check_split("t2.h5", "v2.h5", total, 0.2, largest, v2, sizeof v2);
    cr_expect_str_neq(v2, v1, "another seed, another split");
    /* without --group: the /group column (the photo id from --class-from-prefix) is the key,
     * and the assignment is the same */
    static char v3[65536];
    cr_assert_eq(pictor("data split all.h5 --val 0.2 --seed 1 --out-train t3.h5 "
                        "--out-val v3.h5"), 0, "%s", output());
    check_split("t3.h5", "v3.h5", total, 0.2, largest, v3, sizeof v3);
    cr_expect_str_eq(v3, v1, "zero-padded ids sort as their numbers: the same groups, the same "
                     "order");
    /* the import does it in one command, with --foreground */
    static char v4[65536];
    cr_assert_eq(pictor("data import-masks sub --images img --masks gt --class-from-prefix "
                        "--foreground --val 0.2 --group '_([0-9]+)\\.' --seed 1 "
                        "--out t4.h5 --out-val v4.h5"), 0, "%s", output());
    check_split("t4.h5", "v4.h5", total, 0.2, largest, v4, sizeof v4);
    cr_expect_str_eq(v4, v1, "the same split as import + split");
    r = open_ok("v4.h5");
    cr_expect_eq(store_num_classes(r), 1);
    cr_expect_str_eq(store_class_name(r, 0), "foreground");
    store_close(r);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c import > /dev/null", g_dir);
    cr_expect_neq(system(cmd), 0, "no temp file left");
}

/* import-folder with --val: ROOT/<class>/<scene>_<view>.png, grouped by scene across classes */
Test(data_split, import_folder_with_a_split)
{
    char err[512];
    uint8_t px[8 * 8 * 3];
    memset(px, 90, sizeof px);
    mkdir(path_in("root"), 0755);
    mkdir(path_in("root/cat"), 0755);
    mkdir(path_in("root/dog"), 0755);
    int n = 0;
    for (int scene = 0; scene < 20; scene++)
        for (int view = 0; view < 1 + scene % 3; view++, n++) {
            char rel[64];
            snprintf(rel, sizeof rel, "root/%s/s%02d_v%d.png", view % 2 ? "dog" : "cat", scene,
                     view);
            px[0] = (uint8_t)n;
            cr_assert_eq(image_write_png(path_in(rel), px, 8, 8, 3, err, sizeof err), 0, "%s",
                         err);
        }
    cr_assert_eq(pictor("data import-folder root --val 0.25 --group '^[a-z]+/(s[0-9]+)_' "
                        "--seed 5 --out t.h5 --out-val v.h5"), 0, "%s", output());
    store_reader *t = open_ok("t.h5"), *v = open_ok("v.h5");
    char **nt = NULL, **nv = NULL;
    cr_assert_eq(store_file_names(t, &nt, err, sizeof err), 1, "%s", err);
    cr_assert_eq(store_file_names(v, &nv, err, sizeof err), 1, "%s", err);
    cr_expect_eq(store_count(t) + store_count(v), n);
    cr_expect_leq(fabs((double)store_count(v) - 0.25 * n), 1.5, "%lld of %d",
                  (long long)store_count(v), n);
    for (int64_t i = 0; i < store_count(t); i++) {
        cr_expect(strstr(nt[i], "/s") != NULL, "relative path with its class: %s", nt[i]);
        for (int64_t j = 0; j < store_count(v); j++)
            cr_expect(strncmp(strchr(nt[i], '/'), strchr(nv[j], '/'), 4) != 0,
                      "scene of %s on both sides (%s)", nt[i], nv[j]);
    }
    cr_expect_eq(store_num_classes(v), 2);
    store_free_names(nt, store_count(t));
    store_free_names(nv, store_count(v));
    store_close(t);
    store_close(v);
}

Test(data_split, cli_foreground_and_errors)
{
    write_small("small.h5");
    cr_assert_eq(pictor("data foreground small.h5 --out fg.h5"), 0, "%s", output());
    cr_expect(strstr(output(), "6 items"), "%s", output());
    expect_foreground_of("small.h5", "fg.h5");
    /* --foreground on a synthetic instance set: 7 shape classes become one */
    cr_assert_eq(pictor("data synth shapes --n 3 --size 32 --foreground --out s.h5"), 0, "%s",
                 output());
    store_reader *r = open_ok("s.h5");
    cr_expect_eq(store_num_classes(r), 1);
    cr_expect_eq(store_count(r), 3);
    sample x;
    sample_init(&x);
    char err[512];
    cr_assert_eq(store_read(r, 0, STORE_INSTANCES, &x, err, sizeof err), 0, "%s", err);
    cr_expect_gt(x.n_instances, 0);
    for (int k = 0; k < x.n_instances; k++)
        cr_expect_eq(x.instances[k].class_id, 0);
    sample_free(&x);
    store_close(r);
    cr_expect_eq(pictor("data synth fmnist-domains --n 3 --foreground --out d.h5"), 1);
    cr_expect(strstr(output(), "--foreground applies to shapes and fmnist-canvas only"), "%s",
              output());
    /* a bad regex names the option; --val outside (0, 1); a split option without --val */
    cr_expect_eq(pictor("data split small.h5 --val 0.1 --group '([0-9]' --out-train a.h5 "
                        "--out-val b.h5"), 1);
    cr_expect(strstr(output(), "--group: invalid regular expression '([0-9]'"), "%s", output());
    cr_expect_eq(pictor("data split small.h5 --val 1.5 --out-train a.h5 --out-val b.h5"), 1);
    cr_expect(strstr(output(), "--val expects a number in (0, 1), got '1.5'"), "%s", output());
    cr_expect_eq(pictor("data split small.h5 --val 0 --out-train a.h5 --out-val b.h5"), 1);
    cr_expect(strstr(output(), "got '0'"), "%s", output());
    cr_expect_eq(pictor("data split small.h5 --val 0.5"), 1);
    cr_expect(strstr(output(), "--out-train A.h5 and --out-val B.h5 are required"), "%s",
              output());
    cr_expect_eq(pictor("data import-masks x --group 'a' --out y.h5"), 1);
    cr_expect(strstr(output(), "--group applies to a split only"), "%s", output());
    cr_expect_eq(pictor("data import-masks x --val 0.1 --out y.h5"), 1);
    cr_expect(strstr(output(), "--val F and --out-val FILE.h5 go together"), "%s", output());
    /* the table's usage: did you mean, and every option in --help */
    cr_expect_eq(pictor("data import-masks x --class-form-prefix --out y.h5"), 1);
    cr_expect(strstr(output(), "unknown option '--class-form-prefix' (did you mean "
                               "'--class-from-prefix'?)"), "%s", output());
    cr_expect_eq(pictor("data import-masks --help"), 0);
    const char *opts[] = {"--images DIR", "--masks DIR", "--class-from-prefix", "--grey",
                          "--limit N", "--foreground", "--val F", "--group REGEX", "--seed S",
                          "--out-val FILE.h5", "--out FILE.h5"};
    for (size_t k = 0; k < sizeof opts / sizeof *opts; k++)
        cr_expect(strstr(output(), opts[k]), "'%s' in: %s", opts[k], output());
    cr_expect_eq(pictor("data help"), 0);
    const char *cmds[] = {"info FILE.h5", "import-idx", "import-folder ROOT", "import-masks ROOT",
                          "import-coco --json FILE --images DIR", "synth KIND",
                          "filter-sketches IN.h5", "foreground IN.h5", "split IN.h5"};
    for (size_t k = 0; k < sizeof cmds / sizeof *cmds; k++)
        cr_expect(strstr(output(), cmds[k]), "'%s' in: %s", cmds[k], output());
    cr_expect(!exists("a.h5") && !exists("b.h5") && !exists("y.h5"));
}

/* ---------------------------------------------------------------- the parser itself */

typedef struct {
    int64_t length;
    double rate;
    const char *out, *checked;
    int mode, verbose;
    cliopt_list tags;
} t_args;

static int set_checked(void *field, const char *value, char *err, size_t errlen)
{
    if (strchr(value, ' '))
        return err_fail(err, errlen, "no spaces please, got '%s'", value);
    *(const char **)field = value;
    return 0;
}

static const cliopt T_OPTS[] = {
    {"--length", CLIOPT_INT, offsetof(t_args, length), "N", .min = 1, .max = 100,
     .doc = "how long"},
    {"--rate", CLIOPT_DOUBLE, offsetof(t_args, rate), "R", .min = 0, .max = 1,
     .flags = CLIOPT_OPEN_MIN, .doc = "how fast"},
    {"--mode", CLIOPT_ENUM, offsetof(t_args, mode), .choices = "fast|slow|auto", .doc = "which"},
    {"--verbose", CLIOPT_FLAG, offsetof(t_args, verbose), .doc = "say more"},
    {"--tag", CLIOPT_REPEAT, offsetof(t_args, tags), "T", .doc = "a tag"},
    {"--checked", CLIOPT_STRING, offsetof(t_args, checked), "S", .set = set_checked,
     .doc = "checked by a setter"},
    {"--out", CLIOPT_STRING, offsetof(t_args, out), "FILE", .flags = CLIOPT_REQUIRED,
     .doc = "where"},
    {0}};
static const clicmd T_CMD = {"tcmd", "IN", "which input? (IN)", "a test command", T_OPTS};

/* Parse a space-separated command line (no quoting); returns cliopt_parse's result. */
static int t_parse(const char *line, t_args *a, cliopt_result *res, char *err, size_t errlen)
{
    static char buf[1024];
    static char *argv[64];
    snprintf(buf, sizeof buf, "tcmd %s", line);
    int argc = 0;
    for (char *p = strtok(buf, " "); p && argc < 64; p = strtok(NULL, " "))
        argv[argc++] = p;
    cliopt_list_free(&a->tags);
    memset(a, 0, sizeof *a);
    a->length = 7;
    return cliopt_parse(&T_CMD, argc, argv, a, res, err, errlen);
}

static void expect_error(const char *line, const char *message)
{
    t_args a = {0};
    cliopt_result res;
    char err[512] = "";
    cr_expect_eq(t_parse(line, &a, &res, err, sizeof err), CLIOPT_ERROR, "%s", line);
    cr_expect_str_eq(err, message, "%s", line);
    cliopt_list_free(&a.tags);
}

Test(data_split, parser_values_and_messages)
{
    t_args a = {0};
    cliopt_result res;
    char err[512];
    cr_assert_eq(t_parse("in.txt --length 12 --rate=0.5 --mode slow --verbose --tag x --tag y "
                         "--checked ok --out o.h5", &a, &res, err, sizeof err), CLIOPT_OK, "%s",
                 err);
    cr_expect_eq(a.length, 12);
    cr_expect_eq(a.rate, 0.5);
    cr_expect_eq(a.mode, 1);
    cr_expect_eq(a.verbose, 1);
    cr_assert_eq(a.tags.n, 2);
    cr_expect_str_eq(a.tags.v[1], "y");
    cr_expect_str_eq(a.checked, "ok");
    cr_expect_str_eq(a.out, "o.h5");
    cr_expect_str_eq(res.positional, "in.txt");
    cr_expect_str_eq(cliopt_given(&T_CMD, &res, "--rate"), "--rate");
    cr_expect_null(cliopt_given(&T_CMD, &res, "--nothing"));
    /* defaults stay when an option is absent; -h anywhere is help */
    cr_assert_eq(t_parse("in --out o", &a, &res, err, sizeof err), CLIOPT_OK, "%s", err);
    cr_expect_eq(a.length, 7);
    cr_expect_null(cliopt_given(&T_CMD, &res, "--length"));
    cr_expect_eq(t_parse("--bogus -h", &a, &res, err, sizeof err), CLIOPT_HELP);
    cliopt_list_free(&a.tags);

    expect_error("in --lenght 3 --out o", "unknown option '--lenght' (did you mean '--length'?)");
    expect_error("in --verb --out o", "unknown option '--verb' (did you mean '--verbose'?)");
    expect_error("in --hlep", "unknown option '--hlep' (did you mean '--help'?)");
    expect_error("in --zzzzzz --out o", "unknown option '--zzzzzz' (see --help)");
    expect_error("in --out", "--out expects a value");
    expect_error("in --length 0 --out o", "--length expects an integer in [1, 100], got '0'");
    expect_error("in --length 101 --out o", "--length expects an integer in [1, 100], got '101'");
    expect_error("in --length 5x --out o", "--length expects an integer in [1, 100], got '5x'");
    expect_error("in --rate 0 --out o", "--rate expects a number in (0, 1], got '0'");
    expect_error("in --rate nan --out o", "--rate expects a number in (0, 1], got 'nan'");
    expect_error("in --mode quick --out o", "--mode expects fast, slow or auto, got 'quick'");
    expect_error("in --verbose=1 --out o", "--verbose takes no value");
    expect_error("in --checked a b --out o", "unexpected argument 'b'");
    expect_error("in in2 --out o", "unexpected argument 'in2'");
    expect_error("--out o", "which input? (IN)");
    expect_error("in", "--out FILE is required");
    /* the setter's message follows the option */
    t_args b = {0};
    const char *argv[] = {"tcmd", "in", "--checked", "a b", "--out", "o"};
    cr_expect_eq(cliopt_parse(&T_CMD, 6, (char **)argv, &b, &res, err, sizeof err),
                 CLIOPT_ERROR);
    cr_expect_str_eq(err, "--checked: no spaces please, got 'a b'");
    cliopt_list_free(&b.tags);
}

Test(data_split, parser_usage_lists_every_option)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    cliopt_usage(f, &T_CMD, 0);
    fclose(f);
    cr_expect(strstr(text, "  tcmd IN [--length N] [--rate R] [--mode fast|slow|auto] "
                           "[--verbose] [--tag T]... [--checked S]\n       --out FILE\n"),
              "wrapped at 100 columns, under the first option:\n%s", text);
    for (int k = 0; T_OPTS[k].name; k++) {
        char line[256];
        snprintf(line, sizeof line, "%s", T_OPTS[k].doc);
        cr_expect(strstr(text, T_OPTS[k].name), "'%s' in:\n%s", T_OPTS[k].name, text);
        cr_expect(strstr(text, line), "'%s' in:\n%s", line, text);
    }
    cr_expect(strstr(text, "how long; 1..100"), "%s", text);
    cr_expect(strstr(text, "how fast; in (0, 1]"), "%s", text);
    cr_expect(strstr(text, "where (required)"), "%s", text);
    free(text);
    /* brief: the synopsis and the summary only */
    f = open_memstream(&text, &len);
    cliopt_usage(f, &T_CMD, 1);
    fclose(f);
    cr_expect(strstr(text, "a test command") && strstr(text, "--checked S") &&
              !strstr(text, "how long"), "%s", text);
    free(text);
}
