/*
 * settings.h - the config sections every driver understands (run, train, optim, sched, data,
 * data.augment, model.type) as C structs, their descriptor tables, and loading a whole experiment
 * config: load + bind + cross-checks + unknown keys, in one call.
 *
 * Owns: the names, types, defaults, ranges and one-line docs of the common keys (the tables in
 * settings.c are the one source of truth: `pictor config show` prints them), the checks that
 * involve several keys, run.name's default, and the config hash. Model-specific keys belong to
 * each driver, which passes its own table(s) in a settings_extra.
 *
 * HOW THE TRAINER LOADS AN EXPERIMENT
 *   When the tables are known up front (tests, tools):
 *     settings s;
 *     if (settings_load(&s, path, overrides, n_overrides, NULL, err, sizeof err)) -> exit 1, err
 *     ... s.train.epochs, s.optim.lr, s.data.augment.hflip ...
 *     settings_free(&s);
 *
 *   When the model's table depends on model.type (the trainer core):
 *     cfg_doc *doc = cfg_load(path, overrides, n_overrides, err, sizeof err);   NULL -> exit 1
 *     const char *type = cfg_peek_string(doc, "model.type");                    may be NULL
 *     driver = registry lookup of type;      unknown: say so at cfg_where(doc, "model.type", ...)
 *     void *mc = calloc(1, driver->model_cfg_size);                            zeroed
 *     settings_extra x = {.n = 1, .secs = {driver->model_section}, .structs = {mc}};
 *     if (settings_bind(&s, doc, &x, err, sizeof err)) -> exit 1, err       (doc now owned by s)
 *     ...
 *     settings_free(&s);            releases the strings and lists inside mc; free(mc) is yours
 *
 *   A driver's model table is a cfg_section named "model" (it may repeat "type" or not); it can
 *   also bring other sections ("loss", "model.head", ...). Every key of the file must be known to
 *   the common tables or to an extra table, else settings_bind fails with "unknown key ... (did you
 *   mean ...)". settings_extra.unchecked_model accepts any model.* key without a table (they are
 *   kept and written verbatim by settings_emit): `pictor config show` uses it when the file has no
 *   model.type (a _base_ file, say); the trainer must not.
 *
 * Integers are int64_t (CFG_INT), enums are int indexes into the choices listed next to each
 * enum type below (the order of the C enum is the order of the choices string).
 */
#ifndef PICTOR_SETTINGS_H
#define PICTOR_SETTINGS_H

#include <stdint.h>
#include <stdio.h>

#include "config/config.h"

/* ---------------------------------------------------------------- enums (choice order) */

typedef enum { SETTINGS_NAN_STOP = 0, SETTINGS_NAN_SKIP } settings_nan_policy;     /* stop|skip */
typedef enum { SETTINGS_BEST_MAX = 0, SETTINGS_BEST_MIN } settings_best_mode;      /* max|min */
typedef enum { SETTINGS_OPTIM_SGD = 0, SETTINGS_OPTIM_ADAM, SETTINGS_OPTIM_ADAMW }
    settings_optim_type;                                                    /* sgd|adam|adamw */
typedef enum { SETTINGS_SCHED_CONSTANT = 0, SETTINGS_SCHED_MULTISTEP, SETTINGS_SCHED_COSINE }
    settings_sched_type;                                          /* constant|multistep|cosine */
/* Same order as data/sampler.h's sampler_kind, so the value converts directly. */
typedef enum { SETTINGS_SAMPLER_SEQUENTIAL = 0, SETTINGS_SAMPLER_RANDOM, SETTINGS_SAMPLER_BALANCED }
    settings_sampler;                                             /* sequential|random|balanced */
typedef enum { SETTINGS_NORM_NONE = 0, SETTINGS_NORM_UNIT, SETTINGS_NORM_SYMMETRIC,
               SETTINGS_NORM_IMAGENET } settings_normalize;  /* none|unit|symmetric|imagenet */
typedef enum { SETTINGS_RESIZE_STRETCH = 0, SETTINGS_RESIZE_LETTERBOX }
    settings_resize_mode;                                                 /* stretch|letterbox */

/* ---------------------------------------------------------------- the sections */

typedef struct {
    char *dir;   /* "runs": the run directory is <dir>/<name> */
    char *name;  /* default: the config file's name without its extension */
} settings_run;

typedef struct {
    int64_t max_steps;         /* optimizer steps; 0 = use epochs */
    int64_t epochs;            /* passes over data.train when max_steps is 0 */
    int64_t threads;           /* libtorch intra-op threads; 0 = all cores */
    int64_t seed;
    int64_t batch_size;        /* images per micro-batch */
    int64_t log_every;         /* steps */
    int64_t eval_every;        /* steps; 0 = at the end of every epoch */
    int64_t checkpoint_every;  /* steps; 0 = only at the end and on SIGINT/SIGTERM */
    double grad_clip;          /* max global L2 norm of the gradients; 0 = off */
    int64_t grad_accum;        /* micro-batches per optimizer step, >= 1 */
    int nan_policy;            /* settings_nan_policy */
    char *best_metric;         /* eval metric selecting best.ckpt; "" = none */
    int best_mode;             /* settings_best_mode */
    int deterministic;         /* bool */
} settings_train;

