"""The relay: where partition servers on Spark executors register (spark mode of serve_partitions).

Executors cannot write to the runner's socket to sjsd, so the runner (the driver) listens on all
interfaces, on a free port, and forwards what they say. One relay per runner, started by the first
spark-mode cluster, shared by every job of the context; internal to the runner:

    POST /register {cluster, partition, host, port, token} -> 200, 400 bad body, 403 wrong token (logged
        in the job's log), 404 no such cluster here, 410 the cluster is stopping or ended: shut down now
    POST /failed {cluster, partition, token, error, traceback} -> 200 (forwarded as cluster_partition;
        the traceback goes to the job's log), or 400/403/404/410 as above
"""

from __future__ import annotations

import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import output


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _answer(self, code, body):
        data = json.dumps(body).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        self._answer(404, {"status": "ERROR", "result": "the relay answers POST /register and POST /failed"})

    def do_POST(self):  # noqa: N802
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = 0
        raw = self.rfile.read(n) if n > 0 else b""
        path = self.path.partition("?")[0]
        if path not in ("/register", "/failed"):
            self._answer(404, {"status": "ERROR", "result": "no such route: %s (POST /register, POST /failed)" % path})
            return
        code, body = self.server.relay.handle(path, raw, self.client_address[0])
        self._answer(code, body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):  # without HTTPServer's DNS lookup of the bound address
        import socketserver
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "relay", self.server_address[1]


class Relay:
    """The relay's HTTP server on a thread of its own; owned by the worker's Clusters."""

    def __init__(self, clusters, advertised_host):
        self.clusters = clusters
        self.httpd = _Server(("", 0), _Handler)
        self.httpd.relay = self
        self.url = "http://%s:%d" % (advertised_host, self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="sjs-cluster-relay", daemon=True)
        self._thread.start()
        output.runner_log("partition server relay listening at %s" % self.url)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(self, path, raw, peer):
        try:
            m = json.loads(raw.decode("utf-8") or "null")
        except ValueError:
            m = None
        if not isinstance(m, dict):
            return 400, {"status": "ERROR", "result": "the body must be a JSON object"}
        name, partition = m.get("cluster"), m.get("partition")
        if not isinstance(name, str) or isinstance(partition, bool) or not isinstance(partition, int):
            return 400, {"status": "ERROR", "result": "cluster (a string) and partition (an integer) are required"}
        c, ended = self.clusters.lookup(name)
        if c is None:
            if ended:
                return 410, {"status": "STOPPING", "result": "cluster %s has ended: shut down" % name}
            return 404, {"status": "ERROR", "result": "no cluster %s is serving in this context" % name}
        token = m.get("token")
        if not isinstance(token, str) or not hmac.compare_digest(token.encode("utf-8"), c.token.encode("utf-8")):
            c.run.log_line("WARNING: cluster %s: refused a %s for partition %s from %s: wrong cluster token"
                           % (name, path[1:], partition, peer))
            return 403, {"status": "ERROR", "result": "wrong cluster token for cluster %s" % name}
        if not 0 <= partition < c.partitions:
            return 400, {"status": "ERROR", "result": "partition %d is out of range: cluster %s has %d"
                         % (partition, name, c.partitions)}
        if path == "/failed":
            with c.lock:
                c.remote.pop(partition, None)
            c.partition_failed(partition, str(m.get("error") or "the partition server failed"),
                               str(m.get("traceback") or ""))
            return 200, {"cluster": name, "partition": partition}
        host, port = m.get("host"), m.get("port")
        if not isinstance(host, str) or not host or isinstance(port, bool) or not isinstance(port, int) \
                or not 0 < port < 65536:
            return 400, {"status": "ERROR", "result": "host (a string) and port (1-65535) are required"}
        with c.lock:
            stopping = c.stopping.is_set() or c.ended
            if not stopping:
                c.remote[partition] = (host, port)
        if stopping or not c.registered(partition, host, port):
            return 410, {"status": "STOPPING", "result": "cluster %s is stopping: shut down" % name}
        return 200, {"cluster": name, "partition": partition}
