/*
 * test_ddp.c - data-parallel training (train/core/ddp.h) on loopback with two processes, launched
 * as torchrun launches them (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT; rank 0 hosts the store)
 * and through `pictor train --nproc 2`:
 *   - two ranks at batch B end with the weights of one process at batch 2B on the same data
 *     order (a classifier without BatchNorm, Adam, 6 steps; tolerance 1e-5 absolute, measured
 *     ~5e-8: float sums in another order);
 *   - kill -9 of one rank: the other exits with status 1 within 30 s, naming the lost rank;
 *   - a two-rank run stopped at step 3 and resumed (--resume auto on both ranks) ends with the
 *     weights of an uninterrupted two-rank run;
 *   - under torchrun's agent store (TORCHELASTIC_USE_AGENT_STORE=True: a store hosted by another
 *     process, tests/reference/agent_store.py, every rank a client) the run matches as well;
 *   - the sampler's shards: together the global batch of one process, padded like
 *     DistributedSampler at a short last batch.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "pipeline/sampler.h"
#include "store/store.h"

static char *g_dir;

static void setup(void)
{
    tst_setup();
    g_dir = tst_tmpdir();
    char err[512];
    srand(1);
    cr_assert_eq(tst_grey8_store(g_dir, "train.h5", 128, tst_grey8_noisy, err, sizeof err), 0,
                 "%s", err);
    tst_write_text(g_dir, "cfg.yaml",
                   "run: {dir: %s/runs, name: t}\n"
                   "model: {type: classifier, width: 4, hidden: 16, batch_norm: false}\n"
                   "data: {train: %s/train.h5, workers: 1}\n"
                   "train: {max_steps: 6, batch_size: 8, threads: 1, log_every: 1, "
                   "checkpoint_every: 3,\n"
                   "        seed: 3}\n"
                   "optim: {type: adam, lr: 0.01}\n",
                   g_dir, g_dir);
}

static void teardown(void) { tst_rmtree(g_dir); }

TestSuite(ddp, .init = setup, .fini = teardown, .timeout = 240);

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    cr_assert_gt(port, 0);
    return port;
}

/* Start rank `rank` of `world` as torchrun would: `pictor train cfg.yaml --set run.name=NAME
 * EXTRA`, output to DIR/NAME.rRANK.txt. Returns the pid. */
static pid_t spawn_rank(int rank, int world, int port, const char *name, const char *extra)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "exec '%s/pictor' train cfg.yaml --set run.name=%s %s >'%s.r%d.txt' 2>&1",
             PICTOR_BINARY_DIR, name, extra ? extra : "", name, rank);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char v[32];
        if (chdir(g_dir) != 0)
            _exit(127);
        snprintf(v, sizeof v, "%d", rank);
        setenv("RANK", v, 1);
        setenv("LOCAL_RANK", v, 1);
        snprintf(v, sizeof v, "%d", world);
        setenv("WORLD_SIZE", v, 1);
        setenv("LOCAL_WORLD_SIZE", v, 1);
        setenv("MASTER_ADDR", "127.0.0.1", 1);
        snprintf(v, sizeof v, "%d", port);
        setenv("MASTER_PORT", v, 1);
        setenv("PICTOR_DIST_TIMEOUT", "60", 1);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Exit status of pid (128 + signal), or -1 when it is still running after timeout_s. */
