/* test_dense_augment.c - Criterion tests for data/pipeline/dense_augment.c and the dense keys of
 * the pipeline and the config.
 *
 * Owns: a coloured square and its masks (semantic, instance, polygon, point) staying aligned
 * through crop_pad, rotation, flip, the object crop, the letterbox and the whole pipeline (pixels
 * under the mask keep the square's colour, pixels away from it never have it); the object staying
 * inside its scaled crop window; rotation by 0 and 360 being the identity and by 90/180/270
 * equalling rot90; letterbox plans (sizes, centring, odd leftovers) and letterbox then unletterbox
 * of a blob (IoU > 0.97, u8 and float); a sample without an object; determinism for a seed;
 * config errors naming the key; defaults leaving existing configs unchanged; rotation against
 * torchvision's F.rotate (tests/reference/rotate_ref.py). Needs no shim.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "config/settings.h"
#include "pipeline/augment.h"
#include "pipeline/dense_augment.h"

static char g_err[512];

static const uint8_t SQ[3] = {220, 40, 30}; /* the square's colour */
static const uint8_t BG = 60;               /* the background's grey */

/* An h x w RGB sample: grey background, the square rows y0..y1-1, cols x0..x1-1 in SQ; its
 * semantic mask, one instance (mask + polygon of the square's outline), a point at its centre
 * and a depth map holding the row index. */
static sample square_sample(int h, int w, int y0, int x0, int y1, int x1)
{
    sample s;
    sample_init(&s);
    s.h = h, s.w = w, s.c = 3;
    size_t n = (size_t)h * (size_t)w;
    s.image = malloc(n * 3);
    s.mask = calloc(n, 1);
    s.depth = malloc(n * sizeof(float));
    s.instances = calloc(1, sizeof *s.instances);
    cr_assert(s.image && s.mask && s.depth && s.instances);
    s.n_instances = 1;
    instance *in = &s.instances[0];
    in->class_id = 1;
    in->mask = calloc(n, 1);
    in->polygons = calloc(1, sizeof *in->polygons);
    cr_assert(in->mask && in->polygons);
    in->n_polygons = 1;
    in->polygons[0].n = 4;
    in->polygons[0].xy = malloc(8 * sizeof(float));
    const float poly[8] = {x0, y0, x1, y0, x1, y1, x0, y1};
    memcpy(in->polygons[0].xy, poly, sizeof poly);
    for (int i = 0; i < h; i++) {
        for (int j = 0; j < w; j++) {
            size_t p = (size_t)i * (size_t)w + (size_t)j;
            int on = i >= y0 && i < y1 && j >= x0 && j < x1;
            for (int k = 0; k < 3; k++)
                s.image[p * 3 + k] = on ? SQ[k] : BG;
            s.mask[p] = in->mask[p] = (uint8_t)on;
            s.depth[p] = (float)i;
        }
    }
    s.n_points = 1;
    s.points = malloc(2 * sizeof(float));
    s.points[0] = (x0 + x1) / 2.0f;
    s.points[1] = (y0 + y1) / 2.0f;
    return s;
}

static int is_sq(const uint8_t *px)
{
    return px[0] == SQ[0] && px[1] == SQ[1] && px[2] == SQ[2];
}

/* 1 when the 5x5 neighbourhood of (i, j) lies inside the image and is all object (mask 1) or all
 * not, as asked: two pixels away from the mask's edge (and the image's: a crop may cut the blurred
 * edge of the square), where no bilinear tap of up to two resamplings reaches across it. */
static int all_around(const sample *s, int i, int j, int want_object)
{
    for (int di = -2; di <= 2; di++) {
        for (int dj = -2; dj <= 2; dj++) {
            int y = i + di, x = j + dj;
            if (y < 0 || x < 0 || y >= s->h || x >= s->w)
                return 0;
            if ((s->mask[(size_t)y * (size_t)s->w + (size_t)x] == 1) != want_object)
                return 0;
        }
    }
    return 1;
}

