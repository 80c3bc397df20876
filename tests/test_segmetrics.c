/*
 * test_segmetrics.c - train/eval/segmetrics (IoU, Dice, boundary F, MAE, the accumulator) and
 * data/geometry/distance (the exact EDT): cases computed on paper (each derivation in a
 * comment), refused inputs, the EDT against a brute-force minimum over seeds, and random blobs
 * compared with tests/reference/segmetrics_ref.py (NumPy + scipy.ndimage's EDT) to 1e-9.
 *
 * Coordinates in comments are (row, column). "Ring" = the 12 boundary pixels of a 4x4 square
 * (its 2x2 interior has no background 4-neighbour).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "base/rng.h"
#include "eval/segmetrics.h"
#include "geometry/distance.h"

TestSuite(segmetrics);

#define EXPECT_NEAR(got, want, what) \
    cr_expect(fabs((double)(got) - (double)(want)) <= 1e-12, "%s: %.17g, expected %.17g", what, \
              (double)(got), (double)(want))

/* An h x w mask (in m) holding the side x side square with its top-left pixel at (y0, x0). */
static void square(uint8_t *m, int h, int w, int y0, int x0, int side)
{
    memset(m, 0, (size_t)h * (size_t)w);
    for (int y = y0; y < y0 + side; y++)
        for (int x = x0; x < x0 + side; x++)
            if (y >= 0 && y < h && x >= 0 && x < w)
                m[y * w + x] = 1;
}

static segmetrics_overlap overlap(const uint8_t *p, const uint8_t *g, const uint8_t *ign, int h,
                                  int w)
{
    segmetrics_overlap o;
    char err[256];
    cr_assert_eq(segmetrics_overlap_of(p, g, ign, h, w, &o, err, sizeof err), 0, "%s", err);
    return o;
}

static segmetrics_boundary bf(const uint8_t *p, const uint8_t *g, const uint8_t *ign, int h,
                              int w, double tol)
{
    segmetrics_boundary b;
    char err[256];
    cr_assert_eq(segmetrics_boundary_f(p, g, ign, h, w, tol, &b, err, sizeof err), 0, "%s", err);
    return b;
}

Test(segmetrics, overlap_of_a_square_and_its_shift)
{
    /* 8x8; P = 4x4 square at (2, 2), G = the same shifted one column right, at (2, 3).
     * |P n G| = 4 rows x 3 columns = 12, |P u G| = 16 + 16 - 12 = 20:
     * IoU = 12 / 20 = 0.6, Dice = 24 / 32 = 0.75. Shifted by (1, 1): |P n G| = 9,
     * |P u G| = 23: IoU = 9 / 23, Dice = 18 / 32. */
    uint8_t p[64], g[64];
    square(p, 8, 8, 2, 2, 4);
    square(g, 8, 8, 2, 3, 4);
    segmetrics_overlap o = overlap(p, g, NULL, 8, 8);
    cr_expect_eq(o.inter, 12);
    cr_expect_eq(o.uni, 20);
    cr_expect_eq(o.pred, 16);
    cr_expect_eq(o.gt, 16);
    EXPECT_NEAR(o.iou, 0.6, "IoU");
    EXPECT_NEAR(o.dice, 0.75, "Dice");
    square(g, 8, 8, 3, 3, 4);
    o = overlap(p, g, NULL, 8, 8);
    EXPECT_NEAR(o.iou, 9.0 / 23.0, "diagonal IoU");
    EXPECT_NEAR(o.dice, 18.0 / 32.0, "diagonal Dice");
    /* any non-zero byte is foreground */
    for (int i = 0; i < 64; i++)
        p[i] = p[i] ? 255 : 0;
    EXPECT_NEAR(overlap(p, g, NULL, 8, 8).iou, 9.0 / 23.0, "255 as foreground");
}

Test(segmetrics, ignored_pixels_leave_both_masks)
{
    /* P at (2, 2), G at (2, 3) (IoU 0.6 above); ignore column 6 (G's rightmost column, 4 of its
     * pixels, none of P's): |G| = 12, |P| = 16, |P n G| = 12, |P u G| = 16:
     * IoU = 12 / 16 = 0.75, Dice = 24 / 28 = 6 / 7. Ignoring column 2 as well (P's leftmost):
     * |P| = 12 = |G| = |P n G|: IoU = Dice = 1. */
    uint8_t p[64], g[64], ign[64] = {0};
    square(p, 8, 8, 2, 2, 4);
    square(g, 8, 8, 2, 3, 4);
    for (int y = 0; y < 8; y++)
        ign[y * 8 + 6] = 128; /* as GrabCut's unknown label: any non-zero byte */
    segmetrics_overlap o = overlap(p, g, ign, 8, 8);
    cr_expect_eq(o.gt, 12);
    cr_expect_eq(o.uni, 16);
    EXPECT_NEAR(o.iou, 0.75, "IoU with ignore");
    EXPECT_NEAR(o.dice, 6.0 / 7.0, "Dice with ignore");
    for (int y = 0; y < 8; y++)
        ign[y * 8 + 2] = 1;
    o = overlap(p, g, ign, 8, 8);
    EXPECT_NEAR(o.iou, 1.0, "IoU, both differences ignored");
    EXPECT_NEAR(o.dice, 1.0, "Dice, both differences ignored");
}

