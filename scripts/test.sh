#!/usr/bin/env bash
# One command that runs every test from a fresh Debian bookworm machine: installs what is
# missing, builds the Debug and the AddressSanitizer+UBSan trees, checks formatting and the
# core purity rule, then runs all unit, storage, server and end-to-end tests in both trees.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

step() { printf '\n== %s\n' "$*"; }

step "install packages"
scripts/setup.sh build test

step "npm packages for the end-to-end clients, and for template mode (the SDK, dynalite)"
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
(cd runtimes && npm ci --no-audit --no-fund --loglevel=error)

step "layers: core/ is pure, server/ includes follow app -> gateway -> integrations -> transport -> ops"
scripts/check-layers.sh

step "contract references: every contract(...) tag and § names a heading of docs/contract.md"
python3 scripts/check-contract-refs.py

step "clang-format (the repo's .clang-format)"
find core storage aws cfn lambda server tests \( -name node_modules -prune \) -o \( -name '*.cpp' -o -name '*.hpp' -o -name '*.ipp' \) -print |
  xargs clang-format --dry-run --Werror

for preset in dev asan; do
  step "build: $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
done

# Sanitizer findings fail the run.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0
# ctest keeps a test's output until it ends; the two slow ones (a minute or more each) run
# verbosely afterwards so their progress lines show as they happen.
slow='^(bench\.smoke|docker\.recipe)$'
for preset in dev asan; do
  step "tests: $preset"
  ctest --preset "$preset" -E "$slow" || status=1
  step "tests: $preset, the slow ones with their progress"
  ctest --preset "$preset" -R "$slow" -V || status=1
done
exit $status
