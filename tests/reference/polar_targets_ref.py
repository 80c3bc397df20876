"""polar_targets_ref.py - a straightforward Python/NumPy port of PolarMask's target code
(mmdet PolarMask_Head.polar_target_single with get_single_centerpoint, get_centerpoint,
get_mask_sample_region and get_36_coordinates), the reference that run_benchmarks.sh times
pictor's data/polar_targets.c against, on the same images (tests/bench/bench_polar_targets.c
writes them).

What it does per image, as PolarMask does: for every instance, the outer contours of its mask
(OpenCV's findContours(RETR_EXTERNAL, CHAIN_APPROX_NONE) in PolarMask; here, without OpenCV,
run-based 8-connected components and a Moore-neighbour border trace in Python), the largest one
by contour area, its centre by the shoelace formula (truncated to an integer pixel as PolarMask
does); center sampling (radius 1.5 strides, clipped to the box) and the size ranges over all
locations x instances with NumPy broadcasting, the smallest box wins; then, per positive
location, PolarMask's per-point ray assignment: the angle of every contour point seen from the
location in integer degrees, the largest distance per angle, the neighbouring angles (+-1, 2, 3)
when an angle has none, 1e-6 when none of them has one. Centerness sqrt(min / max).

Coordinates follow pictor's conventions (pixel centres at +0.5, locations at (j + 0.5) * stride)
so that the rays can be compared; PolarMask's own crash on an empty mask (contour[0] of no
contour) is avoided by skipping empty instances.

    polar_targets_ref.py MASKS.bin [--compare TARGETS.bin] [--images K]

Prints py_image_ms=<mean ms per image> and, with --compare, how its targets agree with
pictor's (positives, classes, median ray difference at the locations both call positive).
"""
import argparse
import struct
import sys
import time

import numpy as np

STRIDES = [8, 16, 32, 64, 128]
REGRESS_RANGES = [(-1, 64), (64, 128), (128, 256), (256, 512), (512, 1e8)]
RADIUS = 1.5
NUM_RAYS = 36

# Moore neighbourhood, clockwise on screen (y down), as (drow, dcol): W NW N NE E SE S SW
OFFS = [(0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1)]
DIR_INDEX = {o: i for i, o in enumerate(OFFS)}


