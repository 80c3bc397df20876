/*
 * bench_step.h - one training step of a model type as `pictor train` runs it, for the
 * *_step_speed_vs_python benches (bench_polarmask_step.c, bench_interactive_step.c,
 * bench_portrait_step.c, bench_gcn_step.c), timed in three parts:
 *
 *   forward  = zero the gradients, the driver's loss (its own forward and loss, d->loss), reading
 *              the loss and every term (the trainer reads and checks each one);
 *   backward = backward of the loss, then the step's scope released;
 *   optim    = the gradient norm clip over the store's parameters (train.grad_clip; the trainer
 *              computes the norm even without a limit: max_norm INFINITY then) and the optimizer
 *              step (core/optim_setup.h: the trainer's two groups).
 *
 * There is no learning-rate schedule (a multiplication per group) and no data loading: the batch
 * is the caller's, fixed. bench_print_parts prints the medians "c_step_ms=" (the sum of the three
 * parts) and "c_forward_ms=", "c_backward_ms=", "c_optim_ms=", the names run_benchmarks.sh and the
 * Python sides (bench_step.py) use. bench_shapes_batch: the first n scenes of the synthetic shapes
 * train split collated by a driver. Each bench is its own executable and uses some of these: the
 * functions are static inline.
 *
 * bench_parse reads the benches' common options (each "--key value"):
 *   --config PATH --threads N --steps N --warmup N --batch B (0: train.batch_size) --size S
 *   --write FILE (the batch and settings for the Python side)
 * bench_model_open binds a config with a driver's tables as the trainer does, seeds, and builds
 * the model on S x S images (data.image_size when set, else --size) and the trainer's optimizer;
 * bench_model_step times step i (< warmup: not kept), bench_model_close frees it all.
 */
#ifndef PICTOR_BENCH_STEP_H
#define PICTOR_BENCH_STEP_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/driver.h"
#include "core/optim_setup.h"
#include "pipeline/collate.h"
#include "synth/synth_instances.h"
#include "bench_util.h"

typedef struct {
    double fwd, bwd, opt;
} bench_step_times;

/* The batch's last step: when rc is 0, collate the n samples with the driver's collate into out;
 * when that or the caller's own preparation (rc != 0, message in err) failed, print err after
 * who. Returns 0 or -1. */
static inline int bench_collate(const char *who, const driver *d, const drv_env *env, sample *smp,
                                int n, collated_batch *out, int rc, char *err, size_t errlen)
{
    if (rc == 0) {
        collate_config cc = d->collate(env);
        rc = collate_samples(&cc, smp, n, out, err, errlen);
    }
    if (rc)
        fprintf(stderr, "%s: the batch: %s\n", who, err);
    return rc ? -1 : 0;
}

/* The first n scenes of the shapes train split at size px, collated by the driver d. 0, or -1
 * (printed after who). */
static inline int bench_shapes_batch(const char *who, const driver *d, const drv_env *env, int n,
                              int size, collated_batch *out)
{
    synth_scene *sc = calloc((size_t)n, sizeof *sc);
    sample *smp = calloc((size_t)n, sizeof *smp);
    instance *inst = calloc((size_t)n * SYNTH_SCENE_MAX_INSTANCES, sizeof *inst);
    char err[1024];
    int rc = sc && smp && inst ? 0 : (snprintf(err, sizeof err, "out of memory"), -1);
    for (int i = 0; rc == 0 && i < n; i++) {
        if (synth_shapes_scene(size, 3, 0, 1, i, &sc[i], err, sizeof err)) {
            rc = -1;
            break;
        }
        sample_init(&smp[i]);
        smp[i].index = i;
        smp[i].h = smp[i].w = size;
        smp[i].c = 3;
        smp[i].image = sc[i].image; /* borrowed: the samples are not sample_free'd */
        smp[i].instances = inst + (size_t)i * SYNTH_SCENE_MAX_INSTANCES;
        smp[i].n_instances = sc[i].n;
        for (int k = 0; k < sc[i].n; k++)
            smp[i].instances[k] = (instance){.class_id = sc[i].inst[k].class_id,
                                             .mask = sc[i].inst[k].mask};
    }
    rc = bench_collate(who, d, env, smp, n, out, rc, err, sizeof err);
    for (int i = 0; sc && i < n; i++)
        synth_scene_free(&sc[i]);
    free(sc), free(smp), free(inst);
    return rc;
}

/* "c_first_loss=<total> (name value, ...)": the first step's loss and terms, to compare with the
 * Python side's first step. */
static inline void bench_print_terms(double total, const drv_terms *terms)
{
    printf("c_first_loss=%.5f (", total);
    for (int i = 0; i < terms->n; i++)
        printf("%s%s %.5f", i ? ", " : "", terms->name[i], pt_item_or_nan(terms->value[i]));
    printf(")\n");
}

