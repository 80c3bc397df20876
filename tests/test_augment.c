/* test_augment.c - Criterion tests for data/augment.c.
 *
 * Owns: exact pixels of hflip, rot90 (non-square, every k), crop offsets and bilinear/nearest
 * resize on hand-made images; the geometric ops moving the mask, instance masks, polygons,
 * points and depth with the image (a marked pixel and the annotations placed on it stay
 * together); blur (mean preserved, mirror-symmetric, constant stays constant); jitter (exact
 * factors, bounds of the random pipeline); config checks; determinism of the pipeline.
 * Needs no shim.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/augment.h"

static char g_err[512];

/* An h x w x c sample whose image is the given bytes (or zeros when px is NULL). */
static sample make(int h, int w, int c, const uint8_t *px)
{
    sample s;
    sample_init(&s);
    s.h = h, s.w = w, s.c = c;
    s.image = calloc((size_t)h * (size_t)w * (size_t)c, 1);
    cr_assert_not_null(s.image);
    if (px)
        memcpy(s.image, px, (size_t)h * (size_t)w * (size_t)c);
    return s;
}

static void expect_image(const sample *s, int h, int w, const uint8_t *want)
{
    cr_assert_eq(s->h, h, "height %d, want %d", s->h, h);
    cr_assert_eq(s->w, w, "width %d, want %d", s->w, w);
    for (int i = 0; i < h * w * s->c; i++)
        cr_assert_eq(s->image[i], want[i], "byte %d is %d, want %d", i, s->image[i], want[i]);
}

TestSuite(augment);

/* ---------------------------------------------------------------- exact pixels */

Test(augment, hflip_exact_pixels)
{
    const uint8_t in[6] = {1, 2, 3, 4, 5, 6}; /* 2 x 3 grey */
    sample s = make(2, 3, 1, in);
    cr_assert_eq(aug_hflip(&s, g_err, sizeof g_err), 0, "%s", g_err);
    const uint8_t want[6] = {3, 2, 1, 6, 5, 4};
    expect_image(&s, 2, 3, want);
    sample_free(&s);

    const uint8_t rgb[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}; /* 2 x 2 RGB */
    s = make(2, 2, 3, rgb);
    aug_hflip(&s, g_err, sizeof g_err);
    const uint8_t want_rgb[12] = {4, 5, 6, 1, 2, 3, 10, 11, 12, 7, 8, 9};
    expect_image(&s, 2, 2, want_rgb);
    sample_free(&s);
}

Test(augment, rot90_non_square_every_k)
{
    const uint8_t in[6] = {1, 2, 3, 4, 5, 6}; /* [[1,2,3],[4,5,6]] */
    /* torch.rot90(x, k, (0, 1)): counter-clockwise. */
    const uint8_t k1[6] = {3, 6, 2, 5, 1, 4}; /* [[3,6],[2,5],[1,4]] */
    const uint8_t k2[6] = {6, 5, 4, 3, 2, 1};
    const uint8_t k3[6] = {4, 1, 5, 2, 6, 3}; /* [[4,1],[5,2],[6,3]] */
    const uint8_t *want[4] = {in, k1, k2, k3};
    for (int k = 0; k < 4; k++) {
        sample s = make(2, 3, 1, in);
        cr_assert_eq(aug_rot90(&s, k, g_err, sizeof g_err), 0, "%s", g_err);
        expect_image(&s, k % 2 ? 3 : 2, k % 2 ? 2 : 3, want[k]);
        sample_free(&s);
    }
    /* RGB keeps its channel order; four quarter turns are the identity. */
    uint8_t rgb[2 * 3 * 3];
    for (int i = 0; i < 18; i++)
        rgb[i] = (uint8_t)(10 + i);
    sample s = make(2, 3, 3, rgb);
    aug_rot90(&s, 1, g_err, sizeof g_err);
    cr_assert(s.image[0] == 16 && s.image[1] == 17 && s.image[2] == 18); /* old pixel (0, 2) */
    for (int i = 0; i < 3; i++)
        aug_rot90(&s, 1, g_err, sizeof g_err);
    expect_image(&s, 2, 3, rgb);
    aug_rot90(&s, -1, g_err, sizeof g_err); /* -1 == 3 */
    aug_rot90(&s, 1, g_err, sizeof g_err);
    expect_image(&s, 2, 3, rgb);
    sample_free(&s);
}

