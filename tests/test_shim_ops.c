/* test_shim_ops.c - the tensor API of the shim (shim/core.cpp, ops.cpp, nnops.cpp), forward only.
 *
 * One or more tests per op family of pt.h, each against hand-computed values (or a naive C loop,
 * for convolutions with dilation and groups): creation (copying vs borrowing memory, the blob
 * deleter, factories, seeded random streams and generator state), queries and the describe
 * string, views and indexing, elementwise math and comparisons, reductions, dense and sparse
 * matrix products, the nn ops (convolutions, normalisations, activations, pooling, resampling,
 * padding, dropout) and the loss primitives. Then the contract around them: errors name the op
 * and the offending sizes, NULL inputs keep the first message, messages are per thread, and
 * scopes free exactly what they own. Gradients are in test_grad.c, optimizers in test_optim.c.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

TestSuite(ops, .init = tst_setup);

static const double PI = 3.14159265358979323846;

/* ---------------------------------------------------------------- helpers */

/* VALS(1, 2, 3) expands to "pointer, count"; SHP(2, 3) to "shape, ndim". */
#define VALS(...)                                                                                \
    (const double[]){__VA_ARGS__}, (int64_t)(sizeof((const double[]){__VA_ARGS__}) / sizeof(double))
#define SHP(...)                                                                                 \
    (const int64_t[]){__VA_ARGS__}, (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

/* A tensor of dtype dt holding the n values v (given as doubles) in the given shape. */
static pt_tensor *mk(const double *v, int64_t n, const int64_t *shape, int nd, pt_dtype dt)
{
    int64_t count = 1;
    for (int i = 0; i < nd; i++)
        count *= shape[i];
    cr_assert_eq(count, n, "mk: %lld values for a shape of %lld elements", (long long)n,
                 (long long)count);
    pt_tensor *d = pt_from_data(v, shape, nd, PT_F64);
    cr_assert_not_null(d, "%s", pt_error());
    if (dt == PT_F64)
        return d;
    pt_tensor *t = pt_to_dtype(d, dt);
    pt_free(d);
    return t;
}

/* t has exactly n elements equal to want (row-major) within tol. */
static void expect_vals(const pt_tensor *t, const double *want, int64_t n, double tol,
                        const char *what)
{
    cr_assert_not_null(t, "%s: NULL (%s)", what, pt_error());
    cr_assert_eq(pt_numel(t), n, "%s: %lld elements, want %lld", what, (long long)pt_numel(t),
                 (long long)n);
    pt_tensor *dense = pt_to_dense(t);
    pt_tensor *d = pt_to_dtype(dense, PT_F64);
    pt_tensor *c = pt_contiguous(d);
    const double *p = pt_data_ptr(c);
    cr_assert_not_null(p, "%s: %s", what, pt_error());
    for (int64_t i = 0; i < n; i++)
        cr_expect(fabs(p[i] - want[i]) <= tol || (isnan(p[i]) && isnan(want[i])),
                  "%s[%lld] = %.17g, want %.17g", what, (long long)i, p[i], want[i]);
    pt_free(c);
    pt_free(d);
    pt_free(dense);
}

static void expect_shape(const pt_tensor *t, const int64_t *shape, int nd, const char *what)
{
    int64_t got[16];
    cr_assert_not_null(t, "%s: NULL (%s)", what, pt_error());
    cr_assert_eq(pt_shape(t, got, 16), nd, "%s: ndim %d, want %d", what, pt_ndim(t), nd);
    for (int i = 0; i < nd; i++)
        cr_expect_eq(got[i], shape[i], "%s: size(%d) = %lld, want %lld", what, i,
                     (long long)got[i], (long long)shape[i]);
}

/* Both checks at once for the common case. */
static void expect_tensor(const pt_tensor *t, const int64_t *shape, int nd, const double *want,
                          int64_t n, double tol, const char *what)
{
    expect_shape(t, shape, nd, what);
    expect_vals(t, want, n, tol, what);
}

static double item(const pt_tensor *t)
{
    double v = NAN;
    cr_assert_eq(pt_item(t, &v), PT_OK, "%s", pt_error());
    return v;
}

/* A deterministic, non-trivial F64 tensor: v[i] = sin(1.7 i + phase). */
static pt_tensor *wavy(const int64_t *shape, int nd, double phase)
{
    int64_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= shape[i];
    double *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++)
        v[i] = sin(1.7 * (double)i + phase);
    pt_tensor *t = pt_from_data(v, shape, nd, PT_F64);
    free(v);
    return t;
}

static void expect_error_mentions(const char *what, const char *a, const char *b, const char *c)
{
    const char *e = pt_error();
    cr_expect(pt_error_pending(), "%s: no pending error", what);
    cr_expect(strstr(e, a) != NULL, "%s: message '%s' lacks '%s'", what, e, a);
    if (b)
        cr_expect(strstr(e, b) != NULL, "%s: message '%s' lacks '%s'", what, e, b);
    if (c)
        cr_expect(strstr(e, c) != NULL, "%s: message '%s' lacks '%s'", what, e, c);
}

/* ---------------------------------------------------------------- creation */

Test(ops, from_data_copies_the_caller_buffer)
{
    long live = pt_live_tensors();
    double buf[4] = {1, 2, 3, 4};
    pt_tensor *t = pt_from_data(buf, SHP(2, 2), PT_F64);
    cr_assert_not_null(t, "%s", pt_error());
    cr_expect_neq(pt_data_ptr(t), (void *)buf);
    buf[0] = 100;
    expect_vals(t, VALS(1, 2, 3, 4), 0, "from_data after the caller changed its buffer");
    pt_fill_(t, 7);
    cr_expect_eq(buf[1], 2.0, "writing the tensor must not touch the caller buffer");
    /* Every dtype round-trips its bytes. */
    int32_t i32[3] = {-5, 0, 2000000000};
    pt_tensor *ti = pt_from_data(i32, SHP(3), PT_I32);
    cr_expect_eq(pt_dtype_of(ti), PT_I32);
    expect_vals(ti, VALS(-5, 0, 2000000000), 0, "int32 from_data");
    uint8_t b[2] = {0, 1};
    pt_tensor *tb = pt_from_data(b, SHP(2), PT_BOOL);
    expect_vals(tb, VALS(0, 1), 0, "bool from_data");
    pt_free(tb);
    pt_free(ti);
    pt_free(t);
    cr_expect_eq(pt_live_tensors(), live);
}

static int g_deleter_calls;
static void *g_deleter_ctx;
static void count_deleter(void *ctx)
{
    g_deleter_calls++;
    g_deleter_ctx = ctx;
}

Test(ops, from_blob_borrows_memory_and_calls_the_deleter_once)
{
    long live = pt_live_tensors();
    float buf[6] = {0, 1, 2, 3, 4, 5};
    int tag = 0;
    g_deleter_calls = 0;
    pt_tensor *t = pt_from_blob(buf, SHP(2, 3), PT_F32, count_deleter, &tag);
    cr_assert_not_null(t, "%s", pt_error());
    cr_expect_eq(pt_data_ptr(t), (void *)buf, "from_blob must not copy");
    buf[1] = 42;
    cr_expect_eq(tst_at(t, 1), 42.0, "a change of the caller buffer shows in the tensor");
    pt_tensor *row = pt_select(t, 0, 1);
    cr_assert_eq(pt_fill_(row, -1), PT_OK);
    cr_expect(buf[3] == -1 && buf[4] == -1 && buf[5] == -1 && buf[2] == 2,
              "writing through a view writes the caller buffer");
    /* Several handles to the storage: the deleter waits for the last one. */
    pt_tensor *alias = pt_alias(t);
    pt_tensor *flat = pt_reshape(t, SHP(6));
    pt_free(t);
    pt_free(alias);
    pt_free(row);
    cr_expect_eq(g_deleter_calls, 0, "deleter ran while a view was alive");
    cr_expect_eq(tst_at(flat, 1), 42.0);
    pt_free(flat);
    cr_expect_eq(g_deleter_calls, 1, "deleter must run exactly once, ran %d times",
                 g_deleter_calls);
    cr_expect_eq(g_deleter_ctx, (void *)&tag);
    /* A NULL deleter is allowed. */
    pt_tensor *u = pt_from_blob(buf, SHP(6), PT_F32, NULL, NULL);
    expect_vals(u, VALS(0, 42, 2, -1, -1, -1), 0, "blob without deleter");
    pt_free(u);
    cr_expect_eq(g_deleter_calls, 1);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, factories)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *z = pt_zeros(SHP(2, 3), PT_F32);
    expect_tensor(z, SHP(2, 3), VALS(0, 0, 0, 0, 0, 0), 0, "zeros");
    cr_expect_eq(pt_dtype_of(z), PT_F32);
    pt_tensor *o = pt_ones(SHP(3), PT_I64);
    expect_vals(o, VALS(1, 1, 1), 0, "ones");
    cr_expect_eq(pt_dtype_of(o), PT_I64);
    expect_tensor(pt_full(SHP(2), 2.5, PT_F64), SHP(2), VALS(2.5, 2.5), 0, "full");
    pt_tensor *e = pt_empty(SHP(4, 0), PT_F32);
    expect_shape(e, SHP(4, 0), "empty");
    cr_expect_eq(pt_numel(e), 0);
    pt_tensor *s = pt_scalar(3.5, PT_F64);
    cr_expect_eq(pt_ndim(s), 0);
    cr_expect_eq(pt_numel(s), 1);
    cr_expect_eq(item(s), 3.5);
    pt_tensor *ar = pt_arange(0, 5, 1, PT_I64);
    expect_vals(ar, VALS(0, 1, 2, 3, 4), 0, "arange int");
    cr_expect_eq(pt_dtype_of(ar), PT_I64);
    expect_vals(pt_arange(1, 2, 0.25, PT_F64), VALS(1, 1.25, 1.5, 1.75), 0, "arange excludes end");
    expect_vals(pt_arange(3, 0, -1, PT_F32), VALS(3, 2, 1), 0, "arange negative step");
    expect_vals(pt_linspace(0, 1, 5, PT_F64), VALS(0, 0.25, 0.5, 0.75, 1), 1e-15, "linspace");
    expect_vals(pt_linspace(-1, 1, 3, PT_F32), VALS(-1, 0, 1), 0, "linspace 3");
    expect_tensor(pt_eye(3, PT_F32), SHP(3, 3), VALS(1, 0, 0, 0, 1, 0, 0, 0, 1), 0, "eye");
    pt_tensor *zl = pt_zeros_like(o), *ol = pt_ones_like(z), *fl = pt_full_like(z, -2);
    cr_expect_eq(pt_dtype_of(zl), PT_I64);
    expect_tensor(zl, SHP(3), VALS(0, 0, 0), 0, "zeros_like");
    expect_tensor(ol, SHP(2, 3), VALS(1, 1, 1, 1, 1, 1), 0, "ones_like");
    expect_tensor(fl, SHP(2, 3), VALS(-2, -2, -2, -2, -2, -2), 0, "full_like");
    cr_expect_eq(pt_dtype_of(fl), PT_F32);
    pt_tensor *cl = pt_clone(fl);
    pt_fill_(cl, 1);
    expect_vals(fl, VALS(-2, -2, -2, -2, -2, -2), 0, "clone does not share storage");
    pt_tensor *h = pt_to_dtype(pt_full(SHP(2), 1.7, PT_F64), PT_I32);
    cr_expect_eq(pt_dtype_of(h), PT_I32);
    expect_vals(h, VALS(1, 1), 0, "to_dtype truncates toward zero");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* max |a - b| over two equal-shape tensors, asserting the shapes match. */
static double diff(const pt_tensor *a, const pt_tensor *b)
{
    double d = tst_max_abs_diff(a, b);
    cr_assert(isfinite(d), "shapes differ or op failed: %s", pt_error());
    return d;
}

