/*
 * hostile.h - what the hostile-input battery (tests/test_hostile_*.c) shares: run the `pictor`
 * binary in a folder and keep its output, read that output, write files, and check that no file
 * is left half-written (no temp file of an atomic write, "<name>.tmp.<pid>", anywhere under a
 * folder). Static functions, one copy per test file.
 */
#ifndef PICTOR_TEST_HOSTILE_H
#define PICTOR_TEST_HOSTILE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* Run `pictor ARGS` (printf format) in dir with stdout and stderr in dir/out.txt; the exit
 * status, or 128 + the signal. */
static inline int hst_pictor(const char *dir, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline int hst_pictor(const char *dir, const char *fmt, ...)
{
    char args[8192], cmd[12288];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/pictor' %s >'%s/out.txt' 2>&1 </dev/null", dir,
             PICTOR_BINARY_DIR, args, dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The whole of dir/name (NUL-terminated; "" when missing); free() it. */
static inline char *hst_read(const char *dir, const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    if (!f)
        return calloc(1, 1);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
    if (n > 0 && fread(b, 1, (size_t)n, f) != (size_t)n)
        b[0] = '\0';
    fclose(f);
    return b;
}

/* The last command's output (dir/out.txt) in a static buffer: for assertion messages. */
static inline const char *hst_output(const char *dir)
{
    static char buf[8192];
    char *t = hst_read(dir, "out.txt");
    size_t n = strlen(t);
    snprintf(buf, sizeof buf, "%s", n >= sizeof buf ? t + n - (sizeof buf - 1) : t);
    free(t);
    return buf;
}

/* 1 when the last output contains every one of the NULL-terminated strings. */
static inline int hst_says(const char *dir, ...)
{
    va_list ap;
    va_start(ap, dir);
    const char *out = hst_output(dir);
    int ok = 1;
    for (const char *s; (s = va_arg(ap, const char *));)
        ok = ok && strstr(out, s) != NULL;
    va_end(ap);
    return ok;
}

static inline void hst_write(const char *dir, const char *name, const void *data, size_t n)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (f) {
        if (n)
            fwrite(data, 1, n, f);
        fclose(f);
    }
}

static inline void hst_write_text(const char *dir, const char *name, const char *text)
{
    hst_write(dir, name, text, strlen(text));
}

static inline int hst_exists(const char *dir, const char *name)
{
    char p[4200];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

/* A shell command in dir; its exit status. */
static inline int hst_sh(const char *dir, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline int hst_sh(const char *dir, const char *fmt, ...)
{
    char c[8192], cmd[12288];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c, sizeof c, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd '%s' && %s", dir, c);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* How many temp files of atomic writes ("*.tmp.<digits>") are under dir. */
static inline int hst_temp_files(const char *dir)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "find '%s' -name '*.tmp.[0-9]*' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1)
            n = -1;
        pclose(p);
    }
    return n;
}

#endif
