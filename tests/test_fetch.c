/*
 * test_fetch.c - data/fetch/fetch.h and `pictor fetch` against a local HTTP server
 * (tests/reference/fetch_server.py on 127.0.0.1): a normal download, a cache hit that makes no
 * request, a redirect, a transfer cut halfway and resumed with a Range request, a server that
 * ignores Range over a stale .part, a wrong hash (an error, nothing left in the cache), a 404 (not
 * retried), a stall (stopped by the stall timeout), file:// URLs, the URL#sha256= form of
 * configs (fetch_resolve, and data.train of a training run), and the command line.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "fetch/fetch.h"
#include "helpers.h"

static char *g_dir;
static char g_cache[4200], g_base[128], g_sha[65];
static pid_t g_server;

static char *read_file(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = calloc(1, (size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n)
        n = -1;
    fclose(f);
    if (len)
        *len = n;
    return b;
}

static int requests(void)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/requests.log", g_dir);
    char *t = read_file(p, NULL);
    int n = 0;
    for (char *c = t; c && *c; c++)
        n += *c == '\n';
    free(t);
    return n;
}

/* Entries in the cache directory (files of any kind, .part included). */
static int cache_entries(void)
{
    DIR *d = opendir(g_cache);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void setup(void)
{
    tst_setup();
    g_dir = tst_tmpdir();
    snprintf(g_cache, sizeof g_cache, "%s/cache", g_dir);
    g_server = fork();
    cr_assert_geq(g_server, 0);
    if (g_server == 0) {
        execl("/usr/bin/python3", "python3", tst_src("tests/reference/fetch_server.py"), g_dir,
              (char *)NULL);
        _exit(127);
    }
    char p[4200];
    snprintf(p, sizeof p, "%s/port", g_dir);
    for (int i = 0; i < 500 && access(p, R_OK) != 0; i++)
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    char *port = read_file(p, NULL);
    cr_assert_not_null(port, "the test server did not start");
    snprintf(g_base, sizeof g_base, "http://127.0.0.1:%s", port);
    free(port);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "sha256sum '%s/payload.bin'", g_dir);
    FILE *f = popen(cmd, "r");
    cr_assert(f && fscanf(f, "%64s", g_sha) == 1);
    pclose(f);
}

static void teardown(void)
{
    if (g_server > 0) {
        kill(g_server, SIGKILL);
        waitpid(g_server, NULL, 0);
    }
    tst_rmtree(g_dir);
}

TestSuite(fetch, .init = setup, .fini = teardown, .timeout = 120);

static int get(const char *path, const char *sha, int retries, double stall, char *out,
               char *err)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", g_base, path);
    fetch_opts o = {.url = url, .sha256 = sha, .cache_dir = g_cache, .retries = retries,
                    .stall_timeout_s = stall};
    return fetch_file(&o, out, 4096, err, 2048);
}

/* The downloaded file holds the payload. */
static void expect_payload(const char *path)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/payload.bin", g_dir);
    long na = 0, nb = 0;
    char *a = read_file(path, &na), *b = read_file(p, &nb);
    cr_assert(a && b, "cannot read %s", path);
    cr_expect_eq(na, 100000);
    cr_expect(na == nb && memcmp(a, b, (size_t)na) == 0, "%s differs from the payload", path);
    free(a), free(b);
}

Test(fetch, download_then_cache_hit_without_request)
{
    char path[4096], err[2048];
    cr_assert_eq(get("/file.bin", g_sha, 0, 0, path, err), 0, "%s", err);
    expect_payload(path);
    cr_expect(strstr(path, g_cache) == path && strstr(path, "-file.bin"), "%s", path);
    cr_expect_eq(requests(), 1);
    cr_expect_eq(cache_entries(), 1); /* no .part left */
    char again[4096];
    cr_assert_eq(get("/file.bin", g_sha, 0, 0, again, err), 0, "%s", err);
    cr_expect_str_eq(again, path);
    cr_expect_eq(requests(), 1, "a cached file with the right hash was downloaded again");
}

