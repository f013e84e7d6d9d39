"""Sends handler outputs through the Faust app's producer, under the topic prefix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streams.pipeline.batch import Output
from streams.settings import Settings


class ProducerSink:
    """Buffered sends; `flush` waits until every buffered message is acknowledged."""

    def __init__(self, producer: Any, settings: Settings) -> None:
        self.producer = producer
        self.settings = settings

    async def send(self, outputs: Sequence[Output]) -> None:
        for out in outputs:
            await self.producer.send(
                self.settings.topic(out.topic), out.key, out.value,
                partition=None, timestamp=None, headers=None,
            )

    async def flush(self) -> None:
        await self.producer.flush()
