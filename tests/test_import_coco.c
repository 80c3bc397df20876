/* test_import_coco.c - Criterion tests for the COCO instances-JSON importer (data/import_coco.c)
 * and what it is built on: the polygon rasteriser (data/raster.c) and COCO's run-length masks
 * (data/rle.c).
 *
 * Owns: analytic pixel counts of rasterised polygons (rectangles exactly, triangles within the
 * boundary tolerance, fill rules, clipping, unions); the compressed RLE string against a value
 * worked out by hand and against the independent Python encoder tests/reference/coco_rle.py;
 * a tiny COCO dataset generated here (PNG and JPEG images written with data/image.c, a corrupt,
 * a missing and a wrongly sized image) imported and read back through the store (polygons,
 * masks, class remapping and names, groups, iscrowd skip/keep, min-area, keep-empty, limit,
 * cancel); malformed JSON and missing keys; the `pictor data import-coco` command line.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "codec/image.h"
#include "import/import.h"
#include "geometry/raster.h"
#include "codec/rle.h"
#include "store/store.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static char *g_dir;

static void setup(void)
{
    tst_setup();
    g_dir = tst_tmpdir();
    cr_assert_not_null(g_dir);
}

static void teardown(void) { tst_rmtree(g_dir); }

TestSuite(import_coco, .init = setup, .fini = teardown, .timeout = 60);

static const char *path_in(const char *rel)
{
    static _Thread_local char buf[8][4096];
    static _Thread_local int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, rel);
    return buf[k];
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void write_text(const char *rel, const char *text)
{
    FILE *f = fopen(path_in(rel), "w");
    cr_assert_not_null(f, "cannot write %s", rel);
    fputs(text, f);
    fclose(f);
}

static int64_t count_ones(const uint8_t *m, size_t n) { return raster_count(m, n); }

/* Is the h x w mask exactly the pixels with x0 <= x < x1 and y0 <= y < y1? */
static int is_rect(const uint8_t *m, int h, int w, int x0, int y0, int x1, int y1)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (m[y * w + x] != (x >= x0 && x < x1 && y >= y0 && y < y1))
                return 0;
    return 1;
}

/* ---------------------------------------------------------------- rasteriser */

Test(import_coco, raster_rectangles_are_exact)
{
    enum { H = 12, W = 16 };
    uint8_t m[H * W];
    /* integer corners: exactly (x1 - x0) * (y1 - y0) pixels, and exactly those */
    const float rect[] = {2, 3, 10, 3, 10, 8, 2, 8};
    memset(m, 0, sizeof m);
    cr_assert_eq(raster_polygon(m, H, W, rect, 4, RASTER_EVEN_ODD, 1), 0);
    cr_expect_eq(count_ones(m, sizeof m), 40);
    cr_expect(is_rect(m, H, W, 2, 3, 10, 8));
    /* the same rectangle clockwise and with the non-zero rule */
    const float cw[] = {2, 3, 2, 8, 10, 8, 10, 3};
    memset(m, 0, sizeof m);
    cr_assert_eq(raster_polygon(m, H, W, cw, 4, RASTER_NONZERO, 1), 0);
    cr_expect(is_rect(m, H, W, 2, 3, 10, 8));
    /* fractional corners: pixel centres in [2.3, 9.6) x [3.7, 8.2) -> x 2..9, y 4..7 = 32 px,
     * analytic area 7.3 * 4.5 = 32.85: within half the perimeter */
    const float frac[] = {2.3f, 3.7f, 9.6f, 3.7f, 9.6f, 8.2f, 2.3f, 8.2f};
    memset(m, 0, sizeof m);
    cr_assert_eq(raster_polygon(m, H, W, frac, 4, RASTER_EVEN_ODD, 1), 0);
    cr_expect_eq(count_ones(m, sizeof m), 32);
    cr_expect(is_rect(m, H, W, 2, 4, 10, 8));
    cr_expect_leq(fabs(32 - 32.85), (7.3 + 4.5));
    /* clipped to the mask; absurd coordinates do not crash */
    const float out[] = {-5, -5, 3, -5, 3, 3, -5, 3};
    memset(m, 0, sizeof m);
    cr_assert_eq(raster_polygon(m, H, W, out, 4, RASTER_EVEN_ODD, 1), 0);
    cr_expect(is_rect(m, H, W, 0, 0, 3, 3));
    const float huge[] = {-1e30f, -1e30f, 1e30f, -1e30f, 1e30f, 1e30f, -1e30f, 1e30f};
    memset(m, 0, sizeof m);
    cr_assert_eq(raster_polygon(m, H, W, huge, 4, RASTER_EVEN_ODD, 1), 0);
    cr_expect_eq(count_ones(m, sizeof m), H * W);
    /* not finite: refused */
    const float bad[] = {0, 0, NAN, 0, 4, 4};
    cr_expect_eq(raster_polygon(m, H, W, bad, 3, RASTER_EVEN_ODD, 1), -1);
}

