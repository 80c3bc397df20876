#!/usr/bin/python3
"""grabcut_noc.py - OpenCV GrabCut under RITM's simulated user: the classical anchor of the
`interactive` model (issue 10). Prints NoC@85 / NoC@90 per protocol as JSON lines, and a table
with pictor's numbers beside GrabCut's (stderr) when --pictor gives them.

THE SIMULATED USER (RITM's evaluation protocol, isegm/inference/clicker.py + evaluation.py,
re-implemented here)
  - Error regions of the current prediction, ignore pixels excluded: FN = object & ~pred,
    FP = ~object & pred. Each is padded by one zero pixel all round (the image border counts as
    "outside" the region), its exact Euclidean distance transform taken
    (scipy.ndimage.distance_transform_edt; RITM uses OpenCV's precise L2 transform, the same
    values: --self-test checks that), the padding removed, and already-tapped pixels set to 0.
  - The tap goes at the deepest pixel: positive iff max FN depth > max FP depth (a tie is
    negative), at the first pixel of that maximum in row-major order.
  - Before the first tap the prediction is empty (taps protocol), so the first tap is positive,
    at the pixel deepest inside the object.
  - After tap k the prediction is made and IoU_k measured (ignore pixels excluded).
    NoC@t = the first k with IoU_k >= t, or max-clicks (20) when it never gets there.
    fail90_at_20 counts instances with NoC@90 == 20, as RITM's ">=20" column does (an instance
    that reaches 0.90 exactly at tap 20 counts too). Mean IoU after 1/3/5 taps is over all
    instances.
  - Stopping: RITM stops an instance once IoU reaches the highest target (0.90). Here an
    instance stops once IoU >= 0.90 AND at least 5 taps were made (so IoU after 1/3/5 taps is
    always measured); --full runs all max-clicks taps. In the --curve file an instance that
    stopped keeps its last IoU (the user is done), and column n_measured says how many
    instances were really measured at that tap. NoC is unaffected by stopping.
  - If no error pixel is left to tap (prediction equal to the mask, e.g. the rectangle alone was
    perfect), the instance stops there and its IoU counts as the IoU after that tap and all
    later ones, so NoC is at least 1 as in RITM (which would place a meaningless negative tap at
    (0, 0)); no tap is counted or timed. The JSON counts such instances in no_error_left.
  - Ignore pixels: mask value 128 (GrabCut / Berkeley boundary masks) is left out of IoU and
    of FN/FP, as in RITM.

GRABCUT UNDER TAPS (cv2.grabCut, OpenCV's GMM colour model + graph cut)
  - A tap makes a disc of radius --radius (default 5 px, common practice for click seeds) definite
    foreground (GC_FGD) or background (GC_BGD). Discs are painted over the previous label map in
    tap order (a later disc overwrites an earlier one where they overlap), and then every tapped
    pixel itself is stamped again with its own label, so a tapped pixel is never overwritten.
  - After each tap GrabCut runs --iters iterations (default 3) with GC_INIT_WITH_MASK from the
    current label map: the previous GrabCut output (its probable labels GC_PR_FGD / GC_PR_BGD)
    plus all definite discs. The colour models are re-estimated from that map each time.
  - Prediction = label in {GC_FGD, GC_PR_FGD} (GrabCut gives labels, not probabilities, so the
    0.49 threshold has nothing to act on).
  - Protocol `taps`: the label map starts all GC_PR_BGD ("probably background"); the first
    (positive) tap's disc is GC_FGD, which gives GrabCut the two classes it needs (foreground
    model from the disc, background model from everything else).
  - Protocol `rect`: the rectangle is the ground-truth box of the object pixels grown by
    --rect-grow (default 0.10: width and height x 1.10 about the centre, i.e. 5% added on each
    side), rounded outwards to pixels, clipped to the image. GrabCut first runs
    GC_INIT_WITH_RECT (outside = GC_BGD, inside = GC_PR_FGD) for --iters iterations; its
    prediction is "0 taps" (IoU reported as miou_0), then taps as above. A rectangle covering
    the whole image would leave no background pixel (OpenCV refuses): it is shrunk by one pixel
    on each side that touches the border (counted in rect_shrunk).
  - If OpenCV raises (a colour model with too few pixels), the prediction stays the label map
    with the new disc painted in, and the event is counted in grabcut_errors.
  - cv2.setRNGSeed(--seed) before every instance and protocol (GrabCut's k-means init draws
    from OpenCV's RNG): a run is reproducible whatever the subset or order.
  - Images whose longer side exceeds --max-side (default 480; 0 = never) are downscaled (area
    interpolation) with their masks (nearest); taps, IoU and NoC are then at that size.
    The JSON says how many were.

TIMING: sec_per_tap is the wall time of one tap (choose the tap, paint, GrabCut, IoU) averaged
over all taps, cpu_sec_per_tap the process CPU time of the same (what a tap costs on an idle
core when the machine is shared); the rect protocol's initial GrabCut is rect_sec, not a tap.
One thread (cv2.setNumThreads(1)) unless --threads.

Usage: grabcut_noc.py --store FILE.h5 [--protocol taps|rect|both] [--max-clicks 20]
         [--limit N] [--sample N] [--holdout K] [--seed S] [--radius R] [--iters I]
         [--max-side PX] [--rect-grow F] [--full] [--curve FILE.csv] [--pictor FILE.jsonl]
         [--per-instance FILE.jsonl] [--threads T] [--quiet]
       grabcut_noc.py --summarise FILE.jsonl [--max-clicks 20] [--curve FILE.csv] ...
       grabcut_noc.py --self-test
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import cv2
from scipy.ndimage import distance_transform_edt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pictor_store import PictorStore, IGNORE  # noqa: E402

STOP_IOU = 0.90          # RITM stops an instance at its highest IoU target
MIN_TAPS_BEFORE_STOP = 5  # so that IoU after 1, 3 and 5 taps is always measured
TARGETS = (0.85, 0.90)


# ----------------------------------------------------------------------------------------------
# The simulated user

def error_depth(region, not_clicked):
    """Euclidean distance of each pixel of a boolean region to the nearest pixel outside it,
    the image border counting as outside (one pixel of zero padding); tapped pixels 0."""
    d = distance_transform_edt(np.pad(region, 1))[1:-1, 1:-1]
    return d * not_clicked


def next_click(obj, valid, pred, not_clicked):
    """RITM's next tap: (positive, y, x), or None when no error pixel is left to tap."""
    fn = obj & ~pred & valid
    fp = ~obj & pred & valid
    dfn = error_depth(fn, not_clicked)
    dfp = error_depth(fp, not_clicked)
    mfn, mfp = dfn.max(), dfp.max()
    if mfn == 0 and mfp == 0:
        return None
    positive = bool(mfn > mfp)
    d = dfn if positive else dfp
    y, x = np.unravel_index(int(np.argmax(d)), d.shape)  # first maximum in row-major order
    return positive, int(y), int(x)


