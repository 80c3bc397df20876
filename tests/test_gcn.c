/* test_gcn.c - the gcn model (seed 003): weak vertex labels (claim 2, by vertices and by area,
 * bad inputs), the superpixel graph (both axes, weights, normalised adjacency), the segment mean
 * and its gradient, the stained-tissue generator and area labels, and the `pictor` binary end to
 * end: a tiny training from area ratios that beats the chance baseline, the trainer not reading
 * masks in weak mode, and the bad inputs of issue 11. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/image.h"
#include "curate/area_labels.h"
#include "helpers.h"
#include "models/gcn/gcn_graph.h"
#include "models/gcn/gcn_weak.h"
#include "store/store.h"
#include "synth/synth_tissue.h"

Test(gcn, weak_labels_by_vertices_and_area)
{
    /* 10 vertices ranked by score 9, 8, ... 0 (vertex v has score v) */
    float score[10];
    int64_t area[10];
    for (int v = 0; v < 10; v++)
        score[v] = (float)v, area[v] = v < 5 ? 1 : 10; /* the top five are big */
    int8_t lab[10];
    int nf, nb;
    char err[256];
    /* r 0.4, e 0.1: N1 = floor(10 * 0.3) = 3 foreground, N2 = floor(10 * 0.5) = 5 background */
    cr_assert_eq(gcn_weak_labels(score, NULL, 10, 0.4, 0.1, GCN_RATIO_BY_VERTICES, lab, &nf, &nb,
                                 err, sizeof err), 0);
    cr_assert_eq(nf, 3);
    cr_assert_eq(nb, 5);
    const int8_t want[10] = {0, 0, 0, 0, 0, -1, -1, 1, 1, 1};
    cr_assert_arr_eq(lab, want, sizeof want);
    /* by area, A = 55: foreground while area <= 0.3 * 55 = 16.5: vertex 9 (10 px) only;
     * background from the bottom while <= 0.5 * 55 = 27.5: vertices 0..4 (5 px), then 5 (10),
     * 6 (10): 25 px; 7 would reach 35 */
    cr_assert_eq(gcn_weak_labels(score, area, 10, 0.4, 0.1, GCN_RATIO_BY_AREA, lab, &nf, &nb, err,
                                 sizeof err), 0);
    const int8_t want_a[10] = {0, 0, 0, 0, 0, 0, 0, -1, -1, 1};
    cr_assert_arr_eq(lab, want_a, sizeof want_a);
    cr_assert_eq(nf, 1);
    cr_assert_eq(nb, 7);
    /* e > r: no foreground, background still labelled */
    cr_assert_eq(gcn_weak_labels(score, NULL, 10, 0.05, 0.1, GCN_RATIO_BY_VERTICES, lab, &nf, &nb,
                                 err, sizeof err), 0);
    cr_assert_eq(nf, 0);
    cr_assert_eq(nb, 8);
    /* one vertex: nothing labelled for 0 < r < 1 */
    cr_assert_eq(gcn_weak_labels(score, NULL, 1, 0.5, 0, GCN_RATIO_BY_VERTICES, lab, &nf, &nb,
                                 err, sizeof err), 0);
    cr_assert_eq(nf + nb, 0);
    /* bad labels */
    cr_assert_eq(gcn_weak_labels(score, NULL, 10, 1.2, 0, GCN_RATIO_BY_VERTICES, lab, NULL, NULL,
                                 err, sizeof err), -1);
    cr_assert(strstr(err, "outside [0, 1]"), "%s", err);
    cr_assert_eq(gcn_weak_labels(score, NULL, 10, NAN, 0, GCN_RATIO_BY_VERTICES, lab, NULL, NULL,
                                 err, sizeof err), -1);
    cr_assert(strstr(err, "no area ratio"), "%s", err);
    cr_assert_eq(gcn_weak_check(0.3, -0.1, err, sizeof err), -1);
    cr_assert_eq(gcn_weak_check(0.3, NAN, err, sizeof err), 0);
}

