/*
 * test_noc.c - train/eval/noc: RITM's simulated taps (hand cases, and random masks against a
 * Python port of RITM's get_next_click with scipy's exact EDT, tests/reference/noc_ref.py) and
 * the NoC summary (hand-computed).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/noc.h"
#include "helpers.h"

/* A gt of h x w with the rectangle [y0, y1) x [x0, x1) as object. */
static uint8_t *rect_gt(int h, int w, int y0, int y1, int x0, int x1)
{
    uint8_t *g = calloc((size_t)h * w, 1);
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) g[y * w + x] = NOC_FG;
    return g;
}

Test(noc, first_tap_is_positive_at_the_deepest_object_pixel)
{
    /* a 5x7 object at rows 2..6, cols 3..9 of a 10x14 image: the deepest pixels are its middle
     * row (distance 3 to the outside along y... the EDT is 3 at row 4, cols 6): first row-major */
    uint8_t *gt = rect_gt(10, 14, 2, 7, 3, 10);
    uint8_t pred[140] = {0};
    noc_clicker c;
    char err[256];
    cr_assert_eq(noc_clicker_init(&c, gt, 10, 14, err, sizeof err), 0, "%s", err);
    noc_click k;
    cr_assert_eq(noc_next_click(&c, pred, &k), NOC_CLICKED);
    cr_expect_eq(k.positive, 1);
    cr_expect_eq(k.y, 4);
    cr_expect_eq(k.x, 5, "x %d: the first of cols 5..7 at distance 3", k.x);
    noc_clicker_free(&c);
    free(gt);
}

Test(noc, border_object_counts_the_border_as_outside)
{
    /* the object fills the first 3 columns: with the padding, the deepest pixel is column 1 */
    uint8_t *gt = rect_gt(9, 9, 0, 9, 0, 3);
    uint8_t pred[81] = {0};
    noc_clicker c;
    char err[256];
    cr_assert_eq(noc_clicker_init(&c, gt, 9, 9, err, sizeof err), 0);
    noc_click k;
    cr_assert_eq(noc_next_click(&c, pred, &k), NOC_CLICKED);
    cr_expect_eq(k.x, 1);
    cr_expect_eq(k.y, 1, "first row-major pixel at distance 2 is row 1: got %d", k.y);
    noc_clicker_free(&c);
    free(gt);
}

Test(noc, false_positive_gives_negative_tap_and_ties_go_negative)
{
    uint8_t *gt = rect_gt(12, 12, 0, 0, 0, 0); /* empty object */
    uint8_t pred[144] = {0};
    for (int y = 4; y < 9; y++)
        for (int x = 4; x < 9; x++) pred[y * 12 + x] = 1; /* a 5x5 false positive */
    noc_clicker c;
    char err[256];
    cr_assert_eq(noc_clicker_init(&c, gt, 12, 12, err, sizeof err), 0);
    noc_click k;
    cr_assert_eq(noc_next_click(&c, pred, &k), NOC_CLICKED);
    cr_expect_eq(k.positive, 0);
    cr_expect_eq(k.y, 6);
    cr_expect_eq(k.x, 6);
    /* a single-pixel FN and a single-pixel FP: equal depth 1, the tap is negative */
    uint8_t gt2[16] = {0}, pred2[16] = {0};
    gt2[5] = NOC_FG;  /* (1,1): FN */
    pred2[10] = 1;    /* (2,2): FP */
    noc_clicker c2;
    cr_assert_eq(noc_clicker_init(&c2, gt2, 4, 4, err, sizeof err), 0);
    cr_assert_eq(noc_next_click(&c2, pred2, &k), NOC_CLICKED);
    cr_expect_eq(k.positive, 0);
    cr_expect_eq(k.y * 4 + k.x, 10);
    noc_clicker_free(&c2);
    noc_clicker_free(&c);
    free(gt);
}

Test(noc, ignore_pixels_are_neither_error_nor_iou)
{
    uint8_t gt[16], pred[16] = {0};
    for (int i = 0; i < 16; i++) gt[i] = NOC_IGNORE;
    gt[0] = NOC_FG;
    pred[15] = 1; /* predicted object on an ignored pixel: no FP */
    cr_expect_float_eq(noc_iou(gt, pred, 4, 4), 0.0, 1e-12);
    pred[0] = 1;
    cr_expect_float_eq(noc_iou(gt, pred, 4, 4), 1.0, 1e-12);
    noc_clicker c;
    char err[256];
    cr_assert_eq(noc_clicker_init(&c, gt, 4, 4, err, sizeof err), 0);
    noc_click k;
    cr_expect_eq(noc_next_click(&c, pred, &k), NOC_DONE, "nothing left to correct");
    noc_clicker_free(&c);
    uint8_t mask[4] = {0, 255, 128, 7}, codes[4];
    noc_gt_from_mask(mask, 4, codes);
    cr_expect(codes[0] == NOC_BG && codes[1] == NOC_FG && codes[2] == NOC_IGNORE &&
              codes[3] == NOC_FG);
}

Test(noc, a_pixel_is_never_tapped_twice)
{
    uint8_t gt[9] = {0}, pred[9] = {0};
    gt[4] = NOC_FG; /* one object pixel, never predicted */
    noc_clicker c;
    char err[256];
    cr_assert_eq(noc_clicker_init(&c, gt, 3, 3, err, sizeof err), 0);
    noc_click k;
    cr_assert_eq(noc_next_click(&c, pred, &k), NOC_CLICKED);
    cr_expect(k.y == 1 && k.x == 1 && k.positive);
    /* the model ignores the tap: the only error pixel is tapped already */
    cr_expect_eq(noc_next_click(&c, pred, &k), NOC_DONE);
    cr_expect_eq(c.n_clicks, 1);
    noc_clicker_free(&c);
}

