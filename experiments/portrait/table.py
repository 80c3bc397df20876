"""experiments/portrait/table.py RESULTS_DIR "SEEDS": the study's table (mean and spread over
seeds) from the eval JSON lines run.sh wrote, as Markdown."""
import json
import math
import sys


def load(d, name, seeds):
    rows = []
    for s in seeds:
        try:
            with open("%s/%s_s%s.json" % (d, name, s)) as f:
                rows.append(json.loads(f.read()))
        except (OSError, ValueError):
            pass
    return rows


def cell(rows, key):
    v = [r[key] for r in rows if r.get(key) is not None]
    if not v:
        return "n/a"
    m = sum(v) / len(v)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
    return "%.3f ± %.3f" % (m, sd)


def main():
    d, seeds = sys.argv[1], sys.argv[2].split()
    print("| test set | mask from | IoU | boundary F | MAE | seeds |")
    print("|---|---|---|---|---|---|")
    cases = [("synthetic composites (held-out people and photos)", [
                ("synth_none", "S_in (segmentation alone)", ""),
                ("synth_network", "S_out, network depth + confidence", "_out"),
                ("synth_sensor", "S_out, sensor depth (noise, holes)", "_out")]),
             ("real human_seg photos (46 held-out people)", [
                ("real_none", "S_in (segmentation alone)", ""),
                ("real_network", "S_out, network depth + confidence", "_out")])]
    for title, runs in cases:
        for name, what, suf in runs:
            rows = load(d, name, seeds)
            print("| %s | %s | %s | %s | %s | %d |" % (title, what, cell(rows, "iou" + suf),
                  cell(rows, "boundary_f" + suf), cell(rows, "mae" + suf), len(rows)))
    print()
    print("Depth network on the held-out composites (clean depth), confidence as AUSE/AURG on RMSE"
          " (50 steps of 2%, per image then averaged):")
    print()
    print("| abs rel | RMSE | AUSE (confidence) | AUSE (random order) | AUSE (oracle) | AURG | seeds |")
    print("|---|---|---|---|---|---|---|")
    rows = load(d, "synth_network", seeds)
    print("| %s | %s | %s | %s | 0 | %s | %d |" % (cell(rows, "depth_abs_rel"), cell(rows, "depth_rmse"),
          cell(rows, "ause_rmse"), cell(rows, "ause_random_rmse"), cell(rows, "aurg_rmse"), len(rows)))


if __name__ == "__main__":
    main()
