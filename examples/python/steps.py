"""A step library: predefined steps a pipeline runs by name, with no code sent.

    sjs binary upload textsteps examples/python/steps.py
    sjs binary steps textsteps
    sjs job submit textsteps --steps '[["load_text"], ["words"], ["map", "lower"],
        ["filter", 3], ["count_by_value"], ["top", 2]]' --conf input.string="The cat the Dog the end" --sync

Each step works on plain Python data, and on Spark RDDs when the context has Spark (a pyspark
context): load_text then makes an RDD and the later steps keep it one until count_by_value.
"""

from sjs import step


def _rdd(data):
    return hasattr(data, "mapPartitions") and hasattr(data, "collect")  # a pyspark RDD


@step
def load_text(ctx, data, path=None):
    """Lines of a text file, or of config input.string when no path is given."""
    if path is None:
        text = ctx.config.get("input.string")
        if text is None:
            raise ValueError("load_text needs a path or config input.string")
        lines = str(text).splitlines()
        return ctx.sc.parallelize(lines) if ctx.sc is not None else lines
    if ctx.sc is not None:
        return ctx.sc.textFile(path)
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


@step
def words(ctx, data):
    """Splits every line into words."""
    if _rdd(data):
        return data.flatMap(lambda line: line.split())
    return [w for line in data for w in line.split()]


@step("filter")
def filter_words(ctx, data, min_length=1):
    """Keeps the words at least min_length characters long."""
    n = int(min_length)
    if _rdd(data):
        return data.filter(lambda w: len(w) >= n)
    return [w for w in data if len(w) >= n]


_MAPS = {"lower": str.lower, "upper": str.upper, "strip": str.strip}


@step("map")
def map_words(ctx, data, how="lower"):
    """Transforms every word: lower, upper or strip."""
    if how not in _MAPS:
        raise ValueError("map takes one of %s, not %r" % (", ".join(sorted(_MAPS)), how))
    fn = _MAPS[how]
    if _rdd(data):
        return data.map(fn)
    return [fn(w) for w in data]


@step
def count_by_value(ctx, data):
    """Counts each distinct value: {value: count}."""
    if _rdd(data):
        return dict(data.countByValue())
    counts = {}
    for v in data:
        counts[v] = counts.get(v, 0) + 1
    return counts


@step
def top(ctx, data, n=10):
    """The n most frequent values of a count_by_value: [[value, count], ...], most frequent first."""
    items = data.items() if isinstance(data, dict) else data
    return [[k, v] for k, v in sorted(items, key=lambda kv: (-kv[1], str(kv[0])))[:int(n)]]
