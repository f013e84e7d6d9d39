"""A probe (one framework's hooks) and the registry of every patch it made.

Each hook wraps an original function. A probe that raises inside its own
code is counted and switched off (`Probe.fail`); the application's call goes
on untouched, with the application's own exceptions passing through as they
were. `Patches.restore()` puts every original back, newest first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from lineage_probes import counters

log = logging.getLogger("lineage_probes")
_MISSING = object()


@dataclass
class Probe:
    name: str
    enabled: bool = True

    def fail(self, exc: BaseException) -> None:
        """Count an internal error and turn this probe off (names the type, never a value)."""
        counters.incr(f"probe_errors.{self.name}")
        if self.enabled:
            self.enabled = False
            counters.incr("probes_turned_off")
            log.warning("lineage-probes: probe %s turned off after an internal error (%s)",
                        self.name, type(exc).__name__)


@dataclass
class Patches:
    _done: list[tuple[Any, str, Any]] = field(default_factory=list)

    def patch(self, owner: Any, name: str, replacement: Any) -> Any:
        """Replace `owner.name`, remembering what was there; returns the original."""
        original = owner.__dict__.get(name, _MISSING) if hasattr(owner, "__dict__") else _MISSING
        current = getattr(owner, name)
        self._done.append((owner, name, original))
        setattr(owner, name, replacement)
        return current

    def restore(self) -> None:
        while self._done:
            owner, name, original = self._done.pop()
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)

    def __len__(self) -> int:
        return len(self._done)
