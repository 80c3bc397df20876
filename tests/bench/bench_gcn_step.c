/*
 * bench_gcn_step.c - time one gcn training step as `pictor train` runs it (configs/gcn/tissue.yaml
 * by default): the driver's own forward and loss (drv_gcn: the small FCN, then per image SLIC on
 * the detached, RMS-normalised features with k drawn in model.superpixels (1 +- jitter), the
 * superpixel graph (gcn_graph_build: 4-neighbour edges, exp(-d^2 / sigma^2) weights), the
 * segment means, the GCN layers through the sparse normalised adjacency, the weak vertex labels
 * from the area ratio, the class-balanced BCE), reading the loss and its terms, backward, the
 * gradient norm clip and the optimizer step (tests/bench/bench_step.h). Model, loss and optimizer
 * settings come from the config, bound with the driver's tables as the trainer binds them; no
 * data set is opened.
 *
 * SLIC IS PART OF THE STEP: the driver clusters the FCN's current features inside its loss, every
 * step (seed 003, claim 4), so the superpixels change as the FCN learns; they cannot be computed
 * by the loader or fixed in advance. The PyTorch side (gcn_step.py) therefore runs a SLIC on its
 * own features in its step too (scikit-image's, the Cython SLIC a Python user has); the labels
 * differ between the sides (different features, and the two SLICs differ in details: slic.h),
 * the work per image is the same kind and size. To show where the time goes, the bench wraps the
 * driver's calls of slic_segment and gcn_graph_build (GNU ld --wrap, see CMakeLists.txt) and
 * prints their time per step, summed over the batch: c_slic_ms and c_graph_ms (both inside
 * c_forward_ms), and c_superpixels, the mean number of superpixels per image.
 *
 * The batch is fixed and built once before timing: the first B images of the synthetic tissue set
 * (data/synth/synth_tissue.h, seed 1, as `pictor data tissue --seed 1` makes the training store)
 * at --size px (the config's stores are 64 px), with their exact area ratio and the error band
 * 0.05 of the config's data command (the store adds noise of sd 0.05 to the ratio: that changes
 * which vertices are labelled, not the work), collated by the driver's collate.
 *
 *   bench_gcn_step [--config PATH] [--threads N] [--steps N] [--warmup N] [--batch B]
 *                  [--size S] [--write FILE]
 *
 * Prints the medians of the timed steps: c_step_ms= (forward + backward + optim), c_forward_ms,
 * c_backward_ms, c_optim_ms, then c_slic_ms, c_graph_ms and c_superpixels; and, because wall time
 * on a loaded machine measures the load as much as the work, c_step_cpu_ms (the process's CPU
 * time per step: with --threads 1 the work itself, with more threads it adds the pool's
 * spinning) and c_slic_cpu_ms (the SLIC calls' thread CPU time).
 * --write FILE: before timing, save the batch (images as collated, ratio, error) and, as
 * metadata, the resolved config (settings_emit: the model keys), the optimizer settings as the
 * other step benches write them (bench_put_optim_meta) and pictor's
 * parameter count, for gcn_step.py; run_benchmarks.sh runs both interleaved and prints
 * gcn_step_speed_vs_python.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/driver.h"
#include "core/optim_setup.h"
#include "geometry/slic.h"
#include "models/gcn/gcn_graph.h"
#include "synth/synth_tissue.h"
#include "bench_step.h"

#define WHO "bench_gcn_step"

/* ---- the driver's SLIC and graph calls, timed (linked with --wrap=slic_segment,gcn_graph_build) */

static double slic_ms, graph_ms, slic_cpu_ms;
static long sp_calls, sp_total;

