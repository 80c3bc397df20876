/*
 * import_masks.c - see import.h: ROOT/<image_dir>/<stem>.jpg|png paired with
 * ROOT/<mask_dir>/<stem>.png into a dataset of encoded images (as they are) with binary masks
 * (value > 127 -> 1, stored as PNG; a mask saved at another scale with the image's aspect ratio is
 * resized to the image first). With class_from_prefix the stem "<class><NN>_<photo id>"
 * gives the label (sorted class names) and the group (the photo id), as in COCO_MVal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import/import_internal.h"

#define MAX_CLASS_NAME 256

/* One image file and the mask it pairs with (NULL if none). */
typedef struct {
    const char *image, *mask; /* names inside the two folders (borrowed from the listings) */
} pair;

typedef struct {
    const import_masks_options *o;
    char *image_dir, *mask_dir; /* full paths */
    strlist images, masks, classes;
    pair *pairs;
    int n_pairs;
} job;

static void job_free(job *j)
{
    free(j->image_dir);
    free(j->mask_dir);
    strlist_free(&j->images);
    strlist_free(&j->masks);
    strlist_free(&j->classes);
    free(j->pairs);
}

/* ---------------------------------------------------------------- pairing */

/* A mask's stem and its index in the mask listing. */
typedef struct {
    char *stem;
    int index;
} stem_ref;

static int cmp_stem(const void *a, const void *b)
{
    return strcmp(((const stem_ref *)a)->stem, ((const stem_ref *)b)->stem);
}

/* The masks' stems, sorted for binary search; NULL on out of memory. */
static stem_ref *sorted_stems(const strlist *l)
{
    stem_ref *s = calloc((size_t)l->n + 1, sizeof *s);
    for (int i = 0; s && i < l->n; i++) {
        s[i].index = i;
        if (!(s[i].stem = imp_stem(l->v[i]))) {
            for (int k = 0; k < i; k++)
                free(s[k].stem);
            free(s);
            return NULL;
        }
    }
    if (s)
        qsort(s, (size_t)l->n, sizeof *s, cmp_stem);
    return s;
}

static void stems_free(stem_ref *s, int n)
{
    for (int i = 0; s && i < n; i++)
        free(s[i].stem);
    free(s);
}

/* Index in the mask listing of the first mask whose stem is stem, or -1. */
static int find_mask(const stem_ref *stems, int n, const char *stem)
{
    stem_ref key = {(char *)stem, 0};
    const stem_ref *hit = bsearch(&key, stems, (size_t)n, sizeof *stems, cmp_stem);
    while (hit && hit > stems && !strcmp(hit[-1].stem, stem))
        hit--;
    return hit ? hit->index : -1;
}

/* Pair images with masks by stem ("a.jpg" with "a.png"); record masks without an image. An
 * image whose mask another image already took gets mask "" (skipped when visited). */
static int make_pairs(job *j, import_report *rep, char *err, size_t errlen)
{
    stem_ref *mstem = sorted_stems(&j->masks);
    char *used = calloc((size_t)j->masks.n + 1, 1);
    j->pairs = calloc((size_t)j->images.n + 1, sizeof *j->pairs);
    int rc = mstem && used && j->pairs ? IMPORT_OK
             : imp_fail(err, errlen, IMPORT_INTERNAL_ERROR, "out of memory");
    for (int i = 0; rc == IMPORT_OK && i < j->images.n; i++) {
        char *stem = imp_stem(j->images.v[i]);
        int k = stem ? find_mask(mstem, j->masks.n, stem) : -1;
        free(stem);
        pair *p = &j->pairs[j->n_pairs++];
        p->image = j->images.v[i];
        p->mask = k < 0 ? NULL : used[k] ? "" : j->masks.v[k];
        if (k >= 0)
            used[k] = 1;
    }
    for (int k = 0; rc == IMPORT_OK && k < j->masks.n; k++) {
        if (used[k])
            continue;
        char *rel = imp_join(j->o->mask_dir, j->masks.v[k]);
        rep->seen++;
        if (!rel || imp_skip(rep, rel, "no image"))
            rc = imp_fail(err, errlen, IMPORT_INTERNAL_ERROR, "out of memory");
        free(rel);
    }
    stems_free(mstem, j->masks.n);
    free(used);
    return rc;
}

/* Sorted class names from the image stems (files that do not parse are skipped later). */
static int collect_classes(job *j, char *err, size_t errlen)
{
    for (int i = 0; i < j->images.n; i++) {
        char *stem = imp_stem(j->images.v[i]), cls[MAX_CLASS_NAME];
        int64_t id;
        int ok = stem && import_parse_class_prefix(stem, cls, sizeof cls, &id) == 0;
        free(stem);
        if (ok && strlist_find(&j->classes, cls) < 0) {
            if (strlist_push(&j->classes, cls))
                return imp_fail(err, errlen, IMPORT_INTERNAL_ERROR, "out of memory");
            strlist_sort(&j->classes);
        }
    }
    return IMPORT_OK;
}

