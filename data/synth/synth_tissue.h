/*
 * synth_tissue.h - the synthetic "stained tissue" set of the gcn model (seed 003's medical use:
 * a pathologist says which fraction of a slide is stained): irregular stained regions on a
 * textured background, 5-60% coverage, with the exact mask and the area ratio.
 *
 * THE IMAGE (size x size RGB, deterministic in (seed, index, size)):
 *   a field F = the sum of 3-8 Gaussian bumps (centres uniform, scales 6-25% of the size, signed
 *   weights) plus smooth noise (bilinear upsampling of an 8x8 random grid); a coverage c is drawn
 *   uniform in [0.05, 0.60] and the mask is F above its (1 - c) quantile, so the regions are
 *   irregular, sometimes several, often cut by the border, and cover c of the image (up to ties).
 *   Background: pale pink (eosin-like) with fibre stripes of random direction and per-pixel grain;
 *   stained pixels: brown (DAB-like) whose darkness grows with F above the threshold (faint at
 *   the edges); dark "nuclei" dots scattered over both. The mask is exactly what was stained.
 * AREA LABELS: area_ratio = the mask's exact fraction, plus Gaussian noise of standard deviation
 *   noise_sd (clamped to [0, 1]); area_error = error (the band the labeller states).
 * THE DATA SET: raw images [N, size, size, 3], raw masks (kept for evaluation), area_ratio and
 *   area_error, /group = index.
 */
#ifndef PICTOR_DATA_SYNTH_TISSUE_H
#define PICTOR_DATA_SYNTH_TISSUE_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/sample.h"

/* Render item index into s (sample_init'ed by the caller): image, mask, exact area_ratio,
 * area_error 0. size in [16, 4096]. Returns 0 or -1 with a message. */
int synth_tissue_sample(uint64_t seed, int64_t index, int size, sample *s, char *err,
                        size_t errlen);

/* Write n items to path (atomically, data/store.h) with noisy ratios as above. */
int synth_tissue_write(const char *path, int64_t n, int size, uint64_t seed, double noise_sd,
                       double error, char *err, size_t errlen);

#endif
