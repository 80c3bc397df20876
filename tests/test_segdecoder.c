/*
 * test_segdecoder.c - train/models/backbones/segdecoder (the top-down decoder and segnet):
 * output shapes for every backbone and output stride on an input that is not a multiple of 32
 * (70x54), the parameter count, names and order; parity with the PyTorch re-implementation
 * tests/reference/segdecoder_ref.py over torchvision's resnet18 / mobilenet_v3_small at output
 * strides 1, 2 and 4 (pictor's weights load there strictly and give the same features, logits,
 * loss, gradients and BatchNorm buffers); the ResNet freezing options reaching the backbone only;
 * refused configurations and inputs with their messages; and a few SGD steps on a tiny synthetic foreground task lowering the loss.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"
#include "models/backbones/segdecoder.h"
#include "nn/nn.h"

TestSuite(segdecoder, .init = tst_setup);

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static segnet_config config(const char *backbone, int stride, int64_t width, int64_t feat,
                            int64_t out, int convs)
{
    segnet_config c = segnet_defaults();
    c.backbone = backbone;
    c.output_stride = stride;
    c.width = width;
    c.feature_channels = feat;
    c.out_channels = out;
    c.block_convs = convs;
    return c;
}

/* ------------------------------------------------------------------ shapes and structure */

