/*
 * fuzz_ratios.c - libFuzzer harness of the weak-label CSV importer (data/curate/area_labels.h,
 * `pictor data import-ratios`): the input is the CSV ("file,ratio[,error]" lines); the images
 * folder holds a.png, b.jpg and g.png. Whether the import succeeds or fails, no temp file may be
 * left, and a failed import may leave no output.
 */
#include "curate/area_labels.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *images = fuzz_images();
    char csv[600], out[600], err[1024];
    fuzz_write(fuzz_path("ratios.csv", csv, sizeof csv), data, size);
    fuzz_path("out.h5", out, sizeof out);
    unlink(out);
    int64_t items = 0;
    int rc = area_labels_import_csv(csv, images, out, &items, err, sizeof err);
    struct stat st;
    if (rc != 0 && stat(out, &st) == 0)
        abort(); /* a failed import leaves no output */
    fuzz_check_no_temp(fuzz_dir()); /* nor a temp file */
    unlink(out);
    return 0;
}
