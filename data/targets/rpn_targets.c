/*
 * rpn_targets.c - see rpn_targets.h.
 */
#include "targets/rpn_targets.h"

#include <math.h>
#include <stdlib.h>

rpn_target_config rpn_target_defaults(void)
{
    return (rpn_target_config){.fg_iou = 0.7, .bg_iou = 0.3, .positive_fraction = 0.5,
                               .batch_size = 256};
}

double rpn_box_iou(const float *a, const float *b)
{
    double iw = fmin(a[2], b[2]) - fmax(a[0], b[0]), ih = fmin(a[3], b[3]) - fmax(a[1], b[1]);
    if (iw <= 0 || ih <= 0)
        return 0.0;
    double inter = iw * ih;
    double ua = ((double)a[2] - a[0]) * ((double)a[3] - a[1]) +
                ((double)b[2] - b[0]) * ((double)b[3] - b[1]) - inter;
    return ua > 0 ? inter / ua : 0.0;
}

/* Keep `keep` of the n indices in idx (a uniform subset, order irrelevant): partial shuffle. */
static void subsample(int64_t *idx, int64_t n, int64_t keep, prng *r)
{
    for (int64_t i = 0; i < keep && i < n; i++) {
        int64_t j = i + (int64_t)prng_below(r, (uint64_t)(n - i));
        int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

static void encode(const float *a, const float *g, float *d)
{
    double aw = (double)a[2] - a[0], ah = (double)a[3] - a[1];
    double gw = (double)g[2] - g[0], gh = (double)g[3] - g[1];
    d[0] = (float)(((g[0] + 0.5 * gw) - (a[0] + 0.5 * aw)) / aw);
    d[1] = (float)(((g[1] + 0.5 * gh) - (a[1] + 0.5 * ah)) / ah);
    d[2] = (float)log(gw / aw);
    d[3] = (float)log(gh / ah);
}

int rpn_targets(const rpn_target_config *c, const float *anchors, int64_t n, const float *box,
                prng *r, float *label, float *deltas)
{
    double best = 0.0;
    double *iou = malloc((size_t)n * sizeof *iou);
    int64_t *pos = malloc((size_t)n * sizeof *pos), *neg = malloc((size_t)n * sizeof *neg);
    if (!iou || !pos || !neg) {
        free(iou), free(pos), free(neg);
        return -1;
    }
    for (int64_t i = 0; i < n; i++) {
        iou[i] = rpn_box_iou(anchors + 4 * i, box);
        best = fmax(best, iou[i]);
    }
    int64_t np = 0, nn = 0;
    for (int64_t i = 0; i < n; i++) {
        label[i] = -1.0f;
        if (iou[i] >= c->fg_iou || (best > 0 && iou[i] == best))
            pos[np++] = i;
        else if (iou[i] < c->bg_iou)
            neg[nn++] = i;
    }
    int64_t want_pos = (int64_t)(c->batch_size * c->positive_fraction);
    int64_t kp = np < want_pos ? np : want_pos;
    int64_t kn = c->batch_size - kp < nn ? c->batch_size - kp : nn;
    subsample(pos, np, kp, r);
    subsample(neg, nn, kn, r);
    for (int64_t i = 0; i < kp; i++) {
        label[pos[i]] = 1.0f;
        encode(anchors + 4 * pos[i], box, deltas + 4 * pos[i]);
    }
    for (int64_t i = 0; i < kn; i++)
        label[neg[i]] = 0.0f;
    free(iou), free(pos), free(neg);
    return (int)(kp + kn);
}

void rpn_decode(const float *a, const float *d, int h, int w, float *box)
{
    const double clamp = log(1000.0 / 16.0);
    double aw = (double)a[2] - a[0], ah = (double)a[3] - a[1];
    double cx = a[0] + 0.5 * aw + d[0] * aw, cy = a[1] + 0.5 * ah + d[1] * ah;
    double bw = aw * exp(fmin(d[2], clamp)), bh = ah * exp(fmin(d[3], clamp));
    box[0] = (float)fmin(fmax(cx - 0.5 * bw, 0), w);
    box[1] = (float)fmin(fmax(cy - 0.5 * bh, 0), h);
    box[2] = (float)fmin(fmax(cx + 0.5 * bw, 0), w);
    box[3] = (float)fmin(fmax(cy + 0.5 * bh, 0), h);
}
