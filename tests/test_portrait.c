/* test_portrait.c - the `portrait` model type (seed 001): the fusion and the sensor path
 * (pfuse.c), the portrait-mode picture (report/portrait_picture.c), and end to end through the
 * `pictor` binary: synth -> train -> eval JSON (S_in, S_out, depth, AUSE) with each fusion ->
 * `pictor portrait` (outputs, a landscape photo and its rotation give the same mask) and its bad
 * inputs (grey photo, tiny photo, missing depth file, depth map of another view).
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec/image.h"
#include "helpers.h"
#include "models/portrait/pfuse.h"
#include "pipeline/augment.h"
#include "report/portrait_picture.h"

Test(portrait_fuse, formula_normalisation_and_sensor_confidence)
{
    float s_in[4] = {1, 0.5f, 0.9f, 0}, i1[4] = {1, 1, 0.5f, 1}, d[4] = {0.1f, 0.5f, 0.2f, 0};
    float i2[4] = {0.8f, 0.5f, 1, 1}, out[4];
    pfuse_fuse(s_in, i1, d, i2, 4, 0, out);
    cr_assert_float_eq(out[0], 0.8 * 0.9 * 1 * 1, 1e-6);
    cr_assert_float_eq(out[1], 0.5 * 0.5 * 1 * 0.5, 1e-6);
    cr_assert_float_eq(out[2], 1 * 0.8 * 0.5 * 0.9, 1e-6);
    cr_assert_float_eq(out[3], 0, 1e-9);
    pfuse_fuse(s_in, i1, d, i2, 4, 1, out); /* claim 7: divided by the maximum 0.72 */
    cr_assert_float_eq(out[0], 1.0, 1e-6);
    cr_assert_float_eq(out[2], 0.36 / 0.72, 1e-6);
    float sd[3] = {0.2f, 0.4f, 0.8f}, c2[3];
    pfuse_conf_from_sensor(sd, 3, 1.0, c2); /* I2 = 1 - d / 0.8 */
    cr_assert_float_eq(c2[0], 0.75, 1e-6);
    cr_assert_float_eq(c2[2], 0.0, 1e-6);
    float sg[2] = {0.05f, 1e-9f}, cs[2];
    pfuse_conf_from_sigma(sg, 2, 0.05, cs);
    cr_assert_float_eq(cs[0], 1 - exp(-1.0), 1e-6);
    cr_assert_float_eq(cs[1], 1.0, 1e-6);
}

Test(portrait_fuse, sensor_map_holes_filled_resized_and_normalised)
{
    enum { RH = 20, RW = 30 };
    float raw[RH * RW];
    for (int y = 0; y < RH; y++)
        for (int x = 0; x < RW; x++)
            raw[y * RW + x] = x < 15 ? 0.2f : 0.6f;
    for (int y = 5; y < 9; y++) /* a hole inside the near half */
        for (int x = 3; x < 8; x++)
            raw[y * RW + x] = 0;
    float out[40 * 60];
    char err[256];
    cr_assert_eq(pfuse_sensor_depth(raw, RH, RW, 40, 60, 0, out, err, sizeof err), 0, "%s", err);
    float mx = 0;
    for (int i = 0; i < 40 * 60; i++) {
        cr_assert(out[i] >= 0 && out[i] <= 1);
        mx = fmaxf(mx, out[i]);
    }
    cr_assert_float_eq(mx, 1.0, 1e-6);
    /* the hole (rows 10-17, cols 6-15 at 2x) reads about the near value 0.2 / 0.6 */
    cr_assert(fabsf(out[14 * 60 + 10] - 1.0f / 3) < 0.05f, "hole filled with %g", out[14 * 60 + 10]);
    float none[4] = {0, 0, 0, 0};
    cr_assert_eq(pfuse_sensor_depth(none, 2, 2, 2, 2, 0, out, err, sizeof err), -1);
    cr_assert(strstr(err, "no reading"), "%s", err);
}

