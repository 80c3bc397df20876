/*
 * drv_classifier.c - model type `classifier`: the small CNN (small_cnn.h) trained with cross
 * entropy on class labels; evaluation reports accuracy and mean loss. It is the demo's model
 * (configs/demo.yaml, Fashion-MNIST).
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/driver.h"
#include "models/classifier/small_cnn.h"

typedef struct {
    int64_t width;
    int64_t hidden;
    int batch_norm;
} classifier_cfg;

static const cfg_field classifier_fields[] = {
    {"width", CFG_INT, offsetof(classifier_cfg, width), "32", 1, 1024, NULL,
     "channels of the first conv block (the second has twice as many)", 0},
    {"hidden", CFG_INT, offsetof(classifier_cfg, hidden), "128", 1, 65536, NULL,
     "units of the hidden linear layer", 0},
    {"batch_norm", CFG_BOOL, offsetof(classifier_cfg, batch_norm), "true", 0, 0, NULL,
     "BatchNorm after each conv (false: none, the result does not depend on the batch split)", 0},
};

static const cfg_section classifier_section = {
    "model", classifier_fields, (int)(sizeof classifier_fields / sizeof classifier_fields[0]),
    "classifier: a small CNN"};

typedef struct {
    small_cnn net;
    int64_t correct, seen;
    double loss_sum;
} classifier;

static collate_config classifier_collate(const drv_env *env)
{
    collate_config c = {0};
    drv_norm_apply(env->cfg, &c);
    c.mask = COLLATE_MASK_NONE;
    return c;
}

static void *classifier_create(const drv_env *env, char *err, size_t errlen)
{
    const classifier_cfg *mc = env->model_cfg;
    if (env->num_classes < 2) {
        snprintf(err, errlen, "classifier: the dataset needs at least 2 class names (has %d)",
                 env->num_classes);
        return NULL;
    }
    if (env->image_h != env->image_w || env->image_h < 4 || env->image_h % 4) {
        snprintf(err, errlen,
                 "classifier: needs square images of a fixed size divisible by 4 (got %dx%d); "
                 "set data.image_size",
                 env->image_h, env->image_w);
        return NULL;
    }
    classifier *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "classifier: out of memory");
        return NULL;
    }
    small_cnn_config sc = {env->in_channels, (int)mc->width, (int)mc->hidden, env->num_classes,
                           env->image_h};
    if (small_cnn_init_bn(&c->net, env->store, sc, mc->batch_norm) != PT_OK) {
        snprintf(err, errlen, "classifier: %s", pt_error());
        free(c);
        return NULL;
    }
    return c;
}

static pt_tensor *classifier_loss(void *self, const collated_batch *b, drv_terms *terms)
{
    classifier *c = self;
    pt_tensor *logits = small_cnn_forward(&c->net, b->images);
    pt_tensor *loss = pt_cross_entropy(logits, b->labels, NULL, -1, PT_REDUCE_MEAN, 0.0);
    drv_terms_add(terms, "cls", loss);
    return loss;
}

static void classifier_eval_begin(void *self)
{
    classifier *c = self;
    c->correct = c->seen = 0;
    c->loss_sum = 0;
}

static pt_status classifier_eval_batch(void *self, const collated_batch *b)
{
    classifier *c = self;
    pt_tensor *logits = small_cnn_forward(&c->net, b->images);
    pt_tensor *loss = pt_cross_entropy(logits, b->labels, NULL, -1, PT_REDUCE_SUM, 0.0);
    pt_tensor *hits = pt_sum(pt_eq(pt_argmax(logits, 1, 0), b->labels));
    double h = pt_item_or_nan(hits), l = pt_item_or_nan(loss);
    if (isnan(h))
        return PT_ERR;
    c->correct += (int64_t)h;
    c->seen += b->n;
    c->loss_sum += l;
    return PT_OK;
}

static int classifier_eval_end(void *self, drv_metrics *out, char *err, size_t errlen)
{
    classifier *c = self;
    (void)err, (void)errlen;
    drv_metrics_add(out, "accuracy", c->seen ? (double)c->correct / (double)c->seen : NAN);
    drv_metrics_add(out, "loss", c->seen ? c->loss_sum / (double)c->seen : NAN);
    return 0;
}

static void classifier_destroy(void *self)
{
    classifier *c = self;
    if (!c)
        return;
    small_cnn_free(&c->net);
    free(c);
}

const driver drv_classifier = {
    .type = "classifier",
    .summary = "small CNN image classifier (cross entropy; accuracy)",
    .model_section = &classifier_section,
    .model_cfg_size = sizeof(classifier_cfg),
    .collate = classifier_collate,
    .create = classifier_create,
    .loss = classifier_loss,
    .eval_begin = classifier_eval_begin,
    .eval_batch = classifier_eval_batch,
    .eval_end = classifier_eval_end,
    .destroy = classifier_destroy,
};
