"""slic_ref.py - scikit-image's SLIC on a raw float32 HWC image, the oracle of the slic suite and
the reference of bench_slic.

    slic_ref.py IN.f32 H W C K COMPACTNESS ITERS OUT.i32 [--rounds R]

Reads H*W*C little-endian float32 values (interleaved channels, e.g. CIELAB), runs
skimage.segmentation.slic(n_segments=K, compactness=COMPACTNESS, max_num_iter=ITERS,
convert2lab=False, enforce_connectivity=True, start_label=0, channel_axis=-1) and writes the
labels as H*W int32 to OUT. With --rounds R it runs R times and prints py_call_ms=<median>.
Prints n_segments=<number of labels>. One thread (scikit-image's SLIC is single-threaded Cython).
"""
import sys
import time

import numpy as np
from skimage.segmentation import slic


def main():
    a = sys.argv[1:]
    rounds = 1
    if "--rounds" in a:
        i = a.index("--rounds")
        rounds = int(a[i + 1])
        del a[i:i + 2]
    path, h, w, c, k, m, iters, out = a
    h, w, c, k, iters = int(h), int(w), int(c), int(k), int(iters)
    img = np.fromfile(path, dtype="<f4").reshape(h, w, c).astype(np.float64)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        lab = slic(img, n_segments=k, compactness=float(m), max_num_iter=iters,
                   convert2lab=False, enforce_connectivity=True, start_label=0,
                   channel_axis=-1)
        times.append((time.perf_counter() - t0) * 1000.0)
    lab.astype("<i4").tofile(out)
    print("n_segments=%d" % (lab.max() + 1))
    if "--rounds" in sys.argv:
        print("py_call_ms=%.3f" % float(np.median(times)))


if __name__ == "__main__":
    main()
