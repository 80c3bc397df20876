/*
 * augment.h - augmentations of one `sample` (data/sample.h), on the CPU in plain C, with an
 * explicit per-sample random generator (data/rng.h) so results do not depend on threads.
 *
 * Owns: the geometric ops (rot90, horizontal flip, crop, resize), which move the image, the
 * semantic mask, every instance mask, every polygon, the points and the depth map together (and
 * aug_transform, through which pipeline/dense_augment.h's rotation and padding do the same); the
 * photometric ops (gaussian blur, colour jitter), which touch the image only; and the pipeline
 * that applies them from an aug_config. Normalisation to floats is done at collate time
 * (data/collate.h), not here.
 *
 * COORDINATES
 *   Polygons and points are continuous pixel coordinates with pixel edges on integers: pixel
 *   (row i, col j) covers [j, j+1) x [i, i+1) and its centre is (j + 0.5, i + 0.5) (the COCO
 *   convention). So a horizontal flip maps x -> W - x exactly, and a pixel and a point at its
 *   centre stay together under every geometric op. Coordinates are transformed, never clipped:
 *   after a crop, points and polygon vertices may lie outside [0, W] x [0, H]; instances whose
 *   mask became empty are kept (downstream target code decides).
 *
 * THE OPS (each returns 0, or -1 on a bad argument / out of memory with a message in err; on
 *   failure the sample is left valid, possibly partly transformed)
 *   rot90(k)   counter-clockwise by k * 90 degrees (torch.rot90 over (H, W)); k = 1, 3 swap H, W.
 *              new[i][j] = old[j][W-1-i] for k = 1; (x, y) -> (y, W - x).
 *   hflip      new[i][j] = old[i][W-1-j]; (x, y) -> (W - x, y).
 *   crop       the window rows y0..y0+h-1, cols x0..x0+w-1 (must lie inside the image);
 *              (x, y) -> (x - x0, y - y0).
 *   resize     to h x w: the image bilinearly with half-pixel centres and edge clamping
 *              (torch interpolate, align_corners=False, no antialias), rounded to u8; masks,
 *              instance masks and depth by nearest neighbour on centres ("nearest-exact":
 *              src = floor((dst + 0.5) * in / out)); (x, y) -> (x * w / W, y * h / H).
 *   blur       gaussian, sigma in pixels, kernel radius ceil(3 sigma), separable, borders
 *              mirrored with the edge pixel repeated (... c b a | a b c ...); symmetric inputs give
 *              exactly symmetric outputs. sigma <= 0 is a no-op.
 *   jitter     brightness (x * b), then contrast (blend with the mean grey level: x*c + m*(1-c)),
 *              then saturation (blend with the pixel's grey: x*s + g*(1-s); no-op on grey
 *              images), clamped to [0, 255] after each step and rounded at the end. Grey is
 *              0.299 R + 0.587 G + 0.114 B. A factor of 1 leaves that property unchanged.
 */
#ifndef PICTOR_DATA_AUGMENT_H
#define PICTOR_DATA_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/rng.h"
#include "pipeline/sample.h"

int aug_rot90(sample *s, int k, char *err, size_t errlen);
int aug_hflip(sample *s, char *err, size_t errlen);
int aug_crop(sample *s, int y0, int x0, int h, int w, char *err, size_t errlen);
int aug_resize(sample *s, int h, int w, char *err, size_t errlen);
int aug_blur(sample *s, float sigma, char *err, size_t errlen);
int aug_jitter(sample *s, float brightness, float contrast, float saturation, char *err,
               size_t errlen);

/*
 * PLANES, FOR OPS WRITTEN ELSEWHERE (pipeline/dense_augment.h: crop with padding, rotation,
 * letterbox). A sample's per-pixel buffers are its planes: the image (u8, c channels), the
 * semantic mask and each instance mask (u8, 1 channel) and the depth map (float, 1 channel).
 * aug_transform() hands every plane to a resampler that returns its new out_h x out_w buffer
 * (malloc'ed; NULL = out of memory), then moves points and polygon vertices by the affine map
 * (x, y) -> (xy[0] + xy[1] x + xy[2] y, xy[3] + xy[4] x + xy[5] y). Every new buffer is made
 * before an old one is freed, so on failure the sample is unchanged. The ops above use it too.
 *
 * aug_resize_plane() is the resize of one buffer as aug_resize does it: IMAGE bilinear (u8),
 * MASK / INSTANCE nearest (u8), DEPTH nearest (float); SCORES is a float plane of c channels
 * resized bilinearly like the image, without rounding (predicted probabilities or logits).
 */
