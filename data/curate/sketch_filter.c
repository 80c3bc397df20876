/*
 * sketch_filter.c - see sketch_filter.h: the outline-completeness score of hand drawings, gaps
 * of known size for its validation, and the screening of a dataset with its report files.
 */
#include "curate/sketch_filter.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "curate/contact_sheet.h"
#include "fileio.h"
#include "codec/image.h"
#include "import/import.h"
#include "import/import_internal.h"
#include "store/store.h"

/* ---------------------------------------------------------------- the score */

static uint8_t grey_at(const uint8_t *image, int c, size_t p)
{
    if (c == 1)
        return image[p];
    const uint8_t *q = image + 3 * p;
    return (uint8_t)((299 * q[0] + 587 * q[1] + 114 * q[2] + 500) / 1000);
}

/* A mask pixel with a 4-neighbour inside the image outside the mask. */
static int is_boundary(const uint8_t *mask, int w, int h, int x, int y)
{
    if (!mask[(size_t)y * w + x])
        return 0;
    size_t p = (size_t)y * w + x;
    return (x > 0 && !mask[p - 1]) || (x < w - 1 && !mask[p + 1]) ||
           (y > 0 && !mask[p - (size_t)w]) || (y < h - 1 && !mask[p + (size_t)w]);
}

/* Offsets (dx, dy) of the disc of radius t, nearest first; *n of them. NULL on out of memory. */
static int *disc_offsets(int t, int *n)
{
    int side = 2 * t + 1, k = 0;
    int *off = malloc((size_t)side * side * 2 * sizeof *off);
    if (!off)
        return NULL;
    for (int d2 = 0; d2 <= t * t; d2++) /* by increasing squared distance */
        for (int dy = -t; dy <= t; dy++)
            for (int dx = -t; dx <= t; dx++)
                if (dx * dx + dy * dy == d2)
                    off[2 * k] = dx, off[2 * k + 1] = dy, k++;
    *n = k;
    return off;
}

double sketch_outline_status(const uint8_t *image, int c, const uint8_t *mask, int w, int h,
                             int tolerance, uint8_t *status)
{
    if (!image || !mask || w <= 0 || h <= 0 || (c != 1 && c != 3) || tolerance < 0 ||
        tolerance > SKETCH_MAX_TOLERANCE)
        return -1;
    size_t np = (size_t)w * h;
    uint8_t *dark = malloc(np);
    int n_off = 0;
    int *off = disc_offsets(tolerance, &n_off);
    if (!dark || !off) {
        free(dark), free(off);
        return -1;
    }
    for (size_t p = 0; p < np; p++)
        dark[p] = grey_at(image, c, p) < SKETCH_DARK;
    if (status)
        memset(status, SKETCH_NOT_BOUNDARY, np);
    int64_t boundary = 0, covered = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (!is_boundary(mask, w, h, x, y))
                continue;
            boundary++;
            int hit = 0;
            for (int k = 0; k < n_off && !hit; k++) {
                int qx = x + off[2 * k], qy = y + off[2 * k + 1];
                hit = qx >= 0 && qy >= 0 && qx < w && qy < h && dark[(size_t)qy * w + qx];
            }
            covered += hit;
            if (status)
                status[(size_t)y * w + x] = hit ? SKETCH_COVERED : SKETCH_MISSED;
        }
    free(dark), free(off);
    return boundary > 0 ? (double)covered / (double)boundary : NAN;
}

double sketch_completeness(const uint8_t *grey, const uint8_t *mask, int w, int h, int tolerance)
{
    return sketch_outline_status(grey, 1, mask, w, h, tolerance, NULL);
}

/* ---------------------------------------------------------------- gaps for validation */

