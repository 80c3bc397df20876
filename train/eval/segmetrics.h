/*
 * segmetrics.h - dense (binary) segmentation metrics shared by the interactive, gcn and portrait
 * models: IoU and Dice, the boundary F score, the MAE of a soft mask, and an accumulator over a
 * dataset (means, per-image values, the worst images, dataset-level IoU). Plain C, no tensors.
 *
 * Owns: the definitions below and their edge cases. It does not own the distance transform
 * (data/geometry/distance.h) or instance metrics (mask_ap.h).
 *
 * MASKS are h x w row-major (argument order always h, w). A binary mask is uint8, non-zero =
 * foreground. A soft mask is float in [0, 1] (NaN or values outside are refused). An ignore mask
 * (optional, NULL = none) is uint8, non-zero = ignored: such pixels are excluded from every count
 * below, in the prediction and in the ground truth alike (e.g. GrabCut's unknown band, label 128
 * of its trimaps: gt = (label == 255), ignore = (label == 128)).
 *
 * IoU AND DICE over the counted pixels, P = predicted foreground, G = ground-truth foreground:
 *   IoU = |P n G| / |P u G|,  Dice = 2 |P n G| / (|P| + |G|).
 *   Both empty (|P u G| = 0, including an image where everything is ignored): IoU = Dice = 1
 *   (nothing to find, nothing found). One empty, the other not: 0.
 *
 * BOUNDARY F (the contour accuracy F of Perazzi et al., DAVIS 2016, as DAVIS's f_measure):
 *   boundary pixel: a foreground pixel with at least one 4-neighbour INSIDE the image that is
 *       background. The image frame is not a boundary: a mask cut by the frame has no contour
 *       there (and counting it would give free matches to any two masks touching the same side).
 *       The ignore mask plays no part in this definition (ignored pixels are read as they are).
 *   counted boundary pixels: boundary pixels that are not ignored. All boundary pixels (ignored
 *       or not) serve as match targets.
 *   matched: a counted boundary pixel of one mask whose Euclidean distance (pixel centres, exact
 *       EDT of the other mask's boundary) to the nearest boundary pixel of the other mask is
 *       <= tolerance (pixels, >= 0; 0 = the same pixel). Equivalently, as DAVIS, a dilation of
 *       the other boundary by the disk x^2 + y^2 <= tolerance^2.
 *   precision P = matched predicted / counted predicted boundary pixels (1 when there is none),
 *   recall    R = matched ground-truth / counted ground-truth boundary pixels (1 when none),
 *   F = 2 P R / (P + R), 0 when P + R = 0.
 *   So, as DAVIS: no boundary in either -> P = R = F = 1; none predicted but some in the ground
 *   truth -> P = 1, R = 0, F = 0; some predicted but none in the ground truth -> P = 0, R = 1,
 *   F = 0. A full-image mask has no boundary pixel, like an empty one.
 *   DAVIS sets the tolerance to ceil(0.008 * image diagonal): segmetrics_davis_tolerance.
 *
 * MAE = mean over counted pixels of |soft prediction - ground truth|, the ground truth binary
 *   (0 or 1) or soft; 0 when every pixel is ignored.
 *
 * THE ACCUMULATOR keeps, per image added, its overlap, boundary and MAE values. Its summary:
 *   mean IoU, mean Dice, mean boundary precision / recall / F, mean MAE (each a plain mean over
 *   images, every image weighing the same), and the dataset-level ("overall") IoU and Dice:
 *   pixel counts summed over images first, sum|P n G| / sum|P u G| (1 when the sums are 0).
 *   With no image, every value is NaN. segmetrics_acc_worst gives the images of lowest IoU.
 *
 * ERRORS: functions returning int give 0, or -1 with a message in err (when err is not NULL and
 * errlen > 0) naming the function and what was expected; on error outputs are unspecified and
 * an accumulator is unchanged. Thread-safe except that one accumulator is not to be shared
 * between threads without a lock.
 */
#ifndef PICTOR_TRAIN_SEGMETRICS_H
#define PICTOR_TRAIN_SEGMETRICS_H

#include <stddef.h>
#include <stdint.h>

/* IoU and Dice of one image, with the counts they come from (counted pixels only). */
typedef struct {
    int64_t pred, gt;   /* |P|, |G| */
    int64_t inter, uni; /* |P n G|, |P u G| */
    double iou, dice;
} segmetrics_overlap;

