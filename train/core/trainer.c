/*
 * trainer.c - see trainer.h: `pictor train`, the loop, read top to bottom in trainer_train();
 * the pieces only it uses (stop signals, optimizer groups, checkpoints, evaluation with the best
 * checkpoint) come first. Session set-up and the data pipe are in session.c, evaluation's batch
 * loop in evaluate.c.
 */
#include "core/trainer.h"

#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/settings.h"
#include "core/checkpoint.h"
#include "core/config_diff.h"
#include "core/ddp.h"
#include "core/runlock.h"
#include "core/evaluate.h"
#include "core/optim_setup.h"
#include "core/export.h"
#include "core/sched.h"
#include "core/session.h"
#include "report/plot.h"
#include "report/runlog.h"
#include "fileio.h"

/* sched.type converts to sched_kind by value */
_Static_assert((int)SETTINGS_SCHED_CONSTANT == (int)SCHED_CONSTANT &&
                   (int)SETTINGS_SCHED_MULTISTEP == (int)SCHED_MULTISTEP &&
                   (int)SETTINGS_SCHED_COSINE == (int)SCHED_COSINE,
               "settings_sched_type and sched_kind must list the schedules in the same order");

/* ------------------------------------------------------------------ signals */

static volatile sig_atomic_t g_stop_signal = 0;

static void on_stop_signal(int sig) { g_stop_signal = sig; }

static void install_stop_handlers(struct sigaction *old_int, struct sigaction *old_term)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    g_stop_signal = 0;
    sigaction(SIGINT, &sa, old_int);
    sigaction(SIGTERM, &sa, old_term);
}

static void restore_stop_handlers(const struct sigaction *old_int, const struct sigaction *old_term)
{
    sigaction(SIGINT, old_int, NULL);
    sigaction(SIGTERM, old_term, NULL);
}


/* ------------------------------------------------------------------ small helpers */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ checkpoints */

typedef struct {
    ckpt_state st;
    char last[4096], best[4096];
} ckpt_paths;

static int save_checkpoint(const char *path, session *s, pt_optim *o, ckpt_state *st,
                           sampler_state next, const data_pipe *p)
{
    if (s->rank != 0) /* data parallel: rank 0 alone writes (every rank holds the same state) */
        return EXIT_OK;
    snprintf(st->model_type, sizeof st->model_type, "%s", s->drv->type);
    snprintf(st->config_hash, sizeof st->config_hash, "%s", s->cfg.hash);
    st->data_epoch = next.epoch;
    st->data_batch = next.batch;
    st->sampler_fingerprint = sampler_fingerprint(p->smp);
    if (ckpt_save(path, s->store, o, st) != PT_OK)
        return core_fail(EXIT_USER, "cannot write checkpoint: %s", pt_error());
    return EXIT_OK;
}

/* ------------------------------------------------------------------ the loop */

typedef struct {
    double loss_sum, term_sum[DRV_MAX_TERMS];
    const char *term_name[DRV_MAX_TERMS];
    int n_terms, n;
    int64_t images;
    double t0;
    /* where the window's time went, seconds: waiting for the loader (read, augment, targets),
     * the driver's forward + loss, backward, and gradient clipping + optimizer step */
    double t_data, t_forward, t_backward, t_optim;
    int64_t steps;
} log_window;

static int is_better(const settings *c, double v, const ckpt_state *st)
{
    if (isnan(v))
        return 0;
    if (!st->has_best)
        return 1;
    return c->train.best_mode == SETTINGS_BEST_MAX ? v > st->best_metric : v < st->best_metric;
}

/* Name of the first parameter whose gradient is not finite ("" if none). */
static const char *nonfinite_grad_name(nn_store *s)
{
    for (int i = 0; i < nn_store_size(s); i++) {
        pt_tensor *t = nn_store_tensor(s, i);
        if (!nn_store_is_param(s, i) || !pt_has_grad(t))
            continue;
        size_t mark = pt_scope_begin();
        double ok = pt_item_or_nan(pt_all(pt_isfinite(pt_grad(t))));
        pt_scope_end(mark);
        if (ok != 1.0)
            return nn_store_name(s, i);
    }
    return "";
}

