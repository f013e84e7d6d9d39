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
- an agent with windows (`probe-join`): its input is its changelog. The
  captures of open windows are sealed with keys held only in the memory of
  the worker that stored them (state/sealing.py), so no copy of them, on a
  changelog topic or elsewhere, can be opened by another worker, by design.
  Instead the records of the input partition written in the last
  `replay_ms` (the window and its lateness) before the committed offset are
  handled again into an empty store, their outputs dropped (the previous
  owner sent them), so the open windows are rebuilt and sealed with this
  worker's keys; the input topic already holds those values for its
  retention (docs/ARCHITECTURE.md, Privacy), nothing new is at rest.
- any other batch agent: an empty store at the committed offset.

Each restore is timed per partition: a log line and the
`lineage_state_restore_seconds{agent,partition}` summary.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

import orjson

from analyzers.edges import state_of_delta
from state.edges import restored_records
from streams.kafka.topic_reader import offset_before, read_partition
from streams.pipeline.batch import Handler, InputRules, Output, Validator, process_messages
from streams.pipeline.metrics import Metrics
from streams.pipeline.stores import StoreRegistry
from streams.settings import Settings
from vocab import EdgeState

NO_RULES = InputRules()  # no event-time bounds, one attempt

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


class _Dropped:
    """The sink of a replay: the previous owner already sent these outputs."""

    async def send(self, outputs: Sequence[Output]) -> None:
        pass

    async def flush(self) -> None:
        pass


def is_current(store_offset: int, committed: int | None) -> bool:
    """Whether a store that reflects input up to `store_offset` needs no restore."""
    return committed is None or store_offset >= committed - 1


class StateRestorer:
    """Rebuilds the state of a partition that moved here from another worker."""

    def __init__(self, settings: Settings, stores: StoreRegistry, metrics: Metrics, *,
                 static_verification_ms: int, replay_ms: Mapping[str, int] | None = None,
                 replay_batch: int = 5000) -> None:
        """`replay_ms`: per agent with windows, how much input (by record time) rebuilds them."""
        self.settings = settings
        self.stores = stores
        self.metrics = metrics
        self.static_verification_ms = static_verification_ms
        self.replay_ms = dict(replay_ms or {})
        self.replay_batch = replay_batch

    async def restore(self, agent: str, topic: str, partition: int, committed: int | None,
                      handler: tuple[Handler, Validator] | None = None,
                      rules: InputRules = NO_RULES) -> bool:
        """Bring the store of (agent, topic, partition) to `committed`; True if it had to.

        `handler`: the agent's handler and validator, to replay its windows' input
        under the agent's `rules` (the same event-time bounds as the first time).
        """
        if is_current(self.stores.offset(agent, topic, partition), committed):
            return False  # (a partition never processed gets no store here)
        assert committed is not None
        store = self.stores.get(agent, topic, partition)
        started = time.perf_counter()
        if agent == EDGE_AGENT:
            states = await self.edges_of(partition)
            store.reset(restored_records(states.values(), self.static_verification_ms),
                        committed - 1)
            what = f"{len(states)} edges from {self.settings.topic(GRAPH_TOPIC)}:{partition}"
        elif handler is not None and agent in self.replay_ms:
            replayed = await self.replay(agent, topic, partition, committed, handler, rules)
            what = f"windows from {replayed} input records"
        else:
            store.reset({}, committed - 1)
            what = "an empty store"
        seconds = time.perf_counter() - started
        self.metrics.observe(f"restore.{agent}.{partition}", seconds)
        self.metrics.incr(f"{agent}.restored_partitions")
        log.info("restored %s %s:%d at offset %d: %s in %.3f s",
                 agent, topic, partition, committed, what, seconds)
        return True

    async def replay(self, agent: str, topic: str, partition: int, committed: int,
                     handler: tuple[Handler, Validator],
                     rules: InputRules = NO_RULES) -> int:
        """Rebuild the windows open at `committed` from the input before it; records read."""
        start = await offset_before(self.settings, topic, partition, committed - 1,
                                    self.replay_ms[agent])
        self.stores.get(agent, topic, partition).reset({}, start - 1)
        handle, validate = handler
        scratch = Metrics()  # the previous owner counted these events already
        replayed = 0
        async for records in read_partition(self.settings, topic, partition, start=start,
                                            end=committed, max_records=self.replay_batch):
            await process_messages(records, agent=agent, validate=validate, stores=self.stores,
                                   handler=handle, sink=_Dropped(), metrics=scratch,
                                   rules=rules)
            replayed += len(records)
        return replayed

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
