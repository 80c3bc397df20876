/*
 * item_copy.c - see item_copy.h: copying items between datasets, and the foreground conversion.
 */
#include "curate/item_copy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

void foreground_sample(sample *s)
{
    if (s->label >= 0)
        s->label = 0;
    for (int k = 0; k < s->n_instances; k++)
        if (s->instances[k].class_id >= 0)
            s->instances[k].class_id = 0;
}

store_writer *item_copy_create(store_reader *r, const char *path, const char *source,
                               int foreground, char *err, size_t errlen)
{
    store_options so = store_layout_of(r)->o;
    so.source = source;
    store_writer *w = store_create(path, &so, err, errlen);
    if (!w)
        return NULL;
    static const char *const fg[1] = {FOREGROUND_CLASS_NAME};
    int rc = 0;
    if (foreground)
        rc = store_set_class_names(w, fg, 1, err, errlen);
    else if (store_num_classes(r) > 0)
        rc = store_set_class_names(w, store_class_names(r), store_num_classes(r), err, errlen);
    if (rc == 0 && store_num_domains(r) > 0)
        rc = store_set_domain_names(w, store_domain_names(r), store_num_domains(r), err,
                                    errlen);
    if (rc != 0) {
        store_abort(w);
        return NULL;
    }
    return w;
}

int item_copy(store_reader *r, int64_t i, store_writer *w, const char *name, int foreground,
              char *err, size_t errlen)
{
    int raw = store_layout_of(r)->o.images == STORE_RAW;
    sample s;
    sample_init(&s);
    uint8_t *bytes = NULL;
    size_t len = 0;
    /* encoded images travel as their stored bytes; raw ones as pixels */
    unsigned parts = STORE_READ_ALL & ~(raw ? 0u : (unsigned)STORE_IMAGE);
    int rc = store_read(r, i, parts, &s, err, errlen);
    if (rc == 0 && !raw)
        rc = store_read_image_bytes(r, i, &bytes, &len, err, errlen);
    if (rc == 0 && foreground)
        foreground_sample(&s);
    if (rc == 0 && name && store_layout_of(r)->o.file_names)
        rc = store_set_item_name(w, name, err, errlen);
    if (rc == 0)
        rc = raw ? store_append(w, &s, err, errlen)
                 : store_append_encoded(w, &s, bytes, len, err, errlen);
    free(bytes);
    sample_free(&s);
    return rc;
}

int foreground_file(const char *in, const char *out, volatile sig_atomic_t *cancel,
                    int64_t *items, char *err, size_t errlen)
{
    *items = 0;
    store_reader *r = store_open(in, err, errlen);
    if (!r)
        return 1;
    char **names = NULL;
    if (store_file_names(r, &names, err, errlen) < 0) {
        store_close(r);
        return 1;
    }
    const char *src = store_layout_of(r)->o.source;
    size_t slen = strlen(src) + strlen(in) + 64;
    char *source = malloc(slen);
    store_writer *w = NULL;
    int rc = source ? 0 : (err_fail(err, errlen, "out of memory"), 2);
    if (rc == 0) {
        snprintf(source, slen, "foreground (one class) of: %s", src);
        if (!(w = item_copy_create(r, out, source, 1, err, errlen)))
            rc = 1;
    }
    int64_t n = store_count(r);
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        if (cancel && *cancel)
            rc = 130, err_fail(err, errlen, "%s: interrupted; nothing written", out);
        else if (item_copy(r, i, w, names ? names[i] : NULL, 1, err, errlen))
            rc = 2;
    }
    store_free_names(names, names ? n : 0);
    store_close(r); /* before the commit, which may replace in */
    if (rc == 0 && store_commit(w, err, errlen))
        rc = 2;
    else if (rc != 0)
        store_abort(w);
    *items = rc == 0 ? n : 0;
    free(source);
    return rc;
}
