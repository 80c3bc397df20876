/*
 * cmd_segment.c - `pictor segment CONFIG --weights W --image IMG [--box x,y,w,h] [--tap +x,y]
 * [--tap -x,y] ... --out MASK.png [--cutout OUT.png] [--set k=v ...]`: the interactive model
 * (seed 000) on one image file. Part 1 runs once; the rectangle (if given) gives the first mask,
 * then each tap, in order, re-runs part 2 only (train/models/interactive/isession.h). Prints the
 * time of every step; writes the last mask (0/255 PNG, the image's size) and, with --cutout, the
 * object cut out as RGBA (alpha = the mask) -- both atomically.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliopt.h"
#include "codec/image.h"
#include "commands.h"
#include "core/trainer.h"
#include "models/interactive/isession.h"

typedef struct {
    const char *weights, *image, *box, *out, *cutout;
    cliopt_list taps, sets;
} seg_args;

static const cliopt SEG_OPTS[] = {
    {"--weights", CLIOPT_STRING, offsetof(seg_args, weights), "FILE",
     .doc = "trained weights (checkpoint, safetensors or torch file)", .flags = CLIOPT_REQUIRED},
    {"--image", CLIOPT_STRING, offsetof(seg_args, image), "IMG",
     .doc = "a JPEG or PNG photo", .flags = CLIOPT_REQUIRED},
    {"--box", CLIOPT_STRING, offsetof(seg_args, box), "x,y,w,h",
     .doc = "the selection rectangle in pixels (else the first tap picks a region proposal)"},
    {"--tap", CLIOPT_REPEAT, offsetof(seg_args, taps), "+x,y|-x,y",
     .doc = "a tap on the object (+) or the background (-), applied in order"},
    {"--out", CLIOPT_STRING, offsetof(seg_args, out), "MASK.png",
     .doc = "the final mask, 0/255, the image's size", .flags = CLIOPT_REQUIRED},
    {"--cutout", CLIOPT_STRING, offsetof(seg_args, cutout), "OUT.png",
     .doc = "the object cut out: RGBA, transparent outside the mask"},
    {"--set", CLIOPT_REPEAT, offsetof(seg_args, sets), "key.path=value",
     .doc = "config override (after the file and its _base_)"},
    {0}};

static const clicmd SEG_CMD = {
    "segment", "CONFIG.yaml", "which config? (CONFIG.yaml)",
    "run an interactive model on an image: a rectangle and/or taps -> a mask", SEG_OPTS};

/* "x,y,w,h" -> four numbers. */
static int parse_box(const char *s, float *box, char *err, size_t errlen)
{
    char tail;
    if (sscanf(s, "%f,%f,%f,%f%c", &box[0], &box[1], &box[2], &box[3], &tail) != 4) {
        snprintf(err, errlen, "--box expects x,y,w,h (four numbers), got '%s'", s);
        return -1;
    }
    return 0;
}

/* "+x,y" or "-x,y" -> a tap. */
static int parse_tap(const char *s, int i, int *x, int *y, int *positive, char *err,
                     size_t errlen)
{
    char tail;
    if ((s[0] != '+' && s[0] != '-') || sscanf(s + 1, "%d,%d%c", x, y, &tail) != 2) {
        snprintf(err, errlen, "--tap %d expects +x,y (object) or -x,y (background), got '%s'",
                 i + 1, s);
        return -1;
    }
    *positive = s[0] == '+';
    return 0;
}

static int write_outputs(const seg_args *a, const uint8_t *rgb, const uint8_t *mask, int h,
                         int w, char *err, size_t errlen)
{
    if (image_write_png(a->out, mask, h, w, 1, err, errlen))
        return 1;
    if (!a->cutout)
        return 0;
    uint8_t *rgba = malloc((size_t)h * (size_t)w * 4);
    if (!rgba) {
        snprintf(err, errlen, "out of memory");
        return 2;
    }
    for (size_t i = 0; i < (size_t)h * (size_t)w; i++) {
        memcpy(rgba + 4 * i, rgb + 3 * i, 3);
        rgba[4 * i + 3] = mask[i];
    }
    int rc = image_write_png(a->cutout, rgba, h, w, 4, err, errlen) ? 1 : 0;
    free(rgba);
    return rc;
}

