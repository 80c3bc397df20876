/*
 * test_mobilenetv3.c - train/mobilenetv3 against torchvision 0.14 (python3-torchvision, driven by
 * tests/reference/parity_mobilenetv3.py): the state_dict names and shapes are torchvision's; C
 * weights load into torchvision with strict=True and give the same logits (eval and train mode),
 * loss, gradients and BatchNorm buffers; torchvision's weights give torchvision's logits here.
 * Plus the parts torchvision does not have: backbone mode, grey input, prefixes, stage taps,
 * torchvision's initialisation, refused configurations.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"
#include "models/backbones/mobilenetv3.h"
#include "nn/nn.h"

#define SIDE 64 /* input side of the parity checks, as in parity_mobilenetv3.py */

typedef struct {
    const char *tag; /* VARIANT_WIDTH_CLASSES, as parity_mobilenetv3.py parses it */
    mbv3_variant variant;
    double width;
    int classes;
} arch;

static const arch ARCHS[] = {
    {"small_1.0_1000", MBV3_SMALL, 1.0, 1000},
    {"small_0.75_10", MBV3_SMALL, 0.75, 10},
    {"large_1.0_1000", MBV3_LARGE, 1.0, 1000},
};
#define N_ARCHS ((int)(sizeof ARCHS / sizeof ARCHS[0]))

/* Dropout 0 so that train-mode passes are deterministic on both sides. */
static mbv3_config config_of(const arch *a)
{
    mbv3_config c = mbv3_defaults(a->variant);
    c.width_mult = a->width;
    c.num_classes = a->classes;
    c.dropout = 0.0;
    return c;
}

static int python(const char *mode, const char *dir)
{
    char args[4096];
    int n = snprintf(args, sizeof args, "%s '%s'", mode, dir);
    for (int i = 0; i < N_ARCHS; i++)
        n += snprintf(args + n, sizeof args - (size_t)n, " %s", ARCHS[i].tag);
    return tst_python("parity_mobilenetv3.py", args);
}

static double max_abs(const pt_tensor *t);

static void put(pt_dict *d, const char *name, pt_tensor *t)
{
    cr_assert_not_null(t, "%s: %s", name, pt_error());
    cr_assert_eq(pt_dict_put(d, name, t), PT_OK, "%s", pt_error());
}

/* "name d0,d1,..." as the Python side writes it. */
static void entry_line(const nn_store *s, int i, char *buf, size_t n)
{
    int64_t shape[8];
    int nd = pt_shape(nn_store_tensor(s, i), shape, 8);
    size_t len = (size_t)snprintf(buf, n, "%s ", nn_store_name(s, i));
    for (int d = 0; d < nd && len < n; d++)
        len += (size_t)snprintf(buf + len, n - len, "%s%lld", d ? "," : "", (long long)shape[d]);
}

/* Compares the store, skipping entries whose name starts with skip_prefix (may be NULL) on the
 * Python side and stripping store_prefix from the store's names, with DIR/names_<tag>.txt. */
static void expect_names(const nn_store *s, const char *dir, const char *tag,
                         const char *store_prefix, const char *skip_prefix)
{
    char path[4096], want[512], got[512];
    snprintf(path, sizeof path, "%s/names_%s.txt", dir, tag);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    int i = 0, lines = 0;
    size_t strip = store_prefix ? strlen(store_prefix) : 0;
    while (fgets(want, sizeof want, f)) {
        want[strcspn(want, "\n")] = '\0';
        if (skip_prefix && strncmp(want, skip_prefix, strlen(skip_prefix)) == 0)
            continue;
        lines++;
        cr_assert_lt(i, nn_store_size(s), "%s: pictor has no entry for torchvision's '%s'", tag,
                     want);
        entry_line(s, i++, got, sizeof got);
        cr_assert(strncmp(got, store_prefix ? store_prefix : "", strip) == 0, "%s", got);
        cr_assert_str_eq(got + strip, want, "%s entry %d", tag, i - 1);
    }
    fclose(f);
    cr_expect_eq(i, nn_store_size(s), "%s: pictor has %d entries, torchvision %d", tag,
                 nn_store_size(s), lines);
    cr_expect_gt(lines, 100);
}

TestSuite(mobilenetv3, .init = tst_setup);

