/* test_runlog.c - Criterion tests for train/runlog.c, the run logger.
 *
 * Owns: the metrics.jsonl contract (every line parses with cJSON and has the documented members,
 * numbers read back exactly, names are escaped, NaN/Inf become null plus "nonfinite"), lines
 * surviving a SIGKILL, the torn-line repair on open, disk-full reporting, the resume truncation
 * (exactly the right lines stay, byte for byte, atomically), the console in its bar and plain-line
 * modes, and the TensorBoard copy of the scalars (checked with tests/reference/tb_read.py).
 */
#define _XOPEN_SOURCE 700 /* posix_openpt: a pseudo-terminal for the console test */
#include <criterion/criterion.h>

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "helpers.h"
#include "report/runlog.h"

/* ---------------------------------------------------------------- fixture and helpers */

static char *g_dir;

static void setup(void)
{
    pt_error_clear();
    g_dir = tst_tmpdir();
    cr_assert_not_null(g_dir);
}

static void teardown(void)
{
    tst_rmtree(g_dir);
    g_dir = NULL;
}

TestSuite(runlog, .init = setup, .fini = teardown);

static const char *metrics_path(void)
{
    static char p[4200];
    snprintf(p, sizeof p, "%s/metrics.jsonl", g_dir);
    return p;
}

/* The whole of path, NUL-terminated (caller frees); NULL if it cannot be read. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0, k;
    char chunk[4096];
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (n + k + 1 > cap) {
            cap = (n + k + 1) * 2;
            buf = realloc(buf, cap);
            cr_assert_not_null(buf);
        }
        memcpy(buf + n, chunk, k);
        n += k;
    }
    fclose(f);
    if (!buf)
        buf = calloc(1, 1);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

#define MAX_LINES 64

/* Splits the metrics file into parsed JSON objects (every line must end in '\n' and parse). */
static int parse_metrics(cJSON **objs)
{
    char *text = slurp(metrics_path(), NULL);
    cr_assert_not_null(text, "no %s", metrics_path());
    int n = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        cr_assert_not_null(nl, "last line is not terminated: %s", line);
        *nl = '\0';
        cr_assert_lt(n, MAX_LINES);
        objs[n] = cJSON_Parse(line);
        cr_assert_not_null(objs[n], "line %d is not JSON: %s", n + 1, line);
        cr_assert(cJSON_IsObject(objs[n]));
        n++;
        line = nl + 1;
    }
    free(text);
    return n;
}

static void free_objs(cJSON **objs, int n)
{
    for (int i = 0; i < n; i++)
        cJSON_Delete(objs[i]);
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsNumber(v), "member '%s' is not a number", key);
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsString(v), "member '%s' is not a string", key);
    return v->valuestring;
}

