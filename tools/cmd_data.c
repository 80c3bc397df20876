/*
 * cmd_data.c - `pictor data ...`: the dataset subcommands that curators use.
 *
 *   pictor data info FILE.h5
 *   pictor data import-idx | import-folder | import-masks | import-coco ... --out FILE.h5
 *   pictor data synth fmnist-domains | shapes | fmnist-canvas --out FILE.h5 ...
 *   pictor data filter-sketches IN.h5 --out KEPT.h5 --report DIR ...
 *   pictor data foreground IN.h5 --out OUT.h5
 *   pictor data split IN.h5 --val F [--group REGEX] [--seed S] --out-train A.h5 --out-val B.h5
 *   pictor data help | <command> --help
 *
 * Every subcommand's options are one table (tools/cliopt.h: name, kind, range, destination, doc,
 * required), from which both the parsing and `pictor data help` are made; the checks that
 * involve several options follow the parse. The work is done in data/ (import/, synth/,
 * curate/); this file owns the argument checks, the printing of summaries, the histogram of
 * `filter-sketches`, and SIGINT/SIGTERM (an import or a copy stops between two items and removes
 * its temp file).
 *
 * --foreground, and --val F --out-val FILE.h5 on an import: the importer writes a temp file next
 * to --out (OUT.import.<pid>.h5), which is then converted or split into --out (and --out-val) by
 * data/curate and removed, whatever happens.
 *
 * Exit status: 0 success, 1 user error (bad arguments, missing or corrupt file) with one message,
 * 2 internal error, 130 interrupted.
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cliopt.h"
#include "cmd_data_internal.h"
#include "commands.h"
#include "curate/item_copy.h"
#include "curate/merge.h"
#include "curate/sketch_filter.h"
#include "curate/split.h"
#include "import/import.h"
#include "report/plot.h"
#include "store/store.h"
#include "synth/synth_domains.h"
#include "synth/synth_instances.h"

/* ---------------------------------------------------------------- signals, messages */

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

/* "pictor data CMD: message" on stderr; returns the exit status 1. */
static int user_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "pictor data %s: %s\n", cmd, msg);
    return 1;
}

/* Parse argv with c's table into dest: 0 go on; otherwise *status is the exit status (0 after
 * --help, 1 after an error, which is printed). */
static int parse(const clicmd *c, int argc, char **argv, void *dest, cliopt_result *res,
                 int *status)
{
    char err[1024];
    int rc = cliopt_parse(c, argc, argv, dest, res, err, sizeof err);
    if (rc == CLIOPT_HELP) {
        cliopt_usage(stdout, c, 0);
        *status = 0;
        return -1;
    }
    if (rc != CLIOPT_OK) {
        *status = user_error(c->name, err);
        return -1;
    }
    return 0;
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

static void common_init(import_common *c)
{
    memset(c, 0, sizeof *c);
    c->progress = stderr;
    c->cancel = &g_interrupted;
}

/* ---------------------------------------------------------------- after an import */

/* --foreground and the split options an import may take; the split itself takes them too. */
typedef struct {
    double val;          /* 0: no split */
    const char *group;   /* regex, or NULL: the /group column */
    int64_t seed;
    const char *out_val;
    int foreground;
    const char *out;     /* the user's --out */
    char tmp[4200];      /* what the importer writes when something follows */
} post_args;

/* --group: the expression must compile (the message names the option). */
static int set_regex(void *field, const char *value, char *err, size_t errlen)
{
    int64_t g = 0, n = 0, u = 0;
    const char *one[1] = {""};
    if (split_groups_by_regex(one, 1, value, &g, &n, &u, err, errlen))
        return -1;
    *(const char **)field = value;
    return 0;
}

#define POST_VAL(T)                                                                            \
    {"--val", CLIOPT_DOUBLE, offsetof(T, post.val), "F", .min = 0, .max = 1,                   \
     .flags = CLIOPT_OPEN_MIN | CLIOPT_OPEN_MAX,                                               \
     .doc = "also split: this fraction of the items goes to --out-val, whole groups only"}
#define POST_GROUP(T)                                                                          \
    {"--group", CLIOPT_STRING, offsetof(T, post.group), "REGEX", .set = set_regex,             \
     .doc = "split groups: first capture group (or whole match) of REGEX on the file names; "  \
            "default: the /group column"}
#define POST_SEED(T)                                                                           \
    {"--seed", CLIOPT_INT, offsetof(T, post.seed), "S", .min = 0, .max = CLIOPT_INT64_MAX,     \
     .doc = "seed of the split's group order (default 0)"}
#define POST_OUT_VAL(T)                                                                        \
    {"--out-val", CLIOPT_STRING, offsetof(T, post.out_val), "FILE.h5",                         \
     .doc = "the validation side of --val"}
#define POST_FOREGROUND(T)                                                                     \
    {"--foreground", CLIOPT_FLAG, offsetof(T, post.foreground),                                \
     .doc = "every class becomes one class 'foreground' (labels and instance classes)"}

/* The options of a split that go together; 0 or the exit status 1. */
static int post_check(const char *cmd, const post_args *p, const clicmd *c,
                      const cliopt_result *res)
{
    const char *g = cliopt_given(c, res, "--group"), *s = cliopt_given(c, res, "--seed");
    if ((p->val > 0) != (p->out_val != NULL))
        return user_error(cmd, "--val F and --out-val FILE.h5 go together");
    if (p->val <= 0 && (g || s)) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s applies to a split only (--val F --out-val FILE.h5)",
                 g ? g : s);
        return user_error(cmd, msg);
    }
    return 0;
}

