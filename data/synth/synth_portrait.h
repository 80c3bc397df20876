/*
 * synth_portrait.h - a synthetic RGB-D portrait set (`pictor portrait synth`): people cut out of
 * photos with their masks (human_seg) pasted over background photos (COCO_MVal, their objects
 * ignored), with a depth map in [0, 1] (0 = nearest) that puts the person near and the
 * background on a layout of a ground plane, walls and far values. There is no real RGB-D set
 * here: this is what the portrait model's depth network learns from.
 *
 * Owns: loading and pre-scaling the two photo folders, the split of people and backgrounds
 * between train and test, composing one item (synth_portrait_compose) and the data set written
 * into the store. It does not own the store layout or the model's use of the depth.
 *
 * ONE COMPOSITE (size x size, square), from a random stream keyed by (seed, split, index):
 *   background  the photo scaled (bilinear) to cover the canvas at 1.0-1.3 x, a random window.
 *   person      a random person, flipped with probability 1/2, scaled so the mask's box is
 *               0.55-0.95 of the canvas high (and at most 0.9 wide), its centre at 0.25-0.75 of
 *               the width, its feet at 0.85-1.1 of the height (cut by the bottom edge at times).
 *               Composited with the mask resized bilinearly (a soft edge); the stored mask is
 *               that alpha >= 1/2.
 *   depth       layout (uniform among four): 0 a ground plane (depth growing toward a horizon at
 *               0.3-0.6 of the height, from 0.35-0.5 at the bottom) under smooth far values
 *               (0.7-1); 1 a wall across the canvas (0.45-0.8, tilted by up to +-0.2 over the
 *               width); 2 a ground plane under a wall; 3 smooth random far values (0.5-1), a 4x4
 *               grid upsampled bilinearly. The person: p in [0.08, 0.25] plus up to 0.03 toward
 *               the silhouette's sides; the background is kept at least p + 0.1.
 *   sensor      (sensor != 0, the same composite otherwise) a depth sensor's map: Gaussian noise
 *               of sigma 0.01 + 0.02 d, 2-6 elliptic holes (radius 2-8% of the side), and a
 *               one-pixel hole band along the person's outline with probability 1/2 (flying
 *               pixels dropped). Holes are 0 (no reading); every other value is in [1/255, 1].
 *
 * SPLITS: people in sorted file order with index % 5 == 0 are test people, the rest train;
 * backgrounds likewise by their sorted distinct COCO photo id (the digits after the last '_'),
 * so a photo never appears on both sides. /group = the person's index (one person = one group).
 *
 * THE DATA SET: RAW images [N, size, size, 3], RAW masks (0/1), depth maps (f16), label and
 * domain -1. Deterministic: the same options give the same file contents.
 */
#ifndef PICTOR_DATA_SYNTH_PORTRAIT_H
#define PICTOR_DATA_SYNTH_PORTRAIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pipeline/sample.h"

#define SYNTH_PORTRAIT_MIN_SIZE 32
#define SYNTH_PORTRAIT_MAX_SIZE 1024

typedef struct {
    const char *people_dir;      /* DIR/images/<stem>.jpg|png + DIR/masks/<stem>.png */
    const char *backgrounds_dir; /* photos (COCO_MVal img/) */
    const char *out;             /* FILE.h5 */
    int64_t n;                   /* composites */
    int size;                    /* canvas side, SYNTH_PORTRAIT_MIN_SIZE .. MAX */
    uint64_t seed;
    int test;                    /* 0: train people and backgrounds, 1: test ones */
    int sensor;                  /* 1: sensor-like depth (noise, holes) */
    FILE *progress;              /* NULL = quiet */
} synth_portrait_options;

/* One person (RGB + its 0/255 mask, same size) and one background (RGB). */
typedef struct {
    const uint8_t *rgb, *mask;
    int h, w;
} synth_person;
typedef struct {
    const uint8_t *rgb;
    int h, w;
} synth_background;

/* Compose item `index` from the given person and background (out: image, mask 0/1, depth, all
 * size x size; out must be sample_init'ed, and is filled only on success). The random stream
 * is keyed by (seed, test, index); the person and background are the caller's choice. */
int synth_portrait_compose(const synth_person *p, const synth_background *b, int size,
                           uint64_t seed, int test, int64_t index, int sensor, sample *out,
                           char *err, size_t errlen);

/* The whole data set (the folders' split side, o->n composites). Returns 0 (written: items),
 * 1 a user error (missing folder, no people or backgrounds on that side, bad size), 2 an
 * internal error; the message in err. */
int synth_portrait(const synth_portrait_options *o, int64_t *written, char *err,
                   size_t errlen);

#endif
