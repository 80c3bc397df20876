/*
 * import_idx.c - see import.h: an IDX image/label pair (Fashion-MNIST by default, via data/idx.h)
 * into a dataset of raw [N,H,W,1] images with their labels and class names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/idx.h"
#include "import/import_internal.h"

static const char *const FASHION_MNIST_CLASSES[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

/* An explicit pair: [N,H,W] u8 images and [N] u8 labels of the same N. */
static int load_pair(const import_idx_options *o, idx_array *img, idx_array *lab, char *err,
                     size_t errlen)
{
    if (idx_read(o->images, img, err, errlen) || idx_read(o->labels, lab, err, errlen))
        return IMPORT_USER_ERROR;
    if (img->ndim != 3 || img->type_code != IDX_U8 || img->dims[1] <= 0 || img->dims[2] <= 0)
        return imp_fail(err, errlen, IMPORT_USER_ERROR,
                        "%s: expected [N,H,W] u8 images, found %d dimensions of %s", o->images,
                        img->ndim, idx_type_name(img->type_code));
    if (lab->ndim != 1 || lab->type_code != IDX_U8 || lab->dims[0] != img->dims[0])
        return imp_fail(err, errlen, IMPORT_USER_ERROR,
                        "%s: expected %lld u8 labels to match %s", o->labels,
                        (long long)img->dims[0], o->images);
    return IMPORT_OK;
}

/* Class names: Fashion-MNIST's, or the label values "0".."max" of an explicit pair. */
static int set_names(store_writer *w, const import_idx_options *o, const idx_array *lab,
                     int *n_classes, char *err, size_t errlen)
{
    if (!o->images) {
        *n_classes = 10;
        return store_set_class_names(w, FASHION_MNIST_CLASSES, 10, err, errlen);
    }
    int max = -1;
    for (size_t i = 0; i < lab->count; i++)
        if (((const uint8_t *)lab->data)[i] > max)
            max = ((const uint8_t *)lab->data)[i];
    char buf[256][4];
    const char *names[256];
    for (int k = 0; k <= max; k++) {
        snprintf(buf[k], sizeof buf[k], "%d", k);
        names[k] = buf[k];
    }
    *n_classes = max + 1;
    return store_set_class_names(w, names, max + 1, err, errlen);
}

static int write_items(store_writer *w, const import_idx_options *o, const idx_array *img,
                       const idx_array *lab, import_report *rep, char *err, size_t errlen)
{
    const import_common *c = &o->common;
    int64_t n = img->dims[0];
    if (c->limit > 0 && c->limit < n)
        n = c->limit;
    int h = (int)img->dims[1], wd = (int)img->dims[2];
    size_t item = (size_t)h * (size_t)wd;
    for (int64_t i = 0; i < n && !imp_cancelled(c); i++) {
        sample s;
        sample_init(&s);
        s.h = h, s.w = wd, s.c = 1;
        s.image = (uint8_t *)img->data + (size_t)i * item; /* borrowed: not freed below */
        s.label = ((const uint8_t *)lab->data)[i];
        rep->seen++;
        if (store_append(w, &s, err, errlen))
            return IMPORT_INTERNAL_ERROR;
        rep->written++;
        imp_progress(c, "import-idx", i + 1, n);
    }
    imp_progress_end(c, "import-idx", rep->written, n);
    return IMPORT_OK;
}

int import_idx(const import_idx_options *o, import_report *rep, char *err, size_t errlen)
{
    memset(rep, 0, sizeof *rep);
    if (!o->common.out)
        return imp_fail(err, errlen, IMPORT_USER_ERROR, "import-idx: no output file (--out)");
    if (!o->images != !o->labels)
        return imp_fail(err, errlen, IMPORT_USER_ERROR,
                        "import-idx: give both an images and a labels file, or neither");
    idx_array img = {0}, lab = {0};
    int rc = o->images ? load_pair(o, &img, &lab, err, errlen)
             : idx_load_fashion_mnist(o->dir, o->train, &img, &lab, err, errlen)
                 ? IMPORT_USER_ERROR
                 : IMPORT_OK;
    store_writer *w = NULL;
    if (rc == IMPORT_OK) {
        char source[4200];
        snprintf(source, sizeof source, "import-idx %s", o->images ? o->images
                 : o->train ? "fashion-mnist train" : "fashion-mnist test");
        store_options so = {.images = STORE_RAW, .channels = 1, .height = (int)img.dims[1],
                            .width = (int)img.dims[2], .source = source};
        w = store_create(o->common.out, &so, err, errlen);
        rc = w ? set_names(w, o, &lab, &rep->n_classes, err, errlen) : IMPORT_USER_ERROR;
        if (w && rc != IMPORT_OK)
            rc = IMPORT_INTERNAL_ERROR;
    }
    if (rc == IMPORT_OK)
        rc = write_items(w, o, &img, &lab, rep, err, errlen);
    idx_free(&img);
    idx_free(&lab);
    if (!w)
        return rc;
    return imp_finish(w, &o->common, rep, rc, err, errlen);
}
