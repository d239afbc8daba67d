"""Routes print() and logging of a job's thread to that job's log.

sys.stdout and sys.stderr become proxies: a write from a thread that runs a job goes to the job
(one `log` message per line; a partial line waits for its newline or the job's end), any other
write to the real stream (the context log). Threads a job starts itself are not followed: their
output goes to the context log. A root logging handler does the same for logging records, so
`logging.getLogger(__name__).info(...)` in a job lands in the job's log, once.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

# thread ident -> the JobRun running on it; read without a lock (dict reads are atomic)
_jobs_by_thread = {}
_real_stdout = sys.stdout
_real_stderr = sys.stderr


def bind(run):
    """The current thread runs `run` until unbind()."""
    _jobs_by_thread[threading.get_ident()] = run


def unbind():
    _jobs_by_thread.pop(threading.get_ident(), None)


def current_job():
    return _jobs_by_thread.get(threading.get_ident())


def runner_log(text):
    """A line of the runner's own to the context log."""
    try:
        _real_stderr.write("sjs-runner %s: %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), text))
        _real_stderr.flush()
    except (OSError, ValueError):
        pass


class StreamProxy:
    """Stands in for sys.stdout or sys.stderr (see the module's doc)."""

    def __init__(self, real, key):
        self._real = real
        self._key = key  # "stdout" or "stderr": each job keeps one partial line per stream

    def write(self, s):
        run = _jobs_by_thread.get(threading.get_ident())
        if run is None:
            return self._real.write(s)
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s" % type(s).__name__)
        run.write_output(self._key, s)
        return len(s)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        try:
            self._real.flush()
        except (OSError, ValueError):
            pass

    def isatty(self):
        return False

    def __getattr__(self, name):  # encoding, errors, fileno, buffer, ...
        return getattr(self._real, name)


class JobLogHandler(logging.Handler):
    """The root handler: a record from a job's thread goes to that job's log, others to the context log."""

    def __init__(self):
        super().__init__(logging.NOTSET)
        self.job_format = logging.Formatter("%(levelname)s %(name)s: %(message)s")
        self.context_format = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def emit(self, record):
        try:
            run = _jobs_by_thread.get(record.thread)
            if run is not None:
                for line in self.job_format.format(record).split("\n"):
                    run.log_line(line)
            else:
                _real_stderr.write(self.context_format.format(record) + "\n")
                _real_stderr.flush()
        except Exception:  # noqa: BLE001 (logging must never raise into the caller)
            self.handleError(record)


def install():
    """Installs the stream proxies and the root logging handler (level INFO), once, before any job."""
    global _real_stdout, _real_stderr
    if isinstance(sys.stdout, StreamProxy):
        return
    _real_stdout, _real_stderr = sys.stdout, sys.stderr
    sys.stdout = StreamProxy(_real_stdout, "stdout")
    sys.stderr = StreamProxy(_real_stderr, "stderr")
    root = logging.getLogger()
    root.addHandler(JobLogHandler())
    root.setLevel(logging.INFO)


def flush_real():
    for s in (_real_stdout, _real_stderr):
        try:
            s.flush()
        except (OSError, ValueError):
            pass
