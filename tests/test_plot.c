/* test_plot.c - Criterion tests for train/plot.c, the PNG plots of a run.
 *
 * Owns: the charts plot_run() writes for a generated metrics.jsonl (file names, PNG signature,
 * size read back with cairo, curve pixels in the data area), gaps drawn for NaN values, a single
 * point drawn as a dot, the edge cases (empty file, no file, only NaN, a torn last line, garbage
 * lines), the atomic write (no temp file left), and a plots/ path that cannot be a directory.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cairo.h>

#include "helpers.h"
#include "report/plot.h"
#include "report/runlog.h"

/* ---------------------------------------------------------------- fixture and helpers */

static char *g_dir;

static void setup(void)
{
    pt_error_clear();
    g_dir = tst_tmpdir();
    cr_assert_not_null(g_dir);
}

static void teardown(void)
{
    plot_release_caches();
    tst_rmtree(g_dir);
    g_dir = NULL;
}

TestSuite(plot, .init = setup, .fini = teardown);

static const char *in_dir(const char *rel)
{
    static char p[4][4300];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", g_dir, rel);
    return p[k];
}

static void write_text(const char *rel, const char *text)
{
    FILE *f = fopen(in_dir(rel), "wb");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* A PNG read back with cairo; checks the signature and the size first. */
static cairo_surface_t *load_png(const char *rel, int width, int height)
{
    const char *path = in_dir(rel);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "missing %s", path);
    unsigned char sig[8] = {0};
    cr_assert_eq(fread(sig, 1, 8, f), 8u);
    fclose(f);
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    cr_assert_eq(memcmp(sig, png_sig, 8), 0, "%s is not a PNG", path);
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    cr_assert_eq(cairo_surface_status(s), CAIRO_STATUS_SUCCESS, "%s: %s", path,
                 cairo_status_to_string(cairo_surface_status(s)));
    cr_assert_eq(cairo_image_surface_get_width(s), width);
    cr_assert_eq(cairo_image_surface_get_height(s), height);
    return s;
}

static void pixel(cairo_surface_t *s, int x, int y, int *r, int *g, int *b)
{
    cairo_surface_flush(s);
    const unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    uint32_t v;
    memcpy(&v, data + (size_t)y * (size_t)stride + 4 * (size_t)x, 4);
    *r = (v >> 16) & 0xff;
    *g = (v >> 8) & 0xff;
    *b = v & 0xff;
}

/* Pixels in the rectangle [x0, x1) x [y0, y1) whose colour is saturated (curves are coloured;
 * background, grid, axes and text are grey). */
static int coloured_pixels(cairo_surface_t *s, int x0, int y0, int x1, int y1)
{
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            int r, g, b;
            pixel(s, x, y, &r, &g, &b);
            int hi = r > g ? (r > b ? r : b) : (g > b ? g : b);
            int lo = r < g ? (r < b ? r : b) : (g < b ? g : b);
            n += hi - lo > 60;
        }
    return n;
}

/* Coloured pixels in the whole data area of a default-size chart. */
static int coloured_in_area(cairo_surface_t *s)
{
    double x0, y0, x1, y1;
    plot_data_area(PLOT_DEFAULT_HEIGHT, PLOT_DEFAULT_WIDTH, &x0, &y0, &x1, &y1);
    return coloured_pixels(s, (int)x0 + 2, (int)y0 + 2, (int)x1 - 2, (int)y1 - 2);
}

static int count_pngs_and_temps(int *temps)
{
    DIR *d = opendir(in_dir("plots"));
    if (!d)
        return 0;
    int n = 0;
    *temps = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".png") == 0)
            n++;
        else if (strstr(e->d_name, ".tmp"))
            (*temps)++;
    }
    closedir(d);
    return n;
}

/* A run logged through runlog: 200 noisy train steps with two loss terms, lr, images/s, and an
 * evaluation every 50 steps. */
static void log_a_run(void)
{
    runlog_options o = {.console = RUNLOG_CONSOLE_OFF};
    runlog *rl = runlog_open(g_dir, 200, &o);
    cr_assert_not_null(rl, "%s", pt_error());
    unsigned seed = 1;
    for (int s = 1; s <= 200; s++) {
        seed = seed * 1103515245u + 12345u;
        double noise = ((seed >> 16) & 0x7fff) / 32768.0 - 0.5;
        double cls = 2.0 * exp(-s / 60.0) + 0.2 * noise, box = 0.5 * exp(-s / 90.0);
        runlog_scalar sc[] = {{"loss", cls + box}, {"loss/cls", cls}, {"loss/box", box},
                              {"lr", s < 20 ? 0.1 * s / 20 : 0.1 * 0.5 * (1 + cos(s / 200.0 * 3.14159))},
                              {"images_per_s", 800 + 40 * noise}};
        cr_assert_eq(runlog_step(rl, s, s / 50, sc, 5), PT_OK);
        if (s % 50 == 0) {
            runlog_scalar ev[] = {{"accuracy", 0.5 + s / 500.0}, {"val loss", 1.0 - s / 400.0}};
            cr_assert_eq(runlog_eval(rl, s, s / 50, ev, 2), PT_OK);
        }
    }
    cr_assert_eq(runlog_close(rl), PT_OK);
}