Test(mobilenetv3, make_divisible_is_torchvisions)
{
    cr_expect_eq(mbv3_make_divisible(16 * 0.75, 8), 16);  /* rounds 12 up to 16 */
    cr_expect_eq(mbv3_make_divisible(72 * 0.75, 8), 56);
    cr_expect_eq(mbv3_make_divisible(88 * 0.75, 8), 64);  /* 66 -> 64, within 90% */
    cr_expect_eq(mbv3_make_divisible(1024 * 0.75, 8), 768);
    cr_expect_eq(mbv3_make_divisible(10, 8), 16);         /* 8 would lose more than 10% */
    cr_expect_eq(mbv3_make_divisible(3, 8), 8);           /* at least the divisor */
    cr_expect_eq(mbv3_make_divisible(88 / 4, 8), 24);     /* squeeze channels of 88 */
    cr_expect_eq(mbv3_make_divisible(960 / 4, 8), 240);
}

Test(mobilenetv3, state_dict_names_and_shapes_are_torchvisions)
{
    char *dir = tst_tmpdir();
    cr_assert_not_null(dir);
    cr_assert_eq(python("names", dir), 0);
    for (int a = 0; a < N_ARCHS; a++) {
        nn_store *s = nn_store_new(1);
        mbv3 m;
        cr_assert_eq(mbv3_init(&m, s, NULL, config_of(&ARCHS[a])), PT_OK, "%s", pt_error());
        expect_names(s, dir, ARCHS[a].tag, NULL, NULL);
        mbv3_free(&m);
        nn_store_free(s);
    }
    /* as a backbone under a prefix: torchvision's names without the classifier */
    nn_store *s = nn_store_new(1);
    mbv3 m;
    mbv3_config c = config_of(&ARCHS[1]);
    c.num_classes = 0;
    cr_assert_eq(mbv3_init(&m, s, "backbone", c), PT_OK, "%s", pt_error());
    cr_expect_null(m.classifier);
    expect_names(s, dir, ARCHS[1].tag, "backbone.", "classifier.");
    mbv3_free(&m);
    nn_store_free(s);
    cr_expect_eq(pt_live_tensors(), 0);
    tst_rmtree(dir);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Makes the eval-mode checks sensitive to every BatchNorm parameter and buffer and every bias:
 * torchvision's init (ones, zeros, running 0 and 1 moved by momentum 0.01) hides swapped or
 * unloaded ones. Then a few train-mode passes without gradients move the statistics further. */
static void randomise_vectors(mbv3 *m, nn_store *s, pt_generator *g)
{
    pt_no_grad_begin();
    for (int i = 0; i < nn_store_size(s); i++) {
        const char *name = nn_store_name(s, i);
        pt_tensor *t = nn_store_tensor(s, i);
        if (ends_with(name, ".running_var") || (ends_with(name, ".weight") && pt_ndim(t) == 1))
            cr_assert_eq(pt_uniform_(t, 0.5, 2.0, g), PT_OK, "%s", pt_error());
        else if (ends_with(name, ".running_mean") || ends_with(name, ".bias"))
            cr_assert_eq(pt_normal_(t, 0.0, 0.2, g), PT_OK, "%s", pt_error());
    }
    pt_no_grad_end();
    int64_t xs[4] = {4, 3, SIDE, SIDE};
    nn_store_set_training(s, 1);
    pt_no_grad_begin();
    for (int i = 0; i < 2; i++) {
        size_t mark = pt_scope_begin();
        pt_tensor *x = pt_add_s(pt_mul_s(pt_randn(xs, 4, PT_F32, g), 2.0), 0.5);
        cr_assert_not_null(mbv3_logits(m, x), "%s", pt_error());
        pt_scope_end(mark);
    }
    pt_no_grad_end();
}

static void export_weights(const nn_store *s, const char *dir)
{
    char path[4096];
    pt_dict *w = nn_store_state_dict(s, NULL, 0);
    cr_assert_not_null(w, "%s", pt_error());
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    cr_assert_eq(pt_safetensors_save(w, path), PT_OK, "%s", pt_error());
    snprintf(path, sizeof path, "%s/weights.pt", dir);
    cr_assert_eq(pt_torch_save(w, path), PT_OK, "%s", pt_error());
    pt_dict_free(w);
}

/* Eval logits, then one train-mode step: logits, loss, every gradient, every buffer after it. */
static void record_step(mbv3 *m, nn_store *s, pt_generator *g, int classes, const char *dir)
{
    char path[4096], name[NN_NAME_MAX + 16];
    int64_t xs[4] = {2, 3, SIDE, SIDE}, ys[1] = {2};
    size_t mark = pt_scope_begin();
    pt_dict *io = pt_dict_new();
    pt_tensor *x = pt_randn(xs, 4, PT_F32, g), *y = pt_randint(0, classes, ys, 1, g);
    put(io, "x", pt_alias(x));
    put(io, "y", pt_alias(y));

    nn_store_set_training(s, 0);
    pt_no_grad_begin();
    put(io, "eval_logits", mbv3_logits(m, x));
    pt_no_grad_end();

    nn_store_set_training(s, 1);
    pt_tensor *logits = mbv3_logits(m, x);
    pt_tensor *loss = pt_cross_entropy(logits, y, NULL, -100, PT_REDUCE_MEAN, 0.0);
    cr_assert_eq(pt_backward(loss, NULL, 0), PT_OK, "%s", pt_error());
    put(io, "logits", pt_detach(logits));
    put(io, "loss", pt_detach(loss));
    for (int i = 0; i < nn_store_size(s); i++) {
        int param = nn_store_is_param(s, i);
        snprintf(name, sizeof name, "%s.%s", param ? "grad" : "after", nn_store_name(s, i));
        put(io, name, param ? pt_grad(nn_store_tensor(s, i)) : pt_clone(nn_store_tensor(s, i)));
    }
    snprintf(path, sizeof path, "%s/io.safetensors", dir);
    cr_assert_eq(pt_safetensors_save(io, path), PT_OK, "%s", pt_error());
    pt_dict_free(io);
    pt_scope_end(mark);
}

Test(mobilenetv3, c_weights_in_torchvision_give_same_logits_and_gradients, .timeout = 120)
{
    char *dir = tst_tmpdir(), sub[4096];
    cr_assert_not_null(dir);
    for (int a = 0; a < N_ARCHS; a++) {
        snprintf(sub, sizeof sub, "%s/%s", dir, ARCHS[a].tag);
        cr_assert_eq(mkdir(sub, 0700), 0, "%s", sub);
        nn_store *s = nn_store_new(20 + (uint64_t)a);
        pt_generator *g = pt_generator_new(5 + (uint64_t)a);
        mbv3 m;
        cr_assert_eq(mbv3_init(&m, s, NULL, config_of(&ARCHS[a])), PT_OK, "%s", pt_error());
        randomise_vectors(&m, s, g);
        export_weights(s, sub);
        record_step(&m, s, g, ARCHS[a].classes, sub);
        mbv3_free(&m);
        nn_store_free(s);
        pt_generator_free(g);
    }
    cr_expect_eq(pt_live_tensors(), 0);
    cr_expect_eq(python("c2py", dir), 0,
                 "torchvision disagrees with pictor (the worst differences are printed above)");
    tst_rmtree(dir);
}

Test(mobilenetv3, torchvision_weights_give_torchvision_logits, .timeout = 120)
{
    char *dir = tst_tmpdir(), path[4096];
    cr_assert_not_null(dir);
    cr_assert_eq(python("py2c", dir), 0);
    for (int a = 0; a < N_ARCHS; a++) {
        nn_store *s = nn_store_new(99); /* its own init: everything must come from the file */
        mbv3 m;
        cr_assert_eq(mbv3_init(&m, s, NULL, config_of(&ARCHS[a])), PT_OK, "%s", pt_error());
        snprintf(path, sizeof path, "%s/py_%s.pt", dir, ARCHS[a].tag);
        pt_dict *w = pt_torch_load(path);
        cr_assert_not_null(w, "%s", pt_error());
        cr_assert_eq(nn_store_load_state_dict(s, w, 1), PT_OK, "%s", pt_error());
        snprintf(path, sizeof path, "%s/py_%s_io.safetensors", dir, ARCHS[a].tag);
        pt_dict *io = pt_safetensors_load(path);
        cr_assert_not_null(io, "%s", pt_error());

        size_t mark = pt_scope_begin();
        pt_no_grad_begin();
        nn_store_set_training(s, 0);
        pt_tensor *eval_logits = mbv3_logits(&m, pt_dict_get(io, "x"));
        nn_store_set_training(s, 1);
        pt_tensor *train_logits = mbv3_logits(&m, pt_dict_get(io, "x"));
        pt_no_grad_end();
        double de = tst_max_abs_diff(eval_logits, pt_dict_get(io, "eval_logits"));
        double dt = tst_max_abs_diff(train_logits, pt_dict_get(io, "train_logits"));
        fprintf(stderr, "mobilenetv3 py2c %s: eval max |diff| %.3g (largest |logit| %.3g), "
                "train max |diff| %.3g\n", ARCHS[a].tag, de, max_abs(eval_logits), dt);
        cr_expect_leq(de, 1e-4, "%s eval: max |diff| %g", ARCHS[a].tag, de);
        cr_expect_leq(dt, 1e-4, "%s train: max |diff| %g", ARCHS[a].tag, dt);
        pt_scope_end(mark);
        pt_dict_free(io);
        pt_dict_free(w);
        mbv3_free(&m);
        nn_store_free(s);
    }
    cr_expect_eq(pt_live_tensors(), 0);
    tst_rmtree(dir);
}

static void expect_shape(const pt_tensor *t, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
                         const char *what)
{
    int64_t want[4] = {d0, d1, d2, d3}, got[8];
    int nd = pt_shape(t, got, 8), want_nd = d2 < 0 ? 2 : 4;
    cr_assert_eq(nd, want_nd, "%s: %d dims (%s)", what, nd, pt_error());
    for (int i = 0; i < nd; i++)
        cr_expect_eq(got[i], want[i], "%s: dim %d is %lld, want %lld", what, i,
                     (long long)got[i], (long long)want[i]);
}

Test(mobilenetv3, grey_backbone_features_pool_and_taps)
{
    nn_store *s = nn_store_new(3);
    mbv3 m;
    mbv3_config c = mbv3_defaults(MBV3_SMALL);
    c.num_classes = 0;
    c.in_channels = 1;
    cr_assert_eq(mbv3_init(&m, s, NULL, c), PT_OK, "%s", pt_error());
    expect_shape(nn_store_find(s, "features.0.0.weight"), 16, 1, 3, 3, "features.0.0.weight");
    cr_expect_null(nn_store_find(s, "classifier.0.weight"));
    cr_expect_eq(m.feature_channels, 576);
    cr_expect_eq(m.last_channel, 1024);

    int64_t xs[4] = {2, 1, SIDE, SIDE};
    pt_tensor *x = pt_randn(xs, 4, PT_F32, NULL), *taps[MBV3_MAX_TAPS];
    pt_tensor *f = mbv3_features(&m, x), *p = mbv3_pool(&m, f);
    expect_shape(f, 2, 576, 2, 2, "features");
    expect_shape(p, 2, 576, -1, -1, "pool");

    /* the taps end the stride 2, 4, 8, 16 stages; the features they lead to are the same */
    cr_assert_eq(m.n_taps, 4);
    static const int64_t tap_ch[4] = {16, 16, 24, 48}, tap_layer[4] = {0, 1, 3, 8};
    pt_tensor *f2 = mbv3_features_taps(&m, x, taps);
    cr_assert_not_null(f2, "%s", pt_error());
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(m.tap_layer[i], tap_layer[i]);
        cr_expect_eq(m.tap_channels[i], tap_ch[i]);
        expect_shape(taps[i], 2, tap_ch[i], SIDE >> (i + 1), SIDE >> (i + 1), "tap");
        pt_free(taps[i]);
    }
    cr_expect_eq(tst_max_abs_diff(f, f2), 0.0);

    pt_error_clear();
    cr_expect_null(mbv3_logits(&m, x));
    cr_expect(strstr(pt_error(), "num_classes 0") != NULL, "%s", pt_error());

    pt_free(f2), pt_free(p), pt_free(f), pt_free(x);
    mbv3_free(&m);
    nn_store_free(s);
    cr_expect_eq(pt_live_tensors(), 0);
}

