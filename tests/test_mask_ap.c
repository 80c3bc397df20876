/*
 * test_mask_ap.c - train/mask_ap, the COCO mask AP/AR evaluator: hand-computed cases (each
 * derivation in a comment), the COCO results file, refused inputs, and a randomised comparison
 * with tests/reference/mask_ap_ref.py (NumPy, written from the COCOeval algorithm) on a few
 * hundred random masks with score ties, crowds, area-range boundaries and a maxDets cut.
 *
 * Notation: recall points r_i = i / 100 (i = 0..100); "AP = x" over the 10 IoU thresholds
 * 0.50, 0.55, ..., 0.95 is the mean of the 10 x 101 sampled precisions.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "eval/mask_ap.h"
#include "codec/rle.h"

TestSuite(mask_ap);

#define MAXSIDE 200
static uint8_t canvas[MAXSIDE * MAXSIDE];

/* The h x w mask of the rectangle [x0, x1) x [y0, y1) (in the shared canvas). */
static const uint8_t *rect(int h, int w, int x0, int y0, int x1, int y1)
{
    memset(canvas, 0, (size_t)h * (size_t)w);
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            canvas[y * w + x] = 1;
    return canvas;
}

static void gt(mask_ap *m, int64_t img, int cls, int h, int w, int x0, int y0, int x1, int y1,
               int crowd)
{
    char err[256];
    cr_assert_eq(mask_ap_add_gt(m, img, cls, rect(h, w, x0, y0, x1, y1), h, w, crowd, err,
                                sizeof err), 0, "%s", err);
}

static void det(mask_ap *m, int64_t img, int cls, float score, int h, int w, int x0, int y0,
                int x1, int y1)
{
    char err[256];
    cr_assert_eq(mask_ap_add_det(m, img, cls, score, rect(h, w, x0, y0, x1, y1), h, w, err,
                                 sizeof err), 0, "%s", err);
}

static mask_ap_result summarize(mask_ap *m)
{
    mask_ap_result r;
    char err[256];
    cr_assert_eq(mask_ap_summarize(m, &r, err, sizeof err), 0, "%s", err);
    return r;
}

#define EXPECT_NEAR(got, want, what) \
    cr_expect(fabs((got) - (want)) <= 1e-12, "%s: %.15g, expected %.15g", what, (double)(got), \
              (double)(want))

static void perfect_duplicates_and_false_positive_ranking(void)
{
    /* Perfect: every GT has one exact detection -> precision 1 at every recall point:
     * AP = AP50 = AP75 = 1, AR = 1; all objects are 10x10 (small): AP_S = 1, AP_M = AP_L = -1. */
    mask_ap *m = mask_ap_new(2);
    gt(m, 1, 0, 64, 64, 0, 0, 10, 10, 0);
    gt(m, 1, 1, 64, 64, 20, 20, 30, 30, 0);
    gt(m, 2, 0, 32, 48, 5, 5, 15, 15, 0);
    det(m, 1, 0, 0.3f, 64, 64, 0, 0, 10, 10);
    det(m, 1, 1, 0.9f, 64, 64, 20, 20, 30, 30);
    det(m, 2, 0, 0.6f, 32, 48, 5, 5, 15, 15);
    mask_ap_result r = summarize(m);
    EXPECT_NEAR(r.ap, 1.0, "perfect AP");
    EXPECT_NEAR(r.ap50, 1.0, "perfect AP50");
    EXPECT_NEAR(r.ap75, 1.0, "perfect AP75");
    EXPECT_NEAR(r.ap_small, 1.0, "perfect AP_S");
    EXPECT_NEAR(r.ap_medium, -1.0, "no medium object: AP_M");
    EXPECT_NEAR(r.ap_large, -1.0, "no large object: AP_L");
    EXPECT_NEAR(r.ar1, 1.0, "perfect AR1");
    EXPECT_NEAR(r.ar100, 1.0, "perfect AR100");
    cr_expect_eq(r.num_images, 2);
    cr_expect_eq(r.num_gt, 3);
    cr_expect_eq(r.num_det, 3);
    char line[1024];
    cr_expect_lt(mask_ap_result_json(&r, line, sizeof line), (int)sizeof line);
    cr_expect(strstr(line, "\"mask_ap\": 1.000000, \"mask_ap50\": 1.000000") != NULL, "%s", line);
    cr_expect(strstr(line, "\"mask_ap_m\": -1.000000") != NULL, "%s", line);
    mask_ap_free(m);

    /* One GT, two detections. (a) the higher-scored one is exact, the lower a duplicate of it:
     * TP then FP (the GT is taken): recall [1, 1], precision [1, 0.5] -> every recall point
     * finds index 0: AP = 1. */
    m = mask_ap_new(1);
    gt(m, 7, 0, 40, 40, 10, 10, 20, 20, 0);
    det(m, 7, 0, 0.9f, 40, 40, 10, 10, 20, 20);
    det(m, 7, 0, 0.5f, 40, 40, 10, 10, 20, 20);
    EXPECT_NEAR(summarize(m).ap, 1.0, "duplicate below the true positive");
    mask_ap_free(m);
    /* (b) a false positive ranked above the true positive: FP, TP: recall [0, 1], precision
     * [0, 0.5] -> made monotone [0.5, 0.5]: 0.5 at every recall point: AP = 0.5. */
    m = mask_ap_new(1);
    gt(m, 7, 0, 40, 40, 10, 10, 20, 20, 0);
    det(m, 7, 0, 0.9f, 40, 40, 25, 25, 35, 35);
    det(m, 7, 0, 0.5f, 40, 40, 10, 10, 20, 20);
    r = summarize(m);
    EXPECT_NEAR(r.ap, 0.5, "false positive above the true positive");
    EXPECT_NEAR(r.ar100, 1.0, "recall reaches 1");
    mask_ap_free(m);

    /* Images count without detections, and detections count without GT: image 1 has a GT
     * found exactly (0.9), image 2 a GT nobody finds, image 3 no GT but a detection (0.99).
     * Sorted: FP, TP: recall [0, 0.5], precision [0, 0.5] -> monotone [0.5, 0.5]; r_i <= 0.5
     * (i = 0..50, 51 points) give 0.5, the rest 0: AP = 0.5 * 51 / 101; AR100 = 0.5. */
    m = mask_ap_new(1);
    gt(m, 1, 0, 40, 40, 0, 0, 10, 10, 0);
    gt(m, 2, 0, 40, 40, 0, 0, 10, 10, 0);
    det(m, 1, 0, 0.9f, 40, 40, 0, 0, 10, 10);
    det(m, 3, 0, 0.99f, 40, 40, 0, 0, 10, 10);
    r = summarize(m);
    EXPECT_NEAR(r.ap, 0.5 * 51.0 / 101.0, "missed image and detection-only image");
    EXPECT_NEAR(r.ar100, 0.5, "AR100 with a missed image");
    cr_expect_eq(r.num_images, 3);
    mask_ap_free(m);
}