Test(augment, crop_offsets)
{
    uint8_t in[4 * 5];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 5; j++)
            in[i * 5 + j] = (uint8_t)(i * 10 + j);
    sample s = make(4, 5, 1, in);
    cr_assert_eq(aug_crop(&s, 1, 2, 2, 3, g_err, sizeof g_err), 0, "%s", g_err);
    const uint8_t want[6] = {12, 13, 14, 22, 23, 24};
    expect_image(&s, 2, 3, want);
    cr_assert_eq(aug_crop(&s, 1, 0, 2, 3, g_err, sizeof g_err), -1);
    cr_assert(strstr(g_err, "2x3 at (row 1, col 0)") && strstr(g_err, "2x3 image"), "%s", g_err);
    sample_free(&s);
}

/* evaluation's centre crop: the middle window (offsets round down), no random draw, whatever
 * the generator's state */
Test(augment, centre_crop_takes_the_middle_window)
{
    uint8_t in[5 * 6];
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 6; j++)
            in[i * 6 + j] = (uint8_t)(i * 10 + j);
    aug_config c;
    memset(&c, 0, sizeof c);
    c.crop_h = c.crop_w = 3;
    c.crop_center = 1;
    for (uint64_t seed = 0; seed < 4; seed++) {
        sample s = make(5, 6, 1, in);
        prng r;
        prng_seed(&r, seed);
        prng before = r;
        cr_assert_eq(aug_apply(&c, &s, &r, g_err, sizeof g_err), 0, "%s", g_err);
        const uint8_t want[9] = {11, 12, 13, 21, 22, 23, 31, 32, 33}; /* rows 1-3, cols 1-3 */
        expect_image(&s, 3, 3, want);
        cr_expect_eq(memcmp(&r, &before, sizeof r), 0, "the centre crop draws nothing");
        sample_free(&s);
    }
}

Test(augment, resize_bilinear_image_nearest_mask)
{
    const uint8_t in[2] = {0, 100};
    sample s = make(1, 2, 1, in);
    s.mask = malloc(2);
    s.mask[0] = 0, s.mask[1] = 1;
    cr_assert_eq(aug_resize(&s, 1, 4, g_err, sizeof g_err), 0, "%s", g_err);
    /* torch.nn.functional.interpolate([0, 100], 4, 'bilinear', align_corners=False) */
    const uint8_t want[4] = {0, 25, 75, 100};
    expect_image(&s, 1, 4, want);
    const uint8_t want_mask[4] = {0, 0, 1, 1};
    cr_assert_eq(memcmp(s.mask, want_mask, 4), 0);
    sample_free(&s);

    const uint8_t in4[4] = {0, 10, 20, 30};
    s = make(1, 4, 1, in4);
    aug_resize(&s, 1, 2, g_err, sizeof g_err);
    const uint8_t want2[2] = {5, 25};
    expect_image(&s, 1, 2, want2);
    sample_free(&s);
}

/* ---------------------------------------------------------------- annotations move with pixels */

/* A 6 x 9 RGB sample, black except pixel (r, c) = 255 everywhere; the mask, an instance mask and
 * the depth mark the same pixel; a point sits at its centre; a polygon is its outline. */
static sample marked(int r, int c)
{
    const int H = 6, W = 9;
    sample s = make(H, W, 3, NULL);
    memset(s.image + ((size_t)r * W + c) * 3, 255, 3);
    s.mask = calloc(H * W, 1);
    s.mask[r * W + c] = 1;
    s.depth = calloc(H * W, sizeof(float));
    s.depth[r * W + c] = 5.0f;
    s.n_points = 1;
    s.points = malloc(2 * sizeof(float));
    s.points[0] = c + 0.5f, s.points[1] = r + 0.5f;
    s.n_instances = 1;
    s.instances = calloc(1, sizeof(instance));
    s.instances[0].class_id = 3;
    s.instances[0].mask = calloc(H * W, 1);
    s.instances[0].mask[r * W + c] = 1;
    s.instances[0].n_polygons = 1;
    s.instances[0].polygons = calloc(1, sizeof(polygon));
    s.instances[0].polygons[0].n = 4;
    float *xy = s.instances[0].polygons[0].xy = malloc(8 * sizeof(float));
    const float sq[8] = {c, r, c + 1, r, c + 1, r + 1, c, r + 1};
    memcpy(xy, sq, sizeof sq);
    return s;
}

