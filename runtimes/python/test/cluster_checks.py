"""Partition servers (ctx.serve_partitions) of the real Python runner, driven by RunnerTest.py as a fake
daemon: the test answers cluster_open, reads registrations, talks HTTP to the real servers on loopback,
sends cluster_stop and cancel, and checks cluster_partition / cluster_ended and the job's end.

Spark mode runs on RunnerTest's FAKE pyspark, whose mapPartitionsWithIndex runs each partition's task
on a thread (retrying a failed one, as Spark does): the relay, its token check, 410 after a stop, the
failure report and the results are all real HTTP.
"""

import http.client
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request

import worker_conformance as wc
from worker_conformance import check, failed, finished

TOKEN = "0123456789abcdef0123456789abcdef"

CLUSTERJOBS = r'''
import json, sys, time
import sjs

class Rows:
    """Serves its partition's rows; /exit crashes the server (SystemExit), /boom is a 500."""
    def init_partition(self, rows, config):
        self.rows = rows
        self.n = 0
    def __call__(self, environ, start_response):
        self.n += 1
        path = environ["PATH_INFO"]
        if path == "/get_list":
            body = ",".join(str(r) for r in self.rows)
        elif path == "/env":
            body = json.dumps({"script": environ["SCRIPT_NAME"], "path": path, "query": environ["QUERY_STRING"],
                               "partition": self.partition, "cluster": self.cluster,
                               "method": environ["REQUEST_METHOD"], "body": environ["wsgi.input"].read().decode()})
        elif path == "/exit":
            sys.exit(7)
        elif path == "/slow":
            time.sleep(0.6)
            body = "slow done"
        elif path == "/boom":
            raise ValueError("boom in a request")
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such thing"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body.encode()]
    def result(self):
        return {"partition": self.partition, "requests": self.n}

def parts(config):
    return [list(range(i * 10, i * 10 + 10)) for i in range(config.get("partitions", 4))]

def serve(ctx, config):
    return ctx.serve_partitions(parts(config), Rows, name=config.get("name"), config=config, host="127.0.0.1",
                                bind="127.0.0.1", max_restarts=config.get("max_restarts", 3),
                                port=config.get("port", 0))

def serve_spark(ctx, config):
    rdd = ctx.sc.parallelize(range(40), 4)
    return ctx.serve_partitions(rdd, Rows, name=config.get("name"), host="127.0.0.1", bind="127.0.0.1")

class NoHandler:
    def init_partition(self, rows, config):
        pass

def no_handler(ctx, config):
    return ctx.serve_partitions([[1]], NoHandler, name="nohandler")

def zero(ctx, config):
    return ctx.serve_partitions([], Rows, name="zero")

class InitFails(Rows):
    def init_partition(self, rows, config):
        raise IOError("no data for partition %d" % self.partition)

def init_fails(ctx, config):
    return ctx.serve_partitions([[1], [2]], InitFails, name="initfails", host="127.0.0.1", max_restarts=1)

def serve_flask(ctx, config):
    import flask
    bp = flask.Blueprint("search", __name__)
    @bp.route("/get_list")
    def get_list():
        return ",".join(str(r) for r in flask.current_app.config["rows"])
    def init(rows, app, config):
        app.config["rows"] = rows
    return ctx.serve_partitions([[1, 2], [3, 4]], bp, name="flask", init_partition=init, host="127.0.0.1")

def pyfiles(ctx, config):
    import os
    return [os.path.basename(p) for p in ctx.sc.PYFILES]
'''


