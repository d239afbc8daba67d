"""The worker loop: hello, then the daemon's messages (docs/worker-protocol.md)."""

from __future__ import annotations

import json
import os
import platform
import queue
import socket
import sys
import threading

import sjs

from . import failures as F
from . import frames, namespaces, output
from .clusters import Clusters
from .jobs import JobRun
from .namespaces import Binary, Namespaces
from .spark import Spark

#: The worker protocol version this runner speaks (k_protocol_version in worker_protocol.hpp).
PROTOCOL = 1
CAPABILITIES = ["named-objects", "cancel", "steps", "clusters"]
_SHUTDOWN_WAIT = 2.0  # seconds for cancelled jobs to report before the runner exits


class BadRun(Exception):
    """A run message whose fields (other than job) are malformed."""


class Worker:
    """The runner's state. The main thread reads and dispatches; one writer thread owns the socket's
    sending side (job threads only queue whole frames, so an asynchronous cancel cannot cut a frame)."""

    def __init__(self, sock, spark, context_name, context_factory):
        self.sock = sock
        self.spark = spark
        self.context_name = context_name
        self.context_factory = context_factory
        self.objects = sjs.NamedObjects()
        self.namespaces = Namespaces()
        self.clusters = Clusters(self)  # partition servers of the jobs (ctx.serve_partitions)
        self._jobs = {}
        self._jobs_lock = threading.Lock()
        self._out = queue.SimpleQueue()  # frames (bytes), None to stop
        self._writer = threading.Thread(target=self._write_loop, name="sjs-writer", daemon=True)
        self._writer.start()

    # ------------------------------------------------------------------ sending

    def _write_loop(self):
        broken = False
        while True:
            frame = self._out.get()
            if frame is None:
                return
            if broken:
                continue
            try:
                self.sock.sendall(frame)
            except OSError as e:
                broken = True
                output.runner_log("cannot write to the daemon (%s): dropping messages" % e)

    def send(self, message):
        self._out.put(frames.encode(message))

    def send_frame(self, frame):
        self._out.put(frame)

    def flush(self, timeout=5.0):
        self._out.put(None)
        self._writer.join(timeout)

    def error(self, message):
        output.runner_log(message)
        self.send({"type": "error", "message": message})

    # ------------------------------------------------------------------ receiving

    def hello(self):
        m = {"type": "hello", "protocol": PROTOCOL, "runtime": "pyspark" if self.spark.present() else "python",
             "pid": os.getpid(), "capabilities": list(CAPABILITIES), "version": platform.python_version()}
        if self.spark.present():
            m["spark"] = self.spark.describe()
        return m

    def serve(self):
        """Reads until shutdown or end of stream; the exit status."""
        reader = frames.Reader(self.sock)
        while True:
            try:
                payload = reader.read()
            except frames.FrameTooLarge as e:
                self.error(str(e))
                continue
            except OSError as e:
                output.runner_log("reading from the daemon failed: %s" % e)
                payload = None
            if payload is None:
                output.runner_log("the daemon closed the connection: exiting")
                return 0
            try:
                message = json.loads(payload.decode("utf-8"))
            except ValueError as e:
                self.error("cannot parse message: %s" % e)
                continue
            if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                self.error("a message must be a JSON object with a string type")
                continue
            try:
                more = self.handle(message)
            except Exception as e:  # noqa: BLE001 (a bug in one answer must not end the conversation)
                self.error("cannot handle %s: %s" % (message.get("type"), F.describe(e)))
                more = True
            if not more:
                output.runner_log("shutdown complete: exiting")
                return 0

    def handle(self, m):
        """One message; False once the runner should exit."""
        t = m["type"]
        if t == "run":
            self._run(m)
        elif t == "cancel":
            job = m.get("job")
            with self._jobs_lock:
                r = self._jobs.get(str(job)) if isinstance(job, (str, int)) and not isinstance(job, bool) else None
            if r is not None:
                r.cancel()  # an unknown or ended job: nothing to stop
        elif t == "cluster_opened":
            self.clusters.opened(m)
        elif t == "cluster_stop":
            self.clusters.stop_message(m)
        elif t == "objects":
            i = m.get("id")
            if isinstance(i, bool) or not isinstance(i, int) or i < 0:
                self.error("objects message without a non-negative integer id")
            else:
                self.send({"type": "objects", "id": i, "names": self.objects.names()})
        elif t == "shutdown":
            self.shutdown()
            return False
        else:
            self.error("unknown message type: %s" % t)
        return True

    def ended(self, run):
        with self._jobs_lock:
            if self._jobs.get(run.job_id) is run:
                del self._jobs[run.job_id]

    def _run(self, m):
        job = m.get("job")
        if job is None or isinstance(job, (dict, list, bool)):
            self.error("run message without a job id")
            return
        try:
            binaries = _binaries(m.get("binaries"))
            config = m.get("config")
            if config is None:
                config = {}
            if not isinstance(config, dict):
                raise BadRun("config is not an object")
            steps = m.get("steps")
            if steps is not None and not isinstance(steps, list):
                raise BadRun("steps is not an array")
            entry = m.get("entry")
            if entry is not None and not isinstance(entry, str):
                raise BadRun("entry is not a string")
            context = m.get("context")
        except BadRun as e:
            self.send(F.failed(job, F.LOADING, "bad run message: %s" % e, "sjs.BadRequest"))
            return
        r = JobRun(self, job, entry, binaries, config, context if isinstance(context, str) else self.context_name,
                   steps)
        token = m.get("cluster_token")
        r.cluster_token = token if isinstance(token, str) else ""
        with self._jobs_lock:
            if r.job_id in self._jobs:
                running = True
            else:
                running = False
                self._jobs[r.job_id] = r
        if running:
            self.error("job %s is already running: run ignored" % r.job_id)
            return
        r.start()

    def shutdown(self):
        """Cancels every job, gives them a moment to report, stops Spark."""
        with self._jobs_lock:
            runs = list(self._jobs.values())
        output.runner_log("shutdown: %d job(s) running" % len(runs))
        for r in runs:
            r.cancel()
        import time
        deadline = time.monotonic() + _SHUTDOWN_WAIT
        for r in runs:
            r.thread.join(max(0.0, deadline - time.monotonic()))
        self.clusters.shutdown()
        self.spark.stop()