/* The one bright pixel of s (every other pixel is 0). */
static void bright_pixel(const sample *s, int *r, int *c)
{
    int found = 0;
    for (int i = 0; i < s->h; i++) {
        for (int j = 0; j < s->w; j++) {
            if (s->image[((size_t)i * s->w + j) * 3] == 255) {
                *r = i, *c = j;
                found++;
            } else {
                cr_assert_eq(s->image[((size_t)i * s->w + j) * 3], 0);
            }
        }
    }
    cr_assert_eq(found, 1, "%d bright pixels", found);
}

/* Every annotation marks exactly pixel (r, c) of s. */
static void expect_together(const sample *s, int r, int c, const char *what)
{
    for (int i = 0; i < s->h; i++) {
        for (int j = 0; j < s->w; j++) {
            int here = i == r && j == c;
            size_t p = (size_t)i * s->w + j;
            cr_assert_eq(s->mask[p], here, "%s: mask at (%d,%d)", what, i, j);
            cr_assert_eq(s->instances[0].mask[p], here, "%s: instance mask at (%d,%d)", what, i, j);
            cr_assert_eq(s->depth[p], here ? 5.0f : 0.0f, "%s: depth at (%d,%d)", what, i, j);
        }
    }
    cr_assert_eq(s->points[0], c + 0.5f, "%s: point x %g, pixel col %d", what, s->points[0], c);
    cr_assert_eq(s->points[1], r + 0.5f, "%s: point y %g, pixel row %d", what, s->points[1], r);
    /* The polygon is the outline of the pixel: its vertices are exactly its 4 corners. */
    const float *xy = s->instances[0].polygons[0].xy;
    int corners = 0;
    for (int k = 0; k < 4; k++) {
        float x = xy[2 * k], y = xy[2 * k + 1];
        cr_assert((x == c || x == c + 1) && (y == r || y == r + 1),
                  "%s: vertex (%g, %g) is not a corner of pixel (%d, %d)", what, x, y, r, c);
        corners |= 1 << ((x == c + 1) * 2 + (y == r + 1));
    }
    cr_assert_eq(corners, 15, "%s: the polygon does not visit all 4 corners", what);
    cr_assert_eq(s->instances[0].class_id, 3);
}

Test(augment, geometric_ops_move_every_annotation_with_the_image)
{
    for (int op = 0; op < 6; op++) {
        sample s = marked(1, 2);
        int rc;
        const char *name;
        switch (op) {
        case 0: name = "hflip"; rc = aug_hflip(&s, g_err, sizeof g_err); break;
        case 1: name = "rot90 k=1"; rc = aug_rot90(&s, 1, g_err, sizeof g_err); break;
        case 2: name = "rot90 k=2"; rc = aug_rot90(&s, 2, g_err, sizeof g_err); break;
        case 3: name = "rot90 k=3"; rc = aug_rot90(&s, 3, g_err, sizeof g_err); break;
        case 4: name = "crop"; rc = aug_crop(&s, 1, 1, 4, 5, g_err, sizeof g_err); break;
        default: name = "hflip+rot90+crop";
            rc = aug_hflip(&s, g_err, sizeof g_err) || aug_rot90(&s, 1, g_err, sizeof g_err) ||
                 aug_crop(&s, 2, 0, 5, 4, g_err, sizeof g_err);
        }
        cr_assert_eq(rc, 0, "%s: %s", name, g_err);
        int r, c;
        bright_pixel(&s, &r, &c);
        expect_together(&s, r, c, name);
        sample_free(&s);
    }
    /* Where the pixel must land: hflip (1,2) -> (1,6); rot90 k=1 (1,2) -> (W-1-2, 1) = (6,1). */
    sample s = marked(1, 2);
    int r, c;
    aug_hflip(&s, g_err, sizeof g_err);
    bright_pixel(&s, &r, &c);
    cr_assert(r == 1 && c == 6);
    sample_free(&s);
    s = marked(1, 2);
    aug_rot90(&s, 1, g_err, sizeof g_err);
    cr_assert(s.h == 9 && s.w == 6);
    bright_pixel(&s, &r, &c);
    cr_assert(r == 6 && c == 1, "(%d, %d)", r, c);
    sample_free(&s);
}

