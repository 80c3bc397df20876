/*
 * fuzz_ratios.c - libFuzzer harness of the weak-label CSV importer (data/curate/area_labels.h,
 * `pictor data import-ratios`): the input is the CSV ("file,ratio[,error]" lines); the images
 * folder holds a.png, b.jpg and g.png. Whether the import succeeds or fails, no temp file may be
 * left, and a failed import may leave no output.
 */
#include <dirent.h>

#include "codec/image.h"
#include "curate/area_labels.h"
#include "fuzz_common.h"

static void make_images(const char *dir)
{
    char p[700], err[256];
    uint8_t rgb[8 * 8 * 3], grey[25];
    for (size_t i = 0; i < sizeof rgb; i++)
        rgb[i] = (uint8_t)(i * 37);
    for (size_t i = 0; i < sizeof grey; i++)
        grey[i] = (uint8_t)(i * 11);
    uint8_t *jpg = NULL;
    size_t len = 0;
    snprintf(p, sizeof p, "%s/a.png", dir);
    if (image_write_png(p, rgb, 4, 6, 3, err, sizeof err))
        abort();
    snprintf(p, sizeof p, "%s/g.png", dir);
    if (image_write_png(p, grey, 5, 5, 1, err, sizeof err))
        abort();
    snprintf(p, sizeof p, "%s/b.jpg", dir);
    if (image_encode_jpeg(rgb, 8, 8, 3, 90, &jpg, &len, err, sizeof err))
        abort();
    fuzz_write(p, jpg, len);
    free(jpg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char images[600];
    char csv[600], out[600], err[1024];
    if (!images[0]) {
        fuzz_path("images", images, sizeof images);
        mkdir(images, 0777);
        make_images(images);
    }
    fuzz_write(fuzz_path("ratios.csv", csv, sizeof csv), data, size);
    fuzz_path("out.h5", out, sizeof out);
    unlink(out);
    int64_t items = 0;
    int rc = area_labels_import_csv(csv, images, out, &items, err, sizeof err);
    struct stat st;
    if (rc != 0 && stat(out, &st) == 0)
        abort(); /* a failed import leaves no output */
    DIR *d = opendir(fuzz_dir());
    for (struct dirent *e; d && (e = readdir(d));)
        if (strstr(e->d_name, ".tmp."))
            abort(); /* nor a temp file */
    if (d)
        closedir(d);
    unlink(out);
    return 0;
}
