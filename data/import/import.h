/*
 * import.h - importers: files on disk -> one HDF5 dataset (data/store.h).
 *
 * Owns: the IDX importer (Fashion-MNIST image/label pairs, stored raw), the image-folder importer
 * (ROOT/<class>/<file>.jpg|png and ROOT/<domain>/<class>/<file>.jpg|png, the PACS layout; images
 * stored encoded as they are, after checking that they decode), and the image+mask folder importer (two folders of files
 * with the same stems; masks binarised and stored as PNG, a mask saved at a lower resolution
 * (same aspect ratio within 2%) resized to its image first; optionally the class and a photo id
 * from the file name, as in COCO_MVal), and the COCO instances-JSON importer (images stored
 * as they are, one item per photo, its object instances with class, polygons and masks:
 * data/import_coco.c).
 *
 * Common behaviour
 *   - Files are visited in sorted (byte-wise) order; class and domain names are sorted, so a
 *     folder always imports to the same dataset.
 *   - A file that cannot be read or decoded, or a pair that does not match, is skipped and
 *     recorded in the report by its path relative to the root and the reason; the import goes on.
 *   - The dataset is written to OUT.tmp.<pid> and renamed to OUT only when complete: an error,
 *     an import with nothing to write, or a cancel (a signal handler setting *cancel) removes the
 *     temp file and leaves no OUT (an older OUT stays as it was).
 *
 * Return value: 0 done; IMPORT_USER_ERROR (1) for bad input (missing folder, nothing importable,
 * bad options); IMPORT_INTERNAL_ERROR (2) when writing failed; IMPORT_CANCELLED (130) when *cancel
 * was set. err says what happened and names the file or folder.
 */
#ifndef PICTOR_DATA_IMPORT_H
#define PICTOR_DATA_IMPORT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { IMPORT_OK = 0, IMPORT_USER_ERROR = 1, IMPORT_INTERNAL_ERROR = 2, IMPORT_CANCELLED = 130 };

/* What an import did. */
typedef struct {
    int64_t seen;          /* files (pairs for import_masks, items for import_idx) considered */
    int64_t written;       /* items in the dataset */
    int64_t skipped;       /* seen - written (when limit did not stop the import early) */
    char **skipped_files;  /* skipped entries, "path/in/root.jpg (reason)", in visiting order */
    int64_t resized_masks; /* import_masks: masks stored at another scale, resized to the image */
    int n_classes, n_domains;
    /* import_coco only (seen counts the JSON's images; seen = written + skipped + empty_dropped
     * when limit did not stop the import early): */
    int64_t instances;      /* instances written */
    int64_t crowd_skipped;  /* iscrowd annotations left out (IMPORT_CROWD_SKIP) */
    int64_t tiny_dropped;   /* instances with fewer than min_area mask pixels, left out */
    int64_t empty_dropped;  /* images left without instances, not written (keep_empty == 0) */
} import_report;

/* Options every importer takes. */
typedef struct {
    const char *out;                   /* the dataset to write (FILE.h5) */
    int64_t limit;                     /* stop after this many items; 0 = all */
    FILE *progress;                    /* progress output; NULL = quiet */
    volatile sig_atomic_t *cancel;     /* optional: stop, remove the temp file when non-zero */
} import_common;

typedef struct {
    import_common common;
    const char *dir;    /* Fashion-MNIST folder (NULL: Debian's /usr/share/datasets/fashion-mnist) */
    int train;          /* 1: train split (60000), 0: test split (10000) */
    const char *images; /* or an explicit IDX pair: [N,H,W] u8 images and [N] u8 labels */
    const char *labels;
} import_idx_options;

typedef enum {
    IMPORT_LAYOUT_AUTO = 0,     /* look at the folder */
    IMPORT_LAYOUT_CLASS,        /* ROOT/<class>/<image> */
    IMPORT_LAYOUT_DOMAIN_CLASS  /* ROOT/<domain>/<class>/<image> */
} import_layout;

typedef struct {
    import_common common;
    const char *root;
    import_layout layout;
    int channels;       /* what the images decode to: 3 (default when 0) or 1 */
} import_folder_options;

typedef struct {
    import_common common;
    const char *root;
    const char *image_dir;  /* subfolder of root with the images (NULL: "images") */
    const char *mask_dir;   /* subfolder with the masks (NULL: "masks") */
    int class_from_prefix;  /* stem "<class><NN>_<photo id>": label from <class> (names may have
                               spaces), group = <photo id> */
    int channels;           /* 3 (default when 0) or 1 */
} import_masks_options;

/* What to do with COCO's iscrowd regions (RLE masks over groups of objects). */
typedef enum {
    IMPORT_CROWD_SKIP = 0, /* leave them out (counted in the report) */
    IMPORT_CROWD_KEEP = 1  /* store them as ordinary instances (mask only; the layout has no
                              iscrowd column, so a reader cannot tell them apart) */
} import_crowd;

/* The importer's default minimum instance area (mask pixels) used by `pictor data import-coco`. */
#define IMPORT_COCO_MIN_AREA 16

typedef struct {
    import_common common;
    const char *json;   /* the instances JSON (images, annotations, categories) */
    const char *images; /* the image folder: each image's "file_name" is relative to it */
    import_crowd crowd;
    int64_t min_area;   /* drop instances with fewer mask pixels (0: keep all; empty masks are
                           always dropped) */
    int keep_empty;     /* write images that end with no instance (default: drop, counted) */
    int channels;       /* 3 (default when 0) or 1 */
} import_coco_options;

int import_idx(const import_idx_options *o, import_report *rep, char *err, size_t errlen);
int import_folder(const import_folder_options *o, import_report *rep, char *err, size_t errlen);
int import_masks(const import_masks_options *o, import_report *rep, char *err, size_t errlen);
/* The COCO instances JSON: see import_coco.c for the rules (category ids -> contiguous class
 * ids in id order, polygons and RLE, iscrowd, tiny objects, empty images, error messages). */
int import_coco(const import_coco_options *o, import_report *rep, char *err, size_t errlen);

/* Print the summary: "wrote OUT: N items" and, when files were skipped,
 * "skipped 2 of 230 files: a.jpg (truncated JPEG), b.png (no mask)" (one per line past 10). */
void import_report_print(FILE *f, const char *out, const import_report *rep);
void import_report_free(import_report *rep);

/* Parse a COCO_MVal stem "<class><NN>_<photo id>" ("baseball bat00_000000057232"): the class
 * name into cls (NUL-terminated, truncated to clslen) and the photo id. Returns 0, or -1 when the
 * stem does not have that form. */
int import_parse_class_prefix(const char *stem, char *cls, size_t clslen, int64_t *photo_id);

#endif
