"""spark-jobserver's Python job API, so its jobs run unchanged on sjs's python and pyspark contexts.

A job subclasses :class:`SparkJob`: sjs calls ``validate(context, runtime, config)``, which returns
the job's data or a list made by :func:`build_problems` (VALIDATION FAILED), then
``run_job(context, runtime, data)``, whose return value is the job's result. ``context`` is what
spark-jobserver passes for the context's factory: a SparkSession
(``PythonSessionContextFactory``, or no factory), a SparkContext (``PythonSparkContextFactory``),
an SQLContext (``PythonSQLContextFactory``); None on a python context without Spark. ``runtime`` is
a :class:`JobEnvironment`; ``config`` an ``sjs.Config``, read like pyhocon's ConfigTree
(``config.get('input.strings', None)``).
"""

from __future__ import annotations

__all__ = ["JobEnvironment", "NamedObject", "NamedObjects", "SparkJob", "ValidationProblem", "build_problems",
           "is_problems"]


class JobEnvironment:
    """What a job knows about its run: ``jobId``, ``namedObjects`` (:class:`NamedObjects`) and
    ``contextConfig`` (the context's settings, as it was created with)."""

    def __init__(self, job_id, named_objects, context_config):
        self.jobId = job_id
        self.namedObjects = named_objects
        self.contextConfig = context_config


class ValidationProblem:
    """One problem found by ``validate``; ``problem`` is its text."""

    def __init__(self, problem):
        self.problem = problem

    def __repr__(self):
        return "ValidationProblem(%r)" % (self.problem,)


def build_problems(problems):
    """A list of :class:`ValidationProblem`, one per string: what ``validate`` returns to fail."""
    return [ValidationProblem(p) for p in problems]


def is_problems(data):
    """True if ``validate`` returned problems (a non-empty list of ValidationProblem) rather than data.
    A problem class of another copy of this module counts too (by its name and ``problem``)."""
    if not isinstance(data, list) or not data:
        return False
    return all(isinstance(p, ValidationProblem)
               or (type(p).__name__ == "ValidationProblem" and hasattr(p, "problem")) for p in data)


class SparkJob:
    """The base class of spark-jobserver Python jobs: override validate and run_job."""

    def __init__(self):
        pass

    def validate(self, context, runtime, config):
        """Returns the job's data (anything) parsed from ``config``, or ``build_problems([...])``."""
        raise NotImplementedError("Concrete implementations should override validate")

    def run_job(self, context, runtime, data):
        """Runs the job on the data ``validate`` returned; the return value is the job's result."""
        raise NotImplementedError("Concrete implementations should override run_job")

    def build_context(self, gateway, jvmContext, sparkConf):  # noqa: N803 (spark-jobserver's names)
        """spark-jobserver's hook for custom context types; sjs does not call it."""
        return None


class NamedObject:
    """spark-jobserver's wrapper of a named object; sjs stores values as they are and accepts these too."""

    def __init__(self, obj, forceComputation=False, storage_level=None):  # noqa: N803
        self.obj = obj
        self.forceComputation = forceComputation
        self.storage_level = storage_level


class NamedObjects:
    """spark-jobserver's named-objects interface over the context's ``sjs.NamedObjects``."""

    def __init__(self, objects=None):
        if objects is None:
            import sjs
            objects = sjs.NamedObjects()
        self._objects = objects

    def get(self, name):
        """The object stored under ``name``, or None."""
        return self._objects.get(name)

    def get_or_else_create(self, name, obj_gen):
        """The object stored under ``name``, or ``obj_gen()`` stored and returned (one creator runs)."""
        return self._objects.get_or_create(name, obj_gen)

    def update(self, name, obj_gen):
        """Replaces the object stored under ``name`` by ``obj_gen()`` (the old one is unpersisted if it can be)."""
        old = self._objects.get(name)
        value = obj_gen()
        self._objects.put(name, value)
        if old is not None and old is not value:
            _unpersist(old)
        return value

    def forget(self, name):
        """Removes the object stored under ``name``, if any."""
        self._objects.forget(name)

    def destroy(self, name):
        """Removes the object stored under ``name`` and unpersists it if it can be (an RDD, a DataFrame)."""
        old = self._objects.get(name)
        self._objects.forget(name)
        if old is not None:
            _unpersist(old)

    def get_names(self):
        """The names stored now."""
        return self._objects.names()


def _unpersist(obj):
    target = getattr(obj, "obj", obj)
    fn = getattr(target, "unpersist", None)
    if callable(fn):
        try:
            fn()
        except Exception:  # noqa: BLE001
            pass