def patch_conformance():
    """worker_conformance predates partition servers: teach it the capability and the messages (the
    lead's copy in tests/conformance should say the same)."""
    if "clusters" not in wc.KNOWN_CAPABILITIES:
        wc.KNOWN_CAPABILITIES = tuple(wc.KNOWN_CAPABILITIES) + ("clusters",)
    s, i = (lambda v: isinstance(v, str)), (lambda v: wc._is_int(v))
    wc.SHAPES.setdefault("cluster_open", [("id", True, i), ("job", True, s), ("cluster", True, s),
                                          ("partitions", True, lambda v: i(v) and v >= 1)])
    wc.SHAPES.setdefault("cluster_register", [("job", True, s), ("cluster", True, s), ("partition", True, i),
                                              ("host", True, s), ("port", True, i), ("token", True, s)])
    wc.SHAPES.setdefault("cluster_partition", [("job", True, s), ("cluster", True, s), ("partition", True, i),
                                               ("error", True, s)])
    wc.SHAPES.setdefault("cluster_ended", [("job", True, s), ("cluster", True, s),
                                           ("results", True, lambda v: v is None or isinstance(v, list)),
                                           ("error", True, s)])


# --------------------------------------------------------------------------- helpers

def log_line(r, job, text, what):
    """Waits for a log line of the job containing `text` (log frames may follow the HTTP answer)."""
    return r.wait_for(lambda m: m.get("type") == "log" and m.get("job") == job and text in m.get("data", ""), what)


def run(r, job, entry, b, config=None, token=TOKEN):
    m = {"type": "run", "job": job, "entry": entry, "binaries": [b], "config": config or {}, "context": r.name}
    if token is not None:
        m["cluster_token"] = token
    r.send(m)


def open_cluster(r, job, name, partitions, error=""):
    m = r.wait_for(lambda m: m["type"] == "cluster_open" and m.get("job") == job, "cluster_open of " + job)
    check(m.get("cluster") == name and m.get("partitions") == partitions and wc._is_int(m.get("id")),
          "cluster_open names the cluster and its partitions", m)
    r.send({"type": "cluster_opened", "id": m["id"], "error": error})
    return m


def registrations(r, job, partition=None):
    return [m for m in r.events(job, "cluster_register") if partition is None or m["partition"] == partition]


def wait_registered(r, job, n, what):
    """{partition: (host, port)} of the latest registration of each, once n partitions registered."""
    r.wait_for(lambda m: len({x["partition"] for x in registrations(r, job)}) >= n, what)
    out = {}
    for m in registrations(r, job):
        check(m["token"] == TOKEN and m["host"] == "127.0.0.1", "a registration carries the token and host", m)
        out[m["partition"]] = (m["host"], m["port"])
    return out


def req(addr, method, path, body=None, conn=None):
    """(status, body text) of one request; on `conn` when given (keep-alive)."""
    c = conn or http.client.HTTPConnection(addr[0], addr[1], timeout=10)
    try:
        c.request(method, path, body=body)
        resp = c.getresponse()
        return resp.status, resp.read().decode("utf-8")
    finally:
        if conn is None:
            c.close()


def soon(pred, timeout=10.0):
    """pred() holds now or within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def refused(addr):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect(addr)
        return False
    except ConnectionRefusedError:
        return True
    finally:
        s.close()


def free_ports(n):
    """A port P with P .. P + n - 1 free on 127.0.0.1 now."""
    for _ in range(50):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        base = s.getsockname()[1]
        s.close()
        if base + n > 65535:
            continue
        socks, ok = [], True
        for p in range(base, base + n):
            t = socket.socket()
            try:
                t.bind(("127.0.0.1", p))
            except OSError:
                ok = False
            socks.append(t)
        for t in socks:
            t.close()
        if ok:
            return base
    raise wc.TestFailure("no %d consecutive free ports" % n)


def ended(r, job):
    return r.wait_for(lambda m: m["type"] == "cluster_ended" and m.get("job") == job, "cluster_ended of " + job)


def ends_before_job(r, job):
    """cluster_ended comes exactly once, before the job's own end."""
    with r.cond:
        types = [m["type"] for m in r.messages if m.get("job") == job]
    check(types.count("cluster_ended") == 1, "exactly one cluster_ended for " + job, types)
    check(types.index("cluster_ended") < max(types.index(t) for t in ("finished", "failed") if t in types),
          "cluster_ended before the job ends", types)


