/*
 * synth_portrait.c - see synth_portrait.h.
 */
#include "synth/synth_portrait.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/rng.h"
#include "import/import_internal.h"
#include "pipeline/augment.h"
#include "store/store.h"

enum { KEY_COMPOSE = 0x5047, KEY_SENSOR = 0x5053, KEY_PICK = 0x5049 };

static double gauss(prng *r)
{
    double u = prng_uniform(r), v = prng_uniform(r);
    return sqrt(-2.0 * log(u > 1e-300 ? u : 1e-300)) * cos(6.283185307179586 * v);
}

static float clamp01(double v)
{
    return (float)(v < 0 ? 0 : v > 1 ? 1 : v);
}

/* Smooth random values in [lo, 1]: a 4 x 4 grid, bilinear over the canvas. */
static void far_field(prng *r, double lo, int size, float *out)
{
    double g[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            g[i][j] = prng_range(r, lo, 1.0);
    for (int y = 0; y < size; y++) {
        double fy = 3.0 * y / (size - 1);
        int iy = fy >= 3 ? 2 : (int)fy;
        double ty = fy - iy;
        for (int x = 0; x < size; x++) {
            double fx = 3.0 * x / (size - 1);
            int ix = fx >= 3 ? 2 : (int)fx;
            double tx = fx - ix;
            double a = g[iy][ix] * (1 - tx) + g[iy][ix + 1] * tx;
            double b = g[iy + 1][ix] * (1 - tx) + g[iy + 1][ix + 1] * tx;
            out[(size_t)y * size + x] = (float)(a * (1 - ty) + b * ty);
        }
    }
}

/* The background layout (synth_portrait.h) into d (size * size). */
static void background_depth(prng *r, int size, float *d)
{
    int layout = (int)prng_below(r, 4);
    double horizon = prng_range(r, 0.3, 0.6) * size, dn = prng_range(r, 0.35, 0.5);
    double w0 = prng_range(r, 0.45, 0.8), tilt = prng_range(r, -0.2, 0.2);
    far_field(r, layout == 3 ? 0.5 : 0.7, size, d);
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            float *v = &d[(size_t)y * size + x];
            double wall = w0 + tilt * ((double)x / size - 0.5);
            if (layout == 1 || (layout == 2 && y <= horizon)) {
                *v = clamp01(wall);
            } else if ((layout == 0 || layout == 2) && y > horizon) {
                /* a ground plane: inverse depth linear in the row, from the far end (the field
                 * or the wall) at the horizon to dn at the bottom row */
                double top = layout == 2 ? wall : *v;
                double t = (y - horizon) / (size - 1 - horizon > 1 ? size - 1 - horizon : 1);
                *v = clamp01(1.0 / (1.0 / top + (1.0 / dn - 1.0 / top) * t));
            }
        }
}

/* A sensor's reading of the clean depth d (in place); mask: the person (0/1). */
static void sensor_depth(prng *r, int size, const uint8_t *mask, float *d)
{
    const size_t n = (size_t)size * size;
    for (size_t i = 0; i < n; i++)
        d[i] = (float)(d[i] + (0.01 + 0.02 * d[i]) * gauss(r));
    int holes = 2 + (int)prng_below(r, 5);
    for (int k = 0; k < holes; k++) {
        double cx = prng_uniform(r) * size, cy = prng_uniform(r) * size;
        double rx = prng_range(r, 0.02, 0.08) * size, ry = prng_range(r, 0.02, 0.08) * size;
        for (int y = (int)(cy - ry); y <= (int)(cy + ry); y++)
            for (int x = (int)(cx - rx); x <= (int)(cx + rx); x++) {
                if (x < 0 || y < 0 || x >= size || y >= size)
                    continue;
                double u = (x + 0.5 - cx) / rx, v = (y + 0.5 - cy) / ry;
                if (u * u + v * v <= 1)
                    d[(size_t)y * size + x] = -1; /* marked; 0 below */
            }
    }
    int band = prng_chance(r, 0.5);
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            size_t i = (size_t)y * size + x;
            int edge = (x > 0 && mask[i - 1] != mask[i]) || (y > 0 && mask[i - size] != mask[i]);
            if (d[i] < 0 || (band && edge))
                d[i] = 0;
            else
                d[i] = d[i] < 1.0f / 255 ? 1.0f / 255 : d[i] > 1 ? 1 : d[i];
        }
}

