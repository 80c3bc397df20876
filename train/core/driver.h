/*
 * driver.h - what a model type supplies to the trainer core, and the registry from `model.type`
 * to its driver (mmdetection-style). The core owns the loop, data, optimizer, schedule,
 * checkpoints, logging and export; a driver owns its model, its loss and its evaluation.
 *
 * A driver:
 *   - names its model.* keys with a descriptor table (bound by the core with the common config);
 *   - says how a batch of samples becomes tensors (collate_config);
 *   - builds its model in the core's parameter store (create), with PyTorch module-path names;
 *   - computes the loss of a collated batch, reporting each term (loss);
 *   - accumulates evaluation over batches (eval_begin, eval_batch, eval_end), run by the core
 *     under no-grad with the store in eval mode; eval_end may fail (a status and a message);
 *   - optionally draws its predictions for `pictor predict` (predict, predict_end);
 *   - lists the name prefixes of training-only parts left out of exported weights.
 * Tensors a driver returns from loss/eval_batch belong to the caller's scope (see pt.h).
 * Lists in the struct (more_sections, export_exclude) end with NULL, so nobody keeps a count.
 */
#ifndef PICTOR_DRIVER_H
#define PICTOR_DRIVER_H

#include <stddef.h>

#include "pipeline/collate.h"
#include "config/config.h"
#include "nn/nn.h"
#include "config/settings.h"
#include "store/store.h"

#define DRV_MAX_TERMS 16
#define DRV_MAX_METRICS 32

/* Loss terms of one batch: scalar tensors in the caller's scope, names like "cls", "contour". */
typedef struct {
    int n;
    const char *name[DRV_MAX_TERMS];
    pt_tensor *value[DRV_MAX_TERMS];
} drv_terms;

typedef struct {
    int n;
    char name[DRV_MAX_METRICS][48];
    double value[DRV_MAX_METRICS];
} drv_metrics;

/* Append a loss term: name (a string that outlives the step, e.g. a literal) and its scalar
 * tensor (ignored when DRV_MAX_TERMS are there already). */
void drv_terms_add(drv_terms *t, const char *name, pt_tensor *value);

/* Append a metric (ignored when full). */
void drv_metrics_add(drv_metrics *m, const char *name, double value);
/* Value of the named metric, or NAN. */
double drv_metrics_get(const drv_metrics *m, const char *name);

/* What the core gives a driver. */
typedef struct {
    const settings *cfg;
    const void *model_cfg;   /* the driver's struct, bound from model.* */
    nn_store *store;
    store_reader *train;     /* NULL when only evaluating */
    store_reader *val;       /* NULL when there is no validation set */
    int in_channels;         /* of the images the loader delivers */
    int image_h, image_w;    /* their size when fixed (data.image_size or a RAW store), else 0 */
    int num_classes;         /* from the dataset's class names (0 if none) */
    int num_domains;         /* from the dataset's domain names (0 if none) */
    const char *const *class_names;  /* num_classes names, or NULL */
    const char *const *domain_names; /* num_domains names, or NULL */
    const char *run_dir;     /* evaluation reports go to its plots/ folder */
} drv_env;

typedef struct driver {
    const char *type;        /* the model.type value */
    const char *summary;     /* one line for `pictor help` */
    const cfg_section *model_section;  /* model.* keys */
    size_t model_cfg_size;
    /* further sections bound into the same struct (offsets relative to it), e.g. "adversarial";
     * NULL-terminated, or NULL */
    const cfg_section *const *more_sections;
    /* training-only name prefixes left out of exported weights ("type_head."); NULL-terminated,
     * or NULL */
    const char *const *export_exclude;

    collate_config (*collate)(const drv_env *env);
    /* Build the model into env->store; NULL on failure with a message in err. */
    void *(*create)(const drv_env *env, char *err, size_t errlen);
    /* Forward and loss: the total (a scalar tensor) and its terms; NULL with pt_error() set. */
    pt_tensor *(*loss)(void *self, const collated_batch *b, drv_terms *terms);
    /* Optional: the backward pass of one micro-batch; NULL = backward of (total * scale). It must
     * accumulate into the parameters' .grad as backward() does (grad accumulation). */
    pt_status (*backward)(void *self, pt_tensor *total, const drv_terms *terms, double scale);
    /* Optional: called before each optimizer step's loss with the step (0-based) and the total. */
    void (*set_progress)(void *self, int64_t step, int64_t total);
    void (*eval_begin)(void *self);
    pt_status (*eval_batch)(void *self, const collated_batch *b);
    /* The metrics of the batches seen since eval_begin. Returns 0, or an exit status with a
     * message in err (1 a user error such as an unwritable report, 2 an internal error). */
    int (*eval_end)(void *self, drv_metrics *out, char *err, size_t errlen);
    /* Optional (`pictor predict`): show the model's predictions on the batch b collated from
     * samples[0..n) (the images as evaluation sees them, resized, not augmented), e.g. one
     * out_dir/<dataset index>.png per image; predict_end (optional) then writes what covers every
     * batch (e.g. out_dir/predictions.json). The core calls eval_begin first, and both under
     * no-grad with the store in eval mode; out_dir exists. They return 0, or an exit status with
     * a message in err: 1 a user error (a file that cannot be written), 2 an internal error. */
    int (*predict)(void *self, const collated_batch *b, const sample *samples, int n,
                   const char *out_dir, char *err, size_t errlen);
    int (*predict_end)(void *self, const char *out_dir, char *err, size_t errlen);
    void (*destroy)(void *self);
} driver;

/* data.normalize as the collate's normalisation (imagenet: torchvision's mean and std). */
void drv_norm_apply(const settings *c, collate_config *cc);

/* The tables of d bound from a config: its model section, then its more_sections, all into
 * model_cfg (zeroed, d->model_cfg_size bytes); x->n is set, the rest of *x is left alone.
 * Returns 0, -1 when d has more tables than a settings_extra holds. */
int driver_extra_sections(const driver *d, void *model_cfg, settings_extra *x);

/* The registered drivers. */
const driver *driver_find(const char *type);
int driver_count(void);
const driver *driver_at(int i);
/* "a, b, c": the registered types, for messages. */
const char *driver_names(void);

#endif
