/*
 * test_polarmask.c - the polarmask network, its inference decoding and the `polarmask` driver:
 * output layout against the target grid, the refine module sampling exactly the contour points
 * of claims 5-6, polygon decoding + class-wise NMS on a hand-made case, all three variants
 * training and evaluating through `pictor`, the model learning a small scene set well enough
 * to find its objects (mask AP50), and `pictor predict` drawing predictions (pixels of a
 * hand-made picture, the pictures and results file of a trained model, its user errors).
 */
#include <cairo.h>
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "eval/mask_ap.h"
#include "models/polarmask/polar_decode.h"
#include "synth/synth_instances.h"
#include "models/polarmask/polar_draw.h"
#include "targets/polar_targets.h"
#include "models/polarmask/polarmask.h"

static char *g_dir;

static void setup(void)
{
    tst_setup();
    g_dir = tst_tmpdir();
}

static void teardown(void) { tst_rmtree(g_dir); }

TestSuite(polarmask, .init = setup, .fini = teardown, .timeout = 600);

static polarmask_config tiny_config(int refine, int contour)
{
    return (polarmask_config){.depth = 18, .frozen_stages = -1, .channels = 16, .num_classes = 3,
                              .num_rays = 4, .head_convs = 1, .gn_groups = 4, .refine = refine,
                              .contour_head = contour};
}

Test(polarmask, outputs_follow_the_target_grid)
{
    nn_store *s = nn_store_new(1);
    polarmask m;
    polarmask_config c = tiny_config(1, 1);
    c.num_rays = 36;
    cr_assert_eq(polarmask_init(&m, s, c), PT_OK, "%s", pt_error());
    size_t mark = pt_scope_begin();
    int64_t shape[4] = {2, 3, 100, 136};
    polarmask_out o;
    cr_assert_eq(polarmask_forward(&m, pt_randn(shape, 4, PT_F32, NULL), 1, &o), PT_OK, "%s",
                 pt_error());
    polar_config g;
    polar_config_default(&g);
    cr_expect_eq(o.n_locations, polar_num_locations(&g, 100, 136));
    for (int l = 0; l < PM_LEVELS; l++) {
        int rows, cols;
        polar_level_grid(&g, l, 100, 136, &rows, &cols, NULL);
        cr_expect_eq(o.level_h[l], rows, "level %d", l);
        cr_expect_eq(o.level_w[l], cols, "level %d", l);
    }
    cr_expect_eq(pt_size(o.cls, 1), o.n_locations);
    cr_expect_eq(pt_size(o.cls, 2), 3);
    cr_expect_eq(pt_size(o.coarse, 2), 36);
    cr_expect_eq(pt_size(o.fine, 1), o.n_locations);
    cr_expect_eq(pt_size(o.contour, 2), 13);
    cr_expect_eq(pt_size(o.contour, 3), 17);
    cr_expect_gt(pt_item_or_nan(pt_amin(o.coarse, NULL, 0, 0)), 0.0);
    /* a grey batch is repeated to three channels; two channels are refused with a message */
    int64_t grey[4] = {1, 1, 64, 64}, two[4] = {1, 2, 64, 64};
    cr_expect_eq(polarmask_forward(&m, pt_randn(grey, 4, PT_F32, NULL), 0, &o), PT_OK, "%s",
                 pt_error());
    cr_expect_null(o.contour);
    cr_expect_eq(polarmask_forward(&m, pt_randn(two, 4, PT_F32, NULL), 0, &o), PT_ERR);
    cr_expect(strstr(pt_error(), "expected images") != NULL, "%s", pt_error());
    pt_scope_end(mark);
    /* the training-only contour head and the optional refine module are named as documented */
    cr_expect_not_null(nn_store_find(s, "contour_head.8.weight"));
    cr_expect_not_null(nn_store_find(s, "refine.offsets.weight"));
    cr_expect_not_null(nn_store_find(s, "backbone.body.layer4.1.bn2.running_var"));
    cr_expect_not_null(nn_store_find(s, "backbone.fpn.extra_blocks.p7.weight"));
    polarmask_free(&m);
    nn_store_free(s);
    /* bad options are named */
    s = nn_store_new(1);
    c = tiny_config(0, 0);
    c.num_rays = 30;
    cr_expect_eq(polarmask_init(&m, s, c), PT_ERR);
    cr_expect(strstr(pt_error(), "num_rays 30") != NULL, "%s", pt_error());
    nn_store_free(s);
}