typedef enum {
    AUG_PLANE_IMAGE,    /* u8, c channels */
    AUG_PLANE_MASK,     /* u8 semantic mask (class ids or 0/1) */
    AUG_PLANE_INSTANCE, /* u8 instance mask (0/1) */
    AUG_PLANE_DEPTH,    /* float depth map */
    AUG_PLANE_SCORES    /* float, c channels: not a sample plane, for aug_resize_plane only */
} aug_plane_kind;

typedef void *(*aug_resample_fn)(void *ctx, const void *src, int h, int w, int channels,
                                 aug_plane_kind kind, int out_h, int out_w);

int aug_transform(sample *s, int out_h, int out_w, aug_resample_fn fn, void *ctx,
                  const double xy[6], const char *op, char *err, size_t errlen);
void *aug_resize_plane(const void *src, int h, int w, int channels, aug_plane_kind kind,
                       int out_h, int out_w);

/*
 * The pipeline. A zeroed aug_config does nothing; each op is on when its fields say so. The order
 * is fixed: rot90, hflip, rotate, crop, resize, blur, jitter (so rotations of non-square images
 * happen before the crop/resize that gives every sample of a batch the same size; the final size
 * is the resize, like torchvision's RandomResizedCrop); with resize_first, resize comes before
 * the crop (torchvision's Resize + RandomCrop: the final size is the crop). The crop is the
 * object crop (dense_augment.h) with probability object_crop_prob, else the random crop if one
 * is configured; the object crop already has the resize's size, so the resize then does nothing.
 * With letterbox the resize keeps the aspect ratio and pads (aug_letterbox_apply). Random draws
 * are made in that order, only for the ops that are on.
 */
typedef struct {
    float rot90_prob;        /* probability of rotating; then k uniform in {1, 2, 3} */
    float hflip_prob;        /* probability of a horizontal flip */
    int crop_h, crop_w;      /* fixed-size random crop (uniform offset), 0 = off */
    int crop_center;         /* 1: the fixed-size crop takes the centre window, no draw
                                (evaluation's CenterCrop; offsets round down) */
    float crop_scale_min;    /* else: random crop of an area fraction uniform in [min, max] of the */
    float crop_scale_max;    /*   image, same aspect ratio; max 0 = off; 0 < min <= max <= 1 */
    int resize_h, resize_w;  /* resize to this size (after the crop), 0 = off */
    int resize_first;        /* 1: resize before the crop instead of after */
    float blur_prob;         /* probability of a gaussian blur */
    float blur_sigma_min;    /* sigma uniform in [min, max] pixels */
    float blur_sigma_max;
    float jitter_prob;       /* probability of a colour jitter */
    float brightness;        /* factors uniform in [max(0, 1 - v), 1 + v]; 0 = off */
    float contrast;
    float saturation;
    float rotate_deg;        /* rotation by an angle uniform in [-rotate_deg, rotate_deg] degrees
                                (counter-clockwise positive), same size; 0 = off; <= 180 */
    float object_crop_prob;  /* probability of a crop around the object (aug_object_crop), resized
                                to resize_h x resize_w (so it needs them, and no resize_first) */
    float object_crop_scale_min; /* its scale relative to the object's box, uniform in */
    float object_crop_scale_max; /*   [min, max]; 0 < min <= max */
    int letterbox;           /* 1: the resize keeps the aspect ratio and pads (letterbox) */
    uint8_t fill_image;      /* value (every channel) of image pixels no source pixel covers
                                (rotation corners, padding) */
    uint8_t fill_mask;       /* the same for the semantic mask (e.g. 255 = ignore); instance
                                masks and depth get 0 */
} aug_config;

/* Checks ranges (probabilities in [0, 1], sigma and jitter >= 0, crop scales, sizes >= 0);
 * -1 with a message naming the field. */
int aug_config_check(const aug_config *cfg, char *err, size_t errlen);

/* 1 when cfg does anything at all. */
int aug_config_active(const aug_config *cfg);

/* Apply the pipeline to s with the generator r (advanced by the draws). */
int aug_apply(const aug_config *cfg, sample *s, prng *r, char *err, size_t errlen);

#endif
