#!/usr/bin/env python3
"""One-shot tools sjsd runs on Python binaries. They never import or run the user's code.

    python3 sjs_tools.py check FILE DISPLAY_NAME
        Compile check of a .py upload. Prints one JSON line: {"ok": true}, or {"ok": false, "file":
        DISPLAY_NAME, "line": N, "column": N, "message": "invalid syntax", "text": "the offending line"}.
        Exits 0 either way.

    python3 sjs_tools.py steps FILE TYPE BINARY_NAME        (TYPE: py, wheel or egg)
        Lists a step library's steps by static analysis (ast): functions decorated @step,
        @step("name"), @sjs.step or @sjs.step("name") in the .py file, or in every .py in the zip.
        Prints one JSON line: {"ok": true, "steps": [{"name", "function", "module", "params", "doc"}]}
        sorted by name, or {"ok": false, "message": "..."}. Exits 0 either way.

Exit status 2 for a usage error, 1 if the tool itself failed. Standard library only, Python >= 3.8.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import zipfile


def _print(obj):
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def check(path, display):
    """{"ok": true} or where the first syntax error is."""
    with open(path, "rb") as f:
        source = f.read()
    try:
        compile(source, display, "exec", dont_inherit=True)
    except SyntaxError as e:
        text = e.text
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return {"ok": False, "file": display, "line": e.lineno or 0, "column": e.offset or 0,
                "message": e.msg or "invalid syntax", "text": (text or "").rstrip("\r\n")}
    except ValueError as e:  # null bytes (before 3.12)
        return {"ok": False, "file": display, "line": 0, "column": 0, "message": str(e), "text": ""}
    return {"ok": True}


def module_name_for(binary_name):
    """The module name of a single-.py binary, as the runner names it (sjs/_runner/namespaces.py)."""
    name = re.sub(r"\W", "_", binary_name or "", flags=re.ASCII) or "_"
    return "_" + name if name[0].isdigit() else name


def _ident(s):
    return bool(re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", s))


def _step_name(decorator, fn_name):
    """The step name a decorator registers, or None if it is not @step / @sjs.step."""
    def is_step(node):
        return (isinstance(node, ast.Name) and node.id == "step") or (
            isinstance(node, ast.Attribute) and node.attr == "step"
            and isinstance(node.value, ast.Name) and node.value.id == "sjs")
    if is_step(decorator):
        return fn_name
    if isinstance(decorator, ast.Call) and is_step(decorator.func):
        args = list(decorator.args) + [k.value for k in decorator.keywords if k.arg in ("name", "name_or_function")]
        if not args:
            return fn_name
        if isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
            return args[0].value
        if sys.version_info < (3, 8) and isinstance(args[0], ast.Str):  # Python 3.7's string node
            return args[0].s
        return fn_name
    return None


def _segment(source, node):
    """The source text of an expression (a default value)."""
    get = getattr(ast, "get_source_segment", None)  # Python 3.8+
    if get is not None:
        text = get(source, node)
        if text is not None:
            return text
    try:
        return repr(ast.literal_eval(node))
    except ValueError:
        return getattr(node, "id", "...")


def _params(fn, source):
    a = fn.args
    positional = list(getattr(a, "posonlyargs", [])) + list(a.args)
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    out = []
    for arg, default in list(zip(positional, defaults))[2:]:
        out.append(arg.arg if default is None else "%s=%s" % (arg.arg, _segment(source, default)))
    if a.vararg is not None:
        out.append("*" + a.vararg.arg)
    for arg, default in zip(a.kwonlyargs, a.kw_defaults):
        out.append(arg.arg if default is None else "%s=%s" % (arg.arg, _segment(source, default)))
    if a.kwarg is not None:
        out.append("**" + a.kwarg.arg)
    return out


def steps_of_source(source, module, filename):
    """The steps of one module's source (bytes or str)."""
    if isinstance(source, bytes):
        import importlib.util
        source = importlib.util.decode_source(source)
    tree = ast.parse(source, filename)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for d in node.decorator_list:
            name = _step_name(d, node.name)
            if name is not None:
                doc = ast.get_docstring(node) or ""
                first = next((line.strip() for line in doc.splitlines() if line.strip()), "")
                found.append({"name": name, "function": node.name, "module": module,
                              "params": _params(node, source), "doc": first})
                break
    return found


def steps(path, type_, binary_name):
    """{"ok": true, "steps": [...]} or {"ok": false, "message": ...}."""
    found = []
    try:
        if type_ == "py" and not zipfile.is_zipfile(path):
            with open(path, "rb") as f:
                found = steps_of_source(f.read(), module_name_for(binary_name), binary_name + ".py")
        else:
            if not zipfile.is_zipfile(path):
                return {"ok": False, "message": 'binary "%s" is not a zip archive (a %s)' % (binary_name, type_)}
            with zipfile.ZipFile(path) as z:
                for inner in sorted(z.namelist()):
                    if not inner.endswith(".py"):
                        continue
                    parts = inner.split("/")
                    stem, dirs = parts[-1][:-3], parts[:-1]
                    if not all(_ident(p) for p in dirs) or not _ident(stem):
                        continue
                    module = ".".join(dirs if stem == "__init__" else dirs + [stem])
                    if not module:
                        continue
                    found += steps_of_source(z.read(inner), module, inner)
    except SyntaxError as e:
        return {"ok": False, "message": 'binary "%s": %s line %s: %s' % (binary_name, e.filename, e.lineno, e.msg)}
    except (OSError, zipfile.BadZipFile, ValueError) as e:
        return {"ok": False, "message": 'binary "%s" cannot be read: %s' % (binary_name, e)}
    if not found:
        return {"ok": False,
                "message": 'binary "%s" has no steps: decorate functions with @step (from sjs import step)'
                           % binary_name}
    found.sort(key=lambda s: (s["name"], s["module"]))
    return {"ok": True, "steps": found}


def main(argv):
    if len(argv) == 3 and argv[0] == "check":
        _print(check(argv[1], argv[2]))
        return 0
    if len(argv) == 4 and argv[0] == "steps" and argv[2] in ("py", "wheel", "egg"):
        _print(steps(argv[1], argv[2], argv[3]))
        return 0
    sys.stderr.write("usage: sjs_tools.py check FILE DISPLAY_NAME\n"
                     "       sjs_tools.py steps FILE py|wheel|egg BINARY_NAME\n")
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as e:  # noqa: BLE001
        sys.stderr.write("sjs_tools: %s: %s\n" % (type(e).__name__, e))
        sys.exit(1)
