/*
 * collate.h - a batch of samples -> tensors through the shim, for image classification and
 * mask (segmentation / saliency) targets. Other model types add their own collates beside it.
 *
 * Owns: normalisation of u8 images to float32 (done here, not in augment.c), the checks that a
 * batch is stackable (same size and channels, a mask on every sample when masks are asked), and
 * the adapter that lets the loader run a collate in its worker threads.
 *
 * Tensors are created with pt_empty and filled in C (no libtorch compute), so collating from a
 * worker thread is cheap and safe; the handles belong to the collated_batch (not to any scope)
 * and collated_batch_free releases them.
 */
#ifndef PICTOR_DATA_COLLATE_H
#define PICTOR_DATA_COLLATE_H

#include <stddef.h>
#include <stdint.h>

#include "pt.h"
#include "pipeline/sample.h"

typedef enum {
    NORM_UNIT = 0,   /* x / 255 -> [0, 1] */
    NORM_SYMMETRIC,  /* (x - 127.5) / 127.5 -> [-1, 1] */
    NORM_MEAN_STD,   /* (x / 255 - mean[c]) / std[c] (torchvision ImageNet style) */
    NORM_NONE        /* x as float, 0..255 */
} norm_kind;

typedef enum {
    COLLATE_MASK_NONE = 0, /* no mask tensor */
    COLLATE_MASK_FLOAT,    /* float32 [B, 1, H, W], the mask values (0/1 for binary masks) */
    COLLATE_MASK_INT64     /* int64 [B, 1, H, W], class ids */
} collate_mask;

#define COLLATE_MAX_TARGETS 8

typedef struct collated_batch collated_batch;

/* A model type's own targets, built in the loader's worker right after the images: fills
 * out->targets[] / out->n_targets (and out->payload if it wants host-side data), returns 0, or -1
 * with a message in err naming the sample. Whatever it stored is freed by collated_batch_free,
 * also on failure. */
typedef int (*collate_targets_fn)(const void *ctx, const sample *samples, int n,
                                  collated_batch *out, char *err, size_t errlen);

typedef struct {
    norm_kind norm;
    float mean[3], std[3]; /* NORM_MEAN_STD only; channel c of a grey image uses index 0 */
    collate_mask mask;
    collate_targets_fn targets; /* optional */
    const void *targets_ctx;    /* borrowed; must outlive the loader */
} collate_config;

struct collated_batch {
    int64_t n;             /* batch size B */
    pt_tensor *images;     /* float32 [B, C, H, W] */
    pt_tensor *labels;     /* int64 [B] (-1 where a sample has no label) */
    pt_tensor *domains;    /* int64 [B] (-1 where a sample has no domain) */
    pt_tensor *masks;      /* as asked by collate_config.mask, else NULL */
    int n_targets;         /* from collate_config.targets, in the order it documents */
    pt_tensor *targets[COLLATE_MAX_TARGETS];
    void *payload;         /* host-side data of collate_config.targets (e.g. ground truth for
                              evaluation), released with payload_free */
    void (*payload_free)(void *payload);
};

/* Fill *out from samples[0..n). Returns 0, or -1 with a message in err naming the offending
 * sample (its position and dataset index) and sizes; *out is then empty. */
int collate_samples(const collate_config *cfg, const sample *samples, int n, collated_batch *out,
                    char *err, size_t errlen);
void collated_batch_free(collated_batch *b); /* frees the tensors and zeroes *b; NULL is fine */

/* Normalise one u8 value as cfg says (channel ch). */
float collate_normalise(const collate_config *cfg, uint8_t v, int ch);

/* Loader adapters (data/loader.h ld_collate_fn / ld_collate_free_fn): ctx is a
 * const collate_config *; the result is a malloc'ed collated_batch. */
void *collate_for_loader(void *ctx, const sample *samples, int n, char *err, size_t errlen);
void collate_free_for_loader(void *ctx, void *batch);

#endif
