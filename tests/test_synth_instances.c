/* test_synth_instances.c - Criterion tests for the synthetic multi-instance data sets
 * (data/synth_instances.c) and `pictor data synth shapes|fmnist-canvas` (tools/cmd_data.c).
 *
 * Owns: the invariants of every scene (1..N instances, valid classes, non-empty disjoint masks
 * inside the image, occlusion within its limit), what the scenes look like in numbers (every
 * class, objects cut by the border and occluded, masks whose pixels differ from the background
 * around them and from touching objects, ring holes), determinism and the disjoint splits,
 * fmnist-canvas items against their Fashion-MNIST source (label, pixels, split), the stored
 * data set against the rendered scenes, the command line (outputs, `data info`, exit codes and
 * messages) and interrupted or failed writes.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "codec/idx.h"
#include "store/store.h"
#include "synth/synth_domains.h"
#include "synth/synth_instances.h"

static char *g_dir;

static void setup(void)
{
    g_dir = tst_tmpdir();
    cr_assert_not_null(g_dir);
}
static void teardown(void) { tst_rmtree(g_dir); }

TestSuite(synth_instances, .init = setup, .fini = teardown, .timeout = 120);

static const char *path_in(const char *rel)
{
    static _Thread_local char buf[8][4096];
    static _Thread_local int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, rel);
    return buf[k];
}

static void shapes(int size, int channels, uint64_t seed, int train, int64_t index,
                   synth_scene *s)
{
    char err[256];
    cr_assert_eq(synth_shapes_scene(size, channels, seed, train, index, s, err, sizeof err), 0,
                 "%s", err);
}

/* The invariants every scene keeps, whatever its kind. */
static void expect_valid_scene(const synth_scene *s, int n_classes, int max_instances,
                               const char *what)
{
    int size = s->size;
    size_t np = (size_t)size * size;
    cr_assert(s->n >= 1 && s->n <= max_instances, "%s: %d instances", what, s->n);
    uint8_t *seen = calloc(np, 1);
    for (int k = 0; k < s->n; k++) {
        const synth_scene_instance *in = &s->inst[k];
        cr_expect(in->class_id >= 0 && in->class_id < n_classes, "%s: class %d", what,
                  (int)in->class_id);
        int64_t area = 0;
        for (size_t p = 0; p < np; p++) {
            cr_assert(in->mask[p] <= 1, "%s: mask value %d", what, in->mask[p]);
            area += in->mask[p];
            if (in->mask[p]) {
                cr_expect(!seen[p], "%s: instance %d overlaps an earlier one at pixel %zu",
                          what, k, p);
                seen[p] = 1;
                int x = (int)(p % size), y = (int)(p / size);
                cr_expect(x >= in->x0 && x < in->x1 && y >= in->y0 && y < in->y1,
                          "%s: instance %d has a pixel outside its drawn box", what, k);
            }
        }
        cr_expect_eq(area, in->area, "%s: instance %d", what, k);
        cr_expect_geq(area, SYNTH_SCENE_MIN_AREA, "%s: instance %d", what, k);
        cr_expect_leq(area, in->drawn_area);
        cr_expect_geq(area, (int64_t)ceil(SYNTH_SCENE_MIN_VISIBLE * (double)in->drawn_area),
                      "%s: instance %d is hidden beyond the limit (%lld of %lld)", what, k,
                      (long long)area, (long long)in->drawn_area);
    }
    free(seen);
}

/* Mean colour (sum of channels / channels, per channel into m) of the pixels where sel[p]. */
static int64_t mean_colour(const synth_scene *s, const uint8_t *sel, double m[3])
{
    int64_t n = 0;
    m[0] = m[1] = m[2] = 0;
    for (size_t p = 0; p < (size_t)s->size * s->size; p++) {
        if (!sel[p])
            continue;
        for (int c = 0; c < s->channels; c++)
            m[c] += s->image[p * s->channels + c];
        n++;
    }
    for (int c = 0; c < 3 && n; c++)
        m[c] /= (double)n;
    return n;
}

static double distance(const double a[3], const double b[3], int channels)
{
    double d = 0;
    for (int c = 0; c < channels; c++)
        d += (a[c] - b[c]) * (a[c] - b[c]);
    return sqrt(d);
}

