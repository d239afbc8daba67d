#!/bin/sh
# Installs everything sjs needs to build, test and benchmark, from Debian 12's
# packages only. Used by README.md and .ci/run. Run as root (or via sudo).
# --test: also what the whole test suite needs beyond that (scripts/test.sh): clang and its
# libFuzzer runtime for the fuzz targets (tests/fuzz).
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PACKAGES="
  build-essential cmake ninja-build pkg-config git
  libboost-dev libboost-system-dev
  libcli11-dev nlohmann-json3-dev liblmdb-dev lmdb-utils
  libspdlog-dev libfmt-dev catch2 libssl-dev
  default-jdk-headless
  python3 python3-flask curl
  task-spooler
"
if [ "${1:-}" = "--test" ]; then
  PACKAGES="$PACKAGES clang libclang-rt-14-dev"
elif [ $# -gt 0 ]; then
  echo "install-deps: unknown argument $1 (--test adds what the test suite needs)" >&2
  exit 2
fi
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "install-deps: installing:$missing" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
