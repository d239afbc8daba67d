"""Import namespaces: one per distinct set of binaries (the tuple of their sha256 and names).

Modules of a namespace live in the namespace's own dict, never in sys.modules, so two versions of
a binary (a re-upload) never see each other's modules, a running job keeps the modules it started
with, and the next job of a new version gets fresh ones without a restart. Each such module has
`__sjs_namespace__` in its globals; the builtins.__import__ wrapper installed by install() sends the
imports made FROM such a module to its namespace when the top-level name is one its binaries
provide, and everything else (stdlib, site-packages, pyspark, sjs) to the normal import.

Limits: importlib.import_module() and __import__ calls made by code outside the namespace (a
library in site-packages importing a job's module by name) do not see the namespace; pickle cannot
find classes of namespace modules by name; source only (no .pyc-only eggs, no C extensions in
wheels).
"""

from __future__ import annotations

import builtins
import importlib.machinery
import importlib.util
import os
import re
import threading
import types
import zipfile

MARKER = "__sjs_namespace__"
_original_import = builtins.__import__


class BadBinary(Exception):
    """A binary that cannot be used (unreadable, not a .py nor a zip)."""


def module_name_for(binary_name):
    """The module name of a single-.py binary: its name with non-identifier characters as '_'."""
    name = re.sub(r"\W", "_", binary_name or "", flags=re.ASCII)
    if not name:
        name = "_"
    if name[0].isdigit():
        name = "_" + name
    return name


