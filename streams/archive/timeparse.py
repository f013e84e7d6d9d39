"""`--since TIME`: ISO-8601 or epoch milliseconds, to epoch milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_time(text: str) -> int:
    """Epoch ms of `text`: an integer is epoch ms; else ISO-8601, naive meaning UTC.

    >>> parse_time("1737540600123")
    1737540600123
    >>> parse_time("2025-01-22T10:10:00Z")
    1737540600000
    >>> parse_time("2025-01-22")
    1737504000000
    """
    value = text.strip()
    if value.lstrip("-").isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"not a time: {text!r} (ISO-8601 such as 2025-01-22T10:10:00Z, or epoch ms)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
