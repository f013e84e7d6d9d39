"""Poison pills: a record whose handler raises every time must not stop its partition.

`process_messages` (streams/pipeline/batch.py) handles a partition's batch in
one transaction. When that raises, the batch is taken apart: each record is
handled alone, in its own transaction, up to `attempts` times
(`poison.attempts` in topology.yaml); a record that still raises becomes a
dead letter whose reason names the exception type only (an exception's text
may quote the payload), and the records after it go on as usual.

>>> calls = []
>>> def flaky():
...     calls.append(1)
...     if len(calls) < 2:
...         raise TimeoutError("the payload could be quoted here")
...     return "done"
>>> attempt(flaky, attempts=3), len(calls)
('done', 2)
>>> failure = attempt(lambda: 1 // 0, attempts=2)
>>> poison_reason(failure)
'handler: raised ZeroDivisionError on each of 2 attempts'
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger("lineage.poison")

T = TypeVar("T")


@dataclass(frozen=True)
class Failure:
    """A step that raised on each of its attempts: the last exception's type name."""

    error: str
    attempts: int


def attempt(step: Callable[[], T], *, attempts: int) -> T | Failure:
    """`step()`'s result, or a `Failure` when it raised on each of `attempts` tries."""
    error = "Exception"
    for _ in range(attempts):
        try:
            return step()
        except Exception as exc:  # any handler bug: the partition must go on
            error = exception_type(exc)
    return Failure(error, attempts)


def exception_type(exc: BaseException) -> str:
    """The exception's type, with its module unless a builtin (`struct.error`, `KeyError`)."""
    kind = type(exc)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def poison_reason(failure: Failure) -> str:
    """The dead-letter reason of a poison pill: the exception type, never its text."""
    return f"handler: raised {failure.error} on each of {failure.attempts} attempts"
