/*
 * test_trainer.c - the trainer core end to end through the `pictor` binary, on a small synthetic
 * dataset (8x8 grey images: class 1 is bright in the left half, class 0 in the right half, plus
 * noise): it learns; the run directory is complete; an interrupted-and-resumed run reproduces the
 * uninterrupted run's losses exactly; SIGTERM writes a resumable checkpoint; NaN losses stop or
 * skip by config; bad configs, data, checkpoints and resumes end in exit 1 with a clear message;
 * eval prints a JSON line; export writes safetensors/torch/hdf5 that PyTorch loads.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/checkpoint.h"
#include "helpers.h"

static char *g_dir;

static void make_dataset(const char *name, int n, unsigned seed)
{
    char err[512];
    srand(seed);
    cr_assert_eq(tst_grey8_store(g_dir, name, n, tst_grey8_noisy, err, sizeof err), 0, "%s", err);
}

static void setup(void)
{
    tst_setup();
    g_dir = tst_tmpdir();
    make_dataset("train.h5", 256, 1);
    make_dataset("val.h5", 64, 2);
    tst_write_text(g_dir, "cfg.yaml",
                   "run: {dir: %s/runs, name: t}\n"
                   "model: {type: classifier, width: 4, hidden: 16}\n"
                   "data: {train: %s/train.h5, val: %s/val.h5, workers: 2}\n"
                   "train: {max_steps: 40, batch_size: 16, threads: 1, log_every: 1, "
                   "eval_every: 20,\n"
                   "        checkpoint_every: 10, seed: 3, best_metric: accuracy}\n"
                   "optim: {type: adam, lr: 0.01}\n",
                   g_dir, g_dir, g_dir);
}

static void teardown(void) { tst_rmtree(g_dir); }

TestSuite(trainer, .init = setup, .fini = teardown, .timeout = 300);

/* "loss" of the train line of `step` in metrics.jsonl, as text (exact comparison), or "". */
static void loss_at(const char *metrics, int step, char *out, size_t n)
{
    char key[64];
    snprintf(key, sizeof key, "\"kind\":\"train\",\"step\":%d,", step);
    out[0] = '\0';
    const char *l = strstr(metrics, key);
    const char *p = l ? strstr(l, "\"loss\":") : NULL;
    if (!p)
        return;
    p += 7;
    size_t k = strcspn(p, ",}");
    snprintf(out, n, "%.*s", (int)(k < n ? k : n - 1), p);
}

