/*
 * leakcheck.c - exercises the C side of pictor (shim handles and scopes, the nn layer, optimizers,
 * dicts, safetensors and torch files, the IDX reader; the polarmask path: a synthetic scene, its
 * targets, the network with refine module and contour head, the focal and polar IoU losses,
 * backward, decoding and mask AP) and frees everything; the suite runs it
 * under valgrind (tests/test_leaks.c) and asserts no definite leak and no live handle at exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>

#include "focal.h"
#include "codec/idx.h"
#include "eval/mask_ap.h"
#include "nn/nn.h"
#include "models/polarmask/polar_decode.h"
#include "polar_iou.h"
#include "targets/polar_targets.h"
#include "models/polarmask/polarmask.h"
#include "pt.h"
#include "models/classifier/small_cnn.h"
#include "synth/synth_instances.h"

#define CHECK(c)                                                                                 \
    do {                                                                                         \
        if (!(c)) {                                                                              \
            fprintf(stderr, "leakcheck: %s failed at line %d: %s\n", #c, __LINE__, pt_error()); \
            return 1;                                                                            \
        }                                                                                        \
    } while (0)

static int run(const char *dir)
{
    pt_set_num_threads(1);
    nn_store *s = nn_store_new(1);
    small_cnn m;
    CHECK(small_cnn_init(&m, s, (small_cnn_config){1, 4, 16, 10, 8}) == PT_OK);
    pt_optim_options oo = pt_optim_defaults(PT_OPTIM_ADAMW);
    pt_optim *opt = pt_optim_new(&oo);
    int np;
    pt_tensor *const *params = nn_store_params(s, &np);
    CHECK(pt_optim_add_group(opt, params, np, 1e-3, 0.01) == 0);
    pt_generator *g = pt_generator_new(3);
    int64_t xs[4] = {4, 1, 8, 8}, ys[1] = {4};
    for (int step = 0; step < 3; step++) {
        size_t mark = pt_scope_begin();
        pt_tensor *x = pt_randn(xs, 4, PT_F32, g);
        pt_tensor *y = pt_randint(0, 10, ys, 1, g);
        pt_tensor *loss = pt_cross_entropy(small_cnn_forward(&m, x), y, NULL, -100, PT_REDUCE_MEAN, 0);
        CHECK(pt_optim_zero_grad(opt) == PT_OK && pt_backward(loss, NULL, 0) == PT_OK);
        CHECK(pt_clip_grad_norm(params, np, 1.0, 2.0, NULL) == PT_OK);
        CHECK(pt_optim_step(opt) == PT_OK);
        pt_scope_end(mark);
    }
    /* errors must not leak either */
    pt_tensor *bad = pt_matmul(params[0], params[np - 1]);
    CHECK(bad == NULL && pt_error_pending());
    pt_error_clear();

    void *buf;
    size_t len;
    CHECK(pt_optim_save_buffer(opt, &buf, &len) == PT_OK);
    CHECK(pt_optim_load_buffer(opt, buf, len) == PT_OK);
    free(buf);

    char path[4096];
    pt_dict *sd = nn_store_state_dict(s, NULL, 0);
    CHECK(sd != NULL);
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    CHECK(pt_safetensors_save(sd, path) == PT_OK);
    pt_dict *back = pt_safetensors_load(path);
    CHECK(back && nn_store_load_state_dict(s, back, 1) == PT_OK);
    pt_dict_free(back);
    snprintf(path, sizeof path, "%s/w.pt", dir);
    CHECK(pt_torch_save(sd, path) == PT_OK);
    back = pt_torch_load(path);
    CHECK(back && pt_dict_size(back) == pt_dict_size(sd));
    pt_dict_free(back);
    pt_dict_free(sd);
    CHECK(pt_safetensors_load("/nonexistent/file.safetensors") == NULL);
    pt_error_clear();

    idx_array a = {0};
    char err[256];
    CHECK(idx_read("/nonexistent.idx", &a, err, sizeof err) != 0);
    idx_free(&a);

    pt_generator_free(g);
    pt_optim_free(opt);
    small_cnn_free(&m);
    nn_store_free(s);
    CHECK(pt_live_tensors() == 0);
    return 0;
}

