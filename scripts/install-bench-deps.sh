#!/bin/sh
# Installs what the benchmarks use besides the build: wrk and nginx (the HTTP
# benchmark's load generator and reference server) and task-spooler. Debian 12
# packages only. nginx is only run by the benchmark itself, on a loopback port:
# the package's own service is not started (policy-rc.d), and stopped if running.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=""
for p in wrk nginx-light task-spooler; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -n "$missing" ] || exit 0
echo "install-bench-deps: installing:$missing" >&2
policy=/usr/sbin/policy-rc.d
had_policy=0
[ -e "$policy" ] && had_policy=1
if [ "$had_policy" = 0 ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
[ "$had_policy" = 1 ] || $SUDO rm -f "$policy"
# The service, if some init started it anyway, is not ours to keep.
$SUDO nginx -s stop 2>/dev/null || true