int sketch_cut_gap(uint8_t *image, int c, const uint8_t *mask, int w, int h, double fraction,
                   uint64_t start, int reach)
{
    if (!image || !mask || w <= 0 || h <= 0 || (c != 1 && c != 3) || reach < 0 ||
        reach > SKETCH_MAX_TOLERANCE)
        return -1;
    size_t np = (size_t)w * h;
    int *bpix = malloc(np * sizeof *bpix), *queue = malloc(np * sizeof *queue);
    uint8_t *state = calloc(np, 1); /* 0 none, 1 boundary, 2 boundary in the gap, 3 queued */
    int n_off = 0;
    int *off = disc_offsets(reach, &n_off);
    if (!bpix || !queue || !state || !off) {
        free(bpix), free(queue), free(state), free(off);
        return -1;
    }
    int nb = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (is_boundary(mask, w, h, x, y)) {
                state[(size_t)y * w + x] = 1;
                bpix[nb++] = y * w + x;
            }
    double f = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
    int want = (int)lround(f * nb), got = 0;
    /* breadth-first along the 8-connected boundary, from boundary pixel number start % nb */
    for (int s = 0; s < nb && got < want; s++) {
        int seed = bpix[(int)((start + (uint64_t)s) % (uint64_t)nb)];
        if (state[seed] != 1)
            continue;
        int head = 0, tail = 0;
        queue[tail++] = seed;
        state[seed] = 3;
        while (head < tail && got < want) {
            int p = queue[head++], x = p % w, y = p / w;
            state[p] = 2;
            got++;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int qx = x + dx, qy = y + dy;
                    if (qx < 0 || qy < 0 || qx >= w || qy >= h)
                        continue;
                    int q = qy * w + qx;
                    if (state[q] == 1) {
                        state[q] = 3;
                        queue[tail++] = q;
                    }
                }
        }
        for (int k = head; k < tail; k++) /* queued but not taken */
            if (state[queue[k]] == 3)
                state[queue[k]] = 1;
    }
    /* erase the strokes whose nearest boundary pixel is in the gap (ties erase) */
    if (got > 0)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t p = (size_t)y * w + x;
                if (grey_at(image, c, p) >= SKETCH_DARK)
                    continue;
                int nearest = 0, d_near = -1;
                for (int k = 0; k < n_off; k++) {
                    int qx = x + off[2 * k], qy = y + off[2 * k + 1];
                    if (qx < 0 || qy < 0 || qx >= w || qy >= h)
                        continue;
                    int st = state[(size_t)qy * w + qx];
                    if (st == 0)
                        continue;
                    int d2 = off[2 * k] * off[2 * k] + off[2 * k + 1] * off[2 * k + 1];
                    if (d_near < 0) {
                        d_near = d2, nearest = st;
                    } else if (d2 > d_near) {
                        break; /* offsets come nearest first */
                    } else if (st == 2) {
                        nearest = 2;
                    }
                }
                if (nearest == 2)
                    memset(image + p * c, 255, (size_t)c);
            }
    free(bpix), free(queue), free(state), free(off);
    return got;
}

/* ---------------------------------------------------------------- screening a dataset */

void sketch_filter_report_free(sketch_filter_report *rep)
{
    free(rep->index);
    free(rep->score);
    memset(rep, 0, sizeof *rep);
}

/* mkdir -p */
static int make_dirs(const char *path, char *err, size_t errlen)
{
    if (pt_make_dirs(path) == PT_OK)
        return 0;
    int rc = imp_fail(err, errlen, 1, "%s", pt_error());
    pt_error_clear();
    return rc;
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) || stat(b, &sb))
        return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* A rejected drawing for the contact sheet: RGB, missed outline pixels red. */
typedef struct {
    int h, w;
    uint8_t *rgb;
} tile;

static int add_tile(tile *tiles, int *n, const sample *s, const uint8_t *status)
{
    if (*n >= SKETCH_SHEET_MAX)
        return 0;
    size_t np = (size_t)s->h * s->w;
    uint8_t *rgb = malloc(np * 3);
    if (!rgb)
        return -1;
    for (size_t p = 0; p < np; p++) {
        for (int k = 0; k < 3; k++)
            rgb[3 * p + k] = s->image[p * s->c + (s->c == 3 ? k : 0)];
        if (status[p] == SKETCH_MISSED)
            rgb[3 * p] = 230, rgb[3 * p + 1] = 20, rgb[3 * p + 2] = 20;
    }
    tiles[*n].h = s->h, tiles[*n].w = s->w, tiles[*n].rgb = rgb;
    (*n)++;
    return 0;
}

static int write_sheet(const char *dir, tile *tiles, int n, char *err, size_t errlen)
{
    int cols = 8, rows = n > 0 ? (n + cols - 1) / cols : 1;
    contact_sheet *sheet = contact_sheet_new(rows, cols, 128, 4);
    if (!sheet)
        return imp_fail(err, errlen, 2, "contact sheet: out of memory");
    for (int k = 0; k < n; k++)
        contact_sheet_put(sheet, k / cols, k % cols, tiles[k].rgb, tiles[k].h, tiles[k].w, 3);
    char *path = imp_join(dir, "contact_sheet.png");
    int rc = path ? contact_sheet_write(sheet, path, err, errlen) : -1;
    if (!path)
        imp_fail(err, errlen, 2, "out of memory");
    free(path);
    contact_sheet_free(sheet);
    return rc ? 2 : 0;
}

static int write_text(const char *dir, const char *name, const char *text, size_t len, char *err,
                      size_t errlen)
{
    char *path = imp_join(dir, name);
    if (!path)
        return imp_fail(err, errlen, 2, "out of memory");
    int rc = image_write_file_atomic(path, text, len, err, errlen);
    free(path);
    return rc ? 2 : 0;
}

