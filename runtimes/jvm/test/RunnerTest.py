#!/usr/bin/env python3
"""Drives the real JVM runner over the real worker protocol, without the daemon.

    python3 runtimes/jvm/test/RunnerTest.py <build dir>

The build dir holds sjs-runner.jar, sjs-api.jar and sjs-examples.jar. A few extra jobs, two
versions of one class and stand-ins for Spark's classes are compiled into a temp dir with
javac/jar. Like the daemon, the test makes a socketpair, starts `java ... sjs.runner.Main`
with its end as fd 3 and SJS_WORKER_FD=3, and speaks 4-byte big-endian length + JSON frames
(docs/worker-protocol.md). Exits 0 when every check passes, 1 with a message otherwise.
"""

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zipfile

# The runner-independent checks every worker passes live in tests/conformance; this file adds the
# JVM runner's own (class loading, results, Spark, ...).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests", "conformance"))
import worker_conformance as wc  # noqa: E402
from worker_conformance import TestFailure, check, failed, finished  # noqa: E402,F401
from ClusterChecks import CLUSTER_JOBS, cluster_checks  # noqa: E402  (partition servers; teaches wc "clusters")

TIMEOUT = wc.TIMEOUT
CAPABILITIES = ["named-objects", "cancel", "steps", "clusters"]


# --------------------------------------------------------------------------- the runner process

class Runner(wc.Worker):
    """One runner JVM (java ... sjs.runner.Main), its socket and a thread collecting everything it sends."""

    def __init__(self, name, classpath, tmp, env=None, jvm_args=(), add_opens=True):
        opens = ["--add-opens", "java.base/java.io=ALL-UNNAMED"] if add_opens else []
        argv = ["java", *opens, *jvm_args, "-cp", os.pathsep.join(classpath), "sjs.runner.Main"]
        super().__init__(name, argv, tmp, env)


# --------------------------------------------------------------------------- extra jars

TEST_JOBS = {
    "sjs/test/NotAJob.java": """
package sjs.test;
public class NotAJob { public Object run() { return 1; } }
""",
    "sjs/test/Shapes.java": """
package sjs.test;
import java.util.*;
import sjs.api.*;
public class Shapes implements Job {
  public enum Colour { RED, GREEN }
  public static class Point {
    public int getX() { return 1; }
    public String getLabel() { return "p"; }
    public boolean isVisible() { return true; }
    public Point getSelf() { return this; }           // a cycle: must not recurse forever
    public String getBroken() { throw new IllegalStateException("no"); }
  }
  public Object run(JobContext ctx, Config config) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("ints", new int[] {1, 2, 3});
    m.put("doubles", new double[] {0.5, Double.NaN});
    m.put("strings", new String[] {"a", null});
    m.put("nested", Arrays.asList(Arrays.asList(1, 2), Collections.singletonMap(7, "seven")));
    m.put("set", new TreeSet<>(Arrays.asList("y", "x")));
    m.put("present", Optional.of("here"));
    m.put("absent", Optional.empty());
    m.put("colour", Colour.GREEN);
    m.put("char", 'c');
    m.put("big", Long.MAX_VALUE);
    m.put("builder", new StringBuilder("sb"));
    m.put("uuid", new UUID(0, 1));
    m.put("point", new Point());
    m.put("unicode", "h\\u00e9llo \\u2603 \\ud83d\\ude00 \\"q\\" \\n");
    return m;
  }
}
""",
    "sjs/test/ConfigProbe.java": """
package sjs.test;
import java.util.*;
import sjs.api.*;
public class ConfigProbe implements Job {
  public Object run(JobContext ctx, Config c) {
    if (c.hasPath("missing")) return c.getString("no.such.key");
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("long", c.getLong("s.num"));
    m.put("int", c.getInt("s.dbl"));
    m.put("bool", c.getBoolean("s.bool"));
    m.put("yes", c.getBoolean("s.yes"));
    m.put("string", c.getString("n"));
    m.put("double", c.getDouble("s.num"));
    m.put("default", c.getInt("nope", 5));
    m.put("flat", c.getString("flat.key"));
    m.put("list", c.getList("l"));
    m.put("sub", c.getConfig("s").keys());
    m.put("hasNull", c.hasPath("z"));
    try { c.toMap().put("x", 1); m.put("immutable", false); } catch (UnsupportedOperationException e) { m.put("immutable", true); }
    m.put("sameConfig", ctx.config().equals(c));
    m.put("context", ctx.contextName());
    m.put("jobId", ctx.jobId());
    return m;
  }
}
""",
    "sjs/test/Big.java": """
package sjs.test;
import java.util.*;
import sjs.api.*;
public class Big implements Job {
  public Object run(JobContext ctx, Config config) {
    char[] c = new char[(int) (config.getDouble("mb") * 1024 * 1024)];
    Arrays.fill(c, 'x');
    return new String(c);
  }
}
""",
    "sjs/test/BadCreator.java": """
package sjs.test;
import sjs.api.*;
public class BadCreator implements Job {
  public Object run(JobContext ctx, Config config) throws Exception {
    return ctx.namedObjects().getOrCreate("bad", () -> { Thread.sleep(300); throw new java.io.IOException("creator failed"); }, 10000);
  }
}
""",
    "sjs/test/Stubborn.java": """
package sjs.test;
import sjs.api.*;
// ignores interrupts until cancelled, then returns normally: still "killed"
public class Stubborn implements Job {
  public Object run(JobContext ctx, Config config) {
    while (!ctx.isCancelled()) { Thread.interrupted(); Thread.yield(); }
    return "returned anyway";
  }
}
""",
    "sjs/test/SparkProbe.java": """
package sjs.test;
import java.util.*;
import sjs.api.*;
// reaches Spark only by reflection, so it compiles without Spark and runs against the stubs or the real thing
public class SparkProbe implements Job {
  public Object run(JobContext ctx, Config config) throws Exception {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("hasSpark", ctx.hasSpark());
    Object sc = ctx.spark("org.apache.spark.SparkContext");
    m.put("sc", sc.getClass().getName());
    m.put("group", sc.getClass().getMethod("getLocalProperty", String.class).invoke(sc, "spark.jobGroup.id"));
    Class<?> jscClass = Class.forName("org.apache.spark.api.java.JavaSparkContext");
    Object jsc = ctx.spark(jscClass);
    m.put("jsc", jsc.getClass().getName());
    m.put("jscWraps", jsc.getClass().getMethod("sc").invoke(jsc) == sc);
    m.put("sameJsc", ctx.spark(jscClass) == jsc);
    try {
      Object session = ctx.spark("org.apache.spark.sql.SparkSession");
      m.put("sessionConf", session.getClass().getMethod("stubConf").invoke(session));
    } catch (IllegalStateException e) {
      m.put("session", e.getMessage());
    }
    try { ctx.spark(String.class); } catch (IllegalArgumentException e) { m.put("wrongType", "refused"); }
    if (config.hasPath("sleep")) { while (true) { Thread.sleep(50); } }
    m.put("cancelledGroups", sc.getClass().getField("CANCELLED").get(null));
    m.put("jars", sc.getClass().getField("JARS").get(null));
    return m;
  }
}
""",
}

