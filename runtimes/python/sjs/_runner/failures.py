"""failed messages and how exceptions become their error objects."""

from __future__ import annotations

import os
import traceback

VALIDATION, LOADING, ERROR, KILLED = "validation", "loading", "error", "killed"
_INTERNAL = os.path.dirname(os.path.abspath(__file__))


def failed(job_ref, kind, message, error_class, stack=None):
    return {"type": "failed", "job": job_ref, "kind": kind,
            "error": {"message": message, "errorClass": error_class, "stack": list(stack or [])}}


def class_name(e):
    """The qualified name of an exception's type: ValueError, json.decoder.JSONDecodeError, wc.MyError."""
    t = type(e)
    module = getattr(t, "__module__", None)
    name = getattr(t, "__qualname__", t.__name__)
    return name if module in (None, "builtins", "__main__") else module + "." + name


def message(e):
    """An exception's message: str(e), its class name when that is empty, a sys.exit() said so."""
    if isinstance(e, SystemExit):
        code = e.code
        return "the job called sys.exit(%s)" % ("" if code is None else repr(code))
    try:
        text = str(e)
    except Exception:  # noqa: BLE001
        text = ""
    return text or type(e).__name__


def describe(e):
    """`Class: message`, for messages that wrap an exception."""
    if isinstance(e, SystemExit):
        return message(e)
    return "%s: %s" % (class_name(e), message(e))


def _trim(te):
    """Drops the runner's own frames from a TracebackException and its causes."""
    seen = set()
    while te is not None and id(te) not in seen:
        seen.add(id(te))
        frames = [f for f in te.stack if not os.path.abspath(f.filename).startswith(_INTERNAL + os.sep)]
        te.stack = traceback.StackSummary.from_list(frames)
        _trim(te.__cause__)
        te = te.__context__


def stack(e):
    """The traceback of an exception as lines, without the runner's own frames."""
    try:
        te = traceback.TracebackException(type(e), e, e.__traceback__)
        _trim(te)
        return "".join(te.format()).rstrip("\n").split("\n")
    except Exception:  # noqa: BLE001
        return traceback.format_exception_only(type(e), e)


def from_exception(job_ref, kind, e, prefix=""):
    return failed(job_ref, kind, prefix + message(e), class_name(e), stack(e))
