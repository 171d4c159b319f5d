"""Benchmark scripts, run as ``python benchmarks/<name>.py``. They import each other and
``common`` as top-level modules (their folder is ``sys.path[0]`` when run as scripts); putting
the folder on ``sys.path`` here makes ``import benchmarks.<name>`` work the same way."""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.append(_HERE)
