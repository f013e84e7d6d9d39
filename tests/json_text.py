"""JSON text written by hand for decoder tests: objects that repeat keys, escapes on demand."""

from __future__ import annotations

import json
from typing import Any


class Pairs(list[tuple[str, Any]]):
    """An object written with its pairs as given (duplicate keys allowed)."""


def write(value: Any, *, ascii_only: bool = False, space: str = "") -> str:
    """JSON text of `value`, with `Pairs` for objects that may repeat keys."""
    if isinstance(value, Pairs):
        inner = f",{space}".join(f"{json.dumps(k, ensure_ascii=ascii_only)}:{space}"
                                 f"{write(v, ascii_only=ascii_only, space=space)}"
                                 for k, v in value)
        return "{" + space + inner + space + "}"
    if isinstance(value, dict):
        return write(Pairs(value.items()), ascii_only=ascii_only, space=space)
    if isinstance(value, list):
        return "[" + f",{space}".join(write(v, ascii_only=ascii_only, space=space)
                                      for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)
