#!/usr/bin/env bash
# wscat on a fresh Debian machine: installs Debian's Node.js and npm when there is no `node`
# or `npm` (with sudo when not root), then the version of wscat pinned by tests/e2e's
# lockfile, and runs it with the arguments given: scripts/wscat.sh -c ws://localhost:8080/dev
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
e2e="$repo/tests/e2e"
if ! { command -v node >/dev/null && command -v npm >/dev/null; }; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "wscat.sh: installing Debian's nodejs and npm" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -x "$e2e/node_modules/.bin/wscat" ]; then
  echo "wscat.sh: installing the npm packages pinned in tests/e2e/package-lock.json" >&2
  (cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
exec "$e2e/node_modules/.bin/wscat" "$@"
