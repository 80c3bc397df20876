#!/bin/sh
# run.sh BUILD SECONDS [HARNESS ...] - run each libFuzzer harness of BUILD (a -DPICTOR_FUZZ=ON
# build) for SECONDS, from the seeds make_seeds.py writes (BUILD/fuzz/seeds) and the corpus the
# earlier runs grew (BUILD/fuzz/corpus/<harness>, kept between runs). A crash leaves its input in
# BUILD/fuzz/artifacts/<harness>/ and makes the exit status 1 (after every harness ran). Prints
# one line per harness: executions, corpus size, crash or not; logs in BUILD/fuzz/logs.
set -u
BUILD=$1
SECONDS_EACH=$2
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
ALL="image idx rle coco safetensors torchfile store h5file config ratios"
[ $# -gt 0 ] && ALL="$*"
W="$BUILD/fuzz"
mkdir -p "$W/logs" "$W/corpus" "$W/artifacts"
rm -rf "$W/seeds"
/usr/bin/python3 "$HERE/make_seeds.py" "$W/seeds" "$BUILD/pictor" || exit 2
export PICTOR_FUZZ_TMP="$W/tmp"
export PICTOR_FUZZ_STORE_BASES="$W/seeds/store"
mkdir -p "$PICTOR_FUZZ_TMP"
# leaks are checked by the suite (valgrind, LSan); here a crash is a memory error or an abort
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=0
total=0
printf '%-12s %12s %8s %s\n' harness executions corpus result
for h in $ALL; do
    bin="$BUILD/tests/fuzz/fuzz_$h"
    [ -x "$bin" ] || { echo "run.sh: $bin is missing (build the target fuzz_all)"; exit 2; }
    mkdir -p "$W/corpus/$h" "$W/artifacts/$h"
    log="$W/logs/$h.log"
    seeds="$W/seeds/$h"
    [ "$h" = h5file ] && seeds="$W/seeds/store"
    # h5file reaches HDF5's own parser, which has memory errors on crafted files (README): it
    # runs in fork mode and goes on after a crash; its crashes are counted, not a failure.
    lib=""
    [ "$h" = h5file ] && lib="-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1"
    "$bin" -max_total_time="$SECONDS_EACH" -timeout=25 -rss_limit_mb=2560 -print_final_stats=1 \
        $lib -artifact_prefix="$W/artifacts/$h/" "$W/corpus/$h" "$seeds" >"$log" 2>&1
    rc=$?
    if [ -n "$lib" ]; then
        execs=$(grep -o 'exec/s: [0-9]*' "$log" >/dev/null; sed -n 's/.*#\([0-9]*\):.*/\1/p' "$log" | tail -1)
    else
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    fi
    execs=${execs:-0}
    total=$((total + execs))
    corpus=$(ls "$W/corpus/$h" | wc -l)
    if [ -n "$lib" ]; then
        result="$(ls "$W/artifacts/$h" | wc -l) crash inputs kept (library; see $log)"
    elif [ $rc -eq 0 ]; then
        result=ok
    else
        result="CRASH (exit $rc): $(ls -t "$W/artifacts/$h" | head -1), see $log"
        failed=1
    fi
    printf '%-12s %12s %8s %s\n' "$h" "$execs" "$corpus" "$result"
    rm -rf "$PICTOR_FUZZ_TMP"/pictor-fuzz-*
done
printf '%-12s %12s\n' total "$total"
exit $failed