Test(mobilenetv3, large_taps_and_widths)
{
    nn_store *s = nn_store_new(3);
    mbv3 m;
    mbv3_config c = mbv3_defaults(MBV3_LARGE);
    c.width_mult = 0.5;
    cr_assert_eq(mbv3_init(&m, s, NULL, c), PT_OK, "%s", pt_error());
    static const int tap_layer[4] = {1, 3, 6, 12};
    cr_assert_eq(m.n_taps, 4);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(m.tap_layer[i], tap_layer[i]);
    cr_expect_eq(m.feature_channels, 6 * 80); /* 160 * 0.5 */
    cr_expect_eq(m.last_channel, 640);
    expect_shape(nn_store_find(s, "classifier.3.weight"), 1000, 640, -1, -1, "classifier.3");
    mbv3_free(&m);
    nn_store_free(s);
}

static double std_of(const pt_tensor *t)
{
    int64_t dims[4] = {0, 1, 2, 3};
    pt_tensor *flat = pt_flatten(t, 0, -1);
    pt_tensor *v = pt_var_dims(flat, dims, 1, 0, 0);
    double r = sqrt(pt_item_or_nan(v));
    pt_free(v), pt_free(flat);
    return r;
}

static double max_abs(const pt_tensor *t)
{
    pt_tensor *a = pt_abs(t), *m = pt_max(a);
    double r = pt_item_or_nan(m);
    pt_free(m), pt_free(a);
    return r;
}

