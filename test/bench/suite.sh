#!/usr/bin/env bash
# suite.sh [BUILD_DIR] — the benchmark suite (README.md, "The suite"): every
# row of the one-core performance table, each against its reference in the
# same run, printed as one table
#   path | sluice | reference | ratio | target | met?
#
# Rows and the scripts that measure them:
#   flights TUMBLE -> CSV       run_bench.sh (simdjson reference), >= 0.8x
#   JSON -> JSON pass-through   passthrough_bench.sh, >= 0.6x its reference
#   HOP 10 s / 2 s, top 1       hop_bench.sh, >= 1.5 M rows/CPU-s
#   checkpoint every epoch      checkpoint_bench.sh with epochs of 20,000
#                               rows: cost <= 5 % CPU
#   Kafka -> window -> Kafka    kafka_bench.sh (bare librdkafka consumer),
#                               >= 0.9x
#   resident state, 10 M keys   state_bench.sh, <= 100 B per (window, key)
#   restore 1 M keys            checkpoint_bench.sh, <= 0.3 s per GB resident
#   latency at 100 k rows/s     latency_bench.sh, p99 <= trigger + 50 ms
# A script that is not there prints "not built" in its row.  A script may
# print one line
#   suite: sluice=FIGURE reference=FIGURE ratio=R [met=yes|no]
# (FIGUREs as text without blanks, e.g. "2.31M/CPU-s"): the suite shows
# it as its row;
# without one it takes the first number of a line starting with "ratio".
#
# Every script's whole output is kept in BUILD_DIR/bench/suite/NAME.log.
# Environment: SUITE_ONLY (space-separated row names: flights passthrough
# hop checkpoint kafka state latency; default all), SUITE_KAFKA_ROWS
# (500000), SUITE_SMOKE=1 (run nothing: print the table with each row's
# script present and parsing, or not built; the ctest smoke test), and each script's own variables
# (BENCH_RUNS, BENCH_CPU, ...).
# Exit status: 0 every measured target met; 1 one missed or failed; 2 usage.
set -uo pipefail
die() { echo "suite: $*" >&2; exit 2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD_DIR=${1:-build}
[[ -d $BUILD_DIR ]] || die "build directory '$BUILD_DIR' does not exist"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
ONLY=${SUITE_ONLY:-flights passthrough hop checkpoint kafka state latency}
SMOKE=${SUITE_SMOKE:-0}
LOGS=$BUILD_DIR/bench/suite
mkdir -p "$LOGS"

ROWS=()   # "path|sluice|reference|ratio|target|met"
add() { ROWS+=("$1|$2|$3|$4|$5|$6"); printf 'suite: %s: %s\n' "$1" "$6" >&2; }
wanted() { [[ " $ONLY " == *" $1 "* ]]; }
# ge A B / le A B: numeric comparison as yes/no
ge() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 >= b + 0) ? "yes" : "no" }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 <= b + 0) ? "yes" : "no" }'; }

# run NAME SCRIPT [ENV=VALUE...]: runs test/bench/SCRIPT BUILD_DIR with the
# given environment; its output goes to LOGS/NAME.log.  Returns 3 when the
# script is not there, else the script's status (nonzero is not fatal:
# the scripts exit 1 on their own, older targets).
run() {
    local name=$1 script=$2
    shift 2
    [[ -x $HERE/$script ]] || return 3
    echo "suite: running $script ..." >&2
    env "$@" "$HERE/$script" "$BUILD_DIR" >"$LOGS/$name.log" 2>&1
}

# generic NAME SCRIPT PATH TARGET_TEXT MIN_RATIO: a script of its own format
generic() {
    local name=$1 script=$2 path=$3 target=$4 min=$5 st=0
    run "$name" "$script" || st=$?
    if ((st == 3)); then add "$path" "-" "-" "-" "$target" "not built"; return; fi
    local line s r x m
    line=$(grep -m1 '^suite: ' "$LOGS/$name.log" || true)
    if [[ -n $line ]]; then
        s=$(sed -n 's/.* sluice=\([^ ]*\).*/\1/p' <<<"$line")
        r=$(sed -n 's/.* reference=\([^ ]*\).*/\1/p' <<<"$line")
        x=$(sed -n 's/.* ratio=\([^ ]*\).*/\1/p' <<<"$line")
        m=$(sed -n 's/.* met=\([^ ]*\).*/\1/p' <<<"$line")
    else
        x=$(awk '/^ratio/ { if (match($0, /[0-9]+\.?[0-9]*/)) { print substr($0, RSTART, RLENGTH); exit } }' "$LOGS/$name.log")
    fi
    [[ -z ${m:-} && -n ${x:-} && -n $min ]] && m=$(ge "$x" "$min")
    [[ -z ${m:-} ]] && m=$( ((st == 0)) && echo "see log" || echo "failed (exit $st)")
    add "$path" "${s:--}" "${r:--}" "${x:--}" "$target" "$m"
}

