"""State follows its partitions: a partition that arrives without its state gets it back.

The batch consumer calls `StateRestorer.restore` for every partition it is
assigned, before it processes a record of it. A partition's store is
*current* when its offset is at least the group's committed offset minus
one (this worker processed it last, or nobody has); otherwise another worker
moved the partition on since (a failover, a rebalance onto a new worker, or
a return to a worker whose store is older), and the store is rebuilt at the
committed offset:

- `edge-merge` (`flow-signals` partition p): every edge's state from
  partition p of the compacted `lineage-graph`, which holds the latest delta
  of every edge the partition's signals made (deltas are keyed by edge id
  like the signals, through the same partitioner, and the two topics have
  the same partition count: `check_partition_counts`). Versions continue
  from the highest version sent, so they never go backwards.
- any other batch agent (`probe-join`): an empty store at the committed
  offset. Open trace windows are not carried over: their captures are
  sealed with keys held only in the memory of the worker that stored them
  (state/sealing.py), so no copy of them, on a changelog or elsewhere, can be
  opened by another worker, by design (docs/RELIABILITY.md).

Each restore is timed per partition: a log line and the
`lineage_state_restore_seconds{agent,partition}` summary.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import orjson

from analyzers.edges import state_of_delta
from state.edges import restored_records
from streams.kafka.topic_reader import read_partition
from streams.pipeline.metrics import Metrics
from streams.pipeline.stores import StoreRegistry
from streams.settings import Settings
from vocab import EdgeState

log = logging.getLogger("lineage.restore")

EDGE_AGENT = "edge-merge"
SIGNALS_TOPIC = "flow-signals"
GRAPH_TOPIC = "lineage-graph"


class PartitionCountMismatch(RuntimeError):
    """`flow-signals` and `lineage-graph` differ in partitions: edges cannot be restored."""


def check_partition_counts(settings: Settings, partitions: Mapping[str, list[int]]) -> None:
    """Raise unless `flow-signals` and `lineage-graph` have as many partitions (when both exist).

    `partitions`: every topic of the cluster with its partitions (physical names).
    """
    signals = partitions.get(settings.topic(SIGNALS_TOPIC))
    graph = partitions.get(settings.topic(GRAPH_TOPIC))
    if signals and graph and len(signals) != len(graph):
        raise PartitionCountMismatch(
            f"{settings.topic(SIGNALS_TOPIC)} has {len(signals)} partitions and "
            f"{settings.topic(GRAPH_TOPIC)} {len(graph)}: they must agree for edge state to "
            "follow its partitions (docs/RELIABILITY.md)")


def is_current(store_offset: int, committed: int | None) -> bool:
    """Whether a store that reflects input up to `store_offset` needs no restore."""
    return committed is None or store_offset >= committed - 1


class StateRestorer:
    """Rebuilds the state of a partition that moved here from another worker."""

    def __init__(self, settings: Settings, stores: StoreRegistry, metrics: Metrics, *,
                 static_verification_ms: int) -> None:
        self.settings = settings
        self.stores = stores
        self.metrics = metrics
        self.static_verification_ms = static_verification_ms

    async def restore(self, agent: str, topic: str, partition: int,
                      committed: int | None) -> bool:
        """Bring the store of (agent, topic, partition) to `committed`; True if it had to."""
        store = self.stores.get(agent, topic, partition)
        if is_current(store.offset(), committed):
            return False
        assert committed is not None
        started = time.perf_counter()
        if agent == EDGE_AGENT:
            states = await self.edges_of(partition)
            store.reset(restored_records(states.values(), self.static_verification_ms),
                        committed - 1)
            what = f"{len(states)} edges from {self.settings.topic(GRAPH_TOPIC)}:{partition}"
        else:
            store.reset({}, committed - 1)
            what = "empty windows (open ones stayed with the previous owner)"
        seconds = time.perf_counter() - started
        self.metrics.observe(f"restore.{agent}.{partition}", seconds)
        self.metrics.incr(f"{agent}.restored_partitions")
        log.info("restored %s %s:%d at offset %d: %s in %.3f s",
                 agent, topic, partition, committed, what, seconds)
        return True

    async def edges_of(self, partition: int) -> dict[str, EdgeState]:
        """The highest-version state of every edge in one `lineage-graph` partition."""
        states: dict[str, EdgeState] = {}
        skipped = 0
        async for records in read_partition(self.settings, self.settings.topic(GRAPH_TOPIC),
                                            partition):
            for record in records:
                if record.value is None:
                    continue
                try:
                    state = state_of_delta(orjson.loads(record.value))
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    skipped += 1
                    continue
                old = states.get(state.edge_id)
                if old is None or state.version >= old.version:
                    states[state.edge_id] = state
        if skipped:
            log.warning("restore: %d records of %s:%d are not graph deltas; skipped",
                        skipped, self.settings.topic(GRAPH_TOPIC), partition)
        return states
