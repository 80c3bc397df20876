/* test_config.c - Criterion tests (suite `config`) for train/config.c and train/settings.c.
 *
 * Owns: _base_ inheritance (three levels, relative paths, several bases, map merge vs list
 * replace), typed --set overrides, defaults, every error message (file:line:col and what was
 * expected: bad value, out of range, wrong type, bad enum choice, unknown key with "did you mean",
 * base cycle, missing base, malformed YAML, anchors, duplicates), driver model tables, the
 * emit -> load round trip and the config hash. Fixtures live in tests/data/config/.
 *
 * Needs no shim: builds by hand as
 *   gcc -std=c11 -D_POSIX_C_SOURCE=200809L -DPICTOR_SOURCE_DIR='"'$PWD'"' -Itrain \
 *       tests/test_config.c train/config.c train/settings.c -o /tmp/test_config \
 *       -lcriterion -lyaml -lm
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/driver.h"
#include "config/settings.h"

/* ---------------------------------------------------------------- fixtures and helpers */

static char g_dir[4096];
static char g_files[8][4200];
static int g_nfiles;

static void make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/pictor-config-XXXXXX", base && *base ? base : "/tmp");
    cr_assert_not_null(mkdtemp(g_dir), "mkdtemp failed");
    g_nfiles = 0;
}

static void remove_tmpdir(void)
{
    for (int i = 0; i < g_nfiles; i++)
        unlink(g_files[i]);
    rmdir(g_dir);
}

TestSuite(config, .init = make_tmpdir, .fini = remove_tmpdir);

static const char *tmp_path(const char *name)
{
    cr_assert_lt(g_nfiles, 8);
    snprintf(g_files[g_nfiles], sizeof g_files[0], "%s/%s", g_dir, name);
    return g_files[g_nfiles++];
}

/* Absolute path of a fixture (a few buffers so two can be used in one call). */
static const char *fx(const char *rel)
{
    static char buf[4][4096];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%s/tests/data/config/%s", PICTOR_SOURCE_DIR, rel);
    return b;
}

/* A toy driver's model table, as a driver would register it. */
typedef struct {
    char *type;
    int64_t width;
    int act;
    cfg_float_list scales;
} toy_cfg;

static const cfg_field toy_fields[] = {
    {.name = "type", .type = CFG_STRING, .offset = offsetof(toy_cfg, type), .def = "",
     .doc = "model driver"},
    {.name = "width", .type = CFG_INT, .offset = offsetof(toy_cfg, width), .def = "16", .min = 1,
     .max = 1024, .doc = "channels"},
    {.name = "act", .type = CFG_ENUM, .offset = offsetof(toy_cfg, act), .def = "relu",
     .choices = "relu|gelu", .doc = "activation"},
    {.name = "scales", .type = CFG_FLOAT_LIST, .offset = offsetof(toy_cfg, scales),
     .def = "[1.0]", .min = 0, .max = 8, .doc = "feature scales"},
};
static const cfg_section toy_section = {"model", toy_fields, 4, "a toy model"};

static settings_extra toy_extra(toy_cfg *t)
{
    memset(t, 0, sizeof *t);
    settings_extra x = {.n = 1, .secs = {&toy_section}, .structs = {t}};
    return x;
}

static void load_ok(settings *s, const char *path, const char *const *ov, int n,
                    const settings_extra *x)
{
    char err[4096] = "";
    int rc = settings_load(s, path, ov, n, x, err, sizeof err);
    cr_assert_eq(rc, 0, "settings_load(%s) failed: %s", path, err);
}

/* Loading must fail, and the message must contain every non-NULL want (up to 3). */
static void load_fails(const char *path, const char *const *ov, int n, const settings_extra *x,
                       const char *want1, const char *want2, const char *want3)
{
    settings s;
    char err[4096] = "";
    int rc = settings_load(&s, path, ov, n, x, err, sizeof err);
    if (!rc)
        settings_free(&s);
    cr_assert_eq(rc, -1, "settings_load(%s) should have failed", path);
    const char *want[3] = {want1, want2, want3};
    for (int i = 0; i < 3; i++)
        cr_assert(!want[i] || strstr(err, want[i]), "message\n  %s\nlacks\n  %s", err, want[i]);
    cr_assert_null(strchr(err, '\n'), "one line expected: %s", err);
    /* a failed load leaves nothing to free */
    cr_assert_null(s.doc);
    cr_assert_null(s.run.dir);
}

