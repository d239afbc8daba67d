#!/bin/sh
# Runs the whole test suite: every CTest test of build/ (unit, integration, docs, jvm, python,
# torture: build it first with scripts/build.sh), then the fuzz smoke stage: the libFuzzer targets
# of tests/fuzz, built with clang into build-fuzz/ (scripts/install-deps.sh --test installs clang),
# each run for a short, fixed time (SJS_FUZZ_SMOKE_SECONDS, 20 s) and on its regression inputs.
# Arguments go to both ctest runs (e.g. -L unit, -R name).
set -eu
cd "$(dirname "$0")/.."
status=0
ctest --test-dir build --output-on-failure -j2 "$@" || status=$?
if [ "${SJS_NO_FUZZ:-}" = "1" ]; then
  echo "test.sh: SJS_NO_FUZZ=1: the fuzz smoke stage is skipped" >&2
  exit $status
fi
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DSJS_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build-fuzz
ctest --test-dir build-fuzz --output-on-failure -j2 "$@" || status=$?
exit $status