static void iou_between_and_on_thresholds(void)
{
    /* GT 10x10 (100 px), detection 9x8 inside it (72 px): IoU 0.72 matches the thresholds
     * 0.50 .. 0.70 (5 of 10) with precision 1, the other 5 give 0: AP = 0.5, AP50 = 1,
     * AP75 = 0. */
    mask_ap *m = mask_ap_new(1);
    gt(m, 1, 0, 30, 30, 0, 0, 10, 10, 0);
    det(m, 1, 0, 0.8f, 30, 30, 0, 0, 9, 8);
    mask_ap_result r = summarize(m);
    EXPECT_NEAR(r.ap, 0.5, "IoU 0.72: AP");
    EXPECT_NEAR(r.ap50, 1.0, "IoU 0.72: AP50");
    EXPECT_NEAR(r.ap75, 0.0, "IoU 0.72: AP75");
    EXPECT_NEAR(r.ar100, 0.5, "IoU 0.72: AR100");
    mask_ap_free(m);
    /* IoU exactly 0.75 (150 of 200 px): COCO matches IoU >= t, so 0.50 .. 0.75 (6 of 10):
     * AP = 0.6, AP75 = 1. */
    m = mask_ap_new(1);
    gt(m, 1, 0, 30, 30, 0, 0, 20, 10, 0);
    det(m, 1, 0, 0.8f, 30, 30, 0, 0, 15, 10);
    r = summarize(m);
    EXPECT_NEAR(r.ap, 0.6, "IoU 0.75: AP");
    EXPECT_NEAR(r.ap75, 1.0, "IoU 0.75: AP75");
    mask_ap_free(m);
    /* IoU exactly 0.5 (half of the GT): only the first threshold: AP = 0.1, AP50 = 1. */
    m = mask_ap_new(1);
    gt(m, 1, 0, 30, 30, 0, 0, 10, 10, 0);
    det(m, 1, 0, 0.8f, 30, 30, 0, 0, 5, 10);
    r = summarize(m);
    EXPECT_NEAR(r.ap, 0.1, "IoU 0.5: AP");
    EXPECT_NEAR(r.ap50, 1.0, "IoU 0.5: AP50");
    mask_ap_free(m);
    /* The thresholds are numpy.linspace's doubles, as COCO compares them: the third is the
     * double nearest 0.6 (not 0.5 + 2 * 0.05 = 0.6000000000000001), so an IoU of exactly 3/5
     * (60 of 100 px) matches 0.50, 0.55, 0.60: AP = 0.3; an IoU of exactly 17/20 (170 of
     * 200 px) matches the eight thresholds up to 0.85: AP = 0.8. */
    m = mask_ap_new(1);
    gt(m, 1, 0, 30, 30, 0, 0, 10, 10, 0);
    det(m, 1, 0, 0.8f, 30, 30, 0, 0, 6, 10);
    EXPECT_NEAR(summarize(m).ap, 0.3, "IoU 0.6: AP");
    mask_ap_free(m);
    m = mask_ap_new(1);
    gt(m, 1, 0, 30, 30, 0, 0, 20, 10, 0);
    det(m, 1, 0, 0.8f, 30, 30, 0, 0, 17, 10);
    EXPECT_NEAR(summarize(m).ap, 0.8, "IoU 0.85: AP");
    mask_ap_free(m);
    /* Equal IoUs go to the LATER GT (COCO replaces its best match on IoU >= best): GTs A
     * [0,10)^2 then B [10,20)x[0,10); detection 1 = A u B (0.9) has IoU 0.5 with each and takes
     * B at t = 0.5; detection 2 = A exactly (0.8) then takes A: two TPs, AP50 = 1. (Were the
     * tie given to A, detection 2 would be a FP: AP50 = 51/101.) */
    m = mask_ap_new(1);
    gt(m, 1, 0, 30, 30, 0, 0, 10, 10, 0);
    gt(m, 1, 0, 30, 30, 10, 0, 20, 10, 0);
    det(m, 1, 0, 0.9f, 30, 30, 0, 0, 20, 10);
    det(m, 1, 0, 0.8f, 30, 30, 0, 0, 10, 10);
    EXPECT_NEAR(summarize(m).ap50, 1.0, "IoU tie between two GTs: AP50");
    mask_ap_free(m);
    /* Half-overlapping shift: GT [0,10)^2, detection [5,15) x [0,10): 50 / 150 = 1/3 < 0.5:
     * no threshold: AP = 0 (the class has a GT, so 0, not -1). */
    m = mask_ap_new(1);
    gt(m, 1, 0, 30, 30, 0, 0, 10, 10, 0);
    det(m, 1, 0, 0.8f, 30, 30, 5, 0, 15, 10);
    EXPECT_NEAR(summarize(m).ap, 0.0, "IoU 1/3: AP");
    mask_ap_free(m);
}

