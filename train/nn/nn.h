/*
 * nn.h - pictor's nn layer, in C on the shim: a parameter store whose dotted names mirror the
 * PyTorch module paths ("features.0.0.weight"), and the layers models are written with.
 *
 * The store owns every parameter and buffer. Trainable parameters require grad; buffers
 * (BatchNorm running_mean, running_var, num_batches_tracked) live in the same store, marked
 * non-trainable, in PyTorch's state_dict order (each module's parameters, then its buffers).
 * Parameters can be frozen (nn_store_freeze): they become non-trainable but keep their place.
 *
 * Layers are nn_module values with a forward function. nn_forward() borrows its input and returns
 * a new tensor handle (NULL on failure, message in pt_error()). Modules do not own parameters;
 * the store does, so a module is freed with nn_module_free() and the store with nn_store_free().
 */
#ifndef PICTOR_NN_H
#define PICTOR_NN_H

#include <stdint.h>

#include "pt.h"

#define NN_NAME_MAX 256

typedef struct nn_store nn_store;

/* seed drives the initialisers (PyTorch's default init schemes). */
nn_store *nn_store_new(uint64_t seed);
void nn_store_free(nn_store *s);
pt_generator *nn_store_generator(nn_store *s);

/* Register a tensor under a unique name; the store takes ownership (also out of any scope).
 * Parameters get requires_grad. Returns t (borrowed from now on), or NULL on error (t freed). */
pt_tensor *nn_store_param(nn_store *s, const char *name, pt_tensor *t);
pt_tensor *nn_store_buffer(nn_store *s, const char *name, pt_tensor *t);

int nn_store_size(const nn_store *s);
const char *nn_store_name(const nn_store *s, int i);
pt_tensor *nn_store_tensor(const nn_store *s, int i);
/* 1 for a trainable parameter: registered with nn_store_param and not frozen. */
int nn_store_is_param(const nn_store *s, int i);
/* 1 for a parameter frozen by nn_store_freeze (then nn_store_is_param is 0). */
int nn_store_is_frozen(const nn_store *s, int i);
/* Freeze every trainable parameter whose name starts with prefix ("backbone.body.layer1."):
 * it stops requiring grad, its gradient is dropped, and it leaves nn_store_params and
 * nn_store_num_scalars(s, 1), so optimizers built afterwards skip it (freeze before building
 * the optimizer). It stays in the store and in the state dict under its name; buffers are not
 * affected. Returns how many parameters were frozen now (0 if none matched), -1 on error. */
int nn_store_freeze(nn_store *s, const char *prefix);
pt_tensor *nn_store_find(const nn_store *s, const char *name); /* NULL if absent */
/* The trainable parameters in order, as a borrowed array owned by the store (valid until the next
 * registration or freeze); *n gets their count. */
pt_tensor *const *nn_store_params(nn_store *s, int *n);
int64_t nn_store_num_scalars(const nn_store *s, int trainable_only);

void nn_store_set_training(nn_store *s, int training);
/* momentum in (0, 1]: every BatchNorm of the store updates its running statistics with it instead
 * of its own (a training choice, not part of the weights); 0 restores each layer's own. */
void nn_store_set_bn_momentum(nn_store *s, double momentum);
int nn_store_training(const nn_store *s);

/* Weights for export: every entry whose name does not start with one of the prefixes, as
 * detached aliases (no copy) in a new dict the caller frees. */
pt_dict *nn_store_state_dict(const nn_store *s, const char *const *exclude_prefixes, int n_exclude);
/* Copy values from d into the store. Shapes must match. strict: every store entry must be in d
 * and every d entry in the store; the error names the keys. The whole-store case of
 * nn_store_load_prefix (prefixes "", nothing ignored). */
pt_status nn_store_load_state_dict(nn_store *s, const pt_dict *d, int strict);

