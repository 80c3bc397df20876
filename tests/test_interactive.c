/*
 * test_interactive.c - model type `interactive` (seed 000): the correction distance maps
 * (targets/click_maps), the RPN targets and decoding (targets/rpn_targets), the network's split
 * and assembling (models/interactive/inet), and the driver end to end through `pictor`.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "codec/image.h"
#include "helpers.h"
#include "models/interactive/ia_model.h"
#include "models/interactive/inet.h"
#include "targets/click_maps.h"
#include "targets/rpn_targets.h"

Test(click_maps, distances_truncated_and_scaled)
{
    enum { H = 7, W = 300 };
    click c[2] = {{3, 10, 1}, {0, 0, 0}};
    float *out = malloc(2 * H * W * sizeof *out);
    char err[256];
    cr_assert_eq(click_maps(c, 2, H, W, out, err, sizeof err), 0, "%s", err);
    /* positive map: 0 at the tap, sqrt(2^2 + 5^2) / 255 at (1, 15), 1 beyond 255 px */
    cr_expect_float_eq(out[3 * W + 10], 0.0f, 1e-7);
    cr_expect_float_eq(out[1 * W + 15], (float)(sqrt(4.0 + 25.0) / 255.0), 1e-6);
    cr_expect_float_eq(out[3 * W + 299], 1.0f, 1e-7, "289 px away: truncated at 255");
    /* negative map: from (0, 0) */
    cr_expect_float_eq(out[H * W + 6 * W + 8], (float)(10.0 / 255.0), 1e-6);
    /* no tap of a kind: all ones */
    cr_assert_eq(click_maps(c, 1, H, W, out, err, sizeof err), 0);
    for (int i = 0; i < H * W; i++)
        cr_assert_float_eq(out[H * W + i], 1.0f, 1e-7);
    free(out);
}

Test(click_maps, tap_outside_the_image_is_an_error)
{
    click c[2] = {{1, 1, 1}, {5, 12, 0}};
    char err[256] = "";
    cr_expect_eq(click_check(c, 2, 5, 12, err, sizeof err), -1);
    cr_expect(strstr(err, "tap 2") && strstr(err, "12x5"), "%s", err);
    float out[2 * 60];
    cr_expect_eq(click_maps(c, 2, 5, 12, out, err, sizeof err), -1);
    cr_expect_eq(click_check(c, 1, 5, 12, err, sizeof err), 0);
}

Test(rpn_targets, labels_sampling_and_deltas)
{
    /* four anchors: exact match, half overlap, far away, inside-ish */
    float anchors[16] = {10, 10, 30, 30, 20, 10, 40, 30, 100, 100, 120, 120, 12, 12, 28, 28};
    float box[4] = {10, 10, 30, 30}, label[4], deltas[16] = {0};
    rpn_target_config c = rpn_target_defaults();
    prng r;
    prng_seed(&r, 1);
    int n = rpn_targets(&c, anchors, 4, box, &r, label, deltas);
    cr_expect_eq(n, 2, "one positive, one negative sampled");
    cr_expect_eq(label[0], 1.0f, "IoU 1");
    cr_expect_eq(label[1], -1.0f, "IoU 200/600 = 0.33: between the thresholds, ignored");
    cr_expect_eq(label[2], 0.0f, "IoU 0: negative");
    cr_expect_eq(label[3], -1.0f, "IoU 256/400 = 0.64: ignored");
    for (int k = 0; k < 4; k++)
        cr_expect_float_eq(deltas[k], 0.0f, 1e-7, "exact anchor: zero deltas");
    /* round trip: the one anchor [12, 28) is the best match, its deltas decode to the box */
    float one[4] = {12, 12, 28, 28}, l1, d1[4], back[4];
    cr_expect_eq(rpn_targets(&c, one, 1, box, &r, &l1, d1), 1);
    cr_expect_eq(l1, 1.0f);
    rpn_decode(one, d1, 200, 200, back);
    for (int k = 0; k < 4; k++)
        cr_expect_float_eq(back[k], box[k], 1e-4, "decode(encode) = the box");
    rpn_decode(one, d1, 20, 20, back);
    cr_expect_float_eq(back[2], 20.0f, 1e-6, "clipped to the image");
}

