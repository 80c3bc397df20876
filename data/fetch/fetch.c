/* fetch.c - see fetch.h: libcurl into a .part file, resume, retries, SHA-256 (libcrypto), and
 * the atomic move into the cache. */
#include "fetch/fetch.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "base/err.h"
#include "fileio.h"

#define MAX_BACKOFF_S 30.0

/* ------------------------------------------------------------------ small helpers */

int fetch_is_url(const char *s)
{
    return s && (!strncmp(s, "http://", 7) || !strncmp(s, "https://", 8) ||
                 !strncmp(s, "file://", 7));
}

const char *fetch_cache_dir(char *buf, size_t n)
{
    const char *v = getenv("PICTOR_CACHE");
    if (v && *v)
        snprintf(buf, n, "%s", v);
    else if ((v = getenv("XDG_CACHE_HOME")) && *v)
        snprintf(buf, n, "%s/pictor", v);
    else if ((v = getenv("HOME")) && *v)
        snprintf(buf, n, "%s/.cache/pictor", v);
    else
        snprintf(buf, n, "/tmp/pictor-cache");
    return buf;
}

static int make_dirs(const char *path, char *err, size_t errlen)
{
    if (pt_make_dirs(path) == PT_OK)
        return 0;
    err_fail(err, errlen, "%s", pt_error());
    pt_error_clear();
    return -1;
}

/* The file name of a URL's path ("download" when it has none), without query or fragment. */
static void url_basename(const char *url, char *out, size_t n)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    const char *end = p + strcspn(p, "?#");
    const char *slash = end;
    while (slash > p && slash[-1] != '/')
        slash--;
    size_t len = (size_t)(end - slash);
    if (len == 0 || slash == p) /* no path after the host */
        snprintf(out, n, "download");
    else
        snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), slash);
    for (char *c = out; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("._-+", *c))
            *c = '_';
}

static int parse_hex(const char *hex, char out[65], char *err, size_t errlen)
{
    size_t n = hex ? strlen(hex) : 0;
    if (n != 64)
        return err_fail(err, errlen, "--sha256 expects 64 hex digits, got %zu characters", n);
    for (size_t i = 0; i < 64; i++) {
        if (!isxdigit((unsigned char)hex[i]))
            return err_fail(err, errlen, "--sha256: '%c' is not a hex digit", hex[i]);
        out[i] = (char)tolower((unsigned char)hex[i]);
    }
    out[64] = '\0';
    return 0;
}

/* SHA-256 of a file as 64 lowercase hex digits; -1 when it cannot be read. */
static int sha256_file(const char *path, char hex[65], char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_fail(err, errlen, "cannot read '%s': %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    unsigned char buf[1 << 16];
    size_t got;
    while (ok && (got = fread(buf, 1, sizeof buf, f)) > 0)
        ok = EVP_DigestUpdate(ctx, buf, got) == 1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    ok = ok && !ferror(f) && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
    EVP_MD_CTX_free(ctx);
    fclose(f);
    if (!ok)
        return err_fail(err, errlen, "cannot hash '%s'", path);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (long)st.st_size : -1;
}

/* ------------------------------------------------------------------ one transfer */

typedef struct {
    FILE *f;
    CURL *curl;
    long offset;    /* bytes of the .part when the transfer started */
    int bar;        /* draw a progress bar */
    const char *name;
    double t0, last_draw;
} xfer;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    xfer *x = ctx;
    return fwrite(p, size, n, x->f) * size;
}

