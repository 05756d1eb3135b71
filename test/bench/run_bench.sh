#!/usr/bin/env bash
# run_bench.sh [BUILD_DIR [JSON_OUT]] — the flights benchmark (README.md).
#
# Uses the programs of an existing build (BUILD_DIR, default: build): sluice,
# test/bench/gen_flights, test/bench/ref_simdjson.  Generates the input under
# BUILD_DIR/bench (kept between runs), runs sluice and the simdjson reference
# pinned to one core, keeps the best of BENCH_RUNS runs, checks sluice's
# output against the reference, prints a report, and writes the figures as
# one JSON line to JSON_OUT when given.
#
# Environment: BENCH_ROWS (2000000), BENCH_BIG_ROWS (20000000; 0 skips the
# memory-scaling run), BENCH_RUNS (3), BENCH_CPU (0).
#
# Exit status: 0 all checks and targets pass; 1 a check or a target fails;
# 2 usage or missing programs.
set -euo pipefail

die() { echo "run_bench: $*" >&2; exit 2; }

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${1:-build}
JSON_OUT=${2:-}
[[ -d $BUILD_DIR ]] || die "build directory '$BUILD_DIR' does not exist (configure and build first: cmake -B build && cmake --build build)"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)

ROWS=${BENCH_ROWS:-2000000}
BIG_ROWS=${BENCH_BIG_ROWS:-20000000}
RUNS=${BENCH_RUNS:-3}
CPU=${BENCH_CPU:-0}
[[ $ROWS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROWS '$ROWS' must be a positive integer"
[[ $BIG_ROWS =~ ^[0-9]+$ ]] || die "BENCH_BIG_ROWS '$BIG_ROWS' must be a non-negative integer"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS '$RUNS' must be a positive integer"

TARGET_ROWS_PER_CPU_S=2000000
TARGET_RATIO=0.5
TARGET_RSS_GROWTH=1.5

SLUICE=$BUILD_DIR/sluice
GEN=$BUILD_DIR/test/bench/gen_flights
REF=$BUILD_DIR/test/bench/ref_simdjson
PIPELINE=$SRC_DIR/test/bench/bench_flights.sql
for p in "$SLUICE" "$GEN" "$REF"; do
    [[ -x $p ]] || die "'$p' is missing: build it first (cmake --build '$BUILD_DIR')"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (Debian: apt-get install time)"
command -v taskset >/dev/null || die "taskset is missing (Debian: apt-get install util-linux)"
taskset -c "$CPU" true 2>/dev/null || die "cannot pin to CPU $CPU (set BENCH_CPU to an allowed CPU)"

WORK=$BUILD_DIR/bench
mkdir -p "$WORK/out"

# gen N DAYS -> path of the (cached) data file
gen() {
    local n=$1 days=$2 f=$WORK/flights-$1-$2d.jsonl
    if [[ ! -s $f ]]; then
        echo "generating $n rows over $days day(s) -> $f" >&2
        "$GEN" "$n" "$days" "$f.tmp" || die "gen_flights failed"
        mv "$f.tmp" "$f"
    fi
    echo "$f"
}

# measure NAME CMD... : run CMD pinned to one core; sets M_CPU M_WALL M_RSS
# (CPU seconds user+sys, wall seconds, peak RSS in KiB).
measure() {
    local name=$1; shift
    local tf=$WORK/out/$name.time log=$WORK/out/$name.log
    if ! taskset -c "$CPU" /usr/bin/time -f '%U %S %e %M' -o "$tf" "$@" >"$log" 2>&1; then
        echo "run_bench: $name failed: $*" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
    read -r u s e m < <(tail -n 1 "$tf")
    M_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
    M_WALL=$e
    M_RSS=$m
}

# best NAME CMD... : RUNS measurements; sets B_CPU B_WALL (of the run with the
# least CPU time) and B_RSS (the least peak RSS).
best() {
    local name=$1; shift
    B_CPU=; B_WALL=; B_RSS=
    for ((i = 1; i <= RUNS; i++)); do
        pre_run
        measure "$name" "$@"
        printf '  %-14s run %d: cpu %6.2f s  wall %6.2f s  peak RSS %8d KiB\n' "$name" "$i" "$M_CPU" "$M_WALL" "$M_RSS" >&2
        if [[ -z $B_CPU ]] || awk -v a="$M_CPU" -v b="$B_CPU" 'BEGIN { exit !(a < b) }'; then
            B_CPU=$M_CPU; B_WALL=$M_WALL
        fi
        if [[ -z $B_RSS ]] || (( M_RSS < B_RSS )); then B_RSS=$M_RSS; fi
    done
}

pre_run() { :; }

sluice_cmd() { # DATA CSV -> SL_ARGS
    SL_ARGS=("$SLUICE" run "$PIPELINE" --profile test --quiet \
        --set "source flights.path=$1" \
        --set "sink delays_by_origin.connector=file" \
        --set "sink delays_by_origin.path=$2" \
        --set "sink delays_by_origin.format=csv")
}

# check_output CSV REF_LINE LABEL : sluice's CSV against the reference's totals.
CHECKS_OK=1
check_output() {
    local csv=$1 ref=$2 label=$3
    local want_rows want_groups want_max want_sum
    want_rows=$(sed -n 's/.*rows=\([0-9]*\).*/\1/p' <<<"$ref")
    want_groups=$(sed -n 's/.*groups=\([0-9]*\).*/\1/p' <<<"$ref")
    want_max=$(sed -n 's/.*max_sum=\(-\{0,1\}[0-9]*\).*/\1/p' <<<"$ref")
    want_sum=$(sed -n 's/.*delay_sum=\(-\{0,1\}[0-9]*\).*/\1/p' <<<"$ref")
    [[ -f $csv ]] || { echo "  $label: FAIL: sluice wrote no output file $csv" >&2; CHECKS_OK=0; return; }
    local got
    got=$(awk -F, '
        { gsub(/"/, "") }
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i
                  if (!("flights" in col) || !("avg_delay" in col) || !("max_delay" in col)) {
                      print "bad-header"; exit }
                  next }
        { groups++; n = $col["flights"]; rows += n; maxsum += $col["max_delay"]
          s = $col["avg_delay"] * n; sum += (s < 0) ? int(s - 0.5) : int(s + 0.5) }
        END { if (!("flights" in col)) exit; printf "%d %d %d %d\n", groups, rows, sum, maxsum }' "$csv")
    local got_groups got_rows got_sum got_max
    read -r got_groups got_rows got_sum got_max <<<"$got"
    if [[ $got_groups == "$want_groups" && $got_rows == "$want_rows" && $got_sum == "$want_sum" &&
          $got_max == "$want_max" ]]; then
        echo "  $label: OK: $got_groups groups, $got_rows rows, sum of avg_delay*flights $got_sum," \
             "sum of max_delay $got_max (= reference)" >&2
    else
        echo "  $label: FAIL: sluice groups/rows/sum(avg_delay*flights)/sum(max_delay) = ${got:-<empty>}," \
             "reference = $want_groups $want_rows $want_sum $want_max" >&2
        CHECKS_OK=0
    fi
}

echo "sluice flights benchmark: $ROWS rows, best of $RUNS, pinned to CPU $CPU" >&2
DATA=$(gen "$ROWS" 1)
CSV=$WORK/out/delays-$ROWS.csv

echo "reference (simdjson On-Demand + hash aggregate):" >&2
best ref "$REF" "$DATA"
REF_CPU=$B_CPU REF_WALL=$B_WALL REF_RSS=$B_RSS
REF_LINE=$(cat "$WORK/out/ref.log")
echo "  $REF_LINE" >&2

echo "sluice run bench_flights.sql:" >&2
pre_run() { rm -f "$CSV"; }
sluice_cmd "$DATA" "$CSV"
best sluice "${SL_ARGS[@]}"
pre_run() { :; }
SL_CPU=$B_CPU SL_WALL=$B_WALL SL_RSS=$B_RSS
check_output "$CSV" "$REF_LINE" "$ROWS rows"

BIG_RSS=0 BIG_CPU=0
if (( BIG_ROWS > 0 )); then
    BIG_DAYS=$(( (BIG_ROWS + ROWS - 1) / ROWS ))
    echo "memory scaling: $BIG_ROWS rows over $BIG_DAYS days (same rate per hour):" >&2
    BIG_DATA=$(gen "$BIG_ROWS" "$BIG_DAYS")
    BIG_CSV=$WORK/out/delays-$BIG_ROWS.csv
    measure ref_big "$REF" "$BIG_DATA"
    BIG_REF_LINE=$(cat "$WORK/out/ref_big.log")
    echo "  reference: $BIG_REF_LINE" >&2
    pre_run() { rm -f "$BIG_CSV"; }
    sluice_cmd "$BIG_DATA" "$BIG_CSV"
    best sluice_big "${SL_ARGS[@]}"
    pre_run() { :; }
    BIG_RSS=$B_RSS BIG_CPU=$B_CPU
    check_output "$BIG_CSV" "$BIG_REF_LINE" "$BIG_ROWS rows"
fi

# ---- report ----
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
SL_RATE=$(calc '%.0f' "$ROWS / ($SL_CPU > 0 ? $SL_CPU : 0.01)")
REF_RATE=$(calc '%.0f' "$ROWS / ($REF_CPU > 0 ? $REF_CPU : 0.01)")
RATIO=$(calc '%.3f' "$SL_RATE / $REF_RATE")
verdict() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { ok = (op == ">=") ? a >= b : a <= b; print ok ? "PASS" : "FAIL" }'; }
V_RATE=$(verdict "$SL_RATE" ">=" "$TARGET_ROWS_PER_CPU_S")
V_RATIO=$(verdict "$RATIO" ">=" "$TARGET_RATIO")
if (( BIG_ROWS > 0 )); then
    GROWTH=$(calc '%.2f' "$BIG_RSS / $SL_RSS")
    V_RSS=$(verdict "$GROWTH" "<=" "$TARGET_RSS_GROWTH")
else
    GROWTH=null V_RSS=SKIP
fi
V_CHECK=$([[ $CHECKS_OK == 1 ]] && echo PASS || echo FAIL)

mrows() { calc '%.2f' "$1 / 1000000"; }
mib() { calc '%.1f' "$1 / 1024"; }
cat <<REPORT

== sluice flights benchmark ==
input            $ROWS rows, 300 origins, one day in time order; TUMBLE 1 HOUR per origin, COUNT/AVG/MAX -> CSV file
pinned to        CPU $CPU, best of $RUNS runs
sluice           $SL_CPU CPU-s ($SL_WALL s wall)  $(mrows "$SL_RATE") M rows/CPU-s   peak RSS $(mib "$SL_RSS") MiB
reference        $REF_CPU CPU-s ($REF_WALL s wall)  $(mrows "$REF_RATE") M rows/CPU-s   peak RSS $(mib "$REF_RSS") MiB (input held in memory)
ratio            $RATIO  (sluice / reference)
peak RSS         $(mib "$SL_RSS") MiB at $ROWS rows, $( ((BIG_ROWS > 0)) && echo "$(mib "$BIG_RSS") MiB at $BIG_ROWS rows (x$GROWTH)" || echo "large run skipped")

[$V_CHECK] output matches the reference (groups, rows, sums of AVG*COUNT and MAX)
[$V_RATE] sluice >= $(mrows $TARGET_ROWS_PER_CPU_S) M rows/CPU-s
[$V_RATIO] ratio >= $TARGET_RATIO
[$V_RSS] $( ((BIG_ROWS > 0)) && echo "peak RSS at $BIG_ROWS rows <= ${TARGET_RSS_GROWTH}x peak RSS at $ROWS rows" || echo "peak RSS growth (large run skipped: BENCH_BIG_ROWS=0)")
REPORT

if [[ -n $JSON_OUT ]]; then
    mkdir -p "$(dirname "$JSON_OUT")"
    printf '{"rows":%s,"runs":%s,"cpu":%s,"sluice_cpu_s":%s,"sluice_wall_s":%s,"sluice_rows_per_cpu_s":%s,"ref_cpu_s":%s,"ref_wall_s":%s,"ref_rows_per_cpu_s":%s,"ratio":%s,"rss_kib":%s,"big_rows":%s,"big_sluice_cpu_s":%s,"big_rss_kib":%s,"rss_growth":%s,"output_check":"%s","rate_target":"%s","ratio_target":"%s","rss_target":"%s"}\n' \
        "$ROWS" "$RUNS" "$CPU" "$SL_CPU" "$SL_WALL" "$SL_RATE" "$REF_CPU" "$REF_WALL" "$REF_RATE" "$RATIO" \
        "$SL_RSS" "$BIG_ROWS" "$BIG_CPU" "$BIG_RSS" "$GROWTH" "$V_CHECK" "$V_RATE" "$V_RATIO" "$V_RSS" >"$JSON_OUT"
    echo "figures written to $JSON_OUT"
fi

[[ $V_CHECK == PASS && $V_RATE == PASS && $V_RATIO == PASS && $V_RSS != FAIL ]] || exit 1