Test(segdecoder, shapes_levels_and_names_for_every_backbone_and_stride, .timeout = 120)
{
    static const char *backbones[] = {"resnet18", "resnet34", "resnet50", "mobilenet_v3_small",
                                      "mobilenet_v3_large"};
    /* ceil(70 / s) x ceil(54 / s): each stride-2 step rounds up; stride 1 is the input's size */
    static const int strides[] = {1, 2, 4};
    static const int64_t want_h[] = {70, 35, 18}, want_w[] = {54, 27, 14};
    static const int want_levels[] = {6, 5, 4};
    int64_t xs[4] = {2, 3, 70, 54};
    pt_generator *g = pt_generator_new(3);
    for (int b = 0; b < 5; b++) {
        for (int k = 0; k < 3; k++) {
            nn_store *s = nn_store_new(1);
            segnet net;
            cr_assert_eq(segnet_init(&net, s, NULL, config(backbones[b], strides[k], 16, 24, 5, 1)),
                         PT_OK, "%s: %s", backbones[b], pt_error());
            cr_expect_eq(net.decoder.cfg.n_levels, want_levels[k], "%s stride %d", backbones[b],
                         strides[k]);
            cr_expect_eq(net.decoder.cfg.image_input, strides[k] == 1);
            cr_expect_eq(net.cfg.feature_channels, 24);
            /* backbone.*, then decoder.lateral.*, decoder.blocks.*, then head.weight, head.bias */
            int n = nn_store_size(s), phase = 0;
            static const char *order[] = {"backbone.", "decoder.lateral.", "decoder.blocks.",
                                          "head."};
            for (int i = 0; i < n; i++) {
                const char *name = nn_store_name(s, i);
                while (phase < 4 && !starts_with(name, order[phase]))
                    phase++;
                cr_assert_lt(phase, 4, "%s: entry %d '%s' out of order", backbones[b], i, name);
            }
            cr_expect_str_eq(nn_store_name(s, n - 2), "head.weight");
            cr_expect_str_eq(nn_store_name(s, n - 1), "head.bias");
            cr_expect_null(nn_store_find(s, "backbone.fc.weight"));
            cr_expect_null(nn_store_find(s, "backbone.classifier.0.weight"));
            pt_tensor *lat0 = nn_store_find(s, "decoder.lateral.0.weight");
            cr_assert_not_null(lat0);
            cr_expect_eq(pt_size(lat0, 3), strides[k] == 1 ? 3 : 1, "image level: 3x3 lateral");

            size_t mark = pt_scope_begin();
            pt_tensor *x = pt_randn(xs, 4, PT_F32, g), *f, *l;
            nn_store_set_training(s, 0);
            pt_no_grad_begin();
            cr_assert_eq(segnet_forward(&net, x, &f, &l), PT_OK, "%s", pt_error());
            pt_no_grad_end();
            int64_t fs[4], ls[4];
            cr_assert_eq(pt_shape(f, fs, 4), 4);
            cr_assert_eq(pt_shape(l, ls, 4), 4);
            cr_expect(fs[0] == 2 && fs[1] == 24 && fs[2] == want_h[k] && fs[3] == want_w[k],
                      "%s stride %d: features [%lld, %lld, %lld, %lld]", backbones[b], strides[k],
                      (long long)fs[0], (long long)fs[1], (long long)fs[2], (long long)fs[3]);
            cr_expect(ls[0] == 2 && ls[1] == 5 && ls[2] == want_h[k] && ls[3] == want_w[k],
                      "%s stride %d: logits [%lld, %lld, %lld, %lld]", backbones[b], strides[k],
                      (long long)ls[0], (long long)ls[1], (long long)ls[2], (long long)ls[3]);
            /* features after a ReLU; the logits are not */
            cr_expect_geq(pt_item_or_nan(pt_min(f)), 0.0);
            cr_expect_lt(pt_item_or_nan(pt_min(l)), 0.0);
            /* only the logits, or only the features */
            pt_tensor *l2;
            cr_assert_eq(segnet_forward(&net, x, NULL, &l2), PT_OK, "%s", pt_error());
            cr_expect_eq(tst_max_abs_diff(l, l2), 0.0);
            cr_assert_eq(segnet_forward(&net, x, &f, NULL), PT_OK, "%s", pt_error());
            pt_scope_end(mark);
            segnet_free(&net);
            nn_store_free(s);
        }
    }
    pt_generator_free(g);

    /* parameter count of the decoder and head, by hand: resnet18 at stride 4, width 32, two
     * convs per level, 3 outputs: laterals 64..512 -> 32 (weights + biases), blocks 4 x 2 x
     * (3x3 conv 32 -> 32 + BatchNorm 32), head 32 -> 3 */
    nn_store *s = nn_store_new(1);
    segnet net;
    cr_assert_eq(segnet_init(&net, s, NULL, config("resnet18", 4, 32, 0, 3, 2)), PT_OK, "%s",
                 pt_error());
    int64_t laterals = (64 + 128 + 256 + 512) * 32 + 4 * 32;
    int64_t blocks = 4 * 2 * (32 * 32 * 9 + 2 * 32);
    int64_t head = 32 * 3 + 3;
    cr_expect_eq(nn_store_num_scalars(s, 1), 11176512 + laterals + blocks + head,
                 "%lld parameters", (long long)nn_store_num_scalars(s, 1));
    cr_expect_eq(net.cfg.feature_channels, 32, "feature_channels 0 means the width");
    cr_expect_not_null(nn_store_find(s, "decoder.blocks.3.4.running_var"));
    cr_expect_null(nn_store_find(s, "decoder.lateral.4.weight"));
    segnet_free(&net);
    nn_store_free(s);
    cr_expect_eq(pt_live_tensors(), 0);
}

