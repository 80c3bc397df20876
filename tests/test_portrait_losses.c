/* test_portrait_losses.c - the portrait model's losses: losses/laplace_nll.c (parity of loss
 * and gradients with its formula in PyTorch, no NaN at extreme inputs, negative values allowed,
 * invalid pixels without gradient) and losses/modnet_binary.c (parity of the three terms and
 * of the gradients with PyTorch, the transition band, perfect predictions).
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "laplace_nll.h"
#include "modnet_binary.h"

static char *g_dir;
static void setup(void)
{
    tst_setup();
    g_dir = tst_tmpdir();
}
static void teardown(void) { tst_rmtree(g_dir); }
TestSuite(portrait_losses, .init = setup, .fini = teardown, .timeout = 120);

static void put(const char *name, const float *v, size_t n)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s.f32", g_dir, name);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(v, 4, n, f), n);
    fclose(f);
}
static void get(const char *name, float *v, size_t n)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s.f32", g_dir, name);
    FILE *f = fopen(p, "rb");
    cr_assert_not_null(f, "%s", p);
    cr_assert_eq(fread(v, 4, n, f), n);
    fclose(f);
}
static double grad_diff(pt_tensor *t, const float *ref, size_t n, double *big)
{
    float *g = malloc(n * sizeof *g);
    cr_assert_eq(pt_copy_to(pt_contiguous(pt_grad(t)), g, n * sizeof *g), PT_OK, "%s", pt_error());
    double worst = 0;
    *big = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert(isfinite(g[i]));
        worst = fmax(worst, fabs(g[i] - ref[i]));
        *big = fmax(*big, fabs(ref[i]));
    }
    free(g);
    return worst;
}

Test(portrait_losses, laplace_nll_parity_with_pytorch)
{
    enum { B = 2, H = 5, W = 7, N = B * H * W };
    float d[N], t[N], u[N], v[N];
    srand(3);
    for (int i = 0; i < N; i++) {
        d[i] = (float)rand() / RAND_MAX;
        t[i] = (float)rand() / RAND_MAX;
        u[i] = 8.0f * ((float)rand() / RAND_MAX - 0.5f) * (i % 5 == 0 ? 6 : 1); /* some past U */
        v[i] = i % 7 != 0;
    }
    put("d", d, N), put("t", t, N), put("u", u, N), put("v", v, N);
    char args[4400];
    snprintf(args, sizeof args, "laplace '%s' %d %d %d 10", g_dir, B, H, W);
    cr_assert_eq(tst_python("portrait_losses_ref.py", args), 0);
    char p[4200];
    snprintf(p, sizeof p, "%s/loss.txt", g_dir);
    FILE *f = fopen(p, "r");
    double ref;
    cr_assert_eq(fscanf(f, "%lf", &ref), 1);
    fclose(f);
    float gd[N], gu[N];
    get("gd", gd, N), get("gu", gu, N);
    int64_t shape[4] = {B, 1, H, W};
    size_t mark = pt_scope_begin();
    pt_tensor *dt = tst_f32(d, shape, 4), *ut = tst_f32(u, shape, 4);
    pt_set_requires_grad(dt, 1), pt_set_requires_grad(ut, 1);
    pt_tensor *loss = loss_laplace_nll(dt, tst_f32(t, shape, 4), ut, tst_f32(v, shape, 4), 10);
    cr_assert_not_null(loss, "%s", pt_error());
    double val = pt_item_or_nan(loss);
    cr_expect(fabs(val - ref) <= 1e-5 * fabs(ref) + 1e-6, "loss %.9g vs %.9g", val, ref);
    cr_assert_eq(pt_backward(loss, NULL, 0), PT_OK);
    double big, w1 = grad_diff(dt, gd, N, &big);
    cr_expect_leq(w1, 1e-4 * big + 1e-7, "d grad |diff| %g", w1);
    double w2 = grad_diff(ut, gu, N, &big);
    cr_expect_leq(w2, 1e-4 * big + 1e-7, "u grad |diff| %g", w2);
    cr_log_info("laplace nll: %.9g vs %.9g; grad diffs %g %g", val, ref, w1, w2);
    pt_scope_end(mark);
}

Test(portrait_losses, laplace_nll_safe_at_extremes)
{
    enum { N = 6 };
    /* huge and tiny log sigma, infinities in the raw head, depth far off the target */
    float d[N] = {0, 1, 0.5f, 1, 0, 0.3f}, t[N] = {1, 0, 0.5f, 0, 1, 0.3f};
    float u[N] = {1e30f, -1e30f, -1e4f, 1e4f, INFINITY, -INFINITY};
    int64_t shape[1] = {N};
    size_t mark = pt_scope_begin();
    pt_tensor *dt = tst_f32(d, shape, 1), *ut = tst_f32(u, shape, 1);
    pt_set_requires_grad(dt, 1), pt_set_requires_grad(ut, 1);
    pt_tensor *loss = loss_laplace_nll(dt, tst_f32(t, shape, 1), ut, NULL, 10);
    double v = pt_item_or_nan(loss);
    cr_assert(isfinite(v), "loss %g", v);
    cr_assert_eq(pt_backward(loss, NULL, 0), PT_OK);
    float gd[N], gu[N];
    pt_copy_to(pt_contiguous(pt_grad(dt)), gd, sizeof gd);
    pt_copy_to(pt_contiguous(pt_grad(ut)), gu, sizeof gu);
    for (int i = 0; i < N; i++)
        cr_assert(isfinite(gd[i]) && isfinite(gu[i]), "pixel %d: grads %g %g", i, gd[i], gu[i]);
    /* a perfect depth with a small sigma gives a negative loss: fine */
    float z[2] = {0.2f, 0.4f}, lu[2] = {-3, -3};
    int64_t s2[1] = {2};
    pt_tensor *l2 = loss_laplace_nll(tst_f32(z, s2, 1), tst_f32(z, s2, 1), tst_f32(lu, s2, 1),
                                     NULL, 10);
    double want = 10 * tanh(-0.3);
    cr_assert_float_eq(pt_item_or_nan(l2), want, 1e-5);
    cr_assert_null(loss_laplace_nll(dt, tst_f32(z, s2, 1), ut, NULL, 10), "shapes differ");
    cr_assert(strstr(pt_error(), "one shape"), "%s", pt_error());
    pt_error_clear();
    pt_scope_end(mark);
}

