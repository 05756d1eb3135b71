#!/usr/bin/env bash
# checkpoint_bench.sh [BUILD_DIR] — what exactly-once costs (README.md,
# "Exactly once"):
#   1. throughput of the flights benchmark pipeline with and without a
#      checkpoint_dir (one snapshot per epoch), in the same run;
#   2. the size of a state snapshot holding 1,000,000 keys;
#   3. the time to recover that state (a restart that only restores it; best
#      wall time of 3), with the restart's peak resident set (RSS), reported
#      per GB of snapshot and per GB of RSS (the target: under 1 s per GB).
# Uses sluice and test/bench/gen_flights of an existing optimised build.
# Environment: BENCH_ROWS (2000000), BENCH_KEYS (1000000), BENCH_EPOCH_ROWS
# (65536: rows per micro-batch of the throughput runs).
set -euo pipefail
die() { echo "checkpoint_bench.sh: $*" >&2; exit 2; }
BUILD_DIR=${1:-build}
[[ -x $BUILD_DIR/sluice ]] || die "no $BUILD_DIR/sluice: build first"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SLUICE=$BUILD_DIR/sluice
GEN=$BUILD_DIR/test/bench/gen_flights
W=$BUILD_DIR/bench/checkpoint
ROWS=${BENCH_ROWS:-2000000}
KEYS=${BENCH_KEYS:-1000000}
EPOCH_ROWS=${BENCH_EPOCH_ROWS:-65536}   # rows per micro-batch (max_batch_rows): one snapshot each
mkdir -p "$W"
cd "$W"

cpu() { /usr/bin/time -f '%U %S %e' "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.3f %.3f\n", $1 + $2, $3}'; }

# 1. throughput with and without checkpoints
[[ -s flights.jsonl ]] || "$GEN" "$ROWS" 1 flights.jsonl >/dev/null
cat > f.sql <<SQL
$(cat "$ROOT/test/bench/bench_flights.sql")
SQL
printf '[pipeline]\ntrigger = available_now\nmax_batch_rows = %s\n[source flights]\npath = flights.jsonl\n[sink delays_by_origin]\nconnector = file\npath = out.csv\n' "$EPOCH_ROWS" > f.test.ini
best() { # best CPU seconds of 3 runs of: $@
  local b=""
  for _ in 1 2 3; do
    rm -rf cp out.csv out.csv.epoch
    local t; t=$(cpu "$@" | awk '{print $1}')
    if [[ -z $b ]] || awk -v t="$t" -v b="$b" 'BEGIN{exit !(t<b)}'; then b=$t; fi
  done
  echo "$b"
}
plain=$(best taskset -c 0 "$SLUICE" run f.sql --quiet)
ckpt=$(best taskset -c 0 "$SLUICE" run f.sql --quiet --set pipeline.checkpoint_dir=cp)
epochs=$(( (ROWS + EPOCH_ROWS - 1) / EPOCH_ROWS ))

# 2. and 3. a snapshot of 1,000,000 keys, and its recovery
python3 - "$KEYS" > keys.jsonl <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print('{"k":"key-%07d","v":%d}' % (i, i % 1000))
PY
cat > k.sql <<'SQL'
CREATE SOURCE ev (k VARCHAR, v BIGINT);
CREATE SINK per_key AS SELECT k, COUNT(*) AS n, SUM(v) AS total FROM ev GROUP BY k EMIT UPDATE;
SQL
printf '[pipeline]\ntrigger = available_now\ncheckpoint_dir = kcp\n[source ev]\npath = keys.jsonl\n[sink per_key]\nconnector = file\npath = keys-out.csv\n' > k.test.ini
rm -rf kcp keys-out.csv keys-out.csv.epoch
first=$(cpu "$SLUICE" run k.sql --quiet)
snap=$(ls kcp/state | tail -1)
size=$(stat -c %s "kcp/state/$snap")
# a restart restores the snapshot and finds no new input; best wall of 3
rec_wall="" rss_kb=""
for _ in 1 2 3; do
  r=$(/usr/bin/time -f '%e %M' "$SLUICE" run k.sql --quiet 2>&1 >/dev/null | tail -1)
  w=${r% *} m=${r#* }
  if [[ -z $rec_wall ]] || awk -v t="$w" -v b="$rec_wall" 'BEGIN{exit !(t<b)}'; then rec_wall=$w rss_kb=$m; fi
done

awk -v plain="$plain" -v ckpt="$ckpt" -v rows="$ROWS" -v epochs="$epochs" -v keys="$KEYS" -v size="$size" \
    -v rec="$rec_wall" -v rss="$rss_kb" -v first="$first" 'BEGIN {
  printf "== checkpoint benchmark ==\n"
  printf "throughput       %d rows, %d epochs, one core\n", rows, epochs
  printf "  no checkpoint  %.3f CPU-s  %.2f M rows/CPU-s\n", plain, rows / plain / 1e6
  printf "  checkpointed   %.3f CPU-s  %.2f M rows/CPU-s  (%.1f%% cost)\n", ckpt, rows / ckpt / 1e6, (ckpt / plain - 1) * 100
  printf "snapshot         %d keys: %.1f MB, %.0f bytes per key\n", keys, size / 1e6, size / keys
  printf "recovery         %.3f s wall for the whole restart (process start, restore, exit), peak RSS %.1f MB\n", rec, rss / 1024
  printf "  per GB         %.2f s per GB of snapshot, %.2f s per GB of RSS (target < 1)\n", rec / (size / 1e9), rec / (rss * 1024 / 1e9)
  printf "  summary        restore_s=%.3f snapshot_mb=%.1f rss_mb=%.1f s_per_gb_snapshot=%.2f s_per_gb_rss=%.2f\n", rec, size / 1e6, rss / 1024, rec / (size / 1e9), rec / (rss * 1024 / 1e9)
  printf "first run        %s (CPU-s, wall-s) to build the state\n", first
}'