Test(trainer, learns_and_writes_a_complete_run_directory)
{
    cr_assert_eq(tst_pictor(g_dir, "train cfg.yaml"), 0, "%s", tst_output(g_dir));
    const char *files[] = {"runs/t/config.yaml", "runs/t/metrics.jsonl",
                           "runs/t/checkpoints/last.ckpt", "runs/t/checkpoints/best.ckpt",
                           "runs/t/weights.safetensors", "runs/t/plots"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        cr_expect(tst_exists(g_dir, files[i]), "missing %s", files[i]);
    char *m = tst_read(g_dir, "runs/t/metrics.jsonl");
    cr_expect(strstr(m, "\"kind\":\"train\",\"step\":40,") != NULL);
    const char *ev = strstr(m, "\"kind\":\"eval\",\"step\":40,");
    cr_assert_not_null(ev, "%s", m);
    double acc = atof(strstr(ev, "\"accuracy\":") + 11);
    cr_expect_geq(acc, 0.9, "val accuracy %g", acc);
    free(m);
    char *cfg = tst_read(g_dir, "runs/t/config.yaml");
    cr_expect(strstr(cfg, "width: 4") && strstr(cfg, "lr: 0.01"), "%s", cfg);
    free(cfg);

    /* eval prints one JSON line with the same accuracy as the run's best checkpoint */
    cr_assert_eq(tst_pictor(g_dir, "eval cfg.yaml --weights runs/t/weights.safetensors"), 0, "%s",
                 tst_output(g_dir));
    char *out = tst_read(g_dir, "out.txt");
    cr_expect(strncmp(out, "{\"model_type\":\"classifier\"", 26) == 0, "%s", out);
    cr_expect(strstr(out, "\"accuracy\":") != NULL, "%s", out);
    free(out);
}

Test(trainer, resumed_run_reproduces_uninterrupted_losses_exactly)
{
    cr_assert_eq(tst_pictor(g_dir, "train cfg.yaml --set run.name=full --set train.max_steps=12 "
                                   "--set train.eval_every=6 --set train.checkpoint_every=4"),
                 0, "%s", tst_output(g_dir));
    cr_assert_eq(tst_pictor(g_dir, "train cfg.yaml --set run.name=cut --set train.max_steps=7 "
                                   "--set train.eval_every=6 --set train.checkpoint_every=4"),
                 0, "%s", tst_output(g_dir));
    cr_assert_eq(tst_pictor(g_dir, "train cfg.yaml --set run.name=cut --set train.max_steps=12 "
                                   "--set train.eval_every=6 --set train.checkpoint_every=4 "
                                   "--resume auto"),
                 0, "%s", tst_output(g_dir));
    char *full = tst_read(g_dir, "runs/full/metrics.jsonl");
    char *cut = tst_read(g_dir, "runs/cut/metrics.jsonl");
    for (int step = 1; step <= 12; step++) {
        char a[64], b[64];
        loss_at(full, step, a, sizeof a);
        loss_at(cut, step, b, sizeof b);
        cr_expect(a[0] && strcmp(a, b) == 0, "step %d: uninterrupted %s, resumed %s", step, a, b);
    }
    /* the resumed metrics file holds each step once */
    const char *p = cut;
    int n7 = 0;
    while ((p = strstr(p, "\"kind\":\"train\",\"step\":7,")))
        n7++, p++;
    cr_expect_eq(n7, 1);
    free(full);
    free(cut);
}

Test(trainer, sigterm_writes_a_resumable_checkpoint)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s/pictor", PICTOR_BINARY_DIR);
    char cfg[4200];
    snprintf(cfg, sizeof cfg, "%s/cfg.yaml", g_dir);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        if (chdir(g_dir) != 0)
            _exit(99);
        freopen("/dev/null", "w", stdout);
        execl(cmd, "pictor", "train", cfg, "--set", "train.max_steps=100000", "--set",
              "run.name=sig", (char *)NULL);
        _exit(98);
    }
    /* wait until a few steps are logged, then stop it */
    for (int i = 0; i < 600; i++) {
        char *m = tst_read(g_dir, "runs/sig/metrics.jsonl");
        int started = strstr(m, "\"step\":5,") != NULL;
        free(m);
        if (started)
            break;
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFEXITED(st), "killed instead of stopping cleanly");
    cr_expect_eq(WEXITSTATUS(st), 130);
    char path[4200];
    snprintf(path, sizeof path, "%s/runs/sig/checkpoints/last.ckpt", g_dir);
    ckpt_state cs;
    pt_dict *w = ckpt_read_weights(path, &cs);
    cr_assert_not_null(w, "%s", pt_error());
    cr_expect_geq(cs.step, 5);
    cr_expect_str_eq(cs.model_type, "classifier");
    pt_dict_free(w);
    /* and training continues from it */
    char args[256];
    snprintf(args, sizeof args, "train cfg.yaml --set run.name=sig --set train.max_steps=%d "
             "--resume auto", (int)cs.step + 2);
    cr_expect_eq(tst_pictor(g_dir, "%s", args), 0, "%s", tst_output(g_dir));
    char *out = tst_read(g_dir, "out.txt");
    cr_expect(strstr(out, "resumed from") != NULL, "%s", out);
    free(out);
}

Test(trainer, nan_loss_stops_or_skips_by_config)
{
    /* lr x weight decay = 100: the weights flip sign and grow 99x per step until they overflow */
    cr_assert_eq(tst_pictor(g_dir, "train cfg.yaml --set optim.type=sgd --set optim.lr=10 "
                                   "--set optim.weight_decay=10 --set optim.momentum=0 "
                                   "--set run.name=nan"),
                 1);
    char *out = tst_read(g_dir, "out.txt");
    cr_expect(strstr(out, "loss term 'cls' is NaN") || strstr(out, "loss term 'cls' is Inf") ||
              strstr(out, "is not finite"), "%s", out);
    cr_expect(strstr(out, "step ") != NULL, "%s", out);
    free(out);
    cr_expect_eq(tst_pictor(g_dir, "train cfg.yaml --set optim.type=sgd --set optim.lr=10 "
                                   "--set optim.weight_decay=10 --set optim.momentum=0 "
                                   "--set run.name=nan2 "
                                   "--set train.nan_policy=skip --set train.max_steps=30"),
                 0, "%s", tst_output(g_dir));
    out = tst_read(g_dir, "out.txt");
    cr_expect(strstr(out, "skipped") != NULL, "%s", out);
    free(out);
}

