/*
 * fpn.c - the feature pyramid network (see fpn.h): lateral and output convs, the P6/P7 extra
 * block, torchvision's initialisation, and the top-down forward pass with its shape checks.
 */
#include "models/backbones/fpn.h"

#include <string.h>

fpn_config fpn_defaults(const int64_t *in_channels, int n)
{
    fpn_config c = {.n_inputs = n, .out_channels = 256, .extra_p6p7 = 1};
    for (int i = 0; in_channels && i < n && i < FPN_MAX_INPUTS; i++)
        c.in_channels[i] = in_channels[i];
    return c;
}

/* A conv with bias, torchvision's FPN init (kaiming_uniform_(a=1), bias 0), "same" padding. */
static nn_module *conv_new(nn_store *s, const char *name, int64_t in, int64_t out,
                           int64_t kernel, int64_t stride)
{
    return nn_conv2d_new(s, name, (nn_conv_opts){.in = in, .out = out, .k = kernel,
                                                 .stride = stride, .pad = (kernel - 1) / 2,
                                                 .init = {NN_INIT_KAIMING_UNIFORM_A1}});
}

static pt_status check_config(const fpn_config *c)
{
    if (c->n_inputs < 1 || c->n_inputs > FPN_MAX_INPUTS) {
        pt_error_set("fpn: n_inputs must be in 1..%d (got %d)", FPN_MAX_INPUTS, c->n_inputs);
        return PT_ERR;
    }
    for (int i = 0; i < c->n_inputs; i++)
        if (c->in_channels[i] <= 0) {
            pt_error_set("fpn: in_channels[%d] must be > 0 (got %lld)", i,
                         (long long)c->in_channels[i]);
            return PT_ERR;
        }
    if (c->out_channels <= 0) {
        pt_error_set("fpn: out_channels must be > 0 (got %lld)", (long long)c->out_channels);
        return PT_ERR;
    }
    if (c->extra_p6p7 != 0 && c->extra_p6p7 != 1) {
        pt_error_set("fpn: extra_p6p7 must be 0 or 1 (got %d)", c->extra_p6p7);
        return PT_ERR;
    }
    return PT_OK;
}

pt_status fpn_init(fpn *f, nn_store *s, const char *prefix, fpn_config cfg)
{
    memset(f, 0, sizeof *f);
    if (check_config(&cfg) != PT_OK)
        return PT_ERR;
    if (!s) {
        pt_error_set("fpn: a parameter store is required");
        return PT_ERR;
    }
    char pre[NN_NAME_MAX], path[NN_NAME_MAX];
    nn_prefix(pre, prefix);
    f->cfg = cfg;
    int64_t out = cfg.out_channels;
    int ok = 1;
    /* torchvision's order: every inner block, then every layer block, then the extra block */
    for (int i = 0; ok && i < cfg.n_inputs; i++)
        ok = (f->inner_blocks[i] = conv_new(s, nn_path(path, "%sinner_blocks.%d.0", pre, i),
                                            cfg.in_channels[i], out, 1, 1)) != NULL;
    for (int i = 0; ok && i < cfg.n_inputs; i++)
        ok = (f->layer_blocks[i] = conv_new(s, nn_path(path, "%slayer_blocks.%d.0", pre, i), out,
                                            out, 3, 1)) != NULL;
    if (ok && cfg.extra_p6p7)
        ok = (f->p6 = conv_new(s, nn_path(path, "%sextra_blocks.p6", pre), out, out, 3, 2)) &&
             (f->p7 = conv_new(s, nn_path(path, "%sextra_blocks.p7", pre), out, out, 3, 2));
    if (!ok) {
        fpn_free(f);
        return PT_ERR;
    }
    f->n_outputs = cfg.n_inputs + (cfg.extra_p6p7 ? 2 : 0);
    return PT_OK;
}

void fpn_free(fpn *f)
{
    if (!f)
        return;
    for (int i = 0; i < FPN_MAX_INPUTS; i++) {
        nn_module_free(f->inner_blocks[i]);
        nn_module_free(f->layer_blocks[i]);
    }
    nn_module_free(f->p6);
    nn_module_free(f->p7);
    memset(f, 0, sizeof *f);
}

pt_status fpn_forward(fpn *f, pt_tensor *const *inputs, int n, pt_tensor **outputs)
{
    if (!f || !f->inner_blocks[0] || !outputs || !inputs) {
        pt_error_set("fpn_forward: an initialised FPN, inputs and an output array are required");
        return PT_ERR;
    }
    for (int i = 0; i < f->n_outputs; i++)
        outputs[i] = NULL;
    if (nn_check_levels("fpn_forward", "the FPN", inputs, n, f->cfg.n_inputs,
                        f->cfg.in_channels) != PT_OK)
        return PT_ERR;
    size_t mark = pt_scope_begin();
    pt_tensor *p[FPN_MAX_OUTPUTS] = {0};
    pt_tensor *inner = nn_forward(f->inner_blocks[n - 1], inputs[n - 1]);
    p[n - 1] = nn_forward(f->layer_blocks[n - 1], inner);
    for (int i = n - 2; i >= 0; i--) {
        pt_tensor *lateral = nn_forward(f->inner_blocks[i], inputs[i]);
        pt_tensor *top_down = inner ? pt_interpolate(inner, pt_size(inputs[i], 2),
                                                     pt_size(inputs[i], 3), PT_INTERP_NEAREST, 0)
                                    : NULL;
        inner = pt_add(lateral, top_down);
        p[i] = nn_forward(f->layer_blocks[i], inner);
    }
    if (f->p6) {
        p[n] = nn_forward(f->p6, p[n - 1]);
        p[n + 1] = nn_forward(f->p7, p[n] ? pt_relu(p[n]) : NULL);
    }
    int ok = 1;
    for (int i = 0; i < f->n_outputs; i++)
        ok = ok && p[i];
    if (!ok) {
        pt_scope_end(mark);
        if (!pt_error_pending())
            pt_error_set("fpn_forward: forward pass failed");
        return PT_ERR;
    }
    /* hand the outputs to the caller's scope (if any), as an op's result would be */
    pt_scope_return_n(mark, p, f->n_outputs);
    for (int i = 0; i < f->n_outputs; i++)
        outputs[i] = p[i];
    return PT_OK;
}