static int push_score(sketch_filter_report *rep, int64_t *cap, int64_t index, double score)
{
    if (rep->screened == *cap) {
        int64_t nc = *cap ? 2 * *cap : 1024;
        int64_t *ni = realloc(rep->index, (size_t)nc * sizeof *ni);
        if (!ni)
            return -1;
        rep->index = ni;
        double *ns = realloc(rep->score, (size_t)nc * sizeof *ns);
        if (!ns)
            return -1;
        rep->score = ns;
        *cap = nc;
    }
    rep->index[rep->screened] = index;
    rep->score[rep->screened] = score;
    rep->screened++;
    return 0;
}

/* Copy item i (already read into s) to w: encoded images as their stored bytes. */
static int copy_item(store_reader *r, store_writer *w, int64_t i, const sample *s, char *err,
                     size_t errlen)
{
    if (store_layout_of(r)->o.images == STORE_RAW)
        return store_append(w, s, err, errlen);
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (store_read_image_bytes(r, i, &bytes, &len, err, errlen))
        return -1;
    int rc = store_append_encoded(w, s, bytes, len, err, errlen);
    free(bytes);
    return rc;
}

/* The domain id screened: >= 0, -1 = every item (no domain names), -2 = error (err set). */
static int screened_domain(store_reader *r, const char *name, char *err, size_t errlen)
{
    int nd = store_num_domains(r);
    if (nd <= 0)
        return -1;
    for (int k = 0; k < nd; k++)
        if (!strcmp(store_domain_name(r, k), name))
            return k;
    char list[1024] = "";
    size_t at = 0;
    for (int k = 0; k < nd && at < sizeof list; k++)
        at += (size_t)snprintf(list + at, sizeof list - at, "%s'%s'", k ? ", " : "",
                               store_domain_name(r, k));
    imp_fail(err, errlen, 1, "%s: no domain named '%s' (domains: %s); choose one with --domain",
             store_path(r), name, list);
    return -2;
}

typedef struct {
    const sketch_filter_options *o;
    store_reader *r;
    store_writer *w;
    int domain;          /* screened domain id, -1 all */
    FILE *csv;
    char *csv_text;
    size_t csv_len;
    tile tiles[SKETCH_SHEET_MAX];
    int n_tiles;
    int64_t cap;
} run_state;

/* One item: read, score when it is a hand drawing, copy when kept. Returns 0 or an exit code. */
static int screen_item(run_state *st, int64_t i, sketch_filter_report *rep, char *err,
                       size_t errlen)
{
    const sketch_filter_options *o = st->o;
    const store_layout *L = store_layout_of(st->r);
    int candidate = st->domain < 0 || store_domains(st->r)[i] == st->domain;
    unsigned parts = STORE_READ_ALL;
    if (L->o.images == STORE_ENCODED && !candidate)
        parts &= ~(unsigned)STORE_IMAGE;
    sample s;
    sample_init(&s);
    uint8_t *status = NULL;
    int rc = 0;
    if (store_read(st->r, i, parts, &s, err, errlen)) {
        rc = 1;
        goto done;
    }
    double score = NAN;
    if (candidate && s.mask) {
        if (!(status = malloc((size_t)s.h * s.w))) {
            rc = imp_fail(err, errlen, 2, "out of memory");
            goto done;
        }
        score = sketch_outline_status(s.image, s.c, s.mask, s.w, s.h, o->tolerance, status);
        if (score < 0) {
            rc = imp_fail(err, errlen, 2, "%s: item %lld: cannot score (out of memory)", o->in,
                          (long long)i);
            goto done;
        }
    }
    int keep = isnan(score) || score >= o->min_completeness;
    if (candidate) {
        if (isnan(score))
            rep->unscored++;
        else if (push_score(rep, &st->cap, i, score)) {
            rc = imp_fail(err, errlen, 2, "out of memory");
            goto done;
        }
        if (isnan(score))
            fprintf(st->csv, "%lld,%d,%d,,1\n", (long long)i, s.label, s.domain);
        else
            fprintf(st->csv, "%lld,%d,%d,%.4f,%d\n", (long long)i, s.label, s.domain, score, keep);
    }
    if (keep) {
        if (copy_item(st->r, st->w, i, &s, err, errlen))
            rc = 2;
        else
            rep->kept++;
    } else {
        rep->dropped++;
        if (add_tile(st->tiles, &st->n_tiles, &s, status))
            rc = imp_fail(err, errlen, 2, "out of memory");
    }
done:
    free(status);
    sample_free(&s);
    return rc;
}

