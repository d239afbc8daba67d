"""A spark-jobserver Python job, unchanged: it runs on spark-jobserver and on sjs.

    cd examples/python/sjs_style && python3 -m zipfile -c /tmp/wordcount_sjs.egg wordcount_sjs/
    sjs binary upload wc-sjs /tmp/wordcount_sjs.egg
    sjs job submit wc-sjs wordcount_sjs.WordCountSparkJob --conf 'input.strings=["a","b","a"]' --sync
"""

from sparkjobserver.api import SparkJob, build_problems


class WordCountSparkJob(SparkJob):
    """Counts config input.strings; without it, validation fails."""

    def validate(self, context, runtime, config):
        if config.get("input.strings", None):
            return config.get("input.strings")
        return build_problems(["config input.strings not found"])

    def run_job(self, context, runtime, data):
        if context is None:  # a python context: plain Python
            counts = {}
            for w in data:
                counts[w] = counts.get(w, 0) + 1
            return counts
        # a SparkContext, a SparkSession (its sparkContext) or an SQLContext (its _sc)
        sc = context if hasattr(context, "parallelize") else (
            getattr(context, "sparkContext", None) or getattr(context, "_sc", None))
        return dict(sc.parallelize(data).countByValue())


class FailingSparkJob(SparkJob):
    """Fails on purpose (for tests)."""

    def validate(self, context, runtime, config):
        return config.get("input.strings", [])

    def run_job(self, context, runtime, data):
        raise ValueError("Deliberate failure")
