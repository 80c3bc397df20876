/* test_sketch_filter.c - Criterion tests for the screening of hand drawings (data/sketch_filter.c)
 * and its command `pictor data filter-sketches` (tools/cmd_data.c).
 *
 * Owns: the completeness score on hand-made tiny images (a full outline, half of it erased, the
 * tolerance, the image frame, the darkness threshold, grey vs RGB), the gap cutter, the
 * validation of the default threshold on synthetic drawings with outline gaps of known size
 * (precision and recall of "dropped = low quality", printed with cr_log_info), and the CLI on
 * small files (exit codes, report files, the kept file's content).
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "helpers.h"
#include "codec/idx.h"
#include "codec/image.h"
#include "base/rng.h"
#include "curate/sketch_filter.h"
#include "store/store.h"
#include "synth/synth_domains.h"

static char *g_dir;

static void setup(void) { g_dir = tst_tmpdir(); cr_assert_not_null(g_dir); }
static void teardown(void) { tst_rmtree(g_dir); }

TestSuite(sketch_filter, .init = setup, .fini = teardown, .timeout = 120);

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
    return stat(path_in(rel), &st) == 0 && st.st_size > 0;
}

/* ---------------------------------------------------------------- tiny hand-made images */

#define W 12
#define H 12

/* The mask of the square [x0, x1] x [y0, y1] (inclusive). */
static void square_mask(uint8_t *m, int x0, int y0, int x1, int y1)
{
    memset(m, 0, W * H);
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            m[y * W + x] = 1;
}

/* White paper with a dark 1-px ring on the square [x0, x1] x [y0, y1]. */
static void ring_drawing(uint8_t *img, int x0, int y0, int x1, int y1)
{
    memset(img, 255, W * H);
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            if (x == x0 || x == x1 || y == y0 || y == y1)
                img[y * W + x] = 0;
}

Test(sketch_filter, full_outline_is_complete)
{
    uint8_t m[W * H], img[W * H];
    square_mask(m, 3, 3, 8, 8);
    ring_drawing(img, 3, 3, 8, 8);
    for (int t = 0; t <= 3; t++)
        cr_expect_float_eq(sketch_completeness(img, m, W, H, t), 1.0, 1e-12, "tolerance %d", t);
    /* a blank page has nothing */
    memset(img, 255, sizeof img);
    cr_expect_float_eq(sketch_completeness(img, m, W, H, 2), 0.0, 1e-12);
}

Test(sketch_filter, half_outline_erased_is_half)
{
    uint8_t m[W * H], img[W * H];
    square_mask(m, 3, 3, 8, 8); /* ring of 20 boundary pixels */
    ring_drawing(img, 3, 3, 8, 8);
    for (int y = 0; y <= 5; y++) /* erase the top half of the ring: 10 of its 20 pixels */
        for (int x = 0; x < W; x++)
            img[y * W + x] = 255;
    cr_expect_float_eq(sketch_completeness(img, m, W, H, 0), 0.5, 1e-12);
    /* with tolerance 1 the row below the cut (y = 6) also covers the boundary at y = 5 */
    cr_expect_float_eq(sketch_completeness(img, m, W, H, 1), 12.0 / 20.0, 1e-12);
    uint8_t status[W * H];
    double c = sketch_outline_status(img, 1, m, W, H, 0, status);
    cr_expect_float_eq(c, 0.5, 1e-12);
    cr_expect_eq(status[3 * W + 3], SKETCH_MISSED);
    cr_expect_eq(status[8 * W + 3], SKETCH_COVERED);
    cr_expect_eq(status[5 * W + 5], SKETCH_NOT_BOUNDARY); /* inside */
    cr_expect_eq(status[0], SKETCH_NOT_BOUNDARY);         /* outside */
}

