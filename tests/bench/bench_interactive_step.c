/*
 * bench_interactive_step.c - time one training step of the `interactive` model (seed 000) as
 * `pictor train` runs it: the driver's own loss (drv_interactive.c: part 1 once, the RPN loss on
 * its anchors, the first tap at the pixel deepest inside the object, E simulated correction taps
 * under no-grad in eval mode, each a pass of part 2 + assembling whose prediction places the next
 * tap and is the next pass's previous-mask map, then the final pass with gradient and the mask
 * loss), reading the loss and each term, backward, the gradient norm clip and the optimizer step
 * with the trainer's two groups (tests/bench/bench_step.h). Model, loss and optimizer settings
 * come from a config file (default configs/interactive/mval_r18.yaml: ResNet-18, 3x3 cells,
 * decoder width 64, previous-mask map, AdamW), bound with the driver's tables; no data set is
 * opened.
 *
 * The batch is fixed and built once before timing: the first B scenes of the synthetic `shapes`
 * train split at the config's data.image_size (160), collated by the driver's collate (the object
 * of each image is one of its instances, chosen by the item's index, as for an instance set).
 *
 * WHAT IS FIXED. A training step draws from the model's generator: the RPN's anchor sample of each
 * image, the number E of simulated taps (0 .. model.max_extra_taps) and the jitter of each
 * image's rectangle. The bench restores the generator to the same state before every step, so
 * every step draws the same sample, the same E and the same rectangles (with a free E the step
 * time would swing by a part-2 pass from step to step). The taps themselves stay the driver's:
 * the first is deterministic, the later ones follow the model's prediction, so their positions
 * may move as the weights change, but not their number or cost.
 *
 *   bench_interactive_step [--config PATH] [--threads N] [--steps N] [--warmup N] [--batch B]
 *                          [--write FILE]
 *
 * Prints the median ms of the timed steps as "c_step_ms=<ms>" and the medians of its parts as
 * c_forward_ms (zero_grad + the whole loss: part 1, RPN targets and loss, the E no-grad passes
 * and tap placements, the final pass, the mask loss; + reading the terms), c_backward_ms and
 * c_optim_ms (clip + step).
 * --write FILE: before timing, also save for the PyTorch side (tests/bench/interactive_step.py)
 * the batch (images, gt: the object as NOC_* codes, keep: 1 per image with an object), what the
 * generator gives in every step (rpn_label [B, A*h8*w8]: 1 / 0 sampled positive / negative, -1
 * not sampled; rpn_deltas [B, A*h8*w8, 4]; boxes [B, 4]: the jittered rectangles; extra_taps: E)
 * replayed here from the saved state in ia_loss's order (per image with an object rpn_targets,
 * then E, then per image the four jitter draws of the rectangle; after the first step the bench
 * checks that the driver's generator ended where the replay's did, and fails if not), and as
 * metadata every setting the step depends on.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/driver.h"
#include "core/optim_setup.h"
#include "models/interactive/ia_model.h"
#include "targets/rpn_targets.h"
#include "bench_step.h"

#define WHO "bench_interactive_step"

/* What one step draws from the generator state r0 (see the header). */
typedef struct {
    int64_t na, sampled; /* anchors per image; sampled anchors of the batch */
    int extra;
    float *label, *deltas, (*boxes)[4];
    prng end; /* the generator after the replay: the driver's after a step, if it drew the same */
} step_draws;

static void draws_free(step_draws *s)
{
    free(s->label), free(s->deltas), free(s->boxes);
    memset(s, 0, sizeof *s);
}

/* ResNet's stride-8 grid side for an image side s: conv1, max pool and layer2 each map s to
 * ceil(s / 2) (kernel 7 / 3 / 3, padding 3 / 1 / 1, stride 2). */
static int64_t stride8(int64_t s)
{
    for (int i = 0; i < 3; i++)
        s = (s + 1) / 2;
    return s;
}

/* Replays ia_loss's draws from r0 into out (see the header). 0, or -1 (printed). */
static int replay_draws(ia *m, prng r0, const ia_payload *p, step_draws *out)
{
    const int64_t h8 = stride8(p->h), w8 = stride8(p->w), na = m->net.n_anchors * h8 * w8;
    memset(out, 0, sizeof *out);
    out->na = na;
    out->label = malloc((size_t)(p->n * na) * sizeof *out->label);
    out->deltas = calloc((size_t)(p->n * na) * 4, sizeof *out->deltas);
    out->boxes = calloc((size_t)p->n, sizeof *out->boxes);
    float *anchors = malloc((size_t)na * 4 * sizeof *anchors);
    int rc = out->label && out->deltas && out->boxes && anchors ? 0 : -1;
    if (!rc)
        inet_anchors(&m->net, h8, w8, anchors);
    for (int i = 0; !rc && i < p->n; i++) {
        float *li = out->label + (int64_t)i * na;
        if (p->empty[i]) {
            for (int64_t a = 0; a < na; a++)
                li[a] = -1.0f;
            continue;
        }
        int k = rpn_targets(&m->rpn, anchors, na, p->box[i], &r0, li, out->deltas + i * na * 4);
        rc = k < 0 ? -1 : 0;
        out->sampled += k;
    }
    if (!rc) {
        out->extra = (int)prng_below(&r0, (uint64_t)m->cfg.model.max_extra_taps + 1);
        for (int i = 0; i < p->n; i++)
            ia_grown_box(p->box[i], m->cfg.model.box_jitter, 0, &r0, p->h, p->w, out->boxes[i]);
        out->end = r0;
    }
    free(anchors);
    if (rc) {
        fprintf(stderr, WHO ": out of memory replaying the step's draws\n");
        draws_free(out);
    }
    return rc;
}

