"""The Python PyTorch side of bench_gcn_step: one gcn training step (forward with the per-image
superpixels and graph, loss, backward, gradient clip, optimizer step) of the same network, on the
same batch, with the same settings and thread count. Prints py_step_ms=<median> and
py_forward_ms / py_backward_ms / py_optim_ms (the medians of the parts, split as the C side splits
them), then py_slic_ms and py_graph_ms (inside py_forward_ms, summed over the batch),
py_superpixels (the mean count per image), py_step_cpu_ms (the process's CPU time per step: the
work itself with --threads 1, whatever the load) and py_slic_cpu_ms (the SLIC calls' thread CPU
time), as the C side prints them.

  gcn_step.py --inputs FILE [--threads N] [--steps N] [--warmup N]

FILE is what `bench_gcn_step --write FILE` saved: the collated images, each image's area ratio
and error band, and as metadata the resolved config (every model, train and optim key) and
pictor's parameter count (printed next to this side's: they must be equal).

The step, as train/models/gcn/drv_gcn.c computes it (model.fcn small, head gcn, supervision ratio;
other settings are refused):
  FCN: model.depth x (3x3 conv without bias, dilations 1, 2, 4, 8, 1, ..., BatchNorm in training
  mode, ReLU) of model.features channels, Kaiming-normal (fan-out) weights; a 1x1 head (its logits
  enter the loss with weight 0, as in the driver, so it is in the forward and backward).
  Per image: k = round(superpixels * U(1 - jitter, 1 + jitter)); SLIC on the detached features
  divided by their RMS: scikit-image's slic (Cython, single-threaded, as pictor's), n_segments k,
  model.compactness, model.slic_iters iterations, connectivity enforced, on the HWC float32 copy.
  Its labels differ from pictor's (other features; skimage searches a 4S x 4S window where pictor
  searches 2S x 2S, and merges components differently): the superpixel counts are printed on both
  sides. The graph in NumPy, vectorised (what gcn_graph_build does in C): 4-neighbour edges on
  both axes, unique (i < j), mean features per vertex, weights exp(-d^2 / sigma^2), sigma =
  model.sigma or the median d. A_hat = D^-1/2 (A + I) D^-1/2 as a torch sparse COO tensor
  (coalesced), applied with torch.sparse.mm, as pictor (at::_sparse_mm). Vertex features: the
  differentiable segment mean (index_add of the pixel rows / pixel counts). GCN: Linear layers of
  model.gcn_widths then 1, ReLU between, H <- A_hat (H W + b).
  Weak labels (gcn_weak.h): vertices ranked by the detached scores (ties by index), foreground
  from the top while their area (or count, model.ratio_by) stays within (r - e) A, background
  from the bottom within (1 - r - e) A. Loss: class-balanced BCE (mean over the foreground
  vertices and over the background ones, averaged over the classes present, then over images);
  the terms bce_fg / bce_bg are read as the trainer reads them.
  Optimizer: the trainer's two groups, torch.optim as the config says, foreach=True
  (tests/bench/bench_step.py); clip_grad_norm_ to train.grad_clip (inf without one: the trainer
  computes the norm anyway).
"""
import math
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from skimage.segmentation import slic

import bench_step


class GCNModel(torch.nn.Module):
    def __init__(self, in_ch, features, depth, widths):
        super().__init__()
        layers, cin, dil = [], in_ch, 1
        for _ in range(depth):
            conv = torch.nn.Conv2d(cin, features, 3, padding=dil, dilation=dil, bias=False)
            torch.nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            layers += [conv, torch.nn.BatchNorm2d(features, eps=1e-5, momentum=0.1),
                       torch.nn.ReLU()]
            cin, dil = features, dil * 2 if dil < 8 else 1
        self.fcn = torch.nn.Sequential(*layers)
        self.head = torch.nn.Conv2d(features, 1, 1)
        dims = [features] + list(widths) + [1]
        self.gcn = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(dims, dims[1:]))