def objects(r, i):
    r.send({"type": "objects", "id": i})
    return r.wait_for(lambda m: m["type"] == "objects" and m.get("id") == i, "objects answer")["names"]


# --------------------------------------------------------------------------- local mode

def local_checks(r, b, example):
    hello = wc.check_hello(r, runtime="python")
    check("clusters" in hello["capabilities"], "hello announces clusters", hello)

    # bad input fails the job before anything opens
    run(r, "bad1", "clusterjobs:no_handler", b)
    err = failed(r.end_of("bad1"), "error", "a server class without __call__")
    check(err["errorClass"] == "TypeError" and err["message"] == (
        "server class NoHandler has no request handler: define __call__(self, environ, start_response) "
        "(a WSGI application)"), "the TypeError names the class and what to define", err)
    run(r, "bad2", "clusterjobs:zero", b)
    err = failed(r.end_of("bad2"), "error", "zero partitions")
    check(err["errorClass"] == "ValueError" and err["message"] == "serve_partitions needs at least one partition",
          "zero partitions", err)
    run(r, "bad3", "clusterjobs:serve", b, token=None)
    err = failed(r.end_of("bad3"), "error", "no cluster token")
    check(err["errorClass"] == "sjs.ClusterError" and err["message"] ==
          "this sjsd does not coordinate partition servers", "an old daemon", err)
    check(not [m for j in ("bad1", "bad2", "bad3") for m in r.events(j, "cluster_open")], "nothing opened", None)

    # sjsd refuses the cluster
    refusal = 'cluster "search" is already serving (job x1): stop it (sjs cluster stop search) or choose another name'
    run(r, "refused", "clusterjobs:serve", b, {"name": "search"})
    open_cluster(r, "refused", "search", 4, error=refusal)
    err = failed(r.end_of("refused"), "error", "a refused cluster")
    check(err["errorClass"] == "sjs.ClusterError" and err["message"] == refusal, "the refusal is the error", err)
    check(not r.events("refused", "cluster_register") and not r.events("refused", "cluster_ended"),
          "a refused cluster starts nothing and never ends", r.events("refused"))

    # a kill while waiting for cluster_opened ends the cluster (sjsd may have opened it meanwhile)
    run(r, "waiting", "clusterjobs:serve", b, {"name": "late"})
    m = r.wait_for(lambda m: m["type"] == "cluster_open" and m.get("job") == "waiting", "cluster_open (kill)")
    r.send({"type": "cancel", "job": "waiting"})
    check(ended(r, "waiting")["error"] == "the job was killed", "cluster_ended for a kill before the answer")
    failed(r.end_of("waiting"), "killed", "a job killed waiting for cluster_opened")
    ends_before_job(r, "waiting")
    r.send({"type": "cluster_opened", "id": m["id"], "error": ""})  # too late: ignored
    check(not r.events("waiting", "cluster_register"), "nothing starts after the kill", r.events("waiting"))

    # 4 partitions serve their data
    run(r, "c1", "clusterjobs:serve", b, {"name": "search"})
    open_cluster(r, "c1", "search", 4)
    addrs = wait_registered(r, "c1", 4, "4 registrations")
    check(sorted(addrs) == [0, 1, 2, 3] and len({a[1] for a in addrs.values()}) == 4, "4 partitions, 4 ports", addrs)
    for i, a in addrs.items():
        check(req(a, "GET", "/app/get_list") == (200, ",".join(str(x) for x in range(i * 10, i * 10 + 10))),
              "partition %d serves its rows" % i)
        st, text = req(a, "GET", "/control/health")
        check(st == 200 and json.loads(text) == {"status": "UP", "cluster": "search", "partition": i}, "health", text)
    a0 = addrs[0]
    st, text = req(a0, "GET", "/x")
    check(st == 404 and json.loads(text) == {"status": "ERROR", "result": "no such route: /x (partition servers "
                                             "answer /app/... and /control/...)"}, "404 elsewhere", text)
    conn = http.client.HTTPConnection(a0[0], a0[1], timeout=10)  # keep-alive: several requests, one connection
    st, text = req(a0, "POST", "/app/env?q=1&r=2", body=b"payload", conn=conn)
    env = json.loads(text)
    check(st == 200 and env == {"script": "/app", "path": "/env", "query": "q=1&r=2", "partition": 0,
                                "cluster": "search", "method": "POST", "body": "payload"}, "the WSGI environ", env)
    st, text = req(a0, "GET", "/app/boom", conn=conn)
    check(st == 500, "an exception in the app is a 500", (st, text))
    check(req(a0, "GET", "/app/get_list", conn=conn)[0] == 200, "the same connection serves on after a 500")
    conn.close()
    log_line(r, "c1", "ValueError: boom in a request", "the 500's traceback in the job log")

    # a crash: reported, restarted, registered again
    try:
        req(addrs[1], "GET", "/app/exit")
    except (OSError, http.client.HTTPException):
        pass
    m = r.wait_for(lambda m: m["type"] == "cluster_partition" and m.get("job") == "c1", "cluster_partition")
    check(m["partition"] == 1 and "SystemExit(7)" in m["error"] and m["cluster"] == "search", "the crash", m)
    r.wait_for(lambda m: len(registrations(r, "c1", 1)) == 2, "partition 1 registers again")
    addrs = wait_registered(r, "c1", 4, "registrations")
    check(req(addrs[1], "GET", "/app/get_list")[1].startswith("10,11"), "the restarted partition serves")
    log_line(r, "c1", "SystemExit: 7", "the crash's traceback in the job log")

    # stop: a request in flight finishes, an idle keep-alive connection does not hold the stop up;
    # cluster_ended has every result, the job's result is the list
    idle = http.client.HTTPConnection(addrs[3][0], addrs[3][1], timeout=10)
    req(addrs[3], "GET", "/app/get_list", conn=idle)
    slow = {}
    t = threading.Thread(target=lambda: slow.update(answer=req(addrs[2], "GET", "/app/slow")))
    t.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    r.send({"type": "cluster_stop", "job": "c1", "cluster": "search"})
    m = ended(r, "c1")
    t.join(10)
    check(slow.get("answer") == (200, "slow done"), "a request in flight at the stop is answered", slow)
    check(time.monotonic() - t0 < 5, "an idle keep-alive connection does not delay the stop", time.monotonic() - t0)
    idle.close()
    check(m["error"] == "" and [x["partition"] for x in m["results"]] == [0, 1, 2, 3], "cluster_ended results", m)
    check(m["results"][0]["requests"] == 4 and m["results"][1]["requests"] == 1, "results count requests", m)
    res = finished(r.end_of("c1"), "a stopped cluster's job")
    check(res == m["results"], "the job's result is the results list", res)
    ends_before_job(r, "c1")
    check(all(refused(a) for a in addrs.values()), "every port closed after the stop", addrs)
    check("cluster:search" in objects(r, 1), "the results are kept as the named object cluster:search")

    # the shutdown route of every server ends the cluster too (sjsd posts them before cluster_stop)
    run(r, "c2", "clusterjobs:serve", b, {"name": "two", "partitions": 2})
    open_cluster(r, "c2", "two", 2)
    addrs = wait_registered(r, "c2", 2, "2 registrations")
    for i, a in addrs.items():
        st, text = req(a, "POST", "/control/shutdown")
        check(st == 200 and json.loads(text) == {"status": "STOPPING", "cluster": "two", "partition": i},
              "shutdown answers STOPPING", text)
    m = ended(r, "c2")
    check(m["error"] == "" and len(m["results"]) == 2, "ended through the shutdown routes", m)
    finished(r.end_of("c2"), "c2")

    # port=N: partition i binds N + i
    base = free_ports(2)
    run(r, "c2p", "clusterjobs:serve", b, {"name": "fixed", "partitions": 2, "port": base})
    open_cluster(r, "c2p", "fixed", 2)
    addrs = wait_registered(r, "c2p", 2, "2 registrations on fixed ports")
    check(addrs == {0: ("127.0.0.1", base), 1: ("127.0.0.1", base + 1)}, "partition i binds port N + i", addrs)
    r.send({"type": "cluster_stop", "job": "c2p", "cluster": "fixed"})
    finished(r.end_of("c2p"), "c2p")

    # a partition failing more than max_restarts fails the cluster
    run(r, "c3", "clusterjobs:init_fails", b)
    open_cluster(r, "c3", "initfails", 2)
    m = ended(r, "c3")
    check("failed 2 time(s), more than max_restarts=1" in m["error"] and "no data for partition" in m["error"],
          "a failed cluster's error", m)
    err = failed(r.end_of("c3"), "error", "a failed cluster")
    check(err["errorClass"] == "sjs.ClusterError" and err["message"] == m["error"], "ClusterError", err)
    check(len(r.events("c3", "cluster_partition")) >= 2, "each failure reported", r.events("c3", "cluster_partition"))

    # cancel: every port freed, cluster_ended says so, the job is killed
    run(r, "c4", "clusterjobs:serve", b, {"name": "killme"})
    open_cluster(r, "c4", "killme", 4)
    addrs = wait_registered(r, "c4", 4, "4 registrations")
    idle = http.client.HTTPConnection(addrs[0][0], addrs[0][1], timeout=10)  # an idle keep-alive connection
    req(addrs[0], "GET", "/app/get_list", conn=idle)
    r.send({"type": "cancel", "job": "c4"})
    m = ended(r, "c4")
    check(m["error"] == "the job was killed" and m.get("killed") is True, "cluster_ended after a kill", m)
    failed(r.end_of("c4"), "killed", "a killed cluster job")
    ends_before_job(r, "c4")
    check(all(refused(a) for a in addrs.values()), "every port refused after the kill", addrs)
    idle.close()
    example_checks(r, example)
    wc.check_messages(r)


