#!/usr/bin/env python3
"""The resident worker of the python and pyspark runtimes (docs/worker-protocol.md).

sjsd starts it as `PYTHON -u <dir>/sjs_runner.py`, with a socket as fd 3 (SJS_WORKER_FD=3); for
pyspark contexts also with SJS_SPARK=1 and PYSPARK_SUBMIT_ARGS, so that pyspark starts the driver's
JVM through `$SPARK_HOME/bin/spark-submit` while this process keeps fd 3. Its stdout and stderr are the context's log. Standard library only, Python >= 3.8.
"""

import os
import sys

# 3.8 and later are supported; 3.7 too, for Spark 2.4's PySpark (which does not run on 3.8+): the
# runner's test passes on 3.7 to 3.13. Older interpreters cannot parse the runner's modules.
if sys.version_info < (3, 7):
    sys.stderr.write("sjs-runner: Python %d.%d is too old: the runner needs Python 3.8 or later (3.7 for Spark 2.4) "
                     "(set the context's python setting)\n" % sys.version_info[:2])
    sys.exit(1)

_here = os.path.dirname(os.path.abspath(__file__))
if sys.path[:1] != [_here]:
    sys.path.insert(0, _here)

from sjs._runner.worker import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
