/* bench_slic.c - pictor's SLIC (data/geometry/slic.h) against scikit-image's `slic` on the same
 * image, and on a 64-channel feature map.
 *
 *   bench_slic [--image IMG --mask MASK] [--k 1000] [--iters 10] [--compactness 10] [--rounds 3]
 *
 * The photo (default: ../shared/data/human_seg/train/images/1.jpg and its mask, from the project
 * root) is resized to 512 x 512 (bilinear; the mask nearest), converted to CIELAB (sRGB, D65, as
 * skimage.color.rgb2lab), and segmented by both with k superpixels, the same compactness and
 * iterations, connectivity enforced, one thread, interleaved rounds (tests/reference/slic_ref.py
 * times scikit-image inside Python, excluding start-up). Prints the median ms per call of each,
 * slic_speed_vs_skimage = skimage / pictor, the superpixel counts and the boundary recall of both
 * (tolerance 2 px) against the mask's edges; then slic_feature_ms: ms per call on a 64-channel
 * 256 x 256 feature map (smooth random features, k 256, 10 iterations).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/image.h"
#include "geometry/slic.h"
#include "pipeline/augment.h"
#include "bench_util.h"

static uint8_t *load(const char *path, int ch, int *h, int *w)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n), *px = NULL;
    int c;
    char err[256];
    if (b && fread(b, 1, (size_t)n, f) == (size_t)n &&
        image_decode(b, (size_t)n, ch, &px, h, w, &c, err, sizeof err) != 0)
        px = NULL;
    fclose(f);
    free(b);
    return px;
}

static double lab_f(double t)
{
    return t > 0.008856 ? cbrt(t) : 7.787 * t + 16.0 / 116.0;
}

/* sRGB u8 -> CIELAB (D65), as skimage.color.rgb2lab */
static void rgb2lab(const uint8_t *rgb, size_t n, float *lab)
{
    for (size_t i = 0; i < n; i++) {
        double c[3];
        for (int k = 0; k < 3; k++) {
            double v = rgb[i * 3 + k] / 255.0;
            c[k] = v > 0.04045 ? pow((v + 0.055) / 1.055, 2.4) : v / 12.92;
        }
        double x = (0.412453 * c[0] + 0.357580 * c[1] + 0.180423 * c[2]) / 0.95047;
        double y = 0.212671 * c[0] + 0.715160 * c[1] + 0.072169 * c[2];
        double z = (0.019334 * c[0] + 0.119193 * c[1] + 0.950227 * c[2]) / 1.08883;
        double fx = lab_f(x), fy = lab_f(y), fz = lab_f(z);
        lab[i * 3] = (float)(y > 0.008856 ? 116 * cbrt(y) - 16 : 903.3 * y);
        lab[i * 3 + 1] = (float)(500 * (fx - fy));
        lab[i * 3 + 2] = (float)(200 * (fy - fz));
    }
}

