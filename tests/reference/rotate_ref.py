"""rotate_ref.py - torchvision's rotation of an image and its mask, the oracle of
tests/test_dense_augment.c for data/pipeline/dense_augment.c's aug_rotate.

torchvision.transforms.functional.rotate(expand=False, center=None, fill=None) turns a tensor
counter-clockwise about the image centre and samples it with grid_sample(align_corners=False,
padding_mode="zeros"): output pixel centres are rotated back into the source, bilinear taps
outside the image read 0, uint8 results are rounded. The image goes through BILINEAR, the mask
through NEAREST.

    rotate_ref.py IN.bin OUT.bin

IN.bin: int32 h, w, c, n; n float64 angles in degrees; uint8 image h*w*c (HWC); uint8 mask h*w.
OUT.bin: for each angle, the uint8 rotated image h*w*c (HWC), then the uint8 rotated mask h*w.
"""
import struct
import sys

import numpy as np
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, "rb") as f:
        h, w, c, n = struct.unpack("<4i", f.read(16))
        angles = struct.unpack("<%dd" % n, f.read(8 * n))
        img = np.frombuffer(f.read(h * w * c), dtype=np.uint8).reshape(h, w, c)
        mask = np.frombuffer(f.read(h * w), dtype=np.uint8).reshape(1, h, w)
    t = torch.from_numpy(img.copy()).permute(2, 0, 1).contiguous()
    tm = torch.from_numpy(mask.copy())
    with open(dst, "wb") as f:
        for deg in angles:
            rot = F.rotate(t, deg, interpolation=InterpolationMode.BILINEAR)
            m = F.rotate(tm, deg, interpolation=InterpolationMode.NEAREST)
            f.write(rot.permute(1, 2, 0).contiguous().numpy().astype(np.uint8).tobytes())
            f.write(m.numpy().astype(np.uint8).tobytes())


if __name__ == "__main__":
    main()
