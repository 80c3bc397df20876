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

#include "helpers.h"
#include "hostile.h"
#include "store/store.h"

static char *g_dir;

static void make_dataset(const char *path, int n)
{
    store_options o = {0};
    o.images = STORE_RAW;
    o.channels = 1;
    o.height = o.width = 8;
    char err[512];
    store_writer *w = store_create(path, &o, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    const char *names[2] = {"right", "left"};
    cr_assert_eq(store_set_class_names(w, names, 2, err, sizeof err), 0, "%s", err);
    uint8_t px[64];
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 64; k++)
            px[k] = (uint8_t)(((k % 8 < 4) == (i % 2) ? 180 : 60) + (i * 7 + k) % 50);
        sample s;
        sample_init(&s);
        s.h = s.w = 8;
        s.c = 1;
        s.image = px;
        s.label = i % 2;
        cr_assert_eq(store_append(w, &s, err, sizeof err), 0, "%s", err);
    }
    cr_assert_eq(store_commit(w, err, sizeof err), 0, "%s", err);
}

static void setup(void)
{
    tst_setup();
    g_dir = tst_tmpdir();
    char p[4200], cfg[2048];
    snprintf(p, sizeof p, "%s/d.h5", g_dir);
    make_dataset(p, 32);
    snprintf(cfg, sizeof cfg,
             "run: {dir: %s/runs, name: t}\n"
             "model: {type: classifier, width: 4, hidden: 16}\n"
             "data: {train: %s/d.h5, val: %s/d.h5, workers: 1}\n"
             "train: {max_steps: 2, batch_size: 8, threads: 1, eval_every: 0}\n",
             g_dir, g_dir, g_dir);
    hst_write_text(g_dir, "cfg.yaml", cfg);
    cr_assert_eq(hst_pictor(g_dir, "train cfg.yaml"), 0, "%s", hst_output(g_dir));
    snprintf(p, sizeof p, "weights '%s/f' '%s/runs/t/weights.safetensors'", g_dir, g_dir);
    cr_assert_eq(tst_python("hostile_files.py", p), 0);
}

static void teardown(void) { tst_rmtree(g_dir); }

TestSuite(hostile_weights, .init = setup, .fini = teardown, .timeout = 240);

/* `pictor eval cfg.yaml --weights f/<file>` exits 1 naming the file and saying what. */
static void refused(const char *file, const char *what)
{
    int rc = hst_pictor(g_dir, "eval cfg.yaml --weights f/%s", file);
    char name[256];
    snprintf(name, sizeof name, "f/%s", file);
    cr_expect_eq(rc, 1, "%s: exit %d: %s", file, rc, hst_output(g_dir));
    cr_expect(hst_says(g_dir, name, what, NULL), "%s: expected '%s': %s", file, what,
              hst_output(g_dir));
}

Test(hostile_weights, the_good_files_load)
{
    cr_expect_eq(hst_pictor(g_dir, "eval cfg.yaml --weights f/good.safetensors"), 0, "%s",
                 hst_output(g_dir));
    cr_expect(hst_says(g_dir, "\"accuracy\"", NULL), "%s", hst_output(g_dir));
    cr_expect_eq(hst_pictor(g_dir, "eval cfg.yaml --weights f/good.pt"), 0, "%s",
                 hst_output(g_dir));
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
