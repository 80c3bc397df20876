#!/usr/bin/python3
"""make_seeds.py OUT_DIR [PICTOR] - the seed corpora of the libFuzzer harnesses (tests/fuzz).

Writes OUT_DIR/<harness>/<seed> for every harness: small valid files of each kind the parser
reads (several variants each, so the fuzzer starts from every branch of the format), plus a few
near-misses. Everything is generated here (numpy, zlib, torch, torchvision, h5py); nothing is
copied from the shared data. With PICTOR (a pictor binary), the store seeds also include files
pictor itself wrote (synth shapes, import-coco of the COCO seeds). Deterministic.
"""
import gzip
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np

OUT = sys.argv[1]
PICTOR = sys.argv[2] if len(sys.argv) > 2 else None
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
rng = np.random.default_rng(0)


def put(harness, name, data):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---------------------------------------------------------------- PNG / JPEG

def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(rows, width, height, depth, ctype, plte=None, trns=None, interlace=0):
    """rows: the raw scanlines (without filter bytes) as bytes each."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, ctype, 0, 0, interlace)
    raw = b"".join(b"\0" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    if plte is not None:
        out += png_chunk(b"PLTE", plte)
    if trns is not None:
        out += png_chunk(b"tRNS", trns)
    return out + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")


def image_seeds():
    h, w = 6, 5
    grey = rng.integers(0, 256, (h, w), dtype=np.uint8)
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    seeds = {
        "grey8.png": png([grey[y].tobytes() for y in range(h)], w, h, 8, 0),
        "rgb8.png": png([rgb[y].tobytes() for y in range(h)], w, h, 8, 2),
        "rgba8.png": png([np.dstack([rgb, grey])[y].tobytes() for y in range(h)], w, h, 8, 6),
        "greya8.png": png([np.dstack([grey, grey])[y].tobytes() for y in range(h)], w, h, 8, 4),
        "grey16.png": png([grey[y].astype(">u2").tobytes() for y in range(h)], w, h, 16, 0),
        "rgb16.png": png([rgb[y].astype(">u2").tobytes() for y in range(h)], w, h, 16, 2),
        "palette.png": png([(grey[y] % 4).tobytes() for y in range(h)], w, h, 8, 3,
                           plte=bytes(range(12)), trns=b"\x00\x80"),
        "bit1.png": png([np.packbits(grey[y] > 127).tobytes() for y in range(h)], w, h, 1, 0),
        "mask0_255.png": png([((grey[y] > 127) * 255).astype(np.uint8).tobytes()
                              for y in range(h)], w, h, 8, 0),
        "huge_header.png": png([b"\0"], 100000, 100000, 8, 0),
    }
    seeds["truncated.png"] = seeds["rgb8.png"][:40]
    try:
        import torch
        from torchvision.io import encode_jpeg
        t = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))
        seeds["rgb.jpg"] = bytes(encode_jpeg(t, quality=90).numpy())
        seeds["grey.jpg"] = bytes(encode_jpeg(torch.from_numpy(grey[None].copy()), quality=50).numpy())
        big = torch.from_numpy(rng.integers(0, 256, (3, 40, 33), dtype=np.uint8))
        seeds["rgb40.jpg"] = bytes(encode_jpeg(big, quality=75).numpy())
        seeds["truncated.jpg"] = seeds["rgb40.jpg"][: len(seeds["rgb40.jpg"]) // 2]
    except ImportError:
        pass
    for name, data in seeds.items():
        for sel in (0, 1, 2):  # the harness's first byte: channels 0, 1 or 3
            put("image", f"{sel}-{name}", bytes([sel]) + data)
    return seeds


# ---------------------------------------------------------------- IDX

def idx(arr, code):
    dt = {8: ">u1", 9: ">i1", 11: ">i2", 12: ">i4", 13: ">f4", 14: ">f8"}[code]
    return bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape) + \
        arr.astype(dt).tobytes()


def idx_seeds():
    im = rng.integers(0, 256, (3, 4, 4), dtype=np.uint8)
    put("idx", "u8.idx", idx(im, 8))
    put("idx", "labels.idx", idx(np.array([1, 9, 0], dtype=np.uint8), 8))
    put("idx", "i16.idx", idx(np.arange(6).reshape(2, 3), 11))
    put("idx", "i32.idx", idx(np.arange(-3, 3), 12))
    put("idx", "f32.idx", idx(np.linspace(0, 1, 5), 13))
    put("idx", "f64.idx", idx(np.linspace(-1, 1, 4).reshape(2, 2), 14))
    put("idx", "u8.idx.gz", gzip.compress(idx(im, 8), mtime=0))
    put("idx", "empty_dim.idx", idx(np.zeros((0, 3), dtype=np.uint8), 8))


# ---------------------------------------------------------------- RLE (the format of rle.h)

def rle_counts(mask):
    flat = mask.T.reshape(-1)  # column-major
    counts, cur, run = [], 0, 0
    for v in flat:
        if v != cur:
            counts.append(run)
            run, cur = 0, v
        run += 1
    counts.append(run)
    return counts


def rle_string(counts):
    out = []
    for i, c in enumerate(counts):
        x = c - counts[i - 2] if i > 2 else c
        more = True
        while more:
            g = x & 0x1F
            x >>= 5
            more = (x != -1) if (g & 0x10) else (x != 0)
            out.append(chr(48 + (g | (0x20 if more else 0))))
    return "".join(out)


def rle_seeds():
    for k, (h, w) in enumerate([(4, 5), (10, 7), (1, 1), (16, 16)]):
        m = (rng.random((h, w)) > 0.5).astype(np.uint8)
        put("rle", f"mask{k}", bytes([h, w]) + rle_string(rle_counts(m)).encode())
    put("rle", "empty", bytes([0, 0]) + rle_string([0]).encode())
    put("rle", "long", bytes([200, 200]) + rle_string([39999, 1]).encode())


# ---------------------------------------------------------------- COCO JSON

def coco_seeds():
    images = [{"id": 1, "file_name": "a.png", "height": 4, "width": 6},
              {"id": 2, "file_name": "b.jpg", "height": 8, "width": 8},
              {"id": 3, "file_name": "g.png", "height": 5, "width": 5}]
    cats = [{"id": 3, "name": "cat"}, {"id": 7, "name": "dog", "supercategory": "animal"}]
    m = np.zeros((8, 8), dtype=np.uint8)
    m[2:6, 1:5] = 1
    anns = [
        {"id": 1, "image_id": 1, "category_id": 3, "iscrowd": 0, "area": 6.0,
         "bbox": [1, 1, 3, 2], "segmentation": [[1, 1, 4, 1, 4, 3, 1, 3]]},
        {"id": 2, "image_id": 2, "category_id": 7, "iscrowd": 0,
         "segmentation": [[0, 0, 7, 0, 7, 7], [2, 2, 5, 2, 5, 5, 2, 5]]},
        {"id": 3, "image_id": 2, "category_id": 3, "iscrowd": 1,
         "segmentation": {"size": [8, 8], "counts": rle_counts(m)}},
        {"id": 4, "image_id": 3, "category_id": 7, "iscrowd": 0,
         "segmentation": {"size": [5, 5], "counts": rle_string(rle_counts(np.eye(5, dtype=np.uint8)))}},
    ]
    full = {"images": images, "annotations": anns, "categories": cats}
    put("coco", "full.json", json.dumps(full, indent=1))
    put("coco", "compact.json", json.dumps(full, separators=(",", ":")))
    put("coco", "one.json", json.dumps({"images": images[:1], "annotations": anns[:1],
                                        "categories": cats[:1]}))
    put("coco", "empty.json", json.dumps({"images": [], "annotations": [], "categories": []}))
    put("coco", "truncated.json", json.dumps(full)[:150])
    return full


# ---------------------------------------------------------------- safetensors

def safetensors(tensors, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, arr) in tensors.items():
        b = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def safetensors_seeds():
    f32 = rng.standard_normal((2, 3)).astype("<f4")
    put("safetensors", "basic.safetensors",
        safetensors({"conv.weight": ("F32", f32), "conv.bias": ("F32", f32[0])}))
    put("safetensors", "dtypes.safetensors", safetensors({
        "a": ("BOOL", np.array([1, 0], dtype=np.uint8)), "b": ("U8", np.arange(3, dtype=np.uint8)),
        "c": ("I8", np.arange(2, dtype=np.int8)), "d": ("I16", np.arange(2, dtype="<i2")),
        "e": ("I32", np.arange(2, dtype="<i4")), "f": ("I64", np.arange(2, dtype="<i8")),
        "g": ("F16", np.ones(2, dtype="<f2")), "h": ("BF16", np.ones(2, dtype="<u2")),
        "i": ("F64", np.ones((1, 1, 2), dtype="<f8")), "empty": ("F32", np.zeros((0, 4), "<f4")),
        "scalar": ("F32", np.array(1.5, dtype="<f4"))}))
    put("safetensors", "meta.safetensors", safetensors(
        {"w": ("F32", f32)}, {"format": "pictor-checkpoint-1", "model_type": "classifier",
                              "config_hash": "0123456789abcdef", "step": "3", "data_epoch": "0",
                              "data_batch": "3", "sampler_fingerprint": "00ff",
                              "best_metric": "0.5", "best_step": "2"}))
    put("safetensors", "ckpt.safetensors", safetensors(
        {"model/fc.weight": ("F32", f32), "optim": ("U8", np.arange(16, dtype=np.uint8)),
         "rng/default": ("U8", np.zeros(8, dtype=np.uint8))},
        {"format": "pictor-checkpoint-1", "model_type": "classifier", "config_hash": "x",
         "step": "1", "data_epoch": "0", "data_batch": "1"}))
    put("safetensors", "no_tensors.safetensors", safetensors({}, {}))


# ---------------------------------------------------------------- torch files

def torch_seeds():
    try:
        import torch
    except ImportError:
        return
    for name, obj in {
        "dict.pt": {"w": torch.randn(2, 3), "b": torch.zeros(3, dtype=torch.int64)},
        "scalar.pt": {"s": torch.tensor(1.0)},
        "empty.pt": {},
        "list.pt": [torch.ones(2)],
        "nested.pt": {"a": {"b": torch.ones(1)}},
        "half.pt": {"h": torch.ones(2, 2, dtype=torch.float16), "u": torch.arange(4, dtype=torch.uint8)},
    }.items():
        buf = io.BytesIO()
        torch.save(obj, buf)
        put("torchfile", name, buf.getvalue())
        if name == "dict.pt":  # the battery's libtorch over-read (README): cut files
            put("torchfile", "dict_half.pt", buf.getvalue()[: len(buf.getvalue()) // 2])
            put("torchfile", "dict_cut_end.pt", buf.getvalue()[:-30])


# ---------------------------------------------------------------- HDF5 stores

def store_seeds(coco):
    import h5py
    with tempfile.TemporaryDirectory() as tmp:
        # h5py: an HDF5 file without pictor's layout, and one that claims it but is incomplete
        p = os.path.join(tmp, "plain.h5")
        with h5py.File(p, "w") as f:
            f["x"] = np.arange(4)
        put("store", "h5py_plain.h5", open(p, "rb").read())
        p = os.path.join(tmp, "claims.h5")
        with h5py.File(p, "w") as f:
            f.attrs["pictor_format"] = "pictor-dataset"
            f.attrs["layout_version"] = np.int64(1)
            f.attrs["count"] = np.int64(2)
            f["label"] = np.array([0, 1], dtype=np.int32)
        put("store", "h5py_claims.h5", open(p, "rb").read())
        if not PICTOR:
            return
        runs = [["synth", "shapes", "--n", "3", "--size", "32"],
                ["synth", "shapes", "--n", "2", "--size", "32", "--grey"]]
        for k, args in enumerate(runs):
            out = os.path.join(tmp, f"s{k}.h5")
            subprocess.run([PICTOR, "data", *args, "--out", out], check=True,
                           stdout=subprocess.DEVNULL)
            put("store", f"pictor_synth{k}.h5", open(out, "rb").read())
        # import-coco of the COCO seed over images written here
        imgs = os.path.join(tmp, "images")
        os.makedirs(imgs)
        seeds = image_seeds()
        open(os.path.join(imgs, "a.png"), "wb").write(
            png([bytes(rng.integers(0, 256, 18, dtype=np.uint8)) for _ in range(4)], 6, 4, 8, 2))
        if "rgb.jpg" in seeds:
            import torch
            from torchvision.io import encode_jpeg
            open(os.path.join(imgs, "b.jpg"), "wb").write(bytes(encode_jpeg(
                torch.from_numpy(rng.integers(0, 256, (3, 8, 8), dtype=np.uint8))).numpy()))
        open(os.path.join(imgs, "g.png"), "wb").write(
            png([bytes(5)] * 5, 5, 5, 8, 0))
        js = os.path.join(tmp, "coco.json")
        open(js, "w").write(json.dumps(coco))
        out = os.path.join(tmp, "coco.h5")
        r = subprocess.run([PICTOR, "data", "import-coco", "--json", js, "--images", imgs,
                            "--crowd", "keep", "--min-area", "0", "--out", out],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            put("store", "pictor_coco.h5", open(out, "rb").read())


# ---------------------------------------------------------------- configs

def config_seeds():
    cdir = os.path.join(SRC, "configs")
    k = 0
    for root, _, files in sorted(os.walk(cdir)):
        for name in sorted(files):
            if not name.endswith(".yaml"):
                continue
            text = open(os.path.join(root, name)).read()
            text = "\n".join(l for l in text.splitlines() if not l.startswith("_base_"))
            put("config", f"repo{k}.yaml", text)
            k += 1
    put("config", "flow.yaml", "model: {type: classifier, width: 8}\ntrain: {epochs: 1, "
        "batch_size: 4}\noptim: {type: sgd, lr: 0.1, betas: [0.9, 0.99]}\n")
    put("config", "overrides.yaml", "train:\n  epochs: 2\n\0train.epochs=3\noptim.lr=1e-3\n"
        "sched.milestones=[1, 2]\n")
    put("config", "bad.yaml", "train:\n  epochs: ten\n  epochs: 3\n")
    put("config", "empty.yaml", "")


# ---------------------------------------------------------------- weak-label CSV (import-ratios)

def ratios_seeds():
    put("ratios", "basic.csv", "file,ratio,error\na.png,0.25,0.05\nb.jpg,1,\ng.png,0\n")
    put("ratios", "crlf.csv", "a.png, 0.5 ,0.1\r\n\r\nb.jpg,0.75\r\n")
    put("ratios", "bad_ratio.csv", "a.png,1.5\n")
    put("ratios", "missing.csv", "gone.png,0.5\n")


if __name__ == "__main__":
    image_seeds()
    idx_seeds()
    rle_seeds()
    coco = coco_seeds()
    safetensors_seeds()
    torch_seeds()
    store_seeds(coco)
    config_seeds()
    ratios_seeds()
    n = sum(len(fs) for _, _, fs in os.walk(OUT))
    print(f"make_seeds: {n} seed files in {OUT}")
