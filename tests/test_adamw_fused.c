/* test_adamw_fused.c - the shim's fused AdamW (shim/autograd.cpp, FusedAdamW: one pass over each
 * parameter, split over threads) on float32 parameters against torch.optim.AdamW run live
 * (tests/reference/adamw_f32.py): two groups (with and without weight decay), a parameter large
 * enough to be split over both threads (70,003 values), 5 steps with gradients of magnitudes
 * 1..1/64. test_optim.c covers the float64 path, amsgrad, lr changes and state save/load. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(adamw_fused, .init = tst_setup);

enum { N_A = 70003, N_B = 17, STEPS = 5 };

/* cos(0.05 i) or sin(0.1 i + s) * 0.5^(i % 7), as the Python side computes them in float32 */
static pt_tensor *init(int64_t n)
{
    size_t m = pt_scope_begin();
    pt_tensor *p = pt_scope_return(m, pt_cos(pt_mul_s(pt_arange(0, (double)n, 1, PT_F32), 0.05)));
    cr_assert_eq(pt_set_requires_grad(p, 1), PT_OK, "%s", pt_error());
    return p;
}

static void set_grad(pt_tensor *p, int64_t n, int s)
{
    size_t m = pt_scope_begin();
    float *scale = malloc((size_t)n * sizeof *scale);
    for (int64_t k = 0; k < n; k++)
        scale[k] = (float)ldexp(1.0, -(int)(k % 7));
    pt_tensor *i = pt_arange(0, (double)n, 1, PT_F32);
    pt_tensor *g = pt_mul(pt_sin(pt_add_s(pt_mul_s(i, 0.1), s)), pt_from_data(scale, &n, 1, PT_F32));
    cr_assert_eq(pt_set_grad(p, g), PT_OK, "%s", pt_error());
    free(scale);
    pt_scope_end(m);
}

Test(adamw_fused, float32_two_groups_match_torch_optim)
{
    char *dir = tst_tmpdir(), path[4200], args[4300];
    snprintf(path, sizeof path, "%s/adamw.bin", dir);
    snprintf(args, sizeof args, "'%s'", path);
    cr_assert_eq(tst_python("adamw_f32.py", args), 0, "tests/reference/adamw_f32.py failed");
    static float want[N_A + N_B], got[N_A + N_B];
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    cr_assert_eq(fread(want, sizeof *want, N_A + N_B, f), (size_t)(N_A + N_B));
    fclose(f);
    unlink(path);
    rmdir(dir);
    free(dir);

    pt_set_num_threads(2);
    long live = pt_live_tensors();
    pt_tensor *a = init(N_A), *b = init(N_B);
    pt_optim_options o = pt_optim_defaults(PT_OPTIM_ADAMW);
    pt_optim *opt = pt_optim_new(&o);
    cr_assert_eq(pt_optim_add_group(opt, &a, 1, 0.01, 0.1), 0, "%s", pt_error());
    cr_assert_eq(pt_optim_add_group(opt, &b, 1, 0.02, 0.0), 1, "%s", pt_error());
    for (int s = 1; s <= STEPS; s++) {
        set_grad(a, N_A, s);
        set_grad(b, N_B, s);
        cr_assert_eq(pt_optim_step(opt), PT_OK, "%s", pt_error());
    }
    cr_assert_eq(pt_copy_to(a, got, N_A * sizeof *got), PT_OK, "%s", pt_error());
    cr_assert_eq(pt_copy_to(b, got + N_A, N_B * sizeof *got), PT_OK, "%s", pt_error());
    double worst = 0;
    int at = 0;
    for (int i = 0; i < N_A + N_B; i++) {
        double d = fabs((double)got[i] - (double)want[i]) / (1 + fabs((double)want[i]));
        if (d > worst)
            worst = d, at = i;
    }
    /* float32 rounding of a few operations done in another order: a few ulps of values ~1 (a
     * value crossing zero keeps the absolute error of its neighbours) */
    cr_expect(worst < 1e-6, "value %d: pictor %.9g, torch.optim %.9g (scaled diff %g)", at, got[at],
              want[at], worst);
    /* the update moved every value (a silent no-op would match nothing above either) */
    cr_expect(fabsf(got[1] - cosf(0.05f)) > 1e-3f);
    pt_optim_free(opt);
    pt_free(a);
    pt_free(b);
    cr_expect_eq(pt_live_tensors(), live);
}