/* Every field of sec equal in a and b. */
static void assert_same(const cfg_section *sec, const void *a, const void *b)
{
    for (int i = 0; i < sec->n_fields; i++) {
        const cfg_field *f = &sec->fields[i];
        const char *pa = (const char *)a + f->offset, *pb = (const char *)b + f->offset;
        switch (f->type) {
        case CFG_INT:
            cr_assert_eq(*(const int64_t *)pa, *(const int64_t *)pb, "%s.%s", sec->name, f->name);
            break;
        case CFG_FLOAT: /* bit-identical, not approximately */
            cr_assert(!memcmp(pa, pb, sizeof(double)), "%s.%s: %.17g vs %.17g", sec->name,
                      f->name, *(const double *)pa, *(const double *)pb);
            break;
        case CFG_BOOL:
        case CFG_ENUM:
            cr_assert_eq(*(const int *)pa, *(const int *)pb, "%s.%s", sec->name, f->name);
            break;
        case CFG_STRING:
            cr_assert_str_eq(*(char *const *)pa, *(char *const *)pb, "%s.%s", sec->name, f->name);
            break;
        case CFG_INT_LIST: {
            const cfg_int_list *x = (const void *)pa, *y = (const void *)pb;
            cr_assert_eq(x->n, y->n, "%s.%s", sec->name, f->name);
            for (int k = 0; k < x->n; k++)
                cr_assert_eq(x->v[k], y->v[k], "%s.%s[%d]", sec->name, f->name, k);
            break;
        }
        case CFG_FLOAT_LIST: {
            const cfg_float_list *x = (const void *)pa, *y = (const void *)pb;
            cr_assert_eq(x->n, y->n, "%s.%s", sec->name, f->name);
            for (int k = 0; k < x->n; k++)
                cr_assert(x->v[k] == y->v[k], "%s.%s[%d]", sec->name, f->name, k);
            break;
        }
        case CFG_STRING_LIST: {
            const cfg_string_list *x = (const void *)pa, *y = (const void *)pb;
            cr_assert_eq(x->n, y->n, "%s.%s", sec->name, f->name);
            for (int k = 0; k < x->n; k++)
                cr_assert_str_eq(x->v[k], y->v[k], "%s.%s[%d]", sec->name, f->name, k);
            break;
        }
        }
    }
}

static void assert_same_settings(const settings *a, const settings *b)
{
    const cfg_section *sa[SETTINGS_N_SECTIONS], *sb[SETTINGS_N_SECTIONS];
    const void *pa[SETTINGS_N_SECTIONS], *pb[SETTINGS_N_SECTIONS];
    int n = settings_sections(a, sa, pa);
    settings_sections(b, sb, pb);
    for (int i = 0; i < n; i++)
        assert_same(sa[i], pa[i], pb[i]);
}

/* ---------------------------------------------------------------- inheritance */

Test(config, inherits_three_levels_with_relative_paths)
{
    settings s;
    load_ok(&s, fx("exp/child.yaml"), NULL, 0, NULL);
    cr_assert_str_eq(s.run.dir, "root_runs");       /* level 1, untouched above */
    cr_assert_eq(s.train.epochs, 5);                /* level 1 */
    cr_assert_eq(s.train.batch_size, 8);            /* the file beats its bases */
    cr_assert_str_eq(s.data.train, "root.h5");
    cr_assert(s.data.augment.rot90);                /* level 3 only */
    cr_assert_str_eq(s.model.type, "toy");
    cr_assert_str_eq(s.run.name, "child");          /* the file's stem */
    settings_free(&s);
}

Test(config, later_bases_override_earlier_ones)
{
    settings s;
    load_ok(&s, fx("exp/child.yaml"), NULL, 0, NULL);
    /* root seed 1 < mid seed 10 < extra seed 2 (listed last); child says nothing */
    cr_assert_eq(s.train.seed, 2);
    settings_free(&s);
}

Test(config, maps_merge_and_lists_replace)
{
    settings s;
    load_ok(&s, fx("exp/child.yaml"), NULL, 0, NULL);
    /* optim: mid changes lr only; type and momentum come from root */
    cr_assert_eq(s.optim.type, SETTINGS_OPTIM_SGD);
    cr_assert_eq(s.optim.lr, 0.05);
    cr_assert_eq(s.optim.momentum, 0.8);
    /* data.augment merges across three files */
    cr_assert_eq(s.data.augment.hflip, 0.5);
    cr_assert_eq(s.data.augment.crop, 20);
    /* a list replaces the base's list, it is not appended to */
    cr_assert_eq(s.sched.milestones.n, 1);
    cr_assert_eq(s.sched.milestones.v[0], 100);
    cr_assert_eq(s.sched.type, SETTINGS_SCHED_MULTISTEP);
    /* a list no one overrides is kept */
    cr_assert_eq(s.data.domain_weights.n, 3);
    cr_assert_eq(s.data.domain_weights.v[2], 3.0);
    settings_free(&s);
}

