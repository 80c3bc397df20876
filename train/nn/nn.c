/*
 * nn.c - the parameter store (names, ownership, freezing, train/eval mode, state_dict
 * import/export) and the basic layers (conv2d, batchnorm2d with optional frozen statistics,
 * groupnorm, linear, activations, pooling, flatten, dropout, sequential) with PyTorch's default
 * initialisation.
 */
#include "nn/nn.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name;
    pt_tensor *t;
    int is_param;  /* a trainable parameter (0 for buffers and frozen parameters) */
    int is_frozen; /* a parameter frozen by nn_store_freeze */
} nn_entry;

struct nn_store {
    nn_entry *e;
    int n, cap;
    pt_tensor **params; /* cached trainable list, rebuilt when dirty */
    int n_params, params_dirty;
    int training;
    double bn_momentum; /* > 0: used by every BatchNorm instead of its own momentum */
    pt_generator *gen;
};

nn_store *nn_store_new(uint64_t seed)
{
    nn_store *s = calloc(1, sizeof *s);
    if (!s) {
        pt_error_set("nn_store_new: out of memory");
        return NULL;
    }
    s->gen = pt_generator_new(seed);
    if (!s->gen) {
        free(s);
        return NULL;
    }
    s->training = 1;
    s->params_dirty = 1;
    return s;
}

void nn_store_free(nn_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++) {
        free(s->e[i].name);
        pt_free(s->e[i].t);
    }
    free(s->e);
    free(s->params);
    pt_generator_free(s->gen);
    free(s);
}

pt_generator *nn_store_generator(nn_store *s) { return s ? s->gen : NULL; }

static pt_tensor *store_add(nn_store *s, const char *name, pt_tensor *t, int is_param)
{
    if (!t) { /* a failed initialiser: keep its error */
        if (!pt_error_pending())
            pt_error_set("nn_store: tensor for '%s' is NULL", name ? name : "?");
        return NULL;
    }
    pt_keep(t);
    if (!s || !name || !*name) {
        pt_error_set("nn_store: a store and a non-empty name are required");
        pt_free(t);
        return NULL;
    }
    if (nn_store_find(s, name)) {
        pt_error_set("nn_store: '%s' is registered twice", name);
        pt_free(t);
        return NULL;
    }
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        nn_entry *e = realloc(s->e, (size_t)cap * sizeof *e);
        if (!e) {
            pt_error_set("nn_store: out of memory registering '%s'", name);
            pt_free(t);
            return NULL;
        }
        s->e = e;
        s->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy || (is_param && pt_set_requires_grad(t, 1) != PT_OK)) {
        if (!copy)
            pt_error_set("nn_store: out of memory registering '%s'", name);
        free(copy);
        pt_free(t);
        return NULL;
    }
    s->e[s->n++] = (nn_entry){copy, t, is_param, 0};
    s->params_dirty = 1;
    return t;
}

pt_tensor *nn_store_param(nn_store *s, const char *name, pt_tensor *t) { return store_add(s, name, t, 1); }
pt_tensor *nn_store_buffer(nn_store *s, const char *name, pt_tensor *t) { return store_add(s, name, t, 0); }

int nn_store_size(const nn_store *s) { return s ? s->n : 0; }
const char *nn_store_name(const nn_store *s, int i) { return s && i >= 0 && i < s->n ? s->e[i].name : NULL; }
pt_tensor *nn_store_tensor(const nn_store *s, int i) { return s && i >= 0 && i < s->n ? s->e[i].t : NULL; }
int nn_store_is_param(const nn_store *s, int i) { return s && i >= 0 && i < s->n ? s->e[i].is_param : 0; }
int nn_store_is_frozen(const nn_store *s, int i) { return s && i >= 0 && i < s->n ? s->e[i].is_frozen : 0; }

int nn_store_freeze(nn_store *s, const char *prefix)
{
    if (!s || !prefix || !*prefix) {
        pt_error_set("nn_store_freeze: a store and a non-empty name prefix are required");
        return -1;
    }
    size_t len = strlen(prefix);
    int frozen = 0;
    for (int i = 0; i < s->n; i++) {
        nn_entry *e = &s->e[i];
        if (!e->is_param || strncmp(e->name, prefix, len) != 0)
            continue;
        if (pt_set_requires_grad(e->t, 0) != PT_OK || pt_zero_grad(e->t) != PT_OK)
            return -1;
        e->is_param = 0;
        e->is_frozen = 1;
        frozen++;
    }
    if (frozen)
        s->params_dirty = 1;
    return frozen;
}

