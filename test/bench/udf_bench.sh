#!/usr/bin/env bash
# udf_bench.sh [BUILD_DIR] — rows/s of a pipeline calling a function bound
# with connector = http (a model server on loopback scoring AFINN-165) for
# batch_size 1, 64 and 512, against the same pipeline without the function
# and with the function bound to the C example (connector = c).
# BENCH_ROWS reviews from sluice-gen (default 200000); best wall time of 3.
set -euo pipefail
die() { echo "udf_bench.sh: $*" >&2; exit 2; }
BUILD_DIR=${1:-build}
[[ -x $BUILD_DIR/sluice ]] || die "no $BUILD_DIR/sluice: build first"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROWS=${BENCH_ROWS:-200000}
W=$BUILD_DIR/bench/udf
mkdir -p "$W"
cd "$W"
LEX=$ROOT/fixtures/models/afinn-165/afinn-165.tsv
[[ -s reviews.jsonl ]] || "$BUILD_DIR/sluice-gen" reviews --count "$ROWS" --out reviews.jsonl >/dev/null

# the model server: its port on its stdout; it stops when its stdin closes
coproc SERVER { "$BUILD_DIR/test/bench/sluice-model-server" "$LEX"; }
read -r PORT <&"${SERVER[0]}"
trap 'exec {SERVER[1]}>&-; wait' EXIT

cat > with.sql <<'SQL'
CREATE FUNCTION sentiment(review VARCHAR) RETURNS DOUBLE;
CREATE SOURCE reviews (product VARCHAR, rating BIGINT, text VARCHAR);
CREATE SINK scored AS SELECT product, sentiment(text) AS score FROM reviews;
SQL
cat > without.sql <<'SQL'
CREATE SOURCE reviews (product VARCHAR, rating BIGINT, text VARCHAR);
CREATE SINK scored AS SELECT product, CAST(rating AS DOUBLE) AS score FROM reviews;
SQL
common="[pipeline]
trigger = available_now
[source reviews]
path = $W/reviews.jsonl
format = json
[sink scored]
connector = file
path = $W/out.jsonl
format = json
"
best() { # best wall seconds of 3 runs of: sluice run SQL --config INI
    local b=
    for _ in 1 2 3; do
        rm -f out.jsonl
        local s e
        s=$(date +%s.%N)
        "$BUILD_DIR/sluice" run "$1" --config "$2" --quiet
        e=$(date +%s.%N)
        b=$(awk -v s="$s" -v e="$e" -v b="$b" 'BEGIN { t = e - s; if (b == "" || t < b) b = t; printf "%.3f", b }')
    done
    echo "$b"
}
report() { awk -v n="$ROWS" -v t="$2" -v name="$1" 'BEGIN { printf "%-28s %8.3f s %12.0f rows/s\n", name, t, n / t }'; }

printf '%s' "$common" > without.ini
report "no function" "$(best without.sql without.ini)"
printf '%s[function sentiment]\nconnector = c\nlibrary = %s\nsymbol = sluice_afinn_sentiment\nlexicon = %s\n' \
    "$common" "$BUILD_DIR/test/libsluice_afinn.so" "$LEX" > c.ini
report "connector = c (512)" "$(best with.sql c.ini)"
for b in 1 64 512; do
    printf '%s[function sentiment]\nconnector = http\nurl = http://127.0.0.1:%s/v1/models/sentiment:predict\nbatch_size = %s\n' \
        "$common" "$PORT" "$b" > http.ini
    report "connector = http, batch $b" "$(best with.sql http.ini)"
done