int synth_portrait_compose(const synth_person *p, const synth_background *b, int size,
                           uint64_t seed, int test, int64_t index, int sensor, sample *out,
                           char *err, size_t errlen)
{
    if (size < SYNTH_PORTRAIT_MIN_SIZE || size > SYNTH_PORTRAIT_MAX_SIZE)
        return err_fail(err, errlen, "portrait synth: size %d is outside [%d, %d]", size,
                        SYNTH_PORTRAIT_MIN_SIZE, SYNTH_PORTRAIT_MAX_SIZE);
    /* the person's box (mask >= 128) */
    int bx0 = p->w, by0 = p->h, bx1 = -1, by1 = -1;
    for (int y = 0; y < p->h; y++)
        for (int x = 0; x < p->w; x++)
            if (p->mask[(size_t)y * p->w + x] >= 128) {
                bx0 = x < bx0 ? x : bx0, bx1 = x > bx1 ? x : bx1;
                by0 = y < by0 ? y : by0, by1 = y > by1 ? y : by1;
            }
    if (bx1 < 0)
        return err_fail(err, errlen, "portrait synth: a person's mask is empty");
    prng r;
    uint64_t keys[4] = {seed, (uint64_t)test, (uint64_t)index, KEY_COMPOSE};
    prng_seed_keys(&r, keys, 4);
    const size_t n = (size_t)size * size;
    uint8_t *img = malloc(3 * n), *mask = malloc(n);
    float *depth = malloc(n * sizeof *depth);
    uint8_t *bg = NULL, *crop = NULL, *pc = NULL, *pr = NULL, *pa = NULL;
    int rc = -1;
    if (!img || !mask || !depth)
        goto oom;
    /* background: cover the canvas at 1.0-1.3 x, a random window */
    double s = fmax((double)size / b->w, (double)size / b->h) * prng_range(&r, 1.0, 1.3);
    int nw = (int)ceil(b->w * s), nh = (int)ceil(b->h * s);
    nw = nw < size ? size : nw, nh = nh < size ? size : nh;
    if (!(bg = aug_resize_plane(b->rgb, b->h, b->w, 3, AUG_PLANE_IMAGE, nh, nw)))
        goto oom;
    int ox = (int)prng_below(&r, (uint64_t)(nw - size + 1));
    int oy = (int)prng_below(&r, (uint64_t)(nh - size + 1));
    for (int y = 0; y < size; y++)
        memcpy(img + (size_t)y * size * 3, bg + ((size_t)(y + oy) * nw + ox) * 3,
               (size_t)size * 3);
    /* person: the box cut out, scaled, maybe flipped */
    int bw = bx1 - bx0 + 1, bh = by1 - by0 + 1;
    double k = prng_range(&r, 0.55, 0.95) * size / bh;
    if (bw * k > 0.9 * size)
        k = 0.9 * size / bw;
    int pw = (int)lround(bw * k), ph = (int)lround(bh * k);
    pw = pw < 1 ? 1 : pw, ph = ph < 1 ? 1 : ph;
    int flip = prng_chance(&r, 0.5);
    double cx = prng_range(&r, 0.25, 0.75) * size, feet = prng_range(&r, 0.85, 1.1) * size;
    int left = (int)lround(cx - pw / 2.0), top = (int)lround(feet - ph);
    crop = malloc((size_t)bw * bh * 3);
    pc = malloc((size_t)bw * bh);
    if (!crop || !pc)
        goto oom;
    for (int y = 0; y < bh; y++) {
        memcpy(crop + (size_t)y * bw * 3, p->rgb + ((size_t)(y + by0) * p->w + bx0) * 3,
               (size_t)bw * 3);
        memcpy(pc + (size_t)y * bw, p->mask + (size_t)(y + by0) * p->w + bx0, (size_t)bw);
    }
    if (!(pr = aug_resize_plane(crop, bh, bw, 3, AUG_PLANE_IMAGE, ph, pw)) ||
        !(pa = aug_resize_plane(pc, bh, bw, 1, AUG_PLANE_IMAGE, ph, pw)))
        goto oom;
    memset(mask, 0, n);
    for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++) {
            int X = left + x, Y = top + y;
            if (X < 0 || Y < 0 || X >= size || Y >= size)
                continue;
            int sx = flip ? pw - 1 - x : x;
            double a = pa[(size_t)y * pw + sx] / 255.0;
            uint8_t *dst = img + ((size_t)Y * size + X) * 3;
            const uint8_t *src = pr + ((size_t)y * pw + sx) * 3;
            for (int c = 0; c < 3; c++)
                dst[c] = (uint8_t)lround(a * src[c] + (1 - a) * dst[c]);
            mask[(size_t)Y * size + X] = a >= 0.5;
        }
    /* depth: the background layout, then the person near */
    background_depth(&r, size, depth);
    double pd = prng_range(&r, 0.08, 0.25);
    for (size_t i = 0; i < n; i++)
        if (depth[i] < pd + 0.1)
            depth[i] = clamp01(pd + 0.1);
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
            if (mask[(size_t)y * size + x]) {
                double side = fabs(x + 0.5 - (left + pw / 2.0)) / (pw / 2.0);
                depth[(size_t)y * size + x] = clamp01(pd + 0.03 * fmin(side, 1.0));
            }
    if (sensor) {
        prng rs;
        uint64_t ks[4] = {seed, (uint64_t)test, (uint64_t)index, KEY_SENSOR};
        prng_seed_keys(&rs, ks, 4);
        sensor_depth(&rs, size, mask, depth);
    }
    sample_free(out);
    out->h = out->w = size, out->c = 3;
    out->image = img, out->mask = mask, out->depth = depth;
    img = mask = NULL, depth = NULL;
    rc = 0;
    goto done;
