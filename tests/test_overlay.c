/*
 * test_overlay.c - report/overlay.h (pictures over images), the worst-images sheet, the
 * confusion matrix chart (report/plot.h) and the results file (report/predictions.h), checked on
 * the pixels of the PNG files they write:
 *   - a predicted mask's pixels get exactly round((1 - a) v + a 255 rgb); its outline (and a
 *     hole's rim) lies on the pixel edges in its colour; a soft mask blends by its probability
 *     and is outlined at p >= 0.5;
 *   - ground-truth outlines: a dashed white line (on at the first vertex, off after 6 px, the
 *     halo showing through) and a solid polygon outline;
 *   - a generic instance: its origin dot in the class colour, its label over its box;
 *   - the worst-images sheet: tiles in increasing IoU (the order returned and the tiles' pixels),
 *     N limiting the tiles, atomic writes (no temp file left), clear errors;
 *   - bad input: masks of another size, bad images, N = 0, unwritable paths.
 */
#include <cairo.h>
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/mask_ap.h"
#include "helpers.h"
#include "report/overlay.h"
#include "report/plot.h"
#include "report/predictions.h"

static char *g_dir;

static void setup(void) { g_dir = tst_tmpdir(); }
static void teardown(void) { tst_rmtree(g_dir); }

TestSuite(overlay, .init = setup, .fini = teardown, .timeout = 60);

static const char *in_dir(const char *name)
{
    static char p[4300];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    return p;
}

/* The PNG at path, as a cairo surface (asserted readable). */
static cairo_surface_t *load_png(const char *path)
{
    cairo_surface_t *sf = cairo_image_surface_create_from_png(path);
    cr_assert_eq(cairo_surface_status(sf), CAIRO_STATUS_SUCCESS, "cannot read %s", path);
    return sf;
}

static void pixel_rgb(cairo_surface_t *sf, int x, int y, int rgb[3])
{
    const unsigned char *data = cairo_image_surface_get_data(sf);
    uint32_t v = *(const uint32_t *)(const void *)(data + (size_t)y *
                                                    (size_t)cairo_image_surface_get_stride(sf) +
                                                    4 * (size_t)x);
    rgb[0] = (int)(v >> 16 & 255), rgb[1] = (int)(v >> 8 & 255), rgb[2] = (int)(v & 255);
}

#define EXPECT_RGB(sf, x, y, r, g, b)                                                             \
    do {                                                                                          \
        int px_[3];                                                                               \
        pixel_rgb(sf, x, y, px_);                                                                 \
        cr_expect(px_[0] == (r) && px_[1] == (g) && px_[2] == (b),                                \
                  "pixel (%d, %d) is (%d, %d, %d), expected (%d, %d, %d)", x, y, px_[0], px_[1],  \
                  px_[2], r, g, b);                                                               \
    } while (0)

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the files in the test directory, sorted, each followed by a space. */
static const char *listing(void)
{
    static char out[4096];
    char *names[64];
    int n = 0;
    out[0] = 0;
    DIR *d = opendir(g_dir);
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d)) && n < 64)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    for (int i = 0; i < n; i++) {
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s ", names[i]);
        free(names[i]);
    }
    return out;
}

/* A 16 x 16 grey image of value v. */
static uint8_t *grey(int v)
{
    uint8_t *im = malloc(16 * 16);
    memset(im, v, 16 * 16);
    return im;
}

/* 1 inside [x0, x1) x [y0, y1) of a 16 x 16 mask. */
static void square(uint8_t *m, int x0, int y0, int x1, int y1, int v)
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            m[y * 16 + x] = (uint8_t)v;
}

