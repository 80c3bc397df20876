/* test_synth_portrait.c - the synthetic RGB-D portrait set (data/synth/synth_portrait.c): the
 * person is near in the depth map and the background farther, values in [0, 1], the mask is the
 * pasted person, the same seed gives the same item, the sensor variant has holes (0) and noise,
 * and the whole data set written from two small folders (split sides, store columns).
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec/image.h"
#include "helpers.h"
#include "store/store.h"
#include "synth/synth_portrait.h"

static char *g_dir;
static void setup(void) { g_dir = tst_tmpdir(); }
static void teardown(void) { tst_rmtree(g_dir); }
TestSuite(synth_portrait, .init = setup, .fini = teardown, .timeout = 120);

/* A 90x60 "person": a red ellipse on green, its mask; a 70x100 blue-ish gradient background. */
static uint8_t g_prgb[90 * 60 * 3], g_pmask[90 * 60], g_brgb[70 * 100 * 3];
static void make_sources(synth_person *p, synth_background *b)
{
    for (int y = 0; y < 90; y++)
        for (int x = 0; x < 60; x++) {
            double u = (x - 30) / 22.0, v = (y - 45) / 40.0;
            int in = u * u + v * v <= 1;
            g_pmask[y * 60 + x] = in ? 255 : 0;
            uint8_t *px = g_prgb + (y * 60 + x) * 3;
            px[0] = in ? 220 : 0, px[1] = in ? 20 : 200, px[2] = 10;
        }
    for (int i = 0; i < 70 * 100; i++)
        g_brgb[3 * i] = 10, g_brgb[3 * i + 1] = 40, g_brgb[3 * i + 2] = (uint8_t)(100 + i % 100);
    *p = (synth_person){g_prgb, g_pmask, 90, 60};
    *b = (synth_background){g_brgb, 70, 100};
}

Test(synth_portrait, person_is_near_values_in_range_mask_is_the_person)
{
    synth_person p;
    synth_background b;
    make_sources(&p, &b);
    char err[256];
    for (int64_t idx = 0; idx < 12; idx++) {
        sample s;
        sample_init(&s);
        cr_assert_eq(synth_portrait_compose(&p, &b, 64, 7, 0, idx, 0, &s, err, sizeof err), 0,
                     "%s", err);
        cr_assert(s.h == 64 && s.w == 64 && s.c == 3 && s.mask && s.depth);
        double fg_max = 0, bg_min = 1;
        int64_t fg = 0, red = 0;
        for (int i = 0; i < 64 * 64; i++) {
            cr_assert(s.depth[i] >= 0 && s.depth[i] <= 1, "depth %g", s.depth[i]);
            cr_assert(s.mask[i] <= 1);
            if (s.mask[i]) {
                fg++;
                fg_max = fmax(fg_max, s.depth[i]);
                red += s.image[3 * i] > 150 && s.image[3 * i + 1] < 100;
            } else {
                bg_min = fmin(bg_min, s.depth[i]);
            }
        }
        cr_assert_gt(fg, 64 * 64 / 20, "item %lld: person of %lld pixels", (long long)idx,
                     (long long)fg);
        cr_assert_geq(red, fg * 9 / 10, "the mask covers the red person (%lld of %lld)",
                      (long long)red, (long long)fg);
        cr_assert_leq(fg_max, 0.25 + 0.03 + 1e-6, "person depth up to %g", fg_max);
        cr_assert_geq(bg_min, fg_max + 0.1 - 0.03 - 1e-6, "background %g vs person %g", bg_min,
                      fg_max);
        sample_free(&s);
    }
}

