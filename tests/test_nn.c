/*
 * test_nn.c - the nn layer: store names and order (PyTorch's state_dict order), parameters vs
 * buffers, registration errors, PyTorch's default initialisation, train/eval behaviour of
 * BatchNorm and dropout, sequential error propagation, state_dict export with excluded prefixes.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "helpers.h"
#include "nn/nn.h"
#include "models/classifier/small_cnn.h"

TestSuite(nn, .init = tst_setup);

Test(nn, small_cnn_names_follow_pytorch_state_dict_order)
{
    static const char *expected[] = {
        "features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
        "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked",
        "features.4.weight", "features.4.bias", "features.5.weight", "features.5.bias",
        "features.5.running_mean", "features.5.running_var", "features.5.num_batches_tracked",
        "classifier.1.weight", "classifier.1.bias", "classifier.3.weight", "classifier.3.bias"};
    nn_store *s = nn_store_new(0);
    small_cnn m;
    cr_assert_eq(small_cnn_init(&m, s, (small_cnn_config){1, 8, 32, 10, 28}), PT_OK, "%s", pt_error());
    int n = nn_store_size(s);
    cr_assert_eq(n, 18);
    int buffers = 0;
    for (int i = 0; i < n; i++) {
        cr_expect_str_eq(nn_store_name(s, i), expected[i]);
        int is_buffer = strstr(expected[i], "running_") || strstr(expected[i], "num_batches");
        cr_expect_eq(nn_store_is_param(s, i), !is_buffer, "%s", expected[i]);
        cr_expect_eq(pt_requires_grad(nn_store_tensor(s, i)), !is_buffer, "%s", expected[i]);
        buffers += is_buffer;
    }
    cr_expect_eq(buffers, 6);
    int np;
    nn_store_params(s, &np);
    cr_expect_eq(np, 12);
    /* conv 1*8*9+8, bn 16, conv 8*16*9+16, bn 32, linear 16*7*7*32+32, linear 32*10+10 */
    int64_t expect_params = 80 + 16 + 1168 + 32 + 25120 + 330;
    cr_expect_eq(nn_store_num_scalars(s, 1), expect_params);
    cr_expect_eq(pt_dtype_of(nn_store_find(s, "features.1.num_batches_tracked")), PT_I64);
    cr_expect_eq(pt_ndim(nn_store_find(s, "features.1.num_batches_tracked")), 0);
    small_cnn_free(&m);
    nn_store_free(s);
}

Test(nn, duplicate_or_empty_names_are_errors)
{
    nn_store *s = nn_store_new(0);
    int64_t shape[1] = {2};
    cr_assert_not_null(nn_store_param(s, "a.weight", pt_zeros(shape, 1, PT_F32)));
    long live = pt_live_tensors();
    cr_expect_null(nn_store_param(s, "a.weight", pt_zeros(shape, 1, PT_F32)));
    cr_expect(strstr(pt_error(), "'a.weight' is registered twice") != NULL, "%s", pt_error());
    cr_expect_eq(pt_live_tensors(), live, "the rejected tensor must be freed");
    pt_error_clear();
    cr_expect_null(nn_store_buffer(s, "", pt_zeros(shape, 1, PT_F32)));
    cr_expect_eq(nn_store_size(s), 1);
    nn_store_free(s);
}

