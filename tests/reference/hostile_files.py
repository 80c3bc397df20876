#!/usr/bin/python3
"""hostile_files.py FAMILY DIR - the bad (and odd but valid) input files of the hostile-input
battery (tests/test_hostile_*.c), written into DIR. Families:

  images   PNG/JPEG variants: good ones, zero-byte, truncated, a header claiming 100000 x 100000,
           text named .png; 16-bit, palette + tRNS, grey + alpha and 1-bit PNGs with the pixels
           pictor must decode them to (<name>.rgb: h*w*3 raw bytes, the libpng conversion rules:
           16 -> 8 bits by v * 255 / 65535 rounded, palette to its colours, alpha dropped);
           masks with values other than 0/255 (<name>.bin: the mask after the > 127 rule).
  weights  safetensors files for the battery's model (a classifier: width 4, hidden 16, on 8x8
           grey images, 2 classes) built from a valid one (good.safetensors, from ARG3 when
           given: the state dict pictor exported) by one defect each; torch files.
  stores   an HDF5 file without pictor's layout (h5py), and a pictor-looking one with a column
           of the wrong length.
"""
import io
import json
import os
import struct
import sys
import zlib

import numpy as np

FAMILY, OUT = sys.argv[1], sys.argv[2]
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(7)


def put(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(rows, w, h, depth, ctype, plte=None, trns=None):
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    if plte is not None:
        out += chunk(b"PLTE", plte)
    if trns is not None:
        out += chunk(b"tRNS", trns)
    raw = b"".join(b"\0" + r for r in rows)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def images():
    import torch
    from torchvision.io import encode_jpeg
    h, w = 6, 8
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    put("good.png", png([rgb[y].tobytes() for y in range(h)], w, h, 8, 2))
    put("good.rgb", rgb.tobytes())
    jpg = bytes(encode_jpeg(torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))),
                            quality=95).numpy())
    put("good.jpg", jpg)
    mask = np.zeros((h, w), dtype=np.uint8)
    mask[1:5, 2:6] = 255
    put("mask.png", png([mask[y].tobytes() for y in range(h)], w, h, 8, 0))
    put("zero.png", b"")
    put("zero.jpg", b"")
    put("trunc.jpg", jpg[: len(jpg) // 2])
    put("trunc.png", png([rgb[y].tobytes() for y in range(h)], w, h, 8, 2)[:60])
    put("text.png", "this is not an image\n")
    put("huge.png", png([b"\0\0"], 100000, 100000, 8, 0))
    # a JPEG whose frame header claims 65000 x 65000 (SOF0 patched in a real file)
    j = bytearray(jpg)
    k = j.index(b"\xff\xc0")
    j[k + 5:k + 9] = struct.pack(">HH", 65000, 65000)
    put("huge.jpg", bytes(j))
    # accepted and converted
    g8 = rng.integers(0, 256, (h, w), dtype=np.uint8)
    g16 = g8.astype(np.uint32) * 257 + rng.integers(0, 200, (h, w))  # not exact multiples
    put("g16.png", png([g16[y].astype(">u2").tobytes() for y in range(h)], w, h, 16, 0))
    conv16 = ((g16 * 255 + 32767) // 65535).astype(np.uint8)
    put("g16.rgb", np.repeat(conv16[:, :, None], 3, axis=2).tobytes())
    pal = rng.integers(0, 256, (4, 3), dtype=np.uint8)
    idx = rng.integers(0, 4, (h, w), dtype=np.uint8)
    put("pal.png", png([idx[y].tobytes() for y in range(h)], w, h, 8, 3, plte=pal.tobytes(),
                       trns=b"\x00\x80"))
    put("pal.rgb", pal[idx].tobytes())
    alpha = rng.integers(0, 256, (h, w), dtype=np.uint8)
    put("ga.png", png([np.dstack([g8, alpha])[y].tobytes() for y in range(h)], w, h, 8, 4))
    put("ga.rgb", np.repeat(g8[:, :, None], 3, axis=2).tobytes())
    bits = rng.integers(0, 2, (h, w), dtype=np.uint8)
    put("bit1.png", png([np.packbits(bits[y]).tobytes() for y in range(h)], w, h, 1, 0))
    put("bit1.rgb", np.repeat((bits * 255)[:, :, None], 3, axis=2).astype(np.uint8).tobytes())
    # masks: other values than 0/255 (rule: > 127 is the object), another scale, another shape
    vals = np.array([0, 1, 100, 127, 128, 200, 254, 255], dtype=np.uint8)
    mv = vals[rng.integers(0, len(vals), (h, w))]
    put("mask_values.png", png([mv[y].tobytes() for y in range(h)], w, h, 8, 0))
    put("mask_values.bin", (mv > 127).astype(np.uint8).tobytes())
    put("mask_rgb.png", png([np.dstack([mv, mv, mv])[y].tobytes() for y in range(h)], w, h, 8, 2))
    sq = np.zeros((5, 5), dtype=np.uint8)
    put("mask_square.png", png([sq[y].tobytes() for y in range(5)], 5, 5, 8, 0))


def safetensors(tensors, metadata=None, raw_header=None, extra=b""):
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, arr, *rest) in tensors.items():
        b = arr.tobytes()
        offs = rest[0] if rest else [off, off + len(b)]
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": offs}
        blobs.append(b)
        off += len(b)
    h = raw_header if raw_header is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + b"".join(blobs) + extra


def weights():
    import torch
    src = sys.argv[3]
    with open(src, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        data = f.read()
    hdr.pop("__metadata__", None)
    ts = {}
    for name, e in hdr.items():
        b, en = e["data_offsets"]
        dt = {"F32": "<f4", "I64": "<i8"}[e["dtype"]]
        ts[name] = (e["dtype"], np.frombuffer(data[b:en], dtype=dt).reshape(e["shape"]))
    names = list(ts)
    w0 = names[0]
    put("good.safetensors", safetensors(ts))
    good = open(os.path.join(OUT, "good.safetensors"), "rb").read()
    put("huge_header.safetensors", struct.pack("<Q", 1 << 62) + good[8:])
    put("header_past_end.safetensors", struct.pack("<Q", len(good)) + good[8:])
    put("truncated.safetensors", good[: len(good) - 7])
    put("not_json.safetensors", safetensors({}, raw_header=b"{not json"))
    over = dict(ts)
    d0, a0 = ts[w0]
    over[w0] = (d0, a0, [0, a0.nbytes])
    n1 = names[1]
    over[n1] = (ts[n1][0], ts[n1][1], [4, 4 + ts[n1][1].nbytes])
    put("overlap.safetensors", safetensors({w0: over[w0], n1: over[n1]}, extra=b"\0" * 4))
    oob = {w0: (d0, a0, [0, a0.nbytes + 1000])}
    put("out_of_range.safetensors", safetensors(oob))
    put("wrong_dtype.safetensors", safetensors(
        {k: (("I32", v.astype("<i4")) if k == w0 else (d, v)) for k, (d, v) in ts.items()}))
    put("wrong_shape.safetensors", safetensors(
        {k: ((d, v.reshape(-1)) if k == w0 else (d, v)) for k, (d, v) in ts.items()}))
    put("missing.safetensors", safetensors({k: v for k, v in ts.items() if k != w0}))
    put("unexpected.safetensors", safetensors(dict(ts, **{"extra.weight": ("F32", np.ones(2, "<f4"))})))
    put("bad_dtype_name.safetensors", safetensors({w0: ("F33", a0)}))
    put("zero.safetensors", b"")
    # torch files
    tt = {k: torch.from_numpy(v.copy()) for k, (d, v) in ts.items()}
    buf = io.BytesIO()
    torch.save(tt, buf)
    put("good.pt", buf.getvalue())
    put("truncated.pt", buf.getvalue()[: len(buf.getvalue()) // 2])
    buf = io.BytesIO()
    torch.save(list(tt.values()), buf)
    put("list.pt", buf.getvalue())
    put("zip_not_torch.pt", b"PK\x03\x04" + bytes(rng.integers(0, 256, 300, dtype=np.uint8)))
    put("text.pt", "hello")


def stores():
    import h5py
    with h5py.File(os.path.join(OUT, "plain.h5"), "w") as f:
        f["images"] = np.zeros((2, 8, 8), dtype=np.uint8)
        f["labels"] = np.array([0, 1])
    with h5py.File(os.path.join(OUT, "short_label.h5"), "w") as f:
        f.attrs["pictor_format"] = "pictor-dataset"
        f.attrs["layout_version"] = np.int64(1)
        f.attrs["image_storage"] = "raw"
        f.attrs["channels"] = np.int64(1)
        f.attrs["count"] = np.int64(4)
        f["image"] = np.zeros((4, 8, 8, 1), dtype=np.uint8)
        f["image_shape"] = np.tile(np.array([8, 8, 1], dtype=np.int32), (4, 1))
        f["label"] = np.zeros(3, dtype=np.int32)
        f["domain"] = -np.ones(4, dtype=np.int32)
        f["group"] = -np.ones(4, dtype=np.int64)
    put("text.h5", "not an HDF5 file\n")
    put("zero.h5", b"")


{"images": images, "weights": weights, "stores": stores}[FAMILY]()
