"""What the PyTorch sides of the driver step benchmarks (polarmask_step.py, interactive_step.py)
share, as tests/bench/bench_step.h does for the C sides: the trainer's optimizer from the settings
the C side wrote, and the printing of the medians of the step's parts.

The optimizer: the trainer's two groups (weight decay on the >= 2-D parameters only, unless
decay_bias_and_norm), torch.optim.AdamW / Adam / SGD as the config says, foreach=True (one
multi-tensor update).
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import safetensors_np  # noqa: E402

PARTS = ("step", "forward", "backward", "optim")


def load_inputs(path):
    """The tensors and the metadata a C bench wrote with --write: ({name: tensor}, {key: text},
    {key: float} for every numeric key)."""
    arrays, meta = safetensors_np.load(path)
    t = {k: torch.from_numpy(v.copy()) for k, v in arrays.items()}
    num = {}
    for k, v in meta.items():
        try:
            num[k] = float(v)
        except ValueError:
            pass
    return t, meta, num


def optimizer(params, kind, num):
    keep_decay = num["decay_bias_and_norm"] != 0
    decay = [p for p in params if keep_decay or p.ndim > 1]
    no_decay = [p for p in params if not keep_decay and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": num["weight_decay"]},
              {"params": no_decay, "weight_decay": 0.0}]
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=num["lr"], momentum=num["momentum"],
                               nesterov=num["nesterov"] != 0, foreach=True)
    ctor = torch.optim.AdamW if kind == "adamw" else torch.optim.Adam
    return ctor(groups, lr=num["lr"], betas=(num["beta1"], num["beta2"]), eps=num["eps"],
                foreach=True)


def max_norm(num):
    """train.grad_clip, or inf: the trainer computes the norm even without a limit."""
    return num["grad_clip"] if num["grad_clip"] > 0 else math.inf


def print_medians(times, prefix="py"):
    """times: {part: [ms per timed step]} for the PARTS; prints <prefix>_<part>_ms=<median>."""
    for k in PARTS:
        v = sorted(times[k])
        n = len(v)
        print("%s_%s_ms=%.4f" % (prefix, k, v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])))
