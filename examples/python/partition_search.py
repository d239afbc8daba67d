"""Partition servers: range(1000) in 4 partitions, each served by its own HTTP server that sjsd knows.

    sjs binary upload search examples/python/partition_search.py
    sjs job submit search partition_search:run --context py          # returns at once: the job serves
    sjs cluster wait search                                          # until all 4 servers are up
    sjs cluster show search                                          # partition -> host:port
    curl http://HOST:PORT/app/get_list                               # 250,251,...,499 (partition 1)
    curl 'http://HOST:PORT/app/contains?x=300'                       # true
    sjs cluster stop search                                          # one result line per partition

Each partition's server (a WSGI application, one instance per partition) answers:
    /app/get_list            its partition's values, comma-separated
    /app/contains?x=N        "true" or "false" (with &format=json: {"partition", "x", "contains"})
    /app/                    {"partition", "rows", "min", "max"}
and the control routes every partition server has (/control/health, /control/shutdown).

On a python context the partitions are lists served by threads of the runner; on a pyspark
context they are the partitions of sc.parallelize(range(1000), 4), each served by a Spark task.
Config (all optional): partitions (4), size (1000), name ("search"), host (the host the servers
advertise; default SJS_CLUSTER_HOST or the machine's name), port (0: any free port; N: partition
i binds N + i).
"""

import json
import threading
from urllib.parse import parse_qs


class SearchServer:
    """One partition: its sorted values and a set for lookups; counts the requests it answered."""

    def init_partition(self, rows, config):
        self.rows = sorted(rows)
        self.members = set(self.rows)
        self.requests = 0
        self._lock = threading.Lock()  # requests are answered on several threads

    def __call__(self, environ, start_response):
        with self._lock:
            self.requests += 1
        path = environ.get("PATH_INFO", "")
        if path == "/get_list":
            return _answer(start_response, "200 OK", ",".join(str(v) for v in self.rows), "text/plain")
        if path == "/contains":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            try:
                x = int(query["x"][0])
            except (KeyError, ValueError):
                return _answer(start_response, "400 Bad Request",
                               {"error": "contains needs an integer x: /app/contains?x=42"})
            found = x in self.members
            if query.get("format") == ["json"]:
                return _answer(start_response, "200 OK", {"partition": self.partition, "x": x, "contains": found})
            return _answer(start_response, "200 OK", "true" if found else "false", "text/plain")
        if path in ("", "/"):
            return _answer(start_response, "200 OK", {"partition": self.partition, "rows": len(self.rows),
                                                      "min": self.rows[0] if self.rows else None,
                                                      "max": self.rows[-1] if self.rows else None})
        return _answer(start_response, "404 Not Found",
                       {"error": "no such route: /app%s (try /app/get_list or /app/contains?x=N)" % path})

    def result(self):
        """Collected when the cluster stops: sjs cluster result search."""
        return {"partition": self.partition, "requests": self.requests}


def _answer(start_response, status, body, content_type="application/json"):
    data = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
    start_response(status, [("Content-Type", content_type + "; charset=utf-8")])
    return [data]


def run(ctx, config):
    n = config.get_int("partitions", 4)
    size = config.get_int("size", 1000)
    if ctx.sc is not None:
        data = ctx.sc.parallelize(range(size), n)
    else:
        data = [range(i * size // n, (i + 1) * size // n) for i in range(n)]
    ctx.log.info("serving range(%d) in %d partitions", size, n)
    return ctx.serve_partitions(data, SearchServer, name=config.get_string("name", "search"), config=config,
                                host=config.get("host"), port=config.get_int("port", 0))
