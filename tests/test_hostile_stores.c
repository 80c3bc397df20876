/*
 * test_hostile_stores.c - the hostile-input battery, HDF5 dataset files (through `pictor data
 * info` and as a training set of `pictor train`): an HDF5 file without pictor's layout (h5py),
 * one that claims the layout but has a column of the wrong length, a text file and a zero-byte
 * file named .h5, and a store pictor wrote, cut in half. Each ends in exit 1 with one message
 * naming the file and what is wrong; none crashes.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "helpers.h"

static char *g_dir;

static void setup(void)
{
    g_dir = tst_tmpdir();
    char args[4200];
    snprintf(args, sizeof args, "stores '%s'", g_dir);
    cr_assert_eq(tst_python("hostile_files.py", args), 0);
}

static void teardown(void) { tst_rmtree(g_dir); }

TestSuite(hostile_stores, .init = setup, .fini = teardown, .timeout = 120);

static void refused(const char *file, const char *what)
{
    int rc = tst_pictor(g_dir, "data info %s", file);
    cr_expect_eq(rc, 1, "%s: exit %d: %s", file, rc, tst_output(g_dir));
    cr_expect(tst_says(g_dir, file, what, NULL), "%s: expected '%s': %s", file, what,
              tst_output(g_dir));
}

Test(hostile_stores, data_info_names_the_file_and_the_defect)
{
    refused("plain.h5", "not a pictor dataset (no 'pictor_format' attribute)");
    refused("short_label.h5", "dataset '/label' is corrupt: 3 rows where its table has 4");
    refused("text.h5", "not an HDF5 file");
    refused("zero.h5", "not an HDF5 file");
    refused("missing.h5", "No such file");
    /* a store pictor wrote, cut in half */
    cr_assert_eq(tst_pictor(g_dir, "data synth shapes --n 4 --size 32 --out s.h5"), 0, "%s",
                 tst_output(g_dir));
    cr_assert_eq(tst_sh(g_dir, "head -c $(( $(stat -c %%s s.h5) / 2 )) s.h5 > half.h5"), 0);
    int rc = tst_pictor(g_dir, "data info half.h5");
    cr_expect_eq(rc, 1, "half.h5: exit %d: %s", rc, tst_output(g_dir));
    cr_expect(tst_says(g_dir, "half.h5", NULL), "%s", tst_output(g_dir));
}

Test(hostile_stores, training_on_a_foreign_file_is_exit_1)
{
    tst_write_text(g_dir, "cfg.yaml",
                   "run: {dir: %s/runs, name: t}\n"
                   "model: {type: classifier, width: 4, hidden: 16}\n"
                   "data: {train: %s/plain.h5, val: ''}\n"
                   "train: {max_steps: 2, batch_size: 2, threads: 1}\n",
                   g_dir, g_dir);
    cr_expect_eq(tst_pictor(g_dir, "train cfg.yaml"), 1, "%s", tst_output(g_dir));
    cr_expect(tst_says(g_dir, "plain.h5", "not a pictor dataset", NULL), "%s", tst_output(g_dir));
}
