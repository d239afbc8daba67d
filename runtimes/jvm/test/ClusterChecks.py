"""The JVM runner's partition servers (docs/partition-servers.md), over the real worker protocol.

Used by RunnerTest.py: CLUSTER_JOBS is compiled into a jar of test jobs, cluster_checks(r, jars)
runs against one runner. The test plays sjsd: it answers cluster_open, checks the registrations
(with the run's cluster token), talks HTTP to the servers on loopback, and sends cluster_stop and
cancel.
"""

import http.client
import json
import os
import socket
import time
import zipfile

import worker_conformance as wc
from worker_conformance import check, failed, finished

TIMEOUT = wc.TIMEOUT

# Partition servers (docs/worker-protocol.md, "Clusters"): until tests/conformance knows them, this
# test teaches it the capability and the shapes of the worker's cluster messages.
if "clusters" not in wc.KNOWN_CAPABILITIES:
    wc.KNOWN_CAPABILITIES = wc.KNOWN_CAPABILITIES + ("clusters",)
_NAME = lambda v: isinstance(v, str) and 1 <= len(v) <= 64  # noqa: E731
_JOB = lambda v: isinstance(v, str)  # noqa: E731
_PART = lambda v: wc._is_int(v) and v >= 0  # noqa: E731
for _type, _shape in {
    "cluster_open": [("id", True, wc._is_int), ("job", True, _JOB), ("cluster", True, _NAME),
                     ("partitions", True, lambda v: wc._is_int(v) and v >= 1)],
    "cluster_register": [("job", True, _JOB), ("cluster", True, _NAME), ("partition", True, _PART),
                         ("host", True, lambda v: isinstance(v, str) and v),
                         ("port", True, lambda v: wc._is_int(v) and 0 < v < 65536),
                         ("token", True, lambda v: isinstance(v, str))],
    "cluster_partition": [("job", True, _JOB), ("cluster", True, _NAME), ("partition", True, _PART),
                          ("error", True, lambda v: isinstance(v, str) and v)],
    "cluster_ended": [("job", True, _JOB), ("cluster", True, _NAME),
                      ("results", True, lambda v: v is None or isinstance(v, list)),
                      ("error", True, lambda v: isinstance(v, str)),
                      ("killed", False, lambda v: v is True)],
}.items():
    wc.SHAPES.setdefault(_type, _shape)


# A partition server job: config {name, partitions, rows, maxRestarts, port, serverConfig, kind}.
# Partition i holds the rows i*rows .. (i+1)*rows-1. Its server answers /app/get_list (the rows,
# comma-separated), /app/contains?x=N (JSON true/false), /app/info (what it saw of the request),
# /app/fail (an Exception: 500), /app/crash (an Error: the server is restarted), /app/created (201
# and a header). serverConfig.failInit = i makes partition i's initPartition throw every time.
CLUSTER_JOBS = {
    "sjs/test/Serve.java": """
package sjs.test;
import java.util.*;
import java.util.concurrent.atomic.AtomicInteger;
import sjs.api.*;
public class Serve implements Job {
  public static class Part implements PartitionServer<Integer> {
    private String cluster;
    private int partition = -1;
    private List<Integer> rows;
    private String greeting;
    private final AtomicInteger requests = new AtomicInteger();
    public void setPartition(String cluster, int partition) { this.cluster = cluster; this.partition = partition; }
    public void initPartition(List<Integer> rows, Config config) {
      if (config.getInt("failInit", -1) == partition) throw new IllegalStateException("init failed on purpose");
      this.rows = rows;
      this.greeting = config.getString("greeting", "hi");
    }
    public Response handle(Request req) throws Exception {
      requests.incrementAndGet();
      switch (req.path()) {
        case "/get_list": {
          StringBuilder b = new StringBuilder();
          for (Integer i : rows) { if (b.length() > 0) b.append(','); b.append(i); }
          return Response.text(b.toString());
        }
        case "/contains": return Response.json(rows.contains(Integer.valueOf(req.param("x"))));
        case "/info": {
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("cluster", cluster); m.put("partition", partition); m.put("reqCluster", req.cluster());
          m.put("reqPartition", req.partition()); m.put("method", req.method()); m.put("path", req.path());
          m.put("query", req.query()); m.put("x", req.param("x")); m.put("flag", req.param("flag"));
          m.put("missing", req.param("missing")); m.put("header", req.header("x-test"));
          m.put("body", req.bodyText()); m.put("greeting", greeting);
          return Response.json(m);
        }
        case "/fail": throw new IllegalStateException("handler failed on purpose");
        case "/crash": throw new Error("crash on purpose");
        case "/created": return Response.text("made").status(201).header("X-Partition", String.valueOf(partition));
        default: return Response.text("no page " + req.path()).status(404);
      }
    }
    public Object result() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("partition", partition); m.put("rows", rows.size()); m.put("requests", requests.get());
      return m;
    }
  }
  public Object run(JobContext ctx, Config config) throws Exception {
    int n = config.getInt("partitions", 4), per = config.getInt("rows", 250);
    List<List<Integer>> parts = new ArrayList<>();
    for (int p = 0; p < n; p++) {
      List<Integer> rows = new ArrayList<>();
      for (int i = p * per; i < (p + 1) * per; i++) rows.add(i);
      parts.add(rows);
    }
    ServeOptions o = new ServeOptions().host("127.0.0.1").bind("127.0.0.1")
        .maxRestarts(config.getInt("maxRestarts", 3)).port(config.getInt("port", 0));
    Map<String, Object> sc = config.hasPath("serverConfig") ? config.getConfig("serverConfig").toMap() : null;
    String name = config.getString("name", null);
    if ("null".equals(config.getString("kind", ""))) parts = null;
    if (config.hasPath("plain")) return ctx.servePartitions(parts, Part::new, name, sc);
    return ctx.servePartitions(parts, Part::new, name, sc, o);
  }
}
""",
}


