"""The Python PyTorch side of bench_portrait_step: one `portrait` training step (forward, the
four losses, backward, gradient clip, optimizer step) of the same two networks, on the same
batch, with the same settings and thread count. Prints py_step_ms=<median> and py_forward_ms /
py_backward_ms / py_optim_ms (the medians of the parts, split as the C side splits them).

  portrait_step.py --inputs FILE [--threads N] [--steps N] [--warmup N]

FILE is what `bench_portrait_step --write FILE` saved: the collated batch (normalised images,
and the driver's targets: mask, depth, valid, per-image weight, made in C from the synthetic
composites) and, as metadata, every setting of the step (from the config the C side read).

The networks, as train/models/portrait/pnet.c builds them (the parameter counts printed by both
sides agree):
  seg       torchvision 0.14's mobilenet_v3_small features (no classifier), its stage ends at
            strides 2, 8, 16 and the last features layer (stride 32), as tests/reference/
            segdecoder_ref.py's SegNet taps them; semantic = SegDecoder over strides 8, 16, 32
            (width W) + 1x1 head; detail = 2 x (3x3 conv, BN, ReLU) over [x, L2, F_s] at stride
            2 + 1x1 head, upsampled; fusion1 (3x3 conv-BN-ReLU over [F_s, F_d]), upsampled,
            fusion2 (over [., x], W / 2 channels) + 1x1 head.
  depth     SegNet(mobilenet_v3_small, output stride 4, width W, 2 outputs), upsampled to the
            input: sigmoid(channel 0) = depth, channel 1 = the raw log sigma.
Initialisation as pictor's (kaiming_normal_ fan_out for the convs of the decoders and branches,
torchvision's for the backbones, PyTorch's default for the 1x1 heads).
The loss, as drv_portrait.c sums it, with the formulas of tests/reference/portrait_losses_ref.py
(the oracle of losses/modnet_binary.c and losses/laplace_nll.c): semantic_w L_s + detail_w L_d +
fusion_w L_f + depth_w L_nll. The optimizer and the clip: tests/bench/bench_step.py (the
trainer's two groups; Adam with foreach=True as the config says).
"""
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import bench_step  # noqa: E402
import portrait_losses_ref  # noqa: E402
from segdecoder_ref import SegDecoder, SegNet  # noqa: E402


def kaiming(module):
    """pictor's decoder and branch convs: kaiming_normal_(fan_out, relu), zero biases."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def cbr(cin, cout, units):
    """pnet.c's cbr: units x (3x3 conv without bias, BatchNorm2d, ReLU)."""
    layers = []
    for j in range(units):
        layers += [nn.Conv2d(cout if j else cin, cout, 3, padding=1, bias=False),
                   nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    return kaiming(nn.Sequential(*layers))


def up(t, like):
    return F.interpolate(t, size=like.shape[-2:], mode="bilinear", align_corners=False)


class PNet(nn.Module):
    def __init__(self, backbone, depth_backbone, width, with_depth):
        super().__init__()
        w = width
        # the backbone and its levels at strides 2 .. 32; SegNet's own decoder and head unused
        self.seg = SegNet(backbone, 2, w, 0, 1, 1)
        del self.seg.decoder, self.seg.head
        with torch.no_grad():
            ch = [f.shape[1] for f in self.seg.levels(torch.zeros(1, 3, 64, 64))]
        self.semantic = kaiming(SegDecoder(ch[2:], w))
        self.semantic_head = nn.Conv2d(w, 1, 1)
        self.detail = cbr(3 + ch[0] + w, w, 2)
        self.detail_head = nn.Conv2d(w, 1, 1)
        self.fusion1 = cbr(2 * w, w, 1)
        self.fusion2 = cbr(w + 3, w // 2, 1)
        self.fusion_head = nn.Conv2d(w // 2, 1, 1)
        self.depth = None
        if with_depth:
            self.depth = SegNet(depth_backbone, 4, w, 0, 2, 1)
            kaiming(self.depth.decoder)

    def forward(self, x):
        lv = self.seg.levels(x)
        l2 = lv[0]
        fs = self.semantic(lv[2:])
        sem = self.semantic_head(fs)
        fs2 = up(fs, l2)
        fd = self.detail(torch.cat([up(x, l2), l2, fs2], 1))
        det = up(self.detail_head(fd), x)
        f1 = up(self.fusion1(torch.cat([fs2, fd], 1)), x)
        fus = self.fusion_head(self.fusion2(torch.cat([f1, x], 1)))
        if self.depth is None:
            return sem, det, fus, None, None
        _, lg = self.depth(x)
        lu = up(lg, x)
        return sem, det, fus, torch.sigmoid(lu[:, 0:1]), lu[:, 1:2].contiguous()


def loss_of(o, t, num):
    """The loss and its terms, as drv_portrait.c's pp_loss sums them."""
    sem, det, fus, dep, ls = o
    x, m, wb = t["images"], t["mask"], t["weight"]
    s, d, f = portrait_losses_ref.modnet(sem, det, fus, m, x, wb, int(num["band_radius"]))
    terms = {"semantic": s, "detail": d, "fusion": f}
    total = s * num["semantic_weight"] + d * num["detail_weight"] + f * num["fusion_weight"]
    if dep is not None:
        terms["depth_nll"] = portrait_losses_ref.laplace(dep, t["depth"], ls, t["valid"],
                                                         num["log_sigma_bound"])
        total = total + terms["depth_nll"] * num["depth_weight"]
    return total, terms


def main():
    a = bench_step.parse_args("bench_portrait_step")
    t, meta, num = bench_step.load_inputs(a.inputs)
    model = PNet(meta["backbone"], meta["depth_backbone"], int(num["width"]),
                 num["depth_net"] != 0)
    params, opt, max_norm = bench_step.training_setup(model, meta, num)
    kind = meta["optim"]
    x = t["images"]
    print("portrait step (PyTorch): %s + %s, width %d, %d parameters, batch %d, %dx%d, "
          "%d threads, %s" % (meta["backbone"], meta["depth_backbone"], int(num["width"]),
                              sum(p.numel() for p in params), x.shape[0], x.shape[2], x.shape[3],
                              a.threads, kind))
    bench_step.run_steps("portrait_step.py", a, opt, params, max_norm,
                         lambda: loss_of(model(x), t, num))


if __name__ == "__main__":
    main()
