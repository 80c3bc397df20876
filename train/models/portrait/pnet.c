/*
 * pnet.c - see pnet.h.
 */
#include "models/portrait/pnet.h"

#include <string.h>

const char *const pnet_backbone_names[] = {"resnet18", "resnet34", "mobilenet_v3_small",
                                           "mobilenet_v3_large"};

/* <name>.<3j>, <3j+1>, ReLU: n units of 3x3 conv (no bias) + BN + ReLU, in -> out. */
static nn_module *cbr(nn_store *s, const char *name, int64_t in, int64_t out, int units)
{
    char path[NN_NAME_MAX];
    nn_module *seq = nn_sequential_new();
    for (int j = 0; seq && j < units; j++) {
        nn_seq_add(seq, nn_conv2d_new(s, nn_path(path, "%s.%d", name, 3 * j),
                                      (nn_conv_opts){.in = j ? out : in, .out = out, .k = 3,
                                                     .pad = 1, .no_bias = 1,
                                                     .init = {NN_INIT_KAIMING_FAN_OUT}}));
        nn_seq_add(seq, nn_batchnorm2d_new(s, nn_path(path, "%s.%d", name, 3 * j + 1), out,
                                           1e-5, 0.1));
        nn_seq_add(seq, nn_act_new(NN_RELU));
    }
    if (seq && !nn_seq_ok(seq)) {
        nn_module_free(seq);
        return NULL;
    }
    return seq;
}

pt_status pnet_init(pnet *n, nn_store *s, pnet_config cfg)
{
    memset(n, 0, sizeof *n);
    if (cfg.backbone < 0 || cfg.backbone > 3 || cfg.depth_backbone < 0 || cfg.depth_backbone > 3 ||
        cfg.width < 4) {
        pt_error_set("pnet: backbone must be one of " PNET_BACKBONES " and width >= 4");
        return PT_ERR;
    }
    n->cfg = cfg;
    const int64_t W = cfg.width;
    pt_status st;
    int64_t ch[3];
    n->mbv = cfg.backbone >= 2;
    if (!n->mbv) {
        resnet_config rc = resnet_defaults(cfg.backbone == 0 ? 18 : 34);
        rc.with_fc = 0;
        st = resnet_init(&n->res, s, "seg.backbone", rc);
        n->l2_channels = 64;
        for (int k = 0; k < 3; k++)
            ch[k] = resnet_channels(&n->res, 3 + k);
    } else {
        mbv3_config mc = mbv3_defaults(cfg.backbone == 2 ? MBV3_SMALL : MBV3_LARGE);
        mc.num_classes = 0;
        st = mbv3_init(&n->mb, s, "seg.backbone", mc);
        n->l2_channels = n->mb.tap_channels[0];
        ch[0] = n->mb.tap_channels[2], ch[1] = n->mb.tap_channels[3];
        ch[2] = n->mb.feature_channels;
    }
    if (st != PT_OK)
        return PT_ERR;
    segdec_config dc = segdec_defaults(ch, 3);
    dc.width = W;
    st = segdec_init(&n->semantic, s, "seg.semantic", dc);
    if (st == PT_OK) {
        n->semantic_head = nn_conv2d_new(s, "seg.semantic_head", (nn_conv_opts){.in = W, .out = 1, .k = 1});
        n->detail = cbr(s, "seg.detail", 3 + n->l2_channels + W, W, 2);
        n->detail_head = nn_conv2d_new(s, "seg.detail_head", (nn_conv_opts){.in = W, .out = 1, .k = 1});
        n->fusion1 = cbr(s, "seg.fusion1", 2 * W, W, 1);
        n->fusion2 = cbr(s, "seg.fusion2", W + 3, W / 2, 1);
        n->fusion_head = nn_conv2d_new(s, "seg.fusion_head", (nn_conv_opts){.in = W / 2, .out = 1, .k = 1});
    }
    if (st != PT_OK || !n->semantic_head || !n->detail || !n->detail_head || !n->fusion1 ||
        !n->fusion2 || !n->fusion_head) {
        pnet_free(n);
        return PT_ERR;
    }
    if (cfg.with_depth) {
        segnet_config sc = segnet_defaults();
        sc.backbone = pnet_backbone_names[cfg.depth_backbone];
        sc.output_stride = 4;
        sc.width = W;
        sc.out_channels = 2;
        if (segnet_init(&n->depth, s, "depth", sc) != PT_OK) {
            pnet_free(n);
            return PT_ERR;
        }
    }
    return PT_OK;
}

