/*
 * test_hostile_coco.c - the hostile-input battery, COCO instances JSON (through `pictor data
 * import-coco`). Each bad file ends in exit 1 with a message that names the JSON file and what
 * is wrong (the line and column of a syntax error, the key, the annotation and its image), and
 * leaves no output and no temp file; a bad image is skipped with its name and reason:
 * truncated JSON, wrong types, a file_name that leaves the image folder, polygons with one
 * point (they outline nothing: the image is left without instances, nothing to write) or a
 * non-finite coordinate, RLE counts that do not sum to the mask, an RLE of another size than
 * its image, a missing image.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "helpers.h"

static char *g_dir;

static void setup(void)
{
    g_dir = tst_tmpdir();
    char args[4200];
    snprintf(args, sizeof args, "images '%s/f'", g_dir);
    cr_assert_eq(tst_python("hostile_files.py", args), 0);
    /* images/a.png is 8 x 6 */
    cr_assert_eq(tst_sh(g_dir, "mkdir -p images && cp f/good.png images/a.png"), 0);
}

static void teardown(void) { tst_rmtree(g_dir); }

TestSuite(hostile_coco, .init = setup, .fini = teardown, .timeout = 120);

#define IMAGES "\"images\": [{\"id\": 1, \"file_name\": \"a.png\", \"width\": 8, \"height\": 6}]"
#define CATS "\"categories\": [{\"id\": 5, \"name\": \"thing\"}]"
#define SQUARE "[[1, 1, 5, 1, 5, 4, 1, 4]]"

/* Import json (text) written to c.json; the exit status. */
static int import(const char *json)
{
    tst_write_text(g_dir, "c.json", "%s", json);
    return tst_pictor(g_dir, "data import-coco --json c.json --images images --min-area 0 --out o.h5");
}

/* The import of json fails with exit 1, says every string given, and writes nothing. */
static void refused(const char *json, const char *s1, const char *s2)
{
    int rc = import(json);
    cr_expect_eq(rc, 1, "exit %d for %s: %s", rc, json, tst_output(g_dir));
    cr_expect(tst_says(g_dir, s1, s2, NULL), "expected '%s' and '%s' for %s, got: %s", s1, s2,
              json, tst_output(g_dir));
    cr_expect_not(tst_exists(g_dir, "o.h5"), "output left after a failed import of %s", json);
    cr_expect_eq(tst_temp_files(g_dir), 0, "temp file left after %s", json);
}

Test(hostile_coco, the_good_file_imports)
{
    cr_assert_eq(import("{" IMAGES ", " CATS ", \"annotations\": [{\"id\": 1, \"image_id\": 1, "
                        "\"category_id\": 5, \"segmentation\": " SQUARE "}]}"),
                 0, "%s", tst_output(g_dir));
    cr_expect(tst_says(g_dir, "wrote o.h5: 1 items", NULL), "%s", tst_output(g_dir));
}

Test(hostile_coco, truncated_json_names_the_line_and_column)
{
    refused("{" IMAGES ",\n " CATS ",\n \"annotations\": [{\"id\": 1, \"ima", "c.json: invalid JSON at line 3",
            "column");
    refused("", "c.json: invalid JSON", "line 1");
}

Test(hostile_coco, wrong_types_name_the_key)
{
    refused("{\"images\": {}, " CATS ", \"annotations\": []}", "c.json: ", "'images'");
    refused("{\"images\": [{\"id\": \"1\", \"file_name\": \"a.png\"}], " CATS
            ", \"annotations\": []}", "c.json: images[0]", "'id'");
    refused("{" IMAGES ", " CATS ", \"annotations\": [{\"id\": 1, \"image_id\": 1, "
            "\"category_id\": 5, \"segmentation\": 7}]}", "c.json: annotation 1 (image 1)",
            "'segmentation' must be");
    refused("{" IMAGES ", " CATS ", \"annotations\": [{\"id\": 1, \"image_id\": 9, "
            "\"category_id\": 5, \"segmentation\": " SQUARE "}]}", "c.json: annotation 1",
            "image_id 9 is not in 'images'");
    refused("[1, 2]", "c.json: ", "expected a JSON object");
}