if ((SMOKE)); then
    # each row's script: present and parses (bash -n), or not built
    for p in flights:run_bench.sh passthrough:passthrough_bench.sh hop:hop_bench.sh \
             checkpoint:checkpoint_bench.sh kafka:kafka_bench.sh state:state_bench.sh \
             restore:checkpoint_bench.sh latency:latency_bench.sh; do
        f=$HERE/${p#*:}
        if [[ ! -x $f ]]; then m="not built"
        elif bash -n "$f" 2>"$LOGS/smoke.err"; then m="skipped (${p#*:} present)"
        else m="failed (${p#*:} does not parse)"; fi
        add "${p%%:*}" - - - - "$m"
    done
else
    if wanted flights; then
        st=0
        run flights run_bench.sh BENCH_BIG_ROWS=0 || st=$?
        l=$LOGS/flights.log
        s=$(awk '/^sluice +[0-9]/{print $7}' "$l"); r=$(awk '/^reference +[0-9]/{print $7}' "$l")
        x=$(awk '/^ratio /{print $2}' "$l")
        if [[ -n $x ]]; then
            add "JSON -> hourly TUMBLE COUNT/AVG/MAX per origin -> CSV" "${s}M/CPU-s" "${r}M/CPU-s (simdjson)" "$x" ">= 0.8" "$(ge "$x" 0.8)"
        else
            add "JSON -> hourly TUMBLE -> CSV" - - - ">= 0.8" "failed (exit $st)"
        fi
    fi
    wanted passthrough && generic passthrough passthrough_bench.sh "JSON -> JSON pass-through, 5 columns (q0)" ">= 0.6" 0.6
    wanted hop && generic hop hop_bench.sh "HOP 10 s / 2 s, COUNT per key, top 1 (q5)" ">= 1.5M/CPU-s" ""
    if wanted checkpoint; then
        st=0
        run checkpoint checkpoint_bench.sh BENCH_EPOCH_ROWS=20000 || st=$?
        l=$LOGS/checkpoint.log
        plain=$(awk '$1 == "no" && $2 == "checkpoint" {print $5}' "$l"); ck=$(awk '$1 == "checkpointed" {print $4}' "$l")
        cost=$(sed -n 's/.*(\(-\{0,1\}[0-9.]*\)% cost).*/\1/p' "$l")
        if [[ -n $cost ]]; then
            add "checkpoint every epoch (20,000 rows)" "${ck}M/CPU-s" "${plain}M/CPU-s (no checkpoint)" \
                "$(awk -v a="$ck" -v b="$plain" 'BEGIN{printf "%.3f", a / b}') (cost ${cost}%)" "cost <= 5%" "$(le "$cost" 5)"
        else
            add "checkpoint every epoch (20,000 rows)" - - - "cost <= 5%" "failed (exit $st)"
        fi
        rs=$(sed -n 's/.*s_per_gb_rss=\([0-9.]*\).*/\1/p' "$l"); rss=$(sed -n 's/.*rss_mb=\([0-9.]*\).*/\1/p' "$l")
        rw=$(sed -n 's/.*restore_s=\([0-9.]*\).*/\1/p' "$l")
        if [[ -n $rs ]]; then
            add "restore 1 M keys" "${rs} s/GB (${rw} s, ${rss} MB)" "-" "-" "<= 0.3 s/GB" "$(le "$rs" 0.3)"
        else
            add "restore 1 M keys" - - - "<= 0.3 s/GB" "failed (exit $st)"
        fi
    fi
    if wanted kafka; then
        st=0
        run kafka kafka_bench.sh BENCH_ROWS="${SUITE_KAFKA_ROWS:-500000}" || st=$?
        l=$LOGS/kafka.log
        b=$(awk '/^bare consumer/{print $5}' "$l"); s=$(awk '/^sluice /{print $4}' "$l"); x=$(awk '/^ratio /{print $2}' "$l")
        if [[ -n $x ]]; then
            add "Kafka -> window -> Kafka" "$s rows/s" "$b rows/s (librdkafka)" "$x" ">= 0.9" "$(ge "$x" 0.9)"
        else
            add "Kafka -> window -> Kafka" - - - ">= 0.9" "failed (exit $st)"
        fi
    fi
    wanted state && generic state state_bench.sh "resident state, 10 M keys, COUNT/SUM" "<= 100 B/key" ""
    if wanted latency; then
        st=0
        run latency latency_bench.sh BENCH_RATES=100000 || st=$?
        l=$LOGS/latency.log
        found=0
        while read -r rate trig achieved p50 p99 p999 mx _ target _ met; do
            [[ $rate =~ ^[0-9]+$ ]] || continue
            found=1
            add "latency, Kafka -> Kafka, ${rate} rows/s (fed $achieved), trigger $trig" \
                "p99 ${p99} ms (p50 $p50, p99.9 $p999, max $mx)" "-" "-" \
                "p99 <= $target ms" "$met"
        done <"$l"
        ((found)) || add "latency at 100 k rows/s" - - - "p99 <= trigger + 50 ms" "failed (exit $st)"
    fi
fi

echo
echo "== sluice benchmark suite ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs; logs in $LOGS) =="
printf '| %s | %s | %s | %s | %s | %s |\n' path sluice reference ratio target "met?"
printf '| --- | --- | --- | --- | --- | --- |\n'
rc=0
for row in "${ROWS[@]}"; do
    IFS='|' read -r p s r x t m <<<"$row"
    printf '| %s | %s | %s | %s | %s | %s |\n' "$p" "$s" "$r" "$x" "$t" "$m"
    [[ $m == no || $m == NO* || $m == failed* ]] && rc=1
done
exit $rc
