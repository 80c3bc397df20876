/*
 * bench_loader.c - how fast the loader delivers batches, against what the model consumes.
 *
 * Owns one benchmark (not part of the test suite). The data: Fashion-MNIST's training images
 * (28x28 grey, from the Debian package when installed, else deterministic synthetic images of the
 * same shape) held in memory behind a ds_source. The loader applies a typical augmentation
 * (hflip, scale crop + resize back to 28x28, blur, jitter) and collates batches of 64 to
 * normalised float32 tensors. Measured in the same run:
 *   loader_images_per_s_w<N>    images/s the loader delivers with N workers (N = 1, 2)
 *   model_images_per_s          images/s the small CNN training step consumes (forward, cross
 *                               entropy, backward, Adam) on one pre-built batch: the reference
 *   loader_vs_model_w<N>        loader images/s over model images/s (>= 1: the loader keeps up)
 *   step_with_loader_vs_prebuilt  model step time on one reused batch over step time when every
 *                               batch comes from the loader (2 workers): the ">= 0.95"
 * Usage: bench_loader [--threads N] [--batches N] [--steps N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/collate.h"
#include "codec/idx.h"
#include "pipeline/loader.h"
#include "nn/nn.h"
#include "models/classifier/small_cnn.h"

#define SIDE 28
#define BATCH 64

typedef struct {
    int64_t n;
    uint8_t *pixels;   /* n * 28 * 28 */
    int32_t *labels;
    int32_t *domains;
} mem_images;

static int mem_read(void *ctx, int64_t index, sample *out, char *err, size_t errlen)
{
    const mem_images *m = ctx;
    out->h = SIDE, out->w = SIDE, out->c = 1;
    out->image = malloc(SIDE * SIDE);
    if (!out->image) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(out->image, m->pixels + (size_t)index * SIDE * SIDE, SIDE * SIDE);
    out->label = m->labels[index];
    out->domain = m->domains[index];
    return 0;
}

