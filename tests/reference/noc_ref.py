"""RITM's simulated user (isegm/inference/clicker.py get_next_click) with scipy's exact EDT: the
oracle of tests/test_noc.c for train/eval/noc.c.

Reads a binary file of cases: int32 count, then per case int32 h, w, uint8 gt[h*w] (0/1/2 =
ignore), uint8 pred[h*w], uint8 clicked[h*w]; writes one line per case: "y x positive" or "done".
"""
import sys

import numpy as np
from scipy.ndimage import distance_transform_edt


def next_click(gt, pred, clicked):
    not_ignore = gt != 2
    fn = (gt == 1) & (pred == 0) & not_ignore
    fp = (gt == 0) & (pred != 0) & not_ignore
    fn_dt = distance_transform_edt(np.pad(fn, 1))[1:-1, 1:-1] * (clicked == 0)
    fp_dt = distance_transform_edt(np.pad(fp, 1))[1:-1, 1:-1] * (clicked == 0)
    fn_max, fp_max = fn_dt.max(), fp_dt.max()
    if fn_max <= 0 and fp_max <= 0:
        return None
    positive = fn_max > fp_max
    ys, xs = np.where(fn_dt == fn_max) if positive else np.where(fp_dt == fp_max)
    return int(ys[0]), int(xs[0]), int(positive)


def main():
    data = open(sys.argv[1], "rb").read()
    off = 0
    (count,) = np.frombuffer(data, np.int32, 1, off)
    off += 4
    out = []
    for _ in range(count):
        h, w = np.frombuffer(data, np.int32, 2, off)
        off += 8
        planes = []
        for _ in range(3):
            planes.append(np.frombuffer(data, np.uint8, h * w, off).reshape(h, w))
            off += h * w
        r = next_click(*planes)
        out.append("done" if r is None else "%d %d %d" % r)
    open(sys.argv[2], "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
