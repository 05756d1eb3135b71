#!/usr/bin/env bash
# The whole test suite: install dependencies, check the include rules
# between folders, build, run every test (unit,
# contract, integration, a 60 s soak), run them again under ASan+UBSan, run
# the unit tests and the example pipelines under valgrind, fuzz each
# libFuzzer target for 60 s, then measure line coverage of src/ and inject/
# with lcov (fails under 85%).
# The soak test runs in the optimised build only: sanitizer quarantines and
# coverage counters would distort the resident-set figures it checks.
# The MySQL tests start their own private MariaDB (mariadb-install-db +
# mariadbd on a temporary data directory and a free loopback port); a
# system MariaDB service, running or not, plays no part.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== dependencies"
ci/install-deps.sh

echo "== include rules (docs/architecture.md \"Layers\")"
ci/check-includes.sh

echo "== build and test"
ci/build.sh build
(cd build && ctest --output-on-failure -j"$jobs")

echo "== sanitizers (ASan + UBSan)"
ci/build.sh build-asan -DSLUICE_SANITIZE=ON -DSLUICE_BENCH=OFF
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j"$jobs" -LE soak)

echo "== valgrind (unit tests, sluice run on the examples)"
ci/valgrind.sh build

echo "== fuzzing (60 s per target)"
ci/fuzz.sh 60

echo "== coverage"
coverage/coverage.sh build-cov
