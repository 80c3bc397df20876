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
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# versus NAME DESCRIPTION C_BENCH PY_SCRIPT STEPS [C_ARGS [PY_ARGS]]: interleave pictor's step
# (prints c_step_ms=) and Python's (prints py_step_ms=) for $rounds rounds, then print
# NAME=<python/pictor>. C_ARGS / PY_ARGS: more options for either side (split on spaces).
versus() {
    name=$1 desc=$2 cbin=$3 pyscript=$4 steps=$5 cargs=${6:-} pyargs=${7:-}
    c_times="" py_times="" i=0
    while [ "$i" -lt "$rounds" ]; do
        # shellcheck disable=SC2086
        c=$("$build/$cbin" --threads "$threads" --steps "$steps" $cargs | sed -n 's/^c_step_ms=//p')
        # shellcheck disable=SC2086
        p=$($py "$here/$pyscript" --threads "$threads" --steps "$steps" $pyargs | sed -n 's/^py_step_ms=//p')
        echo "round $((i + 1)): pictor ${c} ms/step, python ${p} ms/step ($desc, $threads threads)"
        c_times="$c_times$c
"
        py_times="$py_times$p
"
        i=$((i + 1))
    done
    cm=$(printf '%s' "$c_times" | median)
    pm=$(printf '%s' "$py_times" | median)
    echo "$name=$(awk -v p="$pm" -v c="$cm" 'BEGIN { printf "%.3f", p / c }')"
}

versus shim_step_speed_vs_python "small CNN, batch 64" bench_shim_step shim_step.py 60
# The AdamW update alone on ResNet-18's 11.7M parameters: pictor's fused one-pass update against
# torch.optim.AdamW with foreach=True (multi-tensor) and foreach=False.
versus adamw_update_vs_foreach "AdamW update, 11.7M params" bench_shim_step adamw_step.py 20 "--update adamw" "--foreach 1"
versus adamw_update_vs_per_param "AdamW update, 11.7M params" bench_shim_step adamw_step.py 20 "--update adamw" "--foreach 0"

# The loader against the model it feeds, and the training step with the loader vs one reused batch.
"$build/bench_loader" --threads "$threads"

# Packed images in the HDF5 store vs the same bytes from one flat file.
if [ -x "$build/bench_store_read" ]; then
    "$build/bench_store_read"
fi

# The multidomain backbone: one mobilenet_v3_small training step (batch 32, 3x96x96, 10 classes,
# cross entropy, SGD with momentum) against torchvision's in Python.
if [ -x "$build/bench_mobilenetv3_step" ]; then
    versus multidomain_step_speed_vs_python "mobilenet_v3_small, batch 32, 3x96x96" \
        bench_mobilenetv3_step mobilenetv3_step.py 10
fi

# The first polarmask study's training step (experiments/polarmask/config_64px.yaml: ResNet-18 +
# FPN P3-P7, its head, refine module and contour head, its losses, clip and AdamW; batch 8 of 64 px
# shapes scenes): pictor's driver against the same network in PyTorch (polarmask_step.py),
# on the batch and targets the C side writes.
if [ -x "$build/bench_polarmask_step" ]; then
    pm_in="$build/polarmask_step_batch.safetensors"
    versus polarmask_step_speed_vs_python "polarmask R18+FPN, batch 8, 64x64" \
        bench_polarmask_step polarmask_step.py 5 \
        "--config $here/../../experiments/polarmask/config_64px.yaml --size 64 --write $pm_in" \
        "--inputs $pm_in"
fi

# The interactive model's training step (configs/interactive/mval_r18.yaml: ResNet-18 split
# after layer2, RPN, correction maps + previous mask, decoder, 3x3 position-sensitive assembling;
# the RPN loss, the first tap, the simulated correction taps under no-grad, the final pass and the
# mask loss; clip and AdamW; batch 8 of 160 px shapes scenes): pictor's driver against the same
# network in PyTorch (interactive_step.py), on the batch, anchor sample, rectangles and number of
# simulated taps the C side writes (fixed for every step of both).
if [ -x "$build/bench_interactive_step" ]; then
    ia_in="$build/interactive_step_batch.safetensors"
    versus interactive_step_speed_vs_python "interactive R18, batch 8, 160x160" \
        bench_interactive_step interactive_step.py 5 \
        "--config $here/../../configs/interactive/mval_r18.yaml --write $ia_in" \
        "--inputs $ia_in"
fi