static runlog *open_quiet(int64_t total)
{
    runlog_options o = {.console = RUNLOG_CONSOLE_OFF};
    runlog *rl = runlog_open(g_dir, total, &o);
    cr_assert_not_null(rl, "%s", pt_error());
    return rl;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* ---------------------------------------------------------------- metrics.jsonl */

Test(runlog, lines_are_json_with_the_documented_members)
{
    double t0 = (double)time(NULL);
    runlog *rl = open_quiet(100);
    for (int s = 1; s <= 3; s++) {
        runlog_scalar sc[] = {{"loss", 1.0 / s}, {"loss/cls", 0.5 / s}, {"lr", 1e-3},
                              {"images_per_s", 812.5}};
        cr_assert_eq(runlog_step(rl, s, s / 2, sc, 4), PT_OK, "%s", pt_error());
    }
    runlog_scalar ev[] = {{"accuracy", 0.875}, {"loss", 0.25}};
    cr_assert_eq(runlog_eval(rl, 3, 1, ev, 2), PT_OK, "%s", pt_error());
    cr_assert_eq(runlog_close(rl), PT_OK, "%s", pt_error());

    cJSON *o[MAX_LINES];
    int n = parse_metrics(o);
    cr_assert_eq(n, 4);
    for (int i = 0; i < 3; i++) {
        int s = i + 1;
        cr_assert_str_eq(str(o[i], "kind"), "train");
        cr_assert_eq(num(o[i], "step"), s);
        cr_assert_eq(num(o[i], "epoch"), s / 2);
        cr_assert(num(o[i], "time") >= t0 - 2 && num(o[i], "time") <= (double)time(NULL) + 2);
        cr_assert_eq(num(o[i], "loss"), 1.0 / s);
        cr_assert_eq(num(o[i], "loss/cls"), 0.5 / s);
        cr_assert_eq(num(o[i], "lr"), 1e-3);
        cr_assert_eq(num(o[i], "images_per_s"), 812.5);
        cr_assert_null(cJSON_GetObjectItemCaseSensitive(o[i], "nonfinite"));
        /* fixed members first, then the scalars in the order given */
        const char *order[] = {"kind", "step", "epoch", "time", "loss", "loss/cls", "lr",
                               "images_per_s"};
        const cJSON *it = o[i]->child;
        for (int k = 0; k < 8; k++, it = it->next)
            cr_assert_str_eq(it->string, order[k]);
        cr_assert_null(it);
    }
    cr_assert_str_eq(str(o[3], "kind"), "eval");
    cr_assert_eq(num(o[3], "step"), 3);
    cr_assert_eq(num(o[3], "epoch"), 1);
    cr_assert_eq(num(o[3], "accuracy"), 0.875);
    cr_assert_eq(num(o[3], "loss"), 0.25);
    free_objs(o, n);
}

Test(runlog, nonfinite_values_are_null_with_a_flag)
{
    runlog *rl = open_quiet(0);
    runlog_scalar sc[] = {{"loss", NAN}, {"lr", INFINITY}, {"x", -INFINITY}, {"ok", 1.5}};
    cr_assert_eq(runlog_step(rl, 7, 0, sc, 4), PT_OK);
    runlog_scalar ev[] = {{"miou", NAN}};
    cr_assert_eq(runlog_eval(rl, 7, 0, ev, 1), PT_OK);
    cr_assert_eq(runlog_close(rl), PT_OK);

    cJSON *o[MAX_LINES];
    int n = parse_metrics(o);
    cr_assert_eq(n, 2);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o[0], "loss")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o[0], "lr")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o[0], "x")));
    cr_assert_eq(num(o[0], "ok"), 1.5);
    const cJSON *nf = cJSON_GetObjectItemCaseSensitive(o[0], "nonfinite");
    cr_assert(cJSON_IsObject(nf));
    cr_assert_eq(cJSON_GetArraySize(nf), 3);
    cr_assert_str_eq(str(nf, "loss"), "nan");
    cr_assert_str_eq(str(nf, "lr"), "inf");
    cr_assert_str_eq(str(nf, "x"), "-inf");
    const cJSON *nf2 = cJSON_GetObjectItemCaseSensitive(o[1], "nonfinite");
    cr_assert_str_eq(str(nf2, "miou"), "nan");
    free_objs(o, n);
}