Test(sketch_filter, tolerance_reaches_strokes_drawn_off_the_outline)
{
    uint8_t m[W * H], img[W * H];
    square_mask(m, 4, 4, 7, 7);
    ring_drawing(img, 2, 2, 9, 9); /* two pixels outside the region */
    cr_expect_float_eq(sketch_completeness(img, m, W, H, 0), 0.0, 1e-12);
    cr_expect_float_eq(sketch_completeness(img, m, W, H, 1), 0.0, 1e-12);
    cr_expect_float_eq(sketch_completeness(img, m, W, H, 2), 1.0, 1e-12);
    /* a ring one pixel outside: every boundary pixel has a ring pixel at distance 1 */
    ring_drawing(img, 3, 3, 8, 8);
    cr_expect_float_eq(sketch_completeness(img, m, W, H, 1), 1.0, 1e-12);
    cr_expect_float_eq(sketch_completeness(img, m, W, H, 0), 0.0, 1e-12);
}

Test(sketch_filter, image_frame_is_not_an_outline)
{
    uint8_t m[W * H], img[W * H];
    /* the left half of the image: its only outline is the column x = 5 */
    memset(m, 0, sizeof m);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W / 2; x++)
            m[y * W + x] = 1;
    memset(img, 255, sizeof img);
    for (int y = 0; y < H; y++)
        img[y * W + 5] = 10;
    cr_expect_float_eq(sketch_completeness(img, m, W, H, 0), 1.0, 1e-12);
    for (int y = 0; y < H / 2; y++) /* erase the upper half of the line */
        img[y * W + 5] = 255;
    cr_expect_float_eq(sketch_completeness(img, m, W, H, 0), 0.5, 1e-12);
    /* no outline at all: an empty mask, a mask covering the image */
    memset(m, 0, sizeof m);
    cr_expect(isnan(sketch_completeness(img, m, W, H, 2)));
    memset(m, 1, sizeof m);
    cr_expect(isnan(sketch_completeness(img, m, W, H, 2)));
}

Test(sketch_filter, darkness_threshold_and_rgb)
{
    uint8_t m[W * H], img[W * H], rgb[W * H * 3];
    square_mask(m, 3, 3, 8, 8);
    ring_drawing(img, 3, 3, 8, 8);
    for (int p = 0; p < W * H; p++)
        if (img[p] == 0)
            img[p] = SKETCH_DARK - 1; /* still a stroke */
    cr_expect_float_eq(sketch_completeness(img, m, W, H, 0), 1.0, 1e-12);
    for (int p = 0; p < W * H; p++)
        if (img[p] == SKETCH_DARK - 1)
            img[p] = SKETCH_DARK; /* light grey: not a stroke */
    cr_expect_float_eq(sketch_completeness(img, m, W, H, 0), 0.0, 1e-12);
    /* RGB: a dark blue pen counts, a yellow one (light) does not */
    ring_drawing(img, 3, 3, 8, 8);
    for (int p = 0; p < W * H; p++) {
        rgb[3 * p] = img[p] ? 255 : 20;
        rgb[3 * p + 1] = img[p] ? 255 : 30;
        rgb[3 * p + 2] = img[p] ? 255 : 160;
    }
    cr_expect_float_eq(sketch_outline_status(rgb, 3, m, W, H, 0, NULL), 1.0, 1e-12);
    for (int p = 0; p < W * H; p++)
        if (!img[p])
            rgb[3 * p] = 250, rgb[3 * p + 1] = 230, rgb[3 * p + 2] = 40;
    cr_expect_float_eq(sketch_outline_status(rgb, 3, m, W, H, 0, NULL), 0.0, 1e-12);
    /* bad arguments */
    cr_expect_eq(sketch_outline_status(img, 2, m, W, H, 0, NULL), -1);
    cr_expect_eq(sketch_outline_status(img, 1, m, W, H, -1, NULL), -1);
    cr_expect_eq(sketch_outline_status(NULL, 1, m, W, H, 0, NULL), -1);
}

