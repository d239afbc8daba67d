#!/usr/bin/env python3
"""7. Partition servers: time from submit to READY for 4 and 32 local partitions, and requests/s
against one partition server from wrk, beside a bare Python http.server answering the same in the
same run (same interpreter, same body, HTTP/1.1 keep-alive).

    tests/bench/bench_clusters.py BUILD_DIR [--rounds 5] [--seconds 10] [--connections 16]

Starts its own sjsd in a temp dir (SJS_KEEP_BENCH_DIRS=1 keeps it); needs wrk for the second part
(scripts/install-bench-deps.sh), else prints that it skipped it.
"""

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JOB = r'''
class Server:
    def init_partition(self, rows, config):
        self.members = set(rows)

    def __call__(self, environ, start_response):
        x = int(environ.get("QUERY_STRING", "x=-1").split("=", 1)[1])
        body = b"true" if x in self.members else b"false"
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]


def run(ctx, config):
    n = int(config.get("partitions", 4))
    size = 100000 // n
    data = [range(i * size, (i + 1) * size) for i in range(n)]
    return ctx.serve_partitions(data, Server, name=config.get("name"), host="127.0.0.1")
'''


def sjs(build, home, *args, check=True):
    env = dict(os.environ, SJS_HOME=home, SPARK_HOME="")
    r = subprocess.run([os.path.join(build, "sjs")] + list(args), env=env, capture_output=True, text=True)
    if check and r.returncode != 0:
        sys.exit("sjs %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
    return r


def time_to_ready(build, home, partitions, rounds):
    times = []
    for i in range(rounds):
        name = "b%d-%d" % (partitions, i)
        t0 = time.perf_counter()
        sjs(build, home, "job", "submit", "bench", "run", "--context", "py", "--conf", "partitions=%d" % partitions,
            "--conf", "name=" + name)
        sjs(build, home, "cluster", "wait", name, "--timeout", "120")
        times.append(time.perf_counter() - t0)
        sjs(build, home, "cluster", "stop", name)
    return times


class Bare(BaseHTTPRequestHandler):
    """The reference: http.server as its docs show it, HTTP/1.1 keep-alive, Nagle off (as the partition
    server has it; with Nagle on, headers and body in two writes wait 40 ms for a delayed ACK)."""
    protocol_version = "HTTP/1.1"
    members = set(range(0, 25000))

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        x = int(self.path.split("=", 1)[1])
        body = b"true" if x in self.members else b"false"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def wrk(url, seconds, connections):
    r = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", "%ds" % seconds, "--latency", url],
                       capture_output=True, text=True)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    p50 = re.search(r"50%\s+([\d.]+)(\w+)", r.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", r.stdout)
    return (float(rps.group(1)) if rps else 0.0, (p50.group(1) + p50.group(2)) if p50 else "?",
            errors.group(0) if errors else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    home = tempfile.mkdtemp(prefix="sjs-bench-clusters-")
    try:
        sjs(build, home, "daemon", "start")
        path = os.path.join(home, "bench.py")
        with open(path, "w") as f:
            f.write(JOB)
        sjs(build, home, "binary", "upload", "bench", path)
        sjs(build, home, "context", "create", "py", "--runtime", "python", "--max-jobs", "4")
        print("%-34s %10s %10s %10s" % ("submit -> READY (warm python)", "median", "min", "max"))
        for n in (4, 32):
            t = time_to_ready(build, home, n, a.rounds)
            print("%-34s %8.1f ms %7.1f ms %7.1f ms" % ("%d local partitions (%d rounds)" % (n, a.rounds),
                                                       statistics.median(t) * 1000, min(t) * 1000, max(t) * 1000))
        print()
        if not shutil.which("wrk"):
            print("requests/s: skipped, wrk is not installed (scripts/install-bench-deps.sh)")
            return
        sjs(build, home, "job", "submit", "bench", "run", "--context", "py", "--conf", "partitions=4", "--conf", "name=w")
        sjs(build, home, "cluster", "wait", "w", "--timeout", "120")
        info = json.loads(sjs(build, home, "--json", "cluster", "show", "w").stdout)
        url = info["servers"][0]["url"] + "/app/contains?x=7"
        bare = ThreadingHTTPServer(("127.0.0.1", 0), Bare)
        bare.daemon_threads = True
        threading.Thread(target=bare.serve_forever, daemon=True).start()
        bare_url = "http://127.0.0.1:%d/app/contains?x=7" % bare.server_address[1]
        print("%-46s %12s %10s" % ("wrk -c %d, %d s each (GET ...contains?x=7)" % (a.connections, a.seconds),
                                   "requests/s", "median"))
        # Alternate to spread the machine's noise over both.
        results = {"partition server (sjs)": [], "bare http.server, same process kind": []}
        for _ in range(2):
            results["partition server (sjs)"].append(wrk(url, a.seconds, a.connections))
            results["bare http.server, same process kind"].append(wrk(bare_url, a.seconds, a.connections))
        for name, rs in results.items():
            best = max(rs, key=lambda r: r[0])
            print("%-46s %12.0f %10s %s" % (name, best[0], best[1], best[2]))
        ratio = max(r[0] for r in results["partition server (sjs)"]) / max(
            1.0, max(r[0] for r in results["bare http.server, same process kind"]))
        print("ratio sjs / bare: %.2f" % ratio)
        bare.shutdown()
        sjs(build, home, "cluster", "stop", "w")
    finally:
        sjs(build, home, "daemon", "stop", check=False)
        if os.environ.get("SJS_KEEP_BENCH_DIRS") != "1":
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