Test(overlay, scale_and_picture_size)
{
    cr_expect_eq(overlay_scale(32, 32, 0), 8);
    cr_expect_eq(overlay_scale(64, 48, 256), 4);
    cr_expect_eq(overlay_scale(300, 200, 256), 1);
    cr_expect_eq(overlay_scale(16, 4000, 8192), 2);
    cr_expect_eq(overlay_scale(0, 10, 256), 0);
    uint8_t *im = grey(40);
    char err[256];
    overlay *o = overlay_new(im, 16, 16, 1, 0, err, sizeof err); /* default: 16 * 16 = 256 */
    cr_assert_not_null(o, "%s", err);
    cr_expect_eq(overlay_width(o), 256);
    cr_expect_eq(overlay_height(o), 256);
    overlay_free(o);
    o = overlay_new(im, 16, 8, 1, 2.5, err, sizeof err); /* fractional: 20 x 40 */
    cr_assert_not_null(o, "%s", err);
    cr_expect_eq(overlay_width(o), 20);
    cr_expect_eq(overlay_height(o), 40);
    overlay_free(o);
    cr_expect_null(overlay_new(im, 16, 16, 2, 1, err, sizeof err));
    cr_expect(strstr(err, "1 or 3 channels") != NULL, "%s", err);
    cr_expect_null(overlay_new(im, 16, 16, 1, 1000, err, sizeof err));
    cr_expect(strstr(err, "larger than 8192") != NULL, "%s", err);
    cr_expect_null(overlay_new(NULL, 16, 16, 1, 1, err, sizeof err));
    cr_expect(strstr(err, "no image") != NULL, "%s", err);
    free(im);
}

/* Grey 40, scale 8, a red mask (alpha 0.5) on [2, 14)^2 with a hole [6, 10)^2. */
Test(overlay, mask_fill_is_the_exact_blend_with_outlines_on_the_edges)
{
    uint8_t *im = grey(40), mask[256] = {0};
    square(mask, 2, 2, 14, 14, 1);
    square(mask, 6, 6, 10, 10, 0);
    char err[256];
    overlay *o = overlay_new(im, 16, 16, 1, 8, err, sizeof err);
    cr_assert_not_null(o, "%s", err);
    const double red[3] = {1, 0, 0};
    cr_assert_eq(overlay_mask(o, mask, 16, 16, red, 0.5, err, sizeof err), 0, "%s", err);
    cr_assert_eq(overlay_write_png(o, in_dir("m.png"), err, sizeof err), 0, "%s", err);
    overlay_free(o);
    cr_expect_str_eq(listing(), "m.png ", "a temp file is left: %s", listing());
    cairo_surface_t *sf = load_png(in_dir("m.png"));
    cr_expect_eq(cairo_image_surface_get_width(sf), 128);
    EXPECT_RGB(sf, 4, 4, 40, 40, 40);       /* outside: the image */
    EXPECT_RGB(sf, 13, 64, 40, 40, 40);     /* left of the left edge x = 16, off its line */
    EXPECT_RGB(sf, 24, 64, 148, 20, 20);    /* inside: round(0.5 * 40 + 0.5 * 255) = 148 */
    EXPECT_RGB(sf, 100, 40, 148, 20, 20);
    EXPECT_RGB(sf, 15, 64, 255, 0, 0);      /* the outline covers the pixels on both sides */
    EXPECT_RGB(sf, 16, 64, 255, 0, 0);      /*   of the left edge x = 2 * 8 = 16 */
    EXPECT_RGB(sf, 17, 64, 148, 20, 20);
    EXPECT_RGB(sf, 64, 112, 255, 0, 0);     /* the bottom edge y = 14 * 8 = 112 */
    EXPECT_RGB(sf, 64, 64, 40, 40, 40);     /* the hole: the image */
    EXPECT_RGB(sf, 47, 64, 255, 0, 0);      /* the hole's rim x = 48 is outlined too */
    EXPECT_RGB(sf, 48, 64, 255, 0, 0);
    EXPECT_RGB(sf, 64, 80, 255, 0, 0);      /* its bottom y = 80 */
    EXPECT_RGB(sf, 64, 82, 148, 20, 20);
    cairo_surface_destroy(sf);
    free(im);
}

