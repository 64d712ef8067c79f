#!/usr/bin/env bash
# The contract-reference check must pass on the repository and fail on each planted reference
# to a heading docs/contract.md does not have.
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
check="$repo/scripts/check-contract-refs.py"
python3 "$check" "$repo" || { echo "FAIL: the repository has a broken contract reference"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
plant() { # file line what-it-breaks
    rm -rf "$work/tree" && mkdir -p "$work/tree"
    cp -r "$repo/docs" "$repo/server" "$repo/core" "$work/tree/"
    mkdir -p "$work/tree/tests/e2e" && cp "$repo"/tests/e2e/*.js "$work/tree/tests/e2e/"
    printf '%s\n' "$2" >>"$work/tree/$1"
    if out=$(python3 "$check" "$work/tree" 2>&1); then
        echo "FAIL: $3 went unnoticed ($1: $2)"
        fails=$((fails + 1))
    else
        echo "ok: $3 is caught: $out"
    fi
}
plant server/gateway/gateway.cpp '// contract(no-such-rule): planted' "a tag with no heading"
plant server/transport/ws_protocol.cpp '// contract(frame-size, no-such-size): planted' "the second tag of a list"
plant tests/e2e/conformance_routes.test.js "// §9 planted" "a section that does not exist"
plant tests/e2e/conformance_events.test.js "// §1.9 planted" "a subsection that does not exist"
plant docs/protocol.md "See §12." "a protocol.md reference to its own missing section"
[ $fails -eq 0 ] && echo "contract references: 5 planted mistakes caught, 0 missed"
exit $((fails > 0))