static void class_without_gt_is_excluded_from_the_mean(void)
{
    /* class 0: perfect (AP 1); class 1: FP above TP (AP 0.5, as derived above); class 2: a
     * detection but no GT -> -1, excluded; class 3: nothing -> -1. Mean over defined: 0.75. */
    mask_ap *m = mask_ap_new(4);
    gt(m, 1, 0, 50, 50, 0, 0, 10, 10, 0);
    det(m, 1, 0, 0.7f, 50, 50, 0, 0, 10, 10);
    gt(m, 1, 1, 50, 50, 20, 20, 30, 30, 0);
    det(m, 1, 1, 0.9f, 50, 50, 40, 40, 50, 50);
    det(m, 1, 1, 0.6f, 50, 50, 20, 20, 30, 30);
    det(m, 2, 2, 0.95f, 50, 50, 0, 0, 10, 10);
    mask_ap_result r = summarize(m);
    EXPECT_NEAR(r.ap, 0.75, "mean over the classes with GT");
    EXPECT_NEAR(mask_ap_class_ap(m, 0), 1.0, "class 0");
    EXPECT_NEAR(mask_ap_class_ap(m, 1), 0.5, "class 1");
    EXPECT_NEAR(mask_ap_class_ap(m, 2), -1.0, "class 2 (detections only)");
    EXPECT_NEAR(mask_ap_class_ap(m, 3), -1.0, "class 3 (nothing)");
    /* a new add invalidates the per-class values until the next summarize */
    gt(m, 3, 3, 50, 50, 0, 0, 5, 5, 0);
    EXPECT_NEAR(mask_ap_class_ap(m, 0), -1.0, "stale after an add");
    r = summarize(m);
    EXPECT_NEAR(mask_ap_class_ap(m, 3), 0.0, "class 3 now has a missed GT");
    EXPECT_NEAR(r.ap, 0.5, "(1 + 0.5 + 0) / 3");
    mask_ap_free(m);
}

static void small_medium_large_split(void)
{
    /* Image 200x200. GT A 20x20 = 400 px (small), GT B 50x50 = 2500 (medium), GT C 120x120 =
     * 14400 (large). Detection A' = A exactly (0.9); B' = 45x40 inside B = 1800 px (medium),
     * IoU 0.72 (0.8); nothing on C.
     * small: only A counts. A' TP. B' matches the ignored B for t <= 0.70 (ignored), and is an
     *   unmatched out-of-range detection otherwise (ignored): AP_S = 1, AR_S = 1.
     * medium: only B counts. A' matches the ignored A (ignored). B' TP for the 5 thresholds
     *   <= 0.70 (precision 1), FP for the other 5 (0): AP_M = 0.5, AR_M = 0.5.
     * large: only C counts; A', B' are ignored (matched to ignored GTs or out of range):
     *   no TP: AP_L = 0, AR_L = 0.
     * all: 3 GTs. t <= 0.70: TP, TP -> recall [1/3, 2/3], precision 1 up to r_66 = 0.66:
     *   67 points; t >= 0.75: TP, FP -> recall [1/3, 1/3], 1 up to r_33: 34 points.
     *   AP = (5 * 67 + 5 * 34) / 1010 = 0.5, AP50 = 67/101, AP75 = 34/101,
     *   AR100 = (5 * 2/3 + 5 * 1/3) / 10 = 0.5. */
    mask_ap *m = mask_ap_new(1);
    gt(m, 1, 0, 200, 200, 0, 0, 20, 20, 0);
    gt(m, 1, 0, 200, 200, 30, 0, 80, 50, 0);
    gt(m, 1, 0, 200, 200, 80, 80, 200, 200, 0);
    det(m, 1, 0, 0.9f, 200, 200, 0, 0, 20, 20);
    det(m, 1, 0, 0.8f, 200, 200, 30, 0, 75, 40);
    mask_ap_result r = summarize(m);
    EXPECT_NEAR(r.ap_small, 1.0, "AP_S");
    EXPECT_NEAR(r.ap_medium, 0.5, "AP_M");
    EXPECT_NEAR(r.ap_large, 0.0, "AP_L");
    EXPECT_NEAR(r.ap, 0.5, "AP");
    EXPECT_NEAR(r.ap50, 67.0 / 101.0, "AP50");
    EXPECT_NEAR(r.ap75, 34.0 / 101.0, "AP75");
    EXPECT_NEAR(r.ar100, 0.5, "AR100");
    EXPECT_NEAR(r.ar_small, 1.0, "AR_S");
    EXPECT_NEAR(r.ar_medium, 0.5, "AR_M");
    EXPECT_NEAR(r.ar_large, 0.0, "AR_L");
    mask_ap_free(m);
    /* Bounds are inclusive on both sides, as in COCO: a 32x32 = 1024 px object found exactly
     * is both small and medium; 96x96 = 9216 both medium and large. */
    m = mask_ap_new(2);
    gt(m, 1, 0, 120, 120, 0, 0, 32, 32, 0);
    det(m, 1, 0, 0.5f, 120, 120, 0, 0, 32, 32);
    r = summarize(m);
    EXPECT_NEAR(r.ap_small, 1.0, "1024 px is small");
    EXPECT_NEAR(r.ap_medium, 1.0, "1024 px is medium");
    EXPECT_NEAR(r.ap_large, -1.0, "1024 px is not large");
    gt(m, 2, 1, 120, 120, 0, 0, 96, 96, 0);
    det(m, 2, 1, 0.5f, 120, 120, 0, 0, 96, 96);
    r = summarize(m);
    EXPECT_NEAR(r.ap_large, 1.0, "9216 px is large");
    EXPECT_NEAR(r.ap_medium, 1.0, "9216 px is medium");
    mask_ap_free(m);
}

