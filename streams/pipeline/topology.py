"""topology.yaml, loaded and validated into frozen dataclasses.

Every key is checked: an unknown key, a missing key or a value of the wrong
type or range raises `TopologyError` naming the file and the dotted key.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

import yaml

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "topology.yaml"

#: The topics the contract names; topology.yaml must declare each of them.
CONTRACT_TOPICS = (
    "probe-events", "sql-job-logs", "config-events", "static-flows",
    "asset-labels", "policies", "reviews", "openlineage-events",
    "lineage-graph", "policy-violations", "policy-zones", "enforcement-events", "dead-letters",
)
#: Topics whose latest value per key is the state; they must be compacted.
COMPACTED_TOPICS = ("asset-labels", "policies", "reviews", "lineage-graph", "policy-zones")


class TopologyError(ValueError):
    """topology.yaml is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class TopicSpec:
    partitions: int
    key: str
    cleanup_policy: Literal["delete", "compact"]
    retention_ms: int

    def check(self, where: str) -> None:
        if self.partitions < 1:
            raise ValueError(f"{where}.partitions: must be at least 1")
        if self.retention_ms < -1 or self.retention_ms == 0:
            raise ValueError(f"{where}.retention_ms: must be positive, or -1 for forever")


@dataclass(frozen=True)
class WindowSpec:
    size_ms: int
    allowed_lateness_ms: int

    def check(self, where: str) -> None:
        if self.size_ms <= 0:
            raise ValueError(f"{where}.size_ms: must be positive")
        if self.allowed_lateness_ms < 0:
            raise ValueError(f"{where}.allowed_lateness_ms: must not be negative")


@dataclass(frozen=True)
class Windows:
    trace: WindowSpec
    job: WindowSpec
    static_verification_ms: int
    #: Trace windows are grouped by close time into epochs this long; each
    #: epoch's captures are sealed with a key forgotten when it ends
    #: (state/sealing.py). A value stays readable in memory at most this
    #: long after its window closed; one key is held per epoch.
    capture_key_epoch_ms: int = 10000

    def check(self, where: str) -> None:
        _positive(where, static_verification_ms=self.static_verification_ms,
                  capture_key_epoch_ms=self.capture_key_epoch_ms)


@dataclass(frozen=True)
class TraceCaps:
    max_captures: int
    max_bytes: int

    def check(self, where: str) -> None:
        _positive(where, max_captures=self.max_captures, max_bytes=self.max_bytes)


@dataclass(frozen=True)
class JobCaps:
    max_events: int
    max_bytes: int

    def check(self, where: str) -> None:
        _positive(where, max_events=self.max_events, max_bytes=self.max_bytes)


@dataclass(frozen=True)
class Caps:
    trace: TraceCaps
    job: JobCaps
    capture_max_bytes: int

    def check(self, where: str) -> None:
        _positive(where, capture_max_bytes=self.capture_max_bytes)


MatcherTransform = Literal[
    "lowercase", "url", "base64", "md5", "sha1", "sha256",
    "md5_base64", "sha1_base64", "sha256_base64",
]


@dataclass(frozen=True)
class MatcherSpec:
    min_length: int
    transforms: tuple[MatcherTransform, ...]

    def check(self, where: str) -> None:
        _positive(where, min_length=self.min_length)


@dataclass(frozen=True)
class SqlSpec:
    cache_size: int
    statement_timeout_ms: int

    def check(self, where: str) -> None:
        _positive(where, cache_size=self.cache_size, statement_timeout_ms=self.statement_timeout_ms)


@dataclass(frozen=True)
class AgentSpec:
    topic: str
    batch_size: int
    batch_within_ms: int
    concurrency: int
    #: "stream": a Faust agent (`take_events`); "batch": the worker's batch
    #: consumer (streams/pipeline/batch_consumer.py), for the agents that carry volume.
    consumer: Literal["stream", "batch"] = "stream"

    def check(self, where: str) -> None:
        _positive(
            where, batch_size=self.batch_size, batch_within_ms=self.batch_within_ms,
            concurrency=self.concurrency,
        )


@dataclass(frozen=True)
class EventTimeSpec:
    """How far an input event's `ts` may stray from its record timestamp (state/windows.py)."""

    #: An event more than this far ahead of its record timestamp is a dead letter.
    max_future_ms: int
    #: An event older than this behind its record timestamp is a dead letter; -1: no bound
    #: (history sent with its own old `ts` is legitimate; an old event never moves a
    #: watermark forward, and one behind it is a `window: late` dead letter anyway).
    max_age_ms: int

    def check(self, where: str) -> None:
        if self.max_future_ms < 0:
            raise ValueError(f"{where}.max_future_ms: must not be negative")
        if self.max_age_ms < -1 or self.max_age_ms == 0:
            raise ValueError(f"{where}.max_age_ms: must be positive, or -1 for no bound")


@dataclass(frozen=True)
class PoisonSpec:
    """What a handler that raises gets (streams/pipeline/poison.py)."""

    #: Times one record is handled before it is dead-lettered with the exception type.
    attempts: int

    def check(self, where: str) -> None:
        _positive(where, attempts=self.attempts)


