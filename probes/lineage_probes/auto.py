"""Start the probes from the environment, as the launcher's sitecustomize does.

Never raises: a service must start whether or not its probes can.
"""

from __future__ import annotations

import atexit
import sys


def start() -> None:
    try:
        from lineage_probes import instrument, uninstrument

        if instrument():
            atexit.register(uninstrument)
    except Exception as exc:
        print(f"lineage-probes: not started ({type(exc).__name__}: {exc})", file=sys.stderr)
