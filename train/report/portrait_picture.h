/*
 * portrait_picture.h - claim 8's "second image processing" of the portrait model: the photo with
 * its background blurred (more blur where the depth is farther: a phone's portrait mode) or
 * replaced by a colour or another image, the person kept sharp behind a soft edge.
 *
 * Algorithm, for an RGB photo h x w, its portrait mask (0/1) and optionally a depth map (h x w
 * floats in [0, 1], near = 0):
 *   alpha    the mask feathered by a Gaussian of sigma `edge` pixels (0 = a hard edge).
 *   blur     levels L_0 = the photo, L_k = the photo blurred with sigma max_sigma k / (K - 1),
 *            k = 1 .. K - 1 (K = PORTRAIT_BLUR_LEVELS, augment.h's Gaussian). The focus depth
 *            d_f is the mean depth under the mask (0 when the mask is empty); a pixel's blur
 *            position is t = clamp((d - d_f) / (1 - d_f), 0, 1) (K - 1) and it takes L at t,
 *            linear between the two nearest levels. Without a depth map t = K - 1 everywhere.
 *   colour   a flat colour; image: the other image scaled (bilinear) to cover h x w, centred.
 *   out      alpha * photo + (1 - alpha) * background, rounded.
 */
#ifndef PICTOR_PORTRAIT_PICTURE_H
#define PICTOR_PORTRAIT_PICTURE_H

#include <stddef.h>
#include <stdint.h>

#define PORTRAIT_BLUR_LEVELS 5

typedef enum { PICTURE_BLUR = 0, PICTURE_COLOUR, PICTURE_IMAGE } picture_mode;

typedef struct {
    picture_mode mode;
    double max_sigma;          /* PICTURE_BLUR: the farthest background's blur, pixels (> 0) */
    double edge;               /* feathering sigma of the mask, pixels (>= 0) */
    uint8_t colour[3];         /* PICTURE_COLOUR */
    const uint8_t *image;      /* PICTURE_IMAGE: RGB bg_h x bg_w */
    int bg_h, bg_w;
} picture_options;

/* out: h * w * 3. depth may be NULL. Returns 0, or -1 with a message in err. */
int portrait_picture(const uint8_t *rgb, int h, int w, const uint8_t *mask, const float *depth,
                     const picture_options *o, uint8_t *out, char *err, size_t errlen);

#endif