# A step library (compiled without -parameters: StepList shows "long arg2"). Poison's static
# initialiser must not run while the library is scanned (by the runner or by StepList), only when
# one of its steps is called. Broken extends a class of the "stepdep" jar, which is not in the
# library: without that jar on the class path it is skipped; with it (a --with binary) its step
# works, while stepdep's own @Step is not a step of the library (only binaries[0] is scanned).
STEP_LIB = {
    "sjs/test/steps/Lib.java": """
package sjs.test.steps;
import java.util.*;
import sjs.api.*;
public class Lib {
  @Step(doc = "The numbers from 1 to n.\\nNot this line.")
  public static List<Long> range(JobContext ctx, Object data, long n) {
    List<Long> out = new LinkedList<>();
    for (long i = 1; i <= n; i++) out.add(i);
    return out;
  }
  @Step(value = "scale", doc = "Multiplies every number.")
  public static List<Double> times(JobContext ctx, Object data, double factor) {
    List<Double> out = new ArrayList<>();
    for (Object o : (List<?>) data) out.add(((Number) o).doubleValue() * factor);
    return out;
  }
  @Step
  public static double sum(JobContext ctx, Object data) {
    double s = 0;
    for (Object o : (Iterable<?>) data) s += ((Number) o).doubleValue();
    return s;
  }
  @Step(doc = "The Java class of data.")
  public static String kind(JobContext ctx, Object data) { return data == null ? null : data.getClass().getName(); }
  @Step
  public static Map<String, Object> echo(JobContext ctx, Object data, String s, int i, Long l, double d, Boolean b,
                                         List<Object> list, Map<String, Object> map, Object any) {
    Map<String, Object> m = new LinkedHashMap<>();
    Object[] all = {s, i, l, d, b, list, map, any};
    String[] names = {"s", "i", "l", "d", "b", "list", "map", "any"};
    for (int k = 0; k < all.length; k++) {
      m.put(names[k], all[k]);
      m.put(names[k] + "Class", all[k] == null ? null : all[k].getClass().getSimpleName());
    }
    return m;
  }
  @Step
  public static String conf(JobContext ctx, Object data) { return ctx.config().getString("who") + "@" + ctx.jobId(); }
  @Step
  public static Object boom(JobContext ctx, Object data, String why) { throw new IllegalStateException(why); }
  @Step
  public static Object sleep(JobContext ctx, Object data) throws InterruptedException { Thread.sleep(30000); return "woke"; }
  @Step
  public static int size(JobContext ctx, List<?> data) { return data.size(); }
  @Step
  public static String initRan(JobContext ctx, Object data) { return System.getProperty("sjs.test.poison"); }
  @Step
  public static Object sparkGroup(JobContext ctx, Object data) throws Exception {
    Object sc = ctx.spark("org.apache.spark.SparkContext");
    return sc.getClass().getMethod("getLocalProperty", String.class).invoke(sc, "spark.jobGroup.id");
  }
  @Step
  public Object notStatic(JobContext ctx, Object data) { return null; }
  @Step
  public static Object badType(JobContext ctx, Object data, java.io.File f) { return null; }
  public static Object notAStep(JobContext ctx, Object data) { return null; }
}
class Hidden {
  @Step("hidden")
  public static String h(JobContext ctx, Object data) { return "hidden:" + data; }
}
""",
    "sjs/test/steps/Poison.java": """
package sjs.test.steps;
import sjs.api.*;
public class Poison {
  static { System.out.println("POISON INIT"); System.setProperty("sjs.test.poison", "ran"); }
  @Step(doc = "Runs the static initialiser.")
  public static String poison(JobContext ctx, Object data) { return "poison"; }
}
""",
    "sjs/test/steps/Broken.java": """
package sjs.test.steps;
import sjs.api.*;
public class Broken extends sjs.test.dep.Base {
  @Step
  public static String broken(JobContext ctx, Object data) { return "with its dependency"; }
}
""",
}

STEP_DEP = {
    "sjs/test/dep/Base.java": """
package sjs.test.dep;
import sjs.api.*;
public class Base {
  @Step
  public static String depStep(JobContext ctx, Object data) { return "not a library step"; }
}
""",
}

DUP_STEPS = {
    "sjs/test/dup/A.java": """
package sjs.test.dup;
import sjs.api.*;
public class A { @Step("same") public static int one(JobContext ctx, Object data) { return 1; } }
""",
    "sjs/test/dup/B.java": """
package sjs.test.dup;
import sjs.api.*;
public class B { @Step public static int same(JobContext ctx, Object data) { return 2; } }
""",
}

VERSION_JOB = """
package sjs.test;
import sjs.api.*;
public class Version implements Job {
  public Object run(JobContext ctx, Config config) { return "%s"; }
}
"""

RECORD_JOB = """
package sjs.test;
import java.util.*;
import sjs.api.*;
public class RecordJob implements Job {
  record Pair(String name, List<Integer> values) {}
  public Object run(JobContext ctx, Config config) { return new Pair("r", List.of(1, 2)); }
}
"""