Test(rpn_targets, positives_capped_and_low_quality_match_kept)
{
    /* 600 anchors all equal to the box: at most batch * fraction = 128 positives */
    enum { N = 600 };
    float *a = malloc(N * 4 * sizeof *a), *label = malloc(N * sizeof *label),
          *d = calloc(N * 4, sizeof *d);
    for (int i = 0; i < N; i++) {
        a[4 * i] = 0, a[4 * i + 1] = 0, a[4 * i + 2] = 10, a[4 * i + 3] = 10;
    }
    float box[4] = {0, 0, 10, 10};
    rpn_target_config c = rpn_target_defaults();
    prng r;
    prng_seed(&r, 3);
    cr_expect_eq(rpn_targets(&c, a, N, box, &r, label, d), 128, "no negatives to fill");
    int pos = 0;
    for (int i = 0; i < N; i++)
        pos += label[i] == 1.0f;
    cr_expect_eq(pos, 128);
    /* a small box no anchor overlaps well: the best anchors are still positive */
    a[0] = 0, a[1] = 0, a[2] = 40, a[3] = 40;
    for (int i = 1; i < N; i++)
        a[4 * i] = 500, a[4 * i + 1] = 500, a[4 * i + 2] = 540, a[4 * i + 3] = 540;
    float small[4] = {0, 0, 8, 8};
    rpn_targets(&c, a, N, small, &r, label, d);
    cr_expect_eq(label[0], 1.0f, "IoU 0.04 but the best: positive");
    free(a), free(label), free(d);
}

static inet_config small_config(int k)
{
    inet_config c = {.depth = 18, .k = k, .prev_mask = 1, .decoder_width = 16, .n_sizes = 2,
                     .n_ratios = 1, .sizes = {16, 32}, .ratios = {1.0}};
    return c;
}

Test(inet, shapes_and_names, .init = tst_setup)
{
    nn_store *s = nn_store_new(1);
    inet m;
    cr_assert_eq(inet_init(&m, s, small_config(3)), PT_OK, "%s", pt_error());
    cr_expect_not_null(nn_store_find(s, "backbone.layer4.1.bn2.running_var"));
    cr_expect_not_null(nn_store_find(s, "rpn.head.cls_logits.weight"));
    cr_expect_not_null(nn_store_find(s, "fuse.0.weight"));
    cr_expect_not_null(nn_store_find(s, "ps_head.weight"));
    cr_expect_eq(pt_size(nn_store_find(s, "fuse.0.weight"), 1), 128 + 3);
    size_t mark = pt_scope_begin();
    int64_t xs[4] = {2, 3, 64, 48}, ms[4] = {2, 3, 64, 48};
    pt_tensor *x = pt_randn(xs, 4, PT_F32, NULL), *maps = pt_rand(ms, 4, PT_F32, NULL);
    inet_part1_out p1;
    cr_assert_eq(inet_part1(&m, x, &p1), PT_OK, "%s", pt_error());
    cr_expect_eq(pt_size(p1.c3, 2), 8);
    cr_expect_eq(pt_size(p1.rpn_obj, 1), 2);
    cr_expect_eq(pt_size(p1.rpn_box, 1), 8);
    pt_tensor *ps = inet_part2(&m, &p1, maps);
    cr_assert_not_null(ps, "%s", pt_error());
    cr_expect_eq(pt_size(ps, 1), 18);
    cr_expect_eq(pt_size(ps, 2), 16);
    cr_expect_eq(pt_size(ps, 3), 12);
    float boxes[2][4] = {{0, 0, 48, 64}, {8, 8, 24, 40}};
    pt_tensor *inbox = NULL;
    pt_tensor *lg = inet_assemble(&m, ps, (const float(*)[4])boxes, 64, 48, &inbox);
    cr_assert_not_null(lg, "%s", pt_error());
    cr_expect_eq(pt_size(lg, 2), 64);
    cr_expect_float_eq(pt_item_or_nan(pt_sum(inbox)), 64 * 48 + 16 * 32, 1e-3);
    /* bad maps: a clear error */
    int64_t bad[4] = {2, 2, 64, 48};
    cr_expect_null(inet_part2(&m, &p1, pt_zeros(bad, 4, PT_F32)));
    cr_expect(strstr(pt_error(), "[B, 3, H, W]") != NULL, "%s", pt_error());
    pt_error_clear();
    pt_scope_end(mark);
    inet_free(&m);
    nn_store_free(s);
}

/* Assembling by hand: k = 2 with maps whose inside channel c is c + 1 and outside 0: every pixel
 * of the rectangle takes its cell's value. */
