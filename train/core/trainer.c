/*
 * trainer.c - see trainer.h. The training loop is trainer_train(), top to bottom; the pieces it
 * calls (session set-up, optimizer groups, loader, evaluation, checkpoints) come first.
 */
#include "core/trainer.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/augment.h"
#include "core/checkpoint.h"
#include "pipeline/collate.h"
#include "core/driver.h"
#include "core/export.h"
#include "pipeline/loader.h"
#include "report/plot.h"
#include "report/runlog.h"
#include "pipeline/sampler.h"
#include "core/sched.h"
#include "config/settings.h"
#include "store/store.h"

#define ERRLEN 2048

enum { EXIT_OK = 0, EXIT_USER = 1, EXIT_INTERNAL = 2, EXIT_SIGNAL = 130 };

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

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* mkdir -p */
static int make_dirs(const char *path, char *err, size_t errlen)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        char c = *p;
        if (c == '/' || c == '\0') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                snprintf(err, errlen, "cannot create directory '%s': %s", buf, strerror(errno));
                return -1;
            }
            *p = c;
        }
        if (c == '\0')
            return 0;
    }
}

static int fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("pictor: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return status;
}

/* ------------------------------------------------------------------ a session: config, data, model */

typedef struct {
    settings cfg;
    const driver *drv;
    void *model_cfg;
    nn_store *store;
    store_reader *train, *val;
    drv_env env;
    void *model;
    collate_config collate;
    char run_dir[4096];
} session;

static void session_close(session *s)
{
    if (s->drv && s->model)
        s->drv->destroy(s->model);
    nn_store_free(s->store);
    store_close(s->train);
    store_close(s->val);
    settings_free(&s->cfg);
    free(s->model_cfg);
    memset(s, 0, sizeof *s);
}

/* data.holdout_domain: a name -> its id among the dataset's domains; an id must exist. */
static int resolve_holdout(session *s, const char *data_path, char *err, size_t errlen)
{
    settings_data *d = &s->cfg.data;
    if (!d->holdout[0])
        return 0;
    char names[1024] = "";
    for (int i = 0; i < s->env.num_domains; i++) {
        const char *n = s->env.domain_names ? s->env.domain_names[i] : "";
        if (d->holdout_domain < 0 && !strcmp(n, d->holdout))
            d->holdout_domain = i;
        size_t len = strlen(names);
        snprintf(names + len, sizeof names - len, "%s%s (%d)", i ? ", " : "", n, i);
    }
    if (d->holdout_domain >= 0 && d->holdout_domain < s->env.num_domains)
        return 0;
    char where[4300];
    cfg_where(s->cfg.doc, "data.holdout_domain", where, sizeof where);
    snprintf(err, errlen, "%s: data.holdout_domain: '%s' is not a domain of '%s' (%s)", where,
             d->holdout, data_path, s->env.num_domains ? names : "it has no domains");
    return -1;
}

/* Load the config with the driver's model table, open the datasets, build the model. Returns an
 * exit status; on failure the message is in err and the session is closed. */