Test(augment, resize_moves_annotations_with_the_image)
{
    sample s = marked(1, 2);
    cr_assert_eq(aug_resize(&s, 12, 18, g_err, sizeof g_err), 0, "%s", g_err);
    /* The pixel becomes the 2x2 block rows 2-3, cols 4-5: the mask (nearest), the depth, and the
     * brightest pixels of the bilinear image are that block; the point is its centre. */
    int maxv = 0;
    for (size_t p = 0; p < 12 * 18; p++)
        maxv = s.image[p * 3] > maxv ? s.image[p * 3] : maxv;
    for (int i = 0; i < 12; i++) {
        for (int j = 0; j < 18; j++) {
            int in = i >= 2 && i <= 3 && j >= 4 && j <= 5;
            size_t p = (size_t)i * 18 + j;
            cr_assert_eq(s.mask[p], in, "mask at (%d,%d)", i, j);
            cr_assert_eq(s.instances[0].mask[p], in);
            cr_assert_eq(s.depth[p], in ? 5.0f : 0.0f);
            cr_assert_eq(s.image[p * 3] == maxv, in, "image max at (%d,%d)", i, j);
        }
    }
    cr_assert_eq(maxv, 143); /* 255 * 0.75 * 0.75, rounded */
    cr_assert(s.points[0] == 5.0f && s.points[1] == 3.0f);
    const float want[8] = {4, 2, 6, 2, 6, 4, 4, 4};
    cr_assert_eq(memcmp(s.instances[0].polygons[0].xy, want, sizeof want), 0);
    sample_free(&s);
}

Test(augment, random_pipeline_keeps_annotations_together)
{
    aug_config c;
    memset(&c, 0, sizeof c);
    c.rot90_prob = 0.75f;
    c.hflip_prob = 0.5f;
    c.crop_h = 5, c.crop_w = 5;
    int seen_shapes = 0;
    for (uint64_t seed = 0; seed < 64; seed++) {
        sample s = marked(2, 4);
        prng r;
        prng_seed(&r, seed);
        cr_assert_eq(aug_apply(&c, &s, &r, g_err, sizeof g_err), 0, "%s", g_err);
        cr_assert(s.h == 5 && s.w == 5);
        float x = s.points[0], y = s.points[1];
        int inside = x > 0 && y > 0 && x < s.w && y < s.h;
        int any_mask = 0;
        for (int p = 0; p < 25; p++)
            any_mask |= s.mask[p];
        cr_assert_eq(inside, any_mask, "seed %llu: point inside %d, mask present %d",
                     (unsigned long long)seed, inside, any_mask);
        if (inside) {
            int rr, cc;
            bright_pixel(&s, &rr, &cc);
            expect_together(&s, rr, cc, "pipeline");
            seen_shapes++;
        }
        sample_free(&s);
    }
    cr_assert_gt(seen_shapes, 8, "the marked pixel should survive many crops");
}

/* ---------------------------------------------------------------- blur */

static double mean_of(const sample *s)
{
    double m = 0;
    size_t n = (size_t)s->h * s->w * s->c;
    for (size_t i = 0; i < n; i++)
        m += s->image[i];
    return m / (double)n;
}

Test(augment, blur_preserves_mean_and_symmetry)
{
    const int N = 21;
    sample s = make(N, N, 1, NULL);
    for (int i = 8; i < 13; i++)
        for (int j = 8; j < 13; j++)
            s.image[i * N + j] = 200;
    s.image[10 * N + 10] = 255;
    double before = mean_of(&s);
    cr_assert_eq(aug_blur(&s, 1.5f, g_err, sizeof g_err), 0, "%s", g_err);
    double after = mean_of(&s);
    cr_assert_lt(fabs(after - before), 0.1, "mean %g -> %g", before, after);
    cr_assert_lt(s.image[10 * N + 10], 255);   /* the peak is spread */
    cr_assert_gt(s.image[10 * N + 6], 0);      /* onto the neighbours */
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            uint8_t v = s.image[i * N + j];
            cr_assert_eq(v, s.image[i * N + (N - 1 - j)], "not left-right symmetric at %d,%d", i, j);
            cr_assert_eq(v, s.image[(N - 1 - i) * N + j], "not up-down symmetric at %d,%d", i, j);
        }
    }
    sample_free(&s);

    /* A constant image stays constant, borders included (mirrored edges). */
    s = make(7, 5, 3, NULL);
    memset(s.image, 77, 7 * 5 * 3);
    aug_blur(&s, 2.0f, g_err, sizeof g_err);
    for (int i = 0; i < 7 * 5 * 3; i++)
        cr_assert_eq(s.image[i], 77);
    /* A huge sigma on a tiny image does not read out of bounds. */
    aug_blur(&s, 40.0f, g_err, sizeof g_err);
    cr_assert_eq(s.image[0], 77);
    sample_free(&s);
}