Test(sketch_filter, cut_gap_removes_a_contiguous_stretch)
{
    uint8_t m[W * H], img[W * H];
    square_mask(m, 2, 2, 9, 9); /* ring of 28 boundary pixels */
    ring_drawing(img, 2, 2, 9, 9);
    int got = sketch_cut_gap(img, 1, m, W, H, 0.25, 0, 3);
    cr_assert_eq(got, 7); /* round(0.25 * 28) */
    cr_expect_float_eq(sketch_completeness(img, m, W, H, 0), 21.0 / 28.0, 1e-12);
    /* the erased stroke pixels form one run along the ring: exactly two ring pixels are the
     * ends of the remaining stroke (one dark 8-neighbour on the ring) */
    int ends = 0;
    for (int y = 2; y <= 9; y++)
        for (int x = 2; x <= 9; x++) {
            if (img[y * W + x] != 0)
                continue;
            int nb = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                    if ((dx || dy) && img[(y + dy) * W + x + dx] == 0)
                        nb++;
            ends += nb == 1;
        }
    cr_expect_eq(ends, 2);
    /* nothing cut */
    ring_drawing(img, 2, 2, 9, 9);
    cr_expect_eq(sketch_cut_gap(img, 1, m, W, H, 0.0, 5, 3), 0);
    cr_expect_float_eq(sketch_completeness(img, m, W, H, 0), 1.0, 1e-12);
    /* all of it */
    cr_expect_eq(sketch_cut_gap(img, 1, m, W, H, 1.0, 5, 3), 28);
    cr_expect_float_eq(sketch_completeness(img, m, W, H, 2), 0.0, 1e-12);
}

/* ---------------------------------------------------------------- validation */

/* Gap levels 0%, 5%, ..., 50% of the outline; "low quality" = more than 10% missing. */
#define GAP_LEVELS 11
#define LOW_QUALITY_GAP 0.10
#define GAP_REACH 4

typedef struct {
    int tp, fp, fn, tn;
} confusion;

static double precision_of(const confusion *c)
{
    return c->tp + c->fp ? (double)c->tp / (c->tp + c->fp) : 1.0;
}
static double recall_of(const confusion *c)
{
    return c->tp + c->fn ? (double)c->tp / (c->tp + c->fn) : 1.0;
}

/* Score one synthetic drawing of Fashion-MNIST test item `item` with a gap of `gap` cut in. */
static double gapped_score(const idx_array *img, int item, double gap, uint64_t start)
{
    synth_item it;
    char err[256];
    cr_assert_eq(synth_render_item((const uint8_t *)img->data + (size_t)item * 784, 28, 28,
                                   SYNTH_DEFAULT_SIZE, 7, item, &it, err, sizeof err), 0, "%s",
                 err);
    int n = it.size;
    cr_assert_geq(sketch_cut_gap(it.image[SYNTH_HAND_DRAWN], 3, it.mask, n, n, gap, start,
                                 GAP_REACH), 0);
    double s = sketch_outline_status(it.image[SYNTH_HAND_DRAWN], 3, it.mask, n, n,
                                     SKETCH_DEFAULT_TOLERANCE, NULL);
    synth_item_free(&it);
    return s;
}

static void count(confusion *c, double gap, double score)
{
    int low = gap > LOW_QUALITY_GAP + 1e-9, dropped = score < SKETCH_DEFAULT_MIN_COMPLETENESS;
    c->tp += low && dropped;
    c->fp += !low && dropped;
    c->fn += low && !dropped;
    c->tn += !low && !dropped;
}

