/* test_optim.c - the optimizers of the shim (shim/autograd.cpp, state in shim/serialize.cpp).
 *
 * SGD (momentum, dampening, nesterov, weight decay), Adam and AdamW (weight decay, amsgrad) on a
 * tiny float64 quadratic, step by step against Python's torch.optim run live
 * (tests/reference/optim_steps.py), including parameter groups with their own lr and weight
 * decay and lr changes for every group and for one group; the first steps by hand; lr and group
 * bookkeeping and argument errors; the state saved to a buffer or a file and loaded into a new
 * optimizer continuing bit for bit like an uninterrupted run; loads that must fail (other
 * shapes, other groups, garbage) failing with a message and no crash; clip_grad_norm.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(optim, .init = tst_setup);

/* ---------------------------------------------------------------- the quadratic */

/* Group 0 holds p (3 values), group 1 q (2 values); loss = sum C0 (p-T0)^2 + sum C1 (q-T1)^2.
 * Keep in step with tests/reference/optim_steps.py. */
static const double P0[3] = {1.0, -2.0, 0.5}, C0[3] = {1, 2, 3}, T0[3] = {0.5, 0.5, -1};
static const double P1[2] = {0.3, 3.0}, C1[2] = {2, 0.5}, T1[2] = {-1, 1};
enum { STEPS = 6 };

static pt_tensor *param(const double *v, int64_t n)
{
    pt_tensor *t = pt_from_data(v, &n, 1, PT_F64);
    cr_assert_eq(pt_set_requires_grad(t, 1), PT_OK, "%s", pt_error());
    return t;
}

static pt_tensor *quad(const pt_tensor *x, const double *c, const double *t, int64_t n)
{
    size_t m = pt_scope_begin();
    pt_tensor *ct = pt_from_data(c, &n, 1, PT_F64), *tt = pt_from_data(t, &n, 1, PT_F64);
    return pt_scope_return(m, pt_sum(pt_mul(ct, pt_square(pt_sub(x, tt)))));
}

/* zero_grad, loss, backward, step. q may be NULL. */
static void train_step(pt_optim *o, const pt_tensor *p, const pt_tensor *q)
{
    size_t m = pt_scope_begin();
    cr_assert_eq(pt_optim_zero_grad(o), PT_OK, "%s", pt_error());
    pt_tensor *loss = quad(p, C0, T0, 3);
    if (q)
        loss = pt_add(loss, quad(q, C1, T1, 2));
    cr_assert_eq(pt_backward(loss, NULL, 0), PT_OK, "%s", pt_error());
    cr_assert_eq(pt_optim_step(o), PT_OK, "%s", pt_error());
    pt_scope_end(m);
}

static void values(const pt_tensor *t, double *out, int64_t n)
{
    cr_assert_eq(pt_numel(t), n);
    cr_assert_eq(pt_copy_to(t, out, (size_t)n * sizeof *out), PT_OK, "%s", pt_error());
}

/* ---------------------------------------------------------------- cases shared with Python */

typedef struct {
    const char *name;
    pt_optim_kind kind;
    double lr, wd, momentum, dampening;
    int nesterov;
    double beta1, beta2, eps;
    int amsgrad;
    int two_groups;
    double lr1, wd1; /* group 1 */
} optim_case;