Test(config, defaults_fill_absent_keys)
{
    settings s;
    load_ok(&s, fx("empty.yaml"), NULL, 0, NULL);
    cr_assert_str_eq(s.run.dir, "runs");
    cr_assert_str_eq(s.run.name, "empty");
    cr_assert_eq(s.train.max_steps, 0);
    cr_assert_eq(s.train.epochs, 1);
    cr_assert_eq(s.train.threads, 0);
    cr_assert_eq(s.train.batch_size, 32);
    cr_assert_eq(s.train.grad_accum, 1);
    cr_assert_eq(s.train.checkpoint_every, 1000);
    cr_assert_eq(s.train.nan_policy, SETTINGS_NAN_STOP);
    cr_assert_eq(s.train.best_mode, SETTINGS_BEST_MAX);
    cr_assert_str_eq(s.train.best_metric, "");
    cr_assert_eq(s.optim.type, SETTINGS_OPTIM_ADAMW);
    cr_assert_eq(s.optim.lr, 0.001);
    cr_assert_eq(s.optim.betas.n, 2);
    cr_assert_eq(s.optim.betas.v[0], 0.9);
    cr_assert_eq(s.optim.betas.v[1], 0.999);
    cr_assert_eq(s.optim.eps, 1e-8);
    cr_assert_eq(s.optim.decay_bias_and_norm, 0);
    cr_assert_eq(s.sched.type, SETTINGS_SCHED_CONSTANT);
    cr_assert_eq(s.sched.milestones.n, 0);
    cr_assert_eq(s.sched.gamma, 0.1);
    cr_assert_str_eq(s.data.val, "");
    cr_assert_eq(s.data.sampler, SETTINGS_SAMPLER_RANDOM);
    cr_assert_eq(s.data.normalize, SETTINGS_NORM_UNIT);
    cr_assert_eq(s.data.holdout_domain, -1);
    collate_config cc = {0};
    drv_norm_apply(&s, &cc);
    cr_assert_eq(cc.norm, NORM_UNIT);
    cr_assert_eq(s.data.augment.blur_sigma, 1.0);
    cr_assert_eq(s.data.augment.hflip, 0.0);
    cr_assert_str_eq(s.model.type, "");
    settings_free(&s);
}

/* ---------------------------------------------------------------- overrides */

Test(config, normalize_imagenet_gives_torchvision_mean_and_std)
{
    settings s;
    const char *ov[] = {"data.normalize=imagenet"};
    load_ok(&s, fx("empty.yaml"), ov, 1, NULL);
    collate_config cc = {0};
    drv_norm_apply(&s, &cc);
    cr_expect_eq(cc.norm, NORM_MEAN_STD);
    cr_expect_float_eq(cc.mean[0], 0.485f, 1e-7);
    cr_expect_float_eq(cc.std[2], 0.225f, 1e-7);
    /* a pixel of 255 in the red channel: (1 - 0.485) / 0.229 */
    cr_expect_float_eq(collate_normalise(&cc, 255, 0), (1.0f - 0.485f) / 0.229f, 1e-5);
    settings_free(&s);
}

Test(config, set_overrides_are_typed)
{
    const char *ov[] = {"train.epochs=9",         "optim.lr=0.25",
                        "train.deterministic=yes", "data.train=other.h5",
                        "sched.milestones=[5, 50]", "data.domain_weights=[0.5, 1.5]",
                        "run.name=renamed",        "data.sampler=balanced",
                        "train.grad_clip=.inf",    "data.augment.blur_prob=0.3"};
    settings s;
    load_ok(&s, fx("exp/child.yaml"), ov, 10, NULL);
    cr_assert_eq(s.train.epochs, 9);
    cr_assert_eq(s.optim.lr, 0.25);
    cr_assert_eq(s.train.deterministic, 1);
    cr_assert_str_eq(s.data.train, "other.h5");
    cr_assert_eq(s.sched.milestones.n, 2);
    cr_assert_eq(s.sched.milestones.v[1], 50);
    cr_assert_eq(s.data.domain_weights.n, 2);
    cr_assert_eq(s.data.domain_weights.v[0], 0.5);
    cr_assert_str_eq(s.run.name, "renamed");
    cr_assert_eq(s.data.sampler, SETTINGS_SAMPLER_BALANCED);
    cr_assert(isinf(s.train.grad_clip));
    cr_assert_eq(s.data.augment.blur_prob, 0.3);
    cr_assert_eq(s.data.augment.crop, 20); /* merged, not replaced */
    settings_free(&s);
}

