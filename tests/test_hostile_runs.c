/*
 * test_hostile_runs.c - the hostile-input battery, run directories: what a training does when
 * its run directory is taken away from under it. Through the `pictor` binary, on a tiny dataset
 * (8x8 grey images, two classes) and a classifier that writes a checkpoint after every step:
 *   - kill -9 five times, each time while a checkpoint is being written (the temp file of the
 *     atomic write exists), then resume: last.ckpt is always a valid checkpoint, its step never
 *     goes back, and the resumed run finishes and removes the dead runs' temp files;
 *   - two trainings on one run directory at once: the second exits 1 at once naming the lock
 *     file and the first one's pid; after the first ends, the directory is free again;
 *   - a run directory on a read-only file system (a read-only tmpfs when this user may mount,
 *     else a folder without write permission): exit 1 naming the directory and the reason;
 *   - a full disk (a 160 KiB tmpfs; skipped when mounting is not permitted): exit 1 naming the
 *     file that could not be written and "No space left on device", the last checkpoint still
 *     valid, no temp file left.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
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

/* cfg.yaml: a checkpoint after every step, no evaluation, runs under g_dir/runs. */
static void setup(void)
{
    tst_setup();
    g_dir = tst_tmpdir();
    char err[512];
    cr_assert_eq(tst_grey8_store(g_dir, "train.h5", 64, tst_grey8_halves, err, sizeof err), 0,
                 "%s", err);
    tst_write_text(g_dir, "cfg.yaml",
                   "run: {dir: %s/runs, name: t}\n"
                   "model: {type: classifier, width: 4, hidden: 16}\n"
                   "data: {train: %s/train.h5, val: '', workers: 1}\n"
                   "train: {max_steps: 20, batch_size: 8, threads: 1, log_every: 1, "
                   "eval_every: 0,\n"
                   "        checkpoint_every: 1, seed: 1}\n"
                   "optim: {type: adam, lr: 0.01}\n",
                   g_dir, g_dir);
}

static void teardown(void)
{
    tst_sh(g_dir, "umount ro 2>/dev/null; umount full 2>/dev/null; chmod -R u+w . 2>/dev/null; "
                  "true");
    tst_rmtree(g_dir);
}

TestSuite(hostile_runs, .init = setup, .fini = teardown, .timeout = 400);

/* `pictor ARGS` started in the background in g_dir (output to log); its pid. */
static pid_t start(const char *log, const char *args)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s/pictor' %s >'%s' 2>&1 </dev/null", g_dir,
             PICTOR_BINARY_DIR, args, log);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* 1 when process pid has the temp file of an atomic write ("<name>.tmp.<pid>") in dir. */
static int temp_in(const char *dir, pid_t pid)
{
    char suffix[32];
    snprintf(suffix, sizeof suffix, ".tmp.%ld", (long)pid);
    size_t ls = strlen(suffix);
    DIR *d = opendir(dir);
    int found = 0;
    for (struct dirent *e; d && !found && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        found = n > ls && strcmp(e->d_name + n - ls, suffix) == 0;
    }
    if (d)
        closedir(d);
    return found;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

Test(hostile_runs, kill_9_during_checkpoint_writes_then_resume_from_a_valid_checkpoint)
{
    char ckdir[4200], last[4300];
    snprintf(ckdir, sizeof ckdir, "%s/runs/t/checkpoints", g_dir);
    snprintf(last, sizeof last, "%s/last.ckpt", ckdir);
    int64_t prev_step = 0;
    int mid_write = 0;
    for (int k = 0; k < 5; k++) {
        pid_t pid = start("kill.log", "train cfg.yaml --resume auto --set train.max_steps=100000");
        /* wait until this process is writing a checkpoint (its temp file exists; after the
         * first kill, once a checkpoint exists, so that every run makes progress), then kill */
        double t0 = now_s();
        int seen = 0;
        while (!(seen = temp_in(ckdir, pid) && (k == 0 || tst_exists(ckdir, "last.ckpt"))) &&
               now_s() - t0 < 120) {
            int st;
            cr_assert_eq(waitpid(pid, &st, WNOHANG), 0, "the training ended early: %s",
                         tst_read(g_dir, "kill.log"));
        }
        if (k > 0) { /* let it train a while (0.1 to 0.5 s), then catch its next write */
            nanosleep(&(struct timespec){0, 100000000L * (1 + (k * 3) % 5)}, NULL);
            while (!(seen = temp_in(ckdir, pid)) && now_s() - t0 < 120)
                ;
        }
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        cr_assert(seen, "no checkpoint write seen in 120 s (kill %d)", k + 1);
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        mid_write += temp_in(ckdir, pid); /* its temp file outlived it: killed mid-write */
        /* last.ckpt is whole (the first kill may come before the first checkpoint) */
        ckpt_state cs;
        memset(&cs, 0, sizeof cs);
        if (k > 0 || tst_exists(ckdir, "last.ckpt")) {
            pt_dict *w = ckpt_read_weights(last, &cs);
            cr_assert_not_null(w, "kill %d left a bad last.ckpt: %s", k + 1, pt_error());
            pt_dict_free(w);
            cr_expect_geq(cs.step, prev_step, "the checkpoint went back from step %lld to %lld",
                          (long long)prev_step, (long long)cs.step);
            prev_step = cs.step;
        }
    }
    cr_log_info("5 kills, %d of them with the checkpoint's temp file still there; last.ckpt at "
                "step %lld", mid_write, (long long)prev_step);
    cr_expect_gt(prev_step, 4, "the runs between the kills made no progress");
    cr_expect_geq(mid_write, 3, "most kills should land inside a checkpoint write");
    cr_assert_gt(prev_step, 0);
    /* resume and finish a few steps later; each run removes the temp files of the runs killed
     * before it, so only the last kill's temp file (if it was mid-write) can be left now */
    char runs0[4200];
    snprintf(runs0, sizeof runs0, "%s/runs", g_dir);
    int left = tst_temp_files(runs0);
    int target = (int)prev_step + 3;
    cr_assert_eq(tst_pictor(g_dir, "train cfg.yaml --resume auto --set train.max_steps=%d",
                            target), 0, "%s", tst_output(g_dir));
    cr_expect(tst_says(g_dir, "resumed from", NULL), "%s", tst_output(g_dir));
    if (left)
        cr_expect(tst_says(g_dir, "unfinished temp file", NULL), "%s", tst_output(g_dir));
    ckpt_state cs;
    pt_dict *w = ckpt_read_weights(last, &cs);
    cr_assert_not_null(w, "%s", pt_error());
    pt_dict_free(w);
    cr_expect_eq(cs.step, target);
    char runs[4200];
    snprintf(runs, sizeof runs, "%s/runs", g_dir);
    cr_expect_eq(tst_temp_files(runs), 0, "temp files of the killed runs are left");
}

Test(hostile_runs, a_second_training_on_the_same_run_directory_is_refused)
{
    pid_t first = start("first.log", "train cfg.yaml --set train.max_steps=100000");
    /* the first one holds the lock once its pid is in the lock file */
    char want[32];
    snprintf(want, sizeof want, "%ld\n", (long)first);
    double t0 = now_s();
    for (;;) {
        char *lock = tst_read(g_dir, "runs/t/train.lock");
        int held = strcmp(lock, want) == 0;
        free(lock);
        if (held)
            break;
        int st;
        cr_assert_eq(waitpid(first, &st, WNOHANG), 0, "%s", tst_read(g_dir, "first.log"));
        cr_assert_lt(now_s() - t0, 120, "the first training never took the lock");
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    }
    double t1 = now_s();
    int rc = tst_pictor(g_dir, "train cfg.yaml --set train.max_steps=5");
    double took = now_s() - t1;
    kill(first, SIGTERM);
    int st;
    waitpid(first, &st, 0);
    cr_expect_eq(rc, 1, "%s", tst_output(g_dir));
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld", (long)first);
    cr_expect(tst_says(g_dir, "is in use by another training", pid, "runs/t/train.lock", NULL),
              "%s", tst_output(g_dir));
    cr_expect_lt(took, 30, "the refusal took %.1f s", took);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 130, "first: status %d", st);
    /* the first one's SIGTERM checkpoint is intact and the directory is free again */
    cr_expect_eq(tst_pictor(g_dir, "train cfg.yaml --resume auto --set train.max_steps=1"), 0,
                 "%s", tst_output(g_dir));
}