static int run_eval_and_log(session *s, runlog *rl, pt_optim *o, ckpt_paths *ck, int64_t step,
                            int64_t epoch, const data_pipe *p, sampler_state next)
{
    char err[SESSION_ERRLEN];
    drv_metrics m;
    if (s->rank != 0) /* data parallel: rank 0 evaluates on the whole of data.val */
        return EXIT_OK;
    int rc = session_evaluate(s, s->val, &m, err, sizeof err);
    if (rc != EXIT_OK)
        return core_fail(rc, "%s", err);
    runlog_scalar sc[DRV_MAX_METRICS];
    for (int i = 0; i < m.n; i++)
        sc[i] = (runlog_scalar){m.name[i], m.value[i]};
    runlog_eval(rl, step, epoch, sc, m.n);
    const char *bm = s->cfg.train.best_metric;
    if (*bm) {
        double v = drv_metrics_get(&m, bm);
        if (isnan(v) && m.n > 0 && !isnan(drv_metrics_get(&m, m.name[0])) &&
            drv_metrics_get(&m, bm) != drv_metrics_get(&m, bm)) {
            int known = 0;
            for (int i = 0; i < m.n; i++)
                known |= strcmp(m.name[i], bm) == 0;
            if (!known)
                return core_fail(EXIT_USER, "train.best_metric '%s' is not a metric of model type '%s'",
                            bm, s->drv->type);
        }
        if (is_better(&s->cfg, v, &ck->st)) {
            ck->st.has_best = 1;
            ck->st.best_metric = v;
            ck->st.best_step = step;
            ck->st.step = step;
            if ((rc = save_checkpoint(ck->best, s, o, &ck->st, next, p)) != EXIT_OK)
                return rc;
            runlog_printf(rl, "new best %s %.6g at step %" PRId64 " -> %s\n", bm, v, step, ck->best);
        }
    }
    plot_options po = {0};
    plot_run(s->run_dir, &po);
    return EXIT_OK;
}

/* the resolved config as settings_emit writes it (malloc'ed, NUL-terminated), NULL if out of
 * memory */
static char *emit_resolved(const session *s, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    int bad = settings_emit(f, &s->cfg);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int write_resolved_config(session *s)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config.yaml", s->run_dir);
    size_t len = 0;
    char *buf = emit_resolved(s, &len);
    if (!buf)
        return core_fail(EXIT_INTERNAL, "out of memory");
    pt_status st = pt_write_file_atomic(path, buf, len);
    free(buf);
    if (st != PT_OK)
        return core_fail(EXIT_USER, "cannot write %s: %s", path, pt_error());
    return EXIT_OK;
}

/* --resume: the config the checkpoint was trained with is the config.yaml of its run directory
 * (.../RUN/checkpoints/X.ckpt), else of this run directory. Run-length keys may change; any other
 * difference is refused, naming the keys, unless o->accept_config_change (config_diff.h). A run
 * directory without config.yaml cannot be compared: a note, and the run goes on. */
