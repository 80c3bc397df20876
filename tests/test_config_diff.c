/*
 * test_config_diff.c - key-by-key comparison of emitted configs (train/core/config_diff.h).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "core/config_diff.h"

static const char *old_cfg =
    "# resolved config of a.yaml (hash 1): every key\n"
    "run:\n"
    "  name: \"a\"                 # run name\n"
    "train:\n"
    "  max_steps: 10              # steps\n"
    "  seed: 0                    # seed\n"
    "optim:\n"
    "  lr: 0.001                  # lr (in [0, 10])\n"
    "  betas: [0.9, 0.999]        # betas\n"
    "data:\n"
    "  train: \"x#1.h5\"            # a '#' inside quotes is part of the value\n"
    "  augment:\n"
    "    crop: 0                  # crop\n"
    "  image_size: 64             # side\n"
    "model:\n"
    "  gone: 1                    # dropped by a newer version\n";

static const char *new_cfg =
    "# resolved config of b.yaml (hash 2): every key, other wording\n"
    "run:\n"
    "  name: \"b\"   # renamed run: free\n"
    "train:\n"
    "  max_steps: 20\n"
    "  seed: 0                    # same value, other comment\n"
    "\n"
    "optim:\n"
    "  lr: 0.01\n"
    "  betas: [0.9, 0.99]\n"
    "data:\n"
    "  train: \"x#2.h5\"\n"
    "  augment:\n"
    "    crop: 32\n"
    "  image_size: 64\n"
    "model:\n"
    "  added: true\n";

static const cfgdiff_entry *find(const cfgdiff *d, const char *key)
{
    for (int i = 0; i < d->n; i++)
        if (!strcmp(d->e[i].key, key))
            return &d->e[i];
    return NULL;
}

Test(config_diff, names_each_changed_key_with_both_values)
{
    cfgdiff d;
    char err[128];
    cr_assert_eq(cfgdiff_compute(old_cfg, new_cfg, &d, err, sizeof err), 0, "%s", err);
    const char *blocking[] = {"optim.lr", "optim.betas", "data.train", "data.augment.crop",
                              "model.added", "model.gone"};
    cr_expect_eq(d.n, 8, "run.name and train.max_steps + 6 blocking keys, got %d", d.n);
    cr_expect_eq(d.n_blocking, 6);
    for (size_t i = 0; i < sizeof blocking / sizeof *blocking; i++) {
        const cfgdiff_entry *e = find(&d, blocking[i]);
        cr_assert_not_null(e, "%s not reported", blocking[i]);
        cr_expect_eq(e->blocking, 1, "%s", blocking[i]);
    }
    const cfgdiff_entry *e = find(&d, "optim.lr");
    cr_expect_str_eq(e->old_val, "0.001");
    cr_expect_str_eq(e->new_val, "0.01");
    e = find(&d, "data.train");
    cr_expect_str_eq(e->old_val, "\"x#1.h5\"");
    e = find(&d, "data.augment.crop");
    cr_expect_str_eq(e->new_val, "32");
    cr_expect_str_eq(find(&d, "model.added")->old_val, "(absent)");
    cr_expect_str_eq(find(&d, "model.gone")->new_val, "(absent)");
    cr_expect_eq(find(&d, "train.max_steps")->blocking, 0);
    cr_expect_eq(find(&d, "run.name")->blocking, 0);
    cr_expect_null(find(&d, "train.seed"));
    cr_expect_null(find(&d, "data.image_size"), "nesting must return to data after augment");

    char buf[512];
    cfgdiff_format(&d, 1, 2, buf, sizeof buf);
    cr_expect_str_eq(buf, "  optim.lr: 0.001 -> 0.01\n"
                          "  optim.betas: [0.9, 0.999] -> [0.9, 0.99]\n"
                          "  ... and 4 more\n");
    char tiny[10];
    cfgdiff_format(&d, 0, 100, tiny, sizeof tiny); /* truncated, still terminated */
    cr_expect_eq(strlen(tiny), sizeof tiny - 1);
    cfgdiff_free(&d);
    cr_expect_eq(d.n, 0);
}

Test(config_diff, identical_texts_and_comment_only_changes_are_no_change)
{
    cfgdiff d;
    char err[128];
    cr_assert_eq(cfgdiff_compute(old_cfg, old_cfg, &d, err, sizeof err), 0);
    cr_expect_eq(d.n, 0);
    cfgdiff_free(&d);
    cr_assert_eq(cfgdiff_compute("a:\n  b: 1  # one\n", "# header\na:\n  b: 1\n", &d, err,
                                 sizeof err),
                 0);
    cr_expect_eq(d.n, 0);
    cfgdiff_free(&d);
    cr_assert_eq(cfgdiff_compute("", "train:\n  epochs: 2\n", &d, err, sizeof err), 0);
    cr_expect_eq(d.n, 1);
    cr_expect_eq(d.n_blocking, 0, "train.epochs is a run-length key");
    cfgdiff_free(&d);
}
