"""The Python PyTorch side of bench_interactive_step: one training step of the `interactive` model
(seed 000) - forward with the simulated taps, loss, backward, gradient clip, optimizer step - of
the same network, on the same batch, with the same settings and thread count. Prints
py_step_ms=<median> and py_forward_ms / py_backward_ms / py_optim_ms (the medians of the parts,
split as the C side splits them), and py_taps_ms (the part of forward spent placing taps).

  interactive_step.py --inputs FILE [--threads N] [--steps N] [--warmup N]

FILE is what `bench_interactive_step --write FILE` saved: the collated batch (images, gt: each
image's object as NOC_* codes 0 background / 1 object / 2 ignore, keep: 1 per image with an
object), what the C step draws from its generator and the bench keeps the same in every step (the
RPN's sampled anchors rpn_label 1 / 0 / -1 not sampled and their rpn_deltas, the jittered
rectangles, the number of simulated taps extra_taps), and every setting as metadata.

The network, as train/models/interactive/inet.c builds it (the same names, so the same
parameters): torchvision 0.14's resnet (no fc) split after layer2; part 1 = conv1, bn1, relu,
maxpool, layer1 (C2), layer2 (C3) and torchvision's RPNHead on C3 (rpn.head.conv.0.0,
cls_logits, bbox_pred); part 2 = the correction maps resized (bilinear) to C3's size and
concatenated with it, fuse (3x3 conv without bias, BatchNorm, ReLU) -> C3 channels, layer3,
layer4, the top-down decoder over C2, fused C3, C4, C5 (tests/reference/segdecoder_ref.py's
SegDecoder, the module pictor's segdec is checked against) and ps_head (1x1 -> 2 k^2
position-sensitive maps); assembling: each stride-4 pixel inside the rectangle takes inside -
outside of its cell, resized (bilinear) to the image; the mask is sigmoid(logit) inside the
rectangle.

The step, as drv_interactive.c's ia_loss runs it: part 1 once (training mode); the RPN loss (BCE
of the sampled anchors' objectness + smooth L1, beta 1/9, of the positives' deltas, both / the
number sampled); the first tap of each image with an object at the pixel deepest inside it, then
extra_taps passes of part 2 + assembling under no_grad with the model in eval mode, each giving
the probabilities (copied to the host) that are the next pass's previous-mask map and from which
each image's next tap is placed at the pixel deepest inside the current error (RITM's clicker:
tests/reference/noc_ref.py, scipy's exact distance transform, the oracle of pictor's
eval/noc.c); the final pass with gradient and the mask loss (BCE inside the rectangle / the
pixels inside, or RITM's normalised focal loss, tests/reference/nfl_ref.py); total = rpn_weight x
(obj + box) + mask_weight x mask; every term read. The correction maps: per kind of tap the
distance to the nearest tap of that kind, truncated at 255, / 255 (1 without a tap of the kind),
plus the previous probabilities. Differences from the C side, none of which is extra work here:
the RPN's targets (8 x 4,800 anchors against one box each at 160 px: IoUs and a sample, not
measured apart, small next to the convolutions) are read from FILE instead of computed in the step; the cells of the rectangles are computed once per step, the C
side rebuilds them at each pass.
"""
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.detection.rpn import RPNHead

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "reference"))
import bench_step  # noqa: E402
from nfl_ref import nfl  # noqa: E402
from noc_ref import next_click  # noqa: E402
from segdecoder_ref import SegDecoder  # noqa: E402

TRUNCATE = 255.0