static int session_open(session *s, const trainer_opts *o, int need_train, char *err,
                        size_t errlen)
{
    memset(s, 0, sizeof *s);
    cfg_doc *doc = cfg_load(o->config_path, o->overrides, o->n_overrides, err, errlen);
    if (!doc)
        return EXIT_USER;
    const char *type = cfg_peek_string(doc, "model.type");
    char where[512];
    if (!type || !*type) {
        snprintf(err, errlen, "%s: model.type is required (one of: %s)", o->config_path,
                 driver_names());
        cfg_doc_free(doc);
        return EXIT_USER;
    }
    s->drv = driver_find(type);
    if (!s->drv) {
        snprintf(err, errlen, "%s: unknown model.type '%s' (one of: %s)",
                 cfg_where(doc, "model.type", where, sizeof where), type, driver_names());
        cfg_doc_free(doc);
        return EXIT_USER;
    }
    s->model_cfg = calloc(1, s->drv->model_cfg_size ? s->drv->model_cfg_size : 1);
    if (!s->model_cfg) {
        cfg_doc_free(doc);
        snprintf(err, errlen, "out of memory");
        return EXIT_INTERNAL;
    }
    settings_extra x = {.n = 1, .secs = {s->drv->model_section}, .structs = {s->model_cfg}};
    for (int i = 0; i < s->drv->n_more_sections && x.n < SETTINGS_MAX_EXTRA; i++, x.n++) {
        x.secs[x.n] = s->drv->more_sections[i];
        x.structs[x.n] = s->model_cfg;
    }
    if (settings_bind(&s->cfg, doc, &x, err, errlen) != 0) {
        free(s->model_cfg);
        s->model_cfg = NULL;
        return EXIT_USER;
    }
    const settings *c = &s->cfg;
    snprintf(s->run_dir, sizeof s->run_dir, "%s/%s", c->run.dir, c->run.name);
    pt_set_num_threads((int)c->train.threads);
    pt_manual_seed((uint64_t)c->train.seed);
    if (c->train.deterministic)
        pt_set_deterministic(1);

    if (need_train && !*c->data.train) {
        snprintf(err, errlen, "%s: data.train is not set (an HDF5 dataset, see pictor data)",
                 o->config_path);
        session_close(s);
        return EXIT_USER;
    }
    if (*c->data.train && !(s->train = store_open(c->data.train, err, errlen))) {
        session_close(s);
        return EXIT_USER;
    }
    if (*c->data.val && !(s->val = store_open(c->data.val, err, errlen))) {
        session_close(s);
        return EXIT_USER;
    }
    store_reader *any = s->train ? s->train : s->val;
    if (!any) {
        snprintf(err, errlen, "%s: neither data.train nor data.val is set", o->config_path);
        session_close(s);
        return EXIT_USER;
    }
    const store_layout *lay = store_layout_of(any);
    s->env.cfg = c;
    s->env.model_cfg = s->model_cfg;
    s->env.train = s->train;
    s->env.val = s->val;
    s->env.in_channels = lay->o.channels;
    s->env.num_classes = store_num_classes(any);
    s->env.num_domains = store_num_domains(any);
    s->env.class_names = store_class_names(any);
    s->env.domain_names = store_domain_names(any);
    s->env.run_dir = s->run_dir;
    if (resolve_holdout(s, store_path(any), err, errlen) != 0) {
        session_close(s);
        return EXIT_USER;
    }
    if (c->data.image_size > 0)
        s->env.image_h = s->env.image_w = (int)c->data.image_size;
    else if (lay->o.images == STORE_RAW)
        s->env.image_h = lay->o.height, s->env.image_w = lay->o.width;
    s->store = nn_store_new((uint64_t)c->train.seed);
    s->env.store = s->store;
    if (!s->store) {
        snprintf(err, errlen, "%s", pt_error());
        session_close(s);
        return EXIT_INTERNAL;
    }
    s->collate = s->drv->collate(&s->env);
    s->model = s->drv->create(&s->env, err, errlen);
    if (!s->model) {
        session_close(s);
        return EXIT_USER;
    }
    return EXIT_OK;
}

/* ------------------------------------------------------------------ data */

/* settings' augmentation keys -> the loader's pipeline. data.augment.resize (training only) comes
 * before the random crop; without it the images are resized to data.image_size after the crop.
 * Evaluation gets only the resize to data.image_size. Both resizes stretch, or letterbox with
 * data.resize_mode (pipeline/dense_augment.h: aug_unletterbox_* maps predictions back). */
static aug_config augment_of(const settings *c, int training)
{
    aug_config a;
    memset(&a, 0, sizeof a);
    const settings_augment *g = &c->data.augment;
    a.resize_h = a.resize_w = (int)c->data.image_size;
    a.letterbox = c->data.resize_mode == SETTINGS_RESIZE_LETTERBOX;
    a.fill_image = (uint8_t)c->data.pad_value;
    a.fill_mask = (uint8_t)c->data.mask_pad_value;
    if (!training)
        return a;
    if (g->resize > 0) {
        a.resize_h = a.resize_w = (int)g->resize;
        a.resize_first = 1;
    }
    a.rot90_prob = g->rot90 ? 0.75f : 0.0f; /* then k in {1,2,3}: uniform over 0/90/180/270 */
    a.hflip_prob = (float)g->hflip;
    a.crop_h = a.crop_w = (int)g->crop;
    a.rotate_deg = (float)g->rotate;
    a.object_crop_prob = (float)g->object_crop_prob;
    if (g->object_crop_scale.n == 2) {
        a.object_crop_scale_min = (float)g->object_crop_scale.v[0];
        a.object_crop_scale_max = (float)g->object_crop_scale.v[1];
    }
    a.blur_prob = (float)g->blur_prob;
    a.blur_sigma_max = (float)g->blur_sigma;
    a.blur_sigma_min = g->blur_sigma > 0.1 ? 0.1f : (float)g->blur_sigma;
    if (g->brightness > 0 || g->contrast > 0 || g->saturation > 0) {
        a.jitter_prob = 1.0f;
        a.brightness = (float)g->brightness;
        a.contrast = (float)g->contrast;
        a.saturation = (float)g->saturation;
    }
    return a;
}

