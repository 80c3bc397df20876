/* bench_polar_targets.c - speed of the PolarMask targets (data/polar_targets.c) on synthetic
 * multi-instance images, for the comparison with a straightforward Python/NumPy port of
 * PolarMask's target code (tests/reference/polar_targets_ref.py) that run_benchmarks.sh makes.
 *
 * Owns only this measurement and the images it is made on: N images of S x S pixels, each with
 * 3-8 random ellipses and star polygons (some cut by the image frame), 10 classes, later shapes
 * occluding earlier ones (so instances can break into pieces or vanish). The same images go to
 * the Python side through --write DIR: DIR/masks.bin (the instance masks) and DIR/targets.bin
 * (pictor's classes and rays, for the sanity comparison the script prints).
 *
 *   bench_polar_targets [--images N] [--size S] [--passes P] [--seed K] [--write DIR]
 *
 * Prints the image set, then c_image_ms=<median over P passes of (pass time / N)>: single
 * threaded, the way a loader thread computes one image's targets.
 *
 * masks.bin:   "PMSK", int32 n_images, h, w; per image int32 n_instances, then per instance
 *              int32 class_id and h * w bytes (0/1). Little-endian (the host's).
 * targets.bin: "PTGT", int32 n_images, N (locations), R (rays); per image N int32 classes
 *              (-1 background) and N * R float32 rays.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "targets/polar_targets.h"
#include "geometry/raster.h"
#include "base/rng.h"
#include "pipeline/sample.h"
#include "bench_util.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_polar_targets: %s\n", what);
    exit(2);
}

/* One random shape as a polygon: an ellipse (48 vertices) or a star (7-12 spikes). */
static int random_shape(prng *r, int side, float *xy)
{
    double cx = prng_range(r, 0, side), cy = prng_range(r, 0, side);
    double size = prng_range(r, side / 32.0, side / 4.0);
    double rot = prng_range(r, 0, M_PI);
    if (prng_below(r, 2) == 0) {
        double a = size, b = size * prng_range(r, 0.35, 1.0);
        for (int i = 0; i < 48; i++) {
            double t = 2 * M_PI * i / 48, ex = a * cos(t), ey = b * sin(t);
            xy[2 * i] = (float)(cx + ex * cos(rot) - ey * sin(rot));
            xy[2 * i + 1] = (float)(cy + ex * sin(rot) + ey * cos(rot));
        }
        return 48;
    }
    int spikes = 7 + (int)prng_below(r, 6);
    for (int i = 0; i < 2 * spikes; i++) {
        double t = rot + M_PI * i / spikes;
        double rad = size * (i % 2 ? prng_range(r, 0.35, 0.7) : prng_range(r, 0.8, 1.0));
        xy[2 * i] = (float)(cx + rad * sin(t));
        xy[2 * i + 1] = (float)(cy + rad * cos(t));
    }
    return 2 * spikes;
}

static void make_image(sample *s, int side, uint64_t seed, int index)
{
    uint64_t keys[2] = {seed, (uint64_t)index};
    prng r;
    prng_seed_keys(&r, keys, 2);
    sample_init(s);
    s->h = s->w = side;
    int n = 3 + (int)prng_below(&r, 6);
    if (!(s->instances = calloc((size_t)n, sizeof *s->instances)))
        die("out of memory");
    s->n_instances = n;
    size_t np = (size_t)side * side;
    float xy[2 * 48];
    for (int k = 0; k < n; k++) {
        instance *in = &s->instances[k];
        in->class_id = (int32_t)prng_below(&r, 10);
        if (!(in->mask = calloc(np, 1)))
            die("out of memory");
        int nv = random_shape(&r, side, xy);
        if (raster_polygon(in->mask, side, side, xy, nv, RASTER_EVEN_ODD, 1))
            die("raster");
        for (int q = 0; q < k; q++) /* the new shape is in front */
            for (size_t p = 0; p < np; p++)
                if (in->mask[p])
                    s->instances[q].mask[p] = 0;
    }
}

static void write_i32(FILE *f, int32_t v)
{
    if (fwrite(&v, sizeof v, 1, f) != 1)
        die("write failed");
}

