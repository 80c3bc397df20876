/*
 * mask_ap.c - see mask_ap.h: COCO mask AP/AR (COCOeval, iouType 'segm') on run-length masks.
 *
 * Layout: masks are kept as COCO runs with their area and bounding box (encoded from the
 * transitions found scanning rows in memory order, ~4x faster than rle_encode's column walk on
 * a 256x256 mask); summarize sorts the GTs and detections by (class, image), evaluates one
 * class at a time (IoUs once per image, matching per area range and threshold), accumulates
 * the precision/recall tables and averages them. Only pt_write_file_atomic is used from the
 * shim (no tensors).
 */
#include "eval/mask_ap.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/bytebuf.h"
#include "base/err.h"
#include "pt.h"
#include "codec/rle.h"

#define T_N MASK_AP_NUM_IOU_THRESHOLDS
#define R_N MASK_AP_NUM_RECALL_POINTS
#define A_N 4 /* area ranges: all, small, medium, large */
#define M_N 3 /* maxDets: 1, 10, 100 */

static const int MAX_DETS[M_N] = {1, 10, MASK_AP_MAX_DETS};
static const double AREA_LO[A_N] = {0.0, 0.0, 32.0 * 32.0, 96.0 * 96.0};
static const double AREA_HI[A_N] = {1e10, 32.0 * 32.0, 96.0 * 96.0, 1e10};

/* One GT or detection. */
typedef struct {
    int64_t image_id;
    int class_id;
    int iscrowd;         /* GT only */
    float score;         /* detection only */
    int h, w;
    uint64_t area;       /* pixels inside */
    int x0, y0, x1, y1;  /* bounding box, inclusive; x0 > x1 when empty */
    uint32_t *counts;    /* COCO runs, column-major, starting with 0s */
    size_t ncounts;
    size_t seq;          /* insertion order */
} mask_entry;

typedef struct {
    mask_entry *v;
    size_t n, cap;
} entry_list;

/* Image id -> size, open addressing. */
typedef struct {
    int64_t id;
    int h, w;
    int used;
} image_slot;

struct mask_ap {
    int num_classes;
    int64_t *category_ids; /* NULL: category_id = class id */
    entry_list gt, det;
    image_slot *images;
    size_t image_cap, n_images;
    double *class_ap;      /* per class, from the last summarize */
    int class_ap_valid;
};

/* ---------------------------------------------------------------- the threshold grids */

/* numpy.linspace(start, stop, num) bit for bit: i * ((stop - start) / (num - 1)) + start, and
 * the last value set to stop. COCO compares IoUs against these exact doubles. */
static double linspace_at(double start, double stop, int num, int i)
{
    if (i == num - 1)
        return stop;
    double step = (stop - start) / (double)(num - 1);
    return (double)i * step + start;
}

/* ---------------------------------------------------------------- construction */

mask_ap *mask_ap_new(int num_classes)
{
    if (num_classes < 1)
        return NULL;
    mask_ap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->num_classes = num_classes;
    m->class_ap = malloc((size_t)num_classes * sizeof *m->class_ap);
    if (!m->class_ap) {
        free(m);
        return NULL;
    }
    for (int k = 0; k < num_classes; k++)
        m->class_ap[k] = -1.0;
    return m;
}

static void list_free(entry_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].counts);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

void mask_ap_free(mask_ap *m)
{
    if (!m)
        return;
    list_free(&m->gt);
    list_free(&m->det);
    free(m->images);
    free(m->category_ids);
    free(m->class_ap);
    free(m);
}

/* ---------------------------------------------------------------- the image table */

static size_t hash_id(int64_t id)
{
    uint64_t z = (uint64_t)id + 0x9e3779b97f4a7c15ull; /* splitmix64 finaliser */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (size_t)(z ^ (z >> 31));
}

static image_slot *image_find(const mask_ap *m, int64_t id)
{
    if (!m->image_cap)
        return NULL;
    size_t mask = m->image_cap - 1;
    for (size_t i = hash_id(id) & mask;; i = (i + 1) & mask) {
        if (!m->images[i].used)
            return NULL;
        if (m->images[i].id == id)
            return &m->images[i];
    }
}

