"""PyTorch side of tests/test_resnet.c: pictor's ResNet and FPN (train/resnet.c, train/fpn.c)
against torchvision 0.14's resnet18 ... resnet152 and torchvision.ops.FeaturePyramidNetwork with
LastLevelP6P7(256, 256) (Debian's python3-torchvision), wired as torchvision's BackboneWithFPN
wires them: the FPN takes layer2, layer3, layer4 (C3, C4, C5) and returns P3 .. P7.

Weights files hold both models in one dict: the ResNet (with its classifier fc) under "body.",
the FPN under "fpn.". Inputs are [2, 3, 100, 136] (not a multiple of 128 either way). Runs on one
thread, as the C tests do.

  names DIR DEPTH...  writes DIR/names_resnet<D>.txt (torchvision's resnet<D> state_dict, one
                      "name d0,d1,..." line per entry, in order) and DIR/names_fpn<D>.txt (the
                      FPN over that ResNet's C3 .. C5 channels).
  c2py DIR DEPTH...   DIR/<D>/ holds pictor's files: weights.pt (torch dict), weights.safetensors,
                      io.safetensors (x, targets y; eval mode: eval_logits, eval_p0 .. eval_p4;
                      one train-mode pass: logits, p0 .. p4, loss = cross_entropy(logits, y) +
                      sum_i mean(P_i^2), grad.<name> of every parameter and after.<name> of every
                      buffer after it). Loads both files with load_state_dict(strict=True), checks
                      they hold the same tensors, redoes everything from the torch dict and
                      compares. Exit 0 when all match, 1 otherwise.
  py2c DIR DEPTH...   writes DIR/py_<D>.pt (torchvision's weights with every BatchNorm vector and
                      bias randomised and the statistics moved by three train-mode passes) and
                      DIR/py_<D>_io.safetensors (x; eval_logits, eval_p0 .. 4; train_logits,
                      train_p0 .. 4 from one train-mode pass after the weights were saved).
"""
import collections
import os
import sys

import numpy as np
import torch
import torchvision
from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork, LastLevelP6P7

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_np  # noqa: E402

TOL = 1e-4        # logits, pyramid levels, loss (absolute)
GRAD_RTOL = 1e-4  # gradients and buffers: |diff| <= GRAD_RTOL * max(1, max |torchvision's|)
SHAPE = (2, 3, 100, 136)
N_LEVELS = 5      # P3 .. P7


def build(depth):
    resnet = getattr(torchvision.models, "resnet%d" % depth)(num_classes=1000)
    expansion = 4 if depth >= 50 else 1
    fpn = FeaturePyramidNetwork([128 * expansion, 256 * expansion, 512 * expansion], 256,
                                extra_blocks=LastLevelP6P7(256, 256))
    return resnet, fpn


def forward(resnet, fpn, x):
    """Logits and P3 .. P7 from one pass of the ResNet (its layer2-4 outputs feed the FPN)."""
    taps = {}
    hooks = [getattr(resnet, "layer%d" % i).register_forward_hook(
        lambda mod, inp, out, i=i: taps.__setitem__(i, out)) for i in (2, 3, 4)]
    logits = resnet(x)
    for h in hooks:
        h.remove()
    pyramid = fpn(collections.OrderedDict(("c%d" % i, taps[i]) for i in (2, 3, 4)))
    return logits, list(pyramid.values())


def names(d, depths):
    for depth in depths:
        resnet, fpn = build(depth)
        for tag, model in (("resnet", resnet), ("fpn", fpn)):
            with open(os.path.join(d, "names_%s%d.txt" % (tag, depth)), "w") as f:
                for k, v in model.state_dict().items():
                    f.write("%s %s\n" % (k, ",".join(str(s) for s in v.shape)))
    return 0


class Worst:
    """The largest difference seen, absolute (outputs, loss) and relative to scale (the rest)."""

    def __init__(self):
        self.abs = (0.0, "-")
        self.rel = (0.0, "-")
        self.failed = []
        self.exact = 0
        self.total = 0

    def check(self, what, theirs, ours, relative):
        theirs = np.asarray(theirs, dtype=np.float64)
        ours = np.asarray(ours, dtype=np.float64)
        if theirs.shape != ours.shape:
            self.failed.append("%s: shape %s vs pictor %s" % (what, theirs.shape, ours.shape))
            return
        d = float(np.max(np.abs(theirs - ours))) if theirs.size else 0.0
        self.total += 1
        self.exact += d == 0.0
        if relative:
            scale = max(1.0, float(np.max(np.abs(theirs))) if theirs.size else 0.0)
            if d / scale > self.rel[0]:
                self.rel = (d / scale, what)
            if d > GRAD_RTOL * scale:
                self.failed.append("%s: |diff| %.3g (scale %.3g)" % (what, d, scale))
        else:
            if d > self.abs[0]:
                self.abs = (d, what)
            if d > TOL:
                self.failed.append("%s: |diff| %.3g" % (what, d))


