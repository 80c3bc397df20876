/*
 * bench_polarmask_step.c - time one polarmask training step as `pictor train` runs it: the
 * driver's own forward and loss (drv_polarmask: ResNet + FPN P3-P7, the shared head, the refine
 * module and the contour head as the config says; focal + centerness BCE + polar IoU coarse and
 * fine + contour focal), reading the loss and each term (the trainer logs them), backward, the
 * gradient norm clip (train.grad_clip; the trainer computes the norm even without a limit) and
 * the optimizer step with the trainer's two groups (weight decay on the >= 2-D parameters only,
 * unless optim.decay_bias_and_norm). The model, loss and optimizer settings come from a config
 * file (default experiments/polarmask/config.yaml), bound with the driver's tables as the trainer
 * binds them; no dataset is opened.
 *
 * The batch is fixed and built once before timing: the first B scenes of the synthetic `shapes`
 * train split (data/synth/synth_instances.h) at --size px, collated by the driver's collate
 * (normalisation and polar targets in C, as the loader's workers do). There is no learning-rate
 * schedule (its cost is a multiplication per group) and no data loading in the timed step.
 *
 *   bench_polarmask_step [--config PATH] [--threads N] [--steps N] [--warmup N] [--batch B]
 *                        [--size S] [--write FILE]
 *
 * Prints the median ms of the timed steps as "c_step_ms=<ms>" and the medians of its parts as
 * c_forward_ms (forward + loss + reading the terms), c_backward_ms and c_optim_ms (clip + step).
 * --write FILE: before timing, also save the batch (images, cls, rays, ctr, contour) and, as
 * metadata, every setting the step depends on, for the same step in PyTorch
 * (tests/bench/polarmask_step.py reads it); run_benchmarks.sh runs both, interleaved, and prints
 * polarmask_step_speed_vs_python.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/driver.h"
#include "core/optim_setup.h"
#include "bench_step.h"

#define WHO "bench_polarmask_step"

typedef struct {
    const char *config, *write;
    int threads, steps, warmup, batch, size;
} bench_opts;

static int parse(int argc, char **argv, bench_opts *o)
{
    /* the study's stores are 64 px scenes (experiments/polarmask/run.sh: --size 64) */
    *o = (bench_opts){.config = "experiments/polarmask/config.yaml", .threads = 1, .steps = 10,
                      .warmup = 2, .batch = 0, .size = 64};
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
            fprintf(stderr, WHO ": unknown option %s %s\n", k, v);
            return 1;
        }
    }
    if (argc % 2 == 0 || o->steps < 1 || o->steps > 100000 || o->warmup < 0 || o->batch < 0 ||
        o->size < SYNTH_SCENE_MIN_SIZE || o->size > SYNTH_SCENE_MAX_SIZE) {
        fprintf(stderr, WHO ": options come in pairs; need steps >= 1, warmup >= 0, batch >= 0 "
                        "(0: train.batch_size), size %d..%d\n", SYNTH_SCENE_MIN_SIZE,
                SYNTH_SCENE_MAX_SIZE);
        return 1;
    }
    return 0;
}

/* The field `key` of the driver's section `section` (its model section or one of its
 * more_sections), whose offsets are relative to model_cfg; NULL when there is none. */
static const cfg_field *driver_field(const driver *d, const char *section, const char *key)
{
    const cfg_section *secs[SETTINGS_MAX_EXTRA + 1];
    int n = 0;
    secs[n++] = d->model_section;
    for (int i = 0; d->more_sections && d->more_sections[i] && n <= SETTINGS_MAX_EXTRA; i++)
        secs[n++] = d->more_sections[i];
    for (int i = 0; i < n; i++)
        if (secs[i] && !strcmp(secs[i]->name, section))
            for (int f = 0; f < secs[i]->n_fields; f++)
                if (!strcmp(secs[i]->fields[f].name, key))
                    return &secs[i]->fields[f];
    return NULL;
}

/* The value of a numeric, boolean or enum field as text (enums by name), for the metadata. */
static int field_text(const driver *d, const void *model_cfg, const char *section,
                      const char *key, char *out, size_t len)
{
    const cfg_field *f = driver_field(d, section, key);
    if (!f)
        return -1;
    const char *p = (const char *)model_cfg + f->offset;
    switch (f->type) {
    case CFG_INT: snprintf(out, len, "%lld", (long long)*(const int64_t *)p); return 0;
    case CFG_FLOAT: snprintf(out, len, "%.17g", *(const double *)p); return 0;
    case CFG_BOOL: snprintf(out, len, "%d", *(const int *)p); return 0;
    case CFG_ENUM: {
        int idx = *(const int *)p;
        const char *c = f->choices;
        for (int i = 0; i < idx && c; i++)
            c = (c = strchr(c, '|')) ? c + 1 : NULL;
        if (!c)
            return -1;
        size_t n = strcspn(c, "|");
        snprintf(out, len, "%.*s", (int)n, c);
        return 0;
    }
    default: return -1;
    }
}

