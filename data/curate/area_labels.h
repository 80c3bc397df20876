/*
 * area_labels.h - weak area-ratio labels (the gcn model, seed 003): from the masks of a dataset,
 * or imported from a CSV next to an image folder. The store's /area_ratio and /area_error
 * columns (data/README.md) hold them.
 *
 * FROM MASKS (`pictor data ratios`): every item of in is copied to out with area_ratio = the
 *   fraction of its mask's non-zero pixels (the union of its instance masks when it has instances
 *   and no mask) plus Gaussian noise of standard deviation noise_sd (a simulated estimation
 *   error; seeded, clamped to [0, 1]) and area_error = error (the band the labeller states). The
 *   masks stay in out, for evaluation only. An item with neither a mask nor instance masks is an
 *   error naming it.
 * FROM A CSV (`pictor data import-ratios`): lines "file,ratio[,error]" (a first line starting
 *   with "file" is a header; blank lines skipped but counted in line numbers; error empty or
 *   absent = NaN, unknown). Each file (relative to images_dir: an empty, absolute or '..' name
 *   is refused) is stored as it is (JPEG/PNG bytes, checked to decode) with its ratio and error
 *   and its file name; no masks. Errors name the CSV line: a ratio outside [0, 1] or not a
 *   number, an error outside [0, 1], a bad file name, a missing or undecodable file.
 */
#ifndef PICTOR_DATA_AREA_LABELS_H
#define PICTOR_DATA_AREA_LABELS_H

#include <stddef.h>
#include <stdint.h>

int area_labels_from_masks(const char *in, const char *out, double noise_sd, double error,
                           uint64_t seed, int64_t *items, char *err, size_t errlen);

int area_labels_import_csv(const char *csv, const char *images_dir, const char *out,
                           int64_t *items, char *err, size_t errlen);

#endif