/* Where the importer writes: --out itself, or a temp file when something follows. */
static const char *post_target(post_args *p, const char *out)
{
    p->out = out;
    if (p->val <= 0 && !p->foreground)
        return out;
    snprintf(p->tmp, sizeof p->tmp, "%s.import.%ld.h5", out, (long)getpid());
    return p->tmp;
}

static void print_split(const split_options *o, const split_report *r)
{
    printf("split %lld items into %lld groups", (long long)r->items, (long long)r->groups);
    if (o->group_regex)
        printf(" (--group '%s'; %lld names without a match, each its own group)",
               o->group_regex, (long long)r->unmatched);
    else
        printf(" (the /group column)");
    printf(": %s %lld items, %s %lld items in %lld groups (target %.1f, largest group %lld)%s\n",
           o->out_train, (long long)(r->items - r->val_items), o->out_val,
           (long long)r->val_items, (long long)r->val_groups, r->target,
           (long long)r->largest_group, o->foreground ? "; one class 'foreground'" : "");
}

/* Split or convert in (the import's temp file, or the user's input) into p->out / p->out_val. */
static int run_post(const char *cmd, const char *in, const post_args *p)
{
    char err[1024] = "";
    int rc;
    if (p->val > 0) {
        split_options o = {.in = in, .out_train = p->out, .out_val = p->out_val, .val = p->val,
                           .group_regex = p->group, .seed = (uint64_t)p->seed,
                           .foreground = p->foreground, .cancel = &g_interrupted};
        split_report r;
        if ((rc = split_file(&o, &r, err, sizeof err)) == 0)
            print_split(&o, &r);
    } else {
        int64_t n = 0;
        if ((rc = foreground_file(in, p->out, &g_interrupted, &n, err, sizeof err)) == 0)
            printf("foreground: %s: %lld items, one class 'foreground'\n", p->out, (long long)n);
    }
    if (rc != 0)
        fprintf(stderr, "pictor data %s: %s\n", cmd, err);
    return rc;
}

/* After an import that wrote p->tmp: the split or conversion, then the temp file goes. */
static int post_finish(const char *cmd, const post_args *p, int rc)
{
    if (!*p->tmp)
        return rc;
    if (rc == IMPORT_OK)
        rc = run_post(cmd, p->tmp, p);
    unlink(p->tmp);
    return rc;
}

/* The name the import summary shows. */
static const char *post_label(const post_args *p, char *buf, size_t len)
{
    if (!*p->tmp)
        return p->out;
    snprintf(buf, len, "%s (before the %s)", p->out, p->val > 0 ? "split" : "conversion");
    return buf;
}

/* ---------------------------------------------------------------- import-idx */

typedef struct {
    import_idx_options o;
    int split; /* 0 train, 1 test */
} idx_args;

#define LIMIT(T, field)                                                                        \
    {"--limit", CLIOPT_INT, offsetof(T, field), "N", .min = 0, .max = CLIOPT_INT64_MAX,        \
     .expects = "a count >= 0", .doc = "stop after N items (0: all)"}

