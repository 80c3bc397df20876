/* test_grad.c - autograd through the shim (shim/autograd.cpp and the backward of the ops).
 *
 * One generic checker, grad_error(), compares pt_backward's gradient of a scalar function with
 * central finite differences, element by element, in float64 (eps 1e-6, tolerance 1e-6
 * relative). It covers the ops the losses use: sigmoid, exp, log, sqrt, pow_s, div, clamp,
 * masked_fill, where, log_softmax, cross_entropy with weights, bce_with_logits with pos_weight,
 * smooth_l1, l1, mse, gather, amax, linear, conv2d (input, weight, bias), grid_sample and
 * interpolate (bilinear), sparse_mm (values and dense side), group_norm and batch_norm in
 * training mode. A first test shows the checker can fail. Then the autograd API:
 * pt_autograd_grad for two parameter sets from two losses (L1 - lambda*L2 for A, L2 for B),
 * retain_graph, nested no-grad sections, pt_detach, allow_unused, and the grad accessors.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

TestSuite(grad, .init = tst_setup);

#define VALS(...)                                                                                \
    (const double[]){__VA_ARGS__}, (int64_t)(sizeof((const double[]){__VA_ARGS__}) / sizeof(double))
#define SHP(...)                                                                                 \
    (const int64_t[]){__VA_ARGS__}, (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

static pt_tensor *mk(const double *v, int64_t n, const int64_t *shape, int nd, pt_dtype dt)
{
    int64_t count = 1;
    for (int i = 0; i < nd; i++)
        count *= shape[i];
    cr_assert_eq(count, n, "mk: %lld values for %lld elements", (long long)n, (long long)count);
    pt_tensor *d = pt_from_data(v, shape, nd, PT_F64);
    if (dt == PT_F64)
        return d;
    pt_tensor *t = pt_to_dtype(d, dt);
    pt_free(d);
    return t;
}

/* A deterministic F64 tensor: scale * sin(1.7 i + phase) + offset. */
static pt_tensor *wavy(const int64_t *shape, int nd, double phase, double scale, double offset)
{
    int64_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= shape[i];
    double *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++)
        v[i] = scale * sin(1.7 * (double)i + phase) + offset;
    pt_tensor *t = pt_from_data(v, shape, nd, PT_F64);
    free(v);
    return t;
}

/* sum(y * r) with fixed weights r_i = cos(0.9 i + 0.3): makes any output a scalar whose
 * gradient is not the same in every element. */
static pt_tensor *wsum(const pt_tensor *y)
{
    int64_t shape[16];
    int nd = pt_shape(y, shape, 16);
    if (nd < 0)
        return NULL;
    int64_t n = pt_numel(y);
    double *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    for (int64_t i = 0; i < n; i++)
        v[i] = cos(0.9 * (double)i + 0.3);
    pt_tensor *r = pt_from_data(v, shape, nd, PT_F64);
    free(v);
    pt_tensor *p = pt_mul(y, r);
    pt_tensor *s = pt_sum(p);
    pt_free(p);
    pt_free(r);
    return s;
}

/* ---------------------------------------------------------------- the checker */

/* f(x, ctx) returns a new scalar tensor; it must free its temporaries (a scope is simplest). */
typedef pt_tensor *(*scalar_fn)(const pt_tensor *x, void *ctx);

/* Largest |autograd - finite difference| / (1 + |finite difference|) over the elements of x0
 * (float64). Asserts that the finite-difference gradient is not identically zero, so that a
 * check can never pass vacuously. */