static void crowd_regions_absorb_detections(void)
{
    /* Image 100x100: GT A [0,10)^2, crowd region [40,80)^2. Detections: A exactly (0.9) and two
     * 10x10 boxes inside the crowd (0.95, 0.8): IoU with a crowd = intersection / detection
     * area = 1, so both match it (a crowd can match many) and are ignored; the crowd is not a
     * GT to find. AP = 1, AR100 = 1.
     * Control, the same region as a normal GT: the two boxes have IoU 100/1600 with it: FP,
     * TP, FP with 2 GTs: recall [0, .5, .5], precision [0, .5, 1/3] -> monotone [.5, .5, 1/3]:
     * 0.5 up to r_50: AP = 0.5 * 51 / 101. */
    for (int crowd = 1; crowd >= 0; crowd--) {
        mask_ap *m = mask_ap_new(2);
        gt(m, 1, 0, 100, 100, 0, 0, 10, 10, 0);
        gt(m, 1, 0, 100, 100, 40, 40, 80, 80, crowd);
        det(m, 1, 0, 0.9f, 100, 100, 0, 0, 10, 10);
        det(m, 1, 0, 0.95f, 100, 100, 45, 45, 55, 55);
        det(m, 1, 0, 0.8f, 100, 100, 60, 60, 70, 70);
        /* class 1 has only a crowd GT (and a detection inside it): undefined, -1 */
        gt(m, 2, 1, 100, 100, 0, 0, 50, 50, 1);
        det(m, 2, 1, 0.9f, 100, 100, 0, 0, 10, 10);
        mask_ap_result r = summarize(m);
        if (crowd) {
            EXPECT_NEAR(r.ap, 1.0, "crowd: AP");
            EXPECT_NEAR(r.ar100, 1.0, "crowd: AR100");
        } else {
            EXPECT_NEAR(r.ap, 0.5 * 51.0 / 101.0, "no crowd: AP");
        }
        EXPECT_NEAR(mask_ap_class_ap(m, 1), -1.0, "a class with only a crowd GT");
        mask_ap_free(m);
    }
}

static void max_dets_cut(void)
{
    /* One GT [0,10)^2 in a 200x200 image; k one-pixel false positives far from it, all scored
     * above the exact detection. k = 100: the exact one is the 101st and is cut (maxDets 100
     * per image and class): no TP, AP = 0, AR100 = 0.
     * k = 99: it is the 100th: recall reaches 1 at index 99 with precision 1/100, monotone
     * -> 1/100 at every recall point: AP = 0.01; AR100 = 1, AR10 = AR1 = 0.
     * k = 0 (and the 100 others below it): AR1 = 1, AP = 1. */
    const int ks[3] = {100, 99, 0};
    for (int c = 0; c < 3; c++) {
        int k = ks[c];
        mask_ap *m = mask_ap_new(1);
        gt(m, 5, 0, 200, 200, 0, 0, 10, 10, 0);
        for (int i = 0; i < k; i++) {
            int x = 20 + i % 100, y = 100 + i / 100;
            det(m, 5, 0, 0.99f - 0.001f * (float)i, 200, 200, x, y, x + 1, y + 1);
        }
        det(m, 5, 0, 0.5f, 200, 200, 0, 0, 10, 10);
        for (int i = 0; k == 0 && i < 100; i++)
            det(m, 5, 0, 0.4f, 200, 200, 20 + i, 150, 21 + i, 151);
        mask_ap_result r = summarize(m);
        if (k == 100) {
            EXPECT_NEAR(r.ap, 0.0, "101st detection cut: AP");
            EXPECT_NEAR(r.ar100, 0.0, "101st detection cut: AR100");
        } else if (k == 99) {
            cr_expect(fabs(r.ap - 0.01) < 1e-12, "100th detection: AP %.15g", r.ap);
            EXPECT_NEAR(r.ar100, 1.0, "100th detection: AR100");
            EXPECT_NEAR(r.ar10, 0.0, "100th detection: AR10");
            EXPECT_NEAR(r.ar1, 0.0, "100th detection: AR1");
        } else {
            EXPECT_NEAR(r.ar1, 1.0, "first detection: AR1");
            EXPECT_NEAR(r.ap, 1.0, "first detection: AP");
        }
        mask_ap_free(m);
    }
}