static int check_resume_config(const session *s, const trainer_opts *o, const char *ckpt_path)
{
    char old_path[4200];
    const char *slash = strrchr(ckpt_path, '/');
    int n = slash ? (int)(slash - ckpt_path) : 0;
    if (n >= 12 && !strncmp(ckpt_path + n - 12, "/checkpoints", 12))
        snprintf(old_path, sizeof old_path, "%.*s/config.yaml", n - 12, ckpt_path);
    else if (n == 11 && !strncmp(ckpt_path, "checkpoints", 11))
        snprintf(old_path, sizeof old_path, "config.yaml");
    else
        snprintf(old_path, sizeof old_path, "%s/config.yaml", s->run_dir);
    void *old_text = NULL;
    size_t old_len = 0, new_len = 0;
    if (!core_file_exists(old_path) || pt_read_file(old_path, &old_text, &old_len) != PT_OK) {
        fprintf(stderr, "pictor: note: no readable %s: cannot check that %s was trained with "
                        "this config\n", old_path, ckpt_path);
        return EXIT_OK;
    }
    char *new_text = emit_resolved(s, &new_len), err[256];
    cfgdiff d;
    if (!new_text || cfgdiff_compute(old_text, new_text, &d, err, sizeof err) != 0) {
        free(old_text);
        free(new_text);
        return core_fail(EXIT_INTERNAL, "out of memory");
    }
    free(old_text);
    free(new_text);
    char list[4096];
    int rc = EXIT_OK;
    if (d.n_blocking && !o->accept_config_change) {
        cfgdiff_format(&d, 1, 12, list, sizeof list);
        rc = core_fail(EXIT_USER,
                       "cannot resume from %s: the config differs from the one it was trained "
                       "with (%s) in %d key(s):\n%s"
                       "resume with the old values, train under a new run.name, or add "
                       "--accept-config-change to continue with the new values",
                       ckpt_path, old_path, d.n_blocking, list);
    } else if (d.n && s->rank == 0) {
        cfgdiff_format(&d, 0, 12, list, sizeof list);
        fprintf(stderr, "pictor: note: resuming with %d changed key(s) (old -> new):\n%s", d.n,
                list);
    }
    cfgdiff_free(&d);
    return rc;
}

/* Data parallel: every rank starts at the same step and data position (the same checkpoint, or
 * none: a rank on another host that cannot see the run directory would start from scratch), and
 * then holds rank 0's weights and buffers. */
static int ddp_agree_on_start(ddp *dp, session *s, const ckpt_state *st, const char *resume)
{
    char err[SESSION_ERRLEN];
    const double x[3] = {(double)st->step, (double)st->data_epoch, (double)st->data_batch};
    double v[6];
    for (int i = 0; i < 3; i++)
        v[2 * i] = x[i], v[2 * i + 1] = x[i] * x[i];
    if (ddp_sum(dp, v, 6, err, sizeof err) != 0)
        return core_fail(EXIT_USER, "%s", err);
    for (int i = 0; i < 3; i++) {
        double mean = v[2 * i] / s->world, var = v[2 * i + 1] / s->world - mean * mean;
        if (var > 0.5 || mean != x[i])
            return core_fail(EXIT_USER, "rank %d starts at step %" PRId64 " (%s) but the ranks "
                             "disagree: every rank must resume from the same checkpoint (is %s "
                             "on a file system every host sees, or copied to each?)", s->rank,
                             st->step, resume ? resume : "no checkpoint", s->run_dir);
    }
    if (ddp_broadcast_store(dp, s->store, err, sizeof err) != 0)
        return core_fail(EXIT_USER, "%s", err);
    return EXIT_OK;
}

