/*
 * test_layout.c - the layering rules of the source tree (README, "Folders"), checked on the files
 * themselves so that a change that breaks them fails the suite:
 *   - includes are relative to the top folder: "core/driver.h", "store/store.h", "focal.h", "pt.h";
 *   - the trainer core, the config layer, the nn layer, the shared metrics and the report layer
 *     never name a model: nothing under train/{core,config,nn,eval,report} includes "models/...";
 *   - data/ includes nothing from train/ (data flows one way);
 *   - a model folder does not include another model's folder (backbones are shared);
 *   - every basename under shim/ losses/ data/ train/ tools/ is unique.
 */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define MAX_FILES 1024

typedef struct {
    char rel[256];  /* path relative to the source tree, e.g. "train/core/trainer.c" */
    char base[96];  /* basename */
} src_file;

static src_file g_files[MAX_FILES];
static int g_nfiles;
static size_t g_root_len;

static int collect(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type != FTW_F) return 0;
    size_t n = strlen(path);
    int source = (n > 2 && (!strcmp(path + n - 2, ".c") || !strcmp(path + n - 2, ".h"))) ||
                 (n > 4 && !strcmp(path + n - 4, ".cpp"));
    if (!source) return 0;
    if (g_nfiles >= MAX_FILES) return 1;
    src_file *f = &g_files[g_nfiles++];
    snprintf(f->rel, sizeof f->rel, "%s", path + g_root_len + 1);
    const char *slash = strrchr(path, '/');
    snprintf(f->base, sizeof f->base, "%s", slash ? slash + 1 : path);
    return 0;
}

static void collect_tree(void)
{
    g_nfiles = 0;
    const char *root = tst_src(".");
    char top[512];
    snprintf(top, sizeof top, "%s", root);
    g_root_len = strlen(top);
    if (g_root_len > 2 && !strcmp(top + g_root_len - 2, "/.")) top[g_root_len -= 2] = 0;
    static const char *dirs[] = {"shim", "losses", "data", "train", "tools", NULL};
    for (int i = 0; dirs[i]; i++) {
        char d[600];
        snprintf(d, sizeof d, "%s/%s", top, dirs[i]);
        cr_assert_eq(nftw(d, collect, 16, FTW_PHYS), 0, "cannot walk %s", d);
    }
    cr_assert_gt(g_nfiles, 100, "only %d source files found under %s", g_nfiles, top);
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Calls check(file, included path, line number) for every #include "..." of every file; returns
 * the number of violations check reported. */
typedef int (*include_check)(const src_file *f, const char *inc, int line);

static int scan_includes(include_check check)
{
    int bad = 0;
    for (int i = 0; i < g_nfiles; i++) {
        FILE *fp = fopen(tst_src(g_files[i].rel), "r");
        cr_assert_not_null(fp, "cannot open %s", g_files[i].rel);
        char line[1024];
        int lineno = 0;
        while (fgets(line, sizeof line, fp)) {
            lineno++;
            const char *p = line;
            while (*p == ' ' || *p == '\t') p++;
            if (*p != '#') continue;
            p++;
            while (*p == ' ' || *p == '\t') p++;
            if (!starts_with(p, "include")) continue;
            p += 7;
            while (*p == ' ' || *p == '\t') p++;
            if (*p != '"') continue;
            char inc[256];
            size_t k = 0;
            for (p++; *p && *p != '"' && k + 1 < sizeof inc; p++) inc[k++] = *p;
            inc[k] = 0;
            bad += check(&g_files[i], inc, lineno);
        }
        fclose(fp);
    }
    return bad;
}

/* The folder of train/models/<x>/ a path is in ("polarmask"), or NULL. */
static const char *model_folder(const char *path, char *buf, size_t cap)
{
    const char *p = strstr(path, "models/");
    if (!p) return NULL;
    p += 7;
    size_t k = 0;
    while (p[k] && p[k] != '/' && k + 1 < cap) {
        buf[k] = p[k];
        k++;
    }
    buf[k] = 0;
    return p[k] == '/' ? buf : NULL;
}

static int check_core_names_no_model(const src_file *f, const char *inc, int line)
{
    static const char *upper[] = {"train/core/", "train/config/", "train/nn/", "train/eval/",
                                  "train/report/", NULL};
    for (int i = 0; upper[i]; i++) {
        if (starts_with(f->rel, upper[i]) && starts_with(inc, "models/")) {
            cr_log_error("%s:%d includes \"%s\": %s must not name a model", f->rel, line, inc,
                         upper[i]);
            return 1;
        }
    }
    return 0;
}

static int check_data_is_upstream(const src_file *f, const char *inc, int line)
{
    static const char *train_dirs[] = {"core/", "config/", "nn/", "eval/", "report/", "models/",
                                       NULL};
    if (!starts_with(f->rel, "data/") && !starts_with(f->rel, "losses/") &&
        !starts_with(f->rel, "shim/"))
        return 0;
    for (int i = 0; train_dirs[i]; i++) {
        if (starts_with(inc, train_dirs[i])) {
            cr_log_error("%s:%d includes \"%s\" from train/: data flows one way", f->rel, line,
                         inc);
            return 1;
        }
    }
    return 0;
}

static int check_models_apart(const src_file *f, const char *inc, int line)
{
    char own[64], other[64];
    if (!starts_with(f->rel, "train/models/")) return 0;
    if (!model_folder(f->rel, own, sizeof own)) return 0;
    if (!starts_with(inc, "models/") || !model_folder(inc, other, sizeof other)) return 0;
    if (!strcmp(other, "backbones") || !strcmp(own, other)) return 0;
    cr_log_error("%s:%d includes \"%s\": model folders are independent (share via backbones/, "
                 "eval/, report/ or data/)",
                 f->rel, line, inc);
    return 1;
}

/* Every quoted include names a file that exists relative to one of the include roots. */
static int check_include_resolves(const src_file *f, const char *inc, int line)
{
    static const char *roots[] = {"train", "data", "losses", "shim", "tools", "tests", NULL};
    for (int i = 0; roots[i]; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", roots[i], inc);
        FILE *fp = fopen(tst_src(p), "r");
        if (fp) {
            fclose(fp);
            return 0;
        }
    }
    /* precompiled-header and generated includes of the shim */
    if (starts_with(f->rel, "shim/")) return 0;
    cr_log_error("%s:%d includes \"%s\", which is not a path from a top folder", f->rel, line,
                 inc);
    return 1;
}

Test(layout, upper_layers_never_name_a_model)
{
    collect_tree();
    cr_expect_eq(scan_includes(check_core_names_no_model), 0);
}

Test(layout, data_includes_nothing_from_train)
{
    collect_tree();
    cr_expect_eq(scan_includes(check_data_is_upstream), 0);
}

Test(layout, model_folders_do_not_include_each_other)
{
    collect_tree();
    cr_expect_eq(scan_includes(check_models_apart), 0);
}

Test(layout, includes_are_relative_to_a_top_folder)
{
    collect_tree();
    cr_expect_eq(scan_includes(check_include_resolves), 0);
}

Test(layout, basenames_are_unique)
{
    collect_tree();
    int dup = 0;
    for (int i = 0; i < g_nfiles; i++)
        for (int j = i + 1; j < g_nfiles; j++)
            if (!strcmp(g_files[i].base, g_files[j].base)) {
                cr_log_error("%s and %s share a basename", g_files[i].rel, g_files[j].rel);
                dup++;
            }
    cr_expect_eq(dup, 0);
}