#: The Kafka client a worker sends or reads with: librdkafka (confluent-kafka) or aiokafka.
KafkaClient = Literal["confluent", "aiokafka"]
RecordForm = Literal["columns", "objects"]


@dataclass(frozen=True)
class ProducerSpec:
    """The client that sends a worker's outputs (streams/pipeline/sink.py).

    `confluent` (librdkafka, through confluent-kafka) builds and sends record
    batches in C threads; `aiokafka` sends through the Faust app's producer.
    Both partition a key as Kafka's own clients do (murmur2).
    """

    client: KafkaClient
    #: How long a partition's batch waits for more records before it is sent.
    linger_ms: int
    #: The most bytes of records in one batch (Kafka's `batch.size`); a record
    #: larger than this goes alone in its batch. At most the broker's
    #: `message.max.bytes` (1 MiB by default).
    max_batch_bytes: int = 262_144

    def check(self, where: str) -> None:
        if self.linger_ms < 0:
            raise ValueError(f"{where}.linger_ms: must be 0 or more")
        _positive(where, max_batch_bytes=self.max_batch_bytes)


@dataclass(frozen=True)
class BatchConsumerSpec:
    """The client that reads the `consumer: batch` agents' inputs
    (streams/pipeline/batch_fetch.py): `confluent` (librdkafka fetches and
    unpacks records in C threads) or `aiokafka` (its fetches read as columns in
    Rust, or `getmany`'s records: `records`).

    A fetch is answered once `fetch_min_bytes` are there or after
    `fetch_max_wait_ms` (Kafka's `fetch.min.bytes` and `fetch.max.wait.ms`):
    fewer, larger batches, each of which costs a worker about the same
    whatever its size (docs/BENCHMARKS.md, "Issue 21, round 6"), against at
    most that much more latency per hop when the input is slow.
    """

    client: KafkaClient
    fetch_min_bytes: int = 1_048_576
    fetch_max_wait_ms: int = 200
    #: How aiokafka's fetched records reach the agents: `columns` (read in
    #: Rust from the fetched bytes, streams/pipeline/record_columns.py) or
    #: `objects` (`getmany`'s ConsumerRecords). librdkafka ignores it.
    records: RecordForm = "columns"

    def check(self, where: str) -> None:
        _positive(where, fetch_min_bytes=self.fetch_min_bytes,
                  fetch_max_wait_ms=self.fetch_max_wait_ms)


@dataclass(frozen=True)
class GraphReplicaSpec:
    """The worker's replica of the graph topic (streams/graph/replica.py)."""

    topic: str
    #: Records applied per batch; applied in the event loop, so small batches
    #: keep the agents' pauses short.
    batch_size: int

    def check(self, where: str) -> None:
        _positive(where, batch_size=self.batch_size)


@dataclass(frozen=True)
class PolicyMonitorSpec:
    """The policy monitor (streams/policy/monitor.py): reads the replica and `inputs`."""

    inputs: tuple[str, ...]
    output: str
    #: Where each policy's zone membership goes (`policy-zones`, compacted).
    zones_output: str
    #: Input records read per poll while leading.
    batch_size: int
    #: How often a worker checks whether it leads the group.
    leader_poll_ms: int

    def check(self, where: str) -> None:
        _positive(where, batch_size=self.batch_size, leader_poll_ms=self.leader_poll_ms)


@dataclass(frozen=True)
class HttpApiSpec:
    """The HTTP API on the worker's replica; served only with `lineage worker --api-port`."""

    #: The default address (`--api-bind` overrides); anything but loopback needs a token.
    bind: str


@dataclass(frozen=True)
class Services:
    """What a worker runs besides its agents; streams/pipeline/app.py wires exactly these."""

    graph_replica: GraphReplicaSpec
    policy_monitor: PolicyMonitorSpec
    http_api: HttpApiSpec


@dataclass(frozen=True)
class Topology:
    version: Literal[1]
    topics: dict[str, TopicSpec]
    windows: Windows
    caps: Caps
    matcher: MatcherSpec
    sql: SqlSpec
    agents: dict[str, AgentSpec]
    services: Services
    event_time: EventTimeSpec = EventTimeSpec(max_future_ms=300_000, max_age_ms=-1)
    poison: PoisonSpec = PoisonSpec(attempts=3)
    producer: ProducerSpec = ProducerSpec(client="aiokafka", linger_ms=5)
    batch_consumer: BatchConsumerSpec = BatchConsumerSpec(client="aiokafka")

    def check(self, where: str) -> None:
        for name in CONTRACT_TOPICS:
            if name not in self.topics:
                raise ValueError(f"topics.{name}: missing (the contract names this topic)")
        for name in COMPACTED_TOPICS:
            if self.topics[name].cleanup_policy != "compact":
                raise ValueError(f"topics.{name}.cleanup_policy: must be 'compact'")
        for name, agent in self.agents.items():
            if agent.topic not in self.topics:
                raise ValueError(f"agents.{name}.topic: unknown topic {agent.topic!r}")
        longest = max(self.windows.trace.size_ms + self.windows.trace.allowed_lateness_ms,
                      self.windows.job.size_ms + self.windows.job.allowed_lateness_ms)
        if 0 < self.event_time.max_age_ms < longest:
            raise ValueError(f"event_time.max_age_ms: must be at least the longest window "
                             f"plus its lateness ({longest}), or valid events would be refused")
        replica, monitor = self.services.graph_replica, self.services.policy_monitor
        if replica.topic not in COMPACTED_TOPICS:
            raise ValueError(f"services.graph_replica.topic: {replica.topic!r} is not a "
                             "compacted topic of the graph")
        for i, topic in enumerate((*monitor.inputs, monitor.output, monitor.zones_output)):
            where = f"inputs[{i}]" if i < len(monitor.inputs) else \
                ("output" if i == len(monitor.inputs) else "zones_output")
            if topic not in self.topics:
                raise ValueError(f"services.policy_monitor.{where}: unknown topic {topic!r}")