oom:
    err_fail(err, errlen, "portrait synth: out of memory (canvas %d)", size);
done:
    free(img), free(mask), free(depth), free(bg), free(crop), free(pc), free(pr), free(pa);
    return rc;
}

/* ------------------------------------------------------------------ the data set */

typedef struct {
    uint8_t *rgb, *mask;
    int h, w;
} loaded;

static void loaded_free(loaded *l, int n)
{
    for (int i = 0; i < n; i++)
        free(l[i].rgb), free(l[i].mask);
    free(l);
}

/* Scale an image (and its mask) down so its longer side is at most side (never up). */
static int shrink(loaded *l, int side)
{
    int m = l->h > l->w ? l->h : l->w;
    if (m <= side)
        return 0;
    double s = (double)side / m;
    int nh = (int)lround(l->h * s), nw = (int)lround(l->w * s);
    nh = nh < 1 ? 1 : nh, nw = nw < 1 ? 1 : nw;
    uint8_t *a = aug_resize_plane(l->rgb, l->h, l->w, 3, AUG_PLANE_IMAGE, nh, nw);
    uint8_t *b = l->mask ? aug_resize_plane(l->mask, l->h, l->w, 1, AUG_PLANE_IMAGE, nh, nw)
                         : NULL;
    if (!a || (l->mask && !b)) {
        free(a), free(b);
        return -1;
    }
    free(l->rgb), free(l->mask);
    l->rgb = a, l->mask = b, l->h = nh, l->w = nw;
    return 0;
}

/* The digits after the last '_' of a stem (COCO photo id), else the whole stem. */
static const char *photo_id(const char *stem)
{
    const char *u = strrchr(stem, '_');
    return u ? u + 1 : stem;
}

/* imp_load_image to RGB (channels 3) or grey (1), keeping only the pixels. */
static int load_pixels(const char *path, int channels, uint8_t **px, int *h, int *w)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    int c = 0;
    char why[256];
    int rc = imp_load_image(path, channels, &bytes, &len, px, h, w, &c, why, sizeof why);
    free(bytes);
    return rc;
}

