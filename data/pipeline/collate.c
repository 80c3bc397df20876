/* collate.c - see collate.h: samples -> normalised float32 images, int64 labels and domains, and
 * optional masks, as shim tensors filled directly in C. */
#include "pipeline/collate.h"
#include "base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

float collate_normalise(const collate_config *cfg, uint8_t v, int ch)
{
    switch (cfg->norm) {
    case NORM_UNIT: return v / 255.0f;
    case NORM_SYMMETRIC: return (v - 127.5f) / 127.5f;
    case NORM_MEAN_STD: {
        int k = ch < 3 ? ch : 0;
        return (v / 255.0f - cfg->mean[k]) / cfg->std[k];
    }
    case NORM_NONE: return (float)v;
    }
    return (float)v;
}

/* Every sample must match the first one's size, have an image, and a mask when masks are asked. */
static int check_batch(const collate_config *cfg, const sample *s, int n, char *err, size_t errlen)
{
    if (n < 1) {
        err_fail(err, errlen, "collate: empty batch");
        return -1;
    }
    if (cfg->norm == NORM_MEAN_STD) {
        for (int k = 0; k < 3; k++) {
            if (!(cfg->std[k] != 0)) {
                err_fail(err, errlen, "collate: normalisation std[%d] must be non-zero", k);
                return -1;
            }
        }
    }
    for (int i = 0; i < n; i++) {
        if (!s[i].image || s[i].h < 1 || s[i].w < 1 || s[i].c < 1) {
            err_fail(err, errlen, "collate: sample %d (index %lld) has no image", i,
                     (long long)s[i].index);
            return -1;
        }
        if (s[i].h != s[0].h || s[i].w != s[0].w || s[i].c != s[0].c) {
            err_fail(err, errlen, "collate: sample %d (index %lld) is %dx%dx%d but sample 0 "
                     "(index %lld) is %dx%dx%d; every image of a batch must have the same size "
                     "(add a resize or crop augmentation)", i, (long long)s[i].index, s[i].h,
                     s[i].w, s[i].c, (long long)s[0].index, s[0].h, s[0].w, s[0].c);
            return -1;
        }
        if (cfg->mask != COLLATE_MASK_NONE && !s[i].mask) {
            err_fail(err, errlen, "collate: sample %d (index %lld) has no mask, and masks were "
                     "asked for", i, (long long)s[i].index);
            return -1;
        }
    }
    return 0;
}

/* The normalised value of every u8 level, per channel (grey images use channel 0). */
typedef struct {
    float v[3][256];
} norm_table;

static void norm_table_init(const collate_config *cfg, norm_table *t)
{
    for (int ch = 0; ch < 3; ch++)
        for (int v = 0; v < 256; v++)
            t->v[ch][v] = collate_normalise(cfg, (uint8_t)v, ch);
}

/* HWC u8 -> CHW float, normalised, into dst. */
static void fill_image(const norm_table *t, const sample *s, float *dst)
{
    size_t hw = (size_t)s->h * (size_t)s->w;
    for (int ch = 0; ch < s->c; ch++) {
        const float *lut = t->v[ch < 3 ? ch : 0];
        float *plane = dst + (size_t)ch * hw;
        const uint8_t *src = s->image + ch;
        for (size_t p = 0; p < hw; p++)
            plane[p] = lut[src[p * (size_t)s->c]];
    }
}

static pt_tensor *make_images(const collate_config *cfg, const sample *s, int n)
{
    int64_t shape[4] = {n, s[0].c, s[0].h, s[0].w};
    pt_tensor *t = pt_empty(shape, 4, PT_F32);
    float *d = t ? pt_data_ptr(t) : NULL;
    if (!d) {
        pt_free(t);
        return NULL;
    }
    norm_table lut;
    norm_table_init(cfg, &lut);
    size_t per = (size_t)s[0].c * (size_t)s[0].h * (size_t)s[0].w;
    for (int i = 0; i < n; i++)
        fill_image(&lut, &s[i], d + (size_t)i * per);
    return t;
}

/* int64 [B] of the labels (which = 0) or the domains (which = 1). */
static pt_tensor *make_ids(const sample *s, int n, int which)
{
    int64_t shape[1] = {n};
    pt_tensor *t = pt_empty(shape, 1, PT_I64);
    int64_t *d = t ? pt_data_ptr(t) : NULL;
    if (!d) {
        pt_free(t);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        d[i] = which ? s[i].domain : s[i].label;
    return t;
}

static pt_tensor *make_masks(const collate_config *cfg, const sample *s, int n)
{
    int64_t shape[4] = {n, 1, s[0].h, s[0].w};
    int as_float = cfg->mask == COLLATE_MASK_FLOAT;
    pt_tensor *t = pt_empty(shape, 4, as_float ? PT_F32 : PT_I64);
    void *d = t ? pt_data_ptr(t) : NULL;
    if (!d) {
        pt_free(t);
        return NULL;
    }
    size_t hw = (size_t)s[0].h * (size_t)s[0].w;
    for (int i = 0; i < n; i++) {
        for (size_t p = 0; p < hw; p++) {
            if (as_float)
                ((float *)d)[(size_t)i * hw + p] = s[i].mask[p];
            else
                ((int64_t *)d)[(size_t)i * hw + p] = s[i].mask[p];
        }
    }
    return t;
}

int collate_samples(const collate_config *cfg, const sample *s, int n, collated_batch *out,
                    char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (check_batch(cfg, s, n, err, errlen))
        return -1;
    out->n = n;
    out->images = make_images(cfg, s, n);
    out->labels = make_ids(s, n, 0);
    out->domains = make_ids(s, n, 1);
    if (cfg->mask != COLLATE_MASK_NONE)
        out->masks = make_masks(cfg, s, n);
    if (!out->images || !out->labels || !out->domains ||
        (cfg->mask != COLLATE_MASK_NONE && !out->masks)) {
        err_fail(err, errlen, "collate: cannot create the batch tensors (%d x %dx%dx%d): %s", n,
                 s[0].c, s[0].h, s[0].w, pt_error());
        collated_batch_free(out);
        return -1;
    }
    if (cfg->targets && cfg->targets(cfg->targets_ctx, s, n, out, err, errlen) != 0) {
        collated_batch_free(out);
        return -1;
    }
    return 0;
}

void collated_batch_free(collated_batch *b)
{
    if (!b)
        return;
    pt_free(b->images);
    pt_free(b->labels);
    pt_free(b->domains);
    pt_free(b->masks);
    for (int i = 0; i < b->n_targets && i < COLLATE_MAX_TARGETS; i++)
        pt_free(b->targets[i]);
    if (b->payload && b->payload_free)
        b->payload_free(b->payload);
    memset(b, 0, sizeof *b);
}

void *collate_for_loader(void *ctx, const sample *samples, int n, char *err, size_t errlen)
{
    collated_batch *b = malloc(sizeof *b);
    if (!b) {
        err_fail(err, errlen, "collate: out of memory");
        return NULL;
    }
    if (collate_samples(ctx, samples, n, b, err, errlen)) {
        free(b);
        return NULL;
    }
    return b;
}

void collate_free_for_loader(void *ctx, void *batch)
{
    (void)ctx;
    collated_batch_free(batch);
    free(batch);
}