Test(fetch, redirect_is_followed)
{
    char path[4096], err[2048];
    cr_assert_eq(get("/redirect.bin", g_sha, 0, 0, path, err), 0, "%s", err);
    expect_payload(path);
    cr_expect_eq(requests(), 2);
}

Test(fetch, cut_transfer_resumes_with_range)
{
    char path[4096], err[2048], p[4200];
    cr_assert_eq(get("/cut.bin", g_sha, 2, 0, path, err), 0, "%s", err);
    expect_payload(path);
    snprintf(p, sizeof p, "%s/requests.log", g_dir);
    char *log = read_file(p, NULL);
    cr_expect(strstr(log, "/cut.bin -\n") && strstr(log, "/cut.bin bytes=50000-"),
              "expected a plain request then a Range from byte 50000:\n%s", log);
    free(log);
}

Test(fetch, server_ignoring_range_restarts_the_file)
{
    char path[4096], err[2048], part[4200];
    mkdir(g_cache, 0777);
    snprintf(part, sizeof part, "%s/%.16s-norange.bin.part", g_cache, g_sha);
    FILE *f = fopen(part, "wb");
    fputs("junk", f);
    fclose(f);
    cr_assert_eq(get("/norange.bin", g_sha, 0, 0, path, err), 0, "%s", err);
    expect_payload(path);
}

Test(fetch, wrong_hash_leaves_nothing)
{
    char path[4096], err[2048];
    const char *zeros = "0000000000000000000000000000000000000000000000000000000000000000";
    cr_assert_eq(get("/file.bin", zeros, 0, 0, path, err), -1);
    cr_expect(strstr(err, "SHA-256 mismatch") && strstr(err, g_sha), "%s", err);
    cr_expect_eq(cache_entries(), 0, "the cache holds something after a wrong hash");
    cr_expect_eq(get("/file.bin", "abc", 0, 0, path, err), -1);
    cr_expect(strstr(err, "64 hex digits"), "%s", err);
}

Test(fetch, not_found_is_not_retried)
{
    char path[4096], err[2048];
    cr_assert_eq(get("/missing.bin", g_sha, 3, 0, path, err), -1);
    cr_expect(strstr(err, "HTTP 404"), "%s", err);
    cr_expect_eq(requests(), 1);
    cr_expect_eq(cache_entries(), 0);
}

Test(fetch, stall_times_out)
{
    char path[4096], err[2048];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    cr_assert_eq(get("/stall.bin", g_sha, 0, 2, path, err), -1);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double dt = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
    cr_expect(strstr(err, "stalled"), "%s", err);
    cr_expect(dt > 1.5 && dt < 10, "stopped after %.1f s (stall timeout 2 s)", dt);
}

Test(fetch, file_url_and_config_form)
{
    char url[4400], path[4096], err[2048];
    snprintf(url, sizeof url, "file://%s/payload.bin", g_dir);
    fetch_opts o = {.url = url, .sha256 = g_sha, .cache_dir = g_cache, .retries = 0};
    cr_assert_eq(fetch_file(&o, path, sizeof path, err, sizeof err), 0, "%s", err);
    expect_payload(path);
    /* config values: a path stays, a URL needs #sha256=, and is fetched into $PICTOR_CACHE */
    cr_assert_eq(fetch_resolve("runs/data/x.h5", path, sizeof path, err, sizeof err), 0);
    cr_expect_str_eq(path, "runs/data/x.h5");
    cr_expect_eq(fetch_resolve(url, path, sizeof path, err, sizeof err), -1);
    cr_expect(strstr(err, "#sha256="), "%s", err);
    char spec[4600], cache2[4300];
    snprintf(cache2, sizeof cache2, "%s/cache2", g_dir);
    setenv("PICTOR_CACHE", cache2, 1);
    snprintf(spec, sizeof spec, "%s/file.bin#sha256=%s", g_base, g_sha);
    cr_assert_eq(fetch_resolve(spec, path, sizeof path, err, sizeof err), 0, "%s", err);
    unsetenv("PICTOR_CACHE");
    cr_expect(strstr(path, cache2) == path, "%s", path);
    expect_payload(path);
}

