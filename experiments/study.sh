# study.sh - sourced (bash) by the experiments' run.sh: one training run of a study, the numbers
# of its metrics, and a pool that keeps JOBS runs side by side.
#
#   study_jobs_check          exits 2 unless JOBS (default 2) is a whole number >= 1
#   study_train OUT NAME ARGS trains `$BUILD/pictor train ARGS --set run.name=NAME` with its
#                             output in OUT/NAME.log (a previous OUT/NAME is removed first); sets
#                             study_seconds; on failure names the log, marks OUT/failed, returns 1
#   study_last OUT NAME KIND  the run's last metrics line of KIND (train, eval)
#   study_val LINE KEY        one number of a metrics line (empty when the key is absent; a key
#                             with a slash is written with it escaped: 'accuracy\/photo')
#   study_spawn CMD...        runs CMD in the background once fewer than JOBS are running
#   study_failed OUT          after `wait` and the table: exits 1 if a run failed
# A run appends its csv row with one short echo, so side-by-side runs do not interleave.

JOBS=${JOBS:-2}
study_running=0

study_jobs_check() {
    case $JOBS in
    '' | *[!0-9]* | 0) echo "run.sh: JOBS must be a whole number >= 1 (got '$JOBS')" >&2; exit 2 ;;
    esac
}

study_train() {
    local out=$1 name=$2
    shift 2
    rm -rf "${out:?}/$name"
    local t0
    t0=$(date +%s)
    "$BUILD/pictor" train "$@" --set run.name="$name" >"$out/$name.log" 2>&1 || {
        echo "$name: failed, see $out/$name.log"
        : >"$out/failed"
        return 1
    }
    study_seconds=$(($(date +%s) - t0))
}

study_last() {
    grep "\"kind\":\"$3\"" "$1/$2/metrics.jsonl" | tail -1
}

study_val() {
    printf '%s' "$1" | sed -n "s/.*\"$2\":\([-0-9.eE+]*\).*/\1/p"
}

study_spawn() {
    if [ "$study_running" -ge "$JOBS" ]; then
        wait -n || true # a slot is free as soon as any run ends (a failure is marked)
        study_running=$((study_running - 1))
    fi
    "$@" &
    study_running=$((study_running + 1))
}

study_failed() {
    [ ! -f "$1/failed" ] || { echo "some runs failed (their logs are in $1)" >&2; exit 1; }
}