/* One training step (see the header); first: print the loss and terms. 0, or 2 with the message
 * printed after who. */
static inline int bench_driver_step(const char *who, const driver *d, void *model, pt_optim *opt,
                             nn_store *store, double max_norm, const collated_batch *b, int first,
                             bench_step_times *t)
{
    double t0 = now_ms();
    pt_optim_zero_grad(opt);
    size_t mark = pt_scope_begin();
    drv_terms terms;
    memset(&terms, 0, sizeof terms);
    pt_tensor *loss = d->loss(model, b, &terms);
    double lv = pt_item_or_nan(loss);
    for (int i = 0; i < terms.n; i++) /* the trainer reads and checks every term */
        if (!isfinite(pt_item_or_nan(terms.value[i])))
            lv = NAN;
    if (first)
        bench_print_terms(lv, &terms);
    double t1 = now_ms();
    int rc = !loss || !isfinite(lv) || pt_backward(loss, NULL, 0) != PT_OK;
    pt_scope_end(mark);
    double t2 = now_ms();
    int np;
    pt_tensor *const *params = nn_store_params(store, &np);
    double gnorm;
    rc = rc || pt_clip_grad_norm(params, np, max_norm, 2.0, &gnorm) != PT_OK ||
         pt_optim_step(opt) != PT_OK;
    double t3 = now_ms();
    if (rc) {
        fprintf(stderr, "%s: %s\n", who, isfinite(lv) ? pt_error() : "the loss is not finite");
        return 2;
    }
    *t = (bench_step_times){t1 - t0, t2 - t1, t3 - t2};
    return 0;
}

/* The medians of the n >= 1 steps' parts: c_step_ms / c_forward_ms / c_backward_ms / c_optim_ms. */
static inline void bench_print_parts(const bench_step_times *t, int n)
{
    static const char *const part[4] = {"step", "forward", "backward", "optim"};
    double *v = malloc(sizeof *v * (size_t)n);
    if (!v) {
        fprintf(stderr, "bench_print_parts: out of memory\n");
        return;
    }
    for (int k = 0; k < 4; k++) {
        for (int i = 0; i < n; i++)
            v[i] = k == 0   ? t[i].fwd + t[i].bwd + t[i].opt
                   : k == 1 ? t[i].fwd
                   : k == 2 ? t[i].bwd
                            : t[i].opt;
        printf("c_%s_ms=%.4f\n", part[k], bench_median(v, n));
    }
    free(v);
}

/* ------------------------------------------------------------------ what --write saves */

typedef struct {
    const char *k;
    double x;
} bench_num;

/* n numbers as metadata of dict ("%.17g": exact). 0, or -1 (pt_error). */
static inline int bench_put_nums(pt_dict *dict, const bench_num *nums, size_t n)
{
    char v[64];
    for (size_t i = 0; i < n; i++) {
        snprintf(v, sizeof v, "%.17g", nums[i].x);
        if (pt_dict_set_meta(dict, nums[i].k, v) != PT_OK)
            return -1;
    }
    return 0;
}

/* The trainer's optimizer settings as metadata of dict, under the names bench_step.py's
 * optimizer() and max_norm() read: optim (sgd|adam|adamw), lr, weight_decay, momentum, nesterov,
 * beta1, beta2 (0.9 / 0.999 unless optim.betas), eps, decay_bias_and_norm, grad_clip. 0, or -1. */
static inline int bench_put_optim_meta(pt_dict *dict, const settings *c)
{
    static const char *const optims[] = {"sgd", "adam", "adamw"};
    const bench_num nums[] = {
        {"lr", c->optim.lr}, {"weight_decay", c->optim.weight_decay},
        {"momentum", c->optim.momentum}, {"nesterov", c->optim.nesterov},
        {"beta1", c->optim.betas.n == 2 ? c->optim.betas.v[0] : 0.9},
        {"beta2", c->optim.betas.n == 2 ? c->optim.betas.v[1] : 0.999},
        {"eps", c->optim.eps}, {"decay_bias_and_norm", c->optim.decay_bias_and_norm},
        {"grad_clip", c->train.grad_clip}};
    if (c->optim.type < 0 || c->optim.type > 2) {
        pt_error_set("bench: unknown optimizer type");
        return -1;
    }
    return bench_put_nums(dict, nums, sizeof nums / sizeof *nums) ||
                   pt_dict_set_meta(dict, "optim", optims[c->optim.type]) != PT_OK
               ? -1 : 0;
}

/* ------------------------------------------------------------------ options and the model */

typedef struct {
    const char *config, *write;
    int threads, steps, warmup, batch, size;
} bench_opts;