int main(int argc, char **argv)
{
    int n_images = 64, side = 256, passes = 10;
    uint64_t seed = 5;
    const char *write_dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--images") && i + 1 < argc)
            n_images = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc)
            side = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--passes") && i + 1 < argc)
            passes = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--write") && i + 1 < argc)
            write_dir = argv[++i];
        else {
            fprintf(stderr, "usage: bench_polar_targets [--images N] [--size S] [--passes P] "
                            "[--seed K] [--write DIR]\n");
            return 1;
        }
    }
    if (n_images < 1 || side < 16 || side > 4096 || passes < 1)
        die("need --images >= 1, --size 16..4096, --passes >= 1");

    polar_config cfg;
    polar_config_default(&cfg);
    int64_t n_loc = polar_num_locations(&cfg, side, side);
    int r = cfg.num_rays;
    sample *img = calloc((size_t)n_images, sizeof *img);
    int32_t *cls = malloc((size_t)n_loc * sizeof *cls);
    float *rays = malloc((size_t)n_loc * r * sizeof *rays);
    float *cnt = malloc((size_t)n_loc * sizeof *cnt);
    int lc = cfg.contour_level, hc, wc;
    polar_level_grid(&cfg, lc, side, side, &hc, &wc, NULL);
    float *contour = malloc((size_t)hc * wc * sizeof *contour);
    double *pass_ms = malloc((size_t)passes * sizeof *pass_ms);
    if (!img || !cls || !rays || !cnt || !contour || !pass_ms)
        die("out of memory");
    for (int i = 0; i < n_images; i++)
        make_image(&img[i], side, seed, i);

    polar_targets out = {cls, rays, cnt, contour, NULL};
    char err[256];
    long instances = 0, positives = 0, used = 0, empty = 0, fallback = 0, floored = 0;
    FILE *fm = NULL, *ft = NULL;
    if (write_dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/masks.bin", write_dir);
        fm = fopen(path, "wb");
        snprintf(path, sizeof path, "%s/targets.bin", write_dir);
        ft = fopen(path, "wb");
        if (!fm || !ft)
            die("cannot create masks.bin / targets.bin in the --write directory");
        fwrite("PMSK", 1, 4, fm), write_i32(fm, n_images), write_i32(fm, side),
            write_i32(fm, side);
        fwrite("PTGT", 1, 4, ft), write_i32(ft, n_images), write_i32(ft, (int32_t)n_loc),
            write_i32(ft, r);
    }
    /* one untimed pass: counts, and the files for the Python side */
    for (int i = 0; i < n_images; i++) {
        polar_stats st;
        if (polar_targets_compute(&cfg, &img[i], &out, &st, err, sizeof err))
            die(err);
        instances += img[i].n_instances;
        positives += st.positives;
        used += st.instances_used;
        empty += st.skipped_empty;
        fallback += st.fallback;
        floored += (long)st.floored_rays;
        if (fm) {
            write_i32(fm, img[i].n_instances);
            for (int k = 0; k < img[i].n_instances; k++) {
                write_i32(fm, img[i].instances[k].class_id);
                if (fwrite(img[i].instances[k].mask, 1, (size_t)side * side, fm) !=
                    (size_t)side * side)
                    die("write failed");
            }
            if (fwrite(cls, sizeof *cls, (size_t)n_loc, ft) != (size_t)n_loc ||
                fwrite(rays, sizeof *rays, (size_t)n_loc * r, ft) != (size_t)n_loc * r)
                die("write failed");
        }
    }
    if (fm && fclose(fm))
        die("write failed");
    if (ft && fclose(ft))
        die("write failed");
    printf("images: %d of %dx%d, %.2f instances/image (%.2f empty after occlusion), "
           "%.1f positives/image, %ld instances used, %ld by the nearest-location fallback, "
           "%ld of %ld rays meet no contour (floor)\n",
           n_images, side, side, (double)instances / n_images, (double)empty / n_images,
           (double)positives / n_images, used, fallback, floored, positives * r);

    for (int p = 0; p < passes; p++) {
        double t0 = now();
        for (int i = 0; i < n_images; i++)
            if (polar_targets_compute(&cfg, &img[i], &out, NULL, err, sizeof err))
                die(err);
        pass_ms[p] = (now() - t0) * 1e3 / n_images;
    }
    qsort(pass_ms, (size_t)passes, sizeof *pass_ms, cmp_double);
    printf("c_image_ms=%.4f\n", pass_ms[passes / 2]);

    for (int i = 0; i < n_images; i++)
        sample_free(&img[i]);
    free(img), free(cls), free(rays), free(cnt), free(contour), free(pass_ms);
    return 0;
}
