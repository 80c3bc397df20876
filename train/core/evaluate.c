/*
 * evaluate.c - see evaluate.h: the batch loop shared by evaluation and prediction, evaluation
 * on top of it, and the `pictor eval` / `pictor predict` commands (trainer.h): session ->
 * weights (a checkpoint, a safetensors file or a torch file; the driver's training-only parts
 * may be absent) -> the loop -> one JSON line of metrics, or the driver's drawings.
 */
#include "core/evaluate.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checkpoint.h"
#include "core/export.h"
#include "store/store.h"

#define PREDICT_DEFAULT_IMAGES 16

/* A driver's status as one of the commands' (anything unexpected is internal). */
static int as_exit(int st) { return st == EXIT_OK || st == EXIT_USER ? st : EXIT_INTERNAL; }

int session_batches(session *s, store_reader *r, int64_t max_items, int keep_samples,
                    const batch_visitor *v, int64_t *n_images, char *err, size_t errlen)
{
    data_pipe p;
    if (n_images)
        *n_images = 0;
    if (pipe_open(&p, s, r, 0, NULL, max_items, keep_samples, err, errlen) != 0)
        return EXIT_USER;
    int was_training = nn_store_training(s->store), rc = EXIT_OK;
    nn_store_set_training(s->store, 0);
    pt_no_grad_begin();
    s->drv->eval_begin(s->model);
    while (rc == EXIT_OK) {
        ld_batch *b = NULL;
        int st = loader_next(p.ld, &b, err, errlen);
        if (st == LOADER_END)
            break;
        if (st != LOADER_OK) {
            rc = EXIT_USER;
            break;
        }
        size_t mark = pt_scope_begin();
        rc = as_exit(v->batch(s, b, v->ctx, err, errlen));
        pt_scope_end(mark);
        if (n_images)
            *n_images += b->n;
        ld_batch_free(b);
    }
    if (rc == EXIT_OK && v->end)
        rc = as_exit(v->end(s, v->ctx, err, errlen));
    pt_no_grad_end();
    nn_store_set_training(s->store, was_training);
    pipe_close(&p);
    return rc;
}

/* ------------------------------------------------------------------ evaluation */

typedef struct {
    store_reader *r;
    drv_metrics *out;
} eval_ctx;

static int eval_one(session *s, const ld_batch *b, void *ctx, char *err, size_t errlen)
{
    if (s->drv->eval_batch(s->model, b->collated) == PT_OK)
        return EXIT_OK;
    snprintf(err, errlen, "evaluation on '%s' failed: %s", store_path(((eval_ctx *)ctx)->r),
             pt_error());
    return EXIT_INTERNAL;
}

static int eval_finish(session *s, void *ctx, char *err, size_t errlen)
{
    return s->drv->eval_end(s->model, ((eval_ctx *)ctx)->out, err, errlen);
}

int session_evaluate(session *s, store_reader *r, drv_metrics *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    eval_ctx c = {r, out};
    batch_visitor v = {eval_one, eval_finish, &c};
    return session_batches(s, r, 0, 0, &v, NULL, err, errlen);
}

/* ------------------------------------------------------------------ weights */

/* Weights from a checkpoint (its model entries), a safetensors file or a torch file. */
static pt_dict *read_weights(const char *path)
{
    pt_dict *d = nn_weights_read(path);
    const char *fmt = d ? pt_dict_meta(d, "format") : NULL;
    if (fmt && strcmp(fmt, CKPT_FORMAT) == 0) {
        ckpt_state st;
        pt_dict_free(d);
        return ckpt_read_weights(path, &st);
    }
    return d;
}

static int load_weights(session *s, const char *path)
{
    pt_dict *w = read_weights(path);
    pt_status st = w ? load_weights_for_eval(s->store, s->drv, w, path) : PT_ERR;
    pt_dict_free(w);
    return st == PT_OK ? EXIT_OK : core_fail(EXIT_USER, "%s", pt_error());
}

/* ------------------------------------------------------------------ pictor eval */

int trainer_eval(const trainer_opts *o, const char *weights)
{
    char err[SESSION_ERRLEN];
    session s;
    int rc = session_open(&s, o, SESSION_EVAL, err, sizeof err);
    if (rc != EXIT_OK)
        return core_fail(rc, "%s", err);
    drv_metrics m;
    if (!s.val)
        rc = core_fail(EXIT_USER, "%s: data.val is not set (the dataset to evaluate on)",
                       o->config_path);
    else if ((rc = load_weights(&s, weights)) == EXIT_OK &&
             (rc = session_evaluate(&s, s.val, &m, err, sizeof err)) != EXIT_OK)
        core_fail(rc, "%s", err);
    if (rc == EXIT_OK) {
        printf("{\"model_type\":\"%s\",\"weights\":\"%s\",\"data\":\"%s\",\"items\":%" PRId64,
               s.drv->type, weights, store_path(s.val), store_count(s.val));
        for (int i = 0; i < m.n; i++) {
            if (isfinite(m.value[i]))
                printf(",\"%s\":%.17g", m.name[i], m.value[i]);
            else
                printf(",\"%s\":null", m.name[i]);
        }
        printf("}\n");
    }
    session_close(&s);
    return rc;
}