/* Inserts an id known to be absent. */
static int image_insert(mask_ap *m, int64_t id, int h, int w)
{
    if (2 * (m->n_images + 1) > m->image_cap) {
        size_t cap = m->image_cap ? 2 * m->image_cap : 64;
        image_slot *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t j = 0; j < m->image_cap; j++) {
            if (!m->images[j].used)
                continue;
            size_t i = hash_id(m->images[j].id) & (cap - 1);
            while (slots[i].used)
                i = (i + 1) & (cap - 1);
            slots[i] = m->images[j];
        }
        free(m->images);
        m->images = slots;
        m->image_cap = cap;
    }
    size_t mask = m->image_cap - 1, i = hash_id(id) & mask;
    while (m->images[i].used)
        i = (i + 1) & mask;
    m->images[i] = (image_slot){.id = id, .h = h, .w = w, .used = 1};
    m->n_images++;
    return 0;
}

/* ---------------------------------------------------------------- adding masks */

/* Area and bounding box of a run-length mask. */
static void runs_geometry(mask_entry *e)
{
    uint64_t pos = 0, area = 0;
    int x0 = e->w, y0 = e->h, x1 = -1, y1 = -1;
    for (size_t i = 0; i < e->ncounts; i++) {
        uint64_t len = e->counts[i];
        if ((i & 1) && len > 0) {
            uint64_t first = pos, last = pos + len - 1, h = (uint64_t)e->h;
            int cx0 = (int)(first / h), cx1 = (int)(last / h);
            int ry0 = cx0 == cx1 ? (int)(first % h) : 0;
            int ry1 = cx0 == cx1 ? (int)(last % h) : e->h - 1;
            if (cx0 < x0) x0 = cx0;
            if (cx1 > x1) x1 = cx1;
            if (ry0 < y0) y0 = ry0;
            if (ry1 > y1) y1 = ry1;
            area += len;
        }
        pos += len;
    }
    e->area = area;
    e->x0 = x0, e->y0 = y0, e->x1 = x1, e->y1 = y1;
}

/* Takes ownership of counts (freed on failure). */
static int add_entry(mask_ap *m, entry_list *list, const char *what, int64_t image_id,
                     int class_id, int iscrowd, float score, uint32_t *counts, size_t n, int h,
                     int w, char *err, size_t errlen)
{
    image_slot *img = image_find(m, image_id);
    if (img && (img->h != h || img->w != w)) {
        free(counts);
        return err_fail(err, errlen, "%s on image %lld is %d x %d, but that image's earlier masks "
                    "are %d x %d (all masks of one image must have its size)", what,
                    (long long)image_id, h, w, img->h, img->w);
    }
    if (list->n == list->cap) {
        size_t cap = list->cap ? 2 * list->cap : 256;
        mask_entry *v = realloc(list->v, cap * sizeof *v);
        if (!v) {
            free(counts);
            return err_fail(err, errlen, "out of memory adding a %s", what);
        }
        list->v = v;
        list->cap = cap;
    }
    if (!img && image_insert(m, image_id, h, w)) {
        free(counts);
        return err_fail(err, errlen, "out of memory adding image %lld", (long long)image_id);
    }
    mask_entry *e = &list->v[list->n];
    *e = (mask_entry){.image_id = image_id, .class_id = class_id, .iscrowd = iscrowd != 0,
                      .score = score, .h = h, .w = w, .counts = counts, .ncounts = n,
                      .seq = list->n};
    runs_geometry(e);
    list->n++;
    m->class_ap_valid = 0;
    return 0;
}

static int check_common(const mask_ap *m, const char *what, int class_id, int h, int w,
                        char *err, size_t errlen)
{
    if (!m)
        return err_fail(err, errlen, "%s: the evaluator is NULL", what);
    if (class_id < 0 || class_id >= m->num_classes)
        return err_fail(err, errlen, "%s: class id %d, expected 0..%d", what, class_id,
                    m->num_classes - 1);
    if (h < 1 || w < 1)
        return err_fail(err, errlen, "%s: mask size %d x %d, expected at least 1 x 1", what, h, w);
    return 0;
}

static int copy_runs(const char *what, const uint32_t *counts, size_t n, int h, int w,
                     uint32_t **out, char *err, size_t errlen)
{
    char why[160];
    *out = NULL;
    if (rle_check(counts, n, h, w, why, sizeof why))
        return err_fail(err, errlen, "%s: bad run lengths: %s", what, why);
    *out = malloc((n ? n : 1) * sizeof **out);
    if (!*out)
        return err_fail(err, errlen, "%s: out of memory", what);
    if (n)
        memcpy(*out, counts, n * sizeof *counts);
    return 0;
}

/* Calls visit(ctx, x, y) for every pixel of the mask (non-zero = 1) whose value differs from its
 * predecessor in column-major order ((x, y - 1), or (x - 1, h - 1) at the top of a column, 0
 * before the first pixel), column by column within a row and rows top to bottom. Rows are
 * compared eight raw bytes at a time (equal bytes are equal values), so the row-major mask is
 * read in order and uniform stretches cost little. */
