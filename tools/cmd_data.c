/*
 * cmd_data.c - `pictor data ...`: the dataset subcommands that curators use.
 *
 *   pictor data info FILE.h5
 *   pictor data import-idx [--dir DIR] [--split train|test] [--limit N] --out FILE.h5
 *   pictor data import-idx --images IDX --labels IDX [--limit N] --out FILE.h5
 *   pictor data import-folder ROOT [--layout auto|class|domain] [--grey] [--limit N] --out FILE.h5
 *   pictor data import-masks ROOT [--images DIR] [--masks DIR] [--class-from-prefix] [--grey]
 *                            [--limit N] --out FILE.h5
 *   pictor data import-coco --json FILE --images DIR [--crowd skip|keep] [--min-area N]
 *                           [--keep-empty] [--grey] [--limit N] --out FILE.h5
 *
 *   pictor data synth fmnist-domains --out FILE.h5 [--split train|test] [--n N] [--seed S]
 *                           [--size PX] [--preview FILE.png] [--one-domain-per-item] [--dir DIR]
 *                           [--cut-gaps MAX [--gaps-csv FILE]]
 *   pictor data synth shapes|fmnist-canvas --out FILE.h5 [--split train|test] [--n N] [--seed S]
 *                           [--size PX] [--grey] [--preview FILE.png] [--idx-dir DIR]
 *   pictor data filter-sketches IN.h5 --out KEPT.h5 --report DIR [--min-completeness X]
 *                               [--tolerance PX] [--domain NAME]
 *
 * Owns: argument parsing, the printing of `info`, the histogram of `filter-sketches`, and SIGINT/SIGTERM during imports (the import
 * stops between two files and removes its temp file). Exit status: 0 success, 1 user error (bad
 * arguments, missing or corrupt file) with one message, 2 internal error, 130 interrupted.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "import.h"
#include "plot.h"
#include "sketch_filter.h"
#include "store.h"
#include "synth_domains.h"
#include "synth_instances.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: pictor data <command> ...\n"
        "\n"
        "  info FILE.h5                       counts, image sizes, class and domain histograms,\n"
        "                                     annotations, file size\n"
        "  import-idx [--dir DIR] [--split train|test] [--limit N] --out FILE.h5\n"
        "                                     Fashion-MNIST (default dir: Debian's\n"
        "                                     /usr/share/datasets/fashion-mnist), stored raw\n"
        "  import-idx --images IDX --labels IDX [--limit N] --out FILE.h5\n"
        "  import-folder ROOT [--layout auto|class|domain] [--grey] [--limit N] --out FILE.h5\n"
        "                                     ROOT/<class>/*.jpg|png or ROOT/<domain>/<class>/...\n"
        "  import-masks ROOT [--images DIR] [--masks DIR] [--class-from-prefix] [--grey]\n"
        "               [--limit N] --out FILE.h5\n"
        "                                     ROOT/images/<stem>.jpg + ROOT/masks/<stem>.png;\n"
        "                                     --class-from-prefix: <class><NN>_<photo id> names\n"
        "  import-coco --json FILE --images DIR [--crowd skip|keep] [--min-area N]\n"
        "              [--keep-empty] [--grey] [--limit N] --out FILE.h5\n"
        "                                     COCO instances JSON: one item per image with its\n"
        "                                     instances (class, polygons, masks; group = image\n"
        "                                     id). --crowd: iscrowd regions left out (skip,\n"
        "                                     default) or kept as instances; --min-area: drop\n"
        "                                     instances under N mask pixels (default 16);\n"
        "                                     --keep-empty: also write images left without\n"
        "                                     instances (default: dropped and counted)\n"
        "  synth fmnist-domains --out FILE.h5 [--split train|test] [--n N] [--seed S]\n"
        "              [--size PX] [--preview FILE.png] [--one-domain-per-item] [--dir DIR]\n"
        "                                     Fashion-MNIST as photo, hand_drawn and cartoon\n"
        "                                     (domains 0-2) at PX x PX (default 64), silhouette\n"
        "                                     masks; --n source items (default: all), each in\n"
        "                                     all three domains (or one: item i in domain i %% 3)\n"
        "              [--cut-gaps MAX [--gaps-csv FILE]]\n"
        "                                     validation data for filter-sketches: cut an\n"
        "                                     outline gap of 0, 5, ..., MAX*100%% into every\n"
        "                                     hand drawing; FILE lists index,source_item,gap\n"
        "  synth shapes --out FILE.h5 [--split train|test] [--n N] [--seed S] [--size PX]\n"
        "              [--grey] [--preview FILE.png]\n"
        "                                     scenes of 1-6 textured shapes (7 classes: ellipse,\n"
        "                                     rectangle, triangle, star, cross, ring, crescent)\n"
        "                                     on a textured background, some cut by the border,\n"
        "                                     later ones occluding earlier ones; one instance\n"
        "                                     mask (visible part) and class per object; PX x PX\n"
        "                                     (default 128), RGB or --grey; --n scenes (default\n"
        "                                     10000 train, 1000 test); the test split never\n"
        "                                     repeats a train scene\n"
        "  synth fmnist-canvas --out FILE.h5 [--split train|test] [--n N] [--seed S]\n"
        "              [--size PX] [--grey] [--preview FILE.png] [--idx-dir DIR]\n"
        "                                     2-5 Fashion-MNIST items per canvas (train split\n"
        "                                     from the FMNIST training set, test from its test\n"
        "                                     set), resized to 24-64 px at PX 128 and tinted, on\n"
        "                                     a textured background; masks = silhouettes minus\n"
        "                                     what later items cover, class = the item's label;\n"
        "                                     --idx-dir (or --dir): the IDX folder\n"
        "                                     --preview (both): the first 8 scenes and their\n"
        "                                     instances\n"
        "  filter-sketches IN.h5 --out KEPT.h5 --report DIR [--min-completeness X]\n"
        "              [--tolerance PX] [--domain NAME]\n"
        "                                     drop hand drawings (domain NAME, default\n"
        "                                     hand_drawn; every item if IN has no domain names)\n"
        "                                     whose strokes cover less than X (default 0.9) of\n"
        "                                     the mask's outline within PX (default 2) pixels;\n"
        "                                     DIR gets scores.csv, histogram.png,\n"
        "                                     contact_sheet.png (rejected), summary.txt\n"
        "\n"
        "Imports skip unreadable or undecodable files (listed at the end) and write FILE.h5\n"
        "only when complete. Exit status: 0 ok, 1 user error, 2 internal error, 130 interrupted.\n");
}

/* ---------------------------------------------------------------- argument helpers */