def graph(labels, feat, sigma):
    """labels [h, w] (0 .. n-1), feat [C, h, w] float32 -> n, area, ei, ej, weight."""
    n = int(labels.max()) + 1
    flat = labels.reshape(-1)
    area = np.bincount(flat, minlength=n)
    if area.min() < 1:
        sys.exit("gcn_step.py: a superpixel label without pixels")
    a = np.concatenate([labels[:, :-1].reshape(-1), labels[:-1, :].reshape(-1)])
    b = np.concatenate([labels[:, 1:].reshape(-1), labels[1:, :].reshape(-1)])
    diff = a != b
    lo, hi = np.minimum(a[diff], b[diff]), np.maximum(a[diff], b[diff])
    keys = np.unique(lo * n + hi)
    ei, ej = keys // n, keys % n
    c = feat.shape[0]
    mean = np.stack([np.bincount(flat, weights=feat[ch].reshape(-1), minlength=n)
                     for ch in range(c)], 1) / area[:, None]
    d = np.sqrt(((mean[ei] - mean[ej]) ** 2).sum(1))
    if not sigma > 0:
        med = float(np.median(d)) if d.size else 0.0
        sigma = med if med > 0 else 1.0
    return n, area, ei, ej, np.exp(-d * d / (sigma * sigma))


def adjacency(n, ei, ej, w):
    deg = 1.0 + np.bincount(ei, weights=w, minlength=n) + np.bincount(ej, weights=w, minlength=n)
    a = w / np.sqrt(deg[ei] * deg[ej])
    diag = np.arange(n)
    idx = np.concatenate([np.stack([diag, diag]), np.stack([ei, ej]), np.stack([ej, ei])], 1)
    val = np.concatenate([1.0 / deg, a, a]).astype(np.float32)
    return torch.sparse_coo_tensor(torch.from_numpy(idx), torch.from_numpy(val),
                                   (n, n)).coalesce()


def weak_labels(score, area, r, e, by_area):
    n = score.shape[0]
    e = 0.0 if math.isnan(e) else e
    out = np.full(n, -1, dtype=np.int8)
    order = np.argsort(-score, kind="stable")  # highest first, ties by lower index
    if not by_area:
        n1 = max(int(math.floor(n * (r - e) + 1e-9)), 0)
        n2 = max(int(math.floor(n * (1 - r - e) + 1e-9)), 0)
        out[order[:n1]] = 1
        if n2:
            out[order[n - n2:]] = 0
        return out
    total = float(area.sum())
    cum = np.cumsum(area[order])
    nf = int(np.searchsorted(cum, (r - e) * total + 1e-9, side="right"))
    out[order[:nf]] = 1
    rest = order[nf:][::-1]
    nb = int(np.searchsorted(np.cumsum(area[rest]), (1 - r - e) * total + 1e-9, side="right"))
    out[rest[:nb]] = 0
    return out


def balanced_bce(logits, lab):
    nf, nb = int((lab == 1).sum()), int((lab == 0).sum())
    t = torch.from_numpy((lab == 1).astype(np.float32))
    raw = F.binary_cross_entropy_with_logits(logits, t, reduction="none")
    fg = (raw * torch.from_numpy((lab == 1).astype(np.float32) / max(nf, 1))).sum() if nf else None
    bg = (raw * torch.from_numpy((lab == 0).astype(np.float32) / max(nb, 1))).sum() if nb else None
    if fg is not None and bg is not None:
        return (fg + bg) * 0.5, fg, bg
    return (fg if fg is not None else bg), fg, bg


