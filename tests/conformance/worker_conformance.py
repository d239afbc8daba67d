#!/usr/bin/env python3
"""Runner-independent conformance checks of docs/worker-protocol.md.

Every resident worker (the JVM runner, later a Python runner and a native worker) must pass
these. They drive the real worker process over the real protocol, without the daemon: like
sjsd, they make a socketpair, start the worker with its end as fd 3 and SJS_WORKER_FD=3, and
speak 4-byte big-endian length + JSON frames.

A runner's own test uses this module as a library:

    sys.path.insert(0, "<repo>/tests/conformance")
    import worker_conformance as wc

    def start(name):                       # how to start one worker
        return wc.Worker(name, ["python3", "runner.py"], tmp_dir, env={...})

    jobs = wc.Jobs(                        # which jobs, from which example binaries
        ok=wc.JobSpec("pkg.Hello", binaries, result="Hi!"),
        fail=wc.JobSpec("pkg.Fail", binaries),                    # throws
        missing=wc.JobSpec("pkg.NoSuchJob", binaries),            # cannot be loaded
        sleep=wc.JobSpec("pkg.Sleep", binaries, {"seconds": 30}), # runs until cancelled
        validation=wc.JobSpec("pkg.Check", binaries, {}),         # optional: fails validation
    )
    wc.check_conformance(start, jobs, runtime="python")

check_conformance starts a few workers, checks each behaviour the spec requires, and raises
TestFailure saying which. The pieces (check_hello, check_messages, ...) can also be called on a
worker a runner's own test has started. The protocol version is read from
common/include/sjs/worker_protocol.hpp, so a worker that lags behind the daemon fails here.
"""

import json
import os
import re
import socket
import struct
import subprocess
import threading
import time

TIMEOUT = 30.0  # per expected message; generous for a loaded CI machine
MAX_FRAME = 64 * 1024 * 1024
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HEADER = os.path.join(REPO, "common", "include", "sjs", "worker_protocol.hpp")
FAILURE_KINDS = ("validation", "loading", "error", "killed")
KNOWN_CAPABILITIES = ("named-objects", "cancel", "steps", "clusters")


class TestFailure(Exception):
    pass


def check(cond, what, detail=None):
    if not cond:
        raise TestFailure(what + ("" if detail is None else ": " + json.dumps(detail, default=str)[:2000]))


def protocol_version():
    """The daemon's k_protocol_version, from the C++ header."""
    with open(HEADER) as f:
        m = re.search(r"constexpr int k_protocol_version = (\d+);", f.read())
    if not m:
        raise TestFailure("no k_protocol_version in " + HEADER)
    return int(m.group(1))


# --------------------------------------------------------------------------- the worker process

