"""The context's Spark (pyspark contexts: SJS_SPARK=1), or nothing."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading

from . import output


class Spark:
    """The SparkSession and SparkContext of a pyspark context; every method is a no-op without Spark."""

    def __init__(self, session=None, sc=None):
        self.session = session
        self.sc = sc
        self._lock = threading.Lock()
        self._added = set()  # sha256 of binaries already given to sc.addPyFile
        self._dir = None
        self._sjs_zip = None  # the sjs package, zipped for the executors (serve_partitions in spark mode)

    @classmethod
    def start(cls, app_name):
        """Creates (or gets) the SparkSession. The settings are spark-submit's: those of the spark-submit
        that started the runner, or of the one pyspark starts for its gateway from PYSPARK_SUBMIT_ARGS
        when the runner runs under plain Python; without either, master local[*] and name app_name."""
        _find_pyspark()
        from pyspark import SparkConf, SparkContext
        from pyspark.sql import SparkSession
        ensure = getattr(SparkContext, "_ensure_initialized", None)
        if callable(ensure):
            ensure()  # launches (or connects to) the JVM gateway, so SparkConf() sees spark-submit's settings
        conf = SparkConf()
        builder = SparkSession.builder
        if not conf.contains("spark.master"):
            builder = builder.master("local[*]")
        if not conf.contains("spark.app.name"):
            builder = builder.appName(app_name)
        session = builder.getOrCreate()
        return cls(session, session.sparkContext)

    def present(self):
        return self.sc is not None

    def describe(self):
        """For hello: {version, master, applicationId}, all strings."""
        out = {}
        for k in ("version", "master", "applicationId"):
            try:
                out[k] = str(getattr(self.sc, k))
            except Exception as e:  # noqa: BLE001
                out[k] = "unknown (%s)" % e
        return out

    def context_for(self, factory):
        """What spark-jobserver passes a SparkJob as `context` for a context factory class name."""
        if self.sc is None:
            return None
        factory = factory or ""
        if "PythonSparkContextFactory" in factory or factory.endswith("SparkContextFactory"):
            return self.sc
        if "SQLContext" in factory:
            from pyspark.sql import SQLContext
            try:
                return SQLContext(self.sc, self.session)
            except TypeError:
                return SQLContext(self.sc)
        return self.session if self.session is not None else self.sc

    def set_job_group(self, job_id):
        if self.sc is not None:
            try:
                self.sc.setJobGroup(job_id, "sjs job " + job_id, interruptOnCancel=True)
            except Exception as e:  # noqa: BLE001
                output.runner_log("setJobGroup(%s) failed: %s" % (job_id, e))

    def clear_job_group(self):
        if self.sc is not None:
            try:
                self.sc.setLocalProperty("spark.jobGroup.id", None)
            except Exception:  # noqa: BLE001 (older or stub contexts)
                pass

    def cancel_job_group(self, job_id):
        if self.sc is not None:
            try:
                self.sc.cancelJobGroup(job_id)
            except Exception as e:  # noqa: BLE001
                output.runner_log("cancelJobGroup(%s) failed: %s" % (job_id, e))

    def add_binaries(self, binaries, module_names):
        """sc.addPyFile for each binary, once per sha256, so executors can import it. The blob has no
        extension, so it is linked under a name Spark recognises: <name>-<sha>.zip, or <module>.py."""
        if self.sc is None:
            return
        with self._lock:
            for b in binaries:
                if b.sha256 in self._added:
                    continue
                self._added.add(b.sha256)
                try:
                    if self._dir is None:
                        self._dir = tempfile.mkdtemp(prefix="sjs-pyfiles-")
                    if b.is_zip:
                        dest = os.path.join(self._dir, "%s-%s.zip" % (module_names(b.name), (b.sha256 or "x")[:16]))
                    else:
                        sub = os.path.join(self._dir, (b.sha256 or "x")[:16])
                        os.makedirs(sub, exist_ok=True)
                        dest = os.path.join(sub, module_names(b.name) + ".py")
                    if not os.path.exists(dest):
                        try:
                            os.symlink(b.path, dest)
                        except OSError:
                            shutil.copyfile(b.path, dest)
                    self.sc.addPyFile(dest)
                except Exception as e:  # noqa: BLE001 (a second .py of the same name, say)
                    output.runner_log("addPyFile for binary %s failed: %s" % (b.label(), e))

    def add_sjs_package(self):
        """sc.addPyFile of a zip of this runner's sjs package, once, so executors can import
        sjs.partitions (the task of serve_partitions is pickled by reference to it)."""
        if self.sc is None:
            return
        with self._lock:
            if self._sjs_zip is not None:
                return
            import zipfile
            root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            if self._dir is None:
                self._dir = tempfile.mkdtemp(prefix="sjs-pyfiles-")
            self._sjs_zip = os.path.join(self._dir, "sjs-package.zip")
            with zipfile.ZipFile(self._sjs_zip, "w") as z:
                for dirpath, dirnames, filenames in os.walk(os.path.join(root, "sjs")):
                    dirnames[:] = [d for d in dirnames if d != "__pycache__"]
                    for f in filenames:
                        if f.endswith(".py"):
                            full = os.path.join(dirpath, f)
                            z.write(full, os.path.relpath(full, root))
            try:
                self.sc.addPyFile(self._sjs_zip)
            except Exception as e:  # noqa: BLE001
                output.runner_log("addPyFile for the sjs package failed: %s" % e)

    def stop(self):
        if self.sc is None:
            return
        try:
            if self.session is not None:
                self.session.stop()
            else:
                self.sc.stop()
        except Exception as e:  # noqa: BLE001
            output.runner_log("stopping Spark failed: %s" % e)
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)


def _find_pyspark():
    """Puts $SPARK_HOME/python and its py4j on sys.path when pyspark is not importable as it is."""
    try:
        import pyspark  # noqa: F401
        return
    except ImportError:
        home = os.environ.get("SPARK_HOME")
        if not home:
            raise
    import glob
    extra = [os.path.join(home, "python")] + sorted(glob.glob(os.path.join(home, "python", "lib", "py4j-*-src.zip")))
    for p in reversed(extra):
        if p not in sys.path:
            sys.path.insert(1, p)