/* Load a sub-tree (nn_load.c), like PyTorch's submodule.load_state_dict: the entries of d named
 * src_prefix + rest go into the store entries named dst_prefix + rest, e.g. a torchvision
 * resnet file (src_prefix "") into "backbone.body.". Entries of d outside src_prefix and store
 * entries outside dst_prefix are not looked at. ignore (NULL, or a NULL-terminated list of
 * prefixes of rest, e.g. {"fc.", NULL}): such names are optional on both sides, loaded when both
 * have them, never reported. Shapes must match (the error names the entry and both shapes).
 * strict: every store entry of the sub-tree must be in d and every looked-at entry of d in the
 * store; the error counts and lists the missing ones (file names: src_prefix + rest) and the
 * unexpected ones, the first few of each. Everything is checked before anything is copied, so
 * a bad file leaves the store as it was. Returns the number of entries copied, -1 on error. */
int nn_store_load_prefix(nn_store *s, const char *dst_prefix, const pt_dict *d,
                         const char *src_prefix, const char *const *ignore, int strict);
/* A weights file: safetensors, or a torch.save'd dict (a zip archive: Python must save
 * dict(state_dict)), told apart by content, not by name. NULL with pt_error() naming the file. */
pt_dict *nn_weights_read(const char *path);
/* nn_weights_read + nn_store_load_prefix; the error starts with the file's path. */
int nn_store_load_file(nn_store *s, const char *dst_prefix, const char *path,
                       const char *src_prefix, const char *const *ignore, int strict);

/* ------------------------------------------------------------------ modules */
typedef struct nn_module nn_module;
struct nn_module {
    const char *kind;
    pt_tensor *(*forward)(nn_module *m, const pt_tensor *x);
    void (*destroy)(nn_module *m);
};

pt_tensor *nn_forward(nn_module *m, const pt_tensor *x);
void nn_module_free(nn_module *m);

/* The feature maps a multi-level module (an FPN, a decoder) is given: n must be expected, and
 * each input 4-D with channels[i] channels and inputs[0]'s batch size. PT_ERR with a message
 * "<who>: 2 inputs given, <what> was built for 3" or "<who>: input 1 is float32[2, 15, 8, 8],
 * expected [2, 16, H, W]" (a NULL input keeps the pending error of the op that failed). */
pt_status nn_check_levels(const char *who, const char *what, pt_tensor *const *inputs, int n,
                          int expected, const int64_t *channels);

/* "prefix." into buf (NN_NAME_MAX bytes), or "" for a NULL or empty prefix: the start of the
 * names a module registers under prefix. Returns buf. */