Test(import_coco, raster_triangle_within_boundary_tolerance)
{
    enum { N = 24 };
    uint8_t m[N * N];
    /* right triangle with legs 20 on the axes: analytic area 200; centres strictly below the
     * hypotenuse: x <= 18 - y, sum over y = 0..18 of (19 - y) = 190 */
    const float tri[] = {0, 0, 20, 0, 0, 20};
    memset(m, 0, sizeof m);
    cr_assert_eq(raster_polygon(m, N, N, tri, 3, RASTER_EVEN_ODD, 1), 0);
    int64_t n = count_ones(m, sizeof m);
    cr_expect_eq(n, 190);
    double perimeter = 20 + 20 + 20 * sqrt(2.0);
    cr_expect_leq(fabs((double)n - 200.0), perimeter / 2);
    /* a general triangle: pixel count within half the perimeter of the shoelace area */
    const float t2[] = {1.3f, 2.1f, 22.7f, 6.4f, 8.2f, 21.9f};
    memset(m, 0, sizeof m);
    cr_assert_eq(raster_polygon(m, N, N, t2, 3, RASTER_EVEN_ODD, 1), 0);
    double area = 0.5 * fabs((t2[2] - t2[0]) * (t2[5] - t2[1]) - (t2[4] - t2[0]) * (t2[3] - t2[1]));
    double per = hypot(t2[2] - t2[0], t2[3] - t2[1]) + hypot(t2[4] - t2[2], t2[5] - t2[3]) +
                 hypot(t2[0] - t2[4], t2[1] - t2[5]);
    cr_expect_leq(fabs((double)count_ones(m, sizeof m) - area), per / 2, "%lld vs %.1f",
                  (long long)count_ones(m, sizeof m), area);
}

Test(import_coco, raster_fill_rules_and_unions)
{
    enum { N = 40 };
    uint8_t eo[N * N], nz[N * N];
    /* a pentagram: its centre pentagon is wound twice (even-odd: hole, non-zero: filled) */
    float star[10];
    for (int k = 0; k < 5; k++) {
        double a = -M_PI / 2 + k * 4 * M_PI / 5; /* every second vertex of a pentagon */
        star[2 * k] = (float)(20 + 18 * cos(a));
        star[2 * k + 1] = (float)(20 + 18 * sin(a));
    }
    memset(eo, 0, sizeof eo);
    memset(nz, 0, sizeof nz);
    cr_assert_eq(raster_polygon(eo, N, N, star, 5, RASTER_EVEN_ODD, 1), 0);
    cr_assert_eq(raster_polygon(nz, N, N, star, 5, RASTER_NONZERO, 1), 0);
    cr_expect_eq(eo[20 * N + 20], 0, "centre is a hole with even-odd");
    cr_expect_eq(nz[20 * N + 20], 1, "centre is filled with non-zero");
    cr_expect_eq(eo[5 * N + 20], 1, "the top point is filled either way");
    cr_expect_eq(nz[5 * N + 20], 1);
    cr_expect_gt(count_ones(nz, sizeof nz), count_ones(eo, sizeof eo));
    /* two parts sharing an edge: a union with no pixel lost or doubled */
    float left[] = {0, 0, 4, 0, 4, 4, 0, 4}, right[] = {4, 0, 8, 0, 8, 4, 4, 4};
    polygon parts[2] = {{4, left}, {4, right}};
    memset(eo, 0, sizeof eo);
    cr_assert_eq(raster_polygons(eo, N, N, parts, 2, RASTER_EVEN_ODD, 1), 0);
    cr_expect(is_rect(eo, N, N, 0, 0, 8, 4));
    /* fewer than 3 points: nothing */
    memset(eo, 0, sizeof eo);
    cr_assert_eq(raster_polygon(eo, N, N, left, 2, RASTER_EVEN_ODD, 1), 0);
    cr_expect_eq(count_ones(eo, sizeof eo), 0);
}

/* ---------------------------------------------------------------- RLE */

/* The 4 x 5 mask whose runs (column-major) are 5 2 1 3 1 2 6. Its compressed string "52110O5"
 * was worked out by hand from the format (the 4th..7th values are the differences 3-2=1, 1-1=0,
 * 2-3=-1 -> 'O' (48 + 31, sign bit set, no continuation), 6-1=5) and printed identically by
 * `python3 tests/reference/coco_rle.py --demo`. */
static const char *DEMO_ROWS[4] = {"00110", "01110", "01100", "00000"};
static const char *DEMO_RLE = "52110O5";

