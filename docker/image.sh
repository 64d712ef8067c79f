#!/usr/bin/env bash
# The steps of chatd's container image, in one script that the Dockerfile's RUN lines call
# and that tests/docker/recipe_test.sh runs in a debootstrap root, so the recipe is proven
# without a Docker engine.
#
#   docker/image.sh build OUT    build stage: install the build packages (scripts/apt-packages.txt),
#                                build Release, install chatd, the web client and the Lambda
#                                runtime clients under OUT/opt/chatd
#   docker/image.sh runtime      runtime stage: install the runtime packages from the same list,
#                                add the unprivileged user chatd and its /data directory
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

case "${1:-}" in
build)
  out="${2:?usage: docker/image.sh build OUT}"
  "$repo/scripts/setup.sh" build
  cmake -S "$repo" -B "$repo/build/image" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCHATD_BUILD_TESTS=OFF \
    -DCHATD_DEFAULT_STATIC=/opt/chatd/static -DCHATD_DEFAULT_RUNTIMES=/opt/chatd/runtimes >/dev/null
  cmake --build "$repo/build/image" --target chatd
  install -D -m 0755 "$repo/build/image/chatd" "$out/opt/chatd/bin/chatd"
  strip "$out/opt/chatd/bin/chatd"
  mkdir -p "$out/opt/chatd/static"
  cp -R "$repo/static/." "$out/opt/chatd/static/"
  mkdir -p "$out/opt/chatd/runtimes"
  cp -R "$repo/runtimes/." "$out/opt/chatd/runtimes/"
  ;;
runtime)
  "$repo/scripts/setup.sh" runtime
  rm -rf /var/lib/apt/lists/*
  # A fixed uid/gid so a volume's ownership means the same thing in every image build.
  if ! getent group chatd >/dev/null; then groupadd --gid 10001 chatd; fi
  if ! id chatd >/dev/null 2>&1; then
    useradd --uid 10001 --gid chatd --home-dir /data --no-create-home --shell /usr/sbin/nologin chatd
  fi
  install -d -o chatd -g chatd -m 0750 /data
  ;;
*)
  echo "usage: docker/image.sh build OUT | runtime" >&2
  exit 2
  ;;
esac
