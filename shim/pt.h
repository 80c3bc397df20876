/*
 * pt.h - the C API of pictor's shim over libtorch.
 *
 * This header is plain C11 (it compiles alone with gcc -std=c11 -pedantic -Werror). It is the only
 * door between pictor's C code and libtorch: no C++ type, header or exception crosses it. One C
 * function per libtorch operation; no model or training logic lives behind it.
 *
 * ERRORS
 *   Every entry point catches everything libtorch throws. Functions that create a tensor return the
 *   new handle, or NULL on failure. Functions that do not create a tensor return pt_status
 *   (PT_OK == 0, anything else is a failure). On failure a thread-local message says what failed
 *   and why (operation, shapes, dtypes, file): read it with pt_error(). A failure marks the
 *   error as pending until pt_error_clear().
 *
 *   NULL inputs propagate: an op given a NULL tensor returns NULL (or PT_ERR) and keeps the
 *   pending message of the op that failed first. A forward pass can therefore be written as a
 *   straight sequence of ops and checked once at the end, as in PyTorch.
 *
 * OWNERSHIP (the one rule)
 *   Every pt_tensor * returned by the shim is a new handle owned by the caller, who releases it
 *   with pt_free() (or by ending the scope it was created in, see below). Input tensors are always
 *   borrowed: no function frees or keeps its arguments, except the few documented as "takes
 *   ownership". Handles are cheap references: two handles may share storage (views, from_blob),
 *   and freeing a handle never invalidates another one or the autograd graph.
 *   Other objects (pt_generator, pt_optim, buffers from pt_optim_save_buffer) have their own
 *   *_free function; the same rule applies.
 *
 * SCOPES
 *   pt_scope_begin() opens a scope on the calling thread; every handle created on that thread
 *   until the matching pt_scope_end() is registered in it and freed by pt_scope_end(), unless it
 *   was taken out with pt_keep() (then the caller owns it) or handed to the enclosing scope with
 *   pt_scope_return(). Scopes nest. Outside any scope, handles are freed one by one with pt_free.
 *   A training step is typically: mark = pt_scope_begin(); forward; loss; backward; step;
 *   pt_scope_end(mark);
 *
 * THREADS
 *   Handles may be used from any thread but not from two at once. Debian's libtorch starts with
 *   one intra-op thread: call pt_set_num_threads().
 */
#ifndef PICTOR_PT_H
#define PICTOR_PT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pt_tensor pt_tensor;
typedef struct pt_generator pt_generator;
typedef struct pt_optim pt_optim;

typedef enum { PT_OK = 0, PT_ERR = 1 } pt_status;

typedef enum {
    PT_U8 = 0, PT_I8, PT_I16, PT_I32, PT_I64, PT_F16, PT_BF16, PT_F32, PT_F64, PT_BOOL
} pt_dtype;

/* Devices: PT_CPU, or a CUDA device index >= 0 (only with a CUDA build of libtorch). */
#define PT_CPU (-1)

typedef enum { PT_REDUCE_NONE = 0, PT_REDUCE_MEAN, PT_REDUCE_SUM } pt_reduction;
typedef enum { PT_INTERP_NEAREST = 0, PT_INTERP_BILINEAR } pt_interp;
typedef enum { PT_PAD_ZEROS = 0, PT_PAD_BORDER, PT_PAD_REFLECTION } pt_grid_padding;

