#!/usr/bin/env python3
"""Crash torture for sjsd (issue #12, section 2): a program, not a timed test.

One sjsd with HTTP on a free loopback port and three named contexts (exec, jvm, python). Several
submitter threads send short jobs through the real `sjs` CLI and over HTTP (POST /jobs and
POST /sjs/v1/job.submit), some with idempotency keys (resubmitted later), and upload binaries now
and then. Meanwhile sjsd is SIGKILLed at a random moment 50-500 ms into each round and started
again; a context's worker (JVM, Python) is SIGKILLed mid-job now and then, and so is a CLI
mid-request. Every job appends "<runtime> <job id>" to one marker file (O_APPEND) when it really
runs. After the last round sjsd drains and checks.py checks; see tests/torture/README.md.

Standard library only. Exit 0 when every check holds, 1 with each violation listed (the work
dir is then kept and its path printed), 2 when the set-up itself fails.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile

import checks
from checks import JOB_OF_TARGET, log

TARGETS = tuple(JOB_OF_TARGET)  # exec context, ad-hoc exec, jvm context, python context


# ---- the client protocol (docs/protocol.md), for set-up and checks only -----------------------

class Client:
    """One connection to sjsd's Unix socket; requests answered in order (no pipelining)."""

    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.next_id = 0
        self.call("hello", {"protocol": 1, "client": "sjs torture"})

    def close(self):
        self.sock.close()

    def _exactly(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("sjsd closed the connection")
            buf += chunk
        return buf

    def call(self, op, args=None):
        """The result of `op`, or raises RuntimeError with the error envelope."""
        self.next_id += 1
        data = json.dumps({"id": self.next_id, "op": op, "args": args or {}}).encode()
        self.sock.sendall(struct.pack(">I", len(data)) + data)
        while True:
            (n,) = struct.unpack(">I", self._exactly(4))
            env = json.loads(self._exactly(n))
            if env.get("more"):
                continue
            if not env.get("ok"):
                raise RuntimeError("%s: %s" % (op, json.dumps(env.get("error"))))
            return env["result"]


# ---- the jobs: each appends "<runtime> <job id>" to the marker file when it runs -----------------

EXEC_SCRIPT = """#!/bin/sh
# torture job (version {version}): mark the run, sleep the config's "sleep" seconds.
echo "exec $SJS_JOB_ID" >> '{marks}'
s=$(sed -n 's/.*"sleep": *\\([0-9.]*\\).*/\\1/p' "$SJS_CONFIG")
sleep "${{s:-0.1}}"
echo '{{"ok": true}}'
"""

PY_MODULE = """# torture job (version {version}): mark the run, sleep the config's "sleep" seconds.
import os


def run(ctx, config):
    fd = os.open({marks!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, ("python %s\\n" % ctx.job_id).encode())
    os.close(fd)
    ctx.sleep(float(config.get("sleep", 0.1)))
    return {{"ok": True}}
"""

JAVA_SOURCE = """package torture;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import sjs.api.Config;
import sjs.api.Job;
import sjs.api.JobContext;

/** Marks the run (O_APPEND), then sleeps the config's "sleep" seconds, cancellable. */
public class Mark implements Job {
  @Override
  public Object run(JobContext ctx, Config config) throws Exception {
    Files.write(Paths.get(%s), ("jvm " + ctx.jobId() + "\\n").getBytes(StandardCharsets.UTF_8),
        StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    long end = System.nanoTime() + (long) (config.getDouble("sleep", 0.1) * 1e9);
    while (System.nanoTime() < end) {
      ctx.checkCancelled();
      Thread.sleep(10);
    }
    return "ok";
  }
}
"""


def make_jar(build, work):
    src = os.path.join(work, "java", "torture")
    os.makedirs(src)
    with open(os.path.join(src, "Mark.java"), "w") as f:
        f.write(JAVA_SOURCE % json.dumps(os.path.join(work, "marks")))
    classes = os.path.join(work, "java", "classes")
    r = subprocess.run(["javac", "-nowarn", "-cp", os.path.join(build, "sjs-api.jar"),
                        "-d", classes, os.path.join(src, "Mark.java")], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("javac failed on the jvm job (needs a JDK and %s/sjs-api.jar): %s"
                           % (build, r.stderr.strip()))
    jar = os.path.join(work, "mark.jar")
    with zipfile.ZipFile(jar, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
        z.write(os.path.join(classes, "torture", "Mark.class"), "torture/Mark.class")
    return jar


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- the run's shared state ----------------------------------------------------------------------

class Torture:
    def __init__(self, opts):
        self.opts = opts
        self.build = os.path.abspath(opts.build)
        self.sjs = os.path.join(self.build, "sjs")
        self.sjsd = os.path.join(self.build, "sjsd")
        self.rng = random.Random(opts.seed)
        if opts.keep:
            os.makedirs(opts.keep, exist_ok=True)
            self.work = tempfile.mkdtemp(prefix="sjs-torture-", dir=os.path.abspath(opts.keep))
        else:
            self.work = tempfile.mkdtemp(prefix="sjs-torture-")
        self.home = os.path.join(self.work, "home")
        os.makedirs(self.home, mode=0o700)
        self.socket = os.path.join(self.home, "sjsd.sock")
        self.marks = os.path.join(self.work, "marks")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("SJS_"):
                del self.env[k]
        self.env.update({"SJS_HOME": self.home, "SJS_NO_AUTOSTART": "1"})
        self.lock = threading.Lock()
        self.attempts = []            # every submission: dict(method, target, key, tag, acked, id, ...)
        self.key_ids = {}             # idempotency key -> the id its first acknowledged submission got
        self.uploads = {"acked": 0, "failed": 0}
        self.kills = {"sjsd": 0, "jvm": 0, "python": 0, "cli": 0}
        self.violations = []
        self.worker_pids = set()      # every worker sjsd started, to check none outlives the run
        self.seen = {}                # job id -> the state the observer last saw
        self.observations = 0
        self.daemon = None            # the running sjsd (Popen), or None between rounds
        self.up = threading.Event()   # set while sjsd answers
        self.stop = threading.Event()         # the submitters stop
        self.stop_killer = threading.Event()  # the worker killer and the observer stop (after the drain)
        self.upload_version = 0

    def client(self):
        return Client(self.socket)

    def violation(self, text):
        with self.lock:
            self.violations.append(text)

    # ---- sjsd ---------------------------------------------------------------------------------

    def start_daemon(self, timeout=30):
        """Starts sjsd in the foreground (so its pid is ours) and waits until it answers."""
        err = open(os.path.join(self.work, "sjsd.stderr"), "ab")
        self.daemon = subprocess.Popen([self.sjsd, "--foreground", "--log-level", "info"], env=self.env,
                                       stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        err.close()
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.daemon.poll() is not None:
                raise RuntimeError("sjsd exited with status %s at start-up (see %s/sjsd.stderr)"
                                   % (self.daemon.returncode, self.work))
            try:
                Client(self.socket, timeout=5).close()
                self.up.set()
                return time.monotonic() - t0
            except (OSError, EOFError, RuntimeError):
                time.sleep(0.01)
        raise RuntimeError("sjsd did not answer within %d s" % timeout)

    def kill_daemon(self):
        self.up.clear()
        self.daemon.send_signal(signal.SIGKILL)
        self.daemon.wait()
        self.kills["sjsd"] += 1
        self.daemon = None

    def stop_daemon(self):
        self.up.clear()
        self.daemon.send_signal(signal.SIGTERM)
        try:
            rc = self.daemon.wait(60)
        except subprocess.TimeoutExpired:
            self.violation("sjsd did not stop within 60 s of SIGTERM")
            self.daemon.kill()
            rc = self.daemon.wait()
        if rc != 0:
            self.violation("sjsd exited with status %d after SIGTERM" % rc)
        self.daemon = None

    def cli(self, args, kill_after=None, timeout=60):
        """Runs sjs; returns (exit code, stdout, stderr); exit code None when we SIGKILLed it."""
        p = subprocess.Popen([self.sjs] + args, env=self.env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = p.communicate(timeout=kill_after if kill_after is not None else timeout)
            return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            if kill_after is None:
                return -1, "", "timed out"
            with self.lock:
                self.kills["cli"] += 1
            return None, "", ""

    def http(self, method, path, body=b"", headers=None, timeout=30):
        """(status, parsed JSON body or text); status 0 when the connection failed."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            try:
                return r.status, json.loads(data)
            except ValueError:
                return r.status, data.decode(errors="replace")
        except (OSError, http.client.HTTPException):
            return 0, None
        finally:
            c.close()

    # ---- set-up ------------------------------------------------------------------------------

    def set_up(self):
        with open(os.path.join(self.home, "sjsd.conf"), "w") as f:
            f.write("http.listen = \"127.0.0.1:%d\"\n" % self.port +
                    "shutdown.grace-seconds = 0.5\nkill.grace-seconds = 0.5\n"
                    "retention.max-jobs = 0\nretention.max-age-days = 0\n"
                    "adhoc.max-jobs = 3\ncontext.max-restarts = 1000000\n")
        open(self.marks, "w").close()
        jar = make_jar(self.build, self.work)
        self.startup_s = self.start_daemon()
        rc, out, err = self.cli(["binary", "upload", "mark", self.write_exec_script()])
        ok = rc == 0
        with open(os.path.join(self.work, "mark_py.py"), "w") as f:
            f.write(PY_MODULE.format(version=0, marks=self.marks))
        for args in (["binary", "upload", "mark_py", os.path.join(self.work, "mark_py.py")],
                     ["binary", "upload", "mark_jar", jar],
                     ["context", "create", "ex", "--max-jobs", "3"],
                     ["context", "create", "jv", "--runtime", "jvm", "--max-jobs", "3"],
                     ["context", "create", "py", "--runtime", "python", "--max-jobs", "3"]):
            if ok:
                rc, out, err = self.cli(args)
                ok = rc == 0
        if not ok:
            raise RuntimeError("set-up failed: sjs exited %s: %s" % (rc, err.strip()))

    def write_exec_script(self):
        with self.lock:
            self.upload_version += 1
            v = self.upload_version
        path = os.path.join(self.work, "scripts", "mark-%d.sh" % v)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(EXEC_SCRIPT.format(version=v, marks=self.marks))
        os.chmod(path, 0o755)
        return path

    # ---- load: submitters, uploads, worker kills --------------------------------------------------

    def submit_once(self, rng):
        """One submission by a random route to a random target; records it in self.attempts."""
        target = rng.choice(TARGETS)
        method = rng.choice(("cli", "cli", "http-sjs", "http-jobs"))
        key = None
        if method != "http-jobs" and rng.random() < 0.3:
            with self.lock:
                known = list(self.key_ids)
            # Half of the keyed submissions resend a key acknowledged before (same target: a key
            # names one job), the others bring a new one.
            if known and rng.random() < 0.5:
                key = rng.choice(known)
                target = key.split("-")[1]
            else:
                key = "k-%s-%s" % (target, uuid.UUID(int=rng.getrandbits(128)).hex[:12])
        tag = "t" + uuid.UUID(int=rng.getrandbits(128)).hex
        sleep = round(rng.uniform(0.02, 0.3), 3)
        binary, entry, context = JOB_OF_TARGET[target]
        attempt = {"method": method, "target": target, "key": key, "tag": tag, "acked": False, "id": None,
                   "killed": False, "t": time.time()}
        if method == "cli":
            args = ["job", "submit", binary, entry, "--parsable", "--conf", "sleep=%s" % sleep, "--conf", "tag=" + tag]
            if context:
                args += ["-c", context]
            if key:
                args += ["--key", key]
            kill_after = rng.uniform(0.001, 0.03) if rng.random() < 0.1 else None
            rc, out, err = self.cli(args, kill_after=kill_after)
            attempt["killed"] = rc is None
            attempt["rc"] = rc
            if rc == 0 and out.strip():
                attempt["acked"], attempt["id"] = True, out.strip()
        elif method == "http-sjs":
            body = {"binary": binary, "entry": entry, "context": context, "config": {"sleep": sleep, "tag": tag}}
            if key:
                body["key"] = key
            status, reply = self.http("POST", "/sjs/v1/job.submit", json.dumps(body).encode())
            attempt["rc"] = status
            if 200 <= status < 300 and isinstance(reply, dict) and reply.get("ok"):
                attempt["acked"], attempt["id"] = True, reply["result"]["job"]["id"]
        else:
            path = "/jobs?appName=%s&classPath=%s" % (binary, entry) + ("&context=" + context if context else "")
            status, reply = self.http("POST", path, ("sleep = %s\ntag = %s\n" % (sleep, tag)).encode())
            attempt["rc"] = status
            if 200 <= status < 300 and isinstance(reply, dict) and reply.get("jobId"):
                attempt["acked"], attempt["id"] = True, reply["jobId"]
        with self.lock:
            self.attempts.append(attempt)
            if attempt["acked"] and key:
                first = self.key_ids.setdefault(key, attempt["id"])
                if first != attempt["id"]:
                    self.violations.append("idempotency key %s answered %s, earlier %s" % (key, attempt["id"], first))
        return attempt["acked"]

    def upload_once(self, rng):
        """A new version of the exec binary `mark`, through the CLI or over HTTP."""
        path = self.write_exec_script()
        if rng.random() < 0.5:
            kill_after = rng.uniform(0.001, 0.03) if rng.random() < 0.2 else None
            rc, _, _ = self.cli(["binary", "upload", "mark", path], kill_after=kill_after)
            ok = rc == 0
        else:
            with open(path, "rb") as f:
                status, _ = self.http("POST", "/binaries/mark", f.read(), {"Content-Type": "application/x-sjs-exec"})
            ok = status == 201
        with self.lock:
            self.uploads["acked" if ok else "failed"] += 1

    def submitter(self, index):
        rng = random.Random("%s-%d" % (self.opts.seed, index))
        while not self.stop.is_set():
            if not self.up.wait(0.05):
                continue
            ok = self.upload_once(rng) if rng.random() < 0.03 else self.submit_once(rng)
            time.sleep(rng.uniform(0.0, 0.03) if ok is not False else 0.02)

    def workers_of_daemon(self):
        """{context: pid} of the worker processes (JVM, Python) the running sjsd started."""
        daemon = self.daemon
        found = {}
        if daemon is None:
            return found
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % name) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                if ppid != daemon.pid:
                    continue
                with open("/proc/%s/environ" % name, "rb") as f:
                    env = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
            except (OSError, IndexError, ValueError):
                continue
            if b"SJS_WORKER_FD" in env and b"SJS_CONTEXT" in env:
                found[env[b"SJS_CONTEXT"].decode()] = int(name)
        return found

    def worker_killer(self):
        """Now and then SIGKILLs the JVM or the Python worker while one of its jobs runs."""
        rng = random.Random("%s-workers" % self.opts.seed)
        while not self.stop_killer.wait(rng.uniform(0.1, 0.6)):
            if not self.up.is_set():
                continue
            workers = self.workers_of_daemon()
            with self.lock:
                self.worker_pids.update(workers.values())
            context = rng.choice(("jv", "py"))
            if context not in workers:
                continue
            try:
                c = Client(self.socket, timeout=5)
                running = c.call("job.list", {"limit": 1, "state": "RUNNING", "context": context})["jobs"]
                c.close()
            except (OSError, EOFError, RuntimeError):
                continue
            if running:
                try:
                    os.kill(workers[context], signal.SIGKILL)
                    with self.lock:
                        self.kills["jvm" if context == "jv" else "python"] += 1
                except ProcessLookupError:
                    pass

    def observer(self):
        """Reads the newest 300 jobs every 0.05-0.15 s (also while sjsd drains), as a client would, and
        checks that what it sees only moves forward: QUEUED -> RUNNING -> a final state that never
        changes."""
        rng = random.Random("%s-observer" % self.opts.seed)
        rank = {"QUEUED": 0, "RUNNING": 1}
        c = None
        while not self.stop_killer.wait(rng.uniform(0.05, 0.15)):
            if not self.up.is_set():
                c = None
                continue
            try:
                c = c or Client(self.socket, timeout=5)
                jobs = c.call("job.list", {"limit": 300})["jobs"]
            except (OSError, EOFError, RuntimeError, ValueError):
                c = None
                continue
            with self.lock:
                self.observations += 1
                for j in jobs:
                    before = self.seen.get(j["id"])
                    self.seen[j["id"]] = j["state"]
                    if before is None or before == j["state"]:
                        continue
                    if rank.get(j["state"], 2) < rank.get(before, 2) or before not in rank:
                        self.violations.append("a client saw job %s %s, then %s" % (j["id"], before, j["state"]))

    # ---- the rounds -------------------------------------------------------------------------------

    def run(self):
        log("work dir %s; sjsd HTTP on %s; seed %s" % (self.work, self.url, self.opts.seed))
        self.set_up()
        threads = [threading.Thread(target=self.submitter, args=(i,), daemon=True)
                   for i in range(self.opts.submitters)]
        threads.append(threading.Thread(target=self.observer, daemon=True))
        threads.append(threading.Thread(target=self.worker_killer if self.opts.worker_kills else self.stop_killer.wait,
                                        daemon=True))
        for t in threads:
            t.start()
        t0 = time.monotonic()
        startup = self.startup_s
        for r in range(1, self.opts.rounds + 1):
            if self.daemon is None:
                try:
                    startup = self.start_daemon()
                except RuntimeError as e:  # sjsd cannot start on what its predecessor left: a finding
                    self.violation("after %d SIGKILLs: %s" % (r - 1, e))
                    self.stop.set()
                    self.stop_killer.set()
                    return None
            load = self.rng.uniform(0.05, 0.5)
            time.sleep(load)
            with self.lock:
                self.worker_pids.update(self.workers_of_daemon().values())
            self.kill_daemon()
            with self.lock:
                acked = sum(1 for a in self.attempts if a["acked"])
                total = len(self.attempts)
            log("round %d/%d: sjsd up in %.2f s, SIGKILLed after %.0f ms; %d submissions, %d acknowledged"
                % (r, self.opts.rounds, startup, load * 1000, total, acked))
        if self.opts.rounds == 0:  # a control run: the same load, and sjsd never killed
            time.sleep(5)
        try:
            if self.daemon is None:
                self.start_daemon()
        except RuntimeError as e:
            self.violation("after the last SIGKILL: %s" % e)
            self.stop.set()
            self.stop_killer.set()
            return None
        self.stop.set()
        for t in threads[:-2]:
            t.join(120)
        log("load over after %.1f s; draining" % (time.monotonic() - t0))
        checks.drain(self)
        self.stop_killer.set()
        for t in threads[-2:]:
            t.join(30)
        checks.drain(self)  # a last worker kill may have ended jobs
        figures = checks.check(self)
        figures["wall_s"] = time.monotonic() - t0
        return figures


def main():
    p = argparse.ArgumentParser(description="Crash torture for sjsd: SIGKILL it under load, then check "
                                            "that nothing acknowledged was lost, duplicated or run twice.")
    p.add_argument("--build", required=True, help="the build dir: sjs, sjsd, sjs-api.jar, the runners")
    p.add_argument("--rounds", type=int, default=100,
                   help="SIGKILLs of sjsd (default 100); 0: a control run, 5 s of the same load without them")
    p.add_argument("--no-worker-kills", dest="worker_kills", action="store_false",
                   help="never SIGKILL the JVM or Python worker")
    p.add_argument("--seed", default=None, help="random seed (default: from the clock; printed)")
    p.add_argument("--keep", metavar="DIR", help="work in a new dir under DIR and keep it (default: a temp "
                                                 "dir, removed unless a check fails)")
    p.add_argument("--submitters", type=int, default=4, help="concurrent submitting threads (default 4)")
    opts = p.parse_args()
    missing = [os.path.join(opts.build, f) for f in ("sjs", "sjsd", "sjs-api.jar", "sjs-runner.jar", "python")
               if not os.path.exists(os.path.join(opts.build, f))]
    missing += [tool + " (on PATH)" for tool in ("javac", "mdb_stat") if not shutil.which(tool)]
    if missing:
        print("torture.py: missing: %s (build sjs first; javac: a JDK; mdb_stat: lmdb-utils)" % ", ".join(missing),
              file=sys.stderr)
        return 2
    if opts.seed is None:
        opts.seed = str(int(time.time() * 1000) % 1000000)
    t = Torture(opts)
    try:
        f = t.run()
    except Exception as e:  # the set-up or the harness failed: not a verdict on sjsd
        log("torture failed to run: %s: %s" % (type(e).__name__, e))
        if t.daemon is not None:
            t.daemon.kill()
        log("kept %s" % t.work)
        return 2
    a = t.attempts
    if f is None:
        print("\n%d VIOLATIONS:" % len(t.violations))
        for v in t.violations:
            print("  - " + v)
        print("kept %s (sjsd's log: home/sjsd.log, its stderr: sjsd.stderr)" % t.work)
        return 1
    print("\n== sjs crash torture, seed %s, %d submitters ==" % (opts.seed, opts.submitters))
    print("rounds (sjsd SIGKILLed):  %d" % t.kills["sjsd"])
    print("submissions:              %d (cli %d, http-sjs %d, http-jobs %d; with a key %d)" % (
        len(a), sum(x["method"] == "cli" for x in a), sum(x["method"] == "http-sjs" for x in a),
        sum(x["method"] == "http-jobs" for x in a), sum(bool(x["key"]) for x in a)))
    print("acknowledged:             %d (jobs in the store: %d)" % (f["acked"], f["jobs"]))
    for field in ("method", "target"):
        counts = {}
        for x in a:
            counts.setdefault(x[field], [0, 0])[0 if x["acked"] else 1] += 1
        print("  by %-6s                %s" % (field, ", ".join("%s %d/%d" % (k, v[0], v[0] + v[1])
                                                             for k, v in sorted(counts.items()))))
    print("lost / duplicated:        %d / %d" % (f["lost"], f["duplicated"]))
    print("executions (markers):     %d %s" % (f["executions"], f["by_runtime"]))
    print("final states:             %s; end reasons %s" % (f["states"], f["end_reasons"]))
    print("errors by class:          %s" % ", ".join("%s %d" % kv for kv in sorted(f["errors"].items())))
    print("observer:                 %d listings, %d jobs seen" % (t.observations, len(t.seen)))
    print("idempotency keys:         %d acknowledged, %d resent after the restarts" % (f["keys"], f["keys_resent"]))
    print("uploads:                  %d acknowledged, %d failed; %d binary versions; %d blobs checked "
          "(%d unreferenced, %d .upload-* temp files left)"
          % (t.uploads["acked"], t.uploads["failed"], f["versions"], f["blobs"], f["blobs_unreferenced"],
             f["blob_leftovers"]))
    print("left in run/ after stop:  %d job dirs (notes, not checked: scratch dirs of jobs sjsd never saw end)"
          % f["run_dirs"])
    print("kills:                    sjsd %d, jvm worker %d, python worker %d, cli %d" % (
        t.kills["sjsd"], t.kills["jvm"], t.kills["python"], t.kills["cli"]))
    print("wall time:                %.1f s" % f["wall_s"])
    if t.violations:
        print("\n%d VIOLATIONS:" % len(t.violations))
        for v in t.violations:
            print("  - " + v)
        print("kept %s (sjsd's log: home/sjsd.log; markers: marks)" % t.work)
        return 1
    print("every check holds")
    if opts.keep:
        print("kept %s" % t.work)
    else:
        shutil.rmtree(t.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