static double grad_error(const char *what, scalar_fn f, void *ctx, const pt_tensor *x0)
{
    const double eps = 1e-6;
    long live = pt_live_tensors();
    cr_assert_eq(pt_dtype_of(x0), PT_F64, "%s: the checker works in float64", what);
    pt_tensor *x = pt_clone(x0);
    cr_assert_eq(pt_set_requires_grad(x, 1), PT_OK, "%s", pt_error());
    pt_tensor *y = f(x, ctx);
    cr_assert_not_null(y, "%s: f failed: %s", what, pt_error());
    cr_assert_eq(pt_numel(y), 1, "%s: f must return a scalar", what);
    cr_assert_eq(pt_backward(y, NULL, 0), PT_OK, "%s: backward: %s", what, pt_error());
    pt_tensor *g = pt_grad(x);
    cr_assert_not_null(g, "%s: no gradient: %s", what, pt_error());
    int64_t n = pt_numel(x0);
    double *ga = malloc((size_t)n * sizeof *ga);
    cr_assert_eq(pt_copy_to(g, ga, (size_t)n * sizeof *ga), PT_OK);

    pt_tensor *xp = pt_contiguous(x0);
    pt_tensor *xw = pt_clone(xp); /* our own storage, written in place below */
    double *p = pt_data_ptr(xw);
    double worst = 0, fd_max = 0;
    int64_t worst_i = -1;
    double worst_a = 0, worst_fd = 0;
    pt_no_grad_begin();
    for (int64_t i = 0; i < n; i++) {
        double orig = p[i];
        p[i] = orig + eps;
        pt_tensor *fp = f(xw, ctx);
        p[i] = orig - eps;
        pt_tensor *fm = f(xw, ctx);
        p[i] = orig;
        double fd = (pt_item_or_nan(fp) - pt_item_or_nan(fm)) / (2 * eps);
        pt_free(fm);
        pt_free(fp);
        double err = fabs(ga[i] - fd) / (1 + fabs(fd));
        if (!(err <= worst)) { /* also catches NaN */
            worst = isnan(err) ? INFINITY : err;
            worst_i = i;
            worst_a = ga[i];
            worst_fd = fd;
        }
        if (fabs(fd) > fd_max)
            fd_max = fabs(fd);
    }
    pt_no_grad_end();
    if (worst_i >= 0 && worst > 1e-6)
        cr_log_info("%s: element %lld autograd %.12g, finite difference %.12g", what,
                    (long long)worst_i, worst_a, worst_fd);
    cr_expect_gt(fd_max, 1e-3, "%s: the gradient is zero everywhere, the check proves nothing",
                 what);
    free(ga);
    pt_free(xw);
    pt_free(xp);
    pt_free(g);
    pt_free(y);
    pt_free(x);
    cr_expect_eq(pt_live_tensors(), live, "%s: the checker or f leaked %ld handles", what,
                 pt_live_tensors() - live);
    return worst;
}

#define GRAD_OK(what, f, ctx, x)                                                                 \
    do {                                                                                         \
        double e_ = grad_error((what), (f), (ctx), (x));                                         \
        cr_expect_lt(e_, 1e-6, "%s: autograd and finite differences differ by %g", (what), e_); \
    } while (0)

/* A context for ops with several tensor inputs: the checked one is replaced by x. */
typedef struct {
    const pt_tensor *arg[5];
    int which;
    int ival;
    double dval;
} op_ctx;

static const pt_tensor *A(const op_ctx *c, const pt_tensor *x, int k)
{
    return k == c->which ? x : c->arg[k];
}

/* ---------------------------------------------------------------- the checker can fail */

/* autograd sees sum(detach(x) * x), gradient x; the function's true derivative is 2x. */
static pt_tensor *f_detached_square(const pt_tensor *x, void *ctx)
{
    (void)ctx;
    size_t m = pt_scope_begin();
    return pt_scope_return(m, pt_sum(pt_mul(pt_detach(x), x)));
}

static pt_tensor *f_square(const pt_tensor *x, void *ctx)
{
    (void)ctx;
    size_t m = pt_scope_begin();
    return pt_scope_return(m, pt_sum(pt_mul(x, x)));
}

Test(grad, checker_tells_a_wrong_gradient_from_a_right_one)
{
    pt_tensor *x = wavy(SHP(5), 0.2, 1, 0.5);
    cr_expect_lt(grad_error("x*x", f_square, NULL, x), 1e-8);
    cr_expect_gt(grad_error("detach(x)*x", f_detached_square, NULL, x), 0.1,
                 "the checker must notice that detach cut half of the gradient");
    pt_free(x);
}

/* ---------------------------------------------------------------- elementwise */

#define UNARY_FN(name, expr)                                                                     \
    static pt_tensor *name(const pt_tensor *x, void *ctx)                                        \
    {                                                                                            \
        (void)ctx;                                                                               \
        size_t m_ = pt_scope_begin();                                                            \
        return pt_scope_return(m_, wsum(expr));                                                  \
    }

UNARY_FN(f_sigmoid, pt_sigmoid(x))
UNARY_FN(f_exp, pt_exp(x))
UNARY_FN(f_log, pt_log(x))
UNARY_FN(f_sqrt, pt_sqrt(x))
UNARY_FN(f_pow_25, pt_pow_s(x, 2.5))
UNARY_FN(f_pow_m1, pt_pow_s(x, -1))
UNARY_FN(f_clamp, pt_clamp(x, -0.5, 0.5))
UNARY_FN(f_clamp_lo, pt_clamp(x, -0.5, NAN))

static pt_tensor *f_div(const pt_tensor *x, void *vc)
{
    op_ctx *c = vc;
    size_t m = pt_scope_begin();
    return pt_scope_return(m, wsum(pt_div(A(c, x, 0), A(c, x, 1))));
}