Test(nn, default_init_matches_pytorch_bounds)
{
    nn_store *s = nn_store_new(42);
    nn_module *c = nn_conv2d_new(s, "c", (nn_conv_opts){.in = 16, .out = 64, .k = 3});
    nn_module *l = nn_linear_new(s, "l", 256, 512, 1);
    cr_assert(c && l, "%s", pt_error());
    struct { const char *name; double bound; } cases[] = {
        {"c.weight", 1.0 / sqrt(16 * 9)}, {"c.bias", 1.0 / sqrt(16 * 9)},
        {"l.weight", 1.0 / 16.0}, {"l.bias", 1.0 / 16.0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pt_tensor *t = nn_store_find(s, cases[i].name);
        pt_tensor *mx = pt_max(t), *mn = pt_min(t), *a = pt_abs(t), *m = pt_mean(a);
        double b = cases[i].bound;
        cr_expect_leq(pt_item_or_nan(mx), b, "%s", cases[i].name);
        cr_expect_geq(pt_item_or_nan(mn), -b, "%s", cases[i].name);
        /* uniform on [-b, b]: E|x| = b/2; the extremes come close to the bound */
        cr_expect_leq(fabs(pt_item_or_nan(m) - b / 2), 0.1 * b, "%s", cases[i].name);
        cr_expect_geq(pt_item_or_nan(mx), 0.9 * b, "%s", cases[i].name);
        pt_free(mx), pt_free(mn), pt_free(a), pt_free(m);
    }
    /* the same seed gives the same weights, another seed different ones */
    nn_store *s2 = nn_store_new(42), *s3 = nn_store_new(43);
    nn_module *c2 = nn_conv2d_new(s2, "c", (nn_conv_opts){.in = 16, .out = 64, .k = 3});
    nn_module *c3 = nn_conv2d_new(s3, "c", (nn_conv_opts){.in = 16, .out = 64, .k = 3});
    cr_expect_eq(tst_max_abs_diff(nn_store_find(s, "c.weight"), nn_store_find(s2, "c.weight")), 0.0);
    cr_expect_gt(tst_max_abs_diff(nn_store_find(s, "c.weight"), nn_store_find(s3, "c.weight")), 0.0);
    nn_module_free(c), nn_module_free(l), nn_module_free(c2), nn_module_free(c3);
    nn_store_free(s), nn_store_free(s2), nn_store_free(s3);
}

Test(nn, conv_options_default_and_validate)
{
    nn_store *s = nn_store_new(0);
    nn_module *c = nn_conv2d_new(s, "dw", (nn_conv_opts){.in = 8, .out = 8, .k = 3, .stride = 2, .pad = 1, .groups = 8, .no_bias = 1});
    cr_assert_not_null(c, "%s", pt_error());
    cr_expect_null(nn_store_find(s, "dw.bias"));
    int64_t ws[4];
    cr_expect_eq(pt_shape(nn_store_find(s, "dw.weight"), ws, 4), 4);
    cr_expect(ws[0] == 8 && ws[1] == 1 && ws[2] == 3 && ws[3] == 3);
    int64_t xs[4] = {2, 8, 9, 9};
    pt_tensor *x = pt_ones(xs, 4, PT_F32), *y = nn_forward(c, x);
    cr_assert_not_null(y, "%s", pt_error());
    cr_expect_eq(pt_size(y, 2), 5);
    cr_expect_null(nn_conv2d_new(s, "bad", (nn_conv_opts){.in = 6, .out = 8, .k = 3, .groups = 4}));
    cr_expect(strstr(pt_error(), "conv2d 'bad'") != NULL, "%s", pt_error());
    /* wrong input channels: an error naming the sizes, not an abort */
    int64_t bs[4] = {1, 3, 9, 9};
    pt_tensor *bad = pt_ones(bs, 4, PT_F32);
    pt_error_clear();
    cr_expect_null(nn_forward(c, bad));
    cr_expect(strstr(pt_error(), "pt_conv2d") && strstr(pt_error(), "3"), "%s", pt_error());
    pt_free(x), pt_free(y), pt_free(bad);
    nn_module_free(c);
    nn_store_free(s);
}

Test(nn, batchnorm_train_updates_buffers_eval_uses_them)
{
    nn_store *s = nn_store_new(0);
    nn_module *bn = nn_batchnorm2d_new(s, "bn", 2, 1e-5, 0.1);
    cr_assert_not_null(bn);
    float xv[8] = {1, 3, 5, 7, 10, 10, 10, 10}; /* channel 0 mean 4 var(unbiased) 20/3; ch 1 const */
    int64_t xs[4] = {1, 2, 2, 2};
    pt_tensor *x = tst_f32(xv, xs, 4);
    pt_tensor *y = nn_forward(bn, x);
    cr_assert_not_null(y, "%s", pt_error());
    pt_tensor *rm = nn_store_find(s, "bn.running_mean"), *rv = nn_store_find(s, "bn.running_var");
    cr_expect_float_eq(tst_at(rm, 0), 0.4, 1e-6);
    cr_expect_float_eq(tst_at(rm, 1), 1.0, 1e-6);
    cr_expect_float_eq(tst_at(rv, 0), 0.9 + 0.1 * 20.0 / 3.0, 1e-5);
    cr_expect_float_eq(tst_at(rv, 1), 0.9, 1e-6);
    cr_expect_eq(tst_at(nn_store_find(s, "bn.num_batches_tracked"), 0), 1.0);
    /* train output uses batch statistics: channel 0 normalised to mean 0 */
    cr_expect_float_eq(tst_at(y, 0), (1 - 4) / sqrt(5.0 + 1e-5), 1e-5);
    nn_store_set_training(s, 0);
    pt_tensor *z = nn_forward(bn, x);
    cr_expect_float_eq(tst_at(z, 0), (1 - 0.4) / sqrt(0.9 + 2.0 / 3.0 + 1e-5), 1e-5);
    cr_expect_eq(tst_at(nn_store_find(s, "bn.num_batches_tracked"), 0), 1.0, "eval must not count");
    pt_free(x), pt_free(y), pt_free(z);
    nn_module_free(bn);
    nn_store_free(s);
}

Test(nn, dropout_follows_store_mode)
{
    nn_store *s = nn_store_new(0);
    nn_module *d = nn_dropout_new(s, 0.5);
    int64_t xs[1] = {1000};
    pt_tensor *x = pt_ones(xs, 1, PT_F32);
    pt_tensor *y = nn_forward(d, x), *zeros = pt_eq_s(y, 0.0), *nz = pt_sum(zeros);
    double n0 = pt_item_or_nan(nz);
    cr_expect(n0 > 400 && n0 < 600, "%g zeros", n0);
    cr_expect(tst_at(y, 0) == 0.0 || tst_at(y, 0) == 2.0);
    nn_store_set_training(s, 0);
    pt_tensor *e = nn_forward(d, x);
    cr_expect_eq(tst_max_abs_diff(e, x), 0.0);
    cr_expect_null(nn_dropout_new(s, 1.0));
    pt_free(x), pt_free(y), pt_free(zeros), pt_free(nz), pt_free(e);
    nn_module_free(d);
    nn_store_free(s);
}

Test(nn, sequential_with_failed_child_reports_first_error)
{
    nn_store *s = nn_store_new(0);
    nn_module *seq = nn_sequential_new();
    cr_expect_eq(nn_seq_add(seq, nn_linear_new(s, "0", 4, 3, 1)), PT_OK);
    pt_error_clear();
    cr_expect_eq(nn_seq_add(seq, nn_linear_new(s, "1", 0, 3, 1)), PT_ERR);
    cr_expect(strstr(pt_error(), "linear '1'") != NULL, "%s", pt_error());
    int64_t xs[2] = {2, 4};
    pt_tensor *x = pt_ones(xs, 2, PT_F32);
    cr_expect_null(nn_forward(seq, x));
    cr_expect(strstr(pt_error(), "a child failed to build") != NULL, "%s", pt_error());
    pt_free(x);
    nn_module_free(seq);
    nn_store_free(s);
}

Test(nn, state_dict_excludes_prefixes_and_aliases_without_copy)
{
    nn_store *s = nn_store_new(0);
    nn_module *a = nn_linear_new(s, "backbone.fc", 4, 4, 1);
    nn_module *b = nn_linear_new(s, "type_head.0", 4, 2, 1);
    const char *ex[1] = {"type_head."};
    pt_dict *d = nn_store_state_dict(s, ex, 1);
    cr_assert_not_null(d);
    cr_expect_eq(pt_dict_size(d), 2);
    cr_expect_str_eq(pt_dict_name(d, 0), "backbone.fc.weight");
    cr_expect_null(pt_dict_get(d, "type_head.0.weight"));
    cr_expect_eq(pt_requires_grad(pt_dict_get(d, "backbone.fc.weight")), 0);
    cr_expect_eq(pt_data_ptr(pt_dict_get(d, "backbone.fc.weight")),
                 pt_data_ptr(nn_store_find(s, "backbone.fc.weight")));
    pt_dict_free(d);
    nn_module_free(a), nn_module_free(b);
    nn_store_free(s);
    cr_expect_eq(pt_live_tensors(), 0);
}