/* With a feature map whose channel 0 is the linear function x + 100 y of the feature coordinates
 * (pixel centres at +0.5) and a 1x1 grouped conv that passes channel 0 of each ray's group, the
 * offsets are the sampled values, so they must equal x_k + 100 y_k with x_k = j + 0.5 +
 * r_k sin(theta_k) / d, y_k = i + 0.5 + r_k cos(theta_k) / d (bilinear sampling is exact on a
 * linear function inside the map). */
Test(polarmask, refine_samples_the_contour_points)
{
    nn_store *s = nn_store_new(1);
    polarmask m;
    polarmask_config c = tiny_config(1, 0);
    cr_assert_eq(polarmask_init(&m, s, c), PT_OK, "%s", pt_error());
    const int R = 4, C = 16, H = 6, W = 7, d = 8;
    pt_tensor *w = nn_store_find(s, "refine.offsets.weight"), *b = nn_store_find(s, "refine.offsets.bias");
    cr_assert_eq(pt_size(w, 0), R);
    cr_assert_eq(pt_size(w, 1), C);
    float wv[4 * 16] = {0};
    for (int k = 0; k < R; k++)
        wv[k * C] = 1.0f;
    int64_t wshape[4] = {R, C, 1, 1};
    size_t mark = pt_scope_begin();
    pt_no_grad_begin();
    pt_copy_(w, pt_from_data(wv, wshape, 4, PT_F32));
    pt_zero_(b);
    pt_no_grad_end();
    float *feat = calloc((size_t)C * H * W, sizeof *feat);
    float coarse[4 * 6 * 7];
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
            feat[i * W + j] = (float)((j + 0.5) + 100.0 * (i + 0.5));
            for (int k = 0; k < R; k++)
                coarse[(k * H + i) * W + j] = (float)(2.0 + 0.5 * k + 0.25 * ((i + j) % 3));
        }
    int64_t fshape[4] = {1, C, H, W}, cshape[4] = {1, R, H, W};
    pt_tensor *off = polarmask_refine_offsets(&m, tst_f32(feat, fshape, 4), tst_f32(coarse, cshape, 4), d);
    cr_assert_not_null(off, "%s", pt_error());
    double worst = 0;
    int checked = 0;
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++)
            for (int k = 0; k < R; k++) {
                double r = coarse[(k * H + i) * W + j] / d;
                double th = 2 * 3.14159265358979323846 * k / R;
                double x = j + 0.5 + r * sin(th), y = i + 0.5 + r * cos(th);
                if (x < 0.5 || x > W - 0.5 || y < 0.5 || y > H - 0.5)
                    continue; /* the border blends with the zero padding */
                double got = tst_at(off, (k * H + i) * W + j);
                worst = fmax(worst, fabs(got - (x + 100.0 * y)));
                checked++;
            }
    cr_expect_gt(checked, 80);
    cr_expect_lt(worst, 1e-3, "largest |offset - sampled value| %g", worst);
    free(feat);
    pt_scope_end(mark);
    polarmask_free(&m);
    nn_store_free(s);
}

/* 64 x 64 image, 4 rays: level 0 is 8 x 8 (stride 8). Location (row 2, col 3) sits at
 * (28, 20); rays of 16 px give the diamond (28, 36), (44, 20), (28, 4), (12, 20), box
 * [12, 4, 44, 36]; the next location's box [20, 4, 52, 36] overlaps it with IoU 768/1280 = 0.6. */
