"""ctx.serve_partitions: the runner's side of partition servers (docs/partition-servers.md).

The Worker owns one Clusters. It talks to sjsd for every cluster of the runner's jobs: cluster_open /
cluster_opened (matched by id; the reader thread delivers the answer), cluster_register,
cluster_partition, cluster_ended (exactly once per opened cluster), and it obeys cluster_stop and the
cancel of a job. A Cluster is owned by the job thread that called serve_partitions: that thread opens
it, starts its servers, waits for them and reports the end.

Local mode (a list of partitions): one supervisor thread per partition builds the application, runs
a sjs.partitions.PartitionServer, registers it and restarts it after a crash (0.1 s backoff doubling
to 2 s, max_restarts times). Spark mode (an RDD): one Spark task per partition runs
sjs.partitions.SparkTask on an executor; the tasks register through the Relay (relay.py), an HTTP
server of this runner that checks the token and forwards to sjsd.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import urllib.request

import sjs
from sjs import partitions as P

from . import frames, output
from .results import to_json

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")
OPEN_TIMEOUT = 30.0      # seconds to wait for cluster_opened
STOP_GRACE = 10.0        # seconds a stopped server lets requests in flight finish
_WAIT_SLICE = 0.1        # the job thread waits in slices, so a cancel reaches it promptly


class _Refused(Exception):
    """sjsd refused to open the cluster (its reason): nothing to end."""


class Cluster:
    """One opened cluster: its servers (local) or their registered addresses (spark), its results and
    whether it ended. `lock` orders every message about it, so nothing follows cluster_ended."""

    def __init__(self, owner, run, name, partitions, token, spark):
        self.owner = owner
        self.run = run
        self.name = name
        self.partitions = partitions
        self.token = token
        self.spark = spark
        self.lock = threading.Lock()
        self.stopping = threading.Event()   # cluster_stop, a failure or a kill: no more (re)starts
        self.killed = None                  # the reason, when the job was killed or ended
        self.error = None                   # the first failure that ends the cluster
        self.results = [None] * partitions
        self.local = {}                     # partition -> PartitionServer (local mode)
        self.remote = {}                    # partition -> (host, port) registered through the relay
        self.ended = False

    def send(self, message):
        """A message about this cluster to sjsd; dropped once cluster_ended was sent."""
        with self.lock:
            if self.ended:
                return False
            self.owner.worker.send(dict(message, job=self.run.job_ref, cluster=self.name))
            return True

    def end(self, results, error, killed=False):
        """cluster_ended, once; the cluster leaves the runner's table. `killed`: it ended because its job
        was killed (sjsd shows it STOPPED with the reason, not FAILED)."""
        message = {"type": "cluster_ended", "job": self.run.job_ref, "cluster": self.name, "results": results,
                   "error": error or ""}
        if killed:
            message["killed"] = True
        try:
            frame = frames.encode(message)
        except (frames.TooLarge, ValueError, TypeError) as e:
            self.run.log_line("WARNING: cluster %s: its results cannot be sent to sjsd (%s): sjsd keeps none"
                              % (self.name, e))
            frame = frames.encode(dict(message, results=None))
        with self.lock:
            if self.ended:
                return
            self.ended = True
            self.owner.worker.send_frame(frame)
        self.owner.forget(self)

    def registered(self, partition, host, port):
        return self.send({"type": "cluster_register", "partition": partition, "host": host, "port": port,
                          "token": self.token})

    def partition_failed(self, partition, message, trace):
        self.run.log_line("ERROR: partition %d of cluster %s failed: %s" % (partition, self.name, message))
        for line in (trace or "").split("\n"):
            if line:
                self.run.log_line(line)
        self.send({"type": "cluster_partition", "partition": partition, "error": message})

    def stop(self):
        """An orderly stop (cluster_stop, a failure): every server stops after its requests in flight."""
        self.stopping.set()
        with self.lock:
            servers = list(self.local.values())
            remote = list(self.remote.values())
        for s in servers:
            s.request_stop("the cluster is stopping")
        self._shutdown_remote(remote)

    def fail(self, error):
        with self.lock:
            if self.error is None:
                self.error = error
        self.stop()

    def kill(self, reason, killed=False):
        """The job was killed (`killed`) or failed: every server closes now, and cluster_ended says why."""
        with self.lock:
            if self.killed is None:
                self.killed = reason
            servers = list(self.local.values())
            remote = list(self.remote.values())
        self.stopping.set()
        for s in servers:
            s.close(0)
        self._shutdown_remote(remote)
        self.end(None, reason, killed)

    def _shutdown_remote(self, addresses):
        """POST /control/shutdown to servers on executors (sjsd does too; whichever comes first)."""
        def post(host, port):
            try:
                req = urllib.request.Request("http://%s:%d/control/shutdown" % (host, port), data=b"", method="POST")
                urllib.request.urlopen(req, timeout=5).close()
            except Exception:  # noqa: BLE001 (already gone, or sjsd got there first)
                pass
        for host, port in addresses:
            threading.Thread(target=post, args=(host, port), daemon=True).start()


class JobClusters:
    """What a JobContext holds: serve_partitions for one run."""

    def __init__(self, clusters, run):
        self._clusters = clusters
        self._run = run

    def serve(self, ctx, *args, **kwargs):
        return self._clusters.serve(self._run, ctx, *args, **kwargs)


class Clusters:
    """The runner's clusters (see the module's doc). Thread-safe."""

    def __init__(self, worker):
        self.worker = worker
        self._lock = threading.Lock()
        self._next_id = 1
        self._pending = {}     # cluster_open id -> [threading.Event, error text]
        self._open = {}        # name -> Cluster
        self._ended = set()    # names of clusters that ended in this runner (the relay answers 410)
        self._relay = None

    def for_run(self, run):
        return JobClusters(self, run)

    def lookup(self, name):
        """(the open Cluster or None, whether a cluster of that name ended here)."""
        with self._lock:
            return self._open.get(name), name in self._ended

    def forget(self, cluster):
        with self._lock:
            if self._open.get(cluster.name) is cluster:
                del self._open[cluster.name]
            self._ended.add(cluster.name)

    # ------------------------------------------------------------------ from the reader thread

    def opened(self, m):
        i = m.get("id")
        with self._lock:
            waiter = self._pending.get(i) if isinstance(i, int) and not isinstance(i, bool) else None
        if waiter is None:
            output.runner_log("cluster_opened for no pending cluster_open (id %r): ignored" % (i,))
            return
        waiter[1] = str(m.get("error") or "")
        waiter[0].set()

    def stop_message(self, m):
        name = m.get("cluster")
        c, _ = self.lookup(name) if isinstance(name, str) else (None, False)
        if c is None or (m.get("job") is not None and str(m.get("job")) != c.run.job_id):
            output.runner_log("cluster_stop for %r (job %r): no such cluster serving here" % (name, m.get("job")))
            return
        c.run.log_line("cluster %s: stopping (sjs cluster stop)" % c.name)
        c.stop()

    def cancel_job(self, job_id, reason="the job was killed"):
        """Before the job's thread is interrupted: close every server of the job's clusters at once."""
        with self._lock:
            mine = [c for c in self._open.values() if c.run.job_id == job_id]
        for c in mine:
            c.kill(reason, killed=True)

    def shutdown(self):
        if self._relay is not None:
            self._relay.close()

    # ------------------------------------------------------------------ on the job's thread

    def _open_cluster(self, c):
        """cluster_open, then its answer: sjsd's refusal ("" when opened). Raises when the job gives up
        (cancelled, no answer within OPEN_TIMEOUT); the caller then ends the cluster, in case sjsd
        opened it meanwhile."""
        with self._lock:
            i = self._next_id
            self._next_id += 1
            waiter = self._pending[i] = [threading.Event(), None]
        try:
            self.worker.send({"type": "cluster_open", "id": i, "job": c.run.job_ref, "cluster": c.name,
                              "partitions": c.partitions})
            deadline = time.monotonic() + OPEN_TIMEOUT
            while not waiter[0].wait(_WAIT_SLICE):
                if c.run.cancel_event.is_set():
                    raise sjs.JobCancelled("job %s was cancelled" % c.run.job_id)
                if time.monotonic() >= deadline:
                    raise sjs.ClusterError("sjsd did not answer cluster_open for cluster %s within %d s"
                                           % (c.name, OPEN_TIMEOUT))
        finally:
            with self._lock:
                self._pending.pop(i, None)
        return waiter[1]

    def serve(self, run, ctx, data, server, name=None, config=None, *, host=None, port=0, bind="", max_restarts=3,
              init_partition=None):
        # everything that can be checked is, before anything starts
        P.check_server(server)
        if init_partition is not None and not P.is_blueprint(server):
            raise TypeError("init_partition= is for a Flask blueprint; server class %s defines its own "
                            "init_partition(self, rows, config) method" % getattr(server, "__name__", server))
        if init_partition is not None and not callable(init_partition):
            raise TypeError("init_partition must be callable: init_partition(rows, app, config)")
        name = ctx.job_id if name is None else name
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError("cluster name %r is not valid: 1-64 characters of A-Z a-z 0-9 . _ -, not starting "
                             "with . or -" % (name,))
        if config is None:
            config = {}
        if isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < 0:
            raise ValueError("max_restarts must be an integer >= 0, not %r" % (max_restarts,))
        spark = callable(getattr(data, "mapPartitionsWithIndex", None))
        if spark:
            count = int(data.getNumPartitions())
        else:
            parts = [list(p) for p in data]
            count = len(parts)
        if count == 0:
            raise ValueError("serve_partitions needs at least one partition")
        if isinstance(port, bool) or not isinstance(port, int) or port < 0 or (port and port + count - 1 > 65535):
            raise ValueError("port must be 0 (any free port) or N with N + partitions - 1 <= 65535 (partition i "
                             "binds N + i), not %r" % (port,))
        token = getattr(run, "cluster_token", "") or ""
        if not token:
            raise sjs.ClusterError("this sjsd does not coordinate partition servers")
        c = Cluster(self, run, name, count, token, spark)
        with self._lock:
            busy = self._open.get(name)
            if busy is None:
                self._open[name] = c  # from here on a cancel of the job ends it
        if busy is not None:
            raise sjs.ClusterError('cluster "%s" is already serving (job %s): stop it (sjs cluster stop %s) or '
                                   'choose another name' % (name, busy.run.job_id, name))
        try:
            refusal = self._open_cluster(c)
            if refusal:
                with self._lock:
                    if self._open.get(name) is c:
                        del self._open[name]  # never opened: no cluster_ended
                raise _Refused(refusal)
            run.log_line("cluster %s: %d partition server(s) starting (%s mode)" % (name, count,
                                                                                    "spark" if spark else "local"))
            if spark:
                return self._serve_spark(c, ctx, data, server, config, host, bind, port, init_partition)
            return self._serve_local(c, ctx, parts, server, config, host, bind, port, max_restarts, init_partition)
        except _Refused as e:
            raise sjs.ClusterError(str(e)) from None
        except BaseException as e:  # noqa: BLE001 (cluster_ended is sent whatever happens)
            if run.cancel_event.is_set() or isinstance(e, sjs.JobCancelled):
                c.kill("the job was killed", killed=True)
            else:
                c.kill(c.error or "serve_partitions failed: %s" % P.describe(e))
            raise

    # ------------------------------------------------------------------ local mode

    def _serve_local(self, c, ctx, parts, server, config, host, bind, port, max_restarts, init_partition):
        host = host or _default_host()
        threads = []
        for i, rows in enumerate(parts):
            t = threading.Thread(target=self._supervise, name="sjs-cluster-%s-%d" % (c.name, i), daemon=True,
                                 args=(c, i, rows, server, config, host, bind, port + i if port else 0, max_restarts,
                                       init_partition))
            threads.append(t)
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(_WAIT_SLICE)
        if c.killed is not None:
            raise sjs.JobCancelled("job %s was cancelled" % c.run.job_id)
        if c.error is not None:
            c.end(None, c.error)
            raise sjs.ClusterError(c.error)
        results = list(c.results)
        ctx.objects.put("cluster:" + c.name, results)
        c.end(to_json(results), "")
        c.run.log_line("cluster %s: stopped, %d result(s)" % (c.name, len(results)))
        return results

    def _supervise(self, c, i, rows, server, config, host, bind, port, max_restarts, init_partition):
        """Partition i's life in local mode: build, serve, register; after a crash report, back off and
        start again; after an orderly stop take its result."""
        failures, backoff = 0, 0.1
        while not c.stopping.is_set():
            httpd = None
            try:
                app, instance, mounted = P.build_app(server, c.name, i, rows, config, init_partition)
                httpd = P.PartitionServer(bind, port, app, mounted, c.name, i, host, log=c.run.log_line)
            except BaseException as e:  # noqa: BLE001
                crash = e
            else:
                with c.lock:
                    gone = c.stopping.is_set()
                    if not gone:
                        c.local[i] = httpd
                if gone:
                    httpd.close(0)
                    return
                httpd.start()
                c.registered(i, host, httpd.port)
                httpd.wait()
                httpd.close(0 if c.killed else STOP_GRACE)
                with c.lock:
                    if c.local.get(i) is httpd:
                        del c.local[i]
                if httpd.crashed is None:
                    if c.killed is None:
                        try:
                            c.results[i] = P.take_result(instance)
                        except BaseException as e:  # noqa: BLE001
                            message, trace = P.error_text(e)
                            c.partition_failed(i, "result() raised " + message, trace)
                            c.fail("result() of partition %d of cluster %s raised %s" % (i, c.name, message))
                    return
                crash = httpd.crashed
            failures += 1
            message, trace = P.error_text(crash)
            if c.stopping.is_set() and httpd is not None:
                return  # a crash while stopping: nothing to restart
            c.partition_failed(i, message, trace)
            if failures > max_restarts:
                c.fail("partition %d of cluster %s failed %d time(s), more than max_restarts=%d; last: %s"
                       % (i, c.name, failures, max_restarts, message))
                return
            c.run.log_line("cluster %s: restarting partition %d in %.1f s (restart %d of %d)"
                           % (c.name, i, backoff, failures, max_restarts))
            if c.stopping.wait(backoff):
                return
            backoff = min(2.0, backoff * 2)

    # ------------------------------------------------------------------ spark mode

    def relay(self):
        from .relay import Relay
        with self._lock:
            if self._relay is None:
                self._relay = Relay(self, _relay_host(self.worker.spark))
            return self._relay

    def _serve_spark(self, c, ctx, rdd, server, config, host, bind, port, init_partition):
        relay = self.relay()
        self.worker.spark.add_sjs_package()
        c.run.log_line("cluster %s: %d Spark task(s); partition servers register through the relay at %s"
                       % (c.name, c.partitions, relay.url))
        task = P.SparkTask(server, c.name, config, relay.url, c.token, host, bind, port, init_partition)
        results_rdd = rdd.mapPartitionsWithIndex(task).cache()
        try:
            values = results_rdd.collect()
        except BaseException as e:  # noqa: BLE001
            if c.killed is not None or c.run.cancel_event.is_set():
                raise
            error = c.error or "the Spark job of cluster %s failed: %s" % (c.name, P.describe(e))
            c.end(None, error)
            raise sjs.ClusterError(error) from e
        if c.killed is not None:
            raise sjs.JobCancelled("job %s was cancelled" % c.run.job_id)
        results = list(values)
        ctx.objects.put("cluster:" + c.name, results_rdd)
        c.end(to_json(results), "")
        c.run.log_line("cluster %s: stopped, %d result(s)" % (c.name, len(results)))
        return results


def _default_host():
    import os
    return os.environ.get("SJS_CLUSTER_HOST") or socket.gethostname()


def _relay_host(spark):
    """The host executors reach the relay at: spark.driver.host, else SJS_CLUSTER_HOST or the hostname."""
    sc = spark.sc
    try:
        h = sc.getConf().get("spark.driver.host") if sc is not None and hasattr(sc, "getConf") else None
    except Exception:  # noqa: BLE001
        h = None
    return h or _default_host()