Test(runlog, numbers_read_back_exactly)
{
    const double v[] = {0.1, 1.0 / 3.0, 1e-300, 5e-324, 1.7976931348623157e308, -0.0,
                        123456789012345678.0, 2.5e-7, -42};
    const char *names[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
    runlog_scalar sc[9];
    for (int i = 0; i < 9; i++)
        sc[i] = (runlog_scalar){names[i], v[i]};
    runlog *rl = open_quiet(0);
    cr_assert_eq(runlog_step(rl, (int64_t)1 << 52, -1, sc, 9), PT_OK);
    cr_assert_eq(runlog_close(rl), PT_OK);
    cJSON *o[MAX_LINES];
    int n = parse_metrics(o);
    cr_assert_eq(n, 1);
    cr_assert_eq(num(o[0], "step"), (double)((int64_t)1 << 52));
    cr_assert_eq(num(o[0], "epoch"), -1);
    for (int i = 0; i < 9; i++)
        cr_assert_eq(num(o[0], names[i]), v[i], "%s: %.17g", names[i], v[i]);
    free_objs(o, n);
}

Test(runlog, names_are_json_escaped)
{
    const char *odd = "q\"uote\\back\nnew\ttab\x01 \xce\xbb/x";
    runlog *rl = open_quiet(0);
    runlog_scalar sc[] = {{odd, 2.0}};
    cr_assert_eq(runlog_step(rl, 1, 0, sc, 1), PT_OK);
    cr_assert_eq(runlog_close(rl), PT_OK);
    cJSON *o[MAX_LINES];
    int n = parse_metrics(o);
    cr_assert_eq(n, 1);
    cr_assert_eq(num(o[0], odd), 2.0);
    free_objs(o, n);
}

Test(runlog, bad_names_are_rejected_and_nothing_is_written)
{
    runlog *rl = open_quiet(0);
    runlog_scalar reserved[] = {{"loss", 1}, {"step", 2}};
    cr_assert_eq(runlog_step(rl, 1, 0, reserved, 2), PT_ERR);
    cr_assert_not_null(strstr(pt_error(), "'step' is a reserved key"), "%s", pt_error());
    runlog_scalar dup[] = {{"loss", 1}, {"loss", 2}};
    cr_assert_eq(runlog_eval(rl, 1, 0, dup, 2), PT_ERR);
    cr_assert_not_null(strstr(pt_error(), "'loss' is given twice"), "%s", pt_error());
    runlog_scalar unnamed[] = {{"", 1}};
    cr_assert_eq(runlog_step(rl, 1, 0, unnamed, 1), PT_ERR);
    cr_assert_eq(runlog_step(rl, 1, 0, NULL, 0), PT_OK); /* no scalars is fine */
    cr_assert_eq(runlog_close(rl), PT_OK);
    cJSON *o[MAX_LINES];
    int n = parse_metrics(o);
    cr_assert_eq(n, 1);
    cr_assert_eq(cJSON_GetArraySize(o[0]), 4); /* kind, step, epoch, time */
    free_objs(o, n);
}

Test(runlog, lines_survive_sigkill)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        runlog *rl = open_quiet(0);
        for (int s = 1; s <= 5; s++) {
            runlog_scalar sc[] = {{"loss", s * 0.5}};
            runlog_step(rl, s, 0, sc, 1);
        }
        raise(SIGKILL);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    cJSON *o[MAX_LINES];
    int n = parse_metrics(o);
    cr_assert_eq(n, 5);
    cr_assert_eq(num(o[4], "loss"), 2.5);
    free_objs(o, n);
}

Test(runlog, reopen_appends_and_cuts_a_torn_last_line)
{
    runlog *rl = open_quiet(0);
    runlog_scalar sc[] = {{"loss", 1}};
    cr_assert_eq(runlog_step(rl, 1, 0, sc, 1), PT_OK);
    cr_assert_eq(runlog_close(rl), PT_OK);
    FILE *f = fopen(metrics_path(), "ab");
    fputs("{\"kind\":\"train\",\"step\":2,\"lo", f); /* a write cut short by a crash */
    fclose(f);
    rl = open_quiet(0);
    cr_assert_eq(runlog_step(rl, 2, 0, sc, 1), PT_OK);
    cr_assert_eq(runlog_close(rl), PT_OK);
    cJSON *o[MAX_LINES];
    int n = parse_metrics(o);
    cr_assert_eq(n, 2);
    cr_assert_eq(num(o[0], "step"), 1);
    cr_assert_eq(num(o[1], "step"), 2);
    free_objs(o, n);
}

