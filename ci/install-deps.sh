#!/usr/bin/env bash
# Install the Debian packages listed in ci/packages.txt (pinned versions).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

pins=()
names=()
while read -r name version; do
  case "$name" in ''|'#'*) continue ;; esac
  pins+=("$name=$version")
  names+=("$name")
done < "$here/packages.txt"

# Skip the network when everything is already installed at its pin.
missing=0
for i in "${!names[@]}"; do
  have=$(dpkg-query -W -f='${Status} ${Version}' "${names[$i]}" 2>/dev/null || true)
  if [ "$have" != "install ok installed ${pins[$i]#*=}" ]; then missing=1; break; fi
done
if [ "$missing" -eq 0 ]; then
  echo "ci/install-deps.sh: all packages present at their pinned versions"
  exit 0
fi

$SUDO apt-get update -qq
if ! $SUDO apt-get install -y -qq --no-install-recommends "${pins[@]}"; then
  echo "ci/install-deps.sh: a pinned version is no longer in the archive; installing current versions of: ${names[*]}" >&2
  $SUDO apt-get install -y -qq --no-install-recommends "${names[@]}"
fi
