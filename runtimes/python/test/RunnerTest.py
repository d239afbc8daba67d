#!/usr/bin/env python3
"""Drives the real Python runner over the real worker protocol, without the daemon.

    python3 runtimes/python/test/RunnerTest.py [BUILD_DIR]

Runs the runner from BUILD_DIR/python when that holds sjs_runner.py (the copy the build makes),
else from the source tree. Test jobs, step libraries, zips and a FAKE `pyspark` package (stand-ins
recording setJobGroup, cancelJobGroup, addPyFile, stop) are written into a temp dir. Like the
daemon, the test makes a socketpair, starts `python3 -u sjs_runner.py` with its end as fd 3 and
SJS_WORKER_FD=3, and speaks 4-byte big-endian length + JSON frames (docs/worker-protocol.md).
Exits 0 when every check passes, 1 with a message otherwise.
"""

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile

sys.dont_write_bytecode = True  # keep the source tree clean
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "conformance"))
import worker_conformance as wc  # noqa: E402
from worker_conformance import TestFailure, check, failed, finished  # noqa: E402
import cluster_checks  # noqa: E402 (partition servers: ctx.serve_partitions)

CAPABILITIES = ["named-objects", "cancel", "steps", "clusters"]
cluster_checks.patch_conformance()

# --------------------------------------------------------------------------- test binaries

TESTJOBS = r'''
import collections, dataclasses, logging, sys, threading, time
import sjs

class MyError(Exception):
    pass

def hi(ctx, config):
    return "Hi!"

def fail(ctx, config):
    try:
        int("x")
    except ValueError as e:
        raise ValueError("boom") from e

def custom(ctx, config):
    raise MyError("mine")

def loop(ctx, config):
    while True:           # pure Python: stopped by the asynchronous JobCancelled
        pass

def nap(ctx, config):
    while True:
        ctx.sleep(0.05)

def stubborn(ctx, config):
    try:
        while True:
            ctx.sleep(0.05)
    except sjs.JobCancelled:
        return "returned anyway"

def exit3(ctx, config):
    sys.exit(3)

def probe(ctx, config):
    return {"job": ctx.job_id, "context": ctx.context_name, "deep": config.get("a.b.c"),
            "flat": config["flat.key"], "has": "a.b" in config, "hasnt": "a.x" in config,
            "nested": config["a"]["b"]["c"], "type": type(config).__name__,
            "int": config.get_int("s.num"), "bool": config.get_bool("s.yes"), "default": config.get("nope", 5),
            "same": ctx.config is config, "spark": ctx.spark is None and ctx.sc is None,
            "cancelled": ctx.cancelled}

Point = collections.namedtuple("Point", "x y")

@dataclasses.dataclass
class Pair:
    name: str
    values: list

class Opaque:
    def __str__(self):
        return "<opaque thing>"

class HasToDict:
    def to_dict(self):
        return {"k": (1, 2)}

class FakeArray:
    def tolist(self):
        return [[1, 2], [3, 4]]

def shapes(ctx, config):
    return {"tuple": (1, "a"), "set": {"y", "x"}, "bytes": b"\x00\x01hi", "nan": float("nan"),
            "inf": float("inf"), "point": Point(1, 2), "pair": Pair("r", [1, 2]), "opaque": Opaque(),
            "todict": HasToDict(), "tolist": FakeArray(), 7: "int key", None: "none key",
            "nested": [[1, {2: {3}}]], "unicode": "h\u00e9llo \u2603 \U0001F600", "big": 2 ** 70}

def notjson(ctx, config):
    return Opaque()

def big(ctx, config):
    return "x" * int(config["mb"] * 1024 * 1024)

def printer(ctx, config):
    me = ctx.job_id
    logging.basicConfig()  # a no-op: the runner's root handler is there (no duplicate lines)
    log = logging.getLogger("testjobs")
    for i in range(config["n"]):
        print("%s print %d" % (me, i))
        sys.stderr.write("%s err " % me)
        sys.stderr.write("%d\n" % i)
        log.info("%s logging %d", me, i)
        ctx.log.info("%s ctx %d", me, i)
        time.sleep(0.002)
    print("%s partial" % me, end="")
    return me

CREATED = []

def creator(ctx, config):
    def make():
        CREATED.append(ctx.job_id)
        time.sleep(0.4)
        return {"made by": ctx.job_id}
    value = ctx.objects.get_or_create("shared", make)
    return {"value": value, "creators": len(CREATED)}

def slow_creator(ctx, config):
    def make():
        while config.get("hang"):
            pass
        return "made by " + ctx.job_id
    return ctx.objects.get_or_create("slow", make)

def bad_creator(ctx, config):
    def make():
        time.sleep(0.3)
        raise IOError("creator failed")
    return ctx.objects.get_or_create("bad", make)

def objects(ctx, config):
    op = config["op"]
    if op == "put":
        ctx.objects.put(config["name"], config["value"])
        return ctx.objects.names()
    if op == "get":
        return ctx.objects.get(config["name"], "absent")
    if op == "forget":
        return ctx.objects.forget(config["name"])
    return ctx.objects.list()

def progress(ctx, config):
    for i in range(1, 4):
        ctx.progress(i / 3, "step %d" % i)
    ctx.progress(7)
    try:
        ctx.progress("lots")
    except ValueError:
        ctx.log("refused")
    return "3 steps done"

class Check:
    def validate(self, ctx, config):
        return [] if "input.string" in config else ["missing input.string", "and another"]
    def run(self, ctx, config):
        return config["input.string"].upper()

class Raises:
    def validate(self, ctx, config):
        raise KeyError("k")
    def run(self, ctx, config):
        return 1

class BadCtor:
    def __init__(self):
        raise RuntimeError("no constructing")
    def run(self, ctx, config):
        return 1

class NotAJob:
    pass

def spark_probe(ctx, config):
    sc = ctx.sc
    out = {"spark": type(ctx.spark).__name__, "sc": type(sc).__name__, "group": sc.getLocalProperty("spark.jobGroup.id"),
           "pyfiles": [os.path.basename(p) for p in sc.PYFILES]}
    if config.get("loop"):
        while True:
            pass
    out["cancelled"] = list(sc.CANCELLED)
    return out

import os
'''

