/* small_cnn.c - see small_cnn.h. */
#include "models/classifier/small_cnn.h"

#include <string.h>

pt_status small_cnn_init(small_cnn *m, nn_store *s, small_cnn_config c)
{
    return small_cnn_init_bn(m, s, c, 1);
}

pt_status small_cnn_init_bn(small_cnn *m, nn_store *s, small_cnn_config c, int batch_norm)
{
    memset(m, 0, sizeof *m);
    if (c.in_channels <= 0 || c.width <= 0 || c.hidden <= 0 || c.num_classes <= 0 ||
        c.image_size < 4 || c.image_size % 4) {
        pt_error_set("small_cnn: need positive sizes and an image size divisible by 4 (got %d)",
                     c.image_size);
        return PT_ERR;
    }
    m->cfg = c;
    int64_t w = c.width, side = c.image_size / 4;
    nn_module *f = nn_sequential_new(), *k = nn_sequential_new();
    nn_seq_add(f, nn_conv2d_new(s, "features.0", (nn_conv_opts){.in = c.in_channels, .out = w, .k = 3, .pad = 1}));
    if (batch_norm)
        nn_seq_add(f, nn_batchnorm2d_new(s, "features.1", w, 1e-5, 0.1));
    nn_seq_add(f, nn_act_new(NN_RELU));
    nn_seq_add(f, nn_maxpool2d_new(2, 2, 0));
    nn_seq_add(f, nn_conv2d_new(s, "features.4", (nn_conv_opts){.in = w, .out = 2 * w, .k = 3, .pad = 1}));
    if (batch_norm)
        nn_seq_add(f, nn_batchnorm2d_new(s, "features.5", 2 * w, 1e-5, 0.1));
    nn_seq_add(f, nn_act_new(NN_RELU));
    nn_seq_add(f, nn_maxpool2d_new(2, 2, 0));
    nn_seq_add(k, nn_flatten_new(1));
    nn_seq_add(k, nn_linear_new(s, "classifier.1", 2 * w * side * side, c.hidden, 1));
    nn_seq_add(k, nn_act_new(NN_RELU));
    nn_seq_add(k, nn_linear_new(s, "classifier.3", c.hidden, c.num_classes, 1));
    m->features = f;
    m->classifier = k;
    if (!nn_seq_ok(f) || !nn_seq_ok(k)) {
        small_cnn_free(m);
        return PT_ERR;
    }
    return PT_OK;
}

pt_tensor *small_cnn_forward(small_cnn *m, const pt_tensor *x)
{
    pt_tensor *h = nn_forward(m->features, x);
    pt_tensor *y = nn_forward(m->classifier, h);
    pt_free(h);
    return y;
}

void small_cnn_free(small_cnn *m)
{
    nn_module_free(m->features);
    nn_module_free(m->classifier);
    m->features = m->classifier = NULL;
}