/* ---------------------------------------------------------------- a whole run */

Test(plot, run_writes_every_chart)
{
    log_a_run();
    int n = plot_run(g_dir, NULL);
    cr_assert_eq(n, 5, "plot_run: %d (%s)", n, pt_error());
    const char *files[] = {"plots/loss.png", "plots/lr.png", "plots/train_images_per_s.png",
                           "plots/eval_accuracy.png", "plots/eval_val_loss.png"};
    for (int i = 0; i < 5; i++) {
        cairo_surface_t *s = load_png(files[i], PLOT_DEFAULT_WIDTH, PLOT_DEFAULT_HEIGHT);
        cr_assert_gt(coloured_in_area(s), 200, "%s has no curve", files[i]);
        cairo_surface_destroy(s);
    }
    int temps = 0;
    cr_assert_eq(count_pngs_and_temps(&temps), 5);
    cr_assert_eq(temps, 0, "no temp file may be left behind");
}

Test(plot, loss_chart_has_one_colour_per_term_and_a_faint_raw_line)
{
    log_a_run();
    cr_assert_eq(plot_run(g_dir, NULL), 5, "%s", pt_error());
    cairo_surface_t *s = load_png("plots/loss.png", PLOT_DEFAULT_WIDTH, PLOT_DEFAULT_HEIGHT);
    /* the three series use tab10 blue, orange and green; each must appear, at full strength
     * (smoothed line) and blended with white (raw line under 25% alpha) */
    const int want[3][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}};
    double x0, y0, x1, y1;
    plot_data_area(PLOT_DEFAULT_HEIGHT, PLOT_DEFAULT_WIDTH, &x0, &y0, &x1, &y1);
    for (int k = 0; k < 3; k++) {
        int strong = 0, faint = 0;
        for (int y = (int)y0 + 2; y < (int)y1 - 2; y++)
            for (int x = (int)x0 + 2; x < (int)x1 - 2; x++) {
                int r, g, b;
                pixel(s, x, y, &r, &g, &b);
                int d = abs(r - want[k][0]) + abs(g - want[k][1]) + abs(b - want[k][2]);
                strong += d < 24;
                int fr = 255 - (255 - want[k][0]) / 4, fg = 255 - (255 - want[k][1]) / 4,
                    fb = 255 - (255 - want[k][2]) / 4;
                faint += abs(r - fr) + abs(g - fg) + abs(b - fb) < 16;
            }
        cr_assert_gt(strong, 100, "series %d: smoothed line missing (%d px)", k, strong);
        cr_assert_gt(faint, 20, "series %d: faint raw line missing (%d px)", k, faint);
    }
    cairo_surface_destroy(s);
}

Test(plot, options_set_the_size)
{
    log_a_run();
    plot_options opt = {.width = 400, .height = 300, .smoothing = -1};
    cr_assert_eq(plot_run(g_dir, &opt), 5, "%s", pt_error());
    cairo_surface_t *s = load_png("plots/loss.png", 400, 300);
    cairo_surface_destroy(s);
}

/* ---------------------------------------------------------------- gaps, single points */

Test(plot, nan_values_leave_a_gap)
{
    double x[101], y[101];
    for (int i = 0; i <= 100; i++) {
        x[i] = i;
        y[i] = (i >= 40 && i <= 60) ? NAN : 0.5;
    }
    plot_series s = {"loss", x, y, 101};
    plot_chart c = {.title = "gap", .xlabel = "step", .ylabel = "loss", .series = &s,
                    .nseries = 1, .x_min = 0, .x_max = 100};
    cr_assert_eq(plot_chart_png(&c, in_dir("gap.png")), PT_OK, "%s", pt_error());
    cairo_surface_t *img = load_png("gap.png", PLOT_DEFAULT_WIDTH, PLOT_DEFAULT_HEIGHT);
    double x0, y0, x1, y1;
    plot_data_area(PLOT_DEFAULT_HEIGHT, PLOT_DEFAULT_WIDTH, &x0, &y0, &x1, &y1);
    int top = (int)y0 + 2, bottom = (int)y1 - 2;
    int at20 = (int)(x0 + 0.20 * (x1 - x0)), at50 = (int)(x0 + 0.50 * (x1 - x0)),
        at80 = (int)(x0 + 0.80 * (x1 - x0));
    cr_assert_gt(coloured_pixels(img, at20 - 3, top, at20 + 3, bottom), 0, "line at step 20");
    cr_assert_gt(coloured_pixels(img, at80 - 3, top, at80 + 3, bottom), 0, "line at step 80");
    cr_assert_eq(coloured_pixels(img, at50 - 3, top, at50 + 3, bottom), 0, "gap at step 50");
    cairo_surface_destroy(img);
}

