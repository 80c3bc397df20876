/*
 * test_losses.c - losses/: the loss-difference update of seed 002 (the image-type head's
 * parameters receive only dL2; the backbone and task head receive d(L1 - lambda*L2)), the
 * lambda schedules, and the soft IoU loss against hand-computed values.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "loss_difference.h"
#include "normalized_focal.h"
#include "soft_iou.h"

TestSuite(losses, .init = tst_setup);

typedef struct {
    pt_tensor *x, *y, *t, *W, *A, *B;
} tiny_model;

static tiny_model tiny(void)
{
    pt_generator *g = pt_generator_new(7);
    int64_t xs[2] = {5, 3}, ws[2] = {4, 3}, as[2] = {2, 4}, bs[2] = {3, 4}, n[1] = {5};
    tiny_model m = {pt_randn(xs, 2, PT_F64, g), pt_randint(0, 2, n, 1, g), pt_randint(0, 3, n, 1, g),
                    pt_randn(ws, 2, PT_F64, g), pt_randn(as, 2, PT_F64, g), pt_randn(bs, 2, PT_F64, g)};
    pt_set_requires_grad(m.W, 1);
    pt_set_requires_grad(m.A, 1);
    pt_set_requires_grad(m.B, 1);
    pt_generator_free(g);
    return m;
}

/* L1 = CE(class head A(relu(W x)), y), L2 = CE(type head B(relu(W x)), t) */
static void losses_of(const tiny_model *m, pt_tensor **l1, pt_tensor **l2)
{
    pt_tensor *f = pt_relu(pt_linear(m->x, m->W, NULL));
    *l1 = pt_cross_entropy(pt_linear(f, m->A, NULL), m->y, NULL, -100, PT_REDUCE_MEAN, 0);
    *l2 = pt_cross_entropy(pt_linear(f, m->B, NULL), m->t, NULL, -100, PT_REDUCE_MEAN, 0);
}

static pt_tensor *grad_of(pt_tensor *loss, pt_tensor *p)
{
    pt_tensor *g = NULL;
    cr_assert_eq(pt_autograd_grad(&loss, 1, &p, 1, &g, 0, 0, 1), PT_OK, "%s", pt_error());
    return g ? g : pt_zeros_like(p);
}

Test(losses, type_head_gets_dL2_backbone_and_task_head_get_dL1_minus_lambda_dL2)
{
    size_t mark = pt_scope_begin();
    tiny_model m = tiny();
    const double lambda = 0.7;
    pt_tensor *l1, *l2;
    /* expected gradients, each from its own graph */
    losses_of(&m, &l1, &l2);
    pt_tensor *eB = grad_of(l2, m.B);
    losses_of(&m, &l1, &l2);
    pt_tensor *eA = grad_of(l1, m.A);
    losses_of(&m, &l1, &l2);
    pt_tensor *eW1 = grad_of(l1, m.W);
    losses_of(&m, &l1, &l2);
    pt_tensor *eW2 = grad_of(l2, m.W);
    pt_tensor *eW = pt_sub(eW1, pt_mul_s(eW2, lambda));

    pt_tensor *main[2] = {m.W, m.A}, *type[1] = {m.B};
    losses_of(&m, &l1, &l2);
    cr_assert_eq(loss_difference_backward(l1, l2, lambda, 1.0, main, 2, type, 1), PT_OK, "%s",
                 pt_error());
    pt_tensor *gW = pt_grad(m.W), *gA = pt_grad(m.A), *gB = pt_grad(m.B);
    cr_expect_leq(tst_max_abs_diff(gB, eB), 1e-12, "type head must get dL2 only");
    cr_expect_leq(tst_max_abs_diff(gA, eA), 1e-12, "task head must get dL1 (L2 does not reach it)");
    cr_expect_leq(tst_max_abs_diff(gW, eW), 1e-12, "backbone must get d(L1 - lambda L2)");
    /* the two parts really differ: the backbone's gradient is not dL1 alone */
    cr_expect_gt(tst_max_abs_diff(gW, eW1), 1e-3);

    /* gradients accumulate across micro-batches, scaled */
    losses_of(&m, &l1, &l2);
    cr_assert_eq(loss_difference_backward(l1, l2, lambda, 0.5, main, 2, type, 1), PT_OK);
    pt_tensor *gB2 = pt_grad(m.B);
    cr_expect_leq(tst_max_abs_diff(gB2, pt_mul_s(eB, 1.5)), 1e-12);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), 0);
}