BADIMPORT = '''
import json
raise RuntimeError("broken at import")
'''

VERSION = '''
import time
from helperpkg import describe
VERSION = "%s"

def run(ctx, config):
    time.sleep(config.get("wait", 0))
    return {"version": VERSION, "helper": describe(), "module": __name__}

class Job:
    def run(self, ctx, config):
        return VERSION
'''

HELPER = {
    "helperpkg/__init__.py": "from .impl import describe\n",
    "helperpkg/impl.py": "from . import consts\n\ndef describe():\n    return 'helper ' + consts.NAME\n",
    "helperpkg/consts.py": "NAME = 'one'\n",
    "helper-1.0.dist-info/METADATA": "Name: helper\n",
}

PKGZIP = {
    "mypkg/__init__.py": "",
    "mypkg/util.py": "def double(x):\n    return 2 * x\n",
    "mypkg/core.py": textwrap.dedent('''
        from .util import double
        from . import util
        import mypkg.util as again

        def run(ctx, config):
            return [double(21), util.double(1), again.double(2), __name__]

        class Job:
            def validate(self, ctx, config):
                return None
            def run(self, ctx, config):
                raise LookupError("from a zip")
        '''),
    "EGG-INFO/PKG-INFO": "Name: mypkg\n",
}

NO_STEPS_LIB = '''
def helper(ctx, data):
    return data
'''

BAD_STEPS_LIB = '''
from sjs import step
import sjs

@sjs.step("explode")
def explode(ctx, data):
    """Raises."""
    raise ZeroDivisionError("step blew up")

@step()
def first(ctx, data, a, b=2, *rest):
    return [a, b, list(rest)]
'''

SYNTAX_ERROR = "def ok():\n    return 1\n\ndef broken(:\n    pass\n"

FAKE_PYSPARK = {
    "pyspark/__init__.py": textwrap.dedent('''
        """A FAKE pyspark for the runner's test: records what the runner asks of Spark."""
        import threading

        class SparkConf:
            def __init__(self):
                self._conf = {}
            def contains(self, key):
                return key in self._conf

        class FakeRDD:
            """An RDD of `slices` partitions; one from mapPartitionsWithIndex computes on collect()."""
            def __init__(self, items, slices=1, compute=None):
                self._items = None if items is None else list(items)
                self.slices = slices
                self._compute = compute
            @property
            def items(self):
                if self._items is None:
                    self._items = self._compute()
                return self._items
            def getNumPartitions(self):
                return self.slices
            def cache(self):
                return self
            def mapPartitionsWithIndex(self, f):
                """Each partition's task on a thread of its own; a failed task is retried (3 more
                attempts, spark.task.maxFailures=4); the job fails if one fails 4 times."""
                n, items = self.slices, self.items
                parts = [items[i * len(items) // n:(i + 1) * len(items) // n] for i in range(n)]
                def compute():
                    out, errors = [None] * n, [None] * n
                    def task(i):
                        for _attempt in range(4):
                            try:
                                out[i] = list(f(i, iter(parts[i])))
                                errors[i] = None
                                return
                            except Exception as e:
                                errors[i] = e
                    threads = [threading.Thread(target=task, args=(i,), daemon=True) for i in range(n)]
                    for t in threads:
                        t.start()
                    for t in threads:
                        t.join()
                    bad = [e for e in errors if e is not None]
                    if bad:
                        raise RuntimeError("Job aborted due to stage failure: %s" % bad[0])
                    return [x for o in out for x in o]
                return FakeRDD(None, n, compute)
            def flatMap(self, f):
                return FakeRDD(x for i in self.items for x in f(i))
            def map(self, f):
                return FakeRDD(f(i) for i in self.items)
            def filter(self, f):
                return FakeRDD(i for i in self.items if f(i))
            def mapPartitions(self, f):
                return FakeRDD(f(iter(self.items)))
            def collect(self):
                return list(self.items)
            def countByValue(self):
                out = {}
                for i in self.items:
                    out[i] = out.get(i, 0) + 1
                return out

        class SparkContext:
            CANCELLED = []
            PYFILES = []
            GATEWAY = []
            @classmethod
            def _ensure_initialized(cls):
                cls.GATEWAY.append(True)
            def __init__(self, master, app_name):
                self.master = master
                self.appName = app_name
                self.version = "0.0.0-stub"
                self.applicationId = "stub-app-" + app_name
                self._local = threading.local()
            def setJobGroup(self, group_id, description, interruptOnCancel=False):
                self._local.group = group_id
                self._local.interrupt = interruptOnCancel
            def setLocalProperty(self, key, value):
                if key == "spark.jobGroup.id":
                    self._local.group = value
            def getLocalProperty(self, key):
                return getattr(self._local, "group", None) if key == "spark.jobGroup.id" else None
            def cancelJobGroup(self, group_id):
                SparkContext.CANCELLED.append(group_id)
            def addPyFile(self, path):
                SparkContext.PYFILES.append(path)
            def parallelize(self, items, numSlices=1):
                return FakeRDD(items, numSlices)
            def stop(self):
                print("STUB SparkContext stopped")
        '''),
    "pyspark/sql/__init__.py": textwrap.dedent('''
        from pyspark import SparkContext

        class _Builder:
            def __init__(self):
                self._master = None
                self._name = None
            def master(self, m):
                self._master = m
                return self
            def appName(self, n):
                self._name = n
                return self
            def getOrCreate(self):
                return SparkSession(SparkContext(self._master, self._name))

        class SparkSession:
            builder = _Builder()
            def __init__(self, sc):
                self.sparkContext = sc
            def stop(self):
                self.sparkContext.stop()

        class SQLContext:
            def __init__(self, sc, session=None):
                self._sc = sc
                self.sparkSession = session
        '''),
}