Test(gcn, graph_both_axes_weights_and_adjacency)
{
    tst_setup();
    /* 0 0 1
     * 2 2 1   edges: 0-1 (horizontal), 0-2 (vertical only), 1-2 (horizontal) */
    const int32_t lab[6] = {0, 0, 1, 2, 2, 1};
    const float feat[6] = {0, 0, 3, 1, 1, 3}; /* one channel: means 0, 3, 1 */
    gcn_graph g;
    char err[256];
    cr_assert_eq(gcn_graph_build(lab, 3, 2, 3, feat, 1, 2.0, &g, err, sizeof err), 0, "%s", err);
    cr_assert_eq(g.n_edges, 3);
    cr_assert_eq(g.ei[0], 0); cr_assert_eq(g.ej[0], 1);
    cr_assert_eq(g.ei[1], 0); cr_assert_eq(g.ej[1], 2);
    cr_assert_eq(g.ei[2], 1); cr_assert_eq(g.ej[2], 2);
    const double w01 = exp(-9 / 4.0), w02 = exp(-1 / 4.0), w12 = exp(-4 / 4.0);
    cr_assert_float_eq(g.weight[0], w01, 1e-6);
    cr_assert_float_eq(g.weight[1], w02, 1e-6);
    cr_assert_float_eq(g.weight[2], w12, 1e-6);
    cr_assert_eq(g.area[0], 2); cr_assert_eq(g.area[1], 2); cr_assert_eq(g.area[2], 2);
    /* A_hat = D^-1/2 (A + I) D^-1/2 */
    pt_tensor *sa = gcn_graph_adjacency(&g), *a = pt_to_dense(sa);
    const double d[3] = {1 + w01 + w02, 1 + w01 + w12, 1 + w02 + w12};
    const double w[3][3] = {{1, w01, w02}, {w01, 1, w12}, {w02, w12, 1}};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            cr_assert_float_eq(tst_at(a, i * 3 + j), w[i][j] / sqrt(d[i] * d[j]), 1e-6,
                               "A_hat[%d][%d]", i, j);
    pt_free(a), pt_free(sa);
    gcn_graph_free(&g);
    /* median sigma: distances 3, 1, 2 -> 2 */
    cr_assert_eq(gcn_graph_build(lab, 3, 2, 3, feat, 1, 0, &g, err, sizeof err), 0);
    cr_assert_float_eq(g.sigma, 2.0, 1e-12);
    gcn_graph_free(&g);
    /* a label that has no pixel */
    cr_assert_eq(gcn_graph_build(lab, 4, 2, 3, feat, 1, 0, &g, err, sizeof err), -1);
    cr_assert(strstr(err, "no pixel"), "%s", err);
}

Test(gcn, segment_mean_and_its_gradient)
{
    tst_setup();
    const int32_t lab[6] = {0, 0, 1, 2, 2, 1};
    const float fv[12] = {1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60}; /* [2, 2, 3] */
    pt_tensor *feat = tst_f32(fv, PT_SHAPE(2, 2, 3));
    pt_set_requires_grad(feat, 1);
    gcn_graph g;
    char err[256];
    cr_assert_eq(gcn_graph_build(lab, 3, 2, 3, fv, 2, 1.0, &g, err, sizeof err), 0);
    const int64_t l64[6] = {0, 0, 1, 2, 2, 1};
    pt_tensor *lt = tst_i64(l64, PT_SHAPE(6));
    pt_tensor *m = gcn_segment_mean(feat, lt, &g); /* [3, 2] */
    cr_assert_float_eq(tst_at(m, 0), 1.5, 1e-6);   /* vertex 0, channel 0: (1 + 2) / 2 */
    cr_assert_float_eq(tst_at(m, 3), 45, 1e-6);    /* vertex 1, channel 1: (30 + 60) / 2 */
    cr_assert_float_eq(tst_at(m, 4), 4.5, 1e-6);   /* vertex 2, channel 0: (4 + 5) / 2 */
    /* d(sum_v c_v * m[v, 0]) / d feat[0, p] = c_label(p) / area */
    const float cv[6] = {1, 0, 2, 0, 3, 0};
    pt_tensor *c = tst_f32(cv, PT_SHAPE(3, 2));
    size_t mark = pt_scope_begin();
    cr_assert_eq(pt_backward(pt_sum(pt_mul(m, c)), NULL, 0), PT_OK, "%s", pt_error());
    pt_scope_end(mark);
    pt_tensor *gr = pt_grad(feat);
    const double want[12] = {0.5, 0.5, 1, 1.5, 1.5, 1, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 12; i++)
        cr_assert_float_eq(tst_at(gr, i), want[i], 1e-6, "grad %d", i);
    pt_free(gr), pt_free(c), pt_free(m), pt_free(lt), pt_free(feat);
    gcn_graph_free(&g);
}