static int run(const seg_args *a, const char *config, char *err, size_t errlen)
{
    float box[4];
    int has_box = a->box != NULL;
    if (has_box && parse_box(a->box, box, err, errlen))
        return 1;
    for (int i = 0; i < a->taps.n; i++) {
        int x, y, pos;
        if (parse_tap(a->taps.v[i], i, &x, &y, &pos, err, errlen))
            return 1;
    }
    if (!has_box && a->taps.n == 0) {
        snprintf(err, errlen, "give a --box, a --tap, or both");
        return 1;
    }
    uint8_t *file = NULL, *rgb = NULL;
    size_t len = 0;
    int h = 0, w = 0, c = 0;
    if (image_read_file(a->image, &file, &len, err, errlen))
        return 1;
    char why[512];
    if (image_decode(file, len, 3, &rgb, &h, &w, &c, why, sizeof why)) {
        snprintf(err, errlen, "%s: %s", a->image, why);
        free(file);
        return 1;
    }
    free(file);
    for (int i = 0; i < a->taps.n; i++) { /* before loading the model */
        int x = 0, y = 0, pos = 0;
        parse_tap(a->taps.v[i], i, &x, &y, &pos, err, errlen);
        if (x < 0 || y < 0 || x >= w || y >= h) {
            snprintf(err, errlen, "tap %d at x=%d, y=%d is outside the %dx%d image %s", i + 1, x,
                     y, w, h, a->image);
            free(rgb);
            return 1;
        }
    }
    trainer_opts o = {config, a->sets.v, a->sets.n, NULL, 0};
    trainer_model *tm = NULL;
    int rc = trainer_model_open(&o, a->weights, "interactive", &tm, err, errlen);
    uint8_t *mask = calloc((size_t)h * (size_t)w, 1);
    isession *s = NULL;
    if (!rc && !mask)
        rc = 2, snprintf(err, errlen, "out of memory");
    if (!rc && !(s = isession_begin(trainer_model_self(tm), rgb, h, w, has_box ? box : NULL, err,
                                    errlen)))
        rc = 1;
    double p1 = 0, p2 = 0;
    if (!rc) {
        isession_times(s, &p1, &p2);
        printf("first pass (part 1): %.1f ms\n", 1e3 * p1);
    }
    int have_mask = 0;
    if (!rc && has_box) {
        int st = isession_first_mask(s, mask, err, errlen);
        rc = st < 0 ? 1 : 0;
        if (!rc) {
            isession_times(s, &p1, &p2);
            printf("rectangle: part 2 %.1f ms\n", 1e3 * p2);
            have_mask = 1;
        }
    }
    for (int i = 0; !rc && i < a->taps.n; i++) {
        int x = 0, y = 0, pos = 0;
        parse_tap(a->taps.v[i], i, &x, &y, &pos, err, errlen); /* checked in run's first loop */
        if (isession_tap(s, x, y, pos, mask, err, errlen)) {
            rc = 1;
            break;
        }
        isession_times(s, &p1, &p2);
        printf("tap %d (%c%d,%d): part 2 %.1f ms\n", i + 1, pos ? '+' : '-', x, y, 1e3 * p2);
        have_mask = 1;
    }
    if (!rc && have_mask) {
        size_t fg = 0;
        for (size_t i = 0; i < (size_t)h * (size_t)w; i++)
            fg += mask[i] != 0;
        float b[4];
        if (isession_box(s, b))
            printf("rectangle x0=%.0f y0=%.0f x1=%.0f y1=%.0f; mask %zu pixels (%.1f%% of %dx%d)\n",
                   b[0], b[1], b[2], b[3], fg, 100.0 * (double)fg / ((double)h * w), w, h);
        rc = write_outputs(a, rgb, mask, h, w, err, errlen);
        if (!rc)
            printf("wrote %s%s%s\n", a->out, a->cutout ? " and " : "", a->cutout ? a->cutout : "");
    }
    isession_end(s);
    trainer_model_close(tm);
    free(mask);
    free(rgb);
    return rc;
}

int cmd_segment(int argc, char **argv)
{
    seg_args a;
    memset(&a, 0, sizeof a);
    cliopt_result res;
    char err[2048] = "";
    int st = cliopt_parse(&SEG_CMD, argc + 1, argv - 1, &a, &res, err, sizeof err);
    int rc = 0;
    if (st == CLIOPT_HELP) {
        cliopt_usage(stdout, &SEG_CMD, 0);
    } else if (st == CLIOPT_ERROR) {
        fprintf(stderr, "pictor segment: %s\n", err);
        rc = 1;
    } else if ((rc = run(&a, res.positional, err, sizeof err)) != 0) {
        fprintf(stderr, "pictor segment: %s\n", err);
    }
    cliopt_list_free(&a.taps);
    cliopt_list_free(&a.sets);
    return rc;
}