/* The batch and the settings of the step into a safetensors file for the PyTorch side. */
static int write_batch(const char *path, const driver *d, const settings *c, const void *mc,
                       const drv_env *env, const collated_batch *b)
{
    static const char *const names[4] = {"cls", "rays", "ctr", "contour"};
    static const char *const model_keys[] = {"backbone", "channels", "num_rays", "head_convs",
                                             "gn_groups", "refine", "contour_head"};
    static const char *const loss_keys[] = {"coarse_weight", "contour_weight", "focal_alpha",
                                            "focal_gamma"};
    static const char *const optims[] = {"sgd", "adam", "adamw"};
    pt_dict *dict = pt_dict_new();
    int ok = dict && pt_dict_put(dict, "images", pt_clone(b->images)) == PT_OK;
    for (int t = 0; ok && t < 4 && t < b->n_targets; t++)
        ok = pt_dict_put(dict, names[t], pt_clone(b->targets[t])) == PT_OK;
    ok = ok && b->n_targets == 4;
    char v[64];
    for (size_t i = 0; ok && i < sizeof model_keys / sizeof *model_keys; i++)
        ok = !field_text(d, mc, "model", model_keys[i], v, sizeof v) &&
             pt_dict_set_meta(dict, model_keys[i], v) == PT_OK;
    for (size_t i = 0; ok && i < sizeof loss_keys / sizeof *loss_keys; i++)
        ok = !field_text(d, mc, "loss", loss_keys[i], v, sizeof v) &&
             pt_dict_set_meta(dict, loss_keys[i], v) == PT_OK;
    struct { const char *k; double x; } nums[] = {
        {"num_classes", env->num_classes}, {"lr", c->optim.lr},
        {"weight_decay", c->optim.weight_decay}, {"momentum", c->optim.momentum},
        {"nesterov", c->optim.nesterov},
        {"beta1", c->optim.betas.n == 2 ? c->optim.betas.v[0] : 0.9},
        {"beta2", c->optim.betas.n == 2 ? c->optim.betas.v[1] : 0.999},
        {"eps", c->optim.eps}, {"decay_bias_and_norm", c->optim.decay_bias_and_norm},
        {"grad_clip", c->train.grad_clip}};
    for (size_t i = 0; ok && i < sizeof nums / sizeof *nums; i++) {
        snprintf(v, sizeof v, "%.17g", nums[i].x);
        ok = pt_dict_set_meta(dict, nums[i].k, v) == PT_OK;
    }
    ok = ok && pt_dict_set_meta(dict, "optim", optims[c->optim.type]) == PT_OK &&
         pt_safetensors_save(dict, path) == PT_OK;
    if (!ok)
        fprintf(stderr, WHO ": writing %s: %s\n", path, pt_error());
    pt_dict_free(dict);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    bench_opts o;
    if (parse(argc, argv, &o))
        return 1;
    const driver *d = driver_find("polarmask");
    void *mc = d ? calloc(1, d->model_cfg_size) : NULL;
    settings_extra x = {0};
    settings c;
    char err[2048];
    if (!mc || driver_extra_sections(d, mc, &x) ||
        settings_load(&c, o.config, NULL, 0, &x, err, sizeof err)) {
        fprintf(stderr, WHO ": %s\n", mc ? err : "no polarmask driver");
        free(mc);
        return 1;
    }
    const int B = o.batch > 0 ? o.batch : (int)c.train.batch_size;
    const int size = c.data.image_size > 0 ? (int)c.data.image_size : o.size;
    pt_set_num_threads(o.threads);
    pt_manual_seed((uint64_t)c.train.seed);
    nn_store *store = nn_store_new((uint64_t)c.train.seed);
    drv_env env = {.cfg = &c, .model_cfg = mc, .store = store, .in_channels = 3,
                   .image_h = size, .image_w = size, .num_classes = SYNTH_N_SHAPES,
                   .class_names = SYNTH_SHAPE_CLASSES, .run_dir = ""};
    void *model = store ? d->create(&env, err, sizeof err) : NULL;
    if (!model)
        fprintf(stderr, WHO ": %s\n", store ? err : "out of memory");
    collated_batch b;
    memset(&b, 0, sizeof b);
    pt_optim *opt = model ? optim_from_settings(&c, store, err, sizeof err) : NULL;
    bench_step_times *t = calloc((size_t)o.steps, sizeof *t);
    int rc = !model ? 2 : !opt ? (fprintf(stderr, WHO ": %s\n", err), 2)
             : !t ? (fprintf(stderr, WHO ": out of memory\n"), 2)
             : bench_shapes_batch(WHO, d, &env, B, size, &b) ? 2
             : o.write && write_batch(o.write, d, &c, mc, &env, &b) ? 2 : 0;
    if (!rc) {
        int np;
        pt_tensor *const *params = nn_store_params(store, &np);
        int64_t n = 0;
        for (int i = 0; i < np; i++)
            n += pt_numel(params[i]);
        printf("polarmask step (pictor): %s, %lld parameters, batch %d, %dx%d, %d threads\n",
               o.config, (long long)n, B, size, size, o.threads);
    }
    const double max_norm = c.train.grad_clip > 0 ? c.train.grad_clip : INFINITY;
    for (int i = 0; !rc && i < o.warmup + o.steps; i++) {
        bench_step_times s;
        rc = bench_driver_step(WHO, d, model, opt, store, max_norm, &b, i == 0, &s);
        if (!rc && i >= o.warmup)
            t[i - o.warmup] = s;
    }
    if (!rc)
        bench_print_parts(t, o.steps);
    free(t);
    collated_batch_free(&b);
    pt_optim_free(opt);
    if (model)
        d->destroy(model);
    nn_store_free(store);
    settings_free(&c);
    free(mc);
    return rc;
}
