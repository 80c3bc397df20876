/* checkpoint.c - see checkpoint.h. */
#include "core/checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_PREFIX "model/"

static void free_bytes(void *p) { free(p); }

static pt_status put_meta_i64(pt_dict *d, const char *key, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return pt_dict_set_meta(d, key, buf);
}

pt_status ckpt_save(const char *path, const nn_store *s, const pt_optim *o, const ckpt_state *st)
{
    pt_dict *d = pt_dict_new();
    pt_status rc = d ? PT_OK : PT_ERR;
    char name[NN_NAME_MAX + 8];
    for (int i = 0; rc == PT_OK && i < nn_store_size(s); i++) {
        snprintf(name, sizeof name, MODEL_PREFIX "%s", nn_store_name(s, i));
        rc = pt_dict_put(d, name, pt_detach(nn_store_tensor(s, i)));
    }
    if (rc == PT_OK && o) {
        void *buf = NULL;
        size_t len = 0;
        rc = pt_optim_save_buffer(o, &buf, &len);
        if (rc == PT_OK) {
            int64_t n = (int64_t)len;
            pt_tensor *t = pt_from_blob(buf, &n, 1, PT_U8, free_bytes, buf);
            if (!t)
                free(buf);
            rc = pt_dict_put(d, "optim", t);
        }
    }
    if (rc == PT_OK)
        rc = pt_dict_put(d, "rng/default", pt_generator_get_state(NULL));
    char fp[32], best[64];
    snprintf(fp, sizeof fp, "%016" PRIx64, st->sampler_fingerprint);
    snprintf(best, sizeof best, "%.17g", st->best_metric);
    if (rc == PT_OK &&
        (pt_dict_set_meta(d, "format", CKPT_FORMAT) || pt_dict_set_meta(d, "model_type", st->model_type) ||
         pt_dict_set_meta(d, "config_hash", st->config_hash) || put_meta_i64(d, "step", st->step) ||
         put_meta_i64(d, "data_epoch", st->data_epoch) || put_meta_i64(d, "data_batch", st->data_batch) ||
         pt_dict_set_meta(d, "sampler_fingerprint", fp) ||
         (st->has_best && (pt_dict_set_meta(d, "best_metric", best) ||
                           put_meta_i64(d, "best_step", st->best_step)))))
        rc = PT_ERR;
    if (rc == PT_OK)
        rc = pt_safetensors_save(d, path);
    pt_dict_free(d);
    return rc;
}

static int meta_i64(const pt_dict *d, const char *path, const char *key, int64_t *out)
{
    const char *v = pt_dict_meta(d, key);
    char *end;
    if (!v || !*v) {
        pt_error_set("checkpoint '%s': metadata '%s' is missing", path, key);
        return -1;
    }
    long long x = strtoll(v, &end, 10);
    if (*end) {
        pt_error_set("checkpoint '%s': metadata '%s' is not an integer ('%s')", path, key, v);
        return -1;
    }
    *out = x;
    return 0;
}

/* Read and validate the file and its state; the dict stays open for the caller. */
static pt_dict *open_checkpoint(const char *path, ckpt_state *st)
{
    pt_dict *d = pt_safetensors_load(path);
    if (!d)
        return NULL;
    const char *fmt = pt_dict_meta(d, "format");
    if (!fmt || strcmp(fmt, CKPT_FORMAT) != 0) {
        pt_error_set("'%s' is not a pictor checkpoint (format '%s', expected '%s')", path,
                     fmt ? fmt : "none", CKPT_FORMAT);
        goto fail;
    }
    memset(st, 0, sizeof *st);
    const char *mt = pt_dict_meta(d, "model_type"), *ch = pt_dict_meta(d, "config_hash");
    const char *fp = pt_dict_meta(d, "sampler_fingerprint"), *best = pt_dict_meta(d, "best_metric");
    snprintf(st->model_type, sizeof st->model_type, "%s", mt ? mt : "");
    snprintf(st->config_hash, sizeof st->config_hash, "%s", ch ? ch : "");
    st->sampler_fingerprint = fp ? strtoull(fp, NULL, 16) : 0;
    if (meta_i64(d, path, "step", &st->step) || meta_i64(d, path, "data_epoch", &st->data_epoch) ||
        meta_i64(d, path, "data_batch", &st->data_batch))
        goto fail;
    if (best) {
        st->has_best = 1;
        st->best_metric = strtod(best, NULL);
        if (meta_i64(d, path, "best_step", &st->best_step))
            goto fail;
    }
    return d;
fail:
    pt_dict_free(d);
    return NULL;
}

/* The "model/" entries of a checkpoint dict, as aliases under their store names. */
static pt_dict *weights_of(const pt_dict *d)
{
    pt_dict *w = pt_dict_new();
    size_t plen = strlen(MODEL_PREFIX);
    for (int i = 0; w && i < pt_dict_size(d); i++) {
        const char *n = pt_dict_name(d, i);
        if (strncmp(n, MODEL_PREFIX, plen) == 0 &&
            pt_dict_put(w, n + plen, pt_alias(pt_dict_tensor(d, i))) != PT_OK) {
            pt_dict_free(w);
            w = NULL;
        }
    }
    return w;
}

pt_dict *ckpt_read_weights(const char *path, ckpt_state *st)
{
    pt_dict *d = open_checkpoint(path, st);
    pt_dict *w = d ? weights_of(d) : NULL;
    pt_dict_free(d);
    return w;
}

pt_status ckpt_load(const char *path, nn_store *s, pt_optim *o, const char *expect_model_type,
                    ckpt_state *st)
{
    ckpt_state tmp;
    pt_dict *d = open_checkpoint(path, &tmp);
    if (!d)
        return PT_ERR;
    pt_status rc = PT_ERR;
    pt_dict *w = NULL;
    if (expect_model_type && strcmp(tmp.model_type, expect_model_type) != 0) {
        pt_error_set("checkpoint '%s' is for model type '%s', but this config trains '%s'", path,
                     tmp.model_type, expect_model_type);
        goto done;
    }
    w = weights_of(d);
    if (!w)
        goto done;
    pt_tensor *opt = pt_dict_get(d, "optim"), *rng = pt_dict_get(d, "rng/default");
    if (o && !opt) {
        pt_error_set("checkpoint '%s' has no optimizer state", path);
        goto done;
    }
    /* the model first (it checks names and shapes before writing anything) */
    if (nn_store_load_state_dict(s, w, 1) != PT_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", pt_error());
        pt_error_set("checkpoint '%s' does not fit this model (was the model changed?): %s",
                     path, msg);
        goto done;
    }
    if (o && pt_optim_load_buffer(o, pt_data_ptr(opt), (size_t)pt_numel(opt)) != PT_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", pt_error());
        pt_error_set("checkpoint '%s': optimizer state does not fit: %s", path, msg);
        goto done;
    }
    if (rng && pt_generator_set_state(NULL, rng) != PT_OK)
        goto done;
    *st = tmp;
    rc = PT_OK;
done:
    pt_dict_free(w);
    pt_dict_free(d);
    return rc;
}