def _positive(where: str, **values: int) -> None:
    for name, value in values.items():
        if value <= 0:
            raise ValueError(f"{where}.{name}: must be positive")


T = TypeVar("T")


def _convert(tp: Any, value: Any, where: str) -> Any:
    """Convert a YAML value to the annotated type, or raise ValueError naming `where`."""
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(typing.cast(type, tp), value, where)
    if origin is Literal:
        if value not in get_args(tp):
            allowed = ", ".join(repr(a) for a in get_args(tp))
            raise ValueError(f"{where}: {value!r} is not one of {allowed}")
        return value
    if origin is dict:
        key_tp, val_tp = get_args(tp)
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected a mapping")
        return {
            _convert(key_tp, k, where): _convert(val_tp, v, f"{where}.{k}")
            for k, v in value.items()
        }
    if origin is tuple:
        (item_tp, _ellipsis) = get_args(tp)
        if not isinstance(value, list):
            raise ValueError(f"{where}: expected a list")
        return tuple(_convert(item_tp, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        raise TypeError(f"unsupported annotation at {where}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where}: expected an integer, got {type(value).__name__}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ValueError(f"{where}: expected a string, got {type(value).__name__}")
        return value
    raise TypeError(f"unsupported annotation {tp!r} at {where}")


def _build(cls: type[T], value: Any, where: str) -> T:
    if not isinstance(value, dict):
        raise ValueError(f"{where or 'top level'}: expected a mapping")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    prefix = f"{where}." if where else ""
    for key in value:
        if key not in names:
            raise ValueError(f"{prefix}{key}: unknown key")
    optional = {f.name for f in dataclasses.fields(cls)  # type: ignore[arg-type]
                if f.default is not dataclasses.MISSING}
    kwargs = {}
    for name in names:
        if name not in value:
            if name in optional:
                continue
            raise ValueError(f"{prefix}{name}: missing")
        kwargs[name] = _convert(hints[name], value[name], f"{prefix}{name}")
    obj = cls(**kwargs)
    check = getattr(obj, "check", None)
    if check is not None:
        check(where or "top level")
    return obj


def parse_topology(data: Any, source: str = "topology.yaml") -> Topology:
    """Validate an already-parsed YAML document."""
    try:
        return _build(Topology, data, "")
    except ValueError as exc:
        raise TopologyError(f"{source}: {exc}") from None


def load_topology(path: Path | str | None = None) -> Topology:
    """Read and validate topology.yaml (default: env LINEAGE_TOPOLOGY, else the project's)."""
    path = Path(path or os.environ.get("LINEAGE_TOPOLOGY") or DEFAULT_PATH)
    try:
        text = path.read_text()
    except OSError as exc:
        raise TopologyError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TopologyError(f"{path}: not valid YAML: {exc}") from None
    return parse_topology(data, str(path))


def write_consumer_variant(consumer: Literal["stream", "batch"] | None, directory: Path,
                           source: Path = DEFAULT_PATH, *,
                           producer: KafkaClient | None = None,
                           batch_client: KafkaClient | None = None,
                           records: RecordForm | None = None) -> Path:
    """A copy of `source` with every agent's `consumer` set (None: as they are),
    as `directory`/topology.yaml.

    For comparing the two consumers (or, with `producer` and `batch_client`,
    the two clients that send the outputs and read the batch agents' inputs;
    with `records`, `batch_consumer.records`) on the same topology
    (benchmarks, tests); point a worker at it with the env LINEAGE_TOPOLOGY.
    """
    data = yaml.safe_load(source.read_text())
    for agent in data["agents"].values():
        if consumer is not None:
            agent["consumer"] = consumer
    if producer is not None:
        data["producer"] = {**data.get("producer", {"linger_ms": 5}), "client": producer}
    if batch_client is not None:
        data["batch_consumer"] = {**data.get("batch_consumer", {}), "client": batch_client}
    if records is not None:
        data["batch_consumer"] = {**data.get("batch_consumer", {"client": "aiokafka"}),
                                  "records": records}
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "topology.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    parse_topology(yaml.safe_load(path.read_text()), str(path))  # still valid
    return path