pt_tensor *nn_store_find(const nn_store *s, const char *name)
{
    if (!s || !name)
        return NULL;
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->e[i].name, name) == 0)
            return s->e[i].t;
    return NULL;
}

pt_tensor *const *nn_store_params(nn_store *s, int *n)
{
    if (!s) {
        *n = 0;
        return NULL;
    }
    if (s->params_dirty) {
        pt_tensor **p = realloc(s->params, (size_t)(s->n ? s->n : 1) * sizeof *p);
        if (!p) {
            pt_error_set("nn_store_params: out of memory");
            *n = 0;
            return NULL;
        }
        s->params = p;
        s->n_params = 0;
        for (int i = 0; i < s->n; i++)
            if (s->e[i].is_param)
                s->params[s->n_params++] = s->e[i].t;
        s->params_dirty = 0;
    }
    *n = s->n_params;
    return s->params;
}

int64_t nn_store_num_scalars(const nn_store *s, int trainable_only)
{
    int64_t total = 0;
    for (int i = 0; s && i < s->n; i++)
        if (!trainable_only || s->e[i].is_param)
            total += pt_numel(s->e[i].t);
    return total;
}

void nn_store_set_bn_momentum(nn_store *s, double momentum)
{
    s->bn_momentum = momentum > 0 && momentum <= 1 ? momentum : 0;
}

void nn_store_set_training(nn_store *s, int training)
{
    if (s)
        s->training = training != 0;
}

int nn_store_training(const nn_store *s) { return s ? s->training : 0; }

static int has_prefix(const char *name, const char *const *prefixes, int n)
{
    for (int i = 0; i < n; i++)
        if (prefixes[i] && strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}

pt_dict *nn_store_state_dict(const nn_store *s, const char *const *exclude_prefixes, int n_exclude)
{
    pt_dict *d = pt_dict_new();
    if (!d)
        return NULL;
    for (int i = 0; s && i < s->n; i++) {
        if (has_prefix(s->e[i].name, exclude_prefixes, n_exclude))
            continue;
        if (pt_dict_put(d, s->e[i].name, pt_detach(s->e[i].t)) != PT_OK) {
            pt_dict_free(d);
            return NULL;
        }
    }
    return d;
}

/* ------------------------------------------------------------------ modules */

pt_tensor *nn_forward(nn_module *m, const pt_tensor *x)
{
    if (!m) {
        if (!pt_error_pending())
            pt_error_set("nn_forward: module is NULL");
        return NULL;
    }
    if (!x) {
        if (!pt_error_pending())
            pt_error_set("nn_forward(%s): input is NULL", m->kind);
        return NULL;
    }
    return m->forward(m, x);
}

void nn_module_free(nn_module *m)
{
    if (!m)
        return;
    if (m->destroy)
        m->destroy(m);
    else
        free(m);
}

char *nn_prefix(char *buf, const char *prefix)
{
    if (prefix && *prefix)
        return nn_path(buf, "%s.", prefix);
    buf[0] = '\0';
    return buf;
}

char *nn_path(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, NN_NAME_MAX, fmt, ap);
    va_end(ap);
    return buf;
}

static void *module_alloc(size_t size, const char *kind,
                          pt_tensor *(*forward)(nn_module *, const pt_tensor *))
{
    nn_module *m = calloc(1, size);
    if (!m) {
        pt_error_set("%s: out of memory", kind);
        return NULL;
    }
    m->kind = kind;
    m->forward = forward;
    return m;
}

/* ---- initialisers */

pt_status nn_init_default_uniform(pt_tensor *t, int64_t fan_in, pt_generator *g)
{
    if (fan_in <= 0) {
        pt_error_set("nn_init_default_uniform: fan_in must be positive");
        return PT_ERR;
    }
    double bound = 1.0 / sqrt((double)fan_in);
    pt_no_grad_begin();
    pt_status st = pt_uniform_(t, -bound, bound, g);
    pt_no_grad_end();
    return st;
}

