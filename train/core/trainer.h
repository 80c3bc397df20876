/*
 * trainer.h - the trainer core: `pictor train`, `pictor eval`, `pictor predict` and
 * `pictor export`.
 *
 * Owns the loop every model type shares, read top to bottom in trainer.c: config -> driver ->
 * datasets -> model -> optimizer (weight-decay groups) -> sampler and loader -> for each step:
 * schedule, forward and loss (driver), NaN/Inf policy, backward (with accumulation), clipping,
 * optimizer step, logging, evaluation and best checkpoint, periodic and on-signal checkpoints ->
 * final checkpoint, plots and exported weights in the run directory. trainer_eval and
 * trainer_predict live in evaluate.c (one batch loop for both), trainer_export in export.c, the
 * set-up they all share in session.c.
 *
 * Exit statuses (returned, the caller exits with them): 0 success; 1 a user error (config, data,
 * checkpoint, NaN loss under nan_policy: stop) with one message on stderr naming the file, key
 * or step; 2 an internal error; 130 stopped by SIGINT/SIGTERM after writing last.ckpt.
 */
#ifndef PICTOR_TRAINER_H
#define PICTOR_TRAINER_H

#include <stddef.h>

typedef struct {
    const char *config_path;
    const char *const *overrides; /* "a.b=c" */
    int n_overrides;
    const char *resume;           /* NULL, "auto" (last.ckpt if there is one) or a path */
    int accept_config_change;     /* resume even when keys other than run-length ones changed */
} trainer_opts;

int trainer_train(const trainer_opts *o);
/* Evaluate weights (a checkpoint, safetensors or torch file) on data.val; prints one JSON line. */
int trainer_eval(const trainer_opts *o, const char *weights);
/* `pictor predict`: run weights on the first n images (n <= 0: 16) of data.val, or of data.train
 * when there is no val, with evaluation's preprocessing, and let the driver draw them into
 * out_dir (created if needed): e.g. out_dir/<dataset index>.png and out_dir/predictions.json.
 * A model type without a predict hook is a user error (1). */
int trainer_predict(const trainer_opts *o, const char *weights, const char *out_dir, int n);
/* Weights only (training-only parts left out), names in PyTorch module-path form, metadata
 * (model type, config hash, pictor version). src: a run directory (best.ckpt, else last.ckpt)
 * or a checkpoint file. format: safetensors | torch | hdf5. Written atomically. */
int trainer_export(const char *src, const char *format, const char *out);

/* A trained model for a tool that runs one model type on files (`pictor segment`): the config
 * bound with its driver's tables, the model built, weights loaded (as trainer_eval loads them),
 * the store in eval mode; no dataset is opened. want_type: the model.type the tool runs (a
 * config of another type is a user error naming both). Returns an exit status (0, 1 user error,
 * 2 internal) with the message in err; *out is NULL on failure. */
typedef struct trainer_model trainer_model;
int trainer_model_open(const trainer_opts *o, const char *weights, const char *want_type,
                       trainer_model **out, char *err, size_t errlen);
/* The driver's model object (what its create returned), for the model type's own tool API. */
void *trainer_model_self(trainer_model *m);
void trainer_model_close(trainer_model *m); /* NULL-safe */

#endif
