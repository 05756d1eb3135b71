#!/usr/bin/env bash
# test_nexmark_driver.sh GEN WORK — tests of the Nexmark suite itself:
#  - nexmark_gen: deterministic for a seed, the 1:3:46 proportions, ids from
#    1000, files in event-time order;
#  - the oracles of q3, q4, q7, q11, q21 and q22 over tiny/ (8 events)
#    against results computed by hand (tiny/expected/, with the reasoning in
#    README.md);
#  - the driver: a corrupted oracle row fails, an update without its
#    update-before fails, a retraction of a row never added fails, a listed
#    query that passes fails (XPASS), a listed query that fails does not,
#    unless sluice crashed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
gen=$1 work=$2
rm -rf "$work" && mkdir -p "$work" || exit 2
fails=0
check() { # name, expected exit status, command...
  local name=$1 want=$2; shift 2
  "$@" > "$work/out.txt" 2>&1
  local rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL: $name: exit $rc, expected $want"; sed 's/^/    /' "$work/out.txt"; fails=$((fails + 1))
  else
    echo "ok: $name"
  fi
}
expect_line() { # name, regexp that must match a line of the last output
  if grep -Eq "$2" "$work/out.txt"; then echo "ok: $1"; else
    echo "FAIL: $1: no line matches $2"; sed 's/^/    /' "$work/out.txt"; fails=$((fails + 1)); fi
}

# ---- the generator
mkdir -p "$work/g1" "$work/g2" "$work/g3"
check "gen runs" 0 "$gen" --out "$work/g1" --events 5000 --seed 7
check "gen runs again" 0 "$gen" --out "$work/g2" --events 5000 --seed 7
check "gen other seed" 0 "$gen" --out "$work/g3" --events 5000 --seed 8
check "same seed, same bytes" 0 cmp "$work/g1/bid.json" "$work/g2/bid.json"
check "other seed, other bytes" 1 cmp -s "$work/g1/bid.json" "$work/g3/bid.json"
check "bad argument refused" 1 "$gen" --out "$work/g1" --events -3
# 5000 events = 100 rounds of 50: 100 persons, 300 auctions, 4600 bids
check "proportions 1:3:46" 0 test "$(wc -l < "$work/g1/person.json") $(wc -l < "$work/g1/auction.json") $(wc -l < "$work/g1/bid.json")" = "100 300 4600"
check "first person 1000" 0 grep -q '^{"id":1000,' "$work/g1/person.json"
check "last auction 1299" 0 grep -q '^{"id":1299,' "$work/g1/auction.json"
# default rate 10,000/s: event k at k/10 ms; the last bid is event 4999
check "last bid at 499 ms" 0 grep -q '"dateTime":"2015-07-15T00:00:00.499Z"' "$work/g1/bid.json"
for f in person auction bid; do
  check "$f in event-time order" 0 bash -c "grep -o '\"dateTime\":\"[^\"]*\"' '$work/g1/$f.json' | sort -c"
done

# ---- the oracles by hand
empty=$work/no_expected_failures; : > "$empty"
check "oracles = hand-computed results" 0 "$here/run_nexmark.sh" --outputs "$here/tiny/expected" --data "$here/tiny" \
  --work "$work/tiny" --queries "q3 q4 q7 q11 q21 q22" --expected "$empty"

# ---- the driver
check "corrupted oracle row fails" 1 "$here/run_nexmark.sh" --outputs "$here/tiny/expected" --data "$here/tiny" \
  --work "$work/corrupt" --queries "q3 q4" --expected "$empty" --corrupt q4
expect_line "  reported as FAIL" '^q4 +\| FAIL'
mkdir -p "$work/bad"
grep -v '"-U"' "$here/tiny/expected/q4.json" > "$work/bad/q4.json"
check "update without update-before fails" 1 "$here/run_nexmark.sh" --outputs "$work/bad" --data "$here/tiny" \
  --work "$work/nobefore" --queries q4 --expected "$empty"
{ cat "$here/tiny/expected/q4.json"; echo '{"op":"-D","category":12,"avg":1.0}'; } > "$work/bad/q4.json"
check "retraction of a row never added fails" 1 "$here/run_nexmark.sh" --outputs "$work/bad" --data "$here/tiny" \
  --work "$work/neveradded" --queries q4 --expected "$empty"
expect_line "  reported" 'retracts a row it never added'
printf '# a comment\nq3\n' > "$work/listed"
check "a listed query that passes fails" 1 "$here/run_nexmark.sh" --outputs "$here/tiny/expected" --data "$here/tiny" \
  --work "$work/xpass" --queries "q3 q4" --expected "$work/listed"
expect_line "  reported as XPASS" '^q3 +\| XPASS'
printf 'q4\n' > "$work/listed"
check "a listed query that fails passes" 0 "$here/run_nexmark.sh" --outputs "$here/tiny/expected" --data "$here/tiny" \
  --work "$work/xfail" --queries "q3 q4" --expected "$work/listed" --corrupt q4
expect_line "  reported as xfail" '^q4 +\| xfail'

printf '#!/bin/sh\nkill -SEGV $$\n' > "$work/crashing_sluice"; chmod +x "$work/crashing_sluice"
check "a crash of a listed query fails" 1 "$here/run_nexmark.sh" --sluice "$work/crashing_sluice" --data "$here/tiny" \
  --work "$work/crash" --queries q4 --expected "$work/listed"
expect_line "  reported as a crash" 'q4: crash: killed by signal 11'

[ "$fails" -eq 0 ] && echo "all passed" || echo "$fails failed"
exit $((fails > 0))
