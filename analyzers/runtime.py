"""Runtime lineage: matcher results of one request turned into flow signals.

A match names a source leaf and a sink leaf; each becomes a field asset
(`ASSET#path`, or the bare asset for a top-level value). Capture pairs that
share no value become asset-level `NO_MATCH` signals: the full-set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from analyzers.signals import FlowSignal


class MatchResult(Protocol):
    @property
    def matches(self) -> list[tuple[int, str, int, str, str, str | None]]: ...
    @property
    def nomatch(self) -> list[tuple[int, int]]: ...


def field_asset(asset: str, path: str) -> str:
    """`asset#path`, or `asset` itself for the top-level value.

    >>> field_asset("web://photos-web/handlePhotoUpload", "location")
    'web://photos-web/handlePhotoUpload#location'
    >>> field_asset("scribe://logs/photo_uploaded", "")
    'scribe://logs/photo_uploaded'
    """
    return f"{asset}#{path}" if path else asset


@dataclass
class RuntimeFold:
    """The runtime signals of many requests, folded as they come.

    Each match of a request is one observation `source#path -> sink#path`
    with its kind and transform; each capture pair that shares nothing is one
    asset-level `NO_MATCH` observation (none from an asset to itself).
    `signals()` gives what `aggregate` gives for those observations as
    `FlowSignal`s, in first-seen order, without making a `FlowSignal` per
    observation: a batch of captures yields tens of thousands of observations
    of a few hundred flows.
    """

    _folded: dict[tuple[str, str, str, str | None], list[int]] = field(default_factory=dict)

    def _see(self, key: tuple[str, str, str, str | None], ts: int) -> None:
        seen = self._folded.get(key)
        if seen is None:
            self._folded[key] = [1, ts, ts]
        else:
            seen[0] += 1
            if ts > seen[1]:
                seen[1] = ts
            if ts < seen[2]:
                seen[2] = ts

    def add(self, result: MatchResult, sources: Sequence[str], sinks: Sequence[str],
            ts: int) -> None:
        """One request's observations, given the asset of each source and sink capture."""
        for si, spath, ki, kpath, kind, transform in result.matches:
            self._see((field_asset(sources[si], spath), field_asset(sinks[ki], kpath), kind,
                       transform), ts)
        for si, ki in result.nomatch:
            if sources[si] != sinks[ki]:
                self._see((sources[si], sinks[ki], "NO_MATCH", None), ts)

    def signals(self) -> list[FlowSignal]:
        return [observed_signal((src, dst, kind, transform, count, latest, earliest))
                for (src, dst, kind, transform), (count, latest, earliest)
                in self._folded.items()]


#: Folded observations of one flow: (src, dst, kind, transform, count, latest, earliest).
Observation = tuple[str, str, str, str | None, int, int, int]


def observed_signal(observation: Observation) -> FlowSignal:
    """The runtime signal of `count` folded observations (`matcher_rs.join_traces` folds too).

    >>> observed_signal(("a#x", "b", "CONTAINS", None, 2, 20, 10)).earliest
    10
    """
    src, dst, kind, transform, count, latest, earliest = observation
    return FlowSignal(src=src, dst=dst, kind=kind, origin="runtime", ts=latest,
                      transform=transform, count=count,
                      earliest=None if count == 1 else earliest)
