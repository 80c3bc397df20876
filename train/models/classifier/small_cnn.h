/*
 * small_cnn.h - a small convolutional classifier (the foundation demo's model and the reference
 * architecture of the PyTorch parity tests, tests/reference/small_cnn.py). Module paths:
 *   features:   0 conv3x3(in, w)  1 bn  2 relu  3 maxpool2  4 conv3x3(w, 2w)  5 bn  6 relu  7 maxpool2
 *   classifier: 0 flatten  1 linear(2w*(s/4)^2, hidden)  2 relu  3 linear(hidden, classes)
 */
#ifndef PICTOR_SMALL_CNN_H
#define PICTOR_SMALL_CNN_H

#include "nn/nn.h"

typedef struct {
    int in_channels, width, hidden, num_classes, image_size;
} small_cnn_config;

typedef struct {
    small_cnn_config cfg;
    nn_module *features, *classifier;
} small_cnn;

/* Registers the parameters in s. Returns PT_OK, or PT_ERR with pt_error() set (m left empty). */
pt_status small_cnn_init(small_cnn *m, nn_store *s, small_cnn_config cfg);
/* The same; batch_norm 0 leaves features.1 and features.5 out (identities): a model whose result
 * does not depend on how a batch is split (the data-parallel tests). */
pt_status small_cnn_init_bn(small_cnn *m, nn_store *s, small_cnn_config cfg, int batch_norm);
pt_tensor *small_cnn_forward(small_cnn *m, const pt_tensor *x); /* [N, C, S, S] -> [N, classes] */
void small_cnn_free(small_cnn *m);

#endif
