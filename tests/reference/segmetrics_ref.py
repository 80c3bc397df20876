#!/usr/bin/python3
"""segmetrics_ref.py - the NumPy/SciPy oracle of train/eval/segmetrics.c and
data/geometry/distance.c (tests/test_segmetrics.c). Written from the definitions in
train/eval/segmetrics.h with array operations (boundaries by shifted comparisons, tolerance by
scipy.ndimage.distance_transform_edt), not from the C code.

usage: segmetrics_ref.py IN OUT

IN: text, one record a line:
    img H W TOL PRED GT IGNORE SOFT...     PRED, GT: H*W characters 0/1 (row-major); IGNORE:
                                           the same or '-' for none; SOFT: H*W floats
    acc TOL N                              the accumulator over every img record, boundary F
                                           at TOL, and its N worst images by IoU
    edt H W SEED                           SEED: H*W characters 0/1
OUT: one line per record, values with 17 significant digits:
    img: IoU Dice P R F MAE(soft) MAE(hard prediction)
    acc: meanIoU meanDice meanP meanR meanF meanMAE overallIoU overallDice worst0 worst1 ...
    edt: H*W distances (inf without seed)
The first line of OUT says which EDT was used: "edt scipy" or "edt brute-force".
"""
import sys

import numpy as np

try:
    from scipy.ndimage import distance_transform_edt
    EDT_KIND = "scipy"
except ImportError:  # pragma: no cover - Debian's python3-scipy is expected
    distance_transform_edt = None
    EDT_KIND = "brute-force"


def edt(seed):
    """Euclidean distance from each pixel to the nearest non-zero seed pixel; inf without."""
    seed = np.asarray(seed, dtype=bool)
    if not seed.any():
        return np.full(seed.shape, np.inf)
    if distance_transform_edt is not None:
        # scipy measures the distance to the nearest ZERO pixel: pass the complement
        return distance_transform_edt(~seed)
    ys, xs = np.nonzero(seed)
    yy, xx = np.mgrid[0:seed.shape[0], 0:seed.shape[1]]
    d2 = (yy[..., None] - ys) ** 2 + (xx[..., None] - xs) ** 2
    return np.sqrt(d2.min(axis=-1).astype(np.float64))


def boundary(m):
    """Foreground pixels with a background 4-neighbour inside the image (frame not counted)."""
    m = np.asarray(m, dtype=bool)
    b = np.zeros_like(m)
    b[:, 1:] |= m[:, 1:] & ~m[:, :-1]
    b[:, :-1] |= m[:, :-1] & ~m[:, 1:]
    b[1:, :] |= m[1:, :] & ~m[:-1, :]
    b[:-1, :] |= m[:-1, :] & ~m[1:, :]
    return b


def overlap(p, g, keep):
    p, g = p & keep, g & keep
    inter, union = int((p & g).sum()), int((p | g).sum())
    if union == 0:
        return 1.0, 1.0, inter, union, int(p.sum()), int(g.sum())
    return inter / union, 2 * inter / (p.sum() + g.sum()), inter, union, int(p.sum()), int(g.sum())


def boundary_f(p, g, keep, tol):
    bp, bg = boundary(p), boundary(g)
    dp, dg = edt(bp), edt(bg)  # distance to the nearest predicted / GT boundary pixel
    cp, cg = bp & keep, bg & keep
    prec = (dg[cp] <= tol).sum() / cp.sum() if cp.any() else 1.0
    rec = (dp[cg] <= tol).sum() / cg.sum() if cg.any() else 1.0
    f = 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0
    return float(prec), float(rec), float(f)


def mae(soft, g, keep):
    if not keep.any():
        return 0.0
    return float(np.abs(soft.astype(np.float64) - g.astype(np.float64))[keep].mean())


def bits(s, h, w):
    return (np.frombuffer(s.encode(), dtype=np.uint8) == ord("1")).reshape(h, w)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    images, out = [], ["edt " + EDT_KIND]
    fmt = lambda vals: " ".join("%.17g" % v for v in vals)
    with open(src) as f:
        for line in f:
            t = line.split()
            if not t:
                continue
            if t[0] == "img":
                h, w, tol = int(t[1]), int(t[2]), float(t[3])
                p, g = bits(t[4], h, w), bits(t[5], h, w)
                keep = np.ones((h, w), bool) if t[6] == "-" else ~bits(t[6], h, w)
                soft = np.array([float(v) for v in t[7:7 + h * w]], dtype=np.float32).reshape(h, w)
                iou, dice, inter, union, np_, ng = overlap(p, g, keep)
                prec, rec, f1 = boundary_f(p, g, keep, tol)
                images.append((p, g, keep, soft, iou, dice, inter, union, np_, ng))
                out.append(fmt([iou, dice, prec, rec, f1, mae(soft, g, keep),
                                mae(p.astype(np.float32), g, keep)]))
            elif t[0] == "acc":
                tol, n = float(t[1]), int(t[2])
                rows = []
                for (p, g, keep, soft, iou, dice, *_r) in images:
                    rows.append([iou, dice, *boundary_f(p, g, keep, tol), mae(soft, g, keep)])
                means = np.array(rows, dtype=np.float64).mean(axis=0)
                inter = sum(im[6] for im in images)
                union = sum(im[7] for im in images)
                npg = sum(im[8] + im[9] for im in images)
                o_iou = inter / union if union else 1.0
                o_dice = 2 * inter / npg if union else 1.0
                ious = np.array([im[4] for im in images])
                worst = np.argsort(ious, kind="stable")[:n]
                out.append(fmt(list(means) + [o_iou, o_dice] + [int(i) for i in worst]))
            elif t[0] == "edt":
                h, w = int(t[1]), int(t[2])
                out.append(fmt(edt(bits(t[3], h, w)).ravel()))
            else:
                raise SystemExit("segmetrics_ref.py: unknown record %r" % t[0])
    with open(dst, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