Test(config, later_set_wins_and_empty_value_is_an_empty_list)
{
    const char *ov[] = {"train.epochs=3", "train.epochs=4", "sched.type=constant",
                        "sched.milestones="};
    settings s;
    load_ok(&s, fx("exp/child.yaml"), ov, 4, NULL);
    cr_assert_eq(s.train.epochs, 4);
    cr_assert_eq(s.sched.milestones.n, 0);
    settings_free(&s);
}

Test(config, set_unknown_key_is_an_error)
{
    const char *ov[] = {"optim.lr_rate=0.1"};
    load_fails(fx("empty.yaml"), ov, 1, NULL,
               "--set optim.lr_rate=0.1: unknown key 'optim.lr_rate' (did you mean 'optim.lr'?)",
               NULL, NULL);
    const char *ov2[] = {"zzz.qqq=1"};
    load_fails(fx("empty.yaml"), ov2, 1, NULL, "--set zzz.qqq=1: unknown key 'zzz'", NULL, NULL);
}

Test(config, set_bad_values)
{
    const char *ov[] = {"optim.lr=abc"};
    load_fails(fx("empty.yaml"), ov, 1, NULL,
               "--set optim.lr=abc: optim.lr: expected a number in [0, 10], got 'abc'", NULL,
               NULL);
    const char *nan[] = {"optim.lr=.nan"};
    load_fails(fx("empty.yaml"), nan, 1, NULL, "optim.lr: expected a number", NULL, NULL);
    const char *noeq[] = {"optim.lr"};
    load_fails(fx("empty.yaml"), noeq, 1, NULL, "--set optim.lr: expected key.path=value", NULL,
               NULL);
    const char *bad[] = {"optim.betas=[0.9, 0.99"};
    load_fails(fx("empty.yaml"), bad, 1, NULL, "--set optim.betas=[0.9, 0.99: malformed value",
               NULL, NULL);
    const char *empty_seg[] = {"optim..lr=1"};
    load_fails(fx("empty.yaml"), empty_seg, 1, NULL, "empty name", NULL, NULL);
    const char *into_scalar[] = {"train.epochs.x=1"};
    load_fails(fx("exp/child.yaml"), into_scalar, 1, NULL, "'train.epochs' is a scalar",
               "root.yaml:5:11", "not a map");
    const char *list_type[] = {"sched.milestones=[1, x]"};
    load_fails(fx("empty.yaml"), list_type, 1, NULL,
               "sched.milestones[1]: expected an integer in [1, 1000000000000], got 'x'", NULL,
               NULL);
}

/* ---------------------------------------------------------------- error messages */

Test(config, bad_integer_names_file_line_column)
{
    load_fails(fx("errors/bad_int.yaml"), NULL, 0, NULL,
               "errors/bad_int.yaml:3:11: train.epochs: expected an integer in [0, 100000], got "
               "'ten'",
               NULL, NULL);
}

Test(config, out_of_range_value)
{
    load_fails(fx("errors/out_of_range.yaml"), NULL, 0, NULL,
               "errors/out_of_range.yaml:3:7: optim.lr: expected a number in [0, 10], got '50'",
               NULL, NULL);
    const char *ov[] = {"train.batch_size=0"};
    load_fails(fx("empty.yaml"), ov, 1, NULL,
               "train.batch_size: expected an integer in [1, 65536], got '0'", NULL, NULL);
    const char *big[] = {"train.seed=99999999999999999999"};
    load_fails(fx("empty.yaml"), big, 1, NULL, "train.seed: expected an integer", NULL, NULL);
}