Test(fetch, command_line)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s/pictor' fetch %s/file.bin --sha256 %s --cache '%s' >'%s/out.txt'"
             " 2>&1", PICTOR_BINARY_DIR, g_base, g_sha, g_cache, g_dir);
    int st = system(cmd);
    cr_assert_eq(WEXITSTATUS(st), 0);
    char p[4200];
    snprintf(p, sizeof p, "%s/out.txt", g_dir);
    char *out = read_file(p, NULL);
    cr_expect(strstr(out, g_cache) && strstr(out, "-file.bin\n"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s/pictor' fetch %s/missing.bin --sha256 %s --cache '%s' "
             ">'%s/out.txt' 2>&1", PICTOR_BINARY_DIR, g_base, g_sha, g_cache, g_dir);
    st = system(cmd);
    cr_expect_eq(WEXITSTATUS(st), 1);
    out = read_file(p, NULL);
    cr_expect(strstr(out, "pictor fetch:") && strstr(out, "HTTP 404"), "%s", out);
    free(out);
}

/* Image i of a two-class grey set: flat, dark (class 0) or bright (class 1). */
static void flat_pixels(int i, uint8_t px[64]) { memset(px, i % 2 ? 200 : 50, 64); }

/* A training config whose data.train is a URL#sha256=: the file is fetched into PICTOR_CACHE and
 * trained on; a wrong hash stops the run with the key named. */
Test(fetch, config_data_train_url)
{
    char h5[4200], err[512];
    snprintf(h5, sizeof h5, "%s/train.h5", g_dir);
    cr_assert_eq(tst_grey8_store(g_dir, "train.h5", 32, flat_pixels, err, sizeof err), 0, "%s",
                 err);
    char cmd[8192], sha[65];
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", h5);
    FILE *f = popen(cmd, "r");
    cr_assert(f && fscanf(f, "%64s", sha) == 1);
    pclose(f);
    for (int bad = 0; bad < 2; bad++) {
        char cfg[4200];
        snprintf(cfg, sizeof cfg, "%s/cfg%d.yaml", g_dir, bad);
        f = fopen(cfg, "w");
        fprintf(f, "run: {dir: %s/runs, name: u%d}\n"
                   "model: {type: classifier, width: 2, hidden: 4}\n"
                   "data: {train: 'file://%s#sha256=%s', workers: 0}\n"
                   "train: {max_steps: 2, batch_size: 4, threads: 1}\n",
                g_dir, bad, h5, bad ? g_sha : sha);
        fclose(f);
        snprintf(cmd, sizeof cmd, "PICTOR_CACHE='%s/c' '%s/pictor' train '%s' >'%s/out.txt' 2>&1",
                 g_dir, PICTOR_BINARY_DIR, cfg, g_dir);
        int st = system(cmd);
        char p[4200];
        snprintf(p, sizeof p, "%s/out.txt", g_dir);
        char *out = read_file(p, NULL);
        if (!bad) {
            cr_expect_eq(WEXITSTATUS(st), 0, "%s", out);
            snprintf(p, sizeof p, "%s/c/%.16s-train.h5", g_dir, sha);
            cr_expect_eq(access(p, R_OK), 0, "%s is not in the cache", p);
        } else {
            cr_expect_eq(WEXITSTATUS(st), 1, "%s", out);
            cr_expect(strstr(out, "data.train") && strstr(out, "SHA-256 mismatch"), "%s", out);
        }
        free(out);
    }
}
