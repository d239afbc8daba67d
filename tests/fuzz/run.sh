#!/bin/sh
# Runs every fuzz target (or the ones named) for SECONDS each (default 600), one after another,
# from the checked-in seeds, keeping what they find in build-fuzz/tests/fuzz/work/<target>/. Prints per target: executions, coverage,
# features, corpus size and any findings (crash-*, leak-*, timeout-* files).
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# Builds build-fuzz first (clang, libFuzzer, ASan+UBSan) if it is not there.
set -eu
cd "$(dirname "$0")/../.."
seconds=${1:-600}
[ $# -gt 0 ] && shift
targets=${*:-"client_protocol http hocon worker_protocol users sjsd_conf"}
build=${FUZZ_BUILD_DIR:-build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DSJS_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build"
summary=""
for t in $targets; do
  work="$build/tests/fuzz/work/$t"
  mkdir -p "$work/corpus" "$work/artifacts"
  extra=""
  case $t in client_protocol | http) extra="-detect_leaks=0" ;; esac  # see CMakeLists.txt
  dict=""
  [ -f "tests/fuzz/dict/$t.dict" ] && dict="-dict=tests/fuzz/dict/$t.dict"
  log="$work/run.log"
  echo "== $t: $seconds s (log: $log)"
  # Findings stop a target's run: the rest still run, and the summary lists them.
  "$build/fuzz_$t" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" $dict $extra "$work/corpus" "tests/fuzz/corpus/$t" >"$log" 2>&1 || true
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(echo "$last" | grep -o 'cov: [0-9]*' || echo "cov: ?")
  ft=$(echo "$last" | grep -o 'ft: [0-9]*' || echo "ft: ?")
  corp=$(echo "$last" | grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' || echo "corp: ?")
  found=$(ls "$work/artifacts" 2>/dev/null | tr '\n' ' ')
  line="$t: $execs executions, $cov, $ft, $corp, findings: ${found:-none}"
  echo "$line"
  summary="$summary$line
"
done
echo
echo "== summary ($seconds s per target)"
printf '%s' "$summary"
# Exit 1 when any target found something.
! printf '%s' "$summary" | grep -v 'findings: none' | grep -q .