/* The square and its annotations are still together after `what`; returns the mask's area. */
static long check_aligned(const sample *s, const char *what)
{
    long area = 0, red = 0, interior = 0;
    int bx0 = s->w, by0 = s->h, bx1 = -1, by1 = -1;
    for (int i = 0; i < s->h; i++) {
        for (int j = 0; j < s->w; j++) {
            size_t p = (size_t)i * (size_t)s->w + (size_t)j;
            const uint8_t *px = s->image + p * 3;
            int obj = s->mask[p] == 1;
            cr_assert_eq(s->instances[0].mask[p], obj, "%s: instance mask differs from the "
                         "semantic mask at (%d, %d)", what, i, j);
            if (obj) {
                area++;
                red += px[0] >= 120;
                bx0 = j < bx0 ? j : bx0, bx1 = j > bx1 ? j : bx1;
                by0 = i < by0 ? i : by0, by1 = i > by1 ? i : by1;
                if (all_around(s, i, j, 1)) {
                    interior++;
                    cr_assert(is_sq(px), "%s: interior mask pixel (%d, %d) is (%d, %d, %d), not "
                              "the square's colour", what, i, j, px[0], px[1], px[2]);
                }
            } else if (all_around(s, i, j, 0)) {
                cr_assert(px[0] < 140, "%s: pixel (%d, %d) far from the mask has the square's "
                          "red (%d)", what, i, j, px[0]);
            }
        }
    }
    cr_assert_gt(area, 0, "%s: the mask vanished", what);
    cr_assert_gt(interior, 0, "%s: no interior mask pixel to check", what);
    cr_assert_geq(red * 4, area * 3, "%s: only %ld of %ld mask pixels are red", what, red, area);
    /* the point at the square's centre is on the mask */
    int pj = (int)floorf(s->points[0]), pi = (int)floorf(s->points[1]);
    cr_assert(pi >= 0 && pj >= 0 && pi < s->h && pj < s->w && s->mask[pi * s->w + pj] == 1,
              "%s: the centre point (%g, %g) left the mask", what, s->points[0], s->points[1]);
    /* the polygon's extent is the mask's box, up to the resampling (3 pixels) */
    const polygon *pg = &s->instances[0].polygons[0];
    float px0 = INFINITY, py0 = INFINITY, px1 = -INFINITY, py1 = -INFINITY;
    for (int k = 0; k < pg->n; k++) {
        px0 = fminf(px0, pg->xy[2 * k]), px1 = fmaxf(px1, pg->xy[2 * k]);
        py0 = fminf(py0, pg->xy[2 * k + 1]), py1 = fmaxf(py1, pg->xy[2 * k + 1]);
    }
    px0 = fmaxf(px0, 0), py0 = fmaxf(py0, 0);
    px1 = fminf(px1, (float)s->w), py1 = fminf(py1, (float)s->h);
    cr_assert(fabsf(px0 - bx0) <= 3 && fabsf(px1 - (bx1 + 1)) <= 3 && fabsf(py0 - by0) <= 3 &&
              fabsf(py1 - (by1 + 1)) <= 3,
              "%s: polygon box [%g, %g] x [%g, %g] vs mask box [%d, %d] x [%d, %d]", what, px0,
              px1, py0, py1, bx0, bx1 + 1, by0, by1 + 1);
    return area;
}

static void expect_same_bytes(const void *a, const void *b, size_t n, const char *what)
{
    cr_assert_eq(memcmp(a, b, n), 0, "%s differ", what);
}

/* Every plane and coordinate of a and b equal (sizes included). */
static void expect_same_sample(const sample *a, const sample *b, const char *what)
{
    cr_assert(a->h == b->h && a->w == b->w && a->c == b->c, "%s: %dx%d vs %dx%d", what, a->h,
              a->w, b->h, b->w);
    size_t n = (size_t)a->h * (size_t)a->w;
    expect_same_bytes(a->image, b->image, n * (size_t)a->c, "image");
    expect_same_bytes(a->mask, b->mask, n, "mask");
    expect_same_bytes(a->depth, b->depth, n * sizeof(float), "depth");
    expect_same_bytes(a->instances[0].mask, b->instances[0].mask, n, "instance mask");
    for (int k = 0; k < 8; k++)
        cr_assert_float_eq(a->instances[0].polygons[0].xy[k], b->instances[0].polygons[0].xy[k],
                           1e-4, "%s: polygon coordinate %d", what, k);
    for (int k = 0; k < 2; k++)
        cr_assert_float_eq(a->points[k], b->points[k], 1e-4, "%s: point coordinate %d", what, k);
}

TestSuite(dense_augment);

/* ---------------------------------------------------------------- alignment */

Test(dense_augment, mask_stays_on_the_square_through_every_op)
{
    const aug_fill fill = {0, 0};
    const char *names[] = {"crop_pad", "rotate 30", "rotate -17", "rotate 123.5", "hflip",
                           "object crop", "letterbox", "rotate 30 + object crop"};
    for (int op = 0; op < 8; op++) {
        sample s = square_sample(48, 64, 10, 20, 26, 40);
        prng r;
        prng_seed(&r, (uint64_t)op);
        int rc = 0;
        aug_letterbox t;
        switch (op) {
        case 0: /* a window that leaves the image at the top and on the left */
            rc = aug_crop_pad(&s, -4, -5, 44, 70, &fill, g_err, sizeof g_err);
            break;
        case 1: rc = aug_rotate(&s, 30, &fill, g_err, sizeof g_err); break;
        case 2: rc = aug_rotate(&s, -17, &fill, g_err, sizeof g_err); break;
        case 3: rc = aug_rotate(&s, 123.5, &fill, g_err, sizeof g_err); break;
        case 4: rc = aug_hflip(&s, g_err, sizeof g_err); break;
        case 5: rc = aug_object_crop(&s, 1.2, 1.8, 32, 24, &fill, &r, g_err, sizeof g_err); break;
        case 6: rc = aug_letterbox_apply(&s, 40, 40, &fill, &t, g_err, sizeof g_err); break;
        default:
            rc = aug_rotate(&s, 30, &fill, g_err, sizeof g_err) ||
                 aug_object_crop(&s, 1.0, 1.5, 24, 32, &fill, &r, g_err, sizeof g_err);
        }
        cr_assert_eq(rc, 0, "%s: %s", names[op], g_err);
        long area = check_aligned(&s, names[op]);
        if (op == 0) {
            cr_assert(s.h == 44 && s.w == 70);
            cr_assert_eq(area, 16 * 20, "the whole square is in the window");
            cr_assert_eq(s.image[0], 0, "padding has the fill value");
            cr_assert_float_eq(s.depth[(size_t)10 * 70 + 10], 6.0f, 0, "depth moved with rows");
            const float *xy = s.instances[0].polygons[0].xy;
            cr_assert(xy[0] == 25 && xy[1] == 14 && s.points[0] == 35 && s.points[1] == 22,
                      "coordinates shift by the window's offset exactly");
        } else if (op <= 3) {
            /* the square stays inside the image: its area survives up to the resampling */
            cr_assert(labs(area - 320) <= 32, "%s: area %ld, want about 320", names[op], area);
        } else if (op == 5 || op == 7) {
            cr_assert(s.h == (op == 5 ? 32 : 24) && s.w == (op == 5 ? 24 : 32));
        } else if (op == 6) {
            cr_assert(s.h == 40 && s.w == 40 && t.h == 30 && t.w == 40 && t.top == 5,
                      "%dx%d content at row %d", t.h, t.w, t.top);
        }
        sample_free(&s);
    }
}

