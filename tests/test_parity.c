/*
 * test_parity.c - pictor's nn layer against PyTorch (Debian's python3-torch): the small CNN built
 * with train/nn, its weights exported to safetensors and to a torch dict, loaded in Python with
 * load_state_dict(strict=True): logits, loss, gradients and BatchNorm buffers equal within 1e-5;
 * and the reverse direction (a Python-saved dict loaded into C gives Python's logits).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "nn/nn.h"
#include "models/classifier/small_cnn.h"

static const small_cnn_config ARCH = {3, 4, 16, 5, 8}; /* as in parity_small_cnn.py */

static void put(pt_dict *d, const char *name, pt_tensor *t)
{
    cr_assert_not_null(t, "%s: %s", name, pt_error());
    cr_assert_eq(pt_dict_put(d, name, t), PT_OK, "%s", pt_error());
}

TestSuite(parity, .init = tst_setup);

Test(parity, c_model_matches_pytorch_forward_backward)
{
    char *dir = tst_tmpdir(), path[4096];
    cr_assert_not_null(dir);
    nn_store *s = nn_store_new(11);
    small_cnn m;
    cr_assert_eq(small_cnn_init(&m, s, ARCH), PT_OK, "%s", pt_error());

    /* export the initial weights both ways (before the forward pass moves the BN buffers) */
    pt_dict *w = nn_store_state_dict(s, NULL, 0);
    cr_assert_not_null(w);
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    cr_assert_eq(pt_safetensors_save(w, path), PT_OK, "%s", pt_error());
    snprintf(path, sizeof path, "%s/weights.pt", dir);
    cr_assert_eq(pt_torch_save(w, path), PT_OK, "%s", pt_error());
    pt_dict_free(w);

    pt_generator *g = pt_generator_new(5);
    int64_t xs[4] = {4, 3, 8, 8}, ys[1] = {4};
    pt_tensor *x = pt_randn(xs, 4, PT_F32, g), *y = pt_randint(0, 5, ys, 1, g);
    pt_tensor *logits = small_cnn_forward(&m, x);
    pt_tensor *loss = pt_cross_entropy(logits, y, NULL, -100, PT_REDUCE_MEAN, 0.0);
    cr_assert_eq(pt_backward(loss, NULL, 0), PT_OK, "%s", pt_error());

    pt_dict *io = pt_dict_new();
    put(io, "x", pt_alias(x));
    put(io, "y", pt_alias(y));
    put(io, "logits", pt_detach(logits));
    put(io, "loss", pt_detach(loss));
    char name[NN_NAME_MAX + 16];
    for (int i = 0; i < nn_store_size(s); i++) {
        pt_tensor *t = nn_store_tensor(s, i);
        if (nn_store_is_param(s, i)) {
            snprintf(name, sizeof name, "grad.%s", nn_store_name(s, i));
            put(io, name, pt_grad(t));
        } else {
            snprintf(name, sizeof name, "after.%s", nn_store_name(s, i));
            put(io, name, pt_clone(t));
        }
    }
    nn_store_set_training(s, 0);
    pt_no_grad_begin();
    put(io, "eval_logits", small_cnn_forward(&m, x));
    pt_no_grad_end();
    snprintf(path, sizeof path, "%s/io.safetensors", dir);
    cr_assert_eq(pt_safetensors_save(io, path), PT_OK, "%s", pt_error());

    snprintf(path, sizeof path, "c2py '%s'", dir);
    cr_expect_eq(tst_python("parity_small_cnn.py", path), 0,
                 "PyTorch disagrees with pictor (see the max |diff| printed above)");

    pt_dict_free(io);
    pt_free(x), pt_free(y), pt_free(logits), pt_free(loss);
    pt_generator_free(g);
    small_cnn_free(&m);
    nn_store_free(s);
    cr_expect_eq(pt_live_tensors(), 0);
    tst_rmtree(dir);
}

