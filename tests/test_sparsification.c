/* test_sparsification.c - train/eval/sparsification.c: AUSE/AURG against a NumPy version of
 * the definition (RMSE and abs rel, ties, invalid pixels), an uncertainty equal to the error
 * (AUSE 0), a random-like uncertainty (AURG near 0), too few pixels refused. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/sparsification.h"
#include "helpers.h"

static char *g_dir;
static void setup(void) { g_dir = tst_tmpdir(); }
static void teardown(void) { tst_rmtree(g_dir); }
TestSuite(sparsification, .init = setup, .fini = teardown, .timeout = 60);

static void put(const char *name, const float *v, size_t n)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s.f32", g_dir, name);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f);
    fwrite(v, 4, n, f);
    fclose(f);
}

Test(sparsification, matches_numpy_definition)
{
    enum { N = 997 };
    static float p[N], g[N], u[N], v[N];
    static uint8_t valid[N];
    srand(11);
    for (int i = 0; i < N; i++) {
        g[i] = 0.05f + (float)rand() / RAND_MAX;
        float e = 0.2f * ((float)rand() / RAND_MAX - 0.5f);
        p[i] = g[i] + e;
        u[i] = (float)(int)(10 * (fabsf(e) + 0.05f * (float)rand() / RAND_MAX)); /* many ties */
        valid[i] = i % 9 != 0;
        v[i] = valid[i];
    }
    put("p", p, N), put("g", g, N), put("u", u, N), put("v", v, N);
    const char *names[2] = {"rmse", "abs_rel"};
    for (int m = 0; m < 2; m++) {
        char args[4400];
        snprintf(args, sizeof args, "%d 50 %s '%s'", N, names[m], g_dir);
        cr_assert_eq(tst_python("sparsification_ref.py", args), 0);
        char path[4200];
        snprintf(path, sizeof path, "%s/out.txt", g_dir);
        FILE *f = fopen(path, "r");
        double ra, rg, rr, rf;
        cr_assert_eq(fscanf(f, "%lf %lf %lf %lf", &ra, &rg, &rr, &rf), 4);
        fclose(f);
        sparse_result r;
        char err[256];
        cr_assert_eq(sparsification(p, g, u, valid, N, (sparse_metric)m, 50, &r, NULL, NULL, err,
                                    sizeof err), 0, "%s", err);
        cr_expect(fabs(r.ause - ra) < 1e-9, "%s ause %.12g vs %.12g", names[m], r.ause, ra);
        cr_expect(fabs(r.aurg - rg) < 1e-9, "%s aurg %.12g vs %.12g", names[m], r.aurg, rg);
        cr_expect(fabs(r.ause_random - rr) < 1e-9, "%s random %.12g vs %.12g", names[m], r.ause_random, rr);
        cr_expect(fabs(r.full - rf) < 1e-9, "%s full", names[m]);
        cr_assert_gt(r.aurg, 0, "an uncertainty made of the error beats random");
    }
}

Test(sparsification, oracle_uncertainty_and_edge_cases)
{
    enum { N = 200 };
    float p[N], g[N], u[N];
    for (int i = 0; i < N; i++) {
        g[i] = 1;
        p[i] = 1 + 0.01f * (float)((i * 37) % 101);
        u[i] = fabsf(p[i] - g[i]); /* the oracle itself */
    }
    sparse_result r;
    double curve[50], oracle[50];
    char err[256];
    cr_assert_eq(sparsification(p, g, u, NULL, N, SPARSE_RMSE, 50, &r, curve, oracle, err, sizeof err), 0);
    cr_assert_float_eq(r.ause, 0.0, 1e-12);
    cr_assert_float_eq(r.aurg, r.ause_random, 1e-12);
    for (int t = 1; t < 50; t++)
        cr_assert_leq(curve[t], curve[t - 1] + 1e-12, "the oracle curve never rises");
    /* a constant uncertainty: the stable order removes the later pixels; with errors that do
     * not depend on the index the curve stays near the full error */
    for (int i = 0; i < N; i++)
        u[i] = 0;
    cr_assert_eq(sparsification(p, g, u, NULL, N, SPARSE_RMSE, 50, &r, NULL, NULL, err, sizeof err), 0);
    cr_assert_lt(fabs(r.aurg), 0.25 * r.ause_random, "aurg %g vs random %g", r.aurg, r.ause_random);
    cr_assert_eq(sparsification(p, g, u, NULL, 10, SPARSE_RMSE, 50, &r, NULL, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "fewer than"), "%s", err);
}