static void visit_transitions(const uint8_t *mask, int h, int w,
                              void (*visit)(void *ctx, int x, int y), void *ctx)
{
    for (int x = 0; x < w; x++) {
        int before = x ? mask[(size_t)(h - 1) * (size_t)w + (size_t)(x - 1)] != 0 : 0;
        if ((mask[x] != 0) != before)
            visit(ctx, x, 0);
    }
    for (int y = 1; y < h; y++) {
        const uint8_t *row = mask + (size_t)y * (size_t)w, *above = row - w;
        int x = 0;
        for (; x + 8 <= w; x += 8) {
            uint64_t a, b;
            memcpy(&a, row + x, 8);
            memcpy(&b, above + x, 8);
            if (a == b)
                continue;
            for (int k = 0; k < 8; k++)
                if ((row[x + k] != 0) != (above[x + k] != 0))
                    visit(ctx, x + k, y);
        }
        for (; x < w; x++)
            if ((row[x] != 0) != (above[x] != 0))
                visit(ctx, x, y);
    }
}

typedef struct {
    size_t *column_fill; /* per column: transitions counted (pass 1) / next slot (pass 2) */
    int *rows;           /* pass 2: the transitions' rows, grouped by column */
} transition_table;

static void count_transition(void *ctx, int x, int y)
{
    (void)y;
    ((transition_table *)ctx)->column_fill[x]++;
}

static void store_transition(void *ctx, int x, int y)
{
    transition_table *t = ctx;
    t->rows[t->column_fill[x]++] = y;
}

/* The COCO runs of a row-major mask (non-zero = 1), equal to rle_encode's, without its
 * column-by-column walk over a row-major buffer (a cache miss per pixel on large masks): the
 * runs are the gaps between the transitions of visit_transitions, taken in column-major order. */
static int encode_mask(const char *what, const uint8_t *mask, int h, int w, uint32_t **counts,
                       size_t *n, char *err, size_t errlen)
{
    *counts = NULL;
    *n = 0;
    if (!mask)
        return err_fail(err, errlen, "%s: the mask is NULL", what);
    size_t hw = (size_t)h * (size_t)w;
    if (hw > UINT32_MAX)
        return err_fail(err, errlen, "%s: mask %d x %d has more than 2^32 - 1 pixels", what, h, w);
    transition_table t = {calloc((size_t)w + 1, sizeof *t.column_fill), NULL};
    if (!t.column_fill)
        return err_fail(err, errlen, "%s: out of memory encoding a %d x %d mask", what, h, w);
    visit_transitions(mask, h, w, count_transition, &t);
    size_t total = 0; /* column counts -> the first slot of each column */
    for (int x = 0; x < w; x++) {
        size_t c = t.column_fill[x];
        t.column_fill[x] = total;
        total += c;
    }
    t.rows = malloc((total ? total : 1) * sizeof *t.rows);
    uint32_t *runs = malloc((total + 1) * sizeof *runs);
    if (!t.rows || !runs) {
        free(t.column_fill), free(t.rows), free(runs);
        return err_fail(err, errlen, "%s: out of memory encoding a %d x %d mask", what, h, w);
    }
    visit_transitions(mask, h, w, store_transition, &t);
    /* after pass 2, column_fill[x] is the end of column x's slots = the start of column x+1 */
    size_t slot = 0, previous = 0;
    for (int x = 0; x < w; x++)
        for (; slot < t.column_fill[x]; slot++) {
            size_t pos = (size_t)x * (size_t)h + (size_t)t.rows[slot];
            runs[slot] = (uint32_t)(pos - previous);
            previous = pos;
        }
    runs[total] = (uint32_t)(hw - previous);
    free(t.column_fill), free(t.rows);
    *counts = runs;
    *n = total + 1;
    return 0;
}

int mask_ap_add_gt_rle(mask_ap *m, int64_t image_id, int class_id, const uint32_t *counts,
                       size_t n, int h, int w, int iscrowd, char *err, size_t errlen)
{
    uint32_t *own;
    if (check_common(m, "ground truth", class_id, h, w, err, errlen) ||
        copy_runs("ground truth", counts, n, h, w, &own, err, errlen))
        return -1;
    return add_entry(m, &m->gt, "ground truth", image_id, class_id, iscrowd, 0.0f, own, n, h,
                     w, err, errlen);
}