SPARK_STUBS = {
    "org/apache/spark/SparkConf.java": """
package org.apache.spark;
import java.util.*;
public class SparkConf {
  final Map<String, String> settings = new TreeMap<>();
  public SparkConf() {
    for (String k : System.getProperties().stringPropertyNames())
      if (k.startsWith("spark.")) settings.put(k, System.getProperty(k));
  }
  public SparkConf setMaster(String m) { settings.put("spark.master", m); return this; }
  public SparkConf setAppName(String n) { settings.put("spark.app.name", n); return this; }
  public SparkConf set(String k, String v) { settings.put(k, v); return this; }
}
""",
    "org/apache/spark/SparkContext.java": """
package org.apache.spark;
import java.util.*;
// a stand-in with the methods of the real SparkContext that the runner calls
public class SparkContext {
  public static final List<String> CANCELLED = Collections.synchronizedList(new ArrayList<>());
  public static final List<String> JARS = Collections.synchronizedList(new ArrayList<>());
  private final SparkConf conf;
  private final InheritableThreadLocal<Properties> local = new InheritableThreadLocal<Properties>() {
    protected Properties initialValue() { return new Properties(); }
  };
  public SparkContext(SparkConf conf) { this.conf = conf; }
  public String version() { return "0.0.0-stub"; }
  public String master() { return conf.settings.get("spark.master"); }
  public String applicationId() { return "stub-app-" + conf.settings.get("spark.app.name"); }
  public void setJobGroup(String id, String description, boolean interruptOnCancel) {
    local.get().setProperty("spark.jobGroup.id", id);
    local.get().setProperty("spark.job.description", description);
  }
  public void clearJobGroup() { local.get().remove("spark.jobGroup.id"); }
  public String getLocalProperty(String key) { return local.get().getProperty(key); }
  public void cancelJobGroup(String id) { CANCELLED.add(id); }
  public void addJar(String path) { JARS.add(path); }
  public void stop() { System.out.println("STUB SparkContext stopped"); }
}
""",
    "org/apache/spark/api/java/JavaSparkContext.java": """
package org.apache.spark.api.java;
import org.apache.spark.SparkContext;
public class JavaSparkContext {
  private final SparkContext sc;
  public JavaSparkContext(SparkContext sc) { this.sc = sc; }
  public SparkContext sc() { return sc; }
}
""",
}

SPARK_SQL_STUB = {
    "org/apache/spark/sql/SparkSession.java": """
package org.apache.spark.sql;
import java.util.*;
import org.apache.spark.*;
public class SparkSession {
  private final SparkContext sc;
  private final Map<String, String> conf;
  SparkSession(SparkContext sc, Map<String, String> conf) { this.sc = sc; this.conf = conf; }
  public static Builder builder() { return new Builder(); }
  public SparkContext sparkContext() { return sc; }
  public Map<String, String> stubConf() { return conf; }
  public static class Builder {
    private final Map<String, String> conf = new TreeMap<>();
    public Builder config(String k, String v) { conf.put(k, v); return this; }
    public Builder master(String m) { conf.put("spark.master", m); return this; }
    public Builder appName(String n) { conf.put("spark.app.name", n); return this; }
    public SparkSession getOrCreate() {
      SparkConf c = new SparkConf();
      for (Map.Entry<String, String> e : conf.entrySet()) c.set(e.getKey(), e.getValue());
      return new SparkSession(new SparkContext(c), conf);
    }
  }
}
""",
}


def javac_release():
    out = subprocess.run(["javac", "-version"], capture_output=True, text=True)
    text = (out.stdout + out.stderr).strip().split()[-1]
    major = text.split(".")[0]
    if major == "1":
        major = text.split(".")[1]
    return int(major)