static const cliopt IDX_OPTS[] = {
    {"--dir", CLIOPT_STRING, offsetof(idx_args, o.dir), "DIR",
     .doc = "Fashion-MNIST folder (default: Debian's /usr/share/datasets/fashion-mnist)"},
    {"--split", CLIOPT_ENUM, offsetof(idx_args, split), .choices = "train|test",
     .doc = "which half of Fashion-MNIST (default train)"},
    {"--images", CLIOPT_STRING, offsetof(idx_args, o.images), "IDX",
     .doc = "or an explicit IDX pair: [N,H,W] u8 images ..."},
    {"--labels", CLIOPT_STRING, offsetof(idx_args, o.labels), "IDX",
     .doc = "... and [N] u8 labels"},
    LIMIT(idx_args, o.common.limit),
    {"--out", CLIOPT_STRING, offsetof(idx_args, o.common.out), "FILE.h5",
     .flags = CLIOPT_REQUIRED, .doc = "the dataset to write (images stored raw)"},
    {0}};
static const clicmd IDX_CMD = {"import-idx", NULL, NULL, "IDX image/label pairs (Fashion-MNIST)",
                               IDX_OPTS};

static int cmd_import_idx(int argc, char **argv)
{
    idx_args a = {{.train = 1}, 0};
    common_init(&a.o.common);
    cliopt_result res;
    int status;
    if (parse(&IDX_CMD, argc, argv, &a, &res, &status))
        return status;
    a.o.train = a.split == 0;
    catch_signals();
    import_report rep;
    char err[1024];
    int rc = import_idx(&a.o, &rep, err, sizeof err);
    return finish_import(rc, a.o.common.out, &rep, err);
}

/* ---------------------------------------------------------------- import-folder */

typedef struct {
    import_folder_options o;
    int layout, grey; /* layout: auto, class, domain: import_layout's order */
    post_args post;
} folder_args;

static const cliopt FOLDER_OPTS[] = {
    {"--layout", CLIOPT_ENUM, offsetof(folder_args, layout), .choices = "auto|class|domain",
     .doc = "ROOT/<class>/*.jpg|png or ROOT/<domain>/<class>/... (default auto: look)"},
    {"--grey", CLIOPT_FLAG, offsetof(folder_args, grey), .doc = "decode to one channel"},
    LIMIT(folder_args, o.common.limit),
    POST_VAL(folder_args),
    POST_GROUP(folder_args),
    POST_SEED(folder_args),
    POST_OUT_VAL(folder_args),
    {"--out", CLIOPT_STRING, offsetof(folder_args, o.common.out), "FILE.h5",
     .flags = CLIOPT_REQUIRED, .doc = "the dataset to write (the training side with --val)"},
    {0}};
static const clicmd FOLDER_CMD = {
    "import-folder", "ROOT", "which folder? (ROOT)",
    "images by class (and domain) folder, stored as they are; file names recorded", FOLDER_OPTS};

static int cmd_import_folder(int argc, char **argv)
{
    folder_args a = {.layout = IMPORT_LAYOUT_AUTO};
    common_init(&a.o.common);
    cliopt_result res;
    int status;
    if (parse(&FOLDER_CMD, argc, argv, &a, &res, &status))
        return status;
    if (post_check(FOLDER_CMD.name, &a.post, &FOLDER_CMD, &res))
        return 1;
    a.o.root = res.positional;
    a.o.layout = (import_layout)a.layout;
    a.o.channels = a.grey ? 1 : 3;
    a.o.common.out = post_target(&a.post, a.o.common.out);
    catch_signals();
    import_report rep;
    char err[1024], label[4300];
    int rc = import_folder(&a.o, &rep, err, sizeof err);
    rc = finish_import(rc, post_label(&a.post, label, sizeof label), &rep, err);
    return post_finish(FOLDER_CMD.name, &a.post, rc);
}

/* ---------------------------------------------------------------- import-masks */

typedef struct {
    import_masks_options o;
    int grey;
    post_args post;
} masks_args;

static const cliopt MASKS_OPTS[] = {
    {"--images", CLIOPT_STRING, offsetof(masks_args, o.image_dir), "DIR",
     .doc = "subfolder of ROOT with the images (default images)"},
    {"--masks", CLIOPT_STRING, offsetof(masks_args, o.mask_dir), "DIR",
     .doc = "subfolder with the masks of the same stems (default masks)"},
    {"--class-from-prefix", CLIOPT_FLAG, offsetof(masks_args, o.class_from_prefix),
     .doc = "<class><NN>_<photo id> names (COCO_MVal): label and group from the name"},
    {"--grey", CLIOPT_FLAG, offsetof(masks_args, grey), .doc = "decode to one channel"},
    LIMIT(masks_args, o.common.limit),
    POST_FOREGROUND(masks_args),
    POST_VAL(masks_args),
    POST_GROUP(masks_args),
    POST_SEED(masks_args),
    POST_OUT_VAL(masks_args),
    {"--out", CLIOPT_STRING, offsetof(masks_args, o.common.out), "FILE.h5",
     .flags = CLIOPT_REQUIRED, .doc = "the dataset to write (the training side with --val)"},
    {0}};
