/*
 * settings.c - the common config sections (settings.h): their descriptor tables, loading a whole
 * experiment config (bind, cross-checks, run.name, unknown keys, hash) and emitting it.
 *
 * Owns the defaults, ranges and docs of run.*, train.*, optim.*, sched.*, data.*, data.augment.*
 * and model.type. Ranges are generous sanity bounds (they catch typos such as a learning rate of
 * 30 or a negative batch), not recommendations.
 */
#include "config/settings.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define N_ELEMS(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define BIG 1e12             /* "practically unbounded" step counts */
#define MAX_SEED 9007199254740992.0 /* 2^53: seeds survive a round trip through JSON */

/* ================================================================ the tables */

#define RUN(m) offsetof(settings_run, m)
static const cfg_field run_fields[] = {
    {.name = "dir", .type = CFG_STRING, .offset = RUN(dir), .def = "runs",
     .doc = "directory holding one subdirectory per run"},
    {.name = "name", .type = CFG_STRING, .offset = RUN(name), .def = "",
     .doc = "run directory name under run.dir; empty = the config file's name"},
};

#define TRAIN(m) offsetof(settings_train, m)
static const cfg_field train_fields[] = {
    {.name = "max_steps", .type = CFG_INT, .offset = TRAIN(max_steps), .def = "0", .min = 0,
     .max = BIG, .doc = "optimizer steps to train for; 0 = train.epochs passes over data.train"},
    {.name = "epochs", .type = CFG_INT, .offset = TRAIN(epochs), .def = "1", .min = 0,
     .max = 100000, .doc = "passes over data.train when max_steps is 0"},
    {.name = "threads", .type = CFG_INT, .offset = TRAIN(threads), .def = "0", .min = 0,
     .max = 1024, .doc = "libtorch intra-op threads; 0 = all cores"},
    {.name = "seed", .type = CFG_INT, .offset = TRAIN(seed), .def = "0", .min = 0,
     .max = MAX_SEED, .doc = "seed of every random stream (init, sampler, augmentation)"},
    {.name = "batch_size", .type = CFG_INT, .offset = TRAIN(batch_size), .def = "32", .min = 1,
     .max = 65536, .doc = "images per micro-batch (per step: batch_size * grad_accum)"},
    {.name = "log_every", .type = CFG_INT, .offset = TRAIN(log_every), .def = "50", .min = 1,
     .max = BIG, .doc = "steps between log lines and metrics.jsonl records"},
    {.name = "eval_every", .type = CFG_INT, .offset = TRAIN(eval_every), .def = "0", .min = 0,
     .max = BIG, .doc = "steps between evaluations on data.val; 0 = after every epoch"},
    {.name = "checkpoint_every", .type = CFG_INT, .offset = TRAIN(checkpoint_every),
     .def = "1000", .min = 0, .max = BIG,
     .doc = "steps between checkpoints; 0 = only at the end and on SIGINT/SIGTERM"},
    {.name = "grad_clip", .type = CFG_FLOAT, .offset = TRAIN(grad_clip), .def = "0", .min = 0,
     .max = INFINITY, .doc = "clip the global L2 norm of the gradients to this; 0 = off"},
    {.name = "grad_accum", .type = CFG_INT, .offset = TRAIN(grad_accum), .def = "1", .min = 1,
     .max = 1024, .doc = "micro-batches whose gradients are averaged per optimizer step"},
    {.name = "nan_policy", .type = CFG_ENUM, .offset = TRAIN(nan_policy), .def = "stop",
     .choices = "stop|skip", .doc = "on a NaN/Inf loss or gradient: stop the run or skip the step"},
    {.name = "best_metric", .type = CFG_STRING, .offset = TRAIN(best_metric), .def = "",
     .doc = "evaluation metric that selects best.ckpt; empty = no best checkpoint"},
    {.name = "best_mode", .type = CFG_ENUM, .offset = TRAIN(best_mode), .def = "max",
     .choices = "max|min", .doc = "whether a larger or a smaller best_metric is better"},
    {.name = "deterministic", .type = CFG_BOOL, .offset = TRAIN(deterministic), .def = "false",
     .doc = "deterministic kernels only (slower)"},
};