def compile_jar(tmp, name, sources, classpath=(), release="8"):
    """Writes sources ({relative path: text}) under tmp/name-src, compiles, jars into tmp/name.jar."""
    src = os.path.join(tmp, name + "-src")
    classes = os.path.join(tmp, name + "-classes")
    os.makedirs(classes, exist_ok=True)
    files = []
    for rel, text in sources.items():
        path = os.path.join(src, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        files.append(path)
    cmd = ["javac", "-nowarn", "-Xlint:-options", "-d", classes]
    if release:
        cmd += ["--release", release]
    if classpath:
        cmd += ["-cp", os.pathsep.join(classpath)]
    r = subprocess.run(cmd + files, capture_output=True, text=True)
    if r.returncode != 0:
        raise TestFailure("javac failed for %s:\n%s" % (name, r.stderr))
    jar = os.path.join(tmp, name + ".jar")
    r = subprocess.run(["jar", "cf", jar, "-C", classes, "."], capture_output=True, text=True)
    if r.returncode != 0:
        raise TestFailure("jar failed for %s:\n%s" % (name, r.stderr))
    return jar


def binary(name, path, sha):
    return [{"name": name, "version": "1", "sha256": sha, "path": path}]


# --------------------------------------------------------------------------- the checks

def main_runner_checks(r, jars):
    ex = binary("sjs-examples", jars["examples"], "e" * 64)
    tj = binary("testjobs", jars["tests"], "t" * 64)

    hello = r.wait_for(lambda m: m["type"] == "hello", "hello")
    check(r.messages[0] is hello, "hello must be the first message", r.messages[:2])
    check(hello.get("protocol") == 1 and hello.get("runtime") == "jvm", "hello protocol/runtime", hello)
    check(hello.get("pid") == r.proc.pid, "hello pid is the JVM's pid " + str(r.proc.pid), hello)
    check(set(hello.get("capabilities", [])) >= {"named-objects", "cancel"}, "hello capabilities", hello)
    check(isinstance(hello.get("version"), str) and hello["version"], "hello version", hello)
    check("spark" not in hello, "no spark in a jvm hello", hello)
    # the version the daemon speaks (read from the C++ header), and exactly the runner's capabilities
    wc.check_hello(r, runtime="jvm", capabilities=CAPABILITIES)

    res = finished(r.run_and_wait("wc", "sjs.examples.WordCount", ex, {"input": {"string": "a b a"}}), "WordCount")
    check(res == {"a": 2, "b": 1}, "WordCount result", res)
    kinds = [m["type"] for m in r.events("wc")]
    check(kinds == ["started", "finished"], "WordCount events are started, finished", kinds)

    res = finished(r.run_and_wait("dbl", "sjs.examples.DoubleIt", ex), "DoubleIt")
    check(res == [2, 4, 6], "DoubleIt default result", res)
    res = finished(r.run_and_wait("dbl2", "sjs.examples.DoubleIt", ex, {"input": {"data": [1.5, 10]}}), "DoubleIt data")
    check(res == [3.0, 20], "DoubleIt [1.5, 10]", res)

    res = finished(r.run_and_wait("hi", "sjs.examples.HelloWorld", ex), "HelloWorld")
    check(res == "Hi!", "HelloWorld result", res)

    m = r.run_and_wait("val", "sjs.examples.WordCount", ex, {"input": {}})
    err = failed(m, "validation", "WordCount without input.string")
    check(err["message"] == "VALIDATION FAILED: missing input.string", "validation message", err)
    check(err["stack"] == ["missing input.string"], "validation stack lists the problems", err)
    check(not r.events("val", "started"), "no started for a job that fails validation", r.events("val"))

    err = failed(r.run_and_wait("fail", "sjs.examples.Fail", ex), "error", "Fail")
    check(err["errorClass"] == "java.lang.IllegalStateException", "Fail errorClass", err)
    check(err["message"] == "boom", "Fail message", err)
    check(any(s.startswith("at sjs.examples.Fail.run(") for s in err["stack"]), "Fail stack has its frame", err)
    check(any(s.startswith("Caused by: java.lang.NumberFormatException") for s in err["stack"]),
          "Fail stack has a Caused by section", err)
    check(all(s.startswith(("at ", "Caused by: ", "... ")) for s in err["stack"]), "stack lines are frames", err)

    err = failed(r.run_and_wait("nocls", "sjs.examples.NoSuchJob", ex), "loading", "missing class")
    check("sjs.examples.NoSuchJob" in err["message"], "missing class message names it", err)
    check(err["errorClass"] == "java.lang.ClassNotFoundException", "missing class errorClass", err)
    err = failed(r.run_and_wait("notjob", "sjs.test.NotAJob", tj), "loading", "a class that is not a Job")
    check("does not implement sjs.api.Job" in err["message"], "not-a-job message", err)
    err = failed(r.run_and_wait("badjar", "sjs.examples.HelloWorld", binary("bad", jars["bad"], "b" * 64)),
                 "loading", "bad jar")
    check("not a readable jar" in err["message"], "bad jar message", err)
    err = failed(r.run_and_wait("nofile", "sjs.examples.HelloWorld", binary("gone", jars["bad"] + ".gone", "g" * 64)),
                 "loading", "missing jar file")

    # cancel: the job must end as killed promptly, not after its 5 s
    r.run("slp", "sjs.examples.Sleep", ex, {"sleep": {"seconds": 5}})
    r.wait_for(lambda m: m.get("job") == "slp" and m["type"] == "started", "started for Sleep")
    t0 = time.monotonic()
    r.send({"type": "cancel", "job": "slp"})
    err = failed(r.end_of("slp"), "killed", "cancelled Sleep")
    took = time.monotonic() - t0
    check(took < 2.0, "a cancelled Sleep ends within 2 s (took %.2f s)" % took)
    # a job that swallows the interrupt and returns normally after cancel is still killed
    r.run("stub", "sjs.test.Stubborn", tj)
    r.wait_for(lambda m: m.get("job") == "stub" and m["type"] == "started", "started for Stubborn")
    r.send({"type": "cancel", "job": "stub"})
    failed(r.end_of("stub"), "killed", "Stubborn after cancel")
    r.send({"type": "cancel", "job": "no-such-job"})  # ignored, no answer

    res = finished(r.run_and_wait("slp-short", "sjs.examples.Sleep", ex,
                                  {"stress": {"test": {"longpijob": {"duration": 0.2}}}}), "short Sleep")
    check(res == "slept 0.2 s", "Sleep result", res)

    # named objects: shared across runs of the context
    value = {"x": [1, 2], "s": "v"}
    res = finished(r.run_and_wait("put", "sjs.examples.PutObject", ex, {"name": "t1", "value": value}), "PutObject")
    res = finished(r.run_and_wait("get", "sjs.examples.GetObject", ex, {"name": "t1"}), "GetObject")
    check(res == value, "GetObject returns what PutObject stored", res)
    err = failed(r.run_and_wait("get-none", "sjs.examples.GetObject", ex, {"name": "nothing"}), "error",
                 "GetObject of an absent name")
    check(err["errorClass"] == "java.util.NoSuchElementException", "absent object error", err)

    # getOrCreate: four at once, one creator
    for i in range(4):
        r.run("cc%d" % i, "sjs.examples.CountCreate", ex, {"name": "cc"})
    results = [finished(r.end_of("cc%d" % i), "CountCreate %d" % i) for i in range(4)]
    check(len(set(results)) == 1 and "token" in results[0], "4 concurrent CountCreate share one value", results)
    # a failing creator: its caller and the waiters get its exception, the name stays absent
    for i in range(3):
        r.run("bc%d" % i, "sjs.test.BadCreator", tj)
    for i in range(3):
        err = failed(r.end_of("bc%d" % i), "error", "BadCreator %d" % i)
        check(err["errorClass"] == "java.io.IOException" and err["message"] == "creator failed", "creator error", err)

    r.send({"type": "objects", "id": 7})
    m = r.wait_for(lambda m: m["type"] == "objects" and m.get("id") == 7, "objects answer")
    check(m["names"] == ["counter-cc", "t1"], "objects lists the named objects, sorted", m)

    # re-upload: same class name, new sha = new loader; the old sha still gets the old loader
    res = finished(r.run_and_wait("v1", "sjs.test.Version", binary("ver", jars["v1"], "1" * 64)), "Version v1")
    check(res == "v1", "first version", res)
    res = finished(r.run_and_wait("v2", "sjs.test.Version", binary("ver", jars["v2"], "2" * 64)), "Version v2")
    check(res == "v2", "the re-uploaded version is used", res)
    res = finished(r.run_and_wait("v1b", "sjs.test.Version", binary("ver", jars["v1"], "1" * 64)), "Version v1 again")
    check(res == "v1", "the old version is still served by its loader", res)

    # progress and log events
    res = finished(r.run_and_wait("prog", "sjs.examples.Progress", ex, {"steps": {"ms": 10}}), "Progress")
    check(res == "3 steps done", "Progress result", res)
    logs = [m["data"] for m in r.events("prog", "log")]
    check(logs == ["step 1 of 3", "step 2 of 3", "step 3 of 3"], "Progress log events", logs)
    prog = [(round(m["value"], 3), m["message"]) for m in r.events("prog", "progress")]
    check(prog == [(0.333, "step 1"), (0.667, "step 2"), (1.0, "step 3")], "Progress events", prog)
    order = [m["type"] for m in r.events("prog")]
    check(order[0] == "started" and order[-1] == "finished", "Progress events between started and finished", order)

    # result conversion
    res = finished(r.run_and_wait("shapes", "sjs.test.Shapes", tj), "Shapes")
    expect = {
        "ints": [1, 2, 3], "doubles": [0.5, None], "strings": ["a", None],
        "nested": [[1, 2], {"7": "seven"}], "set": ["x", "y"], "present": "here", "absent": None,
        "colour": "GREEN", "char": "c", "big": 9223372036854775807, "builder": "sb",
        "uuid": "00000000-0000-0000-0000-000000000001",
        "unicode": "h\u00e9llo \u2603 \U0001F600 \"q\" \n",
    }
    for k, v in expect.items():
        check(res.get(k) == v, "Shapes." + k, res.get(k))
    point = res.get("point")
    check(isinstance(point, dict) and point.get("x") == 1 and point.get("label") == "p" and point.get("visible") is True
          and "broken" not in point and isinstance(point.get("self"), str), "a bean becomes its properties", point)
    if jars.get("record"):
        res = finished(r.run_and_wait("rec", "sjs.test.RecordJob", binary("rec", jars["record"], "r" * 64)), "RecordJob")
        check(res == {"name": "r", "values": [1, 2]}, "a record becomes its components", res)

    # config access
    cfg = {"s": {"num": "42", "dbl": 7.9, "bool": "true", "yes": "yes"}, "n": 12, "flat.key": "flat",
           "l": [1, "two"], "z": None}
    res = finished(r.run_and_wait("cfg", "sjs.test.ConfigProbe", tj, cfg), "ConfigProbe")
    want = {"long": 42, "int": 7, "bool": True, "yes": True, "string": "12", "double": 42.0, "default": 5,
            "flat": "flat", "list": [1, "two"], "sub": ["num", "dbl", "bool", "yes"], "hasNull": False,
            "immutable": True, "sameConfig": True, "context": r.name, "jobId": "cfg"}
    check(res == want, "ConfigProbe", {"got": res, "want": want})
    err = failed(r.run_and_wait("cfg-missing", "sjs.test.ConfigProbe", tj, {"missing": 1}), "error", "missing key")
    check(err["message"] == "missing config key: no.such.key" and err["errorClass"] == "java.lang.IllegalArgumentException",
          "missing key message", err)

    # no Spark in a jvm context
    err = failed(r.run_and_wait("nospark", "sjs.test.SparkProbe", tj), "error", "SparkProbe without Spark")
    check(err["message"] == "this context has no Spark: create it with --runtime spark", "no-Spark message", err)

    # a result over the frame limit is reported, not dropped
    err = failed(r.run_and_wait("big", "sjs.test.Big", tj, {"mb": 65}, timeout=120), "error", "65 MiB result")
    check(err["errorClass"] == "sjs.ResultTooLarge", "too-large result errorClass", err)
    res = finished(r.run_and_wait("notbig", "sjs.test.Big", tj, {"mb": 1}), "1 MiB result")
    check(res == "x" * (1024 * 1024), "1 MiB result arrives whole")

    # protocol errors are answered and do not end the runner
    r.send({"type": "bogus"})
    m = r.wait_for(lambda m: m["type"] == "error" and "bogus" in m.get("message", ""), "error for an unknown type")
    r.send_raw(b"{not json")
    r.wait_for(lambda m: m["type"] == "error" and "parse" in m.get("message", ""), "error for bad JSON")
    r.send({"type": "run", "entry": "x"})
    r.wait_for(lambda m: m["type"] == "error" and "job id" in m.get("message", ""), "error for a run without job")
    size = 64 * 1024 * 1024 + 1
    r.sock.sendall(struct.pack(">I", size))
    chunk = b" " * (1 << 20)
    for _ in range(64):
        r.sock.sendall(chunk)
    r.sock.sendall(b" ")
    r.wait_for(lambda m: m["type"] == "error" and "limit" in m.get("message", ""), "error for an oversized frame")
    res = finished(r.run_and_wait("hi-again", "sjs.examples.HelloWorld", ex), "HelloWorld after protocol errors")

    # numeric job ids are echoed as sent
    res = finished(r.run_and_wait(42, "sjs.examples.HelloWorld", ex), "numeric job id")

    # every run got exactly one end
    with r.cond:
        ends = {}
        for m in r.messages:
            if m["type"] in ("finished", "failed"):
                ends[m["job"]] = ends.get(m["job"], 0) + 1
    check(all(n == 1 for n in ends.values()), "exactly one finished/failed per run", ends)
    # every message so far has the spec's shape (job 42 was sent as a number and is echoed as one)
    wc.check_messages(r, string_ids=False)

    # shutdown with a job running: the job is killed, the runner exits 0
    r.run("slp-last", "sjs.examples.Sleep", ex, {"sleep": {"seconds": 30}})
    r.wait_for(lambda m: m.get("job") == "slp-last" and m["type"] == "started", "started for the last Sleep")
    r.send({"type": "shutdown"})
    failed(r.end_of("slp-last"), "killed", "Sleep running at shutdown")
    code = r.wait_exit(10)
    check(code == 0, "shutdown exits 0", code)


def pipeline(r, job, binaries, steps, config=None):
    r.send({"type": "run", "job": job, "entry": "", "binaries": binaries, "config": config or {}, "context": r.name,
            "steps": steps})
    return r.end_of(job)


def step_list(jars, jar, name):
    """Runs the StepList tool as sjsd does: its one JSON line, parsed."""
    p = subprocess.run(["java", "-cp", jars["runner"], "sjs.runner.StepList", jar, name], capture_output=True,
                       text=True, timeout=60)
    check(p.returncode == 0, "StepList exits 0 for %s" % name, p.stderr)
    lines = p.stdout.splitlines()
    check(len(lines) == 1, "StepList prints one line for %s" % name, p.stdout)
    return json.loads(lines[0])


def steps_checks(r, jars):
    lib = binary("steplib", jars["steplib"], "s" * 64)
    wc.check_hello(r, runtime="jvm", capabilities=CAPABILITIES)
    names = ["badType", "boom", "conf", "echo", "hidden", "initRan", "kind", "notStatic", "poison", "range", "scale",
             "size", "sleep", "sparkGroup", "sum"]

    # validating a pipeline loads the library's classes without initialising them
    res = finished(pipeline(r, "init0", lib, [["initRan"]]), "initRan")
    check(res is None, "scanning the library runs no static initialiser", res)

    # a pipeline: each step gets the previous one's Java object, progress before each step
    steps = [["range", 4], ["scale", 0.5], ["sum"]]
    res = finished(pipeline(r, "pipe", lib, steps), "pipeline")
    check(res == 5.0, "pipeline result is the last step's output", res)
    prog = [(round(m["value"], 3), m.get("message")) for m in r.events("pipe", "progress")]
    want = [(0.0, "step 1/3: range"), (0.333, "step 2/3: scale"), (0.667, "step 3/3: sum")]
    check(prog == want, "progress before each step", {"got": prog, "want": want})
    kinds = [m["type"] for m in r.events("pipe")]
    check(kinds == ["started", "progress", "progress", "progress", "finished"], "pipeline events", kinds)
    res = finished(pipeline(r, "java-data", lib, [["range", 2], ["kind"]]), "kind")
    check(res == "java.util.LinkedList", "the next step gets the Java object, not JSON", res)
    res = finished(pipeline(r, "ctx", lib, [["range", 1], ["conf"]], {"who": "me"}), "conf")
    check(res == "me@ctx", "ctx.config() is the job's config in every step", res)
    res = finished(pipeline(r, "hidden", lib, [["hidden"]]), "hidden")
    check(res == "hidden:null", "a step of a class that is not public runs; the first step's data is null", res)

    # arguments are converted to the parameters' types
    res = finished(pipeline(r, "echo", lib, [["echo", "s", 3.0, None, 2, True, [1, "x"], {"k": "v"}, {"any": [1]}]]),
                   "echo")
    want = {"s": "s", "sClass": "String", "i": 3, "iClass": "Integer", "l": None, "lClass": None, "d": 2.0,
            "dClass": "Double", "b": True, "bClass": "Boolean", "list": [1, "x"], "listClass": "ArrayList",
            "map": {"k": "v"}, "mapClass": "LinkedHashMap", "any": {"any": [1]}, "anyClass": "LinkedHashMap"}
    check(res == want, "step arguments converted", {"got": res, "want": want})

    # the whole pipeline is checked first; every problem at once, with its step's index
    bad = [["range", 3], ["wrods"], ["sum", 1, 2], "oops", [3], ["range", 2.5], ["scale", "x"], ["notStatic"],
           ["badType", 1], ["range"], ["echo", 1, 2**40, 1.5, None, "no", {}, [], None], ["scale", 1, 2]]
    err = failed(pipeline(r, "pipe-bad", lib, bad), "validation", "pipeline with problems")
    want = ['step 2 ("wrods"): unknown step; the library has: ' + ", ".join(names),
            'step 3 ("sum"): takes no arguments, given 2',
            'step 4: must be an array ["name", arg...], not "oops"',
            "step 5: its first element must be the step's name (a string), not 3",
            'step 6 ("range"): argument 1 (long arg2) must be a long, not 2.5',
            'step 7 ("scale"): argument 1 (double arg2) must be a number, not "x"',
            'step 8 ("notStatic"): cannot be called: sjs.test.steps.Lib.notStatic: the method must be public static',
            'step 9 ("badType"): cannot be called: sjs.test.steps.Lib.badType: parameter File arg2 has a type a '
            'pipeline cannot give (String, int, long, double, boolean, their boxes, List, Map or Object)',
            'step 10 ("range"): takes 1 argument (long arg2), given 0',
            'step 11 ("echo"): argument 1 (String arg2) must be a string, not 1',
            'step 11 ("echo"): argument 2 (int arg3) must be an int, not 1099511627776',
            'step 11 ("echo"): argument 3 (Long arg4) must be a long, not 1.5',
            'step 11 ("echo"): argument 4 (double arg5) must be a number, not null',
            'step 11 ("echo"): argument 5 (Boolean arg6) must be a boolean, not "no"',
            'step 11 ("echo"): argument 6 (List<Object> arg7) must be an array, not {}',
            'step 11 ("echo"): argument 7 (Map<String, Object> arg8) must be an object, not []',
            'step 12 ("scale"): takes 1 argument (double arg2), given 2']
    check(err["stack"] == want, "every problem, with its step's index", {"got": err["stack"], "want": want})
    check(err["message"] == "VALIDATION FAILED: %d problems in the pipeline: %s" % (len(want), "; ".join(want)),
          "pipeline validation message", err)
    check(err["errorClass"] == "sjs.ValidationFailed", "pipeline validation errorClass", err)
    check(not r.events("pipe-bad", "started") and not r.events("pipe-bad", "progress"),
          "nothing runs before the pipeline validates", r.events("pipe-bad"))
    err = failed(pipeline(r, "pipe-empty", lib, []), "validation", "empty pipeline")
    check(err["stack"] == ["the pipeline has no steps"], "an empty pipeline", err)

    # a throwing step is named with its index
    err = failed(pipeline(r, "pipe-fail", lib, [["range", 1], ["boom", "bad news"], ["sum"]]), "error", "failing step")
    check(err["message"] == "step 2/3 (boom) failed: java.lang.IllegalStateException: bad news"
          and err["errorClass"] == "java.lang.IllegalStateException", "a failing step's message and class", err)
    check(err["stack"] and err["stack"][0].startswith("at sjs.test.steps.Lib.boom("), "the step's own stack", err)
    check(len(r.events("pipe-fail", "progress")) == 2, "no later step runs", r.events("pipe-fail"))
    err = failed(pipeline(r, "pipe-data", lib, [["conf"], ["size"]], {"who": "x"}), "error", "data of the wrong type")
    check(err["message"].startswith("step 2/2 (size) failed: java.lang.ClassCastException: sjs.test.steps.Lib.size "
                                    "takes data of type java.util.List, the previous step returned a java.lang.String"),
          "data of the wrong type", err)

    # cancel during a step
    r.send({"type": "run", "job": "pipe-cancel", "entry": "", "binaries": lib, "config": {}, "context": r.name,
            "steps": [["range", 1], ["sleep"], ["sum"]]})
    r.wait_for(lambda m: m.get("job") == "pipe-cancel" and m.get("message") == "step 2/3: sleep", "progress of sleep")
    t0 = time.monotonic()
    r.send({"type": "cancel", "job": "pipe-cancel"})
    failed(r.end_of("pipe-cancel"), "killed", "cancelled pipeline")
    check(time.monotonic() - t0 < 2.0, "a cancelled pipeline ends promptly")

    # calling a step initialises its class, as any call would
    res = finished(pipeline(r, "init1", lib, [["poison"], ["initRan"]]), "poison")
    check(res == "ran", "calling a step runs its class's static initialiser", res)

    # the library is binaries[0] only; --with jars are on its class path, not scanned
    dep = binary("stepdep", jars["stepdep"], "d" * 64)[0]
    res = finished(pipeline(r, "with-dep", lib + [dep], [["broken"]]), "a step needing a --with jar")
    check(res == "with its dependency", "a --with jar is on the library's class path", res)
    err = failed(pipeline(r, "no-dep", lib, [["broken"], ["depStep"]]), "validation", "unloadable class skipped")
    check([s.split(":")[0] for s in err["stack"]] == ['step 1 ("broken")', 'step 2 ("depStep")'],
          "a class that cannot load is skipped; a --with jar's steps are not the library's", err)
    err = failed(pipeline(r, "with-dep2", lib + [dep], [["depStep"]]), "validation", "a --with jar's step")
    check(err["stack"][0].startswith('step 1 ("depStep"): unknown step'), "only binaries[0] is scanned", err)

    # library-wide problems
    err = failed(pipeline(r, "dup", binary("dupsteps", jars["dupsteps"], "u" * 64), [["same"]]), "validation",
                 "duplicate step names")
    check(err["stack"] == ['two methods are registered as step "same": sjs.test.dup.A.one and sjs.test.dup.B.same'],
          "two methods under one name", err)
    err = failed(pipeline(r, "nosteps", binary("testjobs", jars["tests"], "t" * 64), [["x"]]), "validation",
                 "a library without steps")
    check(err["stack"] == ['binary "testjobs" has no steps: annotate public static methods with @sjs.api.Step'],
          "no steps", err)
    check(err["message"] == "VALIDATION FAILED: 1 problem in the pipeline: " + err["stack"][0], "no steps message", err)
    err = failed(pipeline(r, "nolib", [], [["x"]]), "loading", "a pipeline without binaries")
    check(err["errorClass"] == "sjs.NoStepLibrary", "a pipeline without a library", err)
    err = failed(pipeline(r, "badlib", binary("bad", jars["bad"], "b" * 64), [["x"]]), "loading", "not a jar")
    check("not a readable jar" in err["message"], "a library that is not a jar", err)
    r.send({"type": "run", "job": "malformed", "entry": "", "binaries": lib, "config": {}, "context": r.name,
            "steps": {"not": "a list"}})
    err = failed(r.end_of("malformed"), "loading", "steps not an array")
    check(err["message"] == "bad run message: steps is not an array", "steps not an array", err)

    # the example library, once sjs-examples.jar has been built with it
    with zipfile.ZipFile(jars["examples"]) as z:
        has_example = "sjs/examples/TextSteps.class" in z.namelist()
    if has_example:
        ex = binary("sjs-examples", jars["examples"], "e" * 64)
        res = finished(pipeline(r, "ex", ex, [["load"], ["words"], ["countByValue"], ["top", 2]],
                                {"input": {"string": "the cat the dog\nthe end cat"}}), "TextSteps pipeline")
        check(res == [["the", 3], ["cat", 2]], "TextSteps pipeline result", res)
    else:
        print("    (sjs-examples.jar has no TextSteps yet: its checks skipped; build target sjs-examples)")

    wc.check_messages(r)
    r.send({"type": "shutdown"})
    check(r.wait_exit(10) == 0, "shutdown exits 0")
    with open(r.log_path, "rb") as f:
        log = f.read()
    check(log.count(b"POISON INIT") == 1, "Poison's initialiser ran once, when its step was called", log[-2000:])

    # the listing tool sjsd runs for `sjs binary steps`
    out = step_list(jars, jars["steplib"], "steplib")
    check(out["ok"] is True and [s["name"] for s in out["steps"]] == [n for n in names if n not in
                                                                      ("badType", "notStatic")],
          "StepList lists the callable steps, sorted", out)
    rng = [s for s in out["steps"] if s["name"] == "range"][0]
    check(rng == {"name": "range", "function": "Lib.range", "module": "sjs.test.steps.Lib", "params": ["long arg2"],
                  "doc": "The numbers from 1 to n."}, "StepList entry", rng)
    hidden = [s for s in out["steps"] if s["name"] == "hidden"][0]
    check(hidden["function"] == "Hidden.h" and hidden["module"] == "sjs.test.steps.Hidden", "StepList names", hidden)
    echo = [s for s in out["steps"] if s["name"] == "echo"][0]
    check(echo["params"] == ["String arg2", "int arg3", "Long arg4", "double arg5", "Boolean arg6",
                             "List<Object> arg7", "Map<String, Object> arg8", "Object arg9"], "StepList params", echo)
    out = step_list(jars, jars["tests"], "testjobs")
    check(out == {"ok": False, "message": 'binary "testjobs" has no steps: annotate public static methods with '
                                          '@sjs.api.Step'}, "StepList on a jar without steps", out)
    out = step_list(jars, jars["bad"], "bad")
    check(out["ok"] is False and out["message"].startswith('binary "bad" cannot be read: '), "StepList on a non-jar", out)
    out = step_list(jars, jars["dupsteps"], "dupsteps")
    check([s["module"] for s in out["steps"]] == ["sjs.test.dup.A", "sjs.test.dup.B"], "StepList lists both", out)

    if has_example:
        out = step_list(jars, jars["examples"], "ex")
        check([(s["name"], s["params"]) for s in out["steps"]] ==
              [("countByValue", []), ("load", []), ("top", ["int n"]), ("words", [])], "the example's steps", out)


def simple_checks(r, jars):
    ex = binary("sjs-examples", jars["examples"], "e" * 64)
    r.wait_for(lambda m: m["type"] == "hello", "hello")
    res = finished(r.run_and_wait("hi", "sjs.examples.HelloWorld", ex), "HelloWorld")
    check(res == "Hi!", "HelloWorld result", res)
    r.send({"type": "shutdown"})
    code = r.wait_exit(10)
    check(code == 0, "shutdown exits 0", code)


def exit_checks(r, jars):
    ex = binary("sjs-examples", jars["examples"], "e" * 64)
    r.wait_for(lambda m: m["type"] == "hello", "hello")
    r.run("exit", "sjs.examples.Exit", ex, {"code": 7})
    code = r.wait_exit(15)
    check(code == 7, "Exit makes the JVM exit with its code", code)


def eof_checks(r, jars):
    r.wait_for(lambda m: m["type"] == "hello", "hello")
    r.sock.shutdown(socket.SHUT_RDWR)
    code = r.wait_exit(10)
    check(code == 0, "the runner exits 0 when the daemon goes away", code)


def spark_checks(r, jars, with_sql):
    tj = binary("testjobs", jars["tests"], "t" * 64)
    hello = wc.check_hello(r, runtime="spark", capabilities=CAPABILITIES)
    check(hello.get("runtime") == "spark", "spark hello runtime", hello)
    spark = hello.get("spark")
    check(spark == {"version": "0.0.0-stub", "master": "local[*]", "applicationId": "stub-app-sjs-" + r.name},
          "hello spark", hello)

    res = finished(r.run_and_wait("p1", "sjs.test.SparkProbe", tj), "SparkProbe")
    check(res["hasSpark"] is True and res["sc"] == "org.apache.spark.SparkContext", "SparkProbe sees the context", res)
    check(res["group"] == "p1", "the job runs in a Spark job group named by its id", res)
    check(res["jsc"] == "org.apache.spark.api.java.JavaSparkContext" and res["jscWraps"] and res["sameJsc"],
          "JavaSparkContext wraps the context", res)
    check(res.get("wrongType") == "refused", "an unknown Spark type is refused", res)
    check(res["jars"] == [jars["tests"]], "the job's jar is added to the SparkContext", res)
    if with_sql:
        conf = res.get("sessionConf")
        check(isinstance(conf, dict) and conf.get("spark.sjs.test") == "yes" and conf.get("spark.master") == "local[*]",
              "SparkSession built with the spark.* system properties", res)
    else:
        check("spark-sql" in res.get("session", ""), "no SparkSession without spark-sql", res)

    # a pipeline's steps run in the job's Spark job group too
    r.send({"type": "run", "job": "sp-pipe", "entry": "", "binaries": binary("steplib", jars["steplib"], "s" * 64),
            "config": {}, "context": r.name, "steps": [["kind"], ["sparkGroup"]]})
    res = finished(r.end_of("sp-pipe"), "a pipeline in a spark context")
    check(res == "sp-pipe", "a step runs in the job's Spark job group and gets ctx.spark()", res)

    r.run("p2", "sjs.test.SparkProbe", tj, {"sleep": True})
    r.wait_for(lambda m: m.get("job") == "p2" and m["type"] == "started", "started for the sleeping probe")
    r.send({"type": "cancel", "job": "p2"})
    failed(r.end_of("p2"), "killed", "cancelled SparkProbe")
    res = finished(r.run_and_wait("p3", "sjs.test.SparkProbe", tj), "SparkProbe after cancel")
    check(res["cancelledGroups"] == ["p2"], "cancel cancels the job's Spark job group", res)

    r.send({"type": "shutdown"})
    code = r.wait_exit(10)
    check(code == 0, "spark shutdown exits 0", code)
    wc.check_messages(r)
    with open(r.log_path, "rb") as f:
        check(b"STUB SparkContext stopped" in f.read(), "shutdown stops the SparkContext")


def main():
    if len(sys.argv) != 2:
        print("usage: RunnerTest.py <build dir>", file=sys.stderr)
        return 2
    build = os.path.abspath(sys.argv[1])
    jars = {"runner": os.path.join(build, "sjs-runner.jar"), "api": os.path.join(build, "sjs-api.jar"),
            "examples": os.path.join(build, "sjs-examples.jar")}
    for k, path in jars.items():
        if not os.path.isfile(path):
            print("FAIL: %s not found (build the jvm runtime first)" % path, file=sys.stderr)
            return 1
    for tool in ("java", "javac", "jar"):
        if shutil.which(tool) is None:
            print("FAIL: %s is not on PATH" % tool, file=sys.stderr)
            return 1

    tmp = tempfile.mkdtemp(prefix="sjs-runner-test-")
    runners = []
    current = None
    try:
        jars["tests"] = compile_jar(tmp, "testjobs", TEST_JOBS, [jars["api"]])
        jars["v1"] = compile_jar(tmp, "v1", {"sjs/test/Version.java": VERSION_JOB % "v1"}, [jars["api"]])
        jars["v2"] = compile_jar(tmp, "v2", {"sjs/test/Version.java": VERSION_JOB % "v2"}, [jars["api"]])
        jars["record"] = None
        if javac_release() >= 16:
            jars["record"] = compile_jar(tmp, "record", {"sjs/test/RecordJob.java": RECORD_JOB}, [jars["api"]],
                                         release=None)
        jars["stepdep"] = compile_jar(tmp, "stepdep", STEP_DEP, [jars["api"]])
        jars["steplib"] = compile_jar(tmp, "steplib", STEP_LIB, [jars["api"], jars["stepdep"]])
        jars["dupsteps"] = compile_jar(tmp, "dupsteps", DUP_STEPS, [jars["api"]])
        jars["clusters"] = compile_jar(tmp, "clusters", CLUSTER_JOBS, [jars["api"]])
        stubs = compile_jar(tmp, "spark-stubs", SPARK_STUBS)
        sql_stubs = compile_jar(tmp, "spark-sql-stubs", SPARK_SQL_STUB, [stubs])
        jars["bad"] = os.path.join(tmp, "bad.jar")
        with open(jars["bad"], "w") as f:
            f.write("this is not a jar\n")

        daemon_env = {"JDK_JAVA_OPTIONS": "--add-opens=java.base/java.io=ALL-UNNAMED"}
        plan = [
            ("main", [jars["runner"]], {}, (), main_runner_checks),
            ("steps", [jars["runner"]], {}, (), steps_checks),
            ("clusters", [jars["runner"]], {}, (), cluster_checks),
            # as sjsd starts it: java.io opened through JDK_JAVA_OPTIONS, not the command line
            ("daemon-env", [jars["runner"]], daemon_env, (), simple_checks, False),
            # java.io not opened at all: the runner falls back to sun.misc.Unsafe
            ("no-opens", [jars["runner"]], {}, (), simple_checks, False),
            ("exit", [jars["runner"]], {}, (), exit_checks),
            ("eof", [jars["runner"]], {}, (), eof_checks),
            ("spark-core", [jars["runner"], stubs], {"SJS_SPARK": "1"}, (),
             lambda r, j: spark_checks(r, j, False)),
            ("spark-sql", [jars["runner"], stubs, sql_stubs], {"SJS_SPARK": "1"}, ("-Dspark.sjs.test=yes",),
             lambda r, j: spark_checks(r, j, True)),
        ]
        # the runner-independent conformance checks (tests/conformance/worker_conformance.py)
        ex = binary("sjs-examples", jars["examples"], "e" * 64)
        conformance_jobs = wc.Jobs(
            ok=wc.JobSpec("sjs.examples.HelloWorld", ex, result="Hi!"),
            fail=wc.JobSpec("sjs.examples.Fail", ex),
            missing=wc.JobSpec("sjs.examples.NoSuchJob", ex),
            sleep=wc.JobSpec("sjs.examples.Sleep", ex, {"sleep": {"seconds": 30}}),
            validation=wc.JobSpec("sjs.examples.WordCount", ex, {"input": {}}))

        def start(name):
            r = Runner(name, [jars["runner"]], tmp)
            runners.append(r)
            return r

        wc.check_conformance(start, conformance_jobs, runtime="jvm", capabilities=CAPABILITIES)
        for name, cp, env, jvm_args, checks, *opens in plan:
            t0 = time.monotonic()
            current = Runner(name, cp, tmp, env, jvm_args, add_opens=opens[0] if opens else True)
            runners.append(current)
            checks(current, jars)
            print("ok  %-10s (%.1f s)" % (name, time.monotonic() - t0))
            current = None
        print("PASS: the JVM runner speaks docs/worker-protocol.md")
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