/* ---------------------------------------------------------------- one pair */

/* Why a pair cannot be imported before reading it, or NULL. Sets label and group. */
static const char *pair_problem(const job *j, const pair *p, sample *s)
{
    if (!p->mask)
        return "no mask";
    if (!*p->mask)
        return "another image has the same name";
    if (!imp_is_image_name(p->image))
        return "not a .jpg, .jpeg or .png file";
    if (!j->o->class_from_prefix)
        return NULL;
    char *stem = imp_stem(p->image), cls[MAX_CLASS_NAME];
    int64_t id = -1;
    int ok = stem && import_parse_class_prefix(stem, cls, sizeof cls, &id) == 0;
    free(stem);
    if (!ok)
        return "name is not <class><NN>_<photo id>";
    s->label = strlist_find(&j->classes, cls);
    s->group = id;
    return NULL;
}

/* Bilinear resize of a grey image (pixel centres aligned), for masks saved at another scale. */
static uint8_t *resize_grey(const uint8_t *src, int sh, int sw, int dh, int dw)
{
    uint8_t *dst = malloc((size_t)dh * (size_t)dw);
    if (!dst)
        return NULL;
    double sy = (double)sh / dh, sx = (double)sw / dw;
    for (int y = 0; y < dh; y++) {
        double fy = (y + 0.5) * sy - 0.5;
        fy = fy < 0 ? 0 : fy > sh - 1 ? sh - 1 : fy;
        int y0 = (int)fy, y1 = y0 + 1 < sh ? y0 + 1 : y0;
        double ty = fy - y0;
        for (int x = 0; x < dw; x++) {
            double fx = (x + 0.5) * sx - 0.5;
            fx = fx < 0 ? 0 : fx > sw - 1 ? sw - 1 : fx;
            int x0 = (int)fx, x1 = x0 + 1 < sw ? x0 + 1 : x0;
            double tx = fx - x0;
            double top = src[(size_t)y0 * sw + x0] * (1 - tx) + src[(size_t)y0 * sw + x1] * tx;
            double bot = src[(size_t)y1 * sw + x0] * (1 - tx) + src[(size_t)y1 * sw + x1] * tx;
            dst[(size_t)y * dw + x] = (uint8_t)(top * (1 - ty) + bot * ty + 0.5);
        }
    }
    return dst;
}

/* A mask of another size than its image: resized when the aspect ratios agree within
 * MASK_ASPECT_TOLERANCE (a mask saved at a lower resolution), refused otherwise. */
#define MASK_ASPECT_TOLERANCE 0.02

static int fit_mask(sample *s, int h, int w, int *resized, char *why, size_t whylen)
{
    double aspect = ((double)w / h) / ((double)s->w / s->h);
    if (aspect < 1 - MASK_ASPECT_TOLERANCE || aspect > 1 + MASK_ASPECT_TOLERANCE) {
        snprintf(why, whylen, "mask is %dx%d, image %dx%d", w, h, s->w, s->h);
        return -1;
    }
    uint8_t *m = resize_grey(s->mask, h, w, s->h, s->w);
    if (!m) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    free(s->mask);
    s->mask = m;
    *resized = 1;
    return 0;
}

/* Read the mask, bring it to the image's size, binarise it (> 127 -> 1). */
static int load_mask(const job *j, const pair *p, sample *s, int *resized, char *why,
                     size_t whylen)
{
    char *path = imp_join(j->mask_dir, p->mask);
    uint8_t *data = NULL;
    size_t len;
    int h, w, c;
    char inner[200] = "out of memory";
    int rc = path ? imp_load_image(path, 1, &data, &len, &s->mask, &h, &w, &c, inner,
                                   sizeof inner)
                  : -1;
    free(path);
    free(data);
    if (rc != 0) {
        snprintf(why, whylen, "mask: %s", inner);
        return -1;
    }
    if ((h != s->h || w != s->w) && fit_mask(s, h, w, resized, why, whylen))
        return -1;
    for (size_t i = 0; i < (size_t)s->h * s->w; i++)
        s->mask[i] = s->mask[i] > 127;
    return 0;
}