Test(ops, random_streams_follow_the_generator_seed)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_generator *g1 = pt_generator_new(7), *g2 = pt_generator_new(7), *g3 = pt_generator_new(8);
    cr_assert(g1 && g2 && g3, "%s", pt_error());

    pt_tensor *a = pt_randn(SHP(4000), PT_F32, g1), *b = pt_randn(SHP(4000), PT_F32, g2);
    pt_tensor *c = pt_randn(SHP(4000), PT_F32, g3);
    cr_expect_eq(diff(a, b), 0.0, "randn: same seed, different stream");
    cr_expect_gt(diff(a, c), 0.5, "randn: seeds 7 and 8 gave the same stream");
    cr_expect_lt(fabs(item(pt_mean(a))), 0.06, "randn mean");
    cr_expect_lt(fabs(sqrt(item(pt_var_dims(a, SHP(0), 1, 0))) - 1), 0.06, "randn std");
    /* The next draw continues the stream: it differs from the first (g2 kept in step). */
    pt_tensor *a2 = pt_randn(SHP(4000), PT_F32, g1);
    cr_expect_gt(diff(a, a2), 0.5);
    cr_expect_eq(diff(pt_randn(SHP(4000), PT_F32, g2), a2), 0.0);

    pt_tensor *r1 = pt_rand(SHP(4000), PT_F64, g1), *r2 = pt_rand(SHP(4000), PT_F64, g2);
    pt_tensor *r3 = pt_rand(SHP(4000), PT_F64, g3);
    cr_expect_eq(pt_dtype_of(r1), PT_F64);
    cr_expect_eq(diff(r1, r2), 0.0, "rand: same seed");
    cr_expect_gt(diff(r1, r3), 0.1, "rand: different seeds");
    cr_expect_geq(item(pt_min(r1)), 0.0);
    cr_expect_lt(item(pt_max(r1)), 1.0);
    cr_expect_lt(fabs(item(pt_mean(r1)) - 0.5), 0.03);

    pt_tensor *i1 = pt_randint(3, 7, SHP(2000), g1), *i2 = pt_randint(3, 7, SHP(2000), g2);
    pt_tensor *i3 = pt_randint(3, 7, SHP(2000), g3);
    cr_expect_eq(pt_dtype_of(i1), PT_I64);
    cr_expect_eq(diff(i1, i2), 0.0, "randint: same seed");
    cr_expect_gt(diff(i1, i3), 0.0, "randint: different seeds");
    cr_expect_eq(item(pt_min(i1)), 3.0, "randint low is inclusive");
    cr_expect_eq(item(pt_max(i1)), 6.0, "randint high is exclusive");

    pt_tensor *p1 = pt_randperm(50, g1), *p2 = pt_randperm(50, g2), *p3 = pt_randperm(50, g3);
    cr_expect_eq(pt_dtype_of(p1), PT_I64);
    cr_expect_eq(diff(p1, p2), 0.0, "randperm: same seed");
    cr_expect_gt(diff(p1, p3), 0.0, "randperm: different seeds");
    pt_tensor *sorted = NULL;
    cr_assert_eq(pt_sort(p1, 0, 0, &sorted, NULL), PT_OK);
    cr_expect_eq(diff(sorted, pt_arange(0, 50, 1, PT_I64)), 0.0, "randperm is a permutation");

    /* Re-seeding restarts the stream; the default generator follows pt_manual_seed. */
    cr_assert_eq(pt_generator_seed(g2, 7), PT_OK);
    cr_expect_eq(diff(pt_randn(SHP(4000), PT_F32, g2), a), 0.0, "generator_seed restarts");
    pt_manual_seed(5);
    pt_tensor *d1 = pt_randn(SHP(100), PT_F32, NULL);
    pt_manual_seed(5);
    pt_tensor *d2 = pt_randn(SHP(100), PT_F32, NULL);
    pt_manual_seed(6);
    pt_tensor *d3 = pt_randn(SHP(100), PT_F32, NULL);
    cr_expect_eq(diff(d1, d2), 0.0, "default generator: same seed");
    cr_expect_gt(diff(d1, d3), 0.1, "default generator: different seeds");
    /* uniform_ / normal_ draw from the given generator too. */
    pt_generator *g4 = pt_generator_new(11), *g5 = pt_generator_new(11);
    pt_tensor *u1 = pt_zeros(SHP(1000), PT_F64), *u2 = pt_zeros(SHP(1000), PT_F64);
    cr_assert_eq(pt_uniform_(u1, -2, -1, g4), PT_OK);
    cr_assert_eq(pt_uniform_(u2, -2, -1, g5), PT_OK);
    cr_expect_eq(diff(u1, u2), 0.0);
    cr_expect_geq(item(pt_min(u1)), -2.0);
    cr_expect_lt(item(pt_max(u1)), -1.0);
    cr_assert_eq(pt_normal_(u1, 10, 0.5, g4), PT_OK);
    cr_expect_lt(fabs(item(pt_mean(u1)) - 10), 0.1, "normal_ mean");
    pt_generator_free(g5);
    pt_generator_free(g4);
    pt_generator_free(g3);
    pt_generator_free(g2);
    pt_generator_free(g1);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, generator_state_round_trip_replays_the_stream)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_generator *g = pt_generator_new(1);
    pt_randn(SHP(10), PT_F32, g); /* advance past the seed point */
    pt_tensor *state = pt_generator_get_state(g);
    cr_assert_not_null(state, "%s", pt_error());
    cr_expect_eq(pt_dtype_of(state), PT_U8);
    cr_expect_gt(pt_numel(state), 0);
    pt_tensor *a = pt_randn(SHP(100), PT_F64, g), *b = pt_rand(SHP(7), PT_F32, g);
    pt_tensor *c = pt_randint(0, 1000, SHP(20), g);
    cr_assert_eq(pt_generator_set_state(g, state), PT_OK, "%s", pt_error());
    cr_expect_eq(diff(pt_randn(SHP(100), PT_F64, g), a), 0.0, "randn after set_state");
    cr_expect_eq(diff(pt_rand(SHP(7), PT_F32, g), b), 0.0, "rand after set_state");
    cr_expect_eq(diff(pt_randint(0, 1000, SHP(20), g), c), 0.0, "randint after set_state");
    /* The state moves to another generator, whatever its seed. */
    pt_generator *h = pt_generator_new(999);
    cr_assert_eq(pt_generator_set_state(h, state), PT_OK);
    cr_expect_eq(diff(pt_randn(SHP(100), PT_F64, h), a), 0.0, "state copied to another generator");
    /* The default generator (NULL) too. */
    pt_tensor *ds = pt_generator_get_state(NULL);
    pt_tensor *x = pt_rand(SHP(50), PT_F32, NULL);
    cr_assert_eq(pt_generator_set_state(NULL, ds), PT_OK);
    cr_expect_eq(diff(pt_rand(SHP(50), PT_F32, NULL), x), 0.0, "default generator state");
    /* A tensor that is not a generator state is refused with a message. */
    pt_error_clear();
    cr_expect_eq(pt_generator_set_state(g, pt_zeros(SHP(3), PT_F32)), PT_ERR);
    cr_expect(pt_error_pending() && strstr(pt_error(), "pt_generator_set_state"), "%s",
              pt_error());
    pt_generator_free(h);
    pt_generator_free(g);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- queries */

Test(ops, queries)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *t = pt_zeros(SHP(2, 3, 4), PT_F32);
    cr_expect_eq(pt_dtype_of(t), PT_F32);
    cr_expect_eq(pt_ndim(t), 3);
    cr_expect_eq(pt_numel(t), 24);
    cr_expect_eq(pt_size(t, 0), 2);
    cr_expect_eq(pt_size(t, -1), 4);
    cr_expect_eq(pt_size(t, -3), 2);
    cr_expect_eq(pt_device_of(t), PT_CPU);
    cr_expect_eq(pt_requires_grad(t), 0);
    int64_t sh[2] = {-7, -7};
    cr_expect_eq(pt_shape(t, sh, 2), 3, "shape returns ndim even when max_dims is smaller");
    cr_expect(sh[0] == 2 && sh[1] == 3);
    pt_error_clear();
    cr_expect_eq(pt_size(t, 3), -1);
    expect_error_mentions("size out of range", "pt_size", "dim 3", NULL);
    cr_expect_eq(pt_is_contiguous(t), 1);
    cr_expect_eq(pt_is_contiguous(pt_transpose(t, 0, 2)), 0);
    for (int dt = PT_U8; dt <= PT_BOOL; dt++) {
        pt_tensor *x = pt_ones(SHP(2), (pt_dtype)dt);
        cr_expect_eq(pt_dtype_of(x), (pt_dtype)dt, "dtype %s", pt_dtype_name((pt_dtype)dt));
        cr_expect_eq(pt_copy_to(x, (char[16]){0}, 2 * pt_dtype_size((pt_dtype)dt)), PT_OK,
                     "dtype_size(%s) disagrees with the tensor", pt_dtype_name((pt_dtype)dt));
    }
    cr_expect_str_eq(pt_dtype_name(PT_F32), "float32");
    cr_expect_str_eq(pt_dtype_name(PT_BF16), "bfloat16");
    cr_expect_str_eq(pt_dtype_name(PT_U8), "uint8");
    cr_expect_str_eq(pt_dtype_name(PT_BOOL), "bool");
    cr_expect_eq(pt_dtype_size(PT_F64), 8);
    cr_expect_eq(pt_dtype_size(PT_F16), 2);
    cr_expect_eq(pt_dtype_size(PT_I32), 4);
    /* The item accessors. */
    cr_expect_eq(item(pt_full(SHP(1, 1), -2.5, PT_F32)), -2.5);
    double v = 0;
    pt_error_clear();
    cr_expect_eq(pt_item(t, &v), PT_ERR, "item of 24 elements");
    expect_error_mentions("item", "pt_item", "one element", NULL);
    cr_expect(isnan(pt_item_or_nan(t)));
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, describe_string)
{
    /* pt.h: "float32[2, 3, 4]" - the dtype by pt_dtype_name, the sizes comma-separated. */
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    char buf[64];
    cr_expect_str_eq(pt_describe(pt_zeros(SHP(2, 3, 4), PT_F32), buf, sizeof buf),
                     "float32[2, 3, 4]");
    cr_expect_str_eq(pt_describe(pt_zeros(SHP(5), PT_I64), buf, sizeof buf), "int64[5]");
    cr_expect_str_eq(pt_describe(pt_scalar(1, PT_F64), buf, sizeof buf), "float64[]");
    cr_expect_str_eq(pt_describe(pt_zeros(SHP(1), PT_BOOL), buf, sizeof buf), "bool[1]");
    cr_expect_str_eq(pt_describe(NULL, buf, sizeof buf), "NULL");
    /* Truncated to n bytes including the terminator. */
    char small[5];
    cr_expect_str_eq(pt_describe(pt_zeros(SHP(2), PT_F32), small, sizeof small), "floa");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, data_ptr_needs_contiguous_and_copy_to_handles_any_layout)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *t = mk(VALS(0, 1, 2, 3, 4, 5), SHP(2, 3), PT_F32);
    const float *p = pt_data_ptr(t);
    cr_assert_not_null(p);
    cr_expect(p[4] == 4.0f);
    pt_tensor *tr = pt_transpose(t, 0, 1);
    pt_error_clear();
    cr_expect_null(pt_data_ptr(tr), "data_ptr of a transposed view must fail");
    expect_error_mentions("data_ptr", "pt_data_ptr", "not contiguous", NULL);
    float out[6];
    pt_error_clear();
    cr_assert_eq(pt_copy_to(tr, out, sizeof out), PT_OK, "%s", pt_error());
    const float want[6] = {0, 3, 1, 4, 2, 5};
    cr_expect_arr_eq(out, want, sizeof want, "copy_to writes the transposed view row-major");
    cr_expect_eq(pt_copy_to(tr, out, sizeof out - 4), PT_ERR);
    expect_error_mentions("copy_to size", "pt_copy_to", "20 bytes", "needs 24");
    /* The view shares storage with t: contiguous() copies, then data_ptr works. */
    pt_tensor *c = pt_contiguous(tr);
    const float *q = pt_data_ptr(c);
    cr_assert_not_null(q);
    cr_expect(q[1] == 3.0f && q[5] == 5.0f);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, in_place_updates)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *a = pt_zeros(SHP(3), PT_F64);
    cr_assert_eq(pt_fill_(a, 2), PT_OK);
    cr_assert_eq(pt_add_(a, pt_arange(0, 3, 1, PT_F64), 0.5), PT_OK);
    expect_vals(a, VALS(2, 2.5, 3), 0, "fill_ then add_ with alpha");
    cr_assert_eq(pt_mul_s_(a, -2), PT_OK);
    expect_vals(a, VALS(-4, -5, -6), 0, "mul_s_");
    pt_tensor *al = pt_alias(a);
    cr_assert_eq(pt_copy_(al, pt_full(SHP(1), 9, PT_F32)), PT_OK, "copy_ broadcasts and casts");
    expect_vals(a, VALS(9, 9, 9), 0, "alias shares the tensor");
    cr_assert_eq(pt_zero_(a), PT_OK);
    expect_vals(al, VALS(0, 0, 0), 0, "zero_");
    pt_error_clear();
    cr_expect_eq(pt_add_(a, pt_ones(SHP(4), PT_F64), 1), PT_ERR, "add_ of a wrong shape");
    expect_error_mentions("add_", "pt_add_", "4", NULL);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- views and indexing */