static int on_progress(void *ctx, curl_off_t total, curl_off_t now, curl_off_t ut, curl_off_t un)
{
    (void)ut, (void)un;
    xfer *x = ctx;
    double t = now_s();
    if (!x->bar || t - x->last_draw < 0.1)
        return 0;
    x->last_draw = t;
    double done = (double)(x->offset + now), all = (double)(x->offset + total);
    double rate = (double)now / (t - x->t0 > 1e-3 ? t - x->t0 : 1e-3);
    char bar[31];
    int fill = total > 0 ? (int)(30.0 * done / all) : 0;
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    if (total > 0)
        fprintf(stderr, "\r%s [%s] %5.1f%% %.1f/%.1f MB %.2f MB/s ", x->name, bar,
                100.0 * done / all, done / 1e6, all / 1e6, rate / 1e6);
    else
        fprintf(stderr, "\r%s %.1f MB %.2f MB/s ", x->name, done / 1e6, rate / 1e6);
    return 0;
}

enum { XFER_OK = 0, XFER_RETRY = 1, XFER_FATAL = 2, XFER_RESTART = 3 };

static int transfer(const fetch_opts *o, const char *part, const char *name, char *err,
                    size_t errlen)
{
    long have = file_size(part);
    FILE *f = fopen(part, have > 0 ? "ab" : "wb");
    if (!f) {
        err_fail(err, errlen, "cannot write '%s': %s", part, strerror(errno));
        return XFER_FATAL;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        fclose(f);
        err_fail(err, errlen, "libcurl: cannot start a transfer");
        return XFER_FATAL;
    }
    xfer x = {f, c, have > 0 ? have : 0, o->progress && isatty(2), name, now_s(), 0};
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, o->url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "pictor-fetch/" PICTOR_VERSION);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(1000 * (o->connect_timeout_s > 0 ? o->connect_timeout_s : 30)));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                     (long)(o->stall_timeout_s > 0 ? o->stall_timeout_s + 0.5 : 60));
    curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)x.offset);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, x.bar ? 0L : 1L);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    int closed = fclose(f);
    if (x.bar)
        fputc('\n', stderr);
    if (rc == CURLE_OK && closed != 0) {
        err_fail(err, errlen, "cannot write '%s': %s", part, strerror(errno));
        return XFER_FATAL;
    }
    if (rc == CURLE_OK)
        return XFER_OK;
    if (code == 416 || rc == CURLE_RANGE_ERROR || rc == CURLE_BAD_DOWNLOAD_RESUME) {
        /* the .part does not fit the server's file, or the server ignores Range (200): start
         * over from byte 0 */
        remove(part);
        err_fail(err, errlen, "%s: cannot resume the partial download (HTTP %ld)", o->url, code);
        return x.offset > 0 ? XFER_RESTART : XFER_RETRY;
    }
    if (rc == CURLE_HTTP_RETURNED_ERROR) {
        err_fail(err, errlen, "%s: HTTP %ld", o->url, code);
        return code >= 500 ? XFER_RETRY : XFER_FATAL;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT)
        err_fail(err, errlen, "%s: stalled (no data for %g s) or could not connect within "
                 "%g s: %s", o->url, o->stall_timeout_s > 0 ? o->stall_timeout_s : 60,
                 o->connect_timeout_s > 0 ? o->connect_timeout_s : 30, cerr);
    else
        err_fail(err, errlen, "%s: %s", o->url, cerr[0] ? cerr : curl_easy_strerror(rc));
    return rc == CURLE_FILE_COULDNT_READ_FILE || rc == CURLE_UNSUPPORTED_PROTOCOL ||
                   rc == CURLE_URL_MALFORMAT || rc == CURLE_LOGIN_DENIED
               ? XFER_FATAL
               : XFER_RETRY;
}

/* ------------------------------------------------------------------ fetch */

static int fetch_locked(const fetch_opts *o, const char *want, const char *name,
                        const char *path, char *err, size_t errlen);