/* ---------------------------------------------------------------- jitter */

Test(augment, jitter_exact_factors)
{
    const uint8_t in[6] = {100, 50, 200, 10, 20, 30}; /* 1 x 2 RGB */
    sample s = make(1, 2, 3, in);
    aug_jitter(&s, 1.2f, 1.0f, 1.0f, g_err, sizeof g_err);
    const uint8_t bright[6] = {120, 60, 240, 12, 24, 36};
    expect_image(&s, 1, 2, bright);
    sample_free(&s);

    s = make(1, 2, 3, in);
    aug_jitter(&s, 1.0f, 1.0f, 0.0f, g_err, sizeof g_err); /* saturation 0: grey */
    int g0 = (int)lroundf(0.299f * 100 + 0.587f * 50 + 0.114f * 200);
    int g1 = (int)lroundf(0.299f * 10 + 0.587f * 20 + 0.114f * 30);
    const uint8_t grey[6] = {g0, g0, g0, g1, g1, g1};
    expect_image(&s, 1, 2, grey);
    sample_free(&s);

    s = make(1, 2, 3, in);
    aug_jitter(&s, 1.0f, 0.0f, 1.0f, g_err, sizeof g_err); /* contrast 0: the mean grey */
    int m = (int)lroundf((0.299f * 100 + 0.587f * 50 + 0.114f * 200 +
                          0.299f * 10 + 0.587f * 20 + 0.114f * 30) / 2);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(s.image[i], m);
    sample_free(&s);

    s = make(1, 2, 3, in);
    aug_jitter(&s, 1.0f, 1.0f, 1.0f, g_err, sizeof g_err);
    expect_image(&s, 1, 2, in);
    sample_free(&s);
}

Test(augment, jitter_stays_within_its_bounds)
{
    aug_config c;
    memset(&c, 0, sizeof c);
    c.jitter_prob = 1;
    c.brightness = 0.2f;
    int lo = 255, hi = 0;
    for (uint64_t seed = 0; seed < 200; seed++) {
        const uint8_t in[3] = {100, 100, 100};
        sample s = make(1, 1, 3, in);
        prng r;
        prng_seed(&r, seed);
        cr_assert_eq(aug_apply(&c, &s, &r, g_err, sizeof g_err), 0);
        lo = s.image[0] < lo ? s.image[0] : lo;
        hi = s.image[0] > hi ? s.image[0] : hi;
        sample_free(&s);
    }
    cr_assert(lo >= 80 && hi <= 120, "brightness 0.2 gave [%d, %d]", lo, hi);
    cr_assert(lo <= 84 && hi >= 116, "brightness 0.2 should span most of [80, 120]: [%d, %d]", lo, hi);

    /* Contrast 0.5 around a 2-pixel grey image of mean 100: values stay within [75, 125]. */
    memset(&c, 0, sizeof c);
    c.jitter_prob = 1;
    c.contrast = 0.5f;
    for (uint64_t seed = 0; seed < 100; seed++) {
        const uint8_t in[2] = {50, 150};
        sample s = make(1, 2, 1, in);
        prng r;
        prng_seed(&r, seed);
        aug_apply(&c, &s, &r, g_err, sizeof g_err);
        cr_assert(s.image[0] >= 25 && s.image[0] <= 75, "%d", s.image[0]);
        cr_assert_eq(s.image[0] + s.image[1], 200, "the mean is kept");
        sample_free(&s);
    }
}

/* ---------------------------------------------------------------- pipeline */

