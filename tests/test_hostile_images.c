/*
 * test_hostile_images.c - the hostile-input battery, images and masks (through `pictor data
 * import-masks` and `import-folder`; the files come from tests/reference/hostile_files.py):
 *   - zero-byte, truncated (JPEG and PNG), text-named-.png files, and headers claiming
 *     100000 x 100000 (PNG) or 65000 x 65000 (JPEG) are skipped, each named with its reason (the
 *     huge ones refused from the header, before any pixel buffer is allocated); the good pair
 *     is imported;
 *   - a folder of nothing but such files: exit 1, the message names the output, says nothing
 *     was written and lists the files with their reasons; no output and no temp file is left;
 *   - 16-bit, palette + tRNS, grey + alpha and 1-bit PNGs are accepted and converted to 8-bit
 *     RGB exactly as libpng's rules say (compared with the pixels Python computed);
 *   - masks: values other than 0/255 follow the documented rule (> 127 is the object, so 127
 *     is background and 128 object), an RGB mask is read as grey first, and a mask of another
 *     shape than its image is skipped with both sizes in the reason.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/image.h"
#include "helpers.h"
#include "store/store.h"

static char *g_dir;

static void setup(void)
{
    g_dir = tst_tmpdir();
    char args[4200];
    snprintf(args, sizeof args, "images '%s/f'", g_dir);
    cr_assert_eq(tst_python("hostile_files.py", args), 0);
}

static void teardown(void) { tst_rmtree(g_dir); }

TestSuite(hostile_images, .init = setup, .fini = teardown, .timeout = 120);

/* root/images/<name> from f/<src>, and root/masks/<name without extension>.png from f/<mask> */
static void pair(const char *root, const char *src, const char *stem, const char *mask)
{
    cr_assert_eq(tst_sh(g_dir, "mkdir -p %s/images %s/masks && cp f/%s %s/images/%s && "
                               "n=%s && cp f/%s %s/masks/${n%%.*}.png", root, root, src, root,
                        stem, stem, mask, root), 0);
}

Test(hostile_images, bad_images_are_skipped_with_their_reason)
{
    pair("r", "good.png", "a.png", "mask.png");
    pair("r", "zero.png", "b.png", "mask.png");
    pair("r", "trunc.jpg", "c.jpg", "mask.png");
    pair("r", "trunc.png", "d.png", "mask.png");
    pair("r", "text.png", "e.png", "mask.png");
    pair("r", "huge.png", "f.png", "mask.png");
    pair("r", "huge.jpg", "g.jpg", "mask.png");
    cr_assert_eq(tst_pictor(g_dir, "data import-masks r --out out.h5"), 0, "%s",
                 tst_output(g_dir));
    const char *out = tst_output(g_dir);
    cr_expect(strstr(out, "wrote out.h5: 1 items"), "%s", out);
    cr_expect(strstr(out, "skipped 6 of 7"), "%s", out);
    cr_expect(strstr(out, "b.png (empty file)"), "%s", out);
    cr_expect(strstr(out, "c.jpg (truncated JPEG)"), "%s", out);
    cr_expect(strstr(out, "d.png (truncated PNG)"), "%s", out);
    cr_expect(strstr(out, "e.png (not a JPEG or PNG image)"), "%s", out);
    cr_expect(strstr(out, "f.png (") && strstr(out, "100000x100000"), "%s", out);
    cr_expect(strstr(out, "g.jpg (image too large (65000x65000"), "%s", out);
    cr_expect_eq(strstr(out, "out of memory"), NULL, "a huge header reached an allocation: %s",
                 out);
}