/* Adam's betas and eps as PyTorch has them by default. */
#define ADAM_DEFAULTS .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8
static const optim_case CASES[] = {
    {.name = "sgd", .kind = PT_OPTIM_SGD, .lr = 0.1},
    {.name = "sgd_momentum_dampening", .kind = PT_OPTIM_SGD, .lr = 0.05, .momentum = 0.9,
     .dampening = 0.1},
    {.name = "sgd_nesterov_wd", .kind = PT_OPTIM_SGD, .lr = 0.05, .wd = 0.01, .momentum = 0.9,
     .nesterov = 1},
    {.name = "adam", .kind = PT_OPTIM_ADAM, .lr = 0.1, ADAM_DEFAULTS},
    {.name = "adam_wd_amsgrad", .kind = PT_OPTIM_ADAM, .lr = 0.05, .wd = 0.1, .beta1 = 0.8,
     .beta2 = 0.99, .eps = 1e-6, .amsgrad = 1},
    {.name = "adamw", .kind = PT_OPTIM_ADAMW, .lr = 0.1, .wd = 0.1, ADAM_DEFAULTS},
    {.name = "adamw_amsgrad", .kind = PT_OPTIM_ADAMW, .lr = 0.02, .wd = 0.5, ADAM_DEFAULTS,
     .amsgrad = 1},
    {.name = "sgd_groups_setlr", .kind = PT_OPTIM_SGD, .lr = 0.1, .momentum = 0.9,
     .two_groups = 1, .lr1 = 0.01, .wd1 = 0.1},
    {.name = "adam_groups_setlr", .kind = PT_OPTIM_ADAM, .lr = 0.1, ADAM_DEFAULTS,
     .two_groups = 1, .lr1 = 0.02, .wd1 = 0.05},
};
enum { NCASES = sizeof CASES / sizeof CASES[0] };

static pt_optim *make_optim(const optim_case *c, pt_tensor *p, pt_tensor *q)
{
    pt_optim_options o = pt_optim_defaults(c->kind);
    o.lr = c->lr;
    o.weight_decay = c->wd;
    o.momentum = c->momentum;
    o.dampening = c->dampening;
    o.nesterov = c->nesterov;
    o.beta1 = c->beta1;
    o.beta2 = c->beta2;
    o.eps = c->eps;
    o.amsgrad = c->amsgrad;
    pt_optim *opt = pt_optim_new(&o);
    cr_assert_not_null(opt, "%s: %s", c->name, pt_error());
    cr_assert_eq(pt_optim_add_group(opt, &p, 1, c->lr, c->wd), 0, "%s: %s", c->name, pt_error());
    if (q)
        cr_assert_eq(pt_optim_add_group(opt, &q, 1, c->lr1, c->wd1), 1, "%s: %s", c->name,
                     pt_error());
    return opt;
}

/* Runs case c for STEPS steps; traj[step][i] gets p then q after each step. */
static void run_case(const optim_case *c, double traj[STEPS][5])
{
    pt_tensor *p = param(P0, 3), *q = c->two_groups ? param(P1, 2) : NULL;
    pt_optim *o = make_optim(c, p, q);
    for (int s = 0; s < STEPS; s++) {
        train_step(o, p, q);
        values(p, traj[s], 3);
        if (q)
            values(q, traj[s] + 3, 2);
        if (q && s + 1 == 2)
            cr_assert_eq(pt_optim_set_lr(o, -1, 0.05), PT_OK);
        if (q && s + 1 == 3)
            cr_assert_eq(pt_optim_set_lr(o, 1, 0.2), PT_OK);
    }
    pt_optim_free(o);
    pt_free(q);
    pt_free(p);
}

Test(optim, steps_match_torch_optim)
{
    long live = pt_live_tensors();
    char *dir = tst_tmpdir();
    cr_assert_not_null(dir);
    char path[4200], args[4300];
    snprintf(path, sizeof path, "%s/optim_steps.txt", dir);
    snprintf(args, sizeof args, "'%s'", path);
    cr_assert_eq(tst_python("optim_steps.py", args), 0, "tests/reference/optim_steps.py failed");
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "no output from optim_steps.py");

    static double want[NCASES][STEPS][5], got[NCASES][STEPS][5];
    int seen[NCASES][STEPS] = {{0}};
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char name[64];
        int step, used = 0;
        cr_assert_eq(sscanf(line, "%63s %d%n", name, &step, &used), 2, "bad line '%s'", line);
        int k = -1;
        for (int i = 0; i < NCASES; i++)
            if (strcmp(CASES[i].name, name) == 0)
                k = i;
        cr_assert(k >= 0 && step >= 1 && step <= STEPS, "unknown case or step in '%s'", line);
        int nv = CASES[k].two_groups ? 5 : 3;
        const char *s = line + used;
        for (int i = 0; i < nv; i++) {
            char *end;
            want[k][step - 1][i] = strtod(s, &end);
            cr_assert(end != s, "short line '%s'", line);
            s = end;
        }
        seen[k][step - 1] = 1;
    }
    fclose(f);
    unlink(path);
    rmdir(dir);
    free(dir);

    for (int k = 0; k < NCASES; k++) {
        run_case(&CASES[k], got[k]);
        int nv = CASES[k].two_groups ? 5 : 3;
        for (int s = 0; s < STEPS; s++) {
            cr_expect(seen[k][s], "%s: Python gave no step %d", CASES[k].name, s + 1);
            for (int i = 0; i < nv; i++)
                cr_expect(fabs(got[k][s][i] - want[k][s][i]) <= 1e-12 * (1 + fabs(want[k][s][i])),
                          "%s step %d value %d: pictor %.17g, torch.optim %.17g", CASES[k].name,
                          s + 1, i, got[k][s][i], want[k][s][i]);
        }
    }
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- by hand */