Test(overlay, rgb_images_and_soft_masks)
{
    /* an RGB image (10, 200, 30) and a blue fill at 0.25: round(0.75 v + 0.25 * 255 b) */
    uint8_t im[16 * 16 * 3], mask[256];
    for (int i = 0; i < 256; i++)
        im[3 * i] = 10, im[3 * i + 1] = 200, im[3 * i + 2] = 30;
    memset(mask, 1, sizeof mask);
    char err[256];
    overlay *o = overlay_new(im, 16, 16, 3, 4, err, sizeof err);
    cr_assert_not_null(o, "%s", err);
    const double blue[3] = {0, 0, 1}, red[3] = {1, 0, 0};
    cr_assert_eq(overlay_mask(o, mask, 16, 16, blue, 0.25, err, sizeof err), 0, "%s", err);
    uint8_t *rgb = malloc(64 * 64 * 3);
    overlay_copy_rgb(o, rgb);
    const uint8_t *p = rgb + (32 * 64 + 32) * 3;
    cr_expect(p[0] == 8 && p[1] == 150 && p[2] == 86, "%d %d %d", p[0], p[1], p[2]);
    free(rgb);
    overlay_free(o);

    /* soft: p = 1 on [4, 12)^2, 0.25 elsewhere, NaN in one corner pixel (left alone) */
    uint8_t *g = grey(40);
    float prob[256];
    for (int i = 0; i < 256; i++)
        prob[i] = 0.25f;
    for (int y = 4; y < 12; y++)
        for (int x = 4; x < 12; x++)
            prob[y * 16 + x] = 1.0f;
    prob[15 * 16 + 15] = NAN;
    o = overlay_new(g, 16, 16, 1, 8, err, sizeof err);
    cr_assert_not_null(o, "%s", err);
    cr_assert_eq(overlay_soft_mask(o, prob, 16, 16, red, 0.5, err, sizeof err), 0, "%s", err);
    cr_assert_eq(overlay_write_png(o, in_dir("soft.png"), err, sizeof err), 0, "%s", err);
    overlay_free(o);
    cairo_surface_t *sf = load_png(in_dir("soft.png"));
    EXPECT_RGB(sf, 64, 64, 148, 20, 20);    /* p = 1 */
    EXPECT_RGB(sf, 8, 8, 67, 35, 35);       /* p = 0.25: a = 0.125: 35 + 31.875 -> 67, 35 */
    EXPECT_RGB(sf, 124, 124, 40, 40, 40);   /* NaN: untouched */
    EXPECT_RGB(sf, 32, 64, 255, 0, 0);      /* the outline of p >= 0.5 at x = 32 */
    EXPECT_RGB(sf, 31, 64, 255, 0, 0);
    EXPECT_RGB(sf, 8, 64, 67, 35, 35);      /* no outline around the p = 0.25 area's frame */
    cairo_surface_destroy(sf);
    free(g);
}

Test(overlay, ground_truth_outlines_dashed_and_polygons)
{
    uint8_t *im = grey(40), gt[256] = {0};
    square(gt, 4, 4, 12, 12, 1);
    char err[256];
    overlay *o = overlay_new(im, 16, 16, 1, 8, err, sizeof err);
    cr_assert_not_null(o, "%s", err);
    cr_assert_eq(overlay_mask_outline(o, gt, 16, 16, &OVERLAY_GT_DASHED, err, sizeof err), 0,
                 "%s", err);
    /* a solid green polygon outline around [1, 3) x [1, 3) */
    float xy[8] = {1, 1, 3, 1, 3, 3, 1, 3};
    polygon pg = {4, xy};
    overlay_line green = {{0, 1, 0}, 2, 0};
    cr_assert_eq(overlay_polygon_outline(o, &pg, 1, &green, err, sizeof err), 0, "%s", err);
    cr_assert_eq(overlay_write_png(o, in_dir("gt.png"), err, sizeof err), 0, "%s", err);
    overlay_free(o);
    cairo_surface_t *sf = load_png(in_dir("gt.png"));
    /* the contour starts at (32, 32) and runs right: on 32..38, off 38..44, on 44..50 */
    EXPECT_RGB(sf, 34, 32, 255, 255, 255);
    EXPECT_RGB(sf, 34, 31, 255, 255, 255);
    EXPECT_RGB(sf, 46, 32, 255, 255, 255);
    int px[3];
    pixel_rgb(sf, 41, 32, px); /* a gap: the dark halo, 40 * (1 - 0.35) = 26 */
    cr_expect(abs(px[0] - 26) <= 1 && px[0] == px[1] && px[1] == px[2], "%d %d %d", px[0], px[1],
              px[2]);
    EXPECT_RGB(sf, 64, 64, 40, 40, 40);     /* no fill inside */
    EXPECT_RGB(sf, 8, 16, 0, 255, 0);       /* the polygon's left side x = 8 */
    EXPECT_RGB(sf, 16, 16, 40, 40, 40);     /* and no fill */
    cairo_surface_destroy(sf);
    free(im);
}

