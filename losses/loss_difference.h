/*
 * loss_difference.h - the adversarial objective of seed 002 (claims 4-6): with L1 the task loss
 * (class or saliency) and L2 the image-type loss,
 *
 *     image-type head:           minimise  L2                (its gradient is dL2 only)
 *     backbone and task head:    minimise  L1 - lambda * L2  (they learn to confuse the type head)
 *
 * and the schedule of lambda over training progress p in [0, 1]: constant, or the DANN ramp
 *
 *     lambda(p) = lambda * (2 / (1 + exp(-10 p)) - 1)
 */
#ifndef PICTOR_LOSS_DIFFERENCE_H
#define PICTOR_LOSS_DIFFERENCE_H

#include "pt.h"

typedef enum { LAMBDA_CONSTANT = 0, LAMBDA_DANN } lambda_schedule;

double loss_difference_lambda(double lambda, lambda_schedule schedule, double progress);

/* L1 - lambda * L2 as a new scalar tensor (NULL on error). */
pt_tensor *loss_difference(const pt_tensor *l1, const pt_tensor *l2, double lambda);

/* The update of claims 4-6 for one batch: accumulates into .grad of type_params the gradient of
 * scale * L2, and into .grad of main_params the gradient of scale * (L1 - lambda * L2). The graph
 * is released afterwards. Parameters a loss does not reach get no gradient. */
pt_status loss_difference_backward(const pt_tensor *l1, const pt_tensor *l2, double lambda,
                                   double scale, pt_tensor *const *main_params, int n_main,
                                   pt_tensor *const *type_params, int n_type);

#endif
