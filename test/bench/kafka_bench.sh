#!/usr/bin/env bash
# kafka_bench.sh [BUILD_DIR] — the Kafka benchmark (README.md).
#
# Generates BENCH_ROWS flights-like JSON lines (gen_flights: one day, 300
# origins) and starts sluice-mock-broker (one broker on loopback).  The mock
# broker keeps at most 5 MiB per partition (older records are dropped, as by
# retention), so the records go through in rounds of BENCH_ROUND_ROWS: each
# round produces its share, keyed by origin, into a fresh 4-partition topic
# with kcat, then reads that whole topic
#   - with the bare librdkafka consumer test/bench/kafka_consumer, and
#   - with sluice: bench_flights.sql (hourly per-origin COUNT/AVG/MAX, EMIT
#     APPEND) from the Kafka source to the Kafka sink under
#     trigger = available_now,
#   - with sluice again in epochs of BENCH_EPOCH_ROWS records, at least
#     once and exactly once (a checkpoint_dir: a snapshot every epoch and a
#     transactional Kafka sink, one transaction per epoch),
# each in a fresh consumer group.  Both are timed from the group's
# assignment to the end (the bare consumer: its last message; sluice: the
# process's exit, after its last sink flush and offset commit), so the
# coordinator's join delay counts for neither; sluice's span also holds its
# exit (consumer close, producer teardown) in every round.  The times are
# summed over the rounds.  Prints rows/s of all three, the ratio of sluice
# to the bare consumer (target >= 0.70) and the cost of exactly-once.
#
# Environment: BENCH_ROWS (2000000), BENCH_ROUND_ROWS (100000),
# BENCH_EPOCH_ROWS (10000).
# Exit status: 0 target met; 1 missed or a run failed; 2 usage.
set -euo pipefail
die() { echo "kafka_bench: $*" >&2; exit 2; }

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${1:-build}
[[ -d $BUILD_DIR ]] || die "build directory '$BUILD_DIR' does not exist"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
ROWS=${BENCH_ROWS:-2000000}
export ROUND_ROWS=${BENCH_ROUND_ROWS:-100000}
export EPOCH_ROWS=${BENCH_EPOCH_ROWS:-10000}
TARGET_RATIO=0.70

SLUICE=$BUILD_DIR/sluice
GEN=$BUILD_DIR/test/bench/gen_flights
BARE=$BUILD_DIR/test/bench/kafka_consumer
BROKER=$BUILD_DIR/test/sluice-mock-broker
for p in "$SLUICE" "$GEN" "$BARE" "$BROKER"; do
    [[ -x $p ]] || die "'$p' is missing: build it first (cmake --build '$BUILD_DIR')"
done
command -v kcat >/dev/null || die "kcat is missing (Debian: apt-get install kcat)"

WORK=$BUILD_DIR/bench
mkdir -p "$WORK/out"
DATA=$WORK/flights-$ROWS-1d.jsonl
if [[ ! -s $DATA ]]; then
    echo "generating $ROWS rows -> $DATA" >&2
    "$GEN" "$ROWS" 1 "$DATA.tmp" && mv "$DATA.tmp" "$DATA"
fi

# records in a topic: the sum over its partitions of end - start offset
# (kcat -Q with the timestamps -1 and -2)
topic_count() {
    local ends=() starts=() p
    for p in $(kcat -L -b "$1" -t "$2" | sed -n 's/^ *partition \([0-9]*\),.*/\1/p'); do
        ends+=(-t "$2:$p:-1")
        starts+=(-t "$2:$p:-2")
    done
    echo $(( $(kcat -Q -b "$1" "${ends[@]}" | awk '{s += $4} END {print s + 0}') - \
             $(kcat -Q -b "$1" "${starts[@]}" | awk '{s += $4} END {print s + 0}') ))
}

LOG=$WORK/out/kafka
mkdir -p "$LOG"
CHUNKS=$(( (ROWS + ROUND_ROWS - 1) / ROUND_ROWS ))
topics=()
for r in $(seq "$CHUNKS"); do topics+=(--topic "flights-$r:4"); done
broker_pid=
trap '[[ -n $broker_pid ]] && kill "$broker_pid" 2>/dev/null; wait 2>/dev/null || true' EXIT
"$BROKER" --brokers 1 "${topics[@]}" --until-signal >"$LOG/broker.out" 2>"$LOG/broker.err" &
broker_pid=$!
for _ in $(seq 100); do grep -q '^bootstrap=' "$LOG/broker.out" 2>/dev/null && break; sleep 0.1; done
BROKERS=$(sed -n 's/^bootstrap=//p' "$LOG/broker.out")
[[ -n $BROKERS ]] || die "the broker did not start: $(cat "$LOG/broker.err")"
rm -f "$LOG"/chunk-*
split -l "$ROUND_ROWS" -d -a 3 "$DATA" "$LOG/chunk-"