static pt_tensor *f_masked_fill(const pt_tensor *x, void *vc)
{
    op_ctx *c = vc;
    size_t m = pt_scope_begin();
    return pt_scope_return(m, wsum(pt_masked_fill(pt_mul(x, x), c->arg[0], -3)));
}

/* where(cond, 2x, exp(x)) */
static pt_tensor *f_where(const pt_tensor *x, void *vc)
{
    op_ctx *c = vc;
    size_t m = pt_scope_begin();
    return pt_scope_return(m, wsum(pt_where(c->arg[0], pt_mul_s(x, 2), pt_exp(x))));
}

Test(grad, elementwise)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *any = wavy(SHP(2, 3), 0.1, 2, 0);
    pt_tensor *pos = wavy(SHP(2, 3), 0.4, 0.8, 1.5); /* in [0.7, 2.3] */
    GRAD_OK("sigmoid", f_sigmoid, NULL, any);
    GRAD_OK("exp", f_exp, NULL, any);
    GRAD_OK("log", f_log, NULL, pos);
    GRAD_OK("sqrt", f_sqrt, NULL, pos);
    GRAD_OK("pow_s 2.5", f_pow_25, NULL, pos);
    GRAD_OK("pow_s -1", f_pow_m1, NULL, pos);
    /* clamp away from its bounds: both sides and the inside */
    pt_tensor *cl = mk(VALS(-1, -0.3, 0.2, 0.9, 0.45, -0.45), SHP(2, 3), PT_F64);
    GRAD_OK("clamp", f_clamp, NULL, cl);
    GRAD_OK("clamp lower bound only", f_clamp_lo, NULL, cl);
    op_ctx c = {{NULL, pos}, 0, 0, 0};
    c.arg[0] = any;
    c.arg[1] = pos;
    c.which = 0;
    GRAD_OK("div numerator", f_div, &c, any);
    c.which = 1;
    GRAD_OK("div denominator", f_div, &c, pos);
    pt_tensor *mask = mk(VALS(1, 0, 0, 1, 1, 0), SHP(2, 3), PT_BOOL);
    op_ctx cm = {{mask}, -1, 0, 0};
    GRAD_OK("masked_fill", f_masked_fill, &cm, any);
    GRAD_OK("where", f_where, &cm, any);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- softmax and losses */

static pt_tensor *f_log_softmax(const pt_tensor *x, void *ctx)
{
    int dim = *(int *)ctx;
    size_t m = pt_scope_begin();
    return pt_scope_return(m, wsum(pt_log_softmax(x, dim)));
}

/* cross_entropy(x, target, weight, ignore_index, mean, label smoothing dval) */
static pt_tensor *f_cross_entropy(const pt_tensor *x, void *vc)
{
    op_ctx *c = vc;
    return pt_cross_entropy(x, c->arg[0], c->arg[1], c->ival, PT_REDUCE_MEAN, c->dval);
}

static pt_tensor *f_bce_logits(const pt_tensor *x, void *vc)
{
    op_ctx *c = vc;
    return pt_bce_with_logits(x, c->arg[0], c->arg[1], c->arg[2], PT_REDUCE_MEAN);
}

static pt_tensor *f_smooth_l1(const pt_tensor *x, void *vc)
{
    op_ctx *c = vc;
    return pt_smooth_l1_loss(x, c->arg[0], PT_REDUCE_MEAN, c->dval);
}

static pt_tensor *f_l1(const pt_tensor *x, void *vc)
{
    op_ctx *c = vc;
    return pt_l1_loss(x, c->arg[0], PT_REDUCE_SUM);
}

/* mse w.r.t. either side */
static pt_tensor *f_mse(const pt_tensor *x, void *vc)
{
    op_ctx *c = vc;
    return pt_mse_loss(A(c, x, 0), A(c, x, 1), PT_REDUCE_MEAN);
}