int main(int argc, char **argv)
{
    const char *img = "../shared/data/human_seg/train/images/1.jpg";
    const char *msk = "../shared/data/human_seg/train/masks/1.png";
    int k = 1000, iters = 10, rounds = 3;
    double m = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--image")) img = argv[i + 1];
        else if (!strcmp(argv[i], "--mask")) msk = argv[i + 1];
        else if (!strcmp(argv[i], "--k")) k = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--iters")) iters = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--compactness")) m = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[i + 1]);
    }
    enum { S = 512 };
    sample s;
    sample_init(&s);
    int mh, mw;
    s.image = load(img, 3, &s.h, &s.w);
    s.mask = load(msk, 1, &mh, &mw);
    s.c = 3;
    char err[512];
    if (!s.image || !s.mask || mh != s.h || mw != s.w || aug_resize(&s, S, S, err, sizeof err)) {
        fprintf(stderr, "bench_slic: cannot use %s / %s (run from the project root)\n", img, msk);
        return 1;
    }
    float *lab = malloc(sizeof(float) * S * S * 3);
    int32_t *mine = malloc(sizeof(int32_t) * S * S), *sk = malloc(sizeof(int32_t) * S * S);
    uint8_t *gtb = malloc(S * S);
    rgb2lab(s.image, (size_t)S * S, lab);
    for (int i = 0; i < S * S; i++)
        mine[i] = s.mask[i] != 0;
    slic_boundary_map(mine, S, S, gtb);
    const char *in = "/tmp/bench_slic_lab.f32", *out = "/tmp/bench_slic_sk.i32";
    FILE *f = fopen(in, "wb");
    fwrite(lab, sizeof(float), (size_t)S * S * 3, f);
    fclose(f);
    slic_params p = slic_defaults();
    p.n_segments = k, p.compactness = m, p.iterations = iters;
    double *tc = malloc(sizeof(double) * rounds), *tp = malloc(sizeof(double) * rounds);
    int n = 0, n_sk = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = now_ms();
        n = slic_segment(lab, S, S, 3, SLIC_HWC, &p, mine, err, sizeof err);
        tc[r] = now_ms() - t0;
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/reference/slic_ref.py %s %d %d 3 %d %g "
                 "%d %s --rounds 1", in, S, S, k, m, iters, out);
        FILE *pp = popen(cmd, "r");
        char line[256];
        tp[r] = NAN;
        while (pp && fgets(line, sizeof line, pp))
            if (!strncmp(line, "py_call_ms=", 11))
                tp[r] = atof(line + 11);
            else if (!strncmp(line, "n_segments=", 11))
                n_sk = atoi(line + 11);
        if (pp)
            pclose(pp);
        printf("round %d: pictor %.1f ms, skimage %.1f ms\n", r + 1, tc[r], tp[r]);
    }
    f = fopen(out, "rb");
    if (!f || fread(sk, sizeof(int32_t), (size_t)S * S, f) != (size_t)S * S || n < 1) {
        fprintf(stderr, "bench_slic: no scikit-image result (%s)\n", n < 1 ? err : out);
        return 1;
    }
    fclose(f);
    qsort(tc, (size_t)rounds, sizeof *tc, cmp_double);
    qsort(tp, (size_t)rounds, sizeof *tp, cmp_double);
    double mc = tc[rounds / 2], mp = tp[rounds / 2];
    printf("slic_ms=%.1f skimage_ms=%.1f (512x512 CIELAB, k %d, compactness %g, %d iterations, 1 "
           "thread)\n", mc, mp, k, m, iters);
    printf("superpixels: pictor %d, skimage %d\n", n, n_sk);
    printf("boundary_recall_2px: pictor %.4f, skimage %.4f\n",
           slic_boundary_recall(mine, gtb, S, S, 2), slic_boundary_recall(sk, gtb, S, S, 2));
    printf("slic_speed_vs_skimage=%.2f\n", mp / mc);
    /* a 64-channel feature map: smooth random features */
    enum { F = 64, H = 256 };
    float *feat = malloc(sizeof(float) * F * H * H);
    int32_t *lab2 = malloc(sizeof(int32_t) * H * H);
    for (int c = 0; c < F; c++) {
        double a = 0.02 + 0.05 * ((c * 37) % 11) / 11.0, b = 0.03 + 0.04 * ((c * 17) % 7) / 7.0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < H; x++)
                feat[((size_t)c * H + y) * H + x] = (float)(sin(a * x + c) * cos(b * y - c));
    }
    p = slic_defaults();
    p.n_segments = 256, p.compactness = 1, p.iterations = 10;
    double best[5];
    for (int r = 0; r < 5; r++) {
        double t0 = now_ms();
        slic_segment(feat, H, H, F, SLIC_CHW, &p, lab2, err, sizeof err);
        best[r] = now_ms() - t0;
    }
    qsort(best, 5, sizeof *best, cmp_double);
    printf("slic_feature_ms=%.1f (64 x 256 x 256 CHW, k 256, 10 iterations, median of 5)\n",
           best[2]);
    remove(in), remove(out);
    free(lab), free(mine), free(sk), free(gtb), free(tc), free(tp), free(feat), free(lab2);
    sample_free(&s);
    return 0;
}
