#!/usr/bin/env bash
# Install dependencies, build, and run the flights example with the test
# profile on the bundled real data; prints the result table.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/install-deps.sh >/dev/null
ci/build.sh build >/dev/null
exec ./build/sluice run fixtures/pipelines/flights.sql --profile test --quiet "$@"
