/*
 * export.h - exported weights for inference projects: weights only (the driver's training-only
 * parts left out), names in PyTorch module-path form, with metadata (model type, config hash,
 * pictor version, step), as safetensors, a torch.load-readable dict, or HDF5 (one dataset per
 * tensor, metadata as root attributes). Every format is written atomically.
 */
#ifndef PICTOR_EXPORT_H
#define PICTOR_EXPORT_H

#include <stdint.h>

#include "core/driver.h"

/* format: "safetensors", "torch" or "hdf5". */
pt_status export_dict(const pt_dict *weights, const driver *drv, const char *config_hash,
                      int64_t step, const char *format, const char *out);
pt_status export_store(const nn_store *s, const driver *drv, const char *config_hash, int64_t step,
                       const char *format, const char *out);
/* Load exported or checkpoint weights for evaluation: every store entry outside the driver's
 * training-only prefixes must be present with its shape; extra entries are an error. */
pt_status load_weights_for_eval(nn_store *s, const driver *drv, const pt_dict *w, const char *path);

#endif