Test(ops, reshape_permute_transpose_and_friends)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = pt_reshape(pt_arange(0, 24, 1, PT_F32), SHP(2, 3, 4)); /* x[i,j,k]=12i+4j+k */
    pt_tensor *r = pt_reshape(x, SHP(4, -1));
    expect_shape(r, SHP(4, 6), "reshape -1");
    cr_expect_eq(tst_at(r, 6), 6.0);
    expect_shape(pt_flatten(x, 1, 2), SHP(2, 12), "flatten 1..2");
    expect_shape(pt_flatten(x, 0, -1), SHP(24), "flatten all");

    double want[24];
    int n = 0;
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                want[n++] = 12 * i + 4 * j + k;
    expect_tensor(pt_permute(x, SHP(2, 0, 1)), SHP(4, 2, 3), want, 24, 0, "permute (2,0,1)");
    n = 0;
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 3; j++)
            for (int i = 0; i < 2; i++)
                want[n++] = 12 * i + 4 * j + k;
    expect_tensor(pt_transpose(x, 0, 2), SHP(4, 3, 2), want, 24, 0, "transpose 0,2");

    pt_tensor *u = pt_unsqueeze(x, 1);
    expect_shape(u, SHP(2, 1, 3, 4), "unsqueeze 1");
    expect_shape(pt_unsqueeze(x, -1), SHP(2, 3, 4, 1), "unsqueeze -1");
    expect_shape(pt_squeeze(u, 1), SHP(2, 3, 4), "squeeze 1");
    expect_shape(pt_squeeze(x, 0), SHP(2, 3, 4), "squeeze of a non-1 dim is a no-op");

    pt_tensor *col = mk(VALS(1, 2, 3), SHP(3, 1), PT_F32);
    expect_tensor(pt_expand(col, SHP(3, 2)), SHP(3, 2), VALS(1, 1, 2, 2, 3, 3), 0, "expand");
    expect_tensor(pt_expand(col, SHP(2, -1, 2)), SHP(2, 3, 2),
                  VALS(1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3), 0, "expand with a new dim and -1");
    pt_tensor *row = mk(VALS(1, 2), SHP(1, 2), PT_F32);
    expect_tensor(pt_repeat(row, SHP(2, 2)), SHP(2, 4), VALS(1, 2, 1, 2, 1, 2, 1, 2), 0,
                  "repeat");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, narrow_slice_select_are_views)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = pt_reshape(pt_arange(0, 12, 1, PT_F64), SHP(3, 4));
    expect_tensor(pt_narrow(x, 1, 1, 2), SHP(3, 2), VALS(1, 2, 5, 6, 9, 10), 0, "narrow");
    expect_tensor(pt_slice(x, 1, 0, 4, 2), SHP(3, 2), VALS(0, 2, 4, 6, 8, 10), 0,
                  "slice step 2");
    expect_tensor(pt_slice(x, 0, 1, 3, 1), SHP(2, 4), VALS(4, 5, 6, 7, 8, 9, 10, 11), 0,
                  "slice rows");
    expect_tensor(pt_select(x, 0, 2), SHP(4), VALS(8, 9, 10, 11), 0, "select row");
    expect_tensor(pt_select(x, 1, -1), SHP(3), VALS(3, 7, 11), 0, "select last column");
    /* Views write through to the base. */
    cr_assert_eq(pt_fill_(pt_narrow(x, 0, 1, 1), -1), PT_OK);
    expect_vals(x, VALS(0, 1, 2, 3, -1, -1, -1, -1, 8, 9, 10, 11), 0, "narrow is a view");
    pt_error_clear();
    cr_expect_null(pt_narrow(x, 1, 3, 2), "narrow past the end");
    expect_error_mentions("narrow", "pt_narrow", NULL, NULL);
    pt_error_clear();
    cr_expect_null(pt_select(x, 0, 3), "select out of range");
    expect_error_mentions("select", "pt_select", "3", NULL);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, cat_and_stack)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *a = mk(VALS(1, 2, 3, 4), SHP(2, 2), PT_F32);
    pt_tensor *b = mk(VALS(5, 6), SHP(1, 2), PT_F32);
    pt_tensor *c = mk(VALS(7, 8), SHP(2, 1), PT_F32);
    expect_tensor(pt_cat((pt_tensor *[]){a, b}, 2, 0), SHP(3, 2), VALS(1, 2, 3, 4, 5, 6), 0,
                  "cat dim 0");
    expect_tensor(pt_cat((pt_tensor *[]){a, c}, 2, 1), SHP(2, 3), VALS(1, 2, 7, 3, 4, 8), 0,
                  "cat dim 1");
    expect_tensor(pt_cat((pt_tensor *[]){c, a}, 2, -1), SHP(2, 3), VALS(7, 1, 2, 8, 3, 4), 0,
                  "cat dim -1");
    pt_tensor *a2 = pt_mul_s(a, 10);
    expect_tensor(pt_stack((pt_tensor *[]){a, a2}, 2, 0), SHP(2, 2, 2),
                  VALS(1, 2, 3, 4, 10, 20, 30, 40), 0, "stack dim 0");
    expect_tensor(pt_stack((pt_tensor *[]){a, a2}, 2, 2), SHP(2, 2, 2),
                  VALS(1, 10, 2, 20, 3, 30, 4, 40), 0, "stack dim 2");
    pt_error_clear();
    cr_expect_null(pt_cat((pt_tensor *[]){a}, 0, 0), "cat of zero tensors");
    expect_error_mentions("cat of none", "pt_cat", NULL, NULL);
    pt_error_clear();
    cr_expect_null(pt_stack((pt_tensor *[]){a, b}, 2, 0), "stack of different shapes");
    expect_error_mentions("stack", "pt_stack", "[2, 2]", "[1, 2]");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, flip_and_rot90)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *m = mk(VALS(1, 2, 3, 4, 5, 6), SHP(2, 3), PT_F32);
    expect_tensor(pt_flip(m, SHP(1)), SHP(2, 3), VALS(3, 2, 1, 6, 5, 4), 0, "flip dim 1");
    expect_tensor(pt_flip(m, SHP(0)), SHP(2, 3), VALS(4, 5, 6, 1, 2, 3), 0, "flip dim 0");
    expect_tensor(pt_flip(m, SHP(0, 1)), SHP(2, 3), VALS(6, 5, 4, 3, 2, 1), 0, "flip both");
    /* torch.rot90 turns counter-clockwise from d0 towards d1. */
    expect_tensor(pt_rot90(m, 1, 0, 1), SHP(3, 2), VALS(3, 6, 2, 5, 1, 4), 0, "rot90 k=1");
    expect_tensor(pt_rot90(m, -1, 0, 1), SHP(3, 2), VALS(4, 1, 5, 2, 6, 3), 0, "rot90 k=-1");
    expect_tensor(pt_rot90(m, 3, 0, 1), SHP(3, 2), VALS(4, 1, 5, 2, 6, 3), 0, "rot90 k=3");
    expect_tensor(pt_rot90(m, 2, 0, 1), SHP(2, 3), VALS(6, 5, 4, 3, 2, 1), 0, "rot90 k=2");
    expect_tensor(pt_rot90(m, 1, 1, 0), SHP(3, 2), VALS(4, 1, 5, 2, 6, 3), 0,
                  "rot90 with swapped dims turns the other way");
    pt_tensor *img = pt_reshape(m, SHP(1, 1, 2, 3));
    expect_tensor(pt_rot90(img, 1, 2, 3), SHP(1, 1, 3, 2), VALS(3, 6, 2, 5, 1, 4), 0,
                  "rot90 on the spatial dims of NCHW");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, index_select_gather_embedding)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = mk(VALS(1, 2, 3, 4, 5, 6, 7, 8, 9), SHP(3, 3), PT_F32);
    expect_tensor(pt_index_select(x, 0, mk(VALS(2, 0), SHP(2), PT_I64)), SHP(2, 3),
                  VALS(7, 8, 9, 1, 2, 3), 0, "index_select rows");
    expect_tensor(pt_index_select(x, 1, mk(VALS(1, 1), SHP(2), PT_I64)), SHP(3, 2),
                  VALS(2, 2, 5, 5, 8, 8), 0, "index_select columns, repeated");
    expect_tensor(pt_gather(x, 1, mk(VALS(0, 2, 1, 0, 2, 2), SHP(3, 2), PT_I64)), SHP(3, 2),
                  VALS(1, 3, 5, 4, 9, 9), 0, "gather dim 1");
    expect_tensor(pt_gather(x, 0, mk(VALS(2, 1, 0), SHP(1, 3), PT_I64)), SHP(1, 3),
                  VALS(7, 5, 3), 0, "gather dim 0");
    expect_tensor(pt_embedding(x, mk(VALS(2, 0), SHP(2, 1), PT_I64)), SHP(2, 1, 3),
                  VALS(7, 8, 9, 1, 2, 3), 0, "embedding");
    pt_error_clear();
    cr_expect_null(pt_index_select(x, 0, mk(VALS(3), SHP(1), PT_I64)), "index 3 of 3 rows");
    expect_error_mentions("index_select", "pt_index_select", NULL, NULL);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, scatter_scatter_add_index_add)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *z = pt_zeros(SHP(2, 4), PT_F32);
    pt_tensor *idx = mk(VALS(0, 3, 2, 1), SHP(2, 2), PT_I64);
    pt_tensor *src = mk(VALS(1, 2, 3, 4), SHP(2, 2), PT_F32);
    expect_tensor(pt_scatter(z, 1, idx, src), SHP(2, 4), VALS(1, 0, 0, 2, 0, 4, 3, 0), 0,
                  "scatter");
    expect_vals(z, VALS(0, 0, 0, 0, 0, 0, 0, 0), 0, "scatter is out of place");
    pt_tensor *z1 = pt_full(SHP(1, 3), 10, PT_F32);
    expect_tensor(pt_scatter_add(z1, 1, mk(VALS(0, 0, 2, 0), SHP(1, 4), PT_I64),
                                 mk(VALS(1, 2, 3, 4), SHP(1, 4), PT_F32)),
                  SHP(1, 3), VALS(17, 10, 13), 0, "scatter_add sums duplicates onto the base");
    expect_tensor(pt_index_add(pt_zeros(SHP(3, 2), PT_F64), 0,
                               mk(VALS(0, 2, 0), SHP(3), PT_I64),
                               mk(VALS(1, 2, 3, 4, 5, 6), SHP(3, 2), PT_F64)),
                  SHP(3, 2), VALS(6, 8, 0, 0, 3, 4), 0, "index_add");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, masks_where_nonzero)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = mk(VALS(1, -2, 3, -4), SHP(2, 2), PT_F32);
    pt_tensor *pos = pt_gt_s(x, 0);
    cr_expect_eq(pt_dtype_of(pos), PT_BOOL);
    expect_tensor(pt_masked_select(x, pos), SHP(2), VALS(1, 3), 0, "masked_select");
    expect_tensor(pt_masked_fill(x, pos, 0.5), SHP(2, 2), VALS(0.5, -2, 0.5, -4), 0,
                  "masked_fill");
    expect_vals(x, VALS(1, -2, 3, -4), 0, "masked_fill is out of place");
    expect_tensor(pt_where(pos, x, pt_neg(x)), SHP(2, 2), VALS(1, 2, 3, 4), 0, "where");
    /* where broadcasts a row condition and a 0-dim value. */
    pt_tensor *rowcond = mk(VALS(1, 0), SHP(2), PT_BOOL);
    expect_tensor(pt_where(rowcond, x, pt_scalar(9, PT_F32)), SHP(2, 2), VALS(1, 9, 3, 9), 0,
                  "where broadcast");
    pt_tensor *nz = pt_nonzero(pos);
    cr_expect_eq(pt_dtype_of(nz), PT_I64);
    expect_tensor(nz, SHP(2, 2), VALS(0, 0, 1, 0), 0, "nonzero gives [n, ndim] coordinates");
    expect_shape(pt_nonzero(pt_zeros(SHP(3), PT_F32)), SHP(0, 1), "nonzero of zeros");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, topk_sort_argsort_argmax_argmin)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *v = mk(VALS(3, 1, 4, 1, 5, 9, 2, 6), SHP(8), PT_F32);
    pt_tensor *val = NULL, *ind = NULL;
    cr_assert_eq(pt_topk(v, 3, 0, 1, 1, &val, &ind), PT_OK, "%s", pt_error());
    expect_vals(val, VALS(9, 6, 5), 0, "topk largest values");
    expect_vals(ind, VALS(5, 7, 4), 0, "topk largest indices");
    cr_expect_eq(pt_dtype_of(ind), PT_I64);
    cr_assert_eq(pt_topk(v, 3, 0, 0, 1, &val, NULL), PT_OK);
    expect_vals(val, VALS(1, 1, 2), 0, "topk smallest");

    cr_assert_eq(pt_sort(v, 0, 0, &val, &ind), PT_OK);
    expect_vals(val, VALS(1, 1, 2, 3, 4, 5, 6, 9), 0, "sort ascending");
    /* Ties (the two 1s at 1 and 3) may come in any order; the rest is fixed. */
    cr_expect(tst_at(ind, 0) + tst_at(ind, 1) == 4 && tst_at(ind, 0) != tst_at(ind, 1));
    cr_expect(tst_at(ind, 2) == 6 && tst_at(ind, 3) == 0 && tst_at(ind, 7) == 5);
    expect_vals(pt_gather(v, 0, ind), VALS(1, 1, 2, 3, 4, 5, 6, 9), 0, "v[sort indices]");
    cr_assert_eq(pt_sort(v, 0, 1, &val, NULL), PT_OK);
    expect_vals(val, VALS(9, 6, 5, 4, 3, 2, 1, 1), 0, "sort descending");
    pt_tensor *as = pt_argsort(v, 0, 1);
    cr_expect(tst_at(as, 0) == 5 && tst_at(as, 1) == 7 && tst_at(as, 5) == 6);

    pt_tensor *m = mk(VALS(1, 5, 2, 7, 0, 3), SHP(2, 3), PT_F32);
    expect_tensor(pt_argmax(m, 1, 0), SHP(2), VALS(1, 0), 0, "argmax dim 1");
    expect_tensor(pt_argmax(m, 0, 0), SHP(3), VALS(1, 0, 1), 0, "argmax dim 0");
    expect_tensor(pt_argmax(m, -1, 1), SHP(2, 1), VALS(1, 0), 0, "argmax keepdim");
    expect_tensor(pt_argmin(m, 1, 0), SHP(2), VALS(0, 1), 0, "argmin dim 1");
    /* Row-wise sort of a matrix. */
    cr_assert_eq(pt_sort(m, 1, 0, &val, &ind), PT_OK);
    expect_vals(val, VALS(1, 2, 5, 0, 3, 7), 0, "sort rows");
    expect_vals(ind, VALS(0, 2, 1, 1, 2, 0), 0, "sort rows indices");
    pt_error_clear();
    cr_expect_eq(pt_topk(v, 9, 0, 1, 1, &val, &ind), PT_ERR, "k larger than the dim");
    expect_error_mentions("topk", "pt_topk", NULL, NULL);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, one_hot)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *oh = pt_one_hot(mk(VALS(0, 2, 1), SHP(3), PT_I64), 3);
    cr_expect_eq(pt_dtype_of(oh), PT_I64);
    expect_tensor(oh, SHP(3, 3), VALS(1, 0, 0, 0, 0, 1, 0, 1, 0), 0, "one_hot");
    expect_tensor(pt_one_hot(mk(VALS(1, 0), SHP(2, 1), PT_I64), 4), SHP(2, 1, 4),
                  VALS(0, 1, 0, 0, 1, 0, 0, 0), 0, "one_hot adds a last dim");
    pt_error_clear();
    cr_expect_null(pt_one_hot(mk(VALS(0, 3), SHP(2), PT_I64), 3), "class 3 of 3");
    expect_error_mentions("one_hot", "pt_one_hot", NULL, NULL);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- elementwise */

