/* area_labels.c - area-ratio labels from masks or a CSV; see area_labels.h. */
#include "curate/area_labels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/rng.h"
#include "codec/image.h"
#include "store/store.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static double gauss(prng *r)
{
    double u1 = prng_uniform(r), u2 = prng_uniform(r);
    return sqrt(-2 * log(u1 > 1e-300 ? u1 : 1e-300)) * cos(2 * M_PI * u2);
}

int area_labels_from_masks(const char *in, const char *out, double noise_sd, double error,
                           uint64_t seed, int64_t *items, char *err, size_t errlen)
{
    if (!(noise_sd >= 0) || !(error >= 0 && error <= 1))
        return err_fail(err, errlen, "ratios: --noise %g (expected >= 0) / --error %g (expected "
                        "in [0, 1])", noise_sd, error);
    store_reader *r = store_open(in, err, errlen);
    if (!r)
        return -1;
    store_options o = store_layout_of(r)->o;
    if (!(o.annotations & (STORE_MASK | STORE_INSTANCES))) {
        store_close(r);
        return err_fail(err, errlen, "%s: no masks or instances to measure ratios on", in);
    }
    o.annotations |= STORE_AREA;
    o.source = "pictor data ratios";
    store_writer *w = store_create(out, &o, err, errlen);
    if (!w) {
        store_close(r);
        return -1;
    }
    const char *const *cn = store_class_names(r);
    const char *const *dn = store_domain_names(r);
    if ((cn && store_set_class_names(w, cn, store_num_classes(r), err, errlen)) ||
        (dn && store_set_domain_names(w, dn, store_num_domains(r), err, errlen))) {
        store_abort(w), store_close(r);
        return -1;
    }
    prng rng;
    prng_seed_keys(&rng, (const uint64_t[]){seed, 0xa5ea}, 2);
    int64_t n = store_count(r);
    for (int64_t i = 0; i < n; i++) {
        sample s;
        sample_init(&s);
        int rc = store_read(r, i, STORE_READ_ALL, &s, err, errlen);
        const size_t hw = (size_t)s.h * (size_t)s.w;
        int64_t fg = 0, have = s.mask != NULL;
        if (rc == 0 && s.mask) {
            for (size_t p = 0; p < hw; p++)
                fg += s.mask[p] != 0;
        } else if (rc == 0 && s.n_instances > 0) {
            uint8_t *u = calloc(hw, 1);
            for (int k = 0; u && k < s.n_instances; k++)
                if (s.instances[k].mask)
                    for (size_t p = 0; p < hw; p++)
                        u[p] |= s.instances[k].mask[p] != 0, have = 1;
            for (size_t p = 0; u && p < hw; p++)
                fg += u[p];
            free(u);
        }
        if (rc == 0 && !have)
            rc = err_fail(err, errlen, "%s: item %lld has no mask to measure a ratio on", in,
                          (long long)i);
        if (rc == 0) {
            double ratio = (double)fg / (double)hw + noise_sd * gauss(&rng);
            s.area_ratio = (float)(ratio < 0 ? 0 : ratio > 1 ? 1 : ratio);
            s.area_error = (float)error;
            rc = store_append(w, &s, err, errlen);
        }
        sample_free(&s);
        if (rc) {
            store_abort(w), store_close(r);
            return -1;
        }
    }
    store_close(r);
    if (items)
        *items = n;
    return store_commit(w, err, errlen);
}

/* The whole file into memory (NUL-terminated); NULL on failure. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    size_t k;
    while (b && (k = fread(b + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            char *nb = realloc(b, 2 * cap + 1);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb, cap *= 2;
        }
    }
    fclose(f);
    if (b)
        b[n] = 0, *len = n;
    return b;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

int area_labels_import_csv(const char *csv, const char *images_dir, const char *out,
                           int64_t *items, char *err, size_t errlen)
{
    size_t len;
    char *text = slurp(csv, &len);
    if (!text)
        return err_fail(err, errlen, "%s: cannot read the CSV", csv);
    store_options o = {.images = STORE_ENCODED, .channels = 3, .annotations = STORE_AREA,
                       .file_names = 1, .source = "pictor data import-ratios"};
    store_writer *w = store_create(out, &o, err, errlen);
    if (!w) {
        free(text);
        return -1;
    }
    int line = 0, rc = 0;
    int64_t n = 0;
    for (char *ln = text, *next; ln && !rc; ln = next) {
        line++; /* every line counts, blank ones too, so messages point at the right one */
        if ((next = strchr(ln, '\n')))
            *next++ = 0;
        char *l = trim(ln);
        if (!*l || (line == 1 && strncmp(l, "file", 4) == 0))
            continue;
        char *c1 = strchr(l, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        if (!c1) {
            rc = err_fail(err, errlen, "%s:%d: expected 'file,ratio[,error]'", csv, line);
            break;
        }
        *c1 = 0;
        if (c2)
            *c2 = 0;
        const char *file = trim(l), *rs = trim(c1 + 1), *es = c2 ? trim(c2 + 1) : "";
        if (!*file || file[0] == '/' || !strcmp(file, "..") || !strncmp(file, "../", 3) ||
            strstr(file, "/../") || (strlen(file) >= 3 && !strcmp(file + strlen(file) - 3, "/.."))) {
            rc = err_fail(err, errlen, "%s:%d: file '%s' (expected a path inside the images "
                          "folder: not empty, not absolute, no '..')", csv, line, file);
            break;
        }
        char *end;
        double ratio = strtod(rs, &end);
        if (!*rs || *end || !(ratio >= 0 && ratio <= 1)) {
            rc = err_fail(err, errlen, "%s:%d: ratio '%s' (expected a number in [0, 1])", csv,
                          line, rs);
            break;
        }
        double error = NAN;
        if (*es) {
            error = strtod(es, &end);
            if (*end || !(error >= 0 && error <= 1)) {
                rc = err_fail(err, errlen, "%s:%d: error '%s' (expected a number in [0, 1] or "
                              "nothing)", csv, line, es);
                break;
            }
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", images_dir, file);
        size_t blen;
        char *bytes = slurp(path, &blen);
        sample s;
        sample_init(&s);
        char why[512];
        if (!bytes) {
            rc = err_fail(err, errlen, "%s:%d: cannot read %s", csv, line, path);
        } else if (image_check(bytes, blen, &s.h, &s.w, &s.c, why, sizeof why)) {
            rc = err_fail(err, errlen, "%s:%d: %s: %s", csv, line, path, why);
        } else {
            s.c = 3;
            s.area_ratio = (float)ratio;
            s.area_error = (float)error;
            rc = store_set_item_name(w, file, err, errlen) ||
                 store_append_encoded(w, &s, bytes, blen, err, errlen);
            n++;
        }
        free(bytes);
        sample_free(&s);
    }
    free(text);
    if (rc) {
        store_abort(w);
        return -1;
    }
    if (n == 0) {
        store_abort(w);
        return err_fail(err, errlen, "%s: no data line", csv);
    }
    if (items)
        *items = n;
    return store_commit(w, err, errlen);
}