/* CPU time of the calling thread, or of the process, in ms */
static double cpu_ms(clockid_t which)
{
    struct timespec ts;
    clock_gettime(which, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

int __real_slic_segment(const float *x, int h, int w, int c, slic_layout layout,
                        const slic_params *p, int32_t *labels, char *err, size_t errlen);
int __wrap_slic_segment(const float *x, int h, int w, int c, slic_layout layout,
                        const slic_params *p, int32_t *labels, char *err, size_t errlen);
int __real_gcn_graph_build(const int32_t *labels, int n, int h, int w, const float *feat, int c,
                           double sigma, gcn_graph *g, char *err, size_t errlen);
int __wrap_gcn_graph_build(const int32_t *labels, int n, int h, int w, const float *feat, int c,
                           double sigma, gcn_graph *g, char *err, size_t errlen);

int __wrap_slic_segment(const float *x, int h, int w, int c, slic_layout layout,
                        const slic_params *p, int32_t *labels, char *err, size_t errlen)
{
    double t0 = now_ms(), c0 = cpu_ms(CLOCK_THREAD_CPUTIME_ID);
    int n = __real_slic_segment(x, h, w, c, layout, p, labels, err, errlen);
    slic_ms += now_ms() - t0;
    slic_cpu_ms += cpu_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
    sp_calls++, sp_total += n > 0 ? n : 0;
    return n;
}

int __wrap_gcn_graph_build(const int32_t *labels, int n, int h, int w, const float *feat, int c,
                           double sigma, gcn_graph *g, char *err, size_t errlen)
{
    double t0 = now_ms();
    int rc = __real_gcn_graph_build(labels, n, h, w, feat, c, sigma, g, err, errlen);
    graph_ms += now_ms() - t0;
    return rc;
}

/* ---- the batch */

/* The first n tissue images (seed 1) at size px, ratio exact, error 0.05, collated by the driver;
 * their ratios and errors also into ratio[n] and error[n]. 0, or -1 (printed). */
static int make_batch(const driver *d, const drv_env *env, int n, int size, collated_batch *out,
                      float *ratio, float *error)
{
    sample *smp = calloc((size_t)n, sizeof *smp);
    char err[1024];
    int rc = smp ? 0 : (snprintf(err, sizeof err, "out of memory"), -1);
    for (int i = 0; rc == 0 && i < n; i++) {
        sample_init(&smp[i]);
        rc = synth_tissue_sample(1, i, size, &smp[i], err, sizeof err);
        smp[i].index = i;
        smp[i].area_error = 0.05f;
        ratio[i] = smp[i].area_ratio, error[i] = smp[i].area_error;
    }
    rc = bench_collate(WHO, d, env, smp, n, out, rc, err, sizeof err);
    for (int i = 0; smp && i < n; i++)
        sample_free(&smp[i]);
    free(smp);
    return rc;
}

/* The batch, the resolved config and the parameter count into a safetensors file. */
static int write_batch(const char *path, const settings *c, const collated_batch *b,
                       const float *ratio, const float *error, int n, int64_t n_params)
{
    char *yaml = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&yaml, &len);
    int ok = f && settings_emit(f, c) == 0;
    if (f)
        ok = fclose(f) == 0 && ok;
    pt_dict *dict = ok ? pt_dict_new() : NULL;
    ok = dict && pt_dict_put(dict, "images", pt_clone(b->images)) == PT_OK &&
         pt_dict_put(dict, "ratio", pt_from_data(ratio, PT_SHAPE(n), PT_F32)) == PT_OK &&
         pt_dict_put(dict, "error", pt_from_data(error, PT_SHAPE(n), PT_F32)) == PT_OK &&
         pt_dict_set_meta(dict, "config", yaml) == PT_OK;
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)n_params);
    ok = ok && pt_dict_set_meta(dict, "c_parameters", v) == PT_OK &&
         !bench_put_optim_meta(dict, c) && pt_safetensors_save(dict, path) == PT_OK;
    if (!ok)
        fprintf(stderr, WHO ": writing %s: %s\n", path, f ? pt_error() : "out of memory");
    pt_dict_free(dict);
    free(yaml);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    bench_opts o = {.config = "configs/gcn/tissue.yaml", .threads = 1, .steps = 10, .warmup = 2,
                    .size = 64};
    if (bench_parse(WHO, argc, argv, &o))
        return 1;
    bench_model m;
    collated_batch b;
    memset(&b, 0, sizeof b);
    int rc = bench_model_open(&m, WHO, "gcn", &o, (drv_env){.in_channels = 3});
    const int B = m.batch, n = o.steps;
    double *sl = calloc((size_t)n, sizeof *sl), *gr = calloc((size_t)n, sizeof *gr);
    double *cs = calloc((size_t)n, sizeof *cs), *cc = calloc((size_t)n, sizeof *cc);
    float *ratio = calloc((size_t)B + 1, sizeof *ratio), *error = calloc((size_t)B + 1, sizeof *error);
    rc = rc ? rc : !sl || !gr || !cs || !cc || !ratio || !error ? (fprintf(stderr, WHO ": out of memory\n"), 2)
         : make_batch(m.d, &m.env, B, m.size, &b, ratio, error) ? 2
         : o.write && write_batch(o.write, &m.c, &b, ratio, error, B, m.n_params) ? 2 : 0;
    if (!rc)
        printf("gcn step (pictor): %s, %lld parameters, batch %d, %dx%d, %d threads\n", o.config,
               (long long)m.n_params, B, m.size, m.size, o.threads);
    for (int i = 0; !rc && i < o.warmup + n; i++) {
        if (i == o.warmup)
            sp_calls = sp_total = 0;
        slic_ms = graph_ms = slic_cpu_ms = 0;
        double c0 = cpu_ms(CLOCK_PROCESS_CPUTIME_ID);
        rc = bench_model_step(&m, WHO, &o, &b, i);
        const int k = i - o.warmup;
        if (!rc && k >= 0) {
            sl[k] = slic_ms, gr[k] = graph_ms, cs[k] = slic_cpu_ms;
            cc[k] = cpu_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
        }
    }
    if (!rc) {
        bench_print_parts(m.t, n);
        printf("c_slic_ms=%.4f\nc_graph_ms=%.4f\nc_superpixels=%.1f\n", bench_median(sl, n),
               bench_median(gr, n), sp_calls ? (double)sp_total / (double)sp_calls : 0.0);
        printf("c_step_cpu_ms=%.4f\nc_slic_cpu_ms=%.4f\n", bench_median(cc, n), bench_median(cs, n));
    }
    free(sl), free(gr), free(cs), free(cc), free(ratio), free(error);
    collated_batch_free(&b);
    bench_model_close(&m);
    return rc;
}
