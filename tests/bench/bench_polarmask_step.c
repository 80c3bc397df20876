/*
 * bench_polarmask_step.c - time one polarmask training step as `pictor train` runs it: the
 * driver's own forward and loss (drv_polarmask: ResNet + FPN P3-P7, the shared head, the refine
 * module and the contour head as the config says; focal + centerness BCE + polar IoU coarse and
 * fine + contour focal), reading the loss and each term (the trainer logs them), backward, the
 * gradient norm clip (train.grad_clip; the trainer computes the norm even without a limit) and
 * the optimizer step with the trainer's two groups (weight decay on the >= 2-D parameters only,
 * unless optim.decay_bias_and_norm). The model, loss and optimizer settings come from a config
 * file (default experiments/polarmask/config_64px.yaml), bound with the driver's tables as the trainer
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
    const bench_num nums[] = {{"num_classes", env->num_classes}};
    ok = ok && !bench_put_nums(dict, nums, sizeof nums / sizeof *nums) &&
         !bench_put_optim_meta(dict, c) && pt_safetensors_save(dict, path) == PT_OK;
    if (!ok)
        fprintf(stderr, WHO ": writing %s: %s\n", path, pt_error());
    pt_dict_free(dict);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    /* the first study's 64 px scenes and 64-channel model (config_64px.yaml) */
    bench_opts o = {.config = "experiments/polarmask/config_64px.yaml", .threads = 1, .steps = 10,
                    .warmup = 2, .size = 64};
    if (bench_parse(WHO, argc, argv, &o))
        return 1;
    bench_model m;
    collated_batch b;
    memset(&b, 0, sizeof b);
    int rc = bench_model_open(&m, WHO, "polarmask", &o,
                              (drv_env){.in_channels = 3, .num_classes = SYNTH_N_SHAPES,
                                        .class_names = SYNTH_SHAPE_CLASSES});
    rc = rc ? rc : bench_shapes_batch(WHO, m.d, &m.env, m.batch, m.size, &b) ? 2
         : o.write && write_batch(o.write, m.d, &m.c, m.mc, &m.env, &b) ? 2 : 0;
    if (!rc)
        printf("polarmask step (pictor): %s, %lld parameters, batch %d, %dx%d, %d threads\n",
               o.config, (long long)m.n_params, m.batch, m.size, m.size, o.threads);
    for (int i = 0; !rc && i < o.warmup + o.steps; i++)
        rc = bench_model_step(&m, WHO, &o, &b, i);
    if (!rc)
        bench_print_parts(m.t, o.steps);
    collated_batch_free(&b);
    bench_model_close(&m);
    return rc;
}
