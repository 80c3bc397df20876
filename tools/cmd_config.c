/*
 * cmd_config.c - `pictor config show CONFIG.yaml [--set key.path=value ...]`: print the fully
 * resolved config (bases merged, overrides applied, every default filled in, docs as comments).
 *
 * Owns only the argument handling and the choice of the model table; loading and printing are
 * settings_bind() / settings_emit(). When model.type names a registered driver, its model table
 * is bound (so model keys are checked and their defaults shown, exactly as `pictor train` would);
 * without model.type (e.g. a _base_ file) model.* keys are printed verbatim, unchecked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "core/driver.h"
#include "config/settings.h"

#define MAX_OVERRIDES 256

static void config_usage(FILE *f)
{
    fprintf(f, "usage: pictor config show CONFIG.yaml [--set key.path=value ...]\n"
               "  print the resolved config: _base_ files merged, overrides applied, every\n"
               "  default filled in, one comment per key\n");
}

/* Collect CONFIG and the --set values; 0, or 1 (user error, message printed). */
static int parse_show_args(int argc, char **argv, const char **path, const char **ov, int *n_ov)
{
    *path = NULL;
    *n_ov = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--set") || !strncmp(a, "--set=", 6)) {
            const char *v = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) {
                fprintf(stderr, "pictor config show: --set expects key.path=value\n");
                return 1;
            }
            if (*n_ov == MAX_OVERRIDES) {
                fprintf(stderr, "pictor config show: more than %d --set options\n",
                        MAX_OVERRIDES);
                return 1;
            }
            ov[(*n_ov)++] = v;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "pictor config show: unknown option '%s'\n", a);
            return 1;
        } else if (*path) {
            fprintf(stderr, "pictor config show: one config file expected, got '%s' and '%s'\n",
                    *path, a);
            return 1;
        } else {
            *path = a;
        }
    }
    if (!*path) {
        config_usage(stderr);
        return 1;
    }
    return 0;
}

/* The model table for doc's model.type into x (*model_cfg allocated for it), or unchecked model
 * keys when there is no model.type. 0, 1 (unknown type, message printed) or 2 (out of memory). */
static int choose_model_table(cfg_doc *doc, settings_extra *x, void **model_cfg)
{
    const char *type = cfg_peek_string(doc, "model.type");
    *model_cfg = NULL;
    memset(x, 0, sizeof *x);
    if (!type || !*type) {
        x->unchecked_model = 1;
        return 0;
    }
    const driver *d = driver_find(type);
    if (!d) {
        char where[4200];
        fprintf(stderr, "pictor: %s: unknown model.type '%s' (one of: %s)\n",
                cfg_where(doc, "model.type", where, sizeof where), type, driver_names());
        return 1;
    }
    *model_cfg = calloc(1, d->model_cfg_size ? d->model_cfg_size : 1);
    if (!*model_cfg) {
        fprintf(stderr, "pictor config show: out of memory\n");
        return 2;
    }
    if (driver_extra_sections(d, *model_cfg, x) != 0) {
        fprintf(stderr, "pictor config show: model type %s has too many sections\n", d->type);
        free(*model_cfg);
        *model_cfg = NULL;
        return 2;
    }
    return 0;
}

static int config_show(int argc, char **argv)
{
    const char *path, *ov[MAX_OVERRIDES];
    int n_ov;
    int rc = parse_show_args(argc, argv, &path, ov, &n_ov);
    if (rc)
        return rc;
    char err[4096];
    cfg_doc *doc = cfg_load(path, ov, n_ov, err, sizeof err);
    if (!doc) {
        fprintf(stderr, "pictor: %s\n", err);
        return 1;
    }
    settings_extra extra;
    void *model_cfg;
    rc = choose_model_table(doc, &extra, &model_cfg);
    if (rc) {
        cfg_doc_free(doc);
        return rc;
    }
    settings s;
    if (settings_bind(&s, doc, &extra, err, sizeof err)) { /* doc is freed either way */
        fprintf(stderr, "pictor: %s\n", err);
        free(model_cfg);
        return 1;
    }
    rc = settings_emit(stdout, &s) ? 2 : 0;
    if (rc)
        perror("pictor config show: writing the config");
    settings_free(&s);
    free(model_cfg);
    return rc;
}

int cmd_config(int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "show"))
        return config_show(argc - 1, argv + 1);
    if (argc >= 1 && (!strcmp(argv[0], "help") || !strcmp(argv[0], "--help"))) {
        config_usage(stdout);
        return 0;
    }
    if (argc >= 1)
        fprintf(stderr, "pictor config: unknown subcommand '%s'\n", argv[0]);
    config_usage(stderr);
    return 1;
}
