/*
 * test_multidomain.c - the `multidomain` driver end to end through `pictor` on a small
 * fmnist-domains set: both tasks train; evaluation reports per-domain accuracy (or IoU), the
 * type-head accuracy and the feature-distance ratio; the held-out domain is reported; the
 * exported weights leave the image-type head out and load into torchvision's mobilenet_v3_small
 * with strict=True, giving pictor's logits. (The update rule itself is tested in
 * test_losses.c.)
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/collate.h"
#include "helpers.h"
#include "models/backbones/mobilenetv3.h"
#include "store/store.h"

static char *g_dir;

/* Rebuild the exported model in C (strict load: the export holds exactly torchvision's names),
 * compute eval-mode logits of 12 dataset images, and let torchvision do the same. */
static void check_export_in_torchvision(const char *weights)
{
    nn_store *s = nn_store_new(0);
    mbv3 m;
    mbv3_config c = mbv3_defaults(MBV3_SMALL);
    c.width_mult = 0.5;
    c.num_classes = 10;
    cr_assert_eq(mbv3_init(&m, s, NULL, c), PT_OK, "%s", pt_error());
    pt_dict *w = pt_safetensors_load(weights);
    cr_assert_not_null(w, "%s", pt_error());
    cr_assert_eq(nn_store_load_state_dict(s, w, 1), PT_OK, "%s", pt_error());
    char path[4300], err[512];
    snprintf(path, sizeof path, "%s/d.h5", g_dir);
    store_reader *r = store_open(path, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    sample items[12];
    for (int i = 0; i < 12; i++) {
        sample_init(&items[i]);
        cr_assert_eq(store_read(r, i * 5, STORE_IMAGE, &items[i], err, sizeof err), 0, "%s", err);
    }
    collate_config cc = {0};
    cc.norm = NORM_UNIT;
    collated_batch b;
    cr_assert_eq(collate_samples(&cc, items, 12, &b, err, sizeof err), 0, "%s", err);
    nn_store_set_training(s, 0);
    pt_no_grad_begin();
    pt_tensor *logits = mbv3_logits(&m, b.images);
    pt_no_grad_end();
    cr_assert_not_null(logits, "%s", pt_error());
    pt_dict *io = pt_dict_new();
    pt_dict_put(io, "x", pt_alias(b.images));
    pt_dict_put(io, "logits", logits);
    snprintf(path, sizeof path, "%s/io.safetensors", g_dir);
    cr_assert_eq(pt_safetensors_save(io, path), PT_OK, "%s", pt_error());
    char args[9000];
    snprintf(args, sizeof args, "'%s' '%s' 0.5", weights, path);
    cr_expect_eq(tst_python("check_multidomain_export.py", args), 0);
    pt_dict_free(io);
    collated_batch_free(&b);
    for (int i = 0; i < 12; i++)
        sample_free(&items[i]);
    store_close(r);
    pt_dict_free(w);
    mbv3_free(&m);
    nn_store_free(s);
}

static void setup(void)
{
    tst_setup();
    g_dir = tst_tmpdir();
    cr_assert_eq(
        tst_pictor(g_dir, "data synth fmnist-domains --split test --n 24 --size 32 --out d.h5"), 0,
        "%s", tst_text(g_dir, "out.txt"));
    char path[4300];
    snprintf(path, sizeof path, "%s/md.yaml", g_dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "run: {dir: runs, name: md}\n"
               "model: {type: multidomain, width_mult: 0.5, type_head_width: 16}\n"
               "adversarial: {mode: loss_difference, lambda: 0.5, schedule: dann}\n"
               "data: {train: d.h5, val: d.h5, sampler: balanced, workers: 1}\n"
               "train: {max_steps: 4, batch_size: 12, log_every: 1, threads: 1}\n"
               "optim: {lr: 0.01}\n");
    fclose(f);
}

static void teardown(void) { tst_rmtree(g_dir); }

TestSuite(multidomain, .init = setup, .fini = teardown, .timeout = 300);

Test(multidomain, classify_trains_evaluates_and_exports_without_type_head)
{
    cr_assert_eq(tst_pictor(g_dir, "train md.yaml --set data.holdout_domain=hand_drawn"), 0, "%s",
                 tst_text(g_dir, "out.txt"));
    const char *m = tst_text(g_dir, "runs/md/metrics.jsonl");
    const char *keys[] = {"\"loss/cls\":", "\"loss/type\":", "\"accuracy/photo\":",
                          "\"accuracy/hand_drawn\":", "\"accuracy/cartoon\":", "\"heldout_accuracy\":",
                          "\"type_accuracy\":", "\"feature_distance_ratio\":"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_expect(strstr(m, keys[i]) != NULL, "%s missing in %s", keys[i], m);
    char p[4300];
    snprintf(p, sizeof p, "%s/runs/md/weights.safetensors", g_dir);
    pt_dict *w = pt_safetensors_load(p);
    cr_assert_not_null(w, "%s", pt_error());
    int type_entries = 0;
    for (int i = 0; i < pt_dict_size(w); i++)
        type_entries += strncmp(pt_dict_name(w, i), "type_head.", 10) == 0;
    cr_expect_eq(type_entries, 0);
    cr_expect_not_null(pt_dict_get(w, "classifier.3.weight"));
    cr_expect_not_null(pt_dict_get(w, "features.0.0.weight"));
    cr_expect_str_eq(pt_dict_meta(w, "model_type"), "multidomain");
    pt_dict_free(w);
    /* the export loads into torchvision's mobilenet_v3_small and gives pictor's logits */
    snprintf(p, sizeof p, "%s/runs/md/weights.safetensors", g_dir);
    check_export_in_torchvision(p);

    snprintf(p, sizeof p, "%s/runs/md/plots/confusion.png", g_dir);
    FILE *f = fopen(p, "rb");
    cr_expect_not_null(f, "no confusion matrix");
    if (f)
        fclose(f);
}

Test(multidomain, saliency_task_and_baseline_mode)
{
    cr_assert_eq(
        tst_pictor(g_dir, "train md.yaml --set model.task=saliency --set adversarial.mode=none"), 0,
        "%s", tst_text(g_dir, "out.txt"));
    const char *m = tst_text(g_dir, "runs/md/metrics.jsonl");
    cr_expect(strstr(m, "\"loss/sal_bce\":") && strstr(m, "\"loss/sal_iou\":") &&
              strstr(m, "\"iou/hand_drawn\":") && strstr(m, "\"mae\":"), "%s", m);
    cr_expect_eq(tst_pictor(g_dir, "train md.yaml --set adversarial.mode=maybe"), 1);
    cr_expect(strstr(tst_text(g_dir, "out.txt"), "adversarial.mode") != NULL, "%s",
              tst_text(g_dir, "out.txt"));
    /* a held-out domain that the data set does not have: named, with the ones it has */
    cr_expect_eq(tst_pictor(g_dir, "train md.yaml --set data.holdout_domain=sketch"), 1);
    cr_expect(strstr(tst_text(g_dir, "out.txt"), "data.holdout_domain: 'sketch' is not a domain") &&
                  strstr(tst_text(g_dir, "out.txt"), "hand_drawn (1)"),
              "%s", tst_text(g_dir, "out.txt"));
    cr_expect_eq(tst_pictor(g_dir, "train md.yaml --set data.holdout_domain=7"), 1);
}

/* The mean of "key":<number> over the last n metrics lines that hold it (training lines). */
static double last_mean(const char *metrics, const char *key, int n)
{
    double v[256];
    int k = 0;
    for (const char *q = strstr(metrics, key); q && k < 256; q = strstr(q + 1, key))
        v[k++] = atof(q + strlen(key));
    double sum = 0;
    int used = 0;
    for (int i = k - 1; i >= 0 && used < n; i--, used++)
        sum += v[i];
    return used ? sum / used : -1;
}

/* Evaluating on the very images the model trained on (no augmentation) must give what training
 * gave: the eval-mode cross entropy close to the training loss/cls of the last steps (training's
 * has dropout on top, so eval may be lower), and most images right. With torchvision's BatchNorm
 * momentum 0.01 (the old default) the running statistics after 60 steps are still 55% the
 * initial mean 0 / variance 1: eval loss 2.3+ and one class for every image. */
Test(multidomain, eval_on_training_images_matches_training)
{
    cr_assert_eq(tst_pictor(g_dir,
                            "train md.yaml --set adversarial.mode=none --set train.max_steps=60 "
                            "--set train.eval_every=60 --set run.name=fit --set optim.lr=0.003"),
                 0, "%s", tst_text(g_dir, "out.txt"));
    const char *m = tst_text(g_dir, "runs/fit/metrics.jsonl");
    double train_ce = last_mean(m, "\"loss/cls\":", 10);
    const char *ev = strstr(m, "\"kind\":\"eval\"");
    cr_assert_not_null(ev, "no evaluation in %s", m);
    const char *el = strstr(ev, "\"loss\":"), *ea = strstr(ev, "\"accuracy\":");
    cr_assert(el && ea, "eval line without loss or accuracy: %s", ev);
    double eval_ce = atof(el + 7), acc = atof(ea + 11);
    cr_expect(train_ce > 0 && train_ce < 1.5, "training did not fit: loss/cls %g", train_ce);
    cr_expect(eval_ce < train_ce + 0.25, "eval loss on the training images %g, training %g",
              eval_ce, train_ce);
    cr_expect(acc > 0.5, "eval accuracy on the training images %g (training loss %g)", acc,
              train_ce);
}
