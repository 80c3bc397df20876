/*
 * cmd_fetch.c - `pictor fetch URL --sha256 HEX [--cache DIR] [--out FILE] [--retries N]
 * [--connect-timeout S] [--stall-timeout S]`: argument parsing only; the work is in
 * data/fetch/fetch.c. Prints the local path on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "fetch/fetch.h"

static const char *USAGE =
    "usage: pictor fetch URL --sha256 HEX [--cache DIR] [--out FILE] [--retries N]\n"
    "                    [--connect-timeout S] [--stall-timeout S]\n"
    "  URL: http://, https:// or file://; prints the local path (a cached file whose hash\n"
    "  matches is not downloaded again). Cache: --cache, $PICTOR_CACHE, ~/.cache/pictor.\n";

static int number(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    double x = v ? strtod(v, &end) : 0;
    if (!v || end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "pictor fetch: %s expects a number in [%g, %g], got '%s'\n", opt, lo, hi,
                v ? v : "(nothing)");
        return -1;
    }
    *out = x;
    return 0;
}

int cmd_fetch(int argc, char **argv)
{
    fetch_opts o = {.retries = -1, .progress = 1};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x;
        if (!strcmp(a, "--sha256") && v)
            o.sha256 = v, i++;
        else if (!strcmp(a, "--cache") && v)
            o.cache_dir = v, i++;
        else if (!strcmp(a, "--out") && v)
            o.out = v, i++;
        else if (!strcmp(a, "--retries")) {
            if (number(a, v, 0, 100, &x))
                return 1;
            o.retries = (int)x, i++;
        } else if (!strcmp(a, "--connect-timeout")) {
            if (number(a, v, 0.1, 3600, &x))
                return 1;
            o.connect_timeout_s = x, i++;
        } else if (!strcmp(a, "--stall-timeout")) {
            if (number(a, v, 1, 3600, &x))
                return 1;
            o.stall_timeout_s = x, i++;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(USAGE, stdout);
            return 0;
        } else if (a[0] != '-' && !o.url) {
            o.url = a;
        } else {
            fprintf(stderr, "pictor fetch: unexpected '%s'\n%s", a, USAGE);
            return 1;
        }
    }
    if (!o.url || !o.sha256) {
        fputs(USAGE, stderr);
        return 1;
    }
    char path[4096], err[2048];
    if (fetch_file(&o, path, sizeof path, err, sizeof err) != 0) {
        fprintf(stderr, "pictor fetch: %s\n", err);
        return 1;
    }
    printf("%s\n", path);
    return 0;
}
