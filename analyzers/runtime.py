"""Runtime lineage: matcher results of one request turned into flow signals.

A match names a source leaf and a sink leaf; each becomes a field asset
(`ASSET#path`, or the bare asset for a top-level value). Capture pairs that
share no value become asset-level `NO_MATCH` signals: the full-set.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def runtime_signals(
    result: MatchResult, sources: Sequence[str], sinks: Sequence[str], ts: int,
) -> list[FlowSignal]:
    """Signals of one request, given the asset of each source and sink capture."""
    signals = [
        FlowSignal(
            src=field_asset(sources[si], spath), dst=field_asset(sinks[ki], kpath),
            kind=kind, origin="runtime", ts=ts, transform=transform,
        )
        for si, spath, ki, kpath, kind, transform in result.matches
    ]
    signals.extend(
        FlowSignal(src=sources[si], dst=sinks[ki], kind="NO_MATCH", origin="runtime", ts=ts)
        for si, ki in result.nomatch
        if sources[si] != sinks[ki]
    )
    return signals