Test(gcn, tissue_coverage_and_exact_ratio)
{
    double lo = 1, hi = 0;
    for (int i = 0; i < 40; i++) {
        sample s;
        sample_init(&s);
        char err[256];
        cr_assert_eq(synth_tissue_sample(7, i, 64, &s, err, sizeof err), 0, "%s", err);
        int64_t fg = 0;
        for (int p = 0; p < 64 * 64; p++)
            fg += s.mask[p];
        cr_assert_float_eq(s.area_ratio, fg / 4096.0, 1e-6);
        cr_assert(s.area_ratio >= 0.04 && s.area_ratio <= 0.61, "%f", s.area_ratio);
        lo = fmin(lo, s.area_ratio), hi = fmax(hi, s.area_ratio);
        sample again;
        sample_init(&again);
        synth_tissue_sample(7, i, 64, &again, err, sizeof err);
        cr_assert_arr_eq(s.image, again.image, 64 * 64 * 3, "not deterministic");
        sample_free(&s), sample_free(&again);
    }
    cr_assert(lo < 0.2 && hi > 0.4, "coverage %.3f .. %.3f over 40 items", lo, hi);
}

/* ------------------------------------------------------------------ the binary */

/* A training set of n tissue items with ratio/error as given (ratio NAN = "missing";
 * ratio < -1: the exact one) and masks inverted when invert. */
static void write_set(const char *path, int n, double ratio, double error, int invert)
{
    store_options o = {.images = STORE_RAW, .channels = 3, .height = 48, .width = 48,
                       .annotations = STORE_MASK | STORE_AREA, .masks = STORE_RAW};
    char err[512];
    store_writer *w = store_create(path, &o, err, sizeof err);
    cr_assert(w, "%s", err);
    for (int i = 0; i < n; i++) {
        sample s;
        sample_init(&s);
        cr_assert_eq(synth_tissue_sample(3, i, 48, &s, err, sizeof err), 0);
        if (ratio >= -1 || isnan(ratio))
            s.area_ratio = (float)ratio;
        s.area_error = (float)error;
        if (invert)
            for (int p = 0; p < 48 * 48; p++)
                s.mask[p] = !s.mask[p];
        cr_assert_eq(store_append(w, &s, err, sizeof err), 0, "%s", err);
        sample_free(&s);
    }
    cr_assert_eq(store_commit(w, err, sizeof err), 0, "%s", err);
}

static void write_config(const char *dir, const char *train, const char *extra)
{
    tst_write_text(dir, "c.yaml", "model: {type: gcn, features: 8, depth: 3, gcn_widths: [16], superpixels: 30%s}\n"
               "data: {train: %s, val: val.h5}\n"
               "train: {max_steps: 120, batch_size: 8, eval_every: 120, log_every: 10, seed: 0, "
               "threads: 1}\n"
               "optim: {type: adam, lr: 0.005}\n",
            extra, train);
}

static double last_metric(const char *dir, const char *jsonl, const char *key)
{
    char *t = tst_read(dir, jsonl);
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    double v = NAN;
    for (char *s = strstr(t, pat); s; s = strstr(s + 1, pat))
        v = strtod(s + strlen(pat), NULL);
    free(t);
    return v;
}

