"""safetensors_np.py - a small, independent safetensors reader and writer (json, struct, numpy).

Debian 12 has no `safetensors` package; this module is the oracle pictor's C implementation is
checked against. It follows the format, not pictor's code:

    u64 little-endian N | N bytes of JSON header | data buffer
    header: {"__metadata__": {str: str}, NAME: {"dtype": "F32", "shape": [...],
             "data_offsets": [begin, end]}, ...}

Offsets are relative to the data buffer, which the tensors must cover exactly. numpy has no
bfloat16: BF16 tensors are arrays of the structured dtype BF16 (one uint16 field "bf16" holding
the raw bits); bf16_to_f32 / f32_to_bf16 convert.

    tensors, metadata = load(path)            # dict name -> ndarray (file order by offset), dict
    save(path, tensors, metadata=None)        # like the reference writer: alignment, then name
"""
import json
import os
import struct

import numpy as np

BF16 = np.dtype([("bf16", "<u2")])

DTYPES = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype("u1"),
    "I8": np.dtype("i1"),
    "I16": np.dtype("<i2"),
    "I32": np.dtype("<i4"),
    "I64": np.dtype("<i8"),
    "F16": np.dtype("<f2"),
    "BF16": BF16,
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
}


class FormatError(ValueError):
    pass


def bf16_to_f32(a):
    return (a["bf16"].astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16(a):
    """Round to nearest even, as torch does."""
    bits = np.asarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    out = np.empty(rounded.shape, dtype=BF16)
    out["bf16"] = rounded.astype(np.uint16)
    return out


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise FormatError("duplicate key in header")
    return dict(pairs)


def _is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _dtype_name(dt):
    dt = np.dtype(dt)
    for name, known in DTYPES.items():
        if dt == known or (dt.names is None and known.names is None
                           and dt.newbyteorder("<") == known.newbyteorder("<")
                           and dt.kind == known.kind):
            return name
    raise FormatError("no safetensors dtype for numpy dtype %s" % dt)


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise FormatError("%s: shorter than 8 bytes" % path)
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise FormatError("%s: header length %d larger than the file" % (path, n))
    text = raw[8:8 + n].decode("utf-8")
    if not text.startswith("{"):
        raise FormatError("%s: header does not start with '{'" % path)
    header = json.loads(text, object_pairs_hook=_no_duplicates)
    data = raw[8 + n:]
    metadata = header.pop("__metadata__", None) or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise FormatError("%s: metadata values must be strings" % path)

    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    tensors, covered = {}, 0
    for name, info in entries:
        dt = DTYPES[info["dtype"]]
        shape = info["shape"]
        begin, end = info["data_offsets"]
        if not all(_is_uint(d) for d in shape) or not (_is_uint(begin) and _is_uint(end)):
            raise FormatError("%s: bad shape or offsets for %r" % (path, name))
        if begin != covered:
            raise FormatError("%s: %r starts at %d, expected %d" % (path, name, begin, covered))
        count = int(np.prod(shape, dtype=np.int64))
        if end - begin != count * dt.itemsize or end > len(data):
            raise FormatError("%s: %r has wrong data_offsets" % (path, name))
        flat = np.frombuffer(data[begin:end], dtype=dt) if count else np.zeros(0, dtype=dt)
        tensors[name] = flat.reshape(shape).copy()
        covered = end
    if covered != len(data):
        raise FormatError("%s: %d bytes after the last tensor" % (path, len(data) - covered))
    return tensors, metadata


def save(path, tensors, metadata=None):
    """Layout of the reference writer: tensors by alignment (largest first), then by name."""
    order = sorted(tensors, key=lambda k: (-np.dtype(tensors[k].dtype).itemsize, k))
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = dict(metadata)
    for name in order:
        a = np.asarray(tensors[name])
        dtype_name = _dtype_name(a.dtype)
        blob = np.ascontiguousarray(a.astype(DTYPES[dtype_name], copy=False)).tobytes()
        # Keys in another order and with spaces, unlike pictor's writer: the reader must not care.
        header[name] = {"data_offsets": [offset, offset + len(blob)],
                        "shape": list(a.shape), "dtype": dtype_name}
        chunks.append(blob)
        offset += len(blob)
    text = json.dumps(header, ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in chunks:
            f.write(blob)
    os.replace(tmp, path)