/* A new tensor of the shape holding a copy of data, into the dict under name. */
static int put(pt_dict *dict, const char *name, const void *data, const int64_t *shape, int nd,
               pt_dtype dt)
{
    pt_tensor *t = pt_from_data(data, shape, nd, dt);
    return t && pt_dict_put(dict, name, t) == PT_OK;
}

/* The batch, the step's draws and its settings into a safetensors file for the PyTorch side. */
static int write_inputs(const char *path, const settings *c, const ia *m,
                        const collated_batch *b, const step_draws *dr)
{
    static const char *const backbones[] = {"resnet18", "resnet34", "resnet50"};
    const ia_payload *p = b->payload;
    const int64_t B = p->n, H = p->h, W = p->w;
    float *keep = malloc((size_t)B * sizeof *keep);
    pt_dict *dict = pt_dict_new();
    int ok = dict && keep && pt_dict_put(dict, "images", pt_clone(b->images)) == PT_OK;
    for (int64_t i = 0; keep && i < B; i++)
        keep[i] = p->empty[i] ? 0.0f : 1.0f;
    ok = ok && put(dict, "gt", p->gt, (int64_t[]){B, H, W}, 3, PT_U8) &&
         put(dict, "keep", keep, (int64_t[]){B}, 1, PT_F32) &&
         put(dict, "rpn_label", dr->label, (int64_t[]){B, dr->na}, 2, PT_F32) &&
         put(dict, "rpn_deltas", dr->deltas, (int64_t[]){B, dr->na, 4}, 3, PT_F32) &&
         put(dict, "boxes", dr->boxes, (int64_t[]){B, 4}, 2, PT_F32);
    const ia_cfg *ic = &m->cfg;
    const bench_num nums[] = {
        {"ps_grid", (double)ic->model.ps_grid}, {"decoder_width", (double)ic->model.decoder_width},
        {"prev_mask", ic->model.prev_mask}, {"n_anchors", m->net.n_anchors},
        {"extra_taps", dr->extra}, {"rpn_sampled", (double)dr->sampled},
        {"rpn_weight", ic->loss.rpn_weight}, {"mask_weight", ic->loss.mask_weight},
        {"mask_nfl", ic->loss.mask}, {"pred_thr", 0.49}, /* ia_loss's training threshold */
    };
    ok = ok && !bench_put_nums(dict, nums, sizeof nums / sizeof *nums) &&
         !bench_put_optim_meta(dict, c);
    ok = ok && pt_dict_set_meta(dict, "backbone", backbones[ic->model.backbone]) == PT_OK &&
         pt_safetensors_save(dict, path) == PT_OK;
    if (!ok)
        fprintf(stderr, WHO ": writing %s: %s\n", path, keep ? pt_error() : "out of memory");
    pt_dict_free(dict);
    free(keep);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    bench_opts o = {.config = "configs/interactive/mval_r18.yaml", .threads = 1, .steps = 10,
                    .warmup = 2, .size = 160};
    if (bench_parse(WHO, argc, argv, &o))
        return 1;
    static const char *const fg[1] = {"foreground"};
    bench_model m;
    collated_batch b;
    memset(&b, 0, sizeof b);
    step_draws dr = {0};
    int rc = bench_model_open(&m, WHO, "interactive", &o,
                              (drv_env){.in_channels = 3, .num_classes = 1, .class_names = fg});
    ia *model = m.model;
    rc = rc ? rc : bench_shapes_batch(WHO, m.d, &m.env, m.batch, m.size, &b) ? 2 : 0;
    const prng r0 = model ? model->rng : (prng){{0}};
    rc = rc ? rc : replay_draws(model, r0, b.payload, &dr) ? 2
         : o.write && write_inputs(o.write, &m.c, model, &b, &dr) ? 2 : 0;
    if (!rc)
        printf("interactive step (pictor): %s, %lld parameters, batch %d, %dx%d, %d threads, "
               "%d simulated taps, %lld RPN anchors sampled\n", o.config, (long long)m.n_params,
               m.batch, m.size, m.size, o.threads, dr.extra, (long long)dr.sampled);
    for (int i = 0; !rc && i < o.warmup + o.steps; i++) {
        model->rng = r0; /* the same draws every step (see the header) */
        rc = bench_model_step(&m, WHO, &o, &b, i);
        if (!rc && i == 0 && memcmp(&model->rng, &dr.end, sizeof dr.end)) {
            fprintf(stderr, WHO ": the driver's step drew differently from the replay (ia_loss "
                            "changed its draws?): the written inputs do not match the C step\n");
            rc = 2;
        }
    }
    if (!rc)
        bench_print_parts(m.t, o.steps);
    draws_free(&dr);
    collated_batch_free(&b);
    bench_model_close(&m);
    return rc;
}