Test(gcn, trains_from_ratios_beats_chance_and_ignores_masks, .timeout = 240)
{
    tst_setup();
    char *dir = tst_tmpdir();
    char p[4200];
    snprintf(p, sizeof p, "%s/train.h5", dir);
    write_set(p, 48, -2, 0.02, 0);
    snprintf(p, sizeof p, "%s/inv.h5", dir);
    write_set(p, 48, -2, 0.02, 1);
    snprintf(p, sizeof p, "%s/val.h5", dir);
    cr_assert_eq(synth_tissue_write(p, 24, 48, 99, 0, 0, NULL, 0), 0);
    write_config(dir, "train.h5", "");
    cr_assert_eq(tst_pictor(dir, "train c.yaml --set run.dir=a"), 0, "%s", tst_output(dir));
    double dice = last_metric(dir, "a/c/metrics.jsonl", "dice");
    /* chance baselines on the validation set: random pixels at the true coverage r have an
     * expected Dice of r; everything foreground has 2r / (1 + r) (the larger) */
    double base = 0;
    for (int i = 0; i < 24; i++) {
        sample s;
        sample_init(&s);
        cr_assert_eq(synth_tissue_sample(99, i, 48, &s, NULL, 0), 0);
        base += 2 * s.area_ratio / (1 + s.area_ratio) / 24;
        sample_free(&s);
    }
    cr_log_info("gcn e2e: dice %.4f, all-foreground baseline %.4f", dice, base);
    cr_assert(dice > base + 0.1, "dice %.3f after 120 steps from ratios, baseline %.3f (%s)", dice,
              base, tst_output(dir));
    /* the same run on masks inverted: the losses are identical (the trainer never reads them) */
    write_config(dir, "inv.h5", "");
    cr_assert_eq(tst_pictor(dir, "train c.yaml --set run.dir=b --set train.eval_every=0 --set train.max_steps=20 "
                                 "--set data.val="), 0, "%s", tst_output(dir));
    write_config(dir, "train.h5", "");
    cr_assert_eq(tst_pictor(dir, "train c.yaml --set run.dir=c --set train.eval_every=0 --set train.max_steps=20 "
                                 "--set data.val="), 0, "%s", tst_output(dir));
    double lb = last_metric(dir, "b/c/metrics.jsonl", "loss"),
           lc = last_metric(dir, "c/c/metrics.jsonl", "loss");
    cr_assert(isfinite(lb) && lb == lc, "losses %.9g (inverted masks) vs %.9g", lb, lc);
    /* eval and predict */
    cr_assert_eq(tst_pictor(dir, "eval c.yaml --weights a/c/weights.safetensors"), 0, "%s",
                 tst_output(dir));
    cr_assert(tst_says(dir, "\"dice\"", "\"ratio_mae\"", NULL), "%s", tst_output(dir));
    cr_assert_eq(tst_pictor(dir, "predict c.yaml --weights a/c/weights.safetensors --out pred --n 2"),
                 0, "%s", tst_output(dir));
    snprintf(p, sizeof p, "%s/pred/0.png", dir);
    FILE *f = fopen(p, "rb");
    cr_assert(f, "no %s", p);
    fclose(f);
    tst_rmtree(dir);
}

Test(gcn, bad_inputs_are_clear_errors, .timeout = 120)
{
    tst_setup();
    char *dir = tst_tmpdir();
    char p[4200];
    snprintf(p, sizeof p, "%s/val.h5", dir);
    cr_assert_eq(synth_tissue_write(p, 8, 48, 99, 0, 0, NULL, 0), 0);
    snprintf(p, sizeof p, "%s/big.h5", dir);
    write_set(p, 8, 1.5, 0, 0);
    write_config(dir, "big.h5", "");
    cr_assert_eq(tst_pictor(dir, "train c.yaml --set run.dir=r"), 1, "%s", tst_output(dir));
    cr_assert(tst_says(dir, "big.h5", "item 0", "area ratio 1.5 outside [0, 1]", NULL), "%s",
              tst_output(dir));
    snprintf(p, sizeof p, "%s/nan.h5", dir);
    write_set(p, 8, NAN, 0, 0);
    write_config(dir, "nan.h5", "");
    cr_assert_eq(tst_pictor(dir, "train c.yaml --set run.dir=r"), 1, "%s", tst_output(dir));
    cr_assert(tst_says(dir, "nan.h5", "no area ratio", NULL), "%s", tst_output(dir));
    /* e > r: allowed (background only); one superpixel per image: no vertex labelled, the run
     * goes on with a zero loss */
    snprintf(p, sizeof p, "%s/loose.h5", dir);
    write_set(p, 8, 0.05, 0.2, 0);
    write_config(dir, "loose.h5", "");
    cr_assert_eq(tst_pictor(dir, "train c.yaml --set run.dir=l --set train.max_steps=3"), 0,
                 "%s", tst_output(dir));
    snprintf(p, sizeof p, "%s/ok.h5", dir);
    write_set(p, 8, 0.4, 0.0, 0);
    write_config(dir, "ok.h5", "");
    cr_assert_eq(tst_pictor(dir, "train c.yaml --set run.dir=o --set train.max_steps=3 "
                                 "--set model.superpixels=1 --set model.superpixels_jitter=0"),
                 0, "%s", tst_output(dir));
    cr_assert_float_eq(last_metric(dir, "o/c/metrics.jsonl", "loss"), 0.0, 1e-12);
    /* no area annotation at all */
    store_options o = {.images = STORE_RAW, .channels = 3, .height = 48, .width = 48};
    snprintf(p, sizeof p, "%s/none.h5", dir);
    store_writer *w = store_create(p, &o, NULL, 0);
    sample s;
    sample_init(&s);
    synth_tissue_sample(1, 0, 48, &s, NULL, 0);
    free(s.mask), s.mask = NULL, s.area_ratio = NAN, s.area_error = NAN;
    cr_assert_eq(store_append(w, &s, NULL, 0), 0);
    sample_free(&s);
    cr_assert_eq(store_commit(w, NULL, 0), 0);
    write_config(dir, "none.h5", "");
    cr_assert_eq(tst_pictor(dir, "train c.yaml --set run.dir=n"), 1, "%s", tst_output(dir));
    cr_assert(tst_says(dir, "no area ratios", "pictor data ratios", NULL), "%s", tst_output(dir));
    tst_rmtree(dir);
}

