/* test_import.c - Criterion tests for the importers (data/import_*.c).
 *
 * Owns: image folders generated here (PNG and JPEG files written with data/image.c, plus one
 * corrupt and one truncated file, a non-image file, an image without a mask and a mask without
 * an image, a mask at half resolution and one of another shape), the class / domain layouts and
 * their detection, the COCO_MVal name rule, cancel and failure leaving no output file, a small
 * IDX pair, and the real data: Fashion-MNIST's test split (Debian) and ../shared/data/human_seg
 * and ../shared/data/coco_mval (skipped when that folder is absent).
 */
#include <criterion/criterion.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "codec/idx.h"
#include "codec/image.h"
#include "import/import.h"
#include "store/store.h"

#define SHARED_DATA PICTOR_SOURCE_DIR "/../shared/data"

static char *g_dir;

static void setup(void) { g_dir = tst_tmpdir(); cr_assert_not_null(g_dir); }
static void teardown(void) { tst_rmtree(g_dir); }

TestSuite(import, .init = setup, .fini = teardown, .timeout = 60);

static const char *path_in(const char *rel)
{
    static _Thread_local char buf[8][4096];
    static _Thread_local int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, rel);
    return buf[k];
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void mkdirs(const char *rel)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path_in(rel));
    for (char *p = buf + strlen(g_dir) + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0755);
            *p = '/';
        }
    mkdir(buf, 0755);
}

