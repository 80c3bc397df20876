/*
 * sample.h - one training example as every part of data/ sees it, whatever the model type: an
 * image and whichever annotations the dataset has. The HDF5 store reads into it, augmentations
 * transform it (moving masks, polygons and points with the image), the loader batches it.
 *
 * All pixel buffers are row-major, interleaved (HWC), owned by the sample and released by
 * sample_free(). Absent annotations are NULL / zero.
 */
#ifndef PICTOR_DATA_SAMPLE_H
#define PICTOR_DATA_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

/* A polygon: n points (x, y) in pixel coordinates of the sample's image. */
typedef struct {
    int n;
    float *xy; /* 2 * n floats */
} polygon;

/* One object instance: its class, and its mask and/or its outline polygons. */
typedef struct {
    int32_t class_id;
    uint8_t *mask;    /* h * w, 0 or 1; may be NULL when only polygons are known */
    int n_polygons;
    polygon *polygons;
} instance;

typedef struct {
    int64_t index;       /* position in the dataset */
    int h, w, c;         /* image size and channels (1 grey or 3 RGB) */
    uint8_t *image;      /* h * w * c */
    int32_t label;       /* class label, -1 if none */
    int32_t domain;      /* image type / domain, -1 if none */
    int64_t group;       /* source group (e.g. the COCO photo id of an instance crop): items of one
                            group must stay on one side of a split; -1 if none (own group) */
    uint8_t *mask;       /* h * w semantic or salient-region mask (0/1 or class ids), or NULL */
    int n_instances;
    instance *instances;
    int n_points;
    float *points;       /* 2 * n_points (x, y): user clicks, keypoints */
    float area_ratio;    /* target's area fraction (gcn), NAN if none */
    float area_error;    /* its estimation error, NAN if none */
    float *depth;        /* h * w depth map, or NULL */
} sample;

void sample_init(sample *s);   /* all empty: label/domain/group -1, ratios NAN */
void sample_free(sample *s);   /* releases every buffer and re-initialises */
/* Deep copy; returns 0, or -1 on out of memory (dst left empty). */
int sample_copy(sample *dst, const sample *src);

#endif