def iou(obj, valid, pred):
    inter = np.count_nonzero(pred & obj & valid)
    union = np.count_nonzero((pred | obj) & valid)
    return inter / union if union else 1.0


def noc(ious, target, max_clicks):
    """Taps needed to reach target (1-based), max_clicks when never reached."""
    for k, v in enumerate(ious[:max_clicks]):
        if v >= target:
            return k + 1
    return max_clicks


# ----------------------------------------------------------------------------------------------
# GrabCut under taps

def paint_taps(label, taps, radius):
    """Paint the newest tap's disc, then re-stamp every tapped pixel with its own label."""
    h, w = label.shape
    pos, y, x = taps[-1]
    value = cv2.GC_FGD if pos else cv2.GC_BGD
    y0, y1, x0, x1 = max(0, y - radius), min(h, y + radius + 1), max(0, x - radius), min(w, x + radius + 1)
    yy, xx = np.ogrid[y0:y1, x0:x1]
    disc = (yy - y) ** 2 + (xx - x) ** 2 <= radius * radius
    label[y0:y1, x0:x1][disc] = value
    for p, ty, tx in taps:
        label[ty, tx] = cv2.GC_FGD if p else cv2.GC_BGD


def grown_box(obj, grow, w, h):
    """(x, y, width, height) of the object's box grown by `grow` about its centre, clipped;
    and whether it had to be shrunk off the image border (it would cover the whole image)."""
    ys, xs = np.nonzero(obj)
    bx0, bx1, by0, by1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1  # exclusive ends
    dx, dy = (bx1 - bx0) * grow / 2, (by1 - by0) * grow / 2
    x0, x1 = max(0, int(np.floor(bx0 - dx))), min(w, int(np.ceil(bx1 + dx)))
    y0, y1 = max(0, int(np.floor(by0 - dy))), min(h, int(np.ceil(by1 + dy)))
    shrunk = False
    if x0 == 0 and y0 == 0 and x1 == w and y1 == h:
        x0, y0, x1, y1 = 1, 1, w - 1, h - 1
        shrunk = True
    return (x0, y0, x1 - x0, y1 - y0), shrunk


