/*
 * cmd_portrait.c - the portrait model (seed 001) on the command line:
 *   pictor portrait CONFIG --weights W --image IMG --out DIR [--depth FILE] [--background
 *       blur|colour|image] [--colour r,g,b] [--bg-image FILE] [--blur PX] [--edge PX] [--set k=v]
 *     the networks on one photo (train/models/portrait/psession.h) and claim 8's picture
 *     (train/report/portrait_picture.h); writes DIR/{mask, s_in, s_out, depth, confidence,
 *     portrait}.png atomically, at the photo's size, and prints the time of each step.
 *     --depth: a depth sensor's map, a grey PNG/JPEG of the photo's aspect ratio (larger =
 *     farther, 0 = no reading), used when model.fusion is sensor.
 *   pictor portrait synth --people DIR --backgrounds DIR --out FILE.h5 [--split train|test]
 *       [--n N] [--seed S] [--size PX] [--sensor]
 *     the synthetic RGB-D set (data/synth/synth_portrait.h).
 * Bad input (a grey photo, one under 32 pixels on a side, a missing or unreadable depth file, a
 * depth map of another aspect ratio) exits 1 with one message naming the file.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cliopt.h"
#include "codec/image.h"
#include "commands.h"
#include "core/trainer.h"
#include "models/portrait/psession.h"
#include "report/portrait_picture.h"
#include "synth/synth_portrait.h"

/* ------------------------------------------------------------------ synth */

typedef struct {
    const char *people, *backgrounds, *out;
    int split, sensor;
    int64_t n, seed, size;
} synth_args;

static const cliopt SYNTH_OPTS[] = {
    {"--people", CLIOPT_STRING, offsetof(synth_args, people), "DIR", .flags = CLIOPT_REQUIRED,
     .doc = "people photos and masks: DIR/images/*.jpg + DIR/masks/*.png (human_seg)"},
    {"--backgrounds", CLIOPT_STRING, offsetof(synth_args, backgrounds), "DIR",
     .flags = CLIOPT_REQUIRED, .doc = "background photos (COCO_MVal img/)"},
    {"--split", CLIOPT_ENUM, offsetof(synth_args, split), .choices = "train|test",
     .doc = "which side of the people / photo split (every fifth is test)"},
    {"--n", CLIOPT_INT, offsetof(synth_args, n), "N", .min = 1, .max = 10000000,
     .doc = "composites (default 1000)"},
    {"--seed", CLIOPT_INT, offsetof(synth_args, seed), "S", .min = 0, .max = CLIOPT_INT64_MAX,
     .doc = "random seed (default 0)"},
    {"--size", CLIOPT_INT, offsetof(synth_args, size), "PX", .min = SYNTH_PORTRAIT_MIN_SIZE,
     .max = SYNTH_PORTRAIT_MAX_SIZE, .doc = "square canvas side (default 160)"},
    {"--sensor", CLIOPT_FLAG, offsetof(synth_args, sensor),
     .doc = "sensor-like depth: noise and holes (0 = no reading); same composites otherwise"},
    {"--out", CLIOPT_STRING, offsetof(synth_args, out), "FILE.h5", .flags = CLIOPT_REQUIRED},
    {0}};

static const clicmd SYNTH_CMD = {"portrait synth", NULL, NULL,
                                 "synthetic RGB-D portraits: people over photos with depth",
                                 SYNTH_OPTS};

static int cmd_synth(int argc, char **argv)
{
    synth_args a = {.n = 1000, .size = 160};
    cliopt_result res;
    char err[2048] = "";
    int st = cliopt_parse(&SYNTH_CMD, argc, argv, &a, &res, err, sizeof err);
    if (st == CLIOPT_HELP) {
        cliopt_usage(stdout, &SYNTH_CMD, 0);
        return 0;
    }
    if (st == CLIOPT_ERROR) {
        fprintf(stderr, "pictor portrait synth: %s\n", err);
        return 1;
    }
    synth_portrait_options o = {.people_dir = a.people, .backgrounds_dir = a.backgrounds,
                                .out = a.out, .n = a.n, .size = (int)a.size,
                                .seed = (uint64_t)a.seed, .test = a.split == 1,
                                .sensor = a.sensor, .progress = stderr};
    int64_t written = 0;
    int rc = synth_portrait(&o, &written, err, sizeof err);
    if (rc) {
        fprintf(stderr, "pictor portrait synth: %s\n", err);
        return rc;
    }
    printf("%s: %lld composites (%s side, %s depth, %dx%d)\n", a.out, (long long)written,
           o.test ? "test" : "train", o.sensor ? "sensor-like" : "clean", o.size, o.size);
    return 0;
}

/* ------------------------------------------------------------------ run */

typedef struct {
    const char *weights, *image, *out, *depth, *colour, *bg_image;
    int background;
    double blur, edge;
    cliopt_list sets;
} run_args;