Test(dense_augment, pipeline_keeps_masks_aligned_and_jitter_touches_the_image_only)
{
    aug_config c;
    memset(&c, 0, sizeof c);
    c.rot90_prob = 0.5f;
    c.hflip_prob = 0.5f;
    c.rotate_deg = 40;
    c.object_crop_prob = 0.7f;
    c.object_crop_scale_min = 1.5f; /* windows wider than the output: the resize shrinks, so */
    c.object_crop_scale_max = 2.5f; /* edges blur by at most a pixel or two */
    c.resize_h = 30, c.resize_w = 42;
    c.letterbox = 1;
    c.fill_image = 114, c.fill_mask = 255;
    cr_assert_eq(aug_config_check(&c, g_err, sizeof g_err), 0, "%s", g_err);
    cr_assert(aug_config_active(&c));
    int padded = 0;
    for (uint64_t seed = 0; seed < 40; seed++) {
        sample s = square_sample(50, 70, 12, 30, 30, 52);
        prng r;
        prng_seed(&r, seed);
        cr_assert_eq(aug_apply(&c, &s, &r, g_err, sizeof g_err), 0, "seed %d: %s", (int)seed,
                     g_err);
        cr_assert_eq(s.h, 30);
        cr_assert_eq(s.w, 42);
        char what[64];
        snprintf(what, sizeof what, "pipeline, seed %d", (int)seed);
        check_aligned(&s, what);
        for (int p = 0; p < s.h * s.w; p++)
            padded += s.mask[p] == 255;
        sample_free(&s);
    }
    cr_assert_gt(padded, 0, "rotation corners or padding carry the mask fill 255");

    /* colour jitter alone: the image changes, every mask stays byte for byte */
    memset(&c, 0, sizeof c);
    c.jitter_prob = 1;
    c.brightness = 0.5f, c.contrast = 0.5f, c.saturation = 0.5f;
    sample a = square_sample(20, 30, 4, 5, 12, 20), b;
    cr_assert_eq(sample_copy(&b, &a), 0);
    prng r;
    prng_seed(&r, 11);
    cr_assert_eq(aug_apply(&c, &b, &r, g_err, sizeof g_err), 0, "%s", g_err);
    cr_assert_neq(memcmp(a.image, b.image, 20 * 30 * 3), 0, "jitter changed the image");
    expect_same_bytes(a.mask, b.mask, 600, "jittered mask");
    expect_same_bytes(a.instances[0].mask, b.instances[0].mask, 600, "jittered instance mask");
    sample_free(&a);
    sample_free(&b);
}

/* ---------------------------------------------------------------- object crop */

