#!/usr/bin/env bash
# The include rules that keep chatd's layers apart; prints each include that breaks one and
# exits 1, or exits 0 when there is none. scripts/test.sh runs it on the repository; give
# another root as $1 to check a copy.
#
#   core/      no Asio, Beast, SQLite or OpenSSL: the chat logic and API Gateway's event shapes
#   cfn/       the same, and no chatd code but its own: templates read and evaluated
#   aws/       AWS's APIs without an SDK: may use core, never storage, server/ or lambda/
#   lambda/    chat-lambda: core, storage, aws; never server/ (it runs on Lambda, not in chatd)
#   server/    app -> gateway -> integrations -> transport -> ops -> core, storage
#              a layer includes its own headers and those of the layers below it, by
#              "layer/file.hpp"; ops includes no networking (Asio, Beast, OpenSSL) and
#              transport no storage.
set -uo pipefail
root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
layers=(ops transport integrations gateway app)
status=0

rank() {
    local i
    for i in "${!layers[@]}"; do
        [ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }
    done
    echo -1
}

complain() {
    echo "$1: $2" >&2
    status=1
}

# core/ stays pure.
while IFS= read -r hit; do
    complain "${hit%%:*}" "core/ must not include Asio, Beast, SQLite or OpenSSL (${hit#*:})"
done < <(cd "$root" && grep -rnE '#include *[<"](boost/(asio|beast)|sqlite3\.h|openssl/)' core/ |
    cut -d: -f1,3-)

# cfn/ too, and it stands alone.
while IFS= read -r hit; do
    complain "${hit%%:*}" "cfn/ must not include Asio, Beast, SQLite, OpenSSL or other chatd code (${hit#*:})"
done < <(cd "$root" && [ -d cfn ] &&
    grep -rnE '#include *[<"](boost/(asio|beast)|sqlite3\.h|openssl/|chatd/(core|storage)/|(ops|transport|integrations|gateway|app)/)' cfn/ |
    cut -d: -f1,3-)

# aws/ and lambda/ stand beside server/, never on it.
while IFS= read -r hit; do
    complain "${hit%%:*}" "aws/ may use core only (${hit#*:})"
done < <(cd "$root" && [ -d aws ] &&
    grep -rnE '#include *[<"](sqlite3\.h|chatd/storage/|chatd/cfn/|(ops|transport|integrations|gateway|app)/)' aws/ |
    cut -d: -f1,3-)
while IFS= read -r hit; do
    complain "${hit%%:*}" "lambda/ may use core, storage and aws, not chatd's server (${hit#*:})"
done < <(cd "$root" && [ -d lambda ] &&
    grep -rnE '#include *[<"](chatd/cfn/|(ops|transport|integrations|gateway|app)/)' lambda/ |
    cut -d: -f1,3-)

for layer in "${layers[@]}"; do
    own=$(rank "$layer")
    while IFS= read -r file; do
        rel="${file#"$root"/}"
        while IFS= read -r line; do
            # Bash's own matching, not a process per line: the check runs many times in tests.
            target=""
            system=""
            if [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]]; then
                target="${BASH_REMATCH[1]}"
            elif [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<([^\>]+)\> ]]; then
                system="${BASH_REMATCH[1]}"
            fi
            if [ -n "$target" ]; then
                dir="${target%%/*}"
                if [ "$dir" = "$target" ]; then
                    complain "$rel" "include \"$target\" by its layer's folder (\"$layer/$target\")"
                    continue
                fi
                theirs=$(rank "$dir")
                if [ "$theirs" -lt 0 ]; then
                    complain "$rel" "\"$target\" is in no layer of server/"
                elif [ "$theirs" -gt "$own" ]; then
                    complain "$rel" "$layer must not include $dir (\"$target\"): the arrows run app -> gateway -> integrations -> transport -> ops"
                fi
                continue
            fi
            case "$layer:$system" in
            ops:boost/asio* | ops:boost/beast* | ops:openssl/*)
                complain "$rel" "ops must not use networking (<$system>): that is transport's" ;;
            transport:sqlite3.h | transport:chatd/storage/*)
                complain "$rel" "transport must not use storage (<$system>): that is integrations'" ;;
            esac
        done < <(grep -E '^[[:space:]]*#[[:space:]]*include' "$file")
    done < <(find "$root/server/$layer" -name '*.hpp' -o -name '*.cpp' -o -name '*.ipp' | sort)
done

# Every server source is in a layer.
while IFS= read -r file; do
    complain "${file#"$root"/}" "server/ sources live in one of: ${layers[*]}"
done < <(find "$root/server" -mindepth 2 \( -name '*.hpp' -o -name '*.cpp' -o -name '*.ipp' \) |
    grep -vE "/server/($(IFS='|'; echo "${layers[*]}"))/")

[ $status -eq 0 ] && echo "layers: every include follows the arrows"
exit $status