Test(augment, pipeline_is_deterministic_and_resizes)
{
    aug_config c;
    memset(&c, 0, sizeof c);
    c.rot90_prob = 0.5f;
    c.hflip_prob = 0.5f;
    c.crop_scale_min = 0.5f, c.crop_scale_max = 1.0f;
    c.resize_h = 16, c.resize_w = 16;
    c.blur_prob = 0.5f, c.blur_sigma_min = 0.5f, c.blur_sigma_max = 1.5f;
    c.jitter_prob = 0.8f, c.brightness = 0.3f, c.contrast = 0.3f, c.saturation = 0.3f;
    cr_assert_eq(aug_config_check(&c, g_err, sizeof g_err), 0, "%s", g_err);
    cr_assert(aug_config_active(&c));
    uint8_t px[20 * 12 * 3];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 37 % 251);
    sample a = make(20, 12, 3, px), b = make(20, 12, 3, px), o = make(20, 12, 3, px);
    prng ra, rb, ro;
    prng_seed(&ra, 5), prng_seed(&rb, 5), prng_seed(&ro, 6);
    cr_assert_eq(aug_apply(&c, &a, &ra, g_err, sizeof g_err), 0, "%s", g_err);
    aug_apply(&c, &b, &rb, g_err, sizeof g_err);
    aug_apply(&c, &o, &ro, g_err, sizeof g_err);
    cr_assert(a.h == 16 && a.w == 16 && o.h == 16 && o.w == 16);
    cr_assert_eq(memcmp(a.image, b.image, 16 * 16 * 3), 0);
    cr_assert_neq(memcmp(a.image, o.image, 16 * 16 * 3), 0);
    sample_free(&a), sample_free(&b), sample_free(&o);

    /* Scale crop alone: the window keeps the aspect ratio within the scale range. */
    c = (aug_config){0};
    c.crop_scale_min = 0.25f, c.crop_scale_max = 0.25f;
    sample s = make(20, 12, 3, px);
    prng r;
    prng_seed(&r, 1);
    aug_apply(&c, &s, &r, g_err, sizeof g_err);
    cr_assert(s.h == 10 && s.w == 6, "%dx%d", s.h, s.w);
    sample_free(&s);

    /* Resize first, then a fixed crop: the final size is the crop (Resize + RandomCrop). */
    c = (aug_config){0};
    c.resize_h = 32, c.resize_w = 32, c.resize_first = 1;
    c.crop_h = 28, c.crop_w = 28;
    s = make(20, 12, 3, px);
    cr_assert_eq(aug_apply(&c, &s, &r, g_err, sizeof g_err), 0, "%s", g_err);
    cr_assert(s.h == 28 && s.w == 28, "%dx%d", s.h, s.w);
    sample_free(&s);
    c.resize_first = 0; /* crop first: 28x28 does not fit in 20x12 */
    s = make(20, 12, 3, px);
    cr_assert_eq(aug_apply(&c, &s, &r, g_err, sizeof g_err), -1);
    sample_free(&s);

    memset(&c, 0, sizeof c);
    cr_assert_not(aug_config_active(&c));
    s = make(20, 12, 3, px);
    aug_apply(&c, &s, &r, g_err, sizeof g_err);
    expect_image(&s, 20, 12, px);
    sample_free(&s);
}

Test(augment, config_errors_name_the_field)
{
    aug_config c;
    memset(&c, 0, sizeof c);
    c.hflip_prob = 1.5f;
    cr_assert_eq(aug_config_check(&c, g_err, sizeof g_err), -1);
    cr_assert(strstr(g_err, "hflip"), "%s", g_err);
    memset(&c, 0, sizeof c);
    c.crop_scale_min = 0.9f, c.crop_scale_max = 0.5f;
    cr_assert_eq(aug_config_check(&c, g_err, sizeof g_err), -1);
    cr_assert(strstr(g_err, "crop scale"), "%s", g_err);
    memset(&c, 0, sizeof c);
    c.resize_h = 5;
    cr_assert_eq(aug_config_check(&c, g_err, sizeof g_err), -1);
    cr_assert(strstr(g_err, "resize"), "%s", g_err);
    memset(&c, 0, sizeof c);
    c.blur_prob = 0.5f;
    cr_assert_eq(aug_config_check(&c, g_err, sizeof g_err), -1);
    cr_assert(strstr(g_err, "sigma"), "%s", g_err);

    /* A fixed crop larger than the image fails with both sizes. */
    memset(&c, 0, sizeof c);
    c.crop_h = 30, c.crop_w = 30;
    sample s = make(20, 12, 1, NULL);
    prng r;
    prng_seed(&r, 0);
    cr_assert_eq(aug_apply(&c, &s, &r, g_err, sizeof g_err), -1);
    cr_assert(strstr(g_err, "30x30") && strstr(g_err, "20x12"), "%s", g_err);
    sample_free(&s);
}