def read_masks(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"PMSK":
        sys.exit("%s: not a masks file (expected PMSK)" % path)
    n, h, w = struct.unpack_from("<iii", data, 4)
    at = 16
    images = []
    for _ in range(n):
        (k,) = struct.unpack_from("<i", data, at)
        at += 4
        classes, masks = [], []
        for _ in range(k):
            (c,) = struct.unpack_from("<i", data, at)
            at += 4
            masks.append(np.frombuffer(data, np.uint8, h * w, at).reshape(h, w))
            at += h * w
            classes.append(c)
        images.append((classes, masks))
    return h, w, images


def read_targets(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"PTGT":
        sys.exit("%s: not a targets file (expected PTGT)" % path)
    n, n_loc, r = struct.unpack_from("<iii", data, 4)
    at = 16
    out = []
    for _ in range(n):
        cls = np.frombuffer(data, np.int32, n_loc, at)
        at += 4 * n_loc
        rays = np.frombuffer(data, np.float32, n_loc * r, at).reshape(n_loc, r)
        at += 4 * n_loc * r
        out.append((cls, rays))
    return out


# ---------------------------------------------------------------- contours (findContours)

def components(m):
    """8-connected components of a boolean array: a list of lists of runs (row, c0, c1)."""
    h, w = m.shape
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = m
    d = np.diff(padded, axis=1)
    sr, sc = np.nonzero(d == 1)
    _, ec = np.nonzero(d == -1)
    runs = list(zip(sr.tolist(), sc.tolist(), ec.tolist()))
    parent = list(range(len(runs)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    prev = []  # indices of the runs of the previous row
    row_start = 0
    for i, (r, c0, c1) in enumerate(runs):
        if i == 0 or r != runs[i - 1][0]:
            prev = [j for j in range(row_start, i) if runs[j][0] == r - 1]
            row_start = i
        for j in prev:
            if runs[j][1] <= c1 and c0 <= runs[j][2]:  # overlap or diagonal contact
                a, b = find(i), find(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    groups = {}
    for i in range(len(runs)):
        groups.setdefault(find(i), []).append(runs[i])
    return [groups[k] for k in sorted(groups)]


def moore_trace(comp):
    """Outer border of one component (boolean array padded by a false border): the border pixels
    in order, (row, col), as findContours(CHAIN_APPROX_NONE) lists them."""
    rows, cols = np.nonzero(comp)
    start = (int(rows[0]), int(cols[0]))
    cur, back = start, 0  # the first pixel in raster order is entered from the west
    out = [start]
    first_move = None
    while True:
        for i in range(1, 9):
            d = (back + i) % 8
            nxt = (cur[0] + OFFS[d][0], cur[1] + OFFS[d][1])
            if comp[nxt]:
                break
        else:
            return out  # a single pixel
        if first_move is None:
            first_move = nxt
        elif cur == start and nxt == first_move:
            return out[:-1]
        b = OFFS[(d - 1) % 8]
        back = DIR_INDEX[(cur[0] + b[0] - nxt[0], cur[1] + b[1] - nxt[1])]
        cur = nxt
        out.append(cur)


def contour_area(pts):
    x, y = pts[:, 0], pts[:, 1]
    return abs(0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def largest_contour(mask):
    """PolarMask's get_single_centerpoint: contours of the mask, the largest by area, its centre.
    Returns (contour points (n, 2) as pixel indices (x, y), centre (x, y) as integers)."""
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = mask[y0:y1, x0:x1] != 0
    best, best_area = None, -1.0
    for runs in components(crop):
        comp = np.zeros((y1 - y0 + 2, x1 - x0 + 2), bool)
        for r, c0, c1 in runs:
            comp[r + 1, c0 + 1:c1 + 1] = True
        border = moore_trace(comp)
        pts = np.array([(c - 1 + x0, r - 1 + y0) for r, c in border], np.float64)
        area = contour_area(pts) if len(pts) > 2 else 0.0
        if area > best_area:
            best, best_area = pts, area
    try:
        center = get_centerpoint(best)
    except ZeroDivisionError:
        x, y = best.mean(axis=0)
        center = [int(x), int(y)]
    return best, center


def get_centerpoint(lis):
    area = 0.0
    x, y = 0.0, 0.0
    a = len(lis)
    for i in range(a):
        lat, lng = lis[i][0], lis[i][1]
        lat1, lng1 = (lis[-1][0], lis[-1][1]) if i == 0 else (lis[i - 1][0], lis[i - 1][1])
        fg = (lat * lng1 - lng * lat1) / 2.0
        area += fg
        x += fg * (lat + lat1) / 3.0
        y += fg * (lng + lng1) / 3.0
    if area == 0:
        raise ZeroDivisionError
    return [int(x / area), int(y / area)]


# ---------------------------------------------------------------- PolarMask's assignment

def get_36_coordinates(c_x, c_y, contour):
    x = contour[:, 0] - c_x
    y = contour[:, 1] - c_y
    angle = np.arctan2(x, y) * 180 / np.pi
    angle[angle < 0] += 360
    angle = angle.astype(np.int32)
    dist = np.sqrt(x ** 2 + y ** 2)
    idx = np.argsort(angle, kind="stable")
    angle, dist = angle[idx], dist[idx]
    new_coordinate = {}
    for i in range(0, 360, 10):
        for j in (i, i + 1, i - 1, i + 2, i - 2, i + 3, i - 3):
            if j in angle:
                new_coordinate[i] = dist[angle == j].max()
                break
    distances = np.zeros(36)
    for a in range(0, 360, 10):
        distances[a // 10] = new_coordinate.get(a, 1e-6)
    return distances


def all_points(h, w):
    pts, ranges, level_sizes = [], [], []
    for s, rr in zip(STRIDES, REGRESS_RANGES):
        hl, wl = -(-h // s), -(-w // s)
        jj, ii = np.meshgrid(np.arange(wl), np.arange(hl))
        p = np.stack([(jj.ravel() + 0.5) * s, (ii.ravel() + 0.5) * s], 1)
        pts.append(p)
        ranges.append(np.tile(np.array(rr, np.float64), (len(p), 1)))
        level_sizes.append(len(p))
    return np.concatenate(pts), np.concatenate(ranges), level_sizes


def polar_target_single(classes, masks, points, regress_ranges, level_sizes):
    num_points = len(points)
    labels = np.full(num_points, -1, np.int64)
    mask_targets = np.zeros((num_points, NUM_RAYS))
    keep = [k for k, m in enumerate(masks) if m.any()]  # PolarMask crashes on empty masks
    if not keep:
        return labels, mask_targets, np.zeros(num_points)
    boxes, centers, contours = [], [], []
    for k in keep:
        ys, xs = np.nonzero(masks[k])
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        contour, (cx, cy) = largest_contour(masks[k])
        contours.append(contour + 0.5)  # pixel centres in pictor's coordinates
        centers.append([cx + 0.5, cy + 0.5])
    gt = np.array(boxes, np.float64)[None].repeat(num_points, 0)  # (P, G, 4)
    ctr = np.array(centers, np.float64)[None].repeat(num_points, 0)
    areas = ((gt[..., 2] - gt[..., 0]) * (gt[..., 3] - gt[..., 1])).copy()
    xs = points[:, 0:1].repeat(len(keep), 1)
    ys = points[:, 1:2].repeat(len(keep), 1)
    bbox_targets = np.stack([xs - gt[..., 0], ys - gt[..., 1], gt[..., 2] - xs, gt[..., 3] - ys], -1)

    # get_mask_sample_region: the centre box of radius * stride, clipped to the gt box
    center_gt = np.zeros_like(gt)
    beg = 0
    for level, n_p in enumerate(level_sizes):
        end = beg + n_p
        stride = STRIDES[level] * RADIUS
        cx, cy = ctr[beg:end, :, 0], ctr[beg:end, :, 1]
        center_gt[beg:end, :, 0] = np.maximum(cx - stride, gt[beg:end, :, 0])
        center_gt[beg:end, :, 1] = np.maximum(cy - stride, gt[beg:end, :, 1])
        center_gt[beg:end, :, 2] = np.minimum(cx + stride, gt[beg:end, :, 2])
        center_gt[beg:end, :, 3] = np.minimum(cy + stride, gt[beg:end, :, 3])
        beg = end
    center_bbox = np.stack([xs - center_gt[..., 0], ys - center_gt[..., 1],
                            center_gt[..., 2] - xs, center_gt[..., 3] - ys], -1)
    inside_gt_bbox_mask = center_bbox.min(-1) > 0
    max_regress_distance = bbox_targets.max(-1)
    rr = regress_ranges[:, None, :]
    inside_regress_range = (max_regress_distance >= rr[..., 0]) & (max_regress_distance <= rr[..., 1])
    areas[~inside_gt_bbox_mask] = np.inf
    areas[~inside_regress_range] = np.inf
    min_area_inds = areas.argmin(1)
    min_area = areas[np.arange(num_points), min_area_inds]
    cls = np.array([classes[k] for k in keep])
    labels = cls[min_area_inds]
    labels[min_area == np.inf] = -1
    pos_inds = np.nonzero(labels >= 0)[0]
    for p in pos_inds:
        x, y = points[p]
        mask_targets[p] = get_36_coordinates(x, y, contours[min_area_inds[p]])
    centerness = np.zeros(num_points)
    pos = mask_targets[pos_inds]
    if len(pos_inds):
        centerness[pos_inds] = np.sqrt(pos.min(1) / pos.max(1))
    return labels, mask_targets, centerness


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("masks")
    ap.add_argument("--compare", help="pictor's targets.bin for the same images")
    ap.add_argument("--images", type=int, default=0, help="only the first K images")
    a = ap.parse_args()
    h, w, images = read_masks(a.masks)
    if a.images > 0:
        images = images[:a.images]
    points, regress_ranges, level_sizes = all_points(h, w)
    results = []
    t0 = time.perf_counter()
    for classes, masks in images:
        results.append(polar_target_single(classes, masks, points, regress_ranges, level_sizes))
    elapsed = time.perf_counter() - t0
    print("python: %d images of %dx%d" % (len(images), w, h))
    print("py_image_ms=%.4f" % (elapsed * 1e3 / len(images)))
    if not a.compare:
        return
    theirs = read_targets(a.compare)
    n_c = n_py = n_common = same_class = 0
    diffs, rel, missing = [], [], 0
    for (labels, rays, _), (c_cls, c_rays) in zip(results, theirs):
        if len(c_cls) != len(labels):
            sys.exit("--compare: %d locations in the targets file, %d here" % (len(c_cls), len(labels)))
        c_pos, py_pos = c_cls >= 0, labels >= 0
        common = c_pos & py_pos
        n_c += int(c_pos.sum())
        n_py += int(py_pos.sum())
        n_common += int(common.sum())
        same_class += int((c_cls[common] == labels[common]).sum())
        r_py, r_c = rays[common], c_rays[common].astype(np.float64)
        found = r_py > 1e-5  # PolarMask's 1e-6: no contour point within +-3 degrees
        missing += int((~found).sum())
        diffs.append(np.abs(r_py - r_c)[found])
        rel.append((np.abs(r_py - r_c) / np.maximum(r_c, 1.0))[found])
    diffs, rel = np.concatenate(diffs), np.concatenate(rel)
    print("sanity: positives pictor %d, python %d, common %d (same class at %d); at common "
          "positives median |ray difference| %.3f px, median relative %.4f, 90th percentile "
          "relative %.4f; python rays without a contour point: %d of %d"
          % (n_c, n_py, n_common, same_class, np.median(diffs), np.median(rel),
             np.percentile(rel, 90), missing, n_common * NUM_RAYS))


if __name__ == "__main__":
    main()