Test(inet, assembling_takes_each_cells_own_map, .init = tst_setup)
{
    nn_store *s = nn_store_new(1);
    inet m;
    cr_assert_eq(inet_init(&m, s, small_config(2)), PT_OK, "%s", pt_error());
    size_t mark = pt_scope_begin();
    enum { H = 8, W = 8 };
    float v[8 * H * W] = {0};
    for (int c = 0; c < 4; c++)
        for (int i = 0; i < H * W; i++)
            v[c * H * W + i] = (float)(c + 1);
    int64_t shape[4] = {1, 8, H, W};
    pt_tensor *ps = pt_from_data(v, shape, 4, PT_F32);
    float box[1][4] = {{2, 2, 6, 6}}; /* cells of 2x2 pixels */
    pt_tensor *inbox = NULL;
    pt_tensor *lg = pt_contiguous(inet_assemble(&m, ps, (const float(*)[4])box, H, W, &inbox));
    cr_assert_not_null(lg, "%s", pt_error());
    float out[H * W], in[H * W];
    pt_copy_to(lg, out, sizeof out);
    pt_copy_to(pt_contiguous(inbox), in, sizeof in);
    cr_expect_float_eq(out[2 * W + 2], 1.0f, 1e-6, "top-left cell");
    cr_expect_float_eq(out[2 * W + 5], 2.0f, 1e-6, "top-right cell");
    cr_expect_float_eq(out[5 * W + 2], 3.0f, 1e-6, "bottom-left cell");
    cr_expect_float_eq(out[5 * W + 5], 4.0f, 1e-6, "bottom-right cell");
    cr_expect_float_eq(out[0], 0.0f, 1e-6, "outside the rectangle");
    cr_expect_eq(in[0], 0.0f);
    cr_expect_eq(in[3 * W + 3], 1.0f);
    pt_scope_end(mark);
    inet_free(&m);
    nn_store_free(s);
}

/* ------------------------------------------------------------------ through `pictor` */

static char *g_dir;

static void bin_setup(void)
{
    tst_setup();
    g_dir = tst_tmpdir();
}

static void bin_teardown(void) { tst_rmtree(g_dir); }

/* A small interactive config on synthetic shapes (foreground), 64 x 64. */
static void write_small_config(void)
{
    tst_write_text(g_dir, "ia.yaml",
                   "model: {type: interactive, backbone: resnet18, ps_grid: 3,\n"
                   "        decoder_width: 16, anchor_sizes: [16, 32, 64]}\n"
                   "noc: {max_taps: 4}\n"
                   "data: {train: s.h5, val: s.h5, image_size: 64}\n"
                   "train: {max_steps: 2, batch_size: 2, log_every: 1, eval_every: 2,\n"
                   "        threads: 1, best_metric: noc90_rect, best_mode: min}\n"
                   "optim: {type: adam, lr: 0.001}\n");
}

static double metric(const char *json, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *p = strstr(json, key);
    cr_assert_not_null(p, "no %s in %s", name, json);
    return atof(p + strlen(key));
}

TestSuite(interactive, .init = bin_setup, .fini = bin_teardown, .timeout = 900);

/* Train two steps, evaluate with the NoC protocol (JSON of both protocols), segment an image
 * file; and the bad inputs a user meets, each a clear error and exit 1. */