int mask_ap_add_gt(mask_ap *m, int64_t image_id, int class_id, const uint8_t *mask, int h,
                   int w, int iscrowd, char *err, size_t errlen)
{
    uint32_t *own;
    size_t n;
    if (check_common(m, "ground truth", class_id, h, w, err, errlen) ||
        encode_mask("ground truth", mask, h, w, &own, &n, err, errlen))
        return -1;
    return add_entry(m, &m->gt, "ground truth", image_id, class_id, iscrowd, 0.0f, own, n, h,
                     w, err, errlen);
}

static int check_score(float score, char *err, size_t errlen)
{
    if (!isfinite(score))
        return err_fail(err, errlen, "detection: score is %g, expected a finite number",
                    (double)score);
    return 0;
}

int mask_ap_add_det_rle(mask_ap *m, int64_t image_id, int class_id, float score,
                        const uint32_t *counts, size_t n, int h, int w, char *err,
                        size_t errlen)
{
    uint32_t *own;
    if (check_common(m, "detection", class_id, h, w, err, errlen) ||
        check_score(score, err, errlen) ||
        copy_runs("detection", counts, n, h, w, &own, err, errlen))
        return -1;
    return add_entry(m, &m->det, "detection", image_id, class_id, 0, score, own, n, h, w, err,
                     errlen);
}

int mask_ap_add_det(mask_ap *m, int64_t image_id, int class_id, float score,
                    const uint8_t *mask, int h, int w, char *err, size_t errlen)
{
    uint32_t *own;
    size_t n;
    if (check_common(m, "detection", class_id, h, w, err, errlen) ||
        check_score(score, err, errlen) ||
        encode_mask("detection", mask, h, w, &own, &n, err, errlen))
        return -1;
    return add_entry(m, &m->det, "detection", image_id, class_id, 0, score, own, n, h, w, err,
                     errlen);
}

/* ---------------------------------------------------------------- IoU on runs */

/* Pixels inside both masks (same size): walk the two run sequences together. */
static uint64_t runs_intersection(const mask_entry *a, const mask_entry *b)
{
    if (a->x0 > b->x1 || b->x0 > a->x1 || a->y0 > b->y1 || b->y0 > a->y1 || a->x0 > a->x1 ||
        b->x0 > b->x1)
        return 0;
    size_t ia = 0, ib = 0;
    uint64_t left_a = a->ncounts ? a->counts[0] : 0, left_b = b->ncounts ? b->counts[0] : 0;
    uint64_t inter = 0;
    while (ia < a->ncounts && ib < b->ncounts) {
        if (left_a == 0) {
            if (++ia < a->ncounts)
                left_a = a->counts[ia];
            continue;
        }
        if (left_b == 0) {
            if (++ib < b->ncounts)
                left_b = b->counts[ib];
            continue;
        }
        uint64_t step = left_a < left_b ? left_a : left_b;
        if ((ia & 1) && (ib & 1))
            inter += step;
        left_a -= step;
        left_b -= step;
    }
    return inter;
}

/* COCO's mask IoU of detection d against GT g. */
static double mask_iou(const mask_entry *d, const mask_entry *g)
{
    uint64_t inter = runs_intersection(d, g);
    if (inter == 0)
        return 0.0;
    uint64_t denom = g->iscrowd ? d->area : d->area + g->area - inter;
    return (double)inter / (double)denom;
}

/* ---------------------------------------------------------------- evaluation */

/* One detection's outcome in one (class, area range), all thresholds. */
typedef struct {
    float score;
    int rank;          /* position among its image's detections of this class, by score */
    uint16_t tp, fp;   /* bit t: true / false positive at threshold t (ignored: neither) */
} det_outcome;

typedef struct {
    det_outcome *v;
    size_t n, cap;
    long num_gt;       /* non-ignored GTs */
} outcome_list;

