"""table.py RESULTS.csv - the multidomain study's table: per held-out image type and mode, the mean
and spread (sample standard deviation, min..max) over seeds of the held-out accuracy, plus the
mean accuracy on the types seen in training, the type-head accuracy and the feature-distance ratio.
"""
import csv
import statistics
import sys

rows = list(csv.DictReader(open(sys.argv[1])))
seen = {"photo", "hand_drawn", "cartoon"}


def stats(v):
    m = statistics.mean(v)
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return m, sd, min(v), max(v)


print("| held out | mode | seeds | held-out acc. mean ± sd (min..max) | seen types acc. | "
      "type-head acc. | feature dist. ratio |")
print("|---|---|---|---|---|---|---|")
groups = {}
for r in rows:
    groups.setdefault((r["holdout"], r["mode"]), []).append(r)
for (h, mode), rs in groups.items():
    ho = [float(r["heldout_accuracy"]) for r in rs]
    others = [float(r["accuracy_" + d]) for r in rs for d in seen - {h}]
    ta = [float(r["type_accuracy"]) for r in rs]
    fd = [float(r["feature_distance_ratio"]) for r in rs]
    m, sd, lo, hi = stats(ho)
    print(f"| {h} | {mode} | {len(rs)} | {m:.4f} ± {sd:.4f} ({lo:.4f}..{hi:.4f}) | "
          f"{statistics.mean(others):.4f} | {statistics.mean(ta):.4f} | {statistics.mean(fd):.3f} |")