char *nn_prefix(char *buf, const char *prefix);
/* printf into buf (NN_NAME_MAX bytes) and return buf: nn_path(b, "%s.%d", prefix, i). */
char *nn_path(char *buf, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* How a conv's weight is initialised (nn_conv_opts.init). Every kind but NN_INIT_DEFAULT sets
 * the bias (when there is one) to the constant init.bias. The default draws are made first in
 * every case, so a seeded store gives the same values as building with the default and
 * re-initialising (which is what the models did before this field existed). */
typedef enum {
    NN_INIT_DEFAULT = 0,        /* PyTorch's Conv2d: U(-1/sqrt(fan_in), ..) weight and bias */
    NN_INIT_KAIMING_FAN_OUT,    /* kaiming_normal_(mode="fan_out", relu): torchvision backbones */
    NN_INIT_KAIMING_UNIFORM_A1, /* kaiming_uniform_(a=1) = U(-sqrt(3/fan_in), ..): torchvision FPN */
    NN_INIT_NORMAL,             /* normal_(0, init.std): detection heads */
} nn_init_kind;

typedef struct {
    nn_init_kind kind;
    double std;  /* NN_INIT_NORMAL */
    double bias; /* the bias value of every non-default kind (e.g. a classification prior) */
} nn_init;

/* Conv2d; zero fields take PyTorch's defaults (stride 1, dilation 1, groups 1, bias on, default
 * init), e.g. (nn_conv_opts){.in = 64, .out = 256, .k = 1, .init = {NN_INIT_KAIMING_FAN_OUT}}. */
typedef struct {
    int64_t in, out, k;
    int64_t stride, pad, dilation, groups;
    int no_bias;
    nn_init init;
} nn_conv_opts;

typedef struct {
    nn_module base;
    pt_tensor *weight, *bias; /* borrowed from the store; bias may be NULL */
    int64_t stride[2], padding[2], dilation[2], groups;
} nn_conv2d;

nn_module *nn_conv2d_new(nn_store *s, const char *name, nn_conv_opts o);

typedef struct {
    nn_module base;
    nn_store *store;
    pt_tensor *weight, *bias, *running_mean, *running_var, *num_batches_tracked;
    double eps, momentum;
    int frozen_stats; /* see nn_batchnorm2d_set_frozen */
} nn_batchnorm2d;

nn_module *nn_batchnorm2d_new(nn_store *s, const char *name, int64_t channels, double eps,
                              double momentum);
/* Frozen statistics (frozen != 0): the layer stays in eval mode whatever the store's mode, i.e.
 * it normalises with running_mean/running_var and never updates them nor num_batches_tracked
 * (mmdet's norm_eval; torchvision's FrozenBatchNorm2d computes the same). Its affine weight
 * and bias still train unless frozen with nn_store_freeze. PT_ERR if m is not a batchnorm2d. */
pt_status nn_batchnorm2d_set_frozen(nn_module *m, int frozen);

typedef struct {
    nn_module base;
    pt_tensor *weight, *bias;
    int64_t groups;
    double eps;
} nn_groupnorm;

nn_module *nn_groupnorm_new(nn_store *s, const char *name, int64_t groups, int64_t channels,
                            double eps);

typedef struct {
    nn_module base;
    pt_tensor *weight, *bias;
} nn_linear;

nn_module *nn_linear_new(nn_store *s, const char *name, int64_t in, int64_t out, int bias);

/* Stateless layers. */
typedef enum {
    NN_IDENTITY = 0, NN_RELU, NN_RELU6, NN_HARDSWISH, NN_HARDSIGMOID, NN_SIGMOID, NN_TANH
} nn_activation;
nn_module *nn_act_new(nn_activation a);
nn_module *nn_maxpool2d_new(int64_t kernel, int64_t stride, int64_t padding);
nn_module *nn_adaptive_avgpool2d_new(int64_t out_h, int64_t out_w);
nn_module *nn_flatten_new(int start_dim);
nn_module *nn_dropout_new(nn_store *s, double p); /* active only while the store is training */

/* Sequential: runs its children in order. nn_seq_add takes ownership of child (a NULL child, from
 * a failed constructor, makes it fail and keeps that error). */
nn_module *nn_sequential_new(void);
pt_status nn_seq_add(nn_module *seq, nn_module *child);
int nn_seq_size(const nn_module *seq);
/* 1 when seq is a Sequential with at least one child and every nn_seq_add succeeded (a builder
 * adds its layers unchecked, then asks once); 0 otherwise, with the first failure's message
 * still in pt_error(). */
int nn_seq_ok(const nn_module *seq);
nn_module *nn_seq_child(const nn_module *seq, int i);

/* ------------------------------------------------------------------ initialisers */
/* PyTorch's default for conv/linear weights: kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), ..). */
pt_status nn_init_default_uniform(pt_tensor *t, int64_t fan_in, pt_generator *g);
pt_status nn_init_kaiming_normal_fan_out(pt_tensor *t, pt_generator *g); /* relu gain */
/* normal_(mean, std) and fill_(value), outside autograd (for parameters that require grad). */
pt_status nn_init_normal(pt_tensor *t, double mean, double std, pt_generator *g);
pt_status nn_init_constant(pt_tensor *t, double value);

#endif
