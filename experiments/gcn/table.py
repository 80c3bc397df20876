"""table.py RESULTS.csv - the study's table: mean +- sd over seeds of Dice, IoU, boundary F and
ratio MAE per method and error, and Dice weak / Dice full (full = method a-mask)."""
import csv
import statistics as st
import sys
from collections import defaultdict

rows = list(csv.DictReader(open(sys.argv[1])))
g = defaultdict(list)
for r in rows:
    if r["dice"]:
        g[(r["method"], float(r["error"]))].append(r)
full = [float(r["dice"]) for r in rows if r["method"] == "a-mask" and r["dice"]]
full_mean = st.mean(full) if full else float("nan")


def ms(v):
    return "%.3f +- %.3f" % (st.mean(v), st.stdev(v)) if len(v) > 1 else "%.3f" % v[0]


print("| method | label error | seeds | Dice | IoU | boundary F | ratio MAE | Dice / Dice(a) |")
print("|---|---|---|---|---|---|---|---|")
for (m, e), rs in sorted(g.items()):
    d = [float(r["dice"]) for r in rs]
    print("| %s | %s | %d | %s | %s | %s | %s | %.3f |" % (
        m, e if m != "a-mask" else "(full masks)", len(rs), ms(d),
        ms([float(r["iou"]) for r in rs]), ms([float(r["boundary_f"]) for r in rs]),
        ms([float(r["ratio_mae"]) for r in rs]), st.mean(d) / full_mean))