def example_checks(r, example, job="ex"):
    """examples/python/partition_search.py: range(1000) in 4 partitions of 250."""
    r.send({"type": "run", "job": job, "entry": "partition_search:run", "binaries": [example], "context": r.name,
            "config": {"host": "127.0.0.1", "name": "search-" + job}, "cluster_token": TOKEN})
    open_cluster(r, job, "search-" + job, 4)
    addrs = wait_registered(r, job, 4, "the example's 4 registrations")
    for i, a in addrs.items():
        check(req(a, "GET", "/app/get_list") == (200, ",".join(str(x) for x in range(i * 250, i * 250 + 250))),
              "example partition %d lists its values" % i)
    check(req(addrs[1], "GET", "/app/contains?x=300") == (200, "true"), "partition 1 contains 300")
    check(req(addrs[0], "GET", "/app/contains?x=300") == (200, "false"), "partition 0 does not")
    st, text = req(addrs[3], "GET", "/app/contains?x=999&format=json")
    check(st == 200 and json.loads(text) == {"partition": 3, "x": 999, "contains": True}, "contains as JSON", text)
    check(req(addrs[3], "GET", "/app/contains?x=abc")[0] == 400, "a bad x is a 400")
    r.send({"type": "cluster_stop", "job": job, "cluster": "search-" + job})
    res = finished(r.end_of(job), "the example's job")
    check(res == [{"partition": 0, "requests": 2}, {"partition": 1, "requests": 2}, {"partition": 2, "requests": 1},
                  {"partition": 3, "requests": 3}], "the example's results", res)


