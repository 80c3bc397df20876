/* registry.c - the table from model.type to its driver (driver.h). Each driver file defines one
 * `const driver drv_<type>`; adding a model type is one line here. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "driver.h"

extern const driver drv_classifier;
extern const driver drv_multidomain;
extern const driver drv_polarmask;

static const driver *const registry[] = {
    &drv_classifier,
    &drv_multidomain,
    &drv_polarmask,
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

norm_kind drv_norm_of(const settings *c)
{
    switch (c->data.normalize) {
    case SETTINGS_NORM_SYMMETRIC: return NORM_SYMMETRIC;
    case SETTINGS_NORM_NONE: return NORM_NONE;
    default: return NORM_UNIT;
    }
}
