"""The sjs job API for Python jobs (docs/python.md).

A job is a function ``run(ctx, config)`` or a class with ``run(self, ctx, config)`` and an optional
``validate(self, ctx, config)``; a step of a pipeline is a function ``fn(ctx, data, *args)``
decorated with :func:`step`. The runner (runtimes/python/sjs_runner.py) builds the
:class:`JobContext` and the :class:`Config` a job receives; this package only needs the standard
library and works on Python 3.8 and later.

    from sjs import step

    def run(ctx, config):
        ctx.log.info("counting")
        ctx.progress(0.5, "half way")
        return {"n": len(config.get("input.string", "").split())}

    @step
    def words(ctx, data):
        "Split every line into words."
        return [w for line in data for w in line.split()]
"""

from __future__ import annotations

import logging
import threading
import time

__all__ = ["ClusterError", "Config", "JobCancelled", "JobContext", "JobLogger", "NamedObjects", "step", "STEP_ATTRIBUTE"]

#: The attribute the :func:`step` decorator sets on a function: the step's name.
STEP_ATTRIBUTE = "__sjs_step__"

_MISSING = object()


class JobCancelled(Exception):
    """Raised in a job that was cancelled (``sjs job kill``, a timeout, the context stopping).

    :meth:`JobContext.check_cancelled` and :meth:`JobContext.sleep` raise it; the runner also raises
    it asynchronously in the job's thread, so pure-Python loops stop. Let it propagate: the job then
    ends KILLED.
    """


class ClusterError(Exception):
    """Raised by :meth:`JobContext.serve_partitions` when its cluster cannot be opened (sjsd refused the
    name, or does not coordinate partition servers) or failed (a partition failed more than
    ``max_restarts`` times, the Spark job of the servers failed). The message says which."""


# --------------------------------------------------------------------------- config

class Config(dict):
    """A job's config: a dict of nested dicts (also Configs) and lists, with dotted-path access.

    ``config["input"]["string"]``, ``config.get("input.string", "default")``, ``"input.string" in
    config`` and ``config["input.string"]`` all work. A key that itself holds dots (``{"a.b": 1}``)
    is found first. The typed getters (:meth:`get_string`, :meth:`get_int`, ...) follow pyhocon's
    ``ConfigTree`` names, so spark-jobserver jobs read their config unchanged.
    """

    def __init__(self, *args, **kwargs):
        super().__init__()
        for k, v in dict(*args, **kwargs).items():
            super().__setitem__(k, _wrap(v))

    def _lookup(self, path):
        if dict.__contains__(self, path):
            return dict.__getitem__(self, path)
        if not isinstance(path, str):
            return _MISSING
        start = 0
        while True:
            i = path.find(".", start)
            if i < 0:
                return _MISSING
            head, rest = path[:i], path[i + 1:]
            if dict.__contains__(self, head):
                sub = dict.__getitem__(self, head)
                if isinstance(sub, Config):
                    found = sub._lookup(rest)
                    if found is not _MISSING:
                        return found
            start = i + 1

    def __getitem__(self, key):
        value = self._lookup(key)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __contains__(self, key):
        return self._lookup(key) is not _MISSING

    def __setitem__(self, key, value):
        super().__setitem__(key, _wrap(value))

    def get(self, key, default=None):
        """The value at a key or dotted path (``"a.b.c"``), or ``default`` when there is none."""
        value = self._lookup(key)
        return default if value is _MISSING else value

    def _typed(self, key, default, convert, what):
        value = self._lookup(key)
        if value is _MISSING or value is None:
            if default is _MISSING:
                raise KeyError("missing config key: %s" % key)
            return default
        try:
            return convert(value)
        except (TypeError, ValueError):
            raise ValueError("config key %s is not %s: %r" % (key, what, value))

    def get_string(self, key, default=_MISSING):
        """The value as a string (numbers and booleans converted); KeyError if absent and no default."""
        return self._typed(key, default, _to_string, "a string")

    def get_int(self, key, default=_MISSING):
        """The value as an int ("42" and 7.9 are accepted: 42, 7); KeyError if absent and no default."""
        return self._typed(key, default, lambda v: int(float(v)) if not isinstance(v, bool) else _bad(v), "a number")

    def get_float(self, key, default=_MISSING):
        """The value as a float; KeyError if absent and no default."""
        return self._typed(key, default, lambda v: float(v) if not isinstance(v, bool) else _bad(v), "a number")

    def get_bool(self, key, default=_MISSING):
        """The value as a bool (true/false, yes/no, on/off, 1/0); KeyError if absent and no default."""
        return self._typed(key, default, _to_bool, "a boolean")

    def get_list(self, key, default=_MISSING):
        """The value as a list; KeyError if absent and no default."""
        return self._typed(key, default, lambda v: v if isinstance(v, list) else _bad(v), "a list")

    def get_config(self, key, default=_MISSING):
        """The value as a Config (a nested object); KeyError if absent and no default."""
        return self._typed(key, default, lambda v: v if isinstance(v, Config) else _bad(v), "an object")

    def to_dict(self):
        """A plain copy: dicts and lists all the way down."""
        return _unwrap(self)


