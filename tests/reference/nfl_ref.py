"""RITM's NormalizedFocalLossSigmoid (isegm/model/losses.py, written again from its formula) in
PyTorch: the oracle of losses/normalized_focal.c (tests/test_losses.c).

Reads logits, target and weight (float32 [B, 1, H, W], .npy via safetensors-free raw files given
as: B H W path_logits path_target path_weight), prints the loss and writes d loss / d logits to
the given output path as raw float32."""
import sys

import numpy as np
import torch


def nfl(x, t, w, alpha=0.5, gamma=2.0, eps=1e-8):
    p = torch.sigmoid(x)
    valid = w > 0
    pt = torch.where(valid, 1.0 - torch.abs(t - p), torch.ones_like(p))
    a = torch.where(t > 0.5, alpha * w, (1 - alpha) * w)
    beta = (1 - pt) ** gamma
    mult = (w.sum(dim=(-1, -2), keepdim=True) / (beta.sum(dim=(-1, -2), keepdim=True) + eps)).detach()
    loss = -a * beta * mult * torch.log(torch.clamp(pt + eps, max=1.0))
    per = (loss * w).sum(dim=(-1, -2)) / (w.sum(dim=(-1, -2)) + eps)
    return per.mean()


def main():
    b, h, w = (int(v) for v in sys.argv[1:4])
    shape = (b, 1, h, w)
    x = torch.from_numpy(np.fromfile(sys.argv[4], np.float32).reshape(shape)).double().requires_grad_()
    t = torch.from_numpy(np.fromfile(sys.argv[5], np.float32).reshape(shape)).double()
    wt = torch.from_numpy(np.fromfile(sys.argv[6], np.float32).reshape(shape)).double()
    loss = nfl(x, t, wt)
    loss.backward()
    x.grad.float().numpy().tofile(sys.argv[7])
    print("loss=%.12g" % loss.item())
    with open(sys.argv[8], "w") as f:
        f.write("%.12g\n" % loss.item())


if __name__ == "__main__":
    main()