Test(hostile_coco, a_file_name_outside_the_image_folder_is_refused)
{
    tst_sh(g_dir, "cp f/good.png secret.png");
    refused("{\"images\": [{\"id\": 1, \"file_name\": \"../secret.png\"}], " CATS
            ", \"annotations\": []}", "c.json: image 1", "leaves the image folder");
    refused("{\"images\": [{\"id\": 1, \"file_name\": \"/etc/passwd\"}], " CATS
            ", \"annotations\": []}", "c.json: image 1", "leaves the image folder");
}

Test(hostile_coco, degenerate_and_non_finite_polygons)
{
    /* one point outlines nothing: the image is left without instances and not written */
    refused("{" IMAGES ", " CATS ", \"annotations\": [{\"id\": 1, \"image_id\": 1, "
            "\"category_id\": 5, \"segmentation\": [[2, 2]]}]}", "o.h5: nothing to write",
            "1 without instances");
    refused("{" IMAGES ", " CATS ", \"annotations\": [{\"id\": 3, \"image_id\": 1, "
            "\"category_id\": 5, \"segmentation\": [[1, 1, 1e999, 1, 5, 4]]}]}",
            "c.json: annotation 3 (image 1)", "coordinate 2 is not a finite number");
    refused("{" IMAGES ", " CATS ", \"annotations\": [{\"id\": 3, \"image_id\": 1, "
            "\"category_id\": 5, \"segmentation\": [[1, 1, \"NaN\", 1, 5, 4]]}]}",
            "c.json: annotation 3 (image 1)", "coordinate 2 is not a finite number");
    refused("{" IMAGES ", " CATS ", \"annotations\": [{\"id\": 3, \"image_id\": 1, "
            "\"category_id\": 5, \"segmentation\": [[1, 1, 5]]}]}", "c.json: annotation 3",
            "odd number of coordinates");
}

Test(hostile_coco, rle_with_wrong_counts_or_size)
{
    refused("{" IMAGES ", " CATS ", \"annotations\": [{\"id\": 4, \"image_id\": 1, "
            "\"category_id\": 5, \"segmentation\": {\"size\": [6, 8], \"counts\": [10, 5]}}]}",
            "c.json: annotation 4 (image 1)", "counts sum to 15, expected 6 x 8 = 48");
    refused("{" IMAGES ", " CATS ", \"annotations\": [{\"id\": 4, \"image_id\": 1, "
            "\"category_id\": 5, \"segmentation\": {\"size\": [6, 8], \"counts\": \"~~\"}}]}",
            "c.json: annotation 4", "invalid character '~'");
    refused("{" IMAGES ", " CATS ", \"annotations\": [{\"id\": 4, \"image_id\": 1, "
            "\"category_id\": 5, \"segmentation\": {\"size\": [6, 8], \"counts\": [-1, 49]}}]}",
            "c.json: annotation 4", "is not a count");
    /* an RLE of another size than the image: that image is skipped with the reason */
    refused("{" IMAGES ", " CATS ", \"annotations\": [{\"id\": 4, \"image_id\": 1, "
            "\"category_id\": 5, \"segmentation\": {\"size\": [2, 2], \"counts\": [1, 3]}}]}",
            "a.png (annotation 4: RLE size is 2x2, the image 8x6)", "o.h5: nothing to write");
}

Test(hostile_coco, missing_and_bad_images_are_named)
{
    tst_sh(g_dir, "cp f/trunc.jpg images/t.jpg");
    cr_assert_eq(import("{\"images\": [{\"id\": 1, \"file_name\": \"a.png\"}, {\"id\": 2, "
                        "\"file_name\": \"gone.png\"}, {\"id\": 3, \"file_name\": \"t.jpg\"}], "
                        CATS ", \"annotations\": [" "{\"id\": 1, \"image_id\": 1, \"category_id\": "
                        "5, \"segmentation\": " SQUARE "}, {\"id\": 2, \"image_id\": 2, "
                        "\"category_id\": 5, \"segmentation\": " SQUARE "}, {\"id\": 3, "
                        "\"image_id\": 3, \"category_id\": 5, \"segmentation\": " SQUARE "}]}"),
                 0, "%s", tst_output(g_dir));
    cr_expect(tst_says(g_dir, "wrote o.h5: 1 items", "gone.png (No such file or directory)",
                       "t.jpg (truncated JPEG)", NULL), "%s", tst_output(g_dir));
    cr_expect_eq(tst_temp_files(g_dir), 0);
}
