"""Partition servers (docs/partition-servers.md): the HTTP server one partition of a cluster runs.

``ctx.serve_partitions(data, Server)`` (sjs.JobContext) starts one of these per partition: in the
runner's process on a thread (plain python contexts, a list of partitions) or inside a Spark task on
an executor (pyspark contexts, an RDD). That is why this module is public and needs only the standard
library and ``sjs``: Spark executors import it by reference (the runner ships the ``sjs`` package to
them with ``sc.addPyFile``).

Every partition server answers:
- ``GET /control/health``   -> 200 {"status":"UP","cluster":NAME,"partition":I}
- ``POST|GET /control/shutdown`` -> 200 {"status":"STOPPING",...}; then it stops accepting, lets the
  requests in flight finish and its owner takes ``result()``
- ``/app`` and ``/app/...`` -> the application (a WSGI app: SCRIPT_NAME="/app", PATH_INFO the rest;
  a Flask app built around a blueprint sees the full path)
- anything else -> 404
HTTP/1.1 with keep-alive; every response has a Content-Length.

An ordinary Exception from the application is a 500 (its traceback goes to ``log``); a BaseException
that is not an Exception (SystemExit, KeyboardInterrupt) ends the server: it is "crashed", and its
owner decides what happens next (a restart in local mode, Spark's task retry in spark mode).
"""

from __future__ import annotations

import io
import json
import socket
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

__all__ = ["PartitionServer", "build_app", "check_server", "is_blueprint", "SparkTask"]

APP_PREFIX = "/app"


def is_blueprint(server):
    """True for a flask.Blueprint (only possible when Flask is imported)."""
    flask = sys.modules.get("flask")
    return flask is not None and isinstance(server, getattr(flask, "Blueprint", ()))


def check_server(server):
    """TypeError unless ``server`` is a class whose instances are WSGI applications, or a Flask blueprint."""
    if is_blueprint(server):
        return
    if not isinstance(server, type):
        raise TypeError("serve_partitions needs a server class (or a flask.Blueprint), not %s %r"
                        % (type(server).__name__, server))
    if not any("__call__" in vars(k) for k in server.__mro__ if k is not object):  # (type.__call__ does not count)
        raise TypeError("server class %s has no request handler: define __call__(self, environ, start_response) "
                        "(a WSGI application)" % server.__name__)


def build_app(server, cluster, partition, rows, config, init_partition=None):
    """One partition's application: (wsgi_app, instance or None, mounted_at).

    A class is instantiated with no arguments, gets ``partition`` and ``cluster``, then
    ``init_partition(rows, config)`` if it defines one; the instance is the app, mounted at /app. A
    blueprint is registered at url_prefix /app on a new Flask app, ``init_partition(rows, app, config)``
    is called if given, and the app sees the full path (mounted at "")."""
    if is_blueprint(server):
        import flask
        app = flask.Flask("sjs-cluster-%s-%d" % (cluster, partition))
        app.register_blueprint(server, url_prefix=APP_PREFIX)
        if init_partition is not None:
            init_partition(rows, app, config)
        return app, None, ""
    instance = server()
    instance.partition = partition
    instance.cluster = cluster
    init = getattr(instance, "init_partition", None)
    if callable(init):
        init(rows, config)
    return instance, instance, APP_PREFIX


def take_result(instance):
    """``instance.result()``, or None when there is no instance or no result method."""
    fn = getattr(instance, "result", None) if instance is not None else None
    return fn() if callable(fn) else None


