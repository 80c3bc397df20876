"""table.py EVAL.csv - the polarmask study's table: per variant, mean and spread (sample standard
deviation, min..max) over seeds of mask AP, the means of AP50, AP75, AP_S/M, class-agnostic AP50,
and the polar IoU of the coarse and refined rays at the ground truth's positives."""
import csv
import statistics
import sys

rows = list(csv.DictReader(open(sys.argv[1])))
names = {"base": "PolarMask (refine off, contour off)",
         "refine": "+ refine module (contour off)",
         "full": "+ refine + contour head"}
print("| variant | seeds | mask AP mean ± sd (min..max) | AP50 | AP75 | AP_S | AP_M | "
      "AP50 class-agnostic | ray IoU coarse | ray IoU fine |")
print("|---|---|---|---|---|---|---|---|---|---|")
groups = {}
for r in rows:
    groups.setdefault(r["variant"], []).append(r)
for v in ["base", "refine", "full"]:
    rs = groups.get(v)
    if not rs:
        continue
    ap = [float(r["mask_ap"]) for r in rs]
    sd = statistics.stdev(ap) if len(ap) > 1 else 0.0

    def mean(key):
        vals = [float(r[key]) for r in rs if r[key] not in ("", None) and float(r[key]) >= 0]
        return f"{statistics.mean(vals):.4f}" if vals else "-"
    print(f"| {names[v]} | {len(rs)} | {statistics.mean(ap):.4f} ± {sd:.4f} "
          f"({min(ap):.4f}..{max(ap):.4f}) | {mean('mask_ap50')} | {mean('mask_ap75')} | "
          f"{mean('mask_ap_s')} | {mean('mask_ap_m')} | {mean('mask_ap50_agnostic')} | "
          f"{mean('ray_iou_coarse')} | {mean('ray_iou_fine')} |")
