/*
 * optim_setup.c - the optimizer of a config (see optim_setup.h).
 */
#include "core/optim_setup.h"

#include <stdio.h>
#include <stdlib.h>

pt_optim *optim_from_settings(const settings *c, nn_store *store, char *err, size_t errlen)
{
    static const pt_optim_kind kinds[] = {PT_OPTIM_SGD, PT_OPTIM_ADAM, PT_OPTIM_ADAMW};
    pt_optim_options oo = pt_optim_defaults(kinds[c->optim.type]);
    oo.lr = c->optim.lr;
    oo.weight_decay = c->optim.weight_decay;
    oo.momentum = c->optim.momentum;
    oo.nesterov = c->optim.nesterov;
    if (c->optim.betas.n == 2)
        oo.beta1 = c->optim.betas.v[0], oo.beta2 = c->optim.betas.v[1];
    oo.eps = c->optim.eps;
    int np;
    pt_tensor *const *params = nn_store_params(store, &np);
    pt_tensor **decay = calloc((size_t)np + 1, sizeof *decay);
    pt_tensor **no_decay = calloc((size_t)np + 1, sizeof *no_decay);
    pt_optim *o = pt_optim_new(&oo);
    int nd = 0, nn = 0;
    for (int i = 0; decay && no_decay && i < np; i++) {
        if (!c->optim.decay_bias_and_norm && pt_ndim(params[i]) <= 1)
            no_decay[nn++] = params[i];
        else
            decay[nd++] = params[i];
    }
    if (!o || !decay || !no_decay || np == 0 ||
        (nd && pt_optim_add_group(o, decay, nd, oo.lr, oo.weight_decay) < 0) ||
        (nn && pt_optim_add_group(o, no_decay, nn, oo.lr, 0.0) < 0)) {
        snprintf(err, errlen, "optimizer: %s", np == 0 ? "the model has no parameters" : pt_error());
        pt_optim_free(o);
        o = NULL;
    }
    free(decay);
    free(no_decay);
    return o;
}
