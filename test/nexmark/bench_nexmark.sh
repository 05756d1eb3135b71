#!/usr/bin/env bash
# bench_nexmark.sh BUILD_DIR [QUERIES] — the Nexmark queries on one core.
#
# Generates (once, into BUILD_DIR/bench/nexmark/, reused while the count is
# the same) NEXMARK_BIDS bids (default 2,000,000) with persons and auctions
# in the generator's proportions 1:3:46 (2 M bids: 2,173,916 events), at the
# generator's default rate (10,000 events/s of event time), then runs each
# query (default q0..q22) pinned to one core (taskset -c $BENCH_CPU, default
# 0) under GNU time, NEXMARK_RUNS times (default 1); the run with the least
# CPU time counts.  Prints per query: status, input rows (sluice's rows_in:
# the records of the three sources), output rows, CPU-s (user + sys), rows
# per CPU-s, wall time and peak RSS.  A query that does not run prints its
# status `error` and no figures.  Not run by ctest; use a RelWithDebInfo or
# Release build.  Outputs and logs: BUILD_DIR/bench/nexmark/out/.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: bench_nexmark.sh BUILD_DIR [QUERIES]}" && pwd)
queries=${2:-$(for i in $(seq 0 22); do printf 'q%d ' "$i"; done)}
bids=${NEXMARK_BIDS:-2000000}
runs=${NEXMARK_RUNS:-1}
cpu=${BENCH_CPU:-0}
sluice=$build/sluice
gen=$build/test/nexmark_gen
for tool in "$sluice" "$gen" /usr/bin/time; do
  [ -x "$tool" ] || { echo "bench_nexmark.sh: $tool not found (build first; GNU time: Debian package time)" >&2; exit 2; }
done
command -v taskset >/dev/null || { echo "bench_nexmark.sh: taskset not found (util-linux)" >&2; exit 2; }

# the fewest events with `bids` bids: each round of 50 events is 1 person,
# 3 auctions, then 46 bids
events=$(( bids / 46 * 50 + (bids % 46 > 0 ? 4 + bids % 46 : 0) ))
dir=$build/bench/nexmark
data=$dir/data
if [ "$(cat "$data/EVENTS" 2>/dev/null)" != "$events" ]; then
  rm -rf "$data" && mkdir -p "$data" || exit 2
  echo "generating $events events into $data ..."
  "$gen" --out "$data" --events "$events" || exit 2
  echo "$events" > "$data/EVENTS"
fi
out=$dir/out
rm -rf "$out" && mkdir -p "$out" || exit 2

printf '%s events: %s persons, %s auctions, %s bids; %s run(s) per query on CPU %s\n\n' "$events" \
  "$(wc -l < "$data/person.json")" "$(wc -l < "$data/auction.json")" "$(wc -l < "$data/bid.json")" "$runs" "$cpu"
printf '%-5s | %-6s | %9s | %9s | %7s | %12s | %7s | %9s\n' query status rows_in rows_out CPU-s rows/CPU-s wall-s 'RSS MiB'
printf -- '------+--------+-----------+-----------+---------+--------------+---------+----------\n'
for q in $queries; do
  qd=$out/$q
  mkdir -p "$qd"
  { cat "$here/sources.sql"; echo
    awk '!/^[[:space:]]*--/ { text = text $0 "\n" }
         END { sub(/[[:space:]]*;[[:space:]]*$/, "", text)
               cut = 0
               for (i = length(text); i > 0; i--) if (substr(text, i, 1) == ";") { cut = i; break }
               printf "%s\nCREATE SINK nexmark_%s AS\n%s;\n", substr(text, 1, cut), q, substr(text, cut + 1) }' \
        q="$q" "$here/queries/$q.sql"
  } > "$qd/pipeline.sql"
  awk -v keep="[sink nexmark_$q]" '/^\[/ { on = ($0 !~ /^\[sink / || $0 == keep) } on' \
    "$here/nexmark.test.ini" > "$qd/profile.ini"
  best=
  status=ok
  for r in $(seq 1 "$runs"); do
    NEXMARK_DATA=$data NEXMARK_OUT=$qd NEXMARK_UDF=${NEXMARK_UDF:-$(dirname "$sluice")/test/libsluice_count_char.so} taskset -c "$cpu" /usr/bin/time -f '%U %S %e %M' -o "$qd/time" \
      "$sluice" run "$qd/pipeline.sql" --config "$qd/profile.ini" > "$qd/stdout" 2> "$qd/stderr"
    if [ $? -ne 0 ]; then status=error; break; fi
    read -r user sys wall rss < "$qd/time"
    cpu_s=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    if [ -z "$best" ] || awk -v a="$cpu_s" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then
      best="$cpu_s $wall $rss"
    fi
  done
  if [ "$status" = error ]; then
    printf '%-5s | %-6s | %9s | %9s | %7s | %12s | %7s | %9s\n' "$q" error - - - - - -
    continue
  fi
  read -r cpu_s wall rss <<< "$best"
  summary=$(grep -o 'summary: [^"]*' "$qd/stderr" | tail -1)
  rows_in=$(sed -n 's/.*rows_in=\([0-9]*\).*/\1/p' <<< "$summary")
  rows_out=$(sed -n 's/.*rows_out=[^=]*=\([0-9]*\).*/\1/p' <<< "$summary")
  awk -v q="$q" -v ri="${rows_in:-0}" -v ro="${rows_out:-0}" -v c="$cpu_s" -v w="$wall" -v m="$rss" 'BEGIN {
    printf "%-5s | %-6s | %9d | %9d | %7.2f | %12.0f | %7.2f | %9.1f\n", q, "ok", ri, ro, c, (c > 0 ? ri / c : 0), w, m / 1024 }'
done