Test(polarmask, decode_polygons_and_classwise_nms)
{
    polar_config g;
    polar_config_default(&g);
    g.num_rays = 4;
    const int C = 2;
    int64_t N = polar_num_locations(&g, 64, 64);
    cr_assert_eq(N, 64 + 16 + 4 + 1 + 1);
    float *scores = calloc((size_t)N * C, sizeof *scores), *rays = calloc((size_t)N * 4, sizeof *rays);
    for (int64_t i = 0; i < N * 4; i++)
        rays[i] = 16.0f;
    int64_t a = 2 * 8 + 3, b = 2 * 8 + 4, far = 6 * 8 + 6;
    scores[a * C + 1] = 0.9f;  /* kept */
    scores[b * C + 1] = 0.8f;  /* same class, box IoU 0.6 with a: suppressed */
    scores[b * C + 0] = 0.7f;  /* other class at the same place: kept */
    scores[far * C + 1] = 0.6f; /* elsewhere: kept */
    scores[(far - 1) * C + 0] = 0.04f; /* under the threshold */
    polar_decode_config dc = polar_decode_defaults();
    polar_dets d;
    char err[256];
    cr_assert_eq(polar_decode(&dc, &g, 64, 64, C, scores, rays, &d, err, sizeof err), 0, "%s", err);
    cr_assert_eq(d.n, 3);
    cr_expect_float_eq(d.det[0].score, 0.9f, 1e-7);
    cr_expect_eq(d.det[0].class_id, 1);
    cr_expect_float_eq(d.det[0].x, 28.0f, 1e-5);
    cr_expect_float_eq(d.det[0].y, 20.0f, 1e-5);
    cr_expect_float_eq(d.det[0].xy[0], 28.0f, 1e-4); /* ray 0 points down */
    cr_expect_float_eq(d.det[0].xy[1], 36.0f, 1e-4);
    cr_expect_float_eq(d.det[0].xy[2], 44.0f, 1e-4); /* ray 1 points right */
    cr_expect_float_eq(d.det[0].xy[3], 20.0f, 1e-4);
    cr_expect_float_eq(d.det[0].box[0], 12.0f, 1e-4);
    cr_expect_float_eq(d.det[0].box[1], 4.0f, 1e-4);
    cr_expect_float_eq(d.det[0].box[3], 36.0f, 1e-4);
    cr_expect_eq(d.det[1].class_id, 0);
    cr_expect_float_eq(d.det[1].score, 0.7f, 1e-7);
    cr_expect_float_eq(d.det[2].score, 0.6f, 1e-7);
    /* the diamond's mask: pixel centres inside |x - 28| + |y - 20| < 16, 2 * 16^2 = 512 px */
    uint8_t mask[64 * 64];
    cr_assert_eq(polar_det_mask(&d, 0, mask, 64, 64), 0);
    int area = 0, inside_ok = 1;
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++) {
            area += mask[y * 64 + x];
            double dist = fabs(x + 0.5 - 28) + fabs(y + 0.5 - 20);
            if ((dist < 15.5 && !mask[y * 64 + x]) || (dist > 16.5 && mask[y * 64 + x]))
                inside_ok = 0;
        }
    cr_expect(area >= 480 && area <= 544, "diamond area %d", area);
    cr_expect(inside_ok);
    polar_dets_free(&d);
    /* max_dets cuts by score; a polygon is clipped to the image */
    dc.max_dets = 1;
    for (int k = 0; k < 4; k++)
        rays[far * 4 + k] = 100.0f;
    cr_assert_eq(polar_decode(&dc, &g, 64, 64, C, scores, rays, &d, err, sizeof err), 0, "%s", err);
    cr_expect_eq(d.n, 1);
    polar_dets_free(&d);
    dc.max_dets = 10;
    scores[a * C + 1] = scores[b * C + 1] = scores[b * C + 0] = 0;
    cr_assert_eq(polar_decode(&dc, &g, 64, 64, C, scores, rays, &d, err, sizeof err), 0, "%s", err);
    cr_assert_eq(d.n, 1);
    cr_expect_float_eq(d.det[0].box[0], 0.0f, 1e-6);
    cr_expect_float_eq(d.det[0].box[2], 64.0f, 1e-6);
    polar_dets_free(&d);
    free(scores);
    free(rays);
}

/* Targets -> decode -> evaluator closes the loop: a "perfect" prediction made of the targets
 * themselves (score 1 at every positive for its class, the target rays) must find the ground
 * truth again. Every object of 40 shapes scenes at 64 px with PolarMask's rules: the polygons of
 * 36 rays from the positives cover their masks, so AP50 is near 1 (rings and crescents are not
 * star-shaped from every positive, which costs some IoU at the strict thresholds only). */