Test(noc, bad_size_is_an_error)
{
    noc_clicker c;
    char err[256] = "";
    cr_expect_eq(noc_clicker_init(&c, NULL, 0, 5, err, sizeof err), -1);
    cr_expect(strstr(err, "0x5") != NULL, "%s", err);
}

/* Random blobs and predictions, one tap each, against the Python port of RITM's rule. */
Test(noc, random_cases_match_ritm_reference, .timeout = 120)
{
    char *dir = tst_tmpdir();
    char in[4200], out[4200];
    snprintf(in, sizeof in, "%s/cases.bin", dir);
    snprintf(out, sizeof out, "%s/clicks.txt", dir);
    enum { N = 60 };
    int hs[N], ws[N];
    uint8_t *gts[N], *preds[N], *clicks[N];
    FILE *f = fopen(in, "wb");
    cr_assert_not_null(f);
    int32_t count = N;
    fwrite(&count, 4, 1, f);
    srand(7);
    for (int i = 0; i < N; i++) {
        int h = 3 + rand() % 40, w = 3 + rand() % 40;
        hs[i] = h;
        ws[i] = w;
        size_t n = (size_t)h * w;
        gts[i] = calloc(n, 1);
        preds[i] = calloc(n, 1);
        clicks[i] = calloc(n, 1);
        /* two discs for the object, a shifted disc for the prediction, some ignore, taps */
        double cy = rand() % h, cx = rand() % w, r = 1 + rand() % 12;
        double py = cy + rand() % 7 - 3, px = cx + rand() % 7 - 3, pr = r + rand() % 5 - 2;
        double qy = rand() % h, qx = rand() % w, qr = rand() % 6;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t j = (size_t)y * w + x;
                int in_obj = (y - cy) * (y - cy) + (x - cx) * (x - cx) <= r * r ||
                             (y - qy) * (y - qy) + (x - qx) * (x - qx) <= qr * qr;
                gts[i][j] = in_obj ? NOC_FG : NOC_BG;
                if (i % 3 == 0 && rand() % 20 == 0) gts[i][j] = NOC_IGNORE;
                preds[i][j] = i % 5 != 0 && (y - py) * (y - py) + (x - px) * (x - px) <= pr * pr;
                clicks[i][j] = rand() % 15 == 0;
            }
        int32_t hw[2] = {h, w};
        fwrite(hw, 4, 2, f);
        fwrite(gts[i], 1, n, f);
        fwrite(preds[i], 1, n, f);
        fwrite(clicks[i], 1, n, f);
    }
    fclose(f);
    char args[9000];
    snprintf(args, sizeof args, "'%s' '%s'", in, out);
    cr_assert_eq(tst_python("noc_ref.py", args), 0);
    FILE *r = fopen(out, "r");
    cr_assert_not_null(r);
    int agree = 0;
    for (int i = 0; i < N; i++) {
        char line[128];
        cr_assert_not_null(fgets(line, sizeof line, r));
        noc_clicker c;
        char err[256];
        cr_assert_eq(noc_clicker_init(&c, gts[i], hs[i], ws[i], err, sizeof err), 0);
        memcpy(c.clicked, clicks[i], (size_t)hs[i] * ws[i]);
        noc_click k;
        noc_step st = noc_next_click(&c, preds[i], &k);
        char mine[128];
        if (st == NOC_DONE)
            snprintf(mine, sizeof mine, "done\n");
        else
            snprintf(mine, sizeof mine, "%d %d %d\n", k.y, k.x, k.positive);
        cr_expect_str_eq(mine, line, "case %d (%dx%d)", i, hs[i], ws[i]);
        agree += !strcmp(mine, line);
        noc_clicker_free(&c);
        free(gts[i]);
        free(preds[i]);
        free(clicks[i]);
    }
    fclose(r);
    cr_log_info("noc: %d/%d taps identical to the RITM reference", agree, N);
    tst_rmtree(dir);
}

Test(noc, summary_counts_as_ritm)
{
    noc_summary s;
    char err[256];
    cr_assert_eq(noc_summary_init(&s, 5, err, sizeof err), 0);
    double a[5] = {0.5, 0.86, 0.91, 0.95, 0.97}; /* 85 at 2 taps, 90 at 3 */
    double b[2] = {0.9, 0.95};                    /* 85 and 90 at 1 tap (0.9 >= 0.9), filled */
    double c[5] = {0.1, 0.2, 0.3, 0.4, 0.88};     /* 85 at 5, never 90 */
    cr_assert_eq(noc_summary_add(&s, a, 5), 0);
    cr_assert_eq(noc_summary_add(&s, b, 2), 0);
    cr_assert_eq(noc_summary_add(&s, c, 5), 0);
    int fails = -1;
    cr_expect_float_eq(noc_summary_noc(&s, 0.85, &fails), (2 + 1 + 5) / 3.0, 1e-12);
    cr_expect_eq(fails, 0);
    cr_expect_float_eq(noc_summary_noc(&s, 0.90, &fails), (3 + 1 + 5) / 3.0, 1e-12);
    cr_expect_eq(fails, 1);
    cr_expect_float_eq(noc_summary_miou(&s, 1), (0.5 + 0.9 + 0.1) / 3, 1e-12);
    cr_expect_float_eq(noc_summary_miou(&s, 5), (0.97 + 0.95 + 0.88) / 3, 1e-12);
    cr_expect(isnan(noc_summary_miou(&s, 6)));
    cr_expect_eq(noc_summary_add(&s, a, 6), -1, "more IoUs than max_clicks");
    noc_summary_free(&s);
    cr_expect_eq(noc_summary_init(&s, 0, err, sizeof err), -1);
}
