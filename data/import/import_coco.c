/*
 * import_coco.c - see import.h: a COCO instances JSON ("images", "annotations", "categories")
 * and its image folder -> one item per photo (the image file stored as it is) with its object
 * instances (class, outline polygons and a 0/1 mask at the image's size). group = image id.
 *
 * Rules
 *   - The JSON is read into memory and parsed once (cJSON); the text is freed right after. It is
 *     validated completely before anything is written: a syntax error names the file, line and
 *     column; a missing key or a value of the wrong kind names the key and the image or
 *     annotation id ("instances.json: annotation 17 (image 3): missing key 'category_id'");
 *     an annotation whose image_id or category_id is not listed is an error too. Exit status 1.
 *   - Classes: every entry of "categories", sorted by category id, becomes class 0..K-1 with its
 *     "name" (so train and val files of one dataset map the same way, used or not).
 *   - Images are visited in increasing id order, their annotations in increasing id order.
 *     An image file that is missing, unreadable or does not decode completely, or whose size
 *     differs from the JSON's "width"/"height" (optional keys) or from an RLE's "size", is
 *     skipped and reported by its file_name.
 *   - Segmentation: a list of polygons [x1, y1, x2, y2, ...] (pixel coordinates) is stored as
 *     polygons AND rasterised (data/raster.h, even-odd rule, pixel centres; the parts of one
 *     object are united) to the instance mask; polygons with fewer than 3 points are left out.
 *     An RLE object {"counts": [...] or "<compressed string>", "size": [h, w]} (data/rle.h) is
 *     decoded to the instance mask (no polygons).
 *   - iscrowd (optional, default 0): IMPORT_CROWD_SKIP leaves crowd annotations out (counted),
 *     IMPORT_CROWD_KEEP stores them as ordinary instances.
 *   - Instances whose mask has fewer than max(min_area, 1) pixels are dropped (counted).
 *   - An image left with no instance (none annotated, only crowd, only tiny) is written only with
 *     keep_empty; otherwise it is counted in empty_dropped (and its file is not even read).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/image.h"
#include "import/import_internal.h"
#include "geometry/raster.h"
#include "codec/rle.h"
#include "base/err.h"

typedef struct {
    int64_t id;
    const char *name; /* borrowed from the JSON tree */
} category;

typedef struct {
    int64_t id;
    const char *file; /* "file_name", borrowed */
    int h, w;         /* from the JSON, 0 when not given */
    int64_t first, n; /* its annotations: rows [first, first + n) of job.anns */
} image_ref;

typedef struct {
    int64_t id;
    int64_t image; /* index in job.imgs */
    int32_t cls;   /* contiguous class id */
    int crowd;
    const cJSON *seg;
} ann_ref;

typedef struct {
    const import_coco_options *o;
    cJSON *root;
    category *cats;
    int n_cats;
    const char **class_names;
    image_ref *imgs;
    int64_t n_imgs;
    ann_ref *anns;
    int64_t n_anns;
} job;

static void job_free(job *j)
{
    cJSON_Delete(j->root);
    free(j->cats);
    free(j->class_names);
    free(j->imgs);
    free(j->anns);
}

/* "FILE: <message>" as a user error. */
static int json_fail(const job *j, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int json_fail(const job *j, char *err, size_t errlen, const char *fmt, ...)
{
    int n = err && errlen > 0 ? snprintf(err, errlen, "%s: ", j->o->json) : 0;
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        err_vfail(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return IMPORT_USER_ERROR;
}

/* ---------------------------------------------------------------- JSON values */

enum { KEY_OK = 0, KEY_MISSING = 1, KEY_BAD = 2 };

/* An integral JSON number that a double holds exactly. */
static int as_int(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v))
        return KEY_BAD;
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0)
        return KEY_BAD;
    *out = (int64_t)d;
    return KEY_OK;
}

static int get_int(const cJSON *obj, const char *key, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v ? as_int(v, out) : KEY_MISSING;
}

/* A key that must be an integer: "<what>: missing key 'k'" / "<what>: 'k' must be ...". */
static int need_int(const job *j, const cJSON *obj, const char *key, const char *what,
                    int64_t *out, char *err, size_t errlen)
{
    switch (get_int(obj, key, out)) {
    case KEY_MISSING:
        return json_fail(j, err, errlen, "%s: missing key '%s'", what, key);
    case KEY_BAD:
        return json_fail(j, err, errlen, "%s: '%s' must be an integer", what, key);
    }
    return IMPORT_OK;
}