Test(overlay, instances_origin_label_and_bad_input)
{
    uint8_t *im = grey(40), mask[17 * 16] = {0};
    char err[256];
    overlay *o = overlay_new(im, 16, 16, 1, 8, err, sizeof err);
    cr_assert_not_null(o, "%s", err);
    /* a diamond of radius 4 around (8, 10), class 2 (green, 0.17 0.63 0.17) */
    float xy[8] = {8, 14, 12, 10, 8, 6, 4, 10};
    overlay_instance in = {.xy = xy, .n = 4, .class_id = 2, .name = "leaf", .score = 0.87,
                           .has_origin = 1, .ox = 8, .oy = 10, .rays = 1};
    cr_assert_eq(overlay_draw_instance(o, &in, err, sizeof err), 0, "%s", err);
    cr_assert_eq(overlay_write_png(o, in_dir("inst.png"), err, sizeof err), 0, "%s", err);
    /* bad input: a mask of another size, too few vertices, a NaN vertex, unwritable path */
    const double red[3] = {1, 0, 0};
    cr_expect_eq(overlay_mask(o, mask, 17, 16, red, 0.5, err, sizeof err), -1);
    cr_expect(strstr(err, "16x17") && strstr(err, "the image 16x16"), "%s", err);
    cr_expect_eq(overlay_mask_outline(o, mask, 16, 15, NULL, err, sizeof err), -1);
    cr_expect(strstr(err, "15x16") != NULL, "%s", err);
    cr_expect_eq(overlay_mask(o, mask, 16, 16, red, 1.5, err, sizeof err), -1);
    cr_expect(strstr(err, "opacity") != NULL, "%s", err);
    in.n = 2;
    cr_expect_eq(overlay_draw_instance(o, &in, err, sizeof err), -1);
    cr_expect(strstr(err, "2 vertices") != NULL, "%s", err);
    in.n = 4;
    xy[3] = NAN;
    cr_expect_eq(overlay_draw_instance(o, &in, err, sizeof err), -1);
    cr_expect(strstr(err, "non-finite") != NULL, "%s", err);
    cr_expect_eq(overlay_write_png(o, in_dir("no/such/dir/x.png"), err, sizeof err), -1);
    cr_expect(strstr(err, "no/such/dir/x.png") != NULL, "%s", err);
    overlay_free(o);
    cairo_surface_t *sf = load_png(in_dir("inst.png"));
    EXPECT_RGB(sf, 64, 80, 43, 161, 43);    /* the origin dot (8, 10) * 8 */
    EXPECT_RGB(sf, 4, 120, 40, 40, 40);     /* far from it */
    int px[3];
    pixel_rgb(sf, 70, 100, px);             /* inside the diamond, off the rays: light green */
    cr_expect(px[1] > px[0] && px[1] > 40 && px[1] < 120, "%d %d %d", px[0], px[1], px[2]);
    /* the label box sits over the box's top-left (32, 48): rows above 48 are no longer grey */
    int changed = 0;
    for (int y = 34; y < 48; y++)
        for (int x = 32; x < 80; x++) {
            pixel_rgb(sf, x, y, px);
            changed += px[0] != 40 || px[1] != 40;
        }
    cr_expect_gt(changed, 14 * 48 / 2, "label: only %d pixels changed", changed);
    cairo_surface_destroy(sf);
    free(im);
}