typedef struct {
    ds_source src;
    sampler *smp;
    loader *ld;
} data_pipe;

static void pipe_close(data_pipe *p)
{
    loader_free(p->ld);
    sampler_free(p->smp);
    memset(p, 0, sizeof *p);
}

/* max_items > 0: only the first max_items items of r (evaluation order); keep_samples: batches
 * also carry their (augmented) samples. */
static int pipe_open(data_pipe *p, session *s, store_reader *r, int training,
                     const sampler_state *resume_at, int64_t max_items, int keep_samples,
                     char *err, size_t errlen)
{
    const settings *c = &s->cfg;
    memset(p, 0, sizeof *p);
    store_source(r, &p->src);
    if (max_items > 0 && max_items < p->src.count)
        p->src.count = max_items;
    sampler_config sc = sampler_config_defaults();
    sc.kind = training ? (sampler_kind)c->data.sampler : SAMPLER_SEQUENTIAL;
    sc.batch_size = (int)c->train.batch_size;
    sc.drop_last = training ? c->data.drop_last : 0;
    sc.seed = (uint64_t)c->train.seed;
    sc.holdout_domain = training && c->data.holdout_domain >= 0 ? (int)c->data.holdout_domain
                                                                 : SAMPLER_NO_DOMAIN;
    if (training && c->data.domain_weights.n > 0) {
        sc.domain_weights = c->data.domain_weights.v;
        sc.n_domain_weights = c->data.domain_weights.n;
    }
    if (!(p->smp = sampler_new(&sc, &p->src, err, errlen)))
        return -1;
    if (resume_at && sampler_set_state(p->smp, *resume_at, err, errlen) != 0)
        return pipe_close(p), -1;
    loader_config lc = loader_config_defaults();
    lc.workers = (int)c->data.workers;
    lc.prefetch = (int)c->data.prefetch;
    lc.seed = (uint64_t)c->train.seed;
    lc.augment = augment_of(c, training);
    lc.max_epochs = training ? 0 : 1;
    lc.collate = collate_for_loader;
    lc.collate_free = collate_free_for_loader;
    lc.collate_ctx = &s->collate;
    lc.keep_samples = keep_samples;
    if (!(p->ld = loader_new(&p->src, p->smp, &lc, err, errlen)))
        return pipe_close(p), -1;
    return 0;
}

/* ------------------------------------------------------------------ evaluation */

/* Run the driver's evaluation over the whole of r. Returns an exit status. */
static int evaluate(session *s, store_reader *r, drv_metrics *out, char *err, size_t errlen)
{
    data_pipe p;
    memset(out, 0, sizeof *out);
    if (pipe_open(&p, s, r, 0, NULL, 0, 0, err, errlen) != 0)
        return EXIT_USER;
    int was_training = nn_store_training(s->store), rc = EXIT_OK;
    nn_store_set_training(s->store, 0);
    pt_no_grad_begin();
    s->drv->eval_begin(s->model);
    for (;;) {
        ld_batch *b = NULL;
        int st = loader_next(p.ld, &b, err, errlen);
        if (st == LOADER_END)
            break;
        if (st == LOADER_ERROR) {
            rc = EXIT_USER;
            break;
        }
        size_t mark = pt_scope_begin();
        pt_status ok = s->drv->eval_batch(s->model, b->collated);
        pt_scope_end(mark);
        ld_batch_free(b);
        if (ok != PT_OK) {
            snprintf(err, errlen, "evaluation on '%s' failed: %s", store_path(r), pt_error());
            rc = EXIT_INTERNAL;
            break;
        }
    }
    if (rc == EXIT_OK)
        s->drv->eval_end(s->model, out);
    pt_no_grad_end();
    nn_store_set_training(s->store, was_training);
    pipe_close(&p);
    return rc;
}

