/*
 * segmetrics.c - see segmetrics.h: IoU / Dice, boundary F (boundary maps + exact EDT of each
 * boundary, data/geometry/distance.h), MAE, and the per-image accumulator.
 */
#include "eval/segmetrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "geometry/distance.h"

/* Checks shared by every per-image function: non-NULL buffers, positive sizes, h * w fits. */
static int check_image(const char *fn, const void *a, const void *b, int h, int w, char *err,
                       size_t errlen)
{
    if (!a || !b)
        return err_fail(err, errlen, "%s: the prediction and the ground truth must not be NULL",
                        fn);
    if (h < 1 || w < 1)
        return err_fail(err, errlen, "%s: image size must be at least 1 x 1, got h %d w %d", fn,
                        h, w);
    if ((size_t)h > SIZE_MAX / sizeof(double) / (size_t)w)
        return err_fail(err, errlen, "%s: image size h %d w %d is too large", fn, h, w);
    return 0;
}

/* -1 with a message when a soft value is NaN or outside [0, 1]. */
static int check_soft(const char *fn, const char *what, const float *v, int h, int w, char *err,
                      size_t errlen)
{
    size_t np = (size_t)h * (size_t)w;
    for (size_t i = 0; i < np; i++)
        if (!(v[i] >= 0.0f && v[i] <= 1.0f))
            return err_fail(err, errlen,
                            "%s: %s must be in [0, 1], got %g at row %zu column %zu", fn, what,
                            (double)v[i], i / (size_t)w, i % (size_t)w);
    return 0;
}

int segmetrics_overlap_of(const uint8_t *pred, const uint8_t *gt, const uint8_t *ignore, int h,
                          int w, segmetrics_overlap *out, char *err, size_t errlen)
{
    if (check_image("segmetrics_overlap_of", pred, gt, h, w, err, errlen) != 0)
        return -1;
    if (!out)
        return err_fail(err, errlen, "segmetrics_overlap_of: out must not be NULL");
    size_t np = (size_t)h * (size_t)w;
    int64_t np_pred = 0, ng = 0, ni = 0, nu = 0;
    for (size_t i = 0; i < np; i++) {
        if (ignore && ignore[i])
            continue;
        int p = pred[i] != 0, g = gt[i] != 0;
        np_pred += p;
        ng += g;
        ni += p & g;
        nu += p | g;
    }
    out->pred = np_pred;
    out->gt = ng;
    out->inter = ni;
    out->uni = nu;
    out->iou = nu > 0 ? (double)ni / (double)nu : 1.0;
    out->dice = nu > 0 ? 2.0 * (double)ni / (double)(np_pred + ng) : 1.0;
    return 0;
}

int64_t segmetrics_boundary_map(const uint8_t *mask, int h, int w, uint8_t *out)
{
    if (!mask || h < 1 || w < 1)
        return -1;
    int64_t n = 0;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t p = (size_t)y * (size_t)w + (size_t)x;
            int b = mask[p] && ((x > 0 && !mask[p - 1]) || (x < w - 1 && !mask[p + 1]) ||
                                (y > 0 && !mask[p - (size_t)w]) ||
                                (y < h - 1 && !mask[p + (size_t)w]));
            if (out)
                out[p] = (uint8_t)b;
            n += b;
        }
    }
    return n;
}

/* Counted boundary pixels of `from` (not ignored), and how many of them lie within tolerance
 * (squared distance <= tol2) of a boundary pixel of `to` (to_count pixels in all). dist is an
 * h * w scratch buffer. -1 on out of memory. */
static int match_boundary(const uint8_t *from, const uint8_t *to, int64_t to_count,
                          const uint8_t *ignore, int h, int w, double tol2, double *dist,
                          int64_t *counted, int64_t *matched)
{
    size_t np = (size_t)h * (size_t)w;
    int64_t c = 0, m = 0;
    int have_dist = 0;
    for (size_t i = 0; i < np; i++) {
        if (!from[i] || (ignore && ignore[i]))
            continue;
        c++;
        if (to_count == 0)
            continue;
        if (!have_dist) {
            if (distance_edt_sq(to, h, w, dist) != 0)
                return -1;
            have_dist = 1;
        }
        m += dist[i] <= tol2;
    }
    *counted = c;
    *matched = m;
    return 0;
}

