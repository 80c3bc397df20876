/*
 * fuzz_coco.c - libFuzzer harness of the COCO importer (data/import/import_coco.c): the input is
 * the instances JSON; the images folder holds a.png (6x4 RGB), b.jpg (8x8 RGB) and g.png (5x5
 * grey), which the seeds (make_seeds.py) name. The import writes a real HDF5 store to the scratch
 * folder; whether it succeeds or fails, nothing may be left under the output name but a complete
 * store, and no temp file may be left at all.
 */
#include "fuzz_common.h"
#include "import/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *images = fuzz_images();
    char json[600], out[600], err[1024];
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
    fuzz_check_no_temp(fuzz_dir());
    import_report_free(&rep);
    unlink(out);
    return 0;
}
