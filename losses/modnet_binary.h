/*
 * modnet_binary.h - MODNet's three losses (Ke et al., "MODNet: real-time trimap-free portrait
 * matting via objective decomposition", AAAI 2022) adapted to binary person masks, the
 * `portrait` model's segmentation loss. m is the mask (0/1, [B, 1, H, W]), I the network's
 * input image ([B, 3, H, W], as normalised), w an optional per-image weight [B] (0 drops an
 * image, e.g. one without a mask; NULL = all 1); every mean below is over the kept images.
 *
 *   semantic  s = sigmoid(semantic logits) at the branch's low resolution h x w;
 *             g = G(bilinear(m -> h x w)), G the 3x3 Gaussian blur of sigma 0.8 (zero padding,
 *             MODNet's blurer); L_s = mean((s - g)^2).
 *   detail    band = dilate(m) - erode(m), both max-pools of side 2r + 1 (r = band_radius
 *             pixels; erode(m) = 1 - dilate(1 - m)); p = sigmoid(detail logits) at H x W;
 *             L_d = sum(band |p - m|) / max(sum(band), 1).
 *   fusion    a = sigmoid(fusion logits) = S_in at H x W;
 *             L_f = mean|a - m| + mean|I a - I m|   (L1 + the compositional term, the image
 *             standing in for MODNet's foreground/background recomposition: with a binary
 *             ground truth both terms vanish together).
 * The caller weights them (MODNet: 10, 10, 1). Errors: PT_ERR with pt_error() (shapes).
 */
#ifndef PICTOR_LOSS_MODNET_BINARY_H
#define PICTOR_LOSS_MODNET_BINARY_H

#include "pt.h"

typedef struct {
    pt_tensor *semantic, *detail, *fusion; /* scalars in the caller's scope */
} modnet_losses;

pt_status loss_modnet_binary(const pt_tensor *semantic_logits, const pt_tensor *detail_logits,
                             const pt_tensor *fusion_logits, const pt_tensor *mask,
                             const pt_tensor *image, const pt_tensor *image_weight,
                             int band_radius, modnet_losses *out);

/* The transition band dilate(m) - erode(m) of a [B, 1, H, W] 0/1 mask (no gradient needed). */
pt_tensor *modnet_band(const pt_tensor *mask, int band_radius);

#endif