Test(trainer, bad_inputs_exit_1_with_a_clear_message)
{
    struct {
        const char *args, *expect;
    } cases[] = {
        {"train cfg.yaml --set model.type=resnet9", "unknown model.type 'resnet9'"},
        {"train cfg.yaml --set data.train=nope.h5", "nope.h5"},
        {"train cfg.yaml --set train.epochs=ten", "train.epochs"},
        {"train cfg.yaml --set model.widht=3", "did you mean"},
        {"train missing.yaml", "missing.yaml"},
        {"train cfg.yaml --resume no/such.ckpt", "no/such.ckpt"},
        {"eval cfg.yaml --weights no/such.safetensors", "no/such.safetensors"},
        {"export no/such/run --format torch --out x.pt", "no/such/run"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st = tst_pictor(g_dir, "%s", cases[i].args);
        char *out = tst_read(g_dir, "out.txt");
        cr_expect_eq(st, 1, "%s: status %d: %s", cases[i].args, st, out);
        cr_expect(strstr(out, cases[i].expect) != NULL, "%s: '%s' not in: %s", cases[i].args,
                  cases[i].expect, out);
        free(out);
    }
    /* a corrupt dataset file */
    char p[4200];
    snprintf(p, sizeof p, "%s/corrupt.h5", g_dir);
    FILE *f = fopen(p, "w");
    fputs("not hdf5", f);
    fclose(f);
    cr_expect_eq(tst_pictor(g_dir, "train cfg.yaml --set data.train=corrupt.h5"), 1);
    char *out = tst_read(g_dir, "out.txt");
    cr_expect(strstr(out, "corrupt.h5") != NULL, "%s", out);
    free(out);
}

Test(trainer, resume_refuses_changed_model_and_other_model_type)
{
    cr_assert_eq(tst_pictor(g_dir, "train cfg.yaml --set run.name=shape --set train.max_steps=2"),
                 0, "%s", tst_output(g_dir));
    /* a changed config is refused, naming each changed key with both values; run-length keys
     * (train.max_steps) are not listed */
    cr_expect_eq(tst_pictor(g_dir, "train cfg.yaml --set run.name=shape --set train.max_steps=4 "
                                   "--set model.width=8 --set optim.lr=0.5 --resume auto"),
                 1);
    char *out = tst_read(g_dir, "out.txt");
    cr_expect(strstr(out, "in 2 key(s)") && strstr(out, "model.width: ") &&
                  strstr(out, "-> 8\n") && strstr(out, "optim.lr: ") && strstr(out, "-> 0.5") &&
                  strstr(out, "--accept-config-change") && !strstr(out, "max_steps"),
              "%s", out);
    free(out);
    /* accepted: the weights then do not fit the wider model */
    cr_expect_eq(tst_pictor(g_dir, "train cfg.yaml --set run.name=shape --set train.max_steps=4 "
                                   "--set model.width=8 --resume auto --accept-config-change"),
                 1);
    out = tst_read(g_dir, "out.txt");
    cr_expect(strstr(out, "does not fit this model") && strstr(out, "features.0.weight"), "%s", out);
    free(out);
    /* a run-length change alone resumes, with a note listing it */
    cr_expect_eq(tst_pictor(g_dir, "train cfg.yaml --set run.name=shape --set train.max_steps=3 "
                                   "--set train.log_every=2 --resume auto"),
                 0, "%s", tst_output(g_dir));
    out = tst_read(g_dir, "out.txt");
    cr_expect(strstr(out, "resuming with 2 changed key(s)") && strstr(out, "train.max_steps: 2 -> 3"),
              "%s", out);
    free(out);

    /* a checkpoint that claims another model type */
    char path[4200];
    snprintf(path, sizeof path, "%s/runs/shape/checkpoints/last.ckpt", g_dir);
    ckpt_state cs;
    pt_dict *w = ckpt_read_weights(path, &cs);
    cr_assert_not_null(w);
    pt_dict_free(w);
    nn_store *s = nn_store_new(0);
    snprintf(cs.model_type, sizeof cs.model_type, "gcn");
    snprintf(path, sizeof path, "%s/other.ckpt", g_dir);
    cr_assert_eq(ckpt_save(path, s, NULL, &cs), PT_OK, "%s", pt_error());
    nn_store_free(s);
    cr_expect_eq(tst_pictor(g_dir, "train cfg.yaml --set run.name=shape2 --resume other.ckpt"), 1);
    out = tst_read(g_dir, "out.txt");
    cr_expect(strstr(out, "model type 'gcn'") != NULL, "%s", out);
    free(out);
}

Test(trainer, export_formats_load_in_pytorch)
{
    cr_assert_eq(tst_pictor(g_dir, "train cfg.yaml --set run.name=ex --set train.max_steps=3"), 0,
                 "%s", tst_output(g_dir));
    const char *fmts[] = {"safetensors", "torch", "hdf5"};
    const char *ext[] = {"safetensors", "pt", "h5"};
    for (int i = 0; i < 3; i++) {
        char args[512];
        snprintf(args, sizeof args, "export runs/ex --format %s --out w.%s", fmts[i], ext[i]);
        cr_expect_eq(tst_pictor(g_dir, "%s", args), 0, "%s", tst_output(g_dir));
    }
    cr_expect_neq(tst_pictor(g_dir, "export runs/ex --format onnx --out w.onnx"), 0);
    char args[4300];
    snprintf(args, sizeof args, "'%s'", g_dir);
    cr_expect_eq(tst_python("check_export.py", args), 0);
    /* an exported safetensors file carries its metadata */
    snprintf(args, sizeof args, "%s/w.safetensors", g_dir);
    pt_dict *d = pt_safetensors_load(args);
    cr_assert_not_null(d, "%s", pt_error());
    cr_expect_str_eq(pt_dict_meta(d, "model_type"), "classifier");
    cr_expect_str_eq(pt_dict_meta(d, "step"), "3");
    cr_expect_not_null(pt_dict_meta(d, "config_hash"));
    pt_dict_free(d);
}

Test(trainer, full_disk_while_checkpointing_keeps_the_previous_checkpoint)
{
    cr_assert_eq(tst_pictor(g_dir, "train cfg.yaml --set run.name=fs --set train.max_steps=10 "
                                   "--set train.eval_every=0 --set data.val=''"),
                 0, "%s", tst_output(g_dir));
    /* the files may grow to 12 KiB: the config, logs and events fit, the checkpoint does not */
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && bash -c \"trap '' XFSZ; ulimit -f 12; exec '%s/pictor' train cfg.yaml "
             "--set run.name=fs --set train.max_steps=20 --set data.val='' --resume auto\" "
             ">out.txt 2>&1",
             g_dir, PICTOR_BINARY_DIR);
    int st = system(cmd);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d: %s", st, tst_output(g_dir));
    char *out = tst_read(g_dir, "out.txt");
    cr_expect(strstr(out, "cannot write checkpoint") && strstr(out, "last.ckpt"), "%s", out);
    free(out);
    char path[4200];
    snprintf(path, sizeof path, "%s/runs/fs/checkpoints/last.ckpt", g_dir);
    ckpt_state cs;
    pt_dict *w = ckpt_read_weights(path, &cs);
    cr_assert_not_null(w, "the previous checkpoint was damaged: %s", pt_error());
    cr_expect_eq(cs.step, 10);
    pt_dict_free(w);
    snprintf(cmd, sizeof cmd, "ls '%s/runs/fs/checkpoints' | grep -c tmp", g_dir);
    FILE *p = popen(cmd, "r");
    int tmps = -1;
    cr_assert_eq(fscanf(p, "%d", &tmps), 1);
    pclose(p);
    cr_expect_eq(tmps, 0, "a temp file was left behind");
}