static const clicmd MASKS_CMD = {
    "import-masks", "ROOT", "which folder? (ROOT)",
    "ROOT/images/<stem>.jpg + ROOT/masks/<stem>.png, masks binarised; file names recorded",
    MASKS_OPTS};

static int cmd_import_masks(int argc, char **argv)
{
    masks_args a = {.o = {.image_dir = "images", .mask_dir = "masks"}};
    common_init(&a.o.common);
    cliopt_result res;
    int status;
    if (parse(&MASKS_CMD, argc, argv, &a, &res, &status))
        return status;
    if (post_check(MASKS_CMD.name, &a.post, &MASKS_CMD, &res))
        return 1;
    a.o.root = res.positional;
    a.o.channels = a.grey ? 1 : 3;
    a.o.common.out = post_target(&a.post, a.o.common.out);
    catch_signals();
    import_report rep;
    char err[1024], label[4300];
    int rc = import_masks(&a.o, &rep, err, sizeof err);
    rc = finish_import(rc, post_label(&a.post, label, sizeof label), &rep, err);
    return post_finish(MASKS_CMD.name, &a.post, rc);
}

/* ---------------------------------------------------------------- import-coco */

typedef struct {
    import_coco_options o;
    int crowd, grey;
    post_args post;
} coco_args;

static const cliopt COCO_OPTS[] = {
    {"--json", CLIOPT_STRING, offsetof(coco_args, o.json), "FILE", .flags = CLIOPT_REQUIRED,
     .doc = "the COCO instances JSON"},
    {"--images", CLIOPT_STRING, offsetof(coco_args, o.images), "DIR", .flags = CLIOPT_REQUIRED,
     .doc = "the folder each image's file_name is relative to"},
    {"--crowd", CLIOPT_ENUM, offsetof(coco_args, crowd), .choices = "skip|keep",
     .doc = "iscrowd regions left out (skip, default) or kept as instances"},
    {"--min-area", CLIOPT_INT, offsetof(coco_args, o.min_area), "N", .min = 0,
     .max = CLIOPT_INT64_MAX, .expects = "a pixel count >= 0",
     .doc = "drop instances under N mask pixels (default 16)"},
    {"--keep-empty", CLIOPT_FLAG, offsetof(coco_args, o.keep_empty),
     .doc = "also write images left without instances (default: dropped and counted)"},
    {"--grey", CLIOPT_FLAG, offsetof(coco_args, grey), .doc = "decode to one channel"},
    LIMIT(coco_args, o.common.limit),
    POST_FOREGROUND(coco_args),
    {"--out", CLIOPT_STRING, offsetof(coco_args, o.common.out), "FILE.h5",
     .flags = CLIOPT_REQUIRED, .doc = "the dataset to write"},
    {0}};
static const clicmd COCO_CMD = {
    "import-coco", NULL, NULL,
    "COCO instances JSON: one item per image with its instances (class, polygons, masks;\n"
    "group = image id); file names recorded",
    COCO_OPTS};

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

static int cmd_import_coco(int argc, char **argv)
{
    coco_args a = {.o = {.min_area = IMPORT_COCO_MIN_AREA}};
    common_init(&a.o.common);
    cliopt_result res;
    int status;
    if (parse(&COCO_CMD, argc, argv, &a, &res, &status))
        return status;
    a.o.crowd = a.crowd ? IMPORT_CROWD_KEEP : IMPORT_CROWD_SKIP;
    a.o.channels = a.grey ? 1 : 3;
    a.o.common.out = post_target(&a.post, a.o.common.out);
    catch_signals();
    import_report rep;
    char err[1024], label[4300];
    int rc = import_coco(&a.o, &rep, err, sizeof err);
    if (rc == IMPORT_OK) {
        import_report_print(stdout, post_label(&a.post, label, sizeof label), &rep);
        print_coco_counts(&a.o, &rep);
        import_report_free(&rep);
    } else {
        rc = finish_import(rc, a.post.out, &rep, err);
    }
    return post_finish(COCO_CMD.name, &a.post, rc);
}

