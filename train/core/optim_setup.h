/*
 * optim_setup.h - the optimizer a config asks for, as `pictor train` builds it.
 *
 * optim.type (sgd | adam | adamw) with optim.lr, momentum, nesterov, betas, eps and
 * weight_decay, over the store's parameters in two groups: the parameters with weight decay, and
 * the biases and normalisation parameters (every parameter of at most one dimension) without it,
 * unless optim.decay_bias_and_norm puts them all in the first group. Both groups start at
 * optim.lr; the trainer multiplies the group lrs by the schedule's factor each step. An empty
 * group is not added. A store without parameters is an error.
 */
#ifndef PICTOR_CORE_OPTIM_SETUP_H
#define PICTOR_CORE_OPTIM_SETUP_H

#include <stddef.h>

#include "config/settings.h"
#include "nn/nn.h"
#include "pt.h"

/* NULL with "optimizer: ..." in err on failure. */
pt_optim *optim_from_settings(const settings *c, nn_store *store, char *err, size_t errlen);

#endif
