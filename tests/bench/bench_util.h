/*
 * bench_util.h - the timing helpers every benchmark uses: a monotonic clock in milliseconds and
 * the comparison that sorts step times and their median. Each bench is its own executable, so the
 * functions are static inline here.
 */
#ifndef PICTOR_BENCH_UTIL_H
#define PICTOR_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

static inline double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

/* qsort comparison of doubles, ascending */
static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* the median of v[0..n) (n >= 1; v is sorted in place) */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#endif
