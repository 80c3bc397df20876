#!/bin/sh
# diagnose_bn.sh - the issue-13 diagnostic: why evaluation was far below training. Four runs of
# 300 steps of 48 at 64 px (resize 72 + crop 64, blur, rot90, AdamW 0.002, one thread each),
# each evaluated on 900 of its own training images; prints the eval accuracy, the eval-mode
# cross entropy and the training loss/cls of the last step, per run (see README.md).
#
#   experiments/multidomain/diagnose_bn.sh [BUILD_DIR]      (from the repository root; ~25 min idle)
set -eu
BUILD=${1:-build}
OUT=runs/multidomain_bn
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT" runs/data
train=runs/data/fmnist-domains-train.h5
sub=runs/data/fmnist-domains-trainsub.h5
[ -f "$train" ] || "$BUILD/pictor" data synth fmnist-domains --split train --n 6000 --out "$train"
[ -f "$sub" ] || "$BUILD/pictor" data synth fmnist-domains --split train --n 300 --out "$sub"
one() {
    name=$1
    shift
    "$BUILD/pictor" train "$here/../../configs/multidomain/fmnist_domains.yaml" \
        --set run.dir="$OUT" --set run.name="$name" --set data.train="$train" --set data.val="$sub" \
        --set data.augment.resize=72 --set data.augment.crop=64 --set data.augment.rot90=true \
        --set train.max_steps=300 --set train.epochs=0 --set train.eval_every=300 \
        --set train.threads=1 --set data.workers=1 "$@" >"$OUT/$name.log" 2>&1
    ev=$(grep '"kind":"eval"' "$OUT/$name/metrics.jsonl" | tail -1)
    tr=$(grep '"kind":"train"' "$OUT/$name/metrics.jsonl" | tail -1)
    get() { printf '%s' "$2" | sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p"; }
    echo "$name: eval accuracy $(get accuracy "$ev"), eval CE $(get loss "$ev"), training loss/cls $(get 'loss\/cls' "$tr")"
}
one bn001 --set model.bn_momentum=0.01
one bn001_nocrop --set model.bn_momentum=0.01 --set data.augment.resize=0 --set data.augment.crop=0
one bn01 --set model.bn_momentum=0.1
one bn01_none --set model.bn_momentum=0.1 --set adversarial.mode=none