typedef struct {
    int argc;
    char **argv;
    int i;
    const char *cmd;
} args;

/* The value after option argv[i] (advancing), or NULL with a message. */
static const char *value(args *a)
{
    const char *opt = a->argv[a->i];
    if (a->i + 1 >= a->argc) {
        fprintf(stderr, "pictor data %s: %s expects a value\n", a->cmd, opt);
        return NULL;
    }
    return a->argv[++a->i];
}

static int parse_limit(args *a, int64_t *limit)
{
    const char *v = value(a);
    if (!v)
        return -1;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < 0) {
        fprintf(stderr, "pictor data %s: --limit expects a count >= 0, got '%s'\n", a->cmd, v);
        return -1;
    }
    *limit = n;
    return 0;
}

static int unknown(const args *a)
{
    fprintf(stderr, "pictor data %s: unknown option '%s' (see pictor data help)\n", a->cmd,
            a->argv[a->i]);
    return 1;
}

/* A positional argument: only one allowed. */
static int positional(args *a, const char **slot)
{
    if (*slot) {
        fprintf(stderr, "pictor data %s: unexpected argument '%s'\n", a->cmd, a->argv[a->i]);
        return -1;
    }
    *slot = a->argv[a->i];
    return 0;
}

/* ---------------------------------------------------------------- imports */

static volatile sig_atomic_t g_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int finish_import(int rc, const char *out, import_report *rep, const char *err)
{
    if (rc == IMPORT_OK)
        import_report_print(stdout, out, rep);
    else
        fprintf(stderr, "pictor data: %s\n", err);
    import_report_free(rep);
    return rc;
}

static int check_out(const args *a, const char *out)
{
    if (!out) {
        fprintf(stderr, "pictor data %s: --out FILE.h5 is required\n", a->cmd);
        return -1;
    }
    return 0;
}

static void common_init(import_common *c)
{
    memset(c, 0, sizeof *c);
    c->progress = stderr;
    c->cancel = &g_interrupted;
}