def loss_of(model, x, ratio, error, m, rng, stats):
    feat = model.fcn(x)
    logit = model.head(feat)
    total = logit.sum() * 0.0
    sum_fg, sum_bg, n_img, n_fg, n_bg = None, None, 0, 0, 0
    C = feat.shape[1]
    for i in range(x.shape[0]):
        j = m["superpixels_jitter"]
        k = max(int(math.floor(m["superpixels"] * rng.uniform(1 - j, 1 + j) + 0.5)), 1)
        fi = feat[i]
        buf = fi.detach().numpy()
        rms = math.sqrt(float(np.square(buf, dtype=np.float64).mean()))
        norm = (buf / rms).astype(np.float32) if rms > 0 else np.zeros_like(buf)
        t0, c0 = time.perf_counter(), time.thread_time()
        labels = slic(np.ascontiguousarray(norm.transpose(1, 2, 0)), n_segments=k,
                      compactness=m["compactness"], max_num_iter=m["slic_iters"],
                      convert2lab=False, enforce_connectivity=True, start_label=0,
                      channel_axis=-1)
        t1, c1 = time.perf_counter(), time.thread_time()
        n, area, ei, ej, w = graph(labels, buf, m["sigma"])
        t2 = time.perf_counter()
        stats["slic"] += (t1 - t0) * 1e3
        stats["graph"] += (t2 - t1) * 1e3
        stats["slic_cpu"] += (c1 - c0) * 1e3
        stats["sp"].append(n)
        a_hat = adjacency(n, ei, ej, w)
        lab64 = torch.from_numpy(labels.reshape(-1).astype(np.int64))
        rows = fi.reshape(C, -1).t()
        hv = torch.zeros(n, C).index_add(0, lab64, rows) / torch.from_numpy(
            area.astype(np.float32)).reshape(n, 1)
        for li, lin in enumerate(model.gcn):
            hv = torch.sparse.mm(a_hat, lin(hv))
            if li < len(model.gcn) - 1:
                hv = F.relu(hv)
        score = hv.reshape(-1)
        lab = weak_labels(score.detach().numpy(), area, float(ratio[i]), float(error[i]),
                          m["ratio_by"] == "area")
        l, fg, bg = balanced_bce(score, lab)
        if l is None:
            continue
        total = total + l
        n_img += 1
        if fg is not None:
            sum_fg, n_fg = (fg if sum_fg is None else sum_fg + fg), n_fg + 1
        if bg is not None:
            sum_bg, n_bg = (bg if sum_bg is None else sum_bg + bg), n_bg + 1
    if n_img:
        total = total / n_img
    terms = {"bce_fg": (sum_fg / n_fg).detach() if n_fg else torch.zeros(()),
             "bce_bg": (sum_bg / n_bg).detach() if n_bg else torch.zeros(())}
    return total, terms


def main():
    a = bench_step.parse_args("bench_gcn_step")
    t, meta, num = bench_step.load_inputs(a.inputs)
    m = yaml.safe_load(meta["config"])["model"]
    if m["fcn"] != "small" or m["head"] != "gcn" or m["supervision"] != "ratio":
        sys.exit("gcn_step.py: only model.fcn small, head gcn, supervision ratio (got %s, %s, %s)"
                 % (m["fcn"], m["head"], m["supervision"]))
    for k in ("superpixels_jitter", "compactness", "sigma"):
        m[k] = float(m[k])
    for k in ("features", "depth", "superpixels", "slic_iters"):
        m[k] = int(m[k])
    x, ratio, error = t["images"], t["ratio"].numpy(), t["error"].numpy()
    model = GCNModel(x.shape[1], m["features"], m["depth"], m["gcn_widths"])
    params, opt, max_norm = bench_step.training_setup(model, meta, num)
    print("gcn step (PyTorch): %d parameters (pictor: %s), batch %d, %dx%d, %d threads, %s"
          % (sum(p.numel() for p in params), meta["c_parameters"], x.shape[0], x.shape[2],
             x.shape[3], a.threads, meta["optim"]))
    rng = random.Random(0)
    times = {k: [] for k in bench_step.PARTS + ("slic", "graph", "step_cpu", "slic_cpu")}
    sp = []
    for i in range(a.warmup + a.steps):
        stats = {"slic": 0.0, "graph": 0.0, "slic_cpu": 0.0, "sp": []}
        c0 = time.process_time()
        parts = bench_step.timed_step("gcn_step.py", opt, params, max_norm,
                                      lambda: loss_of(model, x, ratio, error, m, rng, stats), i == 0)
        c3 = time.process_time()
        if i >= a.warmup:
            bench_step.keep_times(times, parts)
            times["step_cpu"].append((c3 - c0) * 1e3)
            times["slic_cpu"].append(stats["slic_cpu"])
            times["slic"].append(stats["slic"])
            times["graph"].append(stats["graph"])
            sp += stats["sp"]
    bench_step.print_medians(times)
    for k in ("slic", "graph", "step_cpu", "slic_cpu"):
        print("py_%s_ms=%.4f" % (k, float(np.median(times[k]))))
    print("py_superpixels=%.1f" % (sum(sp) / max(len(sp), 1)))


if __name__ == "__main__":
    main()