Test(parity, python_weights_load_into_c_model)
{
    char *dir = tst_tmpdir(), path[4096];
    cr_assert_not_null(dir);
    snprintf(path, sizeof path, "py2c '%s'", dir);
    cr_assert_eq(tst_python("parity_small_cnn.py", path), 0);

    nn_store *s = nn_store_new(99); /* different init: everything must come from the file */
    small_cnn m;
    cr_assert_eq(small_cnn_init(&m, s, ARCH), PT_OK, "%s", pt_error());
    snprintf(path, sizeof path, "%s/py_weights.pt", dir);
    pt_dict *w = pt_torch_load(path);
    cr_assert_not_null(w, "%s", pt_error());
    cr_assert_eq(nn_store_load_state_dict(s, w, 1), PT_OK, "%s", pt_error());
    snprintf(path, sizeof path, "%s/py_io.safetensors", dir);
    pt_dict *io = pt_safetensors_load(path);
    cr_assert_not_null(io, "%s", pt_error());

    nn_store_set_training(s, 0);
    pt_no_grad_begin();
    pt_tensor *logits = small_cnn_forward(&m, pt_dict_get(io, "x"));
    pt_no_grad_end();
    double d = tst_max_abs_diff(logits, pt_dict_get(io, "eval_logits"));
    cr_expect_leq(d, 1e-5, "max |diff| %g", d);

    /* the OrderedDict that torch.save(model.state_dict()) writes is refused with advice */
    snprintf(path, sizeof path, "%s/py_ordered.pt", dir);
    pt_dict *bad = pt_torch_load(path);
    if (bad) { /* a libtorch that reads OrderedDicts is fine too: then it must be right */
        cr_expect_eq(pt_dict_size(bad), pt_dict_size(w));
        pt_dict_free(bad);
    } else {
        cr_expect(strstr(pt_error(), "dict(state_dict)") != NULL, "%s", pt_error());
        cr_expect(strstr(pt_error(), "py_ordered.pt") != NULL, "%s", pt_error());
    }
    pt_free(logits);
    pt_dict_free(io);
    pt_dict_free(w);
    small_cnn_free(&m);
    nn_store_free(s);
    tst_rmtree(dir);
}

Test(parity, strict_load_names_missing_and_unexpected_keys)
{
    nn_store *s = nn_store_new(1);
    small_cnn m;
    cr_assert_eq(small_cnn_init(&m, s, ARCH), PT_OK, "%s", pt_error());
    pt_dict *w = nn_store_state_dict(s, NULL, 0);
    pt_tensor *before = pt_clone(nn_store_find(s, "features.0.weight"));

    /* rename one entry: one missing, one unexpected */
    pt_dict *renamed = pt_dict_new();
    for (int i = 0; i < pt_dict_size(w); i++) {
        const char *n = pt_dict_name(w, i);
        pt_tensor *t = pt_clone(pt_dict_tensor(w, i));
        pt_dict_put(renamed, strcmp(n, "classifier.3.bias") ? n : "classifier.3.bias_typo", t);
    }
    pt_fill_(pt_dict_get(renamed, "features.0.weight"), 7.0);
    pt_error_clear();
    cr_assert_eq(nn_store_load_state_dict(s, renamed, 1), PT_ERR);
    cr_expect(strstr(pt_error(), "classifier.3.bias_typo") != NULL, "%s", pt_error());
    cr_expect(strstr(pt_error(), "1 missing key(s) (classifier.3.bias)") != NULL, "%s", pt_error());
    /* nothing was changed by the failed load */
    cr_expect_eq(tst_max_abs_diff(before, nn_store_find(s, "features.0.weight")), 0.0);
    /* non-strict loads what matches */
    cr_expect_eq(nn_store_load_state_dict(s, renamed, 0), PT_OK, "%s", pt_error());
    cr_expect_eq(tst_at(nn_store_find(s, "features.0.weight"), 0), 7.0);

    /* a shape mismatch names the key and both shapes */
    int64_t shp[1] = {3};
    pt_dict_put(renamed, "classifier.3.weight", pt_zeros(shp, 1, PT_F32));
    cr_assert_eq(nn_store_load_state_dict(s, renamed, 0), PT_ERR);
    cr_expect(strstr(pt_error(), "classifier.3.weight") && strstr(pt_error(), "float32[3]") &&
              strstr(pt_error(), "float32[5, 16]"), "%s", pt_error());

    pt_free(before);
    pt_dict_free(renamed);
    pt_dict_free(w);
    small_cnn_free(&m);
    nn_store_free(s);
}
