#!/usr/bin/env python3
"""Word count, as an sjs exec job.

Config (JSON on stdin and in $SJS_CONFIG):  {"input": {"string": "a b a"}}
Result (JSON written to $SJS_RESULT):       {"a": 2, "b": 1}

Upload and run it:
  sjs binary upload wordcount examples/exec/wordcount.py
  sjs job submit wordcount --sync --conf input.string="a b a"
"""
import json
import os
import sys


def main() -> int:
    config = json.load(sys.stdin)
    text = config.get("input", {}).get("string")
    if text is None:
        print("wordcount: set input.string, e.g. --conf input.string=\"a b a\"", file=sys.stderr)
        return 2
    counts = {}
    for word in str(text).split():
        counts[word] = counts.get(word, 0) + 1
    print(f"wordcount: {sum(counts.values())} words, {len(counts)} distinct", file=sys.stderr)
    with open(os.environ["SJS_RESULT"], "w") as out:
        json.dump(counts, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