def write_files(root, files):
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)


def make_zip(path, files):
    with zipfile.ZipFile(path, "w") as z:
        for rel, text in files.items():
            z.writestr(rel, text)
    return path


def blob(tmp, name, text):
    """A file without extension, like the daemon's blobs/<sha256>."""
    path = os.path.join(tmp, "blob-" + name)
    with open(path, "w") as f:
        f.write(text)
    return path


def binary(name, path, sha, version=1):
    return {"name": name, "version": version, "sha256": sha, "path": path}


# --------------------------------------------------------------------------- the runner process

class Runner(wc.Worker):
    """One runner process (python3 -u sjs_runner.py)."""

    def __init__(self, name, runner_dir, tmp, env=None):
        env = dict(env or {}, PYTHONDONTWRITEBYTECODE="1")
        super().__init__(name, [sys.executable, "-u", os.path.join(runner_dir, "sjs_runner.py")], tmp, env)


def logs_of(r, job):
    return [m["data"] for m in r.events(job, "log")]


# --------------------------------------------------------------------------- the checks

def main_checks(r, b, tmp):
    tj = [b["testjobs"]]
    hello = wc.check_hello(r, runtime="python", capabilities=CAPABILITIES)
    check(hello["pid"] == r.proc.pid, "hello pid", hello)
    check(hello.get("version") == platform.python_version(), "hello version is the interpreter's", hello)
    check("spark" not in hello, "no spark in a python hello", hello)

    # entry forms
    for job, entry in (("e1", "testjobs:hi"), ("e2", "hi"), ("e3", "testjobs.hi")):
        check(finished(r.run_and_wait(job, entry, tj), entry) == "Hi!", "entry " + entry)
    res = finished(r.run_and_wait("e4", "testjobs.Check", tj, {"input": {"string": "ab"}}), "class entry")
    check(res == "AB", "class entry result", res)
    res = finished(r.run_and_wait("e5", "Check", tj, {"input.string": "cd"}), "bare class entry")
    check(res == "CD", "bare class entry result", res)
    types = [m["type"] for m in r.events("e4")]
    check(types == ["started", "finished"], "a class job's events", types)

    # the example word count: function and class forms, log and progress
    wcb = [b["wordcount"]]
    res = finished(r.run_and_wait("wc", "wordcount:run", wcb, {"input": {"string": "a b a"}}), "wordcount")
    check(res == {"a": 2, "b": 1}, "wordcount result", res)
    check(logs_of(r, "wc") == ["counting the words of 5 characters"], "wordcount log", logs_of(r, "wc"))
    prog = [(m["value"], m.get("message")) for m in r.events("wc", "progress")]
    check(prog == [(0.5, "split"), (1.0, "counted")], "wordcount progress", prog)
    res = finished(r.run_and_wait("wc2", "WordCount", wcb, {"input": {"string": "x x"}}), "WordCount class")
    check(res == {"x": 2}, "WordCount class result", res)

    # validation
    err = failed(r.run_and_wait("val", "testjobs.Check", tj), "validation", "Check without input.string")
    check(err["message"] == "VALIDATION FAILED: missing input.string; and another", "validation message", err)
    check(err["stack"] == ["missing input.string", "and another"], "validation stack lists the problems", err)
    check(not r.events("val", "started"), "no started for a job that fails validation", r.events("val"))
    err = failed(r.run_and_wait("val2", "testjobs.Raises", tj), "validation", "validate raising")
    check(err["errorClass"] == "KeyError" and "'k'" in err["message"], "validate raising", err)

    # loading errors: what is missing and what was found instead
    err = failed(r.run_and_wait("l1", "testjobs:rn", tj), "loading", "missing function")
    check(err["message"].startswith('module "testjobs" has no function "rn"; it has: ')
          and "fail, hi, loop, nap" in err["message"] and "Check" not in err["message"]
          and "defaultdict" not in err["message"], "missing function message", err)
    err = failed(r.run_and_wait("l2", "wcx:run", tj), "loading", "missing module")
    check(err["message"] == 'no module "wcx" in binaries testjobs v1 (it has: testjobs)', "missing module message", err)
    err = failed(r.run_and_wait("l3", "testjobs.Nope", tj), "loading", "missing class")
    check(err["message"].startswith('module "testjobs" has no class "Nope"; it has: BadCtor, Check, ')
          and "hi" not in err["message"], "missing class message", err)
    err = failed(r.run_and_wait("l4", "badimport:run", [b["badimport"]]), "loading", "module failing at import")
    check(err["errorClass"] == "RuntimeError" and "broken at import" in err["message"]
          and err["message"].startswith('cannot import module "badimport"'), "import failure message", err)
    check(any('raise RuntimeError("broken at import")' in s for s in err["stack"]), "import failure stack", err)
    err = failed(r.run_and_wait("l5", "testjobs.BadCtor", tj), "loading", "constructor raising")
    check("the constructor of testjobs.BadCtor raised" in err["message"] and err["errorClass"] == "RuntimeError",
          "constructor failure", err)
    err = failed(r.run_and_wait("l6", "testjobs.NotAJob", tj), "loading", "class without run")
    check("has no run(ctx, config)" in err["message"], "not a job", err)
    err = failed(r.run_and_wait("l7", "", tj), "loading", "empty entry")
    check("names no entry" in err["message"], "empty entry message", err)
    missing = binary("gone", os.path.join(tmp, "no-such-blob"), "9" * 64)
    err = failed(r.run_and_wait("l8", "gone:run", [missing]), "loading", "missing blob")
    check("missing" in err["message"], "missing blob message", err)
    err = failed(r.run_and_wait("l9", "run", [b["pkgzip"]]), "loading", "bare entry on a zip")
    check(err["message"].startswith('entry "run" names no module: use package.module:function'),
          "bare entry on a zip", err)
    r.send({"type": "run", "job": "l10", "entry": "x", "binaries": "nope", "config": {}, "context": "c"})
    err = failed(r.end_of("l10"), "loading", "malformed run")
    check(err["message"] == "bad run message: binaries is not an array", "malformed run message", err)

    # exceptions: class, message, traceback without the runner's frames
    err = failed(r.run_and_wait("x1", "testjobs:fail", tj), "error", "fail")
    check(err["errorClass"] == "ValueError" and err["message"] == "boom", "fail error", err)
    check(err["stack"][0].startswith("Traceback") or "invalid literal" in err["stack"][0], "a Python traceback", err)
    check(any('raise ValueError("boom") from e' in s for s in err["stack"]), "the traceback shows the raise", err)
    check(any("direct cause" in s for s in err["stack"]), "the traceback shows the cause", err)
    check(not any("_runner" in s for s in err["stack"]), "no runner frames in a job's traceback", err)
    err = failed(r.run_and_wait("x2", "testjobs:custom", tj), "error", "custom exception")
    check(err["errorClass"] == "testjobs.MyError" and err["message"] == "mine", "custom errorClass", err)

    # sys.exit ends the job, not the interpreter
    err = failed(r.run_and_wait("exit", "testjobs:exit3", tj), "error", "sys.exit")
    check(err["message"] == "the job called sys.exit(3)" and err["errorClass"] == "SystemExit", "sys.exit", err)
    check(finished(r.run_and_wait("after-exit", "hi", tj), "after sys.exit") == "Hi!", "alive after sys.exit")

    # config and context
    cfg = {"a": {"b": {"c": 42}}, "flat.key": "flat", "s": {"num": "42", "yes": "yes"}}
    res = finished(r.run_and_wait("cfg", "testjobs:probe", tj, cfg), "probe")
    want = {"job": "cfg", "context": r.name, "deep": 42, "flat": "flat", "has": True, "hasnt": False, "nested": 42,
            "type": "Config", "int": 42, "bool": True, "default": 5, "same": True, "spark": True, "cancelled": False}
    check(res == want, "config and context", {"got": res, "want": want})

    # results
    res = finished(r.run_and_wait("shapes", "testjobs:shapes", tj), "shapes")
    want = {"tuple": [1, "a"], "set": ["x", "y"], "bytes": "AAFoaQ==", "nan": None, "inf": None,
            "point": {"x": 1, "y": 2}, "pair": {"name": "r", "values": [1, 2]}, "opaque": "<opaque thing>",
            "todict": {"k": [1, 2]}, "tolist": [[1, 2], [3, 4]], "7": "int key", "null": "none key",
            "nested": [[1, {"2": [3]}]], "unicode": "h\u00e9llo \u2603 \U0001F600", "big": 2 ** 70}
    check(res == want, "results", {"got": res, "want": want})
    check(finished(r.run_and_wait("nj", "notjson", tj), "not JSON") == "<opaque thing>", "not-JSON result via str")
    err = failed(r.run_and_wait("big", "big", tj, {"mb": 65}, timeout=120), "error", "65 MiB result")
    check(err["errorClass"] == "sjs.ResultTooLarge", "too-large result errorClass", err)
    check(finished(r.run_and_wait("notbig", "big", tj, {"mb": 1}), "1 MiB") == "x" * (1 << 20), "1 MiB result")

    # progress
    res = finished(r.run_and_wait("prog", "progress", tj), "progress")
    prog = [(round(m["value"], 3), m.get("message")) for m in r.events("prog", "progress")]
    check(prog == [(0.333, "step 1"), (0.667, "step 2"), (1.0, "step 3"), (1.0, None)], "progress events", prog)
    check(logs_of(r, "prog") == ["refused"], "progress refuses a non-number", logs_of(r, "prog"))

    # print, stderr, logging and ctx.log go to the right job's log, under concurrency
    n = 40
    r.run("p1", "printer", tj, {"n": n})
    r.run("p2", "printer", tj, {"n": n})
    for job in ("p1", "p2"):
        check(finished(r.end_of(job), job) == job, job + " result")
        lines = logs_of(r, job)
        other = "p2" if job == "p1" else "p1"
        check(not [x for x in lines if other in x], job + "'s log has none of the other job's lines", lines[:10])
        for kind in ("print", "err", "ctx"):
            got = [x for x in lines if x == "%s %s %s" % (job, kind, x.split()[-1])]
            check(len(got) == n, "%s: %d %s lines, once each" % (job, n, kind), lines[:12])
        logged = [x for x in lines if "logging" in x]
        check(len(logged) == n and logged[0] == "INFO testjobs: %s logging 0" % job,
              job + ": logging records once each, in the job's log", logged[:3])
        check(lines[-1] == job + " partial", "a partial line is flushed at the job's end", lines[-3:])
        types = [m["type"] for m in r.events(job)]
        check(types[-1] == "finished", "log events come before the end", types[-3:])

    # named objects
    res = finished(r.run_and_wait("o1", "objects", tj, {"op": "put", "name": "answer", "value": 42}), "put")
    check(res == ["answer"], "put", res)
    check(finished(r.run_and_wait("o2", "objects", tj, {"op": "get", "name": "answer"}), "get") == 42, "get")
    r.send({"type": "objects", "id": 7})
    m = r.wait_for(lambda m: m["type"] == "objects" and m.get("id") == 7, "objects answer")
    check(m["names"] == ["answer"], "objects lists the names", m)
    for i in range(4):
        r.run("goc%d" % i, "creator", tj)
    results = [finished(r.end_of("goc%d" % i), "get_or_create %d" % i) for i in range(4)]
    check(all(x["creators"] == 1 for x in results), "concurrent get_or_create runs its creator once", results)
    check(len({json.dumps(x["value"]) for x in results}) == 1, "every caller gets the one value", results)
    r.run("bad1", "bad_creator", tj)
    r.run("bad2", "bad_creator", tj)
    for job in ("bad1", "bad2"):
        err = failed(r.end_of(job), "error", "failing creator " + job)
        check(err["message"] == "creator failed" and err["errorClass"] == "OSError", "the creator's exception", err)
    r.run("sc1", "slow_creator", tj, {"hang": True})
    r.wait_for(lambda m: m.get("job") == "sc1" and m["type"] == "started", "started for the hanging creator")
    r.run("sc2", "slow_creator", tj)
    time.sleep(0.3)
    check(not r.events("sc2", "finished"), "a waiter waits for the creator", r.events("sc2"))
    r.send({"type": "cancel", "job": "sc1"})
    failed(r.end_of("sc1"), "killed", "the cancelled creator")
    res = finished(r.end_of("sc2"), "the waiter of a cancelled creator")
    check(res == "made by sc2", "a waiter takes over when the creator's job is cancelled", res)
    res = finished(r.run_and_wait("o3", "objects", tj, {"op": "list"}), "list")
    check(res == ["answer", "shared", "slow"], "a failing creator stores nothing", res)
    check(finished(r.run_and_wait("o4", "objects", tj, {"op": "forget", "name": "answer"}), "forget") is True, "forget")
    check(finished(r.run_and_wait("o5", "objects", tj, {"op": "forget", "name": "answer"}), "forget") is False,
          "forget twice")

    # import namespaces: two versions of one module name, at once; --with; relative imports in a zip
    v1 = [b["ver1"], b["helper"]]
    v2 = [b["ver2"], b["helper"]]
    r.run("v1", "ver:run", v1, {"wait": 0.5})
    r.run("v2", "ver:run", v2, {"wait": 0.5})
    r1 = finished(r.end_of("v1"), "v1")
    r2 = finished(r.end_of("v2"), "v2")
    check(r1 == {"version": "v1", "helper": "helper one", "module": "ver"}, "v1 sees its own module", r1)
    check(r2 == {"version": "v2", "helper": "helper one", "module": "ver"}, "v2 sees its own module", r2)
    check(finished(r.run_and_wait("v1b", "ver.Job", v1), "v1 again") == "v1", "the old version is still served")
    err = failed(r.run_and_wait("v-nowith", "ver:run", [b["ver1"]]), "loading", "without --with")
    check("helperpkg" in err["message"] and err["errorClass"] == "ModuleNotFoundError", "--with is needed", err)
    res = finished(r.run_and_wait("zip", "mypkg.core:run", [b["pkgzip"]]), "zip package")
    check(res == [42, 2, 4, "mypkg.core"], "relative imports in a zip package", res)
    err = failed(r.run_and_wait("zip2", "mypkg.core.Job", [b["pkgzip"]]), "error", "zip class job")
    check(err["errorClass"] == "LookupError" and any("from a zip" in s for s in err["stack"]),
          "traceback lines from inside a zip", err)
    check("mypkg" not in sys.modules, "namespace modules stay out of sys.modules (test process)")

    # cancel: a pure-Python loop (asynchronous JobCancelled), ctx.sleep, a job that returns anyway
    for job, entry in (("k1", "loop"), ("k2", "nap"), ("k3", "stubborn")):
        r.run(job, entry, tj)
        r.wait_for(lambda m, job=job: m.get("job") == job and m["type"] == "started", "started " + job)
        time.sleep(0.1)
        t0 = time.monotonic()
        r.send({"type": "cancel", "job": job})
        err = failed(r.end_of(job), "killed", "cancelled " + entry)
        check(time.monotonic() - t0 < 3, "a cancelled %s job ends promptly" % entry)
    check(finished(r.run_and_wait("after-cancel", "hi", tj), "after cancels") == "Hi!", "alive after cancels")

    # pipelines
    lib = [b["steps"]]
    text = "The cat the Dog the end cat"
    steps = [["load_text"], ["words"], ["map", "lower"], ["filter", 3], ["count_by_value"], ["top", 2]]
    r.send({"type": "run", "job": "pipe", "entry": "", "binaries": lib, "config": {"input": {"string": text}},
            "context": r.name, "steps": steps})
    res = finished(r.end_of("pipe"), "pipeline")
    check(res == [["the", 3], ["cat", 2]], "pipeline result", res)
    prog = [(round(m["value"], 3), m.get("message")) for m in r.events("pipe", "progress")]
    want = [(round(i / 6, 3), "step %d/6: %s" % (i + 1, s[0])) for i, s in enumerate(steps)]
    check(prog == want, "progress before each step", {"got": prog, "want": want})
    bad = [["load_text"], ["wrods"], ["top", 1, 2], "oops", [3], ["filter"]]
    r.send({"type": "run", "job": "pipe-bad", "entry": "", "binaries": lib, "config": {}, "context": r.name,
            "steps": bad})
    err = failed(r.end_of("pipe-bad"), "validation", "pipeline with problems")
    want = ['step 2 ("wrods"): unknown step; the library has: count_by_value, filter, load_text, map, top, words',
            'step 3 ("top"): takes at most 1 argument (n=10), given 2',
            'step 4: must be an array ["name", arg...], not "oops"',
            "step 5: its first element must be the step's name (a string), not 3"]
    check(err["stack"] == want, "every problem, with its step's index", {"got": err["stack"], "want": want})
    check(err["message"].startswith("VALIDATION FAILED: 4 problems in the pipeline: step 2"), "pipeline message", err)
    check(not r.events("pipe-bad", "started"), "nothing runs before the pipeline validates")
    blib = [b["badsteps"]]
    r.send({"type": "run", "job": "pipe-arity", "entry": "", "binaries": blib, "config": {}, "context": r.name,
            "steps": [["first"], ["first", 1, 2, 3, 4], ["explode", 1]]})
    err = failed(r.end_of("pipe-arity"), "validation", "arity problems")
    check(err["stack"] == ['step 1 ("first"): takes at least 1 argument (a, b=2, *rest), given 0',
                           'step 3 ("explode"): takes no arguments, given 1'], "arity messages", err)
    r.send({"type": "run", "job": "pipe-fail", "entry": "", "binaries": blib, "config": {}, "context": r.name,
            "steps": [["first", "x"], ["explode"], ["first", 1]]})
    err = failed(r.end_of("pipe-fail"), "error", "failing step")
    check(err["message"] == "step 2/3 (explode) failed: ZeroDivisionError: step blew up"
          and err["errorClass"] == "ZeroDivisionError" and any("step blew up" in s for s in err["stack"]),
          "a failing step is named with its index", err)
    r.send({"type": "run", "job": "pipe-zip", "entry": "", "binaries": [b["stepzip"]], "config": {},
            "context": r.name, "steps": [["first", 1], ["first", 5, 6, 7]]})
    res = finished(r.end_of("pipe-zip"), "steps in a zip's submodule")
    check(res == [5, 6, [7]], "steps in a zip's submodule are found", res)
    r.send({"type": "run", "job": "pipe-none", "entry": "", "binaries": [b["nosteps"]], "config": {},
            "context": r.name, "steps": [["helper"]]})
    err = failed(r.end_of("pipe-none"), "validation", "library without steps")
    check(err["stack"] == ['binary "nosteps" has no steps: decorate functions with @step (from sjs import step)'],
          "no steps", err)
    r.send({"type": "run", "job": "pipe-malformed", "entry": "", "binaries": lib, "config": {}, "context": r.name,
            "steps": {"not": "a list"}})
    err = failed(r.end_of("pipe-malformed"), "loading", "steps not an array")
    check(err["message"] == "bad run message: steps is not an array", "steps not an array", err)

    # spark-jobserver jobs, unchanged, on a python context (context None)
    egg = [b["egg"]]
    err = failed(r.run_and_wait("sjs1", "wordcount_sjs.WordCountSparkJob", egg), "validation", "SparkJob validate")
    check(err["stack"] == ["config input.strings not found"], "SparkJob problems", err)
    res = finished(r.run_and_wait("sjs2", "wordcount_sjs.WordCountSparkJob", egg,
                                  {"input": {"strings": ["a", "b", "a"]}}), "SparkJob")
    check(res == {"a": 2, "b": 1}, "SparkJob result", res)
    err = failed(r.run_and_wait("sjs3", "wordcount_sjs.FailingSparkJob", egg, {"input.strings": ["a"]}), "error",
                 "FailingSparkJob")
    check(err["message"] == "Deliberate failure" and err["errorClass"] == "ValueError", "FailingSparkJob", err)

    # numeric ids are echoed as sent; every run ended once; every message has the spec's shape
    check(finished(r.run_and_wait(42, "hi", tj), "numeric job id") == "Hi!", "numeric job id")
    ends = {}
    with r.cond:
        for m in r.messages:
            if m["type"] in ("finished", "failed"):
                ends[json.dumps(m["job"])] = ends.get(json.dumps(m["job"]), 0) + 1
    check(all(v == 1 for v in ends.values()), "exactly one finished/failed per run", ends)
    wc.check_messages(r, string_ids=False)

    r.run("last", "nap", tj)
    r.wait_for(lambda m: m.get("job") == "last" and m["type"] == "started", "started for the last job")
    r.send({"type": "shutdown"})
    failed(r.end_of("last"), "killed", "the job running at shutdown")
    check(r.wait_exit(10) == 0, "shutdown exits 0")


