#!/usr/bin/env bash
# Regenerate the option reference of docs/connectors.md (between the
# BEGIN/END "sluice connectors" markers) from the connectors' option
# tables, as `sluice connectors` prints them.  test_docs.sh fails when the
# two differ.  Usage: ci/gen-connector-docs.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
doc=docs/connectors.md
gen=$(mktemp)
trap 'rm -f "$gen" "$gen.new"' EXIT
"$build/sluice" connectors >"$gen"
awk -v gen="$gen" '
  /^<!-- BEGIN sluice connectors -->$/ { print; while ((getline line < gen) > 0) print line; skip = 1; next }
  /^<!-- END sluice connectors -->$/   { skip = 0 }
  !skip                                 { print }
' "$doc" >"$gen.new"
grep -q '^<!-- BEGIN sluice connectors -->$' "$gen.new" || { echo "gen-connector-docs: $doc has no BEGIN marker" >&2; exit 1; }
mv "$gen.new" "$doc"
echo "gen-connector-docs: $doc updated"
