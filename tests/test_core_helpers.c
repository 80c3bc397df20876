/*
 * test_core_helpers.c - the small "one way to do each thing" helpers drivers and models share:
 * drv_terms_add (appends, stops at DRV_MAX_TERMS), driver_extra_sections (the NULL-terminated
 * more_sections of every registered driver), pt_scope_return_n (several results out of a scope:
 * temporaries freed, results handed to the parent scope, a repeated handle registered once),
 * PT_SHAPE (a shape list and its count, arguments evaluated once), nn_seq_ok (a Sequential
 * whose every child was built) and nn_conv_opts.init (each kind's distribution, the bias
 * constant, and the same values as the default draw followed by a re-initialisation).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/driver.h"
#include "helpers.h"
#include "nn/nn.h"

Test(core_helpers, drv_terms_add_appends_in_order_and_stops_when_full)
{
    tst_setup();
    drv_terms t = {0};
    pt_tensor *a = pt_scalar(1.0, PT_F32), *b = pt_scalar(2.0, PT_F32);
    drv_terms_add(&t, "cls", a);
    drv_terms_add(&t, "cnt", b);
    cr_assert_eq(t.n, 2);
    cr_expect_str_eq(t.name[0], "cls");
    cr_expect_str_eq(t.name[1], "cnt");
    cr_expect_eq(t.value[0], a);
    cr_expect_eq(t.value[1], b);
    for (int i = 0; i < DRV_MAX_TERMS + 3; i++)
        drv_terms_add(&t, "more", a);
    cr_expect_eq(t.n, DRV_MAX_TERMS, "a full list ignores further terms");
    cr_expect_eq(t.value[1], b);
    pt_free(a);
    pt_free(b);
}

Test(core_helpers, driver_extra_sections_follow_the_null_terminated_lists)
{
    int model_cfg_dummy;
    for (int i = 0; i < driver_count(); i++) {
        const driver *d = driver_at(i);
        settings_extra x;
        memset(&x, 0, sizeof x);
        cr_assert_eq(driver_extra_sections(d, &model_cfg_dummy, &x), 0, "%s", d->type);
        int more = 0;
        while (d->more_sections && d->more_sections[more])
            more++;
        cr_expect_eq(x.n, 1 + more, "%s", d->type);
        cr_expect_eq(x.secs[0], d->model_section, "%s", d->type);
        for (int k = 0; k < x.n; k++)
            cr_expect_eq(x.structs[k], &model_cfg_dummy, "%s", d->type);
        for (int k = 0; d->export_exclude && d->export_exclude[k]; k++)
            cr_expect(d->export_exclude[k][0] != '\0', "%s: empty export prefix", d->type);
    }
    const driver *pm = driver_find("polarmask");
    cr_assert_not_null(pm);
    settings_extra x = {0};
    cr_assert_eq(driver_extra_sections(pm, &model_cfg_dummy, &x), 0);
    cr_assert_eq(x.n, 3);
    cr_expect_str_eq(x.secs[1]->name, "loss");
    cr_expect_str_eq(x.secs[2]->name, "infer");
    cr_expect_str_eq(pm->export_exclude[0], "contour_head.");
    cr_expect_null(pm->export_exclude[1]);
}

Test(core_helpers, scope_return_n_frees_temporaries_and_hands_results_to_the_parent)
{
    tst_setup();
    long base = pt_live_tensors();
    size_t outer = pt_scope_begin();
    size_t inner = pt_scope_begin();
    pt_tensor *x = pt_scalar(3.0, PT_F32);
    pt_tensor *a = pt_mul_s(x, 2.0), *b = pt_add_s(x, 1.0);
    pt_tensor *tmp = pt_neg(a);
    (void)tmp;
    cr_assert_eq(pt_live_tensors(), base + 4);
    pt_tensor *keep[4] = {a, b, NULL, a}; /* NULL skipped, the repeated a registered once */
    pt_scope_return_n(inner, keep, 4);
    cr_expect_eq(pt_live_tensors(), base + 2, "x and tmp freed, a and b kept");
    cr_expect_eq(pt_item_or_nan(a), 6.0);
    cr_expect_eq(pt_item_or_nan(b), 4.0);
    pt_scope_end(outer);
    cr_expect_eq(pt_live_tensors(), base, "the parent scope frees the results (once)");

    /* outside any scope the caller owns the results */
    size_t only = pt_scope_begin();
    pt_tensor *c = pt_scalar(1.0, PT_F32), *t2 = pt_scalar(5.0, PT_F32);
    (void)t2;
    pt_scope_return_n(only, &c, 1);
    cr_expect_eq(pt_live_tensors(), base + 1);
    cr_expect_eq(pt_item_or_nan(c), 1.0);
    pt_free(c);
    cr_expect_eq(pt_live_tensors(), base);
}

Test(core_helpers, pt_shape_gives_the_list_and_its_count_and_evaluates_once)
{
    tst_setup();
    pt_tensor *t = pt_arange(0, 24, 1, PT_F32);
    int calls = 0;
    pt_tensor *r = pt_reshape(t, PT_SHAPE(++calls * 2, 3, -1));
    cr_assert_not_null(r, "%s", pt_error());
    cr_expect_eq(calls, 1, "the arguments are evaluated once");
    cr_expect_eq(pt_ndim(r), 3);
    cr_expect_eq(pt_size(r, 0), 2);
    cr_expect_eq(pt_size(r, 1), 3);
    cr_expect_eq(pt_size(r, 2), 4);
    pt_tensor *p = pt_permute(r, PT_SHAPE(2, 0, 1));
    cr_expect_eq(pt_size(p, 0), 4);
    cr_expect_eq(tst_at(p, 1), 4.0, "element [0][0][1] of the permutation is r[0][1][0]");
    pt_free(p);
    pt_free(r);
    pt_free(t);
}

