"""Step pipelines: run.steps = [[name, arg...], ...] on the step library binaries[0]."""

from __future__ import annotations

import json
import re

import sjs

from . import failures as F


def collect_steps(ns, lib):
    """{step name: function} of the library's modules (all of its top-level modules imported first),
    and the problems found (two different functions under one name)."""
    for top in lib.top_levels():
        ns.import_module(top)
    # and every other module of the library that uses @step (sjs_tools.py lists those too)
    for modname in sorted(lib.modules):
        if modname not in ns.modules and _mentions_step(lib, modname):
            ns.import_module(modname)
    found, problems = {}, []
    for modname, mod in sorted(ns.modules.items()):
        if ns.binary_of(modname) is not lib:
            continue
        for value in list(vars(mod).values()):
            d = getattr(value, "__dict__", None)
            if not isinstance(d, dict) or not callable(value):
                continue
            name = d.get(sjs.STEP_ATTRIBUTE)
            if not isinstance(name, str):
                continue
            if name in found and found[name] is not value:
                problems.append('two functions are registered as step "%s": %s and %s'
                                % (name, _qualname(found[name]), _qualname(value)))
                continue
            found[name] = value
    return found, problems


_STEP_RE = re.compile(rb"@\s*(?:sjs\s*\.\s*)?step\b")


def _mentions_step(lib, modname):
    src, _ = lib.source(modname)
    return src is not None and _STEP_RE.search(src) is not None


def _qualname(fn):
    return "%s.%s" % (getattr(fn, "__module__", "?"), getattr(fn, "__qualname__", getattr(fn, "__name__", "?")))


def _param(p):
    import inspect
    if p.kind == p.VAR_POSITIONAL:
        return "*" + p.name
    if p.kind == p.VAR_KEYWORD:
        return "**" + p.name
    if p.default is not inspect.Parameter.empty:
        return "%s=%r" % (p.name, p.default)
    return p.name


def _plural(n):
    return "%d argument%s" % (n, "" if n == 1 else "s")


def arity_problem(fn, args):
    """None if fn(ctx, data, *args) binds; else what it takes, e.g. 'takes 1 argument (n), given 2'."""
    import inspect
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None  # a builtin without a signature: let the call decide
    try:
        sig.bind(None, None, *args)
        return None
    except TypeError:
        pass
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < 2 and not any(p.kind == p.VAR_POSITIONAL for p in params):
        return "is not a step: %s%s takes no (ctx, data, ...) parameters" % (getattr(fn, "__name__", "?"), sig)
    rest = params[2:] if len(positional) >= 2 else [p for p in params if p.kind != p.POSITIONAL_ONLY]
    shown = ", ".join(_param(p) for p in rest)
    required = len([p for p in rest if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                    and p.default is inspect.Parameter.empty])
    optional = len([p for p in rest if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                    and p.default is not inspect.Parameter.empty])
    kwonly = [p.name for p in rest if p.kind == p.KEYWORD_ONLY and p.default is inspect.Parameter.empty]
    if kwonly:
        return "needs keyword-only argument(s) %s, which a pipeline cannot give" % ", ".join(kwonly)
    if any(p.kind == p.VAR_POSITIONAL for p in rest):
        takes = "takes at least " + _plural(required)
    elif required == 0 and optional == 0:
        takes = "takes no arguments"
    elif optional and required == 0:
        takes = "takes at most " + _plural(optional)
    elif optional:
        takes = "takes %d to %d arguments" % (required, required + optional)
    else:
        takes = "takes " + _plural(required)
    return "%s%s, given %d" % (takes, " (%s)" % shown if shown else "", len(args))


def validate(steps, found, lib_name):
    """Every problem of the pipeline, each naming its step's 1-based index."""
    problems = []
    if not found:
        return ['binary "%s" has no steps: decorate functions with @step (from sjs import step)' % lib_name]
    if not steps:
        return ["the pipeline has no steps"]
    known = ", ".join(sorted(found))
    for i, item in enumerate(steps, 1):
        if not isinstance(item, list) or not item:
            problems.append('step %d: must be an array ["name", arg...], not %s' % (i, json.dumps(item)[:200]))
            continue
        name, args = item[0], item[1:]
        if not isinstance(name, str):
            problems.append("step %d: its first element must be the step's name (a string), not %s"
                            % (i, json.dumps(name)[:200]))
            continue
        fn = found.get(name)
        if fn is None:
            problems.append('step %d ("%s"): unknown step; the library has: %s' % (i, name, known))
            continue
        arity = arity_problem(fn, args)
        if arity:
            problems.append('step %d ("%s"): %s' % (i, name, arity))
    return problems


def run(job, ns):
    """Validates the whole pipeline, then runs its steps in order; the outcome message."""
    if ns is None:
        return F.failed(job.job_ref, F.LOADING, "a pipeline needs a step library: the run has no binaries",
                        "sjs.NoStepLibrary")
    lib = ns.binaries[0]
    try:
        found, problems = job.user(collect_steps, ns, lib)
    except BaseException as e:  # noqa: BLE001
        if job.cancel_event.is_set():
            return job.killed(e)
        return F.from_exception(job.job_ref, F.LOADING, e, "cannot import the step library %s: %s: "
                                % (lib.label(), F.class_name(e)))
    problems = problems + validate(job.steps, found, lib.name)
    if problems:
        summary = "%d problem%s in the pipeline: %s" % (len(problems), "" if len(problems) == 1 else "s",
                                                         "; ".join(problems))
        return job.validation_failed(problems, summary=summary)
    if job.cancel_event.is_set():
        return job.killed()
    ctx = job.make_context()
    job.started()
    n = len(job.steps)
    data = None
    for i, item in enumerate(job.steps, 1):
        name, args = item[0], item[1:]
        job.progress((i - 1) / n, "step %d/%d: %s" % (i, n, name))
        try:
            data = job.user(found[name], ctx, data, *args)
        except BaseException as e:  # noqa: BLE001
            if job.cancel_event.is_set():
                return job.killed(e)
            return F.failed(job.job_ref, F.ERROR, "step %d/%d (%s) failed: %s" % (i, n, name, F.describe(e)),
                            F.class_name(e), F.stack(e))
    return job._result(data)  # noqa: SLF001