#define OPTIM(m) offsetof(settings_optim, m)
static const cfg_field optim_fields[] = {
    {.name = "type", .type = CFG_ENUM, .offset = OPTIM(type), .def = "adamw",
     .choices = "sgd|adam|adamw", .doc = "optimizer"},
    {.name = "lr", .type = CFG_FLOAT, .offset = OPTIM(lr), .def = "0.001", .min = 0, .max = 10,
     .doc = "peak learning rate (after warmup)"},
    {.name = "momentum", .type = CFG_FLOAT, .offset = OPTIM(momentum), .def = "0.9", .min = 0,
     .max = 1, .doc = "sgd: momentum"},
    {.name = "nesterov", .type = CFG_BOOL, .offset = OPTIM(nesterov), .def = "false",
     .doc = "sgd: Nesterov momentum"},
    {.name = "weight_decay", .type = CFG_FLOAT, .offset = OPTIM(weight_decay), .def = "0",
     .min = 0, .max = 10, .doc = "L2 penalty (sgd, adam) or decoupled decay (adamw)"},
    {.name = "betas", .type = CFG_FLOAT_LIST, .offset = OPTIM(betas), .def = "[0.9, 0.999]",
     .min = 0, .max = 1, .count = 2, .doc = "adam/adamw: decay rates of the moment estimates"},
    {.name = "eps", .type = CFG_FLOAT, .offset = OPTIM(eps), .def = "1e-08", .min = 0, .max = 1,
     .doc = "adam/adamw: denominator epsilon"},
    {.name = "decay_bias_and_norm", .type = CFG_BOOL, .offset = OPTIM(decay_bias_and_norm),
     .def = "false", .doc = "also decay biases and normalisation parameters (usually excluded)"},
};

#define SCHED(m) offsetof(settings_sched, m)
static const cfg_field sched_fields[] = {
    {.name = "type", .type = CFG_ENUM, .offset = SCHED(type), .def = "constant",
     .choices = "constant|multistep|cosine", .doc = "learning-rate schedule after warmup"},
    {.name = "warmup_steps", .type = CFG_INT, .offset = SCHED(warmup_steps), .def = "0",
     .min = 0, .max = BIG, .doc = "steps of linear warmup from warmup_start_factor * lr to lr"},
    {.name = "warmup_start_factor", .type = CFG_FLOAT, .offset = SCHED(warmup_start_factor),
     .def = "0.001", .min = 0, .max = 1, .doc = "lr factor at step 0 of the warmup"},
    {.name = "milestones", .type = CFG_INT_LIST, .offset = SCHED(milestones), .def = "[]",
     .min = 1, .max = BIG, .doc = "multistep: increasing steps at which lr is multiplied by gamma"},
    {.name = "gamma", .type = CFG_FLOAT, .offset = SCHED(gamma), .def = "0.1", .min = 0, .max = 1,
     .doc = "multistep: factor applied at each milestone"},
    {.name = "min_lr_factor", .type = CFG_FLOAT, .offset = SCHED(min_lr_factor), .def = "0",
     .min = 0, .max = 1, .doc = "cosine: final lr as a fraction of lr"},
};

