"""A capture's payload made safe to leave: redacted, capped, JSON-ready.

It is also the snapshot: the copy made here is what is sent, so the
application may change its objects afterwards. Keys named in the redact set
(case-insensitive) are dropped with their whole subtree; strings, lists,
depth and the number of leaves are capped.

>>> from lineage_probes.config import ProbeConfig
>>> cfg = ProbeConfig(max_string=5)
>>> clean({"email": "a@b.co", "Password": "x", "n": [1, 2.5, None]}, cfg)
{'email': 'a@b.c', 'n': [1, 2.5, None]}
"""

from __future__ import annotations

import base64
import datetime
import decimal
import uuid
from collections.abc import Mapping
from typing import Any

from lineage_probes.config import ProbeConfig

_SCALARS = (bool, int, float)


class _Budget:
    __slots__ = ("leaves",)

    def __init__(self, leaves: int) -> None:
        self.leaves = leaves


def clean(value: Any, cfg: ProbeConfig) -> Any:
    return _clean(value, cfg, _Budget(cfg.max_leaves), 0)


def _leaf(value: Any, cfg: ProbeConfig) -> Any:
    if value is None or isinstance(value, _SCALARS):
        return value
    if isinstance(value, str):
        return value[: cfg.max_string]
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)[: cfg.max_string]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"b64": base64.b64encode(raw).decode("ascii")}
    if isinstance(value, datetime.date | datetime.time | decimal.Decimal | uuid.UUID):
        return str(value)
    return _SKIP


_SKIP = object()


def _clean(value: Any, cfg: ProbeConfig, budget: _Budget, depth: int) -> Any:
    if isinstance(value, Mapping):
        if depth >= cfg.max_depth:
            return _SKIP
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = key if isinstance(key, str) else str(key)
            if name.lower() in cfg.redact:
                continue
            cleaned = _clean(item, cfg, budget, depth + 1)
            if cleaned is not _SKIP:
                out[name] = cleaned
            if budget.leaves <= 0:
                break
        return out
    if isinstance(value, list | tuple):
        if depth >= cfg.max_depth:
            return _SKIP
        items = []
        for item in value[: cfg.max_list]:
            cleaned = _clean(item, cfg, budget, depth + 1)
            if cleaned is not _SKIP:
                items.append(cleaned)
            if budget.leaves <= 0:
                break
        return items
    budget.leaves -= 1
    if budget.leaves < 0:
        return _SKIP
    return _leaf(value, cfg)


def is_empty(payload: Any) -> bool:
    return payload is _SKIP or payload in ({}, [], None, "")
