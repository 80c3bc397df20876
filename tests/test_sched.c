/* test_sched.c - learning-rate schedules against hand-computed values. */
#include <criterion/criterion.h>
#include <math.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#include "core/sched.h"

Test(sched, constant_with_linear_warmup)
{
    sched_spec s = {.kind = SCHED_CONSTANT, .total_steps = 100, .warmup_steps = 10,
                    .warmup_start_factor = 0.1};
    cr_expect_float_eq(sched_factor(&s, 0), 0.1, 1e-12);
    cr_expect_float_eq(sched_factor(&s, 5), 0.1 + 0.9 * 0.5, 1e-12);
    cr_expect_float_eq(sched_factor(&s, 10), 1.0, 1e-12);
    cr_expect_float_eq(sched_factor(&s, 99), 1.0, 1e-12);
}

Test(sched, multistep_multiplies_gamma_at_each_milestone)
{
    int64_t ms[2] = {30, 60};
    sched_spec s = {.kind = SCHED_MULTISTEP, .total_steps = 90, .milestones = ms,
                    .n_milestones = 2, .gamma = 0.1, .warmup_start_factor = 1};
    cr_expect_float_eq(sched_factor(&s, 29), 1.0, 1e-12);
    cr_expect_float_eq(sched_factor(&s, 30), 0.1, 1e-12);
    cr_expect_float_eq(sched_factor(&s, 59), 0.1, 1e-12);
    cr_expect_float_eq(sched_factor(&s, 60), 0.01, 1e-12);
    int64_t bad[2] = {60, 30};
    s.milestones = bad;
    cr_expect_not_null(sched_check(&s));
}

Test(sched, cosine_after_warmup_reaches_min_factor)
{
    sched_spec s = {.kind = SCHED_COSINE, .total_steps = 110, .warmup_steps = 10,
                    .warmup_start_factor = 0.0, .min_factor = 0.2};
    cr_expect_float_eq(sched_factor(&s, 0), 0.0, 1e-12);
    cr_expect_float_eq(sched_factor(&s, 10), 1.0, 1e-12);
    cr_expect_float_eq(sched_factor(&s, 60), 0.2 + 0.8 * 0.5, 1e-12); /* halfway: cos = 0 */
    cr_expect_float_eq(sched_factor(&s, 35), 0.2 + 0.8 * 0.5 * (1 + cos(M_PI * 0.25)), 1e-12);
    cr_expect_float_eq(sched_factor(&s, 110), 0.2, 1e-12);
    cr_expect_float_eq(sched_factor(&s, 500), 0.2, 1e-12);
    cr_expect_null(sched_check(&s));
    s.min_factor = 1.5;
    cr_expect_not_null(sched_check(&s));
}
