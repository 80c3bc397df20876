/*
 * cmd_train.c - `pictor train`, `pictor eval`, `pictor predict` and `pictor export`: argument
 * parsing only; the work is in train/trainer.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_launch.h"
#include "commands.h"
#include "core/trainer.h"

#define MAX_SETS 256

typedef struct {
    const char *config;
    const char *sets[MAX_SETS];
    int n_sets;
    const char *resume, *weights;
    int accept_config_change;
} train_args;

/* --set a=b (or --set=a=b), --resume X, --weights X, and one positional CONFIG. */
static int parse(int argc, char **argv, const char *cmd, int allow_resume, int allow_weights,
                 train_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(s, "--set") || !strncmp(s, "--set=", 6)) {
            const char *kv = s[5] == '=' ? s + 6 : v;
            if (!kv || !strchr(kv, '=')) {
                fprintf(stderr, "pictor %s: --set expects key.path=value\n", cmd);
                return 1;
            }
            if (a->n_sets == MAX_SETS) {
                fprintf(stderr, "pictor %s: too many --set options (max %d)\n", cmd, MAX_SETS);
                return 1;
            }
            a->sets[a->n_sets++] = kv;
            i += s[5] != '=';
        } else if (allow_resume && !strcmp(s, "--resume")) {
            if (!v) {
                fprintf(stderr, "pictor %s: --resume expects 'auto' or a checkpoint path\n", cmd);
                return 1;
            }
            a->resume = v, i++;
        } else if (allow_resume && !strcmp(s, "--accept-config-change")) {
            a->accept_config_change = 1;
        } else if (allow_weights && !strcmp(s, "--weights")) {
            if (!v) {
                fprintf(stderr, "pictor %s: --weights expects a file\n", cmd);
                return 1;
            }
            a->weights = v, i++;
        } else if (s[0] == '-') {
            fprintf(stderr, "pictor %s: unknown option '%s'\n", cmd, s);
            return 1;
        } else if (!a->config) {
            a->config = s;
        } else {
            fprintf(stderr, "pictor %s: one CONFIG.yaml expected, got '%s' too\n", cmd, s);
            return 1;
        }
    }
    if (!a->config) {
        fprintf(stderr, "usage: pictor %s CONFIG.yaml [--set key.path=value ...]%s\n", cmd,
                allow_resume ? " [--resume auto|PATH [--accept-config-change]]"
                : allow_weights ? " --weights FILE"
                                : "");
        return 1;
    }
    if (allow_weights && !a->weights) {
        fprintf(stderr, "pictor %s: --weights FILE is required\n", cmd);
        return 1;
    }
    return 0;
}

/* --nproc N (or --nproc=N): N local data-parallel ranks (cmd_launch.c); the rest of the arguments
 * go to each rank unchanged. */
static int train_nproc(int argc, char **argv, int *nproc, char **rest, int *n_rest)
{
    *nproc = 0;
    *n_rest = 0;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i], *v = NULL;
        if (!strcmp(s, "--nproc"))
            v = i + 1 < argc ? argv[++i] : "";
        else if (!strncmp(s, "--nproc=", 8))
            v = s + 8;
        if (!v) {
            rest[(*n_rest)++] = argv[i];
            continue;
        }
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 1 || n > 1024) {
            fprintf(stderr, "pictor train: --nproc expects a number of processes in [1, 1024], "
                            "got '%s'\n", v);
            return 1;
        }
        *nproc = (int)n;
    }
    return 0;
}

int cmd_train(int argc, char **argv)
{
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nproc, n_rest;
    if (!rest || train_nproc(argc, argv, &nproc, rest, &n_rest)) {
        free(rest);
        return 1;
    }
    if (nproc > 1) {
        int st = launch_local(nproc, n_rest, rest);
        free(rest);
        return st;
    }
    argc = n_rest;
    argv = rest;
    train_args a;
    if (parse(argc, argv, "train", 1, 0, &a)) {
        free(rest);
        return 1;
    }
    if (a.accept_config_change && !a.resume) {
        fprintf(stderr, "pictor train: --accept-config-change only goes with --resume\n");
        return 1;
    }
    trainer_opts o = {a.config, a.sets, a.n_sets, a.resume, a.accept_config_change};
    int st = trainer_train(&o);
    free(rest);
    return st;
}

int cmd_eval(int argc, char **argv)
{
    train_args a;
    if (parse(argc, argv, "eval", 0, 1, &a))
        return 1;
    trainer_opts o = {a.config, a.sets, a.n_sets, NULL, 0};
    return trainer_eval(&o, a.weights);
}

/* --out DIR and --n N are taken here; the rest (CONFIG, --weights, --set) as for eval. */
int cmd_predict(int argc, char **argv)
{
    const char *out = NULL;
    long n = 16;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int n_rest = 0;
    if (!rest) {
        fprintf(stderr, "pictor predict: out of memory\n");
        return 2;
    }
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--out")) {
            if (!v || !*v) {
                fprintf(stderr, "pictor predict: --out expects a directory\n");
                free(rest);
                return 1;
            }
            out = v, i++;
        } else if (!strcmp(argv[i], "--n")) {
            char *end = NULL;
            n = v ? strtol(v, &end, 10) : 0;
            if (!v || end == v || *end || n < 1 || n > 1000000) {
                fprintf(stderr, "pictor predict: --n expects a number of images in [1, 1000000], "
                                "got '%s'\n", v ? v : "(nothing)");
                free(rest);
                return 1;
            }
            i++;
        } else {
            rest[n_rest++] = argv[i];
        }
    }
    if (!out) {
        fprintf(stderr, "usage: pictor predict CONFIG.yaml --weights FILE --out DIR [--n N] "
                        "[--set key.path=value ...]\n");
        free(rest);
        return 1;
    }
    train_args a;
    int bad = parse(n_rest, rest, "predict", 0, 1, &a);
    free(rest);
    if (bad)
        return 1;
    trainer_opts o = {a.config, a.sets, a.n_sets, NULL, 0};
    return trainer_predict(&o, a.weights, out, (int)n);
}

int cmd_export(int argc, char **argv)
{
    const char *src = NULL, *format = "safetensors", *out = NULL;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--format") && v)
            format = v, i++;
        else if (!strcmp(argv[i], "--out") && v)
            out = v, i++;
        else if (argv[i][0] != '-' && !src)
            src = argv[i];
        else {
            fprintf(stderr, "pictor export: unexpected '%s'\n", argv[i]);
            return 1;
        }
    }
    if (!src || !out) {
        fprintf(stderr, "usage: pictor export RUN_DIR|CHECKPOINT --format "
                        "safetensors|torch|hdf5 --out FILE\n");
        return 1;
    }
    return trainer_export(src, format, out);
}