Test(segmetrics, empty_masks)
{
    /* both empty: 1 (documented); one empty: 0; everything ignored: both empty after ignoring */
    uint8_t z[16] = {0}, sq[16], all[16];
    square(sq, 4, 4, 1, 1, 2);
    memset(all, 1, sizeof all);
    segmetrics_overlap o = overlap(z, z, NULL, 4, 4);
    EXPECT_NEAR(o.iou, 1.0, "both empty IoU");
    EXPECT_NEAR(o.dice, 1.0, "both empty Dice");
    o = overlap(z, sq, NULL, 4, 4);
    EXPECT_NEAR(o.iou, 0.0, "empty prediction IoU");
    EXPECT_NEAR(o.dice, 0.0, "empty prediction Dice");
    o = overlap(sq, z, NULL, 4, 4);
    EXPECT_NEAR(o.iou, 0.0, "empty ground truth IoU");
    o = overlap(sq, z, all, 4, 4);
    EXPECT_NEAR(o.iou, 1.0, "all ignored IoU");
    cr_expect_eq(o.pred, 0);
    /* boundary F, as DAVIS: both without boundary -> P = R = F = 1 (a full mask has none either);
     * none predicted -> P = 1, R = 0, F = 0; none in the GT -> P = 0, R = 1, F = 0 */
    segmetrics_boundary b = bf(z, z, NULL, 4, 4, 1.0);
    EXPECT_NEAR(b.precision, 1.0, "both empty P");
    EXPECT_NEAR(b.recall, 1.0, "both empty R");
    EXPECT_NEAR(b.f, 1.0, "both empty F");
    b = bf(all, z, NULL, 4, 4, 1.0);
    EXPECT_NEAR(b.f, 1.0, "full vs empty: no boundary in either");
    b = bf(z, sq, NULL, 4, 4, 1.0);
    EXPECT_NEAR(b.precision, 1.0, "empty prediction P");
    EXPECT_NEAR(b.recall, 0.0, "empty prediction R");
    EXPECT_NEAR(b.f, 0.0, "empty prediction F");
    cr_expect_eq(b.gt_boundary, 4);
    b = bf(sq, z, NULL, 4, 4, 1.0);
    EXPECT_NEAR(b.precision, 0.0, "empty GT P");
    EXPECT_NEAR(b.recall, 1.0, "empty GT R");
    EXPECT_NEAR(b.f, 0.0, "empty GT F");
}

Test(segmetrics, boundary_pixels_exclude_the_image_frame)
{
    /* 4x4, left two columns on: column 0 touches the frame only (not a boundary), column 1 has
     * background to its right: 4 boundary pixels, all in column 1. A full mask: none. The 4x4
     * square in 8x8: its ring of 12. A single pixel: 1. A 1x5 row 01110: pixels 1 and 3. */
    uint8_t m[64], b[64];
    memset(m, 0, 16);
    for (int y = 0; y < 4; y++)
        m[y * 4] = m[y * 4 + 1] = 1;
    cr_expect_eq(segmetrics_boundary_map(m, 4, 4, b), 4);
    for (int y = 0; y < 4; y++)
        cr_expect(b[y * 4] == 0 && b[y * 4 + 1] == 1 && b[y * 4 + 2] == 0 && b[y * 4 + 3] == 0,
                  "row %d", y);
    memset(m, 1, 16);
    cr_expect_eq(segmetrics_boundary_map(m, 4, 4, NULL), 0);
    square(m, 8, 8, 2, 2, 4);
    cr_expect_eq(segmetrics_boundary_map(m, 8, 8, b), 12);
    cr_expect(b[3 * 8 + 3] == 0 && b[4 * 8 + 4] == 0 && b[2 * 8 + 2] == 1, "interior / corner");
    square(m, 8, 8, 5, 6, 1);
    cr_expect_eq(segmetrics_boundary_map(m, 8, 8, NULL), 1);
    const uint8_t row[5] = {0, 1, 1, 1, 0};
    cr_expect_eq(segmetrics_boundary_map(row, 1, 5, b), 2);
    cr_expect(b[1] == 1 && b[2] == 0 && b[3] == 1, "1x5 row");
    cr_expect_eq(segmetrics_boundary_map(NULL, 1, 5, b), -1);
}

