"""One partition's fetched records as columns, for the batch path.

A fetch gives the batch agents each partition's records in offset order;
the agents read their values, offsets and record timestamps a whole batch at
a time, and a full record only for the rare dead letter. `RecordRun` keeps
the columns (`streams.pipeline.record_columns` reads them in Rust from
aiokafka's fetched bytes) and makes a `FetchedRecord` only when one is asked
for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple, overload


class FetchedRecord(NamedTuple):
    """One record as the batch path reads it (the attributes of aiokafka's ConsumerRecord
    that `streams.pipeline.batch.Message` names, and the timestamp in ms, -1 if none)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int


class RecordRun(Sequence[FetchedRecord]):
    """Records of one partition in offset order, column by column."""

    __slots__ = ("keys", "offsets", "partition", "timestamps", "topic", "values")

    def __init__(self, topic: str, partition: int, offsets: list[int], timestamps: list[int],
                 keys: list[bytes | None], values: list[bytes | None]) -> None:
        if not len(offsets) == len(timestamps) == len(keys) == len(values):
            raise ValueError("a run's columns have one entry per record")
        self.topic = topic
        self.partition = partition
        self.offsets = offsets
        self.timestamps = timestamps
        self.keys = keys
        self.values = values

    def __len__(self) -> int:
        return len(self.offsets)

    @overload
    def __getitem__(self, index: int) -> FetchedRecord: ...
    @overload
    def __getitem__(self, index: slice) -> RecordRun: ...
    def __getitem__(self, index: int | slice) -> FetchedRecord | RecordRun:
        if isinstance(index, slice):
            return RecordRun(self.topic, self.partition, self.offsets[index],
                             self.timestamps[index], self.keys[index], self.values[index])
        return FetchedRecord(self.topic, self.partition, self.offsets[index], self.keys[index],
                             self.values[index], self.timestamps[index])

    def __iter__(self) -> Iterator[FetchedRecord]:
        for index in range(len(self.offsets)):
            yield self[index]

    def __repr__(self) -> str:
        return f"<RecordRun {self.topic}:{self.partition} {len(self)} records>"