static int cmd_import_idx(args *a)
{
    import_idx_options o = {.train = 1};
    common_init(&o.common);
    for (a->i = 1; a->i < a->argc; a->i++) {
        const char *opt = a->argv[a->i];
        if (!strcmp(opt, "--dir")) {
            if (!(o.dir = value(a))) return 1;
        } else if (!strcmp(opt, "--split")) {
            const char *v = value(a);
            if (!v) return 1;
            if (strcmp(v, "train") && strcmp(v, "test")) {
                fprintf(stderr, "pictor data import-idx: --split expects train or test, got "
                                "'%s'\n", v);
                return 1;
            }
            o.train = !strcmp(v, "train");
        } else if (!strcmp(opt, "--images")) {
            if (!(o.images = value(a))) return 1;
        } else if (!strcmp(opt, "--labels")) {
            if (!(o.labels = value(a))) return 1;
        } else if (!strcmp(opt, "--limit")) {
            if (parse_limit(a, &o.common.limit)) return 1;
        } else if (!strcmp(opt, "--out")) {
            if (!(o.common.out = value(a))) return 1;
        } else {
            return unknown(a);
        }
    }
    if (check_out(a, o.common.out))
        return 1;
    catch_signals();
    import_report rep;
    char err[1024];
    int rc = import_idx(&o, &rep, err, sizeof err);
    return finish_import(rc, o.common.out, &rep, err);
}

static int cmd_import_folder(args *a)
{
    import_folder_options o = {.layout = IMPORT_LAYOUT_AUTO, .channels = 3};
    common_init(&o.common);
    for (a->i = 1; a->i < a->argc; a->i++) {
        const char *opt = a->argv[a->i];
        if (!strcmp(opt, "--layout")) {
            const char *v = value(a);
            if (!v) return 1;
            if (!strcmp(v, "auto")) o.layout = IMPORT_LAYOUT_AUTO;
            else if (!strcmp(v, "class")) o.layout = IMPORT_LAYOUT_CLASS;
            else if (!strcmp(v, "domain")) o.layout = IMPORT_LAYOUT_DOMAIN_CLASS;
            else {
                fprintf(stderr, "pictor data import-folder: --layout expects auto, class or "
                                "domain, got '%s'\n", v);
                return 1;
            }
        } else if (!strcmp(opt, "--grey")) {
            o.channels = 1;
        } else if (!strcmp(opt, "--limit")) {
            if (parse_limit(a, &o.common.limit)) return 1;
        } else if (!strcmp(opt, "--out")) {
            if (!(o.common.out = value(a))) return 1;
        } else if (opt[0] == '-') {
            return unknown(a);
        } else if (positional(a, &o.root)) {
            return 1;
        }
    }
    if (!o.root) {
        fprintf(stderr, "pictor data import-folder: which folder? (ROOT)\n");
        return 1;
    }
    if (check_out(a, o.common.out))
        return 1;
    catch_signals();
    import_report rep;
    char err[1024];
    int rc = import_folder(&o, &rep, err, sizeof err);
    return finish_import(rc, o.common.out, &rep, err);
}

static int cmd_import_masks(args *a)
{
    import_masks_options o = {.image_dir = "images", .mask_dir = "masks", .channels = 3};
    common_init(&o.common);
    for (a->i = 1; a->i < a->argc; a->i++) {
        const char *opt = a->argv[a->i];
        if (!strcmp(opt, "--images")) {
            if (!(o.image_dir = value(a))) return 1;
        } else if (!strcmp(opt, "--masks")) {
            if (!(o.mask_dir = value(a))) return 1;
        } else if (!strcmp(opt, "--class-from-prefix")) {
            o.class_from_prefix = 1;
        } else if (!strcmp(opt, "--grey")) {
            o.channels = 1;
        } else if (!strcmp(opt, "--limit")) {
            if (parse_limit(a, &o.common.limit)) return 1;
        } else if (!strcmp(opt, "--out")) {
            if (!(o.common.out = value(a))) return 1;
        } else if (opt[0] == '-') {
            return unknown(a);
        } else if (positional(a, &o.root)) {
            return 1;
        }
    }
    if (!o.root) {
        fprintf(stderr, "pictor data import-masks: which folder? (ROOT)\n");
        return 1;
    }
    if (check_out(a, o.common.out))
        return 1;
    catch_signals();
    import_report rep;
    char err[1024];
    int rc = import_masks(&o, &rep, err, sizeof err);
    return finish_import(rc, o.common.out, &rep, err);
}

static int parse_min_area(args *a, int64_t *min_area)
{
    const char *v = value(a);
    if (!v)
        return -1;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < 0) {
        fprintf(stderr, "pictor data %s: --min-area expects a pixel count >= 0, got '%s'\n",
                a->cmd, v);
        return -1;
    }
    *min_area = n;
    return 0;
}

