#!/bin/sh
# report.sh - re-evaluate every run of the polarmask study (runs/polarmask_study/<variant>_s<seed>/)
# on the held-out split with `pictor eval` (after a change to the evaluation, say; run.sh's table
# is each run's own last evaluation) and print the table into runs/polarmask_study/eval_table.md: mask AP (COCO) and the polar IoU
# of the coarse and refined rays at the ground truth's positive locations.
#
#   experiments/polarmask/report.sh [BUILD_DIR]       (from the repository root, after run.sh)
set -eu
BUILD=${1:-build}
OUT=runs/polarmask_study
here=$(cd "$(dirname "$0")" && pwd)
csv="$OUT/eval.csv"
echo "variant,seed,mask_ap,mask_ap50,mask_ap75,mask_ap_s,mask_ap_m,mask_ap_l,mask_ap50_agnostic,ray_iou_coarse,ray_iou_fine" >"$csv"
for dir in "$OUT"/*_s*/; do
    name=$(basename "$dir")
    v=${name%_s*}
    s=${name##*_s}
    [ -f "$dir/weights.safetensors" ] || continue
    case $v in
    base) sets="--set model.refine=off --set model.contour_head=off" ;;
    refine) sets="--set model.refine=on --set model.contour_head=off" ;;
    full) sets="--set model.refine=on --set model.contour_head=on" ;;
    *) continue ;;
    esac
    # shellcheck disable=SC2086
    line=$("$BUILD/pictor" eval "$here/config.yaml" --weights "$dir/weights.safetensors" \
        --set run.name="$name" $sets | tail -1)
    val() { printf '%s' "$line" | sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p"; }
    echo "$v,$s,$(val mask_ap),$(val mask_ap50),$(val mask_ap75),$(val mask_ap_s),$(val mask_ap_m),$(val mask_ap_l),$(val mask_ap50_agnostic),$(val ray_iou_coarse),$(val ray_iou_fine)" >>"$csv"
done
/usr/bin/python3 "$here/table.py" "$csv" | tee "$OUT/eval_table.md"