# --------------------------------------------------------------------------- flask

def flask_checks(r, b):
    r.wait_for(lambda m: m["type"] == "hello", "hello")
    run(r, "f1", "clusterjobs:serve_flask", b)
    open_cluster(r, "f1", "flask", 2)
    addrs = wait_registered(r, "f1", 2, "2 flask registrations")
    check(req(addrs[0], "GET", "/app/get_list") == (200, "1,2") and req(addrs[1], "GET", "/app/get_list") ==
          (200, "3,4"), "the blueprint answers at /app")
    check(req(addrs[0], "GET", "/app/nope")[0] == 404, "flask's own 404 under /app")
    r.send({"type": "cluster_stop", "job": "f1", "cluster": "flask"})
    check(ended(r, "f1")["results"] == [None, None], "a blueprint has no results")
    check(finished(r.end_of("f1"), "flask job") == [None, None], "flask job result")


# --------------------------------------------------------------------------- spark mode

def relay_url(r, job):
    m = r.wait_for(lambda m: m["type"] == "log" and m.get("job") == job and "through the relay at" in m["data"],
                   "the relay's address in the job log")
    return re.search(r"relay at (http://\S+)", m["data"]).group(1)


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def spark_checks(r, b, example):
    r.wait_for(lambda m: m["type"] == "hello", "hello")
    run(r, "s1", "clusterjobs:serve_spark", b, {"name": "sparky"})
    open_cluster(r, "s1", "sparky", 4)
    relay = relay_url(r, "s1")
    addrs = wait_registered(r, "s1", 4, "4 registrations through the relay")
    for i, a in addrs.items():
        check(req(a, "GET", "/app/get_list") == (200, ",".join(str(x) for x in range(i * 10, i * 10 + 10))),
              "spark partition %d serves its rows" % i)
    forged = {"cluster": "sparky", "partition": 0, "host": "127.0.0.1", "port": 1, "token": "f" * 32}
    check(post(relay + "/register", forged) == 403, "the relay refuses a wrong token with 403")
    check(post(relay + "/register", dict(forged, partition=9, token=TOKEN)) == 400, "a partition out of range: 400")
    check(len(registrations(r, "s1", 0)) == 1, "a refused registration is not forwarded", registrations(r, "s1", 0))
    log_line(r, "s1", "wrong cluster token", "the forgery logged")

    # a crash: reported through the relay, Spark's retry registers partition 2 again
    try:
        req(addrs[2], "GET", "/app/exit")
    except (OSError, http.client.HTTPException):
        pass
    m = r.wait_for(lambda m: m["type"] == "cluster_partition" and m.get("job") == "s1", "cluster_partition (spark)")
    check(m["partition"] == 2 and "SystemExit(7)" in m["error"], "the spark crash", m)
    r.wait_for(lambda m: len(registrations(r, "s1", 2)) == 2, "partition 2 re-registered by the task retry")
    addrs = wait_registered(r, "s1", 4, "registrations")
    check(req(addrs[2], "GET", "/app/get_list")[0] == 200, "the retried task serves")

    r.send({"type": "cluster_stop", "job": "s1", "cluster": "sparky"})
    m = ended(r, "s1")
    check(m["error"] == "" and [x["partition"] for x in m["results"]] == [0, 1, 2, 3], "spark results", m)
    check(finished(r.end_of("s1"), "spark cluster job") == m["results"], "the spark job's result")
    check(post(relay + "/register", dict(forged, token=TOKEN, port=4000)) == 410, "410 once the cluster ended")
    check("cluster:sparky" in objects(r, 2), "the cached results RDD is kept as cluster:sparky")
    run(r, "s-pyf", "clusterjobs:pyfiles", b)
    check("sjs-package.zip" in finished(r.end_of("s-pyf"), "pyfiles"), "the sjs package is shipped to executors")

    # a kill closes the servers on the executors too
    run(r, "s2", "clusterjobs:serve_spark", b, {"name": "sparkkill"})
    open_cluster(r, "s2", "sparkkill", 4)
    addrs = wait_registered(r, "s2", 4, "4 registrations (kill)")
    r.send({"type": "cancel", "job": "s2"})
    check(ended(r, "s2")["error"] == "the job was killed", "spark cluster_ended after a kill")
    failed(r.end_of("s2"), "killed", "a killed spark cluster job")
    # executors' servers are told over HTTP (as on a real cluster): they close a moment later
    check(soon(lambda: all(refused(a) for a in addrs.values())), "every executor port refused after the kill", addrs)
    example_checks(r, example, "ex-spark")
    wc.check_messages(r)
