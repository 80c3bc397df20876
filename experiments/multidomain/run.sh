#!/bin/sh
# run.sh - the multidomain study: `loss_difference` vs `none` on the Fashion-MNIST three-domain
# set, each image type held out of training in turn, 3 seeds each, the same budget (config.yaml:
# 500 steps of 48 images, mobilenet_v3_small at 32x32). Every run is evaluated once at the end on
# the whole test split (all three types); the held-out type's accuracy is the number that matters.
#
#   experiments/multidomain/run.sh [BUILD_DIR]        (from the repository root)
#
# Writes runs/multidomain_study/results.csv (one row per run) and prints the table (mean and
# spread over seeds). Environment: SEEDS ("1 2 3"), MODES ("loss_difference none"),
# HOLDOUTS ("photo hand_drawn cartoon"), EXTRA (more --set options for every run).
set -eu
BUILD=${1:-build}
OUT=runs/multidomain_study
SEEDS=${SEEDS:-"1 2 3"}
MODES=${MODES:-"loss_difference none"}
HOLDOUTS=${HOLDOUTS:-"photo hand_drawn cartoon"}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT" runs/data

train=runs/data/fmnist-domains32-train.h5
test=runs/data/fmnist-domains32-test.h5
[ -f "$train" ] || "$BUILD/pictor" data synth fmnist-domains --split train --n 6000 --size 32 --out "$train"
[ -f "$test" ] || "$BUILD/pictor" data synth fmnist-domains --split test --n 1000 --size 32 --out "$test"

csv="$OUT/results.csv"
[ -f "$csv" ] || echo "holdout,mode,seed,heldout_accuracy,accuracy,accuracy_photo,accuracy_hand_drawn,accuracy_cartoon,type_accuracy,feature_distance_ratio,seconds" >"$csv"
for h in $HOLDOUTS; do
    for m in $MODES; do
        for s in $SEEDS; do
            name="${h}_${m}_s${s}"
            if grep -q "^$h,$m,$s," "$csv"; then
                echo "$name: done already"
                continue
            fi
            rm -rf "${OUT:?}/$name"
            t0=$(date +%s)
            # shellcheck disable=SC2086
            "$BUILD/pictor" train "$here/config.yaml" --set run.name="$name" \
                --set adversarial.mode="$m" --set data.holdout_domain="$h" \
                --set train.seed="$s" ${EXTRA:-} >"$OUT/$name.log" 2>&1
            t1=$(date +%s)
            # the last evaluation line of the run's metrics
            line=$(grep '"kind":"eval"' "$OUT/$name/metrics.jsonl" | tail -1)
            val() { printf '%s' "$line" | sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p"; }
            row="$h,$m,$s,$(val heldout_accuracy),$(val accuracy),$(val 'accuracy\/photo'),$(val 'accuracy\/hand_drawn'),$(val 'accuracy\/cartoon'),$(val type_accuracy),$(val feature_distance_ratio),$((t1 - t0))"
            echo "$row" >>"$csv"
            echo "$name: $row"
        done
    done
done
/usr/bin/python3 "$here/table.py" "$csv" | tee "$OUT/table.md"
