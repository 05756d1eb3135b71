#!/usr/bin/env bash
# Install sluice into a temporary prefix and use it from there as a user
# would: the programs, the example with its data, the man pages, the systemd
# unit, and a program built against the library with pkg-config.
# Usage: test_install.sh BUILD_DIR WORK_DIR [EXTRA_CFLAGS]
set -euo pipefail
build=$1 work=$2 extra=${3:-}
prefix=$work/prefix
rm -rf "$work"
mkdir -p "$work"
fails=0 passes=0
check() { # check NAME COMMAND...: one named assertion
  local name=$1; shift
  if "$@"; then passes=$((passes + 1)); echo "ok   $name"
  else fails=$((fails + 1)); echo "FAIL $name"; fi
}

cmake --install "$build" --prefix "$prefix" >"$work/install.log"

for f in bin/sluice bin/sluice-gen lib/libsluice.a lib/pkgconfig/sluice.pc \
         include/sluice/sluice.h include/sluice/module.h \
         share/man/man1/sluice.1 share/man/man5/sluice-pipeline.5 \
         lib/systemd/system/sluice@.service share/doc/sluice/sql.md \
         share/sluice/examples/flights.sql share/sluice/examples/fixtures/data/flights-20k.jsonl; do
  check "installed $f" test -e "$prefix/$f"
done

# the installed program runs the installed example from a copy of it
cp -r "$prefix/share/sluice/examples" "$work/run"
(cd "$work/run" && "$prefix/bin/sluice" run flights.sql --quiet >"$work/run.out" 2>"$work/run.err") || true
check "installed sluice runs the flights example" grep -qx 'sink delays_by_origin: 17473 rows' "$work/run.out"
check "sluice --version" sh -c "'$prefix/bin/sluice' --version | grep -q '^sluice '"
if [ -e "$build/test/sluice-mock-broker" ]; then
  # the test broker: starts, prints its address, and ends when stdin closes
  check "installed sluice-mock-broker starts a broker" \
    sh -c "'$prefix/bin/sluice-mock-broker' --topic t:2 </dev/null | grep -q '^bootstrap=127.0.0.1:'"
fi
check "sluice run --help prints the run options" sh -c "'$prefix/bin/sluice' run --help | grep -q -- '--profile'"

# man pages render without warnings
for m in share/man/man1/sluice.1 share/man/man5/sluice-pipeline.5; do
  check "man page $m renders cleanly" sh -c "groff -man -Tutf8 -ww -z '$prefix/$m' 2>&1 | (! grep -q .)"
done

# the unit points at the installed binary and is valid where systemd can say so
check "unit runs the installed sluice" grep -q "^ExecStart=$prefix/bin/sluice run " "$prefix/lib/systemd/system/sluice@.service"
if command -v systemd-analyze >/dev/null; then
  cp "$prefix/lib/systemd/system/sluice@.service" "$work/sluice@flights.service"
  check "systemd-analyze verify accepts the unit" \
    sh -c "MANPATH='$prefix/share/man' systemd-analyze verify '$work/sluice@flights.service' >'$work/verify.log' 2>&1 && ! grep -q . '$work/verify.log'"
fi

# a program built against the installed headers and library
cat >"$work/embed.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <sluice/sluice.h>
int main(int argc, char **argv) {
    char err[512] = "";
    if (argc != 2) return 2;
    printf("version %s\n", sluice_version());
    return sluice_explain_file(argv[1], stdout, err, sizeof err) == SLUICE_OK ? 0 : (fprintf(stderr, "%s\n", err), 1);
}
C
flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs sluice)
# shellcheck disable=SC2086
check "a program builds with pkg-config --cflags --libs sluice" \
  cc $extra -o "$work/embed" "$work/embed.c" $flags
check "the embedded engine explains the example" \
  sh -c "'$work/embed' '$prefix/share/sluice/examples/flights.sql' | grep -q TUMBLE"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
