/*
 * polar_decode.h - polarmask inference in plain C (no tensors): from one image's dense scores and
 * ray lengths to a short list of instances, as PolarMask does it.
 *
 *   1. candidates: every (location, class) whose score (class probability x centerness) exceeds
 *      score_thr; per level only the nms_pre best (score order, ties: lower flat index first);
 *   2. each candidate's polygon: the R ray end points (x + r_k sin theta_k, y + r_k cos theta_k)
 *      from its location (data/polar_targets.h conventions), clipped to the image [0, w] x [0, h];
 *   3. class-wise NMS on the polygons' bounding boxes (IoU > nms_iou suppresses the lower score),
 *      then the max_dets best over all classes.
 * Masks are the polygons rasterised at the input size (data/raster.h: pixels whose centres are
 * inside).
 */
#ifndef PICTOR_POLAR_DECODE_H
#define PICTOR_POLAR_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "targets/polar_targets.h"

typedef struct {
    float score_thr;   /* 0.05 */
    int nms_pre;       /* candidates kept per level before NMS (1000) */
    float nms_iou;     /* 0.5 */
    int max_dets;      /* detections kept per image (100) */
} polar_decode_config;

polar_decode_config polar_decode_defaults(void);

typedef struct {
    int class_id;
    float score;
    float x, y;        /* the location the rays start from */
    float box[4];      /* x0, y0, x1, y1 of the clipped polygon */
    float *xy;         /* 2 * R polygon vertices (owned by the list) */
} polar_det;

typedef struct {
    int n;
    int num_rays;
    polar_det *det;    /* score order, highest first */
} polar_dets;

/* One image: scores [N * C] (class probability x centerness, row = location), rays [N * R] in
 * pixels, laid out as grid says for an h x w image. Returns 0 with *out filled (free it with
 * polar_dets_free), or -1 with a message in err. */
int polar_decode(const polar_decode_config *cfg, const polar_config *grid, int h, int w,
                 int num_classes, const float *scores, const float *rays, polar_dets *out,
                 char *err, size_t errlen);
void polar_dets_free(polar_dets *d);

/* Rasterise detection i into mask (h x w, zeroed first). */
int polar_det_mask(const polar_dets *d, int i, uint8_t *mask, int h, int w);

#endif