class GrabCutUser:
    def __init__(self, args):
        self.args = args
        self.errors = 0

    def _grabcut(self, img, label, rect, mode):
        bgd = np.zeros((1, 65), np.float64)
        fgd = np.zeros((1, 65), np.float64)
        try:
            cv2.grabCut(img, label, rect, bgd, fgd, self.args.iters, mode)
            return True
        except cv2.error:
            self.errors += 1
            return False

    @staticmethod
    def _pred(label):
        return (label == cv2.GC_FGD) | (label == cv2.GC_PR_FGD)

    def run(self, img, gt, protocol):
        """One instance: dict with ious (after each tap), tap_sec, iou0 / rect_sec (rect)."""
        a = self.args
        obj = gt == 1
        valid = gt != IGNORE
        h, w = gt.shape
        cv2.setRNGSeed(a.seed)
        out = {"shrunk": False, "perfect": False}
        label = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
        if protocol == "rect":
            t0 = time.perf_counter()
            rect, out["shrunk"] = grown_box(obj, a.rect_grow, w, h)
            label[:] = cv2.GC_BGD
            if not self._grabcut(img, label, rect, cv2.GC_INIT_WITH_RECT):
                x, y, rw, rh = rect  # failed: predict the rectangle
                label[y:y + rh, x:x + rw] = cv2.GC_PR_FGD
            pred = self._pred(label)
            out["iou0"] = iou(obj, valid, pred)
            out["rect_sec"] = time.perf_counter() - t0
        else:
            pred = np.zeros((h, w), bool)
        not_clicked = np.ones((h, w), bool)
        taps, ious, secs, cpu = [], [], [], []
        for k in range(a.max_clicks):
            t0, c0 = time.perf_counter(), time.process_time()
            c = next_click(obj, valid, pred, not_clicked)
            if c is None:  # nothing left to correct: the IoU stays (counted as this tap's)
                ious.append(iou(obj, valid, pred))
                out["perfect"] = True
                break
            taps.append(c)
            not_clicked[c[1], c[2]] = False
            paint_taps(label, taps, a.radius)
            self._grabcut(img, label, None, cv2.GC_INIT_WITH_MASK)
            pred = self._pred(label)
            ious.append(iou(obj, valid, pred))
            secs.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            if not a.full and ious[-1] >= STOP_IOU and k + 1 >= MIN_TAPS_BEFORE_STOP:
                break
        out["ious"], out["tap_sec"], out["tap_cpu"], out["taps"] = ious, secs, cpu, taps
        return out


# ----------------------------------------------------------------------------------------------
# Data and summary

def downscale(img, gt, max_side):
    h, w = gt.shape
    if max_side <= 0 or max(h, w) <= max_side:
        return img, gt, False
    s = max_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    gt = cv2.resize(gt, size, interpolation=cv2.INTER_NEAREST)
    return img, gt, True