def _binaries(v):
    if v is None:
        return []
    if not isinstance(v, list):
        raise BadRun("binaries is not an array")
    out = []
    for b in v:
        if not isinstance(b, dict):
            raise BadRun("a binary is not an object")
        path = b.get("path")
        if not isinstance(path, str) or not path:
            raise BadRun("a binary has no path")
        out.append(Binary(str(b.get("name") or os.path.basename(path)), b.get("version"),
                          str(b.get("sha256") or ""), path))
    return out


def _worker_socket():
    """The daemon's socket: fd SJS_WORKER_FD (3), or else a connection to the Unix socket SJS_WORKER_SOCKET."""
    path = os.environ.get("SJS_WORKER_SOCKET", "")
    text = os.environ.get("SJS_WORKER_FD", "")
    if text:
        try:
            fd = int(text)
        except ValueError:
            raise SystemExit("sjs-runner: SJS_WORKER_FD is %r, not a file descriptor number" % text)
        try:
            os.fstat(fd)
            return socket.socket(fileno=fd), "fd %d" % fd
        except OSError as e:
            if not path:
                raise SystemExit(
                    "sjs-runner: fd %d (SJS_WORKER_FD) is not open (%s). The runner must inherit it from sjsd: "
                    "a process that closes inherited descriptors in between (spark-submit's JVM does, for the "
                    "Python it starts) loses it" % (fd, e.strerror))
    if path:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
        except OSError as e:
            raise SystemExit("sjs-runner: cannot connect to SJS_WORKER_SOCKET %s: %s" % (path, e))
        return s, path
    raise SystemExit("sjs-runner: neither SJS_WORKER_FD nor SJS_WORKER_SOCKET is set: the runner is started by sjsd")


def main():
    """The runner: exits 0 after shutdown or when the daemon goes away, non-zero if it cannot start."""
    sock, where = _worker_socket()
    context = os.environ.get("SJS_CONTEXT", "")
    factory = os.environ.get("SJS_CONTEXT_FACTORY", "")
    output.install()
    namespaces.install()
    if os.environ.get("SJS_SPARK") == "1":
        try:
            spark = Spark.start("sjs-" + context)
        except BaseException as e:  # noqa: BLE001
            output.runner_log("cannot start Spark: %s" % F.describe(e))
            for line in F.stack(e):
                output.runner_log(line)
            return 1
    else:
        spark = Spark()
    worker = Worker(sock, spark, context, factory)
    worker.send(worker.hello())
    output.runner_log("ready: context %s, %s, Python %s%s" % (
        context, where, platform.python_version(),
        (", Spark " + json.dumps(spark.describe())) if spark.present() else ""))
    code = worker.serve()
    worker.flush()
    output.flush_real()
    sys.stdout.flush()
    os._exit(code)  # job threads, and any a job left behind, must not keep the context alive