def pyspark_checks(r, b):
    tj = [b["testjobs"]]
    hello = wc.check_hello(r, runtime="pyspark", capabilities=CAPABILITIES)
    check(hello.get("spark") == {"version": "0.0.0-stub", "master": "local[*]",
                                 "applicationId": "stub-app-sjs-" + r.name}, "hello spark", hello)
    res = finished(r.run_and_wait("sp1", "spark_probe", tj), "spark probe")
    check(res["spark"] == "SparkSession" and res["sc"] == "SparkContext", "ctx.spark and ctx.sc", res)
    check(res["group"] == "sp1", "the job runs in a Spark job group named by its id", res)
    check(res["pyfiles"] == ["testjobs.py"], "the job's .py is added to Spark under its module name", res)
    r.run("sp2", "spark_probe", tj, {"loop": True})
    r.wait_for(lambda m: m.get("job") == "sp2" and m["type"] == "started", "started for the looping probe")
    r.send({"type": "cancel", "job": "sp2"})
    failed(r.end_of("sp2"), "killed", "cancelled probe")
    res = finished(r.run_and_wait("sp3", "spark_probe", tj), "probe after cancel")
    check(res["cancelled"] == ["sp2"], "cancel cancels the job's Spark job group", res)

    # the example steps on Spark (RDD operations of the fake)
    r.send({"type": "run", "job": "sp-pipe", "entry": "", "binaries": [b["steps"]], "config": {"input.string": "b a b"},
            "context": r.name, "steps": [["load_text"], ["words"], ["count_by_value"], ["top", 1]]})
    check(finished(r.end_of("sp-pipe"), "pipeline on Spark") == [["b", 2]], "pipeline on Spark")

    # spark-jobserver's context argument follows the context factory
    res = finished(r.run_and_wait("sp-sjs", "wordcount_sjs.WordCountSparkJob", [b["egg"]],
                                  {"input": {"strings": ["x", "y", "x"]}}), "SparkJob on pyspark")
    check(res == {"x": 2, "y": 1}, "SparkJob on pyspark", res)
    res = finished(r.run_and_wait("sp-pyf", "spark_probe", tj), "probe pyfiles")
    check(any(p.startswith("wc_sjs-") and p.endswith(".zip") for p in res["pyfiles"]),
          "an egg is added to Spark as a .zip", res)
    r.send({"type": "shutdown"})
    check(r.wait_exit(10) == 0, "pyspark shutdown exits 0")
    wc.check_messages(r)
    with open(r.log_path, "rb") as f:
        check(b"STUB SparkContext stopped" in f.read(), "shutdown stops Spark")