class INet(torch.nn.Module):
    def __init__(self, depth, k, n_maps, width, n_anchors):
        super().__init__()
        self.backbone = getattr(torchvision.models, "resnet%d" % depth)()
        del self.backbone.fc  # pictor builds the backbone without its classifier
        e = 4 if depth >= 50 else 1
        c2, c3, c4, c5 = 64 * e, 128 * e, 256 * e, 512 * e
        self.rpn = torch.nn.Module()
        self.rpn.head = RPNHead(c3, n_anchors)
        self.fuse = torch.nn.Sequential(torch.nn.Conv2d(c3 + n_maps, c3, 3, padding=1, bias=False),
                                        torch.nn.BatchNorm2d(c3), torch.nn.ReLU())
        self.decoder = SegDecoder([c2, c3, c4, c5], width, width, 1, False)
        self.ps_head = torch.nn.Conv2d(width, 2 * k * k, 1)
        self.k = k

    def part1(self, x):
        b = self.backbone
        c2 = b.layer1(b.maxpool(b.relu(b.bn1(b.conv1(x)))))
        c3 = b.layer2(c2)
        obj, box = self.rpn.head([c3])
        return c2, c3, obj[0], box[0]

    def part2(self, c2, c3, maps):
        small = F.interpolate(maps, size=c3.shape[-2:], mode="bilinear", align_corners=False)
        c3f = self.fuse(torch.cat([c3, small], 1))
        c4 = self.backbone.layer3(c3f)
        c5 = self.backbone.layer4(c4)
        return self.ps_head(self.decoder([c2, c3f, c4, c5]))

    def assemble(self, ps, cells, size):
        kk = self.k * self.k
        inside = (ps[:, :kk] * cells).sum(1, keepdim=True)
        outside = (ps[:, kk:] * cells).sum(1, keepdim=True)
        return F.interpolate(inside - outside, size=size, mode="bilinear", align_corners=False)


def cells_of(boxes, k, h, w, img_h, img_w):
    """One-hot cell weights [B, k^2, h, w] of the stride-4 pixels inside each rectangle, and the
    image-size inside-the-rectangle mask [B, 1, img_h, img_w] (inet.h's assembling)."""
    x0, y0, x1, y1 = (boxes[:, i:i + 1] for i in range(4))
    bw, bh = (x1 - x0).clamp(min=1e-3), (y1 - y0).clamp(min=1e-3)
    py = (torch.arange(h, dtype=torch.float32) + 0.5) * (img_h / h)
    px = (torch.arange(w, dtype=torch.float32) + 0.5) * (img_w / w)
    iny, inx = (py >= y0) & (py < y1), (px >= x0) & (px < x1)
    ci = torch.floor(k * (py - y0) / bh).clamp(0, k - 1).long()
    cj = torch.floor(k * (px - x0) / bw).clamp(0, k - 1).long()
    idx = ci[:, :, None] * k + cj[:, None, :]
    valid = (iny[:, :, None] & inx[:, None, :]).float()
    cells = F.one_hot(idx, k * k).permute(0, 3, 1, 2).float() * valid[:, None]
    ys = torch.arange(img_h, dtype=torch.float32) + 0.5
    xs = torch.arange(img_w, dtype=torch.float32) + 0.5
    inbox = (((ys >= y0) & (ys < y1))[:, :, None] & ((xs >= x0) & (xs < x1))[:, None, :]).float()
    return cells, inbox[:, None]


def click_maps(taps, prev, n_maps, h, w):
    """[B, n_maps, h, w]: per image the positive and negative distance maps of its taps
    [(y, x, positive)], and prev (the previous probabilities [B, 1, h, w], or None: zeros)."""
    yy = torch.arange(h, dtype=torch.float32).view(h, 1)
    xx = torch.arange(w, dtype=torch.float32).view(1, w)
    out = torch.ones(len(taps), n_maps, h, w)
    for i, t in enumerate(taps):
        for kind, positive in ((0, 1), (1, 0)):
            pts = torch.tensor([(y, x) for y, x, p in t if p == positive], dtype=torch.float32)
            if len(pts):
                d = ((yy - pts[:, 0].view(-1, 1, 1)) ** 2 + (xx - pts[:, 1].view(-1, 1, 1)) ** 2)
                out[i, kind] = d.min(0).values.sqrt().clamp(max=TRUNCATE) / TRUNCATE
    if n_maps == 3:
        out[:, 2:] = prev if prev is not None else 0.0
    return out


def tap(taps, clicked, gt, pred, i):
    """The next tap of image i (RITM's rule), added to taps[i] unless nothing is left to correct."""
    c = next_click(gt[i], pred[i], clicked[i])
    if c is not None:
        taps[i].append(c)
        clicked[i][c[0], c[1]] = 1


