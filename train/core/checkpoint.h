/*
 * checkpoint.h - training checkpoints: everything a run needs to continue exactly where it
 * stopped, in one safetensors file written atomically (temp file, fsync, rename):
 *   model/<name>   every parameter and buffer of the store (PyTorch module-path names)
 *   optim          the optimizer state (moments, step counts), as bytes
 *   rng/default    libtorch's default generator (dropout and other in-graph randomness)
 * and string metadata: format, pictor version, model type, config hash, optimizer step, data
 * position (epoch and batch of the next batch), sampler fingerprint, best metric so far.
 * A checkpoint is also a weights file: ckpt_read_weights() gives the model entries alone.
 */
#ifndef PICTOR_CHECKPOINT_H
#define PICTOR_CHECKPOINT_H

#include <stdint.h>

#include "nn/nn.h"
#include "pt.h"

#define CKPT_FORMAT "pictor-checkpoint-1"

typedef struct {
    char model_type[64];
    char config_hash[64];
    int64_t step;            /* optimizer steps done */
    int64_t data_epoch;      /* sampler position of the next batch */
    int64_t data_batch;
    uint64_t sampler_fingerprint;
    int has_best;
    double best_metric;
    int64_t best_step;
} ckpt_state;

/* Write path atomically. The optimizer may be NULL (weights and state only). */
pt_status ckpt_save(const char *path, const nn_store *s, const pt_optim *o, const ckpt_state *st);

/* Restore a checkpoint into a store built for the same model (and optimizer, if not NULL), and
 * libtorch's default generator. Refuses, leaving everything as it was, a file that is not a
 * checkpoint, a checkpoint of another model type (when expect_model_type is not NULL) or one
 * whose tensor names or shapes differ from the store (the message names the key and shapes). */
pt_status ckpt_load(const char *path, nn_store *s, pt_optim *o, const char *expect_model_type,
                    ckpt_state *st);

/* The model weights of a checkpoint (names without the "model/" prefix) and its state. */
pt_dict *ckpt_read_weights(const char *path, ckpt_state *st);

#endif