total_bare=0 total_sluice=0 total_rows=0 r=0
for chunk in "$LOG"/chunk-*; do
    r=$((r + 1))
    n=$(wc -l <"$chunk")
    sed -E 's/^(.*"origin":"([^"]*)".*)$/\2\t\1/' "$chunk" | kcat -P -b "$BROKERS" -t "flights-$r" -K $'\t' -z none
    have=$(topic_count "$BROKERS" "flights-$r")
    [[ $have -eq $n ]] || { echo "kafka_bench: topic flights-$r holds $have records, not $n" >&2; exit 1; }

    out=$("$BARE" "$BROKERS" "flights-$r" "bare-$r" "$n") || { echo "kafka_bench: the bare consumer failed" >&2; exit 1; }
    b=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out")

    # sluice: stamp each stderr line; the span starts at the "assigned" line.
    # run_sluice NAME GROUP OUT_TOPIC [ARGS...]: prints the span in seconds
    run_sluice() {
        local name=$1 group=$2 out_topic=$3
        shift 3
        KAFKA_BROKERS=$BROKERS BENCH_TOPIC=flights-$r BENCH_GROUP=$group BENCH_OUT_TOPIC=$out_topic \
            "$SLUICE" run "$SRC_DIR/test/bench/bench_flights.sql" --profile kafka \
            --config "$SRC_DIR/test/bench/kafka_bench.ini" "$@" 2>&1 >/dev/null |
            while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$LOG/$name.log"
        local rc=${PIPESTATUS[0]} end=$EPOCHREALTIME
        [[ $rc -eq 0 ]] || { echo "kafka_bench: sluice exited $rc: $(tail -3 "$LOG/$name.log")" >&2; return 1; }
        local start rows
        start=$(awk '/\(kafka\): assigned/ {print $1; exit}' "$LOG/$name.log")
        rows=$(grep -o '"input_rows":[0-9]*' "$LOG/$name.log" | awk -F: '{s+=$2} END {print s+0}')
        [[ $rows -eq $n ]] || { echo "kafka_bench: sluice read $rows of $n records" >&2; return 1; }
        awk -v a="$start" -v b="$end" 'BEGIN{printf "%.3f", b-a}'
    }
    s=$(run_sluice "sluice-$r" "sluice-$r" "delays-$r") || exit 1
    # epochs of EPOCH_ROWS records, at least once and exactly once (a
    # snapshot and a sink transaction every epoch)
    a=$(run_sluice "sluice-alo-$r" "sluice-alo-$r" "delays-alo-$r" --set "pipeline.max_batch_rows=$EPOCH_ROWS") || exit 1
    rm -rf "$LOG/cp-$r"
    e=$(run_sluice "sluice-eo-$r" "sluice-eo-$r" "delays-eo-$r" --set "pipeline.max_batch_rows=$EPOCH_ROWS" \
        --set "pipeline.checkpoint_dir=$LOG/cp-$r") || exit 1
    rm -rf "$LOG/cp-$r"
    echo "round $r/$CHUNKS: $n records: bare consumer $b s, sluice $s s ($(topic_count "$BROKERS" "delays-$r") result records); epochs of $EPOCH_ROWS: at-least-once $a s, exactly-once $e s" >&2
    total_alo=$(awk -v x="${total_alo:-0}" -v y="$a" 'BEGIN{printf "%.3f", x+y}')
    total_bare=$(awk -v a="$total_bare" -v b="$b" 'BEGIN{printf "%.3f", a+b}')
    total_sluice=$(awk -v a="$total_sluice" -v b="$s" 'BEGIN{printf "%.3f", a+b}')
    total_eo=$(awk -v a="${total_eo:-0}" -v b="$e" 'BEGIN{printf "%.3f", a+b}')
    total_rows=$((total_rows + n))
done
rm -f "$LOG"/chunk-*

awk -v n="$total_rows" -v b="$total_bare" -v s="$total_sluice" -v a="$total_alo" -v e="$total_eo" \
    -v t="$TARGET_RATIO" 'BEGIN {
    rb = n / b; rs = n / s; ra = n / a; re = n / e; ratio = rs / rb
    printf "records        %d (in %s-record rounds)\n", n, ENVIRON["ROUND_ROWS"]
    printf "bare consumer  %8.3f s  %10.0f rows/s\n", b, rb
    printf "sluice         %8.3f s  %10.0f rows/s  (Kafka source -> hourly per-origin aggregation -> Kafka sink)\n", s, rs
    printf "ratio          %8.3f  (target >= %.2f): %s\n", ratio, t, ratio >= t ? "met" : "MISSED"
    printf "epochs of %s records:\n", ENVIRON["EPOCH_ROWS"]
    printf "  at-least-once %8.3f s  %10.0f rows/s\n", a, ra
    printf "  exactly-once  %8.3f s  %10.0f rows/s  (checkpoint_dir: a snapshot and a sink transaction every epoch)\n", e, re
    printf "  exactly-once / at-least-once  %.3f (cost %.1f %%)\n", re / ra, 100 * (1 - re / ra)
    exit !(ratio >= t)
}'
