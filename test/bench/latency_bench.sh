#!/usr/bin/env bash
# latency_bench.sh [BUILD_DIR] — the latency benchmark (README.md, "The
# latency benchmark").
#
# Starts sluice-mock-broker (one broker on loopback), then for each rate in
# BENCH_RATES and each trigger in BENCH_TRIGGERS runs sluice
#   Kafka source -> SELECT seq, ts, k (pass-through) -> Kafka sink
# in a fresh pair of topics, waits for its consumer group's assignment, and
# runs test/bench/latency_kafka, which produces RATE records per second for
# BENCH_SECONDS seconds and times every result from the input's append to
# the result being readable by a read-committed consumer.  Prints
# p50/p99/p99.9 per (rate, trigger) and the target p99 <= trigger + 50 ms.
#
# sluice's log, each line stamped with the wall-clock time it was written
# (seconds), is kept in BUILD_DIR/bench/latency/sluice-N.log.
#
# BENCH_EXACTLY_ONCE=1 adds a checkpoint_dir: one snapshot and one Kafka
# transaction per micro-batch (the mock broker keeps no transaction
# markers, so there a read-committed consumer may see records before their
# commit; see docs/install.md).
#
# Environment: BENCH_RATES ("10000 100000"), BENCH_TRIGGERS ("200ms 0"),
# BENCH_SECONDS (20), BENCH_WARMUP (5), BENCH_EXACTLY_ONCE (0).
# Exit status: 0 every target met; 1 one missed or a run failed; 2 usage.
set -euo pipefail
die() { echo "latency_bench: $*" >&2; exit 2; }

BUILD_DIR=${1:-build}
[[ -d $BUILD_DIR ]] || die "build directory '$BUILD_DIR' does not exist"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
RATES=${BENCH_RATES:-10000 100000}
TRIGGERS=${BENCH_TRIGGERS:-200ms 0}
SECONDS_=${BENCH_SECONDS:-20}
WARMUP=${BENCH_WARMUP:-5}
EO=${BENCH_EXACTLY_ONCE:-0}
FETCH_WAIT=${BENCH_FETCH_WAIT_MS:-10}

SLUICE=$BUILD_DIR/sluice
LAT=$BUILD_DIR/test/bench/latency_kafka
BROKER=$BUILD_DIR/test/sluice-mock-broker
for p in "$SLUICE" "$LAT" "$BROKER"; do
    [[ -x $p ]] || die "'$p' is missing: build it first (cmake --build '$BUILD_DIR')"
done

W=$BUILD_DIR/bench/latency
rm -rf "$W"
mkdir -p "$W"
cat >"$W/pass.sql" <<'SQL'
CREATE SOURCE events (seq BIGINT, ts BIGINT, k VARCHAR);
CREATE SINK results AS SELECT seq, ts, k FROM events;
SQL
cat >"$W/pass.ini" <<'INI'
[pipeline]
trigger = ${LAT_TRIGGER}
[kafka]
bootstrap.servers = ${KAFKA_BROKERS}
[source events]
connector       = kafka
topic           = ${LAT_IN}
group.id        = ${LAT_GROUP}
startingOffsets = earliest
format          = json
kafka.fetch.wait.max.ms = ${LAT_FETCH_WAIT_MS}
[sink results]
connector = kafka
topic     = ${LAT_OUT}
INI

topics=() i=0
for rate in $RATES; do for trig in $TRIGGERS; do
    i=$((i + 1)); topics+=(--topic "in-$i:4" --topic "out-$i:4")
done; done
broker_pid='' sluice_pid=''
cleanup() {
    [[ -n $sluice_pid ]] && kill "$sluice_pid" 2>/dev/null
    [[ -n $broker_pid ]] && kill "$broker_pid" 2>/dev/null
    wait 2>/dev/null || true
}
trap cleanup EXIT
"$BROKER" --brokers 1 "${topics[@]}" --until-signal >"$W/broker.out" 2>"$W/broker.err" &
broker_pid=$!
for _ in $(seq 100); do grep -q '^bootstrap=' "$W/broker.out" 2>/dev/null && break; sleep 0.1; done
BROKERS=$(sed -n 's/^bootstrap=//p' "$W/broker.out")
[[ -n $BROKERS ]] || die "the broker did not start: $(cat "$W/broker.err")"

echo "== latency benchmark: Kafka -> pass-through -> Kafka, $SECONDS_ s per case ($WARMUP s warm-up not counted)$( ((EO)) && echo ', exactly once')"
printf '%-8s %-8s %10s %9s %9s %9s %9s %10s  %s\n' rate trigger achieved p50_ms p99_ms p999_ms max_ms target met?
rc=0 i=0
for rate in $RATES; do for trig in $TRIGGERS; do
    i=$((i + 1))
    extra=()
    ((EO)) && extra=(--set "pipeline.checkpoint_dir=$W/cp-$i")
    LAT_TRIGGER=$trig LAT_FETCH_WAIT_MS=$FETCH_WAIT KAFKA_BROKERS=$BROKERS LAT_IN=in-$i LAT_OUT=out-$i LAT_GROUP=sluice-$i \
        "$SLUICE" run "$W/pass.sql" --config "$W/pass.ini" "${extra[@]}" >"$W/sluice-$i.out" \
        2> >(while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$W/sluice-$i.log") &
    sluice_pid=$!
    # the consumer group's join takes about 3 s: produce only once assigned
    for _ in $(seq 300); do
        grep -q '(kafka): assigned' "$W/sluice-$i.log" 2>/dev/null && break
        kill -0 "$sluice_pid" 2>/dev/null || break
        sleep 0.05
    done
    grep -q '(kafka): assigned' "$W/sluice-$i.log" || { echo "latency_bench: sluice did not start: $(tail -3 "$W/sluice-$i.log")" >&2; exit 1; }
    if out=$("$LAT" "$BROKERS" "in-$i" "out-$i" "$rate" "$SECONDS_" "$WARMUP" 2>"$W/lat-$i.err"); then :; else
        echo "latency_bench: rate $rate trigger $trig: $(cat "$W/lat-$i.err")" >&2; rc=1
    fi
    kill "$sluice_pid" 2>/dev/null || true
    wait "$sluice_pid" 2>/dev/null || true
    sluice_pid=
    echo "$out" >"$W/lat-$i.out"
    [[ -n $out ]] || continue
    tms=$(awk -v t="$trig" 'BEGIN { v = t + 0; if (t ~ /ms$/) v = t + 0; else if (t ~ /s$/) v = (t + 0) * 1000; print v }')
    awk -v rate="$rate" -v trig="$trig" -v tms="$tms" -v line="$out" 'BEGIN {
        n = split(line, kv, " ")
        for (j = 1; j <= n; j++) { split(kv[j], p, "="); f[p[1]] = p[2] }
        target = tms + 50; ok = (f["p99_ms"] + 0 <= target) && (f["results"] + 0 >= f["produced"] + 0)
        printf "%-8s %-8s %10s %9s %9s %9s %9s %8s ms  %s\n", rate, trig, f["rate"], f["p50_ms"], f["p99_ms"],
               f["p999_ms"], f["max_ms"], "<= " target, ok ? "yes" : (f["results"] + 0 < f["produced"] + 0 ? "NO (lost results)" : "no")
        exit !ok }' || { [[ $rate -ge 100000 ]] && rc=1; }
done; done
exit $rc
