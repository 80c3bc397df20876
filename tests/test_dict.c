/* test_dict.c - pt_dict (shim/dict.c): order, replacement, ownership, scopes, metadata. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "helpers.h"

TestSuite(dict, .init = tst_setup);

static const int64_t shape2[] = {2};

Test(dict, keeps_insertion_order_and_replaces_in_place)
{
    long live = pt_live_tensors();
    pt_dict *d = pt_dict_new();
    cr_assert_eq(pt_dict_put(d, "c", pt_zeros(shape2, 1, PT_F32)), PT_OK);
    cr_assert_eq(pt_dict_put(d, "a", pt_ones(shape2, 1, PT_F32)), PT_OK);
    cr_assert_eq(pt_dict_put(d, "b", pt_zeros(shape2, 1, PT_F32)), PT_OK);
    cr_assert_eq(pt_live_tensors(), live + 3);
    /* Replacing "a" frees the old tensor and keeps the position. */
    cr_assert_eq(pt_dict_put(d, "a", pt_full(shape2, 1, 7.0, PT_F32)), PT_OK);
    cr_assert_eq(pt_live_tensors(), live + 3);
    cr_assert_eq(pt_dict_size(d), 3);
    cr_assert_str_eq(pt_dict_name(d, 0), "c");
    cr_assert_str_eq(pt_dict_name(d, 1), "a");
    cr_assert_str_eq(pt_dict_name(d, 2), "b");
    cr_assert_eq(pt_dict_tensor(d, 1), pt_dict_get(d, "a"));
    cr_assert_eq(tst_at(pt_dict_get(d, "a"), 0), 7.0);
    cr_assert_null(pt_dict_get(d, "missing"));
    pt_dict_free(d);
    cr_assert_eq(pt_live_tensors(), live);
}

Test(dict, put_takes_the_tensor_out_of_its_scope)
{
    long live = pt_live_tensors();
    pt_dict *d = pt_dict_new();
    size_t mark = pt_scope_begin();
    pt_tensor *t = pt_full(shape2, 1, 3.0, PT_F64);
    cr_assert_eq(pt_dict_put(d, "t", t), PT_OK);
    pt_scope_end(mark);
    cr_assert_eq(pt_live_tensors(), live + 1);
    cr_assert_eq(tst_at(pt_dict_get(d, "t"), 1), 3.0);
    pt_dict_free(d);
    cr_assert_eq(pt_live_tensors(), live);
}

Test(dict, put_null_keeps_the_first_error)
{
    pt_dict *d = pt_dict_new();
    pt_error_set("the op that failed first");
    cr_assert_eq(pt_dict_put(d, "x", NULL), PT_ERR);
    cr_assert_str_eq(pt_error(), "the op that failed first");
    cr_assert_eq(pt_dict_size(d), 0);
    pt_dict_free(d);
}

Test(dict, same_handle_under_two_names_is_refused)
{
    long live = pt_live_tensors();
    pt_dict *d = pt_dict_new();
    pt_tensor *t = pt_zeros(shape2, 1, PT_F32);
    cr_assert_eq(pt_dict_put(d, "a", t), PT_OK);
    cr_assert_eq(pt_dict_put(d, "a", t), PT_OK);  /* same name, same handle: no-op */
    cr_assert_eq(pt_dict_put(d, "b", t), PT_ERR);
    cr_assert_not_null(strstr(pt_error(), "'a'"), "%s", pt_error());
    cr_assert_eq(pt_dict_size(d), 1);
    pt_dict_free(d);  /* frees t exactly once */
    cr_assert_eq(pt_live_tensors(), live);
}

Test(dict, index_out_of_range_is_an_error)
{
    pt_dict *d = pt_dict_new();
    pt_error_clear();
    cr_assert_null(pt_dict_name(d, 0));
    cr_assert(pt_error_pending());
    cr_assert_null(pt_dict_tensor(d, -1));
    cr_assert_null(pt_dict_meta_key(d, 0));
    pt_dict_free(d);
    pt_dict_free(NULL);
}

Test(dict, metadata_keeps_order_and_replaces)
{
    pt_dict *d = pt_dict_new();
    cr_assert_eq(pt_dict_set_meta(d, "format", "pt"), PT_OK);
    cr_assert_eq(pt_dict_set_meta(d, "epoch", "1"), PT_OK);
    cr_assert_eq(pt_dict_set_meta(d, "format", "np"), PT_OK);
    cr_assert_eq(pt_dict_meta_size(d), 2);
    cr_assert_str_eq(pt_dict_meta_key(d, 0), "format");
    cr_assert_str_eq(pt_dict_meta_key(d, 1), "epoch");
    cr_assert_str_eq(pt_dict_meta(d, "format"), "np");
    cr_assert_null(pt_dict_meta(d, "missing"));
    cr_assert_eq(pt_dict_set_meta(d, "k", NULL), PT_ERR);
    pt_dict_free(d);
}

Test(dict, many_entries)
{
    long live = pt_live_tensors();
    pt_dict *d = pt_dict_new();
    char name[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "layer.%d.weight", i);
        cr_assert_eq(pt_dict_put(d, name, pt_scalar(i, PT_I64)), PT_OK);
    }
    cr_assert_eq(pt_dict_size(d), 1000);
    cr_assert_str_eq(pt_dict_name(d, 617), "layer.617.weight");
    cr_assert_eq(tst_at(pt_dict_get(d, "layer.617.weight"), 0), 617.0);
    pt_dict_free(d);
    cr_assert_eq(pt_live_tensors(), live);
}
