/*
 * noc.h - the interactive-segmentation protocol of RITM (Sofiiuk et al. 2022, "Reviving
 * iterative training with mask guidance", its evaluation code), in plain C: a simulated user who
 * taps where the prediction is most wrong, and the Number-of-Clicks (NoC) summary.
 *
 * Ground truth: one uint8 per pixel, NOC_BG (0), NOC_FG (1) or NOC_IGNORE (2; e.g. the 128 band
 * of GrabCut's boundary masks). noc_gt_from_mask turns a 0/255 (and 128 = ignore) mask into it.
 *
 * THE NEXT TAP (noc_next_click), given the current binary prediction P:
 *   - FN = GT and not P, FP = not GT and P, both outside the ignore pixels;
 *   - each is padded with one pixel of zeros all round, and its exact Euclidean distance
 *     transform taken (distance of an error pixel to the nearest non-error pixel; the padding
 *     makes the image border count as non-error, so a tap never lands on the border when a
 *     deeper pixel exists);
 *   - pixels already tapped get distance 0 (never tapped twice);
 *   - if the largest FN distance is strictly greater than the largest FP distance the tap is
 *     positive at the first (row-major) pixel of largest FN distance, otherwise negative at the
 *     first pixel of largest FP distance (ties go negative, as RITM's `fn_max > fp_max`);
 *   - with no error pixel left (both maxima 0) there is nothing to correct: NOC_DONE.
 *   The first tap, from an empty prediction, is positive at the pixel deepest inside the object.
 *
 * IoU (noc_iou): |P and GT| / |P or GT| over the non-ignored pixels; an empty union gives 1.
 *
 * THE SUMMARY (noc_summary_*), per instance the IoU after taps 1..max_clicks:
 *   - NoC@t = the first tap count k with IoU_k >= t, or max_clicks if never (RITM counts a
 *     failure as max_clicks); averaged over instances;
 *   - failures@t = instances that never reach t within max_clicks;
 *   - mean IoU after k taps, for every k (an instance whose run stopped early keeps its last
 *     IoU for the later counts: runs stop only once every target is reached).
 */
#ifndef PICTOR_NOC_H
#define PICTOR_NOC_H

#include <stddef.h>
#include <stdint.h>

enum { NOC_BG = 0, NOC_FG = 1, NOC_IGNORE = 2 };
#define NOC_MAX_CLICKS 100

typedef struct {
    int y, x;
    int positive; /* 1 a tap on the object (false negative), 0 on the background */
} noc_click;

typedef struct {
    int h, w;
    const uint8_t *gt;     /* h*w, NOC_BG/NOC_FG/NOC_IGNORE, borrowed */
    uint8_t *clicked;      /* h*w, 1 where a tap already went */
    noc_click clicks[NOC_MAX_CLICKS];
    int n_clicks;
    /* work buffers, (h+2)*(w+2) */
    uint8_t *seed;
    double *dist;
} noc_clicker;

/* 0/255 mask (128 = ignore, any other non-zero = object) -> NOC_* codes, n pixels. */
void noc_gt_from_mask(const uint8_t *mask, size_t n, uint8_t *gt);

/* Returns 0, or -1 with a message in err (bad size, out of memory). */
int noc_clicker_init(noc_clicker *c, const uint8_t *gt, int h, int w, char *err, size_t errlen);
void noc_clicker_free(noc_clicker *c);

typedef enum { NOC_CLICKED = 0, NOC_DONE = 1, NOC_FULL = 2 } noc_step;
/* The next simulated tap for the binary prediction pred (h*w, non-zero = object); appended to
 * c->clicks and written to *out. NOC_DONE when no error pixel is left, NOC_FULL when
 * NOC_MAX_CLICKS taps were made. */
noc_step noc_next_click(noc_clicker *c, const uint8_t *pred, noc_click *out);

/* IoU of a binary prediction (non-zero = object) against NOC_* ground truth. */
double noc_iou(const uint8_t *gt, const uint8_t *pred, int h, int w);

typedef struct {
    int max_clicks;
    int n;          /* instances */
    int cap;
    double *ious;   /* n * max_clicks, row per instance */
} noc_summary;

int noc_summary_init(noc_summary *s, int max_clicks, char *err, size_t errlen);
void noc_summary_free(noc_summary *s);
/* One instance's IoUs after taps 1..n_ious (n_ious <= max_clicks, >= 1); the rest are filled
 * with the last value. Returns 0, or -1 (n_ious out of range, out of memory). */
int noc_summary_add(noc_summary *s, const double *ious, int n_ious);
/* Mean NoC at IoU target t, and the number of instances that never reach it. */
double noc_summary_noc(const noc_summary *s, double t, int *failures);
/* Mean IoU after k taps (1-based, k <= max_clicks); NAN without instances. */
double noc_summary_miou(const noc_summary *s, int k);

#endif