static int need_string(const job *j, const cJSON *obj, const char *key, const char *what,
                       const char **out, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return json_fail(j, err, errlen, "%s: missing key '%s'", what, key);
    if (!cJSON_IsString(v) || !v->valuestring)
        return json_fail(j, err, errlen, "%s: '%s' must be a string", what, key);
    *out = v->valuestring;
    return IMPORT_OK;
}

/* The top-level array under key. */
static int need_array(const job *j, const char *key, const cJSON **out, char *err,
                      size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j->root, key);
    if (!v)
        return json_fail(j, err, errlen, "missing key '%s' (not a COCO instances file?)", key);
    if (!cJSON_IsArray(v))
        return json_fail(j, err, errlen, "'%s' must be a list", key);
    *out = v;
    return IMPORT_OK;
}

/* ---------------------------------------------------------------- reading the file */

/* Line and column (1-based) of byte offset pos in text. */
static void line_col(const char *text, size_t pos, long *line, long *col)
{
    *line = 1;
    size_t bol = 0;
    for (size_t i = 0; i < pos; i++)
        if (text[i] == '\n') {
            (*line)++;
            bol = i + 1;
        }
    *col = (long)(pos - bol) + 1;
}

static int json_syntax_error(const job *j, const char *text, size_t len, size_t pos,
                             const char *what, char *err, size_t errlen)
{
    if (pos > len)
        pos = len;
    long line, col;
    line_col(text, pos, &line, &col);
    /* up to 12 characters either side of the position, on its line */
    char near[32];
    size_t back = (size_t)(col - 1) < 12 ? (size_t)(col - 1) : 12, k = 0;
    for (size_t i = pos - back; i < len && k < 25 && text[i] != '\n'; i++)
        near[k++] = text[i] >= 32 && text[i] < 127 ? text[i] : '?';
    near[k] = 0;
    return json_fail(j, err, errlen, "%s at line %ld, column %ld (byte %zu)%s%s%s", what, line,
                     col, pos, k ? ", near '" : "", near, k ? "'" : "");
}

#define LARGE_JSON ((size_t)256 << 20)

static int parse_json(job *j, char *err, size_t errlen)
{
    uint8_t *data = NULL;
    size_t len = 0;
    char msg[600];
    if (image_read_file(j->o->json, &data, &len, msg, sizeof msg))
        return imp_fail(err, errlen, IMPORT_USER_ERROR, "%s", msg);
    const char *text = (const char *)data, *end = NULL;
    int rc = IMPORT_OK;
    j->root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!j->root) {
        size_t pos = end && end >= text ? (size_t)(end - text) : 0;
        /* cJSON reports running out of memory as a parse error; its tree takes about 10
         * times the text, so only a large file can plausibly have run out. */
        rc = json_syntax_error(j, text, len, pos, len >= LARGE_JSON ? "invalid JSON (or out "
                               "of memory: parsing takes ~10x the file size)" : "invalid JSON",
                               err, errlen);
    } else {
        size_t pos = (size_t)(end - text);
        while (pos < len && strchr(" \t\r\n", text[pos]))
            pos++;
        if (pos < len)
            rc = json_syntax_error(j, text, len, pos, "invalid JSON: data after the end", err,
                                   errlen);
        else if (!cJSON_IsObject(j->root))
            rc = json_fail(j, err, errlen, "expected a JSON object with 'images', "
                           "'annotations' and 'categories'");
    }
    free(data); /* the tree holds copies of everything */
    return rc;
}

/* ---------------------------------------------------------------- categories and images */

static int cmp_category(const void *a, const void *b)
{
    int64_t x = ((const category *)a)->id, y = ((const category *)b)->id;
    return (x > y) - (x < y);
}

static int cmp_image(const void *a, const void *b)
{
    int64_t x = ((const image_ref *)a)->id, y = ((const image_ref *)b)->id;
    return (x > y) - (x < y);
}