Test(grad, softmax_and_losses)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *logits = wavy(SHP(4, 3), 0.3, 2, 0);
    int dim1 = 1, dim0 = 0;
    GRAD_OK("log_softmax dim 1", f_log_softmax, &dim1, logits);
    GRAD_OK("log_softmax dim 0", f_log_softmax, &dim0, logits);

    pt_tensor *target = mk(VALS(0, 2, 1, 2), SHP(4), PT_I64);
    pt_tensor *weight = mk(VALS(0.5, 1, 2), SHP(3), PT_F64);
    op_ctx ce = {{target, weight}, -1, -100, 0};
    GRAD_OK("cross_entropy with weights", f_cross_entropy, &ce, logits);
    ce.ival = 1; /* sample 2 ignored */
    GRAD_OK("cross_entropy with weights and ignore_index", f_cross_entropy, &ce, logits);
    ce.ival = -100;
    ce.dval = 0.1;
    GRAD_OK("cross_entropy with weights and label smoothing", f_cross_entropy, &ce, logits);
    /* segmentation layout */
    pt_tensor *seg = wavy(SHP(2, 3, 2, 2), 0.9, 2, 0);
    pt_tensor *segt = mk(VALS(0, 1, 2, 2, 1, 0, 0, 2), SHP(2, 2, 2), PT_I64);
    op_ctx ces = {{segt, weight}, -1, -100, 0};
    GRAD_OK("cross_entropy NCHW with weights", f_cross_entropy, &ces, seg);

    pt_tensor *y = mk(VALS(1, 0, 0.3, 0, 1, 0.8), SHP(2, 3), PT_F64);
    pt_tensor *bw = mk(VALS(1, 2, 0.5), SHP(3), PT_F64);
    pt_tensor *pw = mk(VALS(3, 0.5, 2), SHP(3), PT_F64);
    op_ctx bce = {{y, bw, pw}, -1, 0, 0};
    GRAD_OK("bce_with_logits with weight and pos_weight", f_bce_logits, &bce,
            wavy(SHP(2, 3), 0.5, 3, 0));

    /* smooth_l1, beta 0.5: differences on both sides of beta, none within 0.1 of it */
    pt_tensor *b = pt_zeros(SHP(6), PT_F64);
    op_ctx sl = {{b}, -1, 0, 0.5};
    GRAD_OK("smooth_l1 beta 0.5", f_smooth_l1, &sl,
            mk(VALS(0.1, -0.2, 1.0, -2.0, 0.3, 0.8), SHP(6), PT_F64));
    op_ctx l1 = {{b}, -1, 0, 0};
    GRAD_OK("l1 away from 0", f_l1, &l1,
            mk(VALS(0.1, -0.2, 1.0, -2.0, 0.3, -0.05), SHP(6), PT_F64));
    pt_tensor *u = wavy(SHP(2, 3), 0.2, 1, 0), *v = wavy(SHP(2, 3), 1.2, 1, 0);
    op_ctx ms = {{u, v}, 0, 0, 0};
    GRAD_OK("mse first argument", f_mse, &ms, u);
    ms.which = 1;
    GRAD_OK("mse second argument", f_mse, &ms, v);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- indexing and reductions */

static pt_tensor *f_gather(const pt_tensor *x, void *vc)
{
    op_ctx *c = vc;
    size_t m = pt_scope_begin();
    return pt_scope_return(m, wsum(pt_gather(x, 1, c->arg[0])));
}

static pt_tensor *f_amax(const pt_tensor *x, void *vc)
{
    op_ctx *c = vc;
    size_t m = pt_scope_begin();
    int64_t dims[2] = {1, 2};
    return pt_scope_return(m, wsum(pt_amax(x, dims, c->ival, 0)));
}

Test(grad, gather_and_amax)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    /* index 1 twice in row 1: its gradients add up */
    pt_tensor *idx = mk(VALS(0, 3, 1, 1, 2, 0), SHP(3, 2), PT_I64);
    op_ctx g = {{idx}, -1, 0, 0};
    GRAD_OK("gather", f_gather, &g, wavy(SHP(3, 4), 0.1, 1, 0));
    /* wavy values are distinct (no ties within eps) */
    op_ctx a1 = {{NULL}, -1, 1, 0};
    GRAD_OK("amax over dim 1", f_amax, &a1, wavy(SHP(2, 3, 4), 0.3, 1, 0));
    op_ctx a2 = {{NULL}, -1, 2, 0};
    GRAD_OK("amax over dims 1,2", f_amax, &a2, wavy(SHP(2, 3, 4), 0.3, 1, 0));
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- linear and conv2d */

static pt_tensor *f_linear(const pt_tensor *x, void *vc)
{
    op_ctx *c = vc;
    size_t m = pt_scope_begin();
    return pt_scope_return(m, wsum(pt_linear(A(c, x, 0), A(c, x, 1), A(c, x, 2))));
}

static pt_tensor *f_conv(const pt_tensor *x, void *vc)
{
    op_ctx *c = vc;
    static const int64_t stride[2] = {2, 1}, pad[2] = {1, 1}, dil[2] = {1, 2};
    size_t m = pt_scope_begin();
    return pt_scope_return(
        m, wsum(pt_conv2d(A(c, x, 0), A(c, x, 1), A(c, x, 2), stride, pad, dil, c->ival)));
}