static int cmp_gt_order(const void *pa, const void *pb)
{
    const mask_entry *a = *(const mask_entry *const *)pa, *b = *(const mask_entry *const *)pb;
    if (a->class_id != b->class_id)
        return a->class_id < b->class_id ? -1 : 1;
    if (a->image_id != b->image_id)
        return a->image_id < b->image_id ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int cmp_det_order(const void *pa, const void *pb)
{
    const mask_entry *a = *(const mask_entry *const *)pa, *b = *(const mask_entry *const *)pb;
    if (a->class_id != b->class_id)
        return a->class_id < b->class_id ? -1 : 1;
    if (a->image_id != b->image_id)
        return a->image_id < b->image_id ? -1 : 1;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Scratch buffers of one evaluation, sized for the largest (class, image) group. */
typedef struct {
    double *iou;       /* [D * G] */
    int *order;        /* [G] GT indices, non-ignored first */
    int *ignored;      /* [G] by GT index */
    int *matched_gt;   /* [G] by order position */
} scratch;

/* Matches the D detections of one (class, image) against its G GTs in area range a, appending
 * the outcomes to out. */
static int evaluate_image(mask_entry *const *gts, int G, mask_entry *const *dets, int D,
                          const double *iou, int a, const double *thresholds, scratch *s,
                          outcome_list *out)
{
    int pos = 0;
    for (int g = 0; g < G; g++) {
        double area = (double)gts[g]->area;
        s->ignored[g] = gts[g]->iscrowd || area < AREA_LO[a] || area > AREA_HI[a];
        if (!s->ignored[g]) {
            s->order[pos++] = g;
            out->num_gt++;
        }
    }
    for (int g = 0; g < G; g++)
        if (s->ignored[g])
            s->order[pos++] = g;

    if (out->n + (size_t)D > out->cap) {
        size_t cap = out->cap ? out->cap : 256;
        while (cap < out->n + (size_t)D)
            cap *= 2;
        det_outcome *v = realloc(out->v, cap * sizeof *v);
        if (!v)
            return -1;
        out->v = v;
        out->cap = cap;
    }
    det_outcome *o = out->v + out->n;
    for (int d = 0; d < D; d++)
        o[d] = (det_outcome){.score = dets[d]->score, .rank = d};

    for (int t = 0; t < T_N; t++) {
        memset(s->matched_gt, 0, (size_t)G * sizeof *s->matched_gt);
        for (int d = 0; d < D; d++) {
            const double *row = iou + (size_t)d * (size_t)G;
            double best = thresholds[t] < 1.0 - 1e-10 ? thresholds[t] : 1.0 - 1e-10;
            int m = -1;
            for (int p = 0; p < G; p++) {
                int g = s->order[p];
                if (s->matched_gt[p] && !gts[g]->iscrowd)
                    continue;
                if (m > -1 && !s->ignored[s->order[m]] && s->ignored[g])
                    break;
                if (row[g] < best)
                    continue;
                best = row[g];
                m = p;
            }
            int det_ignored;
            if (m >= 0) {
                s->matched_gt[m] = 1;
                det_ignored = s->ignored[s->order[m]];
                if (!det_ignored)
                    o[d].tp |= (uint16_t)(1u << t);
            } else {
                double area = (double)dets[d]->area;
                det_ignored = area < AREA_LO[a] || area > AREA_HI[a];
                if (!det_ignored)
                    o[d].fp |= (uint16_t)(1u << t);
            }
        }
    }
    out->n += (size_t)D;
    return 0;
}

static int cmp_outcome_score(const void *pa, const void *pb)
{
    const det_outcome *a = *(const det_outcome *const *)pa, *b = *(const det_outcome *const *)pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a < b ? -1 : a > b; /* stable: concatenation order */
}

/* Precision at the recall points (prec[t * R_N + r], when prec is not NULL) and final recall
 * (rec[t]) of one (class, area range, maxDets). Leaves them untouched (-1) when undefined. */
static int accumulate(const outcome_list *list, int max_det, const double *recall_points,
                      double *prec, double *rec)
{
    if (list->num_gt == 0)
        return 0;
    const det_outcome **sel = malloc((list->n ? list->n : 1) * sizeof *sel);
    double *rc = malloc((list->n ? list->n : 1) * sizeof *rc);
    double *pr = malloc((list->n ? list->n : 1) * sizeof *pr);
    if (!sel || !rc || !pr) {
        free(sel), free(rc), free(pr);
        return -1;
    }
    size_t nd = 0;
    for (size_t i = 0; i < list->n; i++)
        if (list->v[i].rank < max_det)
            sel[nd++] = &list->v[i];
    qsort(sel, nd, sizeof *sel, cmp_outcome_score);
    double num_gt = (double)list->num_gt;
    for (int t = 0; t < T_N; t++) {
        long tp = 0, fp = 0;
        for (size_t i = 0; i < nd; i++) {
            tp += (sel[i]->tp >> t) & 1;
            fp += (sel[i]->fp >> t) & 1;
            rc[i] = (double)tp / num_gt;
            pr[i] = (double)tp / ((double)fp + (double)tp + DBL_EPSILON);
        }
        rec[t] = nd ? rc[nd - 1] : 0.0;
        if (!prec)
            continue;
        for (size_t i = nd; i-- > 1;)
            if (pr[i] > pr[i - 1])
                pr[i - 1] = pr[i];
        size_t lo = 0; /* rc is non-decreasing and so are the recall points */
        for (int r = 0; r < R_N; r++) {
            size_t first = lo, hi = nd;
            while (first < hi) { /* first index with rc >= recall_points[r] */
                size_t mid = first + (hi - first) / 2;
                if (rc[mid] < recall_points[r])
                    first = mid + 1;
                else
                    hi = mid;
            }
            lo = first;
            prec[t * R_N + r] = first < nd ? pr[first] : 0.0;
        }
    }
    free(sel), free(rc), free(pr);
    return 0;
}

/* Mean of the entries of v[0..n) that are defined (> -1); -1 when none is. */
static double mean_defined(const double *v, size_t n)
{
    double sum = 0.0;
    long count = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] > -1.0) {
            sum += v[i];
            count++;
        }
    return count ? sum / (double)count : -1.0;
}

