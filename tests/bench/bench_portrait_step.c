/*
 * bench_portrait_step.c - time one `portrait` training step (seed 001) as `pictor train` runs it:
 * the driver's own forward and loss (drv_portrait: the MODNet-like segmentation network and the
 * depth network of pnet.h, semantic_w L_s + detail_w L_d + fusion_w L_f of
 * losses/modnet_binary.h + depth_w L_nll of losses/laplace_nll.h), reading the loss and each
 * term, backward, the gradient norm clip and the optimizer step (tests/bench/bench_step.h). The
 * model, loss and optimizer settings come from a config file (default
 * configs/portrait/synth_mbv3.yaml: MobileNetV3-small backbones, width 32, depth network on,
 * Adam), bound with the driver's tables as the trainer binds them; no dataset is opened.
 *
 * The batch is fixed and built once before timing: B composites of `pictor portrait synth`'s
 * generator (data/synth/synth_portrait.h, synth_portrait_compose: the person pasted over the
 * background, its mask, the depth layouts; seed 0, train split, items 0 .. B-1) at the config's
 * image size, collated by the driver's collate (normalisation and the mask / depth / valid /
 * image-weight targets in C, as the loader's workers do). The people and backgrounds are drawn
 * here, deterministically, instead of read from the photo folders: two figures (an ellipse head
 * on a trunk with arms, or a wider one), shaded, and three backgrounds (gradients, stripes,
 * blocks). Their content does not change the work of a step, only the loss values.
 *
 *   bench_portrait_step [--config PATH] [--threads N] [--steps N] [--warmup N] [--batch B]
 *                       [--write FILE]
 *
 * Prints "c_step_ms=<median>" and the medians of the parts (c_forward_ms: forward + loss +
 * reading the terms, c_backward_ms, c_optim_ms: clip + Adam). --write FILE: before timing, also
 * save the batch (images, mask, depth, valid, weight) and, as metadata, every setting the step
 * depends on, for the same step in PyTorch (tests/bench/portrait_step.py reads it);
 * run_benchmarks.sh runs both, interleaved, and prints portrait_step_speed_vs_python.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/driver.h"
#include "core/optim_setup.h"
#include "models/portrait/portrait_model.h"
#include "synth/synth_portrait.h"
#include "bench_step.h"

#define WHO "bench_portrait_step"

/* ------------------------------------------------------------------ the drawn photos */

/* Inside the ellipse of centre (cx, cy) and radii (rx, ry)? */
static int in_ellipse(double x, double y, double cx, double cy, double rx, double ry)
{
    double u = (x - cx) / rx, v = (y - cy) / ry;
    return u * u + v * v <= 1;
}

/* Figure k (0 or 1) on an h x w canvas: a head, a trunk and (k = 0) two arms; rgb shaded by
 * part and position, mask 0/255. */
static void draw_person(int k, int h, int w, uint8_t *rgb, uint8_t *mask)
{
    const double cx = 0.5 * w, bw = k ? 0.42 * w : 0.3 * w;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int head = in_ellipse(x, y, cx, 0.13 * h, 0.16 * w, 0.11 * h);
            int trunk = in_ellipse(x, y, cx, 0.62 * h, bw, 0.4 * h);
            int arms = !k && (in_ellipse(x, y, cx - 0.36 * w, 0.5 * h, 0.09 * w, 0.26 * h) ||
                              in_ellipse(x, y, cx + 0.36 * w, 0.5 * h, 0.09 * w, 0.26 * h));
            size_t i = (size_t)y * w + x;
            mask[i] = head || trunk || arms ? 255 : 0;
            uint8_t *p = rgb + 3 * i;
            if (head)
                p[0] = 224, p[1] = (uint8_t)(170 + 30 * x / w), p[2] = 140;
            else if (trunk || arms)
                p[0] = (uint8_t)(k ? 40 : 180), p[1] = (uint8_t)(60 + 120 * y / h),
                p[2] = (uint8_t)((y / 6) % 2 ? 200 : 90);
            else
                p[0] = p[1] = p[2] = 0;
        }
}

/* Background k (0 .. 2) on an h x w canvas: a vertical gradient, diagonal stripes, or blocks. */
static void draw_background(int k, int h, int w, uint8_t *rgb)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgb + 3 * ((size_t)y * w + x);
            if (k == 0)
                p[0] = (uint8_t)(80 + 150 * y / h), p[1] = (uint8_t)(120 + 100 * x / w), p[2] = 200;
            else if (k == 1)
                p[0] = p[1] = (uint8_t)((x + y) / 9 % 2 ? 210 : 60), p[2] = (uint8_t)(255 * y / h);
            else
                p[0] = (uint8_t)(x / 23 * 47 % 256), p[1] = (uint8_t)(y / 19 * 71 % 256),
                p[2] = (uint8_t)((x / 23 + y / 19) * 35 % 256);
        }
}

enum { PERSON_H = 150, PERSON_W = 90, BG_H = 180, BG_W = 240 };

