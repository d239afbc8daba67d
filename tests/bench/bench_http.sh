#!/bin/sh
# Benchmark 5 (README.md): requests per second and median/p99 latency of
#   GET  /jobs/<id>                                   (a finished job's report)
#   POST /jobs?appName=..&classPath=..&context=warm&sync=true   (a trivial jar job on a warm jvm context)
# from wrk on loopback, against, in the same run, nginx serving a small static
# file on loopback (the reference). Goal: GET /jobs/<id> within 2x of nginx's rate.
#
#   tests/bench/bench_http.sh BUILD_DIR [SECONDS] [CONNECTIONS]
set -eu
BUILD=${1:?usage: bench_http.sh BUILD_DIR [SECONDS] [CONNECTIONS]}
SECS=${2:-10}
CONNS=${3:-32}
THREADS=2
for tool in wrk nginx; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench_http: $tool is missing: run scripts/install-bench-deps.sh" >&2; exit 1; }
done
NGINX=$(command -v nginx)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sjs-bench-http-XXXXXX")
export SJS_HOME="$TMP/home" SJS_NO_AUTOSTART=1
unset SJS_SOCKET SJS_URL 2>/dev/null || true
mkdir -p "$SJS_HOME" "$TMP/www" "$TMP/nginx"
cleanup() {
  "$BUILD/sjs" daemon stop >/dev/null 2>&1 || true
  [ -f "$TMP/nginx/nginx.pid" ] && kill "$(cat "$TMP/nginx/nginx.pid")" 2>/dev/null || true
  [ -n "${SJS_KEEP_BENCH_DIRS:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

printf 'http.listen = "127.0.0.1:0"\nshutdown.grace-seconds = 1\n' > "$SJS_HOME/sjsd.conf"
"$BUILD/sjs" -q daemon start
URL=$(cat "$SJS_HOME/sjsd.url")
"$BUILD/sjs" -q jar upload ex "$BUILD/sjs-examples.jar"
"$BUILD/sjs" -q context create warm --runtime jvm --max-jobs 4
JOB=$("$BUILD/sjs" job submit ex sjs.examples.HelloWorld --context warm)
"$BUILD/sjs" -q job wait "$JOB" >/dev/null

# nginx: one small static file, no logs, on a free loopback port. Its workers run
# as an unprivileged user: the file and the dirs above it must be readable to them.
head -c 300 /dev/urandom | base64 > "$TMP/www/small.txt"
chmod 755 "$TMP" "$TMP/www"
chmod 644 "$TMP/www/small.txt"
NPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$TMP/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  server { listen 127.0.0.1:$NPORT; root $TMP/www; }
}
CONF
"$NGINX" -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx"
sleep 0.3

cat > "$TMP/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "input.string = a b a"
LUA

# Runs wrk and prints "req/s median_ms p99_ms errors".
measure() {
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency "$@" 2>&1)
  rps=$(printf '%s\n' "$out" | awk '/^Requests\/sec:/ {print $2}')
  p50=$(printf '%s\n' "$out" | awk '$1 == "50%" {print $2}')
  p99=$(printf '%s\n' "$out" | awk '$1 == "99%" {print $2}')
  errs=$(printf '%s\n' "$out" | awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {n += 1} END {print n + 0}')
  echo "$rps $p50 $p99 $errs"
}

echo "http: wrk, $THREADS threads, $CONNS connections, ${SECS} s per row, loopback; $(nproc) cores shared by wrk and the server"
echo
printf '%-58s %12s %10s %10s %8s\n' "benchmark" "requests/s" "median" "p99" "errors"
row() { printf '%-58s %12s %10s %10s %8s\n' "$1" $2; }
if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NPORT/small.txt")" != 200 ]; then
  echo "bench_http: nginx does not serve the file (see $TMP/nginx/error.log)" >&2
  exit 1
fi
NGINX_ROW=$(measure "http://127.0.0.1:$NPORT/small.txt")
GET_ROW=$(measure "$URL/jobs/$JOB")
POST_ROW=$(measure -s "$TMP/post.lua" "$URL/jobs?appName=ex&classPath=sjs.examples.WordCount&context=warm&sync=true")
row "nginx: GET a small static file (reference)" "$NGINX_ROW"
row "sjsd: GET /jobs/<id>" "$GET_ROW"
row "sjsd: POST /jobs?sync=true, WordCount, warm jvm context" "$POST_ROW"
echo
awk -v n="$(echo "$NGINX_ROW" | cut -d' ' -f1)" -v g="$(echo "$GET_ROW" | cut -d' ' -f1)" \
  'BEGIN { printf "GET /jobs/<id> rate / nginx rate: %.2f (goal: >= 0.5, i.e. within 2x)\n", g / n }'