/* One polarmask training step and one decoded, evaluated image on a 32 x 32 scene. */
static int run_polarmask(void)
{
    char err[256];
    synth_scene sc;
    CHECK(synth_shapes_scene(32, 3, 0, 1, 0, &sc, err, sizeof err) == 0);
    instance inst[8];
    sample smp;
    sample_init(&smp);
    smp.h = smp.w = 32;
    smp.c = 3;
    smp.n_instances = sc.n;
    for (int k = 0; k < sc.n; k++)
        inst[k] = (instance){.class_id = sc.inst[k].class_id, .mask = sc.inst[k].mask};
    smp.instances = inst;
    polar_config g;
    polar_config_default(&g);
    g.num_rays = 8;
    int64_t N = polar_num_locations(&g, 32, 32);
    int32_t cls[64];
    float rays[64 * 8], ctr[64], contour[16];
    CHECK(N > 0 && N <= 64);
    polar_targets t = {cls, rays, ctr, contour, NULL};
    CHECK(polar_targets_compute(&g, &smp, &t, NULL, err, sizeof err) == 0);

    nn_store *s = nn_store_new(2);
    polarmask m;
    polarmask_config pc = {.depth = 18, .frozen_stages = 1, .channels = 8, .num_classes = 7,
                           .num_rays = 8, .head_convs = 1, .gn_groups = 4, .refine = 1,
                           .contour_head = 1};
    CHECK(polarmask_init(&m, s, pc) == PT_OK);
    size_t mark = pt_scope_begin();
    int64_t xs[4] = {1, 3, 32, 32}, s_n[1] = {N}, s_nr[2] = {N, 8}, s_nc[2] = {N, 7}, flat[1] = {-1};
    polarmask_out o;
    CHECK(polarmask_forward(&m, pt_rand(xs, 4, PT_F32, NULL), 1, &o) == PT_OK);
    CHECK(o.n_locations == N);
    pt_tensor *ids = pt_from_data(cls, s_n, 1, PT_I32);
    pt_tensor *pos = pt_reshape(pt_nonzero(pt_ge_s(ids, 0)), flat, 1);
    pt_tensor *tr = pt_index_select(pt_from_data(rays, s_nr, 2, PT_F32), 0, pos);
    pt_tensor *loss = pt_add(loss_sigmoid_focal_dense(pt_reshape(o.cls, s_nc, 2), ids, 0.25, 2),
                             loss_polar_iou(pt_index_select(pt_reshape(o.fine, s_nr, 2), 0, pos),
                                            tr, NULL, POLAR_IOU_EPS));
    loss = pt_add(loss, pt_sum(loss_sigmoid_focal(o.contour, pt_zeros_like(o.contour), 0.25, 2,
                                                  PT_REDUCE_MEAN)));
    CHECK(loss && pt_backward(loss, NULL, 0) == PT_OK);
    pt_scope_end(mark);

    float scores[64 * 7] = {0};
    for (int64_t i = 0; i < N; i++)
        if (cls[i] >= 0)
            scores[i * 7 + cls[i]] = 0.5f + 0.5f * ctr[i];
    polar_decode_config dc = polar_decode_defaults();
    polar_dets d;
    CHECK(polar_decode(&dc, &g, 32, 32, 7, scores, rays, &d, err, sizeof err) == 0);
    mask_ap *ev = mask_ap_new(7);
    uint8_t mask[32 * 32];
    for (int k = 0; k < sc.n; k++)
        CHECK(mask_ap_add_gt(ev, 0, inst[k].class_id, inst[k].mask, 32, 32, 0, err, sizeof err) == 0);
    for (int k = 0; k < d.n; k++) {
        CHECK(polar_det_mask(&d, k, mask, 32, 32) == 0);
        CHECK(mask_ap_add_det(ev, 0, d.det[k].class_id, d.det[k].score, mask, 32, 32, err,
                              sizeof err) == 0);
    }
    mask_ap_result r;
    CHECK(mask_ap_summarize(ev, &r, err, sizeof err) == 0 && r.ap50 > 0.5);
    mask_ap_free(ev);
    polar_dets_free(&d);
    polarmask_free(&m);
    nn_store_free(s);
    synth_scene_free(&sc);
    CHECK(pt_live_tensors() == 0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: leakcheck TMPDIR\n");
        return 2;
    }
    int rc = run(argv[1]);
    if (rc == 0)
        rc = run_polarmask();
    if (rc == 0)
        printf("leakcheck: ok, %ld live tensor handles\n", pt_live_tensors());
    return rc;
}
