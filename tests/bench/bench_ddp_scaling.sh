#!/bin/sh
# bench_ddp_scaling.sh BUILD_DIR - ddp_scaling_2x1_vs_1x2: training images/s of 2 data-parallel
# processes x 1 thread (pictor train --nproc 2, batch 32 each) against 1 process x 2 threads
# (batch 64), same model (the demo's small CNN with BatchNorm, 28x28 Fashion-MNIST), same global
# batch, same data, interleaved over PICTOR_BENCH_ROUNDS rounds (default 3). Throughput is
# measured from the run's metrics.jsonl between the logs of step 20 and of the last step (start-up
# and the first steps left out). Prints each round, then the ratio of the medians (2x1 / 1x2):
# on a 2-core machine this is the cost of the gradient allreduce and of the second process, not
# a speed-up.
set -eu
build=${1:-build}
rounds=${PICTOR_BENCH_ROUNDS:-3}
steps=${PICTOR_BENCH_DDP_STEPS:-100}
py=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$build/pictor" data import-idx --split train --limit 8192 --out "$dir/train.h5" >/dev/null
cat >"$dir/cfg.yaml" <<EOF
run: {dir: $dir/runs, name: r}
model: {type: classifier, width: 32, hidden: 128}
data: {train: $dir/train.h5, workers: 1}
train: {max_steps: $steps, batch_size: 64, threads: 2, log_every: 20, checkpoint_every: 0, seed: 0}
optim: {type: adam, lr: 0.001}
EOF

# images/s of run $1 (global batch $2) between step 20 and the last step
rate() {
    $py - "$dir/runs/$1/metrics.jsonl" "$2" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"train"' in l]
a = next(r for r in rows if r["step"] == 20)
b = rows[-1]
print("%.1f" % ((b["step"] - a["step"]) * int(sys.argv[2]) / (b["time"] - a["time"])))
EOF
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

one="" two="" i=0
while [ "$i" -lt "$rounds" ]; do
    "$build/pictor" train "$dir/cfg.yaml" --set run.name=a$i >/dev/null
    "$build/pictor" train "$dir/cfg.yaml" --set run.name=b$i --set train.batch_size=32 \
        --set train.threads=1 --nproc 2 >/dev/null
    x=$(rate a$i 64)
    y=$(rate b$i 64)
    echo "round $((i + 1)): 1 process x 2 threads ${x} images/s, 2 processes x 1 thread ${y} images/s (global batch 64)"
    one="$one$x
"
    two="$two$y
"
    i=$((i + 1))
done
m1=$(printf '%s' "$one" | median)
m2=$(printf '%s' "$two" | median)
echo "ddp_images_per_s_1x2=$m1"
echo "ddp_images_per_s_2x1=$m2"
echo "ddp_scaling_2x1_vs_1x2=$(awk -v a="$m2" -v b="$m1" 'BEGIN { printf "%.3f", a / b }')"