Test(segmetrics, boundary_f_of_a_one_pixel_shift)
{
    /* P ring: the square at (2, 2); G ring: the square at (2, 3) (one column right).
     * Tolerance 0: the rings share rows 2 and 5, columns 3..5 = 6 pixels (P's columns 2 and 5 at
     * rows 3-4 are not on G's ring, whose sides are columns 3 and 6): P = R = 6 / 12, F = 0.5.
     * Tolerance 1: every P ring pixel has a G ring pixel one column to its right or on it:
     * P = R = F = 1. */
    uint8_t p[64], g[64];
    square(p, 8, 8, 2, 2, 4);
    square(g, 8, 8, 2, 3, 4);
    segmetrics_boundary b = bf(p, g, NULL, 8, 8, 0.0);
    cr_expect_eq(b.pred_boundary, 12);
    cr_expect_eq(b.gt_boundary, 12);
    cr_expect_eq(b.pred_matched, 6);
    cr_expect_eq(b.gt_matched, 6);
    EXPECT_NEAR(b.precision, 0.5, "P tol 0");
    EXPECT_NEAR(b.recall, 0.5, "R tol 0");
    EXPECT_NEAR(b.f, 0.5, "F tol 0");
    b = bf(p, g, NULL, 8, 8, 1.0);
    EXPECT_NEAR(b.f, 1.0, "F tol 1");
    EXPECT_NEAR(b.tolerance, 1.0, "tolerance kept");
    /* Ignoring column 6 removes G's right side (4 pixels) from the counted GT boundary: at
     * tolerance 0, R = 6 / 8 = 0.75 (the 6 shared pixels are in columns 3..5), P = 0.5,
     * F = 2 * 0.5 * 0.75 / 1.25 = 0.6. */
    uint8_t ign[64] = {0};
    for (int y = 0; y < 8; y++)
        ign[y * 8 + 6] = 1;
    b = bf(p, g, ign, 8, 8, 0.0);
    cr_expect_eq(b.gt_boundary, 8);
    EXPECT_NEAR(b.recall, 0.75, "R with ignore");
    EXPECT_NEAR(b.precision, 0.5, "P with ignore");
    EXPECT_NEAR(b.f, 0.6, "F with ignore");
}

Test(segmetrics, boundary_f_of_a_diagonal_shift_at_tolerance_0_1_2)
{
    /* P ring: square at (2, 2) (rows/columns 2..5); G ring: square at (3, 3) (3..6).
     * Tolerance 0: shared ring pixels are (5, 3) (P's bottom row, G's left side) and (3, 5)
     * (P's right side, G's top row): P = R = 2 / 12, F = 1 / 6.
     * Tolerance 1 (4-neighbours): every P ring pixel but the corner (2, 2), whose nearest G ring
     * pixel (3, 3) is sqrt(2) away, has a G ring pixel on it or one step away ((2, c) above
     * (3, c) for c = 3..5; (r, 2) left of (r, 3) for r = 3..5; (5, 4) above (6, 4); (4, 5) left
     * of (4, 6)): P = 11 / 12; by symmetry (G's corner (6, 6)) R = 11 / 12; F = 11 / 12.
     * Tolerance 2 (and sqrt(2)): every pixel matches: F = 1. */
    uint8_t p[64], g[64];
    square(p, 8, 8, 2, 2, 4);
    square(g, 8, 8, 3, 3, 4);
    segmetrics_boundary b = bf(p, g, NULL, 8, 8, 0.0);
    cr_expect_eq(b.pred_matched, 2);
    EXPECT_NEAR(b.f, 1.0 / 6.0, "F tol 0");
    b = bf(p, g, NULL, 8, 8, 1.0);
    cr_expect_eq(b.pred_matched, 11);
    cr_expect_eq(b.gt_matched, 11);
    EXPECT_NEAR(b.precision, 11.0 / 12.0, "P tol 1");
    EXPECT_NEAR(b.f, 11.0 / 12.0, "F tol 1");
    b = bf(p, g, NULL, 8, 8, 1.4);
    EXPECT_NEAR(b.f, 11.0 / 12.0, "F tol 1.4 < sqrt(2)");
    b = bf(p, g, NULL, 8, 8, sqrt(2.0));
    EXPECT_NEAR(b.f, 1.0, "F tol sqrt(2)");
    b = bf(p, g, NULL, 8, 8, 2.0);
    EXPECT_NEAR(b.f, 1.0, "F tol 2");
    /* DAVIS's tolerance for 480x854: ceil(0.008 * 979.65) = ceil(7.84) = 8; for 64x64:
     * ceil(0.008 * 90.51) = 1 */
    EXPECT_NEAR(segmetrics_davis_tolerance(480, 854), 8.0, "DAVIS tolerance 480p");
    EXPECT_NEAR(segmetrics_davis_tolerance(64, 64), 1.0, "DAVIS tolerance 64x64");
}

