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
 */
#ifndef PICTOR_BENCH_STEP_H
#define PICTOR_BENCH_STEP_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/driver.h"
#include "pipeline/collate.h"
#include "synth/synth_instances.h"
#include "bench_util.h"

typedef struct {
    double fwd, bwd, opt;
} bench_step_times;

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
    if (rc == 0) {
        collate_config cc = d->collate(env);
        rc = collate_samples(&cc, smp, n, out, err, sizeof err);
    }
    if (rc)
        fprintf(stderr, "%s: the batch: %s\n", who, err);
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

#endif
