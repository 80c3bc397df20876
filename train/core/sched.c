/* sched.c - see sched.h. */
#include "core/sched.h"

#include <math.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#include <stddef.h>

static double warmup(const sched_spec *s, int64_t step)
{
    if (s->warmup_steps <= 0 || step >= s->warmup_steps)
        return 1.0;
    double t = (double)step / (double)s->warmup_steps;
    return s->warmup_start_factor + (1.0 - s->warmup_start_factor) * t;
}

static double decay(const sched_spec *s, int64_t step)
{
    switch (s->kind) {
    case SCHED_CONSTANT:
        return 1.0;
    case SCHED_MULTISTEP: {
        double f = 1.0;
        for (int i = 0; i < s->n_milestones; i++)
            if (step >= s->milestones[i])
                f *= s->gamma;
        return f;
    }
    case SCHED_COSINE: {
        int64_t span = s->total_steps - s->warmup_steps;
        if (span <= 0 || step <= s->warmup_steps)
            return 1.0;
        double t = (double)(step - s->warmup_steps) / (double)span;
        if (t > 1.0)
            t = 1.0;
        return s->min_factor + (1.0 - s->min_factor) * 0.5 * (1.0 + cos(M_PI * t));
    }
    }
    return 1.0;
}

double sched_factor(const sched_spec *s, int64_t step)
{
    if (step < 0)
        step = 0;
    return warmup(s, step) * decay(s, step);
}

const char *sched_check(const sched_spec *s)
{
    if ((int)s->kind < SCHED_CONSTANT || s->kind > SCHED_COSINE)
        return "unknown schedule kind";
    if (s->warmup_steps < 0)
        return "warmup_steps must be >= 0";
    if (!(s->warmup_start_factor >= 0 && s->warmup_start_factor <= 1))
        return "warmup_start_factor must be in [0, 1]";
    if (s->kind == SCHED_MULTISTEP) {
        if (!(s->gamma > 0))
            return "gamma must be > 0";
        for (int i = 1; i < s->n_milestones; i++)
            if (s->milestones[i] <= s->milestones[i - 1])
                return "milestones must be strictly ascending";
        if (s->n_milestones > 0 && s->milestones[0] < 0)
            return "milestones must be >= 0";
    }
    if (s->kind == SCHED_COSINE && !(s->min_factor >= 0 && s->min_factor <= 1))
        return "min_lr_factor must be in [0, 1]";
    return NULL;
}
