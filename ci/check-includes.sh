#!/usr/bin/env bash
# The include rules between folders (docs/architecture.md "Layers"): which
# folder's files may include headers of which other folder.  Checks every
# `#include "..."` of src/, inject/ and test/fuzz/ and prints each violation
# as FILE:LINE; exits 1 when there is one, 0 when there is none.
#
#   ci/check-includes.sh [ROOT]      # ROOT: the repository (default: this one)
#
# An include resolves as the compiler's -I src -I inject do: "dir/x.h" is
# folder dir (src/dir, or inject for "inject/..."), a bare "x.h" is the
# including file's own folder when the file is there, else inject/.
# "sluice/x.h" is the public API (include/) and always allowed.
set -euo pipefail
root=${1:-"$(dirname "$0")/.."}
cd "$root"

# folder -> the other folders it may include (its own and include/ always)
declare -A allowed=(
    [base]=""
    [format]="base"
    [state]="base format"
    [plan]="base format"
    [exec]="base format state plan"
    [sql]="base format plan exec"
    [connectors]="base format state plan exec"
    [inject]="base connectors"
    [runtime]="base format state plan exec sql connectors inject"
    [cli]="base format state plan exec sql connectors runtime inject"
    [fuzz]="base format state plan exec sql connectors runtime inject"
)

# Known exceptions, one "FILE HEADER" per line, each with its reason.  A new
# one needs a reason as good.
exceptions=(
    # the fault-injecting wrapper looks up the connector it wraps
    "src/connectors/fault.c registry.h"
)

folder_of() { # path of a source file -> its folder name
    case $1 in
        src/*/*) local rest=${1#src/}; echo "${rest%%/*}" ;;
        inject/*) echo inject ;;
        test/fuzz/*) echo fuzz ;;
        *) echo "" ;;
    esac
}

violations=0
files=()
for d in src inject test/fuzz; do
    [ -d "$d" ] && while IFS= read -r -d '' f; do files+=("$f"); done \
        < <(find "$d" -type f \( -name '*.c' -o -name '*.h' -o -name '*.cpp' \) -print0 | sort -z)
done

for f in "${files[@]}"; do
    from=$(folder_of "$f")
    [ -n "$from" ] || continue
    if [ -z "${allowed[$from]+set}" ]; then
        echo "$f:1: folder '$from' has no row in the table of ci/check-includes.sh"
        violations=$((violations + 1))
        continue
    fi
    while IFS=: read -r line header; do
        case $header in sluice/*) continue ;; esac
        if [[ $header == */* ]]; then
            to=${header%%/*}
        elif [ -e "$(dirname "$f")/$header" ]; then
            to=$from
        elif [ -e "inject/$header" ]; then
            to=inject
        else
            to="?"
        fi
        [ "$to" = "$from" ] && continue
        ok=0
        for a in ${allowed[$from]}; do [ "$a" = "$to" ] && ok=1; done
        for e in "${exceptions[@]}"; do [ "$e" = "$f $header" ] && ok=1; done
        if [ $ok = 0 ]; then
            if [ "$to" = "?" ]; then
                echo "$f:$line: \"$header\" is in no known folder"
            else
                echo "$f:$line: $from/ may not include \"$header\" ($to/); allowed: ${allowed[$from]:-nothing but itself}"
            fi
            violations=$((violations + 1))
        fi
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
             sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1:\2/' || true)
done

if [ $violations -gt 0 ]; then
    echo "check-includes: $violations include(s) break the layer rules (docs/architecture.md \"Layers\")" >&2
    exit 1
fi
echo "check-includes: ${#files[@]} files follow the layer rules"
