#!/bin/sh
# run.sh - the multidomain study: `loss_difference` vs `none` on the Fashion-MNIST three-domain
# set, each image type held out of training in turn, 3 seeds each, the same budget (config.yaml:
# the shipped recipe cut to 1,250 steps of 48 images). Every run is evaluated once at the end on
# the whole test split (all three types); the held-out type's accuracy is the number that matters.
#
#   experiments/multidomain/run.sh [BUILD_DIR]        (from the repository root)
#
# Writes runs/multidomain_study/results.csv (one row per run) and prints the table (mean and
# spread over seeds). Environment: SEEDS ("1 2 3"), MODES ("loss_difference none"),
# HOLDOUTS ("photo hand_drawn cartoon"), EXTRA (more --set options for every run), JOBS (runs side
# by side, default 2: one thread each on a 2-core machine).
set -eu
BUILD=${1:-build}
OUT=runs/multidomain_study
SEEDS=${SEEDS:-"1 2 3"}
MODES=${MODES:-"loss_difference none"}
HOLDOUTS=${HOLDOUTS:-"photo hand_drawn cartoon"}
JOBS=${JOBS:-2}
case $JOBS in
'' | *[!0-9]* | 0) echo "run.sh: JOBS must be a whole number >= 1 (got '$JOBS')" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT" runs/data

train=runs/data/fmnist-domains32-train60k.h5
test=runs/data/fmnist-domains32-test.h5
[ -f "$train" ] || "$BUILD/pictor" data synth fmnist-domains --split train --size 32 --out "$train"
[ -f "$test" ] || "$BUILD/pictor" data synth fmnist-domains --split test --n 1000 --size 32 --out "$test"

csv="$OUT/results.csv"
[ -f "$csv" ] || echo "holdout,mode,seed,heldout_accuracy,accuracy,accuracy_photo,accuracy_hand_drawn,accuracy_cartoon,type_accuracy,feature_distance_ratio,seconds" >"$csv"
# one run: train, then append its row (the last evaluation line of its metrics) to the csv
run_one() {
    h=$1 m=$2 s=$3 name="${1}_${2}_s${3}"
    rm -rf "${OUT:?}/$name"
    t0=$(date +%s)
    # shellcheck disable=SC2086
    "$BUILD/pictor" train "$here/config.yaml" --set run.name="$name" \
        --set adversarial.mode="$m" --set data.holdout_domain="$h" \
        --set train.seed="$s" ${EXTRA:-} >"$OUT/$name.log" 2>&1 || { echo "$name: failed, see $OUT/$name.log"; : >"$OUT/failed"; return 1; }
    t1=$(date +%s)
    line=$(grep '"kind":"eval"' "$OUT/$name/metrics.jsonl" | tail -1)
    val() { printf '%s' "$line" | sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p"; }
    row="$h,$m,$s,$(val heldout_accuracy),$(val accuracy),$(val 'accuracy\/photo'),$(val 'accuracy\/hand_drawn'),$(val 'accuracy\/cartoon'),$(val type_accuracy),$(val feature_distance_ratio),$((t1 - t0))"
    echo "$row" >>"$csv"   # one short line per append: side-by-side runs do not interleave
    echo "$name: $row"
}

rm -f "$OUT/failed"
running=0
for h in $HOLDOUTS; do
    for m in $MODES; do
        for s in $SEEDS; do
            if grep -q "^$h,$m,$s," "$csv"; then
                echo "${h}_${m}_s${s}: done already"
                continue
            fi
            run_one "$h" "$m" "$s" &
            running=$((running + 1))
            if [ "$running" -ge "$JOBS" ]; then
                wait
                running=0
            fi
        done
    done
done
wait
/usr/bin/python3 "$here/table.py" "$csv" | tee "$OUT/table.md"
[ ! -f "$OUT/failed" ] || { echo "some runs failed (their logs are in $OUT)" >&2; exit 1; }