int trainer_train(const trainer_opts *o)
{
    char err[SESSION_ERRLEN];
    session s;
    int rc = session_open(&s, o, SESSION_TRAIN, err, sizeof err);
    if (rc != EXIT_OK)
        return core_fail(rc, "%s", err);
    const settings *c = &s.cfg;
    pt_optim *opt = NULL;
    data_pipe pipe = {0};
    runlog *rl = NULL;
    ckpt_paths ck;
    memset(&ck, 0, sizeof ck);
    struct sigaction old_int, old_term;
    ddp *dp = NULL;
    int signals_installed = 0, lock_fd = -1;

    /* data parallel (torchrun's environment; none: one process) */
    if (ddp_open(&dp, err, sizeof err) != 0) {
        rc = core_fail(EXIT_USER, "%s", err);
        goto done;
    }
    s.rank = ddp_rank(dp);
    s.world = ddp_world_size(dp);

    /* run directory */
    char dirs[4200];
    snprintf(dirs, sizeof dirs, "%s/checkpoints", s.run_dir);
    if (core_make_dirs(dirs, err, sizeof err) != 0 ||
        (snprintf(dirs, sizeof dirs, "%s/plots", s.run_dir), core_make_dirs(dirs, err, sizeof err)) != 0) {
        rc = core_fail(EXIT_USER, "%s", err);
        goto done;
    }
    /* one training per run directory; then the temp files of killed runs can go */
    if ((lock_fd = runlock_acquire(s.run_dir, err, sizeof err)) < 0) {
        rc = core_fail(EXIT_USER, "%s", err);
        goto done;
    }
    int stale = runlock_clean_temps(s.run_dir);
    if (stale > 0)
        fprintf(stderr, "pictor: note: removed %d unfinished temp file(s) of an interrupted "
                        "run from %s\n", stale, s.run_dir);
    snprintf(ck.last, sizeof ck.last, "%s/checkpoints/last.ckpt", s.run_dir);
    snprintf(ck.best, sizeof ck.best, "%s/checkpoints/best.ckpt", s.run_dir);

    if (!(opt = optim_from_settings(c, s.store, err, sizeof err))) {
        rc = core_fail(EXIT_INTERNAL, "%s", err);
        goto done;
    }

    /* resume */
    const char *resume_path = NULL;
    if (o->resume && strcmp(o->resume, "auto") == 0)
        resume_path = core_file_exists(ck.last) ? ck.last : NULL;
    else if (o->resume)
        resume_path = o->resume;
    sampler_state start = {0, 0};
    if (resume_path) {
        if ((rc = check_resume_config(&s, o, resume_path)) != EXIT_OK)
            goto done;
        if (ckpt_load(resume_path, s.store, opt, s.drv->type, &ck.st) != PT_OK) {
            rc = core_fail(EXIT_USER, "cannot resume: %s", pt_error());
            goto done;
        }
        start.epoch = ck.st.data_epoch;
        start.batch = ck.st.data_batch;
        long removed = 0;
        if (s.rank == 0)
            runlog_truncate_after(s.run_dir, ck.st.step, &removed);
    } else if (o->resume && strcmp(o->resume, "auto") == 0 && s.rank == 0) {
        printf("pictor: no checkpoint in %s/checkpoints yet: starting from scratch\n", s.run_dir);
    }
    if (dp && (rc = ddp_agree_on_start(dp, &s, &ck.st, resume_path)) != EXIT_OK)
        goto done;
    if (s.rank == 0 && (rc = write_resolved_config(&s)) != EXIT_OK)
        goto done;

    if (pipe_open(&pipe, &s, s.train, 1, resume_path ? &start : NULL, 0, 0, err,
                  sizeof err) != 0) {
        rc = core_fail(EXIT_USER, "%s", err);
        goto done;
    }
    if (resume_path && ck.st.sampler_fingerprint != sampler_fingerprint(pipe.smp))
        fprintf(stderr, "pictor: note: the training data or sampler changed since the "
                        "checkpoint; the data order will differ from the original run\n");

    int64_t accum = c->train.grad_accum > 0 ? c->train.grad_accum : 1;
    int64_t batches_per_epoch = sampler_batches_per_epoch(pipe.smp);
    int64_t steps_per_epoch = (batches_per_epoch + accum - 1) / accum;
    int64_t total = c->train.max_steps > 0 ? c->train.max_steps : c->train.epochs * steps_per_epoch;
    sched_spec sp = {.kind = (sched_kind)c->sched.type,
                     .total_steps = total,
                     .warmup_steps = c->sched.warmup_steps,
                     .warmup_start_factor = c->sched.warmup_start_factor,
                     .milestones = c->sched.milestones.v,
                     .n_milestones = c->sched.milestones.n,
                     .gamma = c->sched.gamma,
                     .min_factor = c->sched.min_lr_factor};
    const char *bad = sched_check(&sp);
    if (bad) {
        rc = core_fail(EXIT_USER, "%s: sched: %s", o->config_path, bad);
        goto done;
    }

    runlog_options lo = {0};
    lo.tensorboard = 1;
    lo.resume_step = ck.st.step;
    if (s.rank == 0 && !(rl = runlog_open(s.run_dir, total, &lo))) {
        rc = core_fail(EXIT_USER, "%s", pt_error());
        goto done;
    }
    char ranks[64] = "";
    if (dp)
        snprintf(ranks, sizeof ranks, " x %d ranks", s.world);
    runlog_printf(rl, "pictor train: %s, model %s (%" PRId64 " parameters), %" PRId64
                      " training items, %" PRId64 " steps of %" PRId64 " x %" PRId64
                      "%s images, %d thread(s) -> %s\n",
                  o->config_path, s.drv->type, nn_store_num_scalars(s.store, 1),
                  sampler_num_items(pipe.smp), total, c->train.batch_size, accum, ranks,
                  pt_get_num_threads(), s.run_dir);
    if (resume_path)
        runlog_printf(rl, "resumed from %s at step %" PRId64 "\n", resume_path, ck.st.step);

    install_stop_handlers(&old_int, &old_term);
    signals_installed = 1;
    int64_t step = ck.st.step, skipped = 0;
    sampler_state next = start;
    log_window win;
    memset(&win, 0, sizeof win);
    win.t0 = now_s();
    const int n_groups = pt_optim_num_groups(opt);

    while (step < total) {
        /* schedule */
        double factor = sched_factor(&sp, step);
        for (int g = 0; g < n_groups; g++)
            pt_optim_set_lr(opt, g, c->optim.lr * factor);
        pt_optim_zero_grad(opt);
        if (s.drv->set_progress)
            s.drv->set_progress(s.model, step, total);

        /* forward, loss and backward over accum micro-batches */
        double step_loss = 0, step_terms[DRV_MAX_TERMS] = {0};
        int bad_step = 0;
        if (dp && ddp_broadcast_buffers(dp, s.store, err, sizeof err) != 0) {
            rc = core_fail(EXIT_USER, "step %" PRId64 ": %s", step + 1, err);
            goto done;
        }
        for (int64_t a = 0; a < accum && !bad_step; a++) {
            ld_batch *b = NULL;
            double t_a = now_s();
            int st = loader_next(pipe.ld, &b, err, sizeof err);
            double t_b = now_s();
            win.t_data += t_b - t_a;
            if (st != LOADER_OK) {
                rc = core_fail(EXIT_USER, "step %" PRId64 ": %s", step + 1,
                          st == LOADER_END ? "the loader ran out of data" : err);
                goto done;
            }
            next = b->next;
            win.images += b->n * s.world;
            size_t mark = pt_scope_begin();
            drv_terms terms = {0};
            pt_tensor *loss = s.drv->loss(s.model, b->collated, &terms);
            double lv = pt_item_or_nan(loss);
            double t_c = now_s();
            win.t_forward += t_c - t_b;
            if (!loss) {
                rc = core_fail(EXIT_INTERNAL, "step %" PRId64 ": %s", step + 1, pt_error());
                pt_scope_end(mark);
                ld_batch_free(b);
                goto done;
            }
            win.n_terms = terms.n;
            for (int t = 0; t < terms.n; t++) {
                double tv = pt_item_or_nan(terms.value[t]);
                win.term_name[t] = terms.name[t];
                step_terms[t] += tv / (double)accum;
                if (!isfinite(tv) && !bad_step) {
                    bad_step = 1;
                    snprintf(err, sizeof err, "step %" PRId64 ": loss term '%s' is %s", step + 1,
                             terms.name[t], isnan(tv) ? "NaN" : "Inf");
                }
            }
            if (!isfinite(lv) && !bad_step) {
                bad_step = 1;
                snprintf(err, sizeof err, "step %" PRId64 ": the total loss is %s", step + 1,
                         isnan(lv) ? "NaN" : "Inf");
            }
            step_loss += lv / (double)accum;
            pt_status bst = PT_OK;
            if (!bad_step && s.drv->backward) {
                bst = s.drv->backward(s.model, loss, &terms, 1.0 / (double)accum);
            } else if (!bad_step) {
                pt_tensor *scaled = accum > 1 ? pt_div_s(loss, (double)accum) : loss;
                bst = pt_backward(scaled, NULL, 0);
            }
            pt_scope_end(mark);
            ld_batch_free(b);
            win.t_backward += now_s() - t_c;
            if (bst != PT_OK) {
                rc = core_fail(EXIT_INTERNAL, "step %" PRId64 ": backward: %s", step + 1, pt_error());
                goto done;
            }
        }

        /* data parallel: the step's losses and flags summed over the ranks, then the gradients
         * averaged (a non-finite loss or a stop signal on one rank counts for all) */
        int stop_agreed = g_stop_signal != 0;
        if (dp) {
            double sums[DRV_MAX_TERMS + 3] = {bad_step, stop_agreed, step_loss};
            for (int t = 0; t < win.n_terms && t < DRV_MAX_TERMS; t++)
                sums[3 + t] = step_terms[t];
            if (ddp_sum(dp, sums, DRV_MAX_TERMS + 3, err, sizeof err) != 0) {
                rc = core_fail(EXIT_USER, "step %" PRId64 ": %s", step + 1, err);
                goto done;
            }
            if (sums[0] > 0 && !bad_step)
                snprintf(err, sizeof err, "step %" PRId64 ": a loss is not finite on another rank",
                         step + 1);
            bad_step = sums[0] > 0;
            stop_agreed = sums[1] > 0;
            step_loss = sums[2] / s.world;
            for (int t = 0; t < win.n_terms && t < DRV_MAX_TERMS; t++)
                step_terms[t] = sums[3 + t] / s.world;
            if (!bad_step && ddp_average_grads(dp, s.store, err, sizeof err) != 0) {
                rc = core_fail(EXIT_USER, "step %" PRId64 ": %s", step + 1, err);
                goto done;
            }
        }

        /* gradients: clip, check */
        double gnorm = 0, t_d = now_s();
        if (!bad_step) {
            int np;
            pt_tensor *const *params = nn_store_params(s.store, &np);
            double maxn = c->train.grad_clip > 0 ? c->train.grad_clip : INFINITY;
            if (pt_clip_grad_norm(params, np, maxn, 2.0, &gnorm) != PT_OK) {
                rc = core_fail(EXIT_INTERNAL, "step %" PRId64 ": %s", step + 1, pt_error());
                goto done;
            }
            if (!isfinite(gnorm)) {
                bad_step = 1;
                snprintf(err, sizeof err, "step %" PRId64 ": the gradient of '%s' is not finite",
                         step + 1, nonfinite_grad_name(s.store));
            }
        }
        if (bad_step) {
            if (c->train.nan_policy == SETTINGS_NAN_STOP) {
                rc = core_fail(EXIT_USER, "%s (train.nan_policy: stop%s; try a lower optim.lr, "
                                     "train.grad_clip, or train.nan_policy: skip)", err,
                          core_file_exists(ck.last) ? "; checkpoints/last.ckpt holds the last good state"
                                               : "");
                goto done;
            }
            runlog_printf(rl, "%s: step skipped (train.nan_policy: skip)\n", err);
            pt_optim_zero_grad(opt);
            skipped++;
        } else if (pt_optim_step(opt) != PT_OK) {
            rc = core_fail(EXIT_INTERNAL, "step %" PRId64 ": optimizer: %s", step + 1, pt_error());
            goto done;
        }
        step++;
        win.t_optim += now_s() - t_d;
        win.steps++;
        int64_t epoch = next.epoch;

        /* log */
        if (!bad_step) {
            win.loss_sum += step_loss;
            for (int t = 0; t < win.n_terms; t++)
                win.term_sum[t] += step_terms[t];
            win.n++;
        }
        if ((step % c->train.log_every == 0 || step == total) && win.n > 0) {
            runlog_scalar sc[DRV_MAX_TERMS + 8];
            char names[DRV_MAX_TERMS][64];
            int k = 0;
            double dt = now_s() - win.t0;
            sc[k++] = (runlog_scalar){"loss", win.loss_sum / win.n};
            for (int t = 0; t < win.n_terms; t++) {
                snprintf(names[t], sizeof names[t], "loss/%s", win.term_name[t]);
                sc[k++] = (runlog_scalar){names[t], win.term_sum[t] / win.n};
            }
            sc[k++] = (runlog_scalar){"lr", c->optim.lr * factor};
            sc[k++] = (runlog_scalar){"grad_norm", gnorm};
            sc[k++] = (runlog_scalar){"images_per_s", dt > 0 ? (double)win.images / dt : 0};
            double per_step = win.steps > 0 ? 1000.0 / (double)win.steps : 0;
            sc[k++] = (runlog_scalar){"time/data_ms", win.t_data * per_step};
            sc[k++] = (runlog_scalar){"time/forward_ms", win.t_forward * per_step};
            sc[k++] = (runlog_scalar){"time/backward_ms", win.t_backward * per_step};
            sc[k++] = (runlog_scalar){"time/optim_ms", win.t_optim * per_step};
            if (rl && runlog_step(rl, step, epoch, sc, k) != PT_OK)
                fprintf(stderr, "pictor: warning: %s\n", pt_error());
            memset(&win, 0, sizeof win);
            win.t0 = now_s();
        } else {
            runlog_progress(rl, step, epoch);
        }

        /* evaluate */
        int epoch_end = next.batch == 0 && step % steps_per_epoch == 0;
        if (s.val && ((c->train.eval_every > 0 && step % c->train.eval_every == 0) ||
                      (c->train.eval_every == 0 && epoch_end) || step == total)) {
            if ((rc = run_eval_and_log(&s, rl, opt, &ck, step, epoch, &pipe, next)) != EXIT_OK)
                goto done;
            if (ddp_barrier(dp, err, sizeof err) != 0) {
                rc = core_fail(EXIT_USER, "after the evaluation at step %" PRId64 ": %s", step, err);
                goto done;
            }
        }

        /* checkpoint */
        ck.st.step = step;
        int stop = stop_agreed;
        if ((c->train.checkpoint_every > 0 && step % c->train.checkpoint_every == 0) ||
            step == total || stop) {
            if ((rc = save_checkpoint(ck.last, &s, opt, &ck.st, next, &pipe)) != EXIT_OK)
                goto done;
        }
        if (stop) {
            runlog_printf(rl, "\nstopped by signal %d after step %" PRId64 "; %s written; "
                              "continue with: pictor train %s --resume auto\n",
                          (int)g_stop_signal, step, ck.last, o->config_path);
            rc = EXIT_SIGNAL;
            goto done;
        }
    }

    /* the end: plots and exported weights */
    if (skipped)
        runlog_printf(rl, "%" PRId64 " step(s) skipped for non-finite values\n", skipped);
    if (s.rank == 0) {
        plot_options po = {0};
        plot_run(s.run_dir, &po);
        char out[4200];
        snprintf(out, sizeof out, "%s/weights.safetensors", s.run_dir);
        if (export_store(s.store, s.drv, s.cfg.hash, step, "safetensors", out) != PT_OK) {
            rc = core_fail(EXIT_USER, "cannot export weights: %s", pt_error());
            goto done;
        }
        runlog_printf(rl, "done: %" PRId64 " steps; weights in %s\n", step, out);
    }
    rc = EXIT_OK;
done:
    if (signals_installed)
        restore_stop_handlers(&old_int, &old_term);
    if (rl)
        runlog_close(rl);
    pipe_close(&pipe);
    pt_optim_free(opt);
    session_close(&s);
    ddp_close(dp);
    runlock_release(lock_fd);
    return rc;
}
