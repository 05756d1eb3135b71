#!/usr/bin/env bash
# hop_bench.sh [BUILD_DIR] — sliding windows on one core (test/bench/README.md,
# "The sliding-window benchmark"): Nexmark bids (test/nexmark/nexmark_gen)
# through COUNT(*) per auction and window, top 1 per window (Nexmark q5's
# shape), for TUMBLE (one window per row: the baseline), HOP with 5, 10 and
# 60 overlapping windows, and CUMULATE; prints "case | rows/CPU-s" and each
# case's ratio to the TUMBLE baseline measured in the same run.
# Environment: BENCH_EVENTS (2000000 Nexmark events, 92 % of them bids),
# BENCH_RUNS (3; the least CPU time counts), BENCH_CPU (0),
# BENCH_BEFORE (another sluice binary, e.g. a build of an older commit:
# measured in the same run, beside this one).
set -euo pipefail
die() { echo "hop_bench.sh: $*" >&2; exit 2; }
BUILD_DIR=${1:-build}
[[ -x $BUILD_DIR/sluice ]] || die "no $BUILD_DIR/sluice: build first"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SLUICE=$BUILD_DIR/sluice
GEN=$BUILD_DIR/test/nexmark_gen
[[ -x $GEN ]] || die "no $GEN: build first"
EVENTS=${BENCH_EVENTS:-2000000}
RUNS=${BENCH_RUNS:-3}
CPU=${BENCH_CPU:-0}
BEFORE=${BENCH_BEFORE:-}
W=$BUILD_DIR/bench/hop
mkdir -p "$W"
cd "$W"

[[ -s data-$EVENTS/bid.json ]] || { mkdir -p "data-$EVENTS" && "$GEN" --out "data-$EVENTS" --events "$EVENTS" >/dev/null; }
ROWS=$(wc -l < "data-$EVENTS/bid.json")

# the bid source of the Nexmark suite (its watermark: dateTime - 4 s)
source_sql() {
  awk '/^CREATE SOURCE bid/,/^\);/' "$ROOT/test/nexmark/sources.sql"
}

# case name, window TVF
cases=(
  "TUMBLE 2s (1 window a row)|TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND)"
  "HOP 10s/2s (5 windows a row)|HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND)"
  "HOP 10s/1s (10 windows a row)|HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '1' SECOND, INTERVAL '10' SECOND)"
  "HOP 60s/1s (60 windows a row)|HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '1' SECOND, INTERVAL '60' SECOND)"
  "CUMULATE 1s..60s (up to 60 windows a row)|CUMULATE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '1' SECOND, INTERVAL '60' SECOND)"
)

cpu_s() { # user + sys CPU seconds of: $@
  /usr/bin/time -f '%U %S' "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.3f\n", $1 + $2}'
}

best() { # least CPU seconds of RUNS runs of: $@
  local b=""
  for _ in $(seq "$RUNS"); do
    rm -f out.csv out.csv.epoch
    local t; t=$(cpu_s taskset -c "$CPU" "$@")
    if [[ -z $b ]] || awk -v t="$t" -v b="$b" 'BEGIN{exit !(t<b)}'; then b=$t; fi
  done
  echo "$b"
}

printf '[pipeline]\ntrigger = available_now\n[source bid]\npath = data-%s/bid.json\nformat = json\n[sink out]\nconnector = file\nformat = csv\npath = out.csv\n' \
  "$EVENTS" > hop.test.ini

echo "== sliding windows: $ROWS bids, COUNT(*) per auction, top 1 per window, one core (cpu $CPU), best of $RUNS =="
if [[ -n $BEFORE ]]; then
  printf '%-42s | %14s | %9s | %14s\n' "case" "rows/CPU-s" "/ TUMBLE" "before"
else
  printf '%-42s | %14s | %9s\n' "case" "rows/CPU-s" "/ TUMBLE"
fi
base=""
for c in "${cases[@]}"; do
  name=${c%%|*} tvf=${c#*|}
  { source_sql; cat <<SQL
CREATE SINK out AS SELECT window_start, window_end, auction, COUNT(*) AS num
  FROM TABLE($tvf)
  GROUP BY auction, window_start, window_end ORDER BY num DESC LIMIT 1;
SQL
  } > hop.sql
  t=$(best "$SLUICE" run hop.sql --quiet)
  [[ -s out.csv ]] || die "$name: no output (see $W)"
  rate=$(awk -v r="$ROWS" -v t="$t" 'BEGIN{printf "%.2f", r / t / 1e6}')
  [[ -n $base ]] || base=$rate
  ratio=$(awk -v a="$rate" -v b="$base" 'BEGIN{printf "%.2f", a / b}')
  if [[ -n $BEFORE ]]; then
    before="n/a"
    case $name in CUMULATE*) ;; *)
      tb=$(best "$BEFORE" run hop.sql --quiet)
      before=$(awk -v r="$ROWS" -v t="$tb" 'BEGIN{printf "%.2f M", r / t / 1e6}');;
    esac
    printf '%-42s | %12s M | %9s | %14s\n' "$name" "$rate" "$ratio" "$before"
  else
    printf '%-42s | %12s M | %9s\n' "$name" "$rate" "$ratio"
  fi
done
