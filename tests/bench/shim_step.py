"""The Python PyTorch side of bench_shim_step: the same small CNN (tests/reference/small_cnn.py),
batch, loss and Adam step, same thread count. Prints py_step_ms=<median>."""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
from small_cnn import SmallCNN  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--batch", type=int, default=64)
ap.add_argument("--steps", type=int, default=30)
ap.add_argument("--warmup", type=int, default=5)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
model = SmallCNN(1, 32, 128, 10, 28)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
x = torch.randn(a.batch, 1, 28, 28)
y = torch.randint(0, 10, (a.batch,))
times = []
for i in range(a.warmup + a.steps):
    t0 = time.perf_counter()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if i >= a.warmup:
        times.append((time.perf_counter() - t0) * 1e3)
times.sort()
print("py_step_ms=%.4f" % times[len(times) // 2])
