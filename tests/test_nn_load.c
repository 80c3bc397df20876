/*
 * test_nn_load.c - loading weights into a sub-tree of the parameter store (train/nn/nn_load.c):
 * values land under the destination prefix and nowhere else, ignored names are optional on
 * both sides, the strict error counts and lists the missing and the unexpected names (cut after
 * six), a shape mismatch names the entry and both shapes, nothing is copied when a check fails,
 * and weight files are told apart by content whatever their extension.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "nn/nn.h"

static pt_tensor *filled(int64_t rows, int64_t cols, double v)
{
    int64_t shape[2] = {rows, cols};
    return pt_full(shape, cols ? 2 : 1, v, PT_F32);
}

/* backbone.body.conv1.weight [2, 3] = 0, backbone.body.bn.running_mean [2] = 0 (a buffer),
 * head.weight [4] = 5 */
static nn_store *small_store(void)
{
    nn_store *s = nn_store_new(1);
    cr_assert_not_null(s);
    cr_assert_not_null(nn_store_param(s, "backbone.body.conv1.weight", filled(2, 3, 0)));
    cr_assert_not_null(nn_store_buffer(s, "backbone.body.bn.running_mean", filled(2, 0, 0)));
    cr_assert_not_null(nn_store_param(s, "head.weight", filled(4, 0, 5)));
    return s;
}

static double value_of(nn_store *s, const char *name)
{
    return tst_at(nn_store_find(s, name), 0);
}

Test(nn_load, a_file_prefix_goes_into_a_subtree_and_ignored_names_are_optional)
{
    tst_setup();
    nn_store *s = small_store();
    pt_dict *d = pt_dict_new();
    cr_assert_eq(pt_dict_put(d, "conv1.weight", filled(2, 3, 1.5)), PT_OK);
    cr_assert_eq(pt_dict_put(d, "bn.running_mean", filled(2, 0, -2)), PT_OK);
    cr_assert_eq(pt_dict_put(d, "fc.weight", filled(10, 4, 9)), PT_OK); /* ignored: not in store */
    static const char *const ignore[] = {"fc.", NULL};
    cr_assert_eq(nn_store_load_prefix(s, "backbone.body.", d, "", ignore, 1), 2, "%s", pt_error());
    cr_expect_eq(value_of(s, "backbone.body.conv1.weight"), 1.5);
    cr_expect_eq(tst_at(nn_store_find(s, "backbone.body.conv1.weight"), 5), 1.5);
    cr_expect_eq(value_of(s, "backbone.body.bn.running_mean"), -2.0);
    cr_expect_eq(value_of(s, "head.weight"), 5.0, "outside the sub-tree: untouched");
    /* the loaded parameter still requires grad (copied in place, not replaced) */
    cr_expect(pt_requires_grad(nn_store_find(s, "backbone.body.conv1.weight")));
    /* the other direction: a store prefix to a file prefix */
    pt_dict *e = pt_dict_new();
    cr_assert_eq(pt_dict_put(e, "model.head.weight", filled(4, 0, 7)), PT_OK);
    cr_assert_eq(pt_dict_put(e, "other.x", filled(1, 0, 7)), PT_OK); /* outside src: not looked at */
    cr_expect_eq(nn_store_load_prefix(s, "head.", e, "model.head.", NULL, 1), 1, "%s", pt_error());
    cr_expect_eq(value_of(s, "head.weight"), 7.0);
    pt_dict_free(e);
    pt_dict_free(d);
    nn_store_free(s);
}

Test(nn_load, strict_errors_list_the_missing_and_the_unexpected_and_copy_nothing)
{
    tst_setup();
    nn_store *s = small_store();
    pt_dict *d = pt_dict_new();
    cr_assert_eq(pt_dict_put(d, "conv1.weight", filled(2, 3, 1)), PT_OK);
    cr_assert_eq(pt_dict_put(d, "layer9.weight", filled(1, 0, 1)), PT_OK);
    cr_assert_eq(pt_dict_put(d, "extra.bias", filled(1, 0, 1)), PT_OK);
    cr_assert_eq(nn_store_load_prefix(s, "backbone.body.", d, "", NULL, 1), -1);
    const char *e = pt_error();
    cr_expect(strstr(e, "loading '*' into 'backbone.body.*'") != NULL, "%s", e);
    cr_expect(strstr(e, "1 missing key(s) (bn.running_mean)") != NULL, "%s", e);
    cr_expect(strstr(e, "2 unexpected key(s) (layer9.weight, extra.bias)") != NULL, "%s", e);
    cr_expect_eq(value_of(s, "backbone.body.conv1.weight"), 0.0, "a failed check copies nothing");
    /* not strict: what matches is loaded, the rest is left */
    pt_error_clear();
    cr_expect_eq(nn_store_load_prefix(s, "backbone.body.", d, "", NULL, 0), 1, "%s", pt_error());
    cr_expect_eq(value_of(s, "backbone.body.conv1.weight"), 1.0);
    cr_expect_eq(value_of(s, "backbone.body.bn.running_mean"), 0.0);
    pt_dict_free(d);
    nn_store_free(s);
}

