/*
 * demo_fmnist.h - the foundation demo: train the small CNN on Debian's Fashion-MNIST for one epoch
 * through the shim and report test accuracy. (The config-driven trainer replaces it.)
 */
#ifndef PICTOR_DEMO_FMNIST_H
#define PICTOR_DEMO_FMNIST_H

#include <stdint.h>

typedef struct {
    const char *data_dir; /* NULL: /usr/share/datasets/fashion-mnist */
    int epochs;           /* default 1 */
    int batch_size;       /* default 64 */
    double lr;            /* Adam, default 1e-3 */
    int threads;          /* 0 = all cores */
    uint64_t seed;
    int64_t max_steps;    /* 0 = full epochs */
    int quiet;
} demo_fmnist_opts;

/* Returns 0 and writes the test accuracy to *accuracy, or 1 (user error: data missing or
 * malformed) / 2 (internal error) after printing one message to stderr. */
int demo_fmnist_run(const demo_fmnist_opts *opts, double *accuracy);

#endif
