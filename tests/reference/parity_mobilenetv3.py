"""PyTorch side of tests/test_mobilenetv3.c: pictor's MobileNetV3 (train/mobilenetv3.c) against
torchvision 0.14's mobilenet_v3_small / mobilenet_v3_large (Debian's python3-torchvision).

Every mode takes DIR and one or more architectures VARIANT_WIDTH_CLASSES (e.g. small_0.75_10);
the models are built with dropout 0 so that train-mode passes are deterministic.

  names DIR ARCH...  writes DIR/names_<ARCH>.txt: torchvision's state_dict, one "name d0,d1,..."
                     line per entry, in order (0-dim tensors have an empty shape).
  c2py DIR ARCH...   DIR/<ARCH>/ holds pictor's files: weights.pt (torch dict),
                     weights.safetensors, io.safetensors (input x, targets y, eval-mode logits,
                     then one train-mode step: logits, loss, grad.<name> of every parameter,
                     after.<name> of every buffer). Loads the weights both ways with
                     load_state_dict(strict=True), redoes everything, checks it within TOL.
                     Exit 0 when all match, 1 otherwise; the worst differences are printed.
  py2c DIR ARCH...   writes DIR/py_<ARCH>.pt (torch.save(dict(sd)), BatchNorm statistics moved by
                     three train-mode passes after every BatchNorm vector and bias was randomised) and DIR/py_<ARCH>_io.safetensors (x, eval logits,
                     and train-mode logits computed after the weights were saved).
"""
import os
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_np  # noqa: E402

TOL = 1e-4        # logits, loss (absolute)
GRAD_RTOL = 1e-4  # gradients and buffers: |diff| <= GRAD_RTOL * max(1, max |torchvision's|)
SIDE = 64         # input size of the py2c check (as in test_mobilenetv3.c)


def build(arch):
    variant, width, classes = arch.split("_")
    ctor = {"small": torchvision.models.mobilenet_v3_small,
            "large": torchvision.models.mobilenet_v3_large}[variant]
    return ctor(width_mult=float(width), num_classes=int(classes), dropout=0.0)


def names(d, archs):
    for arch in archs:
        sd = build(arch).state_dict()
        with open(os.path.join(d, "names_%s.txt" % arch), "w") as f:
            for k, v in sd.items():
                f.write("%s %s\n" % (k, ",".join(str(s) for s in v.shape)))
    return 0


class Worst:
    """The largest difference seen, absolute (logits, loss) and relative to scale (the rest)."""

    def __init__(self):
        self.abs = (0.0, "-")
        self.rel = (0.0, "-")
        self.failed = []
        self.scale = 0.0  # largest |eval logit|, to judge the absolute tolerance by

    def check(self, what, theirs, ours, relative):
        theirs = np.asarray(theirs, dtype=np.float64)
        ours = np.asarray(ours, dtype=np.float64)
        if theirs.shape != ours.shape:
            self.failed.append("%s: shape %s vs pictor %s" % (what, theirs.shape, ours.shape))
            return
        d = float(np.max(np.abs(theirs - ours))) if theirs.size else 0.0
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


def c2py_one(d, arch, worst):
    io, _ = safetensors_np.load(os.path.join(d, "io.safetensors"))
    x = torch.from_numpy(io["x"])
    y = torch.from_numpy(io["y"])
    for source in ("weights.pt", "weights.safetensors"):
        tag = "%s %s " % (arch, source)
        model = build(arch)
        model.load_state_dict(load_weights(os.path.join(d, source)), strict=True)
        model.eval()
        with torch.no_grad():
            eval_logits = model(x).numpy()
            worst.check(tag + "eval logits", eval_logits, io["eval_logits"], False)
        worst.scale = max(worst.scale, float(np.max(np.abs(eval_logits))))
        model.train()
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y)
        loss.backward()
        worst.check(tag + "train logits", logits.detach().numpy(), io["logits"], False)
        worst.check(tag + "loss", loss.detach().numpy(), io["loss"], False)
        for name, p in model.named_parameters():
            worst.check(tag + "grad." + name, p.grad.numpy(), io["grad." + name], True)
        for name, b in model.named_buffers():
            worst.check(tag + "after." + name, b.numpy(), io["after." + name], True)


def c2py(d, archs):
    worst = Worst()
    for arch in archs:
        c2py_one(os.path.join(d, arch), arch, worst)
    print("mobilenetv3 c2py: logits/loss max |diff| %.3g (%s; largest |logit| %.3g); "
          "gradients/buffers max relative |diff| %.3g (%s)"
          % (worst.abs[0], worst.abs[1], worst.scale, worst.rel[0], worst.rel[1]))
    for line in worst.failed[:10]:
        print("  MISMATCH " + line)
    return 1 if worst.failed else 0


def py2c(d, archs):
    for i, arch in enumerate(archs):
        torch.manual_seed(7 + i)
        model = build(arch)
        model.train()
        with torch.no_grad():  # non-trivial BatchNorm parameters, statistics and biases
            for name, t in list(model.named_parameters()) + list(model.named_buffers()):
                if name.endswith(".running_var") or (name.endswith(".weight") and t.dim() == 1):
                    t.uniform_(0.5, 2.0)
                elif name.endswith(".running_mean") or name.endswith(".bias"):
                    t.normal_(0.0, 0.2)
            for _ in range(3):
                model(torch.randn(4, 3, SIDE, SIDE) * 2 + 0.5)
        torch.save(dict(model.state_dict()), os.path.join(d, "py_%s.pt" % arch))
        x = torch.randn(2, 3, SIDE, SIDE)
        model.eval()
        with torch.no_grad():
            eval_logits = model(x)
            model.train()
            train_logits = model(x)
        safetensors_np.save(os.path.join(d, "py_%s_io.safetensors" % arch),
                            {"x": x.numpy(), "eval_logits": eval_logits.numpy(),
                             "train_logits": train_logits.numpy()})
    return 0


if __name__ == "__main__":
    mode, directory, architectures = sys.argv[1], sys.argv[2], sys.argv[3:]
    modes = {"names": names, "c2py": c2py, "py2c": py2c}
    sys.exit(modes[mode](directory, architectures))
