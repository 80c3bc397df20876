"""The Python PyTorch side of bench_polarmask_step: one polarmask training step (forward, loss,
backward, gradient clip, optimizer step) of the same network, on the same batch, with the same
settings and thread count. Prints py_step_ms=<median> and py_forward_ms / py_backward_ms /
py_optim_ms (the medians of the parts, split as the C side splits them).

  polarmask_step.py --inputs FILE [--threads N] [--steps N] [--warmup N]

FILE is what `bench_polarmask_step --write FILE` saved: the collated batch (images, and the
driver's polar targets cls / rays / ctr / contour, made in C from the synthetic shapes scenes)
and, as metadata, every setting of the step (from the config the C side read). So both sides
run the same network on the same images against the same targets (the same positives).

The network, as train/models/polarmask/polarmask.c builds it: torchvision 0.14's resnet (conv1 ..
layer4, no pooling or fc, BatchNorm in training mode) + torchvision.ops.FeaturePyramidNetwork on
layer2-4 with LastLevelP6P7(C, C) (P3-P7, strides 8-128), wired as in
tests/reference/resnet_fpn_parity.py; one head shared by the five levels: a classification and
a regression tower of head_convs x (3x3 conv, GroupNorm, ReLU), cls_logits / centerness on the
first, rays on the second, a learned scale per level (coarse rays = exp(min(scale * raw, 12)));
the refine module (the FPN map sampled bilinearly at the R contour points of the detached coarse
rays, stacked to R*C channels, a 1x1 conv with R groups -> one offset per ray, fine = max(coarse +
offset, 1e-3)); the contour head on P3 (3x3 convs C->128->64->64->64 with ReLU, 1x1 -> 1).
Initialisation as pictor's (normal(0, 0.01) head convs, the classification prior 0.01).

The loss, as drv_polarmask.c sums it: focal (torchvision.ops.sigmoid_focal_loss, which pictor's
losses/focal.h reproduces) over locations x classes / max(1, positives) + BCE of the centerness
at the positives + coarse_weight x polar IoU (losses/polar_iou.h, weighted by the centerness
target) of the coarse rays + the same for the fine rays + contour_weight x focal of the contour
map / max(1, boundary cells). Differences from the C side, none of which is extra work here:
pictor's losses also check their inputs (finite, positive targets, class-id range), costing a few
reductions per step; PyTorch's focal loss computes 1 - p_t from sigmoid(x) once where pictor's
uses sigmoid(x) and sigmoid(-x) (the cancellation-free form). The optimizer: the trainer's two
groups (weight decay on the >= 2-D parameters only), torch.optim.AdamW / Adam / SGD as the config
says, foreach=True (one multi-tensor update); clip_grad_norm_ to train.grad_clip (the trainer
computes the norm even without a limit: max_norm inf here then).
"""
import math
import os
import sys

import torch
import torch.nn.functional as F
import torchvision
from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork, LastLevelP6P7

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_step  # noqa: E402

STRIDES = (8, 16, 32, 64, 128)
PRIOR_BIAS = -math.log((1 - 0.01) / 0.01)
POLAR_IOU_EPS = 1e-6


def conv_normal(cin, cout, k, groups=1, bias=0.0):
    c = torch.nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups)
    torch.nn.init.normal_(c.weight, 0.0, 0.01)
    torch.nn.init.constant_(c.bias, bias)
    return c


def tower(ch, n, groups):
    layers = []
    for _ in range(n):
        layers += [conv_normal(ch, ch, 3), torch.nn.GroupNorm(groups, ch, eps=1e-5),
                   torch.nn.ReLU()]
    return torch.nn.Sequential(*layers)


