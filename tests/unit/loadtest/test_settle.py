"""settle: waits for the condition and for the value to stop changing."""

from __future__ import annotations

from loadtest.settle import settle


def test_returns_once_done_and_unchanged() -> None:
    values = iter([1, 2, 3, 3, 3, 3, 3])
    changes: list[int] = []
    result = settle(lambda: next(values), lambda v: v >= 3, timeout_s=5, settle_s=0.0,
                    poll_s=0.0, on_change=changes.append)
    assert result == 3
    assert changes == [2, 3]


def test_waits_for_the_condition_even_when_stable() -> None:
    values = iter([0, 0, 0, 5, 5])
    assert settle(lambda: next(values), bool, timeout_s=5, settle_s=0.0, poll_s=0.0) == 5


def test_timeout_returns_the_last_value() -> None:
    assert settle(lambda: 0, bool, timeout_s=0.05, settle_s=0.0, poll_s=0.01) == 0
