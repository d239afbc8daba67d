#!/bin/sh
# Builds the benchmarks and runs them all; prints the machine, then one table
# per benchmark. See tests/bench/README.md for what each number means.
#
#   tests/bench/run.sh            full run (500 sync submits per row, 10,000 pipelined submits)
#   tests/bench/run.sh --quick    a smaller run to check that everything works
#   tests/bench/run.sh --no-build run the benchmarks already built (e.g. while the tree does not build)
#
# Environment: SJS_BUILD_DIR (default: build/ in the source tree), SJS_BUILD_LOCK
# (default /tmp/sjs-build.lock: builds are serialised through it with flock),
# TMPDIR (where the temp dirs go; default /tmp), SJS_KEEP_BENCH_DIRS=1 (keep them).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${SJS_BUILD_DIR:-$ROOT/build}
LOCK=${SJS_BUILD_LOCK:-/tmp/sjs-build.lock}

LATENCY_ARGS=""
JVM_ARGS=""
THROUGHPUT_ARGS=""
PYTHON_ARGS=""
BUILD_FIRST=1
for arg in "$@"; do
  case "$arg" in
    --quick)
      LATENCY_ARGS="--n 100 --warmup 10 --n-floor 100"
      THROUGHPUT_ARGS="--jobs 2000 --lmdb-commits 500"
      JVM_ARGS="--n 100 --warmup 10 --n-cold 5"
      PYTHON_ARGS="--n 100 --warmup 10 --n-cold 5"
      ;;
    --no-build) BUILD_FIRST=0 ;;
    *)
      echo "usage: $0 [--quick] [--no-build]" >&2
      exit 2
      ;;
  esac
done

if ! command -v tsp >/dev/null 2>&1; then
  echo "run.sh: tsp (Debian package task-spooler) is not installed; it is the reference for the latency" >&2
  echo "run.sh: benchmark. Install it with scripts/install-deps.sh, then run this again." >&2
  exit 1
fi
if [ ! -f "$BUILD/build.ninja" ]; then
  echo "run.sh: $BUILD is not a configured Ninja build dir: cmake -S $ROOT -B $BUILD -G Ninja" >&2
  exit 1
fi

if [ "$BUILD_FIRST" = 1 ]; then
  echo "== building (ninja -C $BUILD sjs_bench, under flock $LOCK)"
  if ! LOG=$(flock "$LOCK" ninja -C "$BUILD" sjs_bench 2>&1); then
    printf '%s\n' "$LOG" | tail -n 30 >&2
    echo "run.sh: the build failed (see above); --no-build runs the binaries already built" >&2
    exit 1
  fi
fi

for b in sjs sjsd sjs_bench_latency sjs_bench_throughput sjs_bench_jvm sjs_bench_python; do
  if [ ! -x "$BUILD/$b" ]; then
    echo "run.sh: $BUILD/$b is missing: run without --no-build" >&2
    exit 1
  fi
done

TMP=${TMPDIR:-/tmp}
echo
echo "== machine"
echo "date:       $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "cpu:        $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "cores:      $(nproc) (nproc)"
echo "memory:     $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
echo "kernel:     $(uname -sr)"
echo "temp dirs:  $TMP on $(df -PT "$TMP" | awk 'NR == 2 {print $2 " (" $1 ")"}')"
echo "load:       $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min; other work on the machine skews the numbers)"
LOAD1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD1" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  echo "WARNING:    the machine is busy (load $LOAD1 on $(nproc) cores): expect slow, noisy figures; run again when idle"
fi
echo "build:      $(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt")"
echo "tsp:        $(tsp -V 2>&1 | head -n 1)"

echo
echo "== 1 + 3: submit-and-wait latency of a trivial job, and the CLI floor"
# shellcheck disable=SC2086
"$BUILD/sjs_bench_latency" $LATENCY_ARGS

echo
echo "== 2: durable submission throughput (group commit) vs one LMDB commit per write"
# shellcheck disable=SC2086
"$BUILD/sjs_bench_throughput" $THROUGHPUT_ARGS

echo
echo "== 4: sync latency of a trivial jar job, warm and ad-hoc, vs JVM start-up and a bare process"
# shellcheck disable=SC2086
"$BUILD/sjs_bench_jvm" $JVM_ARGS

echo
echo "== 6: sync latency of a trivial python job, warm and ad-hoc, vs the warm exec job and Python's start-up"
# shellcheck disable=SC2086
"$BUILD/sjs_bench_python" $PYTHON_ARGS

echo
echo "== 5: HTTP: GET /jobs/<id> and POST /jobs?sync=true from wrk, vs nginx serving a static file"
if command -v wrk >/dev/null 2>&1 && command -v nginx >/dev/null 2>&1; then
  if [ -n "$JVM_ARGS" ]; then sh "$ROOT/tests/bench/bench_http.sh" "$BUILD" 3; else sh "$ROOT/tests/bench/bench_http.sh" "$BUILD"; fi
else
  echo "skipped: wrk and nginx are not installed (run scripts/install-bench-deps.sh)"
fi

echo
echo "== 7: partition servers: submit to READY (4 and 32 local partitions), requests/s vs a bare http.server"
if [ -n "$JVM_ARGS" ]; then
  python3 "$ROOT/tests/bench/bench_clusters.py" "$BUILD" --rounds 2 --seconds 3
else
  python3 "$ROOT/tests/bench/bench_clusters.py" "$BUILD"
fi