int segmetrics_boundary_f(const uint8_t *pred, const uint8_t *gt, const uint8_t *ignore, int h,
                          int w, double tolerance, segmetrics_boundary *out, char *err,
                          size_t errlen)
{
    const char *fn = "segmetrics_boundary_f";
    if (check_image(fn, pred, gt, h, w, err, errlen) != 0)
        return -1;
    if (!out)
        return err_fail(err, errlen, "%s: out must not be NULL", fn);
    if (!(tolerance >= 0.0) || isinf(tolerance))
        return err_fail(err, errlen, "%s: tolerance must be a finite number of pixels >= 0, "
                        "got %g", fn, tolerance);
    size_t np = (size_t)h * (size_t)w;
    uint8_t *bp = malloc(np), *bg = malloc(np);
    double *dist = malloc(np * sizeof *dist);
    int rc = -1;
    if (!bp || !bg || !dist) {
        err_fail(err, errlen, "%s: out of memory for a %d x %d image", fn, h, w);
        goto done;
    }
    int64_t nbp = segmetrics_boundary_map(pred, h, w, bp);
    int64_t nbg = segmetrics_boundary_map(gt, h, w, bg);
    double tol2 = tolerance * tolerance;
    if (match_boundary(bp, bg, nbg, ignore, h, w, tol2, dist, &out->pred_boundary,
                       &out->pred_matched) != 0 ||
        match_boundary(bg, bp, nbp, ignore, h, w, tol2, dist, &out->gt_boundary,
                       &out->gt_matched) != 0) {
        err_fail(err, errlen, "%s: out of memory for the distance transform of a %d x %d image",
                 fn, h, w);
        goto done;
    }
    out->tolerance = tolerance;
    double p = out->pred_boundary > 0 ? (double)out->pred_matched / (double)out->pred_boundary
                                      : 1.0;
    double r = out->gt_boundary > 0 ? (double)out->gt_matched / (double)out->gt_boundary : 1.0;
    out->precision = p;
    out->recall = r;
    out->f = p + r > 0.0 ? 2.0 * p * r / (p + r) : 0.0;
    rc = 0;
done:
    free(bp);
    free(bg);
    free(dist);
    return rc;
}

double segmetrics_davis_tolerance(int h, int w)
{
    return ceil(0.008 * sqrt((double)h * (double)h + (double)w * (double)w));
}

/* MAE over counted pixels; exactly one of gt_bin / gt_soft is used (gt_bin when non-NULL). */
static int mae_of(const char *fn, const float *soft, const uint8_t *gt_bin, const float *gt_soft,
                  const uint8_t *ignore, int h, int w, double *out, char *err, size_t errlen)
{
    if (check_image(fn, soft, gt_bin ? (const void *)gt_bin : (const void *)gt_soft, h, w, err,
                    errlen) != 0)
        return -1;
    if (!out)
        return err_fail(err, errlen, "%s: out must not be NULL", fn);
    if (check_soft(fn, "the soft prediction", soft, h, w, err, errlen) != 0 ||
        (gt_soft && check_soft(fn, "the soft ground truth", gt_soft, h, w, err, errlen) != 0))
        return -1;
    size_t np = (size_t)h * (size_t)w;
    double sum = 0.0;
    int64_t n = 0;
    for (size_t i = 0; i < np; i++) {
        if (ignore && ignore[i])
            continue;
        double g = gt_bin ? (gt_bin[i] ? 1.0 : 0.0) : (double)gt_soft[i];
        sum += fabs((double)soft[i] - g);
        n++;
    }
    *out = n > 0 ? sum / (double)n : 0.0;
    return 0;
}

int segmetrics_mae(const float *soft, const uint8_t *gt, const uint8_t *ignore, int h, int w,
                   double *out, char *err, size_t errlen)
{
    return mae_of("segmetrics_mae", soft, gt, NULL, ignore, h, w, out, err, errlen);
}

int segmetrics_mae_soft(const float *soft, const float *gt, const uint8_t *ignore, int h, int w,
                        double *out, char *err, size_t errlen)
{
    if (!gt)
        return err_fail(err, errlen, "segmetrics_mae_soft: the ground truth must not be NULL");
    return mae_of("segmetrics_mae_soft", soft, NULL, gt, ignore, h, w, out, err, errlen);
}

int segmetrics_image_eval(const uint8_t *pred, const float *soft, const uint8_t *gt,
                          const uint8_t *ignore, int h, int w, double tolerance,
                          segmetrics_image *out, char *err, size_t errlen)
{
    if (!out)
        return err_fail(err, errlen, "segmetrics_image_eval: out must not be NULL");
    if (segmetrics_overlap_of(pred, gt, ignore, h, w, &out->overlap, err, errlen) != 0 ||
        segmetrics_boundary_f(pred, gt, ignore, h, w, tolerance, &out->boundary, err,
                              errlen) != 0)
        return -1;
    if (soft) {
        if (segmetrics_mae(soft, gt, ignore, h, w, &out->mae, err, errlen) != 0)
            return -1;
    } else {
        /* the hard prediction as a 0/1 soft mask: the fraction of counted pixels it gets wrong */
        int64_t wrong = out->overlap.uni - out->overlap.inter;
        int64_t counted = 0;
        size_t np = (size_t)h * (size_t)w;
        for (size_t i = 0; i < np; i++)
            counted += !(ignore && ignore[i]);
        out->mae = counted > 0 ? (double)wrong / (double)counted : 0.0;
    }
    out->h = h;
    out->w = w;
    return 0;
}

struct segmetrics_acc {
    double tolerance;
    segmetrics_image *img;
    size_t n, cap;
};

segmetrics_acc *segmetrics_acc_new(double tolerance)
{
    if (!(tolerance >= 0.0) || isinf(tolerance))
        return NULL;
    segmetrics_acc *a = calloc(1, sizeof *a);
    if (a)
        a->tolerance = tolerance;
    return a;
}