static int load_people(const synth_portrait_options *o, loaded **out, int *n, char *err,
                       size_t errlen)
{
    char *idir = imp_join(o->people_dir, "images"), *mdir = imp_join(o->people_dir, "masks");
    strlist names = {0};
    int rc = 0;
    *out = NULL, *n = 0;
    if (!idir || !mdir) {
        rc = err_fail(err, errlen, "out of memory");
        goto done;
    }
    if (!imp_is_dir(idir) || !imp_is_dir(mdir)) {
        rc = err_fail(err, errlen, "%s: expected the folders images/ and masks/ (human_seg's "
                      "layout)", o->people_dir);
        goto done;
    }
    if (imp_list_dir(idir, 0, &names, err, errlen)) {
        rc = -1;
        goto done;
    }
    *out = calloc((size_t)names.n + 1, sizeof **out);
    if (!*out) {
        rc = err_fail(err, errlen, "out of memory");
        goto done;
    }
    for (int i = 0, k = 0; i < names.n; i++) {
        if (!imp_is_image_name(names.v[i]))
            continue;
        int side = k++ % 5 == 0; /* test people: every fifth in sorted order */
        if (side != (o->test != 0))
            continue;
        char *stem = imp_stem(names.v[i]), *mname = NULL, *ipath = imp_join(idir, names.v[i]);
        if (stem && (mname = malloc(strlen(stem) + 5)))
            sprintf(mname, "%s.png", stem);
        char *mpath = mname ? imp_join(mdir, mname) : NULL;
        loaded l = {0};
        int mh = 0, mw = 0;
        uint8_t *m = NULL;
        int ok = ipath && mpath && !load_pixels(ipath, 3, &l.rgb, &l.h, &l.w) &&
                 !load_pixels(mpath, 1, &m, &mh, &mw);
        if (ok && (mh != l.h || mw != l.w)) { /* a mask saved at another size: to the image's */
            l.mask = aug_resize_plane(m, mh, mw, 1, AUG_PLANE_MASK, l.h, l.w);
            ok = l.mask != NULL;
        } else if (ok) {
            l.mask = m, m = NULL;
        }
        free(m);
        if (ok && shrink(&l, 2 * o->size) == 0)
            (*out)[(*n)++] = l;
        else
            free(l.rgb), free(l.mask); /* unreadable pairs are left out */
        free(stem), free(mname), free(mpath), free(ipath);
    }
    if (*n == 0)
        rc = err_fail(err, errlen, "%s: no readable image + mask pair on the %s side", idir,
                      o->test ? "test" : "train");
done:
    strlist_free(&names);
    free(idir), free(mdir);
    return rc;
}

static int load_backgrounds(const synth_portrait_options *o, loaded **out, int *n, char *err,
                            size_t errlen)
{
    strlist names = {0}, ids = {0};
    int rc = 0;
    *out = NULL, *n = 0;
    if (!imp_is_dir(o->backgrounds_dir))
        return err_fail(err, errlen, "%s: not a folder (background photos)", o->backgrounds_dir);
    if (imp_list_dir(o->backgrounds_dir, 0, &names, err, errlen))
        return -1;
    for (int i = 0; i < names.n; i++) { /* the distinct photo ids, sorted */
        char *stem = imp_stem(names.v[i]);
        int bad = !stem;
        if (stem && imp_is_image_name(names.v[i]) && strlist_find(&ids, photo_id(stem)) < 0) {
            bad = strlist_push(&ids, photo_id(stem)) != 0;
            strlist_sort(&ids);
        }
        free(stem);
        if (bad) {
            rc = err_fail(err, errlen, "out of memory");
            goto done;
        }
    }
    *out = calloc((size_t)ids.n + 1, sizeof **out);
    strlist seen = {0};
    for (int i = 0; *out && i < names.n; i++) {
        char *stem = imp_stem(names.v[i]);
        if (!stem || !imp_is_image_name(names.v[i])) {
            free(stem);
            continue;
        }
        const char *id = photo_id(stem);
        int k = strlist_find(&ids, id);
        if ((k % 5 == 0) != (o->test != 0) || strlist_find(&seen, id) >= 0) {
            free(stem);
            continue;
        }
        strlist_push(&seen, id);
        strlist_sort(&seen);
        char *path = imp_join(o->backgrounds_dir, names.v[i]);
        loaded l = {0};
        if (path && !load_pixels(path, 3, &l.rgb, &l.h, &l.w) &&
            shrink(&l, 2 * o->size) == 0)
            (*out)[(*n)++] = l;
        else
            free(l.rgb);
        free(path), free(stem);
    }
    strlist_free(&seen);
    if (!*out)
        rc = err_fail(err, errlen, "out of memory");
    else if (*n == 0)
        rc = err_fail(err, errlen, "%s: no readable photo on the %s side", o->backgrounds_dir,
                      o->test ? "test" : "train");
done:
    strlist_free(&names), strlist_free(&ids);
    return rc;
}

