"""safetensors_check.py - the Python half of tests/test_safetensors.c (exchange test).

    safetensors_check.py --check C_FILE [--meta KEY=VALUE ...] --write PY_FILE

--check reads a file pictor wrote with safetensors_np and compares it with C_RECIPE (the recipe of
recipe_dict() in test_safetensors.c; keep the two in step) and the metadata given with --meta.
--write writes PY_RECIPE with safetensors_np for the C side to read back. Exit status 0 when
every check passes; the reason for a failure goes to stderr.
"""
import argparse
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np as st  # noqa: E402


def bf16(bits):
    a = np.empty(len(bits), dtype=st.BF16)
    a["bf16"] = np.array(bits, dtype=np.uint16)
    return a


# name -> (safetensors dtype, expected array); the order is the order pictor wrote them in.
C_RECIPE = [
    ("f32", "F32", np.array([-0.5, -0.25, 0.0, 0.25, 0.5, 0.75], np.float32).reshape(2, 3)),
    ("f64", "F64", np.array([1.0 / 3.0, -2.5, 1e300], np.float64)),
    ("i64", "I64", np.array([-(1 << 40), -1, 0, 1 << 62], np.int64)),
    ("i32", "I32", np.array([-7, 0, 7, 2147483647], np.int32).reshape(2, 2)),
    ("i16", "I16", np.array([-32768, 1, 32767], np.int16)),
    ("i8", "I8", np.array([-128, 127], np.int8)),
    ("u8", "U8", np.array([0, 1, 254, 255], np.uint8).reshape(2, 2, 1)),
    ("bool", "BOOL", np.array([True, False, True])),
    ("f16", "F16", np.array([1.0, -2.0], np.float16)),
    ("bf16", "BF16", bf16([0x3F80, 0xC040])),
    ("scalar", "F32", np.array(42.5, np.float32)),
    ("empty", "F32", np.zeros((0, 3), np.float32)),
]

PY_RECIPE = {
    "z_first": np.array([1.5, -2.5], np.float32),
    "a_bool": np.array([1, 1, 0, 0, 1], np.bool_),
    "m_i64": np.array([[1, -2], [3, -4]], np.int64),
    "bf": st.f32_to_bf16(np.array([3.14159], np.float32)),  # bits 0x4049
    "h": np.array([0.5, -0.25, 65504.0], np.float16),
    "s": np.array(7, np.int32),
    "e": np.zeros(0, np.float64),
    "u": np.array([0, 128, 255], np.uint8),
    "b": np.array([-1, 1], np.int8),
    "w": np.array([-300], np.int16),
}
PY_METADATA = {"source": "numpy", "k": "v with spaces"}


def fail(msg):
    print("safetensors_check: " + msg, file=sys.stderr)
    sys.exit(1)


def check(path, metadata):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
    if (8 + n) % 8:
        fail("%s: data buffer starts at %d, not a multiple of 8" % (path, 8 + n))
    tensors, meta = st.load(path)
    if meta != metadata:
        fail("metadata %r, expected %r" % (meta, metadata))
    names = [name for name, _, _ in C_RECIPE]
    if list(tensors) != names:
        fail("tensors %r, expected %r (in this order)" % (list(tensors), names))
    for name, dtype_name, want in C_RECIPE:
        got = tensors[name]
        if got.dtype != st.DTYPES[dtype_name]:
            fail("%s: dtype %s, expected %s" % (name, got.dtype, dtype_name))
        if got.shape != want.shape:
            fail("%s: shape %s, expected %s" % (name, got.shape, want.shape))
        if got.tobytes() != want.tobytes():
            fail("%s: values %r, expected %r" % (name, got, want))
    if not np.array_equal(st.bf16_to_f32(tensors["bf16"]), np.array([1.0, -3.0], np.float32)):
        fail("bf16 values are not [1, -3]")
    try:  # an independent decoding of the half-precision bits when torch is present
        import torch
        t = torch.frombuffer(bytearray(tensors["bf16"].tobytes()), dtype=torch.bfloat16)
        if t.float().tolist() != [1.0, -3.0]:
            fail("torch reads bf16 as %r" % t.float().tolist())
    except ImportError:
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", required=True)
    ap.add_argument("--meta", action="append", default=[])
    ap.add_argument("--write", required=True)
    args = ap.parse_args()
    metadata = dict(kv.split("=", 1) for kv in args.meta)
    check(args.check, metadata)
    if PY_RECIPE["bf"]["bf16"][0] != 0x4049:
        fail("f32_to_bf16(3.14159) gave 0x%04x" % PY_RECIPE["bf"]["bf16"][0])
    st.save(args.write, PY_RECIPE, PY_METADATA)
    # Our own writer must read back with our own reader.
    back, meta = st.load(args.write)
    if meta != PY_METADATA or any(back[k].tobytes() != v.tobytes() for k, v in PY_RECIPE.items()):
        fail("safetensors_np does not round-trip its own file")
    print("safetensors_check: ok (%d tensors checked, %d written)" % (len(C_RECIPE), len(back)),
          file=sys.stderr)


if __name__ == "__main__":
    main()
