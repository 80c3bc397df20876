/*
 * ia_model.h - what the `interactive` driver (drv_interactive.c) and its tool API (isession.c)
 * share: the bound config and the model object. Private to train/models/interactive/.
 */
#ifndef PICTOR_IA_MODEL_H
#define PICTOR_IA_MODEL_H

#include "base/rng.h"
#include "core/driver.h"
#include "eval/noc.h"
#include "models/interactive/inet.h"
#include "report/overlay.h"
#include "targets/rpn_targets.h"

typedef struct {
    int backbone;
    int64_t ps_grid, decoder_width, max_extra_taps, tap_radius;
    int prev_mask;
    cfg_float_list anchor_sizes, anchor_ratios;
    double box_jitter;
    int64_t rpn_batch;
} ia_model_cfg;

typedef struct {
    double rpn_weight, mask_weight;
    int mask;                      /* 0 BCE, 1 normalised focal (losses/normalized_focal.h) */
} ia_loss_cfg;

typedef struct {
    int64_t max_taps;
    double pred_thr, stop_iou, rect_grow;
    int protocols;
} ia_noc_cfg;

typedef struct {
    ia_model_cfg model;
    ia_loss_cfg loss;
    ia_noc_cfg noc;
} ia_cfg;

enum { PROTO_BOTH = 0, PROTO_TAPS, PROTO_RECT };

typedef struct {
    noc_summary sum[2];           /* taps, rect */
    double tap_s, full_s;         /* seconds of corrections and of full passes */
    int64_t taps, full, objects;
    int64_t vanished;             /* objects with no pixel left at the evaluation size */
    double proposal_iou;          /* sum over objects, protocol taps */
    int failed;
    overlay_sheet_item *sheet; /* one per object of protocol taps after its first tap (owned
                                  image, prediction and ground truth) for the worst-N sheet */
    int n_sheet, cap_sheet;
} ia_eval;

typedef struct {
    ia_cfg cfg;
    const drv_env *env;
    inet net;
    prng rng;
    rpn_target_config rpn;
    ia_eval ev;
} ia;

/* The batch's targets (collated_batch.payload), made by the driver's collate in the loader's
 * workers: per image its dataset index, its object and the image itself. */
typedef struct {
    int n, h, w;
    int64_t *index;
    uint8_t *gt;     /* n * h * w, NOC_* codes */
    uint8_t *rgb;    /* n * h * w * 3, the images as the model sees them (for pictures) */
    uint8_t *empty;  /* n: 1 where the object has no pixel left (a tiny object after resizing or
                        cropping): left out of the losses and of the evaluation (counted) */
    float (*box)[4]; /* the object's box, x1/y1 exclusive */
} ia_payload;

/* The object box grown by a random fraction in [0, jitter] of its size per side, four draws from r
 * in the order left, top, right, bottom (training), or by exactly grow / 2 per side (evaluation:
 * jitter < 0, grow >= 0, r unused); clipped to the h x w image. */
void ia_grown_box(const float *box, double jitter, double grow, prng *r, int h, int w, float *out);

/* Correction maps of b images [b, n_maps, h, w]: image i's taps are clicks[i][0..nc[i]); prev
 * (b * h * w probabilities, or NULL: zeros) the previous prediction. NULL with pt_error() set. */
pt_tensor *ia_maps_tensor(const ia *m, const noc_click *const *clicks, const int *nc, int b,
                          int h, int w, const float *prev);
/* sigmoid(logits) * inbox into prob (n floats) and prob > thr into pred. */
pt_status ia_host_prediction(const pt_tensor *logits, const pt_tensor *inbox, size_t n,
                             float *prob, uint8_t *pred, double thr);
/* Taps are definite (model.tap_radius, as GrabCut's definite seeds): in tap order, the h x w
 * mask pred is set to each tap's label (1 positive, 0 negative) in the disc of that radius
 * around it (a later disc overwrites an earlier one), then every tapped pixel is set to its own
 * label again. radius 0 sets the tapped pixels only; radius < 0 leaves pred as it is. The
 * probabilities fed back as the previous mask are not changed: only the mask shown and judged
 * (evaluation and the tool; training's simulated user taps the network's own mask). */
void ia_pin_taps(uint8_t *pred, int h, int w, const noc_click *taps, int n, int64_t radius);
/* The RPN's rectangle for image i of part 1: the highest-objectness proposal containing the tap
 * (ty, tx), else the best one; with no usable proposal a square around the tap. */
pt_status ia_proposal(ia *m, const inet_part1_out *p1, int64_t i, int h, int w, int ty, int tx,
                      float *box);
/* Grow box to take in the tap (y, x) with a margin of 10% of the box size, clipped. */
void ia_take_in(float *box, int y, int x, int h, int w);

#endif