static void write_bytes(const char *rel, const void *data, size_t len)
{
    FILE *f = fopen(path_in(rel), "wb");
    cr_assert_not_null(f, "cannot write %s", rel);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static uint8_t *pixels(int h, int w, int c, int seed)
{
    uint8_t *p = malloc((size_t)h * w * c);
    for (int i = 0; i < h * w * c; i++)
        p[i] = (uint8_t)(40 + (i * 3 + seed * 17) % 160);
    return p;
}

/* Write an h x w image file; kind "png", "jpg", "truncated" (a JPEG cut in half) or "corrupt"
 * (a PNG with a damaged IDAT). */
static void write_image(const char *rel, int h, int w, int c, const char *kind, int seed)
{
    uint8_t *px = pixels(h, w, c, seed), *enc = NULL;
    size_t len = 0;
    char err[256];
    int png = !strcmp(kind, "png") || !strcmp(kind, "corrupt");
    int rc = png ? image_encode_png(px, h, w, c, &enc, &len, err, sizeof err)
                 : image_encode_jpeg(px, h, w, c, 90, &enc, &len, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    if (!strcmp(kind, "truncated"))
        len /= 2;
    if (!strcmp(kind, "corrupt"))
        enc[len / 2] ^= 0x5A;
    write_bytes(rel, enc, len);
    free(enc);
    free(px);
}

/* A mask file: the left half 255, the right half 0 (or a ramp when ramp != 0). */
static void write_mask(const char *rel, int h, int w)
{
    uint8_t *m = malloc((size_t)h * w);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            m[y * w + x] = x < w / 2 ? 255 : (x == w / 2 ? 100 : 0);
    char err[256];
    cr_assert_eq(image_write_png(path_in(rel), m, h, w, 1, err, sizeof err), 0, "%s", err);
    free(m);
}

static int report_has(const import_report *rep, const char *entry)
{
    for (int64_t i = 0; i < rep->skipped; i++)
        if (!strcmp(rep->skipped_files[i], entry))
            return 1;
    return 0;
}

static void print_report(const import_report *rep)
{
    for (int64_t i = 0; i < rep->skipped; i++)
        fprintf(stderr, "  skipped: %s\n", rep->skipped_files[i]);
}

static store_reader *open_ok(const char *path)
{
    char err[512];
    store_reader *r = store_open(path, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    return r;
}

/* Read the file at rel and compare it with the bytes stored for item i. */
static void assert_stored_as_is(store_reader *r, int64_t i, const char *rel)
{
    uint8_t *file, *stored;
    size_t flen, slen;
    char err[512];
    cr_assert_eq(image_read_file(path_in(rel), &file, &flen, err, sizeof err), 0, "%s", err);
    cr_assert_eq(store_read_image_bytes(r, i, &stored, &slen, err, sizeof err), 0, "%s", err);
    cr_assert(flen == slen && memcmp(file, stored, flen) == 0, "item %lld is %s as it is",
              (long long)i, rel);
    free(file);
    free(stored);
}

/* ---------------------------------------------------------------- import-folder */

Test(import, folder_by_class_skips_bad_files_by_name)
{
    mkdirs("pets/cat");
    mkdirs("pets/dog");
    write_image("pets/cat/a.png", 12, 10, 3, "png", 1);
    write_image("pets/cat/b.jpg", 16, 16, 3, "truncated", 2);
    write_image("pets/dog/c.jpg", 8, 20, 3, "jpg", 3);
    write_image("pets/dog/d.png", 9, 9, 1, "corrupt", 4);
    write_image("pets/dog/e.jpg", 9, 9, 1, "jpg", 5); /* grey: decoded to 3 channels */
    write_bytes("pets/dog/notes.txt", "hello", 5);
    import_folder_options o = {.common = {.out = path_in("pets.h5")}, .root = path_in("pets")};
    import_report rep;
    char err[512] = "";
    int rc = import_folder(&o, &rep, err, sizeof err);
    print_report(&rep);
    cr_assert_eq(rc, IMPORT_OK, "%s", err);
    cr_assert_eq(rep.seen, 6);
    cr_assert_eq(rep.written, 3);
    cr_assert_eq(rep.skipped, 3);
    cr_assert(report_has(&rep, "cat/b.jpg (truncated JPEG)"));
    cr_assert(report_has(&rep, "dog/notes.txt (not a .jpg, .jpeg or .png file)"));
    int corrupt_named = 0;
    for (int64_t i = 0; i < rep.skipped; i++)
        corrupt_named |= !strncmp(rep.skipped_files[i], "dog/d.png (corrupt PNG", 22);
    cr_assert(corrupt_named, "the corrupt PNG is reported by name");
    char *line = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&line, &len);
    import_report_print(mem, "pets.h5", &rep);
    fclose(mem);
    cr_assert(strstr(line, "skipped 3 of 6 files: cat/b.jpg (truncated JPEG), "), "%s", line);
    free(line);
    import_report_free(&rep);

    store_reader *r = open_ok(path_in("pets.h5"));
    cr_assert_eq(store_count(r), 3);
    cr_assert_eq(store_num_classes(r), 2);
    cr_assert_str_eq(store_class_name(r, 0), "cat");
    cr_assert_str_eq(store_class_name(r, 1), "dog");
    cr_assert_eq(store_num_domains(r), 0);
    cr_assert_eq(store_labels(r)[0], 0);
    cr_assert_eq(store_labels(r)[1], 1);
    cr_assert_eq(store_domains(r)[0], -1);
    assert_stored_as_is(r, 0, "pets/cat/a.png");
    assert_stored_as_is(r, 1, "pets/dog/c.jpg");
    sample s;
    sample_init(&s);
    cr_assert_eq(store_read(r, 2, STORE_READ_ALL, &s, err, sizeof err), 0, "%s", err);
    cr_assert(s.h == 9 && s.w == 9 && s.c == 3, "grey JPEG read as RGB");
    sample_free(&s);
    store_close(r);
}

Test(import, folder_by_domain_and_class)
{
    mkdirs("pacs/photo/dog");
    mkdirs("pacs/photo/cat");
    mkdirs("pacs/sketch/horse");
    mkdirs("pacs/sketch/cat");
    write_image("pacs/photo/dog/1.jpg", 8, 8, 3, "jpg", 1);
    write_image("pacs/photo/cat/2.png", 8, 8, 3, "png", 2);
    write_image("pacs/sketch/horse/3.png", 8, 8, 1, "png", 3);
    write_image("pacs/sketch/cat/4.jpg", 8, 8, 3, "jpg", 4);
    import_folder_options o = {.common = {.out = path_in("pacs.h5")}, .root = path_in("pacs"),
                               .channels = 1};
    import_report rep;
    char err[512] = "";
    cr_assert_eq(import_folder(&o, &rep, err, sizeof err), IMPORT_OK, "%s", err);
    cr_assert_eq(rep.written, 4);
    cr_assert_eq(rep.n_classes, 3);
    cr_assert_eq(rep.n_domains, 2);
    import_report_free(&rep);
    store_reader *r = open_ok(path_in("pacs.h5"));
    const char *classes[3] = {"cat", "dog", "horse"};
    for (int k = 0; k < 3; k++)
        cr_assert_str_eq(store_class_name(r, k), classes[k]);
    cr_assert_str_eq(store_domain_name(r, 0), "photo");
    cr_assert_str_eq(store_domain_name(r, 1), "sketch");
    /* visiting order: photo/cat, photo/dog, sketch/cat, sketch/horse */
    int32_t labels[4] = {0, 1, 0, 2}, domains[4] = {0, 0, 1, 1};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(store_labels(r)[i], labels[i], "label of item %d", i);
        cr_assert_eq(store_domains(r)[i], domains[i], "domain of item %d", i);
    }
    cr_assert_eq(store_layout_of(r)->o.channels, 1);
    ds_source src;
    store_source(r, &src);
    cr_assert_eq(src.n_domains, 2);
    store_close(r);
}

Test(import, folder_errors_leave_no_file)
{
    import_report rep;
    char err[512];
    import_folder_options o = {.common = {.out = path_in("x.h5")}, .root = path_in("missing")};
    cr_assert_eq(import_folder(&o, &rep, err, sizeof err), IMPORT_USER_ERROR);
    cr_assert(strstr(err, "missing"), "%s", err);
    /* mixed layouts */
    mkdirs("mixed/cat");
    mkdirs("mixed/photo/dog");
    write_image("mixed/cat/a.png", 4, 4, 3, "png", 1);
    write_image("mixed/photo/dog/b.png", 4, 4, 3, "png", 1);
    o.root = path_in("mixed");
    cr_assert_eq(import_folder(&o, &rep, err, sizeof err), IMPORT_USER_ERROR);
    cr_assert(strstr(err, "--layout"), "%s", err);
    /* every file bad: nothing to write */
    mkdirs("bad/cat");
    write_image("bad/cat/a.jpg", 16, 16, 3, "truncated", 1);
    o.root = path_in("bad");
    cr_assert_eq(import_folder(&o, &rep, err, sizeof err), IMPORT_USER_ERROR);
    cr_assert(strstr(err, "no item could be imported"), "%s", err);
    import_report_free(&rep);
    cr_assert(!exists(path_in("x.h5")));
    /* cancelled before the first file */
    volatile sig_atomic_t cancel = 1;
    o.root = path_in("mixed");
    o.layout = IMPORT_LAYOUT_CLASS;
    o.common.cancel = &cancel;
    mkdirs("ok/cat");
    write_image("ok/cat/a.png", 4, 4, 3, "png", 1);
    o.root = path_in("ok");
    cr_assert_eq(import_folder(&o, &rep, err, sizeof err), IMPORT_CANCELLED);
    import_report_free(&rep);
    cr_assert(!exists(path_in("x.h5")));
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path_in("x.h5"), (long)getpid());
    cr_assert(!exists(tmp), "no temp file left");
}