class _Crash(Exception):
    """Carries a BaseException that escaped the application out of the request handler."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sjs-partition"

    def setup(self):
        super().setup()
        # Answers go out whole in one write (_end_and_write); without Nagle none waits for the client's
        # delayed ACK (40 ms a request on a keep-alive connection otherwise).
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.server._track(self, busy=False)

    def _end_and_write(self, body):
        """end_headers() and the body in one write: the status line, headers and body in one segment."""
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def finish(self):
        try:
            super().finish()
        finally:
            self.server._untrack(self)

    def parse_request(self):
        self.server._track(self, busy=True)
        return super().parse_request()

    def handle_one_request(self):
        try:
            super().handle_one_request()
        finally:
            if self.server.stopping.is_set():
                self.close_connection = True
            self.server._track(self, busy=False)

    def log_message(self, fmt, *args):  # no access log: sjsd health-checks every 2 s
        pass

    def _send(self, status, body, content_type="application/json", headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode("utf-8")
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection or self.server.stopping.is_set():
            self.send_header("Connection", "close")
            self.close_connection = True
        self._end_and_write(body)

    def _dispatch(self):
        s = self.server
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            self._send(411, {"status": "ERROR", "result": "chunked request bodies are not supported: "
                                                          "send a Content-Length"})
            return
        path, _, query = self.path.partition("?")
        if path.startswith("http://") or path.startswith("https://"):  # an absolute-form target
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        me = {"cluster": s.cluster, "partition": s.partition}
        if path == "/control/health":
            self._send(200, dict(status="UP", **me))
        elif path == "/control/shutdown" and self.command in ("POST", "GET"):
            self._drain_body()
            self.close_connection = True
            self._send(200, dict(status="STOPPING", **me))
            s.request_stop("shut down through /control/shutdown")
        elif path == APP_PREFIX or path.startswith(APP_PREFIX + "/"):
            self._wsgi(path, query)
        else:
            self._drain_body()
            self._send(404, {"status": "ERROR", "result": "no such route: %s (partition servers answer /app/... and "
                                                          "/control/...)" % path})

    def _drain_body(self):
        n = self._length()
        if n:
            self.rfile.read(n)

    def _length(self):
        try:
            return max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            return 0

    def _wsgi(self, path, query):
        s = self.server
        body = self.rfile.read(self._length()) if self._length() else b""
        script = s.mounted_at
        environ = {
            "REQUEST_METHOD": self.command, "SCRIPT_NAME": script,
            "PATH_INFO": unquote(path[len(script):], "latin-1"), "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)) if body else "",
            "SERVER_NAME": s.host, "SERVER_PORT": str(s.server_address[1]), "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0], "REMOTE_PORT": str(self.client_address[1]),
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": _LogStream(s.log), "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for k, v in self.headers.items():
            key = "HTTP_" + k.upper().replace("-", "_")
            if key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                continue
            environ[key] = environ[key] + "," + v if key in environ else v
        state = {}

        def start_response(status, headers, exc_info=None):
            if exc_info and state.get("sent"):
                raise exc_info[1].with_traceback(exc_info[2])
            state["status"], state["headers"] = status, list(headers)
            return chunks.append

        chunks = []
        try:
            result = s.app(environ, start_response)
            try:
                for chunk in result:
                    chunks.append(chunk)
            finally:
                close = getattr(result, "close", None)
                if callable(close):
                    close()
            if "status" not in state:
                raise RuntimeError("the application returned without calling start_response")
            code = int(state["status"].partition(" ")[0])
            data = b"".join(c if isinstance(c, bytes) else bytes(c) for c in chunks)
        except Exception:  # noqa: BLE001 (as any WSGI server: a 500, the server goes on)
            s.log("ERROR: partition %d of cluster %s: %s %s failed:\n%s" % (
                s.partition, s.cluster, self.command, self.path, traceback.format_exc().rstrip("\n")))
            self._send(500, b"internal server error\n", "text/plain; charset=utf-8")
            return
        except BaseException as e:  # noqa: BLE001 (SystemExit and the like end this server)
            try:
                self.close_connection = True
                self._send(500, b"the partition server stopped\n", "text/plain; charset=utf-8")
            except OSError:
                pass
            raise _Crash() from e
        headers = [(k, v) for k, v in state["headers"]
                   if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-type")]
        ctype = next((v for k, v in state["headers"] if k.lower() == "content-type"), None)
        self._send_status(state["status"], code, headers, ctype, data)

    def _send_status(self, status_line, code, headers, ctype, data):
        _, _, reason = status_line.partition(" ")
        self.send_response(code, reason or None)
        for k, v in headers:
            self.send_header(k, v)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection or self.server.stopping.is_set():
            self.send_header("Connection", "close")
            self.close_connection = True
        self._end_and_write(data)

    def _run(self):
        try:
            self._dispatch()
        except _Crash as c:
            self.close_connection = True
            self.server.crash(c.__cause__)
        except (ConnectionError, socket.timeout):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _run


class _LogStream:
    """wsgi.errors: whole lines to the server's log."""

    def __init__(self, log):
        self._log = log

    def write(self, s):
        for line in str(s).rstrip("\n").split("\n"):
            if line:
                self._log(line)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass


class PartitionServer(ThreadingHTTPServer):
    """One partition's HTTP server. ``start()`` serves on a thread of its own; ``wait()`` blocks until it
    stopped (through /control/shutdown, ``request_stop`` or a crash) and says why; ``close(grace)`` stops
    accepting, lets requests in flight finish (up to ``grace`` seconds) and closes every connection.

    The owner (the runner's local cluster, or SparkTask on an executor) owns the server's life: it
    registers it, restarts it after a crash, and takes the instance's result after the stop."""

    daemon_threads = True
    block_on_close = False  # close() joins the connections itself, with a bound
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, bind, port, app, mounted_at, cluster, partition, host, log=None):
        self.app = app
        self.mounted_at = mounted_at
        self.cluster = cluster
        self.partition = partition
        self.host = host
        write = log or (lambda line: sys.stderr.write(line + "\n"))
        self.log = lambda text: [write(line) for line in str(text).split("\n")]  # one call per line
        self.stopping = threading.Event()
        self.stopped = threading.Event()
        self.reason = None        # why it stopped: a text for an orderly stop
        self.crashed = None       # the BaseException that ended it, for a crash
        self._conns = {}          # handler -> (connection socket, thread, busy)
        self._lock = threading.Lock()
        self._thread = None
        family = socket.AF_INET6 if ":" in (bind or "") else socket.AF_INET
        self.address_family = family
        try:
            super().__init__((bind or "", port), _Handler)
        except OSError as e:
            raise OSError(e.errno, "partition %d of cluster %s cannot listen on %s:%d: %s%s" % (
                partition, cluster, bind or "*", port, e.strerror or e,
                " (choose another port=, or port=0 for any free one)" if port else ""))

    def server_bind(self):
        # HTTPServer.server_bind looks the bound address up in DNS (getfqdn): slow, and not needed here
        import socketserver
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.host, self.server_address[1]

    @property
    def port(self):
        return self.server_address[1]

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="sjs-partition-%s-%d" % (self.cluster, self.partition), daemon=True)
        self._thread.start()
        return self

    def _track(self, handler, busy):
        with self._lock:
            self._conns[handler] = (handler.connection, threading.current_thread(), busy)

    def _untrack(self, handler):
        with self._lock:
            self._conns.pop(handler, None)

    def request_stop(self, reason):
        """An orderly stop (the shutdown route, the cluster stopping): wait() returns."""
        with self._lock:
            if self.reason is None and self.crashed is None:
                self.reason = reason
        self.stopping.set()
        self.stopped.set()

    def crash(self, exc):
        """A BaseException escaped the application: the server is over."""
        with self._lock:
            if self.reason is None and self.crashed is None:
                self.crashed = exc
        self.stopping.set()
        self.stopped.set()

    def wait(self, timeout=None):
        """Blocks until the server was asked to stop or crashed; True if it did."""
        return self.stopped.wait(timeout)

    def close(self, grace=10.0):
        """Stops accepting (the port is free when this returns), closes idle keep-alive connections,
        lets busy ones finish their request for up to ``grace`` seconds, then closes them all."""
        self.stopping.set()
        self.stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self.shutdown()
            self._thread.join()
        self.server_close()
        import time
        deadline = time.monotonic() + max(0.0, grace)
        while True:
            with self._lock:
                conns = list(self._conns.values())
            for sock, _, busy in conns:
                if not busy or time.monotonic() >= deadline:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            if not conns or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        for _, thread, _ in conns:
            if thread is not threading.current_thread():
                thread.join(1.0)