Test(losses, lambda_none_gives_plain_task_gradient)
{
    size_t mark = pt_scope_begin();
    tiny_model m = tiny();
    pt_tensor *l1, *l2;
    losses_of(&m, &l1, &l2);
    pt_tensor *eW1 = grad_of(l1, m.W);
    pt_tensor *main[2] = {m.W, m.A}, *type[1] = {m.B};
    losses_of(&m, &l1, &l2);
    cr_assert_eq(loss_difference_backward(l1, l2, 0.0, 1.0, main, 2, type, 1), PT_OK);
    cr_expect_leq(tst_max_abs_diff(pt_grad(m.W), eW1), 1e-12);
    cr_expect(pt_has_grad(m.B), "the type head still learns in the baseline");
    pt_scope_end(mark);
}

Test(losses, lambda_schedules)
{
    cr_expect_float_eq(loss_difference_lambda(0.5, LAMBDA_CONSTANT, 0.3), 0.5, 1e-15);
    cr_expect_float_eq(loss_difference_lambda(1.0, LAMBDA_DANN, 0.0), 0.0, 1e-15);
    cr_expect_float_eq(loss_difference_lambda(1.0, LAMBDA_DANN, 0.5), 2.0 / (1.0 + exp(-5.0)) - 1.0, 1e-15);
    cr_expect_float_eq(loss_difference_lambda(2.0, LAMBDA_DANN, 1.0), 2.0 * (2.0 / (1.0 + exp(-10.0)) - 1.0), 1e-15);
    cr_expect_float_eq(loss_difference_lambda(1.0, LAMBDA_DANN, 7.0), 2.0 / (1.0 + exp(-10.0)) - 1.0, 1e-15);
}

Test(losses, soft_iou_hand_values)
{
    /* one image 1x1x2x2: logits 0 -> p = 0.5 everywhere; target has 1 positive pixel:
     * I = 0.5, U = sum(p + t - p t) = 2 + 1 - 0.5 = 2.5, loss = 1 - 0.5/2.5 = 0.8 */
    float lz[4] = {0, 0, 0, 0}, tv[4] = {1, 0, 0, 0};
    int64_t s[4] = {1, 1, 2, 2};
    pt_tensor *l = tst_f32(lz, s, 4), *t = tst_f32(tv, s, 4);
    pt_tensor *loss = loss_soft_iou(l, t, 0.0);
    cr_expect_float_eq(pt_item_or_nan(loss), 0.8, 1e-6);
    /* confident and right: loss near 0; confident and wrong: near 1 */
    float good[4] = {20, -20, -20, -20}, bad[4] = {-20, 20, 20, 20};
    pt_tensor *lg = tst_f32(good, s, 4), *lb = tst_f32(bad, s, 4);
    pt_tensor *a = loss_soft_iou(lg, t, 1e-6), *b = loss_soft_iou(lb, t, 1e-6);
    cr_expect_lt(pt_item_or_nan(a), 1e-5);
    cr_expect_gt(pt_item_or_nan(b), 0.99999);
    pt_free(l), pt_free(t), pt_free(loss), pt_free(lg), pt_free(lb), pt_free(a), pt_free(b);
}

/* The normalised focal loss against RITM's formula in PyTorch (float64 there, float32 here): the
 * loss and its gradient w.r.t. the logits, on random logits with an ignore band; and a hand case:
 * with gamma 0 and alpha 0.5 every beta is 1, ignored pixels included (p_t = 1 there and
 * 0^0 = 1), so the normaliser is valid / (H W) and L = 0.5 * sum of BCE over valid pixels / (H W)
 * per image (RITM's formula does the same). */
