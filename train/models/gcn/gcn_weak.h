/*
 * gcn_weak.h - vertex pseudo-labels from an area ratio (seed 003, claims 1-2): "the target covers
 * r of the image, give or take e" plus the model's own ranking of the vertices gives, for each
 * training step, which vertices to train as foreground, which as background and which to leave
 * out of the loss.
 *
 * RULE (vertices are ranked by score, highest first; equal scores by lower index first):
 *   by vertices (claim 2): N1 = floor(N (r - e)) top-ranked vertices are foreground and
 *     N2 = floor(N (1 - r - e)) bottom-ranked are background (each clamped at 0);
 *   by area: going down the ranking, vertices are foreground while their summed pixel area stays
 *     <= (r - e) A (A = the image's pixels, the sum of the areas); going up from the bottom,
 *     background while their area stays <= (1 - r - e) A. Superpixels differ in size and r is an
 *     area ratio: this counts what r measures.
 *   The rest is left out (-1). The two sets never overlap: their sizes (or areas) add up to at
 *   most N (1 - 2 e) (or A (1 - 2 e)).
 * INPUTS and their documented behaviour: r must be in [0, 1] and e >= 0 (an error otherwise: the
 *   label is wrong); e NaN means no error band (0); r NaN is an error ("no area ratio"). e > r is
 *   allowed (a small target estimated loosely): r - e < 0 labels no vertex foreground, only
 *   background. A one-vertex graph labels nothing unless r - e = 1 or 1 - r - e = 1 (r = 0, e = 0):
 *   the image then leaves the loss (the caller documents that).
 */
#ifndef PICTOR_GCN_WEAK_H
#define PICTOR_GCN_WEAK_H

#include <stddef.h>
#include <stdint.h>

typedef enum { GCN_RATIO_BY_VERTICES = 0, GCN_RATIO_BY_AREA = 1 } gcn_ratio_by;

/* Checks r and e as above: 0, or -1 with a message ("area ratio 1.2 outside [0, 1]"). */
int gcn_weak_check(double r, double e, char *err, size_t errlen);

/* out[v] = 1 foreground, 0 background, -1 left out, for the n >= 1 vertices with scores score[v]
 * (finite) and pixel areas area[v] >= 1 (used by GCN_RATIO_BY_AREA only; may be NULL otherwise).
 * *n_fg and *n_bg (may be NULL) receive the counts. Returns 0, or -1 with a message. */
int gcn_weak_labels(const float *score, const int64_t *area, int n, double r, double e,
                    gcn_ratio_by by, int8_t *out, int *n_fg, int *n_bg, char *err, size_t errlen);

#endif