static int wait_for(pid_t pid, double timeout_s)
{
    double end = now_s() + timeout_s;
    while (now_s() < end) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* Both ranks of one run: 0 when both succeed. */
static void run_two(const char *name, const char *extra)
{
    int port = free_port();
    pid_t a = spawn_rank(0, 2, port, name, extra), b = spawn_rank(1, 2, port, name, extra);
    int sa = wait_for(a, 120), sb = wait_for(b, 120);
    cr_assert_eq(sa, 0, "rank 0 of %s: status %d", name, sa);
    cr_assert_eq(sb, 0, "rank 1 of %s: status %d", name, sb);
}

/* Largest |a - b| over the tensors of two weight files (same names required). */
static double weights_diff(const char *run_a, const char *run_b)
{
    char pa[4200], pb[4200];
    snprintf(pa, sizeof pa, "%s/runs/%s/weights.safetensors", g_dir, run_a);
    snprintf(pb, sizeof pb, "%s/runs/%s/weights.safetensors", g_dir, run_b);
    pt_dict *a = pt_safetensors_load(pa), *b = pt_safetensors_load(pb);
    cr_assert(a && b, "%s", pt_error());
    cr_assert_eq(pt_dict_size(a), pt_dict_size(b));
    double worst = 0;
    for (int i = 0; i < pt_dict_size(a); i++) {
        pt_tensor *tb = pt_dict_get(b, pt_dict_name(a, i));
        cr_assert_not_null(tb, "%s missing from %s", pt_dict_name(a, i), pb);
        double d = tst_max_abs_diff(pt_dict_tensor(a, i), tb);
        worst = d > worst ? d : worst;
    }
    pt_dict_free(a);
    pt_dict_free(b);
    return worst;
}

Test(ddp, two_ranks_match_one_process_at_double_batch)
{
    cr_assert_eq(tst_pictor(g_dir, "train cfg.yaml --set run.name=one --set train.batch_size=16"),
                 0);
    run_two("two", NULL);
    double d = weights_diff("one", "two");
    cr_expect_leq(d, 1e-5, "two ranks x 8 vs one process x 16: max |dw| = %g", d);
    /* the weights moved (the comparison is not trivially true) */
    cr_assert_eq(tst_pictor(g_dir, "train cfg.yaml --set run.name=zero --set train.max_steps=1 "
                                   "--set optim.lr=1e-9"), 0);
    cr_expect_gt(weights_diff("one", "zero"), 1e-3);
    /* the same through the launcher; rank 0 alone prints the progress */
    cr_assert_eq(tst_pictor(g_dir, "train cfg.yaml --set run.name=nproc --nproc 2"), 0);
    d = weights_diff("one", "nproc");
    cr_expect_leq(d, 1e-5, "--nproc 2: max |dw| = %g", d);
    char *out = tst_read(g_dir, "out.txt");
    cr_expect(strstr(out, "x 2 ranks"), "%s", out);
    char *p = out;
    int done = 0;
    while ((p = strstr(p, "done: 6 steps")))
        done++, p++;
    cr_expect_eq(done, 1, "one 'done' line (rank 0's), got %d:\n%s", done, out);
    free(out);
}

static void kill_one(int victim)
{
    int port = free_port();
    const char *extra = "--set train.max_steps=1000000 --set train.checkpoint_every=0";
    pid_t pid[2] = {spawn_rank(0, 2, port, "k", extra), spawn_rank(1, 2, port, "k", extra)};
    /* wait until rank 0 has logged steps (the group trains) */
    char metrics[4200];
    snprintf(metrics, sizeof metrics, "runs/k/metrics.jsonl");
    double t_end = now_s() + 60;
    for (;;) {
        char *m = tst_read(g_dir, metrics);
        int lines = 0;
        for (char *c = m; *c; c++)
            lines += *c == '\n';
        free(m);
        if (lines >= 20)
            break;
        cr_assert_lt(now_s(), t_end, "the two ranks did not start training");
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    kill(pid[victim], SIGKILL);
    int survivor = 1 - victim;
    double t0 = now_s();
    int st = wait_for(pid[survivor], 30);
    double dt = now_s() - t0;
    wait_for(pid[victim], 5);
    if (st < 0)
        kill(pid[survivor], SIGKILL), wait_for(pid[survivor], 5);
    cr_assert_eq(st, 1, "rank %d after the kill of rank %d: status %d (-1: still running after "
                 "30 s)", survivor, victim, st);
    char name[64], needle[64];
    snprintf(name, sizeof name, "k.r%d.txt", survivor);
    snprintf(needle, sizeof needle, "lost rank %d", victim);
    char *log = tst_read(g_dir, name);
    cr_expect(strstr(log, needle), "rank %d's message does not name rank %d:\n%s", survivor,
              victim, log);
    free(log);
    cr_expect_lt(dt, 30.0);
    fprintf(stderr, "ddp: rank %d exited %.2f s after the kill of rank %d\n", survivor, dt, victim);
}

Test(ddp, kill_rank1_stops_rank0) { kill_one(1); }
Test(ddp, kill_rank0_stops_rank1) { kill_one(0); }

Test(ddp, resume_of_a_two_rank_run)
{
    run_two("full", NULL);
    run_two("part", "--set train.max_steps=3");
    run_two("part", "--resume auto");
    char *log = tst_read(g_dir, "part.r0.txt");
    cr_expect(strstr(log, "resumed from"), "%s", log);
    free(log);
    double d = weights_diff("full", "part");
    cr_expect_leq(d, 1e-6, "resumed vs uninterrupted two-rank run: max |dw| = %g", d);
    /* a rank that cannot see the checkpoint (another host without it) is refused */
    char p[4200];
    snprintf(p, sizeof p, "%s/runs/part/checkpoints/last.ckpt", g_dir);
    int port = free_port();
    pid_t a = spawn_rank(0, 2, port, "part", "--resume auto --set train.max_steps=9");
    pid_t b = spawn_rank(1, 2, port, "part2", "--resume auto --set train.max_steps=9");
    int sa = wait_for(a, 60), sb = wait_for(b, 60);
    cr_expect_eq(sa, 1);
    cr_expect_eq(sb, 1);
    log = tst_read(g_dir, "part.r0.txt");
    cr_expect(strstr(log, "the same checkpoint"), "%s", log);
    free(log);
}

Test(ddp, sampler_shards_make_the_global_batch)
{
    ds_source src = {0};
    src.count = 20;
    char err[256];
    sampler_config c = sampler_config_defaults();
    c.kind = SAMPLER_RANDOM;
    c.seed = 5;
    c.batch_size = 6;
    sampler *one = sampler_new(&c, &src, err, sizeof err);
    c.batch_size = 3;
    c.shard_count = 2;
    sampler *sh[2];
    for (int r = 0; r < 2; r++) {
        c.shard_index = r;
        sh[r] = sampler_new(&c, &src, err, sizeof err);
        cr_assert_not_null(sh[r], "%s", err);
        cr_expect_eq(sampler_batch_size(sh[r]), 3);
        cr_expect_eq(sampler_batches_per_epoch(sh[r]), 4); /* ceil(20 / 6) */
        cr_expect_eq(sampler_fingerprint(sh[r]), sampler_fingerprint(one));
    }
    for (int e = 0; e < 2; e++)
        for (int k = 0; k < 4; k++) {
            sampler_state st = {e, k};
            int64_t g[6], a[3], b[3];
            int n = sampler_batch_at(one, st, g, err, sizeof err);
            int na = sampler_batch_at(sh[0], st, a, err, sizeof err);
            int nb = sampler_batch_at(sh[1], st, b, err, sizeof err);
            if (k < 3) {
                cr_assert_eq(n, 6);
                cr_assert(na == 3 && nb == 3);
                for (int j = 0; j < 3; j++)
                    cr_expect(a[j] == g[j] && b[j] == g[3 + j], "epoch %d batch %d", e, k);
            } else { /* 2 items left: one each */
                cr_assert_eq(n, 2);
                cr_assert(na == 1 && nb == 1);
                cr_expect(a[0] == g[0] && b[0] == g[1]);
            }
        }
    /* a last batch of 1 item: both ranks get it (padding, as DistributedSampler) */
    src.count = 7;
    c.shard_index = 1;
    sampler *s7 = sampler_new(&c, &src, err, sizeof err);
    c.batch_size = 6, c.shard_count = 0, c.shard_index = 0;
    sampler *o7 = sampler_new(&c, &src, err, sizeof err);
    int64_t g[6], x[3];
    sampler_state last = {0, 1};
    cr_assert_eq(sampler_batch_at(o7, last, g, err, sizeof err), 1);
    cr_assert_eq(sampler_batch_at(s7, last, x, err, sizeof err), 1);
    cr_expect_eq(x[0], g[0]);
    /* a shard that does not exist */
    c.shard_count = 2, c.shard_index = 2;
    cr_expect_null(sampler_new(&c, &src, err, sizeof err));
    sampler_free(s7), sampler_free(o7), sampler_free(one), sampler_free(sh[0]), sampler_free(sh[1]);
}

Test(ddp, agent_store_as_under_torchrun)
{
    pid_t agent = fork();
    cr_assert_geq(agent, 0);
    if (agent == 0) {
        execl("/usr/bin/python3", "python3", tst_src("tests/reference/agent_store.py"), g_dir,
              (char *)NULL);
        _exit(127);
    }
    char p[4200];
    snprintf(p, sizeof p, "%s/port", g_dir);
    for (int i = 0; i < 1500 && access(p, R_OK) != 0; i++)
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    char *port = tst_read(g_dir, "port");
    int ok = *port != '\0';
    if (ok) {
        setenv("TORCHELASTIC_USE_AGENT_STORE", "True", 1);
        setenv("TORCHELASTIC_RESTART_COUNT", "0", 1);
        int pt = atoi(port);
        pid_t a = spawn_rank(0, 2, pt, "agent", NULL), b = spawn_rank(1, 2, pt, "agent", NULL);
        int sa = wait_for(a, 120), sb = wait_for(b, 120);
        cr_expect(sa == 0 && sb == 0, "ranks exited %d and %d", sa, sb);
    }
    free(port);
    kill(agent, SIGKILL);
    waitpid(agent, NULL, 0);
    cr_assert(ok, "the agent's store did not start");
    cr_assert_eq(tst_pictor(g_dir, "train cfg.yaml --set run.name=one --set train.batch_size=16"),
                 0);
    double d = weights_diff("one", "agent");
    cr_expect_leq(d, 1e-5, "agent store: max |dw| = %g", d);
}
