/*
 * test_polar_losses.c - losses/focal and losses/polar_iou (PolarMask, seed 004).
 *
 * Focal loss: values and gradients against torchvision.ops.sigmoid_focal_loss
 * (tests/reference/focal_parity.py) in float32 and float64 for several alpha / gamma /
 * reductions with logits up to +-30, the dense [N, C] + class-id form, the hand value at logit 0,
 * finite results at saturated logits, and refused inputs.
 * Polar IoU loss: hand values (weighted and plain), gradients against the analytic derivative
 * and central finite differences in float64, and the documented guards (negative predictions,
 * N = 0, zero weights, refused inputs).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "focal.h"
#include "helpers.h"
#include "polar_iou.h"

TestSuite(polar_losses, .init = tst_setup);

/* ---------------------------------------------------------------- focal: parity */

typedef struct {
    const char *name;
    double alpha, gamma;
    pt_reduction reduction;
} focal_case;

static const focal_case FOCAL_CASES[] = {
    {"a25_g2_none", 0.25, 2.0, PT_REDUCE_NONE},
    {"a25_g2_sum", 0.25, 2.0, PT_REDUCE_SUM},
    {"a25_g2_mean", 0.25, 2.0, PT_REDUCE_MEAN},
    {"noalpha_g2_none", -1.0, 2.0, PT_REDUCE_NONE},
    {"a50_g0_none", 0.5, 0.0, PT_REDUCE_NONE},
    {"a75_g05_none", 0.75, 0.5, PT_REDUCE_NONE},
    {"a25_g1_none", 0.25, 1.0, PT_REDUCE_NONE},
    {"a10_g35_sum", 0.1, 3.5, PT_REDUCE_SUM},
};
#define N_FOCAL_CASES ((int)(sizeof FOCAL_CASES / sizeof FOCAL_CASES[0]))

#define FOCAL_N 64
#define DENSE_N 12
#define DENSE_C 5

static const char *reduction_name(pt_reduction r)
{
    return r == PT_REDUCE_NONE ? "none" : r == PT_REDUCE_SUM ? "sum" : "mean";
}

/* Logits and targets: every hard extreme with both targets, random ones, a few soft targets. */
static void focal_inputs(double *x, double *t, double *g, double *dx, int64_t *ids)
{
    static const double fixed[16] = {-30, 30, -20, 20, -10, 10, -5, 5,
                                     -1, 1, -0.1, 0.1, 0, 2.5, -2.5, 15};
    int n = 0;
    for (int i = 0; i < 16; i++)
        for (int target = 0; target < 2; target++, n++) {
            x[n] = fixed[i];
            t[n] = target;
        }
    unsigned s = 12345;
    for (; n < FOCAL_N; n++) {
        s = s * 1103515245u + 12345u;
        x[n] = ((double)(s >> 8) / (double)(1u << 24) - 0.5) * 12.0;
        t[n] = n < FOCAL_N - 8 ? (double)((s >> 4) & 1) : (double)((n % 4) + 1) / 5.0;
    }
    for (int i = 0; i < FOCAL_N; i++)
        g[i] = 0.5 + (double)((i * 7) % 11) / 10.0;
    for (int i = 0; i < DENSE_N * DENSE_C; i++) {
        s = s * 1103515245u + 12345u;
        dx[i] = ((double)(s >> 8) / (double)(1u << 24) - 0.5) * 8.0;
    }
    dx[0] = 30, dx[1] = -30, dx[DENSE_C + 2] = 30, dx[2 * DENSE_C] = -30;
    static const int64_t id_values[DENSE_N] = {0, -1, 2, 4, -1, 1, 3, -1, -1, 0, 4, 2};
    memcpy(ids, id_values, sizeof id_values);
}

static void put(pt_dict *d, const char *name, pt_tensor *t)
{
    cr_assert_not_null(t, "%s: %s", name, pt_error());
    cr_assert_eq(pt_dict_put(d, name, t), PT_OK, "%s", pt_error());
}

/* Largest |got - want| / max(|want|, floor); entries where torchvision gives NaN are skipped
 * (and counted in *skipped) but ours must be finite everywhere. */
