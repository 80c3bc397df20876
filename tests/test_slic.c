/* test_slic.c - data/geometry/slic.h: hand cases (constant image, 1x1, k above the pixel count,
 * k = 1, 0 iterations = the grid, CHW = HWC, determinism, every label one connected region,
 * connectivity post-processing by hand) and agreement with scikit-image's slic on a synthetic
 * image (boundary recall of the objects' outlines, number of superpixels). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geometry/slic.h"
#include "helpers.h"

/* Is every label of the h x w image one 4-connected region, and are labels exactly 0..n-1? */
static int labels_ok(const int32_t *l, int h, int w, int n)
{
    const size_t hw = (size_t)h * w;
    int32_t *seen = calloc((size_t)n, sizeof *seen);
    int32_t *comp = calloc((size_t)n, sizeof *comp);
    int32_t *q = malloc(hw * sizeof *q);
    uint8_t *vis = calloc(hw, 1);
    int ok = 1;
    for (size_t s = 0; s < hw && ok; s++) {
        if (l[s] < 0 || l[s] >= n) {
            ok = 0;
            break;
        }
        seen[l[s]] = 1;
        if (vis[s])
            continue;
        if (++comp[l[s]] > 1)
            ok = 0;
        size_t a = 0, b = 0;
        q[b++] = (int32_t)s, vis[s] = 1;
        while (a < b) {
            int p = q[a++], y = p / w, x = p % w;
            int nb[4] = {x > 0 ? p - 1 : -1, x < w - 1 ? p + 1 : -1, y > 0 ? p - w : -1,
                         y < h - 1 ? p + w : -1};
            for (int j = 0; j < 4; j++)
                if (nb[j] >= 0 && !vis[nb[j]] && l[nb[j]] == l[s])
                    vis[nb[j]] = 1, q[b++] = nb[j];
        }
    }
    for (int k = 0; k < n && ok; k++)
        ok = seen[k] == 1;
    free(seen), free(comp), free(q), free(vis);
    return ok;
}

Test(slic, constant_image_gives_the_grid)
{
    enum { H = 60, W = 60, C = 2 };
    float *x = malloc(sizeof(float) * H * W * C);
    for (int i = 0; i < H * W * C; i++)
        x[i] = 0.25f;
    int32_t l[H * W];
    slic_params p = slic_defaults();
    p.n_segments = 36;
    char err[256];
    int n = slic_segment(x, H, W, C, SLIC_HWC, &p, l, err, sizeof err);
    cr_assert_eq(n, 36, "%d (%s)", n, err);
    /* each superpixel is a 10 x 10 square of the 6 x 6 grid, numbered in raster order */
    for (int y = 0; y < H; y++)
        for (int xx = 0; xx < W; xx++)
            cr_assert_eq(l[y * W + xx], (y / 10) * 6 + xx / 10, "pixel %d,%d", y, xx);
    free(x);
}

Test(slic, one_pixel_k_above_pixels_and_k_one)
{
    float one = 3.f;
    int32_t l1 = 7;
    slic_params p = slic_defaults();
    char err[256];
    cr_assert_eq(slic_segment(&one, 1, 1, 1, SLIC_HWC, &p, &l1, err, sizeof err), 1);
    cr_assert_eq(l1, 0);

    enum { H = 5, W = 7 };
    float x[H * W];
    for (int i = 0; i < H * W; i++)
        x[i] = (float)((i * 37) % 11);
    int32_t l[H * W];
    p.n_segments = 1000; /* more than 35 pixels: one superpixel per pixel */
    cr_assert_eq(slic_segment(x, H, W, 1, SLIC_HWC, &p, l, err, sizeof err), H * W);
    for (int i = 0; i < H * W; i++)
        cr_assert_eq(l[i], i);
    p.n_segments = 1;
    cr_assert_eq(slic_segment(x, H, W, 1, SLIC_HWC, &p, l, err, sizeof err), 1);
    for (int i = 0; i < H * W; i++)
        cr_assert_eq(l[i], 0);
}