pt_status nn_init_kaiming_normal_fan_out(pt_tensor *t, pt_generator *g)
{
    int64_t shape[8];
    int nd = pt_shape(t, shape, 8);
    if (nd < 2) {
        pt_error_set("nn_init_kaiming_normal_fan_out: need a weight with >= 2 dims");
        return PT_ERR;
    }
    int64_t fan_out = shape[0];
    for (int i = 2; i < nd; i++)
        fan_out *= shape[i];
    pt_no_grad_begin();
    pt_status st = pt_normal_(t, 0.0, sqrt(2.0 / (double)fan_out), g);
    pt_no_grad_end();
    return st;
}

pt_status nn_init_normal(pt_tensor *t, double mean, double std, pt_generator *g)
{
    if (!(std >= 0)) {
        pt_error_set("nn_init_normal: std must be >= 0 (got %g)", std);
        return PT_ERR;
    }
    pt_no_grad_begin();
    pt_status st = pt_normal_(t, mean, std, g);
    pt_no_grad_end();
    return st;
}

pt_status nn_init_constant(pt_tensor *t, double value)
{
    pt_no_grad_begin();
    pt_status st = pt_fill_(t, value);
    pt_no_grad_end();
    return st;
}

pt_status nn_check_levels(const char *who, const char *what, pt_tensor *const *inputs, int n,
                          int expected, const int64_t *channels)
{
    if (n != expected) {
        pt_error_set("%s: %d inputs given, %s was built for %d", who, n, what, expected);
        return PT_ERR;
    }
    for (int i = 0; i < n; i++) {
        char shape[128];
        if (!inputs[i]) {
            if (!pt_error_pending())
                pt_error_set("%s: input %d is NULL", who, i);
            return PT_ERR;
        }
        if (pt_ndim(inputs[i]) != 4 || pt_size(inputs[i], 1) != channels[i] ||
            pt_size(inputs[i], 0) != pt_size(inputs[0], 0)) {
            pt_error_set("%s: input %d is %s, expected [%lld, %lld, H, W]", who, i,
                         pt_describe(inputs[i], shape, sizeof shape),
                         (long long)pt_size(inputs[0], 0), (long long)channels[i]);
            return PT_ERR;
        }
    }
    return PT_OK;
}

/* ---- conv2d */

static pt_tensor *conv2d_forward(nn_module *m, const pt_tensor *x)
{
    nn_conv2d *c = (nn_conv2d *)m;
    return pt_conv2d(x, c->weight, c->bias, c->stride, c->padding, c->dilation, c->groups);
}

/* nn_conv_opts.init over the default draws: the weight by kind, the bias constant. */
static pt_status conv_init(nn_conv2d *c, nn_init init, int64_t fan_in, pt_generator *g)
{
    pt_status st = PT_ERR;
    switch (init.kind) {
    case NN_INIT_KAIMING_FAN_OUT: st = nn_init_kaiming_normal_fan_out(c->weight, g); break;
    case NN_INIT_NORMAL: st = nn_init_normal(c->weight, 0.0, init.std, g); break;
    case NN_INIT_KAIMING_UNIFORM_A1: {
        double bound = sqrt(3.0 / (double)fan_in);
        pt_no_grad_begin();
        st = pt_uniform_(c->weight, -bound, bound, g);
        pt_no_grad_end();
        break;
    }
    default: pt_error_set("conv2d: unknown init kind %d", (int)init.kind); return PT_ERR;
    }
    return st == PT_OK && c->bias ? nn_init_constant(c->bias, init.bias) : st;
}

