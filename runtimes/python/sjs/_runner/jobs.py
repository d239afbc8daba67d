"""One run of one job on its own thread: load, validate, run, report exactly one end."""

from __future__ import annotations

import os
import threading

import sjs

from . import failures as F
from . import frames, output, pipeline
from .namespaces import BadBinary, module_name_for
from .results import to_json

_MAX_LINE = 1 << 20  # a longer log line is cut


def _set_async_exc(tid, exc):
    import ctypes
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), ctypes.py_object(exc) if exc else None)


class LoadingFailure(Exception):
    """Carries a `failed` message of kind loading out of the entry resolution."""

    def __init__(self, msg):
        super().__init__(msg["error"]["message"])
        self.msg = msg


class JobRun:
    """A run: the thread `sjs-job-<id>`, its cancel flag and its log."""

    def __init__(self, worker, job_ref, entry, binaries, config, context_name, steps):
        self.worker = worker
        self.job_ref = job_ref  # echoed as sent
        self.job_id = str(job_ref)
        self.entry = entry
        self.binaries = binaries
        self.config = sjs.Config(config)
        self.context_name = context_name
        self.steps = steps
        self.cancel_event = threading.Event()
        self.thread = threading.Thread(target=self._main, name="sjs-job-" + self.job_id, daemon=True)
        self._gate = threading.Lock()  # orders user-code entry/exit against an asynchronous cancel
        self._in_user = False
        self._async_sent = False
        self._tid = None
        self._done = False
        self._send_lock = threading.Lock()  # orders "done" against late log lines
        self._partial = {}
        self.cluster_token = ""  # the run message's cluster_token: the credential of its partition servers

    def start(self):
        self.thread.start()

    # ------------------------------------------------------------------ from other threads

    def cancel(self):
        """Flag, close the job's partition servers, cancel the Spark job group, and raise JobCancelled in the
        job's thread if it is in job code."""
        self.cancel_event.set()
        self.worker.clusters.cancel_job(self.job_id)
        self.worker.spark.cancel_job_group(self.job_id)
        import ctypes  # noqa: F401 (loaded here, not under the gate)
        with self._gate:
            if self._in_user and not self._async_sent and self._tid is not None:
                self._async_sent = True
                _set_async_exc(self._tid, sjs.JobCancelled)

    def log_line(self, text):
        """One line of the job's log; after the job's end it goes to the context log."""
        if len(text) > _MAX_LINE:
            text = text[:_MAX_LINE] + " ... (line cut at %d characters)" % _MAX_LINE
        with self._send_lock:
            if not self._done:
                self.worker.send({"type": "log", "job": self.job_ref, "data": text})
                return
        output.runner_log("job %s (ended): %s" % (self.job_id, text))

    def write_output(self, key, s):
        """print() and sys.stdout/stderr writes of the job's thread: whole lines become log lines."""
        buf = self._partial.get(key, "") + s
        if "\n" not in buf and len(buf) < _MAX_LINE:
            self._partial[key] = buf
            return
        lines = buf.split("\n")
        self._partial[key] = lines[-1]
        for line in lines[:-1]:
            self.log_line(line[:-1] if line.endswith("\r") else line)
        if len(self._partial[key]) >= _MAX_LINE:
            self.log_line(self._partial.pop(key))

    def progress(self, value, message):
        m = {"type": "progress", "job": self.job_ref, "value": value}
        if message is not None:
            m["message"] = message
        with self._send_lock:
            if not self._done:
                self.worker.send(m)

    # ------------------------------------------------------------------ on the job's thread

    def user(self, fn, *args):
        """Calls job code; only while it runs may a cancel raise JobCancelled asynchronously."""
        with self._gate:
            if self.cancel_event.is_set():
                raise sjs.JobCancelled("job %s was cancelled" % self.job_id)
            self._in_user = True
        try:
            return fn(*args)
        finally:
            with self._gate:
                self._in_user = False
                if self._async_sent:
                    _set_async_exc(self._tid, None)  # not delivered yet: it must not hit the runner

    def started(self):
        self.worker.send({"type": "started", "job": self.job_ref})

    def killed(self, e=None):
        msg = "job %s was cancelled" % self.job_id
        if e is None:
            return F.failed(self.job_ref, F.KILLED, msg, "sjs.JobCancelled")
        return F.failed(self.job_ref, F.KILLED, msg, F.class_name(e), F.stack(e))

    def validation_failed(self, problems, error_class="sjs.ValidationFailed", summary=None):
        text = summary or "; ".join(problems)
        return F.failed(self.job_ref, F.VALIDATION, "VALIDATION FAILED: " + text, error_class, problems)

    def make_context(self):
        spark = self.worker.spark
        return sjs.JobContext(self.job_id, self.context_name, self.config, self.worker.objects, self.log_line,
                              self.progress, self.cancel_event, spark.session, spark.sc,
                              self.worker.clusters.for_run(self))

    def _main(self):
        self._tid = threading.get_ident()
        output.bind(self)
        try:
            try:
                outcome = self._execute()
            finally:
                self.worker.spark.clear_job_group()
        except BaseException as e:  # noqa: BLE001 (a job's or our own failure must still end the run)
            outcome = self.killed(e) if self.cancel_event.is_set() else F.from_exception(self.job_ref, F.ERROR, e)
        # a cluster the job left serving (serve_partitions on a thread of its own) ends with the job
        self.worker.clusters.cancel_job(self.job_id, "the job ended before its cluster was stopped")
        try:
            for key in list(self._partial):
                rest = self._partial.pop(key)
                if rest:
                    self.log_line(rest)
        finally:
            output.unbind()
        with self._send_lock:
            self._done = True
            self._finish(outcome)
        self.worker.ended(self)

    def _finish(self, outcome):
        try:
            frame = frames.encode(outcome)
        except frames.TooLarge as e:
            frame = frames.encode(F.failed(self.job_ref, F.ERROR, "the job's result is too large to send: %s" % e,
                                           "sjs.ResultTooLarge"))
        except Exception as e:  # noqa: BLE001
            frame = frames.encode(F.from_exception(self.job_ref, F.ERROR, e, "cannot send the job's result: "))
        self.worker.send_frame(frame)

    def _execute(self):
        # 1. the binaries' import namespace
        ns = None
        if self.binaries:
            try:
                ns = self.worker.namespaces.get(self.binaries)
            except BadBinary as e:
                return F.failed(self.job_ref, F.LOADING, str(e), "sjs.BadBinary")
            except Exception as e:  # noqa: BLE001
                return F.from_exception(self.job_ref, F.LOADING, e, "cannot read the binaries: ")
            self.worker.spark.add_binaries(ns.binaries, module_name_for)
        self.worker.spark.set_job_group(self.job_id)  # Spark work of validate() belongs to the job too
        if self.steps is not None:
            return pipeline.run(self, ns)
        # 2. the entry
        try:
            target, where = self._resolve(ns)
        except LoadingFailure as f:
            return f.msg
        if self.cancel_event.is_set():
            return self.killed()
        if isinstance(target, type):
            return self._run_class(target, where)
        ctx = self.make_context()
        self.started()
        try:
            result = self.user(target, ctx, self.config)
        except BaseException as e:  # noqa: BLE001
            return self.killed(e) if self.cancel_event.is_set() else F.from_exception(self.job_ref, F.ERROR, e)
        return self._result(result)

    def _result(self, result):
        if self.cancel_event.is_set():
            return self.killed()
        try:
            value = to_json(result)
        except Exception as e:  # noqa: BLE001
            return F.from_exception(self.job_ref, F.ERROR, e, "cannot convert the job's result to JSON: ")
        return {"type": "finished", "job": self.job_ref, "result": value}

    # ------------------------------------------------------------------ class jobs

    def _run_class(self, cls, name):
        sjs_style = _is_spark_job(cls)
        if not sjs_style and not callable(getattr(cls, "run", None)):
            return F.failed(self.job_ref, F.LOADING, "class %s has no run(ctx, config) method (nor spark-jobserver's "
                            "run_job(context, runtime, data))" % name, "sjs.NotAJob")
        try:
            job = self.user(cls)
        except BaseException as e:  # noqa: BLE001
            if self.cancel_event.is_set():
                return self.killed(e)
            return F.from_exception(self.job_ref, F.LOADING, e, "the constructor of %s raised: %s: "
                                    % (name, F.class_name(e)))
        if sjs_style:
            return self._run_spark_job(job)
        ctx = self.make_context()
        validate = getattr(job, "validate", None)
        if callable(validate):
            try:
                problems = _problems(self.user(validate, ctx, self.config))
            except BaseException as e:  # noqa: BLE001
                if self.cancel_event.is_set():
                    return self.killed(e)
                return self.validation_failed([F.message(e)], F.class_name(e))
            if problems:
                return self.validation_failed(problems)
        self.started()
        try:
            result = self.user(job.run, ctx, self.config)
        except BaseException as e:  # noqa: BLE001
            return self.killed(e) if self.cancel_event.is_set() else F.from_exception(self.job_ref, F.ERROR, e)
        return self._result(result)

    def _run_spark_job(self, job):
        """spark-jobserver's way: validate(context, runtime, config) -> data or problems; run_job(...)."""
        from sparkjobserver import api
        context = self.worker.spark.context_for(self.worker.context_factory)
        runtime = api.JobEnvironment(self.job_id, api.NamedObjects(self.worker.objects), _context_config())
        try:
            data = self.user(job.validate, context, runtime, self.config)
        except BaseException as e:  # noqa: BLE001
            if self.cancel_event.is_set():
                return self.killed(e)
            return self.validation_failed([F.message(e)], F.class_name(e))
        if api.is_problems(data):
            return self.validation_failed([str(getattr(p, "problem", p)) for p in data])
        self.started()
        try:
            result = self.user(job.run_job, context, runtime, data)
        except BaseException as e:  # noqa: BLE001
            return self.killed(e) if self.cancel_event.is_set() else F.from_exception(self.job_ref, F.ERROR, e)
        return self._result(result)

    # ------------------------------------------------------------------ the entry

    def _loading(self, message, error_class, e=None):
        return LoadingFailure(F.failed(self.job_ref, F.LOADING, message, error_class, F.stack(e) if e else []))

    def _resolve(self, ns):
        """(the function or class the entry names, its display name); LoadingFailure otherwise."""
        import inspect
        entry = self.entry or ""
        where = ("binaries " + ns.labels()) if ns is not None else "the runner's path"
        if not entry:
            raise self._loading("the run names no entry: use package.module:function or package.module.ClassName",
                                "sjs.NoEntry")
        if ":" in entry:
            modname, attr, form = entry.partition(":")[0], entry.partition(":")[2], "function"
        elif "." in entry:
            modname, _, attr = entry.rpartition(".")
            form = "class"
        else:
            if ns is None or ns.binaries[0].is_zip:
                raise self._loading('entry "%s" names no module: use package.module:function or '
                                    'package.module.ClassName (%s)' % (entry, where), "sjs.NoEntry")
            modname, attr, form = module_name_for(ns.binaries[0].name), entry, "function or class"
        module = self._import(ns, modname, where)
        target = getattr(module, attr, None) if attr and "." not in attr else None
        if target is None:
            kinds = {"function": inspect.isfunction, "class": inspect.isclass}.get(
                form, lambda v: inspect.isfunction(v) or inspect.isclass(v))
            found = sorted(n for n, v in vars(module).items()
                           if not n.startswith("_") and kinds(v) and getattr(v, "__module__", None) == module.__name__)
            raise self._loading('module "%s" has no %s "%s"; it has: %s'
                                % (modname, form, attr, ", ".join(found) if found else "no %s" % (
                                    "functions" if form == "function" else "classes" if form == "class"
                                    else "functions or classes")), "sjs.NoSuchEntry")
        if not (inspect.isclass(target) or callable(target)):
            raise self._loading('"%s" in module "%s" is not a function or a class (it is a %s)'
                                % (attr, modname, type(target).__name__), "sjs.NotAJob")
        return target, modname + "." + attr

    def _import(self, ns, modname, where):
        if ns is not None:
            if modname.split(".")[0] not in ns.provides or (ns.binary_of(modname) is None):
                have = sorted(m for b in ns.binaries for m in b.modules)
                raise self._loading('no module "%s" in %s (it has: %s)' % (modname, where, ", ".join(have[:30])),
                                    "sjs.NoSuchModule")
            try:
                return self.user(ns.import_module, modname)
            except BaseException as e:  # noqa: BLE001
                raise self._loading('cannot import module "%s" (%s): %s' % (modname, where, F.describe(e)),
                                    F.class_name(e), e)
        import importlib
        try:
            return self.user(importlib.import_module, modname)
        except ModuleNotFoundError as e:
            if e.name and (modname == e.name or modname.startswith(e.name + ".")):
                raise self._loading('no module "%s" on %s' % (modname, where), "sjs.NoSuchModule")
            raise self._loading('cannot import module "%s": %s' % (modname, F.describe(e)), F.class_name(e), e)
        except BaseException as e:  # noqa: BLE001
            raise self._loading('cannot import module "%s": %s' % (modname, F.describe(e)), F.class_name(e), e)


def _is_spark_job(cls):
    try:
        from sparkjobserver.api import SparkJob
        if issubclass(cls, SparkJob):
            return True
    except ImportError:
        pass
    return callable(getattr(cls, "run_job", None)) and not callable(getattr(cls, "run", None))


def _problems(v):
    """validate()'s answer as a list of strings: None, empty, False mean none."""
    if v is None or v is False:
        return []
    if isinstance(v, str):
        return [v] if v else []
    if isinstance(v, (list, tuple, set)):
        return [str(getattr(p, "problem", p)) for p in v]
    return [str(v)]


def _context_config():
    """The context's settings (SJS_CONTEXT_CONFIG, JSON, set by sjsd): spark-jobserver's contextConfig."""
    import json
    try:
        settings = json.loads(os.environ.get("SJS_CONTEXT_CONFIG", "{}"))
    except ValueError:
        settings = {}
    return sjs.Config(settings if isinstance(settings, dict) else {})