Test(grad, linear_and_conv2d)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = wavy(SHP(3, 4), 0.1, 1, 0), *w = wavy(SHP(2, 4), 0.6, 1, 0);
    pt_tensor *b = wavy(SHP(2), 1.1, 1, 0);
    op_ctx l = {{x, w, b}, 0, 0, 0};
    GRAD_OK("linear input", f_linear, &l, x);
    l.which = 1;
    GRAD_OK("linear weight", f_linear, &l, w);
    l.which = 2;
    GRAD_OK("linear bias", f_linear, &l, b);

    /* groups 2, stride {2,1}, padding 1, dilation {1,2} */
    pt_tensor *cx = wavy(SHP(2, 4, 5, 5), 0.2, 1, 0), *cw = wavy(SHP(6, 2, 3, 3), 0.8, 0.5, 0);
    pt_tensor *cb = wavy(SHP(6), 0.5, 1, 0);
    op_ctx c = {{cx, cw, cb}, 0, 2, 0};
    GRAD_OK("conv2d input", f_conv, &c, cx);
    c.which = 1;
    GRAD_OK("conv2d weight", f_conv, &c, cw);
    c.which = 2;
    GRAD_OK("conv2d bias", f_conv, &c, cb);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- sparse x dense */

/* sparse_mm(sparse_coo(indices, values), dense), checked w.r.t. the values or the dense side */
static pt_tensor *f_sparse_mm(const pt_tensor *x, void *vc)
{
    op_ctx *c = vc;
    size_t m = pt_scope_begin();
    pt_tensor *s = pt_sparse_coo(c->arg[0], A(c, x, 1), 3, 4);
    return pt_scope_return(m, wsum(pt_sparse_mm(s, A(c, x, 2))));
}

Test(grad, sparse_mm_values_and_dense)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    /* entry (1, 2) appears twice: coalescing sums it, its gradient goes to both values */
    pt_tensor *ind = mk(VALS(0, 1, 1, 2, 2, /**/ 3, 2, 2, 0, 1), SHP(2, 5), PT_I64);
    pt_tensor *val = wavy(SHP(5), 0.3, 1, 0.2);
    pt_tensor *dense = wavy(SHP(4, 2), 0.8, 1, 0);
    op_ctx c = {{ind, val, dense}, 2, 0, 0};
    GRAD_OK("sparse_mm dense operand", f_sparse_mm, &c, dense);
    c.which = 1;
    GRAD_OK("sparse_mm values", f_sparse_mm, &c, val);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- resampling */

static pt_tensor *f_grid_sample(const pt_tensor *x, void *vc)
{
    op_ctx *c = vc;
    size_t m = pt_scope_begin();
    return pt_scope_return(m, wsum(pt_grid_sample(A(c, x, 0), A(c, x, 1), PT_INTERP_BILINEAR,
                                                  (pt_grid_padding)c->ival, 0)));
}

static pt_tensor *f_interp(const pt_tensor *x, void *vc)
{
    op_ctx *c = vc;
    size_t m = pt_scope_begin();
    return pt_scope_return(m, wsum(pt_interpolate(x, 5, 4, PT_INTERP_BILINEAR, c->ival)));
}

Test(grad, grid_sample_and_interpolate_bilinear)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = wavy(SHP(1, 2, 3, 4), 0.4, 1, 0);
    /* Sample points (x, y) in [-0.9, 0.9] that fall inside pixel cells, never on a pixel
     * centre (align_corners = 0: pixel j sits at (2j + 1)/W - 1), so that the bilinear weights
     * are smooth in the grid; a few points lie in the zero-padded border. */
    pt_tensor *grid = mk(VALS(-0.93, -0.71, -0.4, 0.2, 0.1, -0.55, 0.63, 0.9, /**/
                              0.31, 0.05, -0.12, -0.8, 0.83, 0.44, -0.66, 0.27),
                         SHP(1, 2, 4, 2), PT_F64);
    op_ctx c = {{x, grid}, 0, PT_PAD_ZEROS, 0};
    GRAD_OK("grid_sample input", f_grid_sample, &c, x);
    c.which = 1;
    GRAD_OK("grid_sample grid", f_grid_sample, &c, grid);
    c.ival = PT_PAD_BORDER;
    GRAD_OK("grid_sample grid, border padding", f_grid_sample, &c, grid);
    op_ctx ia = {{NULL}, -1, 1, 0};
    GRAD_OK("interpolate bilinear align_corners", f_interp, &ia, x);
    op_ctx in = {{NULL}, -1, 0, 0};
    GRAD_OK("interpolate bilinear", f_interp, &in, x);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- normalisation */