Test(portrait_fuse, unrotate_inverts_the_quarter_turn)
{
    enum { H = 5, W = 8 }; /* landscape */
    sample s;
    sample_init(&s);
    s.h = H, s.w = W, s.c = 1;
    s.image = malloc(H * W);
    float orig[H * W];
    for (int i = 0; i < H * W; i++)
        s.image[i] = (uint8_t)i, orig[i] = (float)i;
    char err[128];
    cr_assert(pfuse_is_landscape(H, W));
    cr_assert_eq(aug_rot90(&s, 1, err, sizeof err), 0);
    cr_assert(s.h == W && s.w == H);
    float rot[H * W];
    for (int i = 0; i < H * W; i++)
        rot[i] = s.image[i];
    float *back = pfuse_unrotate(rot, s.h, s.w);
    cr_assert_not_null(back);
    for (int i = 0; i < H * W; i++)
        cr_assert_eq(back[i], orig[i], "pixel %d", i);
    free(back);
    sample_free(&s);
}

Test(portrait_picture, blur_grows_with_depth_person_kept)
{
    enum { H = 48, W = 96 };
    static uint8_t rgb[H * W * 3], mask[H * W], out[H * W * 3];
    static float depth[H * W];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int i = y * W + x;
            uint8_t v = ((x / 6 + y / 6) % 2) ? 230 : 20; /* a checker of 6 px */
            rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = v;
            mask[i] = x < 32;
            depth[i] = x < 32 ? 0.1f : x < 64 ? 0.4f : 1.0f;
        }
    picture_options o = {.mode = PICTURE_BLUR, .max_sigma = 4, .edge = 0};
    char err[256];
    cr_assert_eq(portrait_picture(rgb, H, W, mask, depth, &o, out, err, sizeof err), 0, "%s", err);
    double change[3] = {0};
    for (int y = 8; y < H - 8; y++)
        for (int x = 0; x < W; x++)
            if (x % 32 >= 6 && x % 32 < 26) /* away from the thirds' borders */
                change[x / 32] += fabs((double)out[3 * (y * W + x)] - rgb[3 * (y * W + x)]);
    cr_assert_eq(change[0], 0, "the person is not blurred");
    cr_assert_gt(change[1], 0);
    cr_assert_gt(change[2], 1.2 * change[1], "farther is blurrier: %g vs %g", change[2], change[1]);
    o.mode = PICTURE_COLOUR, o.colour[0] = 0, o.colour[1] = 255, o.colour[2] = 0, o.edge = 2;
    cr_assert_eq(portrait_picture(rgb, H, W, mask, NULL, &o, out, err, sizeof err), 0, "%s", err);
    cr_assert_eq(out[3 * (10 * W + 80) + 1], 255, "background replaced");
    cr_assert_eq(out[3 * (10 * W + 5)], rgb[3 * (10 * W + 5)], "person kept");
    int soft = out[3 * (10 * W + 32) + 1];
    cr_assert(soft > 0 && soft < 255, "a soft edge at the mask's border (%d)", soft);
}

/* ------------------------------------------------------------------ through `pictor` */

static char *g_dir;
static void bin_setup(void)
{
    tst_setup();
    g_dir = tst_tmpdir();
}
static void bin_teardown(void) { tst_rmtree(g_dir); }

static void png(const char *rel, const uint8_t *px, int h, int w, int c)
{
    char p[4200], err[256];
    snprintf(p, sizeof p, "%s/%s", g_dir, rel);
    cr_assert_eq(image_write_png(p, px, h, w, c, err, sizeof err), 0, "%s", err);
}

