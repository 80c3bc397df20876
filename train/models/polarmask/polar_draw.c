/*
 * polar_draw.c - see polar_draw.h: polarmask's ground truth and detections as report/overlay.h
 * calls.
 */
#include "models/polarmask/polar_draw.h"

#include "base/err.h"

static int draw_ground_truth(overlay *o, const sample *s, char *err, size_t errlen)
{
    for (int i = 0; i < s->n_instances; i++) {
        const instance *in = &s->instances[i];
        int rc = in->mask ? overlay_mask_outline(o, in->mask, s->h, s->w, &OVERLAY_GT_THIN, err,
                                                 errlen)
                          : overlay_polygon_outline(o, in->polygons, in->n_polygons,
                                                    &OVERLAY_GT_THIN, err, errlen);
        if (rc)
            return -1;
    }
    return 0;
}

static int draw_detection(overlay *o, const polar_det *t, int num_rays,
                          const polar_draw_options *opt, char *err, size_t errlen)
{
    const char *name = opt && opt->class_names && t->class_id >= 0 &&
                               t->class_id < opt->num_classes
                           ? opt->class_names[t->class_id]
                           : NULL;
    overlay_instance in = {.xy = t->xy, .n = num_rays, .class_id = t->class_id, .name = name,
                           .score = t->score, .has_origin = 1, .ox = t->x, .oy = t->y,
                           .rays = 1, .box = t->box};
    return overlay_draw_instance(o, &in, err, errlen);
}

int polar_draw_png(const char *path, const sample *s, const polar_dets *d,
                   const polar_draw_options *opt, char *err, size_t errlen)
{
    if (!path || !*path)
        return err_fail(err, errlen, "polar_draw: no output path");
    if (!s)
        return err_fail(err, errlen, "cannot draw '%s': no sample", path);
    if (d && d->n > 0 && (!d->det || d->num_rays < 3))
        return err_fail(err, errlen, "cannot draw '%s': %d detections with %d rays each "
                        "(expected at least 3 rays with their vertices)", path, d->n,
                        d->num_rays);
    char why[400];
    overlay *o = overlay_new(s->image, s->h, s->w, s->c,
                             overlay_scale(s->h, s->w, opt ? opt->min_side : 0), why, sizeof why);
    int rc = o ? draw_ground_truth(o, s, why, sizeof why) : -1;
    int bad = -1; /* the detection that failed */
    for (int i = d ? d->n - 1 : -1; rc == 0 && i >= 0; i--)
        if (draw_detection(o, &d->det[i], d->num_rays, opt, why, sizeof why))
            rc = -1, bad = i;
    if (rc && bad >= 0)
        err_fail(err, errlen, "cannot draw '%s': detection %d (class %d): %s", path, bad,
                 d->det[bad].class_id, why);
    else if (rc)
        err_fail(err, errlen, "cannot draw '%s': %s", path, why);
    else
        rc = overlay_write_png(o, path, err, errlen);
    overlay_free(o);
    return rc;
}