Test(optim, first_steps_by_hand)
{
    /* grad of the quadratic at P0: 2 C0 (P0 - T0) = {1, -10, 9} */
    long live = pt_live_tensors();
    double v[3];
    const optim_case sgd = {.name = "sgd", .kind = PT_OPTIM_SGD, .lr = 0.1};
    pt_tensor *p = param(P0, 3);
    pt_optim *o = make_optim(&sgd, p, NULL);
    train_step(o, p, NULL);
    values(p, v, 3);
    cr_expect(fabs(v[0] - 0.9) < 1e-15 && fabs(v[1] + 1.0) < 1e-15 && fabs(v[2] + 0.4) < 1e-15,
              "SGD: p - lr g, got %g %g %g", v[0], v[1], v[2]);
    pt_optim_free(o);
    pt_free(p);

    /* Adam's first step is lr * g / (|g| + eps): lr times the sign of g. */
    const optim_case adam = {.name = "adam", .kind = PT_OPTIM_ADAM, .lr = 0.1, ADAM_DEFAULTS};
    p = param(P0, 3);
    o = make_optim(&adam, p, NULL);
    train_step(o, p, NULL);
    values(p, v, 3);
    cr_expect(fabs(v[0] - 0.9) < 1e-8 && fabs(v[1] + 1.9) < 1e-8 && fabs(v[2] - 0.4) < 1e-8,
              "Adam: p - lr sign(g), got %.10g %.10g %.10g", v[0], v[1], v[2]);
    pt_optim_free(o);
    pt_free(p);

    /* AdamW decays the weights first: p (1 - lr wd) - lr sign(g). */
    const optim_case adamw = {.name = "adamw", .kind = PT_OPTIM_ADAMW, .lr = 0.1, .wd = 0.1,
                              ADAM_DEFAULTS};
    p = param(P0, 3);
    o = make_optim(&adamw, p, NULL);
    train_step(o, p, NULL);
    values(p, v, 3);
    cr_expect(fabs(v[0] - 0.89) < 1e-8 && fabs(v[1] + 1.88) < 1e-8 && fabs(v[2] - 0.395) < 1e-8,
              "AdamW: decoupled decay, got %.10g %.10g %.10g", v[0], v[1], v[2]);
    /* A parameter without a gradient is left alone. */
    cr_assert_eq(pt_optim_zero_grad(o), PT_OK);
    cr_expect_eq(pt_has_grad(p), 0, "zero_grad drops the gradients");
    double before[3];
    values(p, before, 3);
    cr_assert_eq(pt_optim_step(o), PT_OK, "%s", pt_error());
    values(p, v, 3);
    cr_expect_arr_eq(v, before, sizeof v, "step without gradients moved the parameter");
    pt_optim_free(o);
    pt_free(p);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- lr and groups */

Test(optim, groups_lr_and_argument_errors)
{
    long live = pt_live_tensors();
    pt_optim_options d = pt_optim_defaults(PT_OPTIM_SGD);
    cr_expect(d.kind == PT_OPTIM_SGD && d.lr == 0.01 && d.momentum == 0 && d.weight_decay == 0);
    d = pt_optim_defaults(PT_OPTIM_ADAM);
    cr_expect(d.lr == 1e-3 && d.beta1 == 0.9 && d.beta2 == 0.999 && d.eps == 1e-8 &&
              d.weight_decay == 0 && d.amsgrad == 0);
    d = pt_optim_defaults(PT_OPTIM_ADAMW);
    cr_expect(d.lr == 1e-3 && d.weight_decay == 1e-2, "AdamW defaults to weight decay 0.01");

    pt_optim *o = pt_optim_new(&d);
    cr_assert_not_null(o);
    cr_expect_eq(pt_optim_num_groups(o), 0);
    pt_error_clear();
    cr_expect_eq(pt_optim_step(o), PT_ERR, "step without parameters");
    cr_expect(strstr(pt_error(), "pt_optim_step"), "%s", pt_error());
    pt_tensor *a = param(P0, 3), *b = param(P1, 2), *c = param(P1, 2);
    cr_expect_eq(pt_optim_add_group(o, &a, 1, 0.1, 0), 0);
    cr_expect_eq(pt_optim_add_group(o, &b, 1, 0.2, 0.5), 1);
    cr_expect_eq(pt_optim_add_group(o, &c, 1, 0.3, 0), 2);
    cr_expect_eq(pt_optim_num_groups(o), 3);
    cr_expect_eq(pt_optim_get_lr(o, 0), 0.1);
    cr_expect_eq(pt_optim_get_lr(o, 1), 0.2);
    cr_expect_eq(pt_optim_get_lr(o, 2), 0.3);
    cr_assert_eq(pt_optim_set_lr(o, 1, 0.05), PT_OK);
    cr_expect(pt_optim_get_lr(o, 0) == 0.1 && pt_optim_get_lr(o, 1) == 0.05 &&
                  pt_optim_get_lr(o, 2) == 0.3,
              "set_lr(1) must change group 1 only");
    cr_assert_eq(pt_optim_set_lr(o, -1, 0.7), PT_OK);
    for (int g = 0; g < 3; g++)
        cr_expect_eq(pt_optim_get_lr(o, g), 0.7, "set_lr(-1) must change every group");
    pt_error_clear();
    cr_expect_eq(pt_optim_set_lr(o, 3, 1), PT_ERR, "group 3 of 3");
    cr_expect(strstr(pt_error(), "pt_optim_set_lr") && strstr(pt_error(), "3"), "%s", pt_error());
    pt_error_clear();
    cr_expect(isnan(pt_optim_get_lr(o, 3)));
    cr_expect(pt_error_pending() && strstr(pt_error(), "pt_optim_get_lr"), "%s", pt_error());

    /* Only leaves that require grad can be parameters. */
    pt_tensor *nograd = pt_from_data(P0, (int64_t[]){3}, 1, PT_F64);
    pt_tensor *nonleaf = pt_mul_s(a, 2);
    pt_error_clear();
    cr_expect_eq(pt_optim_add_group(o, &nograd, 1, 0.1, 0), -1);
    cr_expect(strstr(pt_error(), "pt_optim_add_group") && strstr(pt_error(), "leaf"), "%s",
              pt_error());
    cr_expect_eq(pt_optim_add_group(o, &nonleaf, 1, 0.1, 0), -1);
    cr_expect_eq(pt_optim_add_group(o, &a, 0, 0.1, 0), -1, "empty group");
    pt_error_clear();
    pt_tensor *with_null[2] = {b, NULL};
    cr_expect_eq(pt_optim_add_group(o, with_null, 2, 0.1, 0), -1, "NULL parameter");
    cr_expect(pt_error_pending());
    cr_expect_eq(pt_optim_num_groups(o), 3, "failed add_group must not add a group");

    pt_error_clear();
    pt_optim_options bad = pt_optim_defaults(PT_OPTIM_SGD);
    bad.lr = -1;
    cr_expect_null(pt_optim_new(&bad));
    cr_expect(strstr(pt_error(), "pt_optim_new") && strstr(pt_error(), "lr"), "%s", pt_error());
    bad = pt_optim_defaults(PT_OPTIM_SGD);
    bad.kind = (pt_optim_kind)3; /* no such kind (3 keeps UBSan quiet: within the enum range) */
    cr_expect_null(pt_optim_new(&bad));
    cr_expect_null(pt_optim_new(NULL));
    pt_optim_free(NULL);

    pt_free(nonleaf);
    pt_free(nograd);
    pt_optim_free(o);
    pt_free(c);
    pt_free(b);
    pt_free(a);
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- state: save and load */

/* Runs `before` steps, saves the state (and a copy of the parameters), runs `after` more:
 * the uninterrupted run. Then a new optimizer on the copies loads the state and runs `after`
 * steps: the resumed run. Both end with bitwise equal parameters. A third optimizer on the
 * copies without the state must end elsewhere, or the check would prove nothing. */
static void check_resume(const optim_case *c, int use_file)
{
    enum { BEFORE = 3, AFTER = 4 };
    long live = pt_live_tensors();
    pt_tensor *p = param(P0, 3), *q = c->two_groups ? param(P1, 2) : NULL;
    pt_optim *o = make_optim(c, p, q);
    for (int s = 0; s < BEFORE; s++)
        train_step(o, p, q);
    void *buf = NULL;
    size_t len = 0;
    char *dir = NULL, path[4200] = "";
    if (use_file) {
        dir = tst_tmpdir();
        snprintf(path, sizeof path, "%s/optim.state", dir);
        cr_assert_eq(pt_optim_save(o, path), PT_OK, "%s: %s", c->name, pt_error());
    } else {
        cr_assert_eq(pt_optim_save_buffer(o, &buf, &len), PT_OK, "%s: %s", c->name, pt_error());
        cr_assert(buf && len > 0);
    }
    double p_mid[3], q_mid[2];
    values(p, p_mid, 3);
    if (q)
        values(q, q_mid, 2);
    for (int s = 0; s < AFTER; s++)
        train_step(o, p, q);
    double p_ref[3], q_ref[2] = {0, 0};
    values(p, p_ref, 3);
    if (q)
        values(q, q_ref, 2);

    pt_tensor *p2 = param(p_mid, 3), *q2 = q ? param(q_mid, 2) : NULL;
    pt_optim *o2 = make_optim(c, p2, q2);
    if (use_file)
        cr_assert_eq(pt_optim_load(o2, path), PT_OK, "%s: %s", c->name, pt_error());
    else
        cr_assert_eq(pt_optim_load_buffer(o2, buf, len), PT_OK, "%s: %s", c->name, pt_error());
    if (q) /* the groups' lr was changed by no one: same as the uninterrupted run */
        cr_expect_eq(pt_optim_get_lr(o2, 1), c->lr1);
    for (int s = 0; s < AFTER; s++)
        train_step(o2, p2, q2);
    double p_res[3], q_res[2] = {0, 0};
    values(p2, p_res, 3);
    if (q2)
        values(q2, q_res, 2);
    cr_expect_arr_eq(p_res, p_ref, sizeof p_ref, "%s: resumed run differs from uninterrupted "
                     "(p0 %.17g vs %.17g)", c->name, p_res[0], p_ref[0]);
    cr_expect_arr_eq(q_res, q_ref, sizeof q_ref, "%s: resumed run differs in group 1", c->name);

    pt_tensor *p3 = param(p_mid, 3), *q3 = q ? param(q_mid, 2) : NULL;
    pt_optim *o3 = make_optim(c, p3, q3);
    for (int s = 0; s < AFTER; s++)
        train_step(o3, p3, q3);
    double p_fresh[3];
    values(p3, p_fresh, 3);
    cr_expect(memcmp(p_fresh, p_ref, sizeof p_ref) != 0,
              "%s: a fresh optimizer matches too, the state is not exercised", c->name);

    pt_optim_free(o3);
    pt_free(q3);
    pt_free(p3);
    pt_optim_free(o2);
    pt_free(q2);
    pt_free(p2);
    pt_optim_free(o);
    pt_free(q);
    pt_free(p);
    free(buf);
    if (dir) {
        unlink(path);
        rmdir(dir);
        free(dir);
    }
    cr_expect_eq(pt_live_tensors(), live, "%s: leaked handles", c->name);
}

Test(optim, save_load_buffer_resumes_bit_for_bit)
{
    check_resume(&CASES[1], 0); /* SGD momentum, dampening */
    check_resume(&CASES[2], 0); /* SGD nesterov */
    check_resume(&CASES[4], 0); /* Adam amsgrad */
    check_resume(&CASES[6], 0); /* AdamW amsgrad */
    check_resume(&CASES[7], 0); /* SGD, two groups */
    check_resume(&CASES[8], 0); /* Adam, two groups */
}

Test(optim, save_load_file_resumes_bit_for_bit)
{
    check_resume(&CASES[5], 1); /* AdamW */
    check_resume(&CASES[8], 1); /* Adam, two groups */
    pt_tensor *p = param(P0, 3);
    pt_optim *o = make_optim(&CASES[3], p, NULL);
    pt_error_clear();
    cr_expect_eq(pt_optim_load(o, "/nonexistent/dir/optim.state"), PT_ERR);
    cr_expect(strstr(pt_error(), "/nonexistent/dir/optim.state"), "message must name the file: %s",
              pt_error());
    pt_optim_free(o);
    pt_free(p);
}

/* Saves the state of case c after 2 steps (p of n0 values, q of n1 values or none). */
static void saved_state(const optim_case *c, int64_t n0, int64_t n1, void **buf, size_t *len)
{
    double v[8] = {1, -2, 0.5, 0.25, 3, -1, 2, 0.1};
    pt_tensor *p = param(v, n0), *q = n1 ? param(v + 1, n1) : NULL;
    pt_optim *o = make_optim(c, p, q);
    for (int s = 0; s < 2; s++) {
        size_t m = pt_scope_begin();
        pt_optim_zero_grad(o);
        pt_tensor *loss = pt_sum(pt_square(p));
        if (q)
            loss = pt_add(loss, pt_sum(pt_square(q)));
        cr_assert_eq(pt_backward(loss, NULL, 0), PT_OK);
        cr_assert_eq(pt_optim_step(o), PT_OK);
        pt_scope_end(m);
    }
    cr_assert_eq(pt_optim_save_buffer(o, buf, len), PT_OK, "%s", pt_error());
    pt_optim_free(o);
    pt_free(q);
    pt_free(p);
}

/* Loading buf into an optimizer of case c over p (and q) must fail with a message; and
 * whatever the load did, a step must not crash. */
static void expect_load_fails(const optim_case *c, const void *buf, size_t len, int64_t n0,
                              int64_t n1, const char *what)
{
    double v[8] = {0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4};
    pt_tensor *p = param(v, n0), *q = n1 ? param(v, n1) : NULL;
    pt_optim *o = make_optim(c, p, q);
    pt_error_clear();
    pt_status st = pt_optim_load_buffer(o, buf, len);
    cr_expect_eq(st, PT_ERR, "%s: %s: load must fail", c->name, what);
    if (st == PT_ERR)
        cr_expect(strstr(pt_error(), "pt_optim_load_buffer"), "%s: %s: message '%s'", c->name,
                  what, pt_error());
    size_t m = pt_scope_begin();
    pt_tensor *loss = pt_sum(pt_square(p));
    if (q)
        loss = pt_add(loss, pt_sum(pt_square(q)));
    pt_backward(loss, NULL, 0);
    pt_error_clear();
    pt_status step = pt_optim_step(o); /* must return, PT_OK or PT_ERR */
    if (st == PT_OK)
        cr_log_warn("%s: %s: load accepted; the next step returned %s (%s)", c->name, what,
                    step == PT_OK ? "PT_OK" : "PT_ERR", pt_error());
    pt_scope_end(m);
    pt_optim_free(o);
    pt_free(q);
    pt_free(p);
}

Test(optim, load_into_a_different_optimizer_fails_cleanly)
{
    long live = pt_live_tensors();
    const optim_case *kinds[3] = {&CASES[1], &CASES[3], &CASES[5]}; /* SGD momentum, Adam, AdamW */
    for (int k = 0; k < 3; k++) {
        const optim_case *c = kinds[k];
        void *buf = NULL;
        size_t len = 0;
        saved_state(c, 3, 0, &buf, &len);
        expect_load_fails(c, buf, len, 4, 0, "parameter of 4 values for a saved 3");
        expect_load_fails(c, buf, len, 2, 0, "parameter of 2 values for a saved 3");
        expect_load_fails(c, buf, len, 3, 2, "two groups for a saved one");
        expect_load_fails(c, buf, len / 2, 3, 0, "truncated buffer");
        char garbage[64];
        memset(garbage, 'x', sizeof garbage);
        expect_load_fails(c, garbage, sizeof garbage, 3, 0, "garbage buffer");
        free(buf);
    }
    cr_expect_eq(pt_live_tensors(), live);
}

/* ---------------------------------------------------------------- gradient clipping */

static pt_tensor *with_grad(const double *g, int64_t n)
{
    pt_tensor *p = param(g, n); /* values do not matter */
    pt_tensor *gt = pt_from_data(g, &n, 1, PT_F64);
    cr_assert_eq(pt_set_grad(p, gt), PT_OK, "%s", pt_error());
    pt_free(gt);
    return p;
}

Test(optim, clip_grad_norm)
{
    long live = pt_live_tensors();
    double total = 0, g1[2], g2[1];
    /* grads {3, 4} and {12}: total 2-norm 13 */
    pt_tensor *ps[3] = {with_grad((double[]){3, 4}, 2), with_grad((double[]){12}, 1),
                        param((double[]){5, 5}, 2) /* no gradient: ignored */};
    cr_assert_eq(pt_clip_grad_norm(ps, 3, 20, 2, &total), PT_OK, "%s", pt_error());
    cr_expect_float_eq(total, 13, 1e-12, "norm below max_norm: %g", total);
    pt_tensor *h = pt_grad(ps[0]);
    values(h, g1, 2);
    pt_free(h);
    cr_expect(g1[0] == 3 && g1[1] == 4, "below max_norm nothing changes");
    cr_assert_eq(pt_clip_grad_norm(ps, 3, 6.5, 2, &total), PT_OK, "%s", pt_error());
    cr_expect_float_eq(total, 13, 1e-12, "returns the norm before clipping, got %g", total);
    pt_tensor *h0 = pt_grad(ps[0]), *h1 = pt_grad(ps[1]);
    values(h0, g1, 2);
    values(h1, g2, 1);
    /* scaled by max_norm / (total + 1e-6) */
    cr_expect(fabs(g1[0] - 1.5) < 1e-6 && fabs(g1[1] - 2) < 1e-6 && fabs(g2[0] - 6) < 1e-6,
              "clipped to norm 6.5: %g %g %g", g1[0], g1[1], g2[0]);
    cr_expect_float_eq(sqrt(g1[0] * g1[0] + g1[1] * g1[1] + g2[0] * g2[0]), 6.5, 1e-5);
    cr_expect_eq(pt_has_grad(ps[2]), 0);
    pt_free(h1);
    pt_free(h0);
    /* infinity norm: the largest |g| */
    pt_tensor *qs[2] = {with_grad((double[]){-8, 1}, 2), with_grad((double[]){2}, 1)};
    cr_assert_eq(pt_clip_grad_norm(qs, 2, 4, INFINITY, &total), PT_OK, "%s", pt_error());
    cr_expect_float_eq(total, 8, 1e-12, "inf-norm %g", total);
    h0 = pt_grad(qs[0]);
    values(h0, g1, 2);
    cr_expect(fabs(g1[0] + 4) < 1e-6 && fabs(g1[1] - 0.5) < 1e-6, "inf-norm clip: %g %g", g1[0],
              g1[1]);
    pt_free(h0);
    cr_expect_eq(pt_clip_grad_norm(qs, 2, 4, 2, NULL), PT_OK, "total_norm may be NULL");
    for (int i = 0; i < 3; i++)
        pt_free(ps[i]);
    for (int i = 0; i < 2; i++)
        pt_free(qs[i]);
    cr_expect_eq(pt_live_tensors(), live);
}
