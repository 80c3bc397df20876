#!/bin/bash
# run.sh - the seed's Table 1 at the CPU recipe: polarmask with (refine off, contour off) =
# PolarMask, (refine on, contour off), (refine on, contour on), 3 seeds each, the same data,
# backbone and budget (config.yaml: the shipped recipe cut to 2,500 steps). Each run is evaluated
# once at the end on the held-out test split; its last evaluation line is the run's row.
#
#   experiments/polarmask/run.sh [BUILD_DIR]        (from the repository root)
#
# Writes runs/polarmask_study/results.csv (one row per run) and prints the table (mean and spread
# over seeds) into runs/polarmask_study/table.md. Runs go seed by seed, so an interrupted study
# has every variant at its first seeds; a rerun skips the rows already written.
# Environment: SEEDS ("1 2 3"), VARIANTS ("base refine full"), EXTRA (more --set options),
# JOBS (runs side by side, default 2: one thread each on a 2-core machine).
# report.sh re-evaluates the saved weights (e.g. after a change to the evaluation).
set -eu
BUILD=${1:-build}
OUT=runs/polarmask_study
SEEDS=${SEEDS:-"1 2 3"}
VARIANTS=${VARIANTS:-"base refine full"}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../study.sh"
study_jobs_check
for v in $VARIANTS; do
    case $v in
    base | refine | full) ;;
    *) echo "run.sh: unknown variant '$v' (base, refine, full)" >&2; exit 2 ;;
    esac
done
mkdir -p "$OUT" runs/data

train=runs/data/shapes-train.h5
test=runs/data/shapes-test.h5
[ -f "$train" ] || "$BUILD/pictor" data synth shapes --split train --n 4000 --out "$train"
[ -f "$test" ] || "$BUILD/pictor" data synth shapes --split test --n 500 --out "$test"

csv="$OUT/results.csv"
[ -f "$csv" ] || echo "variant,seed,mask_ap,mask_ap50,mask_ap75,mask_ap_s,mask_ap_m,mask_ap_l,mask_ap50_agnostic,ray_iou_coarse,ray_iou_fine,images_per_s,seconds" >"$csv"
# one run: train, then append its row (its last evaluation and training lines) to the csv
run_one() {
    local v=$1 s=$2 name="${1}_s${2}" sets
    case $v in
    base) sets="--set model.refine=off --set model.contour_head=off" ;;
    refine) sets="--set model.refine=on --set model.contour_head=off" ;;
    full) sets="--set model.refine=on --set model.contour_head=on" ;;
    esac
    # shellcheck disable=SC2086
    study_train "$OUT" "$name" "$here/config.yaml" $sets --set train.seed="$s" ${EXTRA:-} || return 1
    local ev tr
    ev=$(study_last "$OUT" "$name" eval)
    tr=$(study_last "$OUT" "$name" train)
    local row="$v,$s"
    for k in mask_ap mask_ap50 mask_ap75 mask_ap_s mask_ap_m mask_ap_l mask_ap50_agnostic \
        ray_iou_coarse ray_iou_fine; do
        row="$row,$(study_val "$ev" $k)"
    done
    row="$row,$(study_val "$tr" images_per_s),$study_seconds"
    echo "$row" >>"$csv"
    echo "$name: $row"
}

rm -f "$OUT/failed"
for s in $SEEDS; do
    for v in $VARIANTS; do
        if grep -q "^$v,$s," "$csv"; then
            echo "${v}_s${s}: done already"
            continue
        fi
        study_spawn run_one "$v" "$s"
    done
done
wait
/usr/bin/python3 "$here/table.py" "$csv" | tee "$OUT/table.md"
study_failed "$OUT"