Test(losses, normalized_focal_matches_ritm_formula)
{
    enum { B = 2, H = 9, W = 7, N = B * H * W };
    float x[N], t[N], w[N];
    uint32_t r = 12345;
    for (int i = 0; i < N; i++) {
        r = r * 1664525u + 1013904223u;
        x[i] = (float)((int)(r >> 8) % 2000 - 1000) / 250.0f;
        t[i] = (float)((r >> 4) & 1);
        w[i] = (i % W == 3) ? 0.0f : 1.0f; /* an ignored column */
    }
    int64_t shape[4] = {B, 1, H, W};
    char *dir = tst_tmpdir(), px[4200], pt_[4200], pw[4200], pg[4200], pl[4200];
    snprintf(px, sizeof px, "%s/x.bin", dir);
    snprintf(pt_, sizeof pt_, "%s/t.bin", dir);
    snprintf(pw, sizeof pw, "%s/w.bin", dir);
    snprintf(pg, sizeof pg, "%s/g.bin", dir);
    snprintf(pl, sizeof pl, "%s/l.txt", dir);
    FILE *f;
    cr_assert_not_null(f = fopen(px, "wb")); fwrite(x, 4, N, f); fclose(f);
    cr_assert_not_null(f = fopen(pt_, "wb")); fwrite(t, 4, N, f); fclose(f);
    cr_assert_not_null(f = fopen(pw, "wb")); fwrite(w, 4, N, f); fclose(f);
    char args[20000];
    snprintf(args, sizeof args, "%d %d %d '%s' '%s' '%s' '%s' '%s'", B, H, W, px, pt_, pw, pg, pl);
    cr_assert_eq(tst_python("nfl_ref.py", args), 0);
    double ref = 0;
    float gref[N];
    cr_assert_not_null(f = fopen(pl, "r"));
    cr_assert_eq(fscanf(f, "%lf", &ref), 1);
    fclose(f);
    cr_assert_not_null(f = fopen(pg, "rb"));
    cr_assert_eq(fread(gref, 4, N, f), (size_t)N);
    fclose(f);
    size_t mark = pt_scope_begin();
    pt_tensor *xt = tst_f32(x, shape, 4), *tt = tst_f32(t, shape, 4), *wt = tst_f32(w, shape, 4);
    pt_set_requires_grad(xt, 1);
    pt_tensor *loss = loss_normalized_focal(xt, tt, wt, 0.5, 2.0);
    cr_assert_not_null(loss, "%s", pt_error());
    double v = pt_item_or_nan(loss);
    cr_expect(fabs(v - ref) <= 1e-5 * fabs(ref) + 1e-7, "loss %.9g vs %.9g", v, ref);
    cr_assert_eq(pt_backward(loss, NULL, 0), PT_OK, "%s", pt_error());
    pt_tensor *g = pt_contiguous(pt_grad(xt));
    float gc[N];
    cr_assert_eq(pt_copy_to(g, gc, sizeof gc), PT_OK);
    double worst = 0, big = 0;
    for (int i = 0; i < N; i++) {
        worst = fmax(worst, fabs(gc[i] - gref[i]));
        big = fmax(big, fabs(gref[i]));
        if (w[i] == 0)
            cr_expect_eq(gc[i], 0.0f, "ignored pixel %d has gradient %g", i, gc[i]);
    }
    cr_expect_leq(worst, 1e-4 * big + 1e-8, "gradient max |diff| %g (largest %g)", worst, big);
    cr_log_info("normalized focal: loss %.9g vs %.9g, gradient max |diff| %g", v, ref, worst);
    /* gamma 0, alpha 0.5: mult = 1, so L = 0.5 * mean over valid pixels of BCE */
    pt_tensor *l0 = loss_normalized_focal(xt, tt, wt, 0.5, 0.0);
    double bce = 0;
    int valid = 0;
    for (int i = 0; i < N; i++) {
        if (w[i] == 0)
            continue;
        double p = 1 / (1 + exp(-x[i]));
        bce += -(t[i] * log(p) + (1 - t[i]) * log(1 - p));
        valid++;
    }
    double want = 0.5 * bce / (B * H * W);
    cr_expect(valid > 0 && fabs(pt_item_or_nan(l0) - want) < 1e-5, "%g vs %g",
              pt_item_or_nan(l0), want);
    int64_t bad[4] = {B, 2, H, W};
    cr_expect_null(loss_normalized_focal(pt_zeros(bad, 4, PT_F32), tt, wt, 0.5, 2));
    cr_expect(strstr(pt_error(), "[B, 1, H, W]"), "%s", pt_error());
    pt_error_clear();
    pt_scope_end(mark);
    tst_rmtree(dir);
}
