/*
 * bench_shim_step.c - time one training step of the small CNN through the shim (forward, cross
 * entropy, backward, Adam) on a fixed random batch. Prints "c_step_ms=<median>". The same step in
 * Python PyTorch is tests/bench/shim_step.py; run_benchmarks.sh runs both and prints the ratio.
 *
 * --update adamw: the AdamW update alone (pt_optim_step) on torchvision's ResNet-18 parameters
 * (11,689,512 values in 62 tensors; two groups as the trainer makes them: weight decay 0.01 on
 * the >= 2-D tensors, none on biases and norm parameters), gradients made once by one backward
 * and kept. Prints "c_step_ms=<median update>"; tests/bench/adamw_step.py is the PyTorch side.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/nn.h"
#include "models/backbones/resnet.h"
#include "models/classifier/small_cnn.h"
#include "bench_util.h"

/* The median time of pt_optim_step over steps updates (see the header). */
static int bench_adamw(int steps, int warmup)
{
    nn_store *s = nn_store_new(0);
    resnet r;
    if (resnet_init(&r, s, NULL, resnet_defaults(18)) != PT_OK) {
        fprintf(stderr, "bench_shim_step: %s\n", pt_error());
        nn_store_free(s);
        return 2;
    }
    int np, nd = 0, nn = 0, rc = 0;
    pt_tensor *const *params = nn_store_params(s, &np);
    pt_tensor **decay = calloc((size_t)np, sizeof *decay), **plain = calloc((size_t)np, sizeof *plain);
    for (int i = 0; decay && plain && i < np; i++) {
        if (pt_ndim(params[i]) <= 1)
            plain[nn++] = params[i];
        else
            decay[nd++] = params[i];
    }
    pt_optim_options oo = pt_optim_defaults(PT_OPTIM_ADAMW);
    pt_optim *opt = pt_optim_new(&oo);
    pt_generator *g = pt_generator_new(0);
    int64_t xs[4] = {2, 3, 64, 64};
    size_t mark = pt_scope_begin();
    pt_tensor *x = pt_randn(xs, 4, PT_F32, g);
    if (!decay || !plain || !opt || pt_optim_add_group(opt, decay, nd, 1e-3, 0.01) < 0 ||
        pt_optim_add_group(opt, plain, nn, 1e-3, 0.0) < 0 ||
        pt_backward(pt_sum(resnet_logits(&r, x)), NULL, 0) != PT_OK) {
        fprintf(stderr, "bench_shim_step: %s\n", pt_error());
        rc = 2;
    }
    pt_scope_end(mark);
    int64_t total = 0;
    for (int i = 0; i < np; i++)
        total += pt_numel(params[i]);
    double *ms = calloc((size_t)steps, sizeof *ms);
    for (int i = 0; !rc && ms && i < warmup + steps; i++) {
        double t0 = now_ms();
        if (pt_optim_step(opt) != PT_OK) {
            fprintf(stderr, "bench_shim_step: %s\n", pt_error());
            rc = 2;
        }
        if (i >= warmup)
            ms[i - warmup] = now_ms() - t0;
    }
    if (!rc && ms) {
        qsort(ms, (size_t)steps, sizeof *ms, cmp_double);
        printf("params=%lld tensors=%d\nc_step_ms=%.4f\n", (long long)total, np, ms[steps / 2]);
    }
    free(ms);
    free(decay);
    free(plain);
    pt_generator_free(g);
    pt_optim_free(opt);
    resnet_free(&r);
    nn_store_free(s);
    return rc;
}

int main(int argc, char **argv)
{
    int threads = 1, batch = 64, steps = 30, warmup = 5, adamw = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--update")) adamw = !strcmp(argv[i + 1], "adamw");
        else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps")) steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--warmup")) warmup = atoi(argv[i + 1]);
        else { fprintf(stderr, "bench_shim_step: unknown option %s\n", argv[i]); return 1; }
    }
    if (steps < 1 || steps > 100000 || batch < 1) {
        fprintf(stderr, "bench_shim_step: need steps >= 1 and batch >= 1\n");
        return 1;
    }
    pt_set_num_threads(threads);
    if (adamw)
        return bench_adamw(steps, warmup);
    nn_store *s = nn_store_new(0);
    small_cnn m;
    if (small_cnn_init(&m, s, (small_cnn_config){1, 32, 128, 10, 28}) != PT_OK) {
        fprintf(stderr, "bench_shim_step: %s\n", pt_error());
        return 2;
    }
    pt_optim_options oo = pt_optim_defaults(PT_OPTIM_ADAM);
    pt_optim *opt = pt_optim_new(&oo);
    int np;
    pt_tensor *const *params = nn_store_params(s, &np);
    pt_optim_add_group(opt, params, np, 1e-3, 0);
    pt_generator *g = pt_generator_new(0);
    int64_t xs[4] = {batch, 1, 28, 28}, ys[1] = {batch};
    pt_tensor *x = pt_randn(xs, 4, PT_F32, g), *y = pt_randint(0, 10, ys, 1, g);
    double *ms = calloc((size_t)steps, sizeof *ms);
    int rc = 0;
    for (int i = 0; i < warmup + steps && ms; i++) {
        double t0 = now_ms();
        size_t mark = pt_scope_begin();
        pt_tensor *loss = pt_cross_entropy(small_cnn_forward(&m, x), y, NULL, -100, PT_REDUCE_MEAN, 0);
        if (pt_optim_zero_grad(opt) || pt_backward(loss, NULL, 0) || pt_optim_step(opt)) {
            fprintf(stderr, "bench_shim_step: %s\n", pt_error());
            rc = 2;
        }
        pt_scope_end(mark);
        if (rc)
            break;
        if (i >= warmup)
            ms[i - warmup] = now_ms() - t0;
    }
    if (!rc && ms) {
        qsort(ms, (size_t)steps, sizeof *ms, cmp_double);
        printf("c_step_ms=%.4f\n", ms[steps / 2]);
    }
    free(ms);
    pt_free(x), pt_free(y);
    pt_generator_free(g);
    pt_optim_free(opt);
    small_cnn_free(&m);
    nn_store_free(s);
    return rc;
}