nn_module *nn_conv2d_new(nn_store *s, const char *name, nn_conv_opts o)
{
    char path[NN_NAME_MAX];
    int64_t stride = o.stride ? o.stride : 1, dil = o.dilation ? o.dilation : 1;
    int64_t groups = o.groups ? o.groups : 1;
    if (o.in <= 0 || o.out <= 0 || o.k <= 0 || o.in % groups || o.out % groups || o.pad < 0) {
        pt_error_set("conv2d '%s': bad shape (in %lld, out %lld, k %lld, groups %lld, pad %lld)",
                     name, (long long)o.in, (long long)o.out, (long long)o.k, (long long)groups,
                     (long long)o.pad);
        return NULL;
    }
    nn_conv2d *c = module_alloc(sizeof *c, "conv2d", conv2d_forward);
    if (!c)
        return NULL;
    int64_t fan_in = o.in / groups * o.k * o.k;
    int64_t wshape[4] = {o.out, o.in / groups, o.k, o.k};
    c->weight = nn_store_param(s, nn_path(path, "%s.weight", name), pt_empty(wshape, 4, PT_F32));
    if (c->weight && nn_init_default_uniform(c->weight, fan_in, s->gen) != PT_OK)
        c->weight = NULL;
    if (c->weight && !o.no_bias) {
        c->bias = nn_store_param(s, nn_path(path, "%s.bias", name), pt_empty(&o.out, 1, PT_F32));
        if (!c->bias || nn_init_default_uniform(c->bias, fan_in, s->gen) != PT_OK)
            c->weight = NULL;
    }
    if (c->weight && o.init.kind != NN_INIT_DEFAULT && conv_init(c, o.init, fan_in, s->gen) != PT_OK)
        c->weight = NULL;
    if (!c->weight) {
        free(c);
        return NULL;
    }
    c->stride[0] = c->stride[1] = stride;
    c->padding[0] = c->padding[1] = o.pad;
    c->dilation[0] = c->dilation[1] = dil;
    c->groups = groups;
    return &c->base;
}

/* ---- batchnorm2d */

static pt_tensor *batchnorm2d_forward(nn_module *m, const pt_tensor *x)
{
    nn_batchnorm2d *b = (nn_batchnorm2d *)m;
    int training = b->store->training && !b->frozen_stats;
    if (training) {
        double n = 0;
        pt_item(b->num_batches_tracked, &n);
        pt_fill_(b->num_batches_tracked, n + 1);
    }
    double momentum = b->store->bn_momentum > 0 ? b->store->bn_momentum : b->momentum;
    return pt_batch_norm(x, b->weight, b->bias, b->running_mean, b->running_var, training,
                         momentum, b->eps);
}

nn_module *nn_batchnorm2d_new(nn_store *s, const char *name, int64_t c, double eps,
                              double momentum)
{
    char path[NN_NAME_MAX];
    if (c <= 0 || !(eps > 0) || !(momentum >= 0 && momentum <= 1)) {
        pt_error_set("batchnorm2d '%s': need channels > 0, eps > 0, momentum in [0, 1]", name);
        return NULL;
    }
    nn_batchnorm2d *b = module_alloc(sizeof *b, "batchnorm2d", batchnorm2d_forward);
    if (!b)
        return NULL;
    b->store = s;
    b->eps = eps;
    b->momentum = momentum;
    if (!(b->weight = nn_store_param(s, nn_path(path, "%s.weight", name), pt_ones(&c, 1, PT_F32))) ||
        !(b->bias = nn_store_param(s, nn_path(path, "%s.bias", name), pt_zeros(&c, 1, PT_F32))) ||
        !(b->running_mean = nn_store_buffer(s, nn_path(path, "%s.running_mean", name),
                                            pt_zeros(&c, 1, PT_F32))) ||
        !(b->running_var = nn_store_buffer(s, nn_path(path, "%s.running_var", name),
                                           pt_ones(&c, 1, PT_F32))) ||
        !(b->num_batches_tracked = nn_store_buffer(
              s, nn_path(path, "%s.num_batches_tracked", name), pt_scalar(0, PT_I64)))) {
        free(b);
        return NULL;
    }
    return &b->base;
}

pt_status nn_batchnorm2d_set_frozen(nn_module *m, int frozen)
{
    if (!m || m->forward != batchnorm2d_forward) {
        pt_error_set("nn_batchnorm2d_set_frozen: module is %s, expected a batchnorm2d",
                     m ? m->kind : "NULL");
        return PT_ERR;
    }
    ((nn_batchnorm2d *)m)->frozen_stats = frozen != 0;
    return PT_OK;
}

/* ---- groupnorm */

static pt_tensor *groupnorm_forward(nn_module *m, const pt_tensor *x)
{
    nn_groupnorm *g = (nn_groupnorm *)m;
    return pt_group_norm(x, g->groups, g->weight, g->bias, g->eps);
}

