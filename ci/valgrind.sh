#!/usr/bin/env bash
# Run the unit tests and `sluice run` on the example pipelines under
# valgrind's memcheck: any memory error or definite leak fails.
# Usage: ci/valgrind.sh [BUILD_DIR]   (default build; built when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
jobs=$(nproc)
[ -x "$dir/sluice" ] || ci/build.sh "$dir"
logs="$dir/valgrind"
rm -rf "$logs"
mkdir -p "$logs"

vg=(valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --track-origins=yes --num-callers=30 --quiet)

# Unit tests too slow under valgrind, by ctest name (say why beside each).
exclude=(
  check_includes        # a shell script over the sources, not a program
  test_check_includes   # a shell script over a temporary tree, not a program
)

mapfile -t tests < <(cd "$dir" && ctest -L unit -N | sed -n 's/^ *Test *#[0-9]*: unit\///p')
run_one() {
  local kind=$1 name=$2
  shift 2
  local log="$logs/$name.log" start rc=0
  start=$(date +%s)
  "${vg[@]}" --log-file="$log.vg" "$@" >"$log" 2>&1 || rc=$?
  local took=$(( $(date +%s) - start ))
  if [ "$rc" -eq 0 ]; then
    echo "ok    $kind $name (${took} s)"
  else
    echo "FAIL  $kind $name (exit $rc, ${took} s): $log.vg"
    sed 's/^/    /' "$log.vg" | head -60
    tail -20 "$log" | sed 's/^/    | /'
  fi
  return "$rc"
}
export -f run_one
export logs
vgq=$(printf '%q ' "${vg[@]}")
export VG="$vgq"

jobsfile="$logs/jobs"
: >"$jobsfile"
for t in "${tests[@]}"; do
  skip=0
  for x in "${exclude[@]}"; do [ "$t" = "$x" ] && skip=1; done
  [ "$skip" -eq 1 ] && { echo "skip  unit $t"; continue; }
  printf 'unit %s %s\n' "$t" "$dir/test/unit_$t" >>"$jobsfile"
done
for p in fixtures/pipelines/*.sql; do
  name=$(basename "$p" .sql)
  printf 'run sluice-run-%s %s run %s --profile test --quiet\n' "$name" "$dir/sluice" "$p" >>"$jobsfile"
done

start=$(date +%s)
status=0
xargs -P "$jobs" -L 1 bash -c 'eval "vg=($VG)"; run_one "$@"' _ <"$jobsfile" || status=$?
echo "valgrind: $(wc -l <"$jobsfile") programs in $(( $(date +%s) - start )) s"
[ "$status" -eq 0 ] || { echo "valgrind: memory errors or leaks (logs in $logs)" >&2; exit 1; }