#define DATA(m) offsetof(settings_data, m)
static const cfg_field data_fields[] = {
    {.name = "train", .type = CFG_STRING, .offset = DATA(train), .def = "",
     .doc = "training dataset (HDF5 from `pictor data ...`), relative to the working directory"},
    {.name = "val", .type = CFG_STRING, .offset = DATA(val), .def = "",
     .doc = "validation dataset; empty = no evaluation"},
    {.name = "workers", .type = CFG_INT, .offset = DATA(workers), .def = "2", .min = 0,
     .max = 256, .doc = "decode/augment threads; 0 = in the training thread"},
    {.name = "prefetch", .type = CFG_INT, .offset = DATA(prefetch), .def = "4", .min = 1,
     .max = 1024, .doc = "batches prepared ahead of the training step"},
    {.name = "sampler", .type = CFG_ENUM, .offset = DATA(sampler), .def = "random",
     .choices = "sequential|random|balanced",
     .doc = "batch order; balanced = every batch holds every domain"},
    {.name = "domain_weights", .type = CFG_FLOAT_LIST, .offset = DATA(domain_weights),
     .def = "[]", .min = 0, .max = 1e9,
     .doc = "balanced: share of each domain (by id) in a batch; empty = equal"},
    {.name = "holdout_domain", .type = CFG_STRING, .offset = DATA(holdout), .def = "",
     .doc = "domain left out of training and evaluated on its own: its name or id; empty = none"},
    {.name = "drop_last", .type = CFG_BOOL, .offset = DATA(drop_last), .def = "false",
     .doc = "sequential/random: drop the short last batch of an epoch"},
    {.name = "image_size", .type = CFG_INT, .offset = DATA(image_size), .def = "0", .min = 0,
     .max = 16384, .doc = "side of the model's square input (train and eval); 0 = as stored"},
    {.name = "normalize", .type = CFG_ENUM, .offset = DATA(normalize), .def = "unit",
     .choices = "none|unit|symmetric|imagenet",
     .doc = "pixels: none = 0..255, unit = x/255, symmetric = (x-127.5)/127.5, imagenet = "
            "(x/255 - mean) / std with torchvision's ImageNet mean and std"},
    {.name = "resize_mode", .type = CFG_ENUM, .offset = DATA(resize_mode), .def = "stretch",
     .choices = "stretch|letterbox",
     .doc = "how images reach image_size (train and eval): stretch, or keep the aspect ratio and "
            "pad (letterbox)"},
    {.name = "pad_value", .type = CFG_INT, .offset = DATA(pad_value), .def = "0", .min = 0,
     .max = 255, .doc = "image value of pixels that padding or rotation uncovers"},
    {.name = "mask_pad_value", .type = CFG_INT, .offset = DATA(mask_pad_value), .def = "0",
     .min = 0, .max = 255,
     .doc = "semantic-mask value of pixels that padding or rotation uncovers (255 = ignore)"},
};

#define AUG(m) offsetof(settings_augment, m)
static const cfg_field augment_fields[] = {
    {.name = "blur_prob", .type = CFG_FLOAT, .offset = AUG(blur_prob), .def = "0", .min = 0,
     .max = 1, .doc = "probability of a gaussian blur"},
    {.name = "blur_sigma", .type = CFG_FLOAT, .offset = AUG(blur_sigma), .def = "1.0", .min = 0,
     .max = 100, .doc = "largest blur sigma, in pixels (drawn from (0, blur_sigma])"},
    {.name = "resize", .type = CFG_INT, .offset = AUG(resize), .def = "0", .min = 0,
     .max = 16384, .doc = "resize to this side before cropping; 0 = no"},
    {.name = "crop", .type = CFG_INT, .offset = AUG(crop), .def = "0", .min = 0, .max = 16384,
     .doc = "random square crop of this side (evaluation: resize, then the centre crop); 0 = no"},
    {.name = "rot90", .type = CFG_BOOL, .offset = AUG(rot90), .def = "false",
     .doc = "random rotation by 0, 90, 180 or 270 degrees"},
    {.name = "hflip", .type = CFG_FLOAT, .offset = AUG(hflip), .def = "0", .min = 0, .max = 1,
     .doc = "probability of a horizontal flip"},
    {.name = "brightness", .type = CFG_FLOAT, .offset = AUG(brightness), .def = "0", .min = 0,
     .max = 1, .doc = "colour jitter: brightness factor from [1-b, 1+b]; 0 = off"},
    {.name = "contrast", .type = CFG_FLOAT, .offset = AUG(contrast), .def = "0", .min = 0,
     .max = 1, .doc = "colour jitter: contrast factor from [1-c, 1+c]; 0 = off"},
    {.name = "saturation", .type = CFG_FLOAT, .offset = AUG(saturation), .def = "0", .min = 0,
     .max = 1, .doc = "colour jitter: saturation factor from [1-s, 1+s]; 0 = off"},
    {.name = "rotate", .type = CFG_FLOAT, .offset = AUG(rotate), .def = "0", .min = 0,
     .max = 180, .doc = "rotation by an angle from [-rotate, rotate] degrees; 0 = off"},
    {.name = "object_crop_prob", .type = CFG_FLOAT, .offset = AUG(object_crop_prob), .def = "0",
     .min = 0, .max = 1,
     .doc = "probability of a crop around the object, resized to image_size (else the crop)"},
    {.name = "object_crop_scale", .type = CFG_FLOAT_LIST, .offset = AUG(object_crop_scale),
     .def = "[1.0, 2.0]", .min = 0.05, .max = 100, .count = 2,
     .doc = "[lo, hi]: the object crop's size over the object's box (>= 1 keeps it whole)"},
};