static void demo_mask(uint8_t m[20])
{
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 5; x++)
            m[y * 5 + x] = DEMO_ROWS[y][x] == '1';
}

Test(import_coco, rle_known_string)
{
    uint8_t want[20], got[20];
    demo_mask(want);
    uint32_t *counts;
    size_t n;
    char err[256];
    cr_assert_eq(rle_from_string(DEMO_RLE, &counts, &n, err, sizeof err), 0, "%s", err);
    const uint32_t expect[] = {5, 2, 1, 3, 1, 2, 6};
    cr_assert_eq(n, 7);
    for (int i = 0; i < 7; i++)
        cr_expect_eq(counts[i], expect[i], "count %d", i);
    memset(got, 7, sizeof got);
    cr_assert_eq(rle_decode(counts, n, 4, 5, got, err, sizeof err), 0, "%s", err);
    cr_expect_arr_eq(got, want, sizeof want);
    char *s;
    cr_assert_eq(rle_to_string(counts, n, &s, err, sizeof err), 0);
    cr_expect_str_eq(s, DEMO_RLE);
    free(s);
    free(counts);
    cr_assert_eq(rle_encode(want, 4, 5, &counts, &n, err, sizeof err), 0);
    cr_assert_eq(n, 7);
    cr_expect_arr_eq(counts, expect, sizeof expect);
    /* wrong size, bad characters, a value cut off */
    cr_expect_eq(rle_decode(counts, n, 4, 4, got, err, sizeof err), -1);
    cr_expect(strstr(err, "sum to 20"), "%s", err);
    free(counts);
    cr_expect_eq(rle_from_string("52~", &counts, &n, err, sizeof err), -1);
    cr_expect(strstr(err, "'~' at 2"), "%s", err);
    cr_expect_eq(rle_from_string("5`", &counts, &n, err, sizeof err), -1);
    cr_expect(strstr(err, "ends inside"), "%s", err);
    cr_expect_eq(rle_from_string("1O", &counts, &n, err, sizeof err), -1); /* count -1 */
    cr_expect(strstr(err, "outside"), "%s", err);
}

/* A few masks: empty, full, starting with a 1, long runs (multi-group values), noise. */
#define N_MASKS 6
static const int MASK_HW[N_MASKS][2] = {{3, 4}, {5, 7}, {6, 5}, {40, 64}, {17, 23}, {33, 1}};

static uint8_t make_bit(int k, int y, int x, int h, uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    switch (k) {
    case 0: return 0;
    case 1: return 1;
    case 2: return (uint8_t)(y == 0 && x == 0) || (x + y) % 3 == 0;
    case 3: return x > 5 && x < 50 && y > 3 && y < h - 2; /* runs of hundreds: 2-3 groups */
    case 4: return (*state >> 24) < 90;
    default: return (uint8_t)(y > h / 3);
    }
}

Test(import_coco, rle_matches_python_reference)
{
    uint8_t *masks[N_MASKS];
    FILE *f = fopen(path_in("masks.txt"), "w");
    cr_assert_not_null(f);
    uint32_t state = 12345;
    for (int k = 0; k < N_MASKS; k++) {
        int h = MASK_HW[k][0], w = MASK_HW[k][1];
        masks[k] = malloc((size_t)h * w);
        fprintf(f, "%d %d\n", h, w);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                masks[k][y * w + x] = make_bit(k, y, x, h, &state);
                fputc('0' + masks[k][y * w + x], f);
            }
            fputc('\n', f);
        }
    }
    fclose(f);
    char args[8400];
    snprintf(args, sizeof args, "'%s' '%s'", path_in("masks.txt"), path_in("rle.txt"));
    cr_assert_eq(tst_python("coco_rle.py", args), 0, "reference encoder failed");
    f = fopen(path_in("rle.txt"), "r");
    cr_assert_not_null(f);
    char *line = NULL;
    size_t cap = 0;
    for (int k = 0; k < N_MASKS; k++) {
        int h = MASK_HW[k][0], w = MASK_HW[k][1];
        cr_assert_gt(getline(&line, &cap, f), 0, "mask %d: no line", k);
        char *save = NULL, *ref = strtok_r(line, " \n", &save);
        cr_assert_not_null(ref);
        char err[256];
        /* C encoder == Python encoder: counts and string */
        uint32_t *counts;
        size_t n;
        cr_assert_eq(rle_encode(masks[k], h, w, &counts, &n, err, sizeof err), 0);
        size_t i = 0;
        for (char *t; (t = strtok_r(NULL, " \n", &save)); i++) {
            cr_assert_lt(i, n, "mask %d: more counts in the reference", k);
            cr_expect_eq(counts[i], strtoul(t, NULL, 10), "mask %d count %zu", k, i);
        }
        cr_expect_eq(i, n, "mask %d: count of counts", k);
        char *s;
        cr_assert_eq(rle_to_string(counts, n, &s, err, sizeof err), 0);
        cr_expect_str_eq(s, ref, "mask %d", k);
        free(s);
        free(counts);
        /* C decoder of the Python string == the mask */
        cr_assert_eq(rle_from_string(ref, &counts, &n, err, sizeof err), 0, "%s", err);
        uint8_t *got = malloc((size_t)h * w);
        cr_assert_eq(rle_decode(counts, n, h, w, got, err, sizeof err), 0, "mask %d: %s", k,
                     err);
        cr_expect_arr_eq(got, masks[k], (size_t)h * w, "mask %d", k);
        free(got);
        free(counts);
        free(masks[k]);
    }
    free(line);
    fclose(f);
}