int synth_portrait(const synth_portrait_options *o, int64_t *written, char *err,
                   size_t errlen)
{
    *written = 0;
    if (o->size < SYNTH_PORTRAIT_MIN_SIZE || o->size > SYNTH_PORTRAIT_MAX_SIZE) {
        err_fail(err, errlen, "--size %d is outside [%d, %d]", o->size, SYNTH_PORTRAIT_MIN_SIZE,
                 SYNTH_PORTRAIT_MAX_SIZE);
        return 1;
    }
    if (o->n < 1) {
        err_fail(err, errlen, "--n must be at least 1");
        return 1;
    }
    loaded *people = NULL, *bgs = NULL;
    int np = 0, nb = 0, rc = 1;
    store_writer *w = NULL;
    if (load_people(o, &people, &np, err, errlen) ||
        load_backgrounds(o, &bgs, &nb, err, errlen))
        goto done;
    char source[512];
    snprintf(source, sizeof source, "pictor portrait synth: people %s, backgrounds %s, %s side, "
             "seed %llu, %s depth", o->people_dir, o->backgrounds_dir, o->test ? "test" : "train",
             (unsigned long long)o->seed, o->sensor ? "sensor-like" : "clean");
    store_options so = {.images = STORE_RAW, .channels = 3, .height = o->size, .width = o->size,
                        .annotations = STORE_MASK | STORE_DEPTH, .masks = STORE_RAW,
                        .depth = STORE_DEPTH_F16, .source = source};
    rc = 2;
    if (!(w = store_create(o->out, &so, err, errlen)))
        goto done;
    for (int64_t i = 0; i < o->n; i++) {
        prng r;
        uint64_t keys[4] = {o->seed, (uint64_t)o->test, (uint64_t)i, KEY_PICK};
        prng_seed_keys(&r, keys, 4);
        int pi = (int)prng_below(&r, (uint64_t)np), bi = (int)prng_below(&r, (uint64_t)nb);
        synth_person p = {people[pi].rgb, people[pi].mask, people[pi].h, people[pi].w};
        synth_background b = {bgs[bi].rgb, bgs[bi].h, bgs[bi].w};
        sample s;
        sample_init(&s);
        int bad = synth_portrait_compose(&p, &b, o->size, o->seed, o->test, i, o->sensor, &s,
                                         err, errlen);
        s.group = pi;
        bad = bad || store_append(w, &s, err, errlen);
        sample_free(&s);
        if (bad) {
            store_abort(w);
            w = NULL;
            goto done;
        }
        if (o->progress && (i + 1) % 100 == 0)
            fprintf(o->progress, "portrait synth: %lld/%lld\n", (long long)(i + 1),
                    (long long)o->n);
    }
    rc = store_commit(w, err, errlen) ? 2 : 0;
    w = NULL;
    if (!rc)
        *written = o->n;
done:
    loaded_free(people, np);
    loaded_free(bgs, nb);
    return rc;
}
