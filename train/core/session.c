/*
 * session.c - see session.h: opening a session (config -> driver tables -> threads and seeds ->
 * datasets -> holdout domain -> store -> model) and a data pipe over one dataset (settings ->
 * sampler, augmentation and loader), and the helpers the commands share.
 */
#include "core/session.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/ddp.h"
#include "fetch/fetch.h"
#include "fileio.h"
#include "pipeline/augment.h"
#include "store/store.h"

/* settings' enums that convert to data/'s by value (the choice strings are in that order) */
_Static_assert((int)SETTINGS_SAMPLER_SEQUENTIAL == (int)SAMPLER_SEQUENTIAL &&
                   (int)SETTINGS_SAMPLER_RANDOM == (int)SAMPLER_RANDOM &&
                   (int)SETTINGS_SAMPLER_BALANCED == (int)SAMPLER_BALANCED,
               "settings_sampler and sampler_kind must list the samplers in the same order");

/* ------------------------------------------------------------------ shared helpers */

int core_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int core_make_dirs(const char *path, char *err, size_t errlen)
{
    if (pt_make_dirs(path) == PT_OK)
        return 0;
    snprintf(err, errlen, "%s", pt_error());
    pt_error_clear();
    return -1;
}

int core_fail(int status, const char *fmt, ...)
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

void session_close(session *s)
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

/* The environment from the dataset any (NULL: none, a tool), data.holdout_domain resolved
 * against its domains (drivers read it in create), the parameter store and the model. */
static int open_model(session *s, store_reader *any, char *err, size_t errlen)
{
    const settings *c = &s->cfg;
    s->env.cfg = c;
    s->env.model_cfg = s->model_cfg;
    s->env.train = s->train;
    s->env.val = s->val;
    s->env.in_channels = any ? store_layout_of(any)->o.channels : 3;
    s->env.num_classes = any ? store_num_classes(any) : 0;
    s->env.num_domains = any ? store_num_domains(any) : 0;
    s->env.class_names = any ? store_class_names(any) : NULL;
    s->env.domain_names = any ? store_domain_names(any) : NULL;
    s->env.run_dir = s->run_dir;
    if (any && resolve_holdout(s, store_path(any), err, errlen) != 0) {
        session_close(s);
        return EXIT_USER;
    }
    if (c->data.image_size > 0)
        s->env.image_h = s->env.image_w = (int)c->data.image_size;
    else if (any && store_layout_of(any)->o.images == STORE_RAW)
        s->env.image_h = store_layout_of(any)->o.height,
        s->env.image_w = store_layout_of(any)->o.width;
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

/* The keys that take a file or "URL#sha256=HEX" (data/fetch/fetch.h): a URL is fetched into the
 * cache (PICTOR_CACHE) and the config loaded again with the local path set over it, so every
 * reader of the key (the datasets here, a driver's model.pretrained) sees a file. */
static cfg_doc *load_with_urls(const trainer_opts *o, char *err, size_t errlen)
{
    static const char *const keys[] = {"data.train", "data.val", "model.pretrained"};
    enum { N_KEYS = sizeof keys / sizeof keys[0] };
    cfg_doc *doc = cfg_load(o->config_path, o->overrides, o->n_overrides, err, errlen);
    char sets[N_KEYS][4200];
    const char **all = NULL;
    int n = 0;
    for (int k = 0; doc && k < N_KEYS; k++) {
        const char *v = cfg_peek_string(doc, keys[k]);
        if (!fetch_is_url(v))
            continue;
        char path[4096], why[2048], where[512];
        if (fetch_resolve(v, path, sizeof path, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s: %s: %s", cfg_where(doc, keys[k], where, sizeof where),
                     keys[k], why);
            cfg_doc_free(doc);
            return NULL;
        }
        snprintf(sets[n++], sizeof sets[0], "%s=%s", keys[k], path);
    }
    if (!doc || n == 0)
        return doc;
    cfg_doc_free(doc);
    if (!(all = calloc((size_t)o->n_overrides + N_KEYS, sizeof *all))) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (int i = 0; i < o->n_overrides; i++)
        all[i] = o->overrides[i];
    for (int i = 0; i < n; i++)
        all[o->n_overrides + i] = sets[i];
    doc = cfg_load(o->config_path, all, o->n_overrides + n, err, errlen);
    free(all);
    return doc;
}

/* A dataset that does not exist yet: append to err how to make it, i.e. the commands the
 * config's leading comment block gives ("# pictor data ..." lines and their indented
 * continuations), or a pointer to `pictor data help` when it gives none. Other errors (a file
 * that exists but is not a dataset) are left as they are. */
static void missing_data_hint(const char *config_path, const char *key, const char *path,
                              char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0 || errno != ENOENT)
        return;
    size_t n = strlen(err);
    if (n + 1 >= errlen)
        return;
    FILE *f = config_path ? fopen(config_path, "r") : NULL;
    char line[1024];
    int found = 0, cont = 0;
    while (f && fgets(line, sizeof line, f)) {
        const char *t = line + strspn(line, " \t");
        if (*t != '#') {
            if (*t != '\n')
                break; /* the header ends at the first line that is not a comment */
            continue;
        }
        t++;
        const char *cmd = t + strspn(t, " \t");
        int is_cmd = strncmp(cmd, "pictor data ", 12) == 0 || strncmp(cmd, "pictor portrait synth", 21) == 0;
        if (!is_cmd && !cont)
            continue;
        line[strcspn(line, "\n")] = '\0';
        char dir[4096];
        if (!found++) {
            n += (size_t)snprintf(err + n, errlen - n, "\n%s (%s) does not exist yet; %s says how "
                                  "to make it:", path, key, config_path);
            if (n < errlen && pt_parent_dir(path, dir, sizeof dir) && !pt_is_dir(dir))
                n += (size_t)snprintf(err + n, errlen - n, "\n  mkdir -p %s", dir);
        }
        if (n < errlen)
            n += (size_t)snprintf(err + n, errlen - n, "\n  %s", cmd);
        cont = strlen(cmd) > 0 && cmd[strlen(cmd) - 1] == '\\';
        if (n >= errlen)
            break;
    }
    if (f)
        fclose(f);
    if (!found)
        snprintf(err + n, errlen - n, "\n%s (%s) does not exist yet: make it with `pictor data "
                 "...` (pictor data help)", path, key);
}