Test(segmetrics, mae_of_soft_masks)
{
    /* soft {0.25, 0.5, 1, 0} vs binary {0, 1, 1, 1}: (0.25 + 0.5 + 0 + 1) / 4 = 0.4375;
     * ignoring pixel 3: 0.75 / 3 = 0.25; vs the soft GT 0.5 everywhere:
     * (0.25 + 0 + 0.5 + 0.5) / 4 = 0.3125; everything ignored: 0. */
    const float soft[4] = {0.25f, 0.5f, 1.0f, 0.0f}, half[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    const uint8_t gt[4] = {0, 1, 1, 1}, ign[4] = {0, 0, 0, 1}, all[4] = {1, 1, 1, 1};
    double v;
    char err[256];
    cr_assert_eq(segmetrics_mae(soft, gt, NULL, 2, 2, &v, err, sizeof err), 0, "%s", err);
    EXPECT_NEAR(v, 0.4375, "MAE");
    cr_assert_eq(segmetrics_mae(soft, gt, ign, 2, 2, &v, err, sizeof err), 0, "%s", err);
    EXPECT_NEAR(v, 0.25, "MAE with ignore");
    cr_assert_eq(segmetrics_mae_soft(soft, half, NULL, 2, 2, &v, err, sizeof err), 0, "%s", err);
    EXPECT_NEAR(v, 0.3125, "MAE vs soft GT");
    cr_assert_eq(segmetrics_mae(soft, gt, all, 2, 2, &v, err, sizeof err), 0, "%s", err);
    EXPECT_NEAR(v, 0.0, "MAE all ignored");
    /* segmetrics_image_eval without a soft mask: the hard prediction's error rate. Square at
     * (2, 2) vs (2, 3) in 8x8: |P xor G| = 20 - 12 = 8 of 64 pixels = 0.125 */
    uint8_t p[64], g[64];
    square(p, 8, 8, 2, 2, 4);
    square(g, 8, 8, 2, 3, 4);
    segmetrics_image im;
    cr_assert_eq(segmetrics_image_eval(p, NULL, g, NULL, 8, 8, 1.0, &im, err, sizeof err), 0,
                 "%s", err);
    EXPECT_NEAR(im.mae, 0.125, "hard MAE");
    EXPECT_NEAR(im.overlap.iou, 0.6, "image IoU");
    EXPECT_NEAR(im.boundary.f, 1.0, "image boundary F at tolerance 1");
    cr_expect(im.h == 8 && im.w == 8, "size kept");
}

Test(segmetrics, refused_inputs_name_the_problem)
{
    uint8_t m[4] = {0, 1, 1, 0};
    float bad[4] = {0.0f, 1.5f, 0.0f, 0.0f};
    double v;
    segmetrics_overlap o;
    segmetrics_boundary b;
    char err[256];
    cr_expect_eq(segmetrics_mae(bad, m, NULL, 2, 2, &v, err, sizeof err), -1);
    cr_expect(strstr(err, "segmetrics_mae") && strstr(err, "[0, 1]") && strstr(err, "1.5") &&
              strstr(err, "row 0 column 1"), "message: %s", err);
    bad[1] = NAN;
    cr_expect_eq(segmetrics_mae(bad, m, NULL, 2, 2, &v, err, sizeof err), -1, "NaN refused");
    bad[1] = 0.5f;
    float gbad[4] = {0, 0, -0.25f, 0};
    cr_expect_eq(segmetrics_mae_soft(bad, gbad, NULL, 2, 2, &v, err, sizeof err), -1);
    cr_expect(strstr(err, "soft ground truth") != NULL, "message: %s", err);
    cr_expect_eq(segmetrics_overlap_of(m, m, NULL, 0, 2, &o, err, sizeof err), -1);
    cr_expect(strstr(err, "h 0 w 2") != NULL, "message: %s", err);
    cr_expect_eq(segmetrics_overlap_of(NULL, m, NULL, 2, 2, &o, err, sizeof err), -1);
    cr_expect_eq(segmetrics_boundary_f(m, m, NULL, 2, 2, -1.0, &b, err, sizeof err), -1);
    cr_expect(strstr(err, "tolerance") != NULL, "message: %s", err);
    cr_expect_eq(segmetrics_boundary_f(m, m, NULL, 2, 2, NAN, &b, err, sizeof err), -1);
    cr_expect_eq(segmetrics_boundary_f(m, m, NULL, 2, 2, INFINITY, &b, NULL, 0), -1);
    cr_expect_null(segmetrics_acc_new(-0.5));
    cr_expect_null(segmetrics_acc_new(NAN));
    /* a refused image leaves the accumulator unchanged */
    segmetrics_acc *a = segmetrics_acc_new(1.0);
    cr_assert_not_null(a);
    cr_expect_eq(segmetrics_acc_add(a, m, bad, m, NULL, 2, 2, err, sizeof err), 0, "%s", err);
    bad[0] = 2.0f;
    cr_expect_eq(segmetrics_acc_add(a, m, bad, m, NULL, 2, 2, err, sizeof err), -1);
    cr_expect_eq(segmetrics_acc_count(a), 1);
    cr_expect_null(segmetrics_acc_image(a, 1));
    segmetrics_acc_free(a);
}

Test(segmetrics, accumulator_means_overall_iou_and_worst_images)
{
    /* Five 8x8 images (tolerance 1), IoU / Dice / boundary F / hard MAE / counts:
     *   0: square (2,2) vs (2,3):  0.6,  0.75,  1,      8/64,  inter 12 union 20 |P|+|G| 32
     *   1: both empty:             1,    1,     1,      0,     0 0 0
     *   2: square vs empty pred:   0,    0,     0,      16/64, 0 16 16
     *   3: square (2,2) vs (3,3):  9/23, 18/32, 11/12,  14/64, 9 23 32
     *   4: empty pred vs square:   0,    0,     0,      16/64, 0 16 16 (ties image 2)
     * means: IoU (0.6 + 1 + 9/23) / 5; overall IoU = 21 / 75, overall Dice = 42 / 96.
     * worst 3 by IoU: 2, 4 (IoU 0, by index), then 3 (9/23 < 0.6). */
    uint8_t a2[64], b2[64], z[64] = {0}, sq[64], d[64];
    square(a2, 8, 8, 2, 2, 4);
    square(b2, 8, 8, 2, 3, 4);
    square(sq, 8, 8, 2, 2, 4);
    square(d, 8, 8, 3, 3, 4);
    segmetrics_acc *a = segmetrics_acc_new(1.0);
    cr_assert_not_null(a);
    segmetrics_summary s;
    segmetrics_acc_summary(a, &s);
    cr_expect(s.images == 0 && isnan(s.mean_iou) && isnan(s.overall_iou), "empty summary");
    char js[512];
    segmetrics_summary_json(&s, js, sizeof js);
    cr_expect(strstr(js, "\"iou\": null") && strstr(js, "\"images\": 0}"), "%s", js);
    size_t worst[8];
    cr_expect_eq(segmetrics_acc_worst(a, 3, worst), 0);

    char err[256];
    const uint8_t *pairs[5][2] = {{a2, b2}, {z, z}, {z, sq}, {a2, d}, {sq, z}};
    /* (image 2 is "square vs empty prediction": pred z, gt sq; image 4 the other way) */
    for (int i = 0; i < 5; i++)
        cr_assert_eq(segmetrics_acc_add(a, pairs[i][0], NULL, pairs[i][1], NULL, 8, 8, err,
                                        sizeof err), 0, "%s", err);
    cr_expect_eq(segmetrics_acc_count(a), 5);
    EXPECT_NEAR(segmetrics_acc_image(a, 3)->overlap.iou, 9.0 / 23.0, "image 3 IoU");
    segmetrics_acc_summary(a, &s);
    cr_expect_eq(s.images, 5);
    EXPECT_NEAR(s.mean_iou, (0.6 + 1.0 + 9.0 / 23.0) / 5.0, "mean IoU");
    EXPECT_NEAR(s.mean_dice, (0.75 + 1.0 + 18.0 / 32.0) / 5.0, "mean Dice");
    EXPECT_NEAR(s.mean_boundary_f, (1.0 + 1.0 + 11.0 / 12.0) / 5.0, "mean boundary F");
    /* boundary P per image: 1, 1, 1 (none predicted), 11/12, 0 */
    EXPECT_NEAR(s.mean_boundary_precision, (3.0 + 11.0 / 12.0) / 5.0, "mean boundary P");
    EXPECT_NEAR(s.mean_boundary_recall, (2.0 + 11.0 / 12.0 + 1.0) / 5.0, "mean boundary R");
    EXPECT_NEAR(s.mean_mae, (8.0 + 0.0 + 16.0 + 14.0 + 16.0) / 64.0 / 5.0, "mean MAE");
    cr_expect(s.inter == 21 && s.uni == 75 && s.pred + s.gt == 96, "sums %lld %lld %lld",
              (long long)s.inter, (long long)s.uni, (long long)(s.pred + s.gt));
    EXPECT_NEAR(s.overall_iou, 21.0 / 75.0, "overall IoU");
    EXPECT_NEAR(s.overall_dice, 42.0 / 96.0, "overall Dice");
    cr_assert_eq(segmetrics_acc_worst(a, 3, worst), 3);
    cr_expect(worst[0] == 2 && worst[1] == 4 && worst[2] == 3, "worst %zu %zu %zu", worst[0],
              worst[1], worst[2]);
    cr_expect_eq(segmetrics_acc_worst(a, 8, worst), 5, "n larger than the count");
    cr_expect(worst[3] == 0 && worst[4] == 1, "then 0.6, then 1");

    int need = segmetrics_summary_json(&s, js, sizeof js);
    cr_expect_eq(need, (int)strlen(js));
    cr_expect(strstr(js, "\"overall_iou\": 0.280000") && strstr(js, "\"images\": 5}") &&
              js[0] == '{', "%s", js);
    char small[16];
    cr_expect_eq(segmetrics_summary_json(&s, small, sizeof small), need, "truncated length");
    cr_expect_eq(strlen(small), sizeof small - 1);
    cr_expect_eq(strncmp(small, js, sizeof small - 1), 0);
    segmetrics_acc_free(a);
}

/* ---- the EDT ---- */

/* Brute force: squared distance to the nearest seed (+inf without), over all seeds. */
static void brute_edt_sq(const uint8_t *seed, int h, int w, double *out)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double best = INFINITY;
            for (int v = 0; v < h; v++)
                for (int u = 0; u < w; u++)
                    if (seed[v * w + u]) {
                        double d = (double)(y - v) * (y - v) + (double)(x - u) * (x - u);
                        best = d < best ? d : best;
                    }
            out[y * w + x] = best;
        }
}