Test(ops, elementwise_binary_and_scalar)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *a = mk(VALS(1, 2, 3, 4), SHP(2, 2), PT_F64);
    pt_tensor *b = mk(VALS(10, 20), SHP(2), PT_F64); /* broadcasts along rows */
    expect_tensor(pt_add(a, b), SHP(2, 2), VALS(11, 22, 13, 24), 0, "add broadcast");
    expect_vals(pt_sub(a, b), VALS(-9, -18, -7, -16), 0, "sub");
    expect_vals(pt_mul(a, b), VALS(10, 40, 30, 80), 0, "mul");
    expect_vals(pt_div(b, a), VALS(10, 10, 10.0 / 3, 5), 1e-15, "div");
    expect_vals(pt_pow(a, mk(VALS(2, 0.5), SHP(2), PT_F64)), VALS(1, sqrt(2), 9, 2), 1e-15,
                "pow");
    pt_tensor *h = pt_full(SHP(2), 2.5, PT_F64);
    expect_vals(pt_maximum(a, h), VALS(2.5, 2.5, 3, 4), 0, "maximum");
    expect_vals(pt_minimum(a, h), VALS(1, 2, 2.5, 2.5), 0, "minimum");
    expect_vals(pt_atan2(mk(VALS(1, -1, 0), SHP(3), PT_F64), mk(VALS(-1, -1, 2), SHP(3), PT_F64)),
                VALS(0.75 * PI, -0.75 * PI, 0), 1e-15, "atan2(y, x)");
    expect_vals(pt_add_s(a, 0.5), VALS(1.5, 2.5, 3.5, 4.5), 0, "add_s");
    expect_vals(pt_sub_s(a, 0.5), VALS(0.5, 1.5, 2.5, 3.5), 0, "sub_s");
    expect_vals(pt_rsub_s(a, 10), VALS(9, 8, 7, 6), 0, "rsub_s is s - a");
    expect_vals(pt_mul_s(a, -3), VALS(-3, -6, -9, -12), 0, "mul_s");
    expect_vals(pt_div_s(a, 4), VALS(0.25, 0.5, 0.75, 1), 0, "div_s");
    expect_vals(pt_pow_s(a, 3), VALS(1, 8, 27, 64), 0, "pow_s");
    expect_vals(pt_pow_s(a, -1), VALS(1, 0.5, 1.0 / 3, 0.25), 1e-15, "pow_s -1");
    expect_vals(pt_clamp(a, 2, 3), VALS(2, 2, 3, 3), 0, "clamp");
    expect_vals(pt_clamp(a, NAN, 2.5), VALS(1, 2, 2.5, 2.5), 0, "clamp max only");
    expect_vals(pt_clamp(a, 2.5, NAN), VALS(2.5, 2.5, 3, 4), 0, "clamp min only");
    pt_tensor *same = pt_clamp(a, NAN, NAN);
    expect_vals(same, VALS(1, 2, 3, 4), 0, "clamp without bounds");
    pt_fill_(same, 0);
    expect_vals(a, VALS(1, 2, 3, 4), 0, "clamp without bounds returns a copy");
    /* Type promotion as in PyTorch: int64 tensor + float32 tensor is float32. */
    pt_tensor *pr = pt_add(mk(VALS(1, 2), SHP(2), PT_I64), mk(VALS(0.5, 0.25), SHP(2), PT_F32));
    cr_expect_eq(pt_dtype_of(pr), PT_F32);
    expect_vals(pr, VALS(1.5, 2.25), 0, "promotion");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, comparisons_and_logic)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *a = mk(VALS(1, 2, 3), SHP(3), PT_F32), *b = mk(VALS(3, 2, 1), SHP(3), PT_F32);
    pt_tensor *eq = pt_eq(a, b);
    cr_expect_eq(pt_dtype_of(eq), PT_BOOL);
    expect_vals(eq, VALS(0, 1, 0), 0, "eq");
    expect_vals(pt_ne(a, b), VALS(1, 0, 1), 0, "ne");
    expect_vals(pt_lt(a, b), VALS(1, 0, 0), 0, "lt");
    expect_vals(pt_le(a, b), VALS(1, 1, 0), 0, "le");
    expect_vals(pt_gt(a, b), VALS(0, 0, 1), 0, "gt");
    expect_vals(pt_ge(a, b), VALS(0, 1, 1), 0, "ge");
    expect_vals(pt_eq_s(a, 2), VALS(0, 1, 0), 0, "eq_s");
    expect_vals(pt_ne_s(a, 2), VALS(1, 0, 1), 0, "ne_s");
    expect_vals(pt_lt_s(a, 2), VALS(1, 0, 0), 0, "lt_s");
    expect_vals(pt_le_s(a, 2), VALS(1, 1, 0), 0, "le_s");
    expect_vals(pt_gt_s(a, 2), VALS(0, 0, 1), 0, "gt_s");
    expect_vals(pt_ge_s(a, 2), VALS(0, 1, 1), 0, "ge_s");
    pt_tensor *p = mk(VALS(1, 1, 0, 0), SHP(4), PT_BOOL);
    pt_tensor *q = mk(VALS(1, 0, 1, 0), SHP(4), PT_BOOL);
    expect_vals(pt_logical_and(p, q), VALS(1, 0, 0, 0), 0, "and");
    expect_vals(pt_logical_or(p, q), VALS(1, 1, 1, 0), 0, "or");
    expect_vals(pt_logical_not(p), VALS(0, 0, 1, 1), 0, "not");
    cr_expect_eq(item(pt_any(q)), 1.0);
    cr_expect_eq(item(pt_all(q)), 0.0);
    cr_expect_eq(item(pt_all(pt_logical_or(p, pt_logical_not(p)))), 1.0);
    cr_expect_eq(item(pt_any(pt_zeros(SHP(3), PT_BOOL))), 0.0);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, unary_math)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *s = mk(VALS(-1.5, -0.5, 0.5, 2.5), SHP(4), PT_F64);
    expect_vals(pt_neg(s), VALS(1.5, 0.5, -0.5, -2.5), 0, "neg");
    expect_vals(pt_abs(s), VALS(1.5, 0.5, 0.5, 2.5), 0, "abs");
    expect_vals(pt_floor(s), VALS(-2, -1, 0, 2), 0, "floor");
    expect_vals(pt_ceil(s), VALS(-1, 0, 1, 3), 0, "ceil");
    expect_vals(pt_round(s), VALS(-2, 0, 0, 2), 0, "round half to even");
    expect_vals(pt_sign(mk(VALS(-3, 0, 2), SHP(3), PT_F64)), VALS(-1, 0, 1), 0, "sign");
    const double y[3] = {0.25, 1, 4};
    pt_tensor *p = mk(y, 3, SHP(3), PT_F64);
    double w[3];
#define UNARY(fn, expr, label)                                                                   \
    do {                                                                                         \
        for (int i = 0; i < 3; i++) {                                                            \
            double v = y[i];                                                                     \
            w[i] = (expr);                                                                       \
        }                                                                                        \
        expect_vals(fn(p), w, 3, 1e-14, label);                                                  \
    } while (0)
    UNARY(pt_exp, exp(v), "exp");
    UNARY(pt_log, log(v), "log");
    UNARY(pt_log1p, log1p(v), "log1p");
    UNARY(pt_sqrt, sqrt(v), "sqrt");
    UNARY(pt_rsqrt, 1 / sqrt(v), "rsqrt");
    UNARY(pt_square, v * v, "square");
    UNARY(pt_reciprocal, 1 / v, "reciprocal");
    UNARY(pt_sin, sin(v), "sin");
    UNARY(pt_cos, cos(v), "cos");
    UNARY(pt_tanh, tanh(v), "tanh");
#undef UNARY
    pt_tensor *odd = mk(VALS(1, NAN, INFINITY, -INFINITY), SHP(4), PT_F32);
    expect_vals(pt_isnan(odd), VALS(0, 1, 0, 0), 0, "isnan");
    expect_vals(pt_isfinite(odd), VALS(1, 0, 0, 0), 0, "isfinite");
    cr_expect_eq(pt_dtype_of(pt_isnan(odd)), PT_BOOL);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- reductions */

Test(ops, reductions)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *m = mk(VALS(1, 2, 3, 4, 5, 6), SHP(2, 3), PT_F64);
    cr_expect_eq(item(pt_sum(m)), 21);
    cr_expect_eq(item(pt_mean(m)), 3.5);
    cr_expect_eq(item(pt_max(m)), 6);
    cr_expect_eq(item(pt_min(m)), 1);
    cr_expect_eq(pt_ndim(pt_sum(m)), 0, "whole-tensor reductions are 0-dim");
    expect_tensor(pt_sum_dims(m, SHP(0), 0), SHP(3), VALS(5, 7, 9), 0, "sum dim 0");
    expect_tensor(pt_sum_dims(m, SHP(1), 1), SHP(2, 1), VALS(6, 15), 0, "sum dim 1 keepdim");
    expect_tensor(pt_sum_dims(m, SHP(0, 1), 0), NULL, 0, VALS(21), 0, "sum dims 0,1");
    expect_tensor(pt_mean_dims(m, SHP(-1), 0), SHP(2), VALS(2, 5), 0, "mean dim -1");
    expect_tensor(pt_amax(m, SHP(0), 0), SHP(3), VALS(4, 5, 6), 0, "amax dim 0");
    expect_tensor(pt_amax(m, SHP(0, 1), 1), SHP(1, 1), VALS(6), 0, "amax all keepdim");
    expect_tensor(pt_amin(m, SHP(1), 0), SHP(2), VALS(1, 4), 0, "amin dim 1");
    expect_vals(pt_var_dims(m, SHP(1), 1, 0), VALS(1, 1), 1e-15, "var unbiased dim 1");
    expect_vals(pt_var_dims(m, SHP(1), 0, 0), VALS(2.0 / 3, 2.0 / 3), 1e-15, "var biased");
    expect_tensor(pt_var_dims(m, SHP(0), 1, 1), SHP(1, 3), VALS(4.5, 4.5, 4.5), 1e-15,
                  "var unbiased dim 0 keepdim");
    expect_vals(pt_var_dims(m, SHP(0, 1), 1, 0), VALS(3.5), 1e-15, "var over all");
    cr_expect_float_eq(item(pt_norm(m, 2, NULL, 0, 0)), sqrt(91.0), 1e-14, "2-norm");
    expect_vals(pt_norm(m, 1, SHP(1), 0), VALS(6, 15), 1e-14, "1-norm dim 1");
    expect_vals(pt_norm(pt_neg(m), INFINITY, SHP(1), 0), VALS(3, 6), 0, "inf-norm dim 1");
    expect_tensor(pt_logsumexp(m, 1, 0), SHP(2),
                  VALS(log(exp(1) + exp(2) + exp(3)), log(exp(4) + exp(5) + exp(6))), 1e-14,
                  "logsumexp");
    expect_tensor(pt_logsumexp(mk(VALS(1000, 1000), SHP(1, 2), PT_F64), 1, 1), SHP(1, 1),
                  VALS(1000 + log(2)), 1e-12, "logsumexp does not overflow");
    expect_tensor(pt_cumsum(m, 1), SHP(2, 3), VALS(1, 3, 6, 4, 9, 15), 0, "cumsum dim 1");
    expect_vals(pt_cumsum(m, 0), VALS(1, 2, 3, 5, 7, 9), 0, "cumsum dim 0");
    pt_error_clear();
    cr_expect_null(pt_sum_dims(m, SHP(2), 0), "dim 2 of a 2-d tensor");
    expect_error_mentions("sum_dims", "pt_sum_dims", NULL, NULL);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- linear algebra */