Test(hostile_images, nothing_importable_is_exit_1_naming_the_files_and_writes_nothing)
{
    pair("r", "zero.jpg", "a.jpg", "mask.png");
    pair("r", "trunc.png", "b.png", "mask.png");
    pair("r", "huge.png", "c.png", "mask.png");
    tst_write_text(g_dir, "out.h5", "an older file that must stay as it was");
    cr_assert_eq(tst_pictor(g_dir, "data import-masks r --out out.h5"), 1, "%s",
                 tst_output(g_dir));
    cr_expect(tst_says(g_dir, "out.h5: no item could be imported (3 skipped", "a.jpg (empty file)",
                       "b.png (truncated PNG)", "nothing written", NULL), "%s", tst_output(g_dir));
    char *old = tst_read(g_dir, "out.h5");
    cr_expect_str_eq(old, "an older file that must stay as it was");
    free(old);
    cr_expect_eq(tst_temp_files(g_dir), 0);
    /* and into a fresh name: no file at all */
    cr_assert_eq(tst_pictor(g_dir, "data import-masks r --out new.h5"), 1);
    cr_expect_not(tst_exists(g_dir, "new.h5"));
    cr_expect_eq(tst_temp_files(g_dir), 0);
}

/* The decoded RGB pixels of item i of path. */
static uint8_t *item_rgb(const char *path, int64_t i, int *h, int *w)
{
    char err[512];
    store_reader *r = store_open(path, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    uint8_t *bytes = NULL, *px = NULL;
    size_t len = 0;
    int c;
    cr_assert_eq(store_read_image_bytes(r, i, &bytes, &len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(image_decode(bytes, len, 3, &px, h, w, &c, err, sizeof err), 0, "%s", err);
    free(bytes);
    store_close(r);
    return px;
}

Test(hostile_images, odd_png_kinds_are_converted_to_8_bit_rgb)
{
    static const char *kinds[] = {"bit1", "g16", "ga", "good", "pal"}; /* sorted: item order */
    for (int k = 0; k < 5; k++)
        cr_assert_eq(tst_sh(g_dir, "mkdir -p folder/x && cp f/%s.png folder/x/", kinds[k]), 0);
    cr_assert_eq(tst_pictor(g_dir, "data import-folder folder --out odd.h5"), 0, "%s",
                 tst_output(g_dir));
    cr_expect(tst_says(g_dir, "wrote odd.h5: 5 items", NULL), "%s", tst_output(g_dir));
    char path[4200];
    snprintf(path, sizeof path, "%s/odd.h5", g_dir);
    for (int k = 0; k < 5; k++) {
        int h, w;
        uint8_t *px = item_rgb(path, k, &h, &w);
        char name[64];
        snprintf(name, sizeof name, "f/%s.rgb", kinds[k]);
        char *want = tst_read(g_dir, name);
        cr_assert_eq(h * w, 48, "%s: %dx%d", kinds[k], w, h);
        int bad = 0;
        for (int i = 0; i < h * w * 3; i++)
            bad += abs((int)px[i] - (int)(uint8_t)want[i]) > 0;
        cr_expect_eq(bad, 0, "%s: %d of %d values differ from libpng's conversion", kinds[k],
                     bad, h * w * 3);
        free(want);
        free(px);
    }
}

Test(hostile_images, mask_values_follow_the_rule_and_other_shapes_are_refused)
{
    pair("r", "good.png", "a.png", "mask_values.png");
    pair("r", "good.png", "b.png", "mask_rgb.png");
    pair("r", "good.png", "c.png", "mask_square.png");
    cr_assert_eq(tst_pictor(g_dir, "data import-masks r --out m.h5"), 0, "%s", tst_output(g_dir));
    cr_expect(tst_says(g_dir, "wrote m.h5: 2 items", "c.png (mask is 5x5, image 8x6)", NULL),
              "%s", tst_output(g_dir));
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/m.h5", g_dir);
    store_reader *r = store_open(path, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    char *want = tst_read(g_dir, "f/mask_values.bin");
    for (int64_t i = 0; i < 2; i++) {
        sample s;
        sample_init(&s);
        cr_assert_eq(store_read(r, i, STORE_READ_ALL, &s, err, sizeof err), 0, "%s", err);
        cr_assert_not_null(s.mask);
        int bad = 0;
        for (int k = 0; k < s.h * s.w; k++)
            bad += s.mask[k] != (uint8_t)want[k];
        cr_expect_eq(bad, 0, "item %lld: %d mask pixels break the > 127 rule", (long long)i, bad);
        sample_free(&s);
    }
    free(want);
    store_close(r);
}
