/* sample.c - see sample.h: initialise, free and deep-copy one training example. */
#include "pipeline/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sample_init(sample *s)
{
    memset(s, 0, sizeof *s);
    s->label = -1;
    s->domain = -1;
    s->group = -1;
    s->area_ratio = NAN;
    s->area_error = NAN;
}

static void instance_free(instance *in)
{
    free(in->mask);
    for (int p = 0; p < in->n_polygons; p++)
        free(in->polygons[p].xy);
    free(in->polygons);
}

void sample_free(sample *s)
{
    free(s->image);
    free(s->mask);
    for (int i = 0; i < s->n_instances; i++)
        instance_free(&s->instances[i]);
    free(s->instances);
    free(s->points);
    free(s->depth);
    sample_init(s);
}

/* Copy n bytes of src into a new buffer at *dst (NULL stays NULL). Returns -1 on OOM. */
static int dup_bytes(void *dst_ptr, const void *src, size_t n)
{
    void **dst = dst_ptr;
    *dst = NULL;
    if (!src || n == 0)
        return 0;
    *dst = malloc(n);
    if (!*dst)
        return -1;
    memcpy(*dst, src, n);
    return 0;
}

static int instance_copy(instance *d, const instance *s, size_t pixels)
{
    memset(d, 0, sizeof *d);
    d->class_id = s->class_id;
    if (dup_bytes(&d->mask, s->mask, pixels))
        return -1;
    if (s->n_polygons > 0) {
        d->polygons = calloc((size_t)s->n_polygons, sizeof *d->polygons);
        if (!d->polygons)
            return -1;
        d->n_polygons = s->n_polygons;
        for (int p = 0; p < s->n_polygons; p++) {
            d->polygons[p].n = s->polygons[p].n;
            if (dup_bytes(&d->polygons[p].xy, s->polygons[p].xy,
                          2 * (size_t)s->polygons[p].n * sizeof(float)))
                return -1;
        }
    }
    return 0;
}

int sample_copy(sample *d, const sample *s)
{
    size_t pixels = (size_t)s->h * (size_t)s->w;
    *d = *s;
    d->image = d->mask = NULL;
    d->instances = NULL;
    d->n_instances = 0;
    d->points = d->depth = NULL;
    if (dup_bytes(&d->image, s->image, pixels * (size_t)s->c) ||
        dup_bytes(&d->mask, s->mask, pixels) ||
        dup_bytes(&d->points, s->points, 2 * (size_t)s->n_points * sizeof(float)) ||
        dup_bytes(&d->depth, s->depth, pixels * sizeof(float)))
        goto fail;
    if (s->n_instances > 0) {
        d->instances = calloc((size_t)s->n_instances, sizeof *d->instances);
        if (!d->instances)
            goto fail;
        for (int i = 0; i < s->n_instances; i++) {
            d->n_instances = i + 1;
            if (instance_copy(&d->instances[i], &s->instances[i], pixels))
                goto fail;
        }
    }
    return 0;
fail:
    sample_free(d);
    return -1;
}
