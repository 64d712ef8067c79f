#!/bin/sh
# package.sh BINARY ZIP [CMAKE]: the deployment package of a Lambda function with runtime
# provided.al2023, made from a binary built here (Debian).
#
# A binary linked on Debian bookworm needs glibc 2.35/2.36 symbols (arc4random from
# libstdc++, _dl_find_object from the unwinder) that Amazon Linux 2023's glibc 2.34 lacks, even
# with libstdc++ and libgcc linked in statically. So the package carries the loader and every
# library the binary was linked against, and bootstrap starts the binary through that loader:
#   bootstrap, bin/chat-lambda, lib/ld-linux-x86-64.so.2, lib/libc.so.6, lib/...
set -eu
bin=$1
zip=$2
cmake=${3:-cmake}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib"
cp "$bin" "$stage/bin/chat-lambda"
strip "$stage/bin/chat-lambda" 2>/dev/null || true

# Every library the dynamic loader resolves for the binary, copied as files (not links).
ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do
    cp -L "$lib" "$stage/lib/"
done
loader=$(readelf -l "$bin" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
cp -L "$loader" "$stage/lib/ld-linux-x86-64.so.2"
# Name lookup (DynamoDB's and execute-api's host names): glibc 2.36 has files and dns built in;
# these are the same modules for a system whose nsswitch.conf names them.
libdir=$(dirname "$(ldd "$bin" | awk '$1 == "libc.so.6" { print $3 }')")
for module in libnss_dns.so.2 libnss_files.so.2 libresolv.so.2; do
    [ -e "$libdir/$module" ] && cp -L "$libdir/$module" "$stage/lib/"
done

cat > "$stage/bootstrap" <<'SCRIPT'
#!/bin/sh
# Lambda (runtime provided.al2023) runs this file. chat-lambda was built against a newer glibc
# than Amazon Linux 2023 has, so it starts through the loader and libraries packed beside it.
root=${LAMBDA_TASK_ROOT:-${0%/*}}
exec "$root/lib/ld-linux-x86-64.so.2" --library-path "$root/lib" "$root/bin/chat-lambda" "$@"
SCRIPT
chmod 755 "$stage/bootstrap" "$stage/bin/chat-lambda" "$stage/lib/ld-linux-x86-64.so.2"
chmod 644 "$stage"/lib/*.so*
chmod 755 "$stage/lib/ld-linux-x86-64.so.2"

rm -f "$zip"
out=$(cd "$(dirname "$zip")" && pwd)/$(basename "$zip")
(cd "$stage" && "$cmake" -E tar cf "$out" --format=zip bootstrap bin lib)