void pnet_free(pnet *n)
{
    if (!n)
        return;
    if (n->mbv)
        mbv3_free(&n->mb);
    else
        resnet_free(&n->res);
    segdec_free(&n->semantic);
    nn_module_free(n->semantic_head), nn_module_free(n->detail), nn_module_free(n->detail_head);
    nn_module_free(n->fusion1), nn_module_free(n->fusion2), nn_module_free(n->fusion_head);
    if (n->cfg.with_depth)
        segnet_free(&n->depth);
    memset(n, 0, sizeof *n);
}

static pt_tensor *up(const pt_tensor *t, const pt_tensor *like)
{
    return pt_interpolate(t, pt_size(like, 2), pt_size(like, 3), PT_INTERP_BILINEAR, 0);
}

pt_status pnet_forward(pnet *n, const pt_tensor *x, int want_depth, pnet_out *out)
{
    memset(out, 0, sizeof *out);
    if (!x || pt_ndim(x) != 4 || pt_size(x, 1) != 3) {
        if (!pt_error_pending())
            pt_error_set("pnet: input must be [B, 3, H, W]");
        return PT_ERR;
    }
    if (want_depth && !n->cfg.with_depth) {
        pt_error_set("pnet: this model has no depth network");
        return PT_ERR;
    }
    size_t mark = pt_scope_begin();
    pt_tensor *l2 = NULL, *lv[3] = {NULL, NULL, NULL};
    pt_status st;
    if (!n->mbv) {
        pt_tensor *stages[4] = {0};
        st = resnet_forward_stem(&n->res, x, &l2, stages);
        lv[0] = stages[1], lv[1] = stages[2], lv[2] = stages[3];
    } else {
        pt_tensor *taps[MBV3_MAX_TAPS] = {0};
        lv[2] = mbv3_features_taps(&n->mb, x, taps);
        l2 = taps[0], lv[0] = taps[2], lv[1] = taps[3];
        st = lv[2] ? PT_OK : PT_ERR;
    }
    pt_tensor *fs = st == PT_OK ? segdec_forward(&n->semantic, lv, 3) : NULL;
    pt_tensor *sem = nn_forward(n->semantic_head, fs);
    pt_tensor *fs2 = fs && l2 ? up(fs, l2) : NULL;
    pt_tensor *xd = l2 ? up(x, l2) : NULL;
    pt_tensor *fd = nn_forward(n->detail, pt_cat((pt_tensor *[]){xd, l2, fs2}, 3, 1));
    pt_tensor *det = fd ? up(nn_forward(n->detail_head, fd), x) : NULL;
    pt_tensor *f1 = nn_forward(n->fusion1, pt_cat((pt_tensor *[]){fs2, fd}, 2, 1));
    pt_tensor *f1u = f1 ? up(f1, x) : NULL;
    pt_tensor *fus = nn_forward(n->fusion_head,
                                nn_forward(n->fusion2, pt_cat((pt_tensor *[]){f1u, (pt_tensor *)x}, 2, 1)));
    pt_tensor *dep = NULL, *ls = NULL;
    if (want_depth && fus) {
        pt_tensor *lg = NULL;
        if (segnet_forward(&n->depth, x, NULL, &lg) == PT_OK) {
            pt_tensor *lu = up(lg, x);
            dep = pt_sigmoid(pt_narrow(lu, 1, 0, 1));
            ls = pt_contiguous(pt_narrow(lu, 1, 1, 1));
        }
    }
    if (!sem || !det || !fus || (want_depth && (!dep || !ls))) {
        pt_scope_end(mark);
        if (!pt_error_pending())
            pt_error_set("pnet: forward pass failed");
        return PT_ERR;
    }
    pt_tensor *r[5] = {sem, det, fus, dep, ls};
    pt_scope_return_n(mark, r, want_depth ? 5 : 3);
    out->semantic_logits = r[0], out->detail_logits = r[1], out->fusion_logits = r[2];
    out->depth = want_depth ? r[3] : NULL, out->log_sigma_raw = want_depth ? r[4] : NULL;
    return PT_OK;
}