/* ---------------------------------------------------------------- import-masks */

Test(import, masks_pairs_by_stem)
{
    mkdirs("seg/images");
    mkdirs("seg/masks");
    write_image("seg/images/a.png", 10, 12, 3, "png", 1);
    write_mask("seg/masks/a.png", 10, 12);
    write_image("seg/images/b.jpg", 20, 24, 3, "jpg", 2);
    write_mask("seg/masks/b.png", 10, 12); /* half resolution: resized */
    write_image("seg/images/c.jpg", 16, 16, 3, "truncated", 3);
    write_mask("seg/masks/c.png", 16, 16);
    write_image("seg/images/d.png", 8, 8, 3, "png", 4); /* no mask */
    write_mask("seg/masks/e.png", 8, 8);                /* no image */
    write_image("seg/images/f.png", 8, 16, 3, "png", 5);
    write_mask("seg/masks/f.png", 8, 8);                /* another shape */
    write_image("seg/images/g.png", 8, 8, 3, "png", 6);
    write_image("seg/masks/g.png", 8, 8, 1, "corrupt", 6);
    import_masks_options o = {.common = {.out = path_in("seg.h5")}, .root = path_in("seg")};
    import_report rep;
    char err[512] = "";
    int rc = import_masks(&o, &rep, err, sizeof err);
    print_report(&rep);
    cr_assert_eq(rc, IMPORT_OK, "%s", err);
    cr_assert_eq(rep.written, 2);
    cr_assert_eq(rep.resized_masks, 1);
    cr_assert_eq(rep.seen, 7, "6 images and one lone mask");
    cr_assert_eq(rep.skipped, 5);
    cr_assert(report_has(&rep, "masks/e.png (no image)"));
    cr_assert(report_has(&rep, "images/c.jpg (truncated JPEG)"));
    cr_assert(report_has(&rep, "images/d.png (no mask)"));
    cr_assert(report_has(&rep, "images/f.png (mask is 8x8, image 16x8)"));
    int corrupt_mask = 0;
    for (int64_t i = 0; i < rep.skipped; i++)
        corrupt_mask |= !strncmp(rep.skipped_files[i], "images/g.png (mask: corrupt PNG", 31);
    cr_assert(corrupt_mask, "a corrupt mask is reported with its image");
    import_report_free(&rep);

    store_reader *r = open_ok(path_in("seg.h5"));
    cr_assert_eq(store_layout_of(r)->o.annotations, STORE_MASK);
    cr_assert_eq(store_num_classes(r), 0);
    for (int i = 0; i < 2; i++) {
        sample s;
        sample_init(&s);
        cr_assert_eq(store_read(r, i, STORE_READ_ALL, &s, err, sizeof err), 0, "%s", err);
        cr_assert_not_null(s.mask);
        cr_assert_eq(s.label, -1);
        for (int y = 0; y < s.h; y++)
            for (int x = 0; x < s.w; x++) {
                uint8_t m = s.mask[y * s.w + x];
                cr_assert(m == 0 || m == 1, "binary mask");
                if (x < s.w / 2 - 1)
                    cr_assert_eq(m, 1, "item %d (%d,%d)", i, x, y);
                if (x > s.w / 2 + 1)
                    cr_assert_eq(m, 0, "item %d (%d,%d)", i, x, y);
            }
        sample_free(&s);
    }
    assert_stored_as_is(r, 1, "seg/images/b.jpg");
    store_close(r);
}

