#!/bin/sh
# Makes tests/data/store-v1: a store written by the real sjsd at schema 1, and
# expected.json, what tests/unit/test_store_migration.cpp must read from it.
#
#   tests/data/make_store_v1.sh BUILD_DIR [OUT_DIR]
#
# BUILD_DIR holds sjs, sjsd and the jars of the sjsd whose format is to
# be frozen (OUT_DIR defaults to tests/data/store-v1). Run it once per schema:
# a later sjsd must keep reading what an earlier one wrote, so do not re-run it
# with a newer build over store-v1; make a store-v2 beside it instead.
#
# The store is copied (mdb_copy -c: compacted, a consistent snapshot) while
# sjsd is still up, with one job RUNNING and one QUEUED behind it, as a crash
# would leave them; expected.json is built from `sjs --json` answers taken just
# before and after the copy (the script fails if they differ).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: make_store_v1.sh BUILD_DIR [OUT_DIR]}" && pwd)
out=${2:-$here/store-v1}
for f in sjs sjsd sjs-examples.jar sjs-api.jar; do
  [ -e "$build/$f" ] || { echo "make_store_v1.sh: no $build/$f" >&2; exit 2; }
done
command -v mdb_copy >/dev/null || { echo "make_store_v1.sh: needs mdb_copy (lmdb-utils)" >&2; exit 2; }

unset SJS_HOME SJS_SOCKET SJS_NO_AUTOSTART SJS_URL SJS_TOKEN SJS_PASSWORD
work=$(mktemp -d /tmp/sjs-store-v1.XXXXXX)
d=$work/data
mkdir -p "$d" "$work/q" "$work/snapshot"
sjs() { "$build/sjs" --data-dir "$d" "$@"; }
cleanup() {
  "$build/sjs" --data-dir "$d" --no-autostart daemon stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Quick to stop; nothing removed by retention while the script runs.
cat >"$d/sjsd.conf" <<'EOF'
shutdown.grace-seconds = 1
kill.grace-seconds = 1
retention.max-age-days = 0
retention.max-jobs = 0
EOF

state_of() { sjs --json job status "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
wait_state() {  # ID STATE: up to 60 s
  i=0
  while [ "$(state_of "$1")" != "$2" ]; do
    i=$((i + 1))
    [ $i -lt 600 ] || { echo "make_store_v1.sh: job $1 never reached $2" >&2; exit 1; }
    sleep 0.1
  done
}

sjs daemon start

# ---- binaries: an exec tool in 2 versions, and the examples jar ----
cat >"$work/tool-v1" <<'EOF'
#!/bin/sh
# store-v1's tool, version 1: a string result.
cat >/dev/null
echo "v1 says hi"
EOF
cat >"$work/tool-v2" <<'EOF'
#!/bin/sh
# store-v1's tool, version 2: its first argument says what the job does.
cat >/dev/null
case "$1" in
  ok) printf '{"words": 3, "first": "a", "nested": {"list": [1, 2.5, null, true]}}\n' >"$SJS_RESULT" ;;
  fail) echo "failing on purpose" >&2; exit 3 ;;
  sleep) exec sleep 600 ;;
esac
EOF
chmod +x "$work/tool-v1" "$work/tool-v2"
sjs -q binary upload tool "$work/tool-v1"
sjs job submit tool --sync >/dev/null  # FINISHED with a string result, from tool v1 (before v2 exists)
j_v1=$(sjs --json job list --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["jobs"][0]["id"])')
sjs -q binary upload tool "$work/tool-v2"
sjs -q jar upload examples "$build/sjs-examples.jar"
sjs -q jar upload api "$build/sjs-api.jar"  # a library jar, for a job's --with

# ---- contexts: one with settings (a secret-looking one too), one idle ----
sjs -q context create etl --max-jobs 1 --set env.REGION=eu --set env.DB_PASSWORD=x --set max-queue=100
sjs -q context create idle

# ---- jobs ----
# FINISHED with a JSON result, a config holding a secret-looking key, an idempotency key.
j_ok=$(sjs job submit tool run --key nightly-2026-11-29 --priority 2 --conf input.string="a b a" \
  --conf db.password=hunter2 --conf limits.rows=10 --conf limits.ratio=0.5 -- ok)