static uint8_t *read_png(const char *rel, int *h, int *w, int *c)
{
    char p[4200], err[256];
    snprintf(p, sizeof p, "%s/%s", g_dir, rel);
    uint8_t *file = NULL, *px = NULL;
    size_t len = 0;
    cr_assert_eq(image_read_file(p, &file, &len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(image_decode(file, len, 0, &px, h, w, c, err, sizeof err), 0, "%s", err);
    free(file);
    return px;
}

static double metric(const char *json, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *p = strstr(json, key);
    cr_assert_not_null(p, "no %s in %s", name, json);
    return atof(p + strlen(key));
}

/* People (an ellipse on green, 90x60) and backgrounds (gradients) in folders. */
static void make_folders(void)
{
    static uint8_t prgb[90 * 60 * 3], pm[90 * 60], b[70 * 100 * 3];
    for (int y = 0; y < 90; y++)
        for (int x = 0; x < 60; x++) {
            double u = (x - 30) / 22.0, v = (y - 45) / 40.0;
            int in = u * u + v * v <= 1;
            pm[y * 60 + x] = in ? 255 : 0;
            prgb[(y * 60 + x) * 3] = in ? 220 : 0, prgb[(y * 60 + x) * 3 + 1] = in ? 20 : 200;
        }
    for (int i = 0; i < 70 * 100; i++)
        b[3 * i] = 10, b[3 * i + 1] = (uint8_t)(i % 100), b[3 * i + 2] = (uint8_t)(100 + i % 100);
    char p[4200];
    const char *dirs[4] = {"people", "people/images", "people/masks", "bg"};
    for (int k = 0; k < 4; k++) {
        snprintf(p, sizeof p, "%s/%s", g_dir, dirs[k]);
        mkdir(p, 0755);
    }
    for (int k = 0; k < 5; k++) {
        char name[128];
        snprintf(name, sizeof name, "people/images/%d.png", k);
        png(name, prgb, 90, 60, 3);
        snprintf(name, sizeof name, "people/masks/%d.png", k);
        png(name, pm, 90, 60, 1);
        snprintf(name, sizeof name, "bg/x0%d_00000%d.png", k, k);
        png(name, b, 70, 100, 3);
    }
}

TestSuite(portrait, .init = bin_setup, .fini = bin_teardown, .timeout = 900);

Test(portrait, synth_train_eval_and_pictor_portrait)
{
    make_folders();
    cr_assert_eq(
        tst_pictor(g_dir,
                   "portrait synth --people people --backgrounds bg --n 8 --size 64 --out s.h5"),
        0, "%s", tst_text(g_dir, "out.txt"));
    cr_assert_eq(
        tst_pictor(g_dir,
                   "portrait synth --people people --backgrounds bg --n 4 --size 64 --sensor "
                   "--split test --out sensor.h5"),
        0, "%s", tst_text(g_dir, "out.txt"));
    char cfg[4200];
    snprintf(cfg, sizeof cfg, "%s/p.yaml", g_dir);
    FILE *f = fopen(cfg, "w");
    cr_assert_not_null(f);
    fputs("model: {type: portrait, backbone: mobilenet_v3_small, depth_backbone: mobilenet_v3_small,"
          " width: 8}\n"
          "data: {train: s.h5, val: s.h5, image_size: 64, resize_mode: letterbox}\n"
          "train: {max_steps: 2, batch_size: 4, log_every: 1, threads: 1}\n"
          "optim: {type: adam, lr: 0.001}\n", f);
    fclose(f);
    cr_assert_eq(tst_pictor(g_dir, "train p.yaml --set run.name=r"), 0, "%s",
                 tst_text(g_dir, "out.txt"));
    const char *m = tst_text(g_dir, "runs/r/metrics.jsonl");
    cr_expect(strstr(m, "\"loss/semantic\"") && strstr(m, "\"loss/detail\"") &&
                  strstr(m, "\"loss/fusion\"") && strstr(m, "\"loss/depth_nll\""), "%s", m);
    /* eval: every figure, with each fusion */
    cr_assert_eq(tst_pictor(g_dir, "eval p.yaml --weights runs/r/weights.safetensors"), 0, "%s",
                 tst_text(g_dir, "out.txt"));
    const char *j = tst_text(g_dir, "out.txt");
    cr_expect_eq(metric(j, "images"), 8);
    cr_expect_eq(metric(j, "depth_images"), 8);
    static const char *keys[] = {"iou", "boundary_f", "mae", "iou_out", "boundary_f_out",
                                 "mae_out", "depth_rmse", "ause_rmse", "ause_random_rmse"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        double v = metric(j, keys[k]);
        cr_expect(v >= 0 && v <= 1.5, "%s %g", keys[k], v);
    }
    cr_assert_eq(
        tst_pictor(g_dir,
                   "eval p.yaml --weights runs/r/weights.safetensors --set model.fusion=none"),
        0, "%s", tst_text(g_dir, "out.txt"));
    j = tst_text(g_dir, "out.txt");
    cr_expect_eq(metric(j, "iou"), metric(j, "iou_out"), "fusion none: S_out = S_in");
    cr_assert_eq(
        tst_pictor(g_dir,
                   "eval p.yaml --weights runs/r/weights.safetensors --set model.fusion=sensor "
                   "--set data.val=sensor.h5"),
        0, "%s", tst_text(g_dir, "out.txt"));
    cr_expect_eq(metric(tst_text(g_dir, "out.txt"), "images"), 4);

    /* pictor portrait on a landscape photo and on its quarter turn: the same mask */
    enum { H = 50, W = 80 };
    static uint8_t photo[H * W * 3];
    for (int i = 0; i < H * W * 3; i++)
        photo[i] = (uint8_t)((i * 37) % 251);
    png("land.png", photo, H, W, 3);
    sample s;
    sample_init(&s);
    s.h = H, s.w = W, s.c = 3;
    s.image = malloc(sizeof photo);
    memcpy(s.image, photo, sizeof photo);
    char err[256];
    cr_assert_eq(aug_rot90(&s, 1, err, sizeof err), 0);
    png("port.png", s.image, s.h, s.w, 3);
    sample_free(&s);
    cr_assert_eq(tst_pictor(g_dir,
                            "portrait p.yaml --weights runs/r/weights.safetensors --image land.png "
                            "--out L --set model.out_threshold=0.3"),
                 0, "%s", tst_text(g_dir, "out.txt"));
    cr_expect(strstr(tst_text(g_dir, "out.txt"), "landscape: turned"), "%s",
              tst_text(g_dir, "out.txt"));
    cr_assert_eq(tst_pictor(g_dir,
                            "portrait p.yaml --weights runs/r/weights.safetensors --image port.png "
                            "--out P --set model.out_threshold=0.3"),
                 0, "%s", tst_text(g_dir, "out.txt"));
    static const char *outs[] = {"mask", "s_in", "s_out", "depth", "confidence", "portrait"};
    for (int k = 0; k < 6; k++) {
        char rel[64];
        snprintf(rel, sizeof rel, "L/%s.png", outs[k]);
        int h, w, c;
        uint8_t *px = read_png(rel, &h, &w, &c);
        cr_expect(h == H && w == W && c == (k == 5 ? 3 : 1), "%s %dx%dx%d", rel, w, h, c);
        free(px);
    }
    int lh, lw, lc, ph, pw, pc;
    uint8_t *ml = read_png("L/s_out.png", &lh, &lw, &lc), *mp = read_png("P/s_out.png", &ph, &pw, &pc);
    cr_assert(ph == W && pw == H);
    /* rot90 k = 1 of the landscape result equals the portrait result: P[W-1-c][r] = L[r][c] */
    int64_t differ = 0;
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++)
            differ += abs((int)ml[r * W + c] - (int)mp[(W - 1 - c) * H + r]) > 1;
    cr_expect_eq(differ, 0, "%lld pixels differ", (long long)differ);
    free(ml), free(mp);

    /* bad input: each a clear message and exit 1 */
    static uint8_t grey[40 * 40], tiny[20 * 20 * 3], dmap[50 * 50];
    png("grey.png", grey, 40, 40, 1);
    png("tiny.png", tiny, 20, 20, 3);
    png("square_depth.png", dmap, 50, 50, 1);
    static const struct {
        const char *args, *says;
    } bad[] = {
        {"--image grey.png --out o", "grey (one-channel) image"},
        {"--image tiny.png --out o", "too small"},
        {"--image land.png --depth nothere.png --out o", "nothere.png"},
        {"--image land.png --depth square_depth.png --out o", "same view"},
        {"--image land.png --out o --set model.fusion=sensor", "give the sensor's depth map"},
        {"--image missing.jpg --out o", "missing.jpg"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char args[1024];
        snprintf(args, sizeof args, "portrait p.yaml --weights runs/r/weights.safetensors %s",
                 bad[k].args);
        cr_expect_eq(tst_pictor(g_dir, "%s", args), 1, "%s: exit status (%s)", bad[k].args,
                     tst_text(g_dir, "out.txt"));
        cr_expect(strstr(tst_text(g_dir, "out.txt"), bad[k].says), "%s: %s", bad[k].args,
                  tst_text(g_dir, "out.txt"));
    }
    /* a sensor depth of the photo's view is used with fusion sensor */
    static uint8_t dland[25 * 40];
    for (int i = 0; i < 25 * 40; i++)
        dland[i] = (uint8_t)(i % 40 < 20 ? 40 : 200);
    png("land_depth.png", dland, 25, 40, 1);
    cr_assert_eq(tst_pictor(g_dir,
                            "portrait p.yaml --weights runs/r/weights.safetensors --image land.png "
                            "--depth land_depth.png --out S --set model.fusion=sensor"),
                 0, "%s", tst_text(g_dir, "out.txt"));
    int dh, dw, dc;
    uint8_t *dp = read_png("S/depth.png", &dh, &dw, &dc);
    cr_expect(dp[10 * W + 5] < dp[10 * W + 75], "the sensor's near left and far right");
    free(dp);
}