Test(config, wrong_type)
{
    load_fails(fx("errors/wrong_type.yaml"), NULL, 0, NULL,
               "errors/wrong_type.yaml:2:18: train.deterministic: expected true or false, got "
               "'maybe'",
               NULL, NULL);
    load_fails(fx("errors/float_for_int.yaml"), NULL, 0, NULL,
               "errors/float_for_int.yaml:2:15: train.batch_size: expected an integer in [1, "
               "65536], got '2.5'",
               NULL, NULL);
    const char *quoted[] = {"train.epochs=\"10\""};
    load_fails(fx("empty.yaml"), quoted, 1, NULL, "got the quoted string '10'", NULL, NULL);
    const char *list_for_scalar[] = {"optim.lr=[1]"};
    load_fails(fx("empty.yaml"), list_for_scalar, 1, NULL, "optim.lr: expected a number",
               "got a list", NULL);
    const char *scalar_for_list[] = {"optim.betas=0.9"};
    load_fails(fx("empty.yaml"), scalar_for_list, 1, NULL,
               "optim.betas: expected a list of 2 numbers in [0, 1], got '0.9'", NULL, NULL);
    load_fails(fx("errors/betas_count.yaml"), NULL, 0, NULL,
               "betas_count.yaml:2:10: optim.betas: expected a list of 2 numbers in [0, 1], got a "
               "list of 3",
               NULL, NULL);
}

Test(config, bad_enum_lists_the_choices)
{
    load_fails(fx("errors/bad_enum.yaml"), NULL, 0, NULL,
               "errors/bad_enum.yaml:2:9: optim.type: expected one of sgd|adam|adamw, got "
               "'adamx'",
               NULL, NULL);
}

Test(config, unknown_key_suggests_the_closest)
{
    load_fails(fx("errors/typo.yaml"), NULL, 0, NULL,
               "errors/typo.yaml:5:3: unknown key 'optim.lr_rate' (did you mean 'optim.lr'?)",
               NULL, NULL);
    load_fails(fx("errors/typo_section.yaml"), NULL, 0, NULL,
               "errors/typo_section.yaml:1:1: unknown key 'trian' (did you mean 'train'?)", NULL,
               NULL);
    const char *moved[] = {"train.lr=0.1"};
    load_fails(fx("empty.yaml"), moved, 1, NULL,
               "unknown key 'train.lr' (did you mean 'optim.lr'?)", NULL, NULL);
    const char *swapped[] = {"data.augment.hfilp=0.5"};
    load_fails(fx("empty.yaml"), swapped, 1, NULL, "(did you mean 'data.augment.hflip'?)", NULL,
               NULL);
}

Test(config, unknown_key_without_a_plausible_suggestion)
{
    settings s;
    char err[1024];
    const char *ov[] = {"train.xyzzy_frobnicate=1"};
    cr_assert_eq(settings_load(&s, fx("empty.yaml"), ov, 1, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "unknown key 'train.xyzzy_frobnicate'"), "%s", err);
    cr_assert_null(strstr(err, "did you mean"), "%s", err);
}

Test(config, base_cycle_is_named)
{
    load_fails(fx("errors/cycle_a.yaml"), NULL, 0, NULL, "errors/cycle_b.yaml:1:9: config cycle: ",
               "errors/cycle_a.yaml -> ", "errors/cycle_b.yaml -> ");
    settings s;
    char err[4096];
    cr_assert_eq(settings_load(&s, fx("errors/cycle_a.yaml"), NULL, 0, NULL, err, sizeof err),
                 -1);
    const char *tail = "cycle_a.yaml";
    size_t le = strlen(err), lt = strlen(tail);
    cr_assert(le > lt && !strcmp(err + le - lt, tail), "chain should end where it began: %s",
              err);
}

Test(config, missing_base_and_missing_file)
{
    load_fails(fx("errors/missing_base.yaml"), NULL, 0, NULL,
               "errors/missing_base.yaml:1:9: cannot open base ",
               "tests/data/config/_base_/no_such_file.yaml: No such file or directory", NULL);
    load_fails(fx("no_such_config.yaml"), NULL, 0, NULL, "cannot open ",
               "tests/data/config/no_such_config.yaml: No such file or directory", NULL);
    load_fails(fx("errors"), NULL, 0, NULL, "errors: Is a directory", NULL, NULL);
    load_fails(fx("errors/bad_base_value.yaml"), NULL, 0, NULL,
               "bad_base_value.yaml:1:9: _base_: expected a path or a list of paths", NULL, NULL);
}

Test(config, malformed_yaml_reports_the_line)
{
    load_fails(fx("errors/bad_indent.yaml"), NULL, 0, NULL,
               "errors/bad_indent.yaml:3:8: malformed YAML: ",
               "mapping values are not allowed", NULL);
}