Test(segdecoder, decoder_alone_upsamples_to_each_skip_and_uses_every_level)
{
    /* three levels of odd sizes, under a prefix; the output has level 0's size and every
     * level's lateral gets a gradient */
    nn_store *s = nn_store_new(5);
    segdec d;
    int64_t ch[3] = {8, 12, 20};
    segdec_config c = segdec_defaults(ch, 3);
    c.width = 6;
    c.out_channels = 4;
    cr_assert_eq(segdec_init(&d, s, "dec", c), PT_OK, "%s", pt_error());
    cr_expect_str_eq(nn_store_name(s, 0), "dec.lateral.0.weight");
    cr_expect_str_eq(nn_store_name(s, 6), "dec.blocks.0.0.weight");
    cr_expect_eq(pt_size(nn_store_find(s, "dec.blocks.0.1.weight"), 0), 4);
    cr_expect_eq(pt_size(nn_store_find(s, "dec.blocks.1.0.weight"), 0), 6);
    pt_generator *g = pt_generator_new(2);
    size_t mark = pt_scope_begin();
    int64_t s0[4] = {1, 8, 13, 9}, s1[4] = {1, 12, 7, 5}, s2[4] = {1, 20, 2, 2};
    pt_tensor *in[3] = {pt_randn(s0, 4, PT_F32, g), pt_randn(s1, 4, PT_F32, g),
                        pt_randn(s2, 4, PT_F32, g)};
    nn_store_set_training(s, 1);
    pt_tensor *y = segdec_forward(&d, in, 3);
    cr_assert_not_null(y, "%s", pt_error());
    int64_t ys[4];
    pt_shape(y, ys, 4);
    cr_expect(ys[0] == 1 && ys[1] == 4 && ys[2] == 13 && ys[3] == 9);
    cr_assert_eq(pt_backward(pt_mean(pt_square(y)), NULL, 0), PT_OK, "%s", pt_error());
    char name[64];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "dec.lateral.%d.weight", i);
        pt_tensor *w = nn_store_find(s, name);
        cr_expect(pt_has_grad(w) && pt_item_or_nan(pt_sum(pt_abs(pt_grad(w)))) > 0.0,
                  "%s has no gradient", name);
    }
    pt_scope_end(mark);
    pt_generator_free(g);
    segdec_free(&d);
    nn_store_free(s);
    cr_expect_eq(pt_live_tensors(), 0);
}

Test(segdecoder, resnet_freezing_options_reach_the_backbone_only)
{
    nn_store *s = nn_store_new(1);
    segnet net;
    segnet_config c = config("resnet18", 2, 8, 0, 2, 1);
    c.frozen_stages = 1;
    c.norm_eval = 1;
    cr_assert_eq(segnet_init(&net, s, NULL, c), PT_OK, "%s", pt_error());
    static const struct {
        const char *name;
        int frozen;
    } want[] = {
        {"backbone.conv1.weight", 1},          {"backbone.layer1.1.conv2.weight", 1},
        {"backbone.layer2.0.conv1.weight", 0}, {"backbone.layer3.1.bn2.weight", 1},
        {"decoder.lateral.0.weight", 0},       {"decoder.blocks.0.1.weight", 0},
        {"head.weight", 0},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        int i = 0;
        while (i < nn_store_size(s) && strcmp(nn_store_name(s, i), want[k].name) != 0)
            i++;
        cr_assert_lt(i, nn_store_size(s), "%s missing", want[k].name);
        cr_expect_eq(nn_store_is_frozen(s, i), want[k].frozen, "%s", want[k].name);
    }
    /* a train-mode pass moves the decoder's statistics, not the backbone's (norm_eval) */
    pt_tensor *bb = nn_store_find(s, "backbone.layer4.1.bn2.running_mean");
    pt_tensor *dec = nn_store_find(s, "decoder.blocks.0.1.running_mean");
    size_t mark = pt_scope_begin();
    pt_tensor *bb0 = pt_clone(bb), *dec0 = pt_clone(dec), *l;
    int64_t xs[4] = {2, 3, 40, 40};
    nn_store_set_training(s, 1);
    cr_assert_eq(segnet_forward(&net, pt_randn(xs, 4, PT_F32, NULL), NULL, &l), PT_OK, "%s",
                 pt_error());
    cr_expect_eq(tst_max_abs_diff(bb, bb0), 0.0);
    cr_expect_gt(tst_max_abs_diff(dec, dec0), 0.0);
    pt_scope_end(mark);
    segnet_free(&net);
    nn_store_free(s);
    cr_expect_eq(pt_live_tensors(), 0);
}

/* ------------------------------------------------------------------ parity */

typedef struct {
    const char *backbone;
    int stride;
    int64_t width, feat, out;
    int convs;
} parity_case;

