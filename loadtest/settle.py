"""Poll something until it has stopped changing: for the demo and for tests.

A stream never says "done"; a reader waits until what it reads satisfies a
condition and has not changed for a while. The timeout only bounds a broken
pipeline; callers judge what they got, never how long it took.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def settle(
    read: Callable[[], T], done: Callable[[T], bool], *, timeout_s: float,
    settle_s: float, poll_s: float = 0.5, on_change: Callable[[T], None] | None = None,
) -> T:
    """The value of `read()` once `done(value)` holds and it stayed the same `settle_s`.

    Returns the last value read when `timeout_s` passes first.
    """
    deadline = time.monotonic() + timeout_s
    previous = read()
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(poll_s)
        current = read()
        if current != previous:
            previous, stable_since = current, time.monotonic()
            if on_change is not None:
                on_change(current)
        elif done(current) and time.monotonic() - stable_since >= settle_s:
            return current
    return previous
