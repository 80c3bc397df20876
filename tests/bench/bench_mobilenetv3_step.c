/*
 * bench_mobilenetv3_step.c - time one training step of MobileNetV3 (train/mobilenetv3.c) through
 * the shim: forward, cross entropy, backward, SGD with momentum, on a fixed random batch (default
 * mobilenet_v3_small, 10 classes, batch 32, 3x96x96). Prints "c_step_ms=<median>". The same step
 * with torchvision in Python is tests/bench/mobilenetv3_step.py; run_benchmarks.sh runs both,
 * interleaved, and prints multidomain_step_speed_vs_python.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/backbones/mobilenetv3.h"
#include "nn/nn.h"
#include "bench_util.h"

typedef struct {
    int threads, batch, size, classes, steps, warmup;
    mbv3_variant variant;
} bench_opts;

static int parse(int argc, char **argv, bench_opts *o)
{
    *o = (bench_opts){.threads = 1, .batch = 32, .size = 96, .classes = 10, .steps = 20,
                      .warmup = 3, .variant = MBV3_SMALL};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--threads")) o->threads = atoi(v);
        else if (!strcmp(k, "--batch")) o->batch = atoi(v);
        else if (!strcmp(k, "--size")) o->size = atoi(v);
        else if (!strcmp(k, "--steps")) o->steps = atoi(v);
        else if (!strcmp(k, "--warmup")) o->warmup = atoi(v);
        else if (!strcmp(k, "--variant") && (!strcmp(v, "small") || !strcmp(v, "large")))
            o->variant = !strcmp(v, "small") ? MBV3_SMALL : MBV3_LARGE;
        else {
            fprintf(stderr, "bench_mobilenetv3_step: unknown option %s %s\n", k, v);
            return 1;
        }
    }
    if (argc % 2 == 0 || o->steps < 1 || o->steps > 100000 || o->batch < 1 || o->size < 32 ||
        o->warmup < 0) {
        fprintf(stderr, "bench_mobilenetv3_step: options come in pairs; need steps >= 1, "
                        "batch >= 1, size >= 32\n");
        return 1;
    }
    return 0;
}

/* One step; returns 0, or 2 with the message printed. */
static int step(mbv3 *m, pt_optim *opt, const pt_tensor *x, const pt_tensor *y)
{
    size_t mark = pt_scope_begin();
    pt_tensor *logits = mbv3_logits(m, x);
    pt_tensor *loss = pt_cross_entropy(logits, y, NULL, -100, PT_REDUCE_MEAN, 0.0);
    int rc = 0;
    if (pt_optim_zero_grad(opt) || pt_backward(loss, NULL, 0) || pt_optim_step(opt)) {
        fprintf(stderr, "bench_mobilenetv3_step: %s\n", pt_error());
        rc = 2;
    }
    pt_scope_end(mark);
    return rc;
}

int main(int argc, char **argv)
{
    bench_opts o;
    if (parse(argc, argv, &o))
        return 1;
    pt_set_num_threads(o.threads);
    nn_store *s = nn_store_new(0);
    mbv3 m;
    mbv3_config cfg = mbv3_defaults(o.variant);
    cfg.num_classes = o.classes;
    if (!s || mbv3_init(&m, s, NULL, cfg) != PT_OK) {
        fprintf(stderr, "bench_mobilenetv3_step: %s\n", pt_error());
        nn_store_free(s);
        return 2;
    }
    pt_optim_options oo = pt_optim_defaults(PT_OPTIM_SGD);
    oo.lr = 0.01;
    oo.momentum = 0.9;
    pt_optim *opt = pt_optim_new(&oo);
    int np = 0;
    pt_tensor *const *params = nn_store_params(s, &np);
    pt_generator *g = pt_generator_new(0);
    int64_t xs[4] = {o.batch, 3, o.size, o.size}, ys[1] = {o.batch};
    pt_tensor *x = pt_randn(xs, 4, PT_F32, g), *y = pt_randint(0, o.classes, ys, 1, g);
    double *ms = calloc((size_t)o.steps, sizeof *ms);
    int rc = !opt || pt_optim_add_group(opt, params, np, oo.lr, 0) < 0 || !x || !y || !ms ? 2 : 0;
    if (rc)
        fprintf(stderr, "bench_mobilenetv3_step: %s\n", ms ? pt_error() : "out of memory");
    for (int i = 0; !rc && i < o.warmup + o.steps; i++) {
        double t0 = now_ms();
        rc = step(&m, opt, x, y);
        if (i >= o.warmup)
            ms[i - o.warmup] = now_ms() - t0;
    }
    if (!rc) {
        qsort(ms, (size_t)o.steps, sizeof *ms, cmp_double);
        printf("c_step_ms=%.4f\n", ms[o.steps / 2]);
    }
    free(ms);
    pt_free(x), pt_free(y);
    pt_generator_free(g);
    pt_optim_free(opt);
    mbv3_free(&m);
    nn_store_free(s);
    return rc;
}
