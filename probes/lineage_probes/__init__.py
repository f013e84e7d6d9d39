"""Privacy probes: sampled captures of what enters and leaves a Python service.

    import lineage_probes
    lineage_probes.instrument(service="photos-web", bootstrap_servers="127.0.0.1:9092",
                              topic_prefix="", sample_rate=0.01)

or, without touching the code: `lineage-probe run --service photos-web -- python app.py`.
Every capture is a `probe-events` record (docs/PROBES.md, CONTRACT.md).
"""

from __future__ import annotations

from lineage_probes.enforcement.blocked import FlowBlocked
from lineage_probes.runtime import active_config, instrument, stats, uninstrument

__all__ = ["FlowBlocked", "active_config", "instrument", "stats", "uninstrument"]
__version__ = "0.1.0"