Test(config, refused_yaml_features)
{
    load_fails(fx("errors/anchor.yaml"), NULL, 0, NULL, "errors/anchor.yaml:1:8: anchors and aliases",
               NULL, NULL);
    load_fails(fx("errors/top_list.yaml"), NULL, 0, NULL,
               "errors/top_list.yaml:1:1: expected a map of sections", "got a list", NULL);
    load_fails(fx("errors/dup_key.yaml"), NULL, 0, NULL,
               "errors/dup_key.yaml:3:3: duplicate key 'epochs' (also at line 2)", NULL, NULL);
    char err[512];
    cfg_doc *d = cfg_load_string("a: 1\n---\nb: 2\n", "two.yaml", NULL, 0, err, sizeof err);
    cr_assert_null(d);
    cr_assert(strstr(err, "two.yaml:2:1: a second YAML document"), "%s", err);
    d = cfg_load_string("train: {epochs: 1", "flow.yaml", NULL, 0, err, sizeof err);
    cr_assert_null(d);
    cr_assert(strstr(err, "flow.yaml:2:1: malformed YAML: "), "%s", err);
    d = cfg_load_string("train: 3\n", "sec.yaml", NULL, 0, err, sizeof err);
    cr_assert_not_null(d, "%s", err);
    settings_train tr = {0};
    cr_assert_eq(cfg_bind(d, &settings_train_section, &tr, err, sizeof err), -1);
    cr_assert(strstr(err, "sec.yaml:1:8: train: expected a map of settings"), "%s", err);
    cfg_release(&settings_train_section, &tr);
    cfg_doc_free(d);
}

Test(config, cross_key_checks_are_located)
{
    const char *ov[] = {"sched.milestones=[300, 200]"};
    load_fails(fx("empty.yaml"), ov, 1, NULL,
               "--set sched.milestones=[300, 200]: sched.milestones: expected strictly increasing",
               NULL, NULL);
    const char *multi[] = {"sched.type=multistep"};
    load_fails(fx("empty.yaml"), multi, 1, NULL, "empty.yaml: sched.milestones: ",
               "multistep needs at least one milestone", NULL);
    const char *beta[] = {"optim.betas=[0.9, 1]"};
    load_fails(fx("empty.yaml"), beta, 1, NULL, "optim.betas: each beta must be below 1", NULL,
               NULL);
    const char *w[] = {"data.domain_weights=[1, 0]"};
    load_fails(fx("empty.yaml"), w, 1, NULL, "data.domain_weights: expected positive weights",
               NULL, NULL);
    const char *nothing[] = {"train.epochs=0"};
    load_fails(fx("empty.yaml"), nothing, 1, NULL, "--set train.epochs=0: train.epochs: 0 epochs",
               NULL, NULL);
    const char *steps[] = {"train.epochs=0", "train.max_steps=10"};
    settings s;
    load_ok(&s, fx("empty.yaml"), steps, 2, NULL);
    cr_assert_eq(s.train.max_steps, 10);
    settings_free(&s);
    const char *name[] = {"run.name=a/b"};
    load_fails(fx("empty.yaml"), name, 1, NULL, "--set run.name=a/b: run.name: expected a plain",
               NULL, NULL);
}

/* ---------------------------------------------------------------- driver tables */

Test(config, driver_model_table_binds_and_checks)
{
    toy_cfg t;
    settings_extra x = toy_extra(&t);
    settings s;
    load_ok(&s, fx("model.yaml"), NULL, 0, &x);
    cr_assert_str_eq(s.model.type, "toy");
    cr_assert_str_eq(t.type, "toy");
    cr_assert_eq(t.width, 48);
    cr_assert_eq(t.act, 1);
    cr_assert_eq(t.scales.n, 1);
    cr_assert_eq(t.scales.v[0], 1.0);
    cr_assert_eq(s.train.epochs, 2);
    settings_free(&s);
    cr_assert_null(t.type, "settings_free releases the driver struct's strings");
    cr_assert_null(t.scales.v);

    x = toy_extra(&t);
    load_fails(fx("model_typo.yaml"), NULL, 0, &x,
               "model_typo.yaml:3:3: unknown key 'model.widht' (did you mean 'model.width'?)",
               NULL, NULL);
    cr_assert_null(t.type, "a failed load releases the driver struct's strings");
    /* without the driver's table, its keys are unknown */
    load_fails(fx("model.yaml"), NULL, 0, NULL, "model.yaml:3:3: unknown key 'model.width'",
               NULL, NULL);
    x = toy_extra(&t);
    const char *ov[] = {"model.act=tanh"};
    load_fails(fx("model.yaml"), ov, 1, &x,
               "--set model.act=tanh: model.act: expected one of relu|gelu, got 'tanh'", NULL,
               NULL);
}