Test(runlog, disk_full_is_reported_and_logging_goes_on)
{
    if (access("/dev/full", W_OK) != 0)
        cr_skip_test("no /dev/full");
    cr_assert_eq(symlink("/dev/full", metrics_path()), 0);
    runlog_options opt = {.console = RUNLOG_CONSOLE_LINES, .out = tmpfile()};
    runlog *rl = runlog_open(g_dir, 10, &opt);
    cr_assert_not_null(rl, "%s", pt_error());
    runlog_scalar sc[] = {{"loss", 1}};
    cr_assert_eq(runlog_step(rl, 1, 0, sc, 1), PT_ERR);
    cr_assert_not_null(strstr(pt_error(), "metrics.jsonl"), "%s", pt_error());
    cr_assert_not_null(strstr(pt_error(), "No space left"), "%s", pt_error());
    cr_assert_eq(runlog_step(rl, 2, 0, sc, 1), PT_ERR); /* still usable, still failing */
    runlog_close(rl);
    rewind(opt.out);
    char buf[256] = "";
    cr_assert_not_null(fgets(buf, sizeof buf, opt.out));
    cr_assert_not_null(strstr(buf, "step 1/10"), "the console keeps going: %s", buf);
    fclose(opt.out);
}

Test(runlog, missing_run_dir_is_reported)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/absent", g_dir);
    cr_assert_null(runlog_open(dir, 10, NULL));
    cr_assert_not_null(strstr(pt_error(), "absent/metrics.jsonl"), "%s", pt_error());
}

/* ---------------------------------------------------------------- truncation on resume */

/* Steps 10, 20, ..., 100 with evals at 50 and 100, then a torn line; returns the file text. */
static char *write_history(void)
{
    runlog *rl = open_quiet(100);
    for (int s = 10; s <= 100; s += 10) {
        runlog_scalar sc[] = {{"loss", 1.0 / s}, {"lr", 0.1}};
        cr_assert_eq(runlog_step(rl, s, s / 30, sc, 2), PT_OK);
        if (s % 50 == 0) {
            runlog_scalar ev[] = {{"accuracy", s / 100.0}};
            cr_assert_eq(runlog_eval(rl, s, s / 30, ev, 1), PT_OK);
        }
    }
    cr_assert_eq(runlog_close(rl), PT_OK);
    FILE *f = fopen(metrics_path(), "ab");
    fputs("{\"kind\":\"train\",\"step\":110,\"loss\":0.0", f);
    fclose(f);
    return slurp(metrics_path(), NULL);
}

/* Length of the first n lines of text (newlines included). */
static size_t prefix_of_lines(const char *text, int n)
{
    const char *p = text;
    for (int i = 0; i < n; i++) {
        p = strchr(p, '\n');
        cr_assert_not_null(p);
        p++;
    }
    return (size_t)(p - text);
}

Test(runlog, truncate_after_keeps_exactly_the_lines_up_to_step)
{
    char *before = write_history();
    long removed = -1;
    cr_assert_eq(runlog_truncate_after(g_dir, 50, &removed), PT_OK, "%s", pt_error());
    /* kept: train 10..50 and eval 50 (6 lines); gone: train 60..100, eval 100, the torn line */
    cr_assert_eq(removed, 7);
    size_t len = 0;
    char *after = slurp(metrics_path(), &len);
    size_t want = prefix_of_lines(before, 6);
    cr_assert_eq(len, want, "kept %zu bytes, expected %zu", len, want);
    cr_assert_eq(memcmp(after, before, want), 0, "kept lines must be byte-identical");
    cJSON *o[MAX_LINES];
    int n = parse_metrics(o);
    cr_assert_eq(n, 6);
    cr_assert_str_eq(str(o[5], "kind"), "eval");
    cr_assert_eq(num(o[5], "step"), 50);
    free_objs(o, n);
    cr_assert_eq(count_entries(g_dir), 1, "no temp file may be left behind");
    free(before);
    free(after);
}

Test(runlog, truncate_after_edge_steps)
{
    char *before = write_history();
    long removed = -1;
    cr_assert_eq(runlog_truncate_after(g_dir, 55, &removed), PT_OK);
    cr_assert_eq(removed, 7); /* same as 50: there is no line between 50 and 60 */
    cr_assert_eq(runlog_truncate_after(g_dir, 9, &removed), PT_OK);
    cr_assert_eq(removed, 6);
    size_t len = 99;
    char *after = slurp(metrics_path(), &len);
    cr_assert_eq(len, 0u);
    free(after);
    free(before);
}

