/*
 * evaluate.h - running a model over a dataset without training it (inside train/core): the one
 * batch loop that evaluation (during training and `pictor eval`) and `pictor predict` share.
 * trainer_eval and trainer_predict (trainer.h) are defined in evaluate.c on top of it.
 */
#ifndef PICTOR_EVALUATE_H
#define PICTOR_EVALUATE_H

#include "core/session.h"

/* What to do with each batch, and once after the last one (end may be NULL). Both return an
 * exit status with a message in err. */
typedef struct {
    int (*batch)(session *s, const ld_batch *b, void *ctx, char *err, size_t errlen);
    int (*end)(session *s, void *ctx, char *err, size_t errlen);
    void *ctx;
} batch_visitor;

/* The batches of r (its first max_items when > 0) in dataset order, with evaluation's
 * preprocessing, under no-grad with the store in eval mode (restored afterwards): the driver's
 * eval_begin, then v->batch on each batch in its own tensor scope (keep_samples: batches carry
 * their samples), then v->end. Returns an exit status: the first failing callback's, or 1 when
 * the data cannot be read; the message is in err. *n_images (may be NULL) gets the images seen. */
int session_batches(session *s, store_reader *r, int64_t max_items, int keep_samples,
                    const batch_visitor *v, int64_t *n_images, char *err, size_t errlen);

/* The driver's evaluation over the whole of r (eval_batch per batch, then eval_end). Returns an
 * exit status; the metrics in *out. */
int session_evaluate(session *s, store_reader *r, drv_metrics *out, char *err, size_t errlen);

#endif