static double perfect_ap50(const int *size_ranges, double *ap)
{
    polar_config g;
    polar_config_default(&g);
    for (int l = 0; l < 5; l++) {
        g.range_lo[l] = l ? (float)size_ranges[l - 1] : -1.0f;
        g.range_hi[l] = l < 4 ? (float)size_ranges[l] : INFINITY;
    }
    const int S = 64, C = 7, R = g.num_rays;
    int64_t N = polar_num_locations(&g, S, S);
    int32_t *cls = malloc((size_t)N * sizeof *cls);
    float *rays = malloc((size_t)N * R * sizeof *rays), *ctr = malloc((size_t)N * sizeof *ctr);
    float *scores = malloc((size_t)N * C * sizeof *scores);
    uint8_t *mask = malloc((size_t)S * S);
    mask_ap *ev = mask_ap_new(C);
    char err[512];
    for (int64_t img = 0; img < 40; img++) {
        synth_scene sc;
        cr_assert_eq(synth_shapes_scene(S, 3, 0, 1, img, &sc, err, sizeof err), 0, "%s", err);
        sample smp;
        sample_init(&smp);
        smp.h = smp.w = S;
        smp.c = 3;
        smp.n_instances = sc.n;
        instance inst[8];
        for (int k = 0; k < sc.n; k++) {
            inst[k] = (instance){.class_id = sc.inst[k].class_id, .mask = sc.inst[k].mask};
            cr_assert_eq(mask_ap_add_gt(ev, img, inst[k].class_id, inst[k].mask, S, S, 0, err,
                                        sizeof err), 0, "%s", err);
        }
        smp.instances = inst;
        polar_targets t = {cls, rays, ctr, NULL, NULL};
        cr_assert_eq(polar_targets_compute(&g, &smp, &t, NULL, err, sizeof err), 0, "%s", err);
        for (int64_t i = 0; i < N * C; i++)
            scores[i] = 0;
        for (int64_t i = 0; i < N; i++)
            if (cls[i] >= 0)
                scores[i * C + cls[i]] = 0.5f + 0.5f * ctr[i]; /* the centre-most first */
        polar_decode_config dc = polar_decode_defaults();
        polar_dets d;
        cr_assert_eq(polar_decode(&dc, &g, S, S, C, scores, rays, &d, err, sizeof err), 0, "%s", err);
        for (int k = 0; k < d.n; k++) {
            polar_det_mask(&d, k, mask, S, S);
            cr_assert_eq(mask_ap_add_det(ev, img, d.det[k].class_id, d.det[k].score, mask, S, S,
                                         err, sizeof err), 0, "%s", err);
        }
        polar_dets_free(&d);
        synth_scene_free(&sc);
    }
    mask_ap_result r;
    cr_assert_eq(mask_ap_summarize(ev, &r, err, sizeof err), 0, "%s", err);
    mask_ap_free(ev);
    free(cls), free(rays), free(ctr), free(scores), free(mask);
    *ap = r.ap;
    return r.ap50;
}

Test(polarmask, targets_decode_back_to_the_ground_truth)
{
    static const int ranges[2][4] = {{8, 16, 32, 64}, {16, 32, 64, 128}};
    for (int i = 0; i < 2; i++) {
        double ap, ap50 = perfect_ap50(ranges[i], &ap);
        fprintf(stderr, "perfect prediction from targets, ranges %d..%d: AP50 %.3f AP %.3f\n",
                ranges[i][0], ranges[i][3], ap50, ap);
        cr_expect_gt(ap50, 0.9, "ranges %d..: AP50 %g", ranges[i][0], ap50);
        cr_expect_gt(ap, 0.6, "ranges %d..: AP %g", ranges[i][0], ap);
    }
}

static void write_config(const char *name, const char *extra)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "run: {dir: runs}\n"
            "model: {type: polarmask, backbone: resnet18, channels: 32, gn_groups: 8,\n"
            "        head_convs: 1, size_ranges: [16, 32, 64, 128]}\n"
            "data: {train: s.h5, val: s.h5, workers: 1}\n"
            "train: {max_steps: 2, batch_size: 4, log_every: 1, threads: 2}\n"
            "optim: {type: adamw, lr: 0.001}\n%s",
            extra);
    fclose(f);
}