def select(instances, a):
    """--holdout K keeps the group-aware fifth (K=5) etc.: key = group id (or the item index for
    an item that is its own group), kept iff key % K == 0; then --sample N (N drawn with --seed,
    in that random order, so any prefix of a run is itself a random sample) and --limit N (the
    first N)."""
    sel = instances
    if a.holdout:
        sel = [i for i in sel if (i.group if i.group >= 0 else i.item) % a.holdout == 0]
    if a.sample:
        idx = np.random.default_rng(a.seed).permutation(len(sel))[:a.sample]
        sel = [sel[i] for i in idx]
    if a.limit:
        sel = sel[:a.limit]
    return sel


def mean_after(runs, k, max_clicks):
    """Mean IoU after k taps; an instance that stopped before k keeps its last IoU."""
    vals = []
    for r in runs:
        ious = r["ious"]  # never empty: a tap, or the IoU of a prediction with no error left
        vals.append(ious[min(k, len(ious)) - 1])
    return float(np.mean(vals)) if vals else float("nan")


def summarise(protocol, runs, a, n_down, errors, store):
    mc = a.max_clicks
    nocs = {t: [noc(r["ious"], t, mc) for r in runs] for t in TARGETS}
    taps = sum(len(r["taps"]) for r in runs)
    secs = sum(sum(r["tap_sec"]) for r in runs)
    cpu = sum(sum(r["tap_cpu"]) for r in runs) if all("tap_cpu" in r for r in runs) else None
    s = {
        "method": "opencv_grabcut", "protocol": protocol, "store": store, "n": len(runs),
        "noc85": round(float(np.mean(nocs[0.85])), 3), "noc90": round(float(np.mean(nocs[0.90])), 3),
        "fail85_at_%d" % mc: int(sum(v == mc for v in nocs[0.85])),
        "fail90_at_%d" % mc: int(sum(v == mc for v in nocs[0.90])),
        **{"miou_%d" % k: round(mean_after(runs, k, mc), 4) if k <= mc else None
           for k in (1, 3, 5)},
        "sec_per_tap": round(secs / taps, 4) if taps else None,
        "cpu_sec_per_tap": round(cpu / taps, 4) if taps and cpu is not None else None,
        "taps": taps,
        "no_error_left": int(sum(r["perfect"] for r in runs)),
    }
    if protocol == "rect":
        s["miou_0"] = round(float(np.mean([r["iou0"] for r in runs])), 4)
        s["rect_sec"] = round(float(np.mean([r["rect_sec"] for r in runs])), 4)
        s["rect_shrunk"] = int(sum(r["shrunk"] for r in runs))
    s.update({"max_clicks": mc, "radius": a.radius, "iters": a.iters, "max_side": a.max_side,
              "downscaled": n_down, "grabcut_errors": errors, "full": bool(a.full), "seed": a.seed})
    return s


def summarise_file(a):
    """Summaries from a --per-instance file: the same numbers as the run would print for the
    instances it holds (downscaled and grabcut_errors are not in the file: null)."""
    runs = {}
    with open(a.summarise) as f:
        for line in f:
            d = json.loads(line)
            r = {"ious": d["ious"], "taps": d["taps"], "tap_sec": [d["tap_sec"]],
                 **({"tap_cpu": [d["tap_cpu"]]} if "tap_cpu" in d else {}),
                 "perfect": d["perfect"], "shrunk": d["shrunk"]}
            if d["protocol"] == "rect":
                r["iou0"], r["rect_sec"] = d["iou0"], d["rect_sec"]
            runs.setdefault(d["protocol"], []).append(r)
    summaries = []
    for pr, rs in runs.items():
        s = summarise(pr, rs, a, None, None, os.path.basename(a.store or a.summarise))
        summaries.append(s)
        print(json.dumps(s), flush=True)
    if a.curve:
        write_curve(a.curve, runs, a.max_clicks)
    print(side_by_side(summaries, a.pictor), file=sys.stderr)
    return 0