static const cfg_field model_fields[] = {
    {.name = "type", .type = CFG_STRING, .offset = offsetof(settings_model, type), .def = "",
     .doc = "model driver, by its registry name"},
};

const cfg_section settings_run_section = {"run", run_fields, N_ELEMS(run_fields),
                                          "where the run directory goes"};
const cfg_section settings_train_section = {"train", train_fields, N_ELEMS(train_fields),
                                            "the training loop"};
const cfg_section settings_optim_section = {"optim", optim_fields, N_ELEMS(optim_fields),
                                            "the optimizer"};
const cfg_section settings_sched_section = {"sched", sched_fields, N_ELEMS(sched_fields),
                                            "the learning-rate schedule"};
const cfg_section settings_data_section = {"data", data_fields, N_ELEMS(data_fields),
                                           "datasets and the loader"};
const cfg_section settings_augment_section = {"data.augment", augment_fields,
                                              N_ELEMS(augment_fields),
                                              "training-time augmentations"};
const cfg_section settings_model_section = {"model", model_fields, N_ELEMS(model_fields),
                                            "the model (its driver adds its own keys)"};

/* ================================================================ sections of a settings */

/* The common tables and where each one's struct lives in s. */
static int common_sections(settings *s, const cfg_section **secs, void **structs)
{
    const cfg_section *t[SETTINGS_N_SECTIONS] = {
        &settings_run_section,  &settings_train_section, &settings_optim_section,
        &settings_sched_section, &settings_data_section, &settings_augment_section,
        &settings_model_section};
    void *p[SETTINGS_N_SECTIONS] = {&s->run,  &s->train,        &s->optim, &s->sched,
                                    &s->data, &s->data.augment, &s->model};
    for (int i = 0; i < SETTINGS_N_SECTIONS; i++) {
        secs[i] = t[i];
        structs[i] = p[i];
    }
    return SETTINGS_N_SECTIONS;
}

int settings_sections(const settings *s, const cfg_section *secs[SETTINGS_N_SECTIONS],
                      const void *structs[SETTINGS_N_SECTIONS])
{
    void *p[SETTINGS_N_SECTIONS];
    int n = common_sections((settings *)s, secs, p);
    for (int i = 0; i < n; i++)
        structs[i] = p[i];
    return n;
}

/* Common then extra tables (emission and hash order). */
static int all_sections(const settings *s, const cfg_section **secs, const void **structs)
{
    int n = settings_sections(s, secs, structs);
    for (int i = 0; i < s->extra.n; i++, n++) {
        secs[n] = s->extra.secs[i];
        structs[n] = s->extra.structs[i];
    }
    return n;
}