Test(dense_augment, object_stays_inside_its_scaled_crop)
{
    prng r;
    prng_seed(&r, 99);
    const int outs[3][2] = {{64, 64}, {32, 64}, {64, 32}};
    for (int it = 0; it < 3000; it++) {
        int H = 20 + (int)prng_below(&r, 100), W = 20 + (int)prng_below(&r, 100);
        aug_box b;
        b.x0 = (int)prng_below(&r, (uint64_t)W - 1);
        b.y0 = (int)prng_below(&r, (uint64_t)H - 1);
        b.x1 = b.x0 + 1 + (int)prng_below(&r, (uint64_t)(W - b.x0));
        b.y1 = b.y0 + 1 + (int)prng_below(&r, (uint64_t)(H - b.y0));
        const int *o = outs[it % 3];
        double scale = prng_range(&r, 0.3, 3.0);
        aug_box w = aug_object_window(&b, H, W, scale, o[0], o[1], &r);
        int ww = w.x1 - w.x0, wh = w.y1 - w.y0;
        /* the window has the output's aspect ratio and scale times the tightest such window */
        double aspect = (double)o[0] / o[1], bw = b.x1 - b.x0, bh = b.y1 - b.y0;
        double base_w = fmax(bw, bh / aspect);
        cr_assert(ww == fmax(1, round(scale * base_w)) &&
                  wh == fmax(1, round(scale * base_w * aspect)),
                  "window %dx%d for scale %g of a %gx%g box", wh, ww, scale, bh, bw);
        /* along each axis: the box inside the window, or the window inside the box */
        int x_in = w.x0 <= b.x0 && w.x1 >= b.x1, x_within = w.x0 >= b.x0 && w.x1 <= b.x1;
        int y_in = w.y0 <= b.y0 && w.y1 >= b.y1, y_within = w.y0 >= b.y0 && w.y1 <= b.y1;
        cr_assert(x_in || x_within, "columns: box [%d, %d), window [%d, %d)", b.x0, b.x1, w.x0,
                  w.x1);
        cr_assert(y_in || y_within, "rows: box [%d, %d), window [%d, %d)", b.y0, b.y1, w.y0, w.y1);
        if (scale >= 1)
            cr_assert(x_in && y_in, "scale %g >= 1 keeps the whole box", scale);
        /* shifted into the image whenever it fits */
        if (ww <= W)
            cr_assert(w.x0 >= 0 && w.x1 <= W, "window [%d, %d) fits in %d columns", w.x0, w.x1, W);
        else
            cr_assert(w.x0 <= 0 && w.x1 >= W, "window [%d, %d) covers %d columns", w.x0, w.x1, W);
        if (wh <= H)
            cr_assert(w.y0 >= 0 && w.y1 <= H);
        else
            cr_assert(w.y0 <= 0 && w.y1 >= H);
    }

    /* on a sample: after the window's crop_pad, every object pixel is still there */
    const aug_fill fill = {0, 0};
    for (uint64_t seed = 0; seed < 30; seed++) {
        sample s = square_sample(40, 60, 3, 41, 19, 58); /* near the right edge */
        prng_seed(&r, seed);
        aug_box b;
        cr_assert_eq(aug_object_box(&s, &r, &b), 1);
        cr_assert(b.x0 == 41 && b.y0 == 3 && b.x1 == 58 && b.y1 == 19, "box [%d, %d) x [%d, %d)",
                  b.x0, b.x1, b.y0, b.y1);
        aug_box w = aug_object_window(&b, s.h, s.w, prng_range(&r, 1.0, 3.0), 24, 24, &r);
        cr_assert_eq(aug_crop_pad(&s, w.y0, w.x0, w.y1 - w.y0, w.x1 - w.x0, &fill, g_err,
                                  sizeof g_err), 0, "%s", g_err);
        cr_assert_eq(check_aligned(&s, "object window"), 16 * 17, "seed %d", (int)seed);
        sample_free(&s);
    }
}

Test(dense_augment, object_box_prefers_an_instance_then_the_mask)
{
    prng r;
    prng_seed(&r, 1);
    aug_box b;
    /* an instance with a polygon only: its vertices' extent, clipped to the image */
    sample s = square_sample(30, 30, 5, 5, 10, 10);
    free(s.instances[0].mask);
    s.instances[0].mask = NULL;
    const float poly[8] = {12.2f, 3.5f, 40, 3.5f, 40, 9.1f, 12.2f, 9.1f};
    memcpy(s.instances[0].polygons[0].xy, poly, sizeof poly);
    cr_assert_eq(aug_object_box(&s, &r, &b), 1);
    cr_assert(b.x0 == 12 && b.y0 == 3 && b.x1 == 30 && b.y1 == 10, "box [%d, %d) x [%d, %d)",
              b.x0, b.x1, b.y0, b.y1);
    /* no instance: the semantic mask's nonzero pixels */
    s.n_instances = 0;
    cr_assert_eq(aug_object_box(&s, &r, &b), 1);
    cr_assert(b.x0 == 5 && b.y0 == 5 && b.x1 == 10 && b.y1 == 10);
    s.n_instances = 1;
    sample_free(&s);
}

