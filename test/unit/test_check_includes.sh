#!/usr/bin/env bash
# ci/check-includes.sh can fail: over a temporary tree that follows the layer
# rules it passes; one include of a higher layer (base/ including runtime/)
# makes it exit 1 naming that file and line; an allowed include (runtime/
# including base/), an include of the own folder, the public API and the
# listed exception do not count.
# Usage: test_check_includes.sh CHECK_SCRIPT WORK_DIR
set -euo pipefail
check=$1 work=$2
rm -rf "$work"
mkdir -p "$work/src/base" "$work/src/runtime" "$work/src/connectors" "$work/inject"
printf '#include <stdio.h>\n#include "sluice/value.h"\n#include "base/log.h"\nint a;\n' >"$work/src/base/log.c"
printf 'int l;\n' >"$work/src/base/log.h"
printf '#include "base/log.h"\n#include "runtime/execute.h"\n#include "registry.h"\n' >"$work/src/runtime/execute.c"
printf 'int e;\n' >"$work/src/runtime/execute.h"
printf '#include "registry.h"\n' >"$work/src/connectors/fault.c"
printf 'int r;\n' >"$work/inject/registry.h"

if ! out=$("$check" "$work" 2>&1); then
    echo "FAIL: a tree that follows the rules was refused:"; echo "$out"; exit 1
fi
echo "ok   a tree that follows the rules passes"

# line 3 of a base/ file includes runtime/
printf '#include <stdio.h>\n\n#include "runtime/execute.h"\n' >"$work/src/base/clock.c"
set +e
out=$("$check" "$work" 2>&1)
rc=$?
set -e
if [ $rc -ne 1 ]; then
    echo "FAIL: expected exit 1 for base/ including runtime/, got $rc:"; echo "$out"; exit 1
fi
if ! grep -q '^src/base/clock.c:3: ' <<<"$out"; then
    echo "FAIL: the violation is not named as src/base/clock.c:3:"; echo "$out"; exit 1
fi
if [ "$(grep -c '^src/' <<<"$out")" -ne 1 ]; then
    echo "FAIL: expected exactly one violation:"; echo "$out"; exit 1
fi
echo "ok   base/ including runtime/ fails as src/base/clock.c:3"