Test(segmetrics, edt_hand_cases)
{
    /* one seed at (0, 0) of 3x4: d^2 = y^2 + x^2; all-zero: +inf; all-one: 0;
     * 1x6 seeds at 1 and 4: |x - nearest|: 1 0 1 1 0 1 */
    uint8_t s[12] = {0};
    double d[12];
    float f[12];
    s[0] = 1;
    cr_assert_eq(distance_edt_sq(s, 3, 4, d), 0);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++)
            cr_expect_eq(d[y * 4 + x], (double)(y * y + x * x), "(%d, %d)", y, x);
    cr_assert_eq(distance_edt(s, 3, 4, d), 0);
    EXPECT_NEAR(d[11], sqrt(13.0), "distance (2, 3)");
    cr_assert_eq(distance_edt_f32(s, 3, 4, f), 0);
    cr_expect_eq(f[11], (float)sqrt(13.0));
    cr_assert_eq(distance_edt_sq_f32(s, 3, 4, f), 0);
    cr_expect_eq(f[11], 13.0f);
    memset(s, 0, sizeof s);
    cr_assert_eq(distance_edt(s, 3, 4, d), 0);
    for (int i = 0; i < 12; i++)
        cr_expect(isinf(d[i]) && d[i] > 0, "no seed: +inf at %d, got %g", i, d[i]);
    cr_assert_eq(distance_edt_f32(s, 3, 4, f), 0);
    cr_expect(isinf(f[5]), "float +inf");
    memset(s, 1, sizeof s);
    cr_assert_eq(distance_edt_sq(s, 3, 4, d), 0);
    for (int i = 0; i < 12; i++)
        cr_expect_eq(d[i], 0.0, "all seeds: 0 at %d", i);
    const uint8_t row[6] = {0, 1, 0, 0, 1, 0};
    const double want[6] = {1, 0, 1, 1, 0, 1};
    cr_assert_eq(distance_edt(row, 1, 6, d), 0);
    for (int i = 0; i < 6; i++)
        cr_expect_eq(d[i], want[i], "1x6 at %d", i);
    cr_assert_eq(distance_edt(row, 6, 1, d), 0, "6x1 (a column)");
    for (int i = 0; i < 6; i++)
        cr_expect_eq(d[i], want[i], "6x1 at %d", i);
    cr_expect_eq(distance_edt(s, 0, 4, d), -1);
    cr_expect_eq(distance_edt(NULL, 3, 4, d), -1);
    cr_expect_eq(distance_edt_f32(s, 3, 4, NULL), -1);
}