/* ------------------------------------------------------------------ optimizer */

/* Two groups: parameters with weight decay, and biases and norm parameters (1-D) without it,
 * unless optim.decay_bias_and_norm. Group lrs are base lr x schedule factor. */
static pt_optim *make_optimizer(const settings *c, nn_store *store, char *err, size_t errlen)
{
    static const pt_optim_kind kinds[] = {PT_OPTIM_SGD, PT_OPTIM_ADAM, PT_OPTIM_ADAMW};
    pt_optim_options oo = pt_optim_defaults(kinds[c->optim.type]);
    oo.lr = c->optim.lr;
    oo.weight_decay = c->optim.weight_decay;
    oo.momentum = c->optim.momentum;
    oo.nesterov = c->optim.nesterov;
    if (c->optim.betas.n == 2)
        oo.beta1 = c->optim.betas.v[0], oo.beta2 = c->optim.betas.v[1];
    oo.eps = c->optim.eps;
    int np;
    pt_tensor *const *params = nn_store_params(store, &np);
    pt_tensor **decay = calloc((size_t)np + 1, sizeof *decay);
    pt_tensor **no_decay = calloc((size_t)np + 1, sizeof *no_decay);
    pt_optim *o = pt_optim_new(&oo);
    int nd = 0, nn = 0;
    for (int i = 0; decay && no_decay && i < np; i++) {
        if (!c->optim.decay_bias_and_norm && pt_ndim(params[i]) <= 1)
            no_decay[nn++] = params[i];
        else
            decay[nd++] = params[i];
    }
    if (!o || !decay || !no_decay || np == 0 ||
        (nd && pt_optim_add_group(o, decay, nd, oo.lr, oo.weight_decay) < 0) ||
        (nn && pt_optim_add_group(o, no_decay, nn, oo.lr, 0.0) < 0)) {
        snprintf(err, errlen, "optimizer: %s", np == 0 ? "the model has no parameters" : pt_error());
        pt_optim_free(o);
        o = NULL;
    }
    free(decay);
    free(no_decay);
    return o;
}

/* ------------------------------------------------------------------ checkpoints */

typedef struct {
    ckpt_state st;
    char last[4096], best[4096];
} ckpt_paths;

