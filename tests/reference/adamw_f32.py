"""adamw_f32.py OUT.bin - torch.optim.AdamW (foreach=False) on float32 parameters, for
test_adamw_fused.c (the shim's fused one-pass AdamW). Two groups: A (70,003 values, lr 0.01,
weight decay 0.1) and B (17 values, lr 0.02, no decay); p_i = cos(0.05 i); at step s (1..5) the
gradient is g_i = sin(0.1 i + s) * 0.5 ** (i % 7) (magnitudes 1..1/64). Writes A then B after 5
steps as raw little-endian float32."""
import sys

import torch

N_A, N_B, STEPS = 70003, 17, 5


def init(n):
    return torch.cos(0.05 * torch.arange(n, dtype=torch.float32)).requires_grad_(True)


def grad(n, s):
    i = torch.arange(n, dtype=torch.float32)
    return torch.sin(0.1 * i + s) * torch.pow(torch.tensor(0.5), (i % 7))


a, b = init(N_A), init(N_B)
opt = torch.optim.AdamW([dict(params=[a], lr=0.01, weight_decay=0.1),
                         dict(params=[b], lr=0.02, weight_decay=0.0)], foreach=False)
for s in range(1, STEPS + 1):
    a.grad, b.grad = grad(N_A, s), grad(N_B, s)
    opt.step()
with open(sys.argv[1], "wb") as f:
    f.write(a.detach().numpy().astype("<f4").tobytes())
    f.write(b.detach().numpy().astype("<f4").tobytes())