static int read_categories(job *j, char *err, size_t errlen)
{
    const cJSON *arr = NULL;
    int rc = need_array(j, "categories", &arr, err, errlen);
    if (rc)
        return rc;
    int n = cJSON_GetArraySize(arr);
    if (n == 0)
        return json_fail(j, err, errlen, "'categories' is empty");
    j->cats = calloc((size_t)n, sizeof *j->cats);
    j->class_names = calloc((size_t)n, sizeof *j->class_names);
    if (!j->cats || !j->class_names)
        return imp_fail(err, errlen, IMPORT_INTERNAL_ERROR, "out of memory");
    int k = 0;
    for (const cJSON *c = arr->child; c; c = c->next, k++) {
        char what[64];
        snprintf(what, sizeof what, "categories[%d]", k);
        if (!cJSON_IsObject(c))
            return json_fail(j, err, errlen, "%s is not an object", what);
        if ((rc = need_int(j, c, "id", what, &j->cats[k].id, err, errlen)))
            return rc;
        snprintf(what, sizeof what, "category %lld", (long long)j->cats[k].id);
        if ((rc = need_string(j, c, "name", what, &j->cats[k].name, err, errlen)))
            return rc;
    }
    j->n_cats = k;
    qsort(j->cats, (size_t)k, sizeof *j->cats, cmp_category);
    for (int i = 0; i < k; i++) {
        if (i > 0 && j->cats[i].id == j->cats[i - 1].id)
            return json_fail(j, err, errlen, "category id %lld appears twice in 'categories'",
                             (long long)j->cats[i].id);
        j->class_names[i] = j->cats[i].name;
    }
    return IMPORT_OK;
}

/* A positive integer key that may be absent (0). */
static int optional_size(const job *j, const cJSON *obj, const char *key, const char *what,
                         int *out, char *err, size_t errlen)
{
    int64_t v = 0;
    int st = get_int(obj, key, &v);
    if (st == KEY_MISSING) {
        *out = 0;
        return IMPORT_OK;
    }
    if (st == KEY_BAD || v <= 0 || v > (1 << 24))
        return json_fail(j, err, errlen, "%s: '%s' must be a positive integer", what, key);
    *out = (int)v;
    return IMPORT_OK;
}

/* 1 when a file_name stays inside the image folder: relative, no ".." part. A hostile JSON
 * would otherwise have the importer read and store any image file of the machine. */
static int inside_folder(const char *name)
{
    if (name[0] == '/')
        return 0;
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return 0;
        p += n;
        p += *p == '/';
    }
    return 1;
}

static int read_images(job *j, char *err, size_t errlen)
{
    const cJSON *arr = NULL;
    int rc = need_array(j, "images", &arr, err, errlen);
    if (rc)
        return rc;
    int64_t n = cJSON_GetArraySize(arr);
    j->imgs = calloc((size_t)n + 1, sizeof *j->imgs);
    if (!j->imgs)
        return imp_fail(err, errlen, IMPORT_INTERNAL_ERROR, "out of memory");
    int64_t k = 0;
    for (const cJSON *c = arr->child; c; c = c->next, k++) {
        image_ref *im = &j->imgs[k];
        char what[64];
        snprintf(what, sizeof what, "images[%lld]", (long long)k);
        if (!cJSON_IsObject(c))
            return json_fail(j, err, errlen, "%s is not an object", what);
        if ((rc = need_int(j, c, "id", what, &im->id, err, errlen)))
            return rc;
        snprintf(what, sizeof what, "image %lld", (long long)im->id);
        if ((rc = need_string(j, c, "file_name", what, &im->file, err, errlen)) ||
            (rc = optional_size(j, c, "height", what, &im->h, err, errlen)) ||
            (rc = optional_size(j, c, "width", what, &im->w, err, errlen)))
            return rc;
        if (!*im->file)
            return json_fail(j, err, errlen, "%s: 'file_name' is empty", what);
        if (!inside_folder(im->file))
            return json_fail(j, err, errlen, "%s: 'file_name' '%s' leaves the image folder (an "
                             "absolute path or a '..' part)", what, im->file);
    }
    j->n_imgs = k;
    qsort(j->imgs, (size_t)k, sizeof *j->imgs, cmp_image);
    for (int64_t i = 1; i < k; i++)
        if (j->imgs[i].id == j->imgs[i - 1].id)
            return json_fail(j, err, errlen, "image id %lld appears twice in 'images'",
                             (long long)j->imgs[i].id);
    return IMPORT_OK;
}

/* ---------------------------------------------------------------- segmentation */

/* One annotation's "segmentation", parsed. */
typedef struct {
    int is_rle;
    polygon *polys; /* polygons with at least 3 points */
    int n_polys;
    uint32_t *counts; /* RLE runs */
    size_t n_counts;
    int rle_h, rle_w;
} segm;