/* Three 8 x 8 images (grey 220, 100, 50) of IoU 0.9, 0.1, 0.5; the worst (item 1) has a prediction
 * covering it. Tiles of 32 px (scale 4), 4 px apart: cell (r, c) starts at (4 + 36 c, 4 + 36 r). */
Test(overlay, worst_sheet_puts_the_lowest_iou_first)
{
    uint8_t im[3][64], full[64], gt[64] = {0};
    memset(im[0], 220, 64), memset(im[1], 100, 64), memset(im[2], 50, 64);
    memset(full, 1, 64);
    for (int y = 2; y < 6; y++)
        memset(gt + y * 8 + 2, 1, 4);
    overlay_sheet_item items[3] = {
        {im[0], 8, 8, 1, NULL, gt, 0.9, 10},
        {im[1], 8, 8, 1, full, gt, 0.1, 11},
        {im[2], 8, 8, 1, NULL, NULL, 0.5, -1},
    };
    int order[3] = {-1, -1, -1};
    char err[256];
    cr_assert_eq(overlay_worst_sheet(in_dir("worst.png"), items, 3, 5, 32, order, err,
                                     sizeof err), 3, "%s", err);
    cr_expect(order[0] == 1 && order[1] == 2 && order[2] == 0, "order %d %d %d", order[0],
              order[1], order[2]);
    cr_expect_str_eq(listing(), "worst.png ", "a temp file is left: %s", listing());
    cairo_surface_t *sf = load_png(in_dir("worst.png"));
    cr_expect_eq(cairo_image_surface_get_width(sf), 76); /* 2 columns, 2 rows */
    cr_expect_eq(cairo_image_surface_get_height(sf), 76);
    /* tile 0 = item 1 under its red fill: round(0.55 * 100 + 0.45 * 255 * 0.9) = 158, 66 */
    EXPECT_RGB(sf, 4 + 4, 4 + 28, 158, 66, 66);
    /* its ground truth [8, 24)^2 in the tile, dashed from (8, 8) rightwards: the right side
     * x = 24 is 16..32 along the path, on from 24 to 30, i.e. at y = 16..22 */
    EXPECT_RGB(sf, 4 + 24, 4 + 19, 255, 255, 255);
    EXPECT_RGB(sf, 4 + 23, 4 + 19, 255, 255, 255);
    EXPECT_RGB(sf, 40 + 16, 4 + 28, 50, 50, 50);       /* tile 1 = item 2 */
    EXPECT_RGB(sf, 4 + 16, 40 + 28, 220, 220, 220);    /* tile 2 = item 0 */
    EXPECT_RGB(sf, 40 + 16, 40 + 16, 200, 200, 200);   /* cell 3: empty sheet */
    int px[3];
    pixel_rgb(sf, 4 + 2, 4 + 6, px); /* the caption's dark box over the top-left */
    cr_expect(px[0] < 60 || px[0] > 200, "caption: %d %d %d", px[0], px[1], px[2]);
    cairo_surface_destroy(sf);

    /* N = 2 of 3: one row of the two worst */
    cr_assert_eq(overlay_worst_sheet(in_dir("two.png"), items, 3, 2, 32, order, err, sizeof err),
                 2, "%s", err);
    cr_expect(order[0] == 1 && order[1] == 2);
    sf = load_png(in_dir("two.png"));
    cr_expect_eq(cairo_image_surface_get_width(sf), 76);
    cr_expect_eq(cairo_image_surface_get_height(sf), 40);
    EXPECT_RGB(sf, 40 + 16, 4 + 28, 50, 50, 50);
    cairo_surface_destroy(sf);
    /* equal IoUs keep the input order */
    items[0].iou = items[2].iou = 0.1;
    cr_assert_eq(overlay_worst_sheet(in_dir("tie.png"), items, 3, 3, 16, order, err, sizeof err),
                 3, "%s", err);
    cr_expect(order[0] == 0 && order[1] == 1 && order[2] == 2, "order %d %d %d", order[0],
              order[1], order[2]);

    /* bad input */
    cr_expect_eq(overlay_worst_sheet(in_dir("x.png"), items, 3, 0, 32, NULL, err, sizeof err), -1);
    cr_expect(strstr(err, "N = 0") != NULL, "%s", err);
    cr_expect_eq(overlay_worst_sheet(in_dir("x.png"), items, 0, 4, 32, NULL, err, sizeof err), -1);
    cr_expect(strstr(err, "no images") != NULL, "%s", err);
    items[1].iou = NAN;
    cr_expect_eq(overlay_worst_sheet(in_dir("x.png"), items, 3, 4, 32, NULL, err, sizeof err), -1);
    cr_expect(strstr(err, "item 1") && strstr(err, "IoU"), "%s", err);
    items[1].iou = 0.1;
    items[2].c = 4;
    cr_expect_eq(overlay_worst_sheet(in_dir("x.png"), items, 3, 4, 32, NULL, err, sizeof err), -1);
    cr_expect(strstr(err, "item 2") && strstr(err, "channels"), "%s", err);
    items[2].c = 1;
    cr_expect_eq(overlay_worst_sheet(in_dir("no/dir/x.png"), items, 3, 4, 32, NULL, err,
                                     sizeof err), -1);
    cr_expect(strstr(err, "no/dir/x.png") != NULL, "%s", err);
    cr_expect_str_eq(listing(), "tie.png two.png worst.png ", "%s", listing());
}

