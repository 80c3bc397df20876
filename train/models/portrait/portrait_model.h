/*
 * portrait_model.h - what the `portrait` driver (drv_portrait.c) and its tool API (psession.c)
 * share: the bound config, the model object and one forward pass on host maps. Private to
 * train/models/portrait/.
 */
#ifndef PICTOR_PORTRAIT_MODEL_H
#define PICTOR_PORTRAIT_MODEL_H

#include "core/driver.h"
#include "eval/segmetrics.h"
#include "models/portrait/pnet.h"

enum { FUSION_NETWORK = 0, FUSION_SENSOR = 1, FUSION_NONE = 2 };

typedef struct {
    struct {
        int backbone, depth_backbone;
        int64_t width;
        int depth_net;          /* build and train the depth network */
        int fusion;             /* FUSION_*: the depth S_out uses (evaluation, tool) */
        double conf_tau;        /* I2 = 1 - exp(-tau / sigma) */
        double sensor_c;        /* I2 = c - d / d_max */
        double sensor_blur;     /* pixels */
        int normalize;          /* claim 7 */
        double threshold;       /* S_in -> mask */
        double out_threshold;   /* S_out -> mask */
    } model;
    struct {
        double semantic, detail, fusion, depth, log_sigma_bound;
        int64_t band_radius;
    } loss;
} portrait_cfg;

typedef struct {
    segmetrics_acc *in, *out;
    double abs_rel, rmse, ause, aurg, ause_random, seconds;
    int64_t depth_images, images, sparse_images;
} portrait_eval;

typedef struct {
    portrait_cfg cfg;
    const drv_env *env;
    pnet net;
    portrait_eval ev;
} portrait;

/* Host maps of one image (h * w floats each; NULL members are not computed). */
typedef struct {
    float *s_in, *i1, *depth, *sigma, *i2, *s_out;
} portrait_maps;

/* Forward pass of the normalised images x [B, 3, h, w] (no grad, eval mode is the caller's);
 * maps[b] get s_in, i1 and (with the depth network) depth and sigma, malloc'ed. PT_OK/PT_ERR. */
pt_status portrait_infer(portrait *m, const pt_tensor *x, portrait_maps *maps);
void portrait_maps_free(portrait_maps *m);

/* i2 and s_out of one image from its maps: the network's depth (FUSION_NETWORK), the given
 * sensor map (FUSION_SENSOR: sensor is h * w in [0, 1], already processed), or S_in itself
 * (FUSION_NONE). 0, or -1 with a message. */
int portrait_fuse_maps(const portrait *m, portrait_maps *p, const float *sensor, size_t n,
                       char *err, size_t errlen);

#endif