Test(gcn, area_labels_from_masks_and_csv)
{
    char *dir = tst_tmpdir();
    char in[4200], out[4200], err[1024];
    snprintf(in, sizeof in, "%s/in.h5", dir);
    snprintf(out, sizeof out, "%s/out.h5", dir);
    cr_assert_eq(synth_tissue_write(in, 6, 32, 5, 0, 0, err, sizeof err), 0, "%s", err);
    int64_t n = 0;
    cr_assert_eq(area_labels_from_masks(in, out, 0, 0.05, 1, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 6);
    store_reader *r = store_open(out, err, sizeof err);
    cr_assert(r, "%s", err);
    for (int64_t i = 0; i < n; i++) {
        sample s;
        sample_init(&s);
        cr_assert_eq(store_read(r, i, STORE_READ_ALL, &s, err, sizeof err), 0, "%s", err);
        int64_t fg = 0;
        for (int p = 0; p < 32 * 32; p++)
            fg += s.mask[p] != 0;
        cr_assert_float_eq(s.area_ratio, fg / 1024.0, 1e-6, "exact ratio kept with noise 0");
        cr_assert_float_eq(s.area_error, 0.05, 1e-6);
        sample_free(&s);
    }
    store_close(r);
    /* CSV: two images, then a bad ratio on line 3 */
    char csv[4200], png[4200];
    snprintf(png, sizeof png, "%s/a.png", dir);
    uint8_t px[8 * 8 * 3] = {0};
    cr_assert_eq(image_write_png(png, px, 8, 8, 3, err, sizeof err), 0, "%s", err);
    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    FILE *f = fopen(csv, "w");
    fprintf(f, "file,ratio,error\na.png,0.25,0.05\na.png,0.5\n");
    fclose(f);
    cr_assert_eq(area_labels_import_csv(csv, dir, out, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 2);
    f = fopen(csv, "a");
    fprintf(f, "a.png,1.7,0\n");
    fclose(f);
    cr_assert_eq(area_labels_import_csv(csv, dir, out, &n, err, sizeof err), -1);
    cr_assert(strstr(err, "r.csv:4") && strstr(err, "ratio '1.7'"), "%s", err);
    /* blank lines count in the line numbers; names leaving the images folder are refused */
    const char *bad[][2] = {{"a.png,0.2\n\n\na.png,x\n", ":4: ratio 'x'"},
                            {"a.png,0.2\n../a.png,0.1\n", ":2: file '../a.png'"},
                            {"\nx/../../a.png,0.1\n", ":2: file 'x/../../a.png'"},
                            {"/etc/passwd,0.1\n", ":1: file '/etc/passwd'"},
                            {",0.1\n", ":1: file ''"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        f = fopen(csv, "w");
        fputs(bad[i][0], f);
        fclose(f);
        cr_expect_eq(area_labels_import_csv(csv, dir, out, &n, err, sizeof err), -1, "%zu", i);
        cr_expect(strstr(err, bad[i][1]) != NULL, "case %zu: %s", i, err);
    }
    tst_rmtree(dir);
}
