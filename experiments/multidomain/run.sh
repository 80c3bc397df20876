#!/bin/bash
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
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../study.sh"
study_jobs_check
mkdir -p "$OUT" runs/data

train=runs/data/fmnist-domains32-train60k.h5
test=runs/data/fmnist-domains32-test.h5
[ -f "$train" ] || "$BUILD/pictor" data synth fmnist-domains --split train --size 32 --out "$train"
[ -f "$test" ] || "$BUILD/pictor" data synth fmnist-domains --split test --n 1000 --size 32 --out "$test"

csv="$OUT/results.csv"
[ -f "$csv" ] || echo "holdout,mode,seed,heldout_accuracy,accuracy,accuracy_photo,accuracy_hand_drawn,accuracy_cartoon,type_accuracy,feature_distance_ratio,seconds" >"$csv"
# one run: train, then append its row (the last evaluation line of its metrics) to the csv
run_one() {
    local h=$1 m=$2 s=$3 name="${1}_${2}_s${3}"
    # shellcheck disable=SC2086
    study_train "$OUT" "$name" "$here/config.yaml" --set adversarial.mode="$m" \
        --set data.holdout_domain="$h" --set train.seed="$s" ${EXTRA:-} || return 1
    local line row="$h,$m,$s"
    line=$(study_last "$OUT" "$name" eval)
    for k in heldout_accuracy accuracy 'accuracy\/photo' 'accuracy\/hand_drawn' \
        'accuracy\/cartoon' type_accuracy feature_distance_ratio; do
        row="$row,$(study_val "$line" "$k")"
    done
    row="$row,$study_seconds"
    echo "$row" >>"$csv"
    echo "$name: $row"
}

rm -f "$OUT/failed"
for h in $HOLDOUTS; do
    for m in $MODES; do
        for s in $SEEDS; do
            if grep -q "^$h,$m,$s," "$csv"; then
                echo "${h}_${m}_s${s}: done already"
                continue
            fi
            study_spawn run_one "$h" "$m" "$s"
        done
    done
done
wait
/usr/bin/python3 "$here/table.py" "$csv" | tee "$OUT/table.md"
study_failed "$OUT"
