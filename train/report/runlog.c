/*
 * runlog.c - the run logger: metrics.jsonl lines, the console bar or plain lines, TensorBoard
 * scalars, and the resume-time truncation of metrics.jsonl.
 *
 * Owns: everything behind runlog.h. The pieces, top to bottom: a small string builder, JSON
 * encoding of one record, the append-only metrics file (one write() per line, cut back on a
 * failed write), the console (bar and plain lines), the public calls, runlog_truncate_after.
 */
#include "report/runlog.h"

#include "report/bytebuf.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "report/tbevents.h"
#include "fileio.h"

#define METRICS_FILE "metrics.jsonl"
#define BAR_MAX 512

struct runlog {
    char *path;          /* RUN_DIR/metrics.jsonl */
    int fd;              /* opened O_APPEND */
    int regular;         /* the file is a regular file (it can be cut back) */
    uint64_t size;       /* bytes of complete lines in it */
    tb_writer *tb;       /* NULL unless options.tensorboard */
    int64_t total;       /* total steps, <= 0 unknown */
    runlog_console mode; /* resolved: BAR, LINES or OFF */
    FILE *out;
    double bar_interval, line_interval;
    int width;
    /* progress state */
    int started;
    double t0;     /* monotonic time of the first call */
    int64_t step0; /* step at the first call */
    double last_draw, last_line;
    int bar_shown; /* a bar is on the current console line */
    char bar[BAR_MAX];
    int64_t step, epoch;
    double loss, ips;
    int has_loss, has_ips;
};

static const char *const reserved_keys[] = {"kind", "step", "epoch", "time", "nonfinite"};

/* ---------------------------------------------------------------- JSON encoding */

static void json_string(bytebuf *b, const char *s)
{
    bb_put(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            char esc[2] = {'\\', (char)*c};
            bb_put(b, esc, 2);
        } else if (*c < 0x20) {
            bb_printf(b, "\\u%04x", (unsigned)*c);
        } else {
            bb_put(b, (const char *)c, 1);
        }
    }
    bb_put(b, "\"", 1);
}

/* A finite double in the shortest of %.15g / %.17g that reads back exactly. */
static void json_number(bytebuf *b, double v)
{
    char tmp[40];
    snprintf(tmp, sizeof tmp, "%.15g", v);
    if (strtod(tmp, NULL) != v)
        snprintf(tmp, sizeof tmp, "%.17g", v);
    bb_puts(b, tmp);
}

static const char *nonfinite_name(double v)
{
    return isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
}

/* {"kind":..,"step":..,"epoch":..,"time":..,<scalars>[,"nonfinite":{..}]}\n */
static void json_record(bytebuf *b, const char *kind, int64_t step, int64_t epoch, double wall,
                        const runlog_scalar *s, int n)
{
    bb_puts(b, "{\"kind\":");
    json_string(b, kind);
    bb_printf(b, ",\"step\":%lld,\"epoch\":%lld,\"time\":%.3f", (long long)step,
              (long long)epoch, wall);
    int nonfinite = 0;
    for (int i = 0; i < n; i++) {
        bb_put(b, ",", 1);
        json_string(b, s[i].name);
        bb_put(b, ":", 1);
        if (isfinite(s[i].value)) {
            json_number(b, s[i].value);
        } else {
            bb_puts(b, "null");
            nonfinite++;
        }
    }
    if (nonfinite) {
        bb_puts(b, ",\"nonfinite\":{");
        int first = 1;
        for (int i = 0; i < n; i++) {
            if (isfinite(s[i].value))
                continue;
            if (!first)
                bb_put(b, ",", 1);
            first = 0;
            json_string(b, s[i].name);
            bb_put(b, ":", 1);
            json_string(b, nonfinite_name(s[i].value));
        }
        bb_put(b, "}", 1);
    }
    bb_puts(b, "}\n");
}