Test(dense_augment, sample_without_object_crops_the_whole_image)
{
    sample s;
    sample_init(&s);
    s.h = 30, s.w = 30, s.c = 3;
    s.image = malloc(30 * 30 * 3);
    for (int p = 0; p < 30 * 30 * 3; p++)
        s.image[p] = (uint8_t)(p * 7);
    sample ref;
    cr_assert_eq(sample_copy(&ref, &s), 0);
    prng r;
    prng_seed(&r, 5);
    aug_box b;
    cr_assert_eq(aug_object_box(&s, &r, &b), 0, "no object");
    cr_assert(b.x0 == 0 && b.y0 == 0 && b.x1 == 30 && b.y1 == 30);
    /* scale 1 on a square image with a square output: the window is the image */
    const aug_fill fill = {0, 0};
    cr_assert_eq(aug_object_crop(&s, 1, 1, 20, 20, &fill, &r, g_err, sizeof g_err), 0, "%s",
                 g_err);
    cr_assert_eq(aug_resize(&ref, 20, 20, g_err, sizeof g_err), 0);
    expect_same_bytes(s.image, ref.image, 20 * 20 * 3, "object crop of the whole image vs resize");
    sample_free(&s);
    sample_free(&ref);

    /* with zoom-in and zoom-out scales too, through the pipeline with every op on */
    aug_config c;
    memset(&c, 0, sizeof c);
    c.rotate_deg = 30;
    c.object_crop_prob = 1;
    c.object_crop_scale_min = 0.5f, c.object_crop_scale_max = 2.0f;
    c.resize_h = c.resize_w = 16;
    c.letterbox = 1;
    for (uint64_t seed = 0; seed < 10; seed++) {
        sample e;
        sample_init(&e);
        e.h = 25, e.w = 41, e.c = 1;
        e.image = calloc(25 * 41, 1);
        prng_seed(&r, seed);
        cr_assert_eq(aug_apply(&c, &e, &r, g_err, sizeof g_err), 0, "%s", g_err);
        cr_assert(e.h == 16 && e.w == 16);
        sample_free(&e);
    }
}

/* ---------------------------------------------------------------- rotation */

Test(dense_augment, rotation_by_0_and_360_is_identity_and_by_quarters_is_rot90)
{
    const aug_fill fill = {7, 9};
    sample a = square_sample(24, 24, 3, 5, 11, 19);
    for (int p = 0; p < 24 * 24 * 3; p++)
        a.image[p] = (uint8_t)(p * 13 + 1); /* every pixel distinct enough to catch a shift */
    sample b;
    cr_assert_eq(sample_copy(&b, &a), 0);
    cr_assert_eq(aug_rotate(&b, 0, &fill, g_err, sizeof g_err), 0);
    expect_same_sample(&a, &b, "rotate 0");
    cr_assert_eq(aug_rotate(&b, 360, &fill, g_err, sizeof g_err), 0);
    expect_same_sample(&a, &b, "rotate 360");
    cr_assert_eq(aug_rotate(&b, -720, &fill, g_err, sizeof g_err), 0);
    expect_same_sample(&a, &b, "rotate -720");

    /* square: 90 = rot90(1), -90 = 270 = rot90(3), 180 = rot90(2) */
    const double deg[4] = {90, -90, 270, 180};
    const int k[4] = {1, 3, 3, 2};
    for (int t = 0; t < 4; t++) {
        sample x, y;
        cr_assert_eq(sample_copy(&x, &a), 0);
        cr_assert_eq(sample_copy(&y, &a), 0);
        cr_assert_eq(aug_rotate(&x, deg[t], &fill, g_err, sizeof g_err), 0, "%s", g_err);
        cr_assert_eq(aug_rot90(&y, k[t], g_err, sizeof g_err), 0, "%s", g_err);
        char what[32];
        snprintf(what, sizeof what, "rotate %g", deg[t]);
        expect_same_sample(&x, &y, what);
        sample_free(&x);
        sample_free(&y);
    }
    /* non-square: 180 degrees keeps the size and equals rot90(2) */
    sample x = square_sample(10, 17, 2, 3, 6, 9), y;
    cr_assert_eq(sample_copy(&y, &x), 0);
    cr_assert_eq(aug_rotate(&x, 180, &fill, g_err, sizeof g_err), 0, "%s", g_err);
    cr_assert_eq(aug_rot90(&y, 2, g_err, sizeof g_err), 0, "%s", g_err);
    expect_same_sample(&x, &y, "rotate 180, 10x17");
    sample_free(&x);
    sample_free(&y);

    /* a small angle moves the pixels but keeps the centre pixel of an odd image */
    sample o = square_sample(21, 21, 0, 0, 21, 21);
    o.image[(10 * 21 + 10) * 3] = 5;
    cr_assert_eq(aug_rotate(&o, 10, &fill, g_err, sizeof g_err), 0, "%s", g_err);
    cr_assert_eq(o.image[(10 * 21 + 10) * 3], 5, "the centre stays put");
    cr_assert_eq(o.mask[0], 9, "a rotated-in corner has the mask fill");
    cr_assert_eq(o.image[0], 7, "and the image fill");
    cr_assert_eq(o.instances[0].mask[0], 0, "instance masks are filled with 0");
    sample_free(&o);

    cr_assert_eq(aug_rotate(&a, NAN, &fill, g_err, sizeof g_err), -1);
    cr_assert(strstr(g_err, "rotate"), "%s", g_err);
    sample_free(&a);
    sample_free(&b);
}

/* ---------------------------------------------------------------- letterbox */

