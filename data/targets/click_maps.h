/*
 * click_maps.h - the correction distance maps of interactive segmentation (DIOS, Xu et al. 2016;
 * seed 000 claim 6): for each kind of tap (positive on the object, negative on the background),
 * the Euclidean distance of every pixel to the nearest tap of that kind, truncated at 255 and
 * divided by 255, so a tap's own pixel is 0 and far pixels are 1. A kind without any tap gives a
 * map of all 1 ("no taps"). Exact distances (data/geometry/distance.h).
 *
 * Taps are pixel coordinates (y, x) inside the image; a tap outside it is an error (the caller
 * checks user input with click_check first).
 */
#ifndef PICTOR_CLICK_MAPS_H
#define PICTOR_CLICK_MAPS_H

#include <stddef.h>
#include <stdint.h>

#define CLICK_TRUNCATE 255.0f

typedef struct {
    int y, x;
    int positive; /* 1 on the object, 0 on the background */
} click;

/* 0, or -1 with a message naming the tap (1-based) and the image size. */
int click_check(const click *c, int n, int h, int w, char *err, size_t errlen);

/* out: 2 * h * w floats, the positive map then the negative map. Returns 0, or -1 with a message
 * (a tap outside the image, out of memory). */
int click_maps(const click *c, int n, int h, int w, float *out, char *err, size_t errlen);

#endif
