/*
 * source.h - the dataset-source interface: what samplers and the loader need from a dataset,
 * without knowing where it lives. The HDF5 store provides one; tests build in-memory ones.
 *
 * Owns only the contract below (no code).
 *
 *   count     number of items; valid indices are 0 .. count-1.
 *   read      fills *out with item `index` (decoded image and every annotation the dataset has).
 *             *out arrives initialised by sample_init(); the caller owns what read() put in it and
 *             releases it with sample_free() whatever read() returned (so a half-filled sample on
 *             an error path is not a leak). Returns 0 on success; on failure non-zero with a
 *             message in err (what failed and why; the loader adds the index). MUST be safe to
 *             call from several threads at once (the store serialises its HDF5 calls inside).
 *   labels    count class labels, or NULL (then sample labels come from read()).
 *   domains   count domain / image-type ids in [0, n_domains), or NULL when the dataset has no
 *             domains. Samplers use labels/domains without reading the images.
 *   n_domains number of domains (0 when domains is NULL).
 *   domain_names  n_domains names ("photo", "sketch", ...) or NULL; lets a config name a domain
 *             (data.holdout_domain) and logs print it.
 *
 * The arrays are borrowed: they must outlive every sampler and loader built on the source.
 */
#ifndef PICTOR_DATA_SOURCE_H
#define PICTOR_DATA_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include "pipeline/sample.h"

typedef struct ds_source {
    void *ctx;
    int64_t count;
    int (*read)(void *ctx, int64_t index, sample *out, char *err, size_t errlen);
    const int32_t *labels;
    const int32_t *domains;
    int n_domains;
    const char *const *domain_names;
} ds_source;

/* The id of the domain called name, or -1 when the source has no such name. */
static inline int ds_source_find_domain(const ds_source *src, const char *name)
{
    if (!src->domain_names || !name)
        return -1;
    for (int d = 0; d < src->n_domains; d++)
        if (src->domain_names[d] && strcmp(src->domain_names[d], name) == 0)
            return d;
    return -1;
}

#endif