Test(slic, bad_arguments_are_refused)
{
    float x[4] = {0, 1, 2, NAN};
    int32_t l[4];
    slic_params p = slic_defaults();
    char err[256] = "";
    cr_assert_eq(slic_segment(x, 2, 2, 1, SLIC_HWC, &p, l, err, sizeof err), -1);
    cr_assert(strstr(err, "finite"), "%s", err);
    x[3] = 3;
    p.compactness = 0;
    cr_assert_eq(slic_segment(x, 2, 2, 1, SLIC_HWC, &p, l, err, sizeof err), -1);
    cr_assert(strstr(err, "compactness"), "%s", err);
    p = slic_defaults();
    p.n_segments = 0;
    cr_assert_eq(slic_segment(x, 2, 2, 1, SLIC_HWC, &p, l, err, sizeof err), -1);
    cr_assert_eq(slic_segment(x, 0, 2, 1, SLIC_HWC, &p, l, err, sizeof err), -1);
}

Test(slic, connectivity_by_hand)
{
    /* label 5 in two pieces, a 1-pixel island of 9 */
    int32_t l[4 * 4] = {5, 5, 1, 1,
                        2, 9, 1, 5,
                        2, 2, 1, 5,
                        2, 2, 1, 1};
    char err[64];
    int n = slic_enforce_connectivity(l, 4, 4, 0, err, sizeof err);
    cr_assert_eq(n, 5); /* 5a, 1, 2, 9, 5b: the two pieces of 5 become two labels */
    const int32_t want0[16] = {0, 0, 1, 1, 2, 3, 1, 4, 2, 2, 1, 4, 2, 2, 1, 1};
    cr_assert_arr_eq(l, want0, sizeof want0);
    int32_t m[16] = {5, 5, 1, 1, 2, 9, 1, 5, 2, 2, 1, 5, 2, 2, 1, 1};
    /* min size 2: the island 9 (1 px) joins its left neighbour's label (2) */
    n = slic_enforce_connectivity(m, 4, 4, 2, err, sizeof err);
    cr_assert_eq(n, 4);
    const int32_t want2[16] = {0, 0, 1, 1, 2, 2, 1, 3, 2, 2, 1, 3, 2, 2, 1, 1};
    cr_assert_arr_eq(m, want2, sizeof want2);
}

/* A synthetic "photo": three ellipses of distinct colours on a noisy background (CIELAB-like
 * ranges), and the mask of the ellipses. */
static void scene(float *img, uint8_t *mask, int h, int w)
{
    uint64_t s = 12345;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const double e[3][5] = {{30, 40, 18, 25, 0}, {70, 90, 22, 15, 1}, {50, 105, 12, 12, 2}};
            const float col[3][3] = {{60, 40, -20}, {30, -30, 40}, {80, 10, 10}};
            int k = -1;
            for (int j = 0; j < 3; j++) {
                double dy = (y - e[j][0]) / e[j][2], dx = (x - e[j][1]) / e[j][3];
                if (dy * dy + dx * dx <= 1)
                    k = j;
            }
            mask[y * w + x] = k >= 0;
            for (int c = 0; c < 3; c++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                float noise = (float)((s >> 40) % 1000) / 1000.f * 6.f - 3.f;
                img[(y * w + x) * 3 + c] = (k >= 0 ? col[k][c] : (c == 0 ? 45.f : 0.f)) + noise;
            }
        }
}

static uint8_t *gt_boundary(const uint8_t *mask, int h, int w)
{
    int32_t *l = malloc(sizeof *l * h * w);
    uint8_t *b = malloc((size_t)h * w);
    for (int i = 0; i < h * w; i++)
        l[i] = mask[i];
    slic_boundary_map(l, h, w, b);
    free(l);
    return b;
}

