#!/usr/bin/env bash
# Install what chatd needs from Debian's packages (scripts/apt-packages.txt), skipping what is
# already there. Usage: scripts/setup.sh ROLE... (build, runtime, test, template). Needs root
# or sudo.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
list="$here/apt-packages.txt"
roles=("$@")
[ ${#roles[@]} -gt 0 ] || roles=(build)

wanted=()
for role in "${roles[@]}"; do
  while read -r pkg pkg_roles; do
    [[ -z "$pkg" || "$pkg" == \#* ]] && continue
    [[ ",$pkg_roles," == *",$role,"* ]] && wanted+=("$pkg")
  done < "$list"
  # Node.js: Debian's nodejs/npm, unless this machine already has a node and npm.
  if { [ "$role" = test ] || [ "$role" = template ]; } && ! { command -v node >/dev/null && command -v npm >/dev/null; }; then
    wanted+=(nodejs npm)
  fi
done

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "setup: installing ${#missing[@]} packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
echo "setup: apt-get update" >&2
$sudo apt-get update -qq
# One line per package as apt configures it, so a minute of work is not silent.
echo "setup: apt-get install (this can take a few minutes on a fresh machine)" >&2
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" |
  grep --line-buffered '^Setting up ' | sed -u 's/^/setup:   /' >&2 || true
for pkg in "${missing[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || {
    echo "setup: $pkg did not install; run: apt-get install $pkg" >&2
    exit 1
  }
done
echo "setup: done" >&2