static void segm_free(segm *g)
{
    for (int p = 0; p < g->n_polys; p++)
        free(g->polys[p].xy);
    free(g->polys);
    free(g->counts);
    memset(g, 0, sizeof *g);
}

enum { SEG_OK = 0, SEG_BAD = 1, SEG_NOMEM = 2 };

static int seg_bad(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int seg_bad(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vfail(why, whylen, fmt, ap);
    va_end(ap);
    return SEG_BAD;
}

static int parse_polygons(const cJSON *seg, segm *g, char *why, size_t whylen)
{
    int n = cJSON_GetArraySize(seg), k = 0;
    g->polys = calloc((size_t)n + 1, sizeof *g->polys);
    if (!g->polys)
        return SEG_NOMEM;
    for (const cJSON *p = seg->child; p; p = p->next, k++) {
        if (!cJSON_IsArray(p))
            return seg_bad(why, whylen, "'segmentation' polygon %d is not a list of numbers", k);
        int nv = cJSON_GetArraySize(p);
        if (nv % 2)
            return seg_bad(why, whylen, "'segmentation' polygon %d has an odd number of "
                           "coordinates (%d)", k, nv);
        float *xy = nv >= 6 ? malloc((size_t)nv * sizeof *xy) : NULL;
        if (nv >= 6 && !xy)
            return SEG_NOMEM;
        int i = 0;
        for (const cJSON *v = p->child; v; v = v->next, i++) {
            float f = cJSON_IsNumber(v) ? (float)v->valuedouble : NAN;
            if (!isfinite(f)) {
                free(xy);
                return seg_bad(why, whylen, "'segmentation' polygon %d: coordinate %d is not "
                               "a finite number", k, i);
            }
            if (xy)
                xy[i] = f;
        }
        if (xy) { /* fewer than 3 points outline nothing: left out */
            g->polys[g->n_polys].n = nv / 2;
            g->polys[g->n_polys++].xy = xy;
        }
    }
    return SEG_OK;
}

static int parse_rle(const cJSON *seg, segm *g, char *why, size_t whylen)
{
    g->is_rle = 1;
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(seg, "size");
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(seg, "counts");
    if (!size)
        return seg_bad(why, whylen, "missing key 'segmentation.size'");
    if (!counts)
        return seg_bad(why, whylen, "missing key 'segmentation.counts'");
    int64_t h, w;
    if (!cJSON_IsArray(size) || cJSON_GetArraySize(size) != 2 || as_int(size->child, &h) ||
        as_int(size->child->next, &w) || h < 0 || w < 0 || h > (1 << 24) || w > (1 << 24) ||
        h * w > IMAGE_MAX_PIXELS)
        return seg_bad(why, whylen, "'segmentation.size' must be [height, width]");
    g->rle_h = (int)h;
    g->rle_w = (int)w;
    char msg[256];
    if (cJSON_IsString(counts) && counts->valuestring) {
        if (rle_from_string(counts->valuestring, &g->counts, &g->n_counts, msg, sizeof msg))
            return seg_bad(why, whylen, "'segmentation.counts': %s", msg);
    } else if (cJSON_IsArray(counts)) {
        int n = cJSON_GetArraySize(counts), i = 0;
        g->counts = malloc(((size_t)n + 1) * sizeof *g->counts);
        if (!g->counts)
            return SEG_NOMEM;
        for (const cJSON *v = counts->child; v; v = v->next, i++) {
            int64_t c;
            if (as_int(v, &c) || c < 0 || c > (int64_t)UINT32_MAX)
                return seg_bad(why, whylen, "'segmentation.counts' value %d is not a count", i);
            g->counts[i] = (uint32_t)c;
        }
        g->n_counts = (size_t)n;
    } else {
        return seg_bad(why, whylen, "'segmentation.counts' must be a list of counts or a "
                       "compressed RLE string");
    }
    if (rle_check(g->counts, g->n_counts, g->rle_h, g->rle_w, msg, sizeof msg))
        return seg_bad(why, whylen, "'segmentation' RLE: %s", msg);
    return SEG_OK;
}

/* Parse seg into g (segm_free it either way). SEG_BAD with the reason in why. */
static int segm_parse(const cJSON *seg, segm *g, char *why, size_t whylen)
{
    memset(g, 0, sizeof *g);
    if (cJSON_IsArray(seg))
        return parse_polygons(seg, g, why, whylen);
    if (cJSON_IsObject(seg))
        return parse_rle(seg, g, why, whylen);
    return seg_bad(why, whylen, "'segmentation' must be a list of polygons or an RLE object "
                   "{\"counts\", \"size\"}");
}

/* ---------------------------------------------------------------- annotations */

static int cmp_ann(const void *a, const void *b)
{
    const ann_ref *x = a, *y = b;
    if (x->image != y->image)
        return (x->image > y->image) - (x->image < y->image);
    return (x->id > y->id) - (x->id < y->id);
}

static int64_t find_image(const job *j, int64_t id)
{
    image_ref key = {.id = id};
    const image_ref *hit = bsearch(&key, j->imgs, (size_t)j->n_imgs, sizeof key, cmp_image);
    return hit ? hit - j->imgs : -1;
}

static int find_category(const job *j, int64_t id)
{
    category key = {.id = id};
    const category *hit = bsearch(&key, j->cats, (size_t)j->n_cats, sizeof key, cmp_category);
    return hit ? (int)(hit - j->cats) : -1;
}

/* One annotation: its keys, references and segmentation checked; *a filled. */
static int read_annotation(const job *j, const cJSON *c, int64_t k, ann_ref *a, char *err,
                           size_t errlen)
{
    char what[96];
    snprintf(what, sizeof what, "annotations[%lld]", (long long)k);
    if (!cJSON_IsObject(c))
        return json_fail(j, err, errlen, "%s is not an object", what);
    int rc;
    if ((rc = need_int(j, c, "id", what, &a->id, err, errlen)))
        return rc;
    snprintf(what, sizeof what, "annotation %lld", (long long)a->id);
    int64_t image_id, cat_id;
    if ((rc = need_int(j, c, "image_id", what, &image_id, err, errlen)))
        return rc;
    snprintf(what, sizeof what, "annotation %lld (image %lld)", (long long)a->id,
             (long long)image_id);
    if ((rc = need_int(j, c, "category_id", what, &cat_id, err, errlen)))
        return rc;
    if (!(a->seg = cJSON_GetObjectItemCaseSensitive(c, "segmentation")))
        return json_fail(j, err, errlen, "%s: missing key 'segmentation'", what);
    const cJSON *crowd = cJSON_GetObjectItemCaseSensitive(c, "iscrowd");
    int64_t cv = 0;
    if (crowd && !cJSON_IsBool(crowd) && (as_int(crowd, &cv) || (cv != 0 && cv != 1)))
        return json_fail(j, err, errlen, "%s: 'iscrowd' must be 0 or 1", what);
    a->crowd = crowd && (cJSON_IsBool(crowd) ? cJSON_IsTrue(crowd) : cv == 1);
    if ((a->image = find_image(j, image_id)) < 0)
        return json_fail(j, err, errlen, "%s: image_id %lld is not in 'images'", what,
                         (long long)image_id);
    if ((a->cls = find_category(j, cat_id)) < 0)
        return json_fail(j, err, errlen, "%s: category_id %lld is not in 'categories'", what,
                         (long long)cat_id);
    segm g;
    char why[300];
    int st = segm_parse(a->seg, &g, why, sizeof why);
    segm_free(&g);
    if (st == SEG_NOMEM)
        return imp_fail(err, errlen, IMPORT_INTERNAL_ERROR, "out of memory");
    if (st == SEG_BAD)
        return json_fail(j, err, errlen, "%s: %s", what, why);
    return IMPORT_OK;
}

static int read_annotations(job *j, char *err, size_t errlen)
{
    const cJSON *arr = NULL;
    int rc = need_array(j, "annotations", &arr, err, errlen);
    if (rc)
        return rc;
    int64_t n = cJSON_GetArraySize(arr), k = 0;
    j->anns = calloc((size_t)n + 1, sizeof *j->anns);
    if (!j->anns)
        return imp_fail(err, errlen, IMPORT_INTERNAL_ERROR, "out of memory");
    for (const cJSON *c = arr->child; c; c = c->next, k++)
        if ((rc = read_annotation(j, c, k, &j->anns[k], err, errlen)))
            return rc;
    j->n_anns = k;
    qsort(j->anns, (size_t)k, sizeof *j->anns, cmp_ann);
    for (int64_t a = 0; a < k; a++) {
        image_ref *im = &j->imgs[j->anns[a].image];
        if (im->n++ == 0)
            im->first = a;
    }
    return IMPORT_OK;
}

/* ---------------------------------------------------------------- one image */

/* Build instance *in from annotation a of an h x w image. Returns SEG_OK with in->mask NULL
 * when the instance is too small, SEG_BAD with a skip reason for the image in why. */
static int make_instance(const job *j, const ann_ref *a, int h, int w, instance *in,
                         char *why, size_t whylen)
{
    segm g;
    int st = segm_parse(a->seg, &g, why, whylen);
    if (st != SEG_OK) { /* validated on reading: only memory can fail here */
        segm_free(&g);
        if (st == SEG_BAD) {
            char inner[300];
            snprintf(inner, sizeof inner, "%s", why);
            return seg_bad(why, whylen, "annotation %lld: %s", (long long)a->id, inner);
        }
        return st;
    }
    if (g.is_rle && (g.rle_h != h || g.rle_w != w)) {
        st = seg_bad(why, whylen, "annotation %lld: RLE size is %dx%d, the image %dx%d",
                     (long long)a->id, g.rle_w, g.rle_h, w, h);
        segm_free(&g);
        return st;
    }
    size_t px = (size_t)h * (size_t)w;
    uint8_t *mask = calloc(px ? px : 1, 1);
    if (!mask) {
        segm_free(&g);
        return SEG_NOMEM;
    }
    char msg[200];
    int bad = g.is_rle ? rle_decode(g.counts, g.n_counts, h, w, mask, msg, sizeof msg)
                       : raster_polygons(mask, h, w, g.polys, g.n_polys, RASTER_EVEN_ODD, 1);
    int64_t min_area = j->o->min_area > 1 ? j->o->min_area : 1;
    if (bad || raster_count(mask, px) < min_area) {
        free(mask);
        segm_free(&g);
        return bad ? SEG_NOMEM : SEG_OK; /* the RLE was checked: only memory can fail */
    }
    in->class_id = a->cls;
    in->mask = mask;
    in->polygons = g.polys;
    in->n_polygons = g.n_polys;
    g.polys = NULL;
    g.n_polys = 0;
    segm_free(&g);
    return SEG_OK;
}

/* Fill s->instances from the image's annotations (crowd ones already counted by the caller);
 * *tiny counts the instances dropped for their area. Returns SEG_OK, SEG_BAD (skip the image:
 * why) or SEG_NOMEM. */
static int make_instances(const job *j, const image_ref *im, sample *s, int64_t *tiny,
                          char *why, size_t whylen)
{
    s->instances = calloc((size_t)im->n + 1, sizeof *s->instances);
    if (!s->instances)
        return SEG_NOMEM;
    for (int64_t a = im->first; a < im->first + im->n; a++) {
        const ann_ref *ann = &j->anns[a];
        if (ann->crowd && j->o->crowd == IMPORT_CROWD_SKIP)
            continue;
        instance *in = &s->instances[s->n_instances];
        int st = make_instance(j, ann, s->h, s->w, in, why, whylen);
        if (st != SEG_OK)
            return st;
        if (in->mask)
            s->n_instances++;
        else
            (*tiny)++;
    }
    return SEG_OK;
}

static int import_image(store_writer *w, const job *j, const image_ref *im,
                        import_report *rep, char *err, size_t errlen)
{
    const import_coco_options *o = j->o;
    rep->seen++;
    int64_t candidates = 0;
    for (int64_t a = im->first; a < im->first + im->n; a++) {
        int skip = j->anns[a].crowd && o->crowd == IMPORT_CROWD_SKIP;
        rep->crowd_skipped += skip;
        candidates += !skip;
    }
    if (candidates == 0 && !o->keep_empty) {
        rep->empty_dropped++;
        return IMPORT_OK;
    }
    sample s;
    sample_init(&s);
    s.group = im->id;
    int64_t tiny = 0; /* added to the report only when the image is not skipped */
    char why[400] = "";
    uint8_t *data = NULL;
    size_t len = 0;
    char *path = imp_join(o->images, im->file);
    int rc = IMPORT_OK, skip = 1, st = SEG_OK;
    if (!path) {
        rc = imp_fail(err, errlen, IMPORT_INTERNAL_ERROR, "out of memory");
    } else if (imp_load_image(path, o->channels, &data, &len, NULL, &s.h, &s.w, &s.c, why,
                              sizeof why) == 0) {
        if ((im->h && im->h != s.h) || (im->w && im->w != s.w))
            snprintf(why, sizeof why, "the image is %dx%d, the JSON says width %d, height %d",
                     s.w, s.h, im->w ? im->w : s.w, im->h ? im->h : s.h);
        else if ((st = make_instances(j, im, &s, &tiny, why, sizeof why)) == SEG_OK)
            skip = 0;
        else if (st == SEG_NOMEM)
            rc = imp_fail(err, errlen, IMPORT_INTERNAL_ERROR, "out of memory");
    }
    if (rc == IMPORT_OK && skip && imp_skip(rep, im->file, why))
        rc = imp_fail(err, errlen, IMPORT_INTERNAL_ERROR, "out of memory");
    if (rc == IMPORT_OK && !skip) {
        rep->tiny_dropped += tiny;
        if (s.n_instances == 0 && !o->keep_empty) {
            rep->empty_dropped++;
        } else if (store_set_item_name(w, im->file, err, errlen) ||
                   store_append_encoded(w, &s, data, len, err, errlen)) {
            rc = IMPORT_INTERNAL_ERROR;
        } else {
            rep->written++;
            rep->instances += s.n_instances;
        }
    }
    sample_free(&s);
    free(data);
    free(path);
    return rc;
}

/* ---------------------------------------------------------------- the importer */

static int create_store(const job *j, store_writer **w, char *err, size_t errlen)
{
    char source[4200];
    snprintf(source, sizeof source, "import-coco %s (images %s)", j->o->json, j->o->images);
    store_options so = {.images = STORE_ENCODED, .channels = j->o->channels,
                        .annotations = STORE_INSTANCES, .file_names = 1, .source = source};
    *w = store_create(j->o->common.out, &so, err, errlen);
    if (!*w)
        return IMPORT_USER_ERROR;
    if (store_set_class_names(*w, j->class_names, j->n_cats, err, errlen))
        return IMPORT_INTERNAL_ERROR;
    return IMPORT_OK;
}

int import_coco(const import_coco_options *in, import_report *rep, char *err, size_t errlen)
{
    memset(rep, 0, sizeof *rep);
    import_coco_options o = *in;
    o.channels = o.channels ? o.channels : 3;
    if (!o.common.out || !o.json || !o.images || (o.channels != 1 && o.channels != 3) ||
        o.min_area < 0 || (o.crowd != IMPORT_CROWD_SKIP && o.crowd != IMPORT_CROWD_KEEP))
        return imp_fail(err, errlen, IMPORT_USER_ERROR, "import-coco: needs --json, --images, "
                        "--out, a min area >= 0, and 1 or 3 channels");
    if (!imp_is_dir(o.images))
        return imp_fail(err, errlen, IMPORT_USER_ERROR, "%s: not a folder (the images)",
                        o.images);
    job j = {.o = &o};
    store_writer *w = NULL;
    int rc = parse_json(&j, err, errlen);
    if (rc == IMPORT_OK)
        rc = read_categories(&j, err, errlen);
    if (rc == IMPORT_OK)
        rc = read_images(&j, err, errlen);
    if (rc == IMPORT_OK)
        rc = read_annotations(&j, err, errlen);
    if (rc == IMPORT_OK)
        rc = create_store(&j, &w, err, errlen);
    rep->n_classes = j.n_cats;
    int64_t limit = o.common.limit > 0 ? o.common.limit : INT64_MAX;
    for (int64_t i = 0; rc == IMPORT_OK && i < j.n_imgs && rep->written < limit; i++) {
        if (imp_cancelled(&o.common))
            break;
        rc = import_image(w, &j, &j.imgs[i], rep, err, errlen);
        imp_progress(&o.common, "import-coco", i + 1, j.n_imgs);
    }
    if (w)
        imp_progress_end(&o.common, "import-coco", rep->written, j.n_imgs);
    job_free(&j);
    if (!w)
        return rc;
    if (rc == IMPORT_OK && rep->written == 0 && !imp_cancelled(&o.common))
        rc = imp_fail(err, errlen, IMPORT_USER_ERROR, "%s: nothing to write (%lld images: "
                      "%lld skipped, %lld without instances; see --keep-empty, --min-area, "
                      "--crowd)%s%s", o.common.out, (long long)rep->seen,
                      (long long)rep->skipped, (long long)rep->empty_dropped,
                      rep->skipped ? "; first skipped: " : "",
                      rep->skipped ? rep->skipped_files[0] : "");
    return imp_finish(w, &o.common, rep, rc, err, errlen);
}
