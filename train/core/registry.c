/* registry.c - the table from model.type to its driver (driver.h). Each driver file defines one
 * `const driver drv_<type>`; adding a model type is one line here. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/driver.h"

extern const driver drv_classifier;
extern const driver drv_multidomain;
extern const driver drv_polarmask;
extern const driver drv_interactive;
extern const driver drv_gcn;
extern const driver drv_portrait;

static const driver *const registry[] = {
    &drv_classifier,
    &drv_multidomain,
    &drv_polarmask,
    &drv_interactive,
    &drv_gcn,
    &drv_portrait,
};

#define N_DRIVERS ((int)(sizeof registry / sizeof registry[0]))

const driver *driver_find(const char *type)
{
    for (int i = 0; type && i < N_DRIVERS; i++)
        if (strcmp(registry[i]->type, type) == 0)
            return registry[i];
    return NULL;
}

int driver_count(void) { return N_DRIVERS; }
const driver *driver_at(int i) { return i >= 0 && i < N_DRIVERS ? registry[i] : NULL; }

const char *driver_names(void)
{
    static char buf[512];
    buf[0] = '\0';
    for (int i = 0; i < N_DRIVERS; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? ", " : "",
                 registry[i]->type);
    return buf;
}

int driver_extra_sections(const driver *d, void *model_cfg, settings_extra *x)
{
    x->n = 0;
    x->secs[x->n] = d->model_section;
    x->structs[x->n++] = model_cfg;
    for (int i = 0; d->more_sections && d->more_sections[i]; i++) {
        if (x->n == SETTINGS_MAX_EXTRA)
            return -1;
        x->secs[x->n] = d->more_sections[i];
        x->structs[x->n++] = model_cfg;
    }
    return 0;
}

void drv_terms_add(drv_terms *t, const char *name, pt_tensor *value)
{
    if (t->n >= DRV_MAX_TERMS)
        return;
    t->name[t->n] = name;
    t->value[t->n++] = value;
}

void drv_metrics_add(drv_metrics *m, const char *name, double value)
{
    if (m->n >= DRV_MAX_METRICS)
        return;
    snprintf(m->name[m->n], sizeof m->name[0], "%s", name);
    m->value[m->n++] = value;
}

double drv_metrics_get(const drv_metrics *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->name[i], name) == 0)
            return m->value[i];
    return NAN;
}

void drv_norm_apply(const settings *c, collate_config *cc)
{
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    switch (c->data.normalize) {
    case SETTINGS_NORM_SYMMETRIC: cc->norm = NORM_SYMMETRIC; break;
    case SETTINGS_NORM_NONE: cc->norm = NORM_NONE; break;
    case SETTINGS_NORM_IMAGENET:
        cc->norm = NORM_MEAN_STD;
        for (int i = 0; i < 3; i++)
            cc->mean[i] = mean[i], cc->std[i] = std[i];
        break;
    default: cc->norm = NORM_UNIT;
    }
}