def _ident(s):
    return bool(re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", s))


class Binary:
    """One binary of a run: {name, version, sha256, path}, and the modules it provides."""

    def __init__(self, name, version, sha256, path):
        self.name = name
        self.version = version
        self.sha256 = sha256
        self.path = path
        self.is_zip = False
        # module full name -> (is_package, inner path in the zip or None for an implicit package)
        self.modules = {}
        self._indexed = False

    def label(self):
        return "%s v%s" % (self.name, self.version) if self.version not in (None, "") else str(self.name)

    def index(self):
        if self._indexed:
            return
        if not self.path or not os.path.isfile(self.path):
            raise BadBinary("binary %s: its file %s is missing" % (self.label(), self.path))
        self.is_zip = zipfile.is_zipfile(self.path)
        if self.is_zip:
            try:
                with zipfile.ZipFile(self.path) as z:
                    names = z.namelist()
            except (OSError, zipfile.BadZipFile) as e:
                raise BadBinary("binary %s is not a readable zip: %s" % (self.label(), e))
            for inner in names:
                if not inner.endswith(".py"):
                    continue
                parts = inner.split("/")
                stem = parts[-1][:-3]
                dirs = parts[:-1]
                if not all(_ident(p) for p in dirs) or not _ident(stem):
                    continue  # EGG-INFO/, x.dist-info/, data dirs
                for i in range(1, len(dirs) + 1):  # implicit (namespace) packages
                    self.modules.setdefault(".".join(dirs[:i]), (True, None))
                if stem == "__init__":
                    if dirs:
                        self.modules[".".join(dirs)] = (True, inner)
                else:
                    self.modules[".".join(dirs + [stem])] = (False, inner)
        else:
            self.modules[module_name_for(self.name)] = (False, None)
        self._indexed = True

    def top_levels(self):
        return sorted({m.split(".")[0] for m in self.modules})

    def source(self, fullname):
        """(source bytes or None, filename) of one of its modules."""
        is_pkg, inner = self.modules[fullname]
        if not self.is_zip:
            with open(self.path, "rb") as f:
                return f.read(), self.path
        if inner is None:
            return None, self.path + "/" + fullname.replace(".", "/")
        with zipfile.ZipFile(self.path) as z:
            return z.read(inner), self.path + "/" + inner


class _Loader:
    """The __loader__ of namespace modules: lets linecache (tracebacks) and inspect find sources."""

    def __init__(self, namespace):
        self._ns = namespace

    def get_source(self, fullname):
        b = self._ns.binary_of(fullname)
        if b is None:
            return None
        src, _ = b.source(fullname)
        return None if src is None else importlib.util.decode_source(src)

    def is_package(self, fullname):
        b = self._ns.binary_of(fullname)
        return b is not None and b.modules[fullname][0]


class Namespace:
    """The modules of one set of binaries."""

    def __init__(self, binaries):
        self.binaries = binaries
        for b in binaries:
            b.index()
        self.provides = {}  # top-level name -> the first binary providing it
        for b in binaries:
            for top in b.top_levels():
                self.provides.setdefault(top, b)
        self.modules = {}
        self._lock = threading.RLock()
        self._loader = _Loader(self)

    def labels(self):
        return ", ".join(b.label() for b in self.binaries)

    def binary_of(self, fullname):
        b = self.provides.get(fullname.split(".")[0])
        return b if b is not None and fullname in b.modules else None

    def import_module(self, fullname):
        """The module `fullname` of this namespace, imported (with its parents) if needed."""
        with self._lock:
            mod = self.modules.get(fullname)
            if mod is not None:
                return mod
            parent_name, _, child = fullname.rpartition(".")
            parent = self.import_module(parent_name) if parent_name else None
            mod = self.modules.get(fullname)  # the parent's __init__ may have imported it
            if mod is not None:
                return mod
            b = self.binary_of(fullname)
            if b is None:
                raise ModuleNotFoundError("No module named %r" % fullname, name=fullname)
            is_pkg, _ = b.modules[fullname]
            src, filename = b.source(fullname)
            mod = types.ModuleType(fullname)
            mod.__file__ = filename
            mod.__loader__ = self._loader
            mod.__package__ = fullname if is_pkg else parent_name
            mod.__spec__ = importlib.machinery.ModuleSpec(fullname, self._loader, origin=filename, is_package=is_pkg)
            if is_pkg:
                mod.__path__ = [filename if src is None else os.path.dirname(filename)]
            setattr(mod, MARKER, self)
            self.modules[fullname] = mod
            try:
                if src is not None:
                    exec(compile(src, filename, "exec", dont_inherit=True), mod.__dict__)  # noqa: S102
            except BaseException:
                self.modules.pop(fullname, None)
                raise
            if parent is not None:
                setattr(parent, child, mod)
            return mod

    def import_from(self, name, globals_, fromlist, level):
        """builtins.__import__ for a statement inside one of this namespace's modules."""
        if level > 0:
            package = globals_.get("__package__")
            if package is None:
                package = globals_["__name__"] if "__path__" in globals_ else globals_["__name__"].rpartition(".")[0]
            bits = package.rsplit(".", level - 1)
            if len(bits) < level or not package:
                raise ImportError("attempted relative import beyond top-level package")
            absname = bits[0] + "." + name if name else bits[0]
        else:
            absname = name
        if absname.split(".")[0] not in self.provides:
            if level > 0:
                raise ModuleNotFoundError("No module named %r" % absname, name=absname)
            return _original_import(name, globals_, None, fromlist, 0)
        module = self.import_module(absname)
        if not fromlist:
            if level == 0:
                return self.modules[absname.split(".")[0]]
            return module
        if hasattr(module, "__path__"):
            for x in fromlist:
                if x == "*":
                    for y in getattr(module, "__all__", ()):
                        self._sub(module, absname, y)
                else:
                    self._sub(module, absname, x)
        return module

    def _sub(self, module, absname, x):
        if hasattr(module, x):
            return
        try:
            self.import_module(absname + "." + x)
        except ModuleNotFoundError as e:
            if e.name != absname + "." + x:
                raise


def _sjs_import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002 (builtins' names)
    ns = None
    if globals is not None:
        try:
            ns = globals.get(MARKER)
        except Exception:  # noqa: BLE001 (not a dict)
            ns = None
    if ns is None:
        return _original_import(name, globals, locals, fromlist, level)
    return ns.import_from(name, globals, fromlist, level)


class Namespaces:
    """Every namespace of the runner, by the tuple of its binaries' (sha256, name)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_key = {}

    def get(self, binaries):
        # the name counts too: a single .py's module is named after its binary
        key = tuple((b.sha256 or b.path or "", b.name) for b in binaries)
        with self._lock:
            ns = self._by_key.get(key)
            if ns is None:
                ns = Namespace(binaries)
                self._by_key[key] = ns
            return ns


def install():
    """Installs the import wrapper, once."""
    if builtins.__import__ is not _sjs_import:
        builtins.__import__ = _sjs_import