/* ================================================================ checks across keys */

static int fail_at(const settings *s, const char *key, char *err, size_t errlen, const char *what)
{
    char where[4300];
    cfg_where(s->doc, key, where, sizeof where);
    if (err && errlen)
        snprintf(err, errlen, "%s: %s: %s", where, key, what);
    return -1;
}

static int check_train(const settings *s, char *err, size_t errlen)
{
    if (!s->train.max_steps && !s->train.epochs)
        return fail_at(s, "train.epochs", err, errlen,
                       "0 epochs and max_steps 0 leave nothing to train: set one of them");
    return 0;
}

static int check_optim(const settings *s, char *err, size_t errlen)
{
    for (int i = 0; i < s->optim.betas.n; i++)
        if (s->optim.betas.v[i] >= 1)
            return fail_at(s, "optim.betas", err, errlen, "each beta must be below 1");
    return 0;
}

static int check_sched(const settings *s, char *err, size_t errlen)
{
    const cfg_int_list *m = &s->sched.milestones;
    for (int i = 1; i < m->n; i++)
        if (m->v[i] <= m->v[i - 1])
            return fail_at(s, "sched.milestones", err, errlen,
                           "expected strictly increasing steps");
    if (s->sched.type == SETTINGS_SCHED_MULTISTEP && !m->n)
        return fail_at(s, "sched.milestones", err, errlen,
                       "sched.type multistep needs at least one milestone");
    return 0;
}

static int check_data(settings *s, char *err, size_t errlen)
{
    /* holdout_domain: a number is an id now; a name is resolved against the dataset later */
    s->data.holdout_domain = -1;
    const char *h = s->data.holdout;
    if (h[0] >= '0' && h[0] <= '9') {
        char *end;
        long v = strtol(h, &end, 10);
        if (*end || v > 1000000) {
            char what[300];
            snprintf(what, sizeof what, "expected a domain name or id (0, 1, ...), got '%.200s'", h);
            return fail_at(s, "data.holdout_domain", err, errlen, what);
        }
        s->data.holdout_domain = v;
    } else if (!strcmp(h, "-1")) {
        s->data.holdout[0] = 0;
    }
    for (int i = 0; i < s->data.domain_weights.n; i++)
        if (!(s->data.domain_weights.v[i] > 0))
            return fail_at(s, "data.domain_weights", err, errlen,
                           "expected positive weights (leave a domain out with holdout_domain)");
    return 0;
}

/* The object crop is resized to data.image_size, and comes after the crop-free resize. */
static int check_augment(const settings *s, char *err, size_t errlen)
{
    const settings_augment *a = &s->data.augment;
    const cfg_float_list *sc = &a->object_crop_scale;
    if (sc->n == 2 && sc->v[0] > sc->v[1])
        return fail_at(s, "data.augment.object_crop_scale", err, errlen,
                       "expected [lo, hi] with lo <= hi");
    if (a->object_crop_prob > 0 && s->data.image_size == 0)
        return fail_at(s, "data.augment.object_crop_prob", err, errlen,
                       "the object crop is resized to data.image_size: set it");
    if (a->object_crop_prob > 0 && a->resize > 0)
        return fail_at(s, "data.augment.object_crop_prob", err, errlen,
                       "cannot be combined with data.augment.resize (a resize before the crop)");
    return 0;
}

/* run.name: the config file's stem when empty; a plain directory name either way. */
static int fill_run_name(settings *s, char *err, size_t errlen)
{
    if (!s->run.name[0]) {
        const char *path = cfg_doc_path(s->doc);
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        const char *dot = strrchr(base, '.');
        size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
        char *name = len ? strndup(base, len) : strdup("run");
        if (!name) {
            if (err && errlen)
                snprintf(err, errlen, "run.name: out of memory");
            return -1;
        }
        free(s->run.name);
        s->run.name = name;
    }
    const char *n = s->run.name;
    if (strchr(n, '/') || !strcmp(n, ".") || !strcmp(n, ".."))
        return fail_at(s, "run.name", err, errlen,
                       "expected a plain directory name (no '/', not '.' or '..')");
    return 0;
}