/* feature_channels differs from the width; two convs per level at stride 2 */
static const parity_case CASES[] = {
    {"resnet18", 4, 16, 24, 3, 1},           {"resnet18", 2, 16, 24, 3, 2},
    {"resnet18", 1, 16, 24, 3, 1},           {"mobilenet_v3_small", 4, 16, 24, 3, 1},
    {"mobilenet_v3_small", 2, 16, 24, 3, 2}, {"mobilenet_v3_small", 1, 16, 24, 3, 1},
};
#define N_CASES ((int)(sizeof CASES / sizeof CASES[0]))
static const int64_t PARITY_SHAPE[4] = {2, 3, 70, 54};

static void put(pt_dict *d, const char *name, pt_tensor *t)
{
    cr_assert_not_null(t, "%s: %s", name, pt_error());
    cr_assert_eq(pt_dict_put(d, name, t), PT_OK, "%s", pt_error());
}

/* Every BatchNorm vector and bias random, then two train-mode passes move the statistics, so
 * that the comparison sees each of them. */
static void randomise_vectors(segnet *net, nn_store *s, pt_generator *g)
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
    int64_t xs[4] = {3, 3, 48, 40};
    nn_store_set_training(s, 1);
    for (int i = 0; i < 2; i++) {
        size_t mark = pt_scope_begin();
        pt_tensor *x = pt_add_s(pt_mul_s(pt_randn(xs, 4, PT_F32, g), 2.0), 0.5), *l;
        cr_assert_eq(segnet_forward(net, x, NULL, &l), PT_OK, "%s", pt_error());
        pt_scope_end(mark);
    }
    pt_no_grad_end();
}

