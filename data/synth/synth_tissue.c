/* synth_tissue.c - synthetic stained tissue with area ratios; see synth_tissue.h. */
#include "synth/synth_tissue.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/rng.h"
#include "store/store.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static uint8_t clamp_u8(double v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lround(v));
}

int synth_tissue_sample(uint64_t seed, int64_t index, int size, sample *s, char *err,
                        size_t errlen)
{
    if (size < 16 || size > 4096)
        return err_fail(err, errlen, "synth tissue: size %d outside [16, 4096]", size);
    const size_t hw = (size_t)size * size;
    float *f = malloc(hw * sizeof *f), *sorted = malloc(hw * sizeof *sorted);
    s->image = malloc(hw * 3);
    s->mask = malloc(hw);
    if (!f || !sorted || !s->image || !s->mask) {
        free(f), free(sorted);
        return err_fail(err, errlen, "synth tissue: out of memory");
    }
    prng r;
    prng_seed_keys(&r, (const uint64_t[]){seed, 0x7155u, (uint64_t)index}, 3);
    double grid[9][9];
    for (int i = 0; i < 9; i++)
        for (int j = 0; j < 9; j++)
            grid[i][j] = prng_range(&r, -0.35, 0.35);
    const int nb = 3 + (int)prng_below(&r, 6);
    double by[8], bx[8], bs[8], bw[8];
    for (int k = 0; k < nb; k++) {
        by[k] = prng_uniform(&r) * size, bx[k] = prng_uniform(&r) * size;
        bs[k] = prng_range(&r, 0.06, 0.25) * size;
        bw[k] = prng_chance(&r, 0.75) ? prng_range(&r, 0.6, 1.2) : -prng_range(&r, 0.3, 0.8);
    }
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            double v = 0;
            for (int k = 0; k < nb; k++) {
                double dy = y - by[k], dx = x - bx[k];
                v += bw[k] * exp(-(dy * dy + dx * dx) / (2 * bs[k] * bs[k]));
            }
            double gy = (double)y / size * 8, gx = (double)x / size * 8;
            int iy = (int)gy, ix = (int)gx;
            double ty = gy - iy, tx = gx - ix;
            v += (1 - ty) * ((1 - tx) * grid[iy][ix] + tx * grid[iy][ix + 1]) +
                 ty * ((1 - tx) * grid[iy + 1][ix] + tx * grid[iy + 1][ix + 1]);
            f[(size_t)y * size + x] = (float)v;
        }
    memcpy(sorted, f, hw * sizeof *f);
    qsort(sorted, hw, sizeof *sorted, cmp_float);
    const double cover = prng_range(&r, 0.05, 0.60);
    size_t q = (size_t)((1 - cover) * (double)hw);
    q = q >= hw ? hw - 1 : q;
    const float thr = sorted[q], top = sorted[hw - 1];
    const double ang = prng_uniform(&r) * M_PI, freq = prng_range(&r, 0.15, 0.4);
    const double ca = cos(ang), sa = sin(ang);
    const double bg[3] = {prng_range(&r, 215, 240), prng_range(&r, 170, 200), prng_range(&r, 190, 215)};
    const double st[3] = {prng_range(&r, 120, 160), prng_range(&r, 70, 100), prng_range(&r, 35, 65)};
    int64_t fg = 0;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            const size_t p = (size_t)y * size + x;
            const int m = f[p] > thr;
            s->mask[p] = (uint8_t)m;
            fg += m;
            const double fibre = 8 * sin((x * ca + y * sa) * freq);
            double t = m ? 0.35 + 0.65 * (f[p] - thr) / (top - thr + 1e-6) : 0;
            for (int c = 0; c < 3; c++) {
                double base = m ? bg[c] + (st[c] - bg[c]) * (0.55 + 0.45 * t) : bg[c];
                s->image[p * 3 + c] = clamp_u8(base + fibre + prng_range(&r, -12, 12));
            }
        }
    /* nuclei: dark purple dots of radius 1-3 over everything */
    const int nn = (int)(hw / 300);
    for (int k = 0; k < nn; k++) {
        int cy = (int)prng_below(&r, (uint64_t)size), cx = (int)prng_below(&r, (uint64_t)size);
        int rad = 1 + (int)prng_below(&r, 3);
        for (int y = cy - rad; y <= cy + rad; y++)
            for (int x = cx - rad; x <= cx + rad; x++)
                if (y >= 0 && y < size && x >= 0 && x < size &&
                    (y - cy) * (y - cy) + (x - cx) * (x - cx) <= rad * rad) {
                    uint8_t *px = s->image + ((size_t)y * size + x) * 3;
                    px[0] = (uint8_t)(px[0] / 2 + 20), px[1] = (uint8_t)(px[1] / 3 + 10);
                    px[2] = (uint8_t)(px[2] / 2 + 40);
                }
    }
    free(f), free(sorted);
    s->h = s->w = size, s->c = 3;
    s->index = index;
    s->group = index;
    s->area_ratio = (float)((double)fg / (double)hw);
    s->area_error = 0;
    return 0;
}

int synth_tissue_write(const char *path, int64_t n, int size, uint64_t seed, double noise_sd,
                       double error, char *err, size_t errlen)
{
    if (n < 1 || !(noise_sd >= 0) || !(error >= 0 && error <= 1))
        return err_fail(err, errlen, "synth tissue: bad n %lld / noise %g / error %g",
                        (long long)n, noise_sd, error);
    store_options so = {.images = STORE_RAW, .channels = 3, .height = size, .width = size,
                        .annotations = STORE_MASK | STORE_AREA, .masks = STORE_RAW,
                        .source = "pictor data synth tissue"};
    store_writer *w = store_create(path, &so, err, errlen);
    if (!w)
        return -1;
    prng r;
    prng_seed_keys(&r, (const uint64_t[]){seed, 0x0015eu}, 2);
    for (int64_t i = 0; i < n; i++) {
        sample s;
        sample_init(&s);
        if (synth_tissue_sample(seed, i, size, &s, err, errlen)) {
            sample_free(&s);
            store_abort(w);
            return -1;
        }
        /* Box-Muller */
        double u1 = prng_uniform(&r), u2 = prng_uniform(&r);
        double z = sqrt(-2 * log(u1 > 1e-300 ? u1 : 1e-300)) * cos(2 * M_PI * u2);
        double ratio = s.area_ratio + noise_sd * z;
        s.area_ratio = (float)(ratio < 0 ? 0 : ratio > 1 ? 1 : ratio);
        s.area_error = (float)error;
        int rc = store_append(w, &s, err, errlen);
        sample_free(&s);
        if (rc) {
            store_abort(w);
            return -1;
        }
    }
    return store_commit(w, err, errlen);
}