/* The background pixels (no instance) within 2 pixels of instance k's mask. */
static void background_ring(const synth_scene *s, int k, uint8_t *ring)
{
    int n = s->size;
    memset(ring, 0, (size_t)n * n);
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            int p = y * n + x, taken = 0;
            for (int j = 0; j < s->n; j++)
                taken |= s->inst[j].mask[p];
            if (taken)
                continue;
            for (int dy = -2; dy <= 2 && !ring[p]; dy++)
                for (int dx = -2; dx <= 2; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx >= 0 && yy >= 0 && xx < n && yy < n && s->inst[k].mask[yy * n + xx]) {
                        ring[p] = 1;
                        break;
                    }
                }
        }
}

static int touching(const synth_scene *s, int a, int b)
{
    int n = s->size;
    for (int p = 0; p < n * n; p++) {
        if (!s->inst[a].mask[p])
            continue;
        int x = p % n, y = p / n;
        if ((x + 1 < n && s->inst[b].mask[p + 1]) || (x > 0 && s->inst[b].mask[p - 1]) ||
            (y + 1 < n && s->inst[b].mask[p + n]) || (y > 0 && s->inst[b].mask[p - n]))
            return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- shapes scenes */

Test(synth_instances, shapes_scenes_are_valid_varied_and_visible)
{
    enum { SIZE = 128, RGB_SCENES = 150, GREY_SCENES = 40 };
    int per_class[SYNTH_N_SHAPES] = {0}, instances = 0, cut = 0, occluded = 0, small = 0,
        large = 0, rings_checked = 0, discs_checked = 0, pairs = 0;
    int count_seen[SYNTH_SHAPES_MAX_OBJECTS + 1] = {0};
    double worst_bg = 1e9, worst_pair = 1e9;
    uint8_t *ring = malloc(SIZE * SIZE);
    for (int i = 0; i < RGB_SCENES + GREY_SCENES; i++) {
        int channels = i < RGB_SCENES ? 3 : 1;
        synth_scene s;
        shapes(SIZE, channels, 21, 1, i, &s);
        char what[64];
        snprintf(what, sizeof what, "scene %d (%s)", i, channels == 3 ? "RGB" : "grey");
        expect_valid_scene(&s, SYNTH_N_SHAPES, SYNTH_SHAPES_MAX_OBJECTS, what);
        cr_expect_eq(s.channels, channels);
        count_seen[s.n]++;
        for (int k = 0; k < s.n; k++) {
            const synth_scene_instance *in = &s.inst[k];
            instances++;
            per_class[in->class_id]++;
            int inside = in->x0 >= 0 && in->y0 >= 0 && in->x1 <= SIZE && in->y1 <= SIZE;
            cut += !inside;
            occluded += in->area < in->drawn_area;
            int w = in->x1 - in->x0;
            small += w <= 16;
            large += w >= 64;
            /* the mask's pixels look different from the background right around them */
            background_ring(&s, k, ring);
            double m_in[3], m_out[3];
            mean_colour(&s, in->mask, m_in);
            if (mean_colour(&s, ring, m_out) >= 10) {
                double d = distance(m_in, m_out, channels);
                worst_bg = d < worst_bg ? d : worst_bg;
                cr_expect_gt(d, channels == 3 ? 40 : 20, "%s instance %d: colour distance %.1f "
                             "from the background around it", what, k, d);
            }
            /* geometry: a whole ring has a hole at its centre, a whole ellipse does not */
            int cx = (in->x0 + in->x1) / 2, cy = (in->y0 + in->y1) / 2;
            if (inside && in->area == in->drawn_area && w >= 20) {
                if (in->class_id == SYNTH_SHAPE_RING) {
                    cr_expect_eq(in->mask[cy * SIZE + cx], 0, "%s: ring %d without a hole", what,
                                 k);
                    rings_checked++;
                } else if (in->class_id == SYNTH_SHAPE_ELLIPSE) {
                    cr_expect_eq(in->mask[cy * SIZE + cx], 1, "%s: ellipse %d", what, k);
                    discs_checked++;
                }
            }
            for (int j = 0; j < k; j++)
                if (touching(&s, j, k)) {
                    double m_j[3];
                    mean_colour(&s, s.inst[j].mask, m_j);
                    double d = distance(m_in, m_j, channels);
                    worst_pair = d < worst_pair ? d : worst_pair;
                    pairs++;
                    cr_expect_gt(d, channels == 3 ? 30 : 12, "%s: touching instances %d and %d "
                                 "look alike (%.1f)", what, j, k, d);
                }
        }
        synth_scene_free(&s);
    }
    free(ring);
    int scenes = RGB_SCENES + GREY_SCENES;
    for (int c = 0; c < SYNTH_N_SHAPES; c++)
        cr_expect_gt(per_class[c], instances / SYNTH_N_SHAPES / 2, "class %s: %d of %d",
                     SYNTH_SHAPE_CLASSES[c], per_class[c], instances);
    for (int n = 1; n <= SYNTH_SHAPES_MAX_OBJECTS; n++)
        cr_expect_gt(count_seen[n], 0, "no scene with %d instances", n);
    double mean = (double)instances / scenes;
    cr_expect(mean > 2.5 && mean < 4.5, "%.2f instances per scene", mean);
    cr_expect_gt(cut, instances / 10, "objects cut by the border: %d of %d", cut, instances);
    cr_expect_gt(occluded, instances / 20, "occluded: %d of %d", occluded, instances);
    cr_expect_gt(small, instances / 10, "small objects: %d", small);
    cr_expect_gt(large, instances / 20, "large objects: %d", large);
    cr_expect_gt(rings_checked, 3);
    cr_expect_gt(discs_checked, 3);
    cr_expect_gt(pairs, 20, "touching pairs: %d", pairs);
    cr_log_info("shapes: %d instances in %d scenes, %d cut, %d occluded, contrast >= %.1f, "
                "pairs >= %.1f", instances, scenes, cut, occluded, worst_bg, worst_pair);
}

Test(synth_instances, scenes_are_deterministic_and_the_splits_differ)
{
    synth_scene a, b, c, d, e;
    shapes(96, 3, 7, 1, 3, &a);
    shapes(96, 3, 7, 1, 3, &b);
    shapes(96, 3, 7, 0, 3, &c); /* test split */
    shapes(96, 3, 8, 1, 3, &d); /* another seed */
    shapes(96, 3, 7, 1, 4, &e); /* another index */
    size_t np = 96 * 96;
    cr_assert_eq(a.n, b.n);
    cr_expect(!memcmp(a.image, b.image, 3 * np));
    for (int k = 0; k < a.n; k++) {
        cr_expect_eq(a.inst[k].class_id, b.inst[k].class_id);
        cr_expect(!memcmp(a.inst[k].mask, b.inst[k].mask, np));
    }
    cr_expect(memcmp(a.image, c.image, 3 * np), "train and test scene 3 are the same");
    cr_expect(memcmp(a.image, d.image, 3 * np));
    cr_expect(memcmp(a.image, e.image, 3 * np));
    synth_scene *all[5] = {&a, &b, &c, &d, &e};
    for (int k = 0; k < 5; k++)
        synth_scene_free(all[k]);
    /* bad arguments: a message, an empty scene */
    char err[256];
    cr_expect_eq(synth_shapes_scene(16, 3, 0, 1, 0, &a, err, sizeof err), -1);
    cr_expect(strstr(err, "size 16 out of range [32, 1024]"), "%s", err);
    cr_expect_null(a.image);
    cr_expect_eq(synth_shapes_scene(64, 2, 0, 1, 0, &a, err, sizeof err), -1);
    cr_expect(strstr(err, "channels"), "%s", err);
    cr_expect_eq(a.n, 0);
    synth_scene_free(&a);
    uint8_t blank[28 * 28] = {0}, label = 3;
    cr_expect_eq(synth_canvas_scene(blank, &label, 1, 28, 28, 64, 3, 0, 1, 0, &a, err,
                                    sizeof err), -1, "an item with no foreground");
    cr_expect(strstr(err, "source item 0"), "%s", err);
    cr_expect_eq(synth_canvas_scene(NULL, &label, 0, 28, 28, 64, 3, 0, 1, 0, &a, err,
                                    sizeof err), -1);
    cr_expect(strstr(err, "no source items"), "%s", err);
    /* the two smallest and a large size render */
    shapes(32, 1, 0, 1, 0, &a);
    expect_valid_scene(&a, SYNTH_N_SHAPES, SYNTH_SHAPES_MAX_OBJECTS, "size 32");
    synth_scene_free(&a);
    shapes(512, 3, 0, 0, 1, &a);
    expect_valid_scene(&a, SYNTH_N_SHAPES, SYNTH_SHAPES_MAX_OBJECTS, "size 512");
    synth_scene_free(&a);
}

/* ---------------------------------------------------------------- fmnist-canvas scenes */

static idx_array g_img, g_lab;

static void load_fmnist(int train)
{
    char err[512];
    idx_free(&g_img);
    idx_free(&g_lab);
    if (idx_load_fashion_mnist(NULL, train, &g_img, &g_lab, err, sizeof err))
        cr_skip_test("Fashion-MNIST not installed: %s", err);
}

static void canvas(int size, int channels, uint64_t seed, int train, int64_t index,
                   synth_scene *s)
{
    char err[256];
    cr_assert_eq(synth_canvas_scene(g_img.data, g_lab.data, g_img.dims[0], 28, 28, size,
                                    channels, seed, train, index, s, err, sizeof err), 0, "%s",
                 err);
}

/* Pearson correlation of two series. */
static double correlation(const double *a, const double *b, int n)
{
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++)
        ma += a[i], mb += b[i];
    ma /= n, mb /= n;
    for (int i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0;
}

Test(synth_instances, canvas_items_are_their_fashion_mnist_source)
{
    load_fmnist(0);
    enum { SIZE = 128, SCENES = 60 };
    const uint8_t *labels = g_lab.data, *pix = g_img.data;
    int instances = 0, correlated = 0, checked = 0;
    double worst_corr = 1, worst_cover = 1;
    double *img = malloc(SIZE * SIZE * sizeof *img), *src = malloc(SIZE * SIZE * sizeof *src);
    for (int i = 0; i < SCENES; i++) {
        synth_scene s;
        canvas(SIZE, i % 2 ? 3 : 1, 4, 0, i, &s);
        char what[64];
        snprintf(what, sizeof what, "canvas %d", i);
        expect_valid_scene(&s, 10, SYNTH_CANVAS_MAX_ITEMS, what);
        for (int k = 0; k < s.n; k++) {
            const synth_scene_instance *in = &s.inst[k];
            instances++;
            cr_assert(in->source >= 0 && in->source < 10000, "%s: source %lld", what,
                      (long long)in->source);
            cr_expect_eq(in->class_id, labels[in->source], "%s: instance %d has class %d, its "
                         "item %lld label %d", what, k, (int)in->class_id,
                         (long long)in->source, labels[in->source]);
            int n = in->x1 - in->x0;
            cr_expect(n == in->y1 - in->y0 && n >= 24 && n <= 64, "%s: item pasted at %d px",
                      what, n);
            /* the visible pixels show the item: its grey levels (nearest source pixel) explain
             * the image's brightness there, and its silhouette at 28 px covers the mask */
            const uint8_t *item = pix + (size_t)in->source * 784;
            uint8_t sil[28 * 28];
            cr_assert_eq(synth_silhouette(item, 28, sil), 0);
            int m = 0, covered = 0;
            for (int p = 0; p < SIZE * SIZE; p++) {
                if (!in->mask[p])
                    continue;
                int lx = p % SIZE - in->x0, ly = p / SIZE - in->y0;
                int sx = (int)((lx + 0.5) * 28 / n), sy = (int)((ly + 0.5) * 28 / n);
                int near = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int xx = sx + dx, yy = sy + dy;
                        if (xx >= 0 && yy >= 0 && xx < 28 && yy < 28 && sil[yy * 28 + xx])
                            near = 1;
                    }
                covered += near;
                double v = 0;
                for (int c = 0; c < s.channels; c++)
                    v += s.image[(size_t)p * s.channels + c];
                img[m] = v, src[m] = item[sy * 28 + sx];
                m++;
            }
            double cover = (double)covered / m;
            worst_cover = cover < worst_cover ? cover : worst_cover;
            cr_expect_gt(cover, 0.9, "%s: instance %d: %.2f of the mask on the item", what, k,
                         cover);
            if (m >= 150) {
                double r = correlation(img, src, m);
                checked++;
                correlated += r > 0.8;
                worst_corr = r < worst_corr ? r : worst_corr;
            }
        }
        synth_scene_free(&s);
    }
    free(img), free(src);
    cr_expect_geq(instances, SCENES * 2.5, "%d items in %d canvases", instances, SCENES);
    cr_expect_gt(checked, SCENES);
    cr_expect_geq(correlated, checked * 0.95, "%d of %d items correlate with their source",
                  correlated, checked);
    cr_log_info("canvas: %d items, mask on the item >= %.3f, correlation >= %.3f (%d of %d > "
                "0.8)", instances, worst_cover, worst_corr, correlated, checked);
    idx_free(&g_img);
    idx_free(&g_lab);
}

/* ---------------------------------------------------------------- the data sets */

static store_reader *open_ok(const char *rel)
{
    char err[512];
    store_reader *r = store_open(path_in(rel), err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    return r;
}

static void build(const char *rel, synth_scene_kind kind, int64_t n, uint64_t seed, int train,
                  int size, int channels)
{
    synth_instances_options o = {.kind = kind, .train = train, .seed = seed, .size = size,
                                 .channels = channels};
    o.common.out = path_in(rel);
    o.common.limit = n;
    import_report rep;
    char err[512];
    int rc = synth_instances(&o, &rep, err, sizeof err);
    cr_assert_eq(rc, IMPORT_OK, "%s", err);
    cr_expect_eq(rep.written, n);
    import_report_free(&rep);
}

/* Item i of the file equals the scene: image, instance classes and masks, group i. */
static void expect_item_is_scene(store_reader *r, int64_t i, const synth_scene *sc)
{
    char err[512];
    sample s;
    sample_init(&s);
    cr_assert_eq(store_read(r, i, STORE_READ_ALL, &s, err, sizeof err), 0, "%s", err);
    size_t np = (size_t)sc->size * sc->size;
    cr_assert(s.h == sc->size && s.w == sc->size && s.c == sc->channels);
    cr_expect(!memcmp(s.image, sc->image, np * (size_t)sc->channels), "item %lld image",
              (long long)i);
    cr_expect_eq(s.group, i);
    cr_expect_eq(s.label, -1);
    cr_expect_eq(s.domain, -1);
    cr_assert_eq(s.n_instances, sc->n, "item %lld", (long long)i);
    for (int k = 0; k < sc->n; k++) {
        cr_expect_eq(s.instances[k].class_id, sc->inst[k].class_id);
        cr_assert_not_null(s.instances[k].mask);
        cr_expect(!memcmp(s.instances[k].mask, sc->inst[k].mask, np), "item %lld instance %d",
                  (long long)i, k);
        cr_expect_eq(s.instances[k].n_polygons, 0);
    }
    sample_free(&s);
}

Test(synth_instances, shapes_dataset_holds_the_scenes_and_a_disjoint_test_split)
{
    enum { N = 12, SIZE = 64 };
    build("a.h5", SYNTH_SCENE_SHAPES, N, 5, 1, SIZE, 3);
    build("test.h5", SYNTH_SCENE_SHAPES, N, 5, 0, SIZE, 3);
    store_reader *r = open_ok("a.h5"), *t = open_ok("test.h5");
    const store_layout *L = store_layout_of(r);
    cr_assert_eq(store_count(r), N);
    cr_expect_eq(L->o.images, STORE_RAW);
    cr_expect_eq(L->o.channels, 3);
    cr_expect_eq(L->o.height, SIZE);
    cr_expect_eq(L->o.annotations, (unsigned)STORE_INSTANCES);
    cr_assert_eq(store_num_classes(r), SYNTH_N_SHAPES);
    for (int c = 0; c < SYNTH_N_SHAPES; c++)
        cr_expect_str_eq(store_class_name(r, c), SYNTH_SHAPE_CLASSES[c]);
    cr_expect_str_eq(store_class_name(r, SYNTH_SHAPE_RING), "ring");
    int64_t total = 0;
    char err[512];
    for (int64_t i = 0; i < N; i++) {
        synth_scene sc;
        shapes(SIZE, 3, 5, 1, i, &sc);
        expect_item_is_scene(r, i, &sc);
        total += sc.n;
        synth_scene_free(&sc);
        /* no test image equals any train image */
        uint8_t *x = NULL;
        size_t lx = 0;
        cr_assert_eq(store_read_image_bytes(r, i, &x, &lx, err, sizeof err), 0, "%s", err);
        for (int64_t j = 0; j < N; j++) {
            uint8_t *y = NULL;
            size_t ly = 0;
            cr_assert_eq(store_read_image_bytes(t, j, &y, &ly, err, sizeof err), 0, "%s", err);
            cr_expect(lx != ly || memcmp(x, y, lx), "train %lld == test %lld", (long long)i,
                      (long long)j);
            free(y);
        }
        free(x);
    }
    cr_expect_eq(L->n_instances, total);
    store_close(r);
    store_close(t);
}

Test(synth_instances, canvas_dataset_draws_each_split_from_its_own_fashion_mnist_set)
{
    enum { N = 4, SIZE = 96 };
    for (int train = 0; train <= 1; train++) {
        load_fmnist(train);
        const char *rel = train ? "train.h5" : "test.h5";
        build(rel, SYNTH_SCENE_FMNIST_CANVAS, N, 9, train, SIZE, 1);
        store_reader *r = open_ok(rel);
        cr_expect_eq(store_layout_of(r)->o.channels, 1);
        cr_assert_eq(store_num_classes(r), 10);
        cr_expect_str_eq(store_class_name(r, 0), "T-shirt/top");
        cr_expect_str_eq(store_class_name(r, 9), "Ankle boot");
        for (int64_t i = 0; i < N; i++) {
            synth_scene sc;
            canvas(SIZE, 1, 9, train, i, &sc);
            expect_item_is_scene(r, i, &sc);
            synth_scene_free(&sc);
        }
        store_close(r);
    }
    idx_free(&g_img);
    idx_free(&g_lab);
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

/* The last command's output (static buffer). */
static const char *output(void)
{
    static char buf[16384];
    FILE *f = fopen(path_in("out.txt"), "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
    return buf;
}

static int exists(const char *rel)
{
    struct stat st;
    return stat(path_in(rel), &st) == 0;
}

/* Entries of the test directory whose name starts with prefix. */
static int count_entries(const char *prefix)
{
    DIR *d = opendir(g_dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += !strncmp(e->d_name, prefix, strlen(prefix));
    if (d)
        closedir(d);
    return n;
}

static void expect_user_error(const char *args, const char *message)
{
    cr_expect_eq(pictor(args), 1, "pictor %s", args);
    cr_expect(strstr(output(), message), "pictor %s: '%s' not in: %s", args, message, output());
}

Test(synth_instances, cli_builds_both_kinds_and_rejects_bad_options)
{
    cr_assert_eq(pictor("data synth shapes --n 6 --seed 2 --size 64 --out cli.h5 "
                        "--preview preview.png"), 0, "%s", output());
    char summary[1024];
    snprintf(summary, sizeof summary, "%s", output());
    cr_expect(strstr(summary, "wrote cli.h5: 6 items, 7 classes"), "%s", summary);
    cr_expect(exists("preview.png"));
    build("lib.h5", SYNTH_SCENE_SHAPES, 6, 2, 1, 64, 3);
    store_reader *a = open_ok("cli.h5"), *b = open_ok("lib.h5");
    int64_t instances = store_layout_of(a)->n_instances;
    cr_expect_eq(instances, store_layout_of(b)->n_instances);
    for (int64_t i = 0; i < 6; i++) {
        synth_scene sc;
        shapes(64, 3, 2, 1, i, &sc);
        expect_item_is_scene(a, i, &sc);
        synth_scene_free(&sc);
    }
    store_close(a);
    store_close(b);
    char line[128];
    snprintf(line, sizeof line, "instances: %lld written", (long long)instances);
    cr_expect(strstr(summary, line), "'%s' not in: %s", line, summary);
    cr_assert_eq(pictor("data info cli.h5"), 0, "%s", output());
    snprintf(line, sizeof line, "instances: %lld in 6 items", (long long)instances);
    cr_expect(strstr(output(), line), "'%s' not in: %s", line, output());
    cr_expect(strstr(output(), "crescent"), "%s", output());

    char err[512];
    idx_array probe = {0}, probe_labels = {0};
    int have_fmnist = idx_load_fashion_mnist(NULL, 0, &probe, &probe_labels, err, sizeof err) == 0;
    idx_free(&probe);
    idx_free(&probe_labels);
    if (have_fmnist) {
        cr_assert_eq(pictor("data synth fmnist-canvas --split test --n 3 --grey --size 64 "
                            "--out canvas.h5"), 0, "%s", output());
        store_reader *r = open_ok("canvas.h5");
        cr_expect_eq(store_count(r), 3);
        cr_expect_eq(store_layout_of(r)->o.channels, 1);
        cr_expect_eq(store_num_classes(r), 10);
        store_close(r);
    }

    /* each pictor run loads libtorch (about a second): the errors that matter most */
    expect_user_error("data synth squares --out x.h5", "unknown data set 'squares'");
    expect_user_error("data synth shapes --out x.h5 --size 8",
                      "--size expects an integer in [32, 1024], got 8");
    expect_user_error("data synth shapes --out x.h5 --n 0", "--n expects an integer in [1,");
    expect_user_error("data synth shapes --out x.h5 --cut-gaps 0.5",
                      "--cut-gaps applies to fmnist-domains only");
    expect_user_error("data synth fmnist-canvas --out x.h5 --n 2 --idx-dir /nonexistent",
                      "/nonexistent");
    cr_expect(!exists("x.h5"));
    cr_expect_eq(count_entries("x.h5"), 0, "no temp file left");
}

Test(synth_instances, interrupted_or_failed_writes_leave_no_file)
{
    /* the library: cancelled before the first scene, and an output folder that is missing */
    volatile sig_atomic_t cancel = 1;
    synth_instances_options o = {.kind = SYNTH_SCENE_SHAPES, .train = 1, .size = 64};
    o.common.out = path_in("cancelled.h5");
    o.common.limit = 5;
    o.common.cancel = &cancel;
    import_report rep;
    char err[512];
    cr_expect_eq(synth_instances(&o, &rep, err, sizeof err), IMPORT_CANCELLED);
    cr_expect(strstr(err, "interrupted; nothing written"), "%s", err);
    import_report_free(&rep);
    cr_expect_eq(count_entries("cancelled.h5"), 0);
    o.common.cancel = NULL;
    o.common.out = path_in("missing/dir/x.h5");
    cr_expect_eq(synth_instances(&o, &rep, err, sizeof err), IMPORT_USER_ERROR);
    cr_expect(strstr(err, "missing/dir"), "%s", err);
    import_report_free(&rep);
    cr_expect(!exists("missing"));

    /* the command: SIGINT while it writes a long data set -> exit 130, nothing left */
    char bin[4096], out[4096];
    snprintf(bin, sizeof bin, "%s/pictor", PICTOR_BINARY_DIR);
    snprintf(out, sizeof out, "%s", path_in("big.h5"));
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(126);
        execl(bin, bin, "data", "synth", "shapes", "--n", "1000000", "--size", "64", "--out",
              out, (char *)NULL);
        _exit(127);
    }
    int started = 0;
    for (int t = 0; t < 400 && !started; t++) { /* up to 20 s for the temp file to appear */
        started = count_entries("big.h5.tmp") > 0;
        struct timespec ms50 = {0, 50 * 1000 * 1000};
        nanosleep(&ms50, NULL);
    }
    cr_expect(started, "no temp file appeared");
    kill(pid, SIGINT);
    int st = 0;
    waitpid(pid, &st, 0);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 130, "status %d", st);
    cr_expect(!exists("big.h5"));
    cr_expect_eq(count_entries("big.h5"), 0, "the temp file was left");
}