static int check_options(const sketch_filter_options *o, char *err, size_t errlen)
{
    if (!o->in || !o->out || !o->report_dir)
        return imp_fail(err, errlen, 1, "filter-sketches: IN.h5, --out KEPT.h5 and --report DIR "
                        "are required");
    if (!(o->min_completeness >= 0 && o->min_completeness <= 1))
        return imp_fail(err, errlen, 1,
                        "filter-sketches: --min-completeness must be in [0, 1], got %g",
                        o->min_completeness);
    if (o->tolerance < 0 || o->tolerance > SKETCH_MAX_TOLERANCE)
        return imp_fail(err, errlen, 1,
                        "filter-sketches: --tolerance must be in [0, %d] px, got %d",
                        SKETCH_MAX_TOLERANCE, o->tolerance);
    if (!strcmp(o->in, o->out) || same_file(o->in, o->out))
        return imp_fail(err, errlen, 1, "filter-sketches: --out %s is the input file; write the "
                        "kept items to another file", o->out);
    return 0;
}

int sketch_filter_file(const sketch_filter_options *o, sketch_filter_report *rep, char *err,
                       size_t errlen)
{
    memset(rep, 0, sizeof *rep);
    int rc = check_options(o, err, errlen);
    if (rc)
        return rc;
    run_state st;
    memset(&st, 0, sizeof st);
    st.o = o;
    if (!(st.r = store_open(o->in, err, errlen)))
        return 1;
    const store_layout *L = store_layout_of(st.r);
    rep->items = L->count;
    if (!(L->o.annotations & STORE_MASK)) {
        rc = imp_fail(err, errlen, 1,
                      "%s: has no salient-region masks ('/mask'): nothing to measure outlines "
                      "against", o->in);
        goto done;
    }
    st.domain = screened_domain(st.r, o->domain ? o->domain : SKETCH_DEFAULT_DOMAIN, err, errlen);
    if (st.domain == -2) {
        rc = 1;
        goto done;
    }
    if ((rc = make_dirs(o->report_dir, err, errlen)))
        goto done;
    if (!(st.csv = open_memstream(&st.csv_text, &st.csv_len))) {
        rc = imp_fail(err, errlen, 2, "out of memory");
        goto done;
    }
    fprintf(st.csv, "index,label,domain,completeness,kept\n");
    char source[1024];
    snprintf(source, sizeof source, "filter-sketches %s (min completeness %g, tolerance %d px) "
             "of: %s", o->in, o->min_completeness, o->tolerance, L->o.source);
    store_options so = L->o;
    so.source = source;
    if (!(st.w = store_create(o->out, &so, err, errlen))) {
        rc = 1;
        goto done;
    }
    if ((store_num_classes(st.r) > 0 &&
         store_set_class_names(st.w, store_class_names(st.r), store_num_classes(st.r), err,
                               errlen)) ||
        (store_num_domains(st.r) > 0 &&
         store_set_domain_names(st.w, store_domain_names(st.r), store_num_domains(st.r), err,
                                errlen))) {
        rc = 2;
        goto done;
    }
    import_common prog = {.out = o->out, .progress = o->progress, .cancel = o->cancel};
    for (int64_t i = 0; i < L->count && rc == 0; i++) {
        if (imp_cancelled(&prog)) {
            rc = imp_fail(err, errlen, 130, "%s: interrupted; nothing written", o->out);
            break;
        }
        rc = screen_item(&st, i, rep, err, errlen);
        imp_progress(&prog, "filter-sketches", i + 1, L->count);
    }
    if (rc)
        goto done;
    imp_progress_end(&prog, "filter-sketches", L->count, L->count);
    rc = store_commit(st.w, err, errlen) ? 2 : 0;
    st.w = NULL;
    if (rc)
        goto done;
    fclose(st.csv);
    st.csv = NULL;
    snprintf(rep->summary, sizeof rep->summary,
             "%s: %lld items, %lld hand drawings screened%s (min completeness %g, tolerance %d "
             "px): dropped %lld, kept %lld (and %lld without a score); wrote %s with %lld items",
             o->in, (long long)rep->items, (long long)rep->screened,
             st.domain < 0 ? " [no domain names: every item screened]" : "",
             o->min_completeness, o->tolerance, (long long)rep->dropped,
             (long long)(rep->screened - rep->dropped), (long long)rep->unscored, o->out,
             (long long)rep->kept);
    char line[600];
    int n = snprintf(line, sizeof line, "%s\n", rep->summary);
    if (n < 0 || n >= (int)sizeof line)
        n = (int)strlen(line);
    if ((rc = write_text(o->report_dir, "scores.csv", st.csv_text, st.csv_len, err, errlen)) ||
        (rc = write_sheet(o->report_dir, st.tiles, st.n_tiles, err, errlen)) ||
        (rc = write_text(o->report_dir, "summary.txt", line, (size_t)n, err, errlen)))
        goto done;
done:
    if (st.csv)
        fclose(st.csv);
    free(st.csv_text);
    for (int k = 0; k < st.n_tiles; k++)
        free(st.tiles[k].rgb);
    store_abort(st.w);
    store_close(st.r);
    return rc;
}
