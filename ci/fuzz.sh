#!/usr/bin/env bash
# Build the libFuzzer targets (clang, ASan+UBSan) and run each for a bounded
# time on a copy of its seed corpus and regression inputs.  Prints, per
# target, the executions, the seconds fuzzed, and any crash; exits non-zero
# when a target crashed, leaked, timed out or ran out of memory.
# Usage: ci/fuzz.sh [SECONDS] [TARGET...]   (default 60 s; targets sql ini json csv checkpoint restore)
# Env: FUZZ_BUILD_DIR (default build-fuzz).  Crash inputs are left in
# $FUZZ_BUILD_DIR/artifacts/TARGET/; keep them in test/fuzz/regressions/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(sql ini json csv checkpoint restore)
dir=${FUZZ_BUILD_DIR:-build-fuzz}

CC=clang CXX=clang++ cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_FUZZ=ON \
  -DBUILD_TESTING=OFF -DSLUICE_BENCH=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

failed=0
summary=()
for t in "${targets[@]}"; do
  work="$dir/fuzz-corpus/$t"
  art="$dir/artifacts/$t"
  log="$dir/fuzz-$t.log"
  rm -rf "$art"
  mkdir -p "$work" "$art"
  cp -n test/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  cp -n test/fuzz/regressions/"$t"/* "$work"/ 2>/dev/null || true
  dict=()
  [ -f "test/fuzz/$t.dict" ] && dict=(-dict="$root/test/fuzz/$t.dict")
  echo "-- fuzz_$t for ${secs} s"
  start=$(date +%s)
  rc=0
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$dir/test/fuzz/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$art/" "${dict[@]}" "$work" >"$log" 2>&1 || rc=$?
  took=$(( $(date +%s) - start ))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -n "$runs" ] || runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
  runs=${runs:-?}
  crashes=$(ls "$art" 2>/dev/null || true)
  if [ "$rc" -ne 0 ] || [ -n "$crashes" ]; then
    failed=1
    line="fuzz_$t: ${runs} executions in ${took} s: FAILED (exit $rc)"
    echo "$line"
    grep -E '^(==[0-9]+==ERROR|SUMMARY:|.*runtime error:)' "$log" | head -5 || true
    for c in $crashes; do echo "  input: $art/$c"; done
    echo "  log: $log"
  else
    line="fuzz_$t: ${runs} executions in ${took} s, no crash"
    echo "$line"
  fi
  summary+=("$line")
done

echo "== fuzzing summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