Test(nn_load, long_lists_are_cut_with_a_count_and_the_whole_store_case_keeps_its_words)
{
    tst_setup();
    nn_store *s = nn_store_new(1);
    char name[64];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "blocks.%d.weight", i);
        cr_assert_not_null(nn_store_param(s, name, filled(1, 0, 0)));
    }
    pt_dict *d = pt_dict_new();
    cr_assert_eq(nn_store_load_prefix(s, "", d, "", NULL, 1), -1);
    cr_expect(strstr(pt_error(), "load_state_dict: 10 missing key(s) (blocks.0.weight, "
                                 "blocks.1.weight, blocks.2.weight, blocks.3.weight, "
                                 "blocks.4.weight, blocks.5.weight, ... and 4 more), "
                                 "0 unexpected key(s)") != NULL,
              "%s", pt_error());
    cr_expect_eq(nn_store_load_state_dict(s, d, 1), PT_ERR);
    cr_expect_eq(nn_store_load_state_dict(s, d, 0), PT_OK, "not strict: nothing to load is fine");
    pt_dict_free(d);
    nn_store_free(s);
}

Test(nn_load, a_shape_mismatch_names_the_entry_and_both_shapes)
{
    tst_setup();
    nn_store *s = small_store();
    pt_dict *d = pt_dict_new();
    cr_assert_eq(pt_dict_put(d, "bn.running_mean", filled(2, 0, 3)), PT_OK);
    cr_assert_eq(pt_dict_put(d, "conv1.weight", filled(3, 2, 1)), PT_OK);
    cr_assert_eq(nn_store_load_prefix(s, "backbone.body.", d, "", NULL, 0), -1);
    const char *e = pt_error();
    cr_expect(strstr(e, "'conv1.weight' has shape float32[3, 2] in the file but float32[2, 3] in "
                        "the model ('backbone.body.conv1.weight')") != NULL, "%s", e);
    cr_expect_eq(value_of(s, "backbone.body.bn.running_mean"), 0.0, "nothing copied");
    pt_dict_free(d);
    nn_store_free(s);
}

Test(nn_load, files_are_told_apart_by_content_and_errors_name_the_file)
{
    tst_setup();
    char *dir = tst_tmpdir();
    char st_path[4200], pt_path[4200], junk[4200], none[4200];
    /* misleading extensions on purpose */
    snprintf(st_path, sizeof st_path, "%s/weights.pt", dir);
    snprintf(pt_path, sizeof pt_path, "%s/weights.safetensors", dir);
    snprintf(junk, sizeof junk, "%s/junk.bin", dir);
    snprintf(none, sizeof none, "%s/absent.safetensors", dir);
    pt_dict *d = pt_dict_new();
    cr_assert_eq(pt_dict_put(d, "conv1.weight", filled(2, 3, 4)), PT_OK);
    cr_assert_eq(pt_dict_put(d, "bn.running_mean", filled(2, 0, 6)), PT_OK);
    cr_assert_eq(pt_safetensors_save(d, st_path), PT_OK, "%s", pt_error());
    cr_assert_eq(pt_torch_save(d, pt_path), PT_OK, "%s", pt_error());
    FILE *f = fopen(junk, "wb");
    cr_assert_not_null(f);
    fputs("not weights at all", f);
    fclose(f);
    const char *paths[2] = {st_path, pt_path};
    for (int i = 0; i < 2; i++) {
        nn_store *s = small_store();
        cr_expect_eq(nn_store_load_file(s, "backbone.body.", paths[i], "", NULL, 1), 2, "%s: %s",
                     paths[i], pt_error());
        cr_expect_eq(value_of(s, "backbone.body.conv1.weight"), 4.0, "%s", paths[i]);
        cr_expect_eq(value_of(s, "backbone.body.bn.running_mean"), 6.0, "%s", paths[i]);
        nn_store_free(s);
    }
    nn_store *s = small_store();
    cr_expect_eq(nn_store_load_file(s, "backbone.body.", junk, "", NULL, 1), -1);
    cr_expect(strstr(pt_error(), junk) && strstr(pt_error(), "neither a safetensors file"), "%s",
              pt_error());
    cr_expect_eq(nn_store_load_file(s, "backbone.body.", none, "", NULL, 1), -1);
    cr_expect(strstr(pt_error(), none) != NULL, "%s", pt_error());
    /* the strict error of a file starts with its path */
    cr_expect_eq(nn_store_load_file(s, "", st_path, "", NULL, 1), -1);
    cr_expect(strncmp(pt_error(), "'", 1) == 0 && strstr(pt_error(), st_path) &&
                  strstr(pt_error(), "3 missing key(s)") && strstr(pt_error(), "2 unexpected"),
              "%s", pt_error());
    nn_store_free(s);
    pt_dict_free(d);
    tst_rmtree(dir);
}