/* The hand-computed cases, grouped (each test costs a process start). */
Test(mask_ap, hand_cases_ranking_thresholds_and_max_dets)
{
    perfect_duplicates_and_false_positive_ranking();
    iou_between_and_on_thresholds();
    max_dets_cut();
}

Test(mask_ap, hand_cases_classes_area_ranges_and_crowds)
{
    class_without_gt_is_excluded_from_the_mean();
    small_medium_large_split();
    crowd_regions_absorb_detections();
}

/* ---------------------------------------------------------------- results file, refusals */

Test(mask_ap, results_json_and_refused_inputs)
{
    char err[256];
    cr_expect_null(mask_ap_new(0));
    mask_ap *m = mask_ap_new(3);
    gt(m, 11, 2, 10, 10, 0, 0, 5, 5, 0);
    /* a mask whose first run is 44 zeros (columns 0-3 and 4 pixels of column 4): 44 is encoded
     * as the groups 12 + more (char 48 + 44 = '\') and 1: the JSON string must escape it */
    uint8_t backslash[100] = {0};
    for (int x = 4; x < 10; x++)
        for (int y = (x == 4 ? 4 : 0); y < 10; y++)
            backslash[y * 10 + x] = 1;
    cr_assert_eq(mask_ap_add_det(m, 11, 2, 0.625f, backslash, 10, 10, 0, 0), 0);
    det(m, 12, 0, 0.25f, 8, 6, 1, 1, 3, 4);
    const int64_t cats[3] = {1, 5, 90};
    cr_assert_eq(mask_ap_set_category_ids(m, cats, 3, err, sizeof err), 0, "%s", err);

    char *dir = tst_tmpdir();
    cr_assert_not_null(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/results.json", dir);
    cr_assert_eq(mask_ap_write_results_json(m, path, err, sizeof err), 0, "%s", err);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    static char text[8192];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = 0;
    cr_expect(strstr(text, "\\\\") != NULL, "the '\\' of the counts is escaped: %s", text);
    cJSON *root = cJSON_Parse(text);
    cr_assert(cJSON_IsArray(root) && cJSON_GetArraySize(root) == 2, "%s", text);
    const int64_t want_img[2] = {11, 12}, want_cat[2] = {90, 1};
    const double want_score[2] = {0.625, 0.25};
    const int want_h[2] = {10, 8}, want_w[2] = {10, 6};
    for (int i = 0; i < 2; i++) {
        cJSON *e = cJSON_GetArrayItem(root, i);
        cr_expect_eq((int64_t)cJSON_GetObjectItem(e, "image_id")->valuedouble, want_img[i]);
        cr_expect_eq((int64_t)cJSON_GetObjectItem(e, "category_id")->valuedouble, want_cat[i]);
        cr_expect_eq(cJSON_GetObjectItem(e, "score")->valuedouble, want_score[i]);
        cJSON *seg = cJSON_GetObjectItem(e, "segmentation");
        cJSON *size = cJSON_GetObjectItem(seg, "size");
        cr_expect_eq(cJSON_GetArrayItem(size, 0)->valueint, want_h[i]);
        cr_expect_eq(cJSON_GetArrayItem(size, 1)->valueint, want_w[i]);
        uint32_t *counts;
        size_t n;
        cr_assert_eq(rle_from_string(cJSON_GetObjectItem(seg, "counts")->valuestring, &counts, &n,
                                     err, sizeof err), 0, "%s", err);
        uint8_t mask[100];
        cr_assert_eq(rle_decode(counts, n, want_h[i], want_w[i], mask, err, sizeof err), 0,
                     "%s", err);
        free(counts);
        const uint8_t *want = i == 0 ? backslash : rect(8, 6, 1, 1, 3, 4);
        cr_expect_eq(memcmp(mask, want, (size_t)(want_h[i] * want_w[i])), 0,
                     "detection %d: the counts decode to its mask", i);
    }
    cJSON_Delete(root);

    /* mask_ap's own row-order encoder gives rle_encode's runs: random sizes (widths not a
     * multiple of 8, single rows and columns), values 0 / 1 / 7 / 255, blobs and noise */
    mask_ap *enc = mask_ap_new(1);
    enum { N_ENC = 40 };
    static uint8_t enc_masks[N_ENC][41 * 41];
    int enc_h[N_ENC], enc_w[N_ENC];
    uint32_t seed = 77;
    for (int i = 0; i < N_ENC; i++) {
        seed = seed * 1664525u + 1013904223u;
        enc_h[i] = i == 0 ? 1 : 1 + (int)((seed >> 8) % 41);
        enc_w[i] = i == 1 ? 1 : 1 + (int)((seed >> 16) % 41);
        for (int p = 0; p < enc_h[i] * enc_w[i]; p++) {
            seed = seed * 1664525u + 1013904223u;
            int y = p / enc_w[i], x = p % enc_w[i];
            int inside = i % 3 == 0 ? (seed >> 24) % 2 : (x - 10) * (x - 10) + (y - 12) * (y - 12)
                                                         < 90 + (int)(i * 5);
            static const uint8_t on[4] = {1, 7, 255, 1};
            enc_masks[i][p] = inside ? on[(seed >> 12) % 4] : 0;
        }
        if (i == 2)
            memset(enc_masks[i], 255, (size_t)(enc_h[i] * enc_w[i]));
        cr_assert_eq(mask_ap_add_det(enc, 100 + i, 0, 0.5f, enc_masks[i], enc_h[i], enc_w[i],
                                     err, sizeof err), 0, "%s", err);
    }
    snprintf(path, sizeof path, "%s/encoded.json", dir);
    cr_assert_eq(mask_ap_write_results_json(enc, path, err, sizeof err), 0, "%s", err);
    f = fopen(path, "rb");
    cr_assert_not_null(f);
    static char enc_text[65536];
    len = fread(enc_text, 1, sizeof enc_text - 1, f);
    fclose(f);
    enc_text[len] = 0;
    root = cJSON_Parse(enc_text);
    cr_assert(cJSON_IsArray(root) && cJSON_GetArraySize(root) == N_ENC);
    for (int i = 0; i < N_ENC; i++) {
        uint32_t *counts;
        size_t n;
        char *want;
        cr_assert_eq(rle_encode(enc_masks[i], enc_h[i], enc_w[i], &counts, &n, NULL, 0), 0);
        cr_assert_eq(rle_to_string(counts, n, &want, NULL, 0), 0);
        cJSON *seg = cJSON_GetObjectItem(cJSON_GetArrayItem(root, i), "segmentation");
        cr_expect_str_eq(cJSON_GetObjectItem(seg, "counts")->valuestring, want,
                         "mask %d (%d x %d)", i, enc_h[i], enc_w[i]);
        free(want);
        free(counts);
    }
    cJSON_Delete(root);
    mask_ap_free(enc);
    unlink(path);
    snprintf(path, sizeof path, "%s/results.json", dir);

    /* atomic: nothing but the file is left in the directory */
    char tmp_glob[4300];
    snprintf(tmp_glob, sizeof tmp_glob, "%s/results.json.tmp.%d", dir, (int)getpid());
    struct stat st;
    cr_expect_neq(stat(tmp_glob, &st), 0, "the temporary file is gone");
    unlink(path);
    /* a directory that does not exist: an error naming the path */
    snprintf(path, sizeof path, "%s/missing/results.json", dir);
    cr_expect_eq(mask_ap_write_results_json(m, path, err, sizeof err), -1);
    cr_expect(strstr(err, "missing/results.json") != NULL, "%s", err);
    tst_rmtree(dir);

    /* refusals name the problem and add nothing */
    mask_ap_result before = summarize(m), after;
    const uint8_t *sq = rect(10, 10, 0, 0, 2, 2);
    cr_expect_eq(mask_ap_add_gt(m, 11, 3, sq, 10, 10, 0, err, sizeof err), -1);
    cr_expect(strstr(err, "class id 3, expected 0..2") != NULL, "%s", err);
    cr_expect_eq(mask_ap_add_det(m, 11, -1, 0.5f, sq, 10, 10, err, sizeof err), -1);
    cr_expect_eq(mask_ap_add_gt(m, 11, 0, rect(12, 10, 0, 0, 2, 2), 12, 10, 0, err, sizeof err),
                 -1);
    cr_expect(strstr(err, "image 11 is 12 x 10") != NULL && strstr(err, "10 x 10") != NULL, "%s",
              err);
    cr_expect_eq(mask_ap_add_det(m, 11, 0, NAN, sq, 10, 10, err, sizeof err), -1);
    cr_expect(strstr(err, "score") != NULL, "%s", err);
    cr_expect_eq(mask_ap_add_det(m, 11, 0, INFINITY, sq, 10, 10, err, sizeof err), -1);
    cr_expect_eq(mask_ap_add_gt(m, 11, 0, NULL, 10, 10, 0, err, sizeof err), -1);
    cr_expect(strstr(err, "NULL") != NULL, "%s", err);
    cr_expect_eq(mask_ap_add_gt(m, 11, 0, sq, 0, 10, 0, err, sizeof err), -1);
    const uint32_t short_runs[2] = {10, 20};
    cr_expect_eq(mask_ap_add_gt_rle(m, 11, 0, short_runs, 2, 10, 10, 0, err, sizeof err), -1);
    cr_expect(strstr(err, "counts sum to 30") != NULL, "%s", err);
    cr_expect_eq(mask_ap_set_category_ids(m, cats, 2, err, sizeof err), -1);
    cr_expect(strstr(err, "one per class (3)") != NULL, "%s", err);
    after = summarize(m);
    cr_expect_eq(after.num_gt, before.num_gt);
    cr_expect_eq(after.num_det, before.num_det);
    cr_expect_eq(after.num_images, before.num_images);
    /* the RLE entry points agree with the mask ones */
    const uint32_t runs[4] = {0, 2, 6, 2}; /* a 10 x 1 column: rows 0-1 and 8-9 */
    mask_ap *a = mask_ap_new(1), *b = mask_ap_new(1);
    uint8_t col[10] = {1, 1, 0, 0, 0, 0, 0, 0, 1, 1};
    cr_assert_eq(mask_ap_add_gt_rle(a, 1, 0, runs, 4, 10, 1, 0, err, sizeof err), 0, "%s", err);
    cr_assert_eq(mask_ap_add_gt(b, 1, 0, col, 10, 1, 0, err, sizeof err), 0, "%s", err);
    uint8_t half[10] = {1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    const uint32_t half_runs[3] = {0, 2, 8};
    cr_assert_eq(mask_ap_add_det_rle(a, 1, 0, 0.5f, half_runs, 3, 10, 1, err, sizeof err), 0);
    cr_assert_eq(mask_ap_add_det(b, 1, 0, 0.5f, half, 10, 1, err, sizeof err), 0);
    /* IoU 2/4 = 0.5: AP = 0.1 both ways */
    EXPECT_NEAR(summarize(a).ap, 0.1, "RLE entry points");
    EXPECT_NEAR(summarize(b).ap, 0.1, "mask entry points");
    mask_ap_free(a);
    mask_ap_free(b);
    mask_ap_free(m);
}

/* ---------------------------------------------------------------- against the reference */

typedef struct {
    uint32_t s;
} rng32;

static uint32_t next_u32(rng32 *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 17;
    r->s ^= r->s << 5;
    return r->s;
}

static int uniform(rng32 *r, int lo, int hi) /* [lo, hi] */
{
    return lo + (int)(next_u32(r) % (uint32_t)(hi - lo + 1));
}

/* A random rectangle or ellipse in canvas (h x w), possibly touching the border. */
static void random_shape(rng32 *r, int h, int w, int max_side)
{
    memset(canvas, 0, (size_t)h * (size_t)w);
    int bw = uniform(r, 1, max_side < w ? max_side : w), bh = uniform(r, 1, max_side < h ? max_side : h);
    int x0 = uniform(r, -2, w - bw + 2), y0 = uniform(r, -2, h - bh + 2);
    int ellipse = uniform(r, 0, 1);
    double cx = x0 + bw / 2.0, cy = y0 + bh / 2.0, rx = bw / 2.0, ry = bh / 2.0;
    for (int y = y0 < 0 ? 0 : y0; y < y0 + bh && y < h; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x0 + bw && x < w; x++) {
            double u = (x + 0.5 - cx) / rx, v = (y + 0.5 - cy) / ry;
            canvas[y * w + x] = !ellipse || u * u + v * v <= 1.0;
        }
}

/* canvas shifted by (dx, dy), with an extra strip removed, into out */
static void perturb(rng32 *r, const uint8_t *src, uint8_t *out, int h, int w)
{
    int dx = uniform(r, -3, 3), dy = uniform(r, -3, 3), cut = uniform(r, 0, 2);
    memset(out, 0, (size_t)h * (size_t)w);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int sx = x - dx, sy = y - dy;
            if (sx >= 0 && sx < w && sy >= 0 && sy < h && src[sy * w + sx] && (cut == 0 ||
                                                                              (x + y) % 7 >= cut))
                out[y * w + x] = 1;
        }
}

static void write_runs(FILE *f, const uint8_t *mask, int h, int w)
{
    uint32_t *counts;
    size_t n;
    cr_assert_eq(rle_encode(mask, h, w, &counts, &n, NULL, 0), 0);
    fprintf(f, " %d %d %zu", h, w, n);
    for (size_t i = 0; i < n; i++)
        fprintf(f, " %u", counts[i]);
    fprintf(f, "\n");
    free(counts);
}

/* Builds a random evaluation into m and the reference's input file; returns the mask count. */
static int random_scenario(uint32_t seed, mask_ap *m, const char *path)
{
    enum { K = 4, IMAGES = 40 };
    rng32 r = {seed};
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "classes %d\n", K);
    static uint8_t gts[6][MAXSIDE * MAXSIDE], shifted[MAXSIDE * MAXSIDE];
    int masks = 0;
    char err[256];
    for (int img = 0; img < IMAGES; img++) {
        int64_t id = 1000 - 7 * img; /* ids not in insertion order */
        int big = img % 4 == 0;
        int h = big ? uniform(&r, 110, 180) : uniform(&r, 20, 48);
        int w = big ? uniform(&r, 110, 180) : uniform(&r, 20, 48);
        int ngt = uniform(&r, 0, 5), gcls[6];
        for (int g = 0; g < ngt; g++) {
            gcls[g] = uniform(&r, 0, K - 2); /* class K-1 never has a GT */
            if (big && g == 0) { /* area-range boundaries: exactly 32x32 and 96x96 */
                memset(canvas, 0, (size_t)h * (size_t)w);
                int side = img % 8 == 0 ? 32 : 96;
                for (int y = 0; y < side; y++)
                    memset(canvas + y * w + 3, 1, (size_t)side);
            } else {
                random_shape(&r, h, w, big ? 120 : 30);
            }
            memcpy(gts[g], canvas, (size_t)h * (size_t)w);
            int crowd = uniform(&r, 0, 9) == 0;
            cr_assert_eq(mask_ap_add_gt(m, id, gcls[g], gts[g], h, w, crowd, err, sizeof err), 0,
                         "%s", err);
            fprintf(f, "gt %lld %d %d", (long long)id, gcls[g], crowd);
            write_runs(f, gts[g], h, w);
            masks++;
        }
        /* detections: perturbed copies (some twice), random boxes, an empty mask; scores on a
         * 1/20 grid so that ties are frequent */
        int ndet = 0;
        for (int g = 0; g < ngt; g++)
            for (int copy = 0; copy < 2; copy++) {
                if (uniform(&r, 0, 9) < (copy ? 3 : 8)) {
                    perturb(&r, gts[g], shifted, h, w);
                    float score = (float)uniform(&r, 1, 20) / 20.0f;
                    int cls = uniform(&r, 0, 9) == 0 ? uniform(&r, 0, K - 1) : gcls[g];
                    cr_assert_eq(mask_ap_add_det(m, id, cls, score, shifted, h, w, err,
                                                 sizeof err), 0, "%s", err);
                    fprintf(f, "det %lld %d %.9g", (long long)id, cls, (double)score);
                    write_runs(f, shifted, h, w);
                    ndet++;
                }
            }
        int extra = img == 5 ? 105 : uniform(&r, 0, 3); /* image 5: past maxDets */
        for (int e = 0; e < extra; e++) {
            if (uniform(&r, 0, 14) == 0)
                memset(canvas, 0, (size_t)h * (size_t)w);
            else
                random_shape(&r, h, w, big ? 60 : 20);
            float score = (float)uniform(&r, 1, 20) / 20.0f;
            int cls = img == 5 ? 0 : uniform(&r, 0, K - 1);
            cr_assert_eq(mask_ap_add_det(m, id, cls, score, canvas, h, w, err, sizeof err), 0,
                         "%s", err);
            fprintf(f, "det %lld %d %.9g", (long long)id, cls, (double)score);
            write_runs(f, canvas, h, w);
            ndet++;
        }
        masks += ndet;
    }
    fclose(f);
    return masks;
}

