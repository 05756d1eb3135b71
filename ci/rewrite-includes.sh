#!/usr/bin/env bash
# Rewrite includes and path mentions after the layer split (docs/architecture.md
# "Layers"): src/core/ became src/base/ (what includes nothing above it) and
# src/runtime/ (what drives a run), the plan types moved to src/plan/, and the
# UTF-8 primitives under the logger moved to src/base/.
#
# Idempotent: every rule maps an old path to a new one that no rule matches
# again, so running it twice changes nothing.  Run it over a tree that still
# has old paths (for instance after merging work written against them):
#
#   ci/rewrite-includes.sh            # from the repository root
#   ci/rewrite-includes.sh DIR...     # only these folders or files
#
# It prints the files it changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# old path (relative to src/) -> new path
map=(
    core/arena.c        base/arena.c
    core/batch.c        base/batch.c
    core/value.c        base/value.c
    core/error.c        base/error.c
    core/clock.h        base/clock.h
    core/config.c       base/config.c
    core/config.h       base/config.h
    core/log.c          base/log.c
    core/log.h          base/log.h
    core/stop.c         base/stop.c
    core/stop.h         base/stop.h
    core/dead_letter.c  base/dead_letter.c
    core/dead_letter.h  base/dead_letter.h
    core/execute.c      runtime/execute.c
    core/execute.h      runtime/execute.h
    core/metrics.c      runtime/metrics.c
    core/metrics.h      runtime/metrics.h
    core/pipeline.c     runtime/pipeline.c
    core/run_status.h   runtime/run_status.h
    core/sink_reject.c  runtime/sink_reject.c
    core/sink_reject.h  runtime/sink_reject.h
    exec/plan.h         plan/plan.h
    format/base64.c     base/base64.c
    format/utf8.h       base/utf8.h
    format/utf8.c       base/utf8.c
    format/utf8.cpp     base/utf8.cpp
    format/utf8_validate.cpp base/utf8_validate.cpp
)

script=""
for ((i = 0; i < ${#map[@]}; i += 2)); do
    old=${map[i]//./\\.}
    new=${map[i + 1]}
    # only as a whole path component: "core/log.h", "src/core/log.h", not "xcore/log.h"
    script+="s#\\(^\\|[^A-Za-z0-9_]\\)${old}\\b#\\1${new}#g;"
done

if [ $# -gt 0 ]; then
    roots=("$@")
else
    roots=()
    for d in src inject test fuzz bench docs coverage ci README.md CMakeLists.txt; do
        [ -e "$d" ] && roots+=("$d")
    done
fi

find "${roots[@]}" -type f \
     \( -name '*.c' -o -name '*.h' -o -name '*.cpp' -o -name '*.md' -o -name '*.txt' \
        -o -name '*.cmake' -o -name '*.sh' -o -name '*.in' \) \
     ! -name rewrite-includes.sh -print0 |
while IFS= read -r -d '' f; do
    if ! sed -e "$script" "$f" | cmp -s - "$f"; then
        sed -i -e "$script" "$f"
        echo "$f"
    fi
done