# The portrait model's training step (configs/portrait/synth_mbv3.yaml: MobileNetV3-small
# segmentation and depth networks, width 32, the semantic / detail / fusion branches and the
# depth decoder; MODNet's three losses + the Laplacian NLL; Adam; batch 8 of 128 px synthetic
# composites): pictor's driver against the same networks in PyTorch (portrait_step.py), on the
# batch and targets the C side writes.
if [ -x "$build/bench_portrait_step" ]; then
    pp_in="$build/portrait_step_batch.safetensors"
    versus portrait_step_speed_vs_python "portrait 2x MobileNetV3-small, batch 8, 128x128" \
        bench_portrait_step portrait_step.py 5 \
        "--config $here/../../configs/portrait/synth_mbv3.yaml --write $pp_in" \
        "--inputs $pp_in"
fi

# The gcn model's training step (configs/gcn/tissue.yaml: the small dilated FCN, per image SLIC on
# the detached features, the superpixel graph, the GCN, the weak labels from the area ratio,
# class-balanced BCE; Adam; batch 8 of 64 px synthetic tissue images): pictor's driver against
# the same step in PyTorch (gcn_step.py: scikit-image's SLIC, the graph in NumPy, torch.sparse.mm),
# on the batch the C side writes. SLIC runs inside the step on both sides (it clusters the
# current features); both print its share (c_slic_ms / py_slic_ms) and CPU times per step.
if [ -x "$build/bench_gcn_step" ]; then
    gc_in="$build/gcn_step_batch.safetensors"
    versus gcn_step_speed_vs_python "gcn small FCN + SLIC + GCN, batch 8, 64x64" \
        bench_gcn_step gcn_step.py 10 \
        "--config $here/../../configs/gcn/tissue.yaml --write $gc_in" "--inputs $gc_in"
fi

# PolarMask targets (data/polar_targets.c: contours, centres, center sampling, rays, contour map)
# against a straightforward Python/NumPy port of PolarMask's target code
# (tests/reference/polar_targets_ref.py) on the same 64 synthetic 256x256 images (3-8 occluding
# ellipses and stars each, made by bench_polar_targets), both single-threaded as in a loader
# thread. First a sanity comparison of the two sets of targets, then interleaved rounds; prints
# pictor's ms per image and the ratio python / pictor of the medians.
if [ -x "$build/bench_polar_targets" ]; then
    pt_dir=$(mktemp -d)
    trap 'rm -rf "$pt_dir"' EXIT
    pt_ref="$here/../reference/polar_targets_ref.py"
    "$build/bench_polar_targets" --write "$pt_dir" --passes 1 | sed -n 's/^images: /polar targets: /p'
    $py "$pt_ref" "$pt_dir/masks.bin" --compare "$pt_dir/targets.bin" | sed -n 's/^sanity: /polar targets vs python: /p'
    c_times="" py_times="" i=0
    while [ "$i" -lt "$rounds" ]; do
        c=$("$build/bench_polar_targets" | sed -n 's/^c_image_ms=//p')
        p=$($py "$pt_ref" "$pt_dir/masks.bin" | sed -n 's/^py_image_ms=//p')
        echo "round $((i + 1)): pictor ${c} ms/image, python ${p} ms/image (polar targets, 256x256, 1 thread)"
        c_times="$c_times$c
"
        py_times="$py_times$p
"
        i=$((i + 1))
    done
    cm=$(printf '%s' "$c_times" | median)
    pm=$(printf '%s' "$py_times" | median)
    echo "polar_targets_ms_per_image=$cm"
    echo "polar_targets_speed_vs_python=$(awk -v p="$pm" -v c="$cm" 'BEGIN { printf "%.1f", p / c }')"
fi

# The interactive model (seed 000): a full pass against a correction (part 2 only, part 1's
# features cached), same image, same process, interleaved; at the tool's canvas sizes.
if [ -x "$build/bench_interactive" ]; then
    for size in 160 320; do
        "$build/bench_interactive" --threads "$threads" --size "$size" --reps 10 |
            sed "s/^interactive_correction_speedup=/interactive_correction_speedup_${size}px=/"
    done
fi

# Data parallel: images/s of 2 processes x 1 thread (pictor train --nproc 2) against 1 process x
# 2 threads, same model and global batch (on two cores: the overhead, not a speed-up).
"$here/bench_ddp_scaling.sh" "$build"

# SLIC (data/geometry/slic.c, the gcn model's superpixels) against scikit-image's slic on a real
# 512x512 photo (human_seg, CIELAB, k 1000, 10 iterations, 1 thread), with both boundary recalls
# (2 px) against its mask; then ms per call on a 64-channel 256x256 feature map.
if [ -x "$build/bench_slic" ]; then
    (cd "$here/../.." && "$build/bench_slic" --rounds "$rounds")
fi
