/*
 * import_folder.c - see import.h: image folders ROOT/<class>/<file> or ROOT/<domain>/<class>/<file>
 * (the PACS layout) into a dataset of encoded images (the file bytes as they are) with labels,
 * domains and their sorted names. Each file is checked with image_check (complete, not corrupt)
 * which also gives its size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import/import_internal.h"

/* One file to import. */
typedef struct {
    char *rel;   /* path relative to root */
    int label, domain;
} entry;

typedef struct {
    entry *v;
    int64_t n, cap;
} entries;

static int entries_push(entries *e, const char *rel, int label, int domain)
{
    if (e->n == e->cap) {
        int64_t cap = e->cap ? 2 * e->cap : 256;
        entry *v = realloc(e->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        e->v = v;
        e->cap = cap;
    }
    if (!(e->v[e->n].rel = strdup(rel)))
        return -1;
    e->v[e->n].label = label;
    e->v[e->n++].domain = domain;
    return 0;
}

static void entries_free(entries *e)
{
    for (int64_t i = 0; i < e->n; i++)
        free(e->v[i].rel);
    free(e->v);
}

/* ---------------------------------------------------------------- layout */

/* Does folder dir hold subfolders (1), files (0), or both (2)? -1 on error. */
static int folder_kind(const char *dir, char *err, size_t errlen)
{
    strlist subs = {0}, files = {0};
    if (imp_list_dir(dir, 1, &subs, err, errlen) || imp_list_dir(dir, 0, &files, err, errlen)) {
        strlist_free(&subs);
        strlist_free(&files);
        return -1;
    }
    int kind = subs.n > 0 && files.n > 0 ? 2 : subs.n > 0 ? 1 : 0;
    strlist_free(&subs);
    strlist_free(&files);
    return kind;
}

static int detect_layout(const char *root, const strlist *top, import_layout *layout, char *err,
                         size_t errlen)
{
    int with_files = 0, with_dirs = 0;
    for (int i = 0; i < top->n; i++) {
        char *dir = imp_join(root, top->v[i]);
        int kind = dir ? folder_kind(dir, err, errlen) : -1;
        free(dir);
        if (kind < 0)
            return IMPORT_USER_ERROR;
        with_files += kind == 0 || kind == 2;
        with_dirs += kind == 1 || kind == 2;
    }
    if (with_files && with_dirs)
        return imp_fail(err, errlen, IMPORT_USER_ERROR,
                        "%s: mixes <class>/ folders of images with <domain>/<class>/ folders; "
                        "choose one with --layout class|domain", root);
    *layout = with_dirs ? IMPORT_LAYOUT_DOMAIN_CLASS : IMPORT_LAYOUT_CLASS;
    return IMPORT_OK;
}

/* ---------------------------------------------------------------- listing */

/* Add the files of root/prefix (prefix = "<class>" or "<domain>/<class>"). */
static int list_class(const char *root, const char *prefix, int label, int domain,
                      entries *out, char *err, size_t errlen)
{
    char *dir = imp_join(root, prefix);
    strlist files = {0};
    int rc = dir && imp_list_dir(dir, 0, &files, err, errlen) == 0 ? IMPORT_OK
                                                                  : IMPORT_USER_ERROR;
    for (int i = 0; rc == IMPORT_OK && i < files.n; i++) {
        char *rel = imp_join(prefix, files.v[i]);
        if (!rel || entries_push(out, rel, label, domain))
            rc = imp_fail(err, errlen, IMPORT_INTERNAL_ERROR, "out of memory");
        free(rel);
    }
    strlist_free(&files);
    free(dir);
    return rc;
}

/* Class names: the union of the class folders of every domain, sorted. */
static int collect_classes(const char *root, const strlist *domains, strlist *classes,
                           char *err, size_t errlen)
{
    for (int d = 0; d < domains->n; d++) {
        char *dir = imp_join(root, domains->v[d]);
        strlist sub = {0};
        int rc = dir ? imp_list_dir(dir, 1, &sub, err, errlen) : -1;
        for (int k = 0; rc == 0 && k < sub.n; k++)
            if (strlist_find(classes, sub.v[k]) < 0 &&
                (strlist_push(classes, sub.v[k]) || (strlist_sort(classes), 0)))
                rc = -1;
        strlist_free(&sub);
        free(dir);
        if (rc)
            return IMPORT_USER_ERROR;
    }
    return IMPORT_OK;
}

static int list_domain_layout(const char *root, const strlist *top, strlist *classes,
                              entries *out, char *err, size_t errlen)
{
    if (collect_classes(root, top, classes, err, errlen))
        return IMPORT_USER_ERROR;
    for (int d = 0; d < top->n; d++) {
        char *dir = imp_join(root, top->v[d]);
        strlist sub = {0};
        int rc = dir && imp_list_dir(dir, 1, &sub, err, errlen) == 0 ? IMPORT_OK
                                                                    : IMPORT_USER_ERROR;
        for (int k = 0; rc == IMPORT_OK && k < sub.n; k++) {
            char *prefix = imp_join(top->v[d], sub.v[k]);
            rc = prefix ? list_class(root, prefix, strlist_find(classes, sub.v[k]), d, out, err,
                                     errlen)
                        : IMPORT_INTERNAL_ERROR;
            free(prefix);
        }
        strlist_free(&sub);
        free(dir);
        if (rc)
            return rc;
    }
    return IMPORT_OK;
}

static int list_files(const import_folder_options *o, strlist *classes, strlist *domains,
                      entries *out, char *err, size_t errlen)
{
    strlist top = {0};
    if (!imp_is_dir(o->root))
        return imp_fail(err, errlen, IMPORT_USER_ERROR, "%s: not a folder", o->root);
    if (imp_list_dir(o->root, 1, &top, err, errlen))
        return IMPORT_USER_ERROR;
    import_layout layout = o->layout;
    int rc = top.n == 0 ? imp_fail(err, errlen, IMPORT_USER_ERROR,
                                   "%s: no class folders (expected <class>/ or "
                                   "<domain>/<class>/ folders of images)", o->root)
             : layout == IMPORT_LAYOUT_AUTO ? detect_layout(o->root, &top, &layout, err, errlen)
                                            : IMPORT_OK;
    if (rc == IMPORT_OK && layout == IMPORT_LAYOUT_CLASS) {
        for (int k = 0; rc == IMPORT_OK && k < top.n; k++)
            rc = strlist_push(classes, top.v[k]) ? IMPORT_INTERNAL_ERROR
                                                 : list_class(o->root, top.v[k], k, -1, out, err,
                                                              errlen);
    } else if (rc == IMPORT_OK) {
        rc = list_domain_layout(o->root, &top, classes, out, err, errlen);
        for (int d = 0; rc == IMPORT_OK && d < top.n; d++)
            if (strlist_push(domains, top.v[d]))
                rc = IMPORT_INTERNAL_ERROR;
    }
    strlist_free(&top);
    return rc;
}

/* ---------------------------------------------------------------- importing */

/* Import one file, or record why it was skipped. */
static int import_file(store_writer *w, const import_folder_options *o, const entry *e,
                       import_report *rep, char *err, size_t errlen)
{
    rep->seen++;
    if (!imp_is_image_name(e->rel))
        return imp_skip(rep, e->rel, "not a .jpg, .jpeg or .png file") ? IMPORT_INTERNAL_ERROR
                                                                       : IMPORT_OK;
    char *path = imp_join(o->root, e->rel), why[256];
    uint8_t *data = NULL;
    size_t len = 0;
    sample s;
    sample_init(&s);
    int rc = IMPORT_OK;
    if (!path)
        rc = IMPORT_INTERNAL_ERROR;
    else if (imp_load_image(path, o->channels, &data, &len, NULL, &s.h, &s.w, &s.c, why,
                            sizeof why))
        rc = imp_skip(rep, e->rel, why) ? IMPORT_INTERNAL_ERROR : IMPORT_OK;
    else {
        s.label = e->label;
        s.domain = e->domain;
        rc = store_set_item_name(w, e->rel, err, errlen) ||
                     store_append_encoded(w, &s, data, len, err, errlen)
                 ? IMPORT_INTERNAL_ERROR
                 : IMPORT_OK;
        rep->written += rc == IMPORT_OK;
    }
    free(data);
    free(path);
    return rc;
}

static int create_store(const import_folder_options *o, const strlist *classes,
                        const strlist *domains, store_writer **w, char *err, size_t errlen)
{
    char source[4200];
    snprintf(source, sizeof source, "import-folder %s", o->root);
    store_options so = {.images = STORE_ENCODED, .channels = o->channels,
                        .file_names = 1, .source = source};
    *w = store_create(o->common.out, &so, err, errlen);
    if (!*w)
        return IMPORT_USER_ERROR;
    if (store_set_class_names(*w, (const char *const *)classes->v, classes->n, err, errlen) ||
        (domains->n > 0 && store_set_domain_names(*w, (const char *const *)domains->v,
                                                  domains->n, err, errlen)))
        return IMPORT_INTERNAL_ERROR;
    return IMPORT_OK;
}

int import_folder(const import_folder_options *in, import_report *rep, char *err, size_t errlen)
{
    memset(rep, 0, sizeof *rep);
    import_folder_options o = *in;
    o.channels = o.channels ? o.channels : 3;
    if (!o.common.out || !o.root || (o.channels != 1 && o.channels != 3))
        return imp_fail(err, errlen, IMPORT_USER_ERROR,
                        "import-folder: needs a folder, --out, and 1 or 3 channels");
    strlist classes = {0}, domains = {0};
    entries files = {0};
    store_writer *w = NULL;
    int rc = list_files(&o, &classes, &domains, &files, err, errlen);
    if (rc == IMPORT_OK && files.n == 0)
        rc = imp_fail(err, errlen, IMPORT_USER_ERROR, "%s: no files in the class folders",
                      o.root);
    if (rc == IMPORT_OK)
        rc = create_store(&o, &classes, &domains, &w, err, errlen);
    rep->n_classes = classes.n;
    rep->n_domains = domains.n;
    int64_t n = o.common.limit > 0 && o.common.limit < files.n ? o.common.limit : files.n;
    for (int64_t i = 0; rc == IMPORT_OK && i < files.n && rep->written < n; i++) {
        if (imp_cancelled(&o.common))
            break;
        rc = import_file(w, &o, &files.v[i], rep, err, errlen);
        imp_progress(&o.common, "import-folder", i + 1, files.n);
    }
    if (w)
        imp_progress_end(&o.common, "import-folder", rep->seen, files.n);
    entries_free(&files);
    strlist_free(&classes);
    strlist_free(&domains);
    if (!w)
        return rc;
    return imp_finish(w, &o.common, rep, rc, err, errlen);
}
