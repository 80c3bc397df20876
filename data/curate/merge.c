/*
 * merge.c - see merge.h.
 */
#include "curate/merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "curate/item_copy.h"
#include "store/store.h"

/* What differs between two layouts, or NULL. */
static const char *layout_difference(const store_options *a, const store_options *b)
{
    if (a->images != b->images)
        return "image storage (encoded vs raw)";
    if (a->channels != b->channels)
        return "image channels";
    if (a->height != b->height || a->width != b->width)
        return "raw image size";
    if (a->annotations != b->annotations)
        return "annotations (masks, instances, points, ...)";
    if (a->masks != b->masks)
        return "mask storage";
    if (a->depth != b->depth)
        return "depth type";
    return NULL;
}

static int same_names(const char *const *a, int na, const char *const *b, int nb)
{
    if (na != nb)
        return 0;
    for (int i = 0; i < na; i++)
        if (strcmp(a[i], b[i]))
            return 0;
    return 1;
}

int merge_files(const char *const *in, int n, const char *out, int foreground,
                volatile sig_atomic_t *cancel, int64_t *items, char *err, size_t errlen)
{
    *items = 0;
    if (n < 1)
        return err_fail(err, errlen, "nothing to merge"), 1;
    for (int i = 0; i < n; i++)
        if (!strcmp(in[i], out))
            return err_fail(err, errlen, "--out %s is also an input", out), 1;
    store_reader **r = calloc((size_t)n, sizeof *r);
    if (!r)
        return err_fail(err, errlen, "out of memory"), 2;
    int rc = 0, names_everywhere = 1;
    for (int i = 0; i < n && rc == 0; i++) {
        if (!(r[i] = store_open(in[i], err, errlen))) {
            rc = 1;
            break;
        }
        const store_options *a = &store_layout_of(r[0])->o, *b = &store_layout_of(r[i])->o;
        const char *diff = layout_difference(a, b);
        names_everywhere = names_everywhere && b->file_names;
        if (diff)
            rc = 1, err_fail(err, errlen, "%s and %s differ in %s", in[0], in[i], diff);
        else if (!foreground &&
                 !same_names(store_class_names(r[0]), store_num_classes(r[0]),
                             store_class_names(r[i]), store_num_classes(r[i])))
            rc = 1, err_fail(err, errlen, "%s and %s have different class names (--foreground "
                             "makes them one class)", in[0], in[i]);
        else if (!same_names(store_domain_names(r[0]), store_num_domains(r[0]),
                             store_domain_names(r[i]), store_num_domains(r[i])))
            rc = 1, err_fail(err, errlen, "%s and %s have different domain names", in[0], in[i]);
    }
    store_writer *w = NULL;
    char source[1024];
    int len = snprintf(source, sizeof source, "merge%s of", foreground ? " (foreground)" : "");
    for (int i = 0; i < n && len < (int)sizeof source; i++)
        len += snprintf(source + len, sizeof source - (size_t)len, " %s", in[i]);
    if (rc == 0 && !(w = item_copy_create(r[0], out, source, foreground, err, errlen)))
        rc = 1;
    for (int i = 0; i < n && rc == 0; i++) {
        char **names = NULL;
        int64_t count = store_count(r[i]);
        if (names_everywhere && store_file_names(r[i], &names, err, errlen) < 0) {
            rc = 1;
            break;
        }
        for (int64_t k = 0; k < count && rc == 0; k++) {
            if (cancel && *cancel)
                rc = 130, err_fail(err, errlen, "%s: interrupted; nothing written", out);
            else if (item_copy(r[i], k, w, names ? names[k] : NULL, foreground, err, errlen))
                rc = 2;
            else
                (*items)++;
        }
        store_free_names(names, names ? count : 0);
    }
    for (int i = 0; i < n; i++)
        if (r[i])
            store_close(r[i]);
    free(r);
    if (rc == 0 && store_commit(w, err, errlen))
        rc = 2;
    else if (rc != 0 && w)
        store_abort(w);
    if (rc != 0)
        *items = 0;
    return rc;
}
