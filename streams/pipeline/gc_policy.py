"""The worker's cyclic-GC policy: young collections a few times per batch, not hundreds.

The batch handlers allocate tens of thousands of short-lived tuples per batch
(decoded events, outputs, store keys), none in a reference cycle. With
CPython's default thresholds (700, 10, 10) the collector runs a young
collection every 700 container allocations and, every hundred of those, a
full one over every live object; in the handlers' loops that was about a
fifth of their CPU (issue 21 round 2, docs/BENCHMARKS.md). With
`THRESHOLDS` it runs about 70 times less often; cycles are still collected,
later. `freeze` then keeps what start-up made (modules, the app, the
topology) out of every later collection.

>>> import gc
>>> saved = gc.get_threshold()
>>> tune(freeze=False); gc.get_threshold() == THRESHOLDS
True
>>> gc.set_threshold(*saved)
"""

from __future__ import annotations

import gc

#: Young collections every 50,000 container allocations (CPython: 700).
THRESHOLDS = (50_000, 20, 10)


def tune(*, freeze: bool = True) -> None:
    """Set `THRESHOLDS`; with `freeze`, move every object alive now out of the collector's view."""
    gc.set_threshold(*THRESHOLDS)
    if freeze:
        gc.collect()
        gc.freeze()
