#!/usr/bin/env bash
# One command from a fresh Debian bookworm machine to a running chatd: install the build
# packages, build a Release binary, and start it with its defaults (127.0.0.1:8080, chatd.db
# in the current directory). Arguments are passed to chatd: scripts/run.sh --port 9000
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ " $* " == *" --template "* ]]; then
  # Template mode runs functions on Node.js and Python (with boto3), gives them the AWS SDK for
  # JavaScript and runs dynalite: Debian's packages, then runtimes/'s lockfile.
  "$repo/scripts/setup.sh" build template
  if [ ! -d "$repo/runtimes/node_modules" ]; then
    (cd "$repo/runtimes" && npm ci --no-audit --no-fund --loglevel=error)
  fi
else
  "$repo/scripts/setup.sh" build
fi
cmake --preset release -S "$repo" >/dev/null
cmake --build "$repo/build/release" --target chatd
exec "$repo/build/release/chatd" "$@"
