#!/bin/sh
# run_benchmarks.sh BUILD_DIR - the benchmark target. Runs each benchmark against its reference in
# the same script, interleaved over several rounds (the machine is shared and noisy), and prints
# a ratio per benchmark: the median reference time over the median pictor time, each round's time
# being that run's median step (higher is better).
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
threads=${PICTOR_BENCH_THREADS:-$(nproc)}
rounds=${PICTOR_BENCH_ROUNDS:-5}
py=/usr/bin/python3

# the median of the numbers on stdin (one per line)
best() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

c_times=""; py_times=""
i=0
while [ "$i" -lt "$rounds" ]; do
    c=$("$build/bench_shim_step" --threads "$threads" --steps 60 | sed -n 's/^c_step_ms=//p')
    p=$($py "$here/shim_step.py" --threads "$threads" --steps 60 | sed -n 's/^py_step_ms=//p')
    echo "round $((i + 1)): pictor ${c} ms/step, python ${p} ms/step (small CNN, batch 64, $threads threads)"
    c_times="$c_times$c
"
    py_times="$py_times$p
"
    i=$((i + 1))
done
cb=$(printf '%s' "$c_times" | best)
pb=$(printf '%s' "$py_times" | best)
ratio=$(awk -v p="$pb" -v c="$cb" 'BEGIN { printf "%.3f", p / c }')
echo "shim_step_speed_vs_python=$ratio"

# The loader against the model it feeds, and the training step with the loader vs one reused batch.
"$build/bench_loader" --threads "$threads"

# Packed images in the HDF5 store vs the same bytes from one flat file.
if [ -x "$build/bench_store_read" ]; then
    "$build/bench_store_read"
fi

# The multidomain backbone: one mobilenet_v3_small training step (batch 32, 3x96x96, 10 classes,
# cross entropy, SGD with momentum) against torchvision's in Python, interleaved as above.
if [ -x "$build/bench_mobilenetv3_step" ]; then
    mb_c=""; mb_py=""
    i=0
    while [ "$i" -lt "$rounds" ]; do
        c=$("$build/bench_mobilenetv3_step" --threads "$threads" --steps 10 | sed -n 's/^c_step_ms=//p')
        p=$($py "$here/mobilenetv3_step.py" --threads "$threads" --steps 10 | sed -n 's/^py_step_ms=//p')
        echo "round $((i + 1)): pictor ${c} ms/step, python ${p} ms/step (mobilenet_v3_small, batch 32, 3x96x96, $threads threads)"
        mb_c="$mb_c$c
"
        mb_py="$mb_py$p
"
        i=$((i + 1))
    done
    cb=$(printf '%s' "$mb_c" | best)
    pb=$(printf '%s' "$mb_py" | best)
    ratio=$(awk -v p="$pb" -v c="$cb" 'BEGIN { printf "%.3f", p / c }')
    echo "multidomain_step_speed_vs_python=$ratio"
fi