/* A dataset that does not exist yet: the error says how to make it, from the commands in the
 * config's header (with their continuation lines), or points to `pictor data help`. */
Test(trainer, missing_dataset_error_gives_the_command_that_makes_it)
{
    tst_write_text(g_dir, "made.yaml", "# Make the data first:\n"
               "#   pictor data synth shapes --n 3 --size 64 \\\n"
               "#       --out later.h5\n"
               "# then train; this line is no command\n"
               "_base_: cfg.yaml\n"
               "# pictor data import-idx --out not-in-the-header.h5\n"
               "data: {train: later.h5}\n");
    cr_expect_eq(tst_pictor(g_dir, "train made.yaml"), 1, "%s", tst_output(g_dir));
    const char *out = tst_output(g_dir);
    cr_expect(strstr(out, "later.h5 (data.train) does not exist yet; made.yaml says how to make "
                          "it:\n  pictor data synth shapes --n 3 --size 64 \\\n  --out later.h5\n"),
              "%s", out);
    cr_expect(!strstr(out, "no command") && !strstr(out, "not-in-the-header"), "%s", out);
    /* no commands in the header; data.val missing */
    cr_expect_eq(tst_pictor(g_dir, "train cfg.yaml --set data.val=gone.h5"), 1, "%s",
                 tst_output(g_dir));
    cr_expect(strstr(tst_output(g_dir),
                     "gone.h5 (data.val) does not exist yet: make it with `pictor data"),
              "%s", tst_output(g_dir));
    /* a file that exists but is no dataset gets no such hint */
    tst_write_text(g_dir, "junk.h5", "junk");
    cr_expect_eq(tst_pictor(g_dir, "train cfg.yaml --set data.train=junk.h5"), 1);
    cr_expect(!strstr(tst_output(g_dir), "does not exist yet"), "%s", tst_output(g_dir));
}