def describe(e):
    """`Class: message` for an exception (SystemExit says its code)."""
    if isinstance(e, SystemExit):
        return "SystemExit(%s) escaped the application" % ("" if e.code is None else repr(e.code))
    text = str(e)
    return "%s: %s" % (type(e).__name__, text) if text else type(e).__name__


def error_text(e):
    """One line for cluster_partition, and the traceback lines for the job's log."""
    lines = traceback.format_exception(type(e), e, e.__traceback__)
    return describe(e), "".join(lines).rstrip("\n")


# --------------------------------------------------------------------------- spark mode

class SparkTask:
    """The function of ``rdd.mapPartitionsWithIndex`` in spark mode: runs partition ``index``'s server on
    the executor, registers it through the runner's relay, serves until shut down and yields exactly one
    value, its ``result()``. A failure is reported to the relay (/failed) and raised, so Spark's task retry
    relaunches the server (which re-registers, replacing the old entry). Pickled by reference: the runner
    ships the sjs package to the executors."""

    def __init__(self, server, cluster, config, relay_url, token, host, bind, port, init_partition=None):
        self.server = server
        self.cluster = cluster
        self.config = config
        self.relay_url = relay_url
        self.token = token
        self.host = host
        self.bind = bind
        self.port = port
        self.init_partition = init_partition

    def _post(self, route, body):
        import urllib.error
        import urllib.request
        req = urllib.request.Request(self.relay_url + route, data=json.dumps(body).encode("utf-8"),
                                     headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def _failed(self, index, e):
        message, trace = error_text(e)
        try:
            self._post("/failed", {"cluster": self.cluster, "partition": index, "token": self.token,
                                   "error": message, "traceback": trace})
        except OSError as oe:
            sys.stderr.write("sjs: cannot report the failure of partition %d to the relay: %s\n" % (index, oe))
        sys.stderr.write(trace + "\n")

    def __call__(self, index, rows):
        import os
        host = self.host or os.environ.get("SJS_CLUSTER_HOST") or socket.gethostname()
        try:
            app, instance, mounted = build_app(self.server, self.cluster, index, list(rows), self.config,
                                               self.init_partition)
            httpd = PartitionServer(self.bind, self.port + index if self.port else 0, app, mounted, self.cluster,
                                    index, host)
        except BaseException as e:  # noqa: BLE001
            self._failed(index, e)
            raise RuntimeError("partition %d of cluster %s could not start: %s" % (index, self.cluster, describe(e)))
        httpd.start()
        try:
            code, text = self._post("/register", {"cluster": self.cluster, "partition": index, "host": host,
                                                  "port": httpd.port, "token": self.token})
        except OSError as e:
            httpd.close(0)
            raise RuntimeError("partition %d of cluster %s cannot reach the runner's relay at %s (%s): executors "
                               "must reach the driver (spark.driver.host)" % (index, self.cluster, self.relay_url, e))
        if code == 410:  # the cluster is stopping: nothing to serve
            httpd.close(0)
            yield None
            return
        if code != 200:
            httpd.close(0)
            raise RuntimeError("the relay refused partition %d of cluster %s: HTTP %d %s" % (index, self.cluster,
                                                                                             code, text))
        httpd.wait()
        httpd.close()
        if httpd.crashed is not None:
            self._failed(index, httpd.crashed)
            raise RuntimeError("partition %d of cluster %s crashed: %s" % (index, self.cluster,
                                                                           describe(httpd.crashed)))
        yield take_result(instance)
