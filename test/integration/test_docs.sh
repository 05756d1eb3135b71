#!/usr/bin/env bash
# Every SQL example of the documentation runs: the ```sql blocks of each
# docs/*.md file (and README.md) are read in order, each block appended to
# the ones before it (a later block may use an earlier block's sources), and
# every prefix that ends in a block with a CREATE SINK must pass
# `sluice explain` (parse and plan, as `run` does before reading input).
# The option reference in docs/connectors.md must be `sluice connectors`.
# Usage: test_docs.sh SLUICE_BINARY WORK_DIR
set -euo pipefail
sluice=$1 work=$2
rm -rf "$work"
mkdir -p "$work"
passes=0 fails=0
for doc in README.md docs/*.md; do
  [ -f "$doc" ] || continue
  # split the file's sql blocks into numbered files
  awk -v dir="$work" -v stem="$(basename "$doc" .md)" '
    /^```sql[[:space:]]*$/ { n++; inblock = 1; next }
    /^```/ && inblock     { inblock = 0; next }
    inblock               { print > (dir "/" stem "." sprintf("%03d", n) ".block") }
  ' "$doc"
  acc="$work/$(basename "$doc" .md).sql"
  : >"$acc"
  for block in "$work/$(basename "$doc" .md)".*.block; do
    [ -f "$block" ] || continue
    cat "$block" >>"$acc"
    printf '\n' >>"$acc"
    if grep -qi 'CREATE[[:space:]]\+SINK\|INSERT[[:space:]]\+INTO' "$block"; then
      if "$sluice" explain "$acc" >"$work/explain.out" 2>&1; then
        passes=$((passes + 1)); echo "ok   $doc: $(basename "$block")"
      else
        fails=$((fails + 1)); echo "FAIL $doc: $(basename "$block")"; sed 's/^/     /' "$work/explain.out"
      fi
    fi
  done
done
# the option reference of docs/connectors.md is what `sluice connectors`
# prints from the connectors' option tables, verbatim
awk '/^<!-- BEGIN sluice connectors -->$/ { f = 1; next } /^<!-- END sluice connectors -->$/ { f = 0 } f' \
  docs/connectors.md >"$work/reference.doc.md"
"$sluice" connectors >"$work/reference.gen.md"
if [ -s "$work/reference.doc.md" ] && diff -u "$work/reference.gen.md" "$work/reference.doc.md" >"$work/reference.diff"; then
  passes=$((passes + 1)); echo "ok   docs/connectors.md: the option reference is sluice connectors"
else
  fails=$((fails + 1))
  echo "FAIL docs/connectors.md: the option reference differs from sluice connectors (ci/gen-connector-docs.sh regenerates it)"
  sed 's/^/     /' "$work/reference.diff" | head -40
fi
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ] && [ "$passes" -gt 0 ]