Test(polarmask, three_variants_train_evaluate_and_export)
{
    cr_assert_eq(tst_pictor(g_dir, "data synth shapes --n 8 --size 64 --out s.h5"), 0, "%s",
                 tst_text(g_dir, "out.txt"));
    write_config("pm.yaml", "");
    static const struct {
        const char *set, *name;
        int fine, contour;
    } v[3] = {
        {"--set model.refine=off --set model.contour_head=off", "base", 0, 0},
        {"--set model.contour_head=off", "refine", 1, 0},
        {"", "full", 1, 1},
    };
    char cmd[512], rel[256];
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "train pm.yaml --set run.name=%s %s", v[i].name, v[i].set);
        cr_assert_eq(tst_pictor(g_dir, "%s", cmd), 0, "%s: %s", v[i].name,
                     tst_text(g_dir, "out.txt"));
        snprintf(rel, sizeof rel, "runs/%s/metrics.jsonl", v[i].name);
        const char *m = tst_text(g_dir, rel);
        cr_expect(strstr(m, "\"loss/cls\":") && strstr(m, "\"loss/cnt\":") &&
                  strstr(m, "\"loss/coarse\":"), "%s", m);
        cr_expect_eq(strstr(m, "\"loss/fine\":") != NULL, v[i].fine, "%s: %s", v[i].name, m);
        cr_expect_eq(strstr(m, "\"loss/contour\":") != NULL, v[i].contour, "%s: %s", v[i].name, m);
        cr_expect(strstr(m, "\"mask_ap\":") && strstr(m, "\"mask_ap50\":") &&
                  strstr(m, "\"mask_ap_l\":"), "%s", m);
    }
    /* the export has no contour head; pictor eval prints the AP JSON line and the results file */
    cr_assert_eq(tst_pictor(g_dir, "export runs/full --format safetensors --out full.safetensors"),
                 0, "%s", tst_text(g_dir, "out.txt"));
    char p[4300];
    snprintf(p, sizeof p, "%s/full.safetensors", g_dir);
    pt_dict *w = pt_safetensors_load(p);
    cr_assert_not_null(w, "%s", pt_error());
    int contour = 0;
    for (int i = 0; i < pt_dict_size(w); i++)
        contour += strncmp(pt_dict_name(w, i), "contour_head.", 13) == 0;
    cr_expect_eq(contour, 0);
    cr_expect_not_null(pt_dict_get(w, "refine.offsets.weight"));
    pt_dict_free(w);
    cr_assert_eq(tst_pictor(g_dir, "eval pm.yaml --set run.name=full --weights full.safetensors"),
                 0, "%s", tst_text(g_dir, "out.txt"));
    const char *out = tst_text(g_dir, "out.txt");
    const char *brace = strrchr(out, '{');
    cJSON *j = brace ? cJSON_Parse(brace) : NULL;
    cr_assert_not_null(j, "no JSON line in: %s", out);
    cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(j, "mask_ap")), "%s", out);
    cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(j, "mask_ap75")), "%s", out);
    cJSON_Delete(j);
    j = cJSON_Parse(tst_text(g_dir, "runs/full/predictions.json"));
    cr_expect(cJSON_IsArray(j), "predictions.json is not a JSON array");
    cJSON_Delete(j);
    /* an evaluation that cannot write its report fails cleanly (eval_end's status): exit 1 */
    snprintf(p, sizeof p, "%s/runs/blocked", g_dir);
    cr_assert_eq(mkdir(p, 0777), 0);
    snprintf(p, sizeof p, "%s/runs/blocked/predictions.json", g_dir);
    cr_assert_eq(mkdir(p, 0777), 0);
    cr_expect_eq(
        tst_pictor(g_dir, "eval pm.yaml --set run.name=blocked --weights full.safetensors"), 1,
        "%s", tst_text(g_dir, "out.txt"));
    cr_expect(strstr(tst_text(g_dir, "out.txt"), "predictions.json") != NULL, "%s",
              tst_text(g_dir, "out.txt"));
    cr_expect(strstr(tst_text(g_dir, "out.txt"), "\"mask_ap\"") == NULL, "no metrics line: %s",
              tst_text(g_dir, "out.txt"));
    /* model.pretrained: a torchvision-style resnet18 file (the run's backbone.body.* without the
     * prefix) loads into a frozen backbone, which comes out of training unchanged */
    pt_dict *body = pt_dict_new();
    snprintf(p, sizeof p, "%s/full.safetensors", g_dir);
    w = pt_safetensors_load(p);
    cr_assert_not_null(w, "%s", pt_error());
    for (int i = 0; i < pt_dict_size(w); i++)
        if (!strncmp(pt_dict_name(w, i), "backbone.body.", 14))
            cr_assert_eq(pt_dict_put(body, pt_dict_name(w, i) + 14,
                                     pt_alias(pt_dict_tensor(w, i))), PT_OK, "%s", pt_error());
    snprintf(p, sizeof p, "%s/r18.safetensors", g_dir);
    cr_assert_eq(pt_safetensors_save(body, p), PT_OK, "%s", pt_error());
    cr_assert_eq(
        tst_pictor(g_dir, "train pm.yaml --set run.name=pre --set model.pretrained=r18.safetensors "
                          "--set model.frozen_stages=4 --set model.norm_eval=true"),
        0, "%s", tst_text(g_dir, "out.txt"));
    snprintf(p, sizeof p, "%s/runs/pre/weights.safetensors", g_dir);
    pt_dict *after = pt_safetensors_load(p);
    cr_assert_not_null(after, "%s", pt_error());
    const char *probe[] = {"conv1.weight", "layer3.0.conv1.weight", "layer4.1.bn2.running_var"};
    for (int i = 0; i < 3; i++) {
        char full[128];
        snprintf(full, sizeof full, "backbone.body.%s", probe[i]);
        cr_expect_eq(tst_max_abs_diff(pt_dict_get(body, probe[i]), pt_dict_get(after, full)), 0.0,
                     "%s changed", full);
    }
    pt_dict_free(after);
    pt_dict_free(body);
    pt_dict_free(w);
    cr_expect_eq(tst_pictor(g_dir, "train pm.yaml --set model.backbone=resnet34 "
                                   "--set model.pretrained=r18.safetensors"),
                 1);
    cr_expect(strstr(tst_text(g_dir, "out.txt"), "model.pretrained") != NULL, "%s",
              tst_text(g_dir, "out.txt"));
    /* resnet34 has three blocks in layer1, the resnet18 file two: the missing names are listed */
    cr_expect(strstr(tst_text(g_dir, "out.txt"), "missing key(s) (layer1.2.conv1.weight, ") != NULL,
              "%s", tst_text(g_dir, "out.txt"));

    /* bad options are named */
    cr_expect_eq(tst_pictor(g_dir, "train pm.yaml --set model.size_ranges=[16,8,64,128]"), 1);
    cr_expect(strstr(tst_text(g_dir, "out.txt"), "size_ranges") != NULL, "%s",
              tst_text(g_dir, "out.txt"));
    cr_expect_eq(tst_pictor(g_dir, "train pm.yaml --set model.gn_groups=5"), 1);
    cr_expect(strstr(tst_text(g_dir, "out.txt"), "GroupNorm") != NULL, "%s",
              tst_text(g_dir, "out.txt"));
}

