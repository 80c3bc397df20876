/*
 * predictions.h - the results file of an instance-segmentation evaluation or prediction:
 * DIR/predictions.json, COCO's results format, the one file pycocotools' loadRes reads.
 *
 * Owns: its name and place (the run directory after an evaluation, the --out directory of
 * `pictor predict`) and creating that directory when missing (one level: when its parent is
 * missing too, as for `pictor eval` without a runs folder, nothing is written and the caller
 * decides whether that matters).
 * The content and its atomic write are mask_ap_write_results_json's (train/eval/mask_ap.h): every
 * detection added to the evaluator, in the order added.
 */
#ifndef PICTOR_REPORT_PREDICTIONS_H
#define PICTOR_REPORT_PREDICTIONS_H

#include <stddef.h>

#include "eval/mask_ap.h"

#define PREDICTIONS_FILE "predictions.json"

/* Writes dir/predictions.json from ap. Returns 0; 1 with a message in err when dir is missing
 * and so is its parent (nothing written); -1 with a message naming the directory or the file
 * on an error (no evaluator, no directory name, not creatable, a failed write). */
int predictions_write(const mask_ap *ap, const char *dir, char *err, size_t errlen);

#endif