Test(dense_augment, letterbox_plans_centre_the_content)
{
    aug_letterbox t = aug_letterbox_plan(173, 311, 128, 128);
    cr_assert(t.w == 128 && t.h == 71 && t.left == 0 && t.top == 28, "%dx%d at (%d, %d)", t.h,
              t.w, t.top, t.left);
    cr_assert_float_eq(t.scale_x, 128.0 / 311, 1e-12);
    cr_assert_float_eq(t.scale_y, 71.0 / 173, 1e-12);
    t = aug_letterbox_plan(100, 50, 64, 64);
    cr_assert(t.h == 64 && t.w == 32 && t.top == 0 && t.left == 16);
    t = aug_letterbox_plan(10, 10, 5, 8); /* 3 columns left over: 1 left, 2 right */
    cr_assert(t.h == 5 && t.w == 5 && t.top == 0 && t.left == 1);
    t = aug_letterbox_plan(40, 60, 20, 30); /* same aspect: no padding */
    cr_assert(t.h == 20 && t.w == 30 && t.top == 0 && t.left == 0);
    t = aug_letterbox_plan(1, 1000, 16, 16); /* a sliver keeps at least one row */
    cr_assert(t.h == 1 && t.w == 16 && t.top == 7);
}

/* IoU of two 0/1 masks of n pixels. */
static double iou(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t inter = 0, uni = 0;
    for (size_t p = 0; p < n; p++) {
        inter += a[p] && b[p];
        uni += a[p] || b[p];
    }
    return uni ? (double)inter / (double)uni : 1.0;
}

Test(dense_augment, letterbox_then_unletterbox_gives_the_mask_back)
{
    const int H = 173, W = 311;
    sample s;
    sample_init(&s);
    s.h = H, s.w = W, s.c = 3;
    s.image = malloc((size_t)H * W * 3);
    s.mask = malloc((size_t)H * W);
    s.n_points = 1;
    s.points = malloc(2 * sizeof(float));
    s.points[0] = 200.5f, s.points[1] = 40.5f;
    for (int i = 0; i < H; i++) {
        for (int j = 0; j < W; j++) {
            /* a tilted elliptic blob with a notch */
            double u = (j - 140.0) / 70.0, v = (i - 90.0) / 45.0;
            double r2 = (u + 0.3 * v) * (u + 0.3 * v) + v * v;
            int on = r2 < 1.0 && !(u > 0.3 && fabs(v) < 0.15);
            s.mask[(size_t)i * W + j] = (uint8_t)on;
            for (int k = 0; k < 3; k++)
                s.image[((size_t)i * W + j) * 3 + k] = on ? 200 : 30;
        }
    }
    uint8_t *orig = malloc((size_t)H * W);
    memcpy(orig, s.mask, (size_t)H * W);
    const aug_fill fill = {114, 255};
    aug_letterbox t;
    cr_assert_eq(aug_letterbox_apply(&s, 256, 256, &fill, &t, g_err, sizeof g_err), 0, "%s",
                 g_err);
    cr_assert(s.h == 256 && s.w == 256 && t.top == 57 && t.h == 142, "%dx%d at row %d", t.h,
              t.w, t.top);
    for (int i = 0; i < 256; i++) {
        int bar = i < t.top || i >= t.top + t.h;
        for (int j = 0; j < 256; j++) {
            size_t p = (size_t)i * 256 + j;
            if (bar)
                cr_assert(s.mask[p] == 255 && s.image[p * 3] == 114, "bar pixel (%d, %d)", i, j);
            else
                cr_assert(s.mask[p] <= 1, "content pixel (%d, %d) is %d", i, j, s.mask[p]);
        }
    }
    cr_assert_float_eq(s.points[0], 200.5 * t.scale_x + t.left, 1e-3);
    cr_assert_float_eq(s.points[1], 40.5 * t.scale_y + t.top, 1e-3);

    /* u8 prediction (the letterboxed mask itself, bars included) back to 173 x 311 */
    uint8_t *back = aug_unletterbox_u8(&t, s.mask, g_err, sizeof g_err);
    cr_assert_not_null(back, "%s", g_err);
    double iou_u8 = iou(orig, back, (size_t)H * W);
    /* float scores: the mask as probabilities, bilinear back, thresholded at 0.5 */
    float *scores = malloc(256 * 256 * sizeof(float));
    for (int p = 0; p < 256 * 256; p++)
        scores[p] = s.mask[p] == 1 ? 1.0f : 0.0f;
    float *fback = aug_unletterbox_f32(&t, scores, g_err, sizeof g_err);
    cr_assert_not_null(fback, "%s", g_err);
    for (int p = 0; p < H * W; p++) {
        cr_assert(fback[p] >= 0 && fback[p] <= 1, "bilinear stays in [0, 1]");
        back[p] = fback[p] >= 0.5f;
    }
    double iou_f32 = iou(orig, back, (size_t)H * W);
    fprintf(stderr, "dense_augment: letterbox 173x311 -> 256x256 -> back: IoU u8 %.4f, "
            "float %.4f\n", iou_u8, iou_f32);
    cr_assert_gt(iou_u8, 0.97, "u8 round trip IoU %.4f", iou_u8);
    cr_assert_gt(iou_f32, 0.97, "float round trip IoU %.4f", iou_f32);
    free(back);
    free(fback);
    free(scores);

    /* a transform that does not fit its canvas is refused */
    aug_letterbox bad = t;
    bad.top = 200; /* 200 + 142 rows do not fit in 256 */
    cr_assert_null(aug_unletterbox_u8(&bad, s.mask, g_err, sizeof g_err));
    cr_assert(strstr(g_err, "unletterbox"), "%s", g_err);
    free(orig);
    sample_free(&s);
}