def write_curve(path, per_protocol, max_clicks):
    with open(path, "w") as f:
        f.write("protocol,taps,mean_iou,n_measured\n")
        for protocol, runs in per_protocol.items():
            if protocol == "rect":
                f.write("rect,0,%.5f,%d\n" % (np.mean([r["iou0"] for r in runs]), len(runs)))
            for k in range(1, max_clicks + 1):
                n = sum(len(r["ious"]) >= k for r in runs)
                f.write("%s,%d,%.5f,%d\n" % (protocol, k, mean_after(runs, k, max_clicks), n))


def pictor_metrics(d):
    """pictor eval's one JSON line (`pictor eval` stdout, or a "kind": "eval" line of a run's
    metrics.jsonl: noc85_taps, noc90_rect, fails90_taps, miou@3_rect, tap_ms, ...) as one dict
    per protocol in this script's names; a line already in this script's names (a "protocol"
    key) is taken as it is."""
    if "protocol" in d:
        return {d["protocol"]: d}
    out = {}
    for tag in ("taps", "rect"):
        if "noc90_" + tag not in d:
            continue
        out[tag] = {"noc85": d.get("noc85_" + tag), "noc90": d.get("noc90_" + tag),
                    "fail90_at_20": d.get("fails90_" + tag),
                    "miou_1": d.get("miou@1_" + tag), "miou_3": d.get("miou@3_" + tag),
                    "miou_5": d.get("miou@5_" + tag),
                    "sec_per_tap": d["tap_ms"] / 1000 if "tap_ms" in d else None}
    return out