/* Image + mask folders (real COCO photos, one object each, class from the file name) train as one
 * instance per image; a data set with neither instances nor masks is refused by name. */
Test(polarmask, mask_folders_and_datasets_without_objects)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "data import-masks '%s' --images img --masks gt --class-from-prefix "
             "--limit 12 --out m.h5", tst_src("../shared/data/coco_mval"));
    cr_assert_eq(tst_pictor(g_dir, "%s", cmd), 0, "%s", tst_text(g_dir, "out.txt"));
    write_config("pm.yaml", "");
    cr_assert_eq(tst_pictor(g_dir, "train pm.yaml --set data.train=m.h5 --set data.val=m.h5 "
                                   "--set data.image_size=96 --set run.name=masks"),
                 0, "%s", tst_text(g_dir, "out.txt"));
    const char *m = tst_text(g_dir, "runs/masks/metrics.jsonl");
    cr_expect(strstr(m, "\"mask_ap\":") != NULL, "%s", m);
    /* every image gave its object as positives: the coarse-ray loss is a real number > 0 */
    const char *c = strstr(m, "\"loss/coarse\":");
    cr_assert_not_null(c, "%s", m);
    cr_expect_gt(atof(c + strlen("\"loss/coarse\":")), 0.0, "%s", m);
    cr_assert_eq(tst_pictor(g_dir, "data import-idx --split test --limit 8 --out c.h5"), 0, "%s",
                 tst_text(g_dir, "out.txt"));
    cr_expect_eq(
        tst_pictor(g_dir, "train pm.yaml --set data.train=c.h5 --set data.val= --set run.name=c"),
        1);
    cr_expect(strstr(tst_text(g_dir, "out.txt"), "'c.h5' has neither instances nor masks") != NULL,
              "%s", tst_text(g_dir, "out.txt"));
}

/* Four scenes learned for a few hundred steps: the model must find their objects again. */
Test(polarmask, learns_a_small_scene_set)
{
#ifdef PICTOR_SANITIZED
    cr_skip_test("sanitizer build: 150 training steps take over ten minutes; the plain build "
                 "runs this test (the other polarmask tests run here)");
#endif
    cr_assert_eq(tst_pictor(g_dir, "data synth shapes --n 4 --size 64 --seed 3 --out s.h5"), 0,
                 "%s", tst_text(g_dir, "out.txt"));
    write_config("fit.yaml", "sched: {type: constant}\n");
    cr_assert_eq(
        tst_pictor(g_dir,
                   "train fit.yaml --set run.name=fit --set train.max_steps=150 "
                   "--set train.log_every=50 --set train.eval_every=150 --set optim.lr=0.002"),
        0, "%s", tst_text(g_dir, "out.txt"));
    const char *m = tst_text(g_dir, "runs/fit/metrics.jsonl");
    const char *ev = strstr(m, "\"kind\":\"eval\"");
    cr_assert_not_null(ev, "%s", m);
    const char *ap = strstr(ev, "\"mask_ap50\":");
    cr_assert_not_null(ap, "%s", ev);
    double ap50 = atof(ap + strlen("\"mask_ap50\":"));
    cr_expect_gt(ap50, 0.5, "mask AP50 after fitting 4 scenes: %g\n%s", ap50, m);
}

