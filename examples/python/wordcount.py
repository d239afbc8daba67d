"""Word count, the sjs way: a function job and a class job with validate.

    sjs binary upload wordcount examples/python/wordcount.py
    sjs job submit wordcount wordcount:run --conf input.string="a b a" --sync
    sjs job submit wordcount WordCount --conf input.string="a b a" --sync     # the class form
"""

from collections import Counter


def words_of(text):
    return [w for w in text.split() if w]


def run(ctx, config):
    """Counts the words of config input.string: {"word": count, ...}."""
    text = config.get("input.string", "")
    ctx.log.info("counting the words of %d characters", len(text))
    ctx.progress(0.5, "split")
    counts = Counter(words_of(text))
    ctx.progress(1.0, "counted")
    return dict(counts)


class WordCount:
    """The class form: validate() refuses a run without input.string (VALIDATION FAILED, exit 3)."""

    def validate(self, ctx, config):
        return [] if "input.string" in config else ["missing input.string"]

    def run(self, ctx, config):
        if ctx.sc is not None:  # on a pyspark context the counting runs on Spark
            return dict(ctx.sc.parallelize(words_of(config["input.string"])).countByValue())
        return run(ctx, config)