Test(runlog, truncate_after_that_drops_nothing_leaves_the_file_alone)
{
    runlog *rl = open_quiet(0);
    runlog_scalar sc[] = {{"loss", 1}};
    cr_assert_eq(runlog_step(rl, 5, 0, sc, 1), PT_OK);
    cr_assert_eq(runlog_close(rl), PT_OK);
    struct stat a, b;
    cr_assert_eq(stat(metrics_path(), &a), 0);
    long removed = -1;
    cr_assert_eq(runlog_truncate_after(g_dir, 5, &removed), PT_OK);
    cr_assert_eq(removed, 0);
    cr_assert_eq(stat(metrics_path(), &b), 0);
    cr_assert_eq(a.st_ino, b.st_ino, "the file must not be rewritten");
}

Test(runlog, truncate_after_without_a_file_is_fine)
{
    long removed = -1;
    cr_assert_eq(runlog_truncate_after(g_dir, 10, &removed), PT_OK, "%s", pt_error());
    cr_assert_eq(removed, 0);
    cr_assert_eq(access(metrics_path(), F_OK), -1);
}

Test(runlog, truncate_then_resume_appends_after_the_kept_lines)
{
    char *before = write_history();
    cr_assert_eq(runlog_truncate_after(g_dir, 30, NULL), PT_OK);
    runlog *rl = open_quiet(100);
    runlog_scalar sc[] = {{"loss", 0.01}};
    cr_assert_eq(runlog_step(rl, 40, 1, sc, 1), PT_OK);
    cr_assert_eq(runlog_close(rl), PT_OK);
    cJSON *o[MAX_LINES];
    int n = parse_metrics(o);
    cr_assert_eq(n, 4);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(num(o[i], "step"), 10 * (i + 1));
    free_objs(o, n);
    free(before);
}

/* ---------------------------------------------------------------- console */

