/* test_synth_domains.c - Criterion tests for the three-domain Fashion-MNIST data set
 * (data/synth_domains.c) and `pictor data synth fmnist-domains` (tools/cmd_data.c).
 *
 * Owns: the silhouette and contour tracing on hand-made masks, determinism (same seed and index
 * give the same bytes; another seed another drawing, the same photo), what each domain looks
 * like in numbers (photo = the upscaled original, drawing = dark strokes on white along the
 * outline, cartoon = several flat colours with a dark outline), and the data set built by the
 * library and by the CLI (counts, names, masks, groups, one domain per item, exit codes).
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
#include "curate/sketch_filter.h"
#include "store/store.h"
#include "synth/synth_domains.h"

static char *g_dir;
static idx_array g_img, g_lab;

static void setup(void)
{
    g_dir = tst_tmpdir();
    cr_assert_not_null(g_dir);
}
static void teardown(void)
{
    tst_rmtree(g_dir);
    idx_free(&g_img);
    idx_free(&g_lab);
}

TestSuite(synth_domains, .init = setup, .fini = teardown, .timeout = 120);

static const char *path_in(const char *rel)
{
    static _Thread_local char buf[8][4096];
    static _Thread_local int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, rel);
    return buf[k];
}

static void load_fmnist(void)
{
    char err[512];
    if (idx_load_fashion_mnist(NULL, 0, &g_img, &g_lab, err, sizeof err))
        cr_skip_test("Fashion-MNIST not installed: %s", err);
}

static const uint8_t *fmnist_item(int i) { return (const uint8_t *)g_img.data + (size_t)i * 784; }

static void render(int i, uint64_t seed, int size, synth_item *it)
{
    char err[256];
    cr_assert_eq(synth_render_item(fmnist_item(i), 28, 28, size, seed, i, it, err, sizeof err), 0,
                 "%s", err);
}

/* ---------------------------------------------------------------- pieces */

Test(synth_domains, silhouette_fills_holes_and_drops_specks)
{
    enum { N = 40 };
    uint8_t grey[N * N] = {0}, mask[N * N];
    for (int y = 10; y < 30; y++) /* a bright ring (hole inside) */
        for (int x = 10; x < 30; x++)
            grey[y * N + x] = (x < 14 || x >= 26 || y < 14 || y >= 26) ? 200 : 0;
    grey[2 * N + 2] = 255; /* a speck of 1 pixel */
    cr_assert_eq(synth_silhouette(grey, N, mask), 0);
    int area = 0;
    for (int p = 0; p < N * N; p++)
        area += mask[p];
    cr_expect_eq(area, 20 * 20, "the ring with its hole filled, without the speck");
    cr_expect_eq(mask[20 * N + 20], 1);
    cr_expect_eq(mask[2 * N + 2], 0);
}

Test(synth_domains, contour_of_a_square_is_its_ring_clockwise)
{
    enum { N = 10 };
    uint8_t mask[N * N] = {0};
    for (int y = 2; y <= 6; y++)
        for (int x = 3; x <= 7; x++)
            mask[y * N + x] = 1;
    mask[9 * N + 9] = 1; /* a second component: one pixel */
    synth_contour *c = NULL;
    int k = synth_trace_contours(mask, N, N, &c);
    cr_assert_eq(k, 2);
    cr_expect_eq(c[0].n, 16, "the 5x5 square's ring has 16 pixels");
    cr_expect_eq(c[0].xy[0], 3);
    cr_expect_eq(c[0].xy[1], 2);
    cr_expect_eq(c[0].xy[2], 4, "clockwise (y down): east first along the top row");
    cr_expect_eq(c[0].xy[3], 2);
    for (int i = 0; i < c[0].n; i++) { /* every point on the ring, each once */
        int x = c[0].xy[2 * i], y = c[0].xy[2 * i + 1];
        cr_expect(x == 3 || x == 7 || y == 2 || y == 6);
        for (int j = 0; j < i; j++)
            cr_expect(!(c[0].xy[2 * j] == x && c[0].xy[2 * j + 1] == y));
    }
    cr_expect_eq(c[1].n, 1);
    synth_contours_free(c, k);
    uint8_t empty[N * N] = {0};
    cr_expect_eq(synth_trace_contours(empty, N, N, &c), 0);
    cr_expect_null(c);
}

