/*
 * dense_augment.h - geometric ops for dense targets (masks that must stay aligned with the image)
 * beyond augment.h's integer ones: a crop whose window may leave the image (padding), rotation by
 * any angle, a random scaled crop around the object, and the aspect-preserving resize with
 * padding (letterbox) of evaluation together with its inverse for predicted masks.
 *
 * Owns: the fill of uncovered pixels, the choice of "the object" and its crop window, the
 * letterbox transform and bringing a prediction back to the original image. Every op moves the
 * image, the semantic mask, the instance masks, the depth map, the polygons and the points
 * together (through augment.h's aug_transform), with augment.h's coordinate convention: pixel
 * (row i, col j) covers [j, j+1) x [i, i+1). aug_apply (augment.h) runs them from an aug_config.
 *
 * FILL
 *   Pixels that no source pixel covers (outside a crop window, rotated-in corners, letterbox
 *   bars) get fill->image in every image channel, fill->mask in the semantic mask (0 =
 *   background; 255 is a common "ignore" label), 0 in instance masks and 0 in the depth map.
 *
 * THE OPS (each returns 0, or -1 with a message in err; on failure the sample is left valid,
 *   unchanged by crop_pad and rotate, possibly cropped but not resized by the two-step ones)
 *   crop_pad   the window rows y0..y0+h-1, cols x0..x0+w-1, anywhere (it may overlap the image
 *              partly or not at all); (x, y) -> (x - x0, y - y0). Exact copies, no resampling.
 *   rotate     counter-clockwise by `degrees` about the image centre (W/2, H/2), output the same
 *              H x W (corners leave, fill comes in): output pixel centre p reads the source at
 *              R(-degrees)(p - c) + c, the image bilinearly (taps outside the image read the
 *              fill, result rounded), masks and depth by the nearest pixel (the one containing
 *              that point). Multiples of 90 use exact sines, so on a square image 90 degrees
 *              equals aug_rot90(1) pixel for pixel and 360 is the identity; 0 is a no-op.
 *              (x, y) -> c + R(degrees)((x, y) - c) with y pointing down. With fill 0 this is
 *              torchvision's F.rotate (BILINEAR image, NEAREST mask, expand=False), checked
 *              byte for byte against it (tests/reference/rotate_ref.py).
 *   object crop
 *              "The object" is one instance, chosen uniformly among those with a non-empty mask
 *              (or, without a mask, polygon vertices inside the image), its box being its mask's
 *              pixels (else its vertices' extent, clipped to the image); without instances, the
 *              nonzero pixels of the semantic mask; without either, the whole image. The crop
 *              has the output's aspect ratio and scale s (uniform in [lo, hi]) times the
 *              smallest such window holding the box (so s >= 1 contains the object, s < 1 zooms
 *              into it). Along each axis its position is uniform among the integer positions
 *              that keep the box inside the window (window longer than the box) or the window
 *              inside the box (shorter), i.e. a jittered centre; then it is shifted into the
 *              image if it fits there (else it covers the whole image along that axis, padded),
 *              which keeps either property. The window is
 *              cut with crop_pad and resized to out_h x out_w with aug_resize (image bilinear,
 *              masks nearest). Draws: the instance (only when more than one), s (only when
 *              lo < hi), x0, y0.
 *   letterbox  resize to h x w = round(in * scale) with scale = min(out_h / in_h, out_w / in_w)
 *              (aug_resize: image bilinear, masks nearest), then pad to out_h x out_w with the
 *              content centred (top = (out_h - h) / 2, left = (out_w - w) / 2, rounded down: an
 *              odd leftover goes to the bottom / right). (x, y) -> (x * scale_x + left,
 *              y * scale_y + top) with scale_x = w / in_w, scale_y = h / in_h exactly.
 *   unletterbox
 *              a prediction of the out_h x out_w canvas back to in_h x in_w: cut the content
 *              rectangle, resize it (u8 masks nearest, float scores bilinear without rounding).
 *              Letterbox then unletterbox of a mask gives it back up to the two resizes.
 */
#ifndef PICTOR_DATA_DENSE_AUGMENT_H
#define PICTOR_DATA_DENSE_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/rng.h"
#include "pipeline/augment.h"
#include "pipeline/sample.h"

typedef struct {
    uint8_t image; /* every channel of an uncovered image pixel */
    uint8_t mask;  /* an uncovered semantic-mask pixel */
} aug_fill;

/* A pixel rectangle: columns x0..x1-1, rows y0..y1-1. */
typedef struct {
    int x0, y0, x1, y1;
} aug_box;

int aug_crop_pad(sample *s, int y0, int x0, int h, int w, const aug_fill *fill, char *err,
                 size_t errlen);
int aug_rotate(sample *s, double degrees, const aug_fill *fill, char *err, size_t errlen);

/* The object's box as described above (draws from r only when several instances qualify).
 * Returns 1 when an object was found, 0 when *box is the whole image. */
int aug_object_box(const sample *s, prng *r, aug_box *box);

/* The crop window for an object box in an img_h x img_w image, output aspect out_h / out_w and
 * scale `scale` (> 0), positioned with draws from r; may extend outside the image. */
aug_box aug_object_window(const aug_box *obj, int img_h, int img_w, double scale, int out_h,
                          int out_w, prng *r);

/* The whole object crop: box, scale uniform in [scale_min, scale_max], window, crop_pad, resize to
 * out_h x out_w. */
int aug_object_crop(sample *s, double scale_min, double scale_max, int out_h, int out_w,
                    const aug_fill *fill, prng *r, char *err, size_t errlen);

/* ---------------------------------------------------------------- letterbox */

typedef struct {
    int in_h, in_w;          /* the original image */
    int out_h, out_w;        /* the padded canvas */
    int h, w;                /* the resized image inside it, >= 1 */
    int top, left;           /* its offset in the canvas */
    double scale_x, scale_y; /* w / in_w and h / in_h: canvas x = x * scale_x + left */
} aug_letterbox;

/* The transform for an in_h x in_w image on an out_h x out_w canvas (all sizes >= 1). */
aug_letterbox aug_letterbox_plan(int in_h, int in_w, int out_h, int out_w);

/* Letterbox s to out_h x out_w; *t (may be NULL) receives the transform. */
int aug_letterbox_apply(sample *s, int out_h, int out_w, const aug_fill *fill, aug_letterbox *t,
                        char *err, size_t errlen);

/* A 1-channel out_h x out_w prediction of the canvas back to in_h x in_w: a malloc'ed buffer
 * (free() it), or NULL with a message in err (bad transform, out of memory). */
uint8_t *aug_unletterbox_u8(const aug_letterbox *t, const uint8_t *mask, char *err,
                            size_t errlen);
float *aug_unletterbox_f32(const aug_letterbox *t, const float *scores, char *err, size_t errlen);

#endif