class PolarMask(torch.nn.Module):
    def __init__(self, depth, ch, num_classes, num_rays, head_convs, gn_groups, refine, contour):
        super().__init__()
        self.body = getattr(torchvision.models, "resnet%d" % depth)()
        del self.body.fc  # pictor builds the backbone without its classifier
        e = 4 if depth >= 50 else 1
        self.fpn = FeaturePyramidNetwork([128 * e, 256 * e, 512 * e], ch,
                                         extra_blocks=LastLevelP6P7(ch, ch))
        self.cls_tower = tower(ch, head_convs, gn_groups)
        self.reg_tower = tower(ch, head_convs, gn_groups)
        self.cls_logits = conv_normal(ch, num_classes, 3, bias=PRIOR_BIAS)
        self.centerness = conv_normal(ch, 1, 3)
        self.rays = conv_normal(ch, num_rays, 3)
        self.scales = torch.nn.Parameter(torch.ones(len(STRIDES)))
        self.refine = conv_normal(num_rays * ch, num_rays, 1, groups=num_rays) if refine else None
        widths, layers, prev = (128, 64, 64, 64), [], ch
        for w in widths:
            layers += [conv_normal(prev, w, 3), torch.nn.ReLU()]
            prev = w
        self.contour = (torch.nn.Sequential(*layers, conv_normal(prev, 1, 1, bias=PRIOR_BIAS))
                        if contour else None)
        t = torch.arange(num_rays, dtype=torch.float64) * (2 * math.pi / num_rays)
        self.register_buffer("sin_t", torch.sin(t).float().view(1, -1, 1, 1), persistent=False)
        self.register_buffer("cos_t", torch.cos(t).float().view(1, -1, 1, 1), persistent=False)

    def refine_offsets(self, feat, coarse, stride):
        B, C, H, W = feat.shape
        R = coarse.shape[1]
        r = coarse.detach() / stride
        col = (torch.arange(W, dtype=torch.float32) + 0.5).view(1, 1, 1, W)
        row = (torch.arange(H, dtype=torch.float32) + 0.5).view(1, 1, H, 1)
        gx = (col + r * self.sin_t) * (2.0 / W) - 1.0
        gy = (row + r * self.cos_t) * (2.0 / H) - 1.0
        grid = torch.stack((gx, gy), -1).reshape(B, R, H * W, 2)
        sampled = F.grid_sample(feat, grid, mode="bilinear", padding_mode="zeros",
                                align_corners=False)  # [B, C, R, HW]
        x = sampled.permute(0, 2, 1, 3).reshape(B, R * C, H, W)
        return self.refine(x)

    def forward(self, x):
        b = self.body
        x = b.maxpool(b.relu(b.bn1(b.conv1(x))))
        c2 = b.layer1(x)
        c3 = b.layer2(c2)
        c4 = b.layer3(c3)
        c5 = b.layer4(c4)
        p = list(self.fpn({"c3": c3, "c4": c4, "c5": c5}).values())

        def flat(t):  # [B, K, H, W] -> [B, H*W, K]
            return t.permute(0, 2, 3, 1).reshape(t.shape[0], -1, t.shape[1])

        cls, ctr, coarse, fine = [], [], [], []
        for lvl, f in enumerate(p):
            cf = self.cls_tower(f)
            cls.append(flat(self.cls_logits(cf)))
            ctr.append(flat(self.centerness(cf)))
            raw = self.rays(self.reg_tower(f)) * self.scales[lvl]
            rays = torch.exp(raw.clamp(max=12.0))
            coarse.append(flat(rays))
            if self.refine is not None:
                off = self.refine_offsets(f, rays, STRIDES[lvl])
                fine.append(flat((rays + off).clamp(min=1e-3)))
        out = {"cls": torch.cat(cls, 1), "centerness": torch.cat(ctr, 1).flatten(1),
               "coarse": torch.cat(coarse, 1)}
        if fine:
            out["fine"] = torch.cat(fine, 1)
        if self.contour is not None:
            out["contour"] = self.contour(p[0])
        return out


def polar_iou(pred, target, weights):
    if pred.shape[0] == 0:
        return pred.sum() * 0.0
    smax = torch.maximum(pred, target).sum(1)
    smin = torch.minimum(pred, target).sum(1).clamp(min=POLAR_IOU_EPS)
    per_row = torch.log(smax / smin)
    return (per_row * weights).sum() / weights.sum().clamp(min=POLAR_IOU_EPS)


def loss_of(o, t, m):
    """The loss and its terms, as drv_polarmask.c's pm_loss sums them."""
    B, N, C = o["cls"].shape
    R = o["coarse"].shape[2]
    alpha, gamma = m["focal_alpha"], m["focal_gamma"]
    ids = t["cls"].reshape(B * N).long()
    pos = torch.nonzero(ids >= 0).reshape(-1)
    n_pos = pos.numel()
    onehot = F.one_hot(ids + 1, C + 1)[:, 1:].to(o["cls"].dtype)
    terms = {"cls": torchvision.ops.sigmoid_focal_loss(o["cls"].reshape(B * N, C), onehot,
                                                        alpha, gamma, "sum") / max(n_pos, 1)}
    ctr_t = t["ctr"].reshape(B * N).index_select(0, pos)
    ctr_p = o["centerness"].reshape(B * N).index_select(0, pos)
    terms["cnt"] = (F.binary_cross_entropy_with_logits(ctr_p, ctr_t) if n_pos
                    else o["centerness"].sum() * 0.0)
    rays_t = t["rays"].reshape(B * N, R).index_select(0, pos)
    terms["coarse"] = polar_iou(o["coarse"].reshape(B * N, R).index_select(0, pos), rays_t, ctr_t)
    total = terms["cls"] + terms["cnt"] + terms["coarse"] * m["coarse_weight"]
    if "fine" in o:
        terms["fine"] = polar_iou(o["fine"].reshape(B * N, R).index_select(0, pos), rays_t, ctr_t)
        total = total + terms["fine"]
    if "contour" in o:
        ct = t["contour"]
        n_edge = ct.sum().item()
        terms["contour"] = torchvision.ops.sigmoid_focal_loss(o["contour"], ct, alpha, gamma,
                                                              "sum") / max(n_edge, 1.0)
        total = total + terms["contour"] * m["contour_weight"]
    return total, terms


def main():
    a = bench_step.parse_args("bench_polarmask_step")
    t, meta, num = bench_step.load_inputs(a.inputs)
    depth = int(meta["backbone"].replace("resnet", ""))
    model = PolarMask(depth, int(num["channels"]), int(num["num_classes"]), int(num["num_rays"]),
                      int(num["head_convs"]), int(num["gn_groups"]), num["refine"] != 0,
                      num["contour_head"] != 0)
    params, opt, max_norm = bench_step.training_setup(model, meta, num)
    kind = meta["optim"]
    x = t["images"]
    print("polarmask step (PyTorch): %s, %d parameters, batch %d, %dx%d, %d threads, %s"
          % (meta["backbone"], sum(p.numel() for p in params), x.shape[0], x.shape[2],
             x.shape[3], a.threads, kind))
    bench_step.run_steps("polarmask_step.py", a, opt, params, max_norm,
                         lambda: loss_of(model(x), t, num))


if __name__ == "__main__":
    main()