static void read_doubles(FILE *f, double *v, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        cr_assert_eq(fscanf(f, "%lf", &v[i]), 1, "%s: value %d missing", what, i);
}

Test(mask_ap, random_scenarios_match_numpy_reference)
{
    enum { SCENARIOS = 3, K = 4 };
    const uint32_t seeds[SCENARIOS] = {2463534242u, 88172645u, 12345u};
    char *dir = tst_tmpdir();
    cr_assert_not_null(dir);
    char in[SCENARIOS][4200], out[SCENARIOS][4200], args[30000] = "";
    mask_ap *m[SCENARIOS];
    for (int s = 0; s < SCENARIOS; s++) {
        snprintf(in[s], sizeof in[s], "%s/scenario%d.txt", dir, s);
        snprintf(out[s], sizeof out[s], "%s/reference%d.txt", dir, s);
        m[s] = mask_ap_new(K);
        int masks = random_scenario(seeds[s], m[s], in[s]);
        cr_expect_geq(masks, 200, "scenario %d has only %d masks", s, masks);
        snprintf(args + strlen(args), sizeof args - strlen(args), " '%s' '%s'", in[s], out[s]);
    }
    cr_assert_eq(tst_python("mask_ap_ref.py", args), 0, "tests/reference/mask_ap_ref.py failed");
    double worst = 0.0;
    for (int s = 0; s < SCENARIOS; s++) {
        mask_ap_result r = summarize(m[s]);
        const double got[12] = {r.ap, r.ap50, r.ap75, r.ap_small, r.ap_medium, r.ap_large,
                                r.ar1, r.ar10, r.ar100, r.ar_small, r.ar_medium, r.ar_large};
        static const char *names[12] = {"AP", "AP50", "AP75", "AP_S", "AP_M", "AP_L",
                                        "AR1", "AR10", "AR100", "AR_S", "AR_M", "AR_L"};
        double want[12], want_class[K];
        FILE *f = fopen(out[s], "r");
        cr_assert_not_null(f, "no output from mask_ap_ref.py");
        read_doubles(f, want, 12, "summary");
        read_doubles(f, want_class, K, "per-class AP");
        fclose(f);
        for (int i = 0; i < 12; i++) {
            cr_expect(fabs(got[i] - want[i]) <= 1e-6, "scenario %d %s: pictor %.17g, reference "
                      "%.17g", s, names[i], got[i], want[i]);
            worst = fmax(worst, fabs(got[i] - want[i]));
        }
        for (int k = 0; k < K; k++) {
            double g = mask_ap_class_ap(m[s], k);
            cr_expect(fabs(g - want_class[k]) <= 1e-6, "scenario %d class %d: pictor %.17g, "
                      "reference %.17g", s, k, g, want_class[k]);
            worst = fmax(worst, fabs(g - want_class[k]));
        }
        /* the scenario is not degenerate: every area range is defined, AP strictly inside */
        cr_expect(r.ap > 0.05 && r.ap < 0.95 && r.ap_small > -1 && r.ap_medium > -1 &&
                  r.ap_large > -1, "scenario %d: AP %g, S %g, M %g, L %g", s, r.ap, r.ap_small,
                  r.ap_medium, r.ap_large);
        cr_expect_eq(mask_ap_class_ap(m[s], K - 1), -1.0, "the class without GT");
        cr_log_info("scenario %d: %ld GT, %ld detections, AP %.4f AP50 %.4f AP75 %.4f", s,
                    r.num_gt, r.num_det, r.ap, r.ap50, r.ap75);
        mask_ap_free(m[s]);
        unlink(in[s]);
        unlink(out[s]);
    }
    cr_log_info("mask AP vs the NumPy reference: max |difference| %.3g", worst);
    tst_rmtree(dir);
}
