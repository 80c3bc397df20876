/*
 * test_hostile_weights.c - the hostile-input battery, weight files (through `pictor eval CONFIG
 * --weights FILE`, which reads safetensors, torch.save zips and checkpoints). The files are
 * made by tests/reference/hostile_files.py from the weights of a real 2-step run, each with one
 * defect; every one ends in exit 1 with a message naming the file and the defect: a header
 * length past the end of the file, a truncated file, a header that is not JSON, overlapping or
 * out-of-range data_offsets, an unknown dtype, integers where the model has floats, a wrong
 * shape (file and model shapes named), a missing or an unexpected tensor (named), a zero-byte
 * file; torch files that are truncated, hold a list, or are zips of something else.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "helpers.h"

static char *g_dir;

static void setup(void)
{
    tst_setup();
    g_dir = tst_tmpdir();
    char p[4200], err[512];
    cr_assert_eq(tst_grey8_store(g_dir, "d.h5", 32, tst_grey8_halves, err, sizeof err), 0, "%s",
                 err);
    tst_write_text(g_dir, "cfg.yaml",
                   "run: {dir: %s/runs, name: t}\n"
                   "model: {type: classifier, width: 4, hidden: 16}\n"
                   "data: {train: %s/d.h5, val: %s/d.h5, workers: 1}\n"
                   "train: {max_steps: 2, batch_size: 8, threads: 1, eval_every: 0}\n",
                   g_dir, g_dir, g_dir);
    cr_assert_eq(tst_pictor(g_dir, "train cfg.yaml"), 0, "%s", tst_output(g_dir));
    snprintf(p, sizeof p, "weights '%s/f' '%s/runs/t/weights.safetensors'", g_dir, g_dir);
    cr_assert_eq(tst_python("hostile_files.py", p), 0);
}

static void teardown(void) { tst_rmtree(g_dir); }

TestSuite(hostile_weights, .init = setup, .fini = teardown, .timeout = 240);

/* `pictor eval cfg.yaml --weights f/<file>` exits 1 naming the file and saying what. */
static void refused(const char *file, const char *what)
{
    int rc = tst_pictor(g_dir, "eval cfg.yaml --weights f/%s", file);
    char name[256];
    snprintf(name, sizeof name, "f/%s", file);
    cr_expect_eq(rc, 1, "%s: exit %d: %s", file, rc, tst_output(g_dir));
    cr_expect(tst_says(g_dir, name, what, NULL), "%s: expected '%s': %s", file, what,
              tst_output(g_dir));
}

Test(hostile_weights, the_good_files_load)
{
    cr_expect_eq(tst_pictor(g_dir, "eval cfg.yaml --weights f/good.safetensors"), 0, "%s",
                 tst_output(g_dir));
    cr_expect(tst_says(g_dir, "\"accuracy\"", NULL), "%s", tst_output(g_dir));
    cr_expect_eq(tst_pictor(g_dir, "eval cfg.yaml --weights f/good.pt"), 0, "%s",
                 tst_output(g_dir));
}

Test(hostile_weights, safetensors_layout_defects)
{
    refused("huge_header.safetensors", "is larger than the file");
    refused("header_past_end.safetensors", "is larger than the file");
    refused("truncated.safetensors", "out of bounds");
    refused("not_json.safetensors", "invalid JSON in header");
    refused("overlap.safetensors", "overlaps tensor");
    refused("out_of_range.safetensors", "out of bounds");
    refused("bad_dtype_name.safetensors", "unknown dtype 'F33'");
    refused("zero.safetensors", "neither a safetensors file nor");
}

Test(hostile_weights, safetensors_that_do_not_fit_the_model)
{
    refused("wrong_dtype.safetensors", "in the file but float");
    refused("wrong_shape.safetensors", "in the file but");
    refused("missing.safetensors", "1 missing key(s)");
    refused("unexpected.safetensors", "1 unexpected key(s) (extra.weight)");
}

Test(hostile_weights, bad_torch_files)
{
    refused("truncated.pt", "not a readable torch file");
    refused("list.pt", "expected a dict of tensors");
    refused("zip_not_torch.pt", "not a readable torch file");
    refused("text.pt", "neither a safetensors file nor");
}