Test(import, class_prefix_rule)
{
    char cls[64];
    int64_t id = 0;
    cr_assert_eq(import_parse_class_prefix("baseball bat00_000000057232", cls, sizeof cls, &id),
                 0);
    cr_assert_str_eq(cls, "baseball bat");
    cr_assert_eq(id, 57232);
    cr_assert_eq(import_parse_class_prefix("airplane01_281693", cls, sizeof cls, &id), 0);
    cr_assert_str_eq(cls, "airplane");
    cr_assert_eq(import_parse_class_prefix("cat7_12", cls, sizeof cls, &id), -1, "one digit");
    cr_assert_eq(import_parse_class_prefix("00_12", cls, sizeof cls, &id), -1, "no class");
    cr_assert_eq(import_parse_class_prefix("cat07_12a", cls, sizeof cls, &id), -1);
    cr_assert_eq(import_parse_class_prefix("cat07", cls, sizeof cls, &id), -1);
    cr_assert_eq(import_parse_class_prefix("cat07_", cls, sizeof cls, &id), -1);
    cr_assert_eq(import_parse_class_prefix("a very long class name00_1", cls, 8, &id), -1);
}

Test(import, masks_class_from_prefix_generated)
{
    mkdirs("mval/img");
    mkdirs("mval/gt");
    const char *stems[4] = {"tennis racket00_000000000042", "tennis racket01_000000000043",
                            "dog00_000000000042", "noindex_5"};
    for (int k = 0; k < 4; k++) {
        char a[256], b[256];
        snprintf(a, sizeof a, "mval/img/%s.jpg", stems[k]);
        snprintf(b, sizeof b, "mval/gt/%s.png", stems[k]);
        write_image(a, 8, 8, 3, "jpg", k);
        write_mask(b, 8, 8);
    }
    import_masks_options o = {.common = {.out = path_in("mval.h5")}, .root = path_in("mval"),
                              .image_dir = "img", .mask_dir = "gt", .class_from_prefix = 1};
    import_report rep;
    char err[512] = "";
    cr_assert_eq(import_masks(&o, &rep, err, sizeof err), IMPORT_OK, "%s", err);
    cr_assert_eq(rep.written, 3);
    cr_assert(report_has(&rep, "img/noindex_5.jpg (name is not <class><NN>_<photo id>)"));
    import_report_free(&rep);
    store_reader *r = open_ok(path_in("mval.h5"));
    cr_assert_eq(store_num_classes(r), 2);
    cr_assert_str_eq(store_class_name(r, 0), "dog");
    cr_assert_str_eq(store_class_name(r, 1), "tennis racket");
    /* sorted file order: dog00, tennis racket00, tennis racket01 */
    cr_assert_eq(store_labels(r)[0], 0);
    cr_assert_eq(store_labels(r)[1], 1);
    cr_assert_eq(store_groups(r)[0], 42);
    cr_assert_eq(store_groups(r)[1], 42, "same photo, same group");
    cr_assert_eq(store_groups(r)[2], 43);
    store_close(r);
}