Test(mobilenetv3, initialisation_is_torchvisions)
{
    nn_store *s = nn_store_new(5);
    mbv3 m;
    cr_assert_eq(mbv3_init(&m, s, NULL, mbv3_defaults(MBV3_SMALL)), PT_OK, "%s", pt_error());
    /* kaiming_normal_ fan_out: std sqrt(2 / (out * k * k)) */
    double sd = std_of(nn_store_find(s, "features.12.0.weight")); /* [576, 96, 1, 1] */
    cr_expect(fabs(sd - sqrt(2.0 / 576)) < 0.03 * sqrt(2.0 / 576), "std %g", sd);
    sd = std_of(nn_store_find(s, "features.9.block.1.0.weight")); /* depthwise [288, 1, 5, 5] */
    cr_expect(fabs(sd - sqrt(2.0 / (288 * 25))) < 0.05 * sqrt(2.0 / (288 * 25)), "std %g", sd);
    sd = std_of(nn_store_find(s, "classifier.0.weight")); /* normal(0, 0.01), [1024, 576] */
    cr_expect(fabs(sd - 0.01) < 0.0005, "std %g", sd);
    cr_expect_eq(max_abs(nn_store_find(s, "classifier.0.bias")), 0.0);
    cr_expect_eq(max_abs(nn_store_find(s, "classifier.3.bias")), 0.0);
    cr_expect_eq(max_abs(nn_store_find(s, "features.1.block.1.fc1.bias")), 0.0);
    cr_expect_eq(max_abs(nn_store_find(s, "features.1.block.1.fc2.bias")), 0.0);
    cr_expect_eq(tst_at(nn_store_find(s, "features.1.block.0.1.weight"), 3), 1.0);
    cr_expect_eq(max_abs(nn_store_find(s, "features.1.block.0.1.bias")), 0.0);
    cr_expect_null(nn_store_find(s, "features.1.block.0.0.bias")); /* convs have no bias */
    /* torchvision's parameter count of mobilenet_v3_small (its weights' num_params) */
    cr_expect_eq(nn_store_num_scalars(s, 1), 2542856);
    mbv3_free(&m);
    nn_store_free(s);

    s = nn_store_new(5);
    cr_assert_eq(mbv3_init(&m, s, NULL, mbv3_defaults(MBV3_LARGE)), PT_OK, "%s", pt_error());
    cr_expect_eq(nn_store_num_scalars(s, 1), 5483032);
    mbv3_free(&m);
    nn_store_free(s);
}

