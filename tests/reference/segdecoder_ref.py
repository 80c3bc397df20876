"""PyTorch side of tests/test_segdecoder.c: pictor's segmentation decoder and segnet
(train/models/backbones/segdecoder.c) re-implemented as PyTorch modules over torchvision 0.14's
resnet / mobilenet_v3 (Debian's python3-torchvision), with the same module names, so that
pictor's weights load with load_state_dict(strict=True).

SegDecoder(in_channels, width, out_channels, block_convs, image_input), finest level first:
  lateral.i    Conv2d(in_channels[i], width, 1) with bias (3x3, padding 1, for an image level 0)
  blocks.i     block_convs x [Conv2d(., ., 3, padding=1, bias=False), BatchNorm2d, ReLU]; the
               last conv of blocks.0 gives out_channels
  forward      y = blocks[-1](lateral[-1](F[-1])); then for each finer level i:
               y = blocks[i](lateral[i](F[i]) + interpolate(y, F[i]'s size, bilinear,
               align_corners=False))
SegNet(backbone, stride, width, feature_channels, out_channels, block_convs):
  backbone     torchvision's builder without its classifier (fc / classifier -> Identity)
  levels       stride 4: C2 .. C5; 2: the stride-2 feature first; 1: the image first as well.
               ResNet: relu(bn1(conv1(x))) and layer1 .. layer4. MobileNetV3: the outputs of the
               features layer before each stride-2 block (torchvision's _is_cn marks those, as its
               LR-ASPP uses them) and of the last features layer.
  head         Conv2d(feature_channels, out_channels, 1)

  c2py DIR CASE...   CASE = "backbone,stride,width,feature_channels,out_channels,block_convs";
                     DIR/<backbone>_s<stride>/ holds pictor's weights.pt, weights.safetensors and
                     io.safetensors (x, y [N, h, w] class targets; eval mode: eval_features,
                     eval_logits; one train-mode pass: features, logits, loss =
                     cross_entropy(logits, y) + mean(features^2), grad.<name> of every parameter,
                     after.<name> of every buffer after it). Checks both weight files load
                     strictly, hold the same tensors and list the entries in the module's
                     state_dict order, redoes everything and compares. Writes DIR/result.txt
                     ("<max |diff| outputs/loss> <max relative |diff| gradients/buffers>").
                     Exit 0 when all match, 1 otherwise.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_np  # noqa: E402
from resnet_fpn_parity import Worst, load_weights  # noqa: E402


class SegDecoder(nn.Module):
    def __init__(self, in_channels, width, out_channels=0, block_convs=1, image_input=False):
        super().__init__()
        out_channels = out_channels or width
        self.lateral = nn.ModuleList()
        for i, c in enumerate(in_channels):
            k = 3 if (i == 0 and image_input) else 1
            self.lateral.append(nn.Conv2d(c, width, k, padding=k // 2))
        self.blocks = nn.ModuleList()
        for i in range(len(in_channels)):
            layers = []
            for j in range(block_convs):
                c_out = out_channels if (i == 0 and j == block_convs - 1) else width
                layers += [nn.Conv2d(width, c_out, 3, padding=1, bias=False),
                           nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
            self.blocks.append(nn.Sequential(*layers))

    def forward(self, feats):
        y = self.blocks[-1](self.lateral[-1](feats[-1]))
        for i in range(len(feats) - 2, -1, -1):
            up = F.interpolate(y, size=feats[i].shape[-2:], mode="bilinear", align_corners=False)
            y = self.blocks[i](self.lateral[i](feats[i]) + up)
        return y


class SegNet(nn.Module):
    def __init__(self, backbone, stride, width, feature_channels, out_channels, block_convs):
        super().__init__()
        self.stride = stride
        self.resnet = backbone.startswith("resnet")
        self.backbone = getattr(torchvision.models, backbone)()
        if self.resnet:
            self.backbone.fc = nn.Identity()
        else:
            self.backbone.classifier = nn.Identity()
            self.taps = [i - 1 for i, b in enumerate(self.backbone.features)
                         if getattr(b, "_is_cn", False)]
        self.backbone.eval()
        with torch.no_grad():
            channels = [f.shape[1] for f in self.levels(torch.zeros(1, 3, 64, 64))]
        self.decoder = SegDecoder(channels, width, feature_channels, block_convs, stride == 1)
        self.head = nn.Conv2d(feature_channels or width, out_channels, 1)

    def levels(self, x):
        b = self.backbone
        if self.resnet:
            stem = b.relu(b.bn1(b.conv1(x)))
            feats = [stem]
            y = b.maxpool(stem)
            for layer in (b.layer1, b.layer2, b.layer3, b.layer4):
                y = layer(y)
                feats.append(y)
        else:
            feats = []
            y = x
            for i, layer in enumerate(b.features):
                y = layer(y)
                if i in self.taps or i == len(b.features) - 1:
                    feats.append(y)
        if self.stride == 4:
            feats = feats[1:]
        if self.stride == 1:
            feats = [x] + feats
        return feats

    def forward(self, x):
        features = self.decoder(self.levels(x))
        return features, self.head(features)


def parse_case(case):
    name, stride, width, feat, out, convs = case.split(",")
    return name, int(stride), int(width), int(feat), int(out), int(convs)


def c2py_one(d, case, worst):
    name, stride, width, feat, out, convs = case
    io, _ = safetensors_np.load(os.path.join(d, "io.safetensors"))
    x = torch.from_numpy(io["x"])
    y = torch.from_numpy(io["y"])
    tag = "%s stride %d " % (name, stride)
    net = SegNet(name, stride, width, feat, out, convs)
    first = load_weights(os.path.join(d, "weights.safetensors"))
    weights = load_weights(os.path.join(d, "weights.pt"))
    if list(weights.keys()) != list(net.state_dict().keys()):
        worst.failed.append(tag + "weights.pt does not list the entries in state_dict order")
    for k, v in weights.items():
        if k not in first or not torch.equal(first[k], v):
            worst.failed.append(tag + "%s differs from weights.safetensors" % k)
    net.load_state_dict(first, strict=True)
    net.load_state_dict(weights, strict=True)
    net.eval()
    with torch.no_grad():
        features, logits = net(x)
    worst.check(tag + "eval features", features.numpy(), io["eval_features"], False)
    worst.check(tag + "eval logits", logits.numpy(), io["eval_logits"], False)
    net.train()
    features, logits = net(x)
    loss = F.cross_entropy(logits, y) + features.square().mean()
    loss.backward()
    worst.check(tag + "train features", features.detach().numpy(), io["features"], False)
    worst.check(tag + "train logits", logits.detach().numpy(), io["logits"], False)
    worst.check(tag + "loss", loss.detach().numpy(), io["loss"], False)
    for pname, p in net.named_parameters():
        worst.check(tag + "grad." + pname, p.grad.numpy(), io["grad." + pname], True)
    for bname, b in net.named_buffers():
        worst.check(tag + "after." + bname, b.numpy(), io["after." + bname], True)


def c2py(d, cases):
    worst = Worst()
    for case in cases:
        c = parse_case(case)
        c2py_one(os.path.join(d, "%s_s%d" % (c[0], c[1])), c, worst)
    print("segdecoder c2py: outputs/loss max |diff| %.3g (%s); gradients/buffers max relative "
          "|diff| %.3g (%s); %d of %d compared tensors bit-exact"
          % (worst.abs[0], worst.abs[1], worst.rel[0], worst.rel[1], worst.exact, worst.total))
    for line in worst.failed[:10]:
        print("  MISMATCH " + line)
    with open(os.path.join(d, "result.txt"), "w") as f:
        f.write("%.9g %.9g %d\n" % (worst.abs[0], worst.rel[0], len(worst.failed)))
    return 1 if worst.failed else 0


if __name__ == "__main__":
    torch.set_num_threads(1)
    mode, directory, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    modes = {"c2py": c2py}
    sys.exit(modes[mode](directory, rest))