/* Everything written to f so far. */
static char *contents(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    rewind(f);
    char *buf = calloc((size_t)n + 1, 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    return buf;
}

Test(runlog, plain_lines_when_not_a_terminal)
{
    FILE *out = tmpfile();
    runlog_options opt = {.console = RUNLOG_CONSOLE_AUTO, .out = out};
    runlog *rl = runlog_open(g_dir, 100, &opt);
    cr_assert_not_null(rl);
    runlog_scalar sc[] = {{"loss", 0.5}, {"lr", 0.001}};
    cr_assert_eq(runlog_step(rl, 10, 0, sc, 2), PT_OK);
    cr_assert_eq(runlog_step(rl, 20, 1, sc, 2), PT_OK);
    runlog_scalar ev[] = {{"accuracy", 0.8125}};
    cr_assert_eq(runlog_eval(rl, 20, 1, ev, 1), PT_OK);
    runlog_printf(rl, "saved checkpoint %s", "last.ckpt");
    runlog_printf(rl, "already ended\n");
    char longer[2000];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    runlog_printf(rl, "%s", longer);
    cr_assert_eq(runlog_close(rl), PT_OK);
    char *text = contents(out);
    cr_assert_null(strchr(text, '\r'), "no bar in plain mode: %s", text);
    cr_assert_null(strchr(text, '\033'), "no escapes in plain mode: %s", text);
    cr_assert_not_null(strstr(text, "step 10/100 (10%) epoch 0 loss 0.5 lr 0.001 |"), "%s", text);
    cr_assert_not_null(strstr(text, "step 20/100 (20%) epoch 1 loss 0.5"), "%s", text);
    cr_assert_not_null(strstr(text, "ETA "), "%s", text);
    cr_assert_not_null(strstr(text, "eval step 20 epoch 1: accuracy 0.8125\n"), "%s", text);
    cr_assert_not_null(strstr(text, "saved checkpoint last.ckpt\nalready ended\nxxx"), "%s",
                       text);
    cr_assert_not_null(strstr(text, "xxx\n"), "%s", text);
    cr_assert_eq(strspn(strstr(text, "xxx"), "x"), 1999u, "a long message is printed whole");
    free(text);
    fclose(out);
}

Test(runlog, plain_lines_respect_the_interval_and_print_the_last_step)
{
    FILE *out = tmpfile();
    runlog_options opt = {.console = RUNLOG_CONSOLE_LINES, .out = out, .line_interval_s = 1000};
    runlog *rl = runlog_open(g_dir, 30, &opt);
    runlog_scalar sc[] = {{"loss", 1}};
    for (int s = 1; s <= 30; s++)
        runlog_step(rl, s, 0, sc, 1);
    runlog_close(rl);
    char *text = contents(out);
    cr_assert_not_null(strstr(text, "step 1/30 "), "%s", text);
    cr_assert_null(strstr(text, "step 2/30 "), "%s", text);
    cr_assert_not_null(strstr(text, "step 30/30 (100%)"), "%s", text);
    free(text);
    fclose(out);
}

Test(runlog, bar_is_redrawn_in_place_and_fits_the_width)
{
    FILE *out = tmpfile();
    runlog_options opt = {.console = RUNLOG_CONSOLE_BAR, .out = out, .width = 80,
                          .bar_interval_s = -1};
    runlog *rl = runlog_open(g_dir, 200, &opt);
    for (int s = 1; s <= 100; s++) {
        runlog_scalar sc[] = {{"loss", 0.25}, {"images_per_s", 812}};
        cr_assert_eq(runlog_step(rl, s, 0, sc, 2), PT_OK);
    }
    runlog_scalar ev[] = {{"accuracy", 0.5}};
    runlog_eval(rl, 100, 0, ev, 1);
    runlog_progress(rl, 101, 0);
    runlog_close(rl);
    char *text = contents(out);
    const char *half = strstr(text, "] 100/200  50% ep 0 loss 0.25 812 img/s ETA ");
    cr_assert_not_null(half, "%s", text);
    int hashes = 0, dots = 0;
    const char *p = half - 1;
    for (; p > text && (*p == '#' || *p == '.'); p--)
        *p == '#' ? hashes++ : dots++;
    cr_assert(*p == '[' && p[-1] == '\r', "bar starts the line: %s", text);
    cr_assert(hashes + dots >= 8 && (hashes == dots || hashes + 1 == dots),
              "half full at 50%%: %d # and %d .", hashes, dots);
    cr_assert_not_null(strstr(text, "\r\033[Keval step 100 epoch 0: accuracy 0.5\n"), "%s", text);
    cr_assert_not_null(strstr(text, " 101/200  50%"), "runlog_progress redraws: %s", text);
    cr_assert_eq(text[strlen(text) - 1], '\n', "close ends the bar line");
    /* every drawn bar is at most 79 columns */
    for (char *p = strchr(text, '\r'); p; p = strchr(p + 1, '\r')) {
        size_t n = strcspn(p + 1, "\r\033\n");
        cr_assert_leq(n, 79u, "bar of %zu columns", n);
    }
    free(text);
    fclose(out);
}

Test(runlog, auto_draws_a_bar_on_a_terminal_but_not_a_dumb_one)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0)
        cr_skip_test("no pseudo-terminal");
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    cr_assert_geq(slave, 0);
    FILE *out = fdopen(slave, "w");
    cr_assert_not_null(out);
    runlog_scalar sc[] = {{"loss", 0.5}};
    char buf[4096];

    setenv("TERM", "xterm", 1);
    runlog_options opt = {.console = RUNLOG_CONSOLE_AUTO, .out = out, .width = 70};
    runlog *rl = runlog_open(g_dir, 10, &opt);
    runlog_step(rl, 5, 0, sc, 1);
    runlog_close(rl);
    ssize_t n = read(master, buf, sizeof buf - 1);
    cr_assert_gt(n, 0);
    buf[n] = '\0';
    cr_assert_not_null(strstr(buf, "\r[") , "a bar on a terminal: %s", buf);

    setenv("TERM", "dumb", 1);
    rl = runlog_open(g_dir, 10, &opt);
    runlog_step(rl, 6, 0, sc, 1);
    runlog_close(rl);
    n = read(master, buf, sizeof buf - 1);
    cr_assert_gt(n, 0);
    buf[n] = '\0';
    cr_assert_not_null(strstr(buf, "step 6/10 (60%)"), "plain lines for TERM=dumb: %s", buf);
    cr_assert_null(strstr(buf, "\033["), "%s", buf);
    fclose(out);
    close(master);
}

