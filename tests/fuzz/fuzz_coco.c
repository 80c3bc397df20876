/*
 * fuzz_coco.c - libFuzzer harness of the COCO importer (data/import/import_coco.c): the input is
 * the instances JSON; the images folder holds a.png (6x4 RGB), b.jpg (8x8 RGB) and g.png (5x5
 * grey), which the seeds (make_seeds.py) name. The import writes a real HDF5 store to the scratch
 * folder; whether it succeeds or fails, nothing may be left under the output name but a complete
 * store, and no temp file may be left at all.
 */
#include <dirent.h>

#include "codec/image.h"
#include "fuzz_common.h"
#include "import/import.h"

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

/* Abort if a temp file of an atomic write is left in dir. */
static void check_no_temp(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        abort();
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".tmp."))
            abort();
    closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char images[600];
    char json[600], out[600], err[1024];
    if (!images[0]) {
        fuzz_path("images", images, sizeof images);
        mkdir(images, 0777);
        make_images(images);
    }
    fuzz_write(fuzz_path("instances.json", json, sizeof json), data, size);
    fuzz_path("out.h5", out, sizeof out);
    unlink(out);
    import_coco_options o = {.common = {.out = out}, .json = json, .images = images,
                             .crowd = (size > 0 && data[size - 1] & 1) ? IMPORT_CROWD_KEEP
                                                                       : IMPORT_CROWD_SKIP,
                             .min_area = 0, .keep_empty = size > 1 && (data[size - 2] & 1)};
    import_report rep;
    memset(&rep, 0, sizeof rep);
    int rc = import_coco(&o, &rep, err, sizeof err);
    struct stat st;
    if (rc != IMPORT_OK && stat(out, &st) == 0)
        abort(); /* a failed import leaves no output */
    if (rc == IMPORT_OK && stat(out, &st) != 0)
        abort();
    check_no_temp(fuzz_dir());
    import_report_free(&rep);
    unlink(out);
    return 0;
}