/* B composites at size px (see the header), collated by the driver. 0, or -1 (printed). */
static int make_batch(const driver *d, const drv_env *env, int n, int size, collated_batch *out)
{
    uint8_t *prgb = malloc(2 * PERSON_H * PERSON_W * 3), *pmask = malloc(2 * PERSON_H * PERSON_W);
    uint8_t *brgb = malloc(3 * BG_H * BG_W * 3);
    sample *smp = calloc((size_t)n, sizeof *smp);
    char err[1024];
    int rc = prgb && pmask && brgb && smp ? 0 : (snprintf(err, sizeof err, "out of memory"), -1);
    synth_person people[2];
    synth_background bgs[3];
    for (int k = 0; !rc && k < 2; k++) {
        people[k] = (synth_person){.rgb = prgb + (size_t)k * PERSON_H * PERSON_W * 3,
                                   .mask = pmask + (size_t)k * PERSON_H * PERSON_W,
                                   .h = PERSON_H, .w = PERSON_W};
        draw_person(k, PERSON_H, PERSON_W, (uint8_t *)people[k].rgb, (uint8_t *)people[k].mask);
    }
    for (int k = 0; !rc && k < 3; k++) {
        bgs[k] = (synth_background){.rgb = brgb + (size_t)k * BG_H * BG_W * 3, .h = BG_H,
                                    .w = BG_W};
        draw_background(k, BG_H, BG_W, (uint8_t *)bgs[k].rgb);
    }
    for (int i = 0; smp && i < n; i++)
        sample_init(&smp[i]);
    for (int i = 0; !rc && i < n; i++) {
        rc = synth_portrait_compose(&people[i % 2], &bgs[i % 3], size, 0, 0, i, 0, &smp[i], err,
                                    sizeof err);
        smp[i].index = i;
    }
    rc = bench_collate(WHO, d, env, smp, n, out, rc, err, sizeof err);
    for (int i = 0; smp && i < n; i++)
        sample_free(&smp[i]);
    free(smp), free(prgb), free(pmask), free(brgb);
    return rc;
}

/* ------------------------------------------------------------------ the PyTorch side's inputs */

/* The batch and the settings of the step into a safetensors file for the PyTorch side. */
static int write_inputs(const char *path, const settings *c, const portrait_cfg *pc,
                        const collated_batch *b)
{
    static const char *const names[4] = {"mask", "depth", "valid", "weight"};
    pt_dict *dict = pt_dict_new();
    int ok = dict && b->n_targets == 4 && pt_dict_put(dict, "images", pt_clone(b->images)) == PT_OK;
    for (int t = 0; ok && t < 4; t++)
        ok = pt_dict_put(dict, names[t], pt_clone(b->targets[t])) == PT_OK;
    const bench_num nums[] = {
        {"width", (double)pc->model.width}, {"depth_net", pc->model.depth_net},
        {"semantic_weight", pc->loss.semantic}, {"detail_weight", pc->loss.detail},
        {"fusion_weight", pc->loss.fusion}, {"depth_weight", pc->loss.depth},
        {"band_radius", (double)pc->loss.band_radius},
        {"log_sigma_bound", pc->loss.log_sigma_bound},
    };
    ok = ok && !bench_put_nums(dict, nums, sizeof nums / sizeof *nums) &&
         !bench_put_optim_meta(dict, c);
    ok = ok && pt_dict_set_meta(dict, "backbone", pnet_backbone_names[pc->model.backbone]) == PT_OK &&
         pt_dict_set_meta(dict, "depth_backbone",
                          pnet_backbone_names[pc->model.depth_backbone]) == PT_OK &&
         pt_safetensors_save(dict, path) == PT_OK;
    if (!ok)
        fprintf(stderr, WHO ": writing %s: %s\n", path,
                b->n_targets == 4 ? pt_error() : "the batch has no portrait targets");
    pt_dict_free(dict);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    bench_opts o = {.config = "configs/portrait/synth_mbv3.yaml", .threads = 1, .steps = 10,
                    .warmup = 2, .size = 128};
    if (bench_parse(WHO, argc, argv, &o))
        return 1;
    static const char *const fg[1] = {"person"};
    bench_model m;
    collated_batch b;
    memset(&b, 0, sizeof b);
    int rc = bench_model_open(&m, WHO, "portrait", &o,
                              (drv_env){.in_channels = 3, .num_classes = 1, .class_names = fg});
    rc = rc ? rc : make_batch(m.d, &m.env, m.batch, m.size, &b) ? 2
         : o.write && write_inputs(o.write, &m.c, m.mc, &b) ? 2 : 0;
    if (!rc)
        printf("portrait step (pictor): %s, %lld parameters, batch %d, %dx%d, %d threads\n",
               o.config, (long long)m.n_params, m.batch, m.size, m.size, o.threads);
    for (int i = 0; !rc && i < o.warmup + o.steps; i++)
        rc = bench_model_step(&m, WHO, &o, &b, i);
    if (!rc)
        bench_print_parts(m.t, o.steps);
    collated_batch_free(&b);
    bench_model_close(&m);
    return rc;
}
