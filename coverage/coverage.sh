#!/usr/bin/env bash
# Build with gcov instrumentation, run the tests, and report line coverage
# of src/ and inject/ with lcov.  Fails when it is under the threshold.
# Usage: coverage/coverage.sh [BUILD_DIR]   (env COVERAGE_MIN, default 85)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
dir=${1:-build-cov}
min=${COVERAGE_MIN:-85}
rc=coverage/lcovrc

cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DSLUICE_COVERAGE=ON -DSLUICE_BENCH=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)"
lcov --config-file "$rc" --zerocounters --directory "$dir" >/dev/null
(cd "$dir" && ctest --output-on-failure -j"$(nproc)" -LE soak)
lcov --config-file "$rc" --capture --directory "$dir" --base-directory "$root" \
     --output-file "$dir/all.info" >/dev/null
lcov --config-file "$rc" --extract "$dir/all.info" "$root/src/*" "$root/inject/*" \
     --output-file "$dir/sluice.info" >/dev/null
summary=$(lcov --config-file "$rc" --summary "$dir/sluice.info" 2>&1)
echo "$summary"
if command -v genhtml >/dev/null; then
  genhtml --config-file "$rc" --quiet --output-directory "$dir/coverage-html" "$dir/sluice.info" >/dev/null || true
  echo "coverage report: $dir/coverage-html/index.html"
fi
pct=$(echo "$summary" | awk '/lines/ {gsub("%","",$2); print $2}')
echo "line coverage of src/ and inject/: ${pct}% (minimum ${min}%)"
awk -v p="$pct" -v m="$min" 'BEGIN { exit !(p + 0 >= m + 0) }' || {
  echo "coverage: ${pct}% is under the ${min}% minimum" >&2
  exit 1
}