Test(ops, matmul_and_bmm)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *a = mk(VALS(1, 2, 3, 4, 5, 6), SHP(2, 3), PT_F32);
    pt_tensor *b = mk(VALS(7, 8, 9, 10, 11, 12), SHP(3, 2), PT_F32);
    expect_tensor(pt_matmul(a, b), SHP(2, 2), VALS(58, 64, 139, 154), 0, "matmul");
    expect_tensor(pt_matmul(a, mk(VALS(1, 0, -1), SHP(3), PT_F32)), SHP(2), VALS(-2, -2), 0,
                  "matrix-vector");
    pt_tensor *ba = mk(VALS(1, 2, 5, 6), SHP(2, 1, 2), PT_F64);
    pt_tensor *bb = mk(VALS(3, 4, 7, 8), SHP(2, 2, 1), PT_F64);
    expect_tensor(pt_bmm(ba, bb), SHP(2, 1, 1), VALS(11, 83), 0, "bmm");
    /* matmul broadcasts a batch against a matrix */
    expect_tensor(pt_matmul(ba, mk(VALS(1, 1, 0, 1), SHP(2, 2), PT_F64)), SHP(2, 1, 2),
                  VALS(1, 3, 5, 11), 0, "batched matmul");
    pt_error_clear();
    cr_expect_null(pt_bmm(ba, ba), "bmm [2,1,2]x[2,1,2]");
    expect_error_mentions("bmm", "pt_bmm", NULL, NULL);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, sparse_mm_equals_dense_matmul)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    /* (0,1) appears twice: the values sum, as for an adjacency built from an edge list. */
    pt_tensor *ind = mk(VALS(0, 1, 1, 2, 0, /**/ 1, 0, 2, 2, 1), SHP(2, 5), PT_I64);
    pt_tensor *val = mk(VALS(1, 2, 3, 4, 5), SHP(5), PT_F64);
    pt_tensor *s = pt_sparse_coo(ind, val, 3, 3);
    cr_assert_not_null(s, "%s", pt_error());
    pt_tensor *dense = pt_to_dense(s);
    expect_tensor(dense, SHP(3, 3), VALS(0, 6, 0, 2, 0, 3, 0, 0, 4), 0, "to_dense");
    pt_tensor *x = mk(VALS(1, 2, 3, 4, 5, 6), SHP(3, 2), PT_F64);
    pt_tensor *sx = pt_sparse_mm(s, x);
    expect_tensor(sx, SHP(3, 2), VALS(18, 24, 17, 22, 20, 24), 0, "sparse_mm by hand");
    pt_tensor *rnd = wavy(SHP(3, 5), 0.3);
    cr_expect_lt(diff(pt_sparse_mm(s, rnd), pt_matmul(dense, rnd)), 1e-14,
                 "sparse_mm differs from the dense product");
    /* A rectangular adjacency. */
    pt_tensor *s2 = pt_sparse_coo(mk(VALS(0, 1, 3, 0), SHP(2, 2), PT_I64),
                                  mk(VALS(2, -1), SHP(2), PT_F64), 2, 4);
    pt_tensor *y = wavy(SHP(4, 3), 1.1);
    pt_tensor *sy = pt_sparse_mm(s2, y);
    expect_shape(sy, SHP(2, 3), "sparse [2,4] x [4,3]");
    cr_expect_lt(diff(sy, pt_matmul(pt_to_dense(s2), y)), 1e-14);
    pt_error_clear();
    cr_expect_null(pt_sparse_coo(mk(VALS(0, 5), SHP(2, 1), PT_I64), mk(VALS(1), SHP(1), PT_F64),
                                 3, 3),
                   "column index 5 of 3");
    expect_error_mentions("sparse_coo", "pt_sparse_coo", NULL, NULL);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- convolutions */

Test(ops, conv2d_stride_padding_by_hand)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = mk(VALS(1, 2, 3, 4, 5, 6, 7, 8, 9), SHP(1, 1, 3, 3), PT_F32);
    /* out channel 0: p[2i][2j] - p[2i+1][2j+1] + 0.5; channel 1: p[2i][2j+1] + p[2i+1][2j]
     * over the zero-padded input p (5x5, the 3x3 image at offset 1). */
    pt_tensor *w = mk(VALS(1, 0, 0, -1, /**/ 0, 1, 1, 0), SHP(2, 1, 2, 2), PT_F32);
    pt_tensor *b = mk(VALS(0.5, 0), SHP(2), PT_F32);
    pt_tensor *y = pt_conv2d(x, w, b, (int64_t[]){2, 2}, (int64_t[]){1, 1}, (int64_t[]){1, 1}, 1);
    expect_tensor(y, SHP(1, 2, 2, 2), VALS(-0.5, -2.5, -6.5, -3.5, /**/ 0, 2, 4, 14), 0,
                  "conv2d stride 2 padding 1");
    const int64_t one[2] = {1, 1}, zero[2] = {0, 0};
    pt_tensor *y0 = pt_conv2d(x, w, NULL, one, zero, one, 1);
    expect_tensor(y0, SHP(1, 2, 2, 2), VALS(-4, -4, -4, -4, /**/ 6, 8, 12, 14), 0,
                  "conv2d no padding, no bias");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* Direct convolution, NCHW / OIHW, double. */
static void naive_conv2d(const double *x, int64_t n, int64_t c, int64_t h, int64_t wd,
                         const double *w, int64_t o, int64_t kh, int64_t kw, const double *bias,
                         const int64_t st[2], const int64_t pad[2], const int64_t dil[2],
                         int64_t groups, double *out, int64_t oh, int64_t ow)
{
    int64_t cg = c / groups, og = o / groups;
    for (int64_t b = 0; b < n; b++)
        for (int64_t oc = 0; oc < o; oc++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                    double acc = bias ? bias[oc] : 0;
                    int64_t g = oc / og;
                    for (int64_t ic = 0; ic < cg; ic++)
                        for (int64_t u = 0; u < kh; u++)
                            for (int64_t v = 0; v < kw; v++) {
                                int64_t yy = i * st[0] - pad[0] + u * dil[0];
                                int64_t xx = j * st[1] - pad[1] + v * dil[1];
                                if (yy < 0 || yy >= h || xx < 0 || xx >= wd)
                                    continue;
                                acc += x[((b * c + g * cg + ic) * h + yy) * wd + xx] *
                                       w[((oc * cg + ic) * kh + u) * kw + v];
                            }
                    out[((b * o + oc) * oh + i) * ow + j] = acc;
                }
}

Test(ops, conv2d_dilation_groups_against_a_direct_loop)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    const int64_t st[2] = {2, 1}, pad[2] = {1, 2}, dil[2] = {2, 1};
    pt_tensor *x = wavy(SHP(2, 4, 6, 5), 0.1);
    pt_tensor *w = wavy(SHP(6, 2, 3, 2), 0.7);
    pt_tensor *b = wavy(SHP(6), 2.0);
    pt_tensor *y = pt_conv2d(x, w, b, st, pad, dil, 2);
    /* oh = (6 + 2 - 2*(3-1) - 1)/2 + 1 = 2; ow = (5 + 4 - 1*(2-1) - 1)/1 + 1 = 8 */
    expect_shape(y, SHP(2, 6, 2, 8), "conv2d groups=2 shape");
    double want[2 * 6 * 2 * 8];
    naive_conv2d(pt_data_ptr(x), 2, 4, 6, 5, pt_data_ptr(w), 6, 3, 2, pt_data_ptr(b), st, pad,
                 dil, 2, want, 2, 8);
    expect_vals(y, want, 2 * 6 * 2 * 8, 1e-12, "conv2d vs direct loop");
    /* Depthwise (groups = channels). */
    pt_tensor *wd = wavy(SHP(4, 1, 3, 3), 1.3);
    const int64_t one[2] = {1, 1};
    pt_tensor *yd = pt_conv2d(x, wd, NULL, one, one, one, 4);
    expect_shape(yd, SHP(2, 4, 6, 5), "depthwise shape");
    double wantd[2 * 4 * 6 * 5];
    naive_conv2d(pt_data_ptr(x), 2, 4, 6, 5, pt_data_ptr(wd), 4, 3, 3, NULL, one, one, one, 4,
                 wantd, 6, 5);
    expect_vals(yd, wantd, 2 * 4 * 6 * 5, 1e-12, "depthwise vs direct loop");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, conv_transpose2d_shape_and_values)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    const int64_t one[2] = {1, 1}, two[2] = {2, 2}, zero[2] = {0, 0};
    pt_tensor *x = mk(VALS(1, 2, 3, 4), SHP(1, 1, 2, 2), PT_F32);
    /* weight [in, out/groups, kh, kw]: out channel 1 is twice channel 0, bias 0 and 1. */
    pt_tensor *w = mk(VALS(1, 1, 1, 1, 2, 2, 2, 2), SHP(1, 2, 2, 2), PT_F32);
    pt_tensor *b = mk(VALS(0, 1), SHP(2), PT_F32);
    pt_tensor *y = pt_conv_transpose2d(x, w, b, two, zero, zero, 1, one);
    expect_tensor(y, SHP(1, 2, 4, 4),
                  VALS(1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4, /**/ 3, 3, 5, 5, 3, 3, 5,
                       5, 7, 7, 9, 9, 7, 7, 9, 9),
                  0, "conv_transpose2d stride 2: each input spreads to a 2x2 block");
    pt_tensor *y1 = pt_conv_transpose2d(x, pt_narrow(w, 1, 0, 1), NULL, one, zero, zero, 1, one);
    expect_tensor(y1, SHP(1, 1, 3, 3), VALS(1, 3, 2, 4, 10, 6, 3, 7, 4), 0,
                  "conv_transpose2d stride 1: overlapping sums");
    /* H_out = (H-1)*stride - 2*pad + dil*(k-1) + output_padding + 1 = 4 - 2 + 2 + 1 + 1 = 6.
     * With ones everywhere, out[y][x] = r[y] r[x], r = {1,2,1,2,1,1} counting the taps. */
    pt_tensor *y2 = pt_conv_transpose2d(pt_ones(SHP(1, 1, 3, 3), PT_F32),
                                        pt_ones(SHP(1, 1, 3, 3), PT_F32), NULL, two, one, one, 1,
                                        one);
    expect_shape(y2, SHP(1, 1, 6, 6), "conv_transpose2d with padding and output_padding");
    const double r[6] = {1, 2, 1, 2, 1, 1};
    double want[36];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            want[i * 6 + j] = r[i] * r[j];
    expect_vals(y2, want, 36, 0, "conv_transpose2d output_padding values");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, linear)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = mk(VALS(1, 2, 3, 4, 5, 6), SHP(2, 3), PT_F32);
    pt_tensor *w = mk(VALS(1, 0, -1, 0.5, 0.5, 0.5), SHP(2, 3), PT_F32);
    pt_tensor *b = mk(VALS(10, -1), SHP(2), PT_F32);
    expect_tensor(pt_linear(x, w, b), SHP(2, 2), VALS(8, 2, 8, 6.5), 0, "linear x W^T + b");
    expect_vals(pt_linear(x, w, NULL), VALS(-2, 3, -2, 7.5), 0, "linear without bias");
    expect_shape(pt_linear(pt_reshape(x, SHP(2, 1, 3)), w, b), SHP(2, 1, 2),
                 "linear over leading dims");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- normalisation */

Test(ops, batch_norm_train_updates_running_stats_and_eval_uses_them)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    /* x [N=2, C=2, 1, 2]: channel 0 holds 1,2,3,4 (mean 2.5, var 1.25, unbiased 5/3);
     * channel 1 holds 2,4,6,8 (mean 5, var 5, unbiased 20/3). */
    pt_tensor *x = mk(VALS(1, 2, 2, 4, 3, 4, 6, 8), SHP(2, 2, 1, 2), PT_F64);
    pt_tensor *w = mk(VALS(2, 1), SHP(2), PT_F64), *b = mk(VALS(0, 1), SHP(2), PT_F64);
    pt_tensor *rm = pt_zeros(SHP(2), PT_F64), *rv = pt_ones(SHP(2), PT_F64);
    const double eps = 1e-5, mom = 0.1;
    pt_tensor *y = pt_batch_norm(x, w, b, rm, rv, 1, mom, eps);
    const double s0 = sqrt(1.25 + eps), s1 = sqrt(5 + eps);
    expect_tensor(y, SHP(2, 2, 1, 2),
                  VALS(2 * (1 - 2.5) / s0, 2 * (2 - 2.5) / s0, (2 - 5) / s1 + 1, (4 - 5) / s1 + 1,
                       2 * (3 - 2.5) / s0, 2 * (4 - 2.5) / s0, (6 - 5) / s1 + 1, (8 - 5) / s1 + 1),
                  1e-12, "batch_norm train uses batch statistics");
    const double rm1[2] = {mom * 2.5, mom * 5};
    const double rv1[2] = {(1 - mom) + mom * 5.0 / 3, (1 - mom) + mom * 20.0 / 3};
    expect_vals(rm, rm1, 2, 1e-15, "running_mean = (1-m) rm + m mean");
    expect_vals(rv, rv1, 2, 1e-15, "running_var = (1-m) rv + m unbiased var");
    const double rm_now[2] = {tst_at(rm, 0), tst_at(rm, 1)};
    const double rv_now[2] = {tst_at(rv, 0), tst_at(rv, 1)};
    /* eval: normalise with the running statistics, leave them alone */
    pt_tensor *ye = pt_batch_norm(x, w, b, rm, rv, 0, mom, eps);
    double want[8];
    const double xs[8] = {1, 2, 2, 4, 3, 4, 6, 8}, ws[2] = {2, 1}, bs[2] = {0, 1};
    for (int i = 0; i < 8; i++) {
        int c = (i / 2) % 2;
        want[i] = (xs[i] - rm1[c]) / sqrt(rv1[c] + eps) * ws[c] + bs[c];
    }
    expect_vals(ye, want, 8, 1e-12, "batch_norm eval uses running statistics");
    expect_vals(rm, rm_now, 2, 0, "eval leaves running_mean");
    expect_vals(rv, rv_now, 2, 0, "eval leaves running_var");
    /* A second training step moves the stats again. */
    pt_free(pt_batch_norm(x, w, b, rm, rv, 1, mom, eps));
    expect_vals(rm, VALS(0.9 * rm1[0] + 0.25, 0.9 * rm1[1] + 0.5), 1e-15, "second update");
    /* Training without running stats or affine parameters is allowed. */
    pt_tensor *yn = pt_batch_norm(x, NULL, NULL, NULL, NULL, 1, mom, eps);
    expect_vals(yn, VALS((1 - 2.5) / s0, (2 - 2.5) / s0, (2 - 5) / s1, (4 - 5) / s1,
                         (3 - 2.5) / s0, (4 - 2.5) / s0, (6 - 5) / s1, (8 - 5) / s1),
                1e-12, "batch_norm without stats");
    pt_error_clear();
    cr_expect_null(pt_batch_norm(x, NULL, NULL, NULL, NULL, 0, mom, eps),
                   "eval needs running statistics");
    expect_error_mentions("batch_norm eval", "pt_batch_norm", NULL, NULL);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* Per-row mean and biased variance of t viewed as [rows, -1]. */