/* Fashion-MNIST train images if installed, else 60000 synthetic ones. Returns 0 or -1. */
static int load_images(mem_images *m, const char **what)
{
    idx_array im, lb;
    char err[512];
    int real = idx_load_fashion_mnist(NULL, 1, &im, &lb, err, sizeof err) == 0;
    m->n = real ? im.dims[0] : 60000;
    m->pixels = malloc((size_t)m->n * SIDE * SIDE);
    m->labels = malloc((size_t)m->n * sizeof *m->labels);
    m->domains = malloc((size_t)m->n * sizeof *m->domains);
    if (!m->pixels || !m->labels || !m->domains)
        return -1;
    for (int64_t i = 0; i < m->n; i++) {
        m->labels[i] = real ? ((const uint8_t *)lb.data)[i] : (int32_t)(i % 10);
        m->domains[i] = (int32_t)(i % 3);
    }
    if (real) {
        memcpy(m->pixels, im.data, (size_t)m->n * SIDE * SIDE);
        idx_free(&im);
        idx_free(&lb);
        *what = "Fashion-MNIST train";
    } else {
        for (size_t p = 0; p < (size_t)m->n * SIDE * SIDE; p++)
            m->pixels[p] = (uint8_t)((p * 2654435761u) >> 24);
        *what = "synthetic 28x28 (Fashion-MNIST not installed)";
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static aug_config typical_augment(void)
{
    aug_config a;
    memset(&a, 0, sizeof a);
    a.hflip_prob = 0.5f;
    a.crop_scale_min = 0.7f, a.crop_scale_max = 1.0f;
    a.resize_h = SIDE, a.resize_w = SIDE;
    a.blur_prob = 0.3f, a.blur_sigma_min = 0.3f, a.blur_sigma_max = 1.0f;
    a.jitter_prob = 0.8f, a.brightness = 0.2f, a.contrast = 0.2f;
    return a;
}

static const collate_config g_collate = {NORM_UNIT, {0}, {1, 1, 1}, COLLATE_MASK_NONE};

static loader *start_loader(const ds_source *src, sampler *smp, int workers)
{
    loader_config c = loader_config_defaults();
    c.workers = workers;
    c.seed = 1;
    c.augment = typical_augment();
    c.collate = collate_for_loader;
    c.collate_free = collate_free_for_loader;
    c.collate_ctx = (void *)&g_collate;
    char err[1024];
    loader *l = loader_new(src, smp, &c, err, sizeof err);
    if (!l)
        fprintf(stderr, "bench_loader: %s\n", err);
    return l;
}

/* Images/s delivered by the loader over `batches` batches (after 5 warm-up ones); -1 on error. */
static double loader_rate(const ds_source *src, int workers, int batches)
{
    char err[1024];
    sampler_config sc = sampler_config_defaults();
    sc.batch_size = BATCH;
    sampler *smp = sampler_new(&sc, src, err, sizeof err);
    loader *l = smp ? start_loader(src, smp, workers) : NULL;
    double rate = -1, t0 = 0;
    long images = 0;
    for (int k = 0; l && k < batches + 5; k++) {
        if (k == 5)
            t0 = now_s();
        ld_batch *b;
        if (loader_next(l, &b, err, sizeof err) != LOADER_OK) {
            fprintf(stderr, "bench_loader: %s\n", err);
            images = -1;
            break;
        }
        if (k >= 5)
            images += b->n;
        ld_batch_free(b);
    }
    if (l && images > 0)
        rate = (double)images / (now_s() - t0);
    loader_free(l);
    sampler_free(smp);
    return rate;
}

typedef struct {
    nn_store *store;
    small_cnn m;
    pt_optim *opt;
} model;

static int model_init(model *md)
{
    md->store = nn_store_new(0);
    if (small_cnn_init(&md->m, md->store, (small_cnn_config){1, 32, 128, 10, SIDE}) != PT_OK)
        return -1;
    pt_optim_options oo = pt_optim_defaults(PT_OPTIM_ADAM);
    md->opt = pt_optim_new(&oo);
    int np;
    pt_tensor *const *params = nn_store_params(md->store, &np);
    return pt_optim_add_group(md->opt, params, np, 1e-3, 0) < 0 ? -1 : 0;
}

static void model_free(model *md)
{
    pt_optim_free(md->opt);
    small_cnn_free(&md->m);
    nn_store_free(md->store);
}

static int model_step(model *md, const collated_batch *b)
{
    size_t mark = pt_scope_begin();
    pt_tensor *loss = pt_cross_entropy(small_cnn_forward(&md->m, b->images), b->labels, NULL, -100,
                                       PT_REDUCE_MEAN, 0);
    int rc = pt_optim_zero_grad(md->opt) || pt_backward(loss, NULL, 0) || pt_optim_step(md->opt);
    pt_scope_end(mark);
    if (rc)
        fprintf(stderr, "bench_loader: model step: %s\n", pt_error());
    return rc ? -1 : 0;
}

/* Seconds per step: on one reused batch (l NULL, `fixed`) or on batches from l. */
static double step_time(model *md, loader *l, const collated_batch *fixed, int steps)
{
    char err[1024];
    double t0 = 0;
    for (int k = 0; k < steps + 3; k++) {
        if (k == 3)
            t0 = now_s();
        ld_batch *b = NULL;
        if (l && loader_next(l, &b, err, sizeof err) != LOADER_OK) {
            fprintf(stderr, "bench_loader: %s\n", err);
            return -1;
        }
        int rc = model_step(md, b ? b->collated : fixed);
        ld_batch_free(b);
        if (rc)
            return -1;
    }
    return (now_s() - t0) / steps;
}

int main(int argc, char **argv)
{
    int threads = 0, batches = 300, steps = 40;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batches")) batches = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps")) steps = atoi(argv[i + 1]);
        else { fprintf(stderr, "bench_loader: unknown option %s\n", argv[i]); return 1; }
    }
    if (batches < 1 || steps < 1) {
        fprintf(stderr, "bench_loader: need --batches >= 1 and --steps >= 1\n");
        return 1;
    }
    pt_set_num_threads(threads);
    mem_images m = {0};
    const char *what = "";
    if (load_images(&m, &what)) {
        fprintf(stderr, "bench_loader: out of memory\n");
        return 2;
    }
    ds_source src = {&m, m.n, mem_read, m.labels, m.domains, 3, NULL};
    printf("# data: %s, %lld images; batch %d; %d intra-op threads\n", what, (long long)m.n, BATCH,
           pt_get_num_threads());

    double w1 = loader_rate(&src, 1, batches), w2 = loader_rate(&src, 2, batches);
    int rc = w1 > 0 && w2 > 0 ? 0 : 2;

    model md;
    memset(&md, 0, sizeof md);
    char err[1024];
    sampler_config sc = sampler_config_defaults();
    sc.batch_size = BATCH;
    sampler *smp = sampler_new(&sc, &src, err, sizeof err);
    loader *l = smp ? start_loader(&src, smp, 2) : NULL;
    ld_batch *first = NULL;
    err[0] = 0;
    if (rc || !l || model_init(&md) || loader_next(l, &first, err, sizeof err) != LOADER_OK) {
        fprintf(stderr, "bench_loader: setup failed: %s\n", err[0] ? err : pt_error());
        rc = 2;
    } else {
        /* Interleaved rounds, best of each (the machine is shared and noisy). */
        double fixed = -1, streamed = -1;
        for (int round = 0; round < 3; round++) {
            double f = step_time(&md, NULL, first->collated, steps);
            double t = step_time(&md, l, NULL, steps);
            if (f < 0 || t < 0) {
                fixed = streamed = -1;
                break;
            }
            fixed = fixed < 0 || f < fixed ? f : fixed;
            streamed = streamed < 0 || t < streamed ? t : streamed;
        }
        if (fixed > 0 && streamed > 0) {
            double model_rate = BATCH / fixed;
            printf("loader_images_per_s_w1=%.0f\n", w1);
            printf("loader_images_per_s_w2=%.0f\n", w2);
            printf("model_images_per_s=%.0f\n", model_rate);
            printf("loader_vs_model_w1=%.3f\n", w1 / model_rate);
            printf("loader_vs_model_w2=%.3f\n", w2 / model_rate);
            printf("step_with_loader_vs_prebuilt=%.3f\n", fixed / streamed);
        } else {
            rc = 2;
        }
    }
    model_free(&md);
    ld_batch_free(first);
    loader_free(l);
    sampler_free(smp);
    free(m.pixels), free(m.labels), free(m.domains);
    return rc;
}