Test(runlog, bar_without_total_or_throughput)
{
    FILE *out = tmpfile();
    runlog_options opt = {.console = RUNLOG_CONSOLE_BAR, .out = out, .width = 60};
    runlog *rl = runlog_open(g_dir, 0, &opt);
    runlog_scalar sc[] = {{"loss", 3}};
    runlog_step(rl, 7, 2, sc, 1);
    runlog_close(rl);
    char *text = contents(out);
    cr_assert_not_null(strstr(text, "\r step 7 ep 2 loss 3 ETA --:--"), "%s", text);
    free(text);
    fclose(out);
}

Test(runlog, console_off_prints_nothing)
{
    FILE *out = tmpfile();
    runlog_options opt = {.console = RUNLOG_CONSOLE_OFF, .out = out};
    runlog *rl = runlog_open(g_dir, 10, &opt);
    runlog_scalar sc[] = {{"loss", 3}};
    runlog_step(rl, 1, 0, sc, 1);
    runlog_eval(rl, 1, 0, sc, 1);
    runlog_printf(rl, "hello");
    runlog_close(rl);
    cr_assert_eq(ftell(out), 0);
    fclose(out);
}

/* ---------------------------------------------------------------- TensorBoard */

/* The one events file in g_dir (static buffer). */
static const char *events_file(void)
{
    static char path[4200];
    DIR *d = opendir(g_dir);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "events.out.tfevents.", 20) == 0) {
            snprintf(path, sizeof path, "%s/%s", g_dir, e->d_name);
            found++;
        }
    }
    closedir(d);
    cr_assert_eq(found, 1, "expected one event file, found %d", found);
    return path;
}

Test(runlog, tensorboard_gets_the_same_scalars)
{
    runlog_options opt = {.console = RUNLOG_CONSOLE_OFF, .tensorboard = 1, .resume_step = 4};
    runlog *rl = runlog_open(g_dir, 10, &opt);
    cr_assert_not_null(rl, "%s", pt_error());
    runlog_scalar s5[] = {{"loss", 0.5}, {"loss/cls", NAN}, {"lr", 0.01}};
    runlog_scalar s6[] = {{"loss", 0.25}, {"loss/cls", 0.125}, {"lr", 0.01}};
    runlog_scalar ev[] = {{"accuracy", 0.75}};
    cr_assert_eq(runlog_step(rl, 5, 0, s5, 3), PT_OK);
    cr_assert_eq(runlog_step(rl, 6, 0, s6, 3), PT_OK);
    cr_assert_eq(runlog_eval(rl, 6, 0, ev, 1), PT_OK);
    cr_assert_eq(runlog_close(rl), PT_OK);
    char expect[4200], args[9000];
    snprintf(expect, sizeof expect, "%s/expect.json", g_dir);
    FILE *f = fopen(expect, "w");
    fputs("{\"purge_step\": 5, \"events\": ["
          "{\"step\": 5, \"values\": {\"loss\": 0.5, \"loss/cls\": \"nan\", \"lr\": 0.01}},"
          "{\"step\": 6, \"values\": {\"loss\": 0.25, \"loss/cls\": 0.125, \"lr\": 0.01}},"
          "{\"step\": 6, \"values\": {\"eval/accuracy\": 0.75}}]}", f);
    fclose(f);
    snprintf(args, sizeof args, "'%s' '%s'", events_file(), expect);
    cr_assert_eq(tst_python("tb_read.py", args), 0);
}