Test(config, two_phase_load_peeks_model_type_first)
{
    char err[1024];
    cfg_doc *doc = cfg_load(fx("model.yaml"), NULL, 0, err, sizeof err);
    cr_assert_not_null(doc, "%s", err);
    cr_assert_str_eq(cfg_peek_string(doc, "model.type"), "toy");
    cr_assert_null(cfg_peek_string(doc, "model.nothing"));
    cr_assert_null(cfg_peek_string(doc, "model"), "a map is not a string");
    char where[512];
    cr_assert(strstr(cfg_where(doc, "model.type", where, sizeof where), "model.yaml:2:9"), "%s",
              where);
    cr_assert_str_eq(cfg_where(doc, "train.seed", where, sizeof where), fx("model.yaml"));
    toy_cfg t;
    settings_extra x = toy_extra(&t);
    settings s;
    cr_assert_eq(settings_bind(&s, doc, &x, err, sizeof err), 0, "%s", err);
    cr_assert_eq(t.width, 48);
    settings_free(&s);
}

Test(config, unchecked_model_keys_are_kept_verbatim)
{
    settings_extra x = {.unchecked_model = 1};
    settings s;
    load_ok(&s, fx("model.yaml"), NULL, 0, &x);
    const char *out = tmp_path("verbatim.yaml");
    FILE *f = fopen(out, "w");
    cr_assert_not_null(f);
    cr_assert_eq(settings_emit(f, &s), 0);
    fclose(f);
    settings r;
    load_ok(&r, out, NULL, 0, &x);
    cr_assert_str_eq(cfg_peek_string(r.doc, "model.width"), "48");
    cr_assert_str_eq(cfg_peek_string(r.doc, "model.act"), "gelu");
    cr_assert_str_eq(r.hash, s.hash);
    settings_free(&r);
    /* emitted verbatim, model.width binds as an integer under the driver's table */
    toy_cfg t;
    settings_extra tx = toy_extra(&t);
    load_ok(&r, out, NULL, 0, &tx);
    cr_assert_eq(t.width, 48);
    settings_free(&r);
    settings_free(&s);
}

/* ---------------------------------------------------------------- emit, hash */

Test(config, emit_then_load_gives_identical_structs)
{
    const char *ov[] = {"run.dir='we\"ird \\ dir: #1\ttab'",
                        "optim.lr=0.30000000000000004",
                        "optim.weight_decay=1e-7",
                        "train.grad_clip=.inf",
                        "train.seed=9007199254740991",
                        "data.val=caf\xc3\xa9.h5",
                        "train.best_metric=",
                        "model.width=7",
                        "model.scales=[0.5, 2, 4]"};
    toy_cfg t1, t2;
    settings_extra x1 = toy_extra(&t1), x2 = toy_extra(&t2);
    settings a, b;
    load_ok(&a, fx("exp/child.yaml"), ov, 9, &x1);
    const char *out = tmp_path("resolved.yaml");
    FILE *f = fopen(out, "w");
    cr_assert_not_null(f);
    cr_assert_eq(settings_emit(f, &a), 0);
    fclose(f);
    load_ok(&b, out, NULL, 0, &x2);
    assert_same_settings(&a, &b);
    assert_same(&toy_section, &t1, &t2);
    cr_assert_str_eq(b.run.dir, "we\"ird \\ dir: #1\ttab");
    cr_assert_eq(b.optim.lr, 0.30000000000000004);
    cr_assert_str_eq(b.run.name, "child", "the name is written out, not re-derived");
    cr_assert_str_eq(a.hash, b.hash);
    settings_free(&a);
    settings_free(&b);
}

Test(config, emit_of_defaults_round_trips)
{
    settings a, b;
    load_ok(&a, fx("empty.yaml"), NULL, 0, NULL);
    const char *out = tmp_path("defaults.yaml");
    FILE *f = fopen(out, "w");
    cr_assert_not_null(f);
    cr_assert_eq(settings_emit(f, &a), 0);
    fclose(f);
    load_ok(&b, out, NULL, 0, NULL);
    assert_same_settings(&a, &b);
    cr_assert_str_eq(a.hash, b.hash);
    settings_free(&a);
    settings_free(&b);
}

