"""optim_steps.py - reference trajectories of torch.optim on a tiny quadratic, for test_optim.c.

Usage: optim_steps.py OUT.txt

Writes one line per case and step: "<case> <step> <p0> <p1> ... [<q0> <q1>]", float64 values
printed with 17 significant digits. The loss is
    sum(C0 * (p - T0)^2) [+ sum(C1 * (q - T1)^2) for the two-group cases]
and each step is zero_grad, backward, step. Two-group cases put p in group 0 and q in group 1,
each with its own lr and weight decay, then change the learning rates after steps 2 and 3
(every group to 0.05, then group 1 to 0.2) as pt_optim_set_lr(-1, ...) and (1, ...) do.
The table of cases must match CASES in tests/test_optim.c.
"""
import sys

import torch

P0, C0, T0 = [1.0, -2.0, 0.5], [1.0, 2.0, 3.0], [0.5, 0.5, -1.0]
P1, C1, T1 = [0.3, 3.0], [2.0, 0.5], [-1.0, 1.0]
STEPS = 6

# name, class, options for group 0 (and the constructor defaults), group 1 (lr, wd) or None
CASES = [
    ("sgd", torch.optim.SGD, dict(lr=0.1), None),
    ("sgd_momentum_dampening", torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.1), None),
    ("sgd_nesterov_wd", torch.optim.SGD,
     dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), None),
    ("adam", torch.optim.Adam, dict(lr=0.1), None),
    ("adam_wd_amsgrad", torch.optim.Adam,
     dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, amsgrad=True), None),
    ("adamw", torch.optim.AdamW, dict(lr=0.1, weight_decay=0.1), None),
    ("adamw_amsgrad", torch.optim.AdamW, dict(lr=0.02, weight_decay=0.5, amsgrad=True), None),
    ("sgd_groups_setlr", torch.optim.SGD, dict(lr=0.1, momentum=0.9), (0.01, 0.1)),
    ("adam_groups_setlr", torch.optim.Adam, dict(lr=0.1), (0.02, 0.05)),
]


def quad(x, c, t):
    return (torch.tensor(c) * (x - torch.tensor(t)) ** 2).sum()


def run(out, name, cls, opts, group1):
    p = torch.tensor(P0, dtype=torch.float64, requires_grad=True)
    params = [p]
    if group1 is None:
        opt = cls([p], **opts)
    else:
        q = torch.tensor(P1, dtype=torch.float64, requires_grad=True)
        params.append(q)
        g0 = dict(params=[p], lr=opts["lr"], weight_decay=opts.get("weight_decay", 0.0))
        g1 = dict(params=[q], lr=group1[0], weight_decay=group1[1])
        opt = cls([g0, g1], **opts)
    for step in range(1, STEPS + 1):
        opt.zero_grad()
        loss = quad(p, C0, T0)
        if group1 is not None:
            loss = loss + quad(params[1], C1, T1)
        loss.backward()
        opt.step()
        vals = [v for t in params for v in t.detach().tolist()]
        out.write("%s %d %s\n" % (name, step, " ".join("%.17g" % v for v in vals)))
        if group1 is not None and step == 2:
            for g in opt.param_groups:
                g["lr"] = 0.05
        if group1 is not None and step == 3:
            opt.param_groups[1]["lr"] = 0.2


def main():
    torch.set_default_dtype(torch.float64)
    with open(sys.argv[1], "w") as out:
        for case in CASES:
            run(out, *case)


if __name__ == "__main__":
    main()