/* ---------------------------------------------------------------- determinism */

Test(dense_augment, same_seed_same_result)
{
    aug_config c;
    memset(&c, 0, sizeof c);
    c.rot90_prob = 0.5f;
    c.hflip_prob = 0.5f;
    c.rotate_deg = 45;
    c.object_crop_prob = 0.8f;
    c.object_crop_scale_min = 0.8f, c.object_crop_scale_max = 2.0f;
    c.resize_h = 32, c.resize_w = 32;
    c.letterbox = 1;
    c.jitter_prob = 1, c.brightness = 0.3f;
    int differ = 0;
    for (uint64_t seed = 0; seed < 8; seed++) {
        sample a = square_sample(40, 52, 8, 9, 30, 28), b, d;
        cr_assert_eq(sample_copy(&b, &a), 0);
        cr_assert_eq(sample_copy(&d, &a), 0);
        prng ra, rb, rd;
        prng_seed(&ra, seed);
        prng_seed(&rb, seed);
        prng_seed(&rd, seed + 100);
        cr_assert_eq(aug_apply(&c, &a, &ra, g_err, sizeof g_err), 0, "%s", g_err);
        cr_assert_eq(aug_apply(&c, &b, &rb, g_err, sizeof g_err), 0, "%s", g_err);
        cr_assert_eq(aug_apply(&c, &d, &rd, g_err, sizeof g_err), 0, "%s", g_err);
        expect_same_sample(&a, &b, "same seed");
        cr_assert_eq(memcmp(&ra, &rb, sizeof ra), 0, "the generators advanced alike");
        differ += memcmp(a.mask, d.mask, 32 * 32) != 0;
        sample_free(&a);
        sample_free(&b);
        sample_free(&d);
    }
    cr_assert_geq(differ, 6, "other seeds give other crops (%d of 8 differ)", differ);
}

/* ---------------------------------------------------------------- config */

/* settings_bind of a YAML text; returns 0, or -1 with the message in g_err. */
static int bind_yaml(settings *s, const char *yaml)
{
    cfg_doc *doc = cfg_load_string(yaml, "dense.yaml", NULL, 0, g_err, sizeof g_err);
    cr_assert_not_null(doc, "%s", g_err);
    return settings_bind(s, doc, NULL, g_err, sizeof g_err);
}

static void expect_key_error(const char *yaml, const char *key, const char *what)
{
    settings s;
    cr_assert_eq(bind_yaml(&s, yaml), -1, "accepted: %s", yaml);
    cr_assert(strstr(g_err, key), "the message names %s: %s", key, g_err);
    cr_assert(strstr(g_err, what), "the message says '%s': %s", what, g_err);
    cr_assert(strstr(g_err, "dense.yaml"), "the message names the file: %s", g_err);
}

Test(dense_augment, config_defaults_are_off_and_bad_values_name_the_key)
{
    settings s;
    cr_assert_eq(bind_yaml(&s, "train: {epochs: 1}\n"), 0, "%s", g_err);
    cr_assert_eq(s.data.resize_mode, SETTINGS_RESIZE_STRETCH);
    cr_assert_eq(s.data.pad_value, 0);
    cr_assert_eq(s.data.mask_pad_value, 0);
    cr_assert_eq(s.data.augment.rotate, 0);
    cr_assert_eq(s.data.augment.object_crop_prob, 0);
    cr_assert_eq(s.data.augment.object_crop_scale.n, 2);
    settings_free(&s);

    cr_assert_eq(bind_yaml(&s, "data:\n  image_size: 64\n  resize_mode: letterbox\n"
                               "  mask_pad_value: 255\n  augment:\n    rotate: 15\n"
                               "    object_crop_prob: 0.5\n    object_crop_scale: [1.5, 3]\n"),
                 0, "%s", g_err);
    cr_assert_eq(s.data.resize_mode, SETTINGS_RESIZE_LETTERBOX);
    cr_assert_eq(s.data.mask_pad_value, 255);
    cr_assert_float_eq(s.data.augment.rotate, 15, 0);
    cr_assert_float_eq(s.data.augment.object_crop_scale.v[0], 1.5, 0);
    cr_assert_float_eq(s.data.augment.object_crop_scale.v[1], 3, 0);
    settings_free(&s);

    expect_key_error("data: {image_size: 64, augment: {object_crop_prob: 0.5, "
                     "object_crop_scale: [2, 1]}}\n",
                     "data.augment.object_crop_scale", "lo <= hi");
    expect_key_error("data: {augment: {object_crop_scale: [1]}}\n",
                     "data.augment.object_crop_scale", "2");
    expect_key_error("data: {augment: {object_crop_prob: 0.5}}\n",
                     "data.augment.object_crop_prob", "data.image_size");
    expect_key_error("data: {image_size: 32, augment: {object_crop_prob: 0.5, resize: 48}}\n",
                     "data.augment.object_crop_prob", "data.augment.resize");
    expect_key_error("data: {augment: {object_crop_prob: 1.5}}\n",
                     "data.augment.object_crop_prob", "1");
    expect_key_error("data: {augment: {rotate: 400}}\n", "data.augment.rotate", "180");
    expect_key_error("data: {resize_mode: squash}\n", "data.resize_mode", "letterbox");
    expect_key_error("data: {mask_pad_value: 300}\n", "data.mask_pad_value", "255");

    /* the pipeline's own check names the field */
    aug_config c;
    memset(&c, 0, sizeof c);
    c.rotate_deg = 200;
    cr_assert_eq(aug_config_check(&c, g_err, sizeof g_err), -1);
    cr_assert(strstr(g_err, "rotate_deg"), "%s", g_err);
    c.rotate_deg = 0;
    c.object_crop_prob = 0.5f;
    c.object_crop_scale_min = 1, c.object_crop_scale_max = 2;
    cr_assert_eq(aug_config_check(&c, g_err, sizeof g_err), -1, "no resize to crop to");
    cr_assert(strstr(g_err, "object crop") && strstr(g_err, "resize"), "%s", g_err);
    c.resize_h = c.resize_w = 16;
    c.object_crop_scale_min = 0;
    cr_assert_eq(aug_config_check(&c, g_err, sizeof g_err), -1);
    cr_assert(strstr(g_err, "object crop scale"), "%s", g_err);
    c.object_crop_scale_min = 1;
    cr_assert_eq(aug_config_check(&c, g_err, sizeof g_err), 0, "%s", g_err);
}

