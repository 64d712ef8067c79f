#!/usr/bin/env bash
# One command for the benchmarks: installs what they need (Debian packages with the roles
# build, test and bench; the npm peers), then runs tests/bench/bench.py with any arguments
# (--smoke for the quick correctness check). Loopback only; about 30 minutes for the full run.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/scripts/setup.sh" build test bench
(cd "$repo/tests/bench/peers" && npm ci --no-audit --no-fund --loglevel=error)
(cd "$repo/tests/bench/peers/sls" && npm ci --no-audit --no-fund --loglevel=error)
exec python3 "$repo/tests/bench/bench.py" "$@"
