/*
 * cmd_data_ratios.c - the `pictor data` commands of weak area-ratio labels (the gcn model):
 *   pictor data ratios IN.h5 --out OUT.h5 [--noise SD] [--error E] [--seed S]
 *   pictor data import-ratios --csv FILE --images DIR --out OUT.h5
 *   pictor data tissue --out OUT.h5 [--n N] [--size PX] [--seed S] [--noise SD] [--error E]
 * The work is in data/curate/area_labels.c and data/synth/synth_tissue.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cliopt.h"
#include "cmd_data_internal.h"
#include "curate/area_labels.h"
#include "synth/synth_tissue.h"

typedef struct {
    const char *out, *csv, *images;
    double noise, error;
    int64_t seed, n, size;
} ratio_args;

#define NOISE_OPT                                                                                 \
    {"--noise", CLIOPT_DOUBLE, offsetof(ratio_args, noise), "SD", .min = 0, .max = 1,             \
     .doc = "simulated estimation error: Gaussian noise of this sd on the exact ratio"}
#define ERROR_OPT                                                                                 \
    {"--error", CLIOPT_DOUBLE, offsetof(ratio_args, error), "E", .min = 0, .max = 1,              \
     .doc = "the error band e stored with every ratio"}
#define SEED_OPT                                                                                  \
    {"--seed", CLIOPT_INT, offsetof(ratio_args, seed), "S", .min = 0, .max = CLIOPT_INT64_MAX,    \
     .doc = "seed of the noise (and of the images for tissue)"}
#define OUT_OPT                                                                                   \
    {"--out", CLIOPT_STRING, offsetof(ratio_args, out), "OUT.h5", .flags = CLIOPT_REQUIRED,       \
     .doc = "the dataset written, atomically"}

static const cliopt RATIOS_OPTS[] = {NOISE_OPT, ERROR_OPT, SEED_OPT, OUT_OPT, {0}};
const clicmd RATIOS_CMD = {
    "ratios", "IN.h5", "which dataset? (IN.h5)",
    "area-ratio labels from a mask set: exact ratio + simulated noise, error band; masks kept\n"
    "for evaluation only (the gcn model)",
    RATIOS_OPTS};

static const cliopt IMPORT_OPTS[] = {
    {"--csv", CLIOPT_STRING, offsetof(ratio_args, csv), "FILE", .flags = CLIOPT_REQUIRED,
     .doc = "lines 'file,ratio[,error]' (a header line 'file,...' allowed)"},
    {"--images", CLIOPT_STRING, offsetof(ratio_args, images), "DIR", .flags = CLIOPT_REQUIRED,
     .doc = "the folder the file names are relative to"},
    OUT_OPT, {0}};
const clicmd IMPORT_RATIOS_CMD = {
    "import-ratios", NULL, NULL, "real weak labels: images and their area ratio (and error) from a CSV",
    IMPORT_OPTS};

static const cliopt TISSUE_OPTS[] = {
    {"--n", CLIOPT_INT, offsetof(ratio_args, n), "N", .min = 1, .max = 10000000, .doc = "items"},
    {"--size", CLIOPT_INT, offsetof(ratio_args, size), "PX", .min = 16, .max = 4096,
     .doc = "image side"},
    SEED_OPT, NOISE_OPT, ERROR_OPT, OUT_OPT, {0}};
const clicmd TISSUE_CMD = {
    "tissue", NULL, NULL,
    "synthetic stained tissue (irregular stained regions on a textured background, 5-60%\n"
    "coverage): masks and area ratios",
    TISSUE_OPTS};

static int run(const clicmd *c, int argc, char **argv)
{
    ratio_args a = {.n = 200, .size = 96};
    cliopt_result res;
    char err[2048];
    int rc = cliopt_parse(c, argc, argv, &a, &res, err, sizeof err);
    if (rc == CLIOPT_HELP) {
        cliopt_usage(stdout, c, 0);
        return 0;
    }
    if (rc != CLIOPT_OK) {
        fprintf(stderr, "pictor data %s: %s\n", c->name, err);
        return 1;
    }
    int64_t n = 0;
    if (c == &RATIOS_CMD)
        rc = area_labels_from_masks(res.positional, a.out, a.noise, a.error, (uint64_t)a.seed, &n,
                                    err, sizeof err);
    else if (c == &IMPORT_RATIOS_CMD)
        rc = area_labels_import_csv(a.csv, a.images, a.out, &n, err, sizeof err);
    else
        rc = synth_tissue_write(a.out, n = a.n, (int)a.size, (uint64_t)a.seed, a.noise, a.error,
                                err, sizeof err);
    if (rc) {
        fprintf(stderr, "pictor data %s: %s\n", c->name, err);
        return 1;
    }
    printf("%s: %s: %lld items with area ratios\n", c->name, a.out, (long long)n);
    return 0;
}

int cmd_ratios(int argc, char **argv) { return run(&RATIOS_CMD, argc, argv); }
int cmd_import_ratios(int argc, char **argv) { return run(&IMPORT_RATIOS_CMD, argc, argv); }
int cmd_tissue(int argc, char **argv) { return run(&TISSUE_CMD, argc, argv); }