/* ---------------------------------------------------------------- torchvision parity */

Test(dense_augment, rotation_matches_torchvision)
{
    enum { H = 37, W = 52, C = 3, N = 4 };
    const double angles[N] = {23.7, -61, 135, 7.25};
    uint8_t img[H * W * C], mask[H * W];
    prng r;
    prng_seed(&r, 42);
    for (int i = 0; i < H; i++) {
        for (int j = 0; j < W; j++) {
            for (int k = 0; k < C; k++) /* smooth ramps plus noise: bilinear weights matter */
                img[(i * W + j) * C + k] =
                    (uint8_t)((i * 5 + j * 3 * (k + 1) + (int)prng_below(&r, 40)) % 256);
            double u = (j - 30.0) / 14.0, v = (i - 15.0) / 9.0;
            mask[i * W + j] = (uint8_t)(u * u + v * v < 1.0 ? 3 : 0);
        }
    }
    char *dir = tst_tmpdir();
    cr_assert_not_null(dir);
    char in[4200], out[4200], args[8500];
    snprintf(in, sizeof in, "%s/in.bin", dir);
    snprintf(out, sizeof out, "%s/out.bin", dir);
    FILE *f = fopen(in, "wb");
    cr_assert_not_null(f);
    const int32_t head[4] = {H, W, C, N};
    fwrite(head, sizeof head, 1, f);
    fwrite(angles, sizeof angles, 1, f);
    fwrite(img, sizeof img, 1, f);
    fwrite(mask, sizeof mask, 1, f);
    fclose(f);
    snprintf(args, sizeof args, "'%s' '%s'", in, out);
    cr_assert_eq(tst_python("rotate_ref.py", args), 0, "tests/reference/rotate_ref.py failed");
    f = fopen(out, "rb");
    cr_assert_not_null(f);
    const aug_fill fill = {0, 0};
    for (int a = 0; a < N; a++) {
        uint8_t want_img[H * W * C], want_mask[H * W];
        cr_assert_eq(fread(want_img, sizeof want_img, 1, f), 1);
        cr_assert_eq(fread(want_mask, sizeof want_mask, 1, f), 1);
        sample s;
        sample_init(&s);
        s.h = H, s.w = W, s.c = C;
        s.image = malloc(sizeof img);
        s.mask = malloc(sizeof mask);
        memcpy(s.image, img, sizeof img);
        memcpy(s.mask, mask, sizeof mask);
        cr_assert_eq(aug_rotate(&s, angles[a], &fill, g_err, sizeof g_err), 0, "%s", g_err);
        int max_diff = 0, exact = 0, mask_same = 0;
        for (int p = 0; p < H * W * C; p++) {
            int d = abs((int)s.image[p] - (int)want_img[p]);
            max_diff = d > max_diff ? d : max_diff;
            exact += d == 0;
        }
        for (int p = 0; p < H * W; p++)
            mask_same += s.mask[p] == want_mask[p];
        fprintf(stderr, "dense_augment: rotate %g vs torchvision: image max |diff| %d, %.2f%% "
                "exact; mask %.2f%% equal\n", angles[a], max_diff, 100.0 * exact / (H * W * C),
                100.0 * mask_same / (H * W));
        cr_assert_leq(max_diff, 1, "rotate %g: image differs by %d", angles[a], max_diff);
        cr_assert_geq(exact * 100, H * W * C * 99, "rotate %g: %d exact bytes", angles[a], exact);
        cr_assert_geq(mask_same * 1000, H * W * 995, "rotate %g: %d equal mask pixels",
                      angles[a], mask_same);
        sample_free(&s);
    }
    fclose(f);
    tst_rmtree(dir);
}