int session_open(session *s, const trainer_opts *o, session_mode mode, char *err,
                 size_t errlen)
{
    memset(s, 0, sizeof *s);
    cfg_doc *doc = load_with_urls(o, err, errlen);
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
    settings_extra x = {0};
    if (driver_extra_sections(s->drv, s->model_cfg, &x) != 0) {
        snprintf(err, errlen, "model type %s has more config sections than %d", s->drv->type,
                 SETTINGS_MAX_EXTRA);
        cfg_doc_free(doc);
        free(s->model_cfg);
        s->model_cfg = NULL;
        return EXIT_INTERNAL;
    }
    if (settings_bind(&s->cfg, doc, &x, err, errlen) != 0) {
        free(s->model_cfg);
        s->model_cfg = NULL;
        return EXIT_USER;
    }
    const settings *c = &s->cfg;
    snprintf(s->run_dir, sizeof s->run_dir, "%s/%s", c->run.dir, c->run.name);
    /* train.threads 0 = all cores, shared among the data-parallel processes of this host */
    int threads = (int)c->train.threads;
    if (threads == 0 && ddp_local_world_size() > 1) {
        threads = pt_num_cores() / ddp_local_world_size();
        threads = threads > 0 ? threads : 1;
    }
    pt_set_num_threads(threads);
    pt_manual_seed((uint64_t)c->train.seed);
    if (c->train.deterministic)
        pt_set_deterministic(1);

    if (mode == SESSION_TOOL)
        return open_model(s, NULL, err, errlen);
    if (mode == SESSION_TRAIN && !*c->data.train) {
        snprintf(err, errlen, "%s: data.train is not set (an HDF5 dataset, see pictor data)",
                 o->config_path);
        session_close(s);
        return EXIT_USER;
    }
    if (*c->data.train && !(s->train = store_open(c->data.train, err, errlen))) {
        missing_data_hint(o->config_path, "data.train", c->data.train, err, errlen);
        session_close(s);
        return EXIT_USER;
    }
    if (*c->data.val && !(s->val = store_open(c->data.val, err, errlen))) {
        missing_data_hint(o->config_path, "data.val", c->data.val, err, errlen);
        session_close(s);
        return EXIT_USER;
    }
    store_reader *any = s->train ? s->train : s->val;
    if (!any) {
        snprintf(err, errlen, "%s: neither data.train nor data.val is set", o->config_path);
        session_close(s);
        return EXIT_USER;
    }
    return open_model(s, any, err, errlen);
}

/* ------------------------------------------------------------------ data */

/* settings' augmentation keys -> the loader's pipeline. data.augment.resize (training only) comes
 * before the random crop; without it the images are resized to data.image_size after the crop.
 * Evaluation gets only the resize to data.image_size. Both resizes stretch, or letterbox with
 * data.resize_mode (pipeline/dense_augment.h: aug_unletterbox_* maps predictions back). */
aug_config session_augment(const settings *c, int training)
{
    aug_config a;
    memset(&a, 0, sizeof a);
    const settings_augment *g = &c->data.augment;
    a.resize_h = a.resize_w = (int)c->data.image_size;
    a.letterbox = c->data.resize_mode == SETTINGS_RESIZE_LETTERBOX;
    a.fill_image = (uint8_t)c->data.pad_value;
    a.fill_mask = (uint8_t)c->data.mask_pad_value;
    if (!training) {
        if (g->resize > 0 && g->crop > 0) {
            a.resize_h = a.resize_w = (int)g->resize;
            a.resize_first = 1;
            a.crop_h = a.crop_w = (int)g->crop;
            a.crop_center = 1;
        }
        return a;
    }
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

void pipe_close(data_pipe *p)
{
    loader_free(p->ld);
    sampler_free(p->smp);
    memset(p, 0, sizeof *p);
}

int pipe_open(data_pipe *p, session *s, store_reader *r, int training,
              const sampler_state *resume_at, int64_t max_items, int keep_samples, char *err,
              size_t errlen)
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
    if (training && s->world > 1) {
        sc.shard_count = s->world;
        sc.shard_index = s->rank;
    }
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
    if (training && s->world > 1) /* each rank its own augmentation stream */
        lc.seed ^= 0x9E3779B97F4A7C15ULL * (uint64_t)s->rank;
    lc.augment = session_augment(c, training);
    lc.max_epochs = training ? 0 : 1;
    lc.collate = collate_for_loader;
    lc.collate_free = collate_free_for_loader;
    lc.collate_ctx = &s->collate;
    lc.keep_samples = keep_samples;
    if (!(p->ld = loader_new(&p->src, p->smp, &lc, err, errlen)))
        return pipe_close(p), -1;
    return 0;
}