/* The tables: precision [K][A][T][R] at maxDets 100, recall [K][A][M][T]. */
#define PREC_AT(p, k, a, t, r) ((p)[((((size_t)(k) * A_N + (a)) * T_N + (t)) * R_N) + (r)])
#define REC_AT(q, k, a, m, t) ((q)[(((size_t)(k) * A_N + (a)) * M_N + (m)) * T_N + (t)])

/* Evaluates class k: the GTs gts[0..ng) and detections dets[0..nd) of that class, both sorted
 * by image (detections by score within an image). */
static int evaluate_class(int k, mask_entry **gts, size_t ng, mask_entry **dets, size_t nd,
                          const double *thresholds, const double *recall_points, double *prec,
                          double *rec, char *err, size_t errlen)
{
    outcome_list lists[A_N];
    memset(lists, 0, sizeof lists);
    scratch s = {0};
    size_t s_cap_g = 0, s_cap_iou = 0;
    int rc = 0;
    size_t gi = 0, di = 0;
    while (rc == 0 && (gi < ng || di < nd)) {
        int64_t image = gi < ng ? gts[gi]->image_id : dets[di]->image_id;
        if (di < nd && dets[di]->image_id < image)
            image = dets[di]->image_id;
        size_t g_end = gi, d_end = di;
        while (g_end < ng && gts[g_end]->image_id == image)
            g_end++;
        while (d_end < nd && dets[d_end]->image_id == image)
            d_end++;
        int G = (int)(g_end - gi);
        size_t all_d = d_end - di;
        int D = all_d > MASK_AP_MAX_DETS ? MASK_AP_MAX_DETS : (int)all_d;

        size_t need_g = G ? (size_t)G : 1, need_iou = (size_t)D * (size_t)G + 1;
        if (need_g > s_cap_g) {
            int *o = realloc(s.order, need_g * sizeof *o);
            if (o)
                s.order = o;
            int *ig = o ? realloc(s.ignored, need_g * sizeof *ig) : NULL;
            if (ig)
                s.ignored = ig;
            int *mg = ig ? realloc(s.matched_gt, need_g * sizeof *mg) : NULL;
            if (mg)
                s.matched_gt = mg;
            if (!mg) {
                rc = err_fail(err, errlen, "out of memory evaluating class %d", k);
                break;
            }
            s_cap_g = need_g;
        }
        if (need_iou > s_cap_iou) {
            double *v = realloc(s.iou, need_iou * sizeof *v);
            if (!v) {
                rc = err_fail(err, errlen, "out of memory evaluating class %d", k);
                break;
            }
            s.iou = v;
            s_cap_iou = need_iou;
        }
        for (int d = 0; d < D; d++)
            for (int g = 0; g < G; g++)
                s.iou[(size_t)d * (size_t)G + (size_t)g] = mask_iou(dets[di + (size_t)d],
                                                                    gts[gi + (size_t)g]);
        for (int a = 0; a < A_N && rc == 0; a++)
            if (evaluate_image(gts + gi, G, dets + di, D, s.iou, a, thresholds, &s, &lists[a]))
                rc = err_fail(err, errlen, "out of memory evaluating class %d", k);
        gi = g_end;
        di = d_end;
    }
    for (int a = 0; a < A_N && rc == 0; a++)
        for (int m = 0; m < M_N && rc == 0; m++)
            if (accumulate(&lists[a], MAX_DETS[m], recall_points,
                           m == M_N - 1 ? &PREC_AT(prec, k, a, 0, 0) : NULL,
                           &REC_AT(rec, k, a, m, 0)))
                rc = err_fail(err, errlen, "out of memory accumulating class %d", k);
    for (int a = 0; a < A_N; a++)
        free(lists[a].v);
    free(s.iou), free(s.order), free(s.ignored), free(s.matched_gt);
    return rc;
}