static const cliopt RUN_OPTS[] = {
    {"--weights", CLIOPT_STRING, offsetof(run_args, weights), "FILE", .flags = CLIOPT_REQUIRED,
     .doc = "trained weights (checkpoint, safetensors or torch file)"},
    {"--image", CLIOPT_STRING, offsetof(run_args, image), "IMG", .flags = CLIOPT_REQUIRED,
     .doc = "a colour JPEG or PNG photo, any size (>= 32 px a side) and orientation"},
    {"--out", CLIOPT_STRING, offsetof(run_args, out), "DIR", .flags = CLIOPT_REQUIRED,
     .doc = "folder for mask, s_in, s_out, depth, confidence and portrait .png (made if missing)"},
    {"--depth", CLIOPT_STRING, offsetof(run_args, depth), "FILE",
     .doc = "a depth sensor's map: grey PNG/JPEG, the photo's aspect ratio, larger = farther, "
            "0 = no reading (for model.fusion sensor)"},
    {"--background", CLIOPT_ENUM, offsetof(run_args, background), .choices = "blur|colour|image",
     .doc = "the picture: background blurred by depth (default), a colour, or an image"},
    {"--colour", CLIOPT_STRING, offsetof(run_args, colour), "R,G,B",
     .doc = "background colour (default 255,255,255)"},
    {"--bg-image", CLIOPT_STRING, offsetof(run_args, bg_image), "FILE",
     .doc = "background image for --background image"},
    {"--blur", CLIOPT_DOUBLE, offsetof(run_args, blur), "PX", .min = 0, .max = 200,
     .flags = CLIOPT_OPEN_MIN, .doc = "blur of the farthest background, pixels (default: 1.2% of "
                                      "the photo's longer side)"},
    {"--edge", CLIOPT_DOUBLE, offsetof(run_args, edge), "PX", .min = 0, .max = 100,
     .doc = "soft edge of the person, pixels (default 2)"},
    {"--set", CLIOPT_REPEAT, offsetof(run_args, sets), "key.path=value",
     .doc = "config override (after the file and its _base_)"},
    {0}};

static const clicmd RUN_CMD = {
    "portrait", "CONFIG.yaml", "which config? (CONFIG.yaml)",
    "run a portrait model on a photo: mask, depth, confidence and the portrait-mode picture "
    "(`pictor portrait synth --help`: the synthetic RGB-D set)", RUN_OPTS};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Decode an image file; stored_c gets its stored channels. */
static int read_image(const char *path, int channels, uint8_t **px, int *h, int *w,
                      int *stored_c, char *err, size_t errlen)
{
    uint8_t *file = NULL;
    size_t len = 0;
    if (image_read_file(path, &file, &len, err, errlen))
        return 1;
    char why[512];
    int c = 0;
    if (image_probe(file, len, h, w, stored_c, why, sizeof why) ||
        image_decode(file, len, channels, px, h, w, &c, why, sizeof why)) {
        snprintf(err, errlen, "%s: %s", path, why);
        free(file);
        return 1;
    }
    free(file);
    return 0;
}

