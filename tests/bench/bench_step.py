"""What the PyTorch sides of the driver step benchmarks (polarmask_step.py, interactive_step.py,
portrait_step.py, gcn_step.py) share, as tests/bench/bench_step.h does for the C sides: the
trainer's optimizer from the settings the C side wrote, one timed training step in the C side's
three parts, and the printing of the medians of the parts.

The optimizer: the trainer's two groups (weight decay on the >= 2-D parameters only, unless
decay_bias_and_norm), torch.optim.AdamW / Adam / SGD as the config says, foreach=True (one
multi-tensor update).
"""
import argparse
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import safetensors_np  # noqa: E402

PARTS = ("step", "forward", "backward", "optim")


def parse_args(c_bench):
    """The Python side's options (--inputs, written by the C bench c_bench with --write; --threads,
    --steps, --warmup as the C side's); sets torch's threads and seed 0."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", required=True, help=c_bench + " --write FILE")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    return a


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


def training_setup(model, meta, num):
    """model in training mode, its trainable parameters, the trainer's optimizer (meta["optim"],
    see optimizer) and the clip norm (see max_norm)."""
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    return params, optimizer(params, meta["optim"], num), max_norm(num)


def max_norm(num):
    """train.grad_clip, or inf: the trainer computes the norm even without a limit."""
    return num["grad_clip"] if num["grad_clip"] > 0 else math.inf


def print_medians(times, prefix="py"):
    """times: {part: [ms per timed step]} for the PARTS; prints <prefix>_<part>_ms=<median>."""
    for k in PARTS:
        v = sorted(times[k])
        n = len(v)
        print("%s_%s_ms=%.4f" % (prefix, k, v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])))


def timed_step(who, opt, params, max_norm_, loss_fn, first):
    """One training step as the C side times it: zero the gradients, loss_fn() -> (loss,
    {term: tensor}) reading the loss and every term (the trainer checks each), backward, the norm
    clip and the optimizer step. first: print py_first_loss. Exits naming who when the loss is not
    finite. Returns the (forward, backward, optim) times in ms."""
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss, terms = loss_fn()
    lv = loss.item()
    for v in terms.values():
        if not math.isfinite(v.item()):
            lv = math.nan
    if first:
        print("py_first_loss=%.5f (%s)" % (lv, ", ".join("%s %.5f" % (k, v.item())
                                                          for k, v in terms.items())))
    if not math.isfinite(lv):
        sys.exit(who + ": the loss is not finite")
    t1 = time.perf_counter()
    loss.backward()
    del loss, terms
    t2 = time.perf_counter()
    torch.nn.utils.clip_grad_norm_(params, max_norm_)
    opt.step()
    t3 = time.perf_counter()
    return (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3


def keep_times(times, parts):
    """Append a timed_step's (forward, backward, optim) to times[part] for the PARTS."""
    f, b, o = parts
    for k, v in (("step", f + b + o), ("forward", f), ("backward", b), ("optim", o)):
        times[k].append(v)


def run_steps(who, a, opt, params, max_norm_, loss_fn):
    """a.warmup + a.steps timed steps of loss_fn (see timed_step); prints the medians of the
    a.steps kept ones."""
    times = {k: [] for k in PARTS}
    for i in range(a.warmup + a.steps):
        parts = timed_step(who, opt, params, max_norm_, loss_fn, i == 0)
        if i >= a.warmup:
            keep_times(times, parts)
    print_medians(times)
