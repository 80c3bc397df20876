#!/bin/sh
# run.sh - the seed's Table 1 at CPU scale: polarmask with (refine off, contour off) = PolarMask,
# (refine on, contour off), (refine on, contour on), 3 seeds each, the same data, backbone and
# budget (config.yaml). Each run is evaluated once at the end on the held-out test split.
#
#   experiments/polarmask/run.sh [BUILD_DIR]        (from the repository root)
#
# Writes runs/polarmask_study/results.csv (training), then report.sh evaluates every run and prints
# the table (mean and spread over seeds) into runs/polarmask_study/table.md.
# Environment: SEEDS ("1 2 3"), VARIANTS ("base refine full"), EXTRA (more --set options).
set -eu
BUILD=${1:-build}
OUT=runs/polarmask_study
SEEDS=${SEEDS:-"1 2 3"}
VARIANTS=${VARIANTS:-"base refine full"}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT" runs/data

train=runs/data/shapes64-train.h5
test=runs/data/shapes64-test.h5
[ -f "$train" ] || "$BUILD/pictor" data synth shapes --split train --n 2000 --size 64 --out "$train"
[ -f "$test" ] || "$BUILD/pictor" data synth shapes --split test --n 300 --size 64 --out "$test"

csv="$OUT/results.csv"
[ -f "$csv" ] || echo "variant,seed,mask_ap,mask_ap50,mask_ap75,mask_ap_s,mask_ap_m,mask_ap_l,images_per_s,seconds" >"$csv"
for v in $VARIANTS; do
    case $v in
    base) sets="--set model.refine=off --set model.contour_head=off" ;;
    refine) sets="--set model.refine=on --set model.contour_head=off" ;;
    full) sets="--set model.refine=on --set model.contour_head=on" ;;
    *) echo "unknown variant $v (base, refine, full)" >&2; exit 1 ;;
    esac
    for s in $SEEDS; do
        name="${v}_s${s}"
        if grep -q "^$v,$s," "$csv"; then
            echo "$name: done already"
            continue
        fi
        rm -rf "${OUT:?}/$name"
        t0=$(date +%s)
        # shellcheck disable=SC2086
        "$BUILD/pictor" train "$here/config.yaml" --set run.name="$name" $sets \
            --set train.seed="$s" ${EXTRA:-} >"$OUT/$name.log" 2>&1
        t1=$(date +%s)
        ev=$(grep '"kind":"eval"' "$OUT/$name/metrics.jsonl" | tail -1)
        tr=$(grep '"kind":"train"' "$OUT/$name/metrics.jsonl" | tail -1)
        val() { printf '%s' "$1" | sed -n "s/.*\"$2\":\([-0-9.eE+]*\).*/\1/p"; }
        row="$v,$s,$(val "$ev" mask_ap),$(val "$ev" mask_ap50),$(val "$ev" mask_ap75),$(val "$ev" mask_ap_s),$(val "$ev" mask_ap_m),$(val "$ev" mask_ap_l),$(val "$tr" images_per_s),$((t1 - t0))"
        echo "$row" >>"$csv"
        echo "$name: $row"
    done
done
"$here/report.sh" "$BUILD"
