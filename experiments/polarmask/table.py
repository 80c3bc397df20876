"""table.py RESULTS.csv - the polarmask study's table: per variant, mean and spread (sample
standard deviation, min..max) over seeds of mask AP, and the means of AP50, AP75, AP_S/M/L."""
import csv
import statistics
import sys

rows = list(csv.DictReader(open(sys.argv[1])))
names = {"base": "PolarMask (refine off, contour off)",
         "refine": "+ refine module (contour off)",
         "full": "+ refine + contour head"}
print("| variant | seeds | mask AP mean ± sd (min..max) | AP50 | AP75 | AP_S | AP_M | AP_L |")
print("|---|---|---|---|---|---|---|---|")
groups = {}
for r in rows:
    groups.setdefault(r["variant"], []).append(r)
for v, rs in groups.items():
    ap = [float(r["mask_ap"]) for r in rs]
    sd = statistics.stdev(ap) if len(ap) > 1 else 0.0

    def mean(key):
        vals = [float(r[key]) for r in rs if float(r[key]) >= 0]
        return f"{statistics.mean(vals):.4f}" if vals else "n/a"
    print(f"| {names.get(v, v)} | {len(rs)} | {statistics.mean(ap):.4f} ± {sd:.4f} "
          f"({min(ap):.4f}..{max(ap):.4f}) | {mean('mask_ap50')} | {mean('mask_ap75')} | "
          f"{mean('mask_ap_s')} | {mean('mask_ap_m')} | {mean('mask_ap_l')} |")