/* The options into *o, whose fields hold the bench's defaults. 0, or 1 (printed after who). */
static inline int bench_parse(const char *who, int argc, char **argv, bench_opts *o)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--config")) o->config = v;
        else if (!strcmp(k, "--write")) o->write = v;
        else if (!strcmp(k, "--threads")) o->threads = atoi(v);
        else if (!strcmp(k, "--steps")) o->steps = atoi(v);
        else if (!strcmp(k, "--warmup")) o->warmup = atoi(v);
        else if (!strcmp(k, "--batch")) o->batch = atoi(v);
        else if (!strcmp(k, "--size")) o->size = atoi(v);
        else {
            fprintf(stderr, "%s: unknown option %s %s\n", who, k, v);
            return 1;
        }
    }
    if (argc % 2 == 0 || o->steps < 1 || o->steps > 100000 || o->warmup < 0 || o->batch < 0 ||
        o->threads < 1 || o->size < 16 || o->size > 4096) {
        fprintf(stderr, "%s: options come in pairs; need steps >= 1, warmup >= 0, threads >= 1, "
                        "batch >= 0 (0: train.batch_size), size 16..4096\n", who);
        return 1;
    }
    return 0;
}

typedef struct {
    const driver *d;
    void *mc;                /* the driver's model settings */
    settings c;
    nn_store *store;
    drv_env env;
    void *model;
    pt_optim *opt;
    int batch, size;         /* the batch size and the image side used */
    int64_t n_params;
    double max_norm;         /* train.grad_clip, INFINITY without one */
    bench_step_times *t;     /* the timed steps' parts, o->steps of them */
    int loaded;              /* c holds settings to free */
} bench_model;

/* Build *m for driver `type` from o->config (see the header); env_tmpl gives the dataset facts
 * (in_channels, num_classes, class_names). 0, or 1 (the config) / 2 (the model), printed after who;
 * bench_model_close(m) either way. */
static inline int bench_model_open(bench_model *m, const char *who, const char *type,
                                   const bench_opts *o, drv_env env_tmpl)
{
    memset(m, 0, sizeof *m);
    char err[2048];
    settings_extra x = {0};
    m->d = driver_find(type);
    m->mc = m->d ? calloc(1, m->d->model_cfg_size) : NULL;
    if (!m->mc || driver_extra_sections(m->d, m->mc, &x) ||
        settings_load(&m->c, o->config, NULL, 0, &x, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", who, m->mc ? err : "no such driver");
        return 1;
    }
    m->loaded = 1;
    m->batch = o->batch > 0 ? o->batch : (int)m->c.train.batch_size;
    m->size = m->c.data.image_size > 0 ? (int)m->c.data.image_size : o->size;
    m->max_norm = m->c.train.grad_clip > 0 ? m->c.train.grad_clip : INFINITY;
    pt_set_num_threads(o->threads);
    pt_manual_seed((uint64_t)m->c.train.seed);
    m->store = nn_store_new((uint64_t)m->c.train.seed);
    m->env = env_tmpl;
    m->env.cfg = &m->c, m->env.model_cfg = m->mc, m->env.store = m->store, m->env.run_dir = "";
    m->env.image_h = m->env.image_w = m->size;
    m->model = m->store ? m->d->create(&m->env, err, sizeof err) : NULL;
    m->opt = m->model ? optim_from_settings(&m->c, m->store, err, sizeof err) : NULL;
    m->t = calloc((size_t)o->steps, sizeof *m->t);
    if (!m->model || !m->opt || !m->t) {
        fprintf(stderr, "%s: %s\n", who, m->store && m->t ? err : "out of memory");
        return 2;
    }
    int np;
    pt_tensor *const *params = nn_store_params(m->store, &np);
    for (int i = 0; i < np; i++)
        m->n_params += pt_numel(params[i]);
    return 0;
}

/* Step i of warmup + steps on batch b (the first prints its loss terms; warm-up steps are not
 * kept). 0, or 2 (printed after who). */
static inline int bench_model_step(bench_model *m, const char *who, const bench_opts *o,
                                   const collated_batch *b, int i)
{
    bench_step_times s;
    int rc = bench_driver_step(who, m->d, m->model, m->opt, m->store, m->max_norm, b, i == 0, &s);
    if (!rc && i >= o->warmup)
        m->t[i - o->warmup] = s;
    return rc;
}

static inline void bench_model_close(bench_model *m)
{
    free(m->t);
    pt_optim_free(m->opt);
    if (m->model)
        m->d->destroy(m->model);
    nn_store_free(m->store);
    if (m->loaded)
        settings_free(&m->c);
    free(m->mc);
    memset(m, 0, sizeof *m);
}

#endif