static int write_map(const char *dir, const char *name, const float *map, int h, int w,
                     char *err, size_t errlen)
{
    const size_t n = (size_t)h * w;
    uint8_t *px = malloc(n);
    if (!px)
        return snprintf(err, errlen, "out of memory"), 2;
    for (size_t i = 0; i < n; i++) {
        float v = map[i] < 0 ? 0 : map[i] > 1 ? 1 : map[i];
        px[i] = (uint8_t)(v * 255.0f + 0.5f);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = image_write_png(path, px, h, w, 1, err, errlen) ? 1 : 0;
    free(px);
    return rc;
}

static int run(run_args *a, const char *config, char *err, size_t errlen)
{
    uint8_t colour[3] = {255, 255, 255};
    if (a->colour) {
        int r, g, b;
        char tail;
        if (sscanf(a->colour, "%d,%d,%d%c", &r, &g, &b, &tail) != 3 || r < 0 || g < 0 || b < 0 ||
            r > 255 || g > 255 || b > 255)
            return snprintf(err, errlen, "--colour expects R,G,B (each 0..255), got '%s'",
                            a->colour), 1;
        colour[0] = (uint8_t)r, colour[1] = (uint8_t)g, colour[2] = (uint8_t)b;
    }
    if (a->background == PICTURE_IMAGE && !a->bg_image)
        return snprintf(err, errlen, "--background image needs --bg-image FILE"), 1;
    uint8_t *rgb = NULL, *bgpx = NULL, *dpx = NULL;
    int h = 0, w = 0, c = 0, bh = 0, bw = 0, dh = 0, dw = 0;
    if (read_image(a->image, 3, &rgb, &h, &w, &c, err, errlen))
        return 1;
    int rc = 0;
    if (c == 1) {
        snprintf(err, errlen, "%s is a grey (one-channel) image: the portrait model needs a "
                 "colour photo", a->image);
        rc = 1;
    } else if (h < PSESSION_MIN_SIDE || w < PSESSION_MIN_SIDE) {
        snprintf(err, errlen, "%s is %dx%d: too small (at least %dx%d pixels)", a->image, w, h,
                 PSESSION_MIN_SIDE, PSESSION_MIN_SIDE);
        rc = 1;
    }
    if (!rc && a->bg_image && read_image(a->bg_image, 3, &bgpx, &bh, &bw, &c, err, errlen))
        rc = 1;
    float *sensor = NULL;
    if (!rc && a->depth) {
        if (read_image(a->depth, 1, &dpx, &dh, &dw, &c, err, errlen)) {
            rc = 1;
        } else if (fabs((double)dw / dh - (double)w / h) > 0.02 * ((double)w / h)) {
            snprintf(err, errlen, "%s is %dx%d but the photo %s is %dx%d: the depth map must "
                     "show the same view (same aspect ratio)", a->depth, dw, dh, a->image, w, h);
            rc = 1;
        } else if (!(sensor = malloc((size_t)dh * dw * sizeof *sensor))) {
            snprintf(err, errlen, "out of memory"), rc = 2;
        } else {
            for (size_t i = 0; i < (size_t)dh * dw; i++)
                sensor[i] = dpx[i] / 255.0f;
        }
    }
    if (!rc && mkdir(a->out, 0755) && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", a->out, strerror(errno));
        rc = 1;
    }
    trainer_model *tm = NULL;
    psession_result r;
    memset(&r, 0, sizeof r);
    if (!rc) {
        trainer_opts o = {config, a->sets.v, a->sets.n, NULL, 0};
        rc = trainer_model_open(&o, a->weights, "portrait", &tm, err, errlen);
    }
    if (!rc && psession_run(trainer_model_self(tm), rgb, h, w, sensor, dh, dw, &r, err, errlen))
        rc = 1;
    if (!rc) {
        printf("%s: %dx%d%s; networks %.1f ms, fusion %.1f ms\n", a->image, w, h,
               r.rotated ? " (landscape: turned for the networks)" : "", 1e3 * r.infer_s,
               1e3 * r.fuse_s);
        double t0 = now_s();
        picture_options po = {.mode = (picture_mode)a->background,
                              .max_sigma = a->blur > 0 ? a->blur : 0.012 * (h > w ? h : w),
                              .edge = a->edge >= 0 ? a->edge : 2,
                              .colour = {colour[0], colour[1], colour[2]},
                              .image = bgpx, .bg_h = bh, .bg_w = bw};
        uint8_t *pic = malloc((size_t)h * w * 3);
        if (!pic)
            rc = 2, snprintf(err, errlen, "out of memory");
        else if (portrait_picture(rgb, h, w, r.mask, r.depth, &po, pic, err, errlen))
            rc = 1;
        double pic_s = now_s() - t0;
        char path[4200];
        snprintf(path, sizeof path, "%s/portrait.png", a->out);
        if (!rc && image_write_png(path, pic, h, w, 3, err, errlen))
            rc = 1;
        free(pic);
        size_t fg = 0;
        for (size_t i = 0; i < (size_t)h * w; i++)
            fg += r.mask[i];
        uint8_t *m255 = malloc((size_t)h * w);
        if (!rc && m255) {
            for (size_t i = 0; i < (size_t)h * w; i++)
                m255[i] = r.mask[i] ? 255 : 0;
            snprintf(path, sizeof path, "%s/mask.png", a->out);
            rc = image_write_png(path, m255, h, w, 1, err, errlen) ? 1 : 0;
        }
        free(m255);
        rc = rc ? rc : write_map(a->out, "s_in.png", r.s_in, h, w, err, errlen);
        rc = rc ? rc : write_map(a->out, "s_out.png", r.s_out, h, w, err, errlen);
        if (!rc && r.depth)
            rc = write_map(a->out, "depth.png", r.depth, h, w, err, errlen);
        if (!rc && r.conf)
            rc = write_map(a->out, "confidence.png", r.conf, h, w, err, errlen);
        if (!rc)
            printf("picture (%s) %.1f ms; total %.1f ms; mask %zu pixels (%.1f%%); wrote %s/\n",
                   a->background == 0 ? "blur by depth" : a->background == 1 ? "colour" : "image",
                   1e3 * pic_s, 1e3 * (r.infer_s + r.fuse_s + pic_s), fg,
                   100.0 * (double)fg / ((double)h * w), a->out);
    }
    psession_result_free(&r);
    trainer_model_close(tm);
    free(rgb), free(bgpx), free(dpx), free(sensor);
    return rc;
}

int cmd_portrait(int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "synth"))
        return cmd_synth(argc, argv);
    run_args a;
    memset(&a, 0, sizeof a);
    a.edge = -1;
    cliopt_result res;
    char err[2048] = "";
    int st = cliopt_parse(&RUN_CMD, argc + 1, argv - 1, &a, &res, err, sizeof err);
    int rc = 0;
    if (st == CLIOPT_HELP) {
        cliopt_usage(stdout, &RUN_CMD, 0);
    } else if (st == CLIOPT_ERROR) {
        fprintf(stderr, "pictor portrait: %s\n", err);
        rc = 1;
    } else if ((rc = run(&a, res.positional, err, sizeof err)) != 0) {
        fprintf(stderr, "pictor portrait: %s\n", err);
    }
    cliopt_list_free(&a.sets);
    return rc;
}