/* What the COCO importer dropped, after the common summary. */
static void print_coco_counts(const import_coco_options *o, const import_report *rep)
{
    printf("instances: %lld written", (long long)rep->instances);
    if (rep->tiny_dropped > 0)
        printf("; %lld under %lld px of mask area dropped (--min-area)",
               (long long)rep->tiny_dropped, (long long)o->min_area);
    if (rep->crowd_skipped > 0)
        printf("; %lld crowd regions left out (--crowd skip)", (long long)rep->crowd_skipped);
    printf("\n");
    if (rep->empty_dropped > 0)
        printf("dropped %lld images without instances (--keep-empty keeps them)\n",
               (long long)rep->empty_dropped);
}

static int cmd_import_coco(args *a)
{
    import_coco_options o = {.crowd = IMPORT_CROWD_SKIP, .min_area = IMPORT_COCO_MIN_AREA,
                             .channels = 3};
    common_init(&o.common);
    for (a->i = 1; a->i < a->argc; a->i++) {
        const char *opt = a->argv[a->i];
        if (!strcmp(opt, "--json")) {
            if (!(o.json = value(a))) return 1;
        } else if (!strcmp(opt, "--images")) {
            if (!(o.images = value(a))) return 1;
        } else if (!strcmp(opt, "--crowd")) {
            const char *v = value(a);
            if (!v) return 1;
            if (!strcmp(v, "skip")) o.crowd = IMPORT_CROWD_SKIP;
            else if (!strcmp(v, "keep")) o.crowd = IMPORT_CROWD_KEEP;
            else {
                fprintf(stderr, "pictor data import-coco: --crowd expects skip or keep, got "
                                "'%s'\n", v);
                return 1;
            }
        } else if (!strcmp(opt, "--min-area")) {
            if (parse_min_area(a, &o.min_area)) return 1;
        } else if (!strcmp(opt, "--keep-empty")) {
            o.keep_empty = 1;
        } else if (!strcmp(opt, "--grey")) {
            o.channels = 1;
        } else if (!strcmp(opt, "--limit")) {
            if (parse_limit(a, &o.common.limit)) return 1;
        } else if (!strcmp(opt, "--out")) {
            if (!(o.common.out = value(a))) return 1;
        } else {
            return unknown(a);
        }
    }
    if (!o.json || !o.images) {
        fprintf(stderr, "pictor data import-coco: --json FILE and --images DIR are required\n");
        return 1;
    }
    if (check_out(a, o.common.out))
        return 1;
    catch_signals();
    import_report rep;
    char err[1024];
    int rc = import_coco(&o, &rep, err, sizeof err);
    if (rc == IMPORT_OK) {
        import_report_print(stdout, o.common.out, &rep);
        print_coco_counts(&o, &rep);
        import_report_free(&rep);
        return rc;
    }
    return finish_import(rc, o.common.out, &rep, err);
}

/* ---------------------------------------------------------------- info */