Test(sketch_filter, default_threshold_separates_gapped_drawings)
{
    idx_array img = {0}, lab = {0};
    char err[512];
    if (idx_load_fashion_mnist(NULL, 0, &img, &lab, err, sizeof err))
        cr_skip_test("Fashion-MNIST not installed: %s", err);
    /* 220 cases: 20 per gap level, on 220 different items spread over the test split */
    enum { CASES = 220 };
    confusion c = {0};
    double sum[GAP_LEVELS] = {0}, lo[GAP_LEVELS], hi[GAP_LEVELS];
    for (int l = 0; l < GAP_LEVELS; l++)
        lo[l] = 1, hi[l] = 0;
    for (int j = 0; j < CASES; j++) {
        int level = j % GAP_LEVELS, item = (int)((j * 7919L) % 10000);
        double gap = 0.05 * level;
        prng r;
        uint64_t keys[2] = {2024, (uint64_t)j};
        prng_seed_keys(&r, keys, 2);
        double s = gapped_score(&img, item, gap, prng_next(&r));
        cr_assert(!isnan(s), "item %d has no outline", item);
        count(&c, gap, s);
        sum[level] += s;
        lo[level] = s < lo[level] ? s : lo[level];
        hi[level] = s > hi[level] ? s : hi[level];
    }
    for (int l = 0; l < GAP_LEVELS; l++)
        cr_log_info("sketch_filter validation: gap %2d%% of the outline: completeness mean %.3f "
                    "(min %.3f, max %.3f)", 5 * l, sum[l] / (CASES / GAP_LEVELS), lo[l], hi[l]);
    double p = precision_of(&c), rc = recall_of(&c);
    cr_log_info("sketch_filter validation (%d drawings, gaps 0-50%% in steps of 5%%, low quality "
                "= gap > 10%%, min completeness %.2f, tolerance %d px): precision %.4f, recall "
                "%.4f (tp %d, fp %d, fn %d, tn %d)", CASES, SKETCH_DEFAULT_MIN_COMPLETENESS,
                SKETCH_DEFAULT_TOLERANCE, p, rc, c.tp, c.fp, c.fn, c.tn);
    cr_expect_geq(p, 0.95, "precision %.4f", p);
    cr_expect_geq(rc, 0.95, "recall %.4f", rc);
    /* the score follows the gap: the mean drops about 5 points per 5% of gap */
    for (int l = 1; l < GAP_LEVELS; l++)
        cr_expect_lt(sum[l], sum[l - 1], "gap level %d", l);
    cr_expect_gt(sum[0] / (CASES / GAP_LEVELS), 0.98);
    cr_expect_float_eq(sum[GAP_LEVELS - 1] / (CASES / GAP_LEVELS), 0.5, 0.05);

    /* gaps of any size in [0, 50%]: errors only near the 10% line, so a little lower */
    confusion u = {0};
    for (int j = 0; j < CASES; j++) {
        prng r;
        uint64_t keys[2] = {77, (uint64_t)j};
        prng_seed_keys(&r, keys, 2);
        double gap = prng_range(&r, 0, 0.5);
        int item = (int)((j * 4813L + 17) % 10000);
        count(&u, gap, gapped_score(&img, item, gap, prng_next(&r)));
    }
    cr_log_info("sketch_filter validation (%d drawings, gaps uniform in 0-50%%): precision "
                "%.4f, recall %.4f (tp %d, fp %d, fn %d, tn %d)", CASES, precision_of(&u),
                recall_of(&u), u.tp, u.fp, u.fn, u.tn);
    cr_expect_geq(precision_of(&u), 0.9);
    cr_expect_geq(recall_of(&u), 0.9);
    idx_free(&img);
    idx_free(&lab);
}

/* ---------------------------------------------------------------- the command */

/* Run `pictor ARGS` in the test folder, output to out.txt; returns the exit status. */
static int pictor(const char *args)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/pictor' %s >'%s/out.txt' 2>&1", g_dir,
             PICTOR_BINARY_DIR, args, g_dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *read_text(const char *rel)
{
    uint8_t *data = NULL;
    size_t len = 0;
    char err[512];
    if (image_read_file(path_in(rel), &data, &len, err, sizeof err))
        return strdup("");
    return (char *)data;
}

/* A small dataset of n Fashion-MNIST items in the three domains (domain names unless
 * no_domains), with a 40% outline gap cut into the hand drawings of odd items. Returns the
 * number of gapped drawings. */