/* weights.pt, weights.safetensors and io.safetensors into dir (see segdecoder_ref.py). */
static void record(segnet *net, nn_store *s, pt_generator *g, const char *dir)
{
    char path[4200], name[NN_NAME_MAX + 16];
    size_t mark = pt_scope_begin();
    pt_dict *w = nn_store_state_dict(s, NULL, 0);
    cr_assert_not_null(w, "%s", pt_error());
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    cr_assert_eq(pt_safetensors_save(w, path), PT_OK, "%s", pt_error());
    snprintf(path, sizeof path, "%s/weights.pt", dir);
    cr_assert_eq(pt_torch_save(w, path), PT_OK, "%s", pt_error());
    pt_dict_free(w);

    pt_dict *io = pt_dict_new();
    pt_tensor *x = pt_randn(PARITY_SHAPE, 4, PT_F32, g), *f, *l;
    put(io, "x", pt_alias(x));
    nn_store_set_training(s, 0);
    pt_no_grad_begin();
    cr_assert_eq(segnet_forward(net, x, &f, &l), PT_OK, "%s", pt_error());
    pt_no_grad_end();
    put(io, "eval_features", pt_alias(f));
    put(io, "eval_logits", pt_alias(l));
    int64_t ys[3] = {pt_size(l, 0), pt_size(l, 2), pt_size(l, 3)};
    pt_tensor *y = pt_randint(0, net->cfg.out_channels, ys, 3, g);
    put(io, "y", pt_alias(y));

    nn_store_set_training(s, 1);
    cr_assert_eq(segnet_forward(net, x, &f, &l), PT_OK, "%s", pt_error());
    pt_tensor *loss = pt_add(pt_cross_entropy(l, y, NULL, -100, PT_REDUCE_MEAN, 0.0),
                             pt_mean(pt_square(f)));
    cr_assert_eq(pt_backward(loss, NULL, 0), PT_OK, "%s", pt_error());
    put(io, "features", pt_detach(f));
    put(io, "logits", pt_detach(l));
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

Test(segdecoder, pytorch_reference_gives_same_outputs_and_gradients, .timeout = 240)
{
    char *dir = tst_tmpdir(), sub[4200], args[4096];
    cr_assert_not_null(dir);
    int len = snprintf(args, sizeof args, "c2py '%s'", dir);
    for (int k = 0; k < N_CASES; k++) {
        const parity_case *pc = &CASES[k];
        snprintf(sub, sizeof sub, "%s/%s_s%d", dir, pc->backbone, pc->stride);
        cr_assert_eq(mkdir(sub, 0700), 0, "%s", sub);
        len += snprintf(args + len, sizeof args - (size_t)len, " %s,%d,%lld,%lld,%lld,%d",
                        pc->backbone, pc->stride, (long long)pc->width, (long long)pc->feat,
                        (long long)pc->out, pc->convs);
        nn_store *s = nn_store_new(40 + (uint64_t)k);
        segnet net;
        cr_assert_eq(segnet_init(&net, s, NULL, config(pc->backbone, pc->stride, pc->width,
                                                         pc->feat, pc->out, pc->convs)),
                     PT_OK, "%s", pt_error());
        pt_generator *g = pt_generator_new(70 + (uint64_t)k);
        randomise_vectors(&net, s, g);
        record(&net, s, g, sub);
        pt_generator_free(g);
        segnet_free(&net);
        nn_store_free(s);
    }
    cr_expect_eq(pt_live_tensors(), 0);
    cr_expect_eq(tst_python("segdecoder_ref.py", args), 0,
                 "PyTorch disagrees with pictor (the worst differences are printed above)");
    snprintf(sub, sizeof sub, "%s/result.txt", dir);
    FILE *f = fopen(sub, "r");
    cr_assert_not_null(f, "%s", sub);
    double abs_diff = INFINITY, rel_diff = INFINITY;
    int failed = -1;
    cr_assert_eq(fscanf(f, "%lf %lf %d", &abs_diff, &rel_diff, &failed), 3);
    fclose(f);
    fprintf(stderr, "segdecoder parity (resnet18, mobilenet_v3_small; strides 1, 2, 4; 70x54): "
            "features/logits/loss max |diff| %.3g, gradients/buffers max relative |diff| %.3g\n",
            abs_diff, rel_diff);
    cr_expect_leq(abs_diff, 1e-4);
    cr_expect_leq(rel_diff, 1e-4);
    cr_expect_eq(failed, 0);
    tst_rmtree(dir);
}

/* ------------------------------------------------------------------ refusals */

static void expect_init_error(segnet_config c, const char *message)
{
    nn_store *s = nn_store_new(1);
    segnet net;
    pt_error_clear();
    cr_expect_eq(segnet_init(&net, s, NULL, c), PT_ERR, "expected '%s'", message);
    cr_expect(strstr(pt_error(), message), "got '%s', expected '%s'", pt_error(), message);
    cr_expect_null(net.head);
    nn_store_free(s);
}

Test(segdecoder, refuses_unsupported_stride_backbone_and_inputs)
{
    expect_init_error(config("vgg16", 4, 16, 0, 1, 1),
                      "segnet: backbone 'vgg16' is not one of resnet18|resnet34|resnet50|");
    expect_init_error(config(NULL, 4, 16, 0, 1, 1), "backbone '(null)' is not one of");
    expect_init_error(config("resnet18", 8, 16, 0, 1, 1),
                      "segnet: output_stride must be 1, 2 or 4 (got 8)");
    expect_init_error(config("mobilenet_v3_small", 3, 16, 0, 1, 1),
                      "output_stride must be 1, 2 or 4 (got 3)");
    expect_init_error(config("resnet18", 0, 16, 0, 1, 1), "(got 0)");
    expect_init_error(config("resnet18", 4, 16, 0, 0, 1),
                      "segnet: out_channels (head outputs) must be > 0 (got 0)");
    expect_init_error(config("resnet18", 4, 0, 0, 1, 1), "segdec: width must be > 0 (got 0)");
    expect_init_error(config("resnet18", 4, 16, -2, 1, 1), "segdec: out_channels must be > 0");
    expect_init_error(config("resnet18", 4, 16, 0, 1, 5), "segdec: block_convs must be in 1..4");
    segnet_config frozen = config("mobilenet_v3_large", 4, 16, 0, 1, 1);
    frozen.norm_eval = 1;
    expect_init_error(frozen, "segnet: frozen_stages and norm_eval apply to ResNet backbones only "
                              "(backbone 'mobilenet_v3_large' needs frozen_stages -1");
    frozen = config("resnet34", 4, 16, 0, 1, 1);
    frozen.frozen_stages = 5;
    expect_init_error(frozen, "resnet: frozen_stages must be -1 (none), 0 (stem) or 1..4");

    /* the decoder alone */
    nn_store *s = nn_store_new(1);
    segdec d;
    int64_t ch[7] = {8, 8, 8, 8, 8, 8, 8};
    pt_error_clear();
    cr_expect_eq(segdec_init(&d, s, NULL, segdec_defaults(ch, 7)), PT_ERR);
    cr_expect(strstr(pt_error(), "n_levels must be in 1..6 (got 7)"), "%s", pt_error());
    ch[1] = 0;
    pt_error_clear();
    cr_expect_eq(segdec_init(&d, s, NULL, segdec_defaults(ch, 2)), PT_ERR);
    cr_expect(strstr(pt_error(), "in_channels[1] must be > 0 (got 0)"), "%s", pt_error());
    ch[1] = 16;
    cr_assert_eq(segdec_init(&d, s, NULL, segdec_defaults(ch, 2)), PT_OK, "%s", pt_error());
    int64_t a[4] = {1, 8, 8, 8}, b[4] = {1, 12, 4, 4};
    pt_tensor *in[2] = {pt_zeros(a, 4, PT_F32), pt_zeros(b, 4, PT_F32)};
    pt_error_clear();
    cr_expect_null(segdec_forward(&d, in, 1));
    cr_expect(strstr(pt_error(), "1 inputs given, the decoder was built for 2"), "%s", pt_error());
    pt_error_clear();
    cr_expect_null(segdec_forward(&d, in, 2));
    cr_expect(strstr(pt_error(), "input 1 is float32[1, 12, 4, 4], expected [1, 16, H, W]"), "%s",
              pt_error());
    pt_free(in[0]);
    pt_free(in[1]);
    segdec_free(&d);
    /* a failure half-way through building (a name taken) frees what was built */
    int64_t one = 1;
    cr_assert_not_null(nn_store_param(s, "decoder.blocks.2.1.bias", pt_zeros(&one, 1, PT_F32)));
    segnet net;
    pt_error_clear();
    cr_expect_eq(segnet_init(&net, s, NULL, config("resnet18", 4, 16, 0, 1, 1)), PT_ERR);
    cr_expect(strstr(pt_error(), "'decoder.blocks.2.1.bias' is registered twice"), "%s",
              pt_error());
    cr_expect_null(net.head);
    cr_expect_null(net.decoder.lateral[0]);
    nn_store_free(s);

    /* segnet inputs: grey, 3-D, NULL */
    s = nn_store_new(1);
    cr_assert_eq(segnet_init(&net, s, NULL, config("mobilenet_v3_small", 2, 8, 0, 1, 1)), PT_OK,
                 "%s", pt_error());
    int64_t grey[4] = {1, 1, 32, 32};
    pt_tensor *x = pt_zeros(grey, 4, PT_F32), *f = NULL, *l = NULL;
    pt_error_clear();
    cr_expect_eq(segnet_forward(&net, x, &f, &l), PT_ERR);
    cr_expect(strstr(pt_error(), "segnet: input must be [N, 3, H, W], got float32[1, 1, 32, 32]"),
              "%s", pt_error());
    cr_expect_null(f);
    cr_expect_null(l);
    pt_free(x);
    pt_error_clear();
    cr_expect_eq(segnet_forward(&net, NULL, &f, &l), PT_ERR);
    cr_expect(strstr(pt_error(), "input is NULL"), "%s", pt_error());
    segnet_free(&net);
    nn_store_free(s);
    cr_expect_eq(pt_live_tensors(), 0);
}

/* ------------------------------------------------------------------ learning */

/* 8 images 32x32: noise with one bright square each (side 8 .. 14 at varied places); the mask is
 * the square. */
#define TASK_N 8
#define TASK_SIDE 32

static void make_task(pt_generator *g, pt_tensor **x, pt_tensor **mask)
{
    static float m[TASK_N * TASK_SIDE * TASK_SIDE];
    memset(m, 0, sizeof m);
    for (int i = 0; i < TASK_N; i++) {
        int side = 8 + (i * 3) % 7, top = (i * 7) % (TASK_SIDE - side),
            left = (i * 11) % (TASK_SIDE - side);
        for (int r = top; r < top + side; r++)
            for (int c = left; c < left + side; c++)
                m[(i * TASK_SIDE + r) * TASK_SIDE + c] = 1.0f;
    }
    int64_t ms[4] = {TASK_N, 1, TASK_SIDE, TASK_SIDE}, xs[4] = {TASK_N, 3, TASK_SIDE, TASK_SIDE};
    size_t mark = pt_scope_begin();
    pt_tensor *mt = tst_f32(m, ms, 4);
    pt_tensor *noise = pt_mul_s(pt_randn(xs, 4, PT_F32, g), 0.5);
    *mask = pt_keep(pt_alias(mt));
    *x = pt_keep(pt_add(noise, pt_mul_s(pt_expand(mt, xs, 4), 1.5)));
    pt_scope_end(mark);
    cr_assert_not_null(*x, "%s", pt_error());
}

Test(segdecoder, sgd_steps_reduce_the_loss_on_a_synthetic_foreground_task, .timeout = 120)
{
    nn_store *s = nn_store_new(7);
    segnet net;
    cr_assert_eq(segnet_init(&net, s, NULL, config("resnet18", 2, 16, 0, 1, 1)), PT_OK, "%s",
                 pt_error());
    pt_generator *g = pt_generator_new(9);
    pt_tensor *x, *mask;
    make_task(g, &x, &mask);
    pt_optim_options o = pt_optim_defaults(PT_OPTIM_SGD);
    o.lr = 0.05;
    o.momentum = 0.9;
    pt_optim *opt = pt_optim_new(&o);
    int n_params;
    pt_tensor *const *params = nn_store_params(s, &n_params);
    cr_assert_geq(pt_optim_add_group(opt, params, n_params, o.lr, 0.0), 0, "%s", pt_error());
    nn_store_set_training(s, 1);
    enum { STEPS = 25 };
    double first = NAN, last = NAN, iou = NAN;
    for (int step = 0; step < STEPS; step++) {
        size_t mark = pt_scope_begin();
        pt_tensor *l;
        cr_assert_eq(segnet_forward(&net, x, NULL, &l), PT_OK, "%s", pt_error());
        /* stride-2 logits back to the mask's size */
        pt_tensor *up = pt_interpolate(l, TASK_SIDE, TASK_SIDE, PT_INTERP_BILINEAR, 0);
        pt_tensor *loss = pt_bce_with_logits(up, mask, NULL, NULL, PT_REDUCE_MEAN);
        double v = pt_item_or_nan(loss);
        if (step == 0)
            first = v;
        last = v;
        if (step == STEPS - 1) { /* IoU of the last pass's predictions */
            pt_tensor *pred = pt_to_dtype(pt_gt_s(up, 0.0), PT_F32);
            double inter = pt_item_or_nan(pt_sum(pt_mul(pred, mask)));
            double uni = pt_item_or_nan(pt_sum(pt_clamp(pt_add(pred, mask), 0.0, 1.0)));
            iou = inter / uni;
        }
        cr_assert_eq(pt_optim_zero_grad(opt), PT_OK, "%s", pt_error());
        cr_assert_eq(pt_backward(loss, NULL, 0), PT_OK, "%s", pt_error());
        cr_assert_eq(pt_optim_step(opt), PT_OK, "%s", pt_error());
        pt_scope_end(mark);
    }
    fprintf(stderr, "segdecoder learning (resnet18, stride 2, %d SGD steps): BCE %.4f -> %.4f, "
            "foreground IoU %.3f\n", STEPS, first, last, iou);
    cr_expect_lt(last, 0.5 * first, "loss %g -> %g", first, last);
    cr_expect_gt(iou, 0.5, "foreground IoU %g", iou);
    pt_optim_free(opt);
    pt_free(x);
    pt_free(mask);
    pt_generator_free(g);
    segnet_free(&net);
    nn_store_free(s);
    cr_expect_eq(pt_live_tensors(), 0);
}