static int save_checkpoint(const char *path, session *s, pt_optim *o, ckpt_state *st,
                           sampler_state next, const data_pipe *p)
{
    snprintf(st->model_type, sizeof st->model_type, "%s", s->drv->type);
    snprintf(st->config_hash, sizeof st->config_hash, "%s", s->cfg.hash);
    st->data_epoch = next.epoch;
    st->data_batch = next.batch;
    st->sampler_fingerprint = sampler_fingerprint(p->smp);
    if (ckpt_save(path, s->store, o, st) != PT_OK)
        return fail(EXIT_USER, "cannot write checkpoint: %s", pt_error());
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
    char err[ERRLEN];
    drv_metrics m;
    int rc = evaluate(s, s->val, &m, err, sizeof err);
    if (rc != EXIT_OK)
        return fail(rc, "%s", err);
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
                return fail(EXIT_USER, "train.best_metric '%s' is not a metric of model type '%s'",
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

static int write_resolved_config(session *s)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config.yaml", s->run_dir);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return fail(EXIT_INTERNAL, "out of memory");
    int bad = settings_emit(f, &s->cfg);
    fclose(f);
    pt_status st = bad ? PT_ERR : pt_write_file_atomic(path, buf, len);
    free(buf);
    if (st != PT_OK)
        return fail(EXIT_USER, "cannot write %s: %s", path, pt_error());
    return EXIT_OK;
}

int trainer_train(const trainer_opts *o)
{
    char err[ERRLEN];
    session s;
    int rc = session_open(&s, o, 1, err, sizeof err);
    if (rc != EXIT_OK)
        return fail(rc, "%s", err);
    const settings *c = &s.cfg;
    pt_optim *opt = NULL;
    data_pipe pipe = {0};
    runlog *rl = NULL;
    ckpt_paths ck;
    memset(&ck, 0, sizeof ck);
    struct sigaction old_int, old_term;
    int signals_installed = 0;

    /* run directory */
    char dirs[4200];
    snprintf(dirs, sizeof dirs, "%s/checkpoints", s.run_dir);
    if (make_dirs(dirs, err, sizeof err) != 0 ||
        (snprintf(dirs, sizeof dirs, "%s/plots", s.run_dir), make_dirs(dirs, err, sizeof err)) != 0) {
        rc = fail(EXIT_USER, "%s", err);
        goto done;
    }
    snprintf(ck.last, sizeof ck.last, "%s/checkpoints/last.ckpt", s.run_dir);
    snprintf(ck.best, sizeof ck.best, "%s/checkpoints/best.ckpt", s.run_dir);

    if (!(opt = make_optimizer(c, s.store, err, sizeof err))) {
        rc = fail(EXIT_INTERNAL, "%s", err);
        goto done;
    }

    /* resume */
    const char *resume_path = NULL;
    if (o->resume && strcmp(o->resume, "auto") == 0)
        resume_path = file_exists(ck.last) ? ck.last : NULL;
    else if (o->resume)
        resume_path = o->resume;
    sampler_state start = {0, 0};
    if (resume_path) {
        if (ckpt_load(resume_path, s.store, opt, s.drv->type, &ck.st) != PT_OK) {
            rc = fail(EXIT_USER, "cannot resume: %s", pt_error());
            goto done;
        }
        start.epoch = ck.st.data_epoch;
        start.batch = ck.st.data_batch;
        if (strcmp(ck.st.config_hash, c->hash) != 0)
            fprintf(stderr, "pictor: note: the config changed since %s was written (hash %s, now "
                            "%s); continuing with the new one\n",
                    resume_path, ck.st.config_hash, c->hash);
        long removed = 0;
        runlog_truncate_after(s.run_dir, ck.st.step, &removed);
    } else if (o->resume && strcmp(o->resume, "auto") == 0) {
        printf("pictor: no checkpoint in %s/checkpoints yet: starting from scratch\n", s.run_dir);
    }
    if ((rc = write_resolved_config(&s)) != EXIT_OK)
        goto done;

    if (pipe_open(&pipe, &s, s.train, 1, resume_path ? &start : NULL, 0, 0, err,
                  sizeof err) != 0) {
        rc = fail(EXIT_USER, "%s", err);
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
        rc = fail(EXIT_USER, "%s: sched: %s", o->config_path, bad);
        goto done;
    }

    runlog_options lo = {0};
    lo.tensorboard = 1;
    lo.resume_step = ck.st.step;
    if (!(rl = runlog_open(s.run_dir, total, &lo))) {
        rc = fail(EXIT_USER, "%s", pt_error());
        goto done;
    }
    runlog_printf(rl, "pictor train: %s, model %s (%" PRId64 " parameters), %" PRId64
                      " training items, %" PRId64 " steps of %" PRId64 " x %" PRId64
                      " images, %d thread(s) -> %s\n",
                  o->config_path, s.drv->type, nn_store_num_scalars(s.store, 1),
                  sampler_num_items(pipe.smp), total, c->train.batch_size, accum,
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
        for (int64_t a = 0; a < accum && !bad_step; a++) {
            ld_batch *b = NULL;
            double t_a = now_s();
            int st = loader_next(pipe.ld, &b, err, sizeof err);
            double t_b = now_s();
            win.t_data += t_b - t_a;
            if (st != LOADER_OK) {
                rc = fail(EXIT_USER, "step %" PRId64 ": %s", step + 1,
                          st == LOADER_END ? "the loader ran out of data" : err);
                goto done;
            }
            next = b->next;
            win.images += b->n;
            size_t mark = pt_scope_begin();
            drv_terms terms = {0};
            pt_tensor *loss = s.drv->loss(s.model, b->collated, &terms);
            double lv = pt_item_or_nan(loss);
            double t_c = now_s();
            win.t_forward += t_c - t_b;
            if (!loss) {
                rc = fail(EXIT_INTERNAL, "step %" PRId64 ": %s", step + 1, pt_error());
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
                rc = fail(EXIT_INTERNAL, "step %" PRId64 ": backward: %s", step + 1, pt_error());
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
                rc = fail(EXIT_INTERNAL, "step %" PRId64 ": %s", step + 1, pt_error());
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
                rc = fail(EXIT_USER, "%s (train.nan_policy: stop%s; try a lower optim.lr, "
                                     "train.grad_clip, or train.nan_policy: skip)", err,
                          file_exists(ck.last) ? "; checkpoints/last.ckpt holds the last good state"
                                               : "");
                goto done;
            }
            runlog_printf(rl, "%s: step skipped (train.nan_policy: skip)\n", err);
            pt_optim_zero_grad(opt);
            skipped++;
        } else if (pt_optim_step(opt) != PT_OK) {
            rc = fail(EXIT_INTERNAL, "step %" PRId64 ": optimizer: %s", step + 1, pt_error());
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
            if (runlog_step(rl, step, epoch, sc, k) != PT_OK)
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
        }

        /* checkpoint */
        ck.st.step = step;
        int stop = g_stop_signal != 0;
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
    {
        plot_options po = {0};
        plot_run(s.run_dir, &po);
        char out[4200];
        snprintf(out, sizeof out, "%s/weights.safetensors", s.run_dir);
        if (export_store(s.store, s.drv, s.cfg.hash, step, "safetensors", out) != PT_OK) {
            rc = fail(EXIT_USER, "cannot export weights: %s", pt_error());
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
    return rc;
}

/* ------------------------------------------------------------------ eval and export */

/* Weights from a checkpoint, a safetensors file or a torch file. */
static pt_dict *read_weights(const char *path)
{
    ckpt_state st;
    const char *dot = strrchr(path, '.');
    if (dot && (strcmp(dot, ".pt") == 0 || strcmp(dot, ".pth") == 0))
        return pt_torch_load(path);
    pt_dict *d = pt_safetensors_load(path);
    if (!d)
        return NULL;
    const char *fmt = pt_dict_meta(d, "format");
    if (fmt && strcmp(fmt, CKPT_FORMAT) == 0) {
        pt_dict_free(d);
        return ckpt_read_weights(path, &st);
    }
    return d;
}

int trainer_eval(const trainer_opts *o, const char *weights)
{
    char err[ERRLEN];
    session s;
    int rc = session_open(&s, o, 0, err, sizeof err);
    if (rc != EXIT_OK)
        return fail(rc, "%s", err);
    if (!s.val) {
        session_close(&s);
        return fail(EXIT_USER, "%s: data.val is not set (the dataset to evaluate on)",
                    o->config_path);
    }
    pt_dict *w = read_weights(weights);
    if (!w) {
        rc = fail(EXIT_USER, "%s", pt_error());
        goto done;
    }
    if (load_weights_for_eval(s.store, s.drv, w, weights) != PT_OK) {
        rc = fail(EXIT_USER, "%s", pt_error());
        goto done;
    }
    drv_metrics m;
    if ((rc = evaluate(&s, s.val, &m, err, sizeof err)) != EXIT_OK) {
        fail(rc, "%s", err);
        goto done;
    }
    printf("{\"model_type\":\"%s\",\"weights\":\"%s\",\"data\":\"%s\",\"items\":%" PRId64,
           s.drv->type, weights, store_path(s.val), store_count(s.val));
    for (int i = 0; i < m.n; i++) {
        if (isfinite(m.value[i]))
            printf(",\"%s\":%.17g", m.name[i], m.value[i]);
        else
            printf(",\"%s\":null", m.name[i]);
    }
    printf("}\n");
    rc = EXIT_OK;
done:
    pt_dict_free(w);
    session_close(&s);
    return rc;
}

#define PREDICT_DEFAULT_IMAGES 16

/* The driver the config's model.type names (overrides applied), or NULL: session_open then says
 * what is wrong with it. */
static const driver *driver_of_config(const trainer_opts *o)
{
    char err[ERRLEN];
    cfg_doc *doc = cfg_load(o->config_path, o->overrides, o->n_overrides, err, sizeof err);
    const driver *d = doc ? driver_find(cfg_peek_string(doc, "model.type")) : NULL;
    cfg_doc_free(doc);
    return d;
}

static int no_predict(const char *config_path, const driver *drv)
{
    char with[512] = "";
    for (int i = 0; i < driver_count(); i++)
        if (driver_at(i)->predict) {
            size_t len = strlen(with);
            snprintf(with + len, sizeof with - len, "%s%s", len ? ", " : "", driver_at(i)->type);
        }
    return fail(EXIT_USER, "%s: model.type %s has no predict (model types with one: %s)",
                config_path, drv->type, with[0] ? with : "none");
}

int trainer_predict(const trainer_opts *o, const char *weights, const char *out_dir, int n)
{
    const driver *early = driver_of_config(o);
    if (early && !early->predict)
        return no_predict(o->config_path, early); /* before reading any data or building */
    char err[ERRLEN];
    session s;
    int rc = session_open(&s, o, 0, err, sizeof err);
    if (rc != EXIT_OK)
        return fail(rc, "%s", err);
    pt_dict *w = NULL;
    data_pipe p;
    memset(&p, 0, sizeof p);
    int64_t images = 0;
    store_reader *r = s.val ? s.val : s.train;
    if (!s.drv->predict) {
        rc = no_predict(o->config_path, s.drv);
        goto done;
    }
    if (!(w = read_weights(weights)) || load_weights_for_eval(s.store, s.drv, w, weights) != PT_OK) {
        rc = fail(EXIT_USER, "%s", pt_error());
        goto done;
    }
    if (make_dirs(out_dir, err, sizeof err) != 0) {
        rc = fail(EXIT_USER, "%s", err);
        goto done;
    }
    if (pipe_open(&p, &s, r, 0, NULL, n > 0 ? n : PREDICT_DEFAULT_IMAGES, 1, err, sizeof err)) {
        rc = fail(EXIT_USER, "%s", err);
        goto done;
    }
    int was_training = nn_store_training(s.store);
    nn_store_set_training(s.store, 0);
    pt_no_grad_begin();
    s.drv->eval_begin(s.model);
    for (;;) {
        ld_batch *b = NULL;
        int st = loader_next(p.ld, &b, err, sizeof err);
        if (st == LOADER_END)
            break;
        if (st == LOADER_ERROR) {
            rc = fail(EXIT_USER, "%s", err);
            break;
        }
        size_t mark = pt_scope_begin();
        int hr = b->collated && b->samples
                     ? s.drv->predict(s.model, b->collated, b->samples, b->n, out_dir, err,
                                      sizeof err)
                     : (snprintf(err, sizeof err, "the loader kept no samples"), EXIT_INTERNAL);
        pt_scope_end(mark);
        images += b->n;
        ld_batch_free(b);
        if (hr != EXIT_OK) {
            rc = fail(hr == EXIT_USER ? EXIT_USER : EXIT_INTERNAL, "predict on '%s': %s",
                      store_path(r), err);
            break;
        }
    }
    if (rc == EXIT_OK && s.drv->predict_end) {
        int hr = s.drv->predict_end(s.model, out_dir, err, sizeof err);
        if (hr != EXIT_OK)
            rc = fail(hr == EXIT_USER ? EXIT_USER : EXIT_INTERNAL, "predict: %s", err);
    }
    pt_no_grad_end();
    nn_store_set_training(s.store, was_training);
    if (rc == EXIT_OK)
        printf("pictor predict: %" PRId64 " image(s) of %s with %s -> %s\n", images,
               store_path(r), weights, out_dir);
done:
    pipe_close(&p);
    pt_dict_free(w);
    session_close(&s);
    return rc;
}

int trainer_export(const char *src, const char *format, const char *out)
{
    char path[4200];
    struct stat st;
    if (stat(src, &st) != 0)
        return fail(EXIT_USER, "'%s': %s", src, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        snprintf(path, sizeof path, "%s/checkpoints/best.ckpt", src);
        if (!file_exists(path))
            snprintf(path, sizeof path, "%s/checkpoints/last.ckpt", src);
        if (!file_exists(path))
            return fail(EXIT_USER, "'%s' has no checkpoints/best.ckpt or last.ckpt", src);
    } else {
        snprintf(path, sizeof path, "%s", src);
    }
    ckpt_state cs;
    pt_dict *w = ckpt_read_weights(path, &cs);
    if (!w)
        return fail(EXIT_USER, "%s", pt_error());
    const driver *drv = driver_find(cs.model_type);
    if (!drv) {
        pt_dict_free(w);
        return fail(EXIT_USER, "checkpoint '%s' has unknown model type '%s' (known: %s)", path,
                    cs.model_type, driver_names());
    }
    pt_status rc = export_dict(w, drv, cs.config_hash, cs.step, format, out);
    pt_dict_free(w);
    if (rc != PT_OK)
        return fail(EXIT_USER, "%s", pt_error());
    printf("exported %s (step %" PRId64 ", model %s) -> %s\n", path, cs.step, cs.model_type, out);
    return EXIT_OK;
}