Test(slic, chw_equals_hwc_deterministic_and_connected)
{
    enum { H = 96, W = 128, C = 3 };
    float *img = malloc(sizeof(float) * H * W * C), *chw = malloc(sizeof(float) * H * W * C);
    uint8_t *mask = malloc(H * W);
    scene(img, mask, H, W);
    for (int c = 0; c < C; c++)
        for (int i = 0; i < H * W; i++)
            chw[c * H * W + i] = img[i * C + c];
    int32_t *a = malloc(sizeof(int32_t) * H * W), *b = malloc(sizeof(int32_t) * H * W);
    slic_params p = slic_defaults();
    p.n_segments = 120;
    char err[256];
    int na = slic_segment(img, H, W, C, SLIC_HWC, &p, a, err, sizeof err);
    int nb = slic_segment(chw, H, W, C, SLIC_CHW, &p, b, err, sizeof err);
    cr_assert_eq(na, nb);
    cr_assert_arr_eq(a, b, sizeof(int32_t) * H * W);
    cr_assert(na >= 80 && na <= 160, "%d superpixels for k = 120", na);
    cr_assert(labels_ok(a, H, W, na), "a label is split or labels are not 0..n-1");
    nb = slic_segment(img, H, W, C, SLIC_HWC, &p, b, err, sizeof err);
    cr_assert_arr_eq(a, b, sizeof(int32_t) * H * W, "not deterministic");
    /* 0 iterations: the grid (S = sqrt(96 * 128 / 120) = 10.1: 9 rows x 13 columns) */
    p.iterations = 0;
    cr_assert_eq(slic_segment(img, H, W, C, SLIC_HWC, &p, b, err, sizeof err), 9 * 13);
    free(img), free(chw), free(mask), free(a), free(b);
}

Test(slic, agrees_with_scikit_image)
{
    enum { H = 96, W = 128, C = 3, K = 120 };
    float *img = malloc(sizeof(float) * H * W * C);
    uint8_t *mask = malloc(H * W);
    scene(img, mask, H, W);
    char *dir = tst_tmpdir();
    char in[512], out[512], args[1200];
    snprintf(in, sizeof in, "%s/img.f32", dir);
    snprintf(out, sizeof out, "%s/sk.i32", dir);
    FILE *f = fopen(in, "wb");
    cr_assert(f);
    fwrite(img, sizeof(float), H * W * C, f);
    fclose(f);
    snprintf(args, sizeof args, "%s %d %d %d %d 10 10 %s", in, H, W, C, K, out);
    cr_assert_eq(tst_python("slic_ref.py", args), 0);
    int32_t *sk = malloc(sizeof(int32_t) * H * W), *me = malloc(sizeof(int32_t) * H * W);
    f = fopen(out, "rb");
    cr_assert(f);
    cr_assert_eq(fread(sk, sizeof(int32_t), H * W, f), (size_t)(H * W));
    fclose(f);
    slic_params p = slic_defaults();
    p.n_segments = K;
    char err[256];
    int n = slic_segment(img, H, W, C, SLIC_HWC, &p, me, err, sizeof err);
    int n_sk = 0;
    for (int i = 0; i < H * W; i++)
        n_sk = sk[i] + 1 > n_sk ? sk[i] + 1 : n_sk;
    uint8_t *gb = gt_boundary(mask, H, W);
    double r_me = slic_boundary_recall(me, gb, H, W, 2), r_sk = slic_boundary_recall(sk, gb, H, W, 2);
    cr_log_info("slic vs skimage: %d / %d superpixels, boundary recall (2 px) %.4f / %.4f", n,
                n_sk, r_me, r_sk);
    /* measured: 117 / 130 superpixels, recall 1.000 / 0.759 (scikit-image's 4S window lets
     * superpixels straddle the low-contrast edge of the third ellipse) */
    cr_assert(r_sk > 0.5 && r_me > 0.9, "recall %.4f / skimage %.4f", r_me, r_sk);
    cr_assert(r_me >= r_sk - 0.05, "recall %.4f below skimage's %.4f", r_me, r_sk);
    cr_assert(abs(n - n_sk) <= n_sk / 3, "%d superpixels vs skimage %d", n, n_sk);
    free(img), free(mask), free(sk), free(me), free(gb);
    tst_rmtree(dir);
}