static int write_input(const char *rel, int n, int no_domains, int with_masks)
{
    idx_array img = {0}, lab = {0};
    char err[512];
    if (idx_load_fashion_mnist(NULL, 0, &img, &lab, err, sizeof err))
        cr_skip_test("Fashion-MNIST not installed: %s", err);
    store_options so = {.images = STORE_ENCODED, .channels = 3,
                        .annotations = with_masks ? STORE_MASK : 0, .masks = STORE_ENCODED,
                        .source = "test"};
    store_writer *w = store_create(path_in(rel), &so, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(store_set_class_names(w, SYNTH_FMNIST_CLASSES, 10, err, sizeof err), 0);
    if (!no_domains)
        cr_assert_eq(store_set_domain_names(w, SYNTH_DOMAIN_NAMES, 3, err, sizeof err), 0);
    int gapped = 0;
    for (int i = 0; i < n; i++) {
        synth_item it;
        cr_assert_eq(synth_render_item((const uint8_t *)img.data + (size_t)i * 784, 28, 28, 48,
                                       3, i, &it, err, sizeof err), 0, "%s", err);
        if (i % 2) {
            cr_assert_gt(sketch_cut_gap(it.image[SYNTH_HAND_DRAWN], 3, it.mask, 48, 48, 0.4, i,
                                        GAP_REACH), 0);
            gapped++;
        }
        for (int d = no_domains ? SYNTH_HAND_DRAWN : 0;
             d < (no_domains ? SYNTH_HAND_DRAWN + 1 : SYNTH_N_DOMAINS); d++) {
            sample s;
            sample_init(&s);
            s.h = s.w = 48, s.c = 3;
            s.image = it.image[d];
            s.mask = with_masks ? it.mask : NULL;
            s.label = ((const uint8_t *)lab.data)[i];
            s.domain = no_domains ? -1 : d;
            s.group = i;
            cr_assert_eq(store_append(w, &s, err, sizeof err), 0, "%s", err);
        }
        synth_item_free(&it);
    }
    cr_assert_eq(store_commit(w, err, sizeof err), 0, "%s", err);
    idx_free(&img);
    idx_free(&lab);
    return gapped;
}

Test(sketch_filter, cli_drops_gapped_drawings_and_writes_the_report)
{
    int gapped = write_input("in.h5", 12, 0, 1);
    int rc = pictor("data filter-sketches in.h5 --out kept.h5 --report rep");
    char *out = read_text("out.txt");
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_expect(strstr(out, "kept") && strstr(out, "dropped 6"), "%s", out);
    free(out);
    cr_expect(exists("rep/scores.csv"));
    cr_expect(exists("rep/histogram.png"));
    cr_expect(exists("rep/contact_sheet.png"));
    cr_expect(exists("rep/summary.txt"));
    char *csv = read_text("rep/scores.csv");
    int lines = 0, dropped = 0;
    for (char *p = csv; *p; p++) {
        lines += *p == '\n';
        dropped += p[0] == ',' && p[1] == '0' && p[2] == '\n'; /* kept = 0 */
    }
    cr_expect_eq(lines, 1 + 12, "%s", csv); /* header + one line per hand drawing */
    cr_expect_eq(dropped, gapped, "%s", csv);
    cr_expect(!strncmp(csv, "index,label,domain,completeness,kept\n", 37));
    free(csv);
    char err[512];
    store_reader *r = store_open(path_in("kept.h5"), err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_expect_eq(store_count(r), 36 - gapped);
    cr_expect_eq(store_num_domains(r), 3);
    cr_expect_str_eq(store_domain_name(r, 1), "hand_drawn");
    cr_expect_eq(store_num_classes(r), 10);
    int per_domain[3] = {0};
    for (int64_t i = 0; i < store_count(r); i++) {
        per_domain[store_domains(r)[i]]++;
        if (store_domains(r)[i] == SYNTH_HAND_DRAWN)
            cr_expect_eq(store_groups(r)[i] % 2, 0, "a gapped drawing was kept");
    }
    cr_expect_eq(per_domain[0], 12);
    cr_expect_eq(per_domain[1], 12 - gapped);
    cr_expect_eq(per_domain[2], 12);
    /* images are copied as stored (PNG bytes), masks kept */
    store_reader *in = store_open(path_in("in.h5"), err, sizeof err);
    cr_assert_not_null(in, "%s", err);
    uint8_t *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    cr_assert_eq(store_read_image_bytes(in, 0, &a, &la, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_read_image_bytes(r, 0, &b, &lb, err, sizeof err), 0, "%s", err);
    cr_expect(la == lb && !memcmp(a, b, la));
    free(a), free(b);
    sample s;
    sample_init(&s);
    cr_assert_eq(store_read(r, 1, STORE_READ_ALL, &s, err, sizeof err), 0, "%s", err);
    cr_expect_not_null(s.mask);
    sample_free(&s);
    store_close(in);
    store_close(r);

    /* a stricter threshold drops more; a lax one keeps every drawing */
    cr_assert_eq(pictor("data filter-sketches in.h5 --out all.h5 --report rep2 "
                        "--min-completeness 0 --tolerance 3"), 0);
    r = store_open(path_in("all.h5"), err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_expect_eq(store_count(r), 36);
    store_close(r);
}

Test(sketch_filter, cli_screens_every_item_of_a_file_without_domains)
{
    int gapped = write_input("nodom.h5", 8, 1, 1);
    int rc = pictor("data filter-sketches nodom.h5 --out kept.h5 --report rep");
    char *out = read_text("out.txt");
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_expect(strstr(out, "every item screened"), "%s", out);
    free(out);
    char err[512];
    store_reader *r = store_open(path_in("kept.h5"), err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_expect_eq(store_count(r), 8 - gapped);
    store_close(r);
    /* a threshold no pen drawing reaches (every boundary pixel inked exactly): all dropped,
     * an empty but valid dataset */
    cr_assert_eq(pictor("data filter-sketches nodom.h5 --out none.h5 --report rep3 "
                        "--min-completeness 1 --tolerance 0"), 0);
    r = store_open(path_in("none.h5"), err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_expect_eq(store_count(r), 0);
    cr_expect_eq(store_num_classes(r), 10);
    store_close(r);
    cr_expect(exists("rep3/contact_sheet.png"));
}

Test(sketch_filter, cli_user_errors)
{
    cr_expect_eq(pictor("data filter-sketches missing.h5 --out kept.h5 --report rep"), 1);
    char *out = read_text("out.txt");
    cr_expect(strstr(out, "missing.h5"), "the message names the file: %s", out);
    free(out);
    cr_expect(!exists("kept.h5"));
    cr_expect_eq(pictor("data filter-sketches --out kept.h5 --report rep"), 1);
    write_input("in.h5", 2, 0, 1);
    cr_expect_eq(pictor("data filter-sketches in.h5 --report rep"), 1);
    cr_expect_eq(pictor("data filter-sketches in.h5 --out kept.h5"), 1);
    cr_expect_eq(pictor("data filter-sketches in.h5 --out in.h5 --report rep"), 1);
    cr_expect_eq(pictor("data filter-sketches in.h5 --out kept.h5 --report rep "
                        "--min-completeness 1.5"), 1);
    cr_expect_eq(pictor("data filter-sketches in.h5 --out kept.h5 --report rep --tolerance -1"),
                 1);
    cr_expect_eq(pictor("data filter-sketches in.h5 --out kept.h5 --report rep --domain sketch"),
                 1);
    out = read_text("out.txt");
    cr_expect(strstr(out, "'hand_drawn'"), "the message lists the domains: %s", out);
    free(out);
    write_input("nomask.h5", 2, 0, 0);
    cr_expect_eq(pictor("data filter-sketches nomask.h5 --out kept.h5 --report rep"), 1);
    out = read_text("out.txt");
    cr_expect(strstr(out, "mask"), "%s", out);
    free(out);
    cr_expect(!exists("kept.h5"));
}