/* Mean of the precision table over thresholds t0..t1, every recall point and class, area a. */
static double summarize_ap(const double *prec, int K, int a, int t0, int t1)
{
    double sum = 0.0;
    long count = 0;
    for (int k = 0; k < K; k++)
        for (int t = t0; t <= t1; t++)
            for (int r = 0; r < R_N; r++) {
                double v = PREC_AT(prec, k, a, t, r);
                if (v > -1.0) {
                    sum += v;
                    count++;
                }
            }
    return count ? sum / (double)count : -1.0;
}

static double summarize_ar(const double *rec, int K, int a, int m)
{
    double sum = 0.0;
    long count = 0;
    for (int k = 0; k < K; k++)
        for (int t = 0; t < T_N; t++) {
            double v = REC_AT(rec, k, a, m, t);
            if (v > -1.0) {
                sum += v;
                count++;
            }
        }
    return count ? sum / (double)count : -1.0;
}

/* Index of the IoU threshold equal to x (COCO's np.where(iouThr == iouThrs)); -1 if none. */
static int threshold_index(const double *thresholds, double x)
{
    for (int t = 0; t < T_N; t++)
        if (thresholds[t] == x)
            return t;
    return -1;
}

int mask_ap_summarize(mask_ap *m, mask_ap_result *out, char *err, size_t errlen)
{
    if (!m || !out)
        return err_fail(err, errlen, "mask AP summarize: the evaluator or the result is NULL");
    double thresholds[T_N], recall_points[R_N];
    for (int t = 0; t < T_N; t++)
        thresholds[t] = linspace_at(0.5, 0.95, T_N, t);
    for (int r = 0; r < R_N; r++)
        recall_points[r] = linspace_at(0.0, 1.0, R_N, r);

    int K = m->num_classes, rc = 0;
    size_t n_prec = (size_t)K * A_N * T_N * R_N, n_rec = (size_t)K * A_N * M_N * T_N;
    double *prec = malloc(n_prec * sizeof *prec), *rec = malloc(n_rec * sizeof *rec);
    mask_entry **gts = malloc((m->gt.n ? m->gt.n : 1) * sizeof *gts);
    mask_entry **dets = malloc((m->det.n ? m->det.n : 1) * sizeof *dets);
    if (!prec || !rec || !gts || !dets) {
        rc = err_fail(err, errlen, "out of memory summarizing %zu GTs and %zu detections", m->gt.n,
                  m->det.n);
        goto done;
    }
    for (size_t i = 0; i < n_prec; i++)
        prec[i] = -1.0;
    for (size_t i = 0; i < n_rec; i++)
        rec[i] = -1.0;
    for (size_t i = 0; i < m->gt.n; i++)
        gts[i] = &m->gt.v[i];
    for (size_t i = 0; i < m->det.n; i++)
        dets[i] = &m->det.v[i];
    qsort(gts, m->gt.n, sizeof *gts, cmp_gt_order);
    qsort(dets, m->det.n, sizeof *dets, cmp_det_order);

    size_t g0 = 0, d0 = 0;
    for (int k = 0; k < K && rc == 0; k++) {
        size_t g1 = g0, d1 = d0;
        while (g1 < m->gt.n && gts[g1]->class_id == k)
            g1++;
        while (d1 < m->det.n && dets[d1]->class_id == k)
            d1++;
        rc = evaluate_class(k, gts + g0, g1 - g0, dets + d0, d1 - d0, thresholds,
                            recall_points, prec, rec, err, errlen);
        g0 = g1;
        d0 = d1;
    }
    if (rc)
        goto done;

    int t50 = threshold_index(thresholds, 0.5), t75 = threshold_index(thresholds, 0.75);
    *out = (mask_ap_result){
        .ap = summarize_ap(prec, K, 0, 0, T_N - 1),
        .ap50 = t50 >= 0 ? summarize_ap(prec, K, 0, t50, t50) : -1.0,
        .ap75 = t75 >= 0 ? summarize_ap(prec, K, 0, t75, t75) : -1.0,
        .ap_small = summarize_ap(prec, K, 1, 0, T_N - 1),
        .ap_medium = summarize_ap(prec, K, 2, 0, T_N - 1),
        .ap_large = summarize_ap(prec, K, 3, 0, T_N - 1),
        .ar1 = summarize_ar(rec, K, 0, 0),
        .ar10 = summarize_ar(rec, K, 0, 1),
        .ar100 = summarize_ar(rec, K, 0, 2),
        .ar_small = summarize_ar(rec, K, 1, 2),
        .ar_medium = summarize_ar(rec, K, 2, 2),
        .ar_large = summarize_ar(rec, K, 3, 2),
        .num_images = (int)m->n_images,
        .num_gt = (long)m->gt.n,
        .num_det = (long)m->det.n,
    };
    for (int k = 0; k < K; k++)
        m->class_ap[k] = mean_defined(&PREC_AT(prec, k, 0, 0, 0), (size_t)T_N * R_N);
    m->class_ap_valid = 1;
done:
    free(prec), free(rec), free(gts), free(dets);
    return rc;
}