def load_weights(path):
    if path.endswith(".pt"):
        return torch.load(path)
    tensors, _ = safetensors_np.load(path)
    return {k: torch.from_numpy(np.array(v)) for k, v in tensors.items()}


def split(weights, prefix):
    return {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}


def c2py_one(d, depth, worst):
    io, _ = safetensors_np.load(os.path.join(d, "io.safetensors"))
    x = torch.from_numpy(io["x"])
    y = torch.from_numpy(io["y"])
    # both files load strictly and hold the same tensors; the model runs from the torch dict
    for source in ("weights.safetensors", "weights.pt"):
        tag = "resnet%d %s " % (depth, source)
        resnet, fpn = build(depth)
        weights = load_weights(os.path.join(d, source))
        if len(split(weights, "body.")) + len(split(weights, "fpn.")) != len(weights):
            worst.failed.append(tag + "entries outside body. and fpn.")
        resnet.load_state_dict(split(weights, "body."), strict=True)
        fpn.load_state_dict(split(weights, "fpn."), strict=True)
        if source == "weights.safetensors":
            first = weights
            continue
        for k, v in weights.items():
            if k not in first or not torch.equal(first[k], v):
                worst.failed.append(tag + "%s differs from weights.safetensors" % k)
        resnet.eval()
        fpn.eval()
        with torch.no_grad():
            logits, levels = forward(resnet, fpn, x)
        worst.check(tag + "eval logits", logits.numpy(), io["eval_logits"], False)
        for i, p in enumerate(levels):
            worst.check(tag + "eval P%d" % (i + 3), p.numpy(), io["eval_p%d" % i], False)
        resnet.train()
        fpn.train()
        logits, levels = forward(resnet, fpn, x)
        loss = torch.nn.functional.cross_entropy(logits, y)
        for p in levels:
            loss = loss + p.square().mean()
        loss.backward()
        worst.check(tag + "train logits", logits.detach().numpy(), io["logits"], False)
        for i, p in enumerate(levels):
            worst.check(tag + "train P%d" % (i + 3), p.detach().numpy(), io["p%d" % i], False)
        worst.check(tag + "loss", loss.detach().numpy(), io["loss"], False)
        for prefix, model in (("body.", resnet), ("fpn.", fpn)):
            for name, p in model.named_parameters():
                worst.check(tag + "grad." + prefix + name, p.grad.numpy(),
                            io["grad." + prefix + name], True)
            for name, b in model.named_buffers():
                worst.check(tag + "after." + prefix + name, b.numpy(),
                            io["after." + prefix + name], True)


def c2py(d, depths):
    worst = Worst()
    for depth in depths:
        c2py_one(os.path.join(d, str(depth)), depth, worst)
    print("resnet+fpn c2py: outputs/loss max |diff| %.3g (%s); gradients/buffers max relative "
          "|diff| %.3g (%s); %d of %d compared tensors bit-exact"
          % (worst.abs[0], worst.abs[1], worst.rel[0], worst.rel[1], worst.exact, worst.total))
    for line in worst.failed[:10]:
        print("  MISMATCH " + line)
    return 1 if worst.failed else 0


def py2c(d, depths):
    for i, depth in enumerate(depths):
        torch.manual_seed(11 + i)
        resnet, fpn = build(depth)
        resnet.train()
        with torch.no_grad():  # non-trivial BatchNorm parameters, statistics and biases
            for model in (resnet, fpn):
                for name, t in list(model.named_parameters()) + list(model.named_buffers()):
                    if name.endswith(".running_var") or (name.endswith(".weight") and t.dim() == 1):
                        t.uniform_(0.5, 2.0)
                    elif name.endswith(".running_mean") or name.endswith(".bias"):
                        t.normal_(0.0, 0.2)
            for _ in range(3):
                resnet(torch.randn(4, *SHAPE[1:]) * 2 + 0.5)
        weights = {"body." + k: v for k, v in resnet.state_dict().items()}
        weights.update({"fpn." + k: v for k, v in fpn.state_dict().items()})
        torch.save(weights, os.path.join(d, "py_%d.pt" % depth))
        x = torch.randn(*SHAPE)
        out = {"x": x.numpy()}
        with torch.no_grad():
            for mode in ("eval", "train"):
                resnet.train(mode == "train")
                fpn.train(mode == "train")
                logits, levels = forward(resnet, fpn, x)
                out["%s_logits" % mode] = logits.numpy()
                for j, p in enumerate(levels):
                    out["%s_p%d" % (mode, j)] = p.numpy()
        safetensors_np.save(os.path.join(d, "py_%d_io.safetensors" % depth), out)
    return 0


if __name__ == "__main__":
    torch.set_num_threads(1)
    mode, directory, depths = sys.argv[1], sys.argv[2], [int(a) for a in sys.argv[3:]]
    modes = {"names": names, "c2py": c2py, "py2c": py2c}
    sys.exit(modes[mode](directory, depths))
