#!/usr/bin/env bash
# run_nexmark.sh — the Nexmark suite: runs each query q0..q22 with sluice over
# generated events and compares its final result with the SQLite oracle.
#
# usage: run_nexmark.sh --sluice BIN --gen BIN --work DIR [--events N]
#                       [--rate R] [--seed S] [--queries "q0 q1 ..."]
#                       [--data DIR] [--expected FILE] [--corrupt qN]
#                       [--outputs DIR]
#
#   --sluice, --gen  the built sluice and nexmark_gen
#   --work           scratch directory (emptied first)
#   --events, --rate, --seed   passed to nexmark_gen (default 20000, 200, 1)
#   --data           use the person/auction/bid.json of DIR instead of generating
#   --queries        the queries to run (default all, q0..q22)
#   --expected       the list of queries expected to fail
#                    (default: EXPECTED_FAILURES beside this script)
#   --corrupt qN     self-test: change one value of qN's oracle result, so
#                    that qN must mismatch
#   --udf LIB        the shared object of q14's count_char (default: beside
#                    the sluice binary, test/libsluice_count_char.so)
#   --outputs DIR    do not run sluice: take each query's sink output from
#                    DIR/qN.json (checks the oracles against hand-computed
#                    results, and the driver itself)
#
# Each query's pipeline is sources.sql, the query's own views and
# `CREATE SINK nexmark_qN AS <its SELECT>;`, run under the profile
# nexmark.test.ini (its [pipeline] and [source] sections and the one
# [sink nexmark_qN]).  The sink's JSON lines are read as a changelog: +I and
# +U add a row, -U and -D remove one equal row (a multiset; a row removed
# more often than added is a mismatch).  Timestamps are compared as ms,
# integers exactly, a DOUBLE on either side with a relative tolerance of
# 1e-9, text exactly, NULL only with NULL; rows are compared in sorted order.
#
# Status per query: pass; FAIL (mismatch or error) for a query not on the
# list; xfail for a listed query that fails; XPASS for a listed query that
# passes (the list must stay true).  Exit 0 when every query is pass or
# xfail, 1 otherwise, 2 for bad usage.  Prints query | status | rows | ms.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
sluice= gen= work= data= events=20000 rate=200 seed=1 corrupt= outputs= udf=
queries=$(for i in $(seq 0 22); do printf 'q%d ' "$i"; done)
expected=$here/EXPECTED_FAILURES
while [ $# -gt 0 ]; do
  case $1 in
    --sluice) sluice=$2; shift 2 ;;
    --gen) gen=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --queries) queries=$2; shift 2 ;;
    --expected) expected=$2; shift 2 ;;
    --corrupt) corrupt=$2; shift 2 ;;
    --outputs) outputs=$2; shift 2 ;;
    --udf) udf=$2; shift 2 ;;
    *) echo "run_nexmark.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if { [ -z "$sluice" ] && [ -z "$outputs" ]; } || [ -z "$work" ] || { [ -z "$data" ] && [ -z "$gen" ]; }; then
  echo "usage: run_nexmark.sh --sluice BIN|--outputs DIR --gen BIN|--data DIR --work DIR [options]" >&2
  exit 2
fi
[ -n "$udf" ] || udf=$(dirname "${sluice:-.}")/test/libsluice_count_char.so
command -v sqlite3 >/dev/null || { echo "run_nexmark.sh: sqlite3 not found" >&2; exit 2; }

rm -rf "$work" && mkdir -p "$work" || exit 2
work=$(cd "$work" && pwd)
if [ -z "$data" ]; then
  data=$work/data
  mkdir -p "$data"
  "$gen" --out "$data" --events "$events" --rate "$rate" --seed "$seed" || exit 2
fi
data=$(cd "$data" && pwd)
[ -n "$outputs" ] && { outputs=$(cd "$outputs" && pwd) || exit 2; }
(cd "$data" && sqlite3 "$work/nexmark.db" < "$here/oracle/load.sql") || { echo "run_nexmark.sh: loading the data into SQLite failed" >&2; exit 2; }

is_expected() { grep -qx "$1" <(sed 's/#.*//; s/[[:space:]]//g' "$expected" 2>/dev/null); }