Test(mobilenetv3, bad_configurations_are_refused)
{
    mbv3_config base = mbv3_defaults(MBV3_SMALL), c;
    nn_store *s = nn_store_new(1);
    mbv3 m;
    const char *keys[5] = {"variant", "width_mult", "num_classes", "dropout", "in_channels"};
    for (int i = 0; i < 5; i++) {
        c = base;
        switch (i) {
        case 0: c.variant = (mbv3_variant)7; break;
        case 1: c.width_mult = 0.0; break;
        case 2: c.num_classes = -1; break;
        case 3: c.dropout = 1.0; break;
        default: c.in_channels = 2; break;
        }
        pt_error_clear();
        cr_expect_eq(mbv3_init(&m, s, NULL, c), PT_ERR, "%s", keys[i]);
        cr_expect(strstr(pt_error(), keys[i]) != NULL, "%s: %s", keys[i], pt_error());
        cr_expect_null(m.features);
    }
    cr_expect_eq(nn_store_size(s), 0); /* refused before anything was registered */

    /* a failure half-way through building (a name taken) frees what was built */
    int64_t one = 1;
    cr_assert_not_null(nn_store_param(s, "features.5.block.1.0.weight", pt_zeros(&one, 1, PT_F32)));
    pt_error_clear();
    cr_expect_eq(mbv3_init(&m, s, NULL, base), PT_ERR);
    cr_expect(strstr(pt_error(), "features.5.block.1.0.weight") != NULL, "%s", pt_error());
    cr_expect_null(m.features);
    cr_expect_null(m.classifier);
    nn_store_free(s);
    cr_expect_eq(pt_live_tensors(), 0);
}
