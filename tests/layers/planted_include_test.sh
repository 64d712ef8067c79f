#!/usr/bin/env bash
# The layering check must pass on the repository and fail on each planted wrong include.
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
check="$repo/scripts/check-layers.sh"
"$check" "$repo" || { echo "FAIL: the repository itself breaks the layering"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
plant() { # file line what-it-breaks
    rm -rf "$work/tree" && mkdir -p "$work/tree" && cp -r "$repo/core" "$repo/server" "$repo/cfn" "$repo/aws" "$repo/lambda" "$work/tree/"
    sed -i "1a $2" "$work/tree/$1"
    if "$check" "$work/tree" >/dev/null 2>&1; then
        echo "FAIL: $3 went unnoticed ($1: $2)"
        fails=$((fails + 1))
    else
        echo "ok: $3 is caught"
    fi
}
plant server/transport/ws_session.cpp '#include "gateway/gateway.hpp"' "transport including the gateway"
plant server/integrations/http_integration.cpp '#include "gateway/api_definition.hpp"' "integrations including the gateway"
plant server/ops/heap_trim.cpp '#include "transport/net.hpp"' "ops including transport"
plant server/ops/metrics.cpp '#include <boost/asio/steady_timer.hpp>' "ops using Asio"
plant server/transport/listener.cpp '#include <sqlite3.h>' "transport using SQLite"
plant server/gateway/gateway.cpp '#include "app/server.hpp"' "the gateway including the app"
plant server/gateway/gateway.cpp '#include "log.hpp"' "an include without its layer"
plant core/src/chat.cpp '#include <boost/asio.hpp>' "core using Asio"
plant cfn/src/stack.cpp '#include "gateway/gateway.hpp"' "cfn including the server"
plant cfn/src/document.cpp '#include <boost/beast/http.hpp>' "cfn using Beast"
plant aws/src/dynamodb.cpp '#include <chatd/storage/sqlite_store.hpp>' "aws using storage"
plant aws/src/sigv4.cpp '#include "gateway/gateway.hpp"' "aws including the server"
plant lambda/chat_function.cpp '#include "integrations/lambda_function.hpp"' "chat-lambda including the server"
[ $fails -eq 0 ] && echo "layers: 13 planted includes caught, 0 missed"
exit $((fails > 0))