Test(interactive, train_eval_segment_end_to_end)
{
    cr_assert_eq(
        tst_pictor(g_dir, "data synth shapes --n 3 --size 64 --seed 5 --foreground --out s.h5"), 0,
        "%s", tst_text(g_dir, "out.txt"));
    write_small_config();
    cr_assert_eq(tst_pictor(g_dir, "train ia.yaml --set run.name=r"), 0, "%s",
                 tst_text(g_dir, "out.txt"));
    const char *m = tst_text(g_dir, "runs/r/metrics.jsonl");
    cr_expect(strstr(m, "\"loss/rpn_obj\"") && strstr(m, "\"loss/rpn_box\"") &&
                  strstr(m, "\"loss/mask\""),
              "%s", m);
    cr_assert_eq(tst_pictor(g_dir, "eval ia.yaml --weights runs/r/weights.safetensors"), 0, "%s",
                 tst_text(g_dir, "out.txt"));
    const char *j = tst_text(g_dir, "out.txt");
    for (int k = 0; k < 2; k++) {
        const char *tag = k ? "rect" : "taps";
        char name[64];
        snprintf(name, sizeof name, "noc90_%s", tag);
        double noc = metric(j, name);
        cr_expect(noc >= 1 && noc <= 4, "%s %g: in [1, max_taps]", name, noc);
        snprintf(name, sizeof name, "miou@1_%s", tag);
        double iou = metric(j, name);
        cr_expect(iou >= 0 && iou <= 1, "%s %g", name, iou);
    }
    cr_expect_eq(metric(j, "objects"), 3);
    cr_expect_gt(metric(j, "tap_ms"), 0);
    /* pictor predict: one grid per object, 2 protocol rows x 3 tap columns of 240 px tiles */
    cr_assert_eq(
        tst_pictor(g_dir, "predict ia.yaml --weights runs/r/weights.safetensors --out pred --n 2"),
        0, "%s", tst_text(g_dir, "out.txt"));
    for (int k = 0; k < 3; k++) {
        uint8_t *pic = NULL, *bytes = NULL;
        size_t nb = 0;
        int ph = 0, pw = 0, pc = 0;
        char pp[4200], e2[256];
        snprintf(pp, sizeof pp, "%s/pred/%d.png", g_dir, k);
        if (k == 2) { /* --n 2: only the first two */
            cr_expect_neq(access(pp, F_OK), 0, "%s written", pp);
            continue;
        }
        cr_assert_eq(image_read_file(pp, &bytes, &nb, e2, sizeof e2), 0, "%s", e2);
        cr_assert_eq(image_decode(bytes, nb, 0, &pic, &ph, &pw, &pc, e2, sizeof e2), 0, "%s", e2);
        cr_expect(pw == 3 * 240 + 4 * 4 && ph == 2 * 240 + 3 * 4, "grid %dx%d", pw, ph);
        free(pic), free(bytes);
    }
    /* pictor segment on a PNG written here: a 64 x 48 grey picture */
    uint8_t img[48 * 64 * 3];
    for (int i = 0; i < 48 * 64 * 3; i++)
        img[i] = (uint8_t)(i * 7);
    char err[256], path[4200];
    snprintf(path, sizeof path, "%s/photo.png", g_dir);
    cr_assert_eq(image_write_png(path, img, 48, 64, 3, err, sizeof err), 0, "%s", err);
    cr_assert_eq(
        tst_pictor(g_dir,
                   "segment ia.yaml --weights runs/r/weights.safetensors --image photo.png "
                   "--box 10,8,30,20 --tap +20,15 --tap -2,2 --out mask.png --cutout cut.png"),
        0, "%s", tst_text(g_dir, "out.txt"));
    cr_expect(strstr(tst_text(g_dir, "out.txt"), "tap 2 (-2,2): part 2"), "%s",
              tst_text(g_dir, "out.txt"));
    uint8_t *px = NULL, *file = NULL;
    size_t len = 0;
    int h = 0, w = 0, c = 0;
    snprintf(path, sizeof path, "%s/mask.png", g_dir);
    cr_assert_eq(image_read_file(path, &file, &len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(image_decode(file, len, 0, &px, &h, &w, &c, err, sizeof err), 0, "%s", err);
    cr_expect(h == 48 && w == 64 && c == 1, "mask %dx%dx%d", w, h, c);
    for (int i = 0; i < h * w; i++)
        cr_assert(px[i] == 0 || px[i] == 255, "mask values 0/255");
    for (int y = 0; y < h; y++) /* nothing outside the rectangle (grown by no positive tap) */
        for (int x = 0; x < w; x++)
            if (x < 10 || x >= 40 || y < 8 || y >= 28)
                cr_assert_eq(px[y * w + x], 0, "(%d, %d) outside the box", x, y);
    free(px), free(file);
    /* bad input */
    static const struct {
        const char *args, *says;
    } bad[] = {
        {"--image photo.png --tap +64,10 --out m.png", "outside the 64x48 image"},
        {"--image photo.png --box 10,10,0,5 --out m.png", "empty or not inside"},
        {"--image photo.png --tap -5,5 --out m.png", "first tap must be on the object"},
        {"--image photo.png --tap 5,5 --out m.png", "expects +x,y"},
        {"--image photo.png --out m.png", "give a --box, a --tap"},
        {"--image ia.yaml --tap +5,5 --out m.png", "ia.yaml"},
        {"--image nothere.png --tap +5,5 --out m.png", "nothere.png"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char args[1024];
        snprintf(args, sizeof args, "segment ia.yaml --weights runs/r/weights.safetensors %s",
                 bad[i].args);
        cr_expect_eq(tst_pictor(g_dir, "%s", args), 1, "%s", args);
        cr_expect(strstr(tst_text(g_dir, "out.txt"), bad[i].says), "%s: %s", args,
                  tst_text(g_dir, "out.txt"));
    }
    /* another model type's config */
    tst_write_text(g_dir, "other.yaml", "model: {type: classifier}\ndata: {train: s.h5}\n");
    cr_expect_eq(
        tst_pictor(g_dir,
                   "segment other.yaml --weights runs/r/weights.safetensors --image photo.png "
                   "--tap +5,5 --out m.png"),
        1);
    cr_expect(strstr(tst_text(g_dir, "out.txt"), "this command runs interactive models"), "%s",
              tst_text(g_dir, "out.txt"));
}

/* Definite taps: discs in tap order (a later one wins where they overlap), every tapped pixel
 * re-stamped with its own label, clipped at the border; radius 0 the pixel only, -1 nothing. */
Test(interactive, pin_taps_discs_in_order_then_the_tapped_pixels)
{
    enum { H = 9, W = 12 };
    uint8_t m[H * W];
    const noc_click taps[] = {{4, 4, 1}, {4, 6, 0}, {0, 11, 1}};
    memset(m, 0, sizeof m);
    ia_pin_taps(m, H, W, taps, 1, 2);
    int n = 0;
    for (int i = 0; i < H * W; i++)
        n += m[i];
    cr_expect_eq(n, 13, "a radius-2 disc has 13 pixels, got %d", n);
    ia_pin_taps(m, H, W, taps, 3, 2);
    cr_expect_eq(m[4 * W + 4], 1, "the first tap's own pixel is re-stamped positive");
    cr_expect_eq(m[4 * W + 5], 0, "the negative disc overwrites the positive one at (4, 5)");
    cr_expect_eq(m[4 * W + 3], 1, "(4, 3) is outside the negative disc");
    cr_expect_eq(m[4 * W + 6] + m[2 * W + 6] + m[6 * W + 6], 0, "the negative disc");
    n = 0;
    for (int y = 0; y < H; y++)
        for (int x = 8; x < W; x++)
            n += m[y * W + x];
    cr_expect_eq(n, 6, "the corner disc is clipped to its 6 pixels inside, got %d", n);
    memset(m, 1, sizeof m);
    ia_pin_taps(m, H, W, taps + 1, 1, 0);
    n = 0;
    for (int i = 0; i < H * W; i++)
        n += m[i];
    cr_expect(n == H * W - 1 && m[4 * W + 6] == 0, "radius 0: the tapped pixel only");
    memset(m, 1, sizeof m);
    ia_pin_taps(m, H, W, taps + 1, 1, -1);
    n = 0;
    for (int i = 0; i < H * W; i++)
        n += m[i];
    cr_expect_eq(n, H * W, "radius -1 leaves the mask as it is");
}

/* An image without an object is refused with its dataset index. */
Test(interactive, image_without_object_is_an_error)
{
    cr_assert_eq(tst_pictor(g_dir, "data import-idx --split test --limit 4 --out c.h5"), 0, "%s",
                 tst_text(g_dir, "out.txt"));
    tst_write_text(g_dir, "c.yaml",
                   "model: {type: interactive}\ndata: {train: c.h5, image_size: 32}\n"
                   "train: {max_steps: 1, batch_size: 2, threads: 1}\n");
    cr_expect_eq(tst_pictor(g_dir, "train c.yaml --set run.name=c"), 1);
    cr_expect(strstr(tst_text(g_dir, "out.txt"), "expected RGB") ||
                  strstr(tst_text(g_dir, "out.txt"), "neither a mask nor instances"),
              "%s", tst_text(g_dir, "out.txt"));
}

/* A few hundred steps on four scenes: the first tap's mask must get much better than at the
 * start (the model learns to segment from taps). */
Test(interactive, learns_four_scenes)
{
#ifdef PICTOR_SANITIZED
    cr_skip_test("sanitizer build: the training steps take too long there");
#endif
    cr_assert_eq(
        tst_pictor(g_dir, "data synth shapes --n 4 --size 64 --seed 3 --foreground --out s.h5"), 0,
        "%s", tst_text(g_dir, "out.txt"));
    write_small_config();
    cr_assert_eq(
        tst_pictor(g_dir,
                   "train ia.yaml --set run.name=fit --set train.max_steps=120 "
                   "--set train.eval_every=120 --set train.log_every=40 --set optim.lr=0.003 "
                   "--set model.max_extra_taps=1 --set train.threads=2"),
        0, "%s", tst_text(g_dir, "out.txt"));
    const char *m = tst_text(g_dir, "runs/fit/metrics.jsonl");
    const char *ev = strstr(m, "\"kind\":\"eval\"");
    cr_assert_not_null(ev, "%s", m);
    double iou1 = metric(ev, "miou@1_rect");
    cr_expect_gt(iou1, 0.6, "mean IoU after one tap (rectangle given): %g\n%s", iou1, ev);
}