Test(config, hash_follows_values_not_key_order)
{
    settings a, b, c, d;
    load_ok(&a, fx("order_a.yaml"), NULL, 0, NULL);
    load_ok(&b, fx("order_b.yaml"), NULL, 0, NULL);
    cr_assert_str_eq(a.hash, b.hash, "same values in another order: same hash");
    cr_assert_eq(strlen(a.hash), 16);
    const char *ov[] = {"train.seed=4"};
    load_ok(&c, fx("order_a.yaml"), ov, 1, NULL);
    cr_assert_str_neq(a.hash, c.hash, "a changed value changes the hash");
    const char *ulp[] = {"optim.lr=0.0010000000000000002"};
    load_ok(&d, fx("order_b.yaml"), ulp, 1, NULL);
    cr_assert_str_neq(b.hash, d.hash, "one ulp of lr changes the hash");
    settings_free(&a);
    settings_free(&b);
    settings_free(&c);
    settings_free(&d);
}

/* ---------------------------------------------------------------- the generic layer alone */

typedef struct {
    char *s;
    cfg_string_list names;
    int64_t n;
} small_cfg;

static const cfg_field small_fields[] = {
    {.name = "s", .type = CFG_STRING, .offset = offsetof(small_cfg, s), .def = "x"},
    {.name = "names", .type = CFG_STRING_LIST, .offset = offsetof(small_cfg, names),
     .def = "[a, \"b c\"]"},
    {.name = "n", .type = CFG_INT, .offset = offsetof(small_cfg, n), .def = "-3", .min = -10,
     .max = 10},
};
static const cfg_section small_section = {"a.b", small_fields, 3, NULL};

Test(config, nested_section_bind_twice_and_release)
{
    char err[512];
    cfg_doc *d = cfg_load_string("a:\n  b:\n    s: hello\n    names: [p, q, r]\n", "s.yaml",
                                 NULL, 0, err, sizeof err);
    cr_assert_not_null(d, "%s", err);
    small_cfg c = {0};
    cr_assert_eq(cfg_bind(d, &small_section, &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cfg_bind(d, &small_section, &c, err, sizeof err), 0, "binding twice: %s", err);
    cr_assert_str_eq(c.s, "hello");
    cr_assert_eq(c.names.n, 3);
    cr_assert_str_eq(c.names.v[2], "r");
    cr_assert_eq(c.n, -3);
    cr_assert_eq(cfg_check_unknown(d, err, sizeof err), 0, "%s", err);
    cfg_release(&small_section, &c);
    cr_assert_null(c.s);
    cr_assert_null(c.names.v);
    cr_assert_eq(c.names.n, 0);
    cfg_doc_free(d);

    d = cfg_load_string("", "e.yaml", NULL, 0, err, sizeof err);
    cr_assert_not_null(d, "%s", err);
    cr_assert_eq(cfg_bind(d, &small_section, &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.names.n, 2);
    cr_assert_str_eq(c.names.v[1], "b c");
    cfg_release(&small_section, &c);
    cfg_doc_free(d);
}

Test(config, cfg_emit_nests_dotted_sections)
{
    small_cfg c = {0};
    char err[512];
    cfg_doc *d = cfg_load_string("a: {b: {n: 4}}", NULL, NULL, 0, err, sizeof err);
    cr_assert_not_null(d, "%s", err);
    cr_assert_eq(cfg_bind(d, &small_section, &c, err, sizeof err), 0, "%s", err);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    const cfg_section *secs[] = {&small_section};
    const void *structs[] = {&c};
    cr_assert_eq(cfg_emit(f, secs, structs, 1, NULL, 0), 0);
    fclose(f);
    cr_assert_str_eq(buf, "a:\n  b:\n    s: \"x\"\n    names: [\"a\", \"b c\"]\n    n: 4\n");
    free(buf);
    cfg_release(&small_section, &c);
    cfg_doc_free(d);
}

Test(config, bad_default_in_a_table_is_reported)
{
    static const cfg_field bad[] = {
        {.name = "k", .type = CFG_INT, .offset = 0, .def = "1.5", .min = 0, .max = 9}};
    static const cfg_section sec = {"x", bad, 1, NULL};
    char err[512];
    cfg_doc *d = cfg_load_string("", NULL, NULL, 0, err, sizeof err);
    cr_assert_not_null(d);
    int64_t v = 0;
    cr_assert_eq(cfg_bind(d, &sec, &v, err, sizeof err), -1);
    cr_assert(strstr(err, "default of x.k: x.k: expected an integer in [0, 9], got '1.5'"), "%s",
              err);
    cfg_doc_free(d);
}

Test(config, hash_hex_is_16_digits)
{
    char hex[17];
    cr_assert_str_eq(cfg_hash_hex(0x1234abcdULL, hex), "000000001234abcd");
}