/* Names must be non-empty, not reserved, unique within the call. */
static pt_status check_names(const char *what, const runlog_scalar *s, int n)
{
    if (n < 0 || (n > 0 && !s)) {
        pt_error_set("%s: invalid scalar list (n = %d)", what, n);
        return PT_ERR;
    }
    for (int i = 0; i < n; i++) {
        if (!s[i].name || !s[i].name[0]) {
            pt_error_set("%s: scalar %d has no name", what, i);
            return PT_ERR;
        }
        for (size_t r = 0; r < sizeof reserved_keys / sizeof reserved_keys[0]; r++) {
            if (strcmp(s[i].name, reserved_keys[r]) == 0) {
                pt_error_set("%s: '%s' is a reserved key of metrics.jsonl and cannot name a "
                             "scalar", what, s[i].name);
                return PT_ERR;
            }
        }
        for (int j = 0; j < i; j++) {
            if (strcmp(s[i].name, s[j].name) == 0) {
                pt_error_set("%s: scalar '%s' is given twice", what, s[i].name);
                return PT_ERR;
            }
        }
    }
    return PT_OK;
}

/* ---------------------------------------------------------------- the metrics file */

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Offset just past the last '\n' in the first size bytes of fd (0 if there is none), or -1. */
static off_t last_line_end(int fd, off_t size)
{
    char chunk[4096];
    off_t end = size;
    while (end > 0) {
        off_t start = end > (off_t)sizeof chunk ? end - (off_t)sizeof chunk : 0;
        ssize_t k = pread(fd, chunk, (size_t)(end - start), start);
        if (k < 0 && errno == EINTR)
            continue;
        if (k != (ssize_t)(end - start))
            return -1;
        for (ssize_t i = k - 1; i >= 0; i--)
            if (chunk[i] == '\n')
                return start + i + 1;
        end = start;
    }
    return 0;
}

/* Records the file's size, cutting off an incomplete last line left by a crash. */
static pt_status metrics_repair_tail(runlog *rl)
{
    struct stat st;
    if (fstat(rl->fd, &st) != 0) {
        pt_error_set("cannot stat '%s': %s", rl->path, strerror(errno));
        return PT_ERR;
    }
    rl->regular = S_ISREG(st.st_mode);
    if (!rl->regular || st.st_size == 0)
        return PT_OK;
    off_t keep = last_line_end(rl->fd, st.st_size);
    if (keep < 0) {
        pt_error_set("cannot read '%s': %s", rl->path, strerror(errno));
        return PT_ERR;
    }
    if (keep != st.st_size && ftruncate(rl->fd, keep) != 0) {
        pt_error_set("cannot cut the incomplete last line of '%s': %s", rl->path,
                     strerror(errno));
        return PT_ERR;
    }
    rl->size = (uint64_t)keep;
    return PT_OK;
}

static pt_status metrics_append(runlog *rl, const char *line, size_t len)
{
    if (pt_write_all(rl->fd, line, len) != 0) {
        int err = errno;
        if (rl->regular && ftruncate(rl->fd, (off_t)rl->size) != 0) {
            /* the torn line stays; runlog_open and the readers drop it */
        }
        pt_error_set("cannot append to '%s': %s", rl->path, strerror(err));
        return PT_ERR;
    }
    rl->size += len;
    return PT_OK;
}

static char *join_path(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s", dir, name);
    return p;
}

/* ---------------------------------------------------------------- console */