static void expect_normalised(const pt_tensor *t, int64_t rows, double tol, const char *what)
{
    pt_tensor *r = pt_reshape(t, (int64_t[]){rows, -1}, 2);
    pt_tensor *m = pt_mean_dims(r, (int64_t[]){1}, 1, 0);
    pt_tensor *v = pt_var_dims(r, (int64_t[]){1}, 1, 0, 0);
    for (int64_t i = 0; i < rows; i++) {
        cr_expect_lt(fabs(tst_at(m, i)), tol, "%s: group %lld mean %g", what, (long long)i,
                     tst_at(m, i));
        cr_expect_lt(fabs(tst_at(v, i) - 1), tol, "%s: group %lld var %g", what, (long long)i,
                     tst_at(v, i));
    }
    pt_free(v);
    pt_free(m);
    pt_free(r);
}

Test(ops, group_layer_instance_norm_normalise)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    /* Different scales and offsets per channel so that a wrong grouping shows. */
    pt_tensor *x = pt_add(pt_mul(wavy(SHP(2, 4, 3, 3), 0.2),
                                 mk(VALS(1, 3, 0.5, 10), SHP(1, 4, 1, 1), PT_F64)),
                          mk(VALS(5, -2, 0, 7), SHP(1, 4, 1, 1), PT_F64));
    const double eps = 1e-9;
    pt_tensor *g = pt_group_norm(x, 2, NULL, NULL, eps);
    expect_shape(g, SHP(2, 4, 3, 3), "group_norm shape");
    expect_normalised(g, 4, 1e-6, "group_norm (2 groups of 2 channels)");
    pt_tensor *gw = pt_group_norm(x, 2, mk(VALS(1, 2, 3, 4), SHP(4), PT_F64),
                                  mk(VALS(0, 0, 1, 1), SHP(4), PT_F64), eps);
    pt_tensor *gw_want = pt_add(pt_mul(g, mk(VALS(1, 2, 3, 4), SHP(1, 4, 1, 1), PT_F64)),
                                mk(VALS(0, 0, 1, 1), SHP(1, 4, 1, 1), PT_F64));
    cr_expect_lt(diff(gw, gw_want), 1e-12, "group_norm affine is per channel");
    pt_tensor *l = pt_layer_norm(x, SHP(4, 3, 3), NULL, NULL, eps);
    expect_normalised(l, 2, 1e-6, "layer_norm over C,H,W");
    pt_tensor *l2 = pt_layer_norm(x, SHP(3), NULL, NULL, eps);
    expect_normalised(l2, 24, 1e-6, "layer_norm over the last dim");
    pt_tensor *in = pt_instance_norm(x, NULL, NULL, NULL, NULL, 1, 0.1, eps);
    expect_normalised(in, 8, 1e-6, "instance_norm per (n, c)");
    /* group_norm with one group per channel is instance_norm */
    cr_expect_lt(diff(pt_group_norm(x, 4, NULL, NULL, eps), in), 1e-12);
    pt_error_clear();
    cr_expect_null(pt_group_norm(x, 3, NULL, NULL, eps), "4 channels in 3 groups");
    expect_error_mentions("group_norm", "pt_group_norm", NULL, NULL);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- activations */

Test(ops, activations_at_chosen_points)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    enum { N = 7 };
    const double xs[N] = {-3, -1, 0, 0.5, 2, 4, 7};
    pt_tensor *x = mk(xs, N, SHP(N), PT_F64);
    double w[N];
    expect_vals(pt_relu(x), VALS(0, 0, 0, 0.5, 2, 4, 7), 0, "relu");
    expect_vals(pt_relu6(x), VALS(0, 0, 0, 0.5, 2, 4, 6), 0, "relu6");
    expect_vals(pt_leaky_relu(x, 0.1), VALS(-0.3, -0.1, 0, 0.5, 2, 4, 7), 1e-15, "leaky_relu");
    expect_vals(pt_hardsigmoid(x), VALS(0, 2.0 / 6, 0.5, 3.5 / 6, 5.0 / 6, 1, 1), 1e-15,
                "hardsigmoid = relu6(x+3)/6");
    expect_vals(pt_hardswish(x), VALS(0, -1.0 / 3, 0, 0.5 * 3.5 / 6, 2 * 5.0 / 6, 4, 7), 1e-15,
                "hardswish = x relu6(x+3)/6");
#define ACT(fn, expr, label)                                                                     \
    do {                                                                                         \
        for (int i = 0; i < N; i++) {                                                            \
            double v = xs[i];                                                                    \
            w[i] = (expr);                                                                       \
        }                                                                                        \
        expect_vals(fn(x), w, N, 1e-14, label);                                                  \
    } while (0)
    ACT(pt_sigmoid, 1 / (1 + exp(-v)), "sigmoid");
    ACT(pt_tanh, tanh(v), "tanh");
    ACT(pt_silu, v / (1 + exp(-v)), "silu");
    ACT(pt_gelu, 0.5 * v * (1 + erf(v / sqrt(2))), "gelu (erf form)");
    ACT(pt_softplus, log1p(exp(v)), "softplus");
#undef ACT
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, softmax_and_log_softmax)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = mk(VALS(1, 2, 3, 1000, 1000, 1000), SHP(2, 3), PT_F64);
    pt_tensor *s = pt_softmax(x, 1);
    const double z = exp(1) + exp(2) + exp(3);
    expect_tensor(s, SHP(2, 3),
                  VALS(exp(1) / z, exp(2) / z, exp(3) / z, 1.0 / 3, 1.0 / 3, 1.0 / 3), 1e-15,
                  "softmax (stable for large logits)");
    expect_vals(pt_sum_dims(s, SHP(1), 0), VALS(1, 1), 1e-15, "softmax rows sum to 1");
    expect_vals(pt_log_softmax(x, -1),
                VALS(1 - log(z), 2 - log(z), 3 - log(z), -log(3), -log(3), -log(3)), 1e-13,
                "log_softmax");
    expect_vals(pt_softmax(mk(VALS(0, 0, log(3), 0), SHP(2, 2), PT_F64), 0),
                VALS(0.25, 0.5, 0.75, 0.5), 1e-15, "softmax over dim 0");
    pt_tensor *r = pt_softmax(wavy(SHP(3, 5, 2), 0.4), 1);
    expect_vals(pt_sum_dims(r, SHP(1), 0), VALS(1, 1, 1, 1, 1, 1), 1e-15,
                "softmax over a middle dim sums to 1");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- pooling and resampling */

Test(ops, pooling)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = pt_reshape(pt_arange(0, 16, 1, PT_F32), SHP(1, 1, 4, 4)); /* x = 4 r + c */
    const int64_t k2[2] = {2, 2}, k3[2] = {3, 3}, s1[2] = {1, 1}, s2[2] = {2, 2};
    const int64_t p1[2] = {1, 1}, d2[2] = {2, 2};
    expect_tensor(pt_max_pool2d(x, k2, NULL, NULL, NULL, 0), SHP(1, 1, 2, 2), VALS(5, 7, 13, 15),
                  0, "max_pool 2x2 (stride defaults to kernel)");
    expect_tensor(pt_max_pool2d(x, k2, s1, NULL, NULL, 0), SHP(1, 1, 3, 3),
                  VALS(5, 6, 7, 9, 10, 11, 13, 14, 15), 0, "max_pool stride 1");
    expect_tensor(pt_max_pool2d(x, k2, s1, NULL, d2, 0), SHP(1, 1, 2, 2), VALS(10, 11, 14, 15),
                  0, "max_pool dilation 2");
    expect_tensor(pt_max_pool2d(x, k3, s2, NULL, NULL, 1), SHP(1, 1, 2, 2), VALS(10, 11, 14, 15),
                  0, "max_pool ceil_mode");
    expect_shape(pt_max_pool2d(x, k3, s2, NULL, NULL, 0), SHP(1, 1, 1, 1), "max_pool floor mode");
    expect_tensor(pt_max_pool2d(pt_neg(x), k3, s2, p1, NULL, 0), SHP(1, 1, 2, 2),
                  VALS(0, -1, -4, -5), 0, "max_pool padding is -inf, not 0");
    expect_tensor(pt_avg_pool2d(x, k2, NULL, NULL, 0, 1), SHP(1, 1, 2, 2),
                  VALS(2.5, 4.5, 10.5, 12.5), 0, "avg_pool 2x2");
    pt_tensor *small = mk(VALS(1, 2, 3, 4), SHP(1, 1, 2, 2), PT_F32);
    expect_tensor(pt_avg_pool2d(small, k2, s2, p1, 0, 1), SHP(1, 1, 2, 2),
                  VALS(0.25, 0.5, 0.75, 1), 0, "avg_pool counting the padding");
    expect_tensor(pt_avg_pool2d(small, k2, s2, p1, 0, 0), SHP(1, 1, 2, 2), VALS(1, 2, 3, 4), 0,
                  "avg_pool not counting the padding");
    expect_tensor(pt_adaptive_avg_pool2d(x, 1, 1), SHP(1, 1, 1, 1), VALS(7.5), 0,
                  "adaptive avg to 1x1");
    /* 4 -> 3 bins: [0,2) [1,3) [2,4) */
    expect_tensor(pt_adaptive_avg_pool2d(x, 3, 3), SHP(1, 1, 3, 3),
                  VALS(2.5, 3.5, 4.5, 6.5, 7.5, 8.5, 10.5, 11.5, 12.5), 0,
                  "adaptive avg 4->3 overlapping bins");
    expect_tensor(pt_adaptive_max_pool2d(x, 3, 3), SHP(1, 1, 3, 3),
                  VALS(5, 6, 7, 9, 10, 11, 13, 14, 15), 0, "adaptive max 4->3");
    expect_tensor(pt_adaptive_max_pool2d(x, 1, 2), SHP(1, 1, 1, 2), VALS(13, 15), 0,
                  "adaptive max 4x4->1x2");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, interpolate_nearest_and_bilinear)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = mk(VALS(1, 2, 3, 4), SHP(1, 1, 2, 2), PT_F64); /* x = 1 + 2 r + c */
    expect_tensor(pt_interpolate(x, 3, 3, PT_INTERP_NEAREST, 0), SHP(1, 1, 3, 3),
                  VALS(1, 1, 2, 1, 1, 2, 3, 3, 4), 0, "nearest 2->3 (src = floor(dst*2/3))");
    expect_tensor(pt_interpolate(x, 4, 4, PT_INTERP_NEAREST, 0), SHP(1, 1, 4, 4),
                  VALS(1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4), 0, "nearest 2->4");
    /* Bilinear is exact on the plane 1 + 2r + c: out = 1 + 2 R[i] + R[j], with the source
     * coordinates R of each output index. */
    const double rt[4] = {0, 1.0 / 3, 2.0 / 3, 1};  /* align_corners: dst*(in-1)/(out-1) */
    const double rf[4] = {0, 0.25, 0.75, 1};       /* (dst+0.5)*in/out-0.5, clamped to [0,1] */
    double wt[16], wf[16];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            wt[i * 4 + j] = 1 + 2 * rt[i] + rt[j];
            wf[i * 4 + j] = 1 + 2 * rf[i] + rf[j];
        }
    expect_tensor(pt_interpolate(x, 4, 4, PT_INTERP_BILINEAR, 1), SHP(1, 1, 4, 4), wt, 16, 1e-14,
                  "bilinear align_corners=True");
    expect_tensor(pt_interpolate(x, 4, 4, PT_INTERP_BILINEAR, 0), SHP(1, 1, 4, 4), wf, 16, 1e-14,
                  "bilinear align_corners=False");
    expect_tensor(pt_interpolate(x, 3, 3, PT_INTERP_BILINEAR, 1), SHP(1, 1, 3, 3),
                  VALS(1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4), 1e-14, "bilinear 2->3 align_corners");
    pt_tensor *big = pt_reshape(pt_arange(0, 16, 1, PT_F32), SHP(1, 1, 4, 4));
    expect_tensor(pt_interpolate(big, 2, 2, PT_INTERP_NEAREST, 0), SHP(1, 1, 2, 2),
                  VALS(0, 2, 8, 10), 0, "nearest downsampling");
    expect_tensor(pt_interpolate(big, 2, 2, PT_INTERP_BILINEAR, 0), SHP(1, 1, 2, 2),
                  VALS(2.5, 4.5, 10.5, 12.5), 1e-6, "bilinear 4->2 averages 2x2 blocks");
    pt_error_clear();
    cr_expect_null(pt_interpolate(pt_ones(SHP(2, 2), PT_F32), 3, 3, PT_INTERP_NEAREST, 0));
    expect_error_mentions("interpolate 2-d", "pt_interpolate", "[2, 2]", NULL);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* grid [1, H, W, 2] holding (x, y) sample positions for each output pixel. */