/* [[3, 1], [0, 0]]: shares 0.75 and 0.25 in row 0, an empty row 1. */
Test(overlay, confusion_matrix_cells_shaded_by_row_share)
{
    const int64_t counts[4] = {3, 1, 0, 0};
    const char *const names[] = {"cat", "dog"};
    cr_assert_eq(plot_confusion_png(counts, 2, names, in_dir("c.png")), PT_OK, "%s", pt_error());
    cairo_surface_t *sf = load_png(in_dir("c.png"));
    const int L = PLOT_CONFUSION_LEFT, T = PLOT_CONFUSION_TOP, C = PLOT_CONFUSION_CELL;
    cr_expect_eq(cairo_image_surface_get_width(sf), L + 2 * C + 20);
    cr_expect_eq(cairo_image_surface_get_height(sf), T + 2 * C + 20);
    int px[3];
    pixel_rgb(sf, L + 2, T + 2, px); /* (1 - 0.8 * 0.75, 1 - 0.6 * 0.75, 1) = (102, 140, 255) */
    cr_expect(abs(px[0] - 102) <= 1 && abs(px[1] - 140) <= 1 && px[2] == 255, "%d %d %d", px[0],
              px[1], px[2]);
    pixel_rgb(sf, L + C + 2, T + 2, px); /* 0.25: (204, 217, 255) */
    cr_expect(abs(px[0] - 204) <= 1 && abs(px[1] - 217) <= 1 && px[2] == 255, "%d %d %d", px[0],
              px[1], px[2]);
    EXPECT_RGB(sf, L + 2, T + C + 2, 255, 255, 255); /* the empty row */
    cairo_surface_destroy(sf);
    cr_expect_eq(plot_confusion_png(counts, 0, names, in_dir("d.png")), PT_ERR);
    cr_expect(strstr(pt_error(), "0 classes") != NULL, "%s", pt_error());
    pt_error_clear();
    const int64_t neg[4] = {3, -1, 0, 0};
    cr_expect_eq(plot_confusion_png(neg, 2, NULL, in_dir("d.png")), PT_ERR);
    cr_expect(strstr(pt_error(), "negative") != NULL, "%s", pt_error());
    pt_error_clear();
    cr_expect_str_eq(listing(), "c.png ", "%s", listing());
}