/* ---------------------------------------------------------------- errors, library, threads */
const char *pt_error(void);                 /* last failure message on this thread ("" if none) */
int pt_error_pending(void);                 /* 1 if a failure happened since pt_error_clear() */
void pt_error_clear(void);
/* Report a failure from C code through the same channel (printf-style). */
void pt_error_set(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

const char *pt_version(void);               /* libtorch version string, e.g. "1.13.1" */
pt_status pt_set_num_threads(int n);        /* intra-op threads; n <= 0 means all cores */
int pt_get_num_threads(void);
int pt_num_cores(void);
void pt_manual_seed(uint64_t seed);         /* seeds libtorch's default generator */
pt_status pt_set_deterministic(int on);     /* torch.use_deterministic_algorithms */
int pt_cuda_available(void);
long pt_live_tensors(void);                 /* handles alive now (leak accounting) */

/* ---------------------------------------------------------------- scopes */
size_t pt_scope_begin(void);
void pt_scope_end(size_t mark);
pt_tensor *pt_scope_return(size_t mark, pt_tensor *keep); /* end scope, hand keep to the parent */
/* The same for n results at once (e.g. the levels of a feature pyramid): ends the scope and hands
 * every non-NULL keep[i] to the enclosing scope (to the caller outside any scope). The handles
 * must be distinct. */
void pt_scope_return_n(size_t mark, pt_tensor *const *keep, int n);
pt_tensor *pt_keep(pt_tensor *t);           /* take t out of its scope; caller now owns it */
void pt_free(pt_tensor *t);                 /* NULL is fine */

/* A shape (or any int64 list: dims, permutation) written in place, with its count, for the
 * functions that take (const int64_t *list, int n):
 *     pt_reshape(t, PT_SHAPE(n, c, h * w));    ->  pt_reshape(t, (const int64_t[]){...}, 3)
 * The arguments are evaluated once (sizeof does not evaluate them). C only (a compound literal). */
#define PT_SHAPE(...)                                                                              \
    (const int64_t[]){__VA_ARGS__},                                                                \
        (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

/* ---------------------------------------------------------------- generators */
pt_generator *pt_generator_new(uint64_t seed);
void pt_generator_free(pt_generator *g);
pt_status pt_generator_seed(pt_generator *g, uint64_t seed);
/* The full state as a uint8 tensor (for checkpoints), and its restore. NULL g = default. */
pt_tensor *pt_generator_get_state(pt_generator *g);
pt_status pt_generator_set_state(pt_generator *g, const pt_tensor *state);

/* ---------------------------------------------------------------- dtypes and queries */
const char *pt_dtype_name(pt_dtype dt);     /* "float32", ... */
size_t pt_dtype_size(pt_dtype dt);
pt_dtype pt_dtype_of(const pt_tensor *t);
int pt_device_of(const pt_tensor *t);
int pt_ndim(const pt_tensor *t);            /* -1 on error */
int64_t pt_size(const pt_tensor *t, int dim);  /* negative dims count from the end; -1 on error */
int pt_shape(const pt_tensor *t, int64_t *out, int max_dims); /* returns ndim, -1 on error */
int64_t pt_numel(const pt_tensor *t);
int pt_is_contiguous(const pt_tensor *t);
int pt_requires_grad(const pt_tensor *t);
/* "float32[2, 3, 4]": writes at most n bytes, returns buf. */
char *pt_describe(const pt_tensor *t, char *buf, size_t n);

/* Pointer to the data of a contiguous CPU tensor (NULL with an error otherwise). It stays valid
 * while any handle to the storage lives. */
void *pt_data_ptr(const pt_tensor *t);
/* Copy the elements (row-major, any layout/device) into buf; nbytes must equal numel*size. */
pt_status pt_copy_to(const pt_tensor *t, void *buf, size_t nbytes);
pt_status pt_item(const pt_tensor *t, double *out);   /* one-element tensor -> double */
double pt_item_or_nan(const pt_tensor *t);             /* same, NAN on error */

/* ---------------------------------------------------------------- creation */
/* Wrap caller memory without copying. deleter(ctx) runs when the storage dies (may be NULL if the
 * caller guarantees data outlives every handle). data must be aligned for dt. */
pt_tensor *pt_from_blob(void *data, const int64_t *shape, int ndim, pt_dtype dt,
                        void (*deleter)(void *ctx), void *ctx);
/* Copy caller memory into a new tensor. */
pt_tensor *pt_from_data(const void *data, const int64_t *shape, int ndim, pt_dtype dt);
pt_tensor *pt_scalar(double v, pt_dtype dt);           /* 0-dim tensor */
pt_tensor *pt_empty(const int64_t *shape, int ndim, pt_dtype dt);
pt_tensor *pt_zeros(const int64_t *shape, int ndim, pt_dtype dt);
pt_tensor *pt_ones(const int64_t *shape, int ndim, pt_dtype dt);
pt_tensor *pt_full(const int64_t *shape, int ndim, double value, pt_dtype dt);
pt_tensor *pt_zeros_like(const pt_tensor *t);
pt_tensor *pt_ones_like(const pt_tensor *t);
pt_tensor *pt_full_like(const pt_tensor *t, double value);
pt_tensor *pt_arange(double start, double end, double step, pt_dtype dt);
pt_tensor *pt_linspace(double start, double end, int64_t steps, pt_dtype dt);
pt_tensor *pt_eye(int64_t n, pt_dtype dt);
/* Random creation; g NULL uses the default generator. */
pt_tensor *pt_randn(const int64_t *shape, int ndim, pt_dtype dt, pt_generator *g);
pt_tensor *pt_rand(const int64_t *shape, int ndim, pt_dtype dt, pt_generator *g);
pt_tensor *pt_randint(int64_t low, int64_t high, const int64_t *shape, int ndim,
                      pt_generator *g);                 /* int64 in [low, high) */
pt_tensor *pt_randperm(int64_t n, pt_generator *g);    /* int64 */
pt_tensor *pt_clone(const pt_tensor *t);
pt_tensor *pt_contiguous(const pt_tensor *t);
pt_tensor *pt_to_dtype(const pt_tensor *t, pt_dtype dt);
pt_tensor *pt_to_device(const pt_tensor *t, int device);
pt_tensor *pt_alias(const pt_tensor *t);               /* a second handle to the same tensor */

/* In place (these modify t, including parameters; they are not recorded by autograd when
 * called inside a no-grad section). */
pt_status pt_copy_(pt_tensor *dst, const pt_tensor *src);
pt_status pt_fill_(pt_tensor *t, double v);
pt_status pt_zero_(pt_tensor *t);
pt_status pt_add_(pt_tensor *t, const pt_tensor *other, double alpha); /* t += alpha*other */
pt_status pt_mul_s_(pt_tensor *t, double s);
pt_status pt_uniform_(pt_tensor *t, double lo, double hi, pt_generator *g);
pt_status pt_normal_(pt_tensor *t, double mean, double std, pt_generator *g);

/* ---------------------------------------------------------------- views and indexing */
pt_tensor *pt_reshape(const pt_tensor *t, const int64_t *shape, int ndim); /* -1 allowed once */
pt_tensor *pt_flatten(const pt_tensor *t, int start_dim, int end_dim);
pt_tensor *pt_permute(const pt_tensor *t, const int64_t *dims, int ndim);
pt_tensor *pt_transpose(const pt_tensor *t, int d0, int d1);
pt_tensor *pt_squeeze(const pt_tensor *t, int dim);
pt_tensor *pt_unsqueeze(const pt_tensor *t, int dim);
pt_tensor *pt_expand(const pt_tensor *t, const int64_t *shape, int ndim);
pt_tensor *pt_repeat(const pt_tensor *t, const int64_t *repeats, int ndim);
pt_tensor *pt_narrow(const pt_tensor *t, int dim, int64_t start, int64_t length);
pt_tensor *pt_slice(const pt_tensor *t, int dim, int64_t start, int64_t end, int64_t step);
pt_tensor *pt_select(const pt_tensor *t, int dim, int64_t index);
pt_tensor *pt_cat(pt_tensor *const *ts, int n, int dim);
pt_tensor *pt_stack(pt_tensor *const *ts, int n, int dim);
pt_tensor *pt_flip(const pt_tensor *t, const int64_t *dims, int ndim);
pt_tensor *pt_rot90(const pt_tensor *t, int k, int d0, int d1);
pt_tensor *pt_index_select(const pt_tensor *t, int dim, const pt_tensor *index);
pt_tensor *pt_gather(const pt_tensor *t, int dim, const pt_tensor *index);
pt_tensor *pt_scatter(const pt_tensor *t, int dim, const pt_tensor *index, const pt_tensor *src);
pt_tensor *pt_scatter_add(const pt_tensor *t, int dim, const pt_tensor *index,
                          const pt_tensor *src);
pt_tensor *pt_index_add(const pt_tensor *t, int dim, const pt_tensor *index,
                        const pt_tensor *src);
pt_tensor *pt_masked_select(const pt_tensor *t, const pt_tensor *mask);
pt_tensor *pt_masked_fill(const pt_tensor *t, const pt_tensor *mask, double value);
pt_tensor *pt_where(const pt_tensor *cond, const pt_tensor *a, const pt_tensor *b);
pt_tensor *pt_nonzero(const pt_tensor *t);             /* [n, ndim] int64 */
/* values and indices are new handles written to *values / *indices (either may be NULL). */
pt_status pt_topk(const pt_tensor *t, int64_t k, int dim, int largest, int sorted,
                  pt_tensor **values, pt_tensor **indices);
pt_status pt_sort(const pt_tensor *t, int dim, int descending,
                  pt_tensor **values, pt_tensor **indices);
pt_tensor *pt_argsort(const pt_tensor *t, int dim, int descending);
pt_tensor *pt_argmax(const pt_tensor *t, int dim, int keepdim);
pt_tensor *pt_argmin(const pt_tensor *t, int dim, int keepdim);
pt_tensor *pt_one_hot(const pt_tensor *index, int64_t num_classes);

/* ---------------------------------------------------------------- elementwise math */
pt_tensor *pt_add(const pt_tensor *a, const pt_tensor *b);
pt_tensor *pt_sub(const pt_tensor *a, const pt_tensor *b);
pt_tensor *pt_mul(const pt_tensor *a, const pt_tensor *b);
pt_tensor *pt_div(const pt_tensor *a, const pt_tensor *b);
pt_tensor *pt_pow(const pt_tensor *a, const pt_tensor *b);
pt_tensor *pt_maximum(const pt_tensor *a, const pt_tensor *b);
pt_tensor *pt_minimum(const pt_tensor *a, const pt_tensor *b);
pt_tensor *pt_atan2(const pt_tensor *a, const pt_tensor *b);
pt_tensor *pt_add_s(const pt_tensor *a, double s);
pt_tensor *pt_sub_s(const pt_tensor *a, double s);
pt_tensor *pt_rsub_s(const pt_tensor *a, double s);    /* s - a */
pt_tensor *pt_mul_s(const pt_tensor *a, double s);
pt_tensor *pt_div_s(const pt_tensor *a, double s);
pt_tensor *pt_pow_s(const pt_tensor *a, double exponent);
pt_tensor *pt_clamp(const pt_tensor *a, double lo, double hi); /* NAN = no bound on that side */
/* Comparisons and logic return bool tensors. */
pt_tensor *pt_eq(const pt_tensor *a, const pt_tensor *b);
pt_tensor *pt_ne(const pt_tensor *a, const pt_tensor *b);
pt_tensor *pt_lt(const pt_tensor *a, const pt_tensor *b);
pt_tensor *pt_le(const pt_tensor *a, const pt_tensor *b);
pt_tensor *pt_gt(const pt_tensor *a, const pt_tensor *b);
pt_tensor *pt_ge(const pt_tensor *a, const pt_tensor *b);
pt_tensor *pt_eq_s(const pt_tensor *a, double s);
pt_tensor *pt_ne_s(const pt_tensor *a, double s);
pt_tensor *pt_lt_s(const pt_tensor *a, double s);
pt_tensor *pt_le_s(const pt_tensor *a, double s);
pt_tensor *pt_gt_s(const pt_tensor *a, double s);
pt_tensor *pt_ge_s(const pt_tensor *a, double s);
pt_tensor *pt_logical_and(const pt_tensor *a, const pt_tensor *b);
pt_tensor *pt_logical_or(const pt_tensor *a, const pt_tensor *b);
pt_tensor *pt_logical_not(const pt_tensor *a);
/* Unary. */
pt_tensor *pt_neg(const pt_tensor *a);
pt_tensor *pt_abs(const pt_tensor *a);
pt_tensor *pt_exp(const pt_tensor *a);
pt_tensor *pt_log(const pt_tensor *a);
pt_tensor *pt_log1p(const pt_tensor *a);
pt_tensor *pt_sqrt(const pt_tensor *a);
pt_tensor *pt_rsqrt(const pt_tensor *a);
pt_tensor *pt_square(const pt_tensor *a);
pt_tensor *pt_reciprocal(const pt_tensor *a);
pt_tensor *pt_sin(const pt_tensor *a);
pt_tensor *pt_cos(const pt_tensor *a);
pt_tensor *pt_floor(const pt_tensor *a);
pt_tensor *pt_ceil(const pt_tensor *a);
pt_tensor *pt_round(const pt_tensor *a);
pt_tensor *pt_sign(const pt_tensor *a);
pt_tensor *pt_isnan(const pt_tensor *a);
pt_tensor *pt_isfinite(const pt_tensor *a);

/* ---------------------------------------------------------------- reductions */
pt_tensor *pt_sum(const pt_tensor *t);
pt_tensor *pt_mean(const pt_tensor *t);
pt_tensor *pt_max(const pt_tensor *t);
pt_tensor *pt_min(const pt_tensor *t);
pt_tensor *pt_sum_dims(const pt_tensor *t, const int64_t *dims, int n, int keepdim);
pt_tensor *pt_mean_dims(const pt_tensor *t, const int64_t *dims, int n, int keepdim);
pt_tensor *pt_amax(const pt_tensor *t, const int64_t *dims, int n, int keepdim);
pt_tensor *pt_amin(const pt_tensor *t, const int64_t *dims, int n, int keepdim);
pt_tensor *pt_var_dims(const pt_tensor *t, const int64_t *dims, int n, int unbiased, int keepdim);
pt_tensor *pt_norm(const pt_tensor *t, double p, const int64_t *dims, int n, int keepdim);
pt_tensor *pt_logsumexp(const pt_tensor *t, int dim, int keepdim);
pt_tensor *pt_cumsum(const pt_tensor *t, int dim);
pt_tensor *pt_any(const pt_tensor *t);
pt_tensor *pt_all(const pt_tensor *t);

/* ---------------------------------------------------------------- linear algebra */
pt_tensor *pt_matmul(const pt_tensor *a, const pt_tensor *b);
pt_tensor *pt_bmm(const pt_tensor *a, const pt_tensor *b);
/* Graph adjacency: a sparse COO matrix from [2, nnz] int64 indices and [nnz] values, and the
 * product sparse x dense (differentiable w.r.t. the dense operand and the values). */
pt_tensor *pt_sparse_coo(const pt_tensor *indices, const pt_tensor *values,
                         int64_t rows, int64_t cols);
pt_tensor *pt_sparse_mm(const pt_tensor *sparse, const pt_tensor *dense);
pt_tensor *pt_to_dense(const pt_tensor *t);

/* ---------------------------------------------------------------- neural-network ops */
/* stride, padding, dilation are {h, w}. bias may be NULL. */
pt_tensor *pt_conv2d(const pt_tensor *x, const pt_tensor *w, const pt_tensor *bias,
                     const int64_t stride[2], const int64_t padding[2],
                     const int64_t dilation[2], int64_t groups);
pt_tensor *pt_conv_transpose2d(const pt_tensor *x, const pt_tensor *w, const pt_tensor *bias,
                               const int64_t stride[2], const int64_t padding[2],
                               const int64_t output_padding[2], int64_t groups,
                               const int64_t dilation[2]);
pt_tensor *pt_linear(const pt_tensor *x, const pt_tensor *w, const pt_tensor *bias);
pt_tensor *pt_embedding(const pt_tensor *weight, const pt_tensor *indices);
/* training != 0 uses batch statistics and updates running_mean/var in place (momentum). Any of
 * weight, bias, running_mean, running_var may be NULL. */
pt_tensor *pt_batch_norm(const pt_tensor *x, const pt_tensor *weight, const pt_tensor *bias,
                         pt_tensor *running_mean, pt_tensor *running_var, int training,
                         double momentum, double eps);
pt_tensor *pt_group_norm(const pt_tensor *x, int64_t groups, const pt_tensor *weight,
                         const pt_tensor *bias, double eps);
pt_tensor *pt_layer_norm(const pt_tensor *x, const int64_t *normalized_shape, int n,
                         const pt_tensor *weight, const pt_tensor *bias, double eps);
pt_tensor *pt_instance_norm(const pt_tensor *x, const pt_tensor *weight, const pt_tensor *bias,
                            pt_tensor *running_mean, pt_tensor *running_var,
                            int use_input_stats, double momentum, double eps);
pt_tensor *pt_relu(const pt_tensor *x);
pt_tensor *pt_relu6(const pt_tensor *x);
pt_tensor *pt_leaky_relu(const pt_tensor *x, double negative_slope);
pt_tensor *pt_hardswish(const pt_tensor *x);
pt_tensor *pt_hardsigmoid(const pt_tensor *x);
pt_tensor *pt_sigmoid(const pt_tensor *x);
pt_tensor *pt_tanh(const pt_tensor *x);
pt_tensor *pt_silu(const pt_tensor *x);
pt_tensor *pt_gelu(const pt_tensor *x);
pt_tensor *pt_softplus(const pt_tensor *x);
pt_tensor *pt_softmax(const pt_tensor *x, int dim);
pt_tensor *pt_log_softmax(const pt_tensor *x, int dim);
/* kernel, stride, padding, dilation are {h, w}; stride NULL means stride = kernel. */
pt_tensor *pt_max_pool2d(const pt_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                         const int64_t padding[2], const int64_t dilation[2], int ceil_mode);
pt_tensor *pt_avg_pool2d(const pt_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                         const int64_t padding[2], int ceil_mode, int count_include_pad);
pt_tensor *pt_adaptive_avg_pool2d(const pt_tensor *x, int64_t out_h, int64_t out_w);
pt_tensor *pt_adaptive_max_pool2d(const pt_tensor *x, int64_t out_h, int64_t out_w);
/* Resize NCHW to out_h x out_w. align_corners applies to bilinear only. */
pt_tensor *pt_interpolate(const pt_tensor *x, int64_t out_h, int64_t out_w, pt_interp mode,
                          int align_corners);
/* grid [N, Ho, Wo, 2] in [-1, 1] (x, y). */
pt_tensor *pt_grid_sample(const pt_tensor *x, const pt_tensor *grid, pt_interp mode,
                          pt_grid_padding padding, int align_corners);
/* pads: {left, right, top, bottom, ...} as torch.nn.functional.pad, constant value. */
pt_tensor *pt_pad(const pt_tensor *x, const int64_t *pads, int n, double value);
pt_tensor *pt_dropout(const pt_tensor *x, double p, int training);

/* ---------------------------------------------------------------- loss primitives */
/* target: class indices (int64) or probabilities (same shape as logits). weight may be NULL. */
pt_tensor *pt_cross_entropy(const pt_tensor *logits, const pt_tensor *target,
                            const pt_tensor *weight, int64_t ignore_index,
                            pt_reduction reduction, double label_smoothing);
pt_tensor *pt_nll_loss(const pt_tensor *log_probs, const pt_tensor *target,
                       const pt_tensor *weight, int64_t ignore_index, pt_reduction reduction);
pt_tensor *pt_bce_with_logits(const pt_tensor *logits, const pt_tensor *target,
                              const pt_tensor *weight, const pt_tensor *pos_weight,
                              pt_reduction reduction);
pt_tensor *pt_bce(const pt_tensor *probs, const pt_tensor *target, const pt_tensor *weight,
                  pt_reduction reduction);
pt_tensor *pt_mse_loss(const pt_tensor *a, const pt_tensor *b, pt_reduction reduction);
pt_tensor *pt_l1_loss(const pt_tensor *a, const pt_tensor *b, pt_reduction reduction);
pt_tensor *pt_smooth_l1_loss(const pt_tensor *a, const pt_tensor *b, pt_reduction reduction,
                             double beta);

/* ---------------------------------------------------------------- autograd */
pt_status pt_set_requires_grad(pt_tensor *t, int on);
/* grad may be NULL for a scalar loss. */
pt_status pt_backward(const pt_tensor *loss, const pt_tensor *grad, int retain_graph);
int pt_has_grad(const pt_tensor *t);
pt_tensor *pt_grad(const pt_tensor *t);               /* error if t has no gradient */
pt_status pt_set_grad(pt_tensor *t, const pt_tensor *grad); /* grad NULL clears it */
pt_status pt_zero_grad(pt_tensor *t);                   /* drops the gradient (set_to_none) */
pt_tensor *pt_detach(const pt_tensor *t);
/* d(sum of outputs)/d(inputs), like torch.autograd.grad. grads_out[i] receives a new handle, or
 * NULL when inputs[i] is unused and allow_unused != 0 (an error otherwise). */
pt_status pt_autograd_grad(pt_tensor *const *outputs, int n_outputs,
                           pt_tensor *const *inputs, int n_inputs, pt_tensor **grads_out,
                           int retain_graph, int create_graph, int allow_unused);
/* No-grad sections nest per thread. */
void pt_no_grad_begin(void);
void pt_no_grad_end(void);
int pt_grad_enabled(void);

/* ---------------------------------------------------------------- optimizers */
typedef enum { PT_OPTIM_SGD = 0, PT_OPTIM_ADAM, PT_OPTIM_ADAMW } pt_optim_kind;
typedef struct {
    pt_optim_kind kind;
    double lr;
    double weight_decay;
    double momentum, dampening;  /* SGD */
    int nesterov;                /* SGD */
    double beta1, beta2, eps;    /* Adam, AdamW */
    int amsgrad;                 /* Adam, AdamW */
} pt_optim_options;
/* Fills PyTorch's defaults for kind (lr 1e-3 for Adam/AdamW, 0.01 for SGD). */
pt_optim_options pt_optim_defaults(pt_optim_kind kind);
pt_optim *pt_optim_new(const pt_optim_options *opts);
void pt_optim_free(pt_optim *o);
/* Adds a parameter group (borrowed handles; the optimizer keeps its own references) with its
 * own lr and weight decay. Returns the group index, -1 on error. */
int pt_optim_add_group(pt_optim *o, pt_tensor *const *params, int n, double lr,
                       double weight_decay);
int pt_optim_num_groups(const pt_optim *o);
pt_status pt_optim_set_lr(pt_optim *o, int group, double lr);  /* group -1 = every group */
double pt_optim_get_lr(const pt_optim *o, int group);
pt_status pt_optim_step(pt_optim *o);
pt_status pt_optim_zero_grad(pt_optim *o);
/* State (moments, step counts) for resume: to a file, or to a malloc'ed buffer the caller frees
 * with free(). Loading requires the same groups and parameter shapes. */
pt_status pt_optim_save(const pt_optim *o, const char *path);
pt_status pt_optim_load(pt_optim *o, const char *path);
pt_status pt_optim_save_buffer(const pt_optim *o, void **buf, size_t *len);
pt_status pt_optim_load_buffer(pt_optim *o, const void *buf, size_t len);
/* Scales gradients in place so their total norm is at most max_norm; *total_norm (may be NULL)
 * gets the norm before clipping. */
pt_status pt_clip_grad_norm(pt_tensor *const *params, int n, double max_norm, double norm_type,
                            double *total_norm);

/* ---------------------------------------------------------------- named tensors and files */
/* An ordered name -> tensor dictionary with string metadata. It owns its tensors. */
typedef struct pt_dict pt_dict;
pt_dict *pt_dict_new(void);
void pt_dict_free(pt_dict *d);
/* Takes ownership of t (also out of any scope), even on failure (t is then freed); replaces an
 * existing entry of that name in place. A handle the dict already holds under another name is
 * refused (and not freed). Sizes are -1 for a NULL dict. */
pt_status pt_dict_put(pt_dict *d, const char *name, pt_tensor *t);
pt_tensor *pt_dict_get(const pt_dict *d, const char *name);  /* borrowed; NULL if absent */
int pt_dict_size(const pt_dict *d);
const char *pt_dict_name(const pt_dict *d, int i);
pt_tensor *pt_dict_tensor(const pt_dict *d, int i);          /* borrowed */
pt_status pt_dict_set_meta(pt_dict *d, const char *key, const char *value);
const char *pt_dict_meta(const pt_dict *d, const char *key); /* NULL if absent */
int pt_dict_meta_size(const pt_dict *d);
const char *pt_dict_meta_key(const pt_dict *d, int i);

/* safetensors (implemented in C): written atomically (temp file, fsync, rename). Loading rejects
 * malformed files with a message naming the file and the problem; limits: 64 dimensions, a
 * 100 MB header. */
pt_status pt_safetensors_save(const pt_dict *d, const char *path);
pt_dict *pt_safetensors_load(const char *path);
/* A dict of tensors readable by Python's torch.load (torch::pickle_save), written atomically;
 * and reading such a file back (Python must save dict(state_dict), not an OrderedDict). */
pt_status pt_torch_save(const pt_dict *d, const char *path);
pt_dict *pt_torch_load(const char *path);

/* Write a whole buffer to path atomically: path.tmp.<pid>, fsync, rename, fsync dir. */
pt_status pt_write_file_atomic(const char *path, const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* PICTOR_PT_H */