Test(segmetrics, edt_equals_brute_force_on_random_masks)
{
    /* squared distances are integers: the transform must equal the brute force exactly */
    static const int sizes[][2] = {{1, 1}, {1, 37}, {41, 1}, {2, 2}, {7, 13}, {31, 29},
                                   {64, 48}, {1, 200}, {200, 1}};
    static const double density[] = {0.0, 0.003, 0.05, 0.4, 1.0};
    prng r;
    prng_seed(&r, 20261203);
    int cases = 0;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (size_t di = 0; di < sizeof density / sizeof density[0]; di++) {
            int h = sizes[si][0], w = sizes[si][1];
            size_t np = (size_t)h * (size_t)w;
            uint8_t *s = malloc(np);
            double *got = malloc(np * sizeof *got), *want = malloc(np * sizeof *want);
            cr_assert(s && got && want);
            for (size_t i = 0; i < np; i++)
                s[i] = density[di] >= 1.0 || prng_chance(&r, density[di]);
            cr_assert_eq(distance_edt_sq(s, h, w, got), 0);
            brute_edt_sq(s, h, w, want);
            for (size_t i = 0; i < np; i++)
                cr_assert_eq(got[i], want[i], "%dx%d density %g pixel %zu: %g, brute force %g",
                             h, w, density[di], i, got[i], want[i]);
            free(s);
            free(got);
            free(want);
            cases++;
        }
    cr_log_info("EDT = brute force on %d random masks", cases);
}

/* ---- random blobs against the NumPy / SciPy reference ---- */

/* Paint an ellipse of centre (cy, cx) and radii (ry, rx) (pixel centres inside) into m. */
static void ellipse(uint8_t *m, int h, int w, double cy, double cx, double ry, double rx)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double u = (y + 0.5 - cy) / ry, v = (x + 0.5 - cx) / rx;
            if (u * u + v * v <= 1.0)
                m[y * w + x] = 1;
        }
}

/* A random prediction / ground-truth pair of blobs: the GT's ellipses are the prediction's
 * jittered by up to 2 px, plus sometimes one more, and a little pixel noise on the prediction. */
static void random_pair(prng *r, uint8_t *p, uint8_t *g, int h, int w)
{
    size_t np = (size_t)h * (size_t)w;
    memset(p, 0, np);
    memset(g, 0, np);
    int k = (int)prng_below(r, 4);
    for (int i = 0; i < k; i++) {
        double cy = prng_range(r, -2, h + 2), cx = prng_range(r, -2, w + 2);
        double ry = prng_range(r, 0.6, h / 2.0 + 2), rx = prng_range(r, 0.6, w / 2.0 + 2);
        ellipse(p, h, w, cy, cx, ry, rx);
        double gy = cy + prng_range(r, -2, 2), gx = cx + prng_range(r, -2, 2);
        double gry = fmax(0.6, ry + prng_range(r, -2, 2));
        double grx = fmax(0.6, rx + prng_range(r, -2, 2));
        ellipse(g, h, w, gy, gx, gry, grx);
    }
    if (prng_chance(r, 0.3))
        ellipse(g, h, w, prng_range(r, 0, h), prng_range(r, 0, w), prng_range(r, 1, 6),
                prng_range(r, 1, 6));
    for (size_t i = 0; i < np; i++)
        if (prng_chance(r, 0.02))
            p[i] ^= 1;
}