def binary(name, path, sha):
    return [{"name": name, "version": "1", "sha256": sha, "path": path}]


# --------------------------------------------------------------------------- partition servers

TOKEN = "0123456789abcdef" * 2


def fetch(port, method, path, body=None, headers=None, conn=None):
    """One request to 127.0.0.1:port; returns (status, headers with lower-case names, body bytes)."""
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        c.request(method, path, body=body, headers=headers or {})
        resp = c.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        if conn is None:
            c.close()


def port_closed(port):
    """True when nothing listens on 127.0.0.1:port any more (connection refused)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


def free_ports(n):
    """A port p with p .. p+n-1 all free on 127.0.0.1 just now."""
    for base in range(21000 + os.getpid() % 5000, 65000, 97):
        socks = []
        try:
            for i in range(n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise wc.TestFailure("no %d free consecutive ports" % n)


def serve(r, job, jar, config, token=TOKEN):
    """Runs sjs.test.Serve as sjsd would, with a cluster token."""
    msg = {"type": "run", "job": job, "entry": "sjs.test.Serve", "binaries": binary("clusters", jar, "c" * 64),
           "config": config, "context": r.name}
    if token is not None:
        msg["cluster_token"] = token
    r.send(msg)


def cluster_msgs(r, type_, job, cluster=None):
    with r.cond:
        return [m for m in r.messages if m.get("type") == type_ and m.get("job") == job
                and (cluster is None or m.get("cluster") == cluster)]


def open_cluster(r, job, name, partitions, error=""):
    """Waits for the job's cluster_open, checks it, answers cluster_opened; returns the open message."""
    m = r.wait_for(lambda m: m["type"] == "cluster_open" and m.get("job") == job, "cluster_open of " + job)
    check(m.get("cluster") == name and m.get("partitions") == partitions and isinstance(m.get("id"), int),
          "cluster_open names the cluster and its partitions", m)
    time.sleep(0.3)
    check(not cluster_msgs(r, "cluster_register", job), "no server starts before cluster_opened", r.events(job))
    r.send({"type": "cluster_opened", "id": m["id"], "error": error})
    return m


def registrations(r, job, name, n, at_least=None):
    """Waits until each of the n partitions has registered (at_least: {partition: count}); the latest of each."""
    want = dict(at_least or {})

    def enough(_):
        regs = cluster_msgs(r, "cluster_register", job, name)
        return all(sum(1 for g in regs if g.get("partition") == i) >= want.get(i, 1) for i in range(n))
    r.wait_for(enough, "%d partition registrations of %s" % (n, name))
    latest = {}
    for g in cluster_msgs(r, "cluster_register", job, name):
        latest[g["partition"]] = g
    return [latest[i] for i in range(n)]