Test(plot, a_single_point_is_drawn_as_a_dot)
{
    write_text("metrics.jsonl", "{\"kind\":\"train\",\"step\":3,\"epoch\":0,\"time\":1.0,"
                                "\"loss\":0.7}\n");
    cr_assert_eq(plot_run(g_dir, NULL), 1, "%s", pt_error());
    cairo_surface_t *s = load_png("plots/loss.png", PLOT_DEFAULT_WIDTH, PLOT_DEFAULT_HEIGHT);
    cr_assert_gt(coloured_in_area(s), 10, "the one point must be visible");
    cairo_surface_destroy(s);
}

Test(plot, isolated_points_between_gaps_are_dots)
{
    double x[5] = {0, 1, 2, 3, 4}, y[5] = {NAN, NAN, 1.0, NAN, NAN};
    double x2[2] = {0, 4}, y2[2] = {0, 2};
    plot_series s[2] = {{"lonely", x, y, 5}, {"ref", x2, y2, 2}};
    plot_chart c = {.series = s, .nseries = 2};
    cr_assert_eq(plot_chart_png(&c, in_dir("dot.png")), PT_OK, "%s", pt_error());
    cairo_surface_t *img = load_png("dot.png", PLOT_DEFAULT_WIDTH, PLOT_DEFAULT_HEIGHT);
    double x0, y0, x1, y1;
    plot_data_area(PLOT_DEFAULT_HEIGHT, PLOT_DEFAULT_WIDTH, &x0, &y0, &x1, &y1);
    int cx = (int)((x0 + x1) / 2), cy = (int)((y0 + y1) / 2);
    int blue = 0;
    for (int y = cy - 6; y <= cy + 6; y++)
        for (int x = cx - 6; x <= cx + 6; x++) {
            int r, g, b;
            pixel(img, x, y, &r, &g, &b);
            blue += b > 150 && r < 100;
        }
    cr_assert_gt(blue, 4, "a dot at the centre (step 2, value 1)");
    cairo_surface_destroy(img);
}

/* ---------------------------------------------------------------- edge cases */

Test(plot, empty_metrics_file_writes_nothing)
{
    write_text("metrics.jsonl", "");
    cr_assert_eq(plot_run(g_dir, NULL), 0, "%s", pt_error());
    cr_assert_eq(access(in_dir("plots"), F_OK), -1, "no plots/ for an empty run");
}

Test(plot, missing_metrics_file_is_an_error)
{
    cr_assert_eq(plot_run(g_dir, NULL), -1);
    cr_assert_not_null(strstr(pt_error(), "metrics.jsonl"), "%s", pt_error());
}

Test(plot, only_nan_values_give_empty_valid_axes)
{
    write_text("metrics.jsonl",
               "{\"kind\":\"train\",\"step\":1,\"loss\":null,\"nonfinite\":{\"loss\":\"nan\"}}\n"
               "{\"kind\":\"train\",\"step\":2,\"loss\":null,\"nonfinite\":{\"loss\":\"inf\"}}\n");
    cr_assert_eq(plot_run(g_dir, NULL), 1, "%s", pt_error());
    cairo_surface_t *s = load_png("plots/loss.png", PLOT_DEFAULT_WIDTH, PLOT_DEFAULT_HEIGHT);
    double x0, y0, x1, y1;
    plot_data_area(PLOT_DEFAULT_HEIGHT, PLOT_DEFAULT_WIDTH, &x0, &y0, &x1, &y1);
    /* no curve (the legend, top right, still names the series) */
    cr_assert_gt(coloured_in_area(s), 0, "the legend's colour sample");
    cr_assert_eq(coloured_pixels(s, (int)x0 + 2, (int)y0 + 80, (int)x1 - 2, (int)y1 - 2), 0,
                 "nothing to draw");
    /* but the chart is drawn: the centre carries the "no finite values" note in grey */
    int cx = (int)((x0 + x1) / 2), cy = (int)((y0 + y1) / 2), dark = 0;
    for (int y = cy - 10; y <= cy + 10; y++)
        for (int x = cx - 70; x <= cx + 70; x++) {
            int r, g, b;
            pixel(s, x, y, &r, &g, &b);
            dark += r < 160;
        }
    cr_assert_gt(dark, 20, "the note is written");
    cairo_surface_destroy(s);
}

