/*
 * psession.h - the portrait model as a tool (`pictor portrait`): one photo of any size and
 * orientation in, the maps at the photo's size out.
 *
 * Steps (claims 2-7): a landscape photo (w > h) is turned a quarter turn counter-clockwise into a
 * portrait one (pfuse.h); it is letterboxed onto the model's canvas (data.image_size; the photo's
 * own size when 0) and normalised as in training; both networks run once; every map is cut out
 * of the canvas and resized (bilinear) to the photo, turned back; then the fusion at the photo's
 * size with the depth of model.fusion: the depth network's, or a sensor's map (raw, any size of
 * the photo's aspect ratio, 0 = no reading) processed as claim 4; none: S_out = S_in.
 * The mask = S_out > model.out_threshold.
 *
 * Refused with a message (returns -1): a photo smaller than PSESSION_MIN_SIDE on a side, a
 * sensor map whose aspect ratio differs from the photo's by more than 2% (not the same view),
 * model.fusion sensor without a map.
 */
#ifndef PICTOR_PSESSION_H
#define PICTOR_PSESSION_H

#include <stddef.h>
#include <stdint.h>

#define PSESSION_MIN_SIDE 32

typedef struct {
    int h, w;
    int rotated;             /* 1: the photo was landscape and turned for the networks */
    uint8_t *mask;           /* h * w, 0/1 */
    float *s_in, *s_out;     /* h * w in [0, 1] */
    float *depth;            /* the depth the fusion used (network or processed sensor); NULL
                                with fusion none and no depth network */
    float *conf;             /* I2; NULL with fusion none */
    double infer_s, fuse_s;  /* seconds: preprocessing + networks + maps back; fusion */
} psession_result;

/* model: the `portrait` driver's object. rgb: h x w x 3. sensor: sh x sw floats or NULL. */
int psession_run(void *model, const uint8_t *rgb, int h, int w, const float *sensor, int sh,
                 int sw, psession_result *out, char *err, size_t errlen);
void psession_result_free(psession_result *r);

#endif
