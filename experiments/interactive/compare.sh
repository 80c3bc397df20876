#!/bin/sh
# compare.sh - pictor's interactive model and OpenCV GrabCut, side by side, under the very same
# simulated user (RITM's protocol) on the same held-out photos, in one command.
#
#   experiments/interactive/compare.sh [CONFIG] [WEIGHTS] [OUT_DIR]
#
# Defaults: configs/interactive/mval_r18.yaml, runs/mval_r18/weights.safetensors,
# runs/compare_interactive. Make the data and train first (the config's header says how).
# pictor evaluates on the config's data.val store at data.image_size (letterboxed); GrabCut runs
# on the same store with the longer side scaled to data.image_size (--max-side), so both see the
# same objects at the same resolution. Writes OUT_DIR/pictor.jsonl (pictor eval's line),
# OUT_DIR/grabcut.jsonl (one line per protocol), OUT_DIR/curve_grabcut.csv, OUT_DIR/table.md.
set -eu
cd "$(dirname "$0")/../.."
CONFIG=${1:-configs/interactive/mval_r18.yaml}
WEIGHTS=${2:-runs/mval_r18/weights.safetensors}
OUT=${3:-runs/compare_interactive}
PICTOR=${PICTOR:-build/pictor}
for f in "$CONFIG" "$WEIGHTS" "$PICTOR"; do
    [ -e "$f" ] || { echo "compare.sh: $f: not found (build with 'make', train first)" >&2; exit 1; }
done
mkdir -p "$OUT"
VAL=$("$PICTOR" config show "$CONFIG" | awk '/^data:/{d=1;next} /^[^ ]/{d=0} d&&$1=="val:"{gsub(/"/,"",$2); print $2}')
SIZE=$("$PICTOR" config show "$CONFIG" | awk '/^data:/{d=1;next} /^[^ ]/{d=0} d&&$1=="image_size:"{print $2}')
[ -e "$VAL" ] || { echo "compare.sh: data.val '$VAL' of $CONFIG: not found (make the data: see the config's header)" >&2; exit 1; }
echo "pictor eval on $VAL at $SIZE px ..." >&2
"$PICTOR" eval "$CONFIG" --weights "$WEIGHTS" > "$OUT/pictor.jsonl"
echo "OpenCV GrabCut on $VAL, longer side $SIZE px ..." >&2
experiments/interactive/grabcut_noc.py --store "$VAL" --max-side "$SIZE" \
    --curve "$OUT/curve_grabcut.csv" --pictor "$OUT/pictor.jsonl" \
    > "$OUT/grabcut.jsonl" 2> "$OUT/grabcut.log"
sed -n '/^| protocol/,$p' "$OUT/grabcut.log" | tee "$OUT/table.md"
