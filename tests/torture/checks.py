"""The torture's drain and checks (tests/torture/torture.py runs them once the rounds are over).

Each check appends to `t.violations` (a list of one-line texts) through `t.violation`; the figures
for the summary go into the dict `check` returns.
"""
import collections
import hashlib
import json
import os
import subprocess
import time

FINAL = ("FINISHED", "ERROR", "KILLED")
# What each torture target submits: (binary, entry point, context; "" = ad-hoc).
JOB_OF_TARGET = {"ex": ("mark", "mark", "ex"), "adhoc": ("mark", "mark", ""),
                 "jv": ("mark_jar", "torture.Mark", "jv"), "py": ("mark_py", "run", "py")}


def log(msg):
    print(time.strftime("%H:%M:%S ") + msg, flush=True)


def pid_alive(pid):
    """Alive and not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def drain(t):
    """Waits until no job is QUEUED or RUNNING. Meanwhile, a RUNNING job whose pid is gone and
    that is still RUNNING with that pid 3 s later is a violation."""
    c = t.client()
    busy = c.call("job.list", {"limit": 100000, "states": ["QUEUED", "RUNNING"]})["jobs"]
    deadline = time.monotonic() + 60 + 0.15 * len(busy)
    suspects = {}  # job id -> (pid, when first seen dead)
    t0 = time.monotonic()
    last_log = 0.0
    while busy:
        now = time.monotonic()
        if now > deadline:
            t.violation("sjsd did not drain: %d jobs still QUEUED or RUNNING after %.0f s, e.g. %s"
                        % (len(busy), now - t0, ", ".join("%s %s" % (j["id"], j["state"]) for j in busy[:5])))
            break
        for j in busy:
            if j["state"] != "RUNNING" or j["pid"] <= 0:
                continue
            if pid_alive(j["pid"]):
                suspects.pop(j["id"], None)
                continue
            first = suspects.setdefault(j["id"], (j["pid"], now))
            if first[0] == j["pid"] and now - first[1] > 3:
                t.violation("job %s is RUNNING with pid %d, which is gone (for %.1f s)"
                            % (j["id"], j["pid"], now - first[1]))
                suspects[j["id"]] = (j["pid"], float("inf"))  # reported once
        if now - last_log > 10:
            log("draining: %d jobs QUEUED or RUNNING" % len(busy))
            last_log = now
        time.sleep(0.2)
        busy = c.call("job.list", {"limit": 100000, "states": ["QUEUED", "RUNNING"]})["jobs"]
    c.close()
    log("drained in %.1f s" % (time.monotonic() - t0))


def check_history(t, j):
    """QUEUED -> RUNNING -> one final state, as the record's times tell it."""
    jid, state = j["id"], j["state"]
    sub, start, end = j["submitted_ms"], j["started_ms"], j["ended_ms"]
    if state not in FINAL:
        t.violation("job %s is %s after the drain" % (jid, state))
        return
    if sub <= 0 or end <= 0:
        t.violation("job %s (%s) has submitted_ms %d, ended_ms %d" % (jid, state, sub, end))
    if start and not sub <= start <= end:
        t.violation("job %s (%s): times out of order: submitted %d, started %d, ended %d"
                    % (jid, state, sub, start, end))
    if not start and end < sub:
        t.violation("job %s (%s) ended (%d) before it was submitted (%d)" % (jid, state, end, sub))
    if state == "FINISHED" and not start:
        t.violation("job %s FINISHED but never started" % jid)
    if state == "FINISHED" and j.get("error"):
        t.violation("job %s FINISHED with an error: %s" % (jid, j["error"]))
    if state != "FINISHED" and not j.get("error"):
        t.violation("job %s ended %s without an error" % (jid, state))


def read_marks(t):
    runs = collections.Counter()
    by_runtime = collections.Counter()
    with open(t.marks) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 2:
                t.violation("marker file: a torn line %r" % line)
                continue
            runs[parts[1]] += 1
            by_runtime[parts[0]] += 1
    return runs, by_runtime


