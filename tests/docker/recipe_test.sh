#!/usr/bin/env bash
# Proves docker/Dockerfile without a Docker engine:
#  1. checks the Dockerfile's own rules (pinned bases, two stages, non-root USER, HEALTHCHECK,
#     EXPOSE, STOPSIGNAL, the /data volume, RUN lines that call docker/image.sh, no secrets);
#  2. runs the build stage's script (docker/image.sh build) on this machine;
#  3. in a fresh `debootstrap --variant=minbase bookworm` root (cached pristine under
#     build/docker-root-base and copied per run), runs the runtime stage's script, copies the
#     Release binary in, and starts it as the image's user with the image's ENV, ENTRYPOINT
#     and CMD (only the port and host changed, to a free loopback port); then runs the image's
#     HEALTHCHECK command, checks that the database is under /data, and stops it with the
#     image's STOPSIGNAL, expecting exit 0.
# Needs root (chroot) and debootstrap. Bounded: every wait has a deadline.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dockerfile="$repo/docker/Dockerfile"
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { printf '== [%3ds] %s\n' "$SECONDS" "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  # chroot and debootstrap need root: use sudo when it needs no password, as setup.sh does.
  sudo -n true 2>/dev/null || fail "needs root (chroot, debootstrap): run the tests as root or with passwordless sudo"
  exec sudo -n --preserve-env=PATH bash "$0" "$@"
fi
command -v debootstrap >/dev/null || fail "needs debootstrap (scripts/setup.sh test installs it)"

step "Dockerfile rules"
froms=$(grep -E '^FROM ' "$dockerfile")
[ "$(echo "$froms" | wc -l)" -eq 2 ] || fail "expected two stages, got: $froms"
release=$(sed -nE 's/^ARG DEBIAN_RELEASE=([0-9]+\.[0-9]+)$/\1/p' "$dockerfile")
[[ "$release" == 12.* ]] || fail "the base images must be pinned to a Debian 12 point release (ARG DEBIAN_RELEASE=12.N)"
echo "$froms" | sed -n 1p | grep -qE '^FROM debian:\$\{DEBIAN_RELEASE\} AS build$' || fail "build stage must be debian:\${DEBIAN_RELEASE}"
echo "$froms" | sed -n 2p | grep -qE '^FROM debian:\$\{DEBIAN_RELEASE\}-slim$' || fail "runtime stage must be debian:\${DEBIAN_RELEASE}-slim"
grep -qE '^USER chatd(:chatd)?$' "$dockerfile" || fail "USER must be the unprivileged chatd"
grep -qE '^USER (root|0)' "$dockerfile" && fail "the image must not run as root"
grep -qE '^HEALTHCHECK .*' "$dockerfile" || fail "no HEALTHCHECK"
grep -qE '^EXPOSE 8080$' "$dockerfile" || fail "no EXPOSE 8080"
grep -qE '^STOPSIGNAL SIGTERM$' "$dockerfile" || fail "no STOPSIGNAL SIGTERM"
grep -qE '^VOLUME /data$' "$dockerfile" || fail "no VOLUME /data"
grep -E '^RUN ' "$dockerfile" | grep -vq 'docker/image.sh' && fail "every RUN line must call docker/image.sh"
grep -q 'scripts/setup.sh' "$repo/docker/image.sh" || fail "image.sh must install through scripts/setup.sh"
grep -q 'apt-packages.txt' "$dockerfile" || fail "the runtime stage must copy the shared package list"
# The build stage copies every directory the build reads (the top CMakeLists' subdirectories).
for sub in $(sed -nE 's/^add_subdirectory\(([a-z]+)\)$/\1/p' "$repo/CMakeLists.txt"); do
  grep -qxF "COPY $sub ./$sub" "$dockerfile" || fail "the build stage must COPY $sub (CMakeLists.txt builds it)"
done
grep -qxF "COPY runtimes ./runtimes" "$dockerfile" || fail "the build stage must COPY runtimes (the Lambda runtime clients)"
if grep -RniE '(secret|password|passwd|token|api[_-]?key|BEGIN [A-Z ]*PRIVATE KEY|AWS_ACCESS_KEY_ID)' \
     "$dockerfile" "$repo/docker/compose.yaml" "$repo/docker/image.sh"; then
  fail "something that looks like a secret is in the image recipe"
fi
for ignored in '**/build' '**/node_modules' '**/*.db' '.git'; do
  grep -qxF "$ignored" "$repo/.dockerignore" || fail ".dockerignore must exclude $ignored"
done

step "build stage: docker/image.sh build (a Release build of chatd, about a minute)"
out=$(mktemp -d)
root=""
pid=""
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  rm -rf "$out"
  [ -n "$root" ] && rm -rf "$root"
}
trap cleanup EXIT
"$repo/docker/image.sh" build "$out" >/dev/null
[ -x "$out/opt/chatd/bin/chatd" ] || fail "no binary"
[ -f "$out/opt/chatd/static/index.html" ] || fail "no web client"
[ -f "$out/opt/chatd/runtimes/node/ric.mjs" ] || fail "no Node.js runtime client"

