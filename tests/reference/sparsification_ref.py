"""Sparsification curves, AUSE and AURG in NumPy from their definition (train/eval/
sparsification.h): the oracle of tests/test_sparsification.c.
Args: N STEPS METRIC(rmse|abs_rel) DIR; reads DIR/{p,g,u,v}.f32 (v: 1 valid), writes DIR/out.txt:
ause aurg ause_random full."""
import sys

import numpy as np


def curve(key, a, steps, metric):
    idx = np.arange(len(key))
    order = np.lexsort((-idx, -key))  # largest key first, ties: larger index first
    a = a[order]
    n = len(a)
    out = []
    for t in range(steps):
        k = int(np.floor(n * t / steps))
        m = a[k:].mean()
        out.append(np.sqrt(m) if metric == "rmse" else m)
    return np.array(out)


def main():
    n, steps, metric, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ld = lambda s: np.fromfile("%s/%s.f32" % (d, s), np.float32).astype(np.float64)
    p, g, u, v = ld("p"), ld("g"), ld("u"), ld("v")
    keep = v > 0
    if metric == "abs_rel":
        keep &= g > 0
    p, g, u = p[keep], g[keep], u[keep]
    e = p - g
    a = e * e if metric == "rmse" else np.abs(e) / g
    full = np.sqrt(a.mean()) if metric == "rmse" else a.mean()
    c = curve(u, a, steps, metric)
    o = curve(a, a, steps, metric)
    x = np.arange(steps) / steps
    ause = np.trapz(c - o, x)
    aurg = np.trapz(full - c, x)
    arnd = np.trapz(full - o, x)
    with open(d + "/out.txt", "w") as f:
        f.write("%.15g %.15g %.15g %.15g\n" % (ause, aurg, arnd, full))


if __name__ == "__main__":
    main()