static pt_tensor *make_grid(int64_t h, int64_t w, int align_corners, double shift_x)
{
    double *g = malloc((size_t)(h * w * 2) * sizeof *g);
    for (int64_t i = 0; i < h; i++)
        for (int64_t j = 0; j < w; j++) {
            double gx = align_corners ? -1 + 2.0 * (double)j / (double)(w - 1)
                                      : (2.0 * (double)j + 1) / (double)w - 1;
            double gy = align_corners ? -1 + 2.0 * (double)i / (double)(h - 1)
                                      : (2.0 * (double)i + 1) / (double)h - 1;
            g[(i * w + j) * 2 + 0] = gx + shift_x;
            g[(i * w + j) * 2 + 1] = gy;
        }
    pt_tensor *t = pt_from_data(g, (int64_t[]){1, h, w, 2}, 4, PT_F64);
    free(g);
    return t;
}

Test(ops, grid_sample_identity_and_shift)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = wavy(SHP(1, 2, 3, 4), 0.5);
    for (int ac = 0; ac <= 1; ac++) {
        pt_tensor *id = make_grid(3, 4, ac, 0);
        cr_expect_lt(diff(pt_grid_sample(x, id, PT_INTERP_BILINEAR, PT_PAD_ZEROS, ac), x), 1e-12,
                     "bilinear identity grid, align_corners=%d", ac);
        cr_expect_lt(diff(pt_grid_sample(x, id, PT_INTERP_NEAREST, PT_PAD_ZEROS, ac), x), 1e-12,
                     "nearest identity grid, align_corners=%d", ac);
    }
    /* Shift the samples one pixel right (2/(W-1) with align_corners): out[.., j] = x[.., j+1];
     * the last column reads outside: 0 with zero padding, the edge with border padding. */
    pt_tensor *sh = make_grid(3, 4, 1, 2.0 / 3);
    pt_tensor *yz = pt_grid_sample(x, sh, PT_INTERP_BILINEAR, PT_PAD_ZEROS, 1);
    pt_tensor *yb = pt_grid_sample(x, sh, PT_INTERP_BILINEAR, PT_PAD_BORDER, 1);
    const double *xv = pt_data_ptr(x);
    double wz[24], wb[24];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 4; j++) {
            wz[i * 4 + j] = j < 3 ? xv[i * 4 + j + 1] : 0;
            wb[i * 4 + j] = j < 3 ? xv[i * 4 + j + 1] : xv[i * 4 + 3];
        }
    expect_tensor(yz, SHP(1, 2, 3, 4), wz, 24, 1e-12, "shifted grid, zeros padding");
    expect_vals(yb, wb, 24, 1e-12, "shifted grid, border padding");
    /* Half a pixel: the mean of two neighbours. */
    pt_tensor *half = make_grid(3, 4, 1, 1.0 / 3);
    pt_tensor *yh = pt_grid_sample(x, half, PT_INTERP_BILINEAR, PT_PAD_ZEROS, 1);
    cr_expect_float_eq(tst_at(yh, 5), 0.5 * (xv[5] + xv[6]), 1e-12);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, pad_constant)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = mk(VALS(1, 2, 3, 4), SHP(1, 1, 2, 2), PT_F32);
    expect_tensor(pt_pad(x, SHP(1, 0, 0, 1), -1), SHP(1, 1, 3, 3),
                  VALS(-1, 1, 2, -1, 3, 4, -1, -1, -1), 0, "pad {left 1, bottom 1}");
    expect_tensor(pt_pad(x, SHP(0, 2), 0), SHP(1, 1, 2, 4), VALS(1, 2, 0, 0, 3, 4, 0, 0), 0,
                  "pad last dim only");
    expect_tensor(pt_pad(x, SHP(-1, 0, 0, 0), 0), SHP(1, 1, 2, 1), VALS(2, 4), 0,
                  "negative pad crops");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, dropout_train_and_eval)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = pt_ones(SHP(20000), PT_F32);
    pt_tensor *y = pt_dropout(x, 0.3, 1);
    cr_assert_not_null(y, "%s", pt_error());
    /* Every element is 0 or 1/(1-p); about 30% are 0. */
    pt_tensor *zero = pt_eq_s(y, 0);
    pt_tensor *kept = pt_lt(pt_abs(pt_sub_s(y, 1 / 0.7)), pt_full(SHP(1), 1e-6, PT_F32));
    cr_expect_eq(item(pt_all(pt_logical_or(zero, kept))), 1.0, "values other than 0 and 1/(1-p)");
    double frac = item(pt_mean(pt_to_dtype(zero, PT_F32)));
    cr_expect_lt(fabs(frac - 0.3), 0.02, "dropped fraction %g", frac);
    cr_expect_lt(fabs(item(pt_mean(y)) - 1), 0.03, "dropout keeps the mean");
    cr_expect_eq(diff(pt_dropout(x, 0.3, 0), x), 0.0, "eval is the identity");
    cr_expect_eq(diff(pt_dropout(x, 0, 1), x), 0.0, "p = 0 is the identity");
    pt_manual_seed(3);
    pt_tensor *a = pt_dropout(x, 0.5, 1);
    pt_manual_seed(3);
    cr_expect_eq(diff(pt_dropout(x, 0.5, 1), a), 0.0, "dropout follows the default seed");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- loss primitives */

static double lse3(const double *r) { return log(exp(r[0]) + exp(r[1]) + exp(r[2])); }

Test(ops, cross_entropy_weights_ignore_index_smoothing)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    const double L[9] = {2, 1, 0, 0.5, 0.5, 3, 1, -1, 0};
    const double W[3] = {1, 2, 0.5};
    const int tg[3] = {0, 2, 1};
    pt_tensor *logits = mk(L, 9, SHP(3, 3), PT_F64);
    pt_tensor *target = mk(VALS(0, 2, 1), SHP(3), PT_I64);
    pt_tensor *weight = mk(W, 3, SHP(3), PT_F64);
    double l[3];
    for (int i = 0; i < 3; i++)
        l[i] = lse3(L + 3 * i) - L[3 * i + tg[i]];
    cr_expect_float_eq(item(pt_cross_entropy(logits, target, NULL, -100, PT_REDUCE_MEAN, 0)),
                       (l[0] + l[1] + l[2]) / 3, 1e-14, "mean");
    cr_expect_float_eq(item(pt_cross_entropy(logits, target, NULL, -100, PT_REDUCE_SUM, 0)),
                       l[0] + l[1] + l[2], 1e-14, "sum");
    double wsum = W[0] + W[2] + W[1];
    cr_expect_float_eq(item(pt_cross_entropy(logits, target, weight, -100, PT_REDUCE_MEAN, 0)),
                       (W[0] * l[0] + W[2] * l[1] + W[1] * l[2]) / wsum, 1e-14,
                       "weighted mean divides by the sum of the target weights");
    expect_tensor(pt_cross_entropy(logits, target, weight, -100, PT_REDUCE_NONE, 0), SHP(3),
                  VALS(W[0] * l[0], W[2] * l[1], W[1] * l[2]), 1e-14, "weighted, no reduction");
    /* ignore_index = 2 drops sample 1 from the sum and from the weight total */
    cr_expect_float_eq(item(pt_cross_entropy(logits, target, weight, 2, PT_REDUCE_MEAN, 0)),
                       (W[0] * l[0] + W[1] * l[2]) / (W[0] + W[1]), 1e-14, "ignore_index");
    pt_tensor *t_ign = mk(VALS(0, -100, 1), SHP(3), PT_I64);
    expect_vals(pt_cross_entropy(logits, t_ign, NULL, -100, PT_REDUCE_NONE, 0),
                VALS(l[0], 0, l[2]), 1e-14, "ignored sample gives 0");
    /* label smoothing eps: (1-eps) nll + eps/C sum_c (lse - x_c) */
    const double eps = 0.1;
    double ls = 0;
    for (int i = 0; i < 3; i++) {
        double u = 0;
        for (int c = 0; c < 3; c++)
            u += lse3(L + 3 * i) - L[3 * i + c];
        ls += (1 - eps) * l[i] + eps / 3 * u;
    }
    cr_expect_float_eq(item(pt_cross_entropy(logits, target, NULL, -100, PT_REDUCE_MEAN, eps)),
                       ls / 3, 1e-14, "label smoothing");
    /* probability targets: -sum_c p_c log softmax_c */
    const double P[9] = {0.7, 0.2, 0.1, 0, 0, 1, 0.3, 0.3, 0.4};
    double lp = 0;
    for (int i = 0; i < 9; i++)
        lp += -P[i] * (L[i] - lse3(L + 3 * (i / 3)));
    cr_expect_float_eq(item(pt_cross_entropy(logits, mk(P, 9, SHP(3, 3), PT_F64), NULL, -100,
                                             PT_REDUCE_MEAN, 0)),
                       lp / 3, 1e-14, "probability targets");
    /* segmentation layout: logits [N, C, H, W], target [N, H, W]; classes along dim 1 */
    pt_tensor *seg = pt_reshape(pt_permute(pt_reshape(logits, SHP(1, 3, 3)), SHP(0, 2, 1)),
                                SHP(1, 3, 1, 3));
    pt_tensor *segt = mk(VALS(0, 2, 1), SHP(1, 1, 3), PT_I64);
    expect_tensor(pt_cross_entropy(seg, segt, NULL, -100, PT_REDUCE_NONE, 0), SHP(1, 1, 3),
                  VALS(l[0], l[1], l[2]), 1e-14, "NCHW cross entropy");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, nll_loss)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *lp = mk(VALS(-1, -2, -3, -0.5, -1.5, -2.5), SHP(2, 3), PT_F64);
    pt_tensor *t = mk(VALS(2, 0), SHP(2), PT_I64);
    cr_expect_float_eq(item(pt_nll_loss(lp, t, NULL, -100, PT_REDUCE_MEAN)), 1.75, 1e-15);
    cr_expect_float_eq(item(pt_nll_loss(lp, t, NULL, -100, PT_REDUCE_SUM)), 3.5, 1e-15);
    cr_expect_float_eq(item(pt_nll_loss(lp, t, mk(VALS(1, 1, 2), SHP(3), PT_F64), -100,
                                        PT_REDUCE_MEAN)),
                       6.5 / 3, 1e-15, "weighted nll");
    cr_expect_float_eq(item(pt_nll_loss(lp, t, NULL, 0, PT_REDUCE_MEAN)), 3, 1e-15,
                       "ignore_index 0 keeps only the first sample");
    expect_tensor(pt_nll_loss(lp, t, NULL, -100, PT_REDUCE_NONE), SHP(2), VALS(3, 0.5), 1e-15,
                  "nll no reduction");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

static double sig(double x) { return 1 / (1 + exp(-x)); }

Test(ops, bce_with_logits_and_bce)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    const double X[3] = {1, -2, 0.5}, Y[3] = {1, 0, 0.3}, W[3] = {1, 2, 0.5}, PW = 3;
    pt_tensor *x = mk(X, 3, SHP(1, 3), PT_F64), *y = mk(Y, 3, SHP(1, 3), PT_F64);
    pt_tensor *w = mk(W, 3, SHP(3), PT_F64), *pw = pt_full(SHP(3), PW, PT_F64);
    double plain[3], full[3], sum_plain = 0, sum_full = 0;
    for (int i = 0; i < 3; i++) {
        plain[i] = -(Y[i] * log(sig(X[i])) + (1 - Y[i]) * log(1 - sig(X[i])));
        full[i] = -W[i] * (PW * Y[i] * log(sig(X[i])) + (1 - Y[i]) * log(1 - sig(X[i])));
        sum_plain += plain[i];
        sum_full += full[i];
    }
    cr_expect_float_eq(item(pt_bce_with_logits(x, y, NULL, NULL, PT_REDUCE_MEAN)), sum_plain / 3,
                       1e-14, "bce_with_logits mean");
    expect_tensor(pt_bce_with_logits(x, y, w, pw, PT_REDUCE_NONE), SHP(1, 3), full, 3, 1e-14,
                  "bce_with_logits with weight and pos_weight");
    cr_expect_float_eq(item(pt_bce_with_logits(x, y, w, pw, PT_REDUCE_SUM)), sum_full, 1e-14,
                       "bce_with_logits sum");
    /* stable for large logits: log(1 + e^-100) ~ e^-100 */
    cr_expect_float_eq(item(pt_bce_with_logits(mk(VALS(100, -100), SHP(2), PT_F64),
                                               mk(VALS(1, 0), SHP(2), PT_F64), NULL, NULL,
                                               PT_REDUCE_SUM)),
                       0, 1e-30, "large logits");
    pt_tensor *p = pt_sigmoid(x);
    cr_expect_float_eq(item(pt_bce(p, y, NULL, PT_REDUCE_MEAN)), sum_plain / 3, 1e-14, "bce");
    double sum_w = 0;
    for (int i = 0; i < 3; i++)
        sum_w += W[i] * plain[i];
    cr_expect_float_eq(item(pt_bce(p, y, pt_reshape(w, SHP(1, 3)), PT_REDUCE_SUM)), sum_w, 1e-14,
                       "weighted bce");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, mse_l1_smooth_l1)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *a = mk(VALS(1, 2, 4, -1), SHP(4), PT_F64);
    pt_tensor *b = mk(VALS(1.5, 0, 4, 1), SHP(4), PT_F64); /* a - b = -0.5, 2, 0, -2 */
    cr_expect_float_eq(item(pt_mse_loss(a, b, PT_REDUCE_MEAN)), 2.0625, 1e-15, "mse mean");
    cr_expect_float_eq(item(pt_mse_loss(a, b, PT_REDUCE_SUM)), 8.25, 1e-15, "mse sum");
    expect_tensor(pt_mse_loss(a, b, PT_REDUCE_NONE), SHP(4), VALS(0.25, 4, 0, 4), 0, "mse none");
    cr_expect_float_eq(item(pt_l1_loss(a, b, PT_REDUCE_MEAN)), 1.125, 1e-15, "l1 mean");
    expect_vals(pt_l1_loss(a, b, PT_REDUCE_NONE), VALS(0.5, 2, 0, 2), 0, "l1 none");
    /* beta 1: 0.5 d^2 / beta below beta, |d| - beta/2 above */
    expect_vals(pt_smooth_l1_loss(a, b, PT_REDUCE_NONE, 1), VALS(0.125, 1.5, 0, 1.5), 1e-15,
                "smooth_l1 beta 1");
    cr_expect_float_eq(item(pt_smooth_l1_loss(a, b, PT_REDUCE_MEAN, 1)), 0.78125, 1e-15);
    expect_vals(pt_smooth_l1_loss(a, b, PT_REDUCE_NONE, 3), VALS(0.25 / 6, 4.0 / 6, 0, 4.0 / 6),
                1e-15, "smooth_l1 beta 3: all quadratic");
    expect_vals(pt_smooth_l1_loss(a, b, PT_REDUCE_NONE, 0.25), VALS(0.375, 1.875, 0, 1.875),
                1e-15, "smooth_l1 beta 0.25: all linear");
    cr_expect_float_eq(item(pt_smooth_l1_loss(a, b, PT_REDUCE_SUM, 0)), 4.5, 1e-15,
                       "beta 0 is l1");
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- errors */