double mask_ap_class_ap(const mask_ap *m, int class_id)
{
    if (!m || !m->class_ap_valid || class_id < 0 || class_id >= m->num_classes)
        return -1.0;
    return m->class_ap[class_id];
}

/* ---------------------------------------------------------------- output */

int mask_ap_set_category_ids(mask_ap *m, const int64_t *ids, int n, char *err, size_t errlen)
{
    if (!m || !ids)
        return err_fail(err, errlen, "category ids: the evaluator or the id list is NULL");
    if (n != m->num_classes)
        return err_fail(err, errlen, "category ids: %d given, expected one per class (%d)", n,
                    m->num_classes);
    int64_t *copy = malloc((size_t)n * sizeof *copy);
    if (!copy)
        return err_fail(err, errlen, "category ids: out of memory");
    memcpy(copy, ids, (size_t)n * sizeof *copy);
    free(m->category_ids);
    m->category_ids = copy;
    return 0;
}

int mask_ap_write_results_json(const mask_ap *m, const char *path, char *err, size_t errlen)
{
    if (!m || !path)
        return err_fail(err, errlen, "results JSON: the evaluator or the path is NULL");
    bytebuf b = {0};
    bb_puts(&b, "[");
    for (size_t i = 0; i < m->det.n; i++) {
        const mask_entry *e = &m->det.v[i];
        char *counts = NULL, why[160];
        if (rle_to_string(e->counts, e->ncounts, &counts, why, sizeof why)) {
            free(b.p);
            return err_fail(err, errlen, "results JSON '%s': detection %zu: %s", path, i, why);
        }
        int64_t cat = m->category_ids ? m->category_ids[e->class_id] : e->class_id;
        bb_printf(&b, "%s\n{\"image_id\": %lld, \"category_id\": %lld, \"segmentation\": "
                  "{\"size\": [%d, %d], \"counts\": \"", i ? "," : "", (long long)e->image_id,
                  (long long)cat, e->h, e->w);
        for (const char *c = counts; *c; c++) /* '0'..'o' holds one JSON escape: '\' */
            if (*c == '\\')
                bb_puts(&b, "\\\\");
            else
                bb_put(&b, c, 1);
        bb_printf(&b, "\"}, \"score\": %.9g}", (double)e->score);
        free(counts);
    }
    bb_puts(&b, m->det.n ? "\n]\n" : "]\n");
    if (b.oom) {
        free(b.p);
        return err_fail(err, errlen, "results JSON '%s': out of memory", path);
    }
    pt_status st = pt_write_file_atomic(path, b.p, b.n);
    free(b.p);
    if (st != PT_OK) {
        err_fail(err, errlen, "%s", pt_error());
        pt_error_clear();
        return -1;
    }
    return 0;
}

int mask_ap_result_json(const mask_ap_result *r, char *out, size_t outlen)
{
    if (!r)
        return -1;
    return snprintf(out, outlen,
                    "{\"mask_ap\": %.6f, \"mask_ap50\": %.6f, \"mask_ap75\": %.6f, "
                    "\"mask_ap_s\": %.6f, \"mask_ap_m\": %.6f, \"mask_ap_l\": %.6f, "
                    "\"mask_ar1\": %.6f, \"mask_ar10\": %.6f, \"mask_ar100\": %.6f, "
                    "\"mask_ar_s\": %.6f, \"mask_ar_m\": %.6f, \"mask_ar_l\": %.6f, "
                    "\"images\": %d, \"gt\": %ld, \"dets\": %ld}",
                    r->ap, r->ap50, r->ap75, r->ap_small, r->ap_medium, r->ap_large, r->ar1,
                    r->ar10, r->ar100, r->ar_small, r->ar_medium, r->ar_large, r->num_images,
                    r->num_gt, r->num_det);
}
