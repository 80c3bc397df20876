/*
 * mask_ap.h - COCO-style instance-mask evaluation (mask AP and AR), computed as pycocotools'
 * COCOeval(iouType='segm') computes it, in plain C (no tensors). Written from the algorithm;
 * no code taken from pycocotools.
 *
 * Owns: collecting ground-truth and detected masks per image (stored as COCO run lengths,
 * data/rle.h), the mask IoUs on those runs, the greedy matching, the precision/recall
 * accumulation and the 12 summary numbers of COCO, and the COCO results file of the detections.
 *
 * THE ALGORITHM (COCOeval with its default parameters)
 *   - IoU thresholds 0.50:0.05:0.95 (the 10 values of numpy.linspace(.5, .95, 10), bit for bit),
 *     recall points numpy.linspace(0, 1, 101), maxDets 1 / 10 / 100, area ranges all [0, 1e10],
 *     small [0, 32^2], medium [32^2, 96^2], large [96^2, 1e10] (bounds inclusive on both sides,
 *     as COCO: an area of exactly 1024 is both small and medium). Areas are pixel counts, of the
 *     GT mask for a GT and of the detected mask for a detection.
 *   - Evaluation is per category and image. A category's detections on an image are sorted by
 *     score, highest first, ties in the order they were added, and cut to the first 100
 *     (maxDets applies per image AND category, as in COCO).
 *   - IoU = |D n G| / |D u G|, and for a crowd GT |D n G| / |D| (0 when D n G is empty).
 *   - Matching, per IoU threshold t, detections in score order: each takes, among GTs not yet
 *     matched (a crowd GT may be matched any number of times), the one of highest IoU >= t
 *     (ties: the later GT in the order below), non-ignored GTs before ignored ones (once a
 *     non-ignored GT matches, ignored ones are not considered). GTs are ignored when crowd or
 *     outside the area range; they are ordered non-ignored first, each group in insertion
 *     order. A detection matched to an ignored GT is ignored; an unmatched detection outside the
 *     area range is ignored; other unmatched detections are false positives.
 *   - Accumulation per (category, area range, maxDets): the first maxDets detections of each
 *     image (images in increasing id order) are concatenated and stably sorted by score;
 *     cumulative TP and FP counts (ignored detections count as neither) give recall TP / nGT
 *     (nGT = the non-ignored GTs) and precision TP / (TP + FP + 2^-52); precision is made
 *     non-increasing from the right; at each recall point r the precision at the first
 *     detection whose recall is >= r is taken (0 past the last one). A category with no
 *     non-ignored GT in that area range gets -1 there (undefined).
 *   - Summaries: the mean over every defined entry (precision: thresholds x recall points x
 *     categories; recall: thresholds x categories), -1 when nothing is defined. AP, AP50, AP75,
 *     AP_S/M/L use maxDets 100; AR1, AR10, AR100 area all; AR_S/M/L maxDets 100.
 *
 * IMAGES are identified by their id. Every image that has a GT or a detection counts: an image
 * with GTs and no detections adds misses; detections on an image without GTs of their category
 * are false positives. All masks of one image must have the same height and width. Class ids
 * are 0..num_classes-1; results files write category_id = class id unless mask_ap_set_category_ids
 * gives the dataset's ids.
 *
 * ERRORS: functions returning int give 0, or -1 with a message in err (when err is not NULL and
 * errlen > 0) naming what was wrong and what was expected; on an error nothing is added. Not
 * thread-safe (one evaluator per thread).
 */
#ifndef PICTOR_TRAIN_MASK_AP_H
#define PICTOR_TRAIN_MASK_AP_H

#include <stddef.h>
#include <stdint.h>

#define MASK_AP_NUM_IOU_THRESHOLDS 10
#define MASK_AP_NUM_RECALL_POINTS 101
#define MASK_AP_MAX_DETS 100

typedef struct mask_ap mask_ap;

/* The 12 numbers of COCOeval.summarize(), in its order; -1 where undefined. */
typedef struct {
    double ap, ap50, ap75, ap_small, ap_medium, ap_large;
    double ar1, ar10, ar100, ar_small, ar_medium, ar_large;
    int num_images;             /* images with at least one GT or detection */
    long num_gt, num_det;       /* everything added (crowd GTs and cut detections included) */
} mask_ap_result;

/* A new evaluator for class ids 0..num_classes-1 (NULL if num_classes < 1 or out of memory). */
mask_ap *mask_ap_new(int num_classes);
void mask_ap_free(mask_ap *m);

/* Add a ground-truth instance: mask is h x w row-major, non-zero = inside. iscrowd != 0 marks a
 * crowd region (ignored, may absorb several detections). */
int mask_ap_add_gt(mask_ap *m, int64_t image_id, int class_id, const uint8_t *mask, int h,
                   int w, int iscrowd, char *err, size_t errlen);
/* Add a detection with its score (finite). */
int mask_ap_add_det(mask_ap *m, int64_t image_id, int class_id, float score,
                    const uint8_t *mask, int h, int w, char *err, size_t errlen);
/* The same from COCO run lengths (data/rle.h: column-major runs starting with 0s; copied). */
int mask_ap_add_gt_rle(mask_ap *m, int64_t image_id, int class_id, const uint32_t *counts,
                       size_t n, int h, int w, int iscrowd, char *err, size_t errlen);
int mask_ap_add_det_rle(mask_ap *m, int64_t image_id, int class_id, float score,
                        const uint32_t *counts, size_t n, int h, int w, char *err,
                        size_t errlen);

/* Evaluate everything added so far into *out (may be called again after adding more). */
int mask_ap_summarize(mask_ap *m, mask_ap_result *out, char *err, size_t errlen);
/* AP (0.50:0.95, all areas, maxDets 100) of one class from the last summarize; -1 when the class
 * has no GT, or when summarize has not run since the last add. */
double mask_ap_class_ap(const mask_ap *m, int class_id);

/* The category_id written for class k is ids[k] (n must equal num_classes). */
int mask_ap_set_category_ids(mask_ap *m, const int64_t *ids, int n, char *err, size_t errlen);
/* The detections as a COCO results file, in the order they were added:
 * [{"image_id": ..., "category_id": ..., "segmentation": {"size": [h, w], "counts": "<compressed
 * RLE>"}, "score": ...}, ...], written atomically (temp file, fsync, rename). */
int mask_ap_write_results_json(const mask_ap *m, const char *path, char *err, size_t errlen);
/* The summary as one JSON object (no newline): {"mask_ap": ..., "mask_ap50": ..., "mask_ap75":
 * ..., "mask_ap_s": ..., "mask_ap_m": ..., "mask_ap_l": ..., "mask_ar1": ..., "mask_ar10": ...,
 * "mask_ar100": ..., "mask_ar_s": ..., "mask_ar_m": ..., "mask_ar_l": ..., "images": ...,
 * "gt": ..., "dets": ...}. Returns the length it needed (as snprintf); out may be truncated. */
int mask_ap_result_json(const mask_ap_result *r, char *out, size_t outlen);

#endif
