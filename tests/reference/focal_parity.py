#!/usr/bin/python3
"""focal_parity.py - torchvision.ops.sigmoid_focal_loss values and gradients, the oracle of
losses/focal.c (tests/test_polar_losses.c).

usage: focal_parity.py IN.safetensors OUT.safetensors

IN (written by the C test) holds, for each dtype tag D in {f32, f64}:
    x_D [n]        logits (extremes +-30 included)
    t_D [n]        targets (0/1, and a few soft values)
    g_D [n]        the upstream gradient used for reduction "none"
    dx_D [N, C]    dense logits,  ids [N] int64 class ids (-1 = background)
and the cases as metadata "cases" = "name:alpha:gamma:reduction;..." (reduction none|sum|mean).

OUT gets, for each case and dtype, "v_<name>_D" (the loss: [n] for none, a 0-dim tensor
otherwise) and "d_<name>_D" (d(loss . g)/dx for none, d(loss)/dx otherwise), computed by
torchvision in that dtype; and "v_dense_D" / "d_dense_D": the sum over [N, C] of the focal
loss with alpha 0.25, gamma 2 against the one-hot of ids (no column for -1), and its gradient.
NaN appears where torchvision itself gives NaN (0 < gamma < 1 at saturated logits).
"""
import sys

import numpy as np
import torch
from torchvision.ops import sigmoid_focal_loss

import safetensors_np


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    tensors, meta = safetensors_np.load(sys.argv[1])
    cases = []
    for item in meta["cases"].split(";"):
        name, alpha, gamma, reduction = item.split(":")
        cases.append((name, float(alpha), float(gamma), reduction))
    out = {}
    for tag in ("f32", "f64"):
        t = torch.from_numpy(tensors["t_" + tag])
        g = torch.from_numpy(tensors["g_" + tag])
        for name, alpha, gamma, reduction in cases:
            x = torch.from_numpy(tensors["x_" + tag].copy()).requires_grad_(True)
            loss = sigmoid_focal_loss(x, t, alpha=alpha, gamma=gamma, reduction=reduction)
            if reduction == "none":
                loss.backward(g)
            else:
                loss.backward()
            out["v_%s_%s" % (name, tag)] = loss.detach().numpy().copy()
            out["d_%s_%s" % (name, tag)] = x.grad.numpy().copy()
        dx = torch.from_numpy(tensors["dx_" + tag].copy()).requires_grad_(True)
        ids = torch.from_numpy(tensors["ids"])
        n, c = dx.shape
        target = torch.zeros((n, c), dtype=dx.dtype)
        pos = ids >= 0
        target[pos.nonzero()[:, 0], ids[pos]] = 1
        loss = sigmoid_focal_loss(dx, target, alpha=0.25, gamma=2.0, reduction="sum")
        loss.backward()
        out["v_dense_" + tag] = loss.detach().numpy().copy()
        out["d_dense_" + tag] = dx.grad.numpy().copy()
    safetensors_np.save(sys.argv[2], {k: np.ascontiguousarray(v) for k, v in out.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
