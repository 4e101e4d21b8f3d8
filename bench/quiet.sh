# Sourced by the bench scripts: sets BENCH_LOCK; wait_quiet blocks until the 1-minute load average is at most $QUIET_LOAD
# (default 0.5), giving up (and saying so) after $QUIET_WAIT_S seconds (default 300).
BENCH_LOCK=${BENCH_LOCK:-/tmp/bench.lock}   # the lock every timed step (and, shared, every build) holds
wait_quiet() {
    local waited=0
    while awk -v l="${QUIET_LOAD:-0.5}" '{exit !($1 > l)}' /proc/loadavg; do
        if [ "$waited" -ge "${QUIET_WAIT_S:-300}" ]; then
            echo "# machine still busy after ${waited}s (load $(cut -d' ' -f1-3 /proc/loadavg)); measuring anyway" >&2
            return
        fi
        sleep 10
        waited=$((waited + 10))
    done
}
