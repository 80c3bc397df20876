/*
 * pfuse.h - the host-side steps of the portrait method (seed 001) between the networks and the
 * picture: the second probability image I2 from the depth network's sigma or from a depth
 * sensor's map (claims 4-5), the sensor map's first image processing, the fusion S_out (claims
 * 6-7), and the landscape -> portrait rotation of the preprocessing (claim 2, step 0112).
 * Plain C on float maps (row-major h x w); no tensors.
 */
#ifndef PICTOR_PFUSE_H
#define PICTOR_PFUSE_H

#include <stddef.h>
#include <stdint.h>

/* The depth network's I2: the probability, under the predicted Laplacian of scale sigma, that
 * the true depth lies within tau of the predicted one: I2 = 1 - exp(-tau / sigma). */
void pfuse_conf_from_sigma(const float *sigma, size_t n, double tau, float *i2);

/* Claim 5: I2 = c - d / d_max (d_max the map's maximum; an all-zero map gives c), clamped to
 * [0, 1]. */
void pfuse_conf_from_sensor(const float *d, size_t n, double c, float *i2);

/* Claim 4's first image processing of a sensor map raw (rh x rw, 0 = no reading) for an h x w
 * segmentation: holes filled by normalised Gaussian convolution of the readings (sigma 5% of
 * the longer side; a pixel with no reading near enough becomes the map's maximum, i.e. far),
 * resized bilinearly to h x w, blurred (Gaussian, sigma `blur` pixels; 0 = none) and divided by
 * its maximum so that out is in [0, 1] (near = 0). Returns 0, or -1 with a message in err (no
 * reading at all, out of memory). Alignment (calibration between the two cameras) is the
 * caller's: the map must cover the same view (same aspect ratio, checked by the tool). */
int pfuse_sensor_depth(const float *raw, int rh, int rw, int h, int w, double blur, float *out,
                       char *err, size_t errlen);

/* Claims 6-7: S_out = I2 (1 - d) I1 S_in per pixel; normalize != 0 then divides by the map's
 * maximum (claim 7; an all-zero map stays 0). */
void pfuse_fuse(const float *s_in, const float *i1, const float *d, const float *i2, size_t n,
                int normalize, float *s_out);

/* Separable Gaussian blur of a float map in place (sigma > 0; border pixels repeat the edge). */
int pfuse_blur(float *map, int h, int w, double sigma);

/* Claim 2's orientation: a landscape image (w > h) is turned a quarter turn counter-clockwise
 * (aug_rot90 k = 1) into a portrait one before the networks; pfuse_unrotate turns a result map
 * (h x w of the rotated image, c floats per pixel) back. */
int pfuse_is_landscape(int h, int w);
float *pfuse_unrotate(const float *map, int h, int w);

#endif
