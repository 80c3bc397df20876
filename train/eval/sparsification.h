/*
 * sparsification.h - how well a per-pixel uncertainty ranks a prediction's errors: the
 * sparsification curve and its areas AUSE and AURG (Ilg et al. 2018; as mono-uncertainty
 * evaluates depth confidence). Plain C, no tensors; shared by any dense regression model.
 *
 * For one image with n valid pixels, prediction p, ground truth g, uncertainty u (larger = less
 * sure) and an error metric E over a set of pixels (RMSE = sqrt(mean (p - g)^2), or ABS_REL =
 * mean |p - g| / g):
 *   for t = 0 .. steps - 1 (fraction f_t = t / steps removed; mono-uncertainty: 50 steps of 2%):
 *     remove the k_t = floor(n t / steps) pixels of largest u (ties: the later pixel index goes
 *     first, a stable order), curve[t] = E over the n - k_t kept;
 *   oracle[t]  the same removing the pixels of largest |p - g| (the best possible ranking);
 *   random[t]  = E over all pixels (the expected curve of a random ranking).
 *   AUSE = trapz(curve - oracle, f), AURG = trapz(random - curve, f), both over f_0 .. f_{steps-1}
 *   (trapezoids of width 1 / steps). AUSE >= 0 (0: the uncertainty ranks errors perfectly);
 *   AURG > 0 when the uncertainty beats a random order. ause_random = trapz(random - oracle) is
 *   the AUSE of a random order, the scale to read AUSE against.
 * ABS_REL needs g > 0 at every valid pixel: pixels with g <= 0 are not counted (nor valid).
 * An image with fewer than steps valid pixels is refused (-1): its curve would repeat points.
 */
#ifndef PICTOR_TRAIN_SPARSIFICATION_H
#define PICTOR_TRAIN_SPARSIFICATION_H

#include <stddef.h>
#include <stdint.h>

typedef enum { SPARSE_RMSE = 0, SPARSE_ABS_REL = 1 } sparse_metric;

typedef struct {
    double ause, aurg, ause_random;
    double full;            /* E over every valid pixel */
    int64_t pixels;         /* valid pixels used */
} sparse_result;

/* valid (n, may be NULL: all) non-zero = counted. curve / oracle (steps doubles each) may be
 * NULL. Returns 0, or -1 with a message in err (too few pixels, steps < 2, out of memory). */
int sparsification(const float *pred, const float *gt, const float *uncert, const uint8_t *valid,
                   size_t n, sparse_metric metric, int steps, sparse_result *out, double *curve,
                   double *oracle, char *err, size_t errlen);

#endif