Test(overlay, predictions_file_in_a_created_directory)
{
    mask_ap *ap = mask_ap_new(2);
    cr_assert_not_null(ap);
    uint8_t mask[64] = {0};
    memset(mask + 8, 1, 16);
    char err[256];
    cr_assert_eq(mask_ap_add_det(ap, 7, 1, 0.75f, mask, 8, 8, err, sizeof err), 0, "%s", err);
    cr_assert_eq(predictions_write(ap, in_dir("out"), err, sizeof err), 0, "%s", err);
    FILE *f = fopen(in_dir("out/predictions.json"), "rb");
    cr_assert_not_null(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    cJSON *j = cJSON_Parse(buf);
    cr_assert(cJSON_IsArray(j) && cJSON_GetArraySize(j) == 1, "%s", buf);
    const cJSON *e = cJSON_GetArrayItem(j, 0);
    cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(e, "image_id")), 7);
    cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(e, "category_id")), 1);
    cr_expect_float_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(e, "score")), 0.75, 1e-9);
    cJSON_Delete(j);
    /* the parent missing: nothing written, 1; no evaluator: -1 */
    cr_expect_eq(predictions_write(ap, in_dir("a/b"), err, sizeof err), 1);
    cr_expect(strstr(err, "a/b") != NULL, "%s", err);
    cr_expect_eq(predictions_write(NULL, in_dir("out"), err, sizeof err), -1);
    cr_expect(strstr(err, "no evaluator") != NULL, "%s", err);
    mask_ap_free(ap);
}

Test(overlay, taps_and_box)
{
    uint8_t *im = grey(40);
    char err[256];
    overlay *o = overlay_new(im, 16, 16, 1, 8, err, sizeof err);
    cr_assert_not_null(o, "%s", err);
    const float xy[4] = {3, 4, 12, 12};
    const int positive[2] = {1, 0};
    cr_assert_eq(overlay_taps(o, xy, positive, 2, err, sizeof err), 0, "%s", err);
    const float box[4] = {2, 2, 10, 14};
    const double blue[3] = {0, 0, 1};
    cr_assert_eq(overlay_box(o, box, blue, err, sizeof err), 0, "%s", err);
    /* bad input: a tap outside the image, an empty box; nothing drawn */
    const float out[2] = {16, 3};
    cr_expect_eq(overlay_taps(o, out, positive, 1, err, sizeof err), -1);
    cr_expect(strstr(err, "outside the 16x16 image"), "%s", err);
    const float flat[4] = {5, 5, 5, 9};
    cr_expect_eq(overlay_box(o, flat, blue, err, sizeof err), -1);
    cr_expect(strstr(err, "is empty"), "%s", err);
    cr_assert_eq(overlay_write_png(o, in_dir("t.png"), err, sizeof err), 0, "%s", err);
    overlay_free(o);
    cairo_surface_t *sf = load_png(in_dir("t.png"));
    /* the tap at pixel (3, 4) is centred on picture (28, 36): green there, red at (100, 100) */
    EXPECT_RGB(sf, 28, 36, 25, 217, 51); /* cairo: 0.10 -> 25, 0.95 -> 243 */
    EXPECT_RGB(sf, 100, 100, 243, 38, 38);
    EXPECT_RGB(sf, 28, 44, 40, 40, 40); /* 8 picture pixels below the tap: the image again */
    /* the box's left edge x = 16 covers picture columns 15 and 16; inside it stays the image */
    EXPECT_RGB(sf, 15, 64, 0, 0, 255);
    EXPECT_RGB(sf, 16, 64, 0, 0, 255);
    EXPECT_RGB(sf, 40, 64, 40, 40, 40);
    EXPECT_RGB(sf, 80, 111, 0, 0, 255); /* its right edge x = 80, bottom y = 112 */
    EXPECT_RGB(sf, 50, 112, 0, 0, 255);
    cairo_surface_destroy(sf);
    free(im);
}
