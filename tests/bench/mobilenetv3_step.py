"""The Python PyTorch side of bench_mobilenetv3_step: torchvision 0.14's mobilenet_v3_small (or
large), 10 classes, the same batch, resolution, loss, SGD-with-momentum step and thread count.
Prints py_step_ms=<median>."""
import argparse
import time

import torch
import torchvision

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--size", type=int, default=96)
ap.add_argument("--steps", type=int, default=20)
ap.add_argument("--warmup", type=int, default=3)
ap.add_argument("--variant", choices=("small", "large"), default="small")
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
ctor = {"small": torchvision.models.mobilenet_v3_small,
        "large": torchvision.models.mobilenet_v3_large}[a.variant]
model = ctor(num_classes=10)
model.train()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x = torch.randn(a.batch, 3, a.size, a.size)
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
