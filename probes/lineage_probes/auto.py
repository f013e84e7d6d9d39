"""Start the probes from the environment, as the launcher's sitecustomize does.

Never raises: a service must start whether or not its probes can.
"""

from __future__ import annotations

import atexit
import sys


def start() -> None:
    from lineage_probes.config import ProbeConfigError

    try:
        from lineage_probes import instrument, uninstrument

        if instrument():
            atexit.register(uninstrument)
    except ProbeConfigError as exc:  # names the setting, never a value
        print(f"lineage-probes: not started ({exc})", file=sys.stderr)
    except Exception as exc:
        print(f"lineage-probes: not started ({type(exc).__name__})", file=sys.stderr)