nn_module *nn_groupnorm_new(nn_store *s, const char *name, int64_t groups, int64_t c, double eps)
{
    char path[NN_NAME_MAX];
    if (groups <= 0 || c <= 0 || c % groups || !(eps > 0)) {
        pt_error_set("groupnorm '%s': channels %lld must be a positive multiple of groups %lld",
                     name, (long long)c, (long long)groups);
        return NULL;
    }
    nn_groupnorm *g = module_alloc(sizeof *g, "groupnorm", groupnorm_forward);
    if (!g)
        return NULL;
    g->groups = groups;
    g->eps = eps;
    if (!(g->weight = nn_store_param(s, nn_path(path, "%s.weight", name), pt_ones(&c, 1, PT_F32))) ||
        !(g->bias = nn_store_param(s, nn_path(path, "%s.bias", name), pt_zeros(&c, 1, PT_F32)))) {
        free(g);
        return NULL;
    }
    return &g->base;
}

/* ---- linear */

static pt_tensor *linear_forward(nn_module *m, const pt_tensor *x)
{
    nn_linear *l = (nn_linear *)m;
    return pt_linear(x, l->weight, l->bias);
}

nn_module *nn_linear_new(nn_store *s, const char *name, int64_t in, int64_t out, int bias)
{
    char path[NN_NAME_MAX];
    if (in <= 0 || out <= 0) {
        pt_error_set("linear '%s': need in > 0 and out > 0", name);
        return NULL;
    }
    nn_linear *l = module_alloc(sizeof *l, "linear", linear_forward);
    if (!l)
        return NULL;
    int64_t wshape[2] = {out, in};
    l->weight = nn_store_param(s, nn_path(path, "%s.weight", name), pt_empty(wshape, 2, PT_F32));
    if (l->weight && nn_init_default_uniform(l->weight, in, s->gen) != PT_OK)
        l->weight = NULL;
    if (l->weight && bias) {
        l->bias = nn_store_param(s, nn_path(path, "%s.bias", name), pt_empty(&out, 1, PT_F32));
        if (!l->bias || nn_init_default_uniform(l->bias, in, s->gen) != PT_OK)
            l->weight = NULL;
    }
    if (!l->weight) {
        free(l);
        return NULL;
    }
    return &l->base;
}

/* ---- stateless layers */

typedef struct {
    nn_module base;
    nn_activation act;
} nn_act;

static pt_tensor *act_forward(nn_module *m, const pt_tensor *x)
{
    switch (((nn_act *)m)->act) {
    case NN_IDENTITY: return pt_alias(x);
    case NN_RELU: return pt_relu(x);
    case NN_RELU6: return pt_relu6(x);
    case NN_HARDSWISH: return pt_hardswish(x);
    case NN_HARDSIGMOID: return pt_hardsigmoid(x);
    case NN_SIGMOID: return pt_sigmoid(x);
    case NN_TANH: return pt_tanh(x);
    }
    pt_error_set("activation: unknown kind %d", (int)((nn_act *)m)->act);
    return NULL;
}

nn_module *nn_act_new(nn_activation a)
{
    if ((int)a < NN_IDENTITY || a > NN_TANH) {
        pt_error_set("nn_act_new: unknown activation %d", (int)a);
        return NULL;
    }
    nn_act *m = module_alloc(sizeof *m, "activation", act_forward);
    if (m)
        m->act = a;
    return m ? &m->base : NULL;
}

typedef struct {
    nn_module base;
    int64_t kernel[2], stride[2], padding[2];
} nn_pool;

static pt_tensor *maxpool_forward(nn_module *m, const pt_tensor *x)
{
    nn_pool *p = (nn_pool *)m;
    return pt_max_pool2d(x, p->kernel, p->stride, p->padding, NULL, 0);
}

nn_module *nn_maxpool2d_new(int64_t kernel, int64_t stride, int64_t padding)
{
    if (kernel <= 0 || stride < 0 || padding < 0) {
        pt_error_set("maxpool2d: need kernel > 0, stride >= 0 (0 = kernel), padding >= 0");
        return NULL;
    }
    nn_pool *p = module_alloc(sizeof *p, "maxpool2d", maxpool_forward);
    if (!p)
        return NULL;
    p->kernel[0] = p->kernel[1] = kernel;
    p->stride[0] = p->stride[1] = stride ? stride : kernel;
    p->padding[0] = p->padding[1] = padding;
    return &p->base;
}

static pt_tensor *adaptive_avg_forward(nn_module *m, const pt_tensor *x)
{
    nn_pool *p = (nn_pool *)m;
    return pt_adaptive_avg_pool2d(x, p->kernel[0], p->kernel[1]);
}