def loss_of(model, x, t, num, cells, inbox, gt, keep_np, tap_time):
    """The loss and its terms, as ia_loss computes them."""
    B, _, H, W = x.shape
    n_maps = 3 if num["prev_mask"] else 2
    c2, c3, obj, box = model.part1(x)
    A = int(num["n_anchors"])
    h8, w8 = obj.shape[2], obj.shape[3]
    norm = max(num["rpn_sampled"], 1.0)
    label = t["rpn_label"].reshape(-1)
    rpn_obj = F.binary_cross_entropy_with_logits(obj.reshape(-1), (label > 0).float(),
                                                 weight=(label >= 0).float(),
                                                 reduction="sum") / norm
    pred = box.reshape(B, A, 4, h8, w8).permute(0, 1, 3, 4, 2).reshape(-1, 4)
    rpn_box = (F.smooth_l1_loss(pred, t["rpn_deltas"].reshape(-1, 4), reduction="none",
                                beta=1.0 / 9.0) * (label > 0).float()[:, None]).sum() / norm
    t0 = time.perf_counter()
    taps = [[] for _ in range(B)]
    clicked = np.zeros(gt.shape, np.uint8)
    zeros = np.zeros(gt.shape, np.uint8)
    for i in range(B):
        if keep_np[i]:
            tap(taps, clicked, gt, zeros, i)
    tap_time[0] += time.perf_counter() - t0
    prev = None
    for _ in range(int(num["extra_taps"])):
        model.eval()
        with torch.no_grad():
            lg = model.assemble(model.part2(c2, c3, click_maps(taps, prev, n_maps, H, W)), cells,
                                (H, W))
            prev = torch.sigmoid(lg) * inbox
        model.train()
        t0 = time.perf_counter()
        p = (prev > num["pred_thr"]).squeeze(1).numpy().astype(np.uint8)
        for i in range(B):
            tap(taps, clicked, gt, p, i)
        tap_time[0] += time.perf_counter() - t0
    lg = model.assemble(model.part2(c2, c3, click_maps(taps, prev, n_maps, H, W)), cells, (H, W))
    target = torch.from_numpy((gt == 1).astype(np.float32))[:, None]
    wt = inbox * t["keep"].view(B, 1, 1, 1)
    if num["mask_nfl"]:
        mask = nfl(lg, target, wt)
    else:
        mask = F.binary_cross_entropy_with_logits(lg, target, weight=wt, reduction="sum") / max(
            wt.sum().item(), 1.0)
    total = (rpn_obj + rpn_box) * num["rpn_weight"] + mask * num["mask_weight"]
    return total, {"rpn_obj": rpn_obj, "rpn_box": rpn_box, "mask": mask}


def main():
    a = bench_step.parse_args("bench_interactive_step")
    t, meta, num = bench_step.load_inputs(a.inputs)
    depth = int(meta["backbone"].replace("resnet", ""))
    k = int(num["ps_grid"])
    model = INet(depth, k, 3 if num["prev_mask"] else 2, int(num["decoder_width"]),
                 int(num["n_anchors"]))
    params, opt, max_norm = bench_step.training_setup(model, meta, num)
    x = t["images"]
    B, _, H, W = x.shape
    gt = t["gt"].numpy()
    keep_np = t["keep"].numpy() > 0
    print("interactive step (PyTorch): %s, %d parameters, batch %d, %dx%d, %d threads, %d "
          "simulated taps, %d RPN anchors sampled, %s"
          % (meta["backbone"], sum(p.numel() for p in params), B, H, W, a.threads,
             int(num["extra_taps"]), int(num["rpn_sampled"]), meta["optim"]))
    times = {k: [] for k in bench_step.PARTS}
    taps_ms = []
    for i in range(a.warmup + a.steps):
        tap_time = [0.0]

        def step_loss():
            cells, inbox = cells_of(t["boxes"], k, (H + 3) // 4, (W + 3) // 4, H, W)
            return loss_of(model, x, t, num, cells, inbox, gt, keep_np, tap_time)
        parts = bench_step.timed_step("interactive_step.py", opt, params, max_norm, step_loss,
                                      i == 0)
        if i >= a.warmup:
            bench_step.keep_times(times, parts)
            taps_ms.append(tap_time[0] * 1e3)
    bench_step.print_medians(times)
    taps_ms.sort()
    print("py_taps_ms=%.4f" % taps_ms[len(taps_ms) // 2])


if __name__ == "__main__":
    main()