class Worker:
    """One worker process, its socket and a thread collecting everything it sends."""

    def __init__(self, name, argv, tmp, env=None, clear_env=("JDK_JAVA_OPTIONS",)):
        self.name = name
        self.log_path = os.path.join(tmp, name + ".log")
        self.sock, child = socket.socketpair()
        child_fd = child.fileno()
        full_env = dict(os.environ)
        for k in clear_env:
            full_env.pop(k, None)
        full_env.update({"SJS_WORKER_FD": "3", "SJS_CONTEXT": name})
        full_env.update(env or {})
        self.log = open(self.log_path, "wb")

        def as_fd3():
            # in the child, before exec: the socket becomes fd 3, inheritable. Python opens
            # every other descriptor non-inheritable, so close_fds=False leaks nothing else.
            if child_fd != 3:
                os.dup2(child_fd, 3)
            else:
                os.set_inheritable(3, True)

        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=full_env, close_fds=False, preexec_fn=as_fd3)
        child.close()
        self.messages = []
        self.cond = threading.Condition()
        self.eof = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def _read(self):
        try:
            while True:
                header = self._recv_exact(4)
                if header is None:
                    break
                (size,) = struct.unpack(">I", header)
                payload = self._recv_exact(size)
                if payload is None:
                    break
                try:
                    msg = json.loads(payload.decode("utf-8"))
                except ValueError:
                    msg = {"type": "<not JSON>", "payload": payload[:200].decode("utf-8", "replace")}
                with self.cond:
                    self.messages.append(msg)
                    self.cond.notify_all()
        except OSError:
            pass
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def send(self, msg):
        data = json.dumps(msg).encode("utf-8")
        self.sock.sendall(struct.pack(">I", len(data)) + data)

    def send_raw(self, payload):
        self.sock.sendall(struct.pack(">I", len(payload)) + payload)

    def wait_for(self, pred, what, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for m in self.messages:
                    if isinstance(m, dict) and pred(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    raise TestFailure("%s: no %s (eof=%s, last messages: %s)" % (
                        self.name, what, self.eof, json.dumps(self.messages[-5:])[:1500]))
                self.cond.wait(min(left, 0.5))

    def events(self, job, type_=None):
        with self.cond:
            return [m for m in self.messages
                    if isinstance(m, dict) and m.get("job") == job and (type_ is None or m.get("type") == type_)]

    def end_of(self, job, timeout=TIMEOUT):
        return self.wait_for(lambda m: m.get("job") == job and m.get("type") in ("finished", "failed"),
                             "finished/failed for job " + str(job), timeout)

    def run(self, job, entry, binaries, config=None, context=None):
        self.send({"type": "run", "job": job, "entry": entry, "binaries": binaries,
                   "config": config or {}, "context": context or self.name})

    def run_and_wait(self, job, entry, binaries, config=None, timeout=TIMEOUT):
        self.run(job, entry, binaries, config)
        return self.end_of(job, timeout)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("%s: the worker did not exit within %.0f s" % (self.name, timeout))

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()  # our own child, by its handle
            self.proc.wait()
        self.sock.close()
        self.log.close()

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return "(no log)"


def finished(m, what):
    check(m["type"] == "finished", what + ": expected finished", m)
    return m["result"]


def failed(m, kind, what):
    check(m["type"] == "failed", what + ": expected failed", m)
    check(m["kind"] == kind, what + ": expected kind " + kind, m)
    err = m["error"]
    check(isinstance(err.get("message"), str) and isinstance(err.get("errorClass"), str)
          and isinstance(err.get("stack"), list), what + ": error needs message, errorClass and stack", m)
    return err


# --------------------------------------------------------------------------- message shapes

def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _strings(v):
    return isinstance(v, list) and all(isinstance(s, str) for s in v)


def _error_object(v):
    return (isinstance(v, dict) and isinstance(v.get("message"), str) and isinstance(v.get("errorClass"), str)
            and _strings(v.get("stack")))


# Per type: (field, required, test) as in docs/worker-protocol.md ("Worker to daemon").
SHAPES = {
    "hello": [("protocol", True, _is_int), ("runtime", True, lambda v: isinstance(v, str)),
              ("pid", True, _is_int), ("capabilities", True, _strings),
              ("version", False, lambda v: isinstance(v, str)),
              ("spark", False, lambda v: isinstance(v, dict) and all(
                  isinstance(v.get(k), str) for k in ("version", "master", "applicationId")))],
    "started": [("job", True, lambda v: isinstance(v, str))],
    "log": [("job", True, lambda v: isinstance(v, str)), ("data", True, lambda v: isinstance(v, str))],
    "progress": [("job", True, lambda v: isinstance(v, str)), ("value", True, lambda v: _is_number(v) and 0 <= v <= 1),
                 ("message", False, lambda v: isinstance(v, str))],
    "finished": [("job", True, lambda v: isinstance(v, str)), ("result", True, lambda v: True)],
    "failed": [("job", True, lambda v: isinstance(v, str)), ("kind", True, lambda v: v in FAILURE_KINDS),
               ("error", True, _error_object)],
    "objects": [("id", True, lambda v: _is_int(v) and v >= 0), ("names", True, _strings)],
    "error": [("message", True, lambda v: isinstance(v, str))],
    # partition servers (workers with the "clusters" capability)
    "cluster_open": [("id", True, lambda v: _is_int(v) and v >= 0), ("job", True, lambda v: isinstance(v, str)),
                     ("cluster", True, lambda v: isinstance(v, str)), ("partitions", True, _is_int)],
    "cluster_register": [("job", True, lambda v: isinstance(v, str)), ("cluster", True, lambda v: isinstance(v, str)),
                         ("partition", True, _is_int), ("host", True, lambda v: isinstance(v, str)),
                         ("port", True, _is_int), ("token", True, lambda v: isinstance(v, str))],
    "cluster_partition": [("job", True, lambda v: isinstance(v, str)), ("cluster", True, lambda v: isinstance(v, str)),
                          ("partition", True, _is_int), ("error", False, lambda v: isinstance(v, str))],
    "cluster_ended": [("job", True, lambda v: isinstance(v, str)), ("cluster", True, lambda v: isinstance(v, str)),
                      ("results", False, lambda v: v is None or isinstance(v, list)),
                      ("error", False, lambda v: isinstance(v, str)),
                      ("killed", False, lambda v: isinstance(v, bool))],
}


def message_problem(m):
    """What is wrong with one message a worker sent, as the daemon's decode would see it; None if nothing."""
    if not isinstance(m, dict):
        return "not a JSON object"
    t = m.get("type")
    if not isinstance(t, str):
        return "no string type"
    if t not in SHAPES:
        return "unknown type " + json.dumps(t)
    for field, required, test in SHAPES[t]:
        if field not in m:
            if required:
                return "%s without %s" % (t, field)
            continue
        if not test(m[field]):
            return "%s.%s is malformed: %s" % (t, field, json.dumps(m[field])[:200])
    return None


def check_messages(worker, string_ids=True):
    """Every message the worker sent so far has the shape of the spec; with string_ids, job ids are strings
    (the daemon sends only strings; a test that sent a number gets it echoed back)."""
    with worker.cond:
        messages = list(worker.messages)
    for m in messages:
        problem = message_problem(m)
        if problem and not string_ids and isinstance(m, dict) and "job" in m and not isinstance(m["job"], str):
            problem = message_problem(dict(m, job=str(m["job"])))
        check(problem is None, "%s: a message breaks the spec (%s)" % (worker.name, problem), m)


def check_hello(worker, runtime=None, capabilities=None):
    """The first message is a hello of the daemon's protocol version, well formed; returns it."""
    hello = worker.wait_for(lambda m: m.get("type") == "hello", "hello")
    check(worker.messages[0] is hello, "hello must be the first message", worker.messages[:2])
    version = protocol_version()
    check(hello.get("protocol") == version,
          "hello carries the current protocol version %d (common/include/sjs/worker_protocol.hpp)" % version, hello)
    problem = message_problem(hello)
    check(problem is None, "hello is well formed (%s)" % problem, hello)
    if runtime is not None:
        check(hello["runtime"] == runtime, "hello runtime is " + runtime, hello)
    check(hello["pid"] == worker.proc.pid or hello["pid"] == -1, "hello pid is the worker's pid %d" % worker.proc.pid,
          hello)
    unknown = [c for c in hello["capabilities"] if c not in KNOWN_CAPABILITIES]
    check(not unknown, "hello capabilities are documented ones %s" % (KNOWN_CAPABILITIES,), hello)
    if capabilities is not None:
        check(sorted(hello["capabilities"]) == sorted(capabilities), "hello capabilities are %s" % (capabilities,),
              hello)
    return hello


# --------------------------------------------------------------------------- the checks

class JobSpec:
    """A job to run: its entry, binaries ([{name, version, sha256, path}]), config and, for `ok`, its result."""

    def __init__(self, entry, binaries, config=None, result=None):
        self.entry = entry
        self.binaries = binaries
        self.config = config or {}
        self.result = result


class Jobs:
    """The example jobs the checks use. ok: returns `result`; fail: throws; missing: cannot be loaded;
    sleep: runs until cancelled; validation (optional): fails validation."""

    def __init__(self, ok, fail, missing, sleep, validation=None):
        self.ok, self.fail, self.missing, self.sleep, self.validation = ok, fail, missing, sleep, validation


def _run(w, job, spec, timeout=TIMEOUT):
    return w.run_and_wait(job, spec.entry, spec.binaries, spec.config, timeout)


def check_jobs(w, jobs):
    """One end per run, in order: started before finished; a job that fails validation is never started."""
    res = finished(_run(w, "c-ok", jobs.ok), "the ok job")
    check(res == jobs.ok.result, "the ok job's result", {"got": res, "want": jobs.ok.result})
    types = [m["type"] for m in w.events("c-ok")]
    check(types[0] == "started" and types[-1] == "finished", "events of a run are started ... finished", types)
    check(set(types) <= {"started", "log", "progress", "finished"}, "a run sends only job events", types)

    failed(_run(w, "c-fail", jobs.fail), "error", "the failing job")
    check(w.events("c-fail", "started"), "a job that throws was started first", w.events("c-fail"))
    failed(_run(w, "c-missing", jobs.missing), "loading", "the missing job")
    check(not w.events("c-missing", "started"), "a job that cannot be loaded is never started", w.events("c-missing"))
    if jobs.validation is not None:
        failed(_run(w, "c-val", jobs.validation), "validation", "the job that fails validation")
        check(not w.events("c-val", "started"), "a job that fails validation is never started", w.events("c-val"))

    # the same job id again after it ended, and two runs at once
    finished(_run(w, "c-ok", jobs.ok), "the ok job run again under the same id")
    w.run("c-par1", jobs.ok.entry, jobs.ok.binaries, jobs.ok.config)
    w.run("c-par2", jobs.ok.entry, jobs.ok.binaries, jobs.ok.config)
    finished(w.end_of("c-par1"), "parallel run 1")
    finished(w.end_of("c-par2"), "parallel run 2")


def check_cancel(w, jobs, within=5.0):
    """cancel ends a running job with failed kind killed, promptly; cancel of an unknown job is ignored."""
    w.run("c-sleep", jobs.sleep.entry, jobs.sleep.binaries, jobs.sleep.config)
    w.wait_for(lambda m: m.get("job") == "c-sleep" and m["type"] == "started", "started for the sleeping job")
    t0 = time.monotonic()
    w.send({"type": "cancel", "job": "c-sleep"})
    failed(w.end_of("c-sleep"), "killed", "the cancelled job")
    took = time.monotonic() - t0
    check(took < within, "a cancelled job ends within %.0f s (took %.2f s)" % (within, took))
    before = len(w.messages)
    w.send({"type": "cancel", "job": "c-no-such-job"})
    finished(_run(w, "c-after-cancel", jobs.ok), "a run after cancelling an unknown job")
    unexpected = [m for m in w.messages[before:] if m.get("job") != "c-after-cancel"]
    check(not unexpected, "cancel of an unknown job is not answered", unexpected)


def check_objects(w):
    """A worker with named-objects answers objects with the same id and a list of names."""
    w.send({"type": "objects", "id": 4242})
    m = w.wait_for(lambda m: m["type"] == "objects" and m.get("id") == 4242, "objects answer")
    check(_strings(m.get("names")), "objects names are strings", m)


def check_protocol_errors(w, jobs):
    """What the worker cannot use is answered with error and otherwise ignored; the worker goes on."""
    w.send({"type": "no-such-type"})
    w.wait_for(lambda m: m["type"] == "error" and "no-such-type" in m.get("message", ""), "error for an unknown type")
    n = len([m for m in w.messages if m["type"] == "error"])
    w.send_raw(b"{not json")
    w.wait_for(lambda m: len([x for x in w.messages if x["type"] == "error"]) > n, "error for a frame that is not JSON")
    n += 1
    w.send_raw(b"[1, 2]")
    w.wait_for(lambda m: len([x for x in w.messages if x["type"] == "error"]) > n, "error for a message not an object")
    n += 1
    w.send({"type": "run", "entry": jobs.ok.entry})
    w.wait_for(lambda m: len([x for x in w.messages if x["type"] == "error"]) > n, "error for a run without job")
    w.sock.sendall(struct.pack(">I", MAX_FRAME + 1))
    chunk = b" " * (1 << 20)
    for _ in range(64):
        w.sock.sendall(chunk)
    w.sock.sendall(b" ")
    w.wait_for(lambda m: m["type"] == "error" and "limit" in m.get("message", ""), "error for an oversized frame")
    finished(_run(w, "c-after-errors", jobs.ok), "a run after protocol errors")


def check_one_end_per_run(w):
    ends = {}
    with w.cond:
        for m in w.messages:
            if m.get("type") in ("finished", "failed"):
                key = json.dumps(m["job"])
                ends[key] = ends.get(key, 0) + 1
    runs = {}
    # ids run twice in check_jobs end twice
    for key in ends:
        runs[key] = 2 if key == json.dumps("c-ok") else 1
    check(ends == runs, "exactly one finished/failed per run", ends)


def check_shutdown(w, jobs):
    """shutdown with a job running: the job ends killed, the worker exits 0."""
    w.run("c-last", jobs.sleep.entry, jobs.sleep.binaries, jobs.sleep.config)
    w.wait_for(lambda m: m.get("job") == "c-last" and m["type"] == "started", "started for the last job")
    w.send({"type": "shutdown"})
    failed(w.end_of("c-last"), "killed", "the job running at shutdown")
    code = w.wait_exit(15)
    check(code == 0, "shutdown exits 0", code)


def check_eof(w):
    """The worker exits 0 when the daemon's end of the socket closes."""
    w.wait_for(lambda m: m["type"] == "hello", "hello")
    w.sock.shutdown(socket.SHUT_RDWR)
    code = w.wait_exit(15)
    check(code == 0, "the worker exits 0 when the daemon goes away", code)


def check_conformance(start, jobs, runtime=None, capabilities=None, log=print):
    """Every check, on workers from start(name). Raises TestFailure (with the worker's log tail) on the first
    that fails."""
    plan = [
        ("conf-main", lambda w: _main(w, jobs, runtime, capabilities)),
        ("conf-eof", check_eof),
    ]
    for name, checks in plan:
        t0 = time.monotonic()
        w = start(name)
        try:
            checks(w)
        except TestFailure as e:
            raise TestFailure("%s\n---- last lines of the %s worker's log ----\n%s" % (e, w.name, w.log_tail()))
        finally:
            w.close()
        log("ok  %-10s (%.1f s)" % (name, time.monotonic() - t0))


def _main(w, jobs, runtime, capabilities):
    hello = check_hello(w, runtime, capabilities)
    check_jobs(w, jobs)
    if "cancel" in hello["capabilities"]:
        check_cancel(w, jobs)
    if "named-objects" in hello["capabilities"]:
        check_objects(w)
    check_protocol_errors(w, jobs)
    check_one_end_per_run(w)
    check_messages(w)
    if "cancel" in hello["capabilities"]:
        check_shutdown(w, jobs)
    else:
        w.send({"type": "shutdown"})
        check(w.wait_exit(15) == 0, "shutdown exits 0")
    check_messages(w)