Test(plot, torn_and_garbage_lines_are_skipped)
{
    write_text("metrics.jsonl",
               "{\"kind\":\"train\",\"step\":1,\"loss\":1.0}\n"
               "not json at all\n"
               "{\"kind\":\"train\",\"loss\":5.0}\n"            /* no step */
               "{\"kind\":\"train\",\"step\":2,\"loss\":0.5} trailing\n"
               "{\"kind\":\"train\",\"step\":3,\"loss\":0.25}\n"
               "{\"kind\":\"eval\",\"step\":3,\"acc\":0.5}\n"
               "{\"kind\":\"train\",\"step\":4,\"lo");            /* torn */
    cr_assert_eq(plot_run(g_dir, NULL), 2, "%s", pt_error());
    cairo_surface_t *s = load_png("plots/loss.png", PLOT_DEFAULT_WIDTH, PLOT_DEFAULT_HEIGHT);
    cr_assert_gt(coloured_in_area(s), 50);
    cairo_surface_destroy(s);
    s = load_png("plots/eval_acc.png", PLOT_DEFAULT_WIDTH, PLOT_DEFAULT_HEIGHT);
    cairo_surface_destroy(s);
}

Test(plot, file_names_are_safe_and_unique)
{
    write_text("metrics.jsonl",
               "{\"kind\":\"eval\",\"step\":1,\"a/b\":1,\"a_b\":2,\"../x\":3}\n"
               "{\"kind\":\"eval\",\"step\":2,\"a/b\":2,\"a_b\":1,\"../x\":4}\n");
    cr_assert_eq(plot_run(g_dir, NULL), 3, "%s", pt_error());
    cr_assert_eq(access(in_dir("plots/eval_a_b.png"), F_OK), 0);
    cr_assert_eq(access(in_dir("plots/eval_a_b-2.png"), F_OK), 0);
    cr_assert_eq(access(in_dir("plots/eval_.._x.png"), F_OK), 0);
}

Test(plot, plots_path_that_is_a_file_is_reported)
{
    log_a_run();
    write_text("plots", "in the way");
    cr_assert_eq(plot_run(g_dir, NULL), -1);
    cr_assert_not_null(strstr(pt_error(), "plots"), "%s", pt_error());
    cr_assert_not_null(strstr(pt_error(), "not a directory"), "%s", pt_error());
}

Test(plot, bad_chart_arguments_are_reported)
{
    plot_chart c = {.width = 10, .height = 10};
    cr_assert_eq(plot_chart_png(&c, in_dir("tiny.png")), PT_ERR);
    cr_assert_not_null(strstr(pt_error(), "size 10x10"), "%s", pt_error());
    cr_assert_eq(access(in_dir("tiny.png"), F_OK), -1);
    plot_chart empty = {0};
    cr_assert_eq(plot_chart_png(&empty, in_dir("empty.png")), PT_OK, "%s", pt_error());
    cairo_surface_t *s = load_png("empty.png", PLOT_DEFAULT_WIDTH, PLOT_DEFAULT_HEIGHT);
    cairo_surface_destroy(s);
}

Test(plot, replotting_replaces_the_files)
{
    log_a_run();
    cr_assert_eq(plot_run(g_dir, NULL), 5);
    struct stat a, b;
    cr_assert_eq(stat(in_dir("plots/loss.png"), &a), 0);
    cr_assert_eq(plot_run(g_dir, NULL), 5);
    cr_assert_eq(stat(in_dir("plots/loss.png"), &b), 0);
    cr_assert_neq(a.st_ino, b.st_ino, "a new file renamed over the old one");
    int temps = 0;
    cr_assert_eq(count_pngs_and_temps(&temps), 5);
    cr_assert_eq(temps, 0);
}

Test(plot, extreme_values_still_give_a_chart)
{
    double x[6] = {0, 1, 2, 3, 4, 5}, y[6] = {1e308, -1e308, 1e-308, 0, 5, DBL_MAX};
    double xc[3] = {1e15, 1e15, 1e15}, yc[3] = {2, 2, 2};
    plot_series s[2] = {{"wild", x, y, 6}, {"constant", xc, yc, 3}};
    plot_chart c = {.series = s, .nseries = 1, .smoothing = -1};
    cr_assert_eq(plot_chart_png(&c, in_dir("wild.png")), PT_OK, "%s", pt_error());
    c.series = &s[1];
    cr_assert_eq(plot_chart_png(&c, in_dir("constant.png")), PT_OK, "%s", pt_error());
    cairo_surface_t *img = load_png("constant.png", PLOT_DEFAULT_WIDTH, PLOT_DEFAULT_HEIGHT);
    cr_assert_gt(coloured_in_area(img), 10);
    cairo_surface_destroy(img);
}