def check_idempotency(t, c, jobs):
    """Every acknowledged key, sent again after all the restarts, answers its first job and creates
    nothing (through the CLI and over HTTP, alternately; at most 60 keys)."""
    keys = sorted(t.key_ids.items())
    before = len(jobs)
    for i, (key, first) in enumerate(keys[:60]):
        target = key.split("-")[1]
        binary, entry, context = JOB_OF_TARGET[target]
        if i % 2 == 0:
            args = ["job", "submit", binary, entry, "--parsable", "--key", key] + (["-c", context] if context else [])
            rc, out, err = t.cli(args)
            got = out.strip() if rc == 0 else "exit %s: %s" % (rc, err.strip())
        else:
            body = {"binary": binary, "entry": entry, "context": context, "key": key}
            status, reply = t.http("POST", "/sjs/v1/job.submit", json.dumps(body).encode())
            ok = status == 200 and isinstance(reply, dict) and reply.get("ok")
            got = reply["result"]["job"]["id"] if ok else "HTTP %s: %s" % (status, reply)
            if ok and not reply["result"].get("existing"):
                t.violation("idempotency key %s sent again: answer not marked existing" % key)
        if got != first:
            t.violation("idempotency key %s sent again after the restarts: %s, first %s" % (key, got, first))
    after = len(c.call("job.list", {"limit": 100000})["jobs"])
    if after != before:
        t.violation("resending %d known idempotency keys changed the number of jobs: %d -> %d"
                    % (min(len(keys), 60), before, after))
    return min(len(keys), 60)