static int import_pair(store_writer *w, const job *j, const pair *p, import_report *rep,
                       char *err, size_t errlen)
{
    rep->seen++;
    sample s;
    sample_init(&s);
    char why[300] = "", *rel = imp_join(j->o->image_dir, p->image);
    char *path = imp_join(j->image_dir, p->image);
    uint8_t *data = NULL;
    size_t len = 0;
    const char *problem = pair_problem(j, p, &s);
    int rc = IMPORT_OK, skip = 1, resized = 0;
    if (!rel || !path)
        rc = imp_fail(err, errlen, IMPORT_INTERNAL_ERROR, "out of memory");
    else if (problem)
        snprintf(why, sizeof why, "%s", problem);
    else if (imp_load_image(path, j->o->channels, &data, &len, NULL, &s.h, &s.w, &s.c, why,
                            sizeof why) == 0 &&
             load_mask(j, p, &s, &resized, why, sizeof why) == 0)
        skip = 0;
    if (rc == IMPORT_OK && skip && imp_skip(rep, rel, why))
        rc = IMPORT_INTERNAL_ERROR;
    if (rc == IMPORT_OK && !skip) {
        rc = store_set_item_name(w, p->image, err, errlen) ||
                     store_append_encoded(w, &s, data, len, err, errlen)
                 ? IMPORT_INTERNAL_ERROR
                 : IMPORT_OK;
        rep->written += rc == IMPORT_OK;
        rep->resized_masks += rc == IMPORT_OK && resized;
    }
    sample_free(&s);
    free(data);
    free(path);
    free(rel);
    return rc;
}

/* ---------------------------------------------------------------- the importer */

static int list_inputs(job *j, char *err, size_t errlen)
{
    const import_masks_options *o = j->o;
    j->image_dir = imp_join(o->root, o->image_dir);
    j->mask_dir = imp_join(o->root, o->mask_dir);
    if (!j->image_dir || !j->mask_dir)
        return imp_fail(err, errlen, IMPORT_INTERNAL_ERROR, "out of memory");
    if (!imp_is_dir(j->image_dir) || !imp_is_dir(j->mask_dir))
        return imp_fail(err, errlen, IMPORT_USER_ERROR,
                        "%s: expected the folders %s/ (images) and %s/ (masks) in it", o->root,
                        o->image_dir, o->mask_dir);
    if (imp_list_dir(j->image_dir, 0, &j->images, err, errlen) ||
        imp_list_dir(j->mask_dir, 0, &j->masks, err, errlen))
        return IMPORT_USER_ERROR;
    if (j->images.n == 0)
        return imp_fail(err, errlen, IMPORT_USER_ERROR, "%s: no files", j->image_dir);
    return IMPORT_OK;
}

static int create_store(const job *j, store_writer **w, char *err, size_t errlen)
{
    char source[4200];
    snprintf(source, sizeof source, "import-masks %s (%s/, %s/)", j->o->root, j->o->image_dir,
             j->o->mask_dir);
    store_options so = {.images = STORE_ENCODED, .channels = j->o->channels,
                        .annotations = STORE_MASK, .file_names = 1, .masks = STORE_ENCODED, .source = source};
    *w = store_create(j->o->common.out, &so, err, errlen);
    if (!*w)
        return IMPORT_USER_ERROR;
    if (j->classes.n > 0 &&
        store_set_class_names(*w, (const char *const *)j->classes.v, j->classes.n, err, errlen))
        return IMPORT_INTERNAL_ERROR;
    return IMPORT_OK;
}

int import_masks(const import_masks_options *in, import_report *rep, char *err, size_t errlen)
{
    memset(rep, 0, sizeof *rep);
    import_masks_options o = *in;
    o.image_dir = o.image_dir ? o.image_dir : "images";
    o.mask_dir = o.mask_dir ? o.mask_dir : "masks";
    o.channels = o.channels ? o.channels : 3;
    if (!o.common.out || !o.root || (o.channels != 1 && o.channels != 3))
        return imp_fail(err, errlen, IMPORT_USER_ERROR,
                        "import-masks: needs a folder, --out, and 1 or 3 channels");
    job j = {.o = &o};
    store_writer *w = NULL;
    int rc = list_inputs(&j, err, errlen);
    if (rc == IMPORT_OK && o.class_from_prefix)
        rc = collect_classes(&j, err, errlen);
    if (rc == IMPORT_OK)
        rc = make_pairs(&j, rep, err, errlen);
    if (rc == IMPORT_OK)
        rc = create_store(&j, &w, err, errlen);
    rep->n_classes = j.classes.n;
    int64_t limit = o.common.limit > 0 ? o.common.limit : INT64_MAX;
    for (int i = 0; rc == IMPORT_OK && i < j.n_pairs && rep->written < limit; i++) {
        if (imp_cancelled(&o.common))
            break;
        rc = import_pair(w, &j, &j.pairs[i], rep, err, errlen);
        imp_progress(&o.common, "import-masks", i + 1, j.n_pairs);
    }
    if (w)
        imp_progress_end(&o.common, "import-masks", rep->written, j.n_pairs);
    job_free(&j);
    if (!w)
        return rc;
    return imp_finish(w, &o.common, rep, rc, err, errlen);
}