def factory_checks(r, b):
    r.wait_for(lambda m: m["type"] == "hello", "hello")
    egg = [b["ctxprobe"]]
    res = finished(r.run_and_wait("f1", "ctxprobe.Probe", egg), "context probe")
    check(res == "SparkContext", "PythonSparkContextFactory passes a SparkContext", res)
    r.send({"type": "shutdown"})
    check(r.wait_exit(10) == 0, "shutdown exits 0")


CTXPROBE = '''
from sparkjobserver.api import SparkJob

class Probe(SparkJob):
    def validate(self, context, runtime, config):
        return runtime.jobId
    def run_job(self, context, runtime, data):
        assert data == runtime.jobId and runtime.namedObjects.get_names() == []
        return type(context).__name__
'''


def transport_checks(runner_dir, tmp):
    """Without fd 3 the runner says why and exits non-zero; SJS_WORKER_SOCKET is the other transport."""
    runner = os.path.join(runner_dir, "sjs_runner.py")
    env = dict(os.environ, SJS_WORKER_FD="9", SJS_CONTEXT="nofd", PYTHONDONTWRITEBYTECODE="1")
    env.pop("SJS_WORKER_SOCKET", None)
    out = subprocess.run([sys.executable, "-u", runner], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                         text=True, timeout=30)
    check(out.returncode != 0 and "fd 9 (SJS_WORKER_FD) is not open" in out.stderr,
          "a runner without its fd says so and fails", {"rc": out.returncode, "stderr": out.stderr})

    import socket
    import struct
    path = os.path.join(tmp, "worker.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    server.settimeout(wc.TIMEOUT)
    env = dict(os.environ, SJS_WORKER_SOCKET=path, SJS_CONTEXT="bypath", PYTHONDONTWRITEBYTECODE="1")
    env.pop("SJS_WORKER_FD", None)
    proc = subprocess.Popen([sys.executable, "-u", runner], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        conn, _ = server.accept()
        conn.settimeout(wc.TIMEOUT)
        header = conn.recv(4, socket.MSG_WAITALL)
        hello = json.loads(conn.recv(struct.unpack(">I", header)[0], socket.MSG_WAITALL))
        check(hello.get("type") == "hello" and hello.get("runtime") == "python", "hello over SJS_WORKER_SOCKET", hello)
        payload = json.dumps({"type": "shutdown"}).encode()
        conn.sendall(struct.pack(">I", len(payload)) + payload)
        check(proc.wait(15) == 0, "shutdown over SJS_WORKER_SOCKET exits 0")
        conn.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        server.close()


def tools_checks(runner_dir, tmp, b):
    tool = os.path.join(runner_dir, "sjs_tools.py")

    def run_tool(*args):
        out = subprocess.run([sys.executable, "-I", tool] + list(args), capture_output=True, text=True, timeout=30)
        check(out.returncode == 0, "sjs_tools %s exits 0" % args[0], out.stderr)
        lines = out.stdout.splitlines()
        check(len(lines) == 1, "sjs_tools prints one JSON line", out.stdout)
        return json.loads(lines[0])

    bad = blob(tmp, "syntax", SYNTAX_ERROR)
    res = run_tool("check", bad, "broken.py")
    check(res == {"ok": False, "file": "broken.py", "line": 4, "column": 12, "message": "invalid syntax",
                  "text": "def broken(:"} or (res.get("ok") is False and res.get("line") == 4
                                              and res.get("file") == "broken.py" and res.get("text") == "def broken(:"),
          "check reports a syntax error with file, line and text", res)
    check(run_tool("check", b["testjobs"]["path"], "testjobs.py") == {"ok": True}, "check passes a good file")

    res = run_tool("steps", b["steps"]["path"], "py", "textsteps")
    check(res["ok"] is True and [s["name"] for s in res["steps"]] ==
          ["count_by_value", "filter", "load_text", "map", "top", "words"], "steps lists the library's steps", res)
    top = [s for s in res["steps"] if s["name"] == "top"][0]
    check(top == {"name": "top", "function": "top", "module": "textsteps", "params": ["n=10"],
                  "doc": "The n most frequent values of a count_by_value: [[value, count], ...], most frequent first."},
          "a step's listing", top)
    flt = [s for s in res["steps"] if s["name"] == "filter"][0]
    check(flt["function"] == "filter_words" and flt["params"] == ["min_length=1"], "@step(\"name\")", flt)
    res = run_tool("steps", b["badsteps"]["path"], "py", "bad-steps")
    check([(s["name"], s["module"], s["params"]) for s in res["steps"]] ==
          [("explode", "bad_steps", []), ("first", "bad_steps", ["a", "b=2", "*rest"])], "@sjs.step and @step()", res)
    res = run_tool("steps", b["stepzip"]["path"], "wheel", "steplib")
    check([(s["name"], s["module"]) for s in res["steps"]] == [("explode", "lib.more"), ("first", "lib.more")],
          "steps in a wheel", res)
    res = run_tool("steps", b["nosteps"]["path"], "py", "nosteps")
    check(res == {"ok": False, "message": 'binary "nosteps" has no steps: decorate functions with @step '
                                          '(from sjs import step)'}, "a library without steps", res)
    out = subprocess.run([sys.executable, tool, "bogus"], capture_output=True, text=True, timeout=30)
    check(out.returncode == 2, "a usage error exits 2", out.returncode)


# --------------------------------------------------------------------------- main

def flask_present():
    return subprocess.run([sys.executable, "-c", "import flask"], capture_output=True).returncode == 0


def main():
    build = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
    runner_dir = os.path.join(REPO, "runtimes", "python")
    if build and os.path.isfile(os.path.join(build, "python", "sjs_runner.py")):
        runner_dir = os.path.join(build, "python")
    print("runner: " + runner_dir)
    tmp = tempfile.mkdtemp(prefix="sjs-py-runner-test-")
    runners = []
    current = None
    t_all = time.monotonic()
    try:
        examples = os.path.join(REPO, "examples", "python")
        b = {
            "testjobs": binary("testjobs", blob(tmp, "testjobs", TESTJOBS), "1" * 64),
            "badimport": binary("badimport", blob(tmp, "badimport", BADIMPORT), "2" * 64),
            "ver1": binary("ver", blob(tmp, "ver1", VERSION % "v1"), "3" * 64, 1),
            "ver2": binary("ver", blob(tmp, "ver2", VERSION % "v2"), "4" * 64, 2),
            "helper": binary("helper", make_zip(os.path.join(tmp, "blob-helper"), HELPER), "5" * 64),
            "pkgzip": binary("mypkg", make_zip(os.path.join(tmp, "blob-pkgzip"), PKGZIP), "6" * 64),
            "nosteps": binary("nosteps", blob(tmp, "nosteps", NO_STEPS_LIB), "7" * 64),
            "badsteps": binary("bad-steps", blob(tmp, "badsteps", BAD_STEPS_LIB), "8" * 64),
            "ctxprobe": binary("ctxprobe", blob(tmp, "ctxprobe", CTXPROBE), "c" * 64),
            "clusterjobs": binary("clusterjobs", blob(tmp, "clusterjobs", cluster_checks.CLUSTERJOBS), "f" * 64),
            "stepzip": binary("steplib", make_zip(os.path.join(tmp, "blob-stepzip"), {
                "lib/__init__.py": "", "lib/more.py": BAD_STEPS_LIB, "lib-1.0.dist-info/RECORD": ""}), "d" * 64),
        }
        for name, src in (("wordcount", "wordcount.py"), ("steps", "steps.py")):
            dest = os.path.join(tmp, "blob-" + name)
            shutil.copyfile(os.path.join(examples, src), dest)
            b[name] = binary(name if name != "steps" else "textsteps", dest, name[0] * 64)
        dest = os.path.join(tmp, "blob-search")
        shutil.copyfile(os.path.join(examples, "partition_search.py"), dest)
        b["search"] = binary("partition_search", dest, "b" * 64)
        # the spark-jobserver example, zipped into an egg as its README says
        egg = os.path.join(tmp, "wordcount_sjs.egg")
        subprocess.run([sys.executable, "-m", "zipfile", "-c", egg, "wordcount_sjs/"],
                       cwd=os.path.join(examples, "sjs_style"), check=True)
        os.rename(egg, os.path.join(tmp, "blob-egg"))
        b["egg"] = binary("wc-sjs", os.path.join(tmp, "blob-egg"), "e" * 64)
        fake_home = os.path.join(tmp, "fakespark")  # a stand-in SPARK_HOME: python/pyspark/
        fake = os.path.join(fake_home, "python")
        write_files(fake, FAKE_PYSPARK)

        def start(name, env=None):
            w = Runner(name, runner_dir, tmp, env)
            runners.append(w)
            return w

        tj = [b["testjobs"]]
        conformance_jobs = wc.Jobs(ok=wc.JobSpec("testjobs:hi", tj, result="Hi!"), fail=wc.JobSpec("testjobs:fail", tj),
                                   missing=wc.JobSpec("testjobs:nope", tj), sleep=wc.JobSpec("testjobs:loop", tj),
                                   validation=wc.JobSpec("testjobs.Check", tj))
        wc.check_conformance(start, conformance_jobs, runtime="python", capabilities=CAPABILITIES)
        spark_env = {"SJS_SPARK": "1", "PYTHONPATH": fake}
        wc.check_conformance(lambda name: start(name, spark_env), conformance_jobs, runtime="pyspark",
                             capabilities=CAPABILITIES)

        plan = [
            ("main", {}, lambda r: main_checks(r, b, tmp)),
            ("pyspark", spark_env, lambda r: pyspark_checks(r, b)),
            # pyspark found through SPARK_HOME alone (no PYTHONPATH), as when the runner runs under plain Python
            ("sc-factory", {"SJS_SPARK": "1", "SPARK_HOME": fake_home,
                            "SJS_CONTEXT_FACTORY": "spark.jobserver.python.PythonSparkContextFactory"},
             lambda r: factory_checks(r, b)),
            ("clusters", {}, lambda r: cluster_checks.local_checks(r, b["clusterjobs"], b["search"])),
            ("spark-clu", dict(spark_env, SJS_CLUSTER_HOST="127.0.0.1"),
             lambda r: cluster_checks.spark_checks(r, b["clusterjobs"], b["search"])),
        ]
        if flask_present():
            plan.append(("flask", {}, lambda r: cluster_checks.flask_checks(r, b["clusterjobs"])))
        else:
            print("skip flask      (no Flask for %s: apt-get install python3-flask)" % sys.executable)
        for name, env, checks in plan:
            t0 = time.monotonic()
            current = start(name, env)
            checks(current)
            print("ok  %-10s (%.1f s)" % (name, time.monotonic() - t0))
            current = None
        t0 = time.monotonic()
        transport_checks(runner_dir, tmp)
        print("ok  %-10s (%.1f s)" % ("transport", time.monotonic() - t0))
        t0 = time.monotonic()
        tools_checks(runner_dir, tmp, b)
        print("ok  %-10s (%.1f s)" % ("sjs_tools", time.monotonic() - t0))
        print("PASS: the Python runner speaks docs/worker-protocol.md (%.1f s)" % (time.monotonic() - t_all))
        return 0
    except TestFailure as e:
        print("FAIL: %s" % e, file=sys.stderr)
        if current is not None:
            print("---- last lines of the %s runner's log ----\n%s" % (current.name, current.log_tail()), file=sys.stderr)
        return 1
    finally:
        for r in runners:
            r.close()
        if os.environ.get("SJS_KEEP_TEST_DIR"):
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
