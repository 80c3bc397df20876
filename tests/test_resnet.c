/*
 * test_resnet.c - train/resnet and train/fpn against torchvision 0.14 (python3-torchvision,
 * driven by tests/reference/resnet_fpn_parity.py): the state_dict names and shapes are
 * torchvision's for ResNet-18/34/50/101/152 and the FPN; pictor's ResNet + FPN weights load into
 * torchvision's resnet and FeaturePyramidNetwork(LastLevelP6P7) with strict=True and give the
 * same logits, P3 .. P7 (on a 100x136 input), loss, gradients and BatchNorm buffers; torchvision's
 * weights give torchvision's outputs here. Plus what torchvision's classifier does not have:
 * frozen stages and norm_eval (nn_store_freeze, frozen BatchNorm statistics), initialisation,
 * output sizes, refused configurations and inputs.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "models/backbones/fpn.h"
#include "helpers.h"
#include "nn/nn.h"
#include "models/backbones/resnet.h"

/* Input of the parity checks, as in resnet_fpn_parity.py: not a multiple of 128 either way. */
static const int64_t PARITY_SHAPE[4] = {2, 3, 100, 136};
#define N_LEVELS 5 /* P3 .. P7 */

static const int PARITY_DEPTHS[] = {18, 50};
#define N_PARITY ((int)(sizeof PARITY_DEPTHS / sizeof PARITY_DEPTHS[0]))

static int python(const char *mode, const char *dir, const int *depths, int n)
{
    char args[4096];
    int len = snprintf(args, sizeof args, "%s '%s'", mode, dir);
    for (int i = 0; i < n; i++)
        len += snprintf(args + len, sizeof args - (size_t)len, " %d", depths[i]);
    return tst_python("resnet_fpn_parity.py", args);
}

