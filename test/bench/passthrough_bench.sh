#!/usr/bin/env bash
# passthrough_bench.sh [BUILD_DIR] — JSON -> JSON pass-through of 5 columns
# (Nexmark q0's shape: SELECT auction, bidder, price, dateTime, extra FROM
# bid) against ref_passthrough (simdjson On-Demand, one large output
# buffer), both pinned to one core (README.md, "Pass-through").
#
# Generates (once, into BUILD_DIR/bench/passthrough/, reused while the count
# is the same) BENCH_PT_BIDS bids (default 2,000,000) with nexmark_gen, runs
# sluice and the reference BENCH_RUNS times each (default 3), alternating,
# under GNU time on CPU BENCH_CPU (default 0); the run with the least CPU
# time (user + sys) counts, and the spread (slowest / fastest) is shown.
# Checks that sluice's output equals the reference's byte for byte.
#
# Prints to stderr each run, then to stdout one line for the suite:
#   case | sluice rows/CPU-s | reference rows/CPU-s | ratio
#   passthrough_q0 | 2712345 | 3901234 | 0.695
#
# Exit status: 0 the outputs match; 1 a run fails or the outputs differ;
# 2 usage or missing programs.
set -euo pipefail

die() { echo "passthrough_bench: $*" >&2; exit 2; }

BUILD_DIR=${1:-build}
[[ -d $BUILD_DIR ]] || die "build directory '$BUILD_DIR' does not exist (ci/build.sh build)"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
BIDS=${BENCH_PT_BIDS:-2000000}
RUNS=${BENCH_RUNS:-3}
CPU=${BENCH_CPU:-0}
[[ $BIDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_PT_BIDS '$BIDS' must be a positive integer"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS '$RUNS' must be a positive integer"

SLUICE=$BUILD_DIR/sluice
GEN=$BUILD_DIR/test/nexmark_gen
REF=$BUILD_DIR/test/bench/ref_passthrough
for p in "$SLUICE" "$GEN" "$REF" /usr/bin/time; do
    [[ -x $p ]] || die "'$p' is missing: build it first (cmake --build '$BUILD_DIR'; GNU time: Debian package time)"
done
command -v taskset >/dev/null || die "taskset is missing (Debian: apt-get install util-linux)"
taskset -c "$CPU" true 2>/dev/null || die "cannot pin to CPU $CPU (set BENCH_CPU to an allowed CPU)"

WORK=$BUILD_DIR/bench/passthrough
DATA=$WORK/data
OUT=$WORK/out
mkdir -p "$OUT"
# the fewest events with BIDS bids: each round of 50 events is 1 person,
# 3 auctions, then 46 bids
events=$(( BIDS / 46 * 50 + (BIDS % 46 > 0 ? 4 + BIDS % 46 : 0) ))
if [[ "$(cat "$DATA/EVENTS" 2>/dev/null)" != "$events" ]]; then
    rm -rf "$DATA" && mkdir -p "$DATA"
    echo "generating $events events ($BIDS bids) into $DATA" >&2
    "$GEN" --out "$DATA" --events "$events" >&2 || die "nexmark_gen failed"
    echo "$events" > "$DATA/EVENTS"
fi
rows=$(wc -l < "$DATA/bid.json")

cat > "$OUT/pipeline.sql" <<'SQL'
CREATE SOURCE bid (
    auction  BIGINT,
    bidder   BIGINT,
    price    BIGINT,
    channel  VARCHAR,
    url      VARCHAR,
    dateTime TIMESTAMP,
    extra    VARCHAR
);
CREATE SINK passthrough AS SELECT auction, bidder, price, `dateTime`, extra FROM bid;
SQL
cat > "$OUT/profile.ini" <<INI
[pipeline]
trigger = available_now

[source bid]
path   = $DATA/bid.json
format = json

[sink passthrough]
connector = file
path      = $OUT/sluice.json
format    = json
INI

# measure CMD... : pinned to one core; prints CPU seconds (user + sys)
measure() {
    local tf=$OUT/time log=$OUT/log
    if ! taskset -c "$CPU" /usr/bin/time -f '%U %S' -o "$tf" "$@" >"$log" 2>&1; then
        echo "passthrough_bench: failed: $*" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
    awk '{ printf "%.3f", $1 + $2 }' < <(tail -n 1 "$tf")
}

sl_best=; ref_best=; sl_worst=; ref_worst=
for ((i = 1; i <= RUNS; i++)); do
    rm -f "$OUT/sluice.json" "$OUT/sluice.json.epoch"
    s=$(measure "$SLUICE" run "$OUT/pipeline.sql" --config "$OUT/profile.ini" --quiet)
    r=$(measure "$REF" "$DATA/bid.json" "$OUT/ref.json")
    printf '  run %d: sluice %6.3f CPU-s  reference %6.3f CPU-s\n' "$i" "$s" "$r" >&2
    for v in sl ref; do
        x=$([[ $v == sl ]] && echo "$s" || echo "$r")
        b=${v}_best w=${v}_worst
        if [[ -z ${!b} ]] || awk -v a="$x" -v b="${!b}" 'BEGIN { exit !(a < b) }'; then printf -v "$b" '%s' "$x"; fi
        if [[ -z ${!w} ]] || awk -v a="$x" -v b="${!w}" 'BEGIN { exit !(a > b) }'; then printf -v "$w" '%s' "$x"; fi
    done
done

if ! cmp -s "$OUT/sluice.json" "$OUT/ref.json"; then
    echo "passthrough_bench: FAIL: sluice's output differs from the reference's:" >&2
    cmp "$OUT/sluice.json" "$OUT/ref.json" >&2 || true
    exit 1
fi
awk -v n="$rows" -v s="$sl_best" -v r="$ref_best" -v sw="$sl_worst" -v rw="$ref_worst" 'BEGIN {
    printf "  %d rows; spread (slowest/fastest run): sluice %.2f, reference %.2f\n", n, sw / s, rw / r > "/dev/stderr"
    printf "case | sluice rows/CPU-s | reference rows/CPU-s | ratio\n"
    printf "passthrough_q0 | %.0f | %.0f | %.3f\n", n / s, n / r, (n / s) / (n / r)
}'