/* ================================================================ binding */

static void release_all(settings *s)
{
    const cfg_section *secs[SETTINGS_N_SECTIONS + SETTINGS_MAX_EXTRA];
    void *structs[SETTINGS_N_SECTIONS + SETTINGS_MAX_EXTRA];
    int n = common_sections(s, secs, structs);
    for (int i = 0; i < s->extra.n; i++) {
        secs[n] = s->extra.secs[i];
        structs[n++] = s->extra.structs[i];
    }
    for (int i = 0; i < n; i++)
        cfg_release(secs[i], structs[i]);
}

void settings_free(settings *s)
{
    if (!s)
        return;
    release_all(s);
    cfg_doc_free(s->doc);
    memset(s, 0, sizeof *s);
}

static int bind_all(settings *s, char *err, size_t errlen)
{
    const cfg_section *secs[SETTINGS_N_SECTIONS];
    void *structs[SETTINGS_N_SECTIONS];
    int n = common_sections(s, secs, structs);
    for (int i = 0; i < n; i++)
        if (cfg_bind(s->doc, secs[i], structs[i], err, errlen))
            return -1;
    for (int i = 0; i < s->extra.n; i++)
        if (cfg_bind(s->doc, s->extra.secs[i], s->extra.structs[i], err, errlen))
            return -1;
    if (s->extra.unchecked_model)
        cfg_accept(s->doc, "model");
    return 0;
}

int settings_bind(settings *s, cfg_doc *doc, const settings_extra *extra, char *err,
                  size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->doc = doc;
    if (extra) {
        if (extra->n < 0 || extra->n > SETTINGS_MAX_EXTRA) {
            if (err && errlen)
                snprintf(err, errlen, "settings: %d extra tables (at most %d)", extra->n,
                         SETTINGS_MAX_EXTRA);
            cfg_doc_free(doc);
            s->doc = NULL;
            return -1;
        }
        s->extra = *extra;
    }
    if (bind_all(s, err, errlen) || cfg_check_unknown(s->doc, err, errlen) ||
        check_train(s, err, errlen) || check_optim(s, err, errlen) || check_sched(s, err, errlen) ||
        check_data(s, err, errlen) || check_augment(s, err, errlen) ||
        fill_run_name(s, err, errlen)) {
        settings_free(s);
        return -1;
    }
    const cfg_section *secs[SETTINGS_N_SECTIONS + SETTINGS_MAX_EXTRA];
    const void *structs[SETTINGS_N_SECTIONS + SETTINGS_MAX_EXTRA];
    int n = all_sections(s, secs, structs);
    cfg_hash_hex(cfg_hash(secs, structs, n, s->doc), s->hash);
    return 0;
}

int settings_load(settings *s, const char *path, const char *const *overrides, int n_overrides,
                  const settings_extra *extra, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    cfg_doc *doc = cfg_load(path, overrides, n_overrides, err, errlen);
    if (!doc) {
        /* the caller's extra structs were never touched: nothing to release */
        return -1;
    }
    return settings_bind(s, doc, extra, err, errlen);
}

int settings_emit(FILE *f, const settings *s)
{
    const cfg_section *secs[SETTINGS_N_SECTIONS + SETTINGS_MAX_EXTRA];
    const void *structs[SETTINGS_N_SECTIONS + SETTINGS_MAX_EXTRA];
    int n = all_sections(s, secs, structs);
    if (fprintf(f, "# resolved config of %s (hash %s): every key, defaults filled in\n",
                s->doc ? cfg_doc_path(s->doc) : "?", s->hash) < 0)
        return -1;
    return cfg_emit(f, secs, structs, n, s->doc, CFG_EMIT_DOCS);
}
