/*
 * sched.h - learning-rate schedules: constant, multistep and cosine, each with linear warmup.
 * A schedule is a pure function of the optimizer step, so resuming at step k needs nothing but k.
 */
#ifndef PICTOR_SCHED_H
#define PICTOR_SCHED_H

#include <stdint.h>

typedef enum { SCHED_CONSTANT = 0, SCHED_MULTISTEP, SCHED_COSINE } sched_kind;

typedef struct {
    sched_kind kind;
    int64_t total_steps;         /* cosine decays over [warmup_steps, total_steps] */
    int64_t warmup_steps;        /* 0 = no warmup */
    double warmup_start_factor;  /* factor at step 0, rising linearly to 1 at warmup_steps */
    const int64_t *milestones;   /* multistep: ascending steps where the factor is x gamma */
    int n_milestones;
    double gamma;                /* multistep */
    double min_factor;           /* cosine: the factor at total_steps */
} sched_spec;

/* The multiplier of the base learning rate at optimizer step `step` (0-based). */
double sched_factor(const sched_spec *s, int64_t step);
/* NULL if the spec is valid, else a static message saying what is wrong. */
const char *sched_check(const sched_spec *s);

#endif