Test(synth_portrait, deterministic_for_a_seed_and_sensor_variant)
{
    synth_person p;
    synth_background b;
    make_sources(&p, &b);
    char err[256];
    sample a, c, d, s;
    sample_init(&a), sample_init(&c), sample_init(&d), sample_init(&s);
    cr_assert_eq(synth_portrait_compose(&p, &b, 80, 3, 1, 5, 0, &a, err, sizeof err), 0);
    cr_assert_eq(synth_portrait_compose(&p, &b, 80, 3, 1, 5, 0, &c, err, sizeof err), 0);
    cr_assert_eq(synth_portrait_compose(&p, &b, 80, 4, 1, 5, 0, &d, err, sizeof err), 0);
    cr_assert_eq(synth_portrait_compose(&p, &b, 80, 3, 1, 5, 1, &s, err, sizeof err), 0);
    const size_t n = 80 * 80;
    cr_assert_eq(memcmp(a.image, c.image, 3 * n), 0);
    cr_assert_eq(memcmp(a.mask, c.mask, n), 0);
    cr_assert_eq(memcmp(a.depth, c.depth, n * sizeof(float)), 0);
    cr_assert_neq(memcmp(a.depth, d.depth, n * sizeof(float)), 0, "another seed differs");
    /* sensor: same picture and mask, holes and noise in the depth */
    cr_assert_eq(memcmp(a.image, s.image, 3 * n), 0);
    cr_assert_eq(memcmp(a.mask, s.mask, n), 0);
    int64_t holes = 0;
    double err_sum = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert(s.depth[i] >= 0 && s.depth[i] <= 1);
        if (s.depth[i] == 0)
            holes++;
        else
            err_sum += fabs(s.depth[i] - a.depth[i]);
    }
    cr_assert_gt(holes, 10, "holes: %lld", (long long)holes);
    double mean = err_sum / (double)(n - (size_t)holes);
    cr_assert(mean > 0.003 && mean < 0.05, "sensor noise mean |diff| %g", mean);
    sample_free(&a), sample_free(&c), sample_free(&d), sample_free(&s);
}

static void write_png(const char *dir, const char *name, const uint8_t *px, int h, int w, int c)
{
    char path[4200], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(image_write_png(path, px, h, w, c, err, sizeof err), 0, "%s", err);
}

Test(synth_portrait, data_set_from_folders)
{
    synth_person p;
    synth_background b;
    make_sources(&p, &b);
    char people[4200], im[4300], ma[4300], bgs[4200], out[4200], err[512];
    snprintf(people, sizeof people, "%s/people", g_dir);
    snprintf(im, sizeof im, "%s/images", people);
    snprintf(ma, sizeof ma, "%s/masks", people);
    snprintf(bgs, sizeof bgs, "%s/bg", g_dir);
    mkdir(people, 0755), mkdir(im, 0755), mkdir(ma, 0755), mkdir(bgs, 0755);
    for (int k = 0; k < 6; k++) {
        char name[64];
        snprintf(name, sizeof name, "%d.png", k);
        write_png(im, name, g_prgb, 90, 60, 3);
        write_png(ma, name, g_pmask, 90, 60, 1);
        snprintf(name, sizeof name, "cat0%d_00000%d.png", k % 2, k / 2); /* 3 photo ids */
        write_png(bgs, name, g_brgb, 70, 100, 3);
    }
    snprintf(out, sizeof out, "%s/train.h5", g_dir);
    synth_portrait_options o = {.people_dir = people, .backgrounds_dir = bgs, .out = out,
                                .n = 9, .size = 48, .seed = 1};
    int64_t written = 0;
    cr_assert_eq(synth_portrait(&o, &written, err, sizeof err), 0, "%s", err);
    cr_assert_eq(written, 9);
    store_reader *r = store_open(out, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_assert_eq(store_count(r), 9);
    const store_layout *l = store_layout_of(r);
    cr_assert(l->o.annotations & STORE_DEPTH);
    cr_assert(l->o.annotations & STORE_MASK);
    for (int64_t i = 0; i < 9; i++) {
        cr_assert(store_groups(r)[i] >= 0 && store_groups(r)[i] < 4, "train people: 4 of 6");
        sample s;
        sample_init(&s);
        cr_assert_eq(store_read(r, i, STORE_READ_ALL, &s, err, sizeof err), 0, "%s", err);
        cr_assert(s.depth && s.mask && s.h == 48);
        sample_free(&s);
    }
    store_close(r);
    /* the test side: people 0 and 5, photo id 0 only */
    o.test = 1;
    cr_assert_eq(synth_portrait(&o, &written, err, sizeof err), 0, "%s", err);
    /* no people folder */
    o.people_dir = bgs;
    cr_assert_eq(synth_portrait(&o, &written, err, sizeof err), 1);
    cr_assert(strstr(err, "images/ and masks/"), "%s", err);
}
