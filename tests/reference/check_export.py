"""Loads the weights `pictor export` wrote in DIR (w.pt, w.safetensors, w.h5) into the PyTorch
reference SmallCNN (tests/reference/small_cnn.py) with load_state_dict(strict=True) and checks
that the three formats hold identical tensors. Exit 0 when they do."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_np  # noqa: E402
from small_cnn import SmallCNN  # noqa: E402


def read_h5(path):
    """One dataset per tensor at the root, metadata as root attributes (train/export.c)."""
    import h5py
    with h5py.File(path, "r") as f:
        meta = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in f.attrs.items()}
        return {k: torch.from_numpy(np.array(f[k])) for k in f.keys()}, meta


def main(d):
    sd_pt = torch.load(os.path.join(d, "w.pt"))
    sd_st = {k: torch.from_numpy(v)
             for k, v in safetensors_np.load(os.path.join(d, "w.safetensors"))[0].items()}
    sd_h5, meta = read_h5(os.path.join(d, "w.h5"))
    if meta.get("model_type") != "classifier" or "config_hash" not in meta:
        print("check_export: hdf5 metadata wrong: %r" % meta)
        return 1
    for sd, name in ((sd_pt, "torch"), (sd_st, "safetensors"), (sd_h5, "hdf5")):
        model = SmallCNN(1, 4, 16, 2, 8)
        model.load_state_dict(sd, strict=True)
    if not sorted(sd_pt) == sorted(sd_st) == sorted(sd_h5):
        print("check_export: names differ")
        return 1
    for k in sd_pt:
        if not (torch.equal(sd_pt[k], sd_st[k]) and torch.equal(sd_pt[k], sd_h5[k])):
            print("check_export: %s differs between the formats" % k)
            return 1
    print("check_export: ok (%d tensors)" % len(sd_pt))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