int fetch_file(const fetch_opts *o, char *path, size_t pathlen, char *err, size_t errlen)
{
    char want[65], cache[4096], name[256];
    if (!o || !fetch_is_url(o->url))
        return err_fail(err, errlen, "'%s' is not an http://, https:// or file:// URL",
                        o && o->url ? o->url : "");
    if (parse_hex(o->sha256, want, err, errlen))
        return -1;
    url_basename(o->url, name, sizeof name);
    if (o->out && *o->out) {
        snprintf(path, pathlen, "%s", o->out);
    } else {
        if (o->cache_dir && *o->cache_dir)
            snprintf(cache, sizeof cache, "%s", o->cache_dir);
        else
            fetch_cache_dir(cache, sizeof cache);
        if (make_dirs(cache, err, errlen))
            return -1;
        snprintf(path, pathlen, "%s/%.16s-%s", cache, want, name);
    }
    /* one fetch at a time per directory (data-parallel ranks of one host share the cache): the
     * second waits, then finds the first one's file */
    char lock[4200];
    snprintf(lock, sizeof lock, "%s", path);
    char *slash = strrchr(lock, '/');
    snprintf(slash ? slash + 1 : lock, sizeof lock - (size_t)(slash ? slash + 1 - lock : 0),
             ".pictor-fetch.lock");
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    while (lfd >= 0 && fcntl(lfd, F_SETLKW, &fl) != 0 && errno == EINTR) {
    }
    int rc = fetch_locked(o, want, name, path, err, errlen);
    if (lfd >= 0)
        close(lfd); /* drops the lock */
    return rc;
}

static int fetch_locked(const fetch_opts *o, const char *want, const char *name,
                        const char *path, char *err, size_t errlen)
{
    char got[65], part[4200];
    if (file_size(path) >= 0 && sha256_file(path, got, NULL, 0) == 0 && !strcmp(got, want))
        return 0; /* cache hit */
    snprintf(part, sizeof part, "%s.part", path);
    static int curl_ready = 0;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
            return err_fail(err, errlen, "libcurl cannot start");
        curl_ready = 1;
    }
    int retries = o->retries >= 0 ? o->retries : 4;
    double wait = 1.0;
    for (int attempt = 0;; attempt++) {
        int st = transfer(o, part, name, err, errlen);
        if (st == XFER_OK)
            break;
        if (st == XFER_RESTART) { /* the .part is gone: the next transfer starts at 0 */
            attempt--;
            continue;
        }
        if (st == XFER_FATAL || attempt >= retries) {
            if (st == XFER_FATAL && file_size(part) == 0)
                remove(part);
            return -1;
        }
        fprintf(stderr, "pictor fetch: %s; retry %d of %d in %.0f s\n", err, attempt + 1,
                retries, wait);
        struct timespec ts = {(time_t)wait, 0};
        nanosleep(&ts, NULL);
        wait = wait * 2 < MAX_BACKOFF_S ? wait * 2 : MAX_BACKOFF_S;
    }
    if (sha256_file(part, got, err, errlen))
        return -1;
    if (strcmp(got, want) != 0) {
        long size = file_size(part);
        remove(part);
        return err_fail(err, errlen, "%s: SHA-256 mismatch: expected %s, got %s (%ld bytes); "
                        "nothing was kept", o->url, want, got, size);
    }
    if (pt_commit_temp_file(part, path) != 0)
        return err_fail(err, errlen, "cannot move '%s' into place: %s", part, pt_error());
    return 0;
}

int fetch_resolve(const char *value, char *path, size_t pathlen, char *err, size_t errlen)
{
    if (!fetch_is_url(value)) {
        snprintf(path, pathlen, "%s", value ? value : "");
        return 0;
    }
    const char *h = strstr(value, "#sha256=");
    if (!h)
        return err_fail(err, errlen, "'%s': a URL needs its checksum, written URL#sha256=<64 "
                        "hex digits>", value);
    char url[4096];
    snprintf(url, sizeof url, "%.*s", (int)(h - value), value);
    fetch_opts o = {.url = url, .sha256 = h + 8, .retries = -1, .progress = 1};
    return fetch_file(&o, path, pathlen, err, errlen);
}