/* ---------------------------------------------------------------- one item */

Test(synth_domains, rendering_is_deterministic)
{
    load_fmnist();
    synth_item a, b, c;
    render(42, 5, 64, &a);
    render(42, 5, 64, &b);
    render(42, 6, 64, &c);
    size_t n = 64 * 64;
    cr_expect(!memcmp(a.mask, b.mask, n));
    for (int d = 0; d < SYNTH_N_DOMAINS; d++)
        cr_expect(!memcmp(a.image[d], b.image[d], 3 * n), "domain %d differs", d);
    cr_expect(!memcmp(a.image[SYNTH_PHOTO], c.image[SYNTH_PHOTO], 3 * n), "photos ignore the seed");
    cr_expect(!memcmp(a.mask, c.mask, n));
    cr_expect(memcmp(a.image[SYNTH_HAND_DRAWN], c.image[SYNTH_HAND_DRAWN], 3 * n),
              "another seed draws another drawing");
    cr_expect(memcmp(a.image[SYNTH_CARTOON], c.image[SYNTH_CARTOON], 3 * n));
    synth_item_free(&a);
    synth_item_free(&b);
    synth_item_free(&c);
}

static int distinct_colours(const uint8_t *rgb, const uint8_t *mask, size_t n)
{
    int k = 0;
    uint32_t seen[64];
    for (size_t p = 0; p < n && k < 64; p++) {
        if (!mask[p])
            continue;
        uint32_t v = (uint32_t)rgb[3 * p] << 16 | (uint32_t)rgb[3 * p + 1] << 8 | rgb[3 * p + 2];
        int j = 0;
        while (j < k && seen[j] != v)
            j++;
        if (j == k)
            seen[k++] = v;
    }
    return k;
}

Test(synth_domains, the_domains_look_like_what_they_claim)
{
    load_fmnist();
    for (int i = 0; i < 30; i++) {
        synth_item it;
        render(i, 1, 64, &it);
        size_t n = 64 * 64, inside = 0, paper = 0, ink = 0, grey_px = 0;
        const uint8_t *ph = it.image[SYNTH_PHOTO], *hd = it.image[SYNTH_HAND_DRAWN];
        for (size_t p = 0; p < n; p++) {
            inside += it.mask[p];
            paper += hd[3 * p] == 255;
            ink += hd[3 * p] < SKETCH_DARK;
            grey_px += ph[3 * p] == ph[3 * p + 1] && ph[3 * p] == ph[3 * p + 2] &&
                       hd[3 * p] == hd[3 * p + 1] && hd[3 * p] == hd[3 * p + 2];
        }
        cr_expect_gt(inside, n / 20, "item %d: a mask of %zu pixels", i, inside);
        cr_expect_eq(grey_px, n, "item %d: photo and drawing are grey", i);
        /* the photo is the upscaled original: its top-left pixel is the original's */
        cr_expect_leq(abs((int)ph[0] - fmnist_item(i)[0]), 1);
        /* a drawing: mostly white paper, some ink, all of the outline covered */
        cr_expect_gt(paper, n / 2, "item %d", i);
        cr_expect_gt(ink, n / 50, "item %d", i);
        cr_expect_lt(ink, n / 3, "item %d", i);
        double c = sketch_outline_status(hd, 3, it.mask, 64, 64, SKETCH_DEFAULT_TOLERANCE, NULL);
        cr_expect_geq(c, 0.93, "item %d: a clean drawing covers its outline (%.3f)", i, c);
        /* a cartoon: a few flat colours inside (fills, region lines, outline), a plain
         * background outside (and the outline's colour next to the object) */
        int inner = distinct_colours(it.image[SYNTH_CARTOON], it.mask, n);
        cr_expect(inner >= 2 && inner <= 6, "item %d: %d colours inside", i, inner);
        uint8_t *outside = malloc(n);
        for (size_t p = 0; p < n; p++)
            outside[p] = !it.mask[p];
        cr_expect_leq(distinct_colours(it.image[SYNTH_CARTOON], outside, n), 2, "item %d", i);
        free(outside);
        synth_item_free(&it);
    }
}