/* ------------------------------------------------------------------ pictor predict */

/* The driver the config's model.type names (overrides applied), or NULL: session_open then says
 * what is wrong with it. */
static const driver *driver_of_config(const trainer_opts *o)
{
    char err[SESSION_ERRLEN];
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
    return core_fail(EXIT_USER, "%s: model.type %s has no predict (model types with one: %s)",
                     config_path, drv->type, with[0] ? with : "none");
}

typedef struct {
    store_reader *r;
    const char *out_dir;
} predict_ctx;

static int predict_one(session *s, const ld_batch *b, void *ctx, char *err, size_t errlen)
{
    const predict_ctx *c = ctx;
    char why[SESSION_ERRLEN];
    if (!b->collated || !b->samples)
        return snprintf(err, errlen, "the loader kept no samples"), EXIT_INTERNAL;
    int st = s->drv->predict(s->model, b->collated, b->samples, b->n, c->out_dir, why, sizeof why);
    if (st != EXIT_OK)
        snprintf(err, errlen, "predict on '%s': %s", store_path(c->r), why);
    return st;
}

static int predict_finish(session *s, void *ctx, char *err, size_t errlen)
{
    char why[SESSION_ERRLEN];
    int st = s->drv->predict_end ? s->drv->predict_end(s->model, ((predict_ctx *)ctx)->out_dir,
                                                       why, sizeof why)
                                 : EXIT_OK;
    if (st != EXIT_OK)
        snprintf(err, errlen, "predict: %s", why);
    return st;
}

int trainer_predict(const trainer_opts *o, const char *weights, const char *out_dir, int n)
{
    const driver *early = driver_of_config(o);
    if (early && !early->predict)
        return no_predict(o->config_path, early); /* before reading any data or building */
    char err[SESSION_ERRLEN];
    session s;
    int rc = session_open(&s, o, SESSION_EVAL, err, sizeof err);
    if (rc != EXIT_OK)
        return core_fail(rc, "%s", err);
    store_reader *r = s.val ? s.val : s.train;
    predict_ctx c = {r, out_dir};
    batch_visitor v = {predict_one, predict_finish, &c};
    int64_t images = 0;
    if (!s.drv->predict) {
        rc = no_predict(o->config_path, s.drv);
    } else if ((rc = load_weights(&s, weights)) == EXIT_OK) {
        if (core_make_dirs(out_dir, err, sizeof err) != 0)
            rc = core_fail(EXIT_USER, "%s", err);
        else if ((rc = session_batches(&s, r, n > 0 ? n : PREDICT_DEFAULT_IMAGES, 1, &v, &images,
                                       err, sizeof err)) != EXIT_OK)
            core_fail(rc, "%s", err);
        else
            printf("pictor predict: %" PRId64 " image(s) of %s with %s -> %s\n", images,
                   store_path(r), weights, out_dir);
    }
    session_close(&s);
    return rc;
}

/* ------------------------------------------------------------------ a model for a tool */

struct trainer_model {
    session s;
};

int trainer_model_open(const trainer_opts *o, const char *weights, const char *want_type,
                       trainer_model **out, char *err, size_t errlen)
{
    *out = NULL;
    const driver *early = driver_of_config(o); /* another model type: say so before building it */
    if (early && strcmp(early->type, want_type) != 0)
        return snprintf(err, errlen, "%s: model.type is %s; this command runs %s models",
                        o->config_path, early->type, want_type),
               EXIT_USER;
    trainer_model *m = calloc(1, sizeof *m);
    if (!m)
        return snprintf(err, errlen, "out of memory"), EXIT_INTERNAL;
    int rc = session_open(&m->s, o, SESSION_TOOL, err, errlen);
    if (rc == EXIT_OK && strcmp(m->s.drv->type, want_type) != 0) {
        snprintf(err, errlen, "%s: model.type is %s; this command runs %s models",
                 o->config_path, m->s.drv->type, want_type);
        session_close(&m->s);
        rc = EXIT_USER;
    } else if (rc == EXIT_OK) {
        pt_dict *w = read_weights(weights);
        pt_status st = w ? load_weights_for_eval(m->s.store, m->s.drv, w, weights) : PT_ERR;
        pt_dict_free(w);
        if (st != PT_OK) {
            snprintf(err, errlen, "%s", pt_error());
            session_close(&m->s);
            rc = EXIT_USER;
        }
    }
    if (rc != EXIT_OK) {
        free(m);
        return rc;
    }
    nn_store_set_training(m->s.store, 0);
    *out = m;
    return EXIT_OK;
}

void *trainer_model_self(trainer_model *m) { return m ? m->s.model : NULL; }

void trainer_model_close(trainer_model *m)
{
    if (!m)
        return;
    session_close(&m->s);
    free(m);
}