nn_module *nn_adaptive_avgpool2d_new(int64_t out_h, int64_t out_w)
{
    if (out_h <= 0 || out_w <= 0) {
        pt_error_set("adaptive_avgpool2d: output size must be positive");
        return NULL;
    }
    nn_pool *p = module_alloc(sizeof *p, "adaptive_avgpool2d", adaptive_avg_forward);
    if (!p)
        return NULL;
    p->kernel[0] = out_h;
    p->kernel[1] = out_w;
    return &p->base;
}

typedef struct {
    nn_module base;
    int start_dim;
} nn_flatten;

static pt_tensor *flatten_forward(nn_module *m, const pt_tensor *x)
{
    return pt_flatten(x, ((nn_flatten *)m)->start_dim, -1);
}

nn_module *nn_flatten_new(int start_dim)
{
    nn_flatten *f = module_alloc(sizeof *f, "flatten", flatten_forward);
    if (f)
        f->start_dim = start_dim;
    return f ? &f->base : NULL;
}

typedef struct {
    nn_module base;
    nn_store *store;
    double p;
} nn_dropout;

static pt_tensor *dropout_forward(nn_module *m, const pt_tensor *x)
{
    nn_dropout *d = (nn_dropout *)m;
    return pt_dropout(x, d->p, d->store->training);
}

nn_module *nn_dropout_new(nn_store *s, double p)
{
    if (!s || !(p >= 0 && p < 1)) {
        pt_error_set("dropout: need a store and p in [0, 1)");
        return NULL;
    }
    nn_dropout *d = module_alloc(sizeof *d, "dropout", dropout_forward);
    if (!d)
        return NULL;
    d->store = s;
    d->p = p;
    return &d->base;
}

/* ---- sequential */

typedef struct {
    nn_module base;
    nn_module **child;
    int n, cap;
    int failed; /* a NULL child was added */
} nn_seq;

static pt_tensor *seq_forward(nn_module *m, const pt_tensor *x)
{
    nn_seq *s = (nn_seq *)m;
    if (s->failed || s->n == 0) {
        pt_error_set("sequential: %s", s->failed ? "a child failed to build" : "no children");
        return NULL;
    }
    pt_tensor *cur = NULL;
    for (int i = 0; i < s->n; i++) {
        pt_tensor *next = nn_forward(s->child[i], cur ? cur : x);
        pt_free(cur);
        if (!next)
            return NULL;
        cur = next;
    }
    return cur;
}

static void seq_destroy(nn_module *m)
{
    nn_seq *s = (nn_seq *)m;
    for (int i = 0; i < s->n; i++)
        nn_module_free(s->child[i]);
    free(s->child);
    free(s);
}

nn_module *nn_sequential_new(void)
{
    nn_seq *s = module_alloc(sizeof *s, "sequential", seq_forward);
    if (s)
        s->base.destroy = seq_destroy;
    return s ? &s->base : NULL;
}

pt_status nn_seq_add(nn_module *seq, nn_module *child)
{
    if (!seq || seq->forward != seq_forward) {
        nn_module_free(child);
        if (!pt_error_pending())
            pt_error_set("nn_seq_add: not a sequential module");
        return PT_ERR;
    }
    nn_seq *s = (nn_seq *)seq;
    if (!child) {
        s->failed = 1;
        if (!pt_error_pending())
            pt_error_set("nn_seq_add: child is NULL");
        return PT_ERR;
    }
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        nn_module **c = realloc(s->child, (size_t)cap * sizeof *c);
        if (!c) {
            nn_module_free(child);
            s->failed = 1;
            pt_error_set("nn_seq_add: out of memory");
            return PT_ERR;
        }
        s->child = c;
        s->cap = cap;
    }
    s->child[s->n++] = child;
    return PT_OK;
}

int nn_seq_ok(const nn_module *seq)
{
    return seq && seq->forward == seq_forward && !((const nn_seq *)seq)->failed &&
           ((const nn_seq *)seq)->n > 0;
}

int nn_seq_size(const nn_module *seq)
{
    return seq && seq->forward == seq_forward ? ((const nn_seq *)seq)->n : 0;
}

nn_module *nn_seq_child(const nn_module *seq, int i)
{
    if (!seq || seq->forward != seq_forward || i < 0 || i >= ((const nn_seq *)seq)->n)
        return NULL;
    return ((const nn_seq *)seq)->child[i];
}
