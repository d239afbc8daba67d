#!/usr/bin/env python3
"""Replays the HTTP calls python-sjsclient makes (sjsclient/app.py, context.py, job.py and its
functional tests) against a running sjsd, with Python's standard library only, and checks the
answers the way the client reads them. Exits 0 when every check passed, 1 at the first failure.

usage: http_sjsclient_replay.py BASE_URL EXAMPLES_JAR
  BASE_URL      e.g. http://127.0.0.1:8090
  EXAMPLES_JAR  build/sjs-examples.jar (sjs.examples.WordCount, DoubleIt, Sleep, HelloWorld)
"""
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

BASE = sys.argv[1].rstrip("/")
JAR = open(sys.argv[2], "rb").read()


def call(method, path, params=None, data=None, headers=None):
    """One request as requests.Session would send it: a dict body is form-encoded."""
    url = BASE + "/" + path
    if params:
        url += "?" + urllib.parse.urlencode(params)
    headers = dict(headers or {})
    if isinstance(data, dict):
        data = urllib.parse.urlencode(data).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif isinstance(data, str):
        data = data.encode()
    if method in ("POST", "PUT") and data is None:
        data = b""
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def check(cond, what, detail=""):
    if not cond:
        print("FAILED: %s %s" % (what, detail))
        sys.exit(1)
    print("ok: " + what)


def js(body):
    return json.loads(body.decode("utf-8"))


def poll_until(job_id, states, limit_s=60):
    """JobManager.get until the status is one of `states` (the client's _wait_till_job_is_done)."""
    deadline = time.time() + limit_s
    while True:
        status, body = call("GET", "jobs/" + job_id)
        if status != 200:
            check(False, "GET /jobs/<id> answers 200 while polling", status)
        job = js(body)
        if job["status"] in states or time.time() > deadline:
            return job
        time.sleep(0.1)


# ---- apps (binaries) ---------------------------------------------------------------
app = str(uuid.uuid4())
status, _ = call("POST", "binaries/" + app, data=JAR, headers={"Content-Type": "application/java-archive"})
check(200 <= status < 300, "AppManager.create: POST /binaries/<name> with application/java-archive is a 2xx", status)
status, body = call("GET", "binaries")
apps = js(body)
check(status == 200 and isinstance(apps, dict) and app in apps, "AppManager.get: GET /binaries has the name as a key")

# ---- contexts ------------------------------------------------------------------------
ctx = "ctx" + uuid.uuid4().hex[:8]
status, _ = call("POST", "contexts/" + ctx, params={"num-cpu-cores": "1", "memory-per-node": "512m"})
check(status == 200, "ContextManager.create: POST /contexts/<name>?params with no body is 200", status)
status, body = call("GET", "contexts")
names = js(body)
check(status == 200 and isinstance(names, list) and all(isinstance(n, str) for n in names),
      "ContextManager.list: GET /contexts is an array of strings", names)
check(ctx in names, "the new context is listed")
status, body = call("POST", "contexts/1" + ctx)
check(status >= 400 and "status" in js(body), "a context name starting with a digit is an HTTP error", status)

# ---- jobs ----------------------------------------------------------------------------
base = {"appName": app, "context": ctx}

status, body = call("POST", "jobs", params=dict(base, classPath="sjs.examples.DoubleIt", sync="true"))
r = js(body)
check(status == 200 and r.get("result") == [2, 4, 6] and r.get("jobId"), "sync DoubleIt gives [2,4,6]", r)

status, body = call("POST", "jobs", params=dict(base, classPath="sjs.examples.WordCount", sync="true"),
                    data="input.string = a b c a")
r = js(body)
check(status == 200 and r.get("result") == {"a": 2, "b": 1, "c": 1}, "sync WordCount with a string config", r)

form = {"input.string": "x y x", "param": "value"}
status, body = call("POST", "jobs", params=dict(base, classPath="sjs.examples.WordCount", sync="true"), data=form)
r = js(body)
check(status == 200 and r.get("result") == {"x": 2, "y": 1}, "sync WordCount with a form-encoded dict config", r)
form_job = r["jobId"]

status, body = call("GET", "jobs/%s/config" % form_job)
conf = js(body)
check(status == 200 and conf.get("param") == "value" and conf.get("input", {}).get("string") == "x y x",
      "Job.get_config: GET /jobs/<id>/config holds the posted keys", conf)

status, body = call("POST", "jobs", params=dict(base, classPath="sjs.examples.Sleep"),
                    data="stress.test.longpijob.duration = 1")
r = js(body)
check(status == 202 and r.get("status") == "STARTED" and r.get("jobId"), "async submission: 202 with status STARTED", r)
for key in ("jobId", "status", "duration", "context", "classPath", "startTime"):
    check(key in r, "the submission report has " + key)
sleep_job = r["jobId"]
status, body = call("GET", "jobs/" + sleep_job)
check(js(body)["status"] in ("RUNNING", "FINISHED"), "a just-started job is RUNNING or FINISHED", js(body))
job = poll_until(sleep_job, ("FINISHED", "ERROR", "KILLED"))
check(job["status"] == "FINISHED", "the Sleep job FINISHED", job)
check("1." in job["duration"], "its duration contains '1.'", job["duration"])
check(job.get("result") == "slept 1 s", "its result is in the report", job.get("result"))

status, body = call("POST", "jobs", params={"appName": app, "classPath": "sjs.examples.HelloWorld"})
r = js(body)
check(status == 202, "an ad-hoc submission is accepted", r)
job = poll_until(r["jobId"], ("FINISHED", "ERROR", "KILLED"))
check(job["status"] == "FINISHED" and job.get("result") == "Hi!", "ad-hoc HelloWorld returns 'Hi!'", job)

status, body = call("GET", "jobs", params={"limit": 3})
jobs = js(body)
check(status == 200 and isinstance(jobs, list) and len(jobs) == 3, "JobManager.list: GET /jobs?limit=3 lists 3", jobs)
check(jobs[0]["jobId"] == r["jobId"], "newest first")

status, body = call("POST", "jobs", params=dict(base, classPath="sjs.examples.Sleep"),
                    data="stress.test.longpijob.duration = 30")
long_job = js(body)["jobId"]
poll_until(long_job, ("RUNNING",))
status, body = call("DELETE", "jobs/" + long_job)
check(status == 200 and js(body) == {"status": "KILLED"}, "Job.delete of a running job: 200 KILLED", body)
status, _ = call("DELETE", "jobs/" + sleep_job)
check(status == 404, "Job.delete of a finished job: 404", status)
status, _ = call("DELETE", "jobs/does-not-exist")
check(status == 404, "Job.delete of an unknown job: 404", status)

# ---- clean-up --------------------------------------------------------------------------
status, _ = call("DELETE", "contexts/" + ctx)
check(status == 200, "ContextManager.delete: 200", status)
status, _ = call("DELETE", "binaries/" + app)
check(status == 200, "AppManager.delete: 200", status)
print("all python-sjsclient calls answered as it expects")
