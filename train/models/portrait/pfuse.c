/*
 * pfuse.c - see pfuse.h.
 */
#include "models/portrait/pfuse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "pipeline/augment.h"

void pfuse_conf_from_sigma(const float *sigma, size_t n, double tau, float *i2)
{
    for (size_t i = 0; i < n; i++)
        i2[i] = (float)(1.0 - exp(-tau / (sigma[i] > 1e-30f ? sigma[i] : 1e-30f)));
}

void pfuse_conf_from_sensor(const float *d, size_t n, double c, float *i2)
{
    float mx = 0;
    for (size_t i = 0; i < n; i++)
        mx = d[i] > mx ? d[i] : mx;
    for (size_t i = 0; i < n; i++) {
        double v = c - (mx > 0 ? d[i] / mx : 0);
        i2[i] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
    }
}

void pfuse_fuse(const float *s_in, const float *i1, const float *d, const float *i2, size_t n,
                int normalize, float *s_out)
{
    float mx = 0;
    for (size_t i = 0; i < n; i++) {
        s_out[i] = i2[i] * (1 - d[i]) * i1[i] * s_in[i];
        mx = s_out[i] > mx ? s_out[i] : mx;
    }
    if (normalize && mx > 0)
        for (size_t i = 0; i < n; i++)
            s_out[i] /= mx;
}

/* One pass along a line of n values (stride st) with the half kernel k[0..r]. */
static void pass(const float *src, float *dst, int lines, int n, size_t st, size_t lst,
                 const float *k, int r)
{
    for (int l = 0; l < lines; l++) {
        const float *s = src + (size_t)l * lst;
        float *o = dst + (size_t)l * lst;
        for (int i = 0; i < n; i++) {
            double acc = k[0] * s[(size_t)i * st];
            for (int j = 1; j <= r; j++) {
                int a = i - j < 0 ? 0 : i - j, b = i + j >= n ? n - 1 : i + j;
                acc += k[j] * (s[(size_t)a * st] + s[(size_t)b * st]);
            }
            o[(size_t)i * st] = (float)acc;
        }
    }
}

int pfuse_blur(float *map, int h, int w, double sigma)
{
    if (!(sigma > 0))
        return 0;
    int r = (int)ceil(3 * sigma);
    float *k = malloc((size_t)(r + 1) * sizeof *k), *tmp = malloc((size_t)h * w * sizeof *tmp);
    if (!k || !tmp) {
        free(k), free(tmp);
        return -1;
    }
    double sum = 0;
    for (int j = 0; j <= r; j++)
        sum += (j ? 2 : 1) * (k[j] = (float)exp(-(double)j * j / (2 * sigma * sigma)));
    for (int j = 0; j <= r; j++)
        k[j] = (float)(k[j] / sum);
    pass(map, tmp, h, w, 1, (size_t)w, k, r);  /* rows */
    pass(tmp, map, w, h, (size_t)w, 1, k, r);  /* columns */
    free(k), free(tmp);
    return 0;
}

int pfuse_sensor_depth(const float *raw, int rh, int rw, int h, int w, double blur, float *out,
                       char *err, size_t errlen)
{
    const size_t rn = (size_t)rh * rw;
    float *val = malloc(rn * sizeof *val), *wt = malloc(rn * sizeof *wt);
    if (!val || !wt) {
        free(val), free(wt);
        return err_fail(err, errlen, "sensor depth: out of memory");
    }
    float mx = 0;
    size_t readings = 0;
    for (size_t i = 0; i < rn; i++) {
        int ok = raw[i] > 0 && isfinite(raw[i]);
        val[i] = ok ? raw[i] : 0;
        wt[i] = (float)ok;
        readings += (size_t)ok;
        mx = ok && raw[i] > mx ? raw[i] : mx;
    }
    if (!readings) {
        free(val), free(wt);
        return err_fail(err, errlen, "sensor depth: the map has no reading (every value is 0)");
    }
    if (readings < rn) { /* normalised convolution fills the holes */
        float *fv = malloc(rn * sizeof *fv), *fw = malloc(rn * sizeof *fw);
        if (!fv || !fw) {
            free(fv), free(fw), free(val), free(wt);
            return err_fail(err, errlen, "sensor depth: out of memory");
        }
        memcpy(fv, val, rn * sizeof *fv), memcpy(fw, wt, rn * sizeof *fw);
        double s = 0.05 * (rh > rw ? rh : rw);
        pfuse_blur(fv, rh, rw, s < 1 ? 1 : s);
        pfuse_blur(fw, rh, rw, s < 1 ? 1 : s);
        for (size_t i = 0; i < rn; i++)
            if (!wt[i])
                val[i] = fw[i] > 1e-4f ? fv[i] / fw[i] : mx;
        free(fv), free(fw);
    }
    float *rs = aug_resize_plane(val, rh, rw, 1, AUG_PLANE_SCORES, h, w);
    free(val), free(wt);
    if (!rs || pfuse_blur(rs, h, w, blur)) {
        free(rs);
        return err_fail(err, errlen, "sensor depth: out of memory");
    }
    const size_t n = (size_t)h * w;
    mx = 0;
    for (size_t i = 0; i < n; i++)
        mx = rs[i] > mx ? rs[i] : mx;
    for (size_t i = 0; i < n; i++)
        out[i] = mx > 0 ? rs[i] / mx : 0;
    free(rs);
    return 0;
}

int pfuse_is_landscape(int h, int w)
{
    return w > h;
}

float *pfuse_unrotate(const float *map, int h, int w)
{
    /* the map is of the rotated image (h x w); aug_rot90 k = 1 took source (r, c) of the
     * original H0 x W0 (= w x h) to (W0 - 1 - c, r); invert that */
    const int H0 = w, W0 = h;
    float *o = malloc((size_t)H0 * W0 * sizeof *o);
    if (!o)
        return NULL;
    for (int r = 0; r < H0; r++)
        for (int c = 0; c < W0; c++)
            o[(size_t)r * W0 + c] = map[(size_t)(W0 - 1 - c) * w + r];
    return o;
}