Test(core_helpers, nn_seq_ok_tells_whether_every_child_was_built)
{
    tst_setup();
    nn_store *s = nn_store_new(1);
    nn_module *seq = nn_sequential_new();
    cr_expect_eq(nn_seq_ok(seq), 0, "an empty Sequential is not built");
    nn_seq_add(seq, nn_linear_new(s, "0", 4, 3, 1));
    nn_seq_add(seq, nn_act_new(NN_RELU));
    cr_expect_eq(nn_seq_ok(seq), 1);
    pt_error_clear();
    nn_seq_add(seq, nn_linear_new(s, "2", 0, 3, 1)); /* a failed constructor: NULL child */
    cr_expect_eq(nn_seq_ok(seq), 0);
    cr_expect(pt_error_pending(), "the failure's message is kept");
    nn_module *relu = nn_act_new(NN_RELU);
    cr_expect_eq(nn_seq_ok(relu), 0, "not a Sequential");
    cr_expect_eq(nn_seq_ok(NULL), 0);
    nn_module_free(relu);
    nn_module_free(seq);
    nn_store_free(s);
}

static double mean_of(const pt_tensor *t) { return pt_item_or_nan(pt_mean(t)); }
static double std_of(const pt_tensor *t)
{
    static const int64_t all[4] = {0, 1, 2, 3};
    return sqrt(pt_item_or_nan(pt_var_dims(t, all, pt_ndim(t), 0, 0)));
}

Test(core_helpers, conv_init_kinds_draw_their_distribution_and_set_the_bias)
{
    tst_setup();
    size_t mark = pt_scope_begin();
    nn_store *s = nn_store_new(3);
    /* 64 x 64 x 3 x 3 = 36864 weights: fan_in 576, fan_out 576 */
    nn_conv_opts o = {.in = 64, .out = 64, .k = 3, .pad = 1};
    o.init = (nn_init){NN_INIT_NORMAL, .std = 0.01, .bias = -4.595};
    nn_conv2d *n = (nn_conv2d *)nn_conv2d_new(s, "normal", o);
    o.init = (nn_init){.kind = NN_INIT_KAIMING_FAN_OUT};
    nn_conv2d *k = (nn_conv2d *)nn_conv2d_new(s, "kaiming", o);
    o.init = (nn_init){.kind = NN_INIT_KAIMING_UNIFORM_A1};
    nn_conv2d *u = (nn_conv2d *)nn_conv2d_new(s, "uniform", o);
    cr_assert(n && k && u, "%s", pt_error());
    cr_expect_float_eq(std_of(n->weight), 0.01, 0.0005);
    cr_expect_float_eq(pt_item_or_nan(pt_min(n->bias)), -4.595, 1e-6);
    cr_expect_float_eq(pt_item_or_nan(pt_max(n->bias)), -4.595, 1e-6);
    cr_expect_float_eq(std_of(k->weight), sqrt(2.0 / 576.0), 0.03 * sqrt(2.0 / 576.0));
    cr_expect_float_eq(mean_of(k->weight), 0.0, 0.002);
    double bound = sqrt(3.0 / 576.0);
    double hi = pt_item_or_nan(pt_max(u->weight)), lo = pt_item_or_nan(pt_min(u->weight));
    cr_expect(hi <= bound && hi > 0.99 * bound, "max %g, bound %g", hi, bound);
    cr_expect(lo >= -bound && lo < -0.99 * bound, "min %g, bound %g", lo, bound);
    cr_expect_eq(pt_item_or_nan(pt_max(pt_abs(u->bias))), 0.0);
    nn_module_free(&n->base);
    nn_module_free(&k->base);
    nn_module_free(&u->base);
    nn_store_free(s);
    pt_scope_end(mark);
}

Test(core_helpers, conv_init_equals_the_default_draw_then_a_reinitialisation)
{
    tst_setup();
    size_t mark = pt_scope_begin();
    nn_store *a = nn_store_new(11), *b = nn_store_new(11);
    nn_conv_opts o = {.in = 8, .out = 16, .k = 3, .pad = 1};
    nn_module *ma = nn_conv2d_new(a, "c", o);
    cr_assert_not_null(ma);
    nn_conv2d *ca = (nn_conv2d *)ma;
    cr_assert_eq(nn_init_normal(ca->weight, 0.0, 0.01, nn_store_generator(a)), PT_OK);
    cr_assert_eq(nn_init_constant(ca->bias, 0.25), PT_OK);
    o.init = (nn_init){NN_INIT_NORMAL, .std = 0.01, .bias = 0.25};
    nn_module *mb = nn_conv2d_new(b, "c", o);
    cr_assert_not_null(mb);
    nn_conv2d *cb = (nn_conv2d *)mb;
    cr_expect_eq(tst_max_abs_diff(ca->weight, cb->weight), 0.0, "same seed, same weights");
    cr_expect_eq(tst_max_abs_diff(ca->bias, cb->bias), 0.0);
    nn_module_free(ma);
    nn_module_free(mb);
    nn_store_free(a);
    nn_store_free(b);
    pt_scope_end(mark);
}