# The query file's own statements (views) and its final SELECT, comment
# lines dropped: everything up to the last ';' before the final statement,
# and the final statement without its ';'.
split_query() { # file -> prints prelude, a line "\x1e", the select
  awk '!/^[[:space:]]*--/ { text = text $0 "\n" }
       END {
         sub(/[[:space:]]*;[[:space:]]*$/, "", text)
         cut = 0
         for (i = length(text); i > 0; i--) if (substr(text, i, 1) == ";") { cut = i; break }
         printf "%s\n\036\n%s\n", substr(text, 1, cut), substr(text, cut + 1)
       }' "$1"
}

# The profile of one query: every section but the other queries' sinks.
profile_for() { # query
  awk -v keep="[sink nexmark_$1]" '
    /^\[/ { on = ($0 !~ /^\[sink / || $0 == keep) }
    on' "$here/nexmark.test.ini"
}

# Compares the sink's changelog ($1, JSON lines) with the oracle's rows ($2,
# a JSON array of objects); $3 the optional reduction of the actual rows
# (oracle/qN.actual.sql: a SELECT of one column `content`, a JSON array,
# over the table actual(content) of the final rows as JSON arrays).
# Prints "ok ROWS" or "mismatch ROWS: what".
compare() {
  local actual=$1 oracle=$2 reduce=$3 key=${4:-}
  # a sink with a PRIMARY KEY receives an upsert changelog (update-before
  # rows are dropped: docs/connectors.md): its final rows are, per key, the
  # last +I/+U unless a -D came after it
  local keyexpr="NULL"
  if [ -n "$key" ]; then
    keyexpr="json_array($(echo "$key" | awk -F', ' '{ for (i = 1; i <= NF; i++) printf "%sjson_extract(r.line, '"'"'$.\"%s\"'"'"')", (i > 1 ? ", " : ""), $i }'))"
  fi
  local reduce_sql="SELECT content FROM actual_rows"
  if [ -n "$reduce" ]; then
    reduce_sql="SELECT content FROM ($(sed '/^--/d; s/;[[:space:]]*$//' "$reduce"))"
  fi
  sqlite3 :memory: <<EOF
.mode list
CREATE TABLE raw(line TEXT);
.mode ascii
.separator "\037" "\n"
.import '$actual' raw
.mode list
-- a value as compared: a text that is a timestamp becomes its ms
CREATE TEMP VIEW norm_actual AS
SELECT r.rowid AS seq, json_extract(r.line, '\$.op') AS op, $keyexpr AS k,
       (SELECT json_group_array(v) FROM (
          SELECT CASE WHEN j.type = 'text' AND j.value GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]:[0-9][0-9]*'
                      THEN CAST(strftime('%s', substr(j.value, 1, 19)) AS INTEGER) * 1000
                           + CASE WHEN substr(j.value, 20, 1) = '.'
                                  THEN CAST(substr(substr(j.value, 21) || '000', 1, 3) AS INTEGER) ELSE 0 END
                      ELSE j.value END AS v
          FROM json_each(r.line) j WHERE j.key <> 'op' ORDER BY j.id)) AS content
FROM raw r WHERE json_valid(r.line);
CREATE TABLE bad_lines AS SELECT count(*) AS n FROM raw WHERE NOT json_valid(line);
CREATE TABLE net AS
SELECT content, SUM(CASE WHEN op IN ('-U', '-D') THEN -1 ELSE 1 END) AS n FROM norm_actual
WHERE $( [ -n "$key" ] && echo 0 || echo 1 ) GROUP BY content
UNION ALL
SELECT content, 1 FROM norm_actual x
WHERE $( [ -n "$key" ] && echo 1 || echo 0 ) AND coalesce(op, '+I') IN ('+I', '+U')
  AND seq = (SELECT max(seq) FROM norm_actual y WHERE y.k IS x.k AND coalesce(y.op, '+I') <> '-U');
CREATE TABLE actual_rows AS
WITH RECURSIVE rep(content, k) AS (SELECT content, n FROM net WHERE n > 0
                                   UNION ALL SELECT content, k - 1 FROM rep WHERE k > 1)
SELECT content FROM rep;
CREATE TABLE actual AS SELECT content FROM actual_rows;
CREATE TABLE act AS SELECT content FROM ($reduce_sql);
CREATE TABLE exp AS
SELECT (SELECT json_group_array(v) FROM (
          SELECT CASE WHEN j.type = 'text' AND j.value GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]:[0-9][0-9]*'
                      THEN CAST(strftime('%s', substr(j.value, 1, 19)) AS INTEGER) * 1000
                           + CASE WHEN substr(j.value, 20, 1) = '.'
                                  THEN CAST(substr(substr(j.value, 21) || '000', 1, 3) AS INTEGER) ELSE 0 END
                      ELSE j.value END AS v
          FROM json_each(o.value) j ORDER BY j.id)) AS content
FROM json_each(CASE WHEN length(trim(readfile('$oracle'))) = 0 THEN '[]' ELSE readfile('$oracle') END) o;
-- sort keys: a whole DOUBLE as the integer it equals (sluice may write
-- 28375 where SQLite has 28375.0), any other rounded to 7 digits, so that
-- values within the tolerance sort alike; the exact content breaks ties
CREATE TABLE a AS SELECT ROW_NUMBER() OVER (ORDER BY sk, content) AS rn, content FROM (
  SELECT content, (SELECT json_group_array(CASE WHEN type = 'real' AND value = CAST(value AS INTEGER) THEN CAST(value AS INTEGER) WHEN type = 'real' THEN printf('%.6e', value) ELSE value END)
                   FROM (SELECT * FROM json_each(act.content) ORDER BY id)) AS sk FROM act);
CREATE TABLE e AS SELECT ROW_NUMBER() OVER (ORDER BY sk, content) AS rn, content FROM (
  SELECT content, (SELECT json_group_array(CASE WHEN type = 'real' AND value = CAST(value AS INTEGER) THEN CAST(value AS INTEGER) WHEN type = 'real' THEN printf('%.6e', value) ELSE value END)
                   FROM (SELECT * FROM json_each(exp.content) ORDER BY id)) AS sk FROM exp);
CREATE TABLE diffs AS
SELECT a.rn AS rn, a.content AS got, e.content AS want FROM a JOIN e ON a.rn = e.rn
WHERE json_array_length(a.content) <> json_array_length(e.content)
   OR EXISTS (SELECT 1 FROM json_each(a.content) x JOIN json_each(e.content) y ON x.key = y.key
              WHERE NOT (
                (x.type = 'null' AND y.type = 'null')
                OR (x.type IN ('integer', 'real') AND y.type IN ('integer', 'real')
                    AND CASE WHEN x.type = 'integer' AND y.type = 'integer' THEN x.value = y.value
                             ELSE abs(x.value - y.value) <= 1e-9 * max(abs(x.value), abs(y.value)) END)
                OR (x.type NOT IN ('null', 'integer', 'real') AND x.type = y.type AND x.value = y.value)));
SELECT CASE
  WHEN (SELECT n FROM bad_lines) > 0 THEN 'mismatch ' || (SELECT count(*) FROM a) || ': ' || (SELECT n FROM bad_lines) || ' output lines are not JSON'
  WHEN EXISTS (SELECT 1 FROM net WHERE n < 0) THEN 'mismatch ' || (SELECT count(*) FROM a) || ': retracts a row it never added: ' || (SELECT content FROM net WHERE n < 0 LIMIT 1)
  WHEN (SELECT count(*) FROM a) <> (SELECT count(*) FROM e) THEN 'mismatch ' || (SELECT count(*) FROM a) || ': ' || (SELECT count(*) FROM a) || ' rows, the oracle ' || (SELECT count(*) FROM e)
       || coalesce('; first differing sorted row ' || (SELECT got || ' vs ' || want FROM diffs ORDER BY rn LIMIT 1), '')
  WHEN EXISTS (SELECT 1 FROM diffs) THEN 'mismatch ' || (SELECT count(*) FROM a) || ': ' || (SELECT count(*) FROM diffs) || ' sorted rows differ'
       || coalesce('; only in sluice: ' || (SELECT content FROM a WHERE content NOT IN (SELECT content FROM e) LIMIT 1), '')
       || coalesce('; only in the oracle: ' || (SELECT content FROM e WHERE content NOT IN (SELECT content FROM a) LIMIT 1), '')
  ELSE 'ok ' || (SELECT count(*) FROM a) END;
EOF
}