static void print_size(FILE *f, long long bytes)
{
    const char *unit[] = {"B", "KB", "MB", "GB", "TB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 4)
        v /= 1024, u++;
    fprintf(f, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* Counts of values in [-1, n) (index 0 is -1); NULL on out of memory. */
static int64_t *histogram(const int32_t *v, int64_t count, int n)
{
    int64_t *h = calloc((size_t)n + 1, sizeof *h);
    for (int64_t i = 0; h && i < count; i++)
        if (v[i] >= -1 && v[i] < n)
            h[v[i] + 1]++;
    return h;
}

/* The largest value + 1 (labels of a dataset without names). */
static int value_range(const int32_t *v, int64_t count)
{
    int32_t max = -1;
    for (int64_t i = 0; i < count; i++)
        max = v[i] > max ? v[i] : max;
    return max + 1;
}

static void print_histogram(const char *title, const int32_t *v, int64_t count, int n_names,
                            const char *(*name)(const store_reader *, int),
                            const store_reader *r)
{
    int n = n_names > 0 ? n_names : value_range(v, count);
    if (n == 0) {
        printf("%-13s none\n", title);
        return;
    }
    int64_t *h = histogram(v, count, n);
    if (!h)
        return;
    printf("%-13s %d%s\n", title, n, n_names > 0 ? "" : " (no names)");
    for (int k = 0; k < n; k++)
        printf("  %4d  %-28s %lld\n", k, n_names > 0 ? name(r, k) : "", (long long)h[k + 1]);
    if (h[0] > 0)
        printf("  %4s  %-28s %lld\n", "-1", "(none)", (long long)h[0]);
    free(h);
}

static void print_annotations(const store_reader *r, const store_summary *s)
{
    const store_layout *L = store_layout_of(r);
    unsigned a = L->o.annotations;
    printf("%-13s", "annotations");
    if (!a)
        printf(" none");
    if (a & STORE_MASK)
        printf(" mask (%s);", L->o.masks == STORE_RAW ? "raw" : "png");
    if (a & STORE_INSTANCES)
        printf(" instances: %lld in %lld items, %lld polygons, %lld vertices;",
               (long long)L->n_instances, (long long)s->items_with_instances,
               (long long)L->n_polygons, (long long)L->n_vertices);
    if (a & STORE_POINTS)
        printf(" points: %lld in %lld items;", (long long)L->n_points,
               (long long)s->items_with_points);
    if (a & STORE_AREA)
        printf(" area ratio: %lld items;", (long long)s->items_with_area);
    if (a & STORE_DEPTH)
        printf(" depth (%s): %lld items;", L->o.depth == STORE_DEPTH_F16 ? "float16" : "float32",
               (long long)s->items_with_depth);
    printf("\n");
}

static void print_info(const char *path, const store_reader *r, const store_summary *s,
                       long long file_size)
{
    const store_layout *L = store_layout_of(r);
    printf("%-13s %s (", "file", path);
    print_size(stdout, file_size);
    printf(")\n%-13s %s v%d%s%s\n", "format", STORE_FORMAT_NAME, L->version,
           *L->o.source ? ", from: " : "", L->o.source);
    printf("%-13s %lld\n", "items", (long long)L->count);
    if (L->o.images == STORE_RAW)
        printf("%-13s raw uint8 [%lld, %d, %d, %d]\n", "images", (long long)L->count,
               L->o.height, L->o.width, L->o.channels);
    else
        printf("%-13s encoded (JPEG/PNG bytes), decoded to %d channel%s\n", "images",
               L->o.channels, L->o.channels > 1 ? "s" : "");
    if (L->count > 0)
        printf("%-13s width %d..%d, height %d..%d\n", "image size", s->min_w, s->max_w,
               s->min_h, s->max_h);
    print_histogram("classes", store_labels(r), L->count, store_num_classes(r),
                    store_class_name, r);
    print_histogram("domains", store_domains(r), L->count, store_num_domains(r),
                    store_domain_name, r);
    print_annotations(r, s);
    if (s->distinct_groups > 0)
        printf("%-13s %lld distinct\n", "groups", (long long)s->distinct_groups);
}

static int cmd_info(args *a)
{
    const char *path = NULL;
    for (a->i = 1; a->i < a->argc; a->i++) {
        if (a->argv[a->i][0] == '-')
            return unknown(a);
        if (positional(a, &path))
            return 1;
    }
    if (!path) {
        fprintf(stderr, "pictor data info: which file? (FILE.h5)\n");
        return 1;
    }
    char err[1024];
    store_reader *r = store_open(path, err, sizeof err);
    if (!r) {
        fprintf(stderr, "pictor data info: %s\n", err);
        return 1;
    }
    store_summary s;
    if (store_summarize(r, &s, err, sizeof err)) {
        fprintf(stderr, "pictor data info: %s\n", err);
        store_close(r);
        return 1;
    }
    struct stat st;
    print_info(path, r, &s, stat(path, &st) == 0 ? (long long)st.st_size : -1);
    store_close(r);
    return 0;
}

/* ---------------------------------------------------------------- synth, filter-sketches */

/* A number option: strtod / strtoll with a range. */
static int parse_double(args *a, double lo, double hi, double *out)
{
    const char *opt = a->argv[a->i], *v = value(a);
    if (!v)
        return -1;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !(d >= lo && d <= hi)) {
        fprintf(stderr, "pictor data %s: %s expects a number in [%g, %g], got '%s'\n", a->cmd,
                opt, lo, hi, v);
        return -1;
    }
    *out = d;
    return 0;
}

static int parse_int(args *a, long long lo, long long hi, long long *out)
{
    const char *opt = a->argv[a->i], *v = value(a);
    if (!v)
        return -1;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi) {
        fprintf(stderr, "pictor data %s: %s expects an integer in [%lld, %lld], got '%s'\n",
                a->cmd, opt, lo, hi, v);
        return -1;
    }
    *out = n;
    return 0;
}

/* The options of `pictor data synth KIND`, parsed before the kind is known (it may come after
 * them); which ones a kind takes is checked afterwards. */
typedef struct {
    const char *kind, *out, *preview, *dir, *gaps_csv;
    int train, grey, one_domain_per_item;
    int64_t n;          /* 0: the kind's default */
    uint64_t seed;
    long long size;     /* 0: the kind's default */
    double cut_gaps;
    const char *cut_gaps_opt, *grey_opt, *one_domain_opt, *dir_opt; /* as given, for messages */
} synth_args;

static int parse_synth_args(args *a, synth_args *s)
{
    memset(s, 0, sizeof *s);
    s->train = 1;
    long long v;
    for (a->i = 1; a->i < a->argc; a->i++) {
        const char *opt = a->argv[a->i];
        if (!strcmp(opt, "--out")) {
            if (!(s->out = value(a))) return -1;
        } else if (!strcmp(opt, "--split")) {
            const char *sp = value(a);
            if (!sp) return -1;
            if (strcmp(sp, "train") && strcmp(sp, "test")) {
                fprintf(stderr, "pictor data synth: --split expects train or test, got '%s'\n",
                        sp);
                return -1;
            }
            s->train = !strcmp(sp, "train");
        } else if (!strcmp(opt, "--n")) {
            if (parse_int(a, 1, INT64_MAX, &v)) return -1;
            s->n = v;
        } else if (!strcmp(opt, "--seed")) {
            if (parse_int(a, 0, INT64_MAX, &v)) return -1;
            s->seed = (uint64_t)v;
        } else if (!strcmp(opt, "--size")) {
            if (parse_int(a, 1, 1 << 20, &s->size)) return -1;
        } else if (!strcmp(opt, "--preview")) {
            if (!(s->preview = value(a))) return -1;
        } else if (!strcmp(opt, "--grey")) {
            s->grey = 1, s->grey_opt = opt;
        } else if (!strcmp(opt, "--one-domain-per-item")) {
            s->one_domain_per_item = 1, s->one_domain_opt = opt;
        } else if (!strcmp(opt, "--cut-gaps")) {
            s->cut_gaps_opt = opt;
            if (parse_double(a, 0, 1, &s->cut_gaps)) return -1;
        } else if (!strcmp(opt, "--gaps-csv")) {
            if (!(s->gaps_csv = value(a))) return -1;
        } else if (!strcmp(opt, "--dir") || !strcmp(opt, "--idx-dir")) {
            s->dir_opt = opt;
            if (!(s->dir = value(a))) return -1;
        } else if (opt[0] == '-') {
            unknown(a);
            return -1;
        } else if (positional(a, &s->kind)) {
            return -1;
        }
    }
    return 0;
}

/* An option the kind does not take: a message naming it; returns the exit status 1. */
static int not_for_kind(const char *kind, const char *opt, const char *kinds)
{
    fprintf(stderr, "pictor data synth %s: %s applies to %s only\n", kind, opt, kinds);
    return 1;
}

/* --size within [lo, hi] for the kind (0: not given). */
static int check_synth_size(const synth_args *s, long long lo, long long hi)
{
    if (s->size && (s->size < lo || s->size > hi)) {
        fprintf(stderr, "pictor data synth %s: --size expects an integer in [%lld, %lld], got "
                        "%lld\n", s->kind, lo, hi, s->size);
        return -1;
    }
    return 0;
}

static int synth_fmnist_domains_cmd(const synth_args *s)
{
    if (s->grey_opt)
        return not_for_kind(s->kind, s->grey_opt, "shapes and fmnist-canvas");
    if (check_synth_size(s, SYNTH_MIN_SIZE, SYNTH_MAX_SIZE))
        return 1;
    if (s->gaps_csv && !(s->cut_gaps > 0)) {
        fprintf(stderr, "pictor data synth: --gaps-csv needs --cut-gaps MAX (> 0)\n");
        return 1;
    }
    synth_fmnist_options o = {.train = s->train, .seed = s->seed, .dir = s->dir,
                              .size = s->size ? (int)s->size : SYNTH_DEFAULT_SIZE,
                              .preview = s->preview, .one_domain_per_item = s->one_domain_per_item,
                              .cut_gaps = s->cut_gaps, .gaps_csv = s->gaps_csv};
    common_init(&o.common);
    o.common.out = s->out;
    o.common.limit = s->n;
    catch_signals();
    import_report rep;
    char err[1024];
    int rc = synth_fmnist_domains(&o, &rep, err, sizeof err);
    if (rc == IMPORT_OK && o.preview)
        printf("preview: %s\n", o.preview);
    return finish_import(rc, o.common.out, &rep, err);
}

/* shapes and fmnist-canvas: scenes with several instances (data/synth_instances.h). */
static int synth_scenes_cmd(const synth_args *s, synth_scene_kind kind)
{
    const char *only = "fmnist-domains";
    if (s->one_domain_opt)
        return not_for_kind(s->kind, s->one_domain_opt, only);
    if (s->cut_gaps_opt || s->gaps_csv)
        return not_for_kind(s->kind, s->cut_gaps_opt ? "--cut-gaps" : "--gaps-csv", only);
    if (kind == SYNTH_SCENE_SHAPES && s->dir_opt)
        return not_for_kind(s->kind, s->dir_opt, "fmnist-domains and fmnist-canvas");
    if (check_synth_size(s, SYNTH_SCENE_MIN_SIZE, SYNTH_SCENE_MAX_SIZE))
        return 1;
    synth_instances_options o = {.kind = kind, .train = s->train, .seed = s->seed,
                                 .size = (int)s->size, .channels = s->grey ? 1 : 3,
                                 .dir = s->dir, .preview = s->preview};
    common_init(&o.common);
    o.common.out = s->out;
    o.common.limit = s->n;
    catch_signals();
    import_report rep;
    char err[1024];
    int rc = synth_instances(&o, &rep, err, sizeof err);
    if (rc == IMPORT_OK) {
        import_report_print(stdout, o.common.out, &rep);
        printf("instances: %lld written", (long long)rep.instances);
        if (rep.tiny_dropped > 0)
            printf("; %lld dropped (under %d visible pixels after occlusion)",
                   (long long)rep.tiny_dropped, SYNTH_SCENE_MIN_AREA);
        printf("\n");
        if (o.preview)
            printf("preview: %s\n", o.preview);
        import_report_free(&rep);
        return rc;
    }
    return finish_import(rc, o.common.out, &rep, err);
}

/* pictor data synth KIND --out FILE.h5 [--split train|test] [--n N] [--seed S] [--size PX]
 *                       [--preview FILE.png] ...; see usage() for each kind's own options. */
static int cmd_synth(args *a)
{
    synth_args s;
    if (parse_synth_args(a, &s))
        return 1;
    static const char *const kinds = "fmnist-domains, shapes or fmnist-canvas";
    if (!s.kind) {
        fprintf(stderr, "pictor data synth: which data set? (KIND: %s)\n", kinds);
        return 1;
    }
    int domains = !strcmp(s.kind, "fmnist-domains"), shapes = !strcmp(s.kind, "shapes");
    int canvas = !strcmp(s.kind, "fmnist-canvas");
    if (!domains && !shapes && !canvas) {
        fprintf(stderr, "pictor data synth: unknown data set '%s' (KIND: %s)\n", s.kind, kinds);
        return 1;
    }
    if (check_out(a, s.out))
        return 1;
    if (domains)
        return synth_fmnist_domains_cmd(&s);
    return synth_scenes_cmd(&s, shapes ? SYNTH_SCENE_SHAPES : SYNTH_SCENE_FMNIST_CANVAS);
}

/* histogram.png: counts of completeness in 50 bins over [0, 1] as a step line, and the
 * threshold as a vertical line. */
static int write_score_histogram(const sketch_filter_options *o, const sketch_filter_report *rep)
{
    enum { BINS = 50 };
    double count[BINS] = {0}, top = 1;
    for (int64_t k = 0; k < rep->screened; k++) {
        int b = (int)(rep->score[k] * BINS);
        count[b < 0 ? 0 : b >= BINS ? BINS - 1 : b] += 1;
    }
    for (int b = 0; b < BINS; b++)
        top = count[b] > top ? count[b] : top;
    /* a step outline: both ends of every bin (nudged apart: points with one x are merged) */
    double x[2 * BINS], y[2 * BINS], tx[2], ty[2];
    for (int b = 0; b < BINS; b++) {
        x[2 * b] = (double)b / BINS + 1e-7, y[2 * b] = count[b];
        x[2 * b + 1] = (double)(b + 1) / BINS - 1e-7, y[2 * b + 1] = count[b];
    }
    tx[0] = o->min_completeness - 1e-7, ty[0] = 0;
    tx[1] = o->min_completeness + 1e-7, ty[1] = top * 1.05;
    char thr[64], title[256], xlabel[128];
    snprintf(thr, sizeof thr, "threshold %g (below: dropped)", o->min_completeness);
    snprintf(title, sizeof title, "outline completeness of %lld hand drawings: kept %lld, "
             "dropped %lld", (long long)rep->screened, (long long)(rep->screened - rep->dropped),
             (long long)rep->dropped);
    snprintf(xlabel, sizeof xlabel, "completeness (tolerance %d px), bins of 0.02", o->tolerance);
    plot_series s[2] = {{"drawings per bin", x, y, 2 * BINS}, {thr, tx, ty, 2}};
    plot_chart c = {.title = title, .xlabel = xlabel, .ylabel = "drawings", .series = s,
                    .nseries = 2, .smoothing = 0, .x_min = 0, .x_max = 1};
    char path[4200];
    snprintf(path, sizeof path, "%s/histogram.png", o->report_dir);
    if (plot_chart_png(&c, path) != PT_OK) {
        fprintf(stderr, "pictor data filter-sketches: %s: %s\n", path, pt_error());
        return 2;
    }
    return 0;
}

/* pictor data filter-sketches IN.h5 --out KEPT.h5 --report DIR [--min-completeness X]
 *                             [--tolerance PX] [--domain NAME] */
static int cmd_filter_sketches(args *a)
{
    sketch_filter_options o = {.min_completeness = SKETCH_DEFAULT_MIN_COMPLETENESS,
                               .tolerance = SKETCH_DEFAULT_TOLERANCE,
                               .domain = SKETCH_DEFAULT_DOMAIN, .progress = stderr,
                               .cancel = &g_interrupted};
    long long v;
    for (a->i = 1; a->i < a->argc; a->i++) {
        const char *opt = a->argv[a->i];
        if (!strcmp(opt, "--out")) {
            if (!(o.out = value(a))) return 1;
        } else if (!strcmp(opt, "--report")) {
            if (!(o.report_dir = value(a))) return 1;
        } else if (!strcmp(opt, "--min-completeness")) {
            if (parse_double(a, 0, 1, &o.min_completeness)) return 1;
        } else if (!strcmp(opt, "--tolerance")) {
            if (parse_int(a, 0, SKETCH_MAX_TOLERANCE, &v)) return 1;
            o.tolerance = (int)v;
        } else if (!strcmp(opt, "--domain")) {
            if (!(o.domain = value(a))) return 1;
        } else if (opt[0] == '-') {
            return unknown(a);
        } else if (positional(a, &o.in)) {
            return 1;
        }
    }
    if (!o.in) {
        fprintf(stderr, "pictor data filter-sketches: which file? (IN.h5)\n");
        return 1;
    }
    if (check_out(a, o.out))
        return 1;
    if (!o.report_dir) {
        fprintf(stderr, "pictor data filter-sketches: --report DIR is required\n");
        return 1;
    }
    catch_signals();
    sketch_filter_report rep;
    char err[1024];
    int rc = sketch_filter_file(&o, &rep, err, sizeof err);
    if (rc == 0)
        rc = write_score_histogram(&o, &rep);
    if (rc == 0)
        printf("%s\nreport: %s/{scores.csv,histogram.png,contact_sheet.png,summary.txt}\n",
               rep.summary, o.report_dir);
    else if (*err)
        fprintf(stderr, "pictor data filter-sketches: %s\n", err);
    sketch_filter_report_free(&rep);
    plot_release_caches();
    return rc;
}

/* ---------------------------------------------------------------- dispatch */

static const struct {
    const char *name;
    int (*run)(args *a);
} COMMANDS[] = {
    {"info", cmd_info},
    {"import-idx", cmd_import_idx},
    {"import-folder", cmd_import_folder},
    {"import-masks", cmd_import_masks},
    {"import-coco", cmd_import_coco},
    {"synth", cmd_synth},
    {"filter-sketches", cmd_filter_sketches},
};

int cmd_data(int argc, char **argv)
{
    if (argc < 1) {
        usage(stderr);
        return 1;
    }
    if (!strcmp(argv[0], "help") || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        usage(stdout);
        return 0;
    }
    for (size_t k = 0; k < sizeof COMMANDS / sizeof COMMANDS[0]; k++) {
        if (!strcmp(argv[0], COMMANDS[k].name)) {
            args a = {argc, argv, 0, COMMANDS[k].name};
            return COMMANDS[k].run(&a);
        }
    }
    fprintf(stderr, "pictor data: unknown command '%s' (info, import-idx, import-folder, "
                    "import-masks, import-coco, synth, filter-sketches)\n", argv[0]);
    return 1;
}