/* ---------------------------------------------------------------- IDX */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

Test(import, idx_pair)
{
    uint8_t img[16 + 5 * 12], lab[8 + 5];
    memset(img, 0, 4), img[2] = IDX_U8, img[3] = 3;
    put_be32(img + 4, 5), put_be32(img + 8, 3), put_be32(img + 12, 4);
    for (int i = 0; i < 60; i++)
        img[16 + i] = (uint8_t)(i * 4);
    memset(lab, 0, 4), lab[2] = IDX_U8, lab[3] = 1;
    put_be32(lab + 4, 5);
    uint8_t labels[5] = {2, 0, 2, 1, 0};
    memcpy(lab + 8, labels, 5);
    write_bytes("img.idx", img, sizeof img);
    write_bytes("lab.idx", lab, sizeof lab);
    import_idx_options o = {.common = {.out = path_in("pair.h5"), .limit = 4},
                            .images = path_in("img.idx"), .labels = path_in("lab.idx")};
    import_report rep;
    char err[512] = "";
    cr_assert_eq(import_idx(&o, &rep, err, sizeof err), IMPORT_OK, "%s", err);
    cr_assert_eq(rep.written, 4, "--limit");
    import_report_free(&rep);
    store_reader *r = open_ok(path_in("pair.h5"));
    cr_assert_eq(store_count(r), 4);
    cr_assert_eq(store_num_classes(r), 3, "names 0..max label");
    cr_assert_str_eq(store_class_name(r, 2), "2");
    sample s;
    sample_init(&s);
    cr_assert_eq(store_read(r, 3, STORE_READ_ALL, &s, err, sizeof err), 0, "%s", err);
    cr_assert(s.h == 3 && s.w == 4 && s.c == 1 && s.label == 1);
    cr_assert_eq(memcmp(s.image, img + 16 + 36, 12), 0);
    sample_free(&s);
    store_close(r);
    /* one file only: a user error */
    o.labels = NULL;
    cr_assert_eq(import_idx(&o, &rep, err, sizeof err), IMPORT_USER_ERROR);
}

Test(import, fashion_mnist_test_split)
{
    char probe[512];
    snprintf(probe, sizeof probe, "%s/t10k-labels-idx1-ubyte.gz", IDX_FASHION_MNIST_DIR);
    if (!exists(probe))
        cr_skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    import_idx_options o = {.common = {.out = path_in("fmnist.h5")}, .train = 0};
    import_report rep;
    char err[512] = "";
    cr_assert_eq(import_idx(&o, &rep, err, sizeof err), IMPORT_OK, "%s", err);
    cr_assert_eq(rep.written, 10000);
    cr_assert_eq(rep.skipped, 0);
    import_report_free(&rep);
    store_reader *r = open_ok(path_in("fmnist.h5"));
    const store_layout *L = store_layout_of(r);
    cr_assert(L->o.images == STORE_RAW && L->o.height == 28 && L->o.width == 28 &&
              L->o.channels == 1);
    cr_assert_eq(store_count(r), 10000);
    cr_assert_str_eq(store_class_name(r, 9), "Ankle boot");
    int64_t hist[10] = {0};
    for (int i = 0; i < 10000; i++)
        hist[store_labels(r)[i]]++;
    for (int k = 0; k < 10; k++)
        cr_assert_eq(hist[k], 1000, "class %d", k);
    idx_array img = {0}, lab = {0};
    cr_assert_eq(idx_load_fashion_mnist(NULL, 0, &img, &lab, err, sizeof err), 0, "%s", err);
    int picks[3] = {0, 4567, 9999};
    for (int j = 0; j < 3; j++) {
        sample s;
        sample_init(&s);
        cr_assert_eq(store_read(r, picks[j], STORE_READ_ALL, &s, err, sizeof err), 0, "%s", err);
        cr_assert_eq(memcmp(s.image, (uint8_t *)img.data + (size_t)picks[j] * 784, 784), 0);
        cr_assert_eq(s.label, ((uint8_t *)lab.data)[picks[j]]);
        sample_free(&s);
    }
    idx_free(&img);
    idx_free(&lab);
    store_close(r);
}