Test(portrait_losses, modnet_parity_with_pytorch_and_band)
{
    enum { B = 2, H = 16, W = 12, h = 4, w = 3, R = 2 };
    static float sem[B * h * w], det[B * H * W], fus[B * H * W], m[B * H * W],
        img[B * 3 * H * W];
    float wb[B] = {1, 1};
    srand(5);
    for (int i = 0; i < B * h * w; i++)
        sem[i] = 4.0f * ((float)rand() / RAND_MAX - 0.5f);
    for (int b = 0; b < B; b++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int i = (b * H + y) * W + x;
                m[i] = (x - 6) * (x - 6) + (y - 8 + b) * (y - 8 + b) < 20;
                det[i] = 4.0f * ((float)rand() / RAND_MAX - 0.5f);
                fus[i] = 4.0f * ((float)rand() / RAND_MAX - 0.5f);
            }
    for (int i = 0; i < B * 3 * H * W; i++)
        img[i] = 2.0f * ((float)rand() / RAND_MAX - 0.5f);
    wb[1] = 0; /* the second image is dropped */
    put("sem", sem, B * h * w), put("det", det, B * H * W), put("fus", fus, B * H * W);
    put("mask", m, B * H * W), put("img", img, B * 3 * H * W), put("wb", wb, B);
    char args[4400];
    snprintf(args, sizeof args, "modnet '%s' %d %d %d %d %d %d", g_dir, B, H, W, h, w, R);
    cr_assert_eq(tst_python("portrait_losses_ref.py", args), 0);
    char p[4200];
    snprintf(p, sizeof p, "%s/loss.txt", g_dir);
    FILE *f = fopen(p, "r");
    double rs, rd, rf;
    cr_assert_eq(fscanf(f, "%lf %lf %lf", &rs, &rd, &rf), 3);
    fclose(f);
    size_t mark = pt_scope_begin();
    int64_t s_sem[4] = {B, 1, h, w}, s1[4] = {B, 1, H, W}, s3[4] = {B, 3, H, W}, sb[1] = {B};
    pt_tensor *ts = tst_f32(sem, s_sem, 4), *td = tst_f32(det, s1, 4), *tf = tst_f32(fus, s1, 4);
    pt_set_requires_grad(ts, 1), pt_set_requires_grad(td, 1), pt_set_requires_grad(tf, 1);
    modnet_losses L;
    cr_assert_eq(loss_modnet_binary(ts, td, tf, tst_f32(m, s1, 4), tst_f32(img, s3, 4),
                                    tst_f32(wb, sb, 1), R, &L), PT_OK, "%s", pt_error());
    double vs = pt_item_or_nan(L.semantic), vd = pt_item_or_nan(L.detail),
           vf = pt_item_or_nan(L.fusion);
    cr_expect(fabs(vs - rs) < 1e-5 * fabs(rs) + 1e-7, "semantic %.9g vs %.9g", vs, rs);
    cr_expect(fabs(vd - rd) < 1e-5 * fabs(rd) + 1e-7, "detail %.9g vs %.9g", vd, rd);
    cr_expect(fabs(vf - rf) < 1e-5 * fabs(rf) + 1e-7, "fusion %.9g vs %.9g", vf, rf);
    pt_tensor *tot = pt_add(pt_add(pt_mul_s(L.semantic, 10), pt_mul_s(L.detail, 10)), L.fusion);
    cr_assert_eq(pt_backward(tot, NULL, 0), PT_OK);
    static float gs[B * h * w], gd[B * H * W], gf[B * H * W];
    get("gsem", gs, B * h * w), get("gdet", gd, B * H * W), get("gfus", gf, B * H * W);
    double big, w1 = grad_diff(ts, gs, B * h * w, &big);
    cr_expect_leq(w1, 1e-4 * big + 1e-8, "sem grad %g", w1);
    double w2 = grad_diff(td, gd, B * H * W, &big);
    cr_expect_leq(w2, 1e-4 * big + 1e-8, "det grad %g", w2);
    double w3 = grad_diff(tf, gf, B * H * W, &big);
    cr_expect_leq(w3, 1e-4 * big + 1e-8, "fus grad %g", w3);
    cr_log_info("modnet: %.6g/%.6g/%.6g vs %.6g/%.6g/%.6g; grads %g %g %g", vs, vd, vf, rs, rd,
                rf, w1, w2, w3);
    /* the band of a 1-pixel-wide vertical edge, radius 1: 2 columns either side -> 2 px wide */
    float e[5 * 6];
    for (int i = 0; i < 30; i++)
        e[i] = i % 6 >= 3;
    int64_t se[4] = {1, 1, 5, 6};
    float bd[30];
    pt_copy_to(pt_contiguous(modnet_band(tst_f32(e, se, 4), 1)), bd, sizeof bd);
    for (int i = 0; i < 30; i++)
        cr_assert_eq(bd[i], (i % 6 == 2 || i % 6 == 3) ? 1.0f : 0.0f, "band at %d", i);
    pt_scope_end(mark);
}
