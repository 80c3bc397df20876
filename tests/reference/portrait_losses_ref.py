"""The portrait model's losses written again from their formulas in PyTorch: the oracle of
losses/laplace_nll.c and losses/modnet_binary.c (tests/test_portrait_losses.c).

  laplace DIR B H W U     reads DIR/{d,t,u,v}.f32 (float32 [B,1,H,W]); writes DIR/loss.txt and
                          DIR/{gd,gu}.f32 (d loss / d d, d loss / d u)
  modnet DIR B H W h w R  reads DIR/{sem.f32 [B,1,h,w], det,fus,mask [B,1,H,W], img [B,3,H,W],
                          wb [B]}; writes DIR/loss.txt (semantic detail fusion) and the gradient
                          of 10 semantic + 10 detail + fusion wrt sem, det, fus: DIR/g{sem,det,fus}.f32
"""
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F


def load(d, name, shape):
    return torch.from_numpy(np.fromfile("%s/%s.f32" % (d, name), np.float32).reshape(shape)).double()


def laplace(d, t, u, v, bound):
    s = bound * torch.tanh(u / bound)          # log sigma
    l = torch.abs(d - t) / torch.exp(s) + s     # |d - t| / sigma + log sigma
    return (l * v).sum() / max(v.sum().item(), 1.0)


def gauss3():
    k = torch.tensor([[math.exp(-((i - 1) ** 2 + (j - 1) ** 2) / (2 * 0.64)) for j in range(3)]
                      for i in range(3)], dtype=torch.float32).double()
    return (k / k.sum()).view(1, 1, 3, 3)


def modnet(sem, det, fus, m, img, wb, r):
    b = m.shape[0]
    g = F.conv2d(F.interpolate(m, size=sem.shape[2:], mode="bilinear", align_corners=False),
                 gauss3().to(m.dtype), padding=1)
    n = max(wb.sum().item(), 1.0)
    per = lambda x: x.mean(dim=(1, 2, 3))
    ls = (per((torch.sigmoid(sem) - g) ** 2) * wb).sum() / n
    dil = F.max_pool2d(m, 2 * r + 1, 1, r)
    ero = 1 - F.max_pool2d(1 - m, 2 * r + 1, 1, r)
    band = (dil - ero) * wb.view(b, 1, 1, 1)
    ld = (band * torch.abs(torch.sigmoid(det) - m)).sum() / max(band.sum().item(), 1.0)
    a = torch.sigmoid(fus)
    lf = (per(torch.abs(a - m)) * wb).sum() / n + (per(torch.abs(img * a - img * m)) * wb).sum() / n
    return ls, ld, lf


def main():
    mode, d = sys.argv[1], sys.argv[2]
    if mode == "laplace":
        b, h, w = (int(x) for x in sys.argv[3:6])
        bound = float(sys.argv[6])
        sh = (b, 1, h, w)
        dd = load(d, "d", sh).requires_grad_()
        uu = load(d, "u", sh).requires_grad_()
        loss = laplace(dd, load(d, "t", sh), uu, load(d, "v", sh), bound)
        loss.backward()
        dd.grad.float().numpy().tofile(d + "/gd.f32")
        uu.grad.float().numpy().tofile(d + "/gu.f32")
        with open(d + "/loss.txt", "w") as f:
            f.write("%.12g\n" % loss.item())
    else:
        b, H, W, h, w, r = (int(x) for x in sys.argv[3:9])
        sem = load(d, "sem", (b, 1, h, w)).requires_grad_()
        det = load(d, "det", (b, 1, H, W)).requires_grad_()
        fus = load(d, "fus", (b, 1, H, W)).requires_grad_()
        ls, ld, lf = modnet(sem, det, fus, load(d, "mask", (b, 1, H, W)),
                            load(d, "img", (b, 3, H, W)), load(d, "wb", (b,)), r)
        (10 * ls + 10 * ld + lf).backward()
        for name, t in (("gsem", sem), ("gdet", det), ("gfus", fus)):
            t.grad.float().numpy().tofile("%s/%s.f32" % (d, name))
        with open(d + "/loss.txt", "w") as f:
            f.write("%.12g %.12g %.12g\n" % (ls.item(), ld.item(), lf.item()))


if __name__ == "__main__":
    main()