/* ---------------------------------------------------------------- the real folders */

static void require_shared(const char *sub)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", SHARED_DATA, sub);
    if (!exists(p))
        cr_skip("%s is absent", p);
}

Test(import, real_human_seg)
{
    require_shared("human_seg/train");
    import_masks_options o = {.common = {.out = path_in("human.h5")},
                              .root = SHARED_DATA "/human_seg/train"};
    import_report rep;
    char err[512] = "";
    cr_assert_eq(import_masks(&o, &rep, err, sizeof err), IMPORT_OK, "%s", err);
    print_report(&rep);
    cr_assert_eq(rep.seen, 230);
    cr_assert_eq(rep.written, 230);
    cr_assert_eq(rep.skipped, 0);
    cr_assert_eq(rep.resized_masks, 146, "masks saved at a lower resolution");
    import_report_free(&rep);
    store_reader *r = open_ok(path_in("human.h5"));
    cr_assert_eq(store_count(r), 230);
    sample s;
    sample_init(&s);
    cr_assert_eq(store_read(r, 17, STORE_READ_ALL, &s, err, sizeof err), 0, "%s", err);
    size_t ones = 0;
    for (size_t i = 0; i < (size_t)s.h * s.w; i++) {
        cr_assert(s.mask[i] <= 1);
        ones += s.mask[i];
    }
    cr_assert(ones > 0 && ones < (size_t)s.h * s.w, "a person and a background");
    sample_free(&s);
    store_close(r);
}

Test(import, real_coco_mval)
{
    require_shared("coco_mval/img");
    import_masks_options o = {.common = {.out = path_in("coco.h5")},
                              .root = SHARED_DATA "/coco_mval", .image_dir = "img",
                              .mask_dir = "gt", .class_from_prefix = 1};
    import_report rep;
    char err[512] = "";
    cr_assert_eq(import_masks(&o, &rep, err, sizeof err), IMPORT_OK, "%s", err);
    print_report(&rep);
    cr_assert_eq(rep.written, 800);
    cr_assert_eq(rep.skipped, 0);
    cr_assert_eq(rep.n_classes, 80);
    import_report_free(&rep);
    store_reader *r = open_ok(path_in("coco.h5"));
    int bat = -1;
    for (int k = 0; k < store_num_classes(r); k++)
        if (!strcmp(store_class_name(r, k), "baseball bat"))
            bat = k;
    cr_assert_eq(bat, 4, "'baseball bat' is class 4 (sorted)");
    int n_bat = 0;
    for (int i = 0; i < 800; i++)
        n_bat += store_labels(r)[i] == bat;
    cr_assert_eq(n_bat, 10);
    /* item 0 is airplane00_000000281693 */
    cr_assert_str_eq(store_class_name(r, store_labels(r)[0]), "airplane");
    cr_assert_eq(store_groups(r)[0], 281693);
    store_summary sum;
    cr_assert_eq(store_summarize(r, &sum, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sum.distinct_groups, 722, "722 distinct photos");
    store_close(r);
}

/* Cancel a real import once its temp file exists: no output, no temp file. */
typedef struct {
    const char *tmp;
    volatile sig_atomic_t *cancel;
} canceller;

static void *cancel_when_started(void *arg)
{
    canceller *c = arg;
    for (int i = 0; i < 20000 && !exists(c->tmp); i++) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    *c->cancel = 1;
    return NULL;
}

Test(import, cancel_mid_way_leaves_no_file)
{
    require_shared("human_seg/train");
    volatile sig_atomic_t cancel = 0;
    const char *out = path_in("cancelled.h5");
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    canceller c = {tmp, &cancel};
    pthread_t th;
    pthread_create(&th, NULL, cancel_when_started, &c);
    import_masks_options o = {.common = {.out = out, .cancel = &cancel},
                              .root = SHARED_DATA "/human_seg/train"};
    import_report rep;
    char err[512] = "";
    int rc = import_masks(&o, &rep, err, sizeof err);
    pthread_join(th, NULL);
    cr_assert_eq(rc, IMPORT_CANCELLED, "%s", err);
    cr_assert_lt(rep.written, 230, "stopped mid-way");
    cr_assert(strstr(err, "interrupted"), "%s", err);
    import_report_free(&rep);
    cr_assert(!exists(out) && !exists(tmp));
}