/* ---------------------------------------------------------------- info */

typedef struct {
    int unused;
} no_args;

static const cliopt INFO_OPTS[] = {{0}};
static const clicmd INFO_CMD = {
    "info", "FILE.h5", "which file? (FILE.h5)",
    "counts, image sizes, class and domain histograms, annotations, file size", INFO_OPTS};

static int cmd_info(int argc, char **argv)
{
    no_args a;
    cliopt_result res;
    int status;
    if (parse(&INFO_CMD, argc, argv, &a, &res, &status))
        return status;
    const char *path = res.positional;
    char err[1024];
    store_reader *r = store_open(path, err, sizeof err);
    if (!r)
        return user_error(INFO_CMD.name, err);
    store_summary s;
    if (store_summarize(r, &s, err, sizeof err)) {
        store_close(r);
        return user_error(INFO_CMD.name, err);
    }
    struct stat st;
    data_print_info(path, r, &s, stat(path, &st) == 0 ? (long long)st.st_size : -1);
    store_close(r);
    return 0;
}

/* ---------------------------------------------------------------- synth */

/* The options of `pictor data synth KIND`, parsed before the kind is known (it may come after
 * them); which ones a kind takes is checked afterwards. */
typedef struct {
    const char *out, *preview, *dir, *gaps_csv;
    int split, grey, one_domain_per_item;
    int64_t n;    /* 0: the kind's default */
    int64_t seed;
    int64_t size; /* 0: the kind's default */
    double cut_gaps;
    post_args post;
} synth_args;

static const cliopt SYNTH_OPTS[] = {
    {"--split", CLIOPT_ENUM, offsetof(synth_args, split), .choices = "train|test",
     .doc = "train (default) or test: the test split never repeats a train item or scene"},
    {"--n", CLIOPT_INT, offsetof(synth_args, n), "N", .min = 1, .max = CLIOPT_INT64_MAX,
     .doc = "source items (fmnist-domains, default all) or scenes (default 10000 / 1000)"},
    {"--seed", CLIOPT_INT, offsetof(synth_args, seed), "S", .min = 0, .max = CLIOPT_INT64_MAX,
     .doc = "random seed (default 0)"},
    {"--size", CLIOPT_INT, offsetof(synth_args, size), "PX", .min = 1, .max = 1 << 20,
     .doc = "image side (fmnist-domains: default 64; scenes: 32..1024, default 128)"},
    {"--preview", CLIOPT_STRING, offsetof(synth_args, preview), "FILE.png",
     .doc = "a sheet of the first items (scenes: the first 8 and their instances)"},
    {"--grey", CLIOPT_FLAG, offsetof(synth_args, grey), .doc = "shapes, fmnist-canvas: one channel"},
    {"--one-domain-per-item", CLIOPT_FLAG, offsetof(synth_args, one_domain_per_item),
     .doc = "fmnist-domains: item i in domain i % 3 only (default: all three)"},
    {"--cut-gaps", CLIOPT_DOUBLE, offsetof(synth_args, cut_gaps), "MAX", .min = 0, .max = 1,
     .doc = "fmnist-domains: cut an outline gap of 0, 5, ..., MAX*100% into every drawing"},
    {"--gaps-csv", CLIOPT_STRING, offsetof(synth_args, gaps_csv), "FILE",
     .doc = "fmnist-domains with --cut-gaps: index,source_item,gap of every drawing"},
    {"--dir", CLIOPT_STRING, offsetof(synth_args, dir), "DIR",
     .doc = "fmnist-domains, fmnist-canvas: the Fashion-MNIST IDX folder"},
    {"--idx-dir", CLIOPT_STRING, offsetof(synth_args, dir), "DIR", .doc = "the same as --dir"},
    POST_FOREGROUND(synth_args),
    {"--out", CLIOPT_STRING, offsetof(synth_args, out), "FILE.h5", .flags = CLIOPT_REQUIRED,
     .doc = "the dataset to write"},
    {0}};
static const clicmd SYNTH_CMD = {
    "synth", "KIND", "which data set? (KIND: fmnist-domains, shapes or fmnist-canvas)",
    "fmnist-domains: Fashion-MNIST as photo, hand_drawn and cartoon (domains 0-2),\n"
    "  silhouette masks;\n"
    "shapes: scenes of 1-6 textured shapes (7 classes) on a textured background, occluding\n"
    "  each other, one instance mask (visible part) and class per object;\n"
    "fmnist-canvas: 2-5 Fashion-MNIST items per canvas, resized and tinted; masks =\n"
    "  silhouettes minus what later items cover, class = the item's label",
    SYNTH_OPTS};