/* Boundary precision, recall and F of one image, with their counts. */
typedef struct {
    double tolerance;                 /* pixels */
    int64_t pred_boundary, gt_boundary; /* counted boundary pixels */
    int64_t pred_matched, gt_matched;   /* of those, within tolerance of the other boundary */
    double precision, recall, f;
} segmetrics_boundary;

/* Everything the accumulator keeps of one image. */
typedef struct {
    int h, w;
    segmetrics_overlap overlap;
    segmetrics_boundary boundary;
    double mae;
} segmetrics_image;

/* The accumulator's summary (NaN everywhere when images == 0). */
typedef struct {
    size_t images;
    double mean_iou, mean_dice;
    double mean_boundary_precision, mean_boundary_recall, mean_boundary_f;
    double mean_mae;
    double overall_iou, overall_dice;
    int64_t pred, gt, inter, uni; /* the summed counts */
} segmetrics_summary;

/* IoU and Dice of the binary prediction vs the binary ground truth (ignore optional). */
int segmetrics_overlap_of(const uint8_t *pred, const uint8_t *gt, const uint8_t *ignore, int h,
                          int w, segmetrics_overlap *out, char *err, size_t errlen);

/* out (h * w, may be NULL) = 1 at the boundary pixels of the binary mask (definition above),
 * 0 elsewhere. Returns their number, or -1 on bad arguments (NULL mask, h or w < 1). */
int64_t segmetrics_boundary_map(const uint8_t *mask, int h, int w, uint8_t *out);

/* Boundary precision / recall / F of the binary prediction vs the binary ground truth, with the
 * tolerance in pixels (finite, >= 0). */
int segmetrics_boundary_f(const uint8_t *pred, const uint8_t *gt, const uint8_t *ignore, int h,
                          int w, double tolerance, segmetrics_boundary *out, char *err,
                          size_t errlen);

/* DAVIS's tolerance for an h x w image: ceil(0.008 * sqrt(h^2 + w^2)) pixels. */
double segmetrics_davis_tolerance(int h, int w);

/* MAE of the soft prediction vs a binary ground truth (non-zero = 1) ... */
int segmetrics_mae(const float *soft, const uint8_t *gt, const uint8_t *ignore, int h, int w,
                   double *out, char *err, size_t errlen);
/* ... or vs a soft ground truth (in [0, 1]). */
int segmetrics_mae_soft(const float *soft, const float *gt, const uint8_t *ignore, int h, int w,
                        double *out, char *err, size_t errlen);

/* All of one image: overlap and boundary F (tolerance in pixels) of the binary prediction pred,
 * and the MAE of the soft prediction soft (NULL: of pred itself read as 0/1, i.e. the fraction
 * of counted pixels it gets wrong). The caller thresholds soft into pred as its model defines. */
int segmetrics_image_eval(const uint8_t *pred, const float *soft, const uint8_t *gt,
                          const uint8_t *ignore, int h, int w, double tolerance,
                          segmetrics_image *out, char *err, size_t errlen);

typedef struct segmetrics_acc segmetrics_acc;

/* A new, empty accumulator whose boundary F uses this tolerance (pixels, finite, >= 0). NULL on
 * a bad tolerance or out of memory. */
segmetrics_acc *segmetrics_acc_new(double tolerance);
void segmetrics_acc_free(segmetrics_acc *a);

/* Evaluate one image (segmetrics_image_eval) and keep its values; images may differ in size. */
int segmetrics_acc_add(segmetrics_acc *a, const uint8_t *pred, const float *soft,
                       const uint8_t *gt, const uint8_t *ignore, int h, int w, char *err,
                       size_t errlen);

/* Images added so far, and image i's values in the order added (NULL when i is out of range). */
size_t segmetrics_acc_count(const segmetrics_acc *a);
const segmetrics_image *segmetrics_acc_image(const segmetrics_acc *a, size_t i);

/* The summary of everything added so far. */
void segmetrics_acc_summary(const segmetrics_acc *a, segmetrics_summary *out);

/* The indices of the min(n, count) images of lowest IoU into idx, lowest first; equal IoUs in
 * increasing index order. Returns how many were written. */
size_t segmetrics_acc_worst(const segmetrics_acc *a, size_t n, size_t *idx);

/* The summary as one JSON object (no newline): {"iou": ..., "dice": ..., "boundary_f": ...,
 * "boundary_precision": ..., "boundary_recall": ..., "mae": ..., "overall_iou": ...,
 * "overall_dice": ..., "images": ...}, NaN written as null. Returns the length it needed (as
 * snprintf); out may be truncated. */
int segmetrics_summary_json(const segmetrics_summary *s, char *out, size_t outlen);

#endif