/* Mount a tmpfs (options opts) on g_dir/name; 0 when done, -1 when not permitted. */
static int mount_tmpfs(const char *name, const char *opts)
{
    if (geteuid() != 0)
        return -1;
    return tst_sh(g_dir, "mkdir -p %s && mount -t tmpfs -o %s tmpfs %s 2>/dev/null", name, opts,
                  name) == 0 ? 0 : -1;
}

Test(hostile_runs, a_read_only_run_directory_is_an_error_naming_it)
{
    const char *how = "read-only tmpfs";
    if (mount_tmpfs("ro", "ro,size=64k") != 0) {
        /* not root (or no mount): a folder without write permission does the same */
        how = "folder without write permission";
        cr_assert_eq(tst_sh(g_dir, "mkdir -p ro && chmod 0555 ro"), 0);
        if (geteuid() == 0)
            cr_skip_test("root may write anywhere and may not mount here");
    }
    cr_log_info("run directory on a %s", how);
    cr_assert_eq(tst_pictor(g_dir, "train cfg.yaml --set run.dir=%s/ro", g_dir), 1, "%s",
                 tst_output(g_dir));
    const char *out = tst_output(g_dir);
    cr_expect(strstr(out, "/ro/t") && (strstr(out, "Read-only file system") ||
                                       strstr(out, "Permission denied")), "%s", out);
    cr_expect_eq(strstr(out, "Segmentation") || strstr(out, "terminate"), 0, "%s", out);
}

Test(hostile_runs, a_full_disk_is_an_error_naming_the_file_and_loses_no_checkpoint)
{
    if (mount_tmpfs("full", "size=160k") != 0)
        cr_skip_test("mounting a small tmpfs is not permitted here (the trainer suite's "
                     "full_disk test covers the case with ulimit -f)");
    int rc = tst_pictor(g_dir, "train cfg.yaml --set run.dir=%s/full --set train.max_steps=400",
                        g_dir);
    const char *out = tst_output(g_dir);
    cr_assert_eq(rc, 1, "%s", out);
    cr_expect(strstr(out, "No space left on device") && strstr(out, "/full/t/"), "%s", out);
    const char *line = strstr(out, "pictor: cannot write");
    cr_log_info("full disk: %.*s", line ? (int)strcspn(line, "\n") : 0, line ? line : "");
    char full[4200];
    snprintf(full, sizeof full, "%s/full", g_dir);
    cr_expect_eq(tst_temp_files(full), 0, "a temp file was left on the full disk");
    if (tst_exists(g_dir, "full/t/checkpoints/last.ckpt")) {
        char last[4300];
        snprintf(last, sizeof last, "%s/full/t/checkpoints/last.ckpt", g_dir);
        ckpt_state cs;
        pt_dict *w = ckpt_read_weights(last, &cs);
        cr_expect_not_null(w, "the full disk damaged last.ckpt: %s", pt_error());
        pt_dict_free(w);
        cr_log_info("disk full after %lld checkpointed steps", (long long)cs.step);
    }
}
