"""The PyTorch side of `bench_shim_step --update adamw`: torch.optim.AdamW's update alone on
torchvision's ResNet-18 parameters (11,689,512 values, 62 tensors), the same two groups (weight
decay 0.01 on >= 2-D tensors, none on the rest), gradients made once by one backward and kept.
--foreach 1|0 picks the multi-tensor or the per-parameter implementation. Prints
py_step_ms=<median update>."""
import argparse
import time

import torch
import torchvision

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--steps", type=int, default=20)
ap.add_argument("--warmup", type=int, default=3)
ap.add_argument("--foreach", type=int, default=1)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
model = torchvision.models.resnet18()
decay = [p for p in model.parameters() if p.dim() > 1]
plain = [p for p in model.parameters() if p.dim() <= 1]
opt = torch.optim.AdamW([dict(params=decay, weight_decay=0.01), dict(params=plain, weight_decay=0.0)],
                        lr=1e-3, foreach=bool(a.foreach))
model(torch.randn(2, 3, 64, 64)).sum().backward()
times = []
for i in range(a.warmup + a.steps):
    t0 = time.perf_counter()
    opt.step()
    if i >= a.warmup:
        times.append((time.perf_counter() - t0) * 1e3)
times.sort()
print("py_step_ms=%.4f" % times[len(times) // 2])
