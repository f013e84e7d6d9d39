"""The probes' enforcement decisions, read back: `enforcement-events` summed up.

Shared by `lineage violations --enforcement` and the console: every record
of the topic up to its end as of now, decoded (undecodable ones skipped),
kept for one policy or all, and summed per policy, sink and decision
(analyzers/policy/decisions.py).
"""

from __future__ import annotations

import contextlib
from typing import Any

import orjson

from analyzers.policy.decisions import summarize_decisions
from streams.kafka.topic_reader import read_all
from streams.settings import Settings

TOPIC = "enforcement-events"


async def enforcement_decisions(settings: Settings,
                                policy: str | None = None) -> list[dict[str, Any]]:
    """One row per (policy, sink, decision), most recent first."""
    events = []
    for value in await read_all(settings, TOPIC):
        with contextlib.suppress(orjson.JSONDecodeError):
            event = orjson.loads(value)
            if isinstance(event, dict) and (policy is None or event.get("policy_id") == policy):
                events.append(event)
    return summarize_decisions(events)
