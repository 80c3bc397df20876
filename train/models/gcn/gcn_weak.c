/* gcn_weak.c - vertex pseudo-labels from an area ratio; see gcn_weak.h. */
#include "models/gcn/gcn_weak.h"

#include <math.h>
#include <stdlib.h>

#include "base/err.h"

int gcn_weak_check(double r, double e, char *err, size_t errlen)
{
    if (isnan(r))
        return err_fail(err, errlen, "no area ratio (NaN): weak training needs one per image");
    if (!(r >= 0 && r <= 1))
        return err_fail(err, errlen, "area ratio %g outside [0, 1]", r);
    if (!isnan(e) && !(e >= 0 && e <= 1))
        return err_fail(err, errlen, "area error %g outside [0, 1]", e);
    return 0;
}

typedef struct {
    float s;
    int i;
} ranked;

static int by_score_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

int gcn_weak_labels(const float *score, const int64_t *area, int n, double r, double e,
                    gcn_ratio_by by, int8_t *out, int *n_fg, int *n_bg, char *err, size_t errlen)
{
    if (!score || !out || n < 1 || (by == GCN_RATIO_BY_AREA && !area))
        return err_fail(err, errlen, "gcn_weak_labels: bad arguments (n %d)", n);
    if (gcn_weak_check(r, e, err, errlen))
        return -1;
    if (isnan(e))
        e = 0;
    ranked *rk = malloc(sizeof *rk * (size_t)n);
    if (!rk)
        return err_fail(err, errlen, "gcn_weak_labels: out of memory");
    int64_t total = 0;
    for (int v = 0; v < n; v++) {
        if (!isfinite(score[v])) {
            free(rk);
            return err_fail(err, errlen, "gcn_weak_labels: vertex %d has score %g", v,
                            (double)score[v]);
        }
        rk[v] = (ranked){score[v], v};
        out[v] = -1;
        total += by == GCN_RATIO_BY_AREA ? area[v] : 1;
    }
    qsort(rk, (size_t)n, sizeof *rk, by_score_desc);
    int fg = 0, bg = 0;
    if (by == GCN_RATIO_BY_VERTICES) {
        double a = floor(n * (r - e) + 1e-9), b = floor(n * (1 - r - e) + 1e-9);
        int n1 = a > 0 ? (int)a : 0, n2 = b > 0 ? (int)b : 0;
        for (; fg < n1; fg++)
            out[rk[fg].i] = 1;
        for (; bg < n2; bg++)
            out[rk[n - 1 - bg].i] = 0;
    } else {
        const double fa = (r - e) * (double)total + 1e-9, ba = (1 - r - e) * (double)total + 1e-9;
        double cum = 0;
        for (int k = 0; k < n && cum + area[rk[k].i] <= fa; k++, fg++) {
            cum += area[rk[k].i];
            out[rk[k].i] = 1;
        }
        cum = 0;
        for (int k = n - 1; k >= 0 && out[rk[k].i] < 0 && cum + area[rk[k].i] <= ba; k--, bg++) {
            cum += area[rk[k].i];
            out[rk[k].i] = 0;
        }
    }
    free(rk);
    if (n_fg)
        *n_fg = fg;
    if (n_bg)
        *n_bg = bg;
    return 0;
}