def side_by_side(summaries, pictor_path):
    """A table of GrabCut's numbers next to pictor's (pictor_metrics: the last line of the file
    that has them wins), '-' where pictor has no number."""
    theirs = {}
    if pictor_path:
        with open(pictor_path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    theirs.update(pictor_metrics(json.loads(line)))
    keys = ["noc85", "noc90", None, "miou_1", "miou_3", "miou_5", "sec_per_tap", "cpu_sec_per_tap"]
    lines = ["| protocol | metric | OpenCV GrabCut | pictor interactive |", "|---|---|---|---|"]
    for s in summaries:
        p = theirs.get(s["protocol"], {})
        for k in keys:
            if k is None:
                k = next(x for x in s if x.startswith("fail90_at_"))
            v = p.get(k)
            if isinstance(v, float):
                v = round(v, 4)
            lines.append("| %s | %s | %s | %s |" % (s["protocol"], k, s[k], "-" if v is None else v))
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# Self-test: the click rule and the disc on hand cases

def self_test():
    ok = True

    def check(cond, what):
        nonlocal ok
        print(("ok   " if cond else "FAIL ") + what)
        ok &= bool(cond)

    # 1. Empty prediction: first tap positive, at the deepest object pixel. A 5x9 rectangle at
    # rows 2..6, cols 3..11 of a 12x16 image: depth 3 along row 4, cols 5..9 -> first (4, 5).
    obj = np.zeros((12, 16), bool)
    obj[2:7, 3:12] = True
    valid = np.ones_like(obj)
    nc = np.ones_like(obj)
    c = next_click(obj, valid, np.zeros_like(obj), nc)
    check(c == (True, 4, 5), "first tap on an empty prediction: positive at the deepest object "
          "pixel, first in row-major order among equals (got %s)" % (c,))

    # 2. The padding: an object touching the image border is 1 deep at the border, not deeper.
    obj2 = np.zeros((7, 7), bool)
    obj2[:, :3] = True  # cols 0..2, all rows: depths 1, 2, 1 across, rows 0 and 6 depth 1
    c = next_click(obj2, np.ones_like(obj2), np.zeros_like(obj2), np.ones_like(obj2))
    # without the padding column 0 would be 3 deep (distance to column 3) and win
    check(c == (True, 1, 1), "border counts as outside: deepest (1, 1) (got %s)" % (c,))

    # 3. The deeper error wins: FP blob of depth 2 vs FN blob of depth 1 -> negative tap.
    obj3 = np.zeros((10, 10), bool)
    obj3[1:3, 1:3] = True                     # FN (pred misses it), depth 1
    pred3 = np.zeros_like(obj3)
    pred3[5:8, 5:8] = True                    # FP 3x3, depth 2 at its centre (6, 6)
    c = next_click(obj3, np.ones_like(obj3), pred3, np.ones_like(obj3))
    check(c == (False, 6, 6), "deeper FP beats shallower FN: negative at its centre (got %s)" % (c,))

    # 4. Tie between FN and FP depth -> negative (RITM: positive iff FN depth > FP depth).
    obj4 = np.zeros((9, 9), bool)
    obj4[1, 1] = True
    pred4 = np.zeros_like(obj4)
    pred4[6, 6] = True
    c = next_click(obj4, np.ones_like(obj4), pred4, np.ones_like(obj4))
    check(c == (False, 6, 6), "FN depth == FP depth -> negative tap (got %s)" % (c,))

    # 5. Tapped pixels are excluded: the next tap in the same region moves to the next maximum.
    nc5 = np.ones_like(obj)
    nc5[4, 5] = False
    c = next_click(obj, valid, np.zeros_like(obj), nc5)
    check(c == (True, 4, 6), "an already tapped pixel is skipped (got %s)" % (c,))

    # 6. Ignore pixels are neither FN nor FP and are left out of IoU.
    valid6 = np.ones_like(obj)
    valid6[:, :8] = False
    c = next_click(obj, valid6, np.zeros_like(obj), np.ones_like(obj))
    # FN = rows 2..6, cols 8..11, the ignore band counting as outside: depth at (r, c) is
    # min(r - 1, 7 - r, c - 7, 12 - c), max 2 at (3, 9), (3, 10), (4, 9), ... -> first (3, 9).
    check(c == (True, 3, 9), "ignore pixels are not error pixels (got %s)" % (c,))
    pred6 = obj.copy()
    pred6[:, :8] = ~pred6[:, :8]  # all wrong, but only inside the ignore band
    check(iou(obj, valid6, pred6) == 1.0, "errors under ignore pixels do not lower IoU")

    # 7. No error left -> no tap.
    check(next_click(obj, valid, obj.copy(), nc) is None, "perfect prediction: no tap")

    # 8. scipy's exact EDT equals OpenCV's precise L2 transform (what RITM uses) on random masks.
    rng = np.random.default_rng(0)
    same = True
    for _ in range(20):
        m = rng.random((40, 50)) < rng.uniform(0.5, 0.97)
        m = np.pad(m, 1)
        a = distance_transform_edt(m)
        b = cv2.distanceTransform(m.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        same &= np.allclose(a, b, atol=1e-4)
    check(same, "scipy distance_transform_edt == cv2.distanceTransform(DIST_L2, PRECISE)")

    # 9. NoC: first tap reaching the target; never reached -> max clicks.
    check(noc([0.5, 0.86, 0.91], 0.85, 20) == 2 and noc([0.5, 0.86, 0.91], 0.90, 20) == 3
          and noc([0.5] * 20, 0.85, 20) == 20, "NoC counts taps to the first IoU >= target")

    # 10. Discs: radius 2 -> 13 pixels; a later tap's disc never repaints an earlier tapped pixel.
    lab = np.full((9, 9), cv2.GC_PR_BGD, np.uint8)
    taps = [(True, 4, 4)]
    paint_taps(lab, taps, 2)
    check(np.count_nonzero(lab == cv2.GC_FGD) == 13, "disc of radius 2 = 13 pixels")
    taps.append((False, 4, 5))
    paint_taps(lab, taps, 2)
    check(lab[4, 4] == cv2.GC_FGD and lab[4, 5] == cv2.GC_BGD,
          "tapped pixels keep their own label under a later disc")

    # 11. Grown box: 10 x 20 box grown by 10% -> 5% per side, rounded outwards, clipped.
    objb = np.zeros((100, 100), bool)
    objb[10:20, 40:60] = True
    r, sh = grown_box(objb, 0.10, 100, 100)
    check(r == (39, 9, 22, 12) and not sh, "box grown by 10%% about its centre (got %s)" % (r,))
    r, sh = grown_box(np.ones((30, 40), bool), 0.10, 40, 30)
    check(r == (1, 1, 38, 28) and sh, "whole-image box shrunk off the border (got %s)" % (r,))

    # 12. End to end on a synthetic picture: a red disc on a grey background, GrabCut with taps
    # reaches IoU >= 0.9 within a few taps.
    img = np.full((60, 80, 3), 120, np.uint8)
    yy, xx = np.ogrid[:60, :80]
    disc = (yy - 30) ** 2 + (xx - 40) ** 2 <= 15 ** 2
    img[disc] = (200, 30, 30)
    rng2 = np.random.default_rng(1)
    img = np.clip(img.astype(int) + rng2.integers(-10, 11, img.shape), 0, 255).astype(np.uint8)
    args = argparse.Namespace(seed=0, iters=3, radius=3, max_clicks=5, full=True, rect_grow=0.1)
    gc = GrabCutUser(args)
    for protocol in ("taps", "rect"):
        r = gc.run(img, disc.astype(np.int8), protocol)
        seq = ([r["iou0"]] if protocol == "rect" else []) + r["ious"]
        check(max(seq) >= 0.9 and gc.errors == 0,
              "%s: GrabCut reaches IoU >= 0.9 on a flat disc (IoU per step %s)"
              % (protocol, [round(v, 3) for v in seq]))
        if protocol == "rect":
            check(noc(r["ious"], 0.9, 5) == 1 and len(r["taps"]) == 0,
                  "rect: a perfect rectangle-only mask counts NoC 1 with no tap made")
    r = gc.run(img, disc.astype(np.int8), "taps")
    check(r["taps"][0] == (True, 30, 40), "taps: first tap positive at the disc centre (got %s)"
          % (r["taps"][0],))

    # 13. A correction: a red|blue two-tone bar. Tap 1 (deepest, first in row-major order) lands
    # in the red half and GrabCut takes only red (IoU 0.5); tap 2 is positive, deepest in the
    # missed blue half, and completes the object; then no error is left.
    img = np.full((60, 100, 3), 120, np.uint8)
    bar = np.zeros((60, 100), bool)
    bar[20:40, 20:80] = True
    img[20:40, 20:50] = (200, 30, 30)
    img[20:40, 50:80] = (30, 30, 200)
    img = np.clip(img.astype(int) + rng2.integers(-10, 11, img.shape), 0, 255).astype(np.uint8)
    r = gc.run(img, bar.astype(np.int8), "taps")
    check(r["taps"] == [(True, 29, 29), (True, 29, 59)] and abs(r["ious"][0] - 0.5) < 0.02
          and r["ious"][1] == 1.0 and r["perfect"],
          "two-tone bar: tap 1 in red (IoU 0.5), tap 2 positive in blue (IoU 1) (got %s, %s)"
          % (r["taps"], [round(v, 3) for v in r["ious"]]))

    print("self-test: %s" % ("passed" if ok else "FAILED"))
    return 0 if ok else 1


# ----------------------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--store", help="pictor HDF5 dataset with images and instance masks")
    p.add_argument("--protocol", choices=["taps", "rect", "both"], default="both")
    p.add_argument("--max-clicks", type=int, default=20)
    p.add_argument("--limit", type=int, default=0, help="first N instances (after --holdout/--sample)")
    p.add_argument("--sample", type=int, default=0, help="N instances drawn with --seed, in file order")
    p.add_argument("--holdout", type=int, default=0,
                   help="keep instances whose group (or item index if none) %% K == 0")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--radius", type=int, default=5, help="tap disc radius in pixels (default 5)")
    p.add_argument("--iters", type=int, default=3, help="GrabCut iterations per step (default 3)")
    p.add_argument("--max-side", type=int, default=480, help="downscale larger images (0 = never)")
    p.add_argument("--rect-grow", type=float, default=0.10)
    p.add_argument("--full", action="store_true", help="always make max-clicks taps (no early stop)")
    p.add_argument("--threads", type=int, default=1, help="OpenCV threads (default 1)")
    p.add_argument("--curve", help="write mean IoU per tap to this CSV")
    p.add_argument("--pictor", help="pictor eval JSON lines to print beside GrabCut's numbers")
    p.add_argument("--per-instance", help="append one JSON line per instance and protocol "
                   "(item, group, IoU after each tap, taps) to this file as the run goes")
    p.add_argument("--summarise", metavar="FILE.jsonl",
                   help="no GrabCut: print the summary of a --per-instance file (e.g. of a run "
                   "stopped early); give the run's --max-clicks and the other settings again")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--self-test", action="store_true")
    a = p.parse_args()
    cv2.setNumThreads(a.threads)
    if a.self_test:
        return self_test()
    if a.summarise:
        return summarise_file(a)
    if not a.store:
        p.error("--store FILE.h5 is required (or --self-test, --summarise)")
    if a.max_clicks < 1 or a.radius < 0 or a.iters < 1:
        p.error("--max-clicks and --iters must be >= 1, --radius >= 0")
    try:
        st = PictorStore(a.store)
    except (OSError, ValueError) as e:
        print("grabcut_noc: %s" % e, file=sys.stderr)
        return 1
    sel = select(st.instances, a)
    if not sel:
        print("grabcut_noc: %s: no instance selected" % a.store, file=sys.stderr)
        return 1
    protocols = ["taps", "rect"] if a.protocol == "both" else [a.protocol]
    users = {pr: GrabCutUser(a) for pr in protocols}
    runs = {pr: [] for pr in protocols}
    n_down = skipped = 0
    t_start = time.time()
    per_inst = open(a.per_instance, "a") if a.per_instance else None
    for n, inst in enumerate(sel):
        img, gt = st.sample(inst)
        img, gt, down = downscale(img, gt, a.max_side)
        n_down += down
        if not np.any(gt == 1):
            skipped += 1  # no object pixel (left) in this mask
            continue
        for pr in protocols:
            r = users[pr].run(img, gt, pr)
            runs[pr].append(r)
            if per_inst:
                rec = {"protocol": pr, "item": inst.item, "row": inst.row, "group": inst.group,
                       "size": list(gt.shape), "ious": [round(v, 5) for v in r["ious"]],
                       "taps": [[int(t[0]), t[1], t[2]] for t in r["taps"]],
                       "tap_sec": round(sum(r["tap_sec"]), 3),
                       "tap_cpu": round(sum(r["tap_cpu"]), 3), "perfect": r["perfect"],
                       "shrunk": r["shrunk"]}
                if pr == "rect":
                    rec["iou0"], rec["rect_sec"] = round(r["iou0"], 5), round(r["rect_sec"], 3)
                per_inst.write(json.dumps(rec) + "\n")
                per_inst.flush()
        if not a.quiet and ((n + 1) % 5 == 0 or n + 1 == len(sel)):
            msg = " ".join("%s NoC@90 %.2f" % (pr, np.mean([noc(r["ious"], 0.9, a.max_clicks)
                                                             for r in runs[pr]])) for pr in protocols)
            print("[%d/%d, %.0f s] %s" % (n + 1, len(sel), time.time() - t_start, msg),
                  file=sys.stderr, flush=True)
    if per_inst:
        per_inst.close()
    summaries = []
    for pr in protocols:
        s = summarise(pr, runs[pr], a, n_down, users[pr].errors, os.path.basename(a.store))
        s["empty_masks_skipped"] = skipped
        s["no_mask_skipped"] = st.no_mask
        s["wall_sec"] = round(time.time() - t_start, 1)
        summaries.append(s)
        print(json.dumps(s), flush=True)
    if a.curve:
        write_curve(a.curve, runs, a.max_clicks)
    print(side_by_side(summaries, a.pictor), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