Test(synth_domains, bad_size_is_an_error)
{
    load_fmnist();
    synth_item it;
    char err[256];
    cr_expect_eq(synth_render_item(fmnist_item(0), 28, 28, 8, 0, 0, &it, err, sizeof err), -1);
    cr_expect(strstr(err, "size"), "%s", err);
    cr_expect_null(it.mask);
    render(0, 0, 28, &it);
    synth_item_free(&it);
    render(0, 0, 128, &it);
    synth_item_free(&it);
}

/* ---------------------------------------------------------------- the data set */

static store_reader *open_ok(const char *rel)
{
    char err[512];
    store_reader *r = store_open(path_in(rel), err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    return r;
}

static int build(const char *rel, int64_t n, uint64_t seed, int one_domain)
{
    synth_fmnist_options o = {.train = 0, .seed = seed, .size = 32,
                              .one_domain_per_item = one_domain};
    o.common.out = path_in(rel);
    o.common.limit = n;
    import_report rep;
    char err[512];
    int rc = synth_fmnist_domains(&o, &rep, err, sizeof err);
    cr_assert_eq(rc, IMPORT_OK, "%s", err);
    cr_expect_eq(rep.seen, n);
    import_report_free(&rep);
    return rc;
}

Test(synth_domains, dataset_has_three_named_domains_masks_and_groups)
{
    load_fmnist();
    build("a.h5", 20, 3, 0);
    store_reader *r = open_ok("a.h5");
    const store_layout *L = store_layout_of(r);
    cr_assert_eq(store_count(r), 60);
    cr_expect_eq(L->o.images, STORE_RAW);
    cr_expect_eq(L->o.channels, 3);
    cr_expect_eq(L->o.height, 32);
    cr_expect(L->o.annotations & STORE_MASK);
    cr_assert_eq(store_num_domains(r), 3);
    cr_expect_str_eq(store_domain_name(r, 0), "photo");
    cr_expect_str_eq(store_domain_name(r, 1), "hand_drawn");
    cr_expect_str_eq(store_domain_name(r, 2), "cartoon");
    cr_assert_eq(store_num_classes(r), 10);
    cr_expect_str_eq(store_class_name(r, 0), "T-shirt/top");
    cr_expect_str_eq(store_class_name(r, 9), "Ankle boot");
    char err[512];
    uint8_t *first_mask = NULL;
    for (int64_t i = 0; i < 60; i++) {
        cr_expect_eq(store_domains(r)[i], i % 3);
        cr_expect_eq(store_groups(r)[i], i / 3);
        cr_expect_eq(store_labels(r)[i], ((const uint8_t *)g_lab.data)[i / 3]);
        sample s;
        sample_init(&s);
        cr_assert_eq(store_read(r, i, STORE_READ_ALL, &s, err, sizeof err), 0, "%s", err);
        int area = 0;
        for (int p = 0; p < 32 * 32; p++)
            area += s.mask[p];
        cr_expect_gt(area, 20, "item %lld: empty mask", (long long)i);
        if (i % 3 == 0) { /* the three renderings of one item share the mask */
            free(first_mask);
            first_mask = s.mask;
            s.mask = NULL;
        } else {
            cr_expect(!memcmp(first_mask, s.mask, 32 * 32));
        }
        sample_free(&s);
    }
    free(first_mask);
    store_close(r);
}

/* Every stored byte (images and masks) of two files equal. */
static void expect_same_items(const char *a, const char *b)
{
    store_reader *ra = open_ok(a), *rb = open_ok(b);
    cr_assert_eq(store_count(ra), store_count(rb));
    char err[512];
    for (int64_t i = 0; i < store_count(ra); i++) {
        uint8_t *x = NULL, *y = NULL;
        size_t lx = 0, ly = 0;
        cr_assert_eq(store_read_image_bytes(ra, i, &x, &lx, err, sizeof err), 0, "%s", err);
        cr_assert_eq(store_read_image_bytes(rb, i, &y, &ly, err, sizeof err), 0, "%s", err);
        cr_expect(lx == ly && !memcmp(x, y, lx), "item %lld differs", (long long)i);
        free(x), free(y);
        sample s, t;
        sample_init(&s), sample_init(&t);
        cr_assert_eq(store_read(ra, i, STORE_MASK, &s, err, sizeof err), 0, "%s", err);
        cr_assert_eq(store_read(rb, i, STORE_MASK, &t, err, sizeof err), 0, "%s", err);
        cr_expect(!memcmp(s.mask, t.mask, (size_t)s.h * s.w));
        cr_expect_eq(store_labels(ra)[i], store_labels(rb)[i]);
        cr_expect_eq(store_domains(ra)[i], store_domains(rb)[i]);
        sample_free(&s), sample_free(&t);
    }
    store_close(ra);
    store_close(rb);
}

Test(synth_domains, dataset_is_deterministic_for_a_seed)
{
    load_fmnist();
    build("a.h5", 150, 11, 0); /* more than one render block of 128 items */
    build("b.h5", 150, 11, 0);
    expect_same_items("a.h5", "b.h5");
}

Test(synth_domains, one_domain_per_item)
{
    load_fmnist();
    build("one.h5", 30, 0, 1);
    store_reader *r = open_ok("one.h5");
    cr_assert_eq(store_count(r), 30);
    for (int64_t i = 0; i < 30; i++) {
        cr_expect_eq(store_domains(r)[i], i % 3);
        cr_expect_eq(store_groups(r)[i], i);
    }
    store_close(r);
}

/* ---------------------------------------------------------------- the command */

static int pictor(const char *args)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/pictor' %s >'%s/out.txt' 2>&1", g_dir,
             PICTOR_BINARY_DIR, args, g_dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Test(synth_domains, cli_builds_the_dataset_and_a_preview)
{
    load_fmnist();
    cr_assert_eq(pictor("data synth fmnist-domains --split test --n 40 --seed 3 --size 32 "
                        "--out cli.h5 --preview preview.png"), 0);
    build("lib.h5", 40, 3, 0);
    expect_same_items("cli.h5", "lib.h5");
    uint8_t *png = NULL, *px = NULL;
    size_t len = 0;
    int h, w, c;
    char err[512];
    cr_assert_eq(image_read_file(path_in("preview.png"), &png, &len, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(image_decode(png, len, 3, &px, &h, &w, &c, err, sizeof err), 0, "%s", err);
    cr_expect_gt(w, h, "a sheet of 10 columns (classes) and 4 rows (3 domains + mask)");
    free(png);
    free(px);
    /* user errors: exit 1 and nothing written */
    cr_expect_eq(pictor("data synth --out x.h5"), 1);
    cr_expect_eq(pictor("data synth mnist --out x.h5"), 1);
    cr_expect_eq(pictor("data synth fmnist-domains"), 1);
    cr_expect_eq(pictor("data synth fmnist-domains --out x.h5 --size 8"), 1);
    cr_expect_eq(pictor("data synth fmnist-domains --out x.h5 --split dev"), 1);
    cr_expect_eq(pictor("data synth fmnist-domains --out x.h5 --n 0"), 1);
    cr_expect_eq(pictor("data synth fmnist-domains --out x.h5 --dir /nonexistent --n 2"), 1);
    struct stat st;
    cr_expect_neq(stat(path_in("x.h5"), &st), 0);
}