static pt_tensor *f_group_norm(const pt_tensor *x, void *vc)
{
    op_ctx *c = vc;
    size_t m = pt_scope_begin();
    return pt_scope_return(m, wsum(pt_group_norm(A(c, x, 0), 2, A(c, x, 1), A(c, x, 2), 1e-5)));
}

/* batch_norm in training mode, with running statistics (updated on every call, which does not
 * change the training output) */
static pt_tensor *f_batch_norm(const pt_tensor *x, void *vc)
{
    op_ctx *c = vc;
    size_t m = pt_scope_begin();
    return pt_scope_return(m, wsum(pt_batch_norm(A(c, x, 0), A(c, x, 1), A(c, x, 2),
                                                 (pt_tensor *)c->arg[3], (pt_tensor *)c->arg[4],
                                                 1, 0.1, 1e-5)));
}

Test(grad, group_norm_and_batch_norm_train)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = wavy(SHP(2, 4, 2, 2), 0.3, 1, 0.2);
    pt_tensor *w = wavy(SHP(4), 1.0, 0.5, 1), *b = wavy(SHP(4), 2.0, 0.5, 0);
    op_ctx g = {{x, w, b}, 0, 0, 0};
    GRAD_OK("group_norm input", f_group_norm, &g, x);
    g.which = 1;
    GRAD_OK("group_norm weight", f_group_norm, &g, w);
    g.which = 2;
    GRAD_OK("group_norm bias", f_group_norm, &g, b);

    pt_tensor *bx = wavy(SHP(3, 4, 2, 2), 0.7, 1, 0.5);
    pt_tensor *rm = pt_zeros(SHP(4), PT_F64), *rv = pt_ones(SHP(4), PT_F64);
    op_ctx bn = {{bx, w, b, rm, rv}, 0, 0, 0};
    GRAD_OK("batch_norm train input", f_batch_norm, &bn, bx);
    bn.which = 1;
    GRAD_OK("batch_norm train weight", f_batch_norm, &bn, w);
    bn.which = 2;
    GRAD_OK("batch_norm train bias", f_batch_norm, &bn, b);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- the autograd API */

static void expect_vals(const pt_tensor *t, const double *want, int64_t n, double tol,
                        const char *what)
{
    cr_assert_not_null(t, "%s: NULL (%s)", what, pt_error());
    cr_assert_eq(pt_numel(t), n, "%s: %lld elements, want %lld", what, (long long)pt_numel(t),
                 (long long)n);
    for (int64_t i = 0; i < n; i++)
        cr_expect(fabs(tst_at(t, i) - want[i]) <= tol, "%s[%lld] = %.17g, want %.17g", what,
                  (long long)i, tst_at(t, i), want[i]);
}

static pt_tensor *leaf(const double *v, int64_t n, const int64_t *shape, int nd)
{
    pt_tensor *t = mk(v, n, shape, nd, PT_F64);
    cr_assert_eq(pt_set_requires_grad(t, 1), PT_OK);
    return t;
}

