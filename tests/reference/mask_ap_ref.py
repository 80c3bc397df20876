#!/usr/bin/python3
"""mask_ap_ref.py - a NumPy re-implementation of COCOeval(iouType='segm') with its default
parameters, the oracle of train/mask_ap.c (tests/test_mask_ap.c). Written from the algorithm as
train/mask_ap.h describes it (the pycocotools evaluation), without pycocotools; masks are decoded
to dense boolean arrays and IoUs computed on pixels, not on runs.

usage: mask_ap_ref.py IN1 OUT1 [IN2 OUT2 ...]

IN: text, one record a line:
    classes K
    gt  IMAGE CLASS ISCROWD H W N c0 ... c(N-1)
    det IMAGE CLASS SCORE H W N c0 ... c(N-1)
with the masks as COCO run lengths (column-major, starting with 0s). Records are in the order
they were added (it breaks score ties).
OUT: two lines, values printed with 17 significant digits:
    AP AP50 AP75 AP_S AP_M AP_L AR1 AR10 AR100 AR_S AR_M AR_L
    the AP of each class (0.50:0.95, area all, maxDets 100), -1 where undefined
"""
import sys

import numpy as np

IOU_THRS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
REC_THRS = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
MAX_DETS = (1, 10, 100)
AREA_RANGES = ((0.0, 1e10), (0.0, 32.0 ** 2), (32.0 ** 2, 96.0 ** 2), (96.0 ** 2, 1e10))


def decode(counts, h, w):
    values = np.arange(len(counts)) % 2
    flat = np.repeat(values.astype(bool), counts)
    assert flat.size == h * w, "counts do not cover the mask"
    return flat.reshape(w, h).T  # column-major runs


def read(path):
    k, gts, dets = None, [], []
    with open(path) as f:
        for line in f:
            p = line.split()
            if not p:
                continue
            if p[0] == "classes":
                k = int(p[1])
                continue
            h, w, n = int(p[4]), int(p[5]), int(p[6])
            counts = [int(c) for c in p[7:7 + n]]
            mask = decode(counts, h, w)
            rec = dict(image=int(p[1]), cls=int(p[2]), mask=mask, area=int(mask.sum()))
            if p[0] == "gt":
                rec["crowd"] = int(p[3]) != 0
                gts.append(rec)
            else:
                rec["score"] = float(np.float32(p[3]))
                dets.append(rec)
    return k, gts, dets


def iou_matrix(dets, gts):
    """[D, G]: |d & g| / |d | g|, or / |d| for a crowd g; 0 without intersection."""
    out = np.zeros((len(dets), len(gts)))
    for i, d in enumerate(dets):
        for j, g in enumerate(gts):
            inter = int(np.logical_and(d["mask"], g["mask"]).sum())
            if inter == 0:
                continue
            union = d["area"] if g["crowd"] else int(np.logical_or(d["mask"], g["mask"]).sum())
            out[i, j] = inter / union
    return out


def match_image(dets, gts, ious, lo, hi):
    """Greedy matching in one area range: per threshold, tp/fp flags of the detections (in
    score order) and the number of non-ignored GTs."""
    ignored = np.array([g["crowd"] or g["area"] < lo or g["area"] > hi for g in gts], dtype=bool)
    order = [j for j in range(len(gts)) if not ignored[j]] + \
            [j for j in range(len(gts)) if ignored[j]]
    T, D = len(IOU_THRS), len(dets)
    tp = np.zeros((T, D), dtype=bool)
    fp = np.zeros((T, D), dtype=bool)
    for ti, thr in enumerate(IOU_THRS):
        taken = np.zeros(len(gts), dtype=bool)
        for di in range(D):
            best, hit = min(thr, 1 - 1e-10), None
            for j in order:
                if taken[j] and not gts[j]["crowd"]:
                    continue
                if hit is not None and not ignored[hit] and ignored[j]:
                    break  # a real match is never traded for an ignored one
                if ious[di, j] >= best:
                    best, hit = ious[di, j], j
            if hit is not None:
                taken[hit] = True
                tp[ti, di] = not ignored[hit]
            else:
                out_of_range = dets[di]["area"] < lo or dets[di]["area"] > hi
                fp[ti, di] = not out_of_range
    return tp, fp, int((~ignored).sum())


