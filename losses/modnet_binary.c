/*
 * modnet_binary.c - see modnet_binary.h.
 */
#include "modnet_binary.h"

#include <math.h>
#include <stddef.h>

pt_tensor *modnet_band(const pt_tensor *mask, int band_radius)
{
    if (band_radius < 1) {
        pt_error_set("modnet_band: band radius must be >= 1 (got %d)", band_radius);
        return NULL;
    }
    int64_t k[2] = {2 * band_radius + 1, 2 * band_radius + 1}, s[2] = {1, 1},
            p[2] = {band_radius, band_radius}, d[2] = {1, 1};
    size_t mark = pt_scope_begin();
    pt_tensor *dil = pt_max_pool2d(mask, k, s, p, d, 0);
    pt_tensor *ero = pt_rsub_s(pt_max_pool2d(pt_rsub_s(mask, 1.0), k, s, p, d, 0), 1.0);
    return pt_scope_return(mark, pt_sub(dil, ero));
}

/* The 3x3 Gaussian of sigma 0.8, normalised, as a [1, 1, 3, 3] weight. */
static pt_tensor *gauss3(void)
{
    float w[9], sum = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            sum += w[i * 3 + j] = (float)exp(-((i - 1) * (i - 1) + (j - 1) * (j - 1)) / (2 * 0.64));
    for (int i = 0; i < 9; i++)
        w[i] /= sum;
    int64_t shape[4] = {1, 1, 3, 3};
    return pt_from_data(w, shape, 4, PT_F32);
}

/* mean over kept images of the per-image mean of x [B, ...] (weights wb [B] or NULL). */
static pt_tensor *image_mean(const pt_tensor *x, const pt_tensor *wb)
{
    int64_t dims[3] = {1, 2, 3};
    pt_tensor *per = pt_mean_dims(x, dims, 3, 0);
    if (!wb)
        return pt_mean(per);
    double n = pt_item_or_nan(pt_sum(wb));
    return pt_div_s(pt_sum(pt_mul(per, wb)), n > 1 ? n : 1);
}

pt_status loss_modnet_binary(const pt_tensor *semantic_logits, const pt_tensor *detail_logits,
                             const pt_tensor *fusion_logits, const pt_tensor *mask,
                             const pt_tensor *image, const pt_tensor *image_weight,
                             int band_radius, modnet_losses *out)
{
    out->semantic = out->detail = out->fusion = NULL;
    if (!semantic_logits || !detail_logits || !fusion_logits || !mask || !image)
        return pt_error_pending() ? PT_ERR : (pt_error_set("loss_modnet_binary: NULL input"), PT_ERR);
    if (pt_ndim(mask) != 4 || pt_size(mask, 1) != 1 || pt_ndim(semantic_logits) != 4 ||
        pt_ndim(detail_logits) != 4 || pt_ndim(fusion_logits) != 4 || pt_ndim(image) != 4) {
        pt_error_set("loss_modnet_binary: inputs must be [B, C, H, W] with a 1-channel mask");
        return PT_ERR;
    }
    const int64_t B = pt_size(mask, 0), H = pt_size(mask, 2), W = pt_size(mask, 3);
    for (int k = 2; k < 4; k++)
        if (pt_size(detail_logits, k) != pt_size(mask, k) ||
            pt_size(fusion_logits, k) != pt_size(mask, k) || pt_size(image, k) != pt_size(mask, k)) {
            pt_error_set("loss_modnet_binary: detail and fusion logits and the image must have the "
                         "mask's size %lldx%lld", (long long)H, (long long)W);
            return PT_ERR;
        }
    if (pt_size(semantic_logits, 0) != B || pt_size(detail_logits, 0) != B ||
        pt_size(fusion_logits, 0) != B || pt_size(image, 0) != B) {
        pt_error_set("loss_modnet_binary: batch sizes differ");
        return PT_ERR;
    }
    size_t mark = pt_scope_begin();
    const pt_tensor *wb = image_weight;
    /* semantic */
    int64_t h = pt_size(semantic_logits, 2), w = pt_size(semantic_logits, 3);
    int64_t one[2] = {1, 1}, zero[2] = {0, 0};
    pt_tensor *g = pt_conv2d(pt_interpolate(mask, h, w, PT_INTERP_BILINEAR, 0), gauss3(), NULL,
                             one, one, one, 1);
    (void)zero;
    pt_tensor *sem = image_mean(pt_square(pt_sub(pt_sigmoid(semantic_logits), g)), wb);
    /* detail */
    pt_no_grad_begin();
    pt_tensor *band = modnet_band(mask, band_radius);
    pt_no_grad_end();
    pt_tensor *bw = band;
    if (wb)
        bw = pt_mul(band, pt_reshape(wb, (int64_t[]){B, 1, 1, 1}, 4));
    double nb = pt_item_or_nan(pt_sum(bw));
    pt_tensor *det = pt_div_s(pt_sum(pt_mul(pt_abs(pt_sub(pt_sigmoid(detail_logits), mask)), bw)),
                              nb > 1 ? nb : 1);
    /* fusion */
    pt_tensor *a = pt_sigmoid(fusion_logits);
    pt_tensor *fus = pt_add(image_mean(pt_abs(pt_sub(a, mask)), wb),
                            image_mean(pt_abs(pt_sub(pt_mul(image, a), pt_mul(image, mask))), wb));
    pt_tensor *r[3] = {sem, det, fus};
    if (!sem || !det || !fus) {
        pt_scope_end(mark);
        if (!pt_error_pending())
            pt_error_set("loss_modnet_binary: a loss term failed");
        return PT_ERR;
    }
    pt_scope_return_n(mark, r, 3);
    out->semantic = r[0], out->detail = r[1], out->fusion = r[2];
    return PT_OK;
}
