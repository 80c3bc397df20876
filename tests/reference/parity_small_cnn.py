"""PyTorch side of tests/test_parity.c: pictor's small CNN against torch.nn (tests/reference/small_cnn.py).

  c2py DIR  DIR holds pictor's files: weights.pt (torch dict), weights.safetensors, io.safetensors
            (input x, targets y, train-mode logits, loss, every parameter's gradient as grad.<name>,
            the BatchNorm buffers after the step as after.<name>, eval-mode logits). Loads the
            weights both ways with load_state_dict(strict=True), redoes the same step and checks
            every value within 1e-5. Exit 0 when all match, 1 otherwise (the worst case printed).
  py2c DIR  writes DIR/py_weights.pt (torch.save(dict(sd))), DIR/py_ordered.pt (an OrderedDict,
            which libtorch 1.13 cannot read) and DIR/py_io.safetensors (x and eval logits).
"""
import os
import sys
from collections import OrderedDict

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_np  # noqa: E402
from small_cnn import SmallCNN  # noqa: E402

ARCH = (3, 4, 16, 5, 8)  # in_channels, width, hidden, classes, image size (as in test_parity.c)
TOL = 1e-5


def compare(what, ours, theirs, worst):
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape:
        print("parity: %s shape %s vs pictor %s" % (what, ours.shape, theirs.shape))
        worst[0] = float("inf")
        return
    d = float(np.max(np.abs(ours - theirs))) if ours.size else 0.0
    if d > worst[0]:
        worst[0], worst[1] = d, what


def c2py(d):
    io, _ = safetensors_np.load(os.path.join(d, "io.safetensors"))
    worst = [0.0, ""]
    for source in ("weights.pt", "weights.safetensors"):
        torch.manual_seed(123)
        model = SmallCNN(*ARCH)
        path = os.path.join(d, source)
        if source.endswith(".pt"):
            sd = torch.load(path)
        else:
            sd = {k: torch.from_numpy(v) for k, v in safetensors_np.load(path)[0].items()}
        model.load_state_dict(sd, strict=True)
        model.train()
        x = torch.from_numpy(io["x"])
        y = torch.from_numpy(io["y"])
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y)
        loss.backward()
        compare(source + " logits", logits.detach().numpy(), io["logits"], worst)
        compare(source + " loss", loss.detach().numpy(), io["loss"], worst)
        for name, p in model.named_parameters():
            compare(source + " grad." + name, p.grad.numpy(), io["grad." + name], worst)
        for name, b in model.named_buffers():
            compare(source + " after." + name, b.numpy(), io["after." + name], worst)
        model.eval()
        with torch.no_grad():
            compare(source + " eval logits", model(x).numpy(), io["eval_logits"], worst)
    print("parity c2py: max |diff| %.3g (%s)" % (worst[0], worst[1] or "-"))
    return 0 if worst[0] <= TOL else 1


def py2c(d):
    torch.manual_seed(3)
    model = SmallCNN(*ARCH)
    # non-trivial BatchNorm statistics so the eval pass uses them
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(6, ARCH[0], ARCH[4], ARCH[4]) * 2 + 0.5)
    model.eval()
    x = torch.randn(4, ARCH[0], ARCH[4], ARCH[4])
    with torch.no_grad():
        logits = model(x)
    sd = model.state_dict()
    torch.save(dict(sd), os.path.join(d, "py_weights.pt"))
    torch.save(OrderedDict(sd), os.path.join(d, "py_ordered.pt"))
    safetensors_np.save(os.path.join(d, "py_io.safetensors"),
                        {"x": x.numpy(), "eval_logits": logits.numpy()})
    return 0


if __name__ == "__main__":
    mode, directory = sys.argv[1], sys.argv[2]
    sys.exit(c2py(directory) if mode == "c2py" else py2c(directory))