/* An option the kind does not take: a message naming it; returns the exit status 1. */
static int not_for_kind(const char *kind, const char *opt, const char *kinds)
{
    fprintf(stderr, "pictor data synth %s: %s applies to %s only\n", kind, opt, kinds);
    return 1;
}

/* --size within [lo, hi] for the kind (0: not given). */
static int check_synth_size(const char *kind, const synth_args *s, long long lo, long long hi)
{
    if (s->size && (s->size < lo || s->size > hi)) {
        fprintf(stderr, "pictor data synth %s: --size expects an integer in [%lld, %lld], got "
                        "%lld\n", kind, lo, hi, (long long)s->size);
        return -1;
    }
    return 0;
}

static int synth_fmnist_domains_cmd(const char *kind, const synth_args *s,
                                    const cliopt_result *res)
{
    const char *grey = cliopt_given(&SYNTH_CMD, res, "--grey");
    const char *fg = cliopt_given(&SYNTH_CMD, res, "--foreground");
    if (grey || fg)
        return not_for_kind(kind, grey ? grey : fg, "shapes and fmnist-canvas");
    if (check_synth_size(kind, s, SYNTH_MIN_SIZE, SYNTH_MAX_SIZE))
        return 1;
    if (s->gaps_csv && !(s->cut_gaps > 0)) {
        fprintf(stderr, "pictor data synth: --gaps-csv needs --cut-gaps MAX (> 0)\n");
        return 1;
    }
    synth_fmnist_options o = {.train = s->split == 0, .seed = (uint64_t)s->seed, .dir = s->dir,
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
static int synth_scenes_cmd(const char *kind_name, synth_args *s, const cliopt_result *res,
                            synth_scene_kind kind)
{
    const char *only = "fmnist-domains";
    const char *one = cliopt_given(&SYNTH_CMD, res, "--one-domain-per-item");
    const char *cut = cliopt_given(&SYNTH_CMD, res, "--cut-gaps");
    const char *dir = cliopt_given(&SYNTH_CMD, res, "--idx-dir");
    dir = dir ? dir : cliopt_given(&SYNTH_CMD, res, "--dir");
    if (one)
        return not_for_kind(kind_name, one, only);
    if (cut || s->gaps_csv)
        return not_for_kind(kind_name, cut ? "--cut-gaps" : "--gaps-csv", only);
    if (kind == SYNTH_SCENE_SHAPES && dir)
        return not_for_kind(kind_name, dir, "fmnist-domains and fmnist-canvas");
    if (check_synth_size(kind_name, s, SYNTH_SCENE_MIN_SIZE, SYNTH_SCENE_MAX_SIZE))
        return 1;
    synth_instances_options o = {.kind = kind, .train = s->split == 0, .seed = (uint64_t)s->seed,
                                 .size = (int)s->size, .channels = s->grey ? 1 : 3,
                                 .dir = s->dir, .preview = s->preview};
    common_init(&o.common);
    o.common.out = post_target(&s->post, s->out);
    o.common.limit = s->n;
    catch_signals();
    import_report rep;
    char err[1024], label[4300];
    int rc = synth_instances(&o, &rep, err, sizeof err);
    if (rc == IMPORT_OK) {
        import_report_print(stdout, post_label(&s->post, label, sizeof label), &rep);
        printf("instances: %lld written", (long long)rep.instances);
        if (rep.tiny_dropped > 0)
            printf("; %lld dropped (under %d visible pixels after occlusion)",
                   (long long)rep.tiny_dropped, SYNTH_SCENE_MIN_AREA);
        printf("\n");
        if (o.preview)
            printf("preview: %s\n", o.preview);
        import_report_free(&rep);
    } else {
        rc = finish_import(rc, s->out, &rep, err);
    }
    return post_finish(SYNTH_CMD.name, &s->post, rc);
}

static int cmd_synth(int argc, char **argv)
{
    synth_args s;
    memset(&s, 0, sizeof s);
    cliopt_result res;
    int status;
    if (parse(&SYNTH_CMD, argc, argv, &s, &res, &status))
        return status;
    const char *kind = res.positional;
    int domains = !strcmp(kind, "fmnist-domains"), shapes = !strcmp(kind, "shapes");
    int canvas = !strcmp(kind, "fmnist-canvas");
    if (!domains && !shapes && !canvas) {
        fprintf(stderr, "pictor data synth: unknown data set '%s' (KIND: fmnist-domains, "
                        "shapes or fmnist-canvas)\n", kind);
        return 1;
    }
    if (domains)
        return synth_fmnist_domains_cmd(kind, &s, &res);
    return synth_scenes_cmd(kind, &s, &res,
                            shapes ? SYNTH_SCENE_SHAPES : SYNTH_SCENE_FMNIST_CANVAS);
}

/* ---------------------------------------------------------------- filter-sketches */

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


typedef struct {
    sketch_filter_options o;
    int64_t tolerance;
} filter_args;

static const cliopt FILTER_OPTS[] = {
    {"--min-completeness", CLIOPT_DOUBLE, offsetof(filter_args, o.min_completeness), "X",
     .min = 0, .max = 1, .doc = "keep drawings whose strokes cover at least X of the outline "
                                "(default 0.9)"},
    {"--tolerance", CLIOPT_INT, offsetof(filter_args, tolerance), "PX", .min = 0,
     .max = SKETCH_MAX_TOLERANCE, .doc = "a stroke within PX pixels covers the outline "
                                         "(default 2)"},
    {"--domain", CLIOPT_STRING, offsetof(filter_args, o.domain), "NAME",
     .doc = "the domain screened (default hand_drawn; every item if IN has no domain names)"},
    {"--out", CLIOPT_STRING, offsetof(filter_args, o.out), "KEPT.h5", .flags = CLIOPT_REQUIRED,
     .doc = "the items kept"},
    {"--report", CLIOPT_STRING, offsetof(filter_args, o.report_dir), "DIR",
     .flags = CLIOPT_REQUIRED,
     .doc = "scores.csv, histogram.png, contact_sheet.png (rejected), summary.txt"},
    {0}};
static const clicmd FILTER_CMD = {"filter-sketches", "IN.h5", "which file? (IN.h5)",
                                  "drop hand drawings whose strokes miss part of the mask's "
                                  "outline",
                                  FILTER_OPTS};

static int cmd_filter_sketches(int argc, char **argv)
{
    filter_args a = {{.min_completeness = SKETCH_DEFAULT_MIN_COMPLETENESS,
                      .domain = SKETCH_DEFAULT_DOMAIN, .progress = stderr,
                      .cancel = &g_interrupted},
                     SKETCH_DEFAULT_TOLERANCE};
    cliopt_result res;
    int status;
    if (parse(&FILTER_CMD, argc, argv, &a, &res, &status))
        return status;
    sketch_filter_options o = a.o;
    o.in = res.positional;
    o.tolerance = (int)a.tolerance;
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

/* ---------------------------------------------------------------- foreground, split */

typedef struct {
    post_args post;
} curate_args;

static const cliopt FOREGROUND_OPTS[] = {
    {"--out", CLIOPT_STRING, offsetof(curate_args, post.out), "OUT.h5", .flags = CLIOPT_REQUIRED,
     .doc = "the converted dataset (may be IN: replaced only when complete)"},
    {0}};
static const clicmd FOREGROUND_CMD = {
    "foreground", "IN.h5", "which file? (IN.h5)",
    "every class becomes one class 'foreground' (labels and instance classes; masks, items\n"
    "and everything else unchanged)",
    FOREGROUND_OPTS};

static int cmd_foreground(int argc, char **argv)
{
    curate_args a;
    memset(&a, 0, sizeof a);
    cliopt_result res;
    int status;
    if (parse(&FOREGROUND_CMD, argc, argv, &a, &res, &status))
        return status;
    a.post.foreground = 1;
    catch_signals();
    return run_post(FOREGROUND_CMD.name, res.positional, &a.post);
}

static const cliopt SPLIT_OPTS[] = {
    {"--val", CLIOPT_DOUBLE, offsetof(curate_args, post.val), "F", .min = 0, .max = 1,
     .flags = CLIOPT_REQUIRED | CLIOPT_OPEN_MIN | CLIOPT_OPEN_MAX,
     .doc = "fraction of the items for --out-val, met as closely as whole groups allow"},
    POST_GROUP(curate_args),
    POST_SEED(curate_args),
    POST_FOREGROUND(curate_args),
    {"--out-train", CLIOPT_STRING, offsetof(curate_args, post.out), "A.h5",
     .flags = CLIOPT_REQUIRED, .doc = "the training side"},
    {"--out-val", CLIOPT_STRING, offsetof(curate_args, post.out_val), "B.h5",
     .flags = CLIOPT_REQUIRED, .doc = "the validation side"},
    {0}};
static const clicmd SPLIT_CMD = {
    "split", "IN.h5", "which file? (IN.h5)",
    "a group-aware train/validation split: items of one group stay on one side (greedy over\n"
    "groups in a seeded random order)",
    SPLIT_OPTS};

static int cmd_split(int argc, char **argv)
{
    curate_args a;
    memset(&a, 0, sizeof a);
    cliopt_result res;
    int status;
    if (parse(&SPLIT_CMD, argc, argv, &a, &res, &status))
        return status;
    catch_signals();
    return run_post(SPLIT_CMD.name, res.positional, &a.post);
}

/* ---------------------------------------------------------------- merge */

typedef struct {
    cliopt_list in;
    const char *out;
    int foreground;
} merge_args;

static const cliopt MERGE_OPTS[] = {
    {"--in", CLIOPT_REPEAT, offsetof(merge_args, in), "IN.h5", .flags = CLIOPT_REQUIRED,
     .doc = "a dataset to take (repeat: in this order)"},
    {"--foreground", CLIOPT_FLAG, offsetof(merge_args, foreground),
     .doc = "every class becomes one class 'foreground' (then class lists may differ)"},
    {"--out", CLIOPT_STRING, offsetof(merge_args, out), "OUT.h5", .flags = CLIOPT_REQUIRED,
     .doc = "the merged dataset, written when complete"},
    {0}};
static const clicmd MERGE_CMD = {
    "merge", NULL, NULL,
    "the items of several datasets of one layout, in order, in one (same class names unless\n"
    "--foreground)",
    MERGE_OPTS};

static int cmd_merge(int argc, char **argv)
{
    merge_args a;
    memset(&a, 0, sizeof a);
    cliopt_result res;
    int status;
    if (parse(&MERGE_CMD, argc, argv, &a, &res, &status)) {
        cliopt_list_free(&a.in);
        return status;
    }
    catch_signals();
    char err[2048];
    int64_t n = 0;
    int rc = merge_files(a.in.v, a.in.n, a.out, a.foreground, &g_interrupted, &n, err, sizeof err);
    if (rc == 0)
        printf("merge: %s: %lld items from %d datasets%s\n", a.out, (long long)n, a.in.n,
               a.foreground ? ", one class 'foreground'" : "");
    else
        fprintf(stderr, "pictor data merge: %s\n", err);
    cliopt_list_free(&a.in);
    return rc;
}

/* ---------------------------------------------------------------- dispatch */

/* tools/cmd_data_ratios.c */
extern const clicmd RATIOS_CMD, IMPORT_RATIOS_CMD, TISSUE_CMD;

static const struct {
    const clicmd *cmd;
    int (*run)(int argc, char **argv);
} COMMANDS[] = {
    {&INFO_CMD, cmd_info},
    {&IDX_CMD, cmd_import_idx},
    {&FOLDER_CMD, cmd_import_folder},
    {&MASKS_CMD, cmd_import_masks},
    {&COCO_CMD, cmd_import_coco},
    {&SYNTH_CMD, cmd_synth},
    {&FILTER_CMD, cmd_filter_sketches},
    {&FOREGROUND_CMD, cmd_foreground},
    {&SPLIT_CMD, cmd_split},
    {&MERGE_CMD, cmd_merge},
    {&RATIOS_CMD, cmd_ratios},
    {&IMPORT_RATIOS_CMD, cmd_import_ratios},
    {&TISSUE_CMD, cmd_tissue},
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: pictor data <command> ...   (pictor data <command> --help: its options)\n");
    for (size_t k = 0; k < N_COMMANDS; k++) {
        fprintf(f, "\n");
        cliopt_usage(f, COMMANDS[k].cmd, 1);
    }
    fprintf(f, "\nImports skip unreadable or undecodable files (listed at the end) and write "
               "FILE.h5\nonly when complete. Exit status: 0 ok, 1 user error, 2 internal error, "
               "130 interrupted.\n");
}

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
    for (size_t k = 0; k < N_COMMANDS; k++)
        if (!strcmp(argv[0], COMMANDS[k].cmd->name))
            return COMMANDS[k].run(argc, argv);
    char list[512] = "";
    for (size_t k = 0; k < N_COMMANDS; k++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "",
                 COMMANDS[k].cmd->name);
    fprintf(stderr, "pictor data: unknown command '%s' (%s)\n", argv[0], list);
    return 1;
}