bad=0
printf '%-6s | %-8s | %8s | %7s\n' query status rows ms
printf -- '-------+----------+----------+--------\n'
details=
for q in $queries; do
  n=${q#q}
  qfile=$here/queries/$q.sql
  dir=$work/$q
  mkdir -p "$dir"
  { cat "$here/sources.sql"; echo
    split_query "$qfile" | awk -v q="$q" 'BEGIN { RS = "\036\n"; ORS = "" }
      NR == 1 { print $0 "\n" } NR == 2 { print "CREATE SINK nexmark_" q " AS\n" $0 ";\n" }'
  } > "$dir/pipeline.sql"
  profile_for "$q" > "$dir/profile.ini"
  start=$(date +%s%N)
  if [ -n "$outputs" ]; then
    : > "$dir/stderr"
    cp "$outputs/$q.json" "$dir/$q.json" 2> "$dir/stderr"
  else
    NEXMARK_DATA=$data NEXMARK_OUT=$dir NEXMARK_UDF=$udf timeout 300 "$sluice" run "$dir/pipeline.sql" --config "$dir/profile.ini" --quiet \
      > "$dir/stdout" 2> "$dir/stderr"
  fi
  rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  rows=-
  if [ $rc -ne 0 ]; then
    if [ $rc -eq 124 ]; then outcome="error: timed out after 300 s"
    elif [ $rc -gt 128 ]; then outcome="crash: killed by signal $((rc - 128))"
    else outcome="error: exit $rc: $(grep -v '^{' "$dir/stderr" | head -1)"; fi
  else
    sqlite3 -json "$work/nexmark.db" < "$here/oracle/$q.sql" > "$dir/oracle.json" 2> "$dir/oracle.err" \
      || { echo "run_nexmark.sh: the oracle of $q failed: $(head -1 "$dir/oracle.err")" >&2; exit 2; }
    if [ "$q" = "$corrupt" ]; then
      # self-test: the first number of the oracle's first row changes by one
      sed -i '1s/:\(-\{0,1\}[0-9][0-9]*\)/:\1999/' "$dir/oracle.json"
    fi
    reduce=
    [ -f "$here/oracle/$q.actual.sql" ] && reduce=$here/oracle/$q.actual.sql
    touch "$dir/$q.json"
    key=
    if [ -n "$sluice" ] && [ -z "$outputs" ]; then
      key=$("$sluice" explain "$dir/pipeline.sql" 2>/dev/null |
            awk -v s="sink nexmark_$q" '$0 == s { on = 1; next } /^[a-z]/ { on = 0 }
                                        on && /^  primary key: / { sub(/^  primary key: /, ""); if ($0 !~ /^none/) print; exit }')
    fi
    result=$(compare "$dir/$q.json" "$dir/oracle.json" "$reduce" "$key" 2>&1)
    case $result in
      ok\ *) outcome=ok; rows=${result#ok } ;;
      mismatch\ *) rest=${result#mismatch }; rows=${rest%%:*}; outcome="mismatch: ${rest#*: }" ;;
      *) outcome="error: comparison: $(echo "$result" | head -1)" ;;
    esac
  fi
  if [ $rc -ge 124 ]; then
    # killed by a signal or by the timeout: never an expected failure
    status=FAIL; bad=1; details+="$q: ${outcome:0:600}"$'\n'
  elif is_expected "$q"; then
    if [ "$outcome" = ok ]; then status=XPASS; bad=1; details+="$q: passes but is listed in $(basename "$expected")"$'\n'
    else status=xfail; details+="$q (expected): ${outcome:0:300}"$'\n'; fi
  else
    if [ "$outcome" = ok ]; then status=pass
    else status=FAIL; bad=1; details+="$q: ${outcome:0:600}"$'\n'; fi
  fi
  printf '%-6s | %-8s | %8s | %7s\n' "$q" "$status" "$rows" "$ms"
done
[ -n "$details" ] && { echo; printf '%s' "$details"; }
exit $bad