typedef struct {
    int type;                  /* settings_optim_type */
    double lr;
    double momentum;           /* sgd */
    int nesterov;              /* sgd, bool */
    double weight_decay;
    cfg_float_list betas;      /* adam/adamw: exactly 2, each in [0, 1) */
    double eps;                /* adam/adamw */
    int decay_bias_and_norm;   /* bool; 0 = biases and norm parameters get no weight decay */
} settings_optim;

typedef struct {
    int type;                  /* settings_sched_type */
    int64_t warmup_steps;      /* linear warmup from warmup_start_factor * lr */
    double warmup_start_factor;
    cfg_int_list milestones;   /* multistep: increasing steps */
    double gamma;              /* multistep: factor at each milestone */
    double min_lr_factor;      /* cosine: final lr / lr */
} settings_sched;

/* Training-time augmentations, applied in the loader (geometry moves masks, polygons, points). */
typedef struct {
    double blur_prob;          /* probability of a gaussian blur */
    double blur_sigma;         /* largest sigma; drawn uniformly from (0, blur_sigma] */
    int64_t resize;            /* resize to resize x resize before cropping; 0 = no */
    int64_t crop;              /* random crop to crop x crop; 0 = no */
    int rot90;                 /* bool: random rotation by 0/90/180/270 degrees */
    double hflip;              /* probability of a horizontal flip */
    double brightness;         /* jitter: factor drawn from [1 - b, 1 + b]; 0 = off */
    double contrast;
    double saturation;
    double rotate;             /* rotation by an angle in [-rotate, rotate] degrees; 0 = no */
    double object_crop_prob;   /* probability of a crop around the object (dense_augment.h) */
    cfg_float_list object_crop_scale; /* [lo, hi]: its scale relative to the object's box */
} settings_augment;

typedef struct {
    char *train;               /* HDF5 dataset path ("" = not set) */
    char *val;                 /* "" = no evaluation */
    int64_t workers;           /* decode/augment threads; 0 = in the training thread */
    int64_t prefetch;          /* batches prepared ahead */
    int sampler;               /* settings_sampler */
    cfg_float_list domain_weights; /* balanced: weight per domain (> 0); empty = equal */
    char *holdout;             /* data.holdout_domain as written: a domain name or id, "" = none */
    int64_t holdout_domain;    /* its id (resolved against the dataset's domain names); -1 = none */
    int drop_last;             /* bool: sequential/random drop a short last batch */
    int64_t image_size;        /* side of the model's input; 0 = as stored */
    int normalize;             /* settings_normalize */
    int resize_mode;           /* settings_resize_mode: how images reach image_size */
    int64_t pad_value;         /* image value of pixels padding or rotation uncovers, 0..255 */
    int64_t mask_pad_value;    /* the same in semantic masks (255 = an ignore label), 0..255 */
    settings_augment augment;  /* section data.augment */
} settings_data;

typedef struct {
    char *type;                /* the driver's name in the registry; "" = not set */
} settings_model;

/* ---------------------------------------------------------------- a whole config */

#define SETTINGS_MAX_EXTRA 8

/* Tables a driver adds to the common ones, and the structs they fill. */
typedef struct {
    int n;
    const cfg_section *secs[SETTINGS_MAX_EXTRA];
    void *structs[SETTINGS_MAX_EXTRA];  /* zeroed before binding; owned by the caller */
    int unchecked_model;                /* accept model.* keys no table knows (config show) */
} settings_extra;

typedef struct {
    settings_run run;
    settings_train train;
    settings_optim optim;
    settings_sched sched;
    settings_data data;
    settings_model model;
    /* set by settings_bind: */
    cfg_doc *doc;          /* the resolved document: cfg_where() locations for later checks */
    settings_extra extra;  /* copy of the extra tables bound with it */
    char hash[17];         /* cfg_hash of the resolved config, hex (export metadata, resume) */
} settings;

/* Bind doc to s (overwritten) and to the extra tables (may be NULL), check the keys that depend
 * on each other (betas < 1, increasing milestones, multistep with milestones, positive domain
 * weights, run.name a plain name), fill run.name, refuse unknown keys, compute the hash.
 * Takes ownership of doc in every case. Returns 0; or -1 with one located message in err, with s
 * zeroed and the extra structs' strings and lists released (nothing to free). */
int settings_bind(settings *s, cfg_doc *doc, const settings_extra *extra, char *err,
                  size_t errlen);

/* cfg_load(path, overrides) then settings_bind. Same contract. */
int settings_load(settings *s, const char *path, const char *const *overrides, int n_overrides,
                  const settings_extra *extra, char *err, size_t errlen);

/* Release everything settings_bind filled (including inside the extra structs) and the doc;
 * s is zeroed. Safe on a zeroed settings and twice. */
void settings_free(settings *s);

/* The resolved config as YAML: every key with its value, docs as comments, a header naming the
 * source file and the hash. cfg_load of it (with the same extra tables) gives the same structs
 * and hash. Returns 0, or -1 on a write error. */
int settings_emit(FILE *f, const settings *s);

/* The common tables, in emission order (run, train, optim, sched, data, data.augment, model), and
 * the struct each one fills inside s. Returns the count (SETTINGS_N_SECTIONS). */
#define SETTINGS_N_SECTIONS 7
int settings_sections(const settings *s, const cfg_section *secs[SETTINGS_N_SECTIONS],
                      const void *structs[SETTINGS_N_SECTIONS]);

/* The tables by themselves (for docs and tests). */
extern const cfg_section settings_run_section, settings_train_section, settings_optim_section,
    settings_sched_section, settings_data_section, settings_augment_section,
    settings_model_section;

#endif