/* Pixel (x, y) of a cairo image surface as r, g, b. */
static void pixel_rgb(cairo_surface_t *sf, int x, int y, int rgb[3])
{
    const unsigned char *data = cairo_image_surface_get_data(sf);
    uint32_t v = *(const uint32_t *)(const void *)(data + (size_t)y *
                                                    (size_t)cairo_image_surface_get_stride(sf) +
                                                    4 * (size_t)x);
    rgb[0] = (int)(v >> 16 & 255), rgb[1] = (int)(v >> 8 & 255), rgb[2] = (int)(v & 255);
}

/* polar_draw on a hand-made case, then `pictor predict` end to end. The drawing: a 32 x 32 grey
 * image (value 40) scaled by 8 to 256 x 256, one ground-truth square [8, 16)^2, one detection of
 * class 1 (orange) with 4 rays of 4 px from (24, 24): the diamond |x - 24| + |y - 24| < 4. */
Test(polarmask, predict_draws_contours)
{
    cr_expect_eq(polar_draw_scale(32, 32, 0), 8);
    cr_expect_eq(polar_draw_scale(64, 48, 256), 4);
    cr_expect_eq(polar_draw_scale(300, 200, 256), 1);
    cr_expect_eq(polar_draw_scale(0, 10, 256), 0);
    sample s;
    sample_init(&s);
    s.h = s.w = 32, s.c = 1;
    s.image = malloc(32 * 32);
    memset(s.image, 40, 32 * 32);
    s.n_instances = 1;
    s.instances = calloc(1, sizeof *s.instances);
    s.instances[0].mask = calloc(32 * 32, 1);
    for (int y = 8; y < 16; y++)
        memset(s.instances[0].mask + y * 32 + 8, 1, 8);
    float xy[8] = {24, 28, 28, 24, 24, 20, 20, 24}; /* rays down, right, up, left */
    polar_det det = {.class_id = 1, .score = 0.9f, .x = 24, .y = 24, .box = {20, 20, 28, 28},
                     .xy = xy};
    polar_dets d = {.n = 1, .num_rays = 4, .det = &det};
    const char *const names[] = {"circle", "square"};
    polar_draw_options opt = {0, names, 2};
    char png[4300], err[512];
    snprintf(png, sizeof png, "%s/one.png", g_dir);
    cr_assert_eq(polar_draw_png(png, &s, &d, &opt, err, sizeof err), 0, "%s", err);
    cairo_surface_t *sf = cairo_image_surface_create_from_png(png);
    cr_assert_eq(cairo_surface_status(sf), CAIRO_STATUS_SUCCESS);
    cr_expect_eq(cairo_image_surface_get_width(sf), 256);
    cr_expect_eq(cairo_image_surface_get_height(sf), 256);
    int px[3];
    pixel_rgb(sf, 16, 240, px); /* far from everything: the image */
    cr_expect(px[0] == 40 && px[1] == 40 && px[2] == 40, "%d %d %d", px[0], px[1], px[2]);
    pixel_rgb(sf, 96, 96, px); /* inside the ground-truth square: the image */
    cr_expect(px[0] == 40 && px[1] == 40 && px[2] == 40, "%d %d %d", px[0], px[1], px[2]);
    pixel_rgb(sf, 64, 100, px); /* on its left edge (x = 8 px): grey, lighter than the image */
    cr_expect(px[0] > 90 && abs(px[0] - px[1]) <= 2 && abs(px[1] - px[2]) <= 2, "%d %d %d",
              px[0], px[1], px[2]);
    pixel_rgb(sf, 192, 192, px); /* the ray origin: the class colour (orange) */
    cr_expect(px[0] > 200 && px[1] > 90 && px[1] < 170 && px[2] < 60, "%d %d %d", px[0], px[1],
              px[2]);
    pixel_rgb(sf, 204, 204, px); /* inside the diamond, off the rays: a light orange fill */
    cr_expect(px[0] > 60 && px[0] > px[1] && px[1] > px[2], "%d %d %d", px[0], px[1], px[2]);
    pixel_rgb(sf, 232, 232, px); /* outside it */
    cr_expect(px[0] == 40 && px[1] == 40 && px[2] == 40, "%d %d %d", px[0], px[1], px[2]);
    cairo_surface_destroy(sf);
    /* bad input and unwritable paths are refused with a message */
    d.num_rays = 2;
    cr_expect_eq(polar_draw_png(png, &s, &d, &opt, err, sizeof err), -1);
    cr_expect(strstr(err, "rays") != NULL, "%s", err);
    d.num_rays = 4;
    snprintf(png, sizeof png, "%s/no/such/dir.png", g_dir);
    cr_expect_eq(polar_draw_png(png, &s, &d, &opt, err, sizeof err), -1);
    cr_expect(strstr(err, "no/such/dir.png") != NULL, "%s", err);
    sample_free(&s);

    /* pictor predict: 3 pictures of the 64 px images at 256 px, and their results file */
    cr_assert_eq(tst_pictor(g_dir, "data synth shapes --n 8 --size 64 --out s.h5"), 0, "%s",
                 tst_text(g_dir, "out.txt"));
    write_config("pm.yaml", "");
    cr_assert_eq(tst_pictor(g_dir, "train pm.yaml --set run.name=p --set model.contour_head=off"),
                 0, "%s", tst_text(g_dir, "out.txt"));
    cr_assert_eq(tst_pictor(g_dir, "predict pm.yaml --set model.contour_head=off --weights "
                                   "runs/p/weights.safetensors --out pred --n 3"),
                 0, "%s", tst_text(g_dir, "out.txt"));
    for (int i = 0; i < 4; i++) {
        snprintf(png, sizeof png, "%s/pred/%d.png", g_dir, i);
        sf = cairo_image_surface_create_from_png(png);
        if (i == 3) { /* --n 3: images 0, 1, 2 only */
            cr_expect_neq(cairo_surface_status(sf), CAIRO_STATUS_SUCCESS, "%s exists", png);
        } else {
            cr_expect_eq(cairo_surface_status(sf), CAIRO_STATUS_SUCCESS, "%s", png);
            cr_expect_eq(cairo_image_surface_get_width(sf), 256, "%s", png);
            cr_expect_eq(cairo_image_surface_get_height(sf), 256, "%s", png);
        }
        cairo_surface_destroy(sf);
    }
    cJSON *j = cJSON_Parse(tst_text(g_dir, "pred/predictions.json"));
    cr_assert(cJSON_IsArray(j), "predictions.json: %s", tst_text(g_dir, "pred/predictions.json"));
    const cJSON *e;
    cJSON_ArrayForEach(e, j) {
        double id = cJSON_GetNumberValue(cJSON_GetObjectItem(e, "image_id"));
        cr_expect(id == 0 || id == 1 || id == 2, "image_id %g", id);
        cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(e, "score")));
    }
    cJSON_Delete(j);
    /* user errors: exit 1 and a message naming the file, the option or the model type */
    cr_expect_eq(tst_pictor(g_dir, "predict pm.yaml --weights nowhere.safetensors --out pred2"), 1);
    cr_expect(strstr(tst_text(g_dir, "out.txt"), "nowhere.safetensors") != NULL, "%s",
              tst_text(g_dir, "out.txt"));
    cr_expect_eq(
        tst_pictor(g_dir, "predict pm.yaml --weights runs/p/weights.safetensors --out pred2 --n 0"),
        1);
    cr_expect(strstr(tst_text(g_dir, "out.txt"), "--n") != NULL, "%s", tst_text(g_dir, "out.txt"));
    char md[4300];
    snprintf(md, sizeof md, "%s/md.yaml", g_dir);
    FILE *f = fopen(md, "w");
    cr_assert_not_null(f);
    fprintf(f, "model: {type: multidomain}\ndata: {train: s.h5}\n");
    fclose(f);
    cr_expect_eq(
        tst_pictor(g_dir, "predict md.yaml --weights runs/p/weights.safetensors --out pred2"), 1);
    cr_expect(strstr(tst_text(g_dir, "out.txt"), "model.type multidomain has no predict") != NULL,
              "%s", tst_text(g_dir, "out.txt"));
    snprintf(png, sizeof png, "%s/pred2", g_dir);
    cr_expect(access(png, F_OK) != 0, "pred2 was created by a failed predict");
}