static void format_duration(double s, char *out, size_t cap)
{
    if (!isfinite(s) || s < 0) {
        snprintf(out, cap, "--:--");
        return;
    }
    long long t = (long long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, cap, "%lld:%02lld:%02lld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, cap, "%02lld:%02lld", t / 60, t % 60);
}

/* Steps per second since the first call of this session; 0 while unknown. */
static double step_rate(const runlog *rl, double now)
{
    double dt = now - rl->t0;
    if (!rl->started || dt <= 0 || rl->step <= rl->step0)
        return 0;
    return (double)(rl->step - rl->step0) / dt;
}

static void eta_text(const runlog *rl, double now, char *out, size_t cap)
{
    double rate = step_rate(rl, now);
    if (rl->total <= 0 || rate <= 0) {
        format_duration(-1, out, cap);
        return;
    }
    double left = (double)(rl->total - rl->step);
    format_duration(left > 0 ? left / rate : 0, out, cap);
}

static int console_width(const runlog *rl)
{
    if (rl->width > 0)
        return rl->width;
    struct winsize ws;
    if (ioctl(fileno(rl->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *cols = getenv("COLUMNS");
    int c = cols ? atoi(cols) : 0;
    return c > 0 ? c : 100;
}

static int percent(const runlog *rl)
{
    if (rl->total <= 0)
        return -1;
    double p = 100.0 * (double)rl->step / (double)rl->total;
    return p < 0 ? 0 : p > 100 ? 100 : (int)p;
}

/* The bar line for the current state into rl->bar (without '\r' or escapes). */
static void bar_compose(runlog *rl, double now)
{
    char text[256], eta[32], speed[48] = "", lossbuf[48] = "", counter[64];
    eta_text(rl, now, eta, sizeof eta);
    if (rl->has_ips)
        snprintf(speed, sizeof speed, " %.4g img/s", rl->ips);
    else if (step_rate(rl, now) > 0)
        snprintf(speed, sizeof speed, " %.3g step/s", step_rate(rl, now));
    if (rl->has_loss)
        snprintf(lossbuf, sizeof lossbuf, " loss %.4g", rl->loss);
    if (rl->total > 0)
        snprintf(counter, sizeof counter, " %lld/%lld %3d%%", (long long)rl->step,
                 (long long)rl->total, percent(rl));
    else
        snprintf(counter, sizeof counter, " step %lld", (long long)rl->step);
    snprintf(text, sizeof text, "%s ep %lld%s%s ETA %s", counter, (long long)rl->epoch, lossbuf,
             speed, eta);

    int width = console_width(rl) - 1; /* never write the last column: no auto-wrap */
    if (width >= BAR_MAX)
        width = BAR_MAX - 1;
    int room = width - (int)strlen(text) - 2;
    int cells = room > 30 ? 30 : room;
    size_t n = 0;
    if (rl->total > 0 && cells >= 8) {
        int full = (int)((double)cells * (double)percent(rl) / 100.0);
        rl->bar[n++] = '[';
        for (int i = 0; i < cells; i++)
            rl->bar[n++] = i < full ? '#' : '.';
        rl->bar[n++] = ']';
    }
    snprintf(rl->bar + n, sizeof rl->bar - n, "%s", text);
    if (width > 0 && strlen(rl->bar) > (size_t)width)
        rl->bar[width] = '\0';
}

static void bar_draw(runlog *rl, double now, int force)
{
    if (rl->mode != RUNLOG_CONSOLE_BAR)
        return;
    int last = rl->total > 0 && rl->step >= rl->total;
    if (!force && !last && rl->bar_shown && rl->bar_interval > 0 &&
        now - rl->last_draw < rl->bar_interval)
        return;
    bar_compose(rl, now);
    fprintf(rl->out, "\r%s\033[K", rl->bar);
    fflush(rl->out);
    rl->bar_shown = 1;
    rl->last_draw = now;
}

/* Clears the bar from the current line so a message can be printed there. */
static void bar_hide(runlog *rl)
{
    if (rl->mode == RUNLOG_CONSOLE_BAR && rl->bar_shown)
        fputs("\r\033[K", rl->out);
}

/* Puts the last bar back after a message. */
static void bar_restore(runlog *rl)
{
    if (rl->mode == RUNLOG_CONSOLE_BAR && rl->bar_shown) {
        fprintf(rl->out, "\r%s\033[K", rl->bar);
        fflush(rl->out);
    }
}

static void progress_update(runlog *rl, int64_t step, int64_t epoch, double now)
{
    if (!rl->started) {
        rl->started = 1;
        rl->t0 = now;
        rl->step0 = step;
    }
    rl->step = step;
    rl->epoch = epoch;
}

static void print_scalars(FILE *out, const runlog_scalar *s, int n)
{
    for (int i = 0; i < n; i++)
        fprintf(out, "%s%s %.4g", i ? " " : "", s[i].name, s[i].value);
}

static void line_print(runlog *rl, const runlog_scalar *s, int n, double now)
{
    int last = rl->total > 0 && rl->step >= rl->total;
    if (rl->mode != RUNLOG_CONSOLE_LINES)
        return;
    if (rl->line_interval > 0 && rl->last_line > 0 && !last &&
        now - rl->last_line < rl->line_interval)
        return;
    char eta[32];
    eta_text(rl, now, eta, sizeof eta);
    if (rl->total > 0)
        fprintf(rl->out, "step %lld/%lld (%d%%) epoch %lld", (long long)rl->step,
                (long long)rl->total, percent(rl), (long long)rl->epoch);
    else
        fprintf(rl->out, "step %lld epoch %lld", (long long)rl->step, (long long)rl->epoch);
    if (n > 0)
        fputc(' ', rl->out);
    print_scalars(rl->out, s, n);
    fprintf(rl->out, " | %.3g step/s ETA %s\n", step_rate(rl, now), eta);
    fflush(rl->out);
    rl->last_line = now;
}

/* Remembers the values the bar shows. */
static void remember_bar_values(runlog *rl, const runlog_scalar *s, int n)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(s[i].name, "loss") == 0) {
            rl->loss = s[i].value;
            rl->has_loss = 1;
        } else if (strcmp(s[i].name, "images_per_s") == 0) {
            rl->ips = s[i].value;
            rl->has_ips = 1;
        }
    }
}

/* ---------------------------------------------------------------- TensorBoard */

/* Writes s to the event file, names prefixed with prefix ("" or "eval/"). */
static pt_status tb_log(runlog *rl, const char *prefix, int64_t step, double wall,
                        const runlog_scalar *s, int n)
{
    if (!rl->tb || n == 0)
        return PT_OK;
    size_t plen = strlen(prefix);
    const char **tags = calloc((size_t)n, sizeof *tags);
    double *values = calloc((size_t)n, sizeof *values);
    pt_status st = (tags && values) ? PT_OK : PT_ERR;
    for (int i = 0; st == PT_OK && i < n; i++) {
        size_t len = plen + strlen(s[i].name) + 1;
        char *t = malloc(len);
        if (!t) {
            st = PT_ERR;
            break;
        }
        snprintf(t, len, "%s%s", prefix, s[i].name);
        tags[i] = t;
        values[i] = s[i].value;
    }
    if (st == PT_OK)
        st = tb_writer_add_scalars(rl->tb, step, wall, tags, values, n);
    else
        pt_error_set("cannot write TensorBoard scalars: out of memory");
    for (int i = 0; tags && i < n; i++)
        free((char *)tags[i]);
    free(tags);
    free(values);
    return st;
}

/* ---------------------------------------------------------------- public calls */

static void runlog_free(runlog *rl)
{
    if (!rl)
        return;
    if (rl->fd >= 0)
        close(rl->fd);
    free(rl->path);
    free(rl);
}

static runlog_console resolve_console(runlog_console want, FILE *out)
{
    if (want != RUNLOG_CONSOLE_AUTO)
        return want;
    const char *term = getenv("TERM");
    int dumb = term && strcmp(term, "dumb") == 0; /* no cursor control: '\r' and erase fail */
    return isatty(fileno(out)) && !dumb ? RUNLOG_CONSOLE_BAR : RUNLOG_CONSOLE_LINES;
}

static void apply_options(runlog *rl, const runlog_options *opt)
{
    runlog_options o = {0};
    if (opt)
        o = *opt;
    rl->out = o.out ? o.out : stdout;
    rl->mode = resolve_console(o.console, rl->out);
    rl->bar_interval = o.bar_interval_s != 0 ? o.bar_interval_s : 0.1;
    rl->line_interval = o.line_interval_s > 0 ? o.line_interval_s : 0;
    rl->width = o.width > 0 ? o.width : 0;
}

runlog *runlog_open(const char *run_dir, int64_t total_steps, const runlog_options *opt)
{
    if (!run_dir || !*run_dir) {
        pt_error_set("runlog_open: empty run directory");
        return NULL;
    }
    runlog *rl = calloc(1, sizeof *rl);
    if (!rl || !(rl->path = join_path(run_dir, METRICS_FILE))) {
        free(rl);
        pt_error_set("runlog_open '%s': out of memory", run_dir);
        return NULL;
    }
    rl->fd = open(rl->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (rl->fd < 0) {
        pt_error_set("cannot open '%s': %s", rl->path, strerror(errno));
        runlog_free(rl);
        return NULL;
    }
    if (metrics_repair_tail(rl) != PT_OK) {
        runlog_free(rl);
        return NULL;
    }
    rl->total = total_steps;
    apply_options(rl, opt);
    if (opt && opt->tensorboard) {
        rl->tb = tb_writer_open(run_dir, opt->resume_step > 0 ? opt->resume_step + 1 : -1);
        if (!rl->tb) {
            runlog_free(rl);
            return NULL;
        }
    }
    return rl;
}

/* One record of kind to the file and TensorBoard; the first failure's status is returned. */
static pt_status log_record(runlog *rl, const char *kind, const char *tb_prefix, int64_t step,
                            int64_t epoch, const runlog_scalar *s, int n, double wall)
{
    bytebuf line = {0};
    json_record(&line, kind, step, epoch, wall, s, n);
    pt_status st;
    if (line.oom) {
        pt_error_set("cannot append to '%s': out of memory", rl->path);
        st = PT_ERR;
    } else {
        st = metrics_append(rl, line.p, line.n);
    }
    free(line.p);
    pt_status tb = tb_log(rl, tb_prefix, step, wall, s, n);
    return st != PT_OK ? st : tb;
}

pt_status runlog_step(runlog *rl, int64_t step, int64_t epoch, const runlog_scalar *scalars,
                      int n)
{
    if (!rl) {
        pt_error_set("runlog_step: NULL runlog");
        return PT_ERR;
    }
    if (check_names("runlog_step", scalars, n) != PT_OK)
        return PT_ERR;
    double now = mono_now();
    pt_status st = log_record(rl, "train", "", step, epoch, scalars, n, wall_now());
    progress_update(rl, step, epoch, now);
    remember_bar_values(rl, scalars, n);
    bar_draw(rl, now, 0);
    line_print(rl, scalars, n, now);
    return st;
}

pt_status runlog_eval(runlog *rl, int64_t step, int64_t epoch, const runlog_scalar *metrics,
                      int n)
{
    if (!rl) {
        pt_error_set("runlog_eval: NULL runlog");
        return PT_ERR;
    }
    if (check_names("runlog_eval", metrics, n) != PT_OK)
        return PT_ERR;
    pt_status st = log_record(rl, "eval", "eval/", step, epoch, metrics, n, wall_now());
    if (rl->mode != RUNLOG_CONSOLE_OFF) {
        bar_hide(rl);
        fprintf(rl->out, "eval step %lld epoch %lld:", (long long)step, (long long)epoch);
        if (n > 0)
            fputc(' ', rl->out);
        print_scalars(rl->out, metrics, n);
        fputc('\n', rl->out);
        bar_restore(rl);
        fflush(rl->out);
    }
    return st;
}

void runlog_progress(runlog *rl, int64_t step, int64_t epoch)
{
    if (!rl)
        return;
    double now = mono_now();
    progress_update(rl, step, epoch, now);
    bar_draw(rl, now, 0);
}

void runlog_printf(runlog *rl, const char *fmt, ...)
{
    if (!rl || !fmt || rl->mode == RUNLOG_CONSOLE_OFF)
        return;
    char small[512], *msg = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof small && (msg = malloc((size_t)n + 1)) != NULL) {
        va_start(ap, fmt);
        vsnprintf(msg, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    if (!msg)
        msg = small; /* out of memory: print the truncated message */
    size_t len = strlen(msg);
    bar_hide(rl);
    fputs(msg, rl->out);
    if (len == 0 || msg[len - 1] != '\n')
        fputc('\n', rl->out);
    bar_restore(rl);
    fflush(rl->out);
    if (msg != small)
        free(msg);
}

pt_status runlog_close(runlog *rl)
{
    if (!rl)
        return PT_OK;
    if (rl->mode == RUNLOG_CONSOLE_BAR && rl->bar_shown) {
        bar_draw(rl, mono_now(), 1);
        fputc('\n', rl->out);
        fflush(rl->out);
    }
    pt_status st = tb_writer_close(rl->tb);
    rl->tb = NULL;
    if (rl->regular && fsync(rl->fd) != 0 && st == PT_OK) {
        pt_error_set("cannot sync '%s': %s", rl->path, strerror(errno));
        st = PT_ERR;
    }
    if (close(rl->fd) != 0 && st == PT_OK) {
        pt_error_set("cannot close '%s': %s", rl->path, strerror(errno));
        st = PT_ERR;
    }
    rl->fd = -1;
    runlog_free(rl);
    return st;
}

/* ---------------------------------------------------------------- truncation on resume */

/* Reads a whole file into a NUL-terminated heap buffer. Returns 0, -1 with errno. */
static int read_whole(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    bytebuf b = {0};
    char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        bb_put(&b, chunk, k);
    int err = ferror(f) ? EIO : b.oom ? ENOMEM : 0;
    fclose(f);
    if (err) {
        free(b.p);
        errno = err;
        return -1;
    }
    if (!b.p)
        bb_put(&b, "", 0);
    if (b.oom) {
        errno = ENOMEM;
        return -1;
    }
    *data = b.p;
    *len = b.n;
    return 0;
}

/* 1 if line (len bytes, no newline) is exactly one JSON object (surrounding white space
 * allowed) whose numeric "step" is <= step. */
static int line_kept(const char *line, size_t len, int64_t step)
{
    const char *end = NULL;
    cJSON *obj = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    int whole = obj != NULL;
    for (const char *c = end; whole && c < line + len; c++)
        whole = (*c == ' ' || *c == '\t' || *c == '\r');
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(obj, "step");
    int keep = whole && cJSON_IsObject(obj) && cJSON_IsNumber(s) && s->valuedouble <= (double)step;
    cJSON_Delete(obj);
    return keep;
}

pt_status runlog_truncate_after(const char *run_dir, int64_t step, long *removed)
{
    if (removed)
        *removed = 0;
    if (!run_dir || !*run_dir) {
        pt_error_set("runlog_truncate_after: empty run directory");
        return PT_ERR;
    }
    char *path = join_path(run_dir, METRICS_FILE);
    char *data = NULL;
    size_t len = 0;
    if (!path) {
        pt_error_set("runlog_truncate_after '%s': out of memory", run_dir);
        return PT_ERR;
    }
    if (read_whole(path, &data, &len) != 0) {
        int err = errno;
        pt_status st = err == ENOENT ? PT_OK : PT_ERR;
        if (st != PT_OK)
            pt_error_set("cannot read '%s': %s", path, strerror(err));
        free(path);
        return st;
    }
    bytebuf kept = {0};
    long dropped = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(data + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - data) : len;
        if (nl && line_kept(data + at, end - at, step))
            bb_put(&kept, data + at, end - at + 1);
        else
            dropped++;
        at = end + 1;
    }
    pt_status st = PT_OK;
    if (kept.oom) {
        pt_error_set("cannot rewrite '%s': out of memory", path);
        st = PT_ERR;
    } else if (dropped > 0) {
        st = pt_write_file_atomic(path, kept.p ? kept.p : "", kept.n);
    }
    if (st == PT_OK && removed)
        *removed = dropped;
    free(kept.p);
    free(data);
    free(path);
    return st;
}
