/*
 * laplace_nll.h - the negative log-likelihood of a Laplacian depth error, the loss of the
 * `portrait` model's depth network and its confidence head (as mono-uncertainty's "log" models:
 * Poggi et al., "On the uncertainty of self-supervised monocular depth estimation", CVPR 2020).
 * Per pixel, d the predicted depth, t the target, u the unconstrained output of the uncertainty
 * head:
 *
 *     s     = U tanh(u / U)                 log sigma, bounded softly to (-U, U)
 *     l     = |d - t| exp(-s) + s           = |d - t| / sigma + log sigma (+ log 2, dropped)
 *     L     = sum(v l) / max(sum(v), 1)     v: 1 where the target is valid (0 at sensor holes)
 *
 * Numerically safe by construction: sigma = exp(s) is never 0 and never overflows (|s| < U;
 * U = 10 gives sigma in (4.5e-5, 2.2e4)), the bound is smooth (tanh) so no pixel loses its
 * gradient as a hard clamp would; there is no log of a network output, so no NaN from log(0).
 * The loss is negative whenever sigma < 1 fits the errors well: that is expected (a density can
 * exceed 1), not a bug. Targets must be finite everywhere (put 0 where v = 0: 0 * NaN is NaN).
 * Errors: NULL with pt_error() (shapes that differ).
 */
#ifndef PICTOR_LOSS_LAPLACE_NLL_H
#define PICTOR_LOSS_LAPLACE_NLL_H

#include "pt.h"

#define LAPLACE_NLL_DEFAULT_BOUND 10.0

/* depth, target, log_sigma_raw (u), valid: float tensors of one shape; valid may be NULL (all
 * valid). bound: U > 0. A scalar. */
pt_tensor *loss_laplace_nll(const pt_tensor *depth, const pt_tensor *target,
                            const pt_tensor *log_sigma_raw, const pt_tensor *valid, double bound);

/* sigma = exp(U tanh(u / U)) of the raw head output (the confidence map's scale). */
pt_tensor *laplace_sigma(const pt_tensor *log_sigma_raw, double bound);

#endif
