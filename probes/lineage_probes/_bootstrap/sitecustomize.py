"""Put on PYTHONPATH by `lineage-probe run`: starts the probes in every Python process.

Then runs the sitecustomize this one shadows, if the environment has one.
"""

import importlib.machinery
import importlib.util
import os
import sys


def _chain() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


try:
    _chain()
except Exception as exc:  # the shadowed file's own error, reported as Python would
    print(f"lineage-probes: the original sitecustomize failed ({type(exc).__name__})",
          file=sys.stderr)

from lineage_probes.auto import start  # noqa: E402

start()