static void put_bits(FILE *f, const uint8_t *m, size_t np)
{
    fputc(' ', f);
    for (size_t i = 0; i < np; i++)
        fputc(m[i] ? '1' : '0', f);
}

Test(segmetrics, random_blobs_match_numpy_scipy_reference)
{
    enum { IMAGES = 80, EDTS = 24, WORST = 10, MAXSIDE = 48 };
    static const double tols[] = {0.0, 1.0, 1.5, 2.0, 3.0, 5.0};
    static const double ACC_TOL = 2.0;
    char *dir = tst_tmpdir();
    cr_assert_not_null(dir);
    char in[4200], out[4200], args[8500];
    snprintf(in, sizeof in, "%s/cases.txt", dir);
    snprintf(out, sizeof out, "%s/reference.txt", dir);
    FILE *f = fopen(in, "w");
    cr_assert_not_null(f);
    prng r;
    prng_seed(&r, 9);
    static segmetrics_image got[IMAGES], got_hard[IMAGES];
    segmetrics_acc *acc = segmetrics_acc_new(ACC_TOL);
    cr_assert_not_null(acc);
    size_t big = MAXSIDE * MAXSIDE;
    uint8_t *p = malloc(big), *g = malloc(big), *ign = malloc(big), *gb = malloc(big);
    float *soft = malloc(big * sizeof *soft);
    double *dist = malloc(big * sizeof *dist);
    cr_assert(p && g && ign && gb && soft && dist);
    char err[256];
    int ignore_modes[4] = {0};
    for (int i = 0; i < IMAGES; i++) {
        int h = 1 + (int)prng_below(&r, MAXSIDE), w = 1 + (int)prng_below(&r, MAXSIDE);
        if (i == 1)
            h = 1; /* a row */
        if (i == 2)
            w = 1; /* a column */
        size_t np = (size_t)h * (size_t)w;
        random_pair(&r, p, g, h, w);
        /* ignore: none, random pixels, a band of 1.5 px around the GT boundary, everything */
        int mode = i == 3 ? 3 : (int)prng_below(&r, 3);
        ignore_modes[mode]++;
        if (mode == 1)
            for (size_t j = 0; j < np; j++)
                ign[j] = prng_chance(&r, 0.1);
        else if (mode == 2) {
            segmetrics_boundary_map(g, h, w, gb);
            cr_assert_eq(distance_edt(gb, h, w, dist), 0);
            for (size_t j = 0; j < np; j++)
                ign[j] = dist[j] <= 1.5;
        } else
            memset(ign, mode == 3, np);
        for (size_t j = 0; j < np; j++) {
            double u = prng_uniform(&r);
            soft[j] = u < 0.05 ? (float)(p[j] != 0) : (float)(p[j] ? 0.5 + 0.5 * u : 0.5 * u);
        }
        double tol = tols[prng_below(&r, sizeof tols / sizeof tols[0])];
        const uint8_t *im = mode ? ign : NULL;
        cr_assert_eq(segmetrics_image_eval(p, soft, g, im, h, w, tol, &got[i], err, sizeof err),
                     0, "%s", err);
        cr_assert_eq(segmetrics_image_eval(p, NULL, g, im, h, w, tol, &got_hard[i], err,
                                           sizeof err), 0, "%s", err);
        cr_assert_eq(segmetrics_acc_add(acc, p, soft, g, im, h, w, err, sizeof err), 0, "%s",
                     err);
        fprintf(f, "img %d %d %.17g", h, w, tol);
        put_bits(f, p, np);
        put_bits(f, g, np);
        if (mode)
            put_bits(f, ign, np);
        else
            fputs(" -", f);
        for (size_t j = 0; j < np; j++)
            fprintf(f, " %.9g", (double)soft[j]);
        fputc('\n', f);
    }
    fprintf(f, "acc %.17g %d\n", ACC_TOL, WORST);
    /* EDT masks: rows, columns, all-zero, all-one, and random densities */
    int eh[EDTS], ew[EDTS];
    uint8_t *seeds[EDTS];
    for (int e = 0; e < EDTS; e++) {
        int h = 1 + (int)prng_below(&r, 40), w = 1 + (int)prng_below(&r, 40);
        if (e % 6 == 0)
            h = 1;
        if (e % 6 == 1)
            w = 1;
        size_t np = (size_t)h * (size_t)w;
        seeds[e] = malloc(np);
        cr_assert_not_null(seeds[e]);
        double density = e % 6 == 2 ? 0.0 : e % 6 == 3 ? 1.0 : prng_range(&r, 0.005, 0.3);
        for (size_t j = 0; j < np; j++)
            seeds[e][j] = density >= 1.0 || prng_chance(&r, density);
        eh[e] = h;
        ew[e] = w;
        fprintf(f, "edt %d %d", h, w);
        put_bits(f, seeds[e], np);
        fputc('\n', f);
    }
    fclose(f);
    snprintf(args, sizeof args, "'%s' '%s'", in, out);
    cr_assert_eq(tst_python("segmetrics_ref.py", args), 0,
                 "tests/reference/segmetrics_ref.py failed");

    f = fopen(out, "r");
    cr_assert_not_null(f, "no output from segmetrics_ref.py");
    char kind[32] = "";
    cr_assert_eq(fscanf(f, "edt %31s", kind), 1);
    double worst_diff = 0.0;
    for (int i = 0; i < IMAGES; i++) {
        double want[7];
        for (int k = 0; k < 7; k++)
            cr_assert_eq(fscanf(f, "%lf", &want[k]), 1, "image %d value %d missing", i, k);
        const double mine[7] = {got[i].overlap.iou,       got[i].overlap.dice,
                                got[i].boundary.precision, got[i].boundary.recall,
                                got[i].boundary.f,         got[i].mae,
                                got_hard[i].mae};
        static const char *names[7] = {"IoU", "Dice", "boundary P", "boundary R", "boundary F",
                                       "MAE", "hard MAE"};
        for (int k = 0; k < 7; k++) {
            cr_expect(fabs(mine[k] - want[k]) <= 1e-9, "image %d (%dx%d, tol %g) %s: %.17g, "
                      "reference %.17g", i, got[i].h, got[i].w, got[i].boundary.tolerance,
                      names[k], mine[k], want[k]);
            worst_diff = fmax(worst_diff, fabs(mine[k] - want[k]));
        }
    }
    double want_acc[8 + WORST];
    for (int k = 0; k < 8 + WORST; k++)
        cr_assert_eq(fscanf(f, "%lf", &want_acc[k]), 1, "accumulator value %d missing", k);
    segmetrics_summary s;
    segmetrics_acc_summary(acc, &s);
    const double mine_acc[8] = {s.mean_iou, s.mean_dice, s.mean_boundary_precision,
                                s.mean_boundary_recall, s.mean_boundary_f, s.mean_mae,
                                s.overall_iou, s.overall_dice};
    for (int k = 0; k < 8; k++) {
        cr_expect(fabs(mine_acc[k] - want_acc[k]) <= 1e-9, "summary value %d: %.17g, reference "
                  "%.17g", k, mine_acc[k], want_acc[k]);
        worst_diff = fmax(worst_diff, fabs(mine_acc[k] - want_acc[k]));
    }
    size_t idx[WORST];
    cr_assert_eq(segmetrics_acc_worst(acc, WORST, idx), WORST);
    for (int k = 0; k < WORST; k++)
        cr_expect_eq((double)idx[k], want_acc[8 + k], "worst image %d: %zu, reference %g", k,
                     idx[k], want_acc[8 + k]);
    double edt_diff = 0.0;
    for (int e = 0; e < EDTS; e++) {
        size_t np = (size_t)eh[e] * (size_t)ew[e];
        cr_assert_eq(distance_edt(seeds[e], eh[e], ew[e], dist), 0);
        for (size_t j = 0; j < np; j++) {
            double want;
            cr_assert_eq(fscanf(f, "%lf", &want), 1, "EDT %d value %zu missing", e, j);
            if (isinf(want))
                cr_expect(isinf(dist[j]), "EDT %d (%dx%d) pixel %zu: %g, reference inf", e,
                          eh[e], ew[e], j, dist[j]);
            else {
                cr_expect(fabs(dist[j] - want) <= 1e-9, "EDT %d (%dx%d) pixel %zu: %.17g, "
                          "reference %.17g", e, eh[e], ew[e], j, dist[j], want);
                edt_diff = fmax(edt_diff, fabs(dist[j] - want));
            }
        }
        free(seeds[e]);
    }
    fclose(f);
    /* the random images are not degenerate: IoUs and boundary Fs spread over (0, 1) */
    cr_expect(s.mean_iou > 0.2 && s.mean_iou < 0.95 && s.mean_boundary_f > 0.2 &&
              s.mean_boundary_f < 0.95, "mean IoU %g, mean boundary F %g", s.mean_iou,
              s.mean_boundary_f);
    cr_expect(ignore_modes[0] > 5 && ignore_modes[1] > 5 && ignore_modes[2] > 5,
              "ignore modes %d %d %d", ignore_modes[0], ignore_modes[1], ignore_modes[2]);
    cr_log_info("segmetrics vs NumPy on %d random images: max |difference| %.3g (mean IoU %.4f, "
                "mean boundary F %.4f at %g px); EDT vs %s on %d masks: max |difference| %.3g",
                IMAGES, worst_diff, s.mean_iou, s.mean_boundary_f, ACC_TOL, kind, EDTS,
                edt_diff);
    segmetrics_acc_free(acc);
    free(p);
    free(g);
    free(ign);
    free(gb);
    free(soft);
    free(dist);
    unlink(in);
    unlink(out);
    tst_rmtree(dir);
}