Test(grad, autograd_grad_two_parameter_sets_from_two_losses)
{
    /* The multi-domain model: set A descends L1 - lambda L2, set B descends L2.
     * L1 = sum(A^2) + sum(A B), L2 = sum(A B^2):
     *   d(L1 - lambda L2)/dA = 2A + B - lambda B^2,  dL2/dB = 2 A B. */
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    const double a[3] = {1, -2, 0.5}, bv[3] = {3, 0.5, -1}, lambda = 0.3;
    pt_tensor *pa = leaf(a, 3, SHP(3)), *pb = leaf(bv, 3, SHP(3));
    pt_tensor *ab = pt_mul(pa, pb);
    pt_tensor *l1 = pt_add(pt_sum(pt_mul(pa, pa)), pt_sum(ab));
    pt_tensor *l2 = pt_sum(pt_mul(pa, pt_mul(pb, pb)));
    pt_tensor *adv = pt_sub(l1, pt_mul_s(l2, lambda));
    pt_tensor *ga = NULL, *gb = NULL;
    cr_assert_eq(pt_autograd_grad(&adv, 1, &pa, 1, &ga, 1, 0, 0), PT_OK, "%s", pt_error());
    cr_assert_eq(pt_autograd_grad(&l2, 1, &pb, 1, &gb, 0, 0, 0), PT_OK, "%s", pt_error());
    double wa[3], wb[3];
    for (int i = 0; i < 3; i++) {
        wa[i] = 2 * a[i] + bv[i] - lambda * bv[i] * bv[i];
        wb[i] = 2 * a[i] * bv[i];
    }
    expect_vals(ga, wa, 3, 1e-14, "d(L1 - lambda L2)/dA");
    expect_vals(gb, wb, 3, 1e-14, "dL2/dB");
    /* autograd.grad does not accumulate into .grad */
    cr_expect_eq(pt_has_grad(pa), 0);
    cr_expect_eq(pt_has_grad(pb), 0);
    cr_expect_eq(pt_requires_grad(ga), 0, "create_graph=0 gives plain tensors");

    /* Several outputs are summed; several inputs get one gradient each. */
    pt_tensor *ab2 = pt_mul(pa, pb);
    pt_tensor *o1 = pt_sum(ab2), *o2 = pt_sum(pt_mul(pa, pa));
    pt_tensor *outs[2] = {o1, o2}, *ins[2] = {pa, pb}, *gs[2] = {NULL, NULL};
    cr_assert_eq(pt_autograd_grad(outs, 2, ins, 2, gs, 0, 0, 0), PT_OK, "%s", pt_error());
    for (int i = 0; i < 3; i++) {
        wa[i] = bv[i] + 2 * a[i];
        wb[i] = a[i];
    }
    expect_vals(gs[0], wa, 3, 1e-14, "d(o1 + o2)/dA");
    expect_vals(gs[1], wb, 3, 1e-14, "d(o1 + o2)/dB");

    /* create_graph: a second derivative. d/dA sum(A^3) = 3A^2, then d/dA sum(3A^2) = 6A. */
    pt_tensor *cube = pt_sum(pt_pow_s(pa, 3));
    pt_tensor *g1 = NULL, *g2 = NULL;
    cr_assert_eq(pt_autograd_grad(&cube, 1, &pa, 1, &g1, 1, 1, 0), PT_OK, "%s", pt_error());
    cr_expect_eq(pt_requires_grad(g1), 1);
    pt_tensor *sg1 = pt_sum(g1);
    cr_assert_eq(pt_autograd_grad(&sg1, 1, &pa, 1, &g2, 0, 0, 0), PT_OK, "%s", pt_error());
    expect_vals(g2, (double[]){6 * a[0], 6 * a[1], 6 * a[2]}, 3, 1e-13, "second derivative");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(grad, retain_graph_lets_backward_run_twice)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = leaf(VALS(1, 2, 3), SHP(3));
    pt_tensor *y = pt_sum(pt_exp(x)); /* exp saves its result for backward */
    cr_assert_eq(pt_backward(y, NULL, 1), PT_OK, "%s", pt_error());
    expect_vals(pt_grad(x), (double[]){exp(1), exp(2), exp(3)}, 3, 1e-13, "first backward");
    cr_assert_eq(pt_backward(y, NULL, 0), PT_OK, "second backward: %s", pt_error());
    expect_vals(pt_grad(x), (double[]){2 * exp(1), 2 * exp(2), 2 * exp(3)}, 3, 1e-12,
                "gradients accumulate");
    /* The graph is gone now: a third backward is an error, not a crash. */
    pt_error_clear();
    cr_expect_eq(pt_backward(y, NULL, 0), PT_ERR);
    cr_expect(pt_error_pending() && strstr(pt_error(), "pt_backward"), "%s", pt_error());
    /* Non-scalar output: needs a grad tensor. */
    pt_tensor *z = pt_mul_s(x, 3);
    pt_error_clear();
    cr_expect_eq(pt_backward(z, NULL, 0), PT_ERR);
    cr_expect(strstr(pt_error(), "pt_backward") && strstr(pt_error(), "[3]"), "%s", pt_error());
    cr_assert_eq(pt_zero_grad(x), PT_OK);
    cr_expect_eq(pt_has_grad(x), 0, "zero_grad drops the gradient");
    cr_assert_eq(pt_backward(z, mk(VALS(1, 0, -1), SHP(3), PT_F64), 0), PT_OK, "%s", pt_error());
    expect_vals(pt_grad(x), (double[]){3, 0, -3}, 3, 0, "backward with a grad tensor");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(grad, no_grad_sections_nest)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = leaf(VALS(1, 2), SHP(2));
    cr_expect_eq(pt_grad_enabled(), 1);
    cr_expect_eq(pt_requires_grad(pt_mul_s(x, 2)), 1);
    pt_no_grad_begin();
    cr_expect_eq(pt_grad_enabled(), 0);
    cr_expect_eq(pt_requires_grad(pt_mul_s(x, 2)), 0, "no-grad result requires grad");
    pt_no_grad_begin();
    cr_expect_eq(pt_requires_grad(pt_exp(x)), 0);
    pt_no_grad_end();
    cr_expect_eq(pt_grad_enabled(), 0, "the inner end must not re-enable gradients");
    cr_expect_eq(pt_requires_grad(pt_add(x, x)), 0);
    /* in-place updates of a leaf are allowed under no-grad (what an optimizer does) */
    cr_expect_eq(pt_add_(x, pt_ones(SHP(2), PT_F64), 1), PT_OK, "%s", pt_error());
    pt_no_grad_end();
    cr_expect_eq(pt_grad_enabled(), 1);
    cr_expect_eq(pt_requires_grad(pt_mul_s(x, 2)), 1);
    expect_vals(x, (double[]){2, 3}, 2, 0, "in-place update under no-grad");
    /* an unmatched end is harmless */
    pt_no_grad_end();
    cr_expect_eq(pt_grad_enabled(), 1);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(grad, detach_stops_gradients)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = leaf(VALS(1.5, -2), SHP(2));
    pt_tensor *d = pt_detach(x);
    cr_expect_eq(pt_requires_grad(d), 0);
    /* y = sum(detach(x) * x^2): dy/dx = 2 x detach(x) = 2 x^2 (not 3 x^2) */
    pt_tensor *y = pt_sum(pt_mul(d, pt_mul(x, x)));
    cr_assert_eq(pt_backward(y, NULL, 0), PT_OK, "%s", pt_error());
    expect_vals(pt_grad(x), (double[]){2 * 1.5 * 1.5, 2 * 4}, 2, 1e-14, "detach cuts one path");
    /* detach shares storage */
    cr_assert_eq(pt_fill_(d, 7), PT_OK);
    expect_vals(x, (double[]){7, 7}, 2, 0, "detach is a view of the same data");
    /* A graph made only of detached tensors has nothing to differentiate. */
    pt_tensor *z = pt_sum(pt_mul_s(d, 2));
    pt_error_clear();
    cr_expect_eq(pt_backward(z, NULL, 0), PT_ERR);
    cr_expect(pt_error_pending() && strstr(pt_error(), "pt_backward"), "%s", pt_error());
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(grad, allow_unused_gives_null_for_unused_inputs)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *a = leaf(VALS(1, 2), SHP(2)), *unused = leaf(VALS(3), SHP(1));
    pt_tensor *y = pt_sum(pt_mul(a, a));
    pt_tensor *ins[2] = {a, unused}, *gs[2] = {(pt_tensor *)1, (pt_tensor *)1};
    cr_assert_eq(pt_autograd_grad(&y, 1, ins, 2, gs, 1, 0, 1), PT_OK, "%s", pt_error());
    expect_vals(gs[0], (double[]){2, 4}, 2, 0, "used input");
    cr_expect_null(gs[1], "unused input with allow_unused must give NULL");
    pt_error_clear();
    pt_tensor *gs2[2] = {NULL, NULL};
    cr_expect_eq(pt_autograd_grad(&y, 1, ins, 2, gs2, 1, 0, 0), PT_ERR,
                 "an unused input without allow_unused is an error");
    cr_expect(pt_error_pending() && strstr(pt_error(), "pt_autograd_grad"), "%s", pt_error());
    pt_free(gs2[0]);
    pt_free(gs2[1]);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(grad, grad_accessors)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = leaf(VALS(1, 2), SHP(2));
    cr_expect_eq(pt_has_grad(x), 0);
    pt_error_clear();
    cr_expect_null(pt_grad(x), "pt_grad without a gradient must fail");
    cr_expect(strstr(pt_error(), "pt_grad") && strstr(pt_error(), "no gradient"), "%s",
              pt_error());
    cr_assert_eq(pt_set_grad(x, mk(VALS(0.5, -1), SHP(2), PT_F64)), PT_OK, "%s", pt_error());
    cr_expect_eq(pt_has_grad(x), 1);
    expect_vals(pt_grad(x), (double[]){0.5, -1}, 2, 0, "set_grad");
    /* backward accumulates onto a set gradient */
    cr_assert_eq(pt_backward(pt_sum(pt_mul_s(x, 2)), NULL, 0), PT_OK);
    expect_vals(pt_grad(x), (double[]){2.5, 1}, 2, 0, "accumulated");
    cr_assert_eq(pt_set_grad(x, NULL), PT_OK);
    cr_expect_eq(pt_has_grad(x), 0, "set_grad(NULL) clears");
    /* requires_grad off: a result of x has no graph */
    cr_assert_eq(pt_set_requires_grad(x, 0), PT_OK);
    cr_expect_eq(pt_requires_grad(pt_mul_s(x, 2)), 0);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}