def cluster_checks(r, jars):
    jar = jars["clusters"]
    hello = wc.check_hello(r, runtime="jvm")  # the exact list: RunnerTest's other runners
    check("clusters" in hello["capabilities"], "the runner announces clusters", hello)

    # 4 partitions: opened, registered with the token, each answering its own data
    serve(r, "srv1", jar, {"name": "c1", "partitions": 4, "serverConfig": {"greeting": "hello"}})
    open_cluster(r, "srv1", "c1", 4)
    regs = registrations(r, "srv1", "c1", 4)
    for i, g in enumerate(regs):
        check(g["token"] == TOKEN and g["host"] == "127.0.0.1" and g["partition"] == i, "registration " + str(i), g)
    ports = [g["port"] for g in regs]
    check(len(set(ports)) == 4, "every partition has a port of its own", ports)
    r.wait_for(lambda m: m.get("job") == "srv1" and m["type"] == "started", "started for srv1")
    for i, port in enumerate(ports):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        status, hdrs, body = fetch(port, "GET", "/app/get_list", conn=conn)
        want = ",".join(str(x) for x in range(i * 250, (i + 1) * 250))
        check(status == 200 and body.decode() == want, "partition %d answers its own rows" % i, body[:80].decode())
        check(hdrs.get("content-length") == str(len(want)), "Content-Length is set", hdrs)
        # the same connection again: keep-alive
        status, hdrs, body = fetch(port, "GET", "/app/contains?x=%d" % (i * 250 + 7), conn=conn)
        check(status == 200 and json.loads(body) is True and hdrs.get("content-type") == "application/json",
              "contains, on the kept connection", (status, hdrs, body.decode()))
        status, _, body = fetch(port, "GET", "/app/contains?x=%d" % ((i + 1) * 250), conn=conn)
        check(json.loads(body) is False, "a row of the next partition is not here", body.decode())
        conn.close()
        status, _, body = fetch(port, "GET", "/control/health")
        check(status == 200 and json.loads(body) == {"status": "UP", "cluster": "c1", "partition": i},
              "/control/health", body.decode())
    p0 = ports[0]
    # answers on a kept connection are not held back by Nagle + delayed ACK (~40 ms each without TCP_NODELAY)
    conn = http.client.HTTPConnection("127.0.0.1", p0, timeout=TIMEOUT)
    t0 = time.monotonic()
    for _ in range(50):
        fetch(p0, "GET", "/control/health", conn=conn)
    took = time.monotonic() - t0
    conn.close()
    check(took < 1.5, "50 requests on one kept connection take under 1.5 s (took %.2f s)" % took)
    status, _, body = fetch(p0, "GET", "/nope")
    check(status == 404 and json.loads(body) == {
        "status": "ERROR", "result": "no such route: /nope (partition servers answer /app/... and /control/...)"},
        "anything else is a 404", (status, body.decode()))
    status, _, body = fetch(p0, "POST", "/app/info?x=a%20b&flag", body=b"payload \xc3\xa9",
                            headers={"X-Test": "yes", "Content-Type": "text/plain"})
    info = json.loads(body)
    want = {"cluster": "c1", "partition": 0, "reqCluster": "c1", "reqPartition": 0, "method": "POST", "path": "/info",
            "query": "x=a%20b&flag", "x": "a b", "flag": "", "missing": None, "header": "yes", "body": "payload \u00e9",
            "greeting": "hello"}
    check(status == 200 and info == want, "the application sees the request below /app", {"got": info, "want": want})
    status, _, body = fetch(p0, "GET", "/app")
    check(status == 404 and body == b"no page /", "/app alone is the path /", (status, body))
    status, hdrs, body = fetch(p0, "PUT", "/app/created")
    check(status == 201 and hdrs.get("x-partition") == "0" and body == b"made", "status and headers of a Response",
          (status, hdrs))

    # an Exception from handle(): a 500, the stack in the job's log, the server goes on
    status, _, body = fetch(p0, "GET", "/app/fail")
    check(status == 500 and b"handler failed on purpose" in body, "an exception is a 500", (status, body))
    r.wait_for(lambda m: m.get("job") == "srv1" and m["type"] == "log" and "at sjs.test.Serve$Part.handle(" in m["data"],
               "the failed request's stack in the job log")
    status, _, _ = fetch(p0, "GET", "/app/get_list")
    check(status == 200, "the server answers after a 500")
    check(not cluster_msgs(r, "cluster_partition", "srv1"), "a 500 is not a partition failure",
          cluster_msgs(r, "cluster_partition", "srv1"))

    # an Error from handle(): the partition fails, is reported, and comes back
    try:
        status, _, body = fetch(ports[2], "GET", "/app/crash")
        check(status == 500, "the crashing request gets a 500", (status, body))
    except (OSError, http.client.HTTPException):
        pass  # or the connection is cut: both are fine
    fail = r.wait_for(lambda m: m["type"] == "cluster_partition" and m.get("job") == "srv1", "cluster_partition")
    check(fail["cluster"] == "c1" and fail["partition"] == 2 and "crash on purpose" in fail["error"],
          "cluster_partition names the partition and the error", fail)
    r.wait_for(lambda m: m.get("job") == "srv1" and m["type"] == "log" and "crash on purpose" in m["data"],
               "the crash in the job log")
    regs = registrations(r, "srv1", "c1", 4, {2: 2})
    check(regs[2]["token"] == TOKEN, "the re-registration carries the token", regs[2])
    ports[2] = regs[2]["port"]
    status, _, body = fetch(ports[2], "GET", "/app/get_list")
    check(status == 200 and body.decode().startswith("500,501,"), "the restarted partition serves its rows", body[:40])

    # cluster_stop: every server stops, results in partition order, the job returns them
    r.send({"type": "cluster_stop", "job": "srv1", "cluster": "c1"})
    ended = r.wait_for(lambda m: m["type"] == "cluster_ended" and m.get("job") == "srv1", "cluster_ended of c1")
    check(ended["error"] == "" and ended["cluster"] == "c1", "a stopped cluster ends without error", ended)
    results = ended["results"]
    check([x["partition"] for x in results] == [0, 1, 2, 3] and all(x["rows"] == 250 for x in results),
          "the results of every partition, in order", results)
    check(results[0]["requests"] == 8 and results[1]["requests"] == 3 and results[2]["requests"] == 1,
          "each result is its instance's (the restarted partition 2 counts from its restart)", results)
    res = finished(r.end_of("srv1"), "the cluster job after the stop")
    check(res == results, "the job's result is the results list", res)
    check(all(port_closed(p) for p in ports), "no server listens after the stop", ports)
    check(len(cluster_msgs(r, "cluster_ended", "srv1")) == 1, "one cluster_ended", cluster_msgs(r, "cluster_ended", "srv1"))
    ex = binary("sjs-examples", jars["examples"], "e" * 64)
    res = finished(r.run_and_wait("get-c1", "sjs.examples.GetObject", ex, {"name": "cluster:c1"}), "GetObject")
    check(res == results, "the results are kept as the named object cluster:c1", res)

    # every server shut down through /control/shutdown: the cluster ends by itself; the default name is the job's id
    base = free_ports(2)
    serve(r, "srv2", jar, {"partitions": 2, "rows": 3, "port": base})
    open_cluster(r, "srv2", "srv2", 2)
    regs = registrations(r, "srv2", "srv2", 2)
    check([g["port"] for g in regs] == [base, base + 1], "with a port, partition i binds port + i", regs)
    try:
        fetch(base, "GET", "/app/crash")
    except (OSError, http.client.HTTPException):
        pass
    regs = registrations(r, "srv2", "srv2", 2, {0: 2})
    check(regs[0]["port"] == base, "a restarted server binds its port again", regs)
    for g in regs:
        status, _, body = fetch(g["port"], "POST", "/control/shutdown")
        check(status == 200 and json.loads(body) == {"status": "STOPPING", "cluster": "srv2", "partition": g["partition"]},
              "/control/shutdown answers STOPPING", body)
    ended = r.wait_for(lambda m: m["type"] == "cluster_ended" and m.get("job") == "srv2", "cluster_ended of srv2")
    check(ended["error"] == "" and [x["rows"] for x in ended["results"]] == [3, 3], "ended by its servers", ended)
    finished(r.end_of("srv2"), "srv2")
    check(all(port_closed(g["port"]) for g in regs), "the ports are free", regs)

    # cancel: the servers are shut down at once, cluster_ended says so, the job is killed
    serve(r, "srv3", jar, {"name": "c3", "partitions": 3})
    open_cluster(r, "srv3", "c3", 3)
    ports = [g["port"] for g in registrations(r, "srv3", "c3", 3)]
    check(fetch(ports[1], "GET", "/control/health")[0] == 200, "c3 serves")
    r.send({"type": "cancel", "job": "srv3"})
    err = failed(r.end_of("srv3"), "killed", "a cancelled cluster job")
    ended = cluster_msgs(r, "cluster_ended", "srv3")
    check(len(ended) == 1 and ended[0]["error"] == "the job was killed" and ended[0].get("killed") is True,
          "cluster_ended for a killed job", ended)
    check(r.messages.index(ended[0]) < r.messages.index(r.end_of("srv3")), "cluster_ended comes before the job's end")
    check(all(port_closed(p) for p in ports), "every port is closed after the kill", ports)

    # sjsd refuses the cluster: the job fails with its message, no server starts
    refusal = 'cluster "c1" is already serving (job 1a2b): stop it (sjs cluster stop c1) or choose another name'
    serve(r, "srv4", jar, {"name": "c1", "partitions": 2})
    open_cluster(r, "srv4", "c1", 2, error=refusal)
    err = failed(r.end_of("srv4"), "error", "a refused cluster")
    check(err["message"] == refusal and err["errorClass"] == "sjs.api.ClusterException", "the refusal fails the job", err)
    check(not cluster_msgs(r, "cluster_register", "srv4") and not cluster_msgs(r, "cluster_ended", "srv4"),
          "nothing registered or ended for a cluster never opened", r.events("srv4"))

    # a partition that keeps failing: restarted up to maxRestarts, then the cluster fails
    serve(r, "srv5", jar, {"name": "c5", "partitions": 2, "maxRestarts": 2, "serverConfig": {"failInit": 1}})
    open_cluster(r, "srv5", "c5", 2)
    err = failed(r.end_of("srv5"), "error", "a cluster past its restarts")
    fails = cluster_msgs(r, "cluster_partition", "srv5")
    check(len(fails) == 3 and all(f["partition"] == 1 and "init failed on purpose" in f["error"] for f in fails),
          "each failure of initPartition is reported", fails)
    ended = cluster_msgs(r, "cluster_ended", "srv5")
    check(len(ended) == 1 and ended[0]["results"] is None and "killed" not in ended[0] and
          ended[0]["error"].startswith('partition 1 of cluster "c5" failed 3 time(s), past its 2 restart(s): '
                                       'initPartition failed: java.lang.IllegalStateException: init failed on purpose'),
          "cluster_ended carries the failure", ended)
    check(err["message"] == ended[0]["error"] and err["errorClass"] == "sjs.api.ClusterException", "the job fails so", err)
    p0 = [g["port"] for g in cluster_msgs(r, "cluster_register", "srv5") if g["partition"] == 0]
    check(p0 and port_closed(p0[0]), "the healthy partition's server is shut down too", p0)

    # bad input and an old daemon: clear errors before anything opens
    serve(r, "srv6", jar, {"partitions": 0})
    err = failed(r.end_of("srv6"), "error", "zero partitions")
    check(err["message"] == "servePartitions needs at least one partition", "zero partitions", err)
    serve(r, "srv7", jar, {"kind": "null"})
    err = failed(r.end_of("srv7"), "error", "partitions that are not a List")
    check("collect an RDD into a List" in err["message"] and "Python API" in err["message"]
          and err["errorClass"] == "java.lang.IllegalArgumentException", "not a List", err)
    serve(r, "srv8", jar, {"name": "-bad"})
    err = failed(r.end_of("srv8"), "error", "a bad name")
    check(err["message"].startswith('bad cluster name "-bad"'), "a bad cluster name", err)
    serve(r, "srv9", jar, {"name": "c9", "plain": True}, token=None)  # the overload without options
    err = failed(r.end_of("srv9"), "error", "no cluster token")
    check(err["message"] == "this sjsd does not coordinate partition servers", "without a token", err)
    check(not any(cluster_msgs(r, "cluster_open", j) for j in ("srv6", "srv7", "srv8", "srv9")),
          "bad input opens nothing")

    # the example, once sjs-examples.jar has been built with it
    with zipfile.ZipFile(jars["examples"]) as z:
        has_example = "sjs/examples/PartitionSearch.class" in z.namelist()
    if has_example:
        r.send({"type": "run", "job": "search", "entry": "sjs.examples.PartitionSearch", "binaries": ex,
                "config": {"host": "127.0.0.1", "bind": "127.0.0.1"}, "context": r.name, "cluster_token": TOKEN})
        open_cluster(r, "search", "search", 4)
        regs = registrations(r, "search", "search", 4)
        status, _, body = fetch(regs[1]["port"], "GET", "/app/get_list")
        check(status == 200 and body.decode() == ",".join(str(i) for i in range(250, 500)), "the example's partition 1",
              body[:40])
        status, _, body = fetch(regs[1]["port"], "GET", "/app/contains?x=300")
        check(status == 200 and json.loads(body) is True, "the example's contains", body)
        status, _, body = fetch(regs[3]["port"], "GET", "/app/contains?x=300")
        check(status == 200 and json.loads(body) is False, "300 is not in partition 3", body)
        r.send({"type": "cluster_stop", "job": "search", "cluster": "search"})
        res = finished(r.end_of("search"), "PartitionSearch")
        check(res == [{"partition": 0, "requests": 0}, {"partition": 1, "requests": 2}, {"partition": 2, "requests": 0},
                      {"partition": 3, "requests": 1}], "the example's results", res)
    else:
        print("    (sjs-examples.jar has no PartitionSearch yet: its checks skipped; build target sjs-examples)")

    wc.check_messages(r)
    r.send({"type": "shutdown"})
    check(r.wait_exit(10) == 0, "shutdown exits 0")