def precision_recall(scores, tp, fp, num_gt):
    """Precision at REC_THRS [T, R] and final recall [T] from concatenated detections."""
    order = np.argsort(-scores, kind="mergesort")
    tp, fp = tp[:, order], fp[:, order]
    tps = np.cumsum(tp, axis=1).astype(np.float64)
    fps = np.cumsum(fp, axis=1).astype(np.float64)
    T, nd = tp.shape
    prec = np.zeros((T, len(REC_THRS)))
    rec = np.zeros(T)
    for t in range(T):
        if nd == 0:
            continue
        rc = tps[t] / num_gt
        pr = tps[t] / (fps[t] + tps[t] + np.spacing(1))
        rec[t] = rc[-1]
        pr = np.maximum.accumulate(pr[::-1])[::-1]
        idx = np.searchsorted(rc, REC_THRS, side="left")
        inside = idx < nd
        prec[t, inside] = pr[idx[inside]]
    return prec, rec


def evaluate(k_classes, gts, dets):
    T, R, A, M = len(IOU_THRS), len(REC_THRS), len(AREA_RANGES), len(MAX_DETS)
    precision = -np.ones((T, R, k_classes, A))       # maxDets 100
    recall = -np.ones((T, k_classes, A, M))
    images = sorted({r["image"] for r in gts} | {r["image"] for r in dets})
    for k in range(k_classes):
        # per area range: lists over images of (scores, tp, fp), and the GT count
        per_area = [[] for _ in range(A)]
        num_gt = [0] * A
        for img in images:
            g = [r for r in gts if r["image"] == img and r["cls"] == k]
            d = [r for r in dets if r["image"] == img and r["cls"] == k]
            d = sorted(d, key=lambda r: -r["score"])[:MAX_DETS[-1]]  # stable
            if not g and not d:
                continue
            ious = iou_matrix(d, g)
            for a, (lo, hi) in enumerate(AREA_RANGES):
                tp, fp, n = match_image(d, g, ious, lo, hi)
                per_area[a].append((np.array([r["score"] for r in d]), tp, fp))
                num_gt[a] += n
        for a in range(A):
            if num_gt[a] == 0:
                continue
            for m, max_det in enumerate(MAX_DETS):
                scores = np.concatenate([s[:max_det] for s, _, _ in per_area[a]])
                tp = np.concatenate([x[:, :max_det] for _, x, _ in per_area[a]], axis=1)
                fp = np.concatenate([x[:, :max_det] for _, _, x in per_area[a]], axis=1)
                prec, rec = precision_recall(scores, tp, fp, num_gt[a])
                recall[:, k, a, m] = rec
                if max_det == MAX_DETS[-1]:
                    precision[:, :, k, a] = prec
    return precision, recall


def mean_defined(s):
    s = s[s > -1]
    return float(np.mean(s)) if s.size else -1.0


def summarize(precision, recall):
    t50 = np.where(IOU_THRS == .5)[0]
    t75 = np.where(IOU_THRS == .75)[0]
    stats = [mean_defined(precision[:, :, :, 0]),
             mean_defined(precision[t50][:, :, :, 0]),
             mean_defined(precision[t75][:, :, :, 0]),
             mean_defined(precision[:, :, :, 1]),
             mean_defined(precision[:, :, :, 2]),
             mean_defined(precision[:, :, :, 3]),
             mean_defined(recall[:, :, 0, 0]),
             mean_defined(recall[:, :, 0, 1]),
             mean_defined(recall[:, :, 0, 2]),
             mean_defined(recall[:, :, 1, 2]),
             mean_defined(recall[:, :, 2, 2]),
             mean_defined(recall[:, :, 3, 2])]
    per_class = [mean_defined(precision[:, :, k, 0]) for k in range(precision.shape[2])]
    return stats, per_class


def main():
    args = sys.argv[1:]
    if not args or len(args) % 2:
        sys.stderr.write(__doc__)
        return 2
    for src, dst in zip(args[0::2], args[1::2]):
        k, gts, dets = read(src)
        stats, per_class = summarize(*evaluate(k, gts, dets))
        with open(dst, "w") as f:
            f.write(" ".join("%.17g" % v for v in stats) + "\n")
            f.write(" ".join("%.17g" % v for v in per_class) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