sjs job wait "$j_ok" >/dev/null
# ERROR: exit status 3, a stack from stderr.
j_fail=$(sjs job submit tool run -- fail)
sjs job wait "$j_fail" >/dev/null 2>&1 || true
# KILLED by a kill, and by its --timeout.
j_killed=$(sjs job submit tool run -- sleep)
wait_state "$j_killed" RUNNING
sjs -q job kill "$j_killed"
sjs job wait "$j_killed" >/dev/null 2>&1 || true
j_timeout=$(sjs job submit tool run --timeout 0.5 -- sleep)
sjs job wait "$j_timeout" >/dev/null 2>&1 || true
# FINISHED on the jvm runtime (an ad-hoc JVM), with a dependency.
j_jar=$(sjs job submit examples sjs.examples.WordCount --with api --conf input.string="to be or not to be")
sjs job wait "$j_jar" >/dev/null
# In the named context etl (1 slot): one FINISHED, one RUNNING, one QUEUED behind it.
j_etl=$(sjs job submit tool run -c etl --conf input.string="x" -- ok)
sjs job wait "$j_etl" >/dev/null
j_running=$(sjs job submit tool run -c etl -- sleep)
wait_state "$j_running" RUNNING
# QUEUED, with a callback URL (owed until it ends): job.submit straight over the socket,
# as the CLI has no flag for callback_url.
j_queued=$(python3 - "$d/sjsd.sock" <<'EOF'
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
def call(n, op, args):
    body = json.dumps({"id": n, "op": op, "args": args}).encode()
    s.sendall(struct.pack(">I", len(body)) + body)
    def read(k):
        b = b""
        while len(b) < k:
            c = s.recv(k - len(b))
            if not c: raise SystemExit("sjsd closed the connection")
            b += c
        return b
    reply = json.loads(read(struct.unpack(">I", read(4))[0]))
    if not reply.get("ok"): raise SystemExit("%s: %s" % (op, reply))
    return reply["result"]
call(1, "hello", {"protocol": 1, "client": "make_store_v1.sh"})
r = call(2, "job.submit", {"binary": "tool", "entry": "run", "args": ["ok", "--flag=1"], "context": "etl",
                           "priority": 5, "config": {"input": {"string": "queued"}},
                           "callback_url": "http://127.0.0.1:9/store-v1/callback?tag=1"})
print(r["job"]["id"])
EOF
)
[ "$(state_of "$j_queued")" = QUEUED ]

# ---- what sjs answers, the snapshot, and what sjs answers again ----
query() {  # DIR: every record sjs shows, one file per answer
  q=$1
  mkdir -p "$q"
  sjs --json job list --limit 1000 >"$q/job-list.json"
  for id in $j_v1 $j_ok $j_fail $j_killed $j_timeout $j_jar $j_etl $j_running $j_queued; do
    sjs --json job status "$id" >"$q/status-$id.json"
    sjs --json job config "$id" >"$q/config-$id.json"
    sjs --json job result "$id" >"$q/result-$id.json" 2>/dev/null || true
  done
  sjs --json binary list >"$q/binary-list.json"
  for b in tool examples api; do sjs --json binary show "$b" >"$q/binary-$b.json"; done
  sjs --json context list >"$q/context-list.json"
  for c in etl idle; do sjs --json context show "$c" >"$q/context-$c.json"; done
}
query "$work/q/before"
mdb_copy -c "$d/store" "$work/snapshot"
query "$work/q/after"
diff -r "$work/q/before" "$work/q/after" || { echo "make_store_v1.sh: records changed during the copy" >&2; exit 1; }
made_by=$(sjs --version)
sjs daemon stop >/dev/null

mkdir -p "$out"
cp "$work/snapshot/data.mdb" "$out/data.mdb"
python3 - "$work/q/before" "$made_by" "$j_v1 $j_ok $j_fail $j_killed $j_timeout $j_jar $j_etl $j_running $j_queued" \
  >"$out/expected.json" <<'EOF'
import json, os, sys
q, made_by, ids = sys.argv[1], sys.argv[2], sys.argv[3].split()
def load(name):
    with open(os.path.join(q, name)) as f:
        return json.load(f)
jobs = [load("status-%s.json" % i) for i in ids]
expected = {
    "made_by": made_by,
    "schema": "1",
    "note": "written by tests/data/make_store_v1.sh from `sjs --json` answers; do not edit by hand",
    # sjs job status, one per job, in submission order
    "jobs": jobs,
    # sjs job list: ids, newest first
    "listing": [j["id"] for j in load("job-list.json")["jobs"]],
    # sjs job config (secret-looking values shown as ********), sjs job result
    "configs": {i: load("config-%s.json" % i)["config"] for i in ids},
    "results": {j["id"]: load("result-%s.json" % j["id"])["result"] for j in jobs if j["has_result"]},
    "keys": {j["key"]: j["id"] for j in jobs if j["key"]},
    # callbacks still owed: a job with a callback URL that has not ended
    "pending_callbacks": sorted(j["id"] for j in jobs
                                if j["callback_url"] and j["state"] not in ("FINISHED", "ERROR", "KILLED")),
    "binary_list": load("binary-list.json"),
    "binaries": {b: load("binary-%s.json" % b) for b in ("tool", "examples", "api")},
    "context_list": load("context-list.json"),
    "contexts": {c: load("context-%s.json" % c) for c in ("etl", "idle")},
}
json.dump(expected, sys.stdout, indent=1, sort_keys=True)
sys.stdout.write("\n")
EOF
ls -l "$out"