static double rel_err(const pt_tensor *got, const pt_tensor *want, double floor,
                      int *skipped, const char *what)
{
    int64_t n = pt_numel(want);
    cr_assert_eq(pt_numel(got), n, "%s: %lld values, torchvision %lld", what,
                 (long long)pt_numel(got), (long long)n);
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double a = tst_at(got, i), b = tst_at(want, i);
        cr_assert(isfinite(a), "%s[%lld] = %g is not finite", what, (long long)i, a);
        if (isnan(b)) {
            (*skipped)++;
            continue;
        }
        double e = fabs(a - b) / fmax(fabs(b), floor);
        if (e > worst)
            worst = e;
    }
    return worst;
}

Test(polar_losses, focal_matches_torchvision_values_and_gradients)
{
    long live = pt_live_tensors();
    static double x[FOCAL_N], t[FOCAL_N], g[FOCAL_N], dx[DENSE_N * DENSE_C];
    int64_t ids[DENSE_N];
    focal_inputs(x, t, g, dx, ids);
    char *dir = tst_tmpdir();
    cr_assert_not_null(dir);
    char in[4200], out[4200], args[8500], cases[1024] = "";
    snprintf(in, sizeof in, "%s/focal_in.safetensors", dir);
    snprintf(out, sizeof out, "%s/focal_out.safetensors", dir);
    for (int c = 0; c < N_FOCAL_CASES; c++)
        snprintf(cases + strlen(cases), sizeof cases - strlen(cases), "%s%s:%g:%g:%s",
                 c ? ";" : "", FOCAL_CASES[c].name, FOCAL_CASES[c].alpha, FOCAL_CASES[c].gamma,
                 reduction_name(FOCAL_CASES[c].reduction));

    size_t mark = pt_scope_begin();
    int64_t n1[1] = {FOCAL_N}, nd[2] = {DENSE_N, DENSE_C}, ni[1] = {DENSE_N};
    pt_dict *d = pt_dict_new();
    const pt_dtype dtypes[2] = {PT_F32, PT_F64};
    const char *tags[2] = {"f32", "f64"};
    for (int k = 0; k < 2; k++) {
        char name[64];
        snprintf(name, sizeof name, "x_%s", tags[k]);
        put(d, name, pt_to_dtype(tst_f64(x, n1, 1), dtypes[k]));
        snprintf(name, sizeof name, "t_%s", tags[k]);
        put(d, name, pt_to_dtype(tst_f64(t, n1, 1), dtypes[k]));
        snprintf(name, sizeof name, "g_%s", tags[k]);
        put(d, name, pt_to_dtype(tst_f64(g, n1, 1), dtypes[k]));
        snprintf(name, sizeof name, "dx_%s", tags[k]);
        put(d, name, pt_to_dtype(tst_f64(dx, nd, 2), dtypes[k]));
    }
    put(d, "ids", tst_i64(ids, ni, 1));
    cr_assert_eq(pt_dict_set_meta(d, "cases", cases), PT_OK);
    cr_assert_eq(pt_safetensors_save(d, in), PT_OK, "%s", pt_error());
    snprintf(args, sizeof args, "'%s' '%s'", in, out);
    cr_assert_eq(tst_python("focal_parity.py", args), 0, "tests/reference/focal_parity.py failed");
    pt_dict *want = pt_safetensors_load(out);
    cr_assert_not_null(want, "%s", pt_error());

    /* float32: 1e-5 relative (values below 1e-3 compared absolutely at 1e-8); float64: 1e-9 */
    const double tol[2] = {1e-5, 1e-9};
    int nan_in_torchvision = 0;
    for (int k = 0; k < 2; k++) {
        char name[64];
        snprintf(name, sizeof name, "x_%s", tags[k]);
        pt_tensor *xk = pt_clone(pt_dict_get(d, name));
        snprintf(name, sizeof name, "t_%s", tags[k]);
        pt_tensor *tk = pt_dict_get(d, name);
        snprintf(name, sizeof name, "g_%s", tags[k]);
        pt_tensor *gk = pt_dict_get(d, name);
        cr_assert_eq(pt_set_requires_grad(xk, 1), PT_OK);
        double worst_v = 0.0, worst_d = 0.0;
        for (int c = 0; c < N_FOCAL_CASES; c++) {
            const focal_case *fc = &FOCAL_CASES[c];
            pt_zero_grad(xk);
            pt_tensor *loss = loss_sigmoid_focal(xk, tk, fc->alpha, fc->gamma, fc->reduction);
            cr_assert_not_null(loss, "%s: %s", fc->name, pt_error());
            cr_assert_eq(pt_backward(loss, fc->reduction == PT_REDUCE_NONE ? gk : NULL, 0),
                         PT_OK, "%s: %s", fc->name, pt_error());
            char vname[96], dname[96];
            snprintf(vname, sizeof vname, "v_%s_%s", fc->name, tags[k]);
            snprintf(dname, sizeof dname, "d_%s_%s", fc->name, tags[k]);
            pt_tensor *wv = pt_dict_get(want, vname), *wd = pt_dict_get(want, dname);
            cr_assert(wv && wd, "no %s / %s from focal_parity.py", vname, dname);
            double ev = rel_err(loss, wv, 1e-3, &nan_in_torchvision, vname);
            double ed = rel_err(pt_grad(xk), wd, 1e-3, &nan_in_torchvision, dname);
            cr_expect_leq(ev, tol[k], "%s: loss relative error %g", vname, ev);
            cr_expect_leq(ed, tol[k], "%s: gradient relative error %g", dname, ed);
            worst_v = fmax(worst_v, ev);
            worst_d = fmax(worst_d, ed);
        }
        /* dense form, with int32 class ids */
        snprintf(name, sizeof name, "dx_%s", tags[k]);
        pt_tensor *dxk = pt_clone(pt_dict_get(d, name));
        cr_assert_eq(pt_set_requires_grad(dxk, 1), PT_OK);
        pt_tensor *ids32 = pt_to_dtype(pt_dict_get(d, "ids"), PT_I32);
        pt_tensor *dense = loss_sigmoid_focal_dense(dxk, ids32, 0.25, 2.0);
        cr_assert_not_null(dense, "%s", pt_error());
        cr_assert_eq(pt_ndim(dense), 0, "the dense loss is a scalar sum");
        cr_assert_eq(pt_backward(dense, NULL, 0), PT_OK, "%s", pt_error());
        snprintf(name, sizeof name, "v_dense_%s", tags[k]);
        double ev = rel_err(dense, pt_dict_get(want, name), 1e-3, &nan_in_torchvision, name);
        snprintf(name, sizeof name, "d_dense_%s", tags[k]);
        double ed = rel_err(pt_grad(dxk), pt_dict_get(want, name), 1e-3, &nan_in_torchvision,
                            name);
        cr_expect_leq(ev, tol[k], "dense %s: loss relative error %g", tags[k], ev);
        cr_expect_leq(ed, tol[k], "dense %s: gradient relative error %g", tags[k], ed);
        cr_log_info("focal parity %s: max relative error values %.3g, gradients %.3g, dense "
                    "%.3g / %.3g", tags[k], worst_v, worst_d, ev, ed);
    }
    /* gamma 0.5 at saturated logits: torchvision's gradient is NaN there, ours is finite */
    cr_expect_gt(nan_in_torchvision, 0, "the parity data should reach torchvision's NaN case");
    cr_log_info("focal parity: %d gradient entries where torchvision gives NaN and pictor a "
                "finite value", nan_in_torchvision);
    pt_dict_free(want);
    pt_dict_free(d);
    pt_scope_end(mark);
    unlink(in);
    unlink(out);
    tst_rmtree(dir);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- focal: by hand, guards */

Test(polar_losses, focal_hand_value_saturation_and_refusals)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    int64_t s1[1] = {1};
    /* x = 0, t = 1: p_t = 0.5, FL = 0.25 * 0.5^2 * ln 2 */
    float zero = 0.0f, one = 1.0f;
    pt_tensor *l0 = loss_sigmoid_focal(tst_f32(&zero, s1, 1), tst_f32(&one, s1, 1), 0.25, 2.0,
                                       PT_REDUCE_SUM);
    cr_expect_float_eq(pt_item_or_nan(l0), 0.25 * 0.25 * log(2.0), 1e-7);

    /* saturated logits: confidently wrong costs alpha_t |x|, confidently right ~0; every value
     * and gradient finite for gamma 0, 0.5 and 2 */
    float xs[6] = {200, -200, 1e4f, -1e4f, 200, -200}, ts[6] = {0, 1, 0, 1, 1, 0};
    int64_t s6[1] = {6};
    const double gammas[3] = {0.0, 0.5, 2.0};
    for (int k = 0; k < 3; k++) {
        pt_tensor *x = tst_f32(xs, s6, 1);
        pt_set_requires_grad(x, 1);
        pt_tensor *l = loss_sigmoid_focal(x, tst_f32(ts, s6, 1), 0.25, gammas[k],
                                          PT_REDUCE_NONE);
        cr_assert_not_null(l, "%s", pt_error());
        cr_assert_eq(pt_backward(pt_sum(l), NULL, 0), PT_OK, "%s", pt_error());
        pt_tensor *gx = pt_grad(x);
        for (int i = 0; i < 6; i++) {
            cr_expect(isfinite(tst_at(l, i)) && isfinite(tst_at(gx, i)),
                      "gamma %g, x %g, t %g: loss %g, gradient %g", gammas[k], (double)xs[i],
                      (double)ts[i], tst_at(l, i), tst_at(gx, i));
        }
        cr_expect_float_eq(tst_at(l, 0), 0.75 * 200.0, 1e-3, "gamma %g", gammas[k]);
        cr_expect_float_eq(tst_at(l, 3), 0.25 * 1e4, 1e-2, "gamma %g", gammas[k]);
        cr_expect_float_eq(tst_at(gx, 0), 0.75, 1e-6, "d/dx of 0.75 * x for a wrong positive");
        cr_expect_leq(fabs(tst_at(l, 4)), 1e-30, "right and confident costs nothing");
    }

    /* refused inputs name the problem */
    float two[2] = {0, 1};
    int64_t s2[1] = {2}, s21[2] = {2, 1};
    pt_tensor *x2 = tst_f32(two, s2, 1);
    cr_expect_null(loss_sigmoid_focal(x2, tst_f32(two, s21, 2), 0.25, 2, PT_REDUCE_SUM));
    cr_expect(strstr(pt_error(), "shape") != NULL, "%s", pt_error());
    cr_expect_null(loss_sigmoid_focal(x2, x2, 0.25, -1.0, PT_REDUCE_SUM));
    cr_expect(strstr(pt_error(), "gamma") != NULL, "%s", pt_error());
    cr_expect_null(loss_sigmoid_focal(x2, x2, 1.5, 2.0, PT_REDUCE_SUM));
    cr_expect(strstr(pt_error(), "alpha") != NULL, "%s", pt_error());
    cr_expect_null(loss_sigmoid_focal(x2, x2, NAN, 2.0, PT_REDUCE_SUM));
    cr_expect_null(loss_sigmoid_focal(x2, pt_to_dtype(x2, PT_I64), 0.25, 2.0, PT_REDUCE_SUM));
    cr_expect(strstr(pt_error(), "floating") != NULL, "%s", pt_error());

    /* dense: ids out of range, wrong length, wrong dtype; N = 0 keeps a graph */
    int64_t sd[2] = {2, 3};
    pt_tensor *dxl = pt_zeros(sd, 2, PT_F32);
    int64_t bad_ids[2] = {0, 3}, low_ids[2] = {-2, 0}, ok_ids[3] = {0, 1, 2};
    int64_t s3[1] = {3};
    cr_expect_null(loss_sigmoid_focal_dense(dxl, tst_i64(bad_ids, s2, 1), 0.25, 2.0));
    cr_expect(strstr(pt_error(), "-1 (background) .. 2") != NULL, "%s", pt_error());
    cr_expect_null(loss_sigmoid_focal_dense(dxl, tst_i64(low_ids, s2, 1), 0.25, 2.0));
    cr_expect_null(loss_sigmoid_focal_dense(dxl, tst_i64(ok_ids, s3, 1), 0.25, 2.0));
    cr_expect(strstr(pt_error(), "one id per row") != NULL, "%s", pt_error());
    cr_expect_null(loss_sigmoid_focal_dense(dxl, tst_f32(two, s2, 1), 0.25, 2.0));
    int64_t s0[2] = {0, 3}, s00[1] = {0};
    pt_tensor *empty = pt_zeros(s0, 2, PT_F32);
    pt_set_requires_grad(empty, 1);
    pt_tensor *l_empty = loss_sigmoid_focal_dense(empty, pt_zeros(s00, 1, PT_I32), 0.25, 2.0);
    cr_assert_not_null(l_empty, "%s", pt_error());
    cr_expect_eq(pt_item_or_nan(l_empty), 0.0);
    cr_expect_eq(pt_backward(l_empty, NULL, 0), PT_OK, "%s", pt_error());
    cr_expect_eq(pt_numel(pt_grad(empty)), 0);
    pt_tensor *l_mean = loss_sigmoid_focal(empty, pt_zeros(s0, 2, PT_F32), 0.25, 2.0,
                                           PT_REDUCE_MEAN);
    cr_expect_eq(pt_item_or_nan(l_mean), 0.0, "the mean of nothing is 0, not NaN");
    cr_expect_eq(pt_backward(l_mean, NULL, 0), PT_OK, "%s", pt_error());
    /* all background: every entry is a negative, sum = C N * 0.75 * 0.5^2 * ln 2 at logit 0 */
    int64_t bg[2] = {-1, -1};
    pt_tensor *l_bg = loss_sigmoid_focal_dense(dxl, tst_i64(bg, s2, 1), 0.25, 2.0);
    cr_expect_float_eq(pt_item_or_nan(l_bg), 6 * 0.75 * 0.25 * log(2.0), 1e-6);
    pt_scope_end(mark);
    pt_error_clear();
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- polar IoU */

static void polar_iou_hand_values(void)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    /* row 0: max = [2,2,3,4] -> 11, min = [1,2,2,2] -> 7, l0 = log(11/7); row 1: equal, l1 = 0 */
    double p[8] = {1, 2, 3, 4, 5, 5, 5, 5}, t[8] = {2, 2, 2, 2, 5, 5, 5, 5}, w[2] = {0.5, 1.0};
    int64_t s[2] = {2, 4}, sw[1] = {2};
    pt_tensor *pred = tst_f64(p, s, 2), *target = tst_f64(t, s, 2);
    pt_tensor *plain = loss_polar_iou(pred, target, NULL, POLAR_IOU_EPS);
    pt_tensor *weighted = loss_polar_iou(pred, target, tst_f64(w, sw, 1), POLAR_IOU_EPS);
    cr_assert(plain && weighted, "%s", pt_error());
    cr_expect_float_eq(pt_item_or_nan(plain), log(11.0 / 7.0) / 2.0, 1e-15);
    cr_expect_float_eq(pt_item_or_nan(weighted), 0.5 * log(11.0 / 7.0) / 1.5, 1e-15);
    /* float32 gives the same to float precision */
    pt_tensor *p32 = pt_to_dtype(pred, PT_F32), *t32 = pt_to_dtype(target, PT_F32);
    cr_expect_float_eq(pt_item_or_nan(loss_polar_iou(p32, t32, NULL, POLAR_IOU_EPS)),
                       log(11.0 / 7.0) / 2.0, 1e-7);
    /* over-prediction: p = 2t -> log(2) whatever the lengths */
    double big[4] = {4, 4, 4, 4};
    int64_t s1[2] = {1, 4};
    cr_expect_float_eq(pt_item_or_nan(loss_polar_iou(tst_f64(big, s1, 2), tst_f64(t, s1, 2),
                                                     NULL, POLAR_IOU_EPS)),
                       log(2.0), 1e-15);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* loss(p) in float64 for the finite differences */
static double polar_loss_at(const double *p, const double *t, const double *w, int n, int r)
{
    int64_t s[2] = {n, r}, sw[1] = {n};
    pt_tensor *pp = tst_f64(p, s, 2), *tt = tst_f64(t, s, 2), *ww = tst_f64(w, sw, 1);
    pt_tensor *l = loss_polar_iou(pp, tt, ww, POLAR_IOU_EPS);
    double v = pt_item_or_nan(l);
    pt_free(l), pt_free(ww), pt_free(tt), pt_free(pp);
    return v;
}

Test(polar_losses, polar_iou_gradients_match_analytic_and_finite_differences)
{
    long live = pt_live_tensors();
    enum { N = 5, R = 36 };
    static double p[N * R], t[N * R], w[N];
    unsigned s = 99;
    for (int i = 0; i < N * R; i++) {
        s = s * 1103515245u + 12345u;
        t[i] = 5.0 + (double)((s >> 8) % 1000) / 20.0;
        s = s * 1103515245u + 12345u;
        /* keep |p - t| > 0.05 so no central difference straddles a max/min kink */
        double off = 0.1 + (double)((s >> 8) % 1000) / 50.0;
        p[i] = (s >> 20) & 1 ? t[i] + off : fmax(0.5, t[i] - off);
        if (fabs(p[i] - t[i]) < 0.05)
            p[i] = t[i] + 0.1;
    }
    for (int i = 0; i < N; i++)
        w[i] = 0.2 + 0.15 * i;
    size_t mark = pt_scope_begin();
    int64_t sh[2] = {N, R}, sw[1] = {N};
    pt_tensor *pred = tst_f64(p, sh, 2);
    pt_set_requires_grad(pred, 1);
    pt_tensor *loss = loss_polar_iou(pred, tst_f64(t, sh, 2), tst_f64(w, sw, 1), POLAR_IOU_EPS);
    cr_assert_not_null(loss, "%s", pt_error());
    cr_assert_eq(pt_backward(loss, NULL, 0), PT_OK, "%s", pt_error());
    pt_tensor *grad = pt_grad(pred);
    double wsum = 0;
    for (int i = 0; i < N; i++)
        wsum += w[i];
    double worst_analytic = 0, worst_fd = 0;
    for (int i = 0; i < N; i++) {
        double smax = 0, smin = 0;
        for (int k = 0; k < R; k++) {
            smax += fmax(p[i * R + k], t[i * R + k]);
            smin += fmin(p[i * R + k], t[i * R + k]);
        }
        for (int k = 0; k < R; k++) {
            int j = i * R + k;
            /* d l_i / d p_ik = [p > t] / sum_max - [p < t] / sum_min, times w_i / sum w */
            double analytic = (p[j] > t[j] ? 1.0 / smax : -1.0 / smin) * w[i] / wsum;
            double got = tst_at(grad, j);
            worst_analytic = fmax(worst_analytic, fabs(got - analytic));
            if (k % 6 == 0) { /* finite differences on a sample of entries */
                const double h = 1e-6;
                double keep = p[j];
                p[j] = keep + h;
                double up = polar_loss_at(p, t, w, N, R);
                p[j] = keep - h;
                double down = polar_loss_at(p, t, w, N, R);
                p[j] = keep;
                worst_fd = fmax(worst_fd, fabs(got - (up - down) / (2 * h)));
            }
        }
    }
    cr_expect_leq(worst_analytic, 1e-15, "autograd vs analytic: %g", worst_analytic);
    cr_expect_leq(worst_fd, 1e-8, "autograd vs finite differences: %g", worst_fd);
    cr_log_info("polar IoU gradient: max |autograd - analytic| %.3g, |autograd - fd| %.3g",
                worst_analytic, worst_fd);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(polar_losses, polar_iou_hand_values_guards_and_refusals)
{
    polar_iou_hand_values();
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    int64_t s12[2] = {1, 2}, s1[1] = {1};
    /* a negative prediction: max = [2, 3] -> 5, min = [-1, 2] -> 1: log 5, and the gradient
     * pushes the negative ray up (-1 / sum_min) and the long one down (1 / sum_max) */
    double pn[2] = {-1, 3}, tn[2] = {2, 2};
    pt_tensor *pred = tst_f64(pn, s12, 2);
    pt_set_requires_grad(pred, 1);
    pt_tensor *l = loss_polar_iou(pred, tst_f64(tn, s12, 2), NULL, POLAR_IOU_EPS);
    cr_assert_not_null(l, "%s", pt_error());
    cr_expect_float_eq(pt_item_or_nan(l), log(5.0), 1e-15);
    cr_assert_eq(pt_backward(l, NULL, 0), PT_OK);
    cr_expect_float_eq(tst_at(pt_grad(pred), 0), -1.0, 1e-15);
    cr_expect_float_eq(tst_at(pt_grad(pred), 1), 0.2, 1e-15);
    /* a row whose min sum is <= 0: clamped at eps, finite: log((2 + 2) / eps) */
    double pz[2] = {-3, 0}, pzero[2] = {0, 0};
    pt_tensor *lz = loss_polar_iou(tst_f64(pz, s12, 2), tst_f64(tn, s12, 2), NULL, 1e-6);
    cr_expect_float_eq(pt_item_or_nan(lz), log(4.0 / 1e-6), 1e-9);
    pt_tensor *lzero = loss_polar_iou(tst_f64(pzero, s12, 2), tst_f64(tn, s12, 2), NULL, 1e-6);
    cr_expect(isfinite(pt_item_or_nan(lzero)));
    /* weights all zero: 0 (weight sum clamped), not NaN */
    double w0 = 0;
    pt_tensor *lw = loss_polar_iou(tst_f64(pn, s12, 2), tst_f64(tn, s12, 2), tst_f64(&w0, s1, 1),
                                   POLAR_IOU_EPS);
    cr_expect_eq(pt_item_or_nan(lw), 0.0);
    /* N = 0: a zero attached to pred's graph; backward gives pred an empty zero gradient, and
     * through a selection, zeros to the full prediction */
    int64_t full_shape[2] = {3, 4}, s0[2] = {0, 4}, s00[1] = {0};
    pt_tensor *full = pt_ones(full_shape, 2, PT_F32);
    pt_set_requires_grad(full, 1);
    pt_tensor *none_selected = pt_index_select(full, 0, pt_zeros(s00, 1, PT_I64));
    pt_tensor *l0 = loss_polar_iou(none_selected, pt_ones(s0, 2, PT_F32), pt_zeros(s00, 1,
                                   PT_F32), POLAR_IOU_EPS);
    cr_assert_not_null(l0, "%s", pt_error());
    cr_expect_eq(pt_item_or_nan(l0), 0.0);
    cr_assert_eq(pt_backward(l0, NULL, 0), PT_OK, "%s", pt_error());
    cr_expect_eq(tst_max_abs_diff(pt_grad(full), pt_zeros(full_shape, 2, PT_F32)), 0.0);

    /* refusals */
    double bad_t[2] = {2, 0}, nan_p[2] = {1, NAN}, neg_w = -1;
    int64_t s21[2] = {2, 1};
    cr_expect_null(loss_polar_iou(tst_f64(pn, s12, 2), tst_f64(bad_t, s12, 2), NULL, 1e-6));
    cr_expect(strstr(pt_error(), "target ray lengths") != NULL, "%s", pt_error());
    cr_expect_null(loss_polar_iou(tst_f64(nan_p, s12, 2), tst_f64(tn, s12, 2), NULL, 1e-6));
    cr_expect(strstr(pt_error(), "non-finite") != NULL, "%s", pt_error());
    cr_expect_null(loss_polar_iou(tst_f64(pn, s12, 2), tst_f64(tn, s21, 2), NULL, 1e-6));
    cr_expect(strstr(pt_error(), "same shape") != NULL, "%s", pt_error());
    cr_expect_null(loss_polar_iou(tst_f64(pn, s12, 2), tst_f64(tn, s12, 2),
                                  tst_f64(&neg_w, s1, 1), 1e-6));
    cr_expect(strstr(pt_error(), "weights") != NULL, "%s", pt_error());
    cr_expect_null(loss_polar_iou(tst_f64(pn, s12, 2), tst_f64(tn, s12, 2),
                                  tst_f64(tn, s12, 2), 1e-6));
    cr_expect_null(loss_polar_iou(tst_f64(pn, s12, 2), tst_f64(tn, s12, 2), NULL, 0.0));
    cr_expect(strstr(pt_error(), "eps") != NULL, "%s", pt_error());
    pt_scope_end(mark);
    pt_error_clear();
    cr_expect_eq(pt_live_tensors(), live);
}