/* ---------------------------------------------------------------- a tiny COCO dataset */

static void write_image(const char *rel, int h, int w, const char *kind)
{
    uint8_t *px = malloc((size_t)h * w * 3), *enc = NULL;
    for (int i = 0; i < h * w * 3; i++)
        px[i] = (uint8_t)(30 + (i * 7) % 190);
    size_t len = 0;
    char err[256];
    int jpeg = !strcmp(kind, "jpg");
    int rc = jpeg ? image_encode_jpeg(px, h, w, 3, 90, &enc, &len, err, sizeof err)
                  : image_encode_png(px, h, w, 3, &enc, &len, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    if (!strcmp(kind, "corrupt"))
        enc[len / 2] ^= 0x5A;
    FILE *f = fopen(path_in(rel), "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(enc, 1, len, f), len);
    fclose(f);
    free(enc);
    free(px);
}

/* Image 42 (a.png, 20 x 24): a rectangle (dog), a two-part object (person), an uncompressed
 * RLE (air plane), a crowd region and a 4-pixel object. Image 7 (b.jpg, 4 x 5): the compressed
 * DEMO_RLE. Image 9: no annotation. Image 11: only a crowd region. Images 13 (corrupt PNG),
 * 15 (missing file) and 17 (10 x 10 file, the JSON says 12 wide): skipped. Category ids 18, 1,
 * 5 map to classes 0 = person (1), 1 = air plane (5), 2 = dog (18). */
static const char *COCO_JSON =
    "{\n"
    " \"info\": {\"description\": \"pictor test\"},\n"
    " \"categories\": [{\"id\": 18, \"name\": \"dog\"}, {\"id\": 1, \"name\": \"person\"},\n"
    "                {\"id\": 5, \"name\": \"air plane\"}],\n"
    " \"images\": [\n"
    "  {\"id\": 42, \"file_name\": \"a.png\", \"height\": 20, \"width\": 24},\n"
    "  {\"id\": 7, \"file_name\": \"sub/b.jpg\", \"height\": 4, \"width\": 5},\n"
    "  {\"id\": 9, \"file_name\": \"c.png\"},\n"
    "  {\"id\": 11, \"file_name\": \"d.png\"},\n"
    "  {\"id\": 13, \"file_name\": \"bad.png\"},\n"
    "  {\"id\": 15, \"file_name\": \"missing.jpg\"},\n"
    "  {\"id\": 17, \"file_name\": \"wrongsize.png\", \"height\": 10, \"width\": 12}\n"
    " ],\n"
    " \"annotations\": [\n"
    "  {\"id\": 102, \"image_id\": 42, \"category_id\": 5, \"iscrowd\": 0,\n"
    "   \"segmentation\": {\"size\": [20, 24], \"counts\": [43, 5, 15, 5, 412]}},\n"
    "  {\"id\": 100, \"image_id\": 42, \"category_id\": 18, \"iscrowd\": 0,\n"
    "   \"segmentation\": [[2, 3, 10, 3, 10, 8, 2, 8]]},\n"
    "  {\"id\": 101, \"image_id\": 42, \"category_id\": 1,\n"
    "   \"segmentation\": [[12, 2, 16, 2, 16, 6, 12, 6], [1, 1, 2, 2], [12, 10, 22, 10, 12, 20]]},\n"
    "  {\"id\": 103, \"image_id\": 42, \"category_id\": 1, \"iscrowd\": 1,\n"
    "   \"segmentation\": {\"size\": [20, 24], \"counts\": [400, 80]}},\n"
    "  {\"id\": 104, \"image_id\": 42, \"category_id\": 18, \"iscrowd\": 0,\n"
    "   \"segmentation\": [[0, 18, 2, 18, 2, 20, 0, 20]]},\n"
    "  {\"id\": 200, \"image_id\": 7, \"category_id\": 5, \"iscrowd\": 0,\n"
    "   \"segmentation\": {\"size\": [4, 5], \"counts\": \"52110O5\"}},\n"
    "  {\"id\": 300, \"image_id\": 11, \"category_id\": 1, \"iscrowd\": 1,\n"
    "   \"segmentation\": {\"size\": [8, 8], \"counts\": [10, 54]}},\n"
    "  {\"id\": 400, \"image_id\": 13, \"category_id\": 1,\n"
    "   \"segmentation\": [[0, 0, 6, 0, 6, 6, 0, 6]]},\n"
    "  {\"id\": 500, \"image_id\": 15, \"category_id\": 1,\n"
    "   \"segmentation\": [[0, 0, 6, 0, 6, 6, 0, 6]]},\n"
    "  {\"id\": 600, \"image_id\": 17, \"category_id\": 1,\n"
    "   \"segmentation\": [[0, 0, 6, 0, 6, 6, 0, 6]]}\n"
    " ]\n"
    "}\n";

static void make_dataset(void)
{
    mkdir(path_in("img"), 0755);
    mkdir(path_in("img/sub"), 0755);
    write_image("img/a.png", 20, 24, "png");
    write_image("img/sub/b.jpg", 4, 5, "jpg");
    write_image("img/c.png", 8, 8, "png");
    write_image("img/d.png", 8, 8, "png");
    write_image("img/bad.png", 16, 16, "corrupt");
    write_image("img/wrongsize.png", 10, 10, "png");
    write_text("coco.json", COCO_JSON);
}

static import_coco_options coco_options(const char *out)
{
    import_coco_options o = {.common = {.out = path_in(out)},
                             .json = path_in("coco.json"),
                             .images = path_in("img"),
                             .crowd = IMPORT_CROWD_SKIP,
                             .min_area = 5};
    return o;
}

static int report_has(const import_report *rep, const char *prefix)
{
    for (int64_t i = 0; i < rep->skipped; i++)
        if (!strncmp(rep->skipped_files[i], prefix, strlen(prefix)))
            return 1;
    return 0;
}

static store_reader *open_ok(const char *path)
{
    char err[512];
    store_reader *r = store_open(path, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    return r;
}

static void read_ok(store_reader *r, int64_t i, sample *s)
{
    char err[512];
    sample_init(s);
    cr_assert_eq(store_read(r, i, STORE_INSTANCES, s, err, sizeof err), 0, "%s", err);
}

Test(import_coco, polygons_rle_classes_and_skips)
{
    make_dataset();
    import_coco_options o = coco_options("coco.h5");
    import_report rep;
    char err[1024] = "";
    int rc = import_coco(&o, &rep, err, sizeof err);
    cr_assert_eq(rc, IMPORT_OK, "%s", err);
    cr_expect_eq(rep.seen, 7);
    cr_expect_eq(rep.written, 2);
    cr_expect_eq(rep.instances, 4);
    cr_expect_eq(rep.crowd_skipped, 2);
    cr_expect_eq(rep.tiny_dropped, 1, "the 4-pixel object");
    cr_expect_eq(rep.empty_dropped, 2, "images 9 and 11");
    cr_expect_eq(rep.skipped, 3);
    cr_expect(report_has(&rep, "bad.png ("), "corrupt image reported by name");
    cr_expect(report_has(&rep, "missing.jpg (No such file"), "missing image reported");
    cr_expect(report_has(&rep, "wrongsize.png (the image is 10x10, the JSON says width 12, height 10)"));
    cr_expect_eq(rep.n_classes, 3);
    import_report_free(&rep);

    store_reader *r = open_ok(path_in("coco.h5"));
    cr_assert_eq(store_count(r), 2);
    cr_expect_eq(store_layout_of(r)->o.annotations, STORE_INSTANCES);
    cr_assert_eq(store_num_classes(r), 3);
    cr_expect_str_eq(store_class_name(r, 0), "person");
    cr_expect_str_eq(store_class_name(r, 1), "air plane");
    cr_expect_str_eq(store_class_name(r, 2), "dog");

    /* item 0: image 7, the compressed RLE */
    sample s;
    read_ok(r, 0, &s);
    cr_expect_eq(s.group, 7);
    cr_expect_eq(s.label, -1);
    cr_assert_eq(s.h, 4);
    cr_assert_eq(s.w, 5);
    cr_assert_eq(s.n_instances, 1);
    cr_expect_eq(s.instances[0].class_id, 1);
    cr_expect_eq(s.instances[0].n_polygons, 0);
    uint8_t demo[20];
    demo_mask(demo);
    cr_assert_not_null(s.instances[0].mask);
    cr_expect_arr_eq(s.instances[0].mask, demo, 20);
    sample_free(&s);

    /* item 1: image 42, annotations in id order 100, 101, 102 */
    read_ok(r, 1, &s);
    cr_expect_eq(s.group, 42);
    cr_assert_eq(s.h, 20);
    cr_assert_eq(s.w, 24);
    cr_assert_eq(s.n_instances, 3);
    const instance *dog = &s.instances[0], *person = &s.instances[1], *plane = &s.instances[2];
    cr_expect_eq(dog->class_id, 2);
    cr_expect_eq(person->class_id, 0);
    cr_expect_eq(plane->class_id, 1);
    /* the rectangle: its polygon as given, a mask of exactly its analytic area */
    cr_assert_eq(dog->n_polygons, 1);
    cr_assert_eq(dog->polygons[0].n, 4);
    const float rect[] = {2, 3, 10, 3, 10, 8, 2, 8};
    for (int k = 0; k < 8; k++)
        cr_expect_float_eq(dog->polygons[0].xy[k], rect[k], 1e-6);
    cr_expect_eq(count_ones(dog->mask, 480), 40);
    cr_expect(is_rect(dog->mask, 20, 24, 2, 3, 10, 8));
    /* two parts kept (the 2-point one left out), mask = their union: 16 + 45 */
    cr_assert_eq(person->n_polygons, 2);
    cr_expect_eq(person->polygons[0].n, 4);
    cr_expect_eq(person->polygons[1].n, 3);
    cr_expect_float_eq(person->polygons[1].xy[2], 22.0f, 1e-6);
    cr_expect_eq(count_ones(person->mask, 480), 16 + 45);
    cr_expect_eq(person->mask[3 * 24 + 13], 1);
    cr_expect_eq(person->mask[11 * 24 + 14], 1);
    /* uncompressed RLE 43 5 15 5 412: columns 2 and 3, rows 3..7 */
    cr_expect_eq(plane->n_polygons, 0);
    cr_expect(is_rect(plane->mask, 20, 24, 2, 3, 4, 8));
    sample_free(&s);
    store_close(r);
}

Test(import_coco, crowd_keep_keep_empty_and_min_area)
{
    make_dataset();
    /* keep crowds, keep empty images, no area filter */
    import_coco_options o = coco_options("keep.h5");
    o.crowd = IMPORT_CROWD_KEEP;
    o.keep_empty = 1;
    o.min_area = 0;
    import_report rep;
    char err[1024] = "";
    cr_assert_eq(import_coco(&o, &rep, err, sizeof err), IMPORT_OK, "%s", err);
    cr_expect_eq(rep.written, 4, "images 7, 9, 11, 42");
    cr_expect_eq(rep.crowd_skipped, 0);
    cr_expect_eq(rep.tiny_dropped, 0);
    cr_expect_eq(rep.empty_dropped, 0);
    cr_expect_eq(rep.instances, 1 + 0 + 1 + 5);
    import_report_free(&rep);
    store_reader *r = open_ok(path_in("keep.h5"));
    cr_assert_eq(store_count(r), 4);
    sample s;
    read_ok(r, 1, &s); /* image 9: no annotation, kept */
    cr_expect_eq(s.group, 9);
    cr_expect_eq(s.n_instances, 0);
    sample_free(&s);
    read_ok(r, 2, &s); /* image 11: its crowd region, RLE 10 zeros then 54 ones */
    cr_expect_eq(s.group, 11);
    cr_assert_eq(s.n_instances, 1);
    cr_expect_eq(count_ones(s.instances[0].mask, 64), 54);
    cr_expect_eq(s.instances[0].mask[2 * 8 + 0], 0, "column 0, row 2: in the first run");
    cr_expect_eq(s.instances[0].mask[2 * 8 + 1], 1, "column 1, row 2: after 10 pixels");
    sample_free(&s);
    read_ok(r, 3, &s); /* image 42: 5 instances, the crowd region is the right 4 columns */
    cr_assert_eq(s.n_instances, 5);
    cr_expect(is_rect(s.instances[3].mask, 20, 24, 20, 0, 24, 20));
    cr_expect_eq(count_ones(s.instances[4].mask, 480), 4, "the tiny object kept");
    sample_free(&s);
    store_close(r);

    /* min area 50: only the 61-pixel person survives; image 7 (9 px) becomes empty */
    o = coco_options("big.h5");
    o.min_area = 50;
    cr_assert_eq(import_coco(&o, &rep, err, sizeof err), IMPORT_OK, "%s", err);
    cr_expect_eq(rep.tiny_dropped, 4, "40, 10 and 4 px on image 42, 9 px on image 7");
    cr_expect_eq(rep.empty_dropped, 3);
    cr_expect_eq(rep.written, 1);
    cr_expect_eq(rep.instances, 1);
    import_report_free(&rep);
    r = open_ok(path_in("big.h5"));
    read_ok(r, 0, &s);
    cr_expect_eq(s.group, 42);
    cr_assert_eq(s.n_instances, 1);
    cr_expect_eq(s.instances[0].class_id, 0);
    sample_free(&s);
    store_close(r);

    /* limit: the first image in id order only */
    o = coco_options("one.h5");
    o.common.limit = 1;
    cr_assert_eq(import_coco(&o, &rep, err, sizeof err), IMPORT_OK, "%s", err);
    cr_expect_eq(rep.written, 1);
    import_report_free(&rep);
    r = open_ok(path_in("one.h5"));
    cr_expect_eq(store_groups(r)[0], 7);
    store_close(r);
}

/* The import fails as a user error naming the file and what is wrong, and writes nothing. */
static void expect_json_error(const char *json, const char *want1, const char *want2)
{
    write_text("bad.json", json);
    import_coco_options o = coco_options("bad.h5");
    o.json = path_in("bad.json");
    import_report rep;
    char err[1024] = "";
    cr_expect_eq(import_coco(&o, &rep, err, sizeof err), IMPORT_USER_ERROR, "%s", err);
    cr_expect(strstr(err, "bad.json: "), "names the file: %s", err);
    cr_expect(strstr(err, want1), "'%s' in: %s", want1, err);
    if (want2)
        cr_expect(strstr(err, want2), "'%s' in: %s", want2, err);
    import_report_free(&rep);
    cr_expect(!exists(path_in("bad.h5")));
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path_in("bad.h5"), (long)getpid());
    cr_expect(!exists(tmp), "no temp file");
}

#define CATS "\"categories\": [{\"id\": 1, \"name\": \"person\"}]"
#define IMGS "\"images\": [{\"id\": 42, \"file_name\": \"a.png\"}]"
#define SQUARE "\"segmentation\": [[0, 0, 6, 0, 6, 6, 0, 6]]"

Test(import_coco, malformed_json_and_missing_keys)
{
    make_dataset();
    /* a missing comma after line 3: the parser stops where "annotations" starts, line 4 */
    expect_json_error("{\n " CATS ",\n " IMGS "\n \"annotations\": []\n}\n",
                      "invalid JSON", "line 4");
    expect_json_error("{\"images\": [], \"annotations\": [], " CATS "} trailing",
                      "data after the end", "line 1");
    expect_json_error("[1, 2]", "expected a JSON object", NULL);
    expect_json_error("{" IMGS ", " CATS "}", "missing key 'annotations'", NULL);
    /* keys missing, named with the annotation / image id */
    expect_json_error("{" CATS ", " IMGS ", \"annotations\": [{\"id\": 55, \"image_id\": 42, "
                      SQUARE "}]}", "annotation 55 (image 42)", "missing key 'category_id'");
    expect_json_error("{" CATS ", " IMGS ", \"annotations\": [{\"id\": 56, \"category_id\": 1, "
                      SQUARE "}]}", "annotation 56", "missing key 'image_id'");
    expect_json_error("{" CATS ", " IMGS ", \"annotations\": [{\"image_id\": 42, "
                      "\"category_id\": 1, " SQUARE "}]}", "annotations[0]", "missing key 'id'");
    expect_json_error("{" CATS ", " IMGS ", \"annotations\": [{\"id\": 57, \"image_id\": 42, "
                      "\"category_id\": 1}]}", "annotation 57 (image 42)",
                      "missing key 'segmentation'");
    expect_json_error("{" CATS ", \"images\": [{\"id\": 8}], \"annotations\": []}", "image 8",
                      "missing key 'file_name'");
    expect_json_error("{\"categories\": [{\"id\": 3}], " IMGS ", \"annotations\": []}",
                      "category 3", "missing key 'name'");
    /* references and values */
    expect_json_error("{" CATS ", " IMGS ", \"annotations\": [{\"id\": 58, \"image_id\": 42, "
                      "\"category_id\": 99, " SQUARE "}]}", "annotation 58 (image 42)",
                      "category_id 99 is not in 'categories'");
    expect_json_error("{" CATS ", " IMGS ", \"annotations\": [{\"id\": 59, \"image_id\": 43, "
                      "\"category_id\": 1, " SQUARE "}]}", "annotation 59",
                      "image_id 43 is not in 'images'");
    expect_json_error("{" CATS ", " IMGS ", \"annotations\": [{\"id\": 60, \"image_id\": 42, "
                      "\"category_id\": 1, \"segmentation\": {\"size\": [4, 5], \"counts\": "
                      "\"52110O\"}}]}", "annotation 60 (image 42)", "sum to 14");
    expect_json_error("{" CATS ", " IMGS ", \"annotations\": [{\"id\": 61, \"image_id\": 42, "
                      "\"category_id\": 1, \"segmentation\": {\"counts\": [20]}}]}",
                      "annotation 61", "missing key 'segmentation.size'");
    expect_json_error("{" CATS ", " IMGS ", \"annotations\": [{\"id\": 62, \"image_id\": 42, "
                      "\"category_id\": 1, \"segmentation\": [[0, 0, 6, 0, 6]]}]}",
                      "annotation 62", "odd number of coordinates");
    expect_json_error("{" CATS ", " IMGS ", \"annotations\": [{\"id\": 63, \"image_id\": 42, "
                      "\"category_id\": 1, \"iscrowd\": 2, " SQUARE "}]}", "annotation 63",
                      "'iscrowd' must be 0 or 1");
    /* the JSON file itself missing */
    import_coco_options o = coco_options("x.h5");
    o.json = path_in("nope.json");
    import_report rep;
    char err[1024] = "";
    cr_expect_eq(import_coco(&o, &rep, err, sizeof err), IMPORT_USER_ERROR);
    cr_expect(strstr(err, "nope.json") && strstr(err, "No such file"), "%s", err);
    import_report_free(&rep);
}

Test(import_coco, nothing_to_write_and_cancel_leave_no_file)
{
    make_dataset();
    /* only crowd and missing images survive nothing */
    write_text("crowd.json", "{" CATS ", \"images\": [{\"id\": 11, \"file_name\": \"d.png\"}], "
               "\"annotations\": [{\"id\": 1, \"image_id\": 11, \"category_id\": 1, "
               "\"iscrowd\": 1, \"segmentation\": {\"size\": [8, 8], \"counts\": [64]}}]}");
    import_coco_options o = coco_options("none.h5");
    o.json = path_in("crowd.json");
    import_report rep;
    char err[1024] = "";
    cr_expect_eq(import_coco(&o, &rep, err, sizeof err), IMPORT_USER_ERROR);
    cr_expect(strstr(err, "nothing to write") && strstr(err, "--keep-empty"), "%s", err);
    import_report_free(&rep);
    cr_expect(!exists(path_in("none.h5")));
    /* cancelled: nothing written, no temp file */
    volatile sig_atomic_t cancel = 1;
    o = coco_options("cancel.h5");
    o.common.cancel = &cancel;
    cr_expect_eq(import_coco(&o, &rep, err, sizeof err), IMPORT_CANCELLED, "%s", err);
    cr_expect(strstr(err, "interrupted"), "%s", err);
    import_report_free(&rep);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path_in("cancel.h5"), (long)getpid());
    cr_expect(!exists(path_in("cancel.h5")) && !exists(tmp));
}

/* ---------------------------------------------------------------- the command line */

/* Run the pictor binary with args (a shell string); its output in out. Returns the exit code. */
static int run_pictor(const char *args, char *out, size_t outlen)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s/pictor", PICTOR_BINARY_DIR);
    if (access(cmd, X_OK) != 0)
        cr_skip_test("%s not built", cmd);
    snprintf(cmd, sizeof cmd, "'%s/pictor' %s 2>&1", PICTOR_BINARY_DIR, args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(import_coco, command_line)
{
    make_dataset();
    char args[8192], out[8192];
    snprintf(args, sizeof args, "data import-coco --json '%s' --images '%s' --min-area 5 "
             "--out '%s'", path_in("coco.json"), path_in("img"), path_in("cli.h5"));
    int rc = run_pictor(args, out, sizeof out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "2 items, 3 classes"), "%s", out);
    cr_expect(strstr(out, "instances: 4 written; 1 under 5 px of mask area dropped "
                          "(--min-area); 2 crowd regions left out (--crowd skip)"), "%s", out);
    cr_expect(strstr(out, "dropped 2 images without instances"), "%s", out);
    cr_expect(strstr(out, "skipped 3 of 7 files") && strstr(out, "bad.png"), "%s", out);
    cr_expect(exists(path_in("cli.h5")));
    /* a syntax error: exit 1, the file and the line */
    write_text("broken.json", "{\n \"images\": [\n  {\"id\": 1,, \"file_name\": \"a.png\"}\n");
    snprintf(args, sizeof args, "data import-coco --json '%s' --images '%s' --out '%s'",
             path_in("broken.json"), path_in("img"), path_in("broken.h5"));
    rc = run_pictor(args, out, sizeof out);
    cr_expect_eq(rc, 1, "%s", out);
    cr_expect(strstr(out, "broken.json: invalid JSON") && strstr(out, "line 3"), "%s", out);
    cr_expect(!exists(path_in("broken.h5")));
    cr_expect_eq(run_pictor("data help", out, sizeof out), 0);
    cr_expect(strstr(out, "import-coco --json FILE --images DIR"), "%s", out);
}