step "runtime stage in a debootstrap root"
base="${CHATD_DOCKER_ROOT_CACHE:-$repo/build/docker-root-base}"
if [ ! -x "$base/bin/sh" ] || [ ! -f "$base/.chatd-complete" ]; then
  step "debootstrap --variant=minbase bookworm into $base (first run only, a minute or two)"
  rm -rf "$base"
  mkdir -p "$(dirname "$base")"
  timeout 600 debootstrap --variant=minbase bookworm "$base" >/dev/null
  touch "$base/.chatd-complete"
fi
root=$(mktemp -d)
cp -a "$base/." "$root/"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# What the runtime stage's COPY lines put in place, then its RUN line.
mkdir -p "$root/tmp/chatd-image/scripts" "$root/tmp/chatd-image/docker"
cp "$repo/scripts/setup.sh" "$repo/scripts/apt-packages.txt" "$root/tmp/chatd-image/scripts/"
cp "$repo/docker/image.sh" "$root/tmp/chatd-image/docker/"
step "docker/image.sh runtime inside the root (installs the runtime packages)"
timeout 900 chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  bash -c '/tmp/chatd-image/docker/image.sh runtime && rm -rf /tmp/chatd-image' >/dev/null
cp -a "$out/opt/chatd" "$root/opt/chatd"
[ "$(stat -c %u "$root/data")" = 10001 ] || fail "/data is not owned by chatd (uid 10001)"

step "start with the image's user, ENV, ENTRYPOINT and CMD"
env_args=()
while read -r kv; do env_args+=("$kv"); done < <(
  python3 - "$dockerfile" <<'PY'
import re, shlex, sys
text = open(sys.argv[1]).read().replace('\\\n', ' ')
for line in text.splitlines():
    if line.startswith('ENV '):
        for kv in shlex.split(line[4:]):
            print(kv)
PY
)
cmdline=$(python3 - "$dockerfile" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
entry = json.loads(re.search(r'^ENTRYPOINT (\[.*\])$', text, re.M).group(1))
cmd = json.loads(re.search(r'^CMD (\[.*\])$', text, re.M).group(1))
print('\0'.join(entry + cmd))
PY
)
user=$(sed -nE 's/^USER ([a-z]+)(:[a-z]+)?$/\1/p' "$dockerfile")
workdir=$(tac "$dockerfile" | sed -nE 's/^WORKDIR (.*)$/\1/p' | head -1)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
IFS=$'\0' read -r -d '' -a argv < <(printf '%s\0' "$cmdline") || true
chroot --userspec="$user:$user" "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/data \
  "${env_args[@]}" CHATD_PORT="$port" CHATD_HOST=127.0.0.1 \
  sh -c "cd '$workdir' && exec \"\$@\"" chatd "${argv[@]}" >"$out/stdout" 2>"$out/stderr" &
pid=$!
for _ in $(seq 100); do
  grep -q "listening on" "$out/stdout" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$out/stderr" >&2; fail "chatd exited at start"; }
  sleep 0.1
done
grep -q "listening on ws://127.0.0.1:$port/dev" "$out/stdout" || fail "chatd did not start: $(cat "$out/stderr")"

step "the image's HEALTHCHECK command, inside the root"
health=$(sed -nE 's/^  CMD (.*)$/\1/p' "$dockerfile")
[ -n "$health" ] || fail "cannot read the HEALTHCHECK command"
chroot --userspec="$user:$user" "$root" /usr/bin/env -i PATH=/usr/bin:/bin CHATD_PORT="$port" \
  sh -c "$health" || fail "HEALTHCHECK failed"
[ "$(curl -fsS "http://127.0.0.1:$port/healthz")" = ok ] || fail "/healthz"

step "the database lives under /data, owned by the user"
[ -f "$root/data/chatd.db" ] || fail "no /data/chatd.db"
[ "$(stat -c %u "$root/data/chatd.db")" = 10001 ] || fail "/data/chatd.db not owned by chatd"
[ "$(stat -c %u "/proc/$pid")" = 10001 ] || fail "chatd does not run as uid 10001"

step "STOPSIGNAL: a clean exit"
kill -TERM "$pid"
code=0
for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid" || code=$?
pid=""
[ "$code" -eq 0 ] || fail "chatd exited $code after SIGTERM: $(cat "$out/stderr")"
grep -q "chatd stopped" "$out/stderr" || fail "no clean stop in the log"
echo "docker recipe: ok (runtime root from debootstrap, chatd as uid 10001 on 127.0.0.1:$port)"
