#!/bin/sh
# run.sh - the screening of hand drawings (`pictor data filter-sketches`) measured from the
# command line: Fashion-MNIST's test split drawn in three domains, an outline gap of known size
# (0%, 5%, ..., 50% of the outline) cut into every hand drawing, the filter run at its defaults,
# and the precision and recall of "dropped = low quality" (low quality: more than LOW of the
# outline missing) printed per gap size and overall.
#
#   experiments/sketch_screening/run.sh [BUILD_DIR] [OUT_DIR]     (from the repository root)
#
# Environment: N source items (default 10000, the whole test split), SEED (1), LOW (0.10),
# FILTER_ARGS (extra options for filter-sketches, e.g. "--min-completeness 0.85").
set -eu
BUILD=${1:-build}
OUT=${2:-runs/sketch_screening}
N=${N:-10000}
SEED=${SEED:-1}
LOW=${LOW:-0.10}
mkdir -p "$OUT"

"$BUILD/pictor" data synth fmnist-domains --split test --n "$N" --seed "$SEED" \
    --cut-gaps 0.5 --gaps-csv "$OUT/gaps.csv" --out "$OUT/gapped.h5"
# shellcheck disable=SC2086
"$BUILD/pictor" data filter-sketches "$OUT/gapped.h5" --out "$OUT/kept.h5" \
    --report "$OUT/report" ${FILTER_ARGS:-}

# join gaps.csv (index,source_item,gap) with report/scores.csv (index,label,domain,
# completeness,kept) on the dataset index
awk -F, -v low="$LOW" '
    FNR == 1 { next }
    NR == FNR { gap[$1] = $3; next }
    ($1 in gap) {
        g = gap[$1]; bad = (g > low + 1e-9); dropped = ($5 == 0)
        n[g]++; s[g] += $4; d[g] += dropped
        if (min[g] == "" || $4 < min[g]) min[g] = $4
        if (max[g] == "" || $4 > max[g]) max[g] = $4
        tp += bad && dropped; fp += !bad && dropped; fn += bad && !dropped; tn += !bad && !dropped
    }
    END {
        printf "%-6s %6s %10s %8s %8s %8s\n", "gap", "n", "mean", "min", "max", "dropped"
        for (k = 0; k <= 10; k++) {
            g = sprintf("%.2f", k * 0.05)
            if (n[g] > 0)
                printf "%-6s %6d %10.4f %8.4f %8.4f %7.1f%%\n", g, n[g], s[g] / n[g], min[g],
                       max[g], 100 * d[g] / n[g]
        }
        printf "low quality = gap > %s: precision %.4f recall %.4f (tp %d fp %d fn %d tn %d)\n",
               low, tp / (tp + fp), tp / (tp + fn), tp, fp, fn, tn
    }' "$OUT/gaps.csv" "$OUT/report/scores.csv" | tee "$OUT/validation.txt"