def check_store(t, referenced):
    """With sjsd stopped: mdb_stat -a succeeds on the store, every blob matches its SHA-256, and every
    stored binary version (`referenced`: sha256 -> "name vN") has its blob."""
    store = os.path.join(t.home, "store")
    r = subprocess.run(["mdb_stat", "-a", store], capture_output=True, text=True)
    if r.returncode != 0:
        t.violation("mdb_stat -a %s exited %d: %s" % (store, r.returncode, r.stderr.strip()))
    blobs = os.path.join(t.home, "blobs")
    count = leftovers = 0
    for name in sorted(os.listdir(blobs)):
        if name.startswith("."):
            leftovers += 1
            continue
        h = hashlib.sha256()
        with open(os.path.join(blobs, name), "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        count += 1
        if h.hexdigest() != name:
            t.violation("blob %s holds bytes whose SHA-256 is %s" % (name, h.hexdigest()))
    for sha, what in sorted(referenced.items()):
        if not os.path.exists(os.path.join(blobs, sha)):
            t.violation("binary %s has no blob %s" % (what, sha))
    unreferenced = count - sum(1 for sha in referenced if os.path.exists(os.path.join(blobs, sha)))
    return count, leftovers, unreferenced


def stray_processes(t, job_ids):
    """Processes of the run still alive after sjsd stopped: workers, and jobs (by SJS_JOB_ID)."""
    found = []
    for pid in sorted(t.worker_pids):
        if pid_alive(pid):
            found.append("worker %d" % pid)
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        for e in env:
            if e.startswith(b"SJS_JOB_ID=") and e[11:].decode(errors="replace") in job_ids and pid_alive(int(name)):
                found.append("job process %s (%s)" % (name, e.decode(errors="replace")))
    return found


def check(t):
    """Every check of the brief, with sjsd up (then stopped for the store's). Returns the figures."""
    c = t.client()
    jobs = c.call("job.list", {"limit": 100000})["jobs"]
    by_id = {}
    for j in jobs:
        if j["id"] in by_id:
            t.violation("job %s is listed twice" % j["id"])
        by_id[j["id"]] = j
    tags = {}
    for jid in by_id:
        tag = c.call("job.config", {"id": jid})["config"].get("tag")
        tags[jid] = tag
    jobs_of_tag = collections.defaultdict(list)
    for jid, tag in tags.items():
        jobs_of_tag[tag].append(jid)
    # Submissions: each acknowledged one exists, once, and is the job that was asked for.
    acked = [a for a in t.attempts if a["acked"]]
    lost = duplicated = 0
    for a in acked:
        j = by_id.get(a["id"])
        if j is None:
            lost += 1
            t.violation("lost: %s submission to %s acknowledged as %s is not in the store"
                        % (a["method"], a["target"], a["id"]))
        elif tags[a["id"]] != a["tag"] and not (a["key"] and j["key"] == a["key"]):
            t.violation("submission %s (%s) was answered %s, a job submitted with tag %s"
                        % (a["tag"], a["method"], a["id"], tags[a["id"]]))
    for tag, ids in jobs_of_tag.items():
        if len(ids) > 1:
            duplicated += len(ids) - 1
            t.violation("duplicated: one submission (tag %s) is %d jobs: %s" % (tag, len(ids), ", ".join(ids)))
    known_tags = {a["tag"] for a in t.attempts}
    for jid, tag in tags.items():
        if tag not in known_tags:
            t.violation("job %s has tag %s, which no submission sent" % (jid, tag))
    jobs_of_key = collections.defaultdict(list)
    for j in jobs:
        if j["key"]:
            jobs_of_key[j["key"]].append(j["id"])
    for key, ids in jobs_of_key.items():
        if len(ids) > 1:
            t.violation("idempotency key %s has %d jobs: %s" % (key, len(ids), ", ".join(ids)))
    for key, first in t.key_ids.items():
        if jobs_of_key.get(key, [first]) != [first]:
            t.violation("idempotency key %s: acknowledged as %s, the store has %s" % (key, first, jobs_of_key[key]))
    # History, and executions against the markers.
    for j in jobs:
        check_history(t, j)
        seen = t.seen.get(j["id"])
        if seen in FINAL and seen != j["state"]:
            t.violation("a client saw job %s %s, but it is stored %s (%s)"
                        % (j["id"], seen, j["state"], j["end_reason"]))
    for jid in t.seen:
        if jid not in by_id:
            t.violation("a client saw job %s, which the store does not have" % jid)
    runs, by_runtime = read_marks(t)
    for jid, n in runs.items():
        if jid not in by_id:
            t.violation("a job ran (marker) that the store does not know: %s" % jid)
        elif n > 1:
            t.violation("job %s ran %d times (%s, now %s, end_reason %r)"
                        % (jid, n, by_id[jid]["runtime"], by_id[jid]["state"], by_id[jid]["end_reason"]))
    for j in jobs:
        if j["state"] == "FINISHED" and j["id"] not in runs:
            t.violation("job %s FINISHED but never ran (no marker)" % j["id"])
        # A named context whose worker died restarts (context.max-restarts is unbounded here), and
        # its queued jobs wait for it (docs/runtimes.md): none may be failed for the context's absence.
        if (j.get("error") or {}).get("errorClass") == "sjs.ContextNotRunning" and not j["adhoc"]:
            t.violation("job %s (%s) ended ERROR sjs.ContextNotRunning: handed to its context's dead worker "
                        "instead of waiting for the restart" % (j["id"], j["context"]))
    resent = check_idempotency(t, c, jobs)
    referenced = {}
    for b in c.call("binary.list")["binaries"]:
        for v in c.call("binary.show", {"name": b["name"]})["versions"]:
            referenced[v["sha256"]] = "%s v%d" % (v["name"], v["version"])
    c.close()
    t.stop_daemon()
    blobs, leftovers, unreferenced = check_store(t, referenced)
    run_dirs = len(os.listdir(os.path.join(t.home, "run"))) if os.path.isdir(os.path.join(t.home, "run")) else 0
    for s in stray_processes(t, set(by_id)):
        t.violation("still alive after sjsd stopped: " + s)
    states = collections.Counter(j["state"] for j in jobs)
    reasons = collections.Counter(j["end_reason"] for j in jobs if j["end_reason"])
    errors = collections.Counter((j.get("error") or {}).get("errorClass") for j in jobs if j["state"] != "FINISHED")
    return {"jobs": len(jobs), "acked": len(acked), "lost": lost, "duplicated": duplicated,
            "executions": sum(runs.values()), "by_runtime": dict(by_runtime), "states": dict(states),
            "end_reasons": dict(reasons), "errors": dict(errors), "keys": len(t.key_ids), "keys_resent": resent,
            "blobs": blobs, "blob_leftovers": leftovers, "blobs_unreferenced": unreferenced,
            "versions": len(referenced), "run_dirs": run_dirs}