static void put(pt_dict *d, const char *name, pt_tensor *t)
{
    cr_assert_not_null(t, "%s: %s", name, pt_error());
    cr_assert_eq(pt_dict_put(d, name, t), PT_OK, "%s", pt_error());
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
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

/* Compares the store entries [*next, ...) whose name starts with store_prefix, with the prefix
 * stripped, against DIR/<file> (skipping torchvision's lines starting with skip, may be NULL).
 * Advances *next past the entries compared. */
static void expect_names(const nn_store *s, int *next, const char *dir, const char *file,
                         const char *store_prefix, const char *skip)
{
    char path[4096], want[512], got[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    size_t strip = strlen(store_prefix);
    int lines = 0;
    while (fgets(want, sizeof want, f)) {
        want[strcspn(want, "\n")] = '\0';
        if (skip && starts_with(want, skip))
            continue;
        lines++;
        cr_assert_lt(*next, nn_store_size(s), "%s: pictor has no entry for torchvision's '%s'",
                     file, want);
        entry_line(s, (*next)++, got, sizeof got);
        cr_assert(starts_with(got, store_prefix), "%s: '%s' lacks prefix '%s'", file, got,
                  store_prefix);
        cr_assert_str_eq(got + strip, want, "%s entry %d", file, lines - 1);
    }
    fclose(f);
    cr_expect_gt(lines, 10, "%s", file);
}

TestSuite(resnet, .init = tst_setup);

/* ------------------------------------------------------------------ structure */

Test(resnet, state_dict_names_shapes_and_counts_are_torchvisions, .timeout = 120)
{
    static const int depths[] = {18, 34, 50, 101, 152};
    /* torchvision's parameter counts (num_params of the ImageNet weights' metadata) */
    static const int64_t counts[] = {11689512, 21797672, 25557032, 44549160, 60192808};
    char *dir = tst_tmpdir(), file[64];
    cr_assert_not_null(dir);
    cr_assert_eq(python("names", dir, depths, 4), 0); /* 152: the count only (time) */
    for (int i = 0; i < 5; i++) {
        nn_store *s = nn_store_new(1);
        resnet m;
        cr_assert_eq(resnet_init(&m, s, NULL, resnet_defaults(depths[i])), PT_OK, "%s",
                     pt_error());
        int next = 0;
        snprintf(file, sizeof file, "names_resnet%d.txt", depths[i]);
        if (depths[i] != 152)
            expect_names(s, &next, dir, file, "", NULL);
        cr_expect(depths[i] == 152 || next == nn_store_size(s),
                  "resnet%d: pictor has %d entries, torchvision %d", depths[i],
                  nn_store_size(s), next);
        cr_expect_eq(nn_store_num_scalars(s, 1), counts[i], "resnet%d: %lld parameters",
                     depths[i], (long long)nn_store_num_scalars(s, 1));
        int64_t c5 = depths[i] >= 50 ? 2048 : 512;
        cr_expect_eq(resnet_channels(&m, 2), c5 / 8);
        cr_expect_eq(resnet_channels(&m, 5), c5);
        cr_expect_eq(resnet_channels(&m, 6), -1);
        resnet_free(&m);
        nn_store_free(s);
    }
    /* BackboneWithFPN's layout: a backbone without fc under "backbone.body.", then the FPN over
     * C3 .. C5 under "backbone.fpn." */
    for (int i = 0; i < 4; i += 2) { /* 18 and 50 */
        nn_store *s = nn_store_new(1);
        resnet m;
        fpn f;
        resnet_config rc = resnet_defaults(depths[i]);
        rc.with_fc = 0;
        cr_assert_eq(resnet_init(&m, s, "backbone.body", rc), PT_OK, "%s", pt_error());
        int64_t in[3] = {resnet_channels(&m, 3), resnet_channels(&m, 4), resnet_channels(&m, 5)};
        cr_assert_eq(fpn_init(&f, s, "backbone.fpn", fpn_defaults(in, 3)), PT_OK, "%s",
                     pt_error());
        cr_expect_eq(f.n_outputs, 5);
        int next = 0;
        snprintf(file, sizeof file, "names_resnet%d.txt", depths[i]);
        expect_names(s, &next, dir, file, "backbone.body.", "fc.");
        snprintf(file, sizeof file, "names_fpn%d.txt", depths[i]);
        expect_names(s, &next, dir, file, "backbone.fpn.", NULL);
        cr_expect_eq(next, nn_store_size(s));
        fpn_free(&f);
        resnet_free(&m);
        nn_store_free(s);
    }
    cr_expect_eq(pt_live_tensors(), 0);
    tst_rmtree(dir);
}

/* ------------------------------------------------------------------ parity */

/* ResNet with fc under "body", FPN over its C3 .. C5 under "fpn", as resnet_fpn_parity.py. */
typedef struct {
    nn_store *store;
    resnet body;
    fpn neck;
} model;

static void model_init(model *md, int depth, uint64_t seed)
{
    md->store = nn_store_new(seed);
    cr_assert_not_null(md->store, "%s", pt_error());
    cr_assert_eq(resnet_init(&md->body, md->store, "body", resnet_defaults(depth)), PT_OK, "%s",
                 pt_error());
    int64_t in[3] = {resnet_channels(&md->body, 3), resnet_channels(&md->body, 4),
                     resnet_channels(&md->body, 5)};
    cr_assert_eq(fpn_init(&md->neck, md->store, "fpn", fpn_defaults(in, 3)), PT_OK, "%s",
                 pt_error());
}

static void model_free(model *md)
{
    fpn_free(&md->neck);
    resnet_free(&md->body);
    nn_store_free(md->store);
}

/* Logits and P3 .. P7 (new handles) from one pass. */
static void model_forward(model *md, const pt_tensor *x, pt_tensor **logits,
                          pt_tensor *levels[N_LEVELS])
{
    pt_tensor *c[4];
    cr_assert_eq(resnet_forward(&md->body, x, c, logits), PT_OK, "%s", pt_error());
    cr_assert_eq(fpn_forward(&md->neck, c + 1, 3, levels), PT_OK, "%s", pt_error());
    for (int i = 0; i < 4; i++)
        pt_free(c[i]);
}

/* Makes the checks sensitive to every BatchNorm parameter and buffer and every bias (see
 * test_mobilenetv3.c), then moves the statistics with two train-mode passes. */
static void randomise_vectors(model *md, pt_generator *g)
{
    nn_store *s = md->store;
    pt_no_grad_begin();
    for (int i = 0; i < nn_store_size(s); i++) {
        const char *name = nn_store_name(s, i);
        pt_tensor *t = nn_store_tensor(s, i);
        if (ends_with(name, ".running_var") || (ends_with(name, ".weight") && pt_ndim(t) == 1))
            cr_assert_eq(pt_uniform_(t, 0.5, 2.0, g), PT_OK, "%s", pt_error());
        else if (ends_with(name, ".running_mean") || ends_with(name, ".bias"))
            cr_assert_eq(pt_normal_(t, 0.0, 0.2, g), PT_OK, "%s", pt_error());
    }
    int64_t xs[4] = {4, 3, 64, 64};
    nn_store_set_training(s, 1);
    for (int i = 0; i < 2; i++) {
        size_t mark = pt_scope_begin();
        pt_tensor *x = pt_add_s(pt_mul_s(pt_randn(xs, 4, PT_F32, g), 2.0), 0.5);
        cr_assert_not_null(resnet_logits(&md->body, x), "%s", pt_error());
        pt_scope_end(mark);
    }
    pt_no_grad_end();
}

static void export_weights(const nn_store *s, const char *dir)
{
    char path[4200]; /* dir (< 4096) + a file name */
    pt_dict *w = nn_store_state_dict(s, NULL, 0);
    cr_assert_not_null(w, "%s", pt_error());
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    cr_assert_eq(pt_safetensors_save(w, path), PT_OK, "%s", pt_error());
    snprintf(path, sizeof path, "%s/weights.pt", dir);
    cr_assert_eq(pt_torch_save(w, path), PT_OK, "%s", pt_error());
    pt_dict_free(w);
}

/* Eval outputs, then one train-mode pass: outputs, loss, every gradient, every buffer after. */
static void record_step(model *md, pt_generator *g, const char *dir)
{
    char path[4200], name[NN_NAME_MAX + 16]; /* dir (< 4096) + a file name */
    nn_store *s = md->store;
    int64_t ys[1] = {2};
    size_t mark = pt_scope_begin();
    pt_dict *io = pt_dict_new();
    pt_tensor *x = pt_randn(PARITY_SHAPE, 4, PT_F32, g), *y = pt_randint(0, 1000, ys, 1, g);
    put(io, "x", pt_alias(x));
    put(io, "y", pt_alias(y));

    pt_tensor *logits, *levels[N_LEVELS];
    nn_store_set_training(s, 0);
    pt_no_grad_begin();
    model_forward(md, x, &logits, levels);
    pt_no_grad_end();
    put(io, "eval_logits", logits);
    for (int i = 0; i < N_LEVELS; i++)
        put(io, nn_path(name, "eval_p%d", i), levels[i]);

    nn_store_set_training(s, 1);
    model_forward(md, x, &logits, levels);
    pt_tensor *loss = pt_cross_entropy(logits, y, NULL, -100, PT_REDUCE_MEAN, 0.0);
    for (int i = 0; i < N_LEVELS; i++)
        loss = pt_add(loss, pt_mean(pt_square(levels[i])));
    cr_assert_eq(pt_backward(loss, NULL, 0), PT_OK, "%s", pt_error());
    put(io, "logits", pt_detach(logits));
    for (int i = 0; i < N_LEVELS; i++)
        put(io, nn_path(name, "p%d", i), pt_detach(levels[i]));
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

Test(resnet, c_weights_in_torchvision_give_same_logits_pyramid_and_gradients, .timeout = 180)
{
    char *dir = tst_tmpdir(), sub[4096];
    cr_assert_not_null(dir);
    for (int a = 0; a < N_PARITY; a++) {
        snprintf(sub, sizeof sub, "%s/%d", dir, PARITY_DEPTHS[a]);
        cr_assert_eq(mkdir(sub, 0700), 0, "%s", sub);
        model md;
        model_init(&md, PARITY_DEPTHS[a], 30 + (uint64_t)a);
        pt_generator *g = pt_generator_new(8 + (uint64_t)a);
        randomise_vectors(&md, g);
        export_weights(md.store, sub);
        record_step(&md, g, sub);
        model_free(&md);
        pt_generator_free(g);
    }
    cr_expect_eq(pt_live_tensors(), 0);
    cr_expect_eq(python("c2py", dir, PARITY_DEPTHS, N_PARITY), 0,
                 "torchvision disagrees with pictor (the worst differences are printed above)");
    tst_rmtree(dir);
}

Test(resnet, torchvision_weights_give_torchvision_outputs, .timeout = 180)
{
    char *dir = tst_tmpdir(), path[4096], name[32];
    cr_assert_not_null(dir);
    cr_assert_eq(python("py2c", dir, PARITY_DEPTHS, N_PARITY), 0);
    for (int a = 0; a < N_PARITY; a++) {
        model md;
        model_init(&md, PARITY_DEPTHS[a], 99); /* its own init: all must come from the file */
        snprintf(path, sizeof path, "%s/py_%d.pt", dir, PARITY_DEPTHS[a]);
        pt_dict *w = pt_torch_load(path);
        cr_assert_not_null(w, "%s", pt_error());
        cr_assert_eq(nn_store_load_state_dict(md.store, w, 1), PT_OK, "%s", pt_error());
        snprintf(path, sizeof path, "%s/py_%d_io.safetensors", dir, PARITY_DEPTHS[a]);
        pt_dict *io = pt_safetensors_load(path);
        cr_assert_not_null(io, "%s", pt_error());

        double worst = 0.0;
        pt_no_grad_begin();
        for (int mode = 0; mode < 2; mode++) { /* eval, then train (batch statistics) */
            const char *tag = mode ? "train" : "eval";
            size_t mark = pt_scope_begin();
            pt_tensor *logits, *levels[N_LEVELS];
            nn_store_set_training(md.store, mode);
            model_forward(&md, pt_dict_get(io, "x"), &logits, levels);
            snprintf(name, sizeof name, "%s_logits", tag);
            double d = tst_max_abs_diff(logits, pt_dict_get(io, name));
            cr_expect_leq(d, 1e-4, "resnet%d %s: max |diff| %g", PARITY_DEPTHS[a], name, d);
            worst = fmax(worst, d);
            for (int i = 0; i < N_LEVELS; i++) {
                snprintf(name, sizeof name, "%s_p%d", tag, i);
                d = tst_max_abs_diff(levels[i], pt_dict_get(io, name));
                cr_expect_leq(d, 1e-4, "resnet%d %s: max |diff| %g", PARITY_DEPTHS[a], name, d);
                worst = fmax(worst, d);
                pt_free(levels[i]);
            }
            pt_free(logits);
            pt_scope_end(mark);
        }
        pt_no_grad_end();
        fprintf(stderr, "resnet%d+fpn py2c: logits and P3..P7 (eval, train) max |diff| %.3g\n",
                PARITY_DEPTHS[a], worst);
        pt_dict_free(io);
        pt_dict_free(w);
        model_free(&md);
    }
    cr_expect_eq(pt_live_tensors(), 0);
    tst_rmtree(dir);
}

/* ------------------------------------------------------------------ freezing */

static int in_frozen_stage(const char *name, int frozen_stages)
{
    if (frozen_stages < 0)
        return 0;
    if (starts_with(name, "backbone.body.conv1.") || starts_with(name, "backbone.body.bn1."))
        return 1;
    for (int k = 1; k <= frozen_stages; k++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "backbone.body.layer%d.", k);
        if (starts_with(name, prefix))
            return 1;
    }
    return 0;
}

static int is_bn_affine(const nn_store *s, int i)
{
    const char *name = nn_store_name(s, i);
    return pt_ndim(nn_store_tensor(s, i)) == 1 &&
           (ends_with(name, ".weight") || ends_with(name, ".bias"));
}

/* A store holding a ResNet-18 backbone built with these options. */
static nn_store *frozen_backbone(resnet *m, int frozen_stages, int norm_eval)
{
    nn_store *s = nn_store_new(4);
    resnet_config c = resnet_defaults(18);
    c.with_fc = 0;
    c.frozen_stages = frozen_stages;
    c.norm_eval = norm_eval;
    cr_assert_eq(resnet_init(m, s, "backbone.body", c), PT_OK, "%s", pt_error());
    return s;
}

/* Train-mode forward + backward of a scalar of C2 .. C5; returns C5 (detached, new handle). */
static pt_tensor *train_pass(resnet *m, nn_store *s, const pt_tensor *x)
{
    pt_tensor *c[4];
    nn_store_set_training(s, 1);
    cr_assert_eq(resnet_forward(m, x, c, NULL), PT_OK, "%s", pt_error());
    size_t mark = pt_scope_begin();
    pt_tensor *loss = pt_mean(pt_square(c[3]));
    for (int i = 0; i < 3; i++)
        loss = pt_add(loss, pt_mean(c[i]));
    cr_assert_eq(pt_backward(loss, NULL, 0), PT_OK, "%s", pt_error());
    pt_scope_end(mark);
    pt_tensor *c5 = pt_detach(c[3]);
    for (int i = 0; i < 4; i++)
        pt_free(c[i]);
    return c5;
}

Test(resnet, frozen_stages_and_norm_eval)
{
    resnet ref_model, m;
    nn_store *ref = frozen_backbone(&ref_model, -1, 0);
    int n_entries = nn_store_size(ref), n_ref_params;
    nn_store_params(ref, &n_ref_params);
    int64_t xs[4] = {2, 3, 64, 80};
    pt_tensor *x = pt_randn(xs, 4, PT_F32, NULL);

    /* frozen_stages 1: the stem and layer1 frozen, parameters and BatchNorm statistics */
    nn_store *s = frozen_backbone(&m, 1, 0);
    cr_assert_eq(nn_store_size(s), n_entries);
    int n_params, expect_params = 0;
    pt_tensor *const *params = nn_store_params(s, &n_params);
    for (int i = 0; i < n_entries; i++) {
        const char *name = nn_store_name(s, i);
        cr_expect_str_eq(name, nn_store_name(ref, i), "names must not change");
        int was_param = nn_store_is_param(ref, i), frozen = was_param && in_frozen_stage(name, 1);
        cr_expect_eq(nn_store_is_param(s, i), was_param && !frozen, "%s", name);
        cr_expect_eq(nn_store_is_frozen(s, i), frozen, "%s", name);
        cr_expect_eq(pt_requires_grad(nn_store_tensor(s, i)), was_param && !frozen, "%s", name);
        if (was_param && !frozen)
            cr_expect_eq(params[expect_params++], nn_store_tensor(s, i), "%s", name);
    }
    cr_expect_eq(n_params, expect_params);
    cr_expect_eq(n_params, n_ref_params - 3 - 4 - 4 * 2, "stem conv+bn, 4 convs + 4 bns in layer1");
    pt_dict *sd = nn_store_state_dict(s, NULL, 0);
    cr_expect_eq(pt_dict_size(sd), n_entries, "frozen parameters stay in the state dict");
    pt_dict_free(sd);
    pt_free(train_pass(&m, s, x));
    static const char *frozen_names[] = {
        "backbone.body.conv1.weight", "backbone.body.bn1.weight",
        "backbone.body.layer1.1.conv2.weight", "backbone.body.layer1.0.bn1.bias"};
    static const char *trained_names[] = {
        "backbone.body.layer2.0.conv1.weight", "backbone.body.layer2.0.downsample.0.weight",
        "backbone.body.layer2.0.bn1.weight", "backbone.body.layer4.1.bn2.bias"};
    for (int i = 0; i < 4; i++) {
        cr_expect_not(pt_has_grad(nn_store_find(s, frozen_names[i])), "%s", frozen_names[i]);
        cr_expect(pt_has_grad(nn_store_find(s, trained_names[i])), "%s", trained_names[i]);
    }
    /* frozen stages' statistics do not move, the others' do */
    cr_expect_eq(tst_at(nn_store_find(s, "backbone.body.bn1.num_batches_tracked"), 0), 0.0);
    cr_expect_eq(tst_at(nn_store_find(s, "backbone.body.layer1.1.bn2.num_batches_tracked"), 0),
                 0.0);
    cr_expect_eq(tst_at(nn_store_find(s, "backbone.body.layer2.0.bn1.num_batches_tracked"), 0),
                 1.0);
    cr_expect_eq(tst_max_abs_diff(nn_store_find(s, "backbone.body.bn1.running_mean"),
                                  nn_store_find(ref, "backbone.body.bn1.running_mean")), 0.0);
    cr_expect_gt(tst_max_abs_diff(nn_store_find(s, "backbone.body.layer2.0.bn1.running_mean"),
                                  nn_store_find(ref, "backbone.body.layer2.0.bn1.running_mean")),
                 1e-4);
    /* freezing again freezes nothing new; an unknown prefix matches nothing */
    cr_expect_eq(nn_store_freeze(s, "backbone.body.layer1."), 0);
    cr_expect_eq(nn_store_freeze(s, "nothing."), 0);
    resnet_free(&m);
    nn_store_free(s);

    /* norm_eval: every BatchNorm in eval mode and its affine parameters frozen; convs train */
    s = frozen_backbone(&m, -1, 1);
    pt_tensor *c5_train = train_pass(&m, s, x);
    nn_store_set_training(s, 0);
    pt_tensor *c[4];
    pt_no_grad_begin();
    cr_assert_eq(resnet_forward(&m, x, c, NULL), PT_OK, "%s", pt_error());
    pt_no_grad_end();
    cr_expect_eq(tst_max_abs_diff(c5_train, c[3]), 0.0, "train mode must compute as eval mode");
    for (int i = 0; i < 4; i++)
        pt_free(c[i]);
    pt_free(c5_train);
    for (int i = 0; i < n_entries; i++) {
        const char *name = nn_store_name(s, i);
        pt_tensor *t = nn_store_tensor(s, i);
        if (ends_with(name, ".num_batches_tracked"))
            cr_expect_eq(tst_at(t, 0), 0.0, "%s", name);
        else if (ends_with(name, ".running_mean") || ends_with(name, ".running_var"))
            cr_expect_eq(tst_max_abs_diff(t, nn_store_tensor(ref, i)), 0.0, "%s", name);
        else if (is_bn_affine(s, i))
            cr_expect(nn_store_is_frozen(s, i) && !pt_has_grad(t), "%s", name);
        else
            cr_expect(nn_store_is_param(s, i) && pt_has_grad(t), "%s must train", name);
    }
    resnet_free(&m);
    nn_store_free(s);

    /* frozen_stages 0: only the stem; 4 with norm_eval: nothing left to train */
    s = frozen_backbone(&m, 0, 0);
    nn_store_params(s, &n_params);
    cr_expect_eq(n_params, n_ref_params - 3);
    resnet_free(&m);
    nn_store_free(s);
    s = frozen_backbone(&m, 4, 1);
    nn_store_params(s, &n_params);
    cr_expect_eq(n_params, 0);
    cr_expect_eq(nn_store_num_scalars(s, 1), 0);
    cr_expect_eq(nn_store_num_scalars(s, 0), nn_store_num_scalars(ref, 0));
    resnet_free(&m);
    nn_store_free(s);

    pt_free(x);
    resnet_free(&ref_model);
    nn_store_free(ref);
    cr_expect_eq(pt_live_tensors(), 0);
}

/* ------------------------------------------------------------------ init, sizes, errors */

static double std_of(const pt_tensor *t)
{
    int64_t dim = 0;
    pt_tensor *flat = pt_flatten(t, 0, -1), *v = pt_var_dims(flat, &dim, 1, 0, 0);
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

static int64_t ceil_half(int64_t s) { return (s - 1) / 2 + 1; }

Test(resnet, initialisation_and_output_sizes)
{
    nn_store *s = nn_store_new(5);
    resnet m;
    fpn f;
    resnet_config rc = resnet_defaults(50);
    rc.with_fc = 0;
    cr_assert_eq(resnet_init(&m, s, NULL, rc), PT_OK, "%s", pt_error());
    cr_expect_null(m.fc);
    cr_expect_null(nn_store_find(s, "fc.weight"));
    /* kaiming_normal_ fan_out: std sqrt(2 / (out * k * k)) */
    double sd = std_of(nn_store_find(s, "layer3.0.conv2.weight")); /* [256, 256, 3, 3] */
    double want = sqrt(2.0 / (256 * 9));
    cr_expect(fabs(sd - want) < 0.02 * want, "std %g, want %g", sd, want);
    sd = std_of(nn_store_find(s, "layer4.0.downsample.0.weight")); /* [2048, 1024, 1, 1] */
    want = sqrt(2.0 / 2048);
    cr_expect(fabs(sd - want) < 0.02 * want, "std %g, want %g", sd, want);
    cr_expect_eq(tst_at(nn_store_find(s, "layer2.1.bn3.weight"), 7), 1.0);
    cr_expect_eq(max_abs(nn_store_find(s, "layer2.1.bn3.bias")), 0.0);
    cr_expect_null(nn_store_find(s, "layer1.0.conv1.bias"));
    cr_expect_null(nn_store_find(s, "layer1.1.downsample.0.weight")); /* shape kept: none */
    cr_expect_not_null(nn_store_find(s, "layer1.0.downsample.0.weight")); /* 64 -> 256 */

    int64_t in[3] = {512, 1024, 2048};
    fpn_config fc = fpn_defaults(in, 3);
    fc.out_channels = 64;
    cr_assert_eq(fpn_init(&f, s, "fpn", fc), PT_OK, "%s", pt_error());
    /* kaiming_uniform_(a=1): U(-b, b) with b = sqrt(3 / fan_in), std b / sqrt(3) */
    pt_tensor *w = nn_store_find(s, "fpn.inner_blocks.2.0.weight"); /* [64, 2048, 1, 1] */
    double bound = sqrt(3.0 / 2048);
    cr_expect_leq(max_abs(w), bound);
    cr_expect_gt(max_abs(w), 0.99 * bound);
    sd = std_of(w);
    cr_expect(fabs(sd - bound / sqrt(3.0)) < 0.02 * bound / sqrt(3.0), "std %g", sd);
    cr_expect_leq(max_abs(nn_store_find(s, "fpn.extra_blocks.p7.weight")), sqrt(3.0 / (64 * 9)));
    cr_expect_eq(max_abs(nn_store_find(s, "fpn.layer_blocks.1.0.bias")), 0.0);
    cr_expect_eq(max_abs(nn_store_find(s, "fpn.extra_blocks.p6.bias")), 0.0);

    /* sizes: odd, not multiples of anything; strides 4 .. 32 then ceil halvings to P7 */
    int64_t xs[4] = {1, 3, 97, 130};
    pt_tensor *x = pt_randn(xs, 4, PT_F32, NULL), *c[4], *p[FPN_MAX_OUTPUTS];
    nn_store_set_training(s, 0);
    pt_no_grad_begin();
    cr_assert_eq(resnet_forward(&m, x, c, NULL), PT_OK, "%s", pt_error());
    cr_assert_eq(fpn_forward(&f, c + 1, 3, p), PT_OK, "%s", pt_error());
    pt_no_grad_end();
    int64_t h = ceil_half(ceil_half(97)), wd = ceil_half(ceil_half(130)); /* conv1, maxpool */
    for (int i = 0; i < 4; i++) {
        if (i > 0)
            h = ceil_half(h), wd = ceil_half(wd);
        cr_expect_eq(pt_size(c[i], 1), resnet_channels(&m, i + 2));
        cr_expect_eq(pt_size(c[i], 2), h, "C%d height %lld", i + 2, (long long)pt_size(c[i], 2));
        cr_expect_eq(pt_size(c[i], 3), wd, "C%d width", i + 2);
        if (i > 0) {
            cr_expect_eq(pt_size(p[i - 1], 1), 64);
            cr_expect_eq(pt_size(p[i - 1], 2), h, "P%d height", i + 2);
            cr_expect_eq(pt_size(p[i - 1], 3), wd, "P%d width", i + 2);
        }
    }
    for (int i = 3; i < 5; i++) {
        h = ceil_half(h), wd = ceil_half(wd);
        cr_expect_eq(pt_size(p[i], 2), h, "P%d height", i + 3);
        cr_expect_eq(pt_size(p[i], 3), wd, "P%d width", i + 3);
    }
    cr_expect_eq(pt_size(p[4], 2), 1); /* 97 -> 1 at stride 128 */
    cr_expect_eq(pt_size(p[4], 3), 2); /* 130 -> 2 */
    for (int i = 0; i < 4; i++)
        pt_free(c[i]);
    for (int i = 0; i < 5; i++)
        pt_free(p[i]);
    fpn_free(&f);

    /* a plain FPN over one input has one output: a 1x1 then a 3x3 conv */
    int64_t one_in = 3;
    fc = fpn_defaults(&one_in, 1);
    fc.out_channels = 4;
    fc.extra_p6p7 = 0;
    cr_assert_eq(fpn_init(&f, s, "plain", fc), PT_OK, "%s", pt_error());
    cr_expect_eq(f.n_outputs, 1);
    cr_expect_null(nn_store_find(s, "plain.extra_blocks.p6.weight"));
    cr_assert_eq(fpn_forward(&f, &x, 1, p), PT_OK, "%s", pt_error());
    cr_expect_eq(pt_size(p[0], 1), 4);
    cr_expect_eq(pt_size(p[0], 2), 97);
    pt_free(p[0]);
    fpn_free(&f);

    pt_free(x);
    resnet_free(&m);
    nn_store_free(s);
    cr_expect_eq(pt_live_tensors(), 0);
}

Test(resnet, bad_configurations_and_inputs_are_refused)
{
    nn_store *s = nn_store_new(1);
    resnet m;
    fpn f;
    const char *rkeys[4] = {"depth", "frozen_stages", "norm_eval", "num_classes"};
    for (int i = 0; i < 4; i++) {
        resnet_config c = resnet_defaults(18);
        switch (i) {
        case 0: c.depth = 20; break;
        case 1: c.frozen_stages = 5; break;
        case 2: c.norm_eval = 2; break;
        default: c.num_classes = 0; break;
        }
        pt_error_clear();
        cr_expect_eq(resnet_init(&m, s, NULL, c), PT_ERR, "%s", rkeys[i]);
        cr_expect(strstr(pt_error(), rkeys[i]) != NULL, "%s: %s", rkeys[i], pt_error());
        cr_expect_null(m.conv1);
    }
    int64_t in[3] = {8, 16, 32};
    const char *fkeys[3] = {"n_inputs", "in_channels[1]", "out_channels"};
    for (int i = 0; i < 3; i++) {
        fpn_config c = fpn_defaults(in, 3);
        switch (i) {
        case 0: c.n_inputs = FPN_MAX_INPUTS + 1; break;
        case 1: c.in_channels[1] = 0; break;
        default: c.out_channels = -4; break;
        }
        pt_error_clear();
        cr_expect_eq(fpn_init(&f, s, NULL, c), PT_ERR, "%s", fkeys[i]);
        cr_expect(strstr(pt_error(), fkeys[i]) != NULL, "%s: %s", fkeys[i], pt_error());
    }
    cr_expect_eq(nn_store_size(s), 0); /* refused before anything was registered */

    /* inputs of the wrong shape are named */
    fpn_config fc = fpn_defaults(in, 3);
    fc.out_channels = 8;
    cr_assert_eq(fpn_init(&f, s, "fpn", fc), PT_OK, "%s", pt_error());
    int64_t s0[4] = {2, 8, 16, 16}, s1[4] = {2, 15, 8, 8}, s2[4] = {2, 32, 4, 4};
    pt_tensor *xs[3] = {pt_zeros(s0, 4, PT_F32), pt_zeros(s1, 4, PT_F32), pt_zeros(s2, 4, PT_F32)};
    pt_tensor *out[FPN_MAX_OUTPUTS];
    pt_error_clear();
    cr_expect_eq(fpn_forward(&f, xs, 3, out), PT_ERR);
    cr_expect(strstr(pt_error(), "input 1 is float32[2, 15, 8, 8], expected [2, 16, H, W]"),
              "%s", pt_error());
    for (int i = 0; i < f.n_outputs; i++)
        cr_expect_null(out[i]);
    pt_error_clear();
    cr_expect_eq(fpn_forward(&f, xs, 2, out), PT_ERR);
    cr_expect(strstr(pt_error(), "2 inputs given, the FPN was built for 3"), "%s", pt_error());
    for (int i = 0; i < 3; i++)
        pt_free(xs[i]);
    fpn_free(&f);

    resnet_config rc = resnet_defaults(18);
    rc.with_fc = 0;
    cr_assert_eq(resnet_init(&m, s, NULL, rc), PT_OK, "%s", pt_error());
    int64_t grey[4] = {1, 1, 32, 32};
    pt_tensor *x = pt_zeros(grey, 4, PT_F32), *c[4], *logits;
    pt_error_clear();
    cr_expect_eq(resnet_forward(&m, x, c, NULL), PT_ERR);
    cr_expect(strstr(pt_error(), "input must be [N, 3, H, W], got float32[1, 1, 32, 32]"), "%s",
              pt_error());
    cr_expect_null(c[0]);
    pt_free(x);
    grey[1] = 3;
    x = pt_zeros(grey, 4, PT_F32);
    pt_error_clear();
    cr_expect_eq(resnet_forward(&m, x, c, &logits), PT_ERR);
    cr_expect(strstr(pt_error(), "with_fc 0"), "%s", pt_error());
    cr_expect_null(logits);
    pt_error_clear();
    cr_expect_null(resnet_logits(&m, x));
    pt_free(x);
    resnet_free(&m);

    /* the nn additions refuse what they cannot do */
    pt_error_clear();
    cr_expect_eq(nn_store_freeze(s, ""), -1);
    cr_expect(strstr(pt_error(), "non-empty name prefix"), "%s", pt_error());
    nn_module *conv = nn_conv2d_new(s, "conv", (nn_conv_opts){.in = 1, .out = 1, .k = 1});
    cr_assert_not_null(conv, "%s", pt_error());
    cr_expect_eq(nn_batchnorm2d_set_frozen(conv, 1), PT_ERR);
    cr_expect(strstr(pt_error(), "module is conv2d, expected a batchnorm2d"), "%s", pt_error());
    nn_module_free(conv);
    nn_store_free(s);

    /* a failure half-way through building (a name taken) frees what was built */
    s = nn_store_new(1);
    int64_t one = 1;
    cr_assert_not_null(nn_store_param(s, "layer3.1.bn2.weight", pt_zeros(&one, 1, PT_F32)));
    pt_error_clear();
    cr_expect_eq(resnet_init(&m, s, NULL, resnet_defaults(18)), PT_ERR);
    cr_expect(strstr(pt_error(), "'layer3.1.bn2.weight' is registered twice"), "%s", pt_error());
    cr_expect_null(m.conv1);
    cr_assert_not_null(nn_store_param(s, "fpn.layer_blocks.1.0.bias", pt_zeros(&one, 1, PT_F32)));
    pt_error_clear();
    cr_expect_eq(fpn_init(&f, s, "fpn", fpn_defaults(in, 3)), PT_ERR);
    cr_expect(strstr(pt_error(), "fpn.layer_blocks.1.0.bias"), "%s", pt_error());
    cr_expect_null(f.inner_blocks[0]);
    nn_store_free(s);
    cr_expect_eq(pt_live_tensors(), 0);
}