def _bad(v):
    raise ValueError(v)


def _to_string(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        raise ValueError(v)
    return str(v)


def _to_bool(v):
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("true", "yes", "on", "1"):
        return True
    if s in ("false", "no", "off", "0"):
        return False
    raise ValueError(v)


def _wrap(v):
    if isinstance(v, Config):
        return v
    if isinstance(v, dict):
        return Config(v)
    if isinstance(v, list):
        return [_wrap(x) for x in v]
    return v


def _unwrap(v):
    if isinstance(v, dict):
        return {k: _unwrap(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_unwrap(x) for x in v]
    return v


# --------------------------------------------------------------------------- named objects

class _Creation:
    """One get_or_create creator running; its waiters wait on `done`."""

    def __init__(self):
        self.done = threading.Event()
        self.thread = threading.current_thread()
        self.value = None
        self.error = None


class NamedObjects:
    """The named objects of a context: values that outlive a job, shared by every job of the context
    (the same Python objects, not copies) until the context stops or they are forgotten.

    ``ctx.objects`` is the context's one instance. Thread-safe. ``None`` is never stored: putting
    ``None`` forgets the name.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._values = {}
        self._creating = {}

    def get(self, name, default=None):
        """The object stored under ``name``, or ``default``."""
        with self._lock:
            return self._values.get(name, default)

    def put(self, name, value):
        """Stores ``value`` under ``name``, replacing any previous one; ``None`` forgets the name."""
        if not isinstance(name, str):
            raise TypeError("a named object's name must be a string, not %s" % type(name).__name__)
        with self._lock:
            if value is None:
                self._values.pop(name, None)
            else:
                self._values[name] = value

    def get_or_create(self, name, factory, timeout=None):
        """The object stored under ``name``, creating it with ``factory()`` if absent.

        For a given name one creator runs at a time (on the first caller's thread); concurrent callers
        wait for its value (up to ``timeout`` seconds, then TimeoutError). If the factory raises, the
        creator and every waiter get that exception and nothing is stored. A ``None`` value is returned
        but not stored. If the creator's job is cancelled, a waiter takes over the creation.
        """
        if not isinstance(name, str):
            raise TypeError("a named object's name must be a string, not %s" % type(name).__name__)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                if name in self._values:
                    return self._values[name]
                creation = self._creating.get(name)
                mine = creation is None
                if mine:
                    creation = self._creating[name] = _Creation()
            if mine:
                try:
                    creation.value = factory()
                except BaseException as e:
                    creation.error = e
                    raise
                finally:
                    with self._lock:
                        self._creating.pop(name, None)
                        if creation.error is None and creation.value is not None:
                            self._values[name] = creation.value
                    creation.done.set()
                return creation.value
            # short waits, so an asynchronous cancel of the waiting job is delivered promptly
            while not creation.done.wait(0.1):
                if not creation.thread.is_alive():  # its creator was stopped before it could report
                    with self._lock:
                        if self._creating.get(name) is creation:
                            del self._creating[name]
                    creation.error = JobCancelled("the creator of %s went away" % name)
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError("timed out after %s s waiting for another job to create the named object %s"
                                       % (timeout, name))
            if isinstance(creation.error, JobCancelled):
                continue  # the creator's job was cancelled, not ours: one of the waiters creates it
            if creation.error is not None:
                raise creation.error
            return creation.value

    def forget(self, name):
        """Removes the object stored under ``name``; True if there was one."""
        with self._lock:
            return self._values.pop(name, None) is not None

    def names(self):
        """The names stored now, sorted."""
        with self._lock:
            return sorted(self._values)

    def list(self):
        """The same as :meth:`names`."""
        return self.names()

    def __contains__(self, name):
        with self._lock:
            return name in self._values


# --------------------------------------------------------------------------- the job's logger

class JobLogger:
    """Writes lines to the job's log (``sjs job log``): ``ctx.log.info("x")``, ``ctx.log("x")``.

    The methods of ``logging.Logger`` are there (debug, info, warning, error, exception, critical,
    log) with %-style arguments. INFO lines are written as they are; other levels get a prefix
    (``WARNING: ...``). DEBUG lines are dropped unless :meth:`setLevel` lowers the level.
    """

    def __init__(self, write_line):
        self._write_line = write_line
        self.level = logging.INFO

    def setLevel(self, level):  # noqa: N802 (logging.Logger's name)
        """Only lines of this level or above are written (a logging level, int or name)."""
        self.level = logging._checkLevel(level)  # noqa: SLF001

    def isEnabledFor(self, level):  # noqa: N802
        """Whether lines of this level are written."""
        return level >= self.level

    def log(self, level, msg, *args, exc_info=None, **_ignored):
        """Writes ``msg % args`` at ``level``; with exc_info, the traceback too."""
        if level < self.level:
            return
        text = str(msg) % args if args else str(msg)
        if level != logging.INFO:
            text = "%s: %s" % (logging.getLevelName(level), text)
        if exc_info:
            import sys
            import traceback
            if exc_info is True:
                exc_info = sys.exc_info()
            elif isinstance(exc_info, BaseException):
                exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
            if exc_info[0] is not None:
                text += "\n" + "".join(traceback.format_exception(*exc_info)).rstrip("\n")
        for line in text.split("\n"):
            self._write_line(line)

    def debug(self, msg, *args, **kw):
        """Writes a DEBUG line (dropped at the default level)."""
        self.log(logging.DEBUG, msg, *args, **kw)

    def info(self, msg, *args, **kw):
        """Writes a line."""
        self.log(logging.INFO, msg, *args, **kw)

    def warning(self, msg, *args, **kw):
        """Writes a ``WARNING: `` line."""
        self.log(logging.WARNING, msg, *args, **kw)

    warn = warning

    def error(self, msg, *args, **kw):
        """Writes an ``ERROR: `` line."""
        self.log(logging.ERROR, msg, *args, **kw)

    def exception(self, msg, *args, **kw):
        """Writes an ``ERROR: `` line and the traceback of the exception being handled."""
        kw.setdefault("exc_info", True)
        self.log(logging.ERROR, msg, *args, **kw)

    def critical(self, msg, *args, **kw):
        """Writes a ``CRITICAL: `` line."""
        self.log(logging.CRITICAL, msg, *args, **kw)

    def __call__(self, msg, *args):
        """``ctx.log("x")`` is ``ctx.log.info("x")``."""
        self.log(logging.INFO, msg, *args)


# --------------------------------------------------------------------------- the job context

class JobContext:
    """What a job gets besides its config: ``run(ctx, config)``, ``fn(ctx, data, *args)``.

    Attributes: ``config`` (:class:`Config`), ``job_id``, ``context_name``, ``log``
    (:class:`JobLogger`), ``objects`` (:class:`NamedObjects`), ``spark`` (the context's
    SparkSession, or None outside a pyspark context) and ``sc`` (its SparkContext, or None).

    The runner makes one per run. To test a job outside sjs, :meth:`for_testing` makes one that
    prints its log and progress.
    """

    def __init__(self, job_id, context_name, config, objects, log_line, progress, cancel_event,
                 spark=None, sc=None, clusters=None):
        self.job_id = job_id
        self.context_name = context_name
        self.config = config if isinstance(config, Config) else Config(config or {})
        self.objects = objects
        self.log = JobLogger(log_line)
        self.spark = spark
        self.sc = sc
        self._progress = progress
        self._cancel = cancel_event
        self._clusters = clusters  # the runner's partition-server coordinator for this run (None: none)

    @classmethod
    def for_testing(cls, config=None, job_id="test", context_name="test", objects=None, spark=None, sc=None):
        """A context for running a job in a plain interpreter or a unit test: log lines and progress
        are printed, nothing is ever cancelled unless you call ``ctx._cancel.set()``."""
        def progress(value, message):
            print("[progress %d%%] %s" % (round(value * 100), message or ""))
        return cls(job_id, context_name, config or {}, objects or NamedObjects(), print, progress,
                   threading.Event(), spark, sc)

    @property
    def cancelled(self):
        """True once the job was asked to stop."""
        return self._cancel.is_set()

    def check_cancelled(self):
        """Raises :class:`JobCancelled` if the job was asked to stop."""
        if self._cancel.is_set():
            raise JobCancelled("job %s was cancelled" % self.job_id)

    def sleep(self, seconds):
        """Sleeps like ``time.sleep``, but raises :class:`JobCancelled` as soon as the job is cancelled."""
        if self._cancel.wait(max(0.0, float(seconds))):
            raise JobCancelled("job %s was cancelled" % self.job_id)

    def progress(self, value, message=None):
        """Reports progress: ``value`` from 0 to 1 (clamped; not a number is a ValueError) and an
        optional message. It goes to the job's log as ``[progress 50%] message``."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ValueError("progress must be a number from 0 to 1, not %r" % (value,))
        value = float(value)
        if value != value:
            raise ValueError("progress must be a number from 0 to 1, not NaN")
        value = min(1.0, max(0.0, value))
        self._progress(value, None if message is None else str(message))

    def serve_partitions(self, data, server, name=None, config=None, *, host=None, port=0, bind="",
                         max_restarts=3, init_partition=None):
        """Serves every partition of ``data`` with an HTTP server registered with sjsd (a **cluster**,
        docs/partition-servers.md) until the cluster is stopped (``sjs cluster stop NAME``); returns the
        list of the servers' ``result()`` values, in partition order.

        ``data``: an RDD (one Spark task per partition, registering through the runner) or a list of
        partitions, each a list or iterable of rows (one thread per partition, in the runner).
        ``server``: a class, instantiated once per partition (again at each restart) with no arguments;
        it gets ``partition`` and ``cluster`` attributes, then ``init_partition(rows, config)`` if it has
        one; the instance is a WSGI application (``__call__(self, environ, start_response)``) answering
        ``/app/...``; ``result()`` (optional) is called after it stopped. Or a ``flask.Blueprint``,
        mounted at ``/app`` on a Flask app per partition (``init_partition(rows, app, config)`` then is
        the keyword argument). ``name``: the cluster's name (default: the job id). ``host``: the host
        the servers advertise (default: env SJS_CLUSTER_HOST, else the machine's name); ``bind``: the
        interface ("" = all); ``port``: 0 = any free port, N = partition i binds N + i.
        ``max_restarts``: restarts of a crashed partition server (local mode) before the cluster fails.

        Raises ValueError (no partition, a bad name or port), TypeError (a server class without
        ``__call__``), :class:`ClusterError` (refused or failed), :class:`JobCancelled` (the job was killed:
        every server is closed). The results are also kept as the named object ``"cluster:" + name``
        (in spark mode the cached RDD of results).
        """
        if self._clusters is None:
            raise ClusterError("this sjsd does not coordinate partition servers")
        return self._clusters.serve(self, data, server, name, config, host=host, port=port, bind=bind,
                                    max_restarts=max_restarts, init_partition=init_partition)


# --------------------------------------------------------------------------- steps

def step(name_or_function=None):
    """Registers a function as a pipeline step: ``@step`` under its own name, ``@step("name")`` under
    another. A step is called ``fn(ctx, data, *args)``: the job's :class:`JobContext`, the previous
    step's output (None for the first step) and the step's own arguments from the pipeline.

        @step
        def words(ctx, data):
            "Split lines into words."
            return [w for line in data for w in line.split()]

        @step("top")
        def top_n(ctx, data, n=10):
            return sorted(data.items(), key=lambda kv: -kv[1])[:n]
    """
    if callable(name_or_function):
        setattr(name_or_function, STEP_ATTRIBUTE, name_or_function.__name__)
        return name_or_function
    if name_or_function is not None and (not isinstance(name_or_function, str) or not name_or_function):
        raise TypeError("@step takes a step name (a non-empty string), not %r" % (name_or_function,))

    def register(fn):
        setattr(fn, STEP_ATTRIBUTE, name_or_function or fn.__name__)
        return fn
    return register