void segmetrics_acc_free(segmetrics_acc *a)
{
    if (!a)
        return;
    free(a->img);
    free(a);
}

int segmetrics_acc_add(segmetrics_acc *a, const uint8_t *pred, const float *soft,
                       const uint8_t *gt, const uint8_t *ignore, int h, int w, char *err,
                       size_t errlen)
{
    if (!a)
        return err_fail(err, errlen, "segmetrics_acc_add: the accumulator must not be NULL");
    segmetrics_image s;
    if (segmetrics_image_eval(pred, soft, gt, ignore, h, w, a->tolerance, &s, err, errlen) != 0)
        return -1;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        segmetrics_image *p = realloc(a->img, cap * sizeof *p);
        if (!p)
            return err_fail(err, errlen, "segmetrics_acc_add: out of memory for %zu images",
                            cap);
        a->img = p;
        a->cap = cap;
    }
    a->img[a->n++] = s;
    return 0;
}

size_t segmetrics_acc_count(const segmetrics_acc *a)
{
    return a ? a->n : 0;
}

const segmetrics_image *segmetrics_acc_image(const segmetrics_acc *a, size_t i)
{
    return a && i < a->n ? &a->img[i] : NULL;
}

void segmetrics_acc_summary(const segmetrics_acc *a, segmetrics_summary *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    size_t n = a ? a->n : 0;
    out->images = n;
    if (n == 0) {
        out->mean_iou = out->mean_dice = out->mean_mae = NAN;
        out->mean_boundary_precision = out->mean_boundary_recall = out->mean_boundary_f = NAN;
        out->overall_iou = out->overall_dice = NAN;
        return;
    }
    double iou = 0, dice = 0, bp = 0, br = 0, bf = 0, mae = 0;
    for (size_t i = 0; i < n; i++) {
        const segmetrics_image *s = &a->img[i];
        iou += s->overlap.iou;
        dice += s->overlap.dice;
        bp += s->boundary.precision;
        br += s->boundary.recall;
        bf += s->boundary.f;
        mae += s->mae;
        out->pred += s->overlap.pred;
        out->gt += s->overlap.gt;
        out->inter += s->overlap.inter;
        out->uni += s->overlap.uni;
    }
    double dn = (double)n;
    out->mean_iou = iou / dn;
    out->mean_dice = dice / dn;
    out->mean_boundary_precision = bp / dn;
    out->mean_boundary_recall = br / dn;
    out->mean_boundary_f = bf / dn;
    out->mean_mae = mae / dn;
    out->overall_iou = out->uni > 0 ? (double)out->inter / (double)out->uni : 1.0;
    out->overall_dice =
        out->uni > 0 ? 2.0 * (double)out->inter / (double)(out->pred + out->gt) : 1.0;
}

typedef struct {
    double iou;
    size_t index;
} ranked;

static int by_iou_then_index(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->iou != b->iou)
        return a->iou < b->iou ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

size_t segmetrics_acc_worst(const segmetrics_acc *a, size_t n, size_t *idx)
{
    if (!a || !idx || n == 0 || a->n == 0)
        return 0;
    ranked *r = malloc(a->n * sizeof *r);
    if (!r)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        r[i].iou = a->img[i].overlap.iou;
        r[i].index = i;
    }
    qsort(r, a->n, sizeof *r, by_iou_then_index);
    size_t k = n < a->n ? n : a->n;
    for (size_t i = 0; i < k; i++)
        idx[i] = r[i].index;
    free(r);
    return k;
}

/* One JSON number, or null for NaN. */
static int json_num(char *out, size_t outlen, double v)
{
    return isnan(v) ? snprintf(out, outlen, "null") : snprintf(out, outlen, "%.6f", v);
}

int segmetrics_summary_json(const segmetrics_summary *s, char *out, size_t outlen)
{
    if (!s)
        return -1;
    static const char *const keys[] = {"iou", "dice", "boundary_f", "boundary_precision",
                                       "boundary_recall", "mae", "overall_iou", "overall_dice"};
    const double vals[] = {s->mean_iou, s->mean_dice, s->mean_boundary_f,
                           s->mean_boundary_precision, s->mean_boundary_recall, s->mean_mae,
                           s->overall_iou, s->overall_dice};
    char num[64];
    int len = 0;
    /* measure and write as snprintf does: pieces past outlen are counted, not written */
#define PUT(...)                                                                              \
    do {                                                                                      \
        size_t at = (size_t)len < outlen ? (size_t)len : outlen;                              \
        int k = snprintf(out ? out + at : NULL, out ? outlen - at : 0, __VA_ARGS__);          \
        if (k < 0)                                                                            \
            return -1;                                                                        \
        len += k;                                                                             \
    } while (0)
    PUT("{");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_num(num, sizeof num, vals[i]);
        PUT("%s\"%s\": %s", i ? ", " : "", keys[i], num);
    }
    PUT(", \"images\": %zu}", s->images);
#undef PUT
    return len;
}