Test(ops, shape_errors_name_the_op_and_the_sizes)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_error_clear();
    cr_expect_null(pt_matmul(pt_ones(SHP(2, 3), PT_F32), pt_ones(SHP(4, 5), PT_F32)));
    expect_error_mentions("matmul [2,3]x[4,5]", "pt_matmul", "2x3", "4x5");

    pt_error_clear();
    const int64_t one[2] = {1, 1}, zero[2] = {0, 0};
    cr_expect_null(pt_conv2d(pt_ones(SHP(1, 3, 5, 5), PT_F32), pt_ones(SHP(4, 2, 3, 3), PT_F32),
                             NULL, one, zero, one, 1));
    expect_error_mentions("conv2d channels", "pt_conv2d", "2 channels", "3 channels");

    pt_error_clear();
    cr_expect_null(pt_cat((pt_tensor *[]){pt_ones(SHP(2, 3), PT_F32), pt_ones(SHP(2, 4), PT_F32)},
                          2, 0));
    expect_error_mentions("cat [2,3] with [2,4] on dim 0", "pt_cat", "size 3", "size 4");

    pt_error_clear();
    cr_expect_null(pt_add(pt_ones(SHP(3), PT_F32), pt_ones(SHP(4), PT_F32)));
    expect_error_mentions("add [3]+[4]", "pt_add", "(3)", "(4)");

    pt_error_clear();
    cr_expect_null(pt_reshape(pt_ones(SHP(2, 3), PT_F32), SHP(4)));
    expect_error_mentions("reshape 6 -> [4]", "pt_reshape", "[4]", "6");

    pt_error_clear();
    cr_expect_null(pt_linear(pt_ones(SHP(2, 3), PT_F32), pt_ones(SHP(5, 4), PT_F32), NULL));
    expect_error_mentions("linear in 3 vs weight in 4", "pt_linear", "3", "4");

    pt_error_clear();
    cr_expect_null(pt_cross_entropy(pt_ones(SHP(2, 3), PT_F32), mk(VALS(0, 1, 2), SHP(3), PT_I64),
                                    NULL, -100, PT_REDUCE_MEAN, 0));
    expect_error_mentions("cross_entropy batch 2 vs 3", "pt_cross_entropy", "2", "3");

    pt_error_clear();
    cr_expect_null(pt_mse_loss(pt_ones(SHP(3), PT_F32), pt_ones(SHP(2), PT_F32), PT_REDUCE_MEAN));
    expect_error_mentions("mse [3] vs [2]", "pt_mse_loss", NULL, NULL);
    /* Messages carry no C++ backtrace. */
    cr_expect_null(strstr(pt_error(), "Exception raised from"), "%s", pt_error());
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, null_inputs_propagate_and_keep_the_first_error)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = pt_ones(SHP(2, 2), PT_F32);
    pt_error_clear();
    cr_expect_eq(pt_error_pending(), 0);
    cr_expect_str_eq(pt_error(), "");
    /* A forward pass written straight through a failure. */
    pt_tensor *h = pt_matmul(x, pt_ones(SHP(3, 3), PT_F32));
    char first[512];
    snprintf(first, sizeof first, "%s", pt_error());
    cr_assert(strstr(first, "pt_matmul"), "%s", first);
    pt_tensor *r = pt_relu(h);
    pt_tensor *s = pt_add(r, x);
    const int64_t one[2] = {1, 1}, zero[2] = {0, 0};
    pt_tensor *c = pt_conv2d(s, x, NULL, one, zero, one, 1);
    pt_tensor *l = pt_cross_entropy(c, x, NULL, -100, PT_REDUCE_MEAN, 0);
    pt_tensor *m = pt_mean(l);
    cr_expect(!r && !s && !c && !l && !m, "NULL must propagate");
    cr_expect_eq(pt_backward(m, NULL, 0), PT_ERR);
    cr_expect_eq(pt_copy_(x, m), PT_ERR);
    cr_expect_eq(pt_shape(m, (int64_t[4]){0}, 4), -1);
    cr_expect_eq(pt_size(m, 0), -1);
    cr_expect(isnan(pt_item_or_nan(m)));
    cr_expect_str_eq(pt_error(), first, "the first message must survive, got '%s'", pt_error());
    cr_expect_eq(pt_error_pending(), 1);
    /* After clear, a NULL input says which op got it. */
    pt_error_clear();
    cr_expect_eq(pt_error_pending(), 0);
    cr_expect_str_eq(pt_error(), "");
    cr_expect_null(pt_relu(NULL));
    expect_error_mentions("relu(NULL)", "pt_relu", "NULL", NULL);
    pt_error_clear();
    cr_expect_eq(pt_fill_(NULL, 1), PT_ERR);
    expect_error_mentions("fill_(NULL)", "pt_fill_", "NULL", NULL);
    /* pt_error_set goes through the same channel and formats. */
    pt_error_set("loader: file %s line %d", "a.h5", 7);
    cr_expect_str_eq(pt_error(), "loader: file a.h5 line 7");
    cr_expect_null(pt_sigmoid(NULL));
    cr_expect_str_eq(pt_error(), "loader: file a.h5 line 7");
    pt_error_clear();
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, null_input_message_names_the_op_for_every_entry_point)
{
    /* Entry points whose body is a lambda or a helper must still name themselves. */
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *x = pt_ones(SHP(1, 1, 2, 2), PT_F32);
    pt_error_clear();
    cr_expect_null(pt_clamp(NULL, 0, 1));
    expect_error_mentions("clamp(NULL)", "pt_clamp", NULL, NULL);
    pt_error_clear();
    cr_expect_null(pt_interpolate(NULL, 2, 2, PT_INTERP_NEAREST, 0));
    expect_error_mentions("interpolate(NULL)", "pt_interpolate", NULL, NULL);
    pt_error_clear();
    cr_expect_null(pt_grad(NULL));
    expect_error_mentions("grad(NULL)", "pt_grad", NULL, NULL);
    pt_error_clear();
    cr_expect_null(pt_cat((pt_tensor *[]){x, NULL}, 2, 0));
    expect_error_mentions("cat({x, NULL})", "pt_cat", NULL, NULL);
    pt_error_clear();
    cr_expect_null(pt_stack((pt_tensor *[]){NULL, x}, 2, 0));
    expect_error_mentions("stack({NULL, x})", "pt_stack", NULL, NULL);
    pt_error_clear();
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live);
}

static void *thread_errors(void *arg)
{
    int *ok = arg;
    /* A fresh thread starts without an error, whatever the main thread has pending. */
    ok[0] = pt_error_pending() == 0 && strcmp(pt_error(), "") == 0;
    pt_tensor *a = pt_ones((int64_t[]){2}, 1, PT_F32), *b = pt_ones((int64_t[]){3}, 1, PT_F32);
    pt_tensor *c = pt_add(a, b);
    ok[1] = c == NULL && strstr(pt_error(), "pt_add") != NULL;
    pt_free(c);
    pt_free(b);
    pt_free(a);
    return NULL;
}

Test(ops, error_messages_are_per_thread)
{
    long live = pt_live_tensors();
    pt_error_clear();
    pt_error_set("main thread failure");
    int ok[2] = {0, 0};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, thread_errors, ok), 0);
    pthread_join(th, NULL);
    cr_expect(ok[0], "the other thread saw the main thread's error");
    cr_expect(ok[1], "the other thread's failure was not reported to it");
    cr_expect_str_eq(pt_error(), "main thread failure", "another thread overwrote our message");
    pt_error_clear();
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- scopes */

Test(ops, scope_end_frees_what_was_created_in_it)
{
    long live = pt_live_tensors();
    pt_tensor *outside = pt_ones(SHP(3), PT_F32);
    size_t mark = pt_scope_begin();
    pt_tensor *a = pt_ones(SHP(3), PT_F32);
    pt_tensor *b = pt_add(a, outside);
    pt_tensor *v = pt_narrow(b, 0, 0, 2);
    pt_tensor *vals = NULL, *idx = NULL;
    cr_assert_eq(pt_topk(b, 2, 0, 1, 1, &vals, &idx), PT_OK);
    (void)v;
    cr_expect_eq(pt_live_tensors(), live + 6);
    /* Freeing a scoped handle early is fine: the scope must not free it again. */
    pt_free(a);
    cr_expect_eq(pt_live_tensors(), live + 5);
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live + 1, "scope_end must free what it owns, and only that");
    expect_vals(outside, VALS(1, 1, 1), 0, "a handle from before the scope survives");
    pt_free(outside);
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, keep_takes_a_handle_out_of_its_scope)
{
    long live = pt_live_tensors();
    size_t mark = pt_scope_begin();
    pt_tensor *tmp = pt_ones(SHP(2), PT_F32);
    pt_tensor *kept = pt_keep(pt_mul_s(tmp, 3));
    pt_scope_end(mark);
    cr_expect_eq(pt_live_tensors(), live + 1);
    expect_vals(kept, VALS(3, 3), 0, "kept tensor is usable after scope_end");
    pt_free(kept);
    cr_expect_eq(pt_live_tensors(), live);
    cr_expect_null(pt_keep(NULL));
}

Test(ops, scope_return_hands_a_handle_to_the_parent)
{
    long live = pt_live_tensors();
    size_t outer = pt_scope_begin();
    pt_tensor *o = pt_ones(SHP(2), PT_F32);
    size_t inner = pt_scope_begin();
    pt_tensor *t = pt_mul_s(o, 2);
    pt_tensor *u = pt_add_s(t, 1);
    pt_tensor *r = pt_scope_return(inner, u);
    cr_expect_eq(r, u, "scope_return returns the handle it was given");
    cr_expect_eq(pt_live_tensors(), live + 2, "inner temporaries freed, result and o alive");
    expect_vals(r, VALS(3, 3), 0, "returned tensor");
    pt_scope_end(outer);
    cr_expect_eq(pt_live_tensors(), live, "the returned handle belongs to the outer scope");

    /* Returned from the outermost scope: the caller owns it. */
    size_t only = pt_scope_begin();
    pt_tensor *w = pt_scope_return(only, pt_zeros(SHP(4), PT_F32));
    cr_expect_eq(pt_live_tensors(), live + 1);
    cr_expect_eq(pt_numel(w), 4);
    pt_free(w);
    cr_expect_eq(pt_live_tensors(), live);

    /* A NULL result (a failed forward) just ends the scope. */
    size_t m = pt_scope_begin();
    pt_ones(SHP(2), PT_F32);
    cr_expect_null(pt_scope_return(m, NULL));
    cr_expect_eq(pt_live_tensors(), live);
}

Test(ops, nested_scopes_free_innermost_first)
{
    long live = pt_live_tensors();
    size_t m1 = pt_scope_begin();
    pt_tensor *a = pt_ones(SHP(2), PT_F32);
    size_t m2 = pt_scope_begin();
    pt_ones(SHP(2), PT_F32);
    pt_ones(SHP(2), PT_F32);
    size_t m3 = pt_scope_begin();
    pt_tensor *c = pt_keep(pt_ones(SHP(2), PT_F32));
    pt_ones(SHP(2), PT_F32);
    cr_expect_eq(pt_live_tensors(), live + 5);
    pt_scope_end(m3);
    cr_expect_eq(pt_live_tensors(), live + 4);
    pt_scope_end(m2);
    cr_expect_eq(pt_live_tensors(), live + 2);
    expect_vals(a, VALS(1, 1), 0, "outer handle survives inner scopes");
    /* A handle created after an inner scope ended belongs to the outer one. */
    pt_ones(SHP(2), PT_F32);
    cr_expect_eq(pt_live_tensors(), live + 3);
    pt_scope_end(m1);
    cr_expect_eq(pt_live_tensors(), live + 1, "only the kept handle is left");
    pt_free(c);
    cr_expect_eq(pt_live_tensors(), live);
    /* Handles created outside any scope are not touched by a later scope_end. */
    pt_tensor *free_standing = pt_ones(SHP(2), PT_F32);
    size_t m4 = pt_scope_begin();
    pt_scope_end(m4);
    cr_expect_eq(pt_live_tensors(), live + 1);
    pt_free(free_standing);
    cr_expect_eq(pt_live_tensors(), live);
}
