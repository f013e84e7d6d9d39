"""A read-your-writes overlay over a partition store, committed in one batch."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from sortedcontainers import SortedDict


class Store(Protocol):
    def get(self, key: bytes) -> bytes | None: ...
    def get_many(self, keys: list[bytes]) -> list[bytes | None]: ...
    def scan(self, start: bytes, end: bytes) -> Iterator[tuple[bytes, bytes]]: ...
    def offset(self) -> int: ...
    def write(self, changes: dict[bytes, bytes | None], offset: int | None = None) -> None: ...


def prefix_end(prefix: bytes) -> bytes:
    """A key above every key starting with `prefix` (keys are UTF-8: no 0xFF byte)."""
    return prefix + b"\xff"


def length_prefixed(namespace: bytes, name: str) -> bytes:
    """`namespace` + a self-delimiting encoding of `name`, safe to extend and scan.

    With the length in front, no name's prefix is another name's prefix.
    """
    raw = name.encode()
    return namespace + b"%d:" % len(raw) + raw + b"|"


class Transaction:
    """Buffered changes to one store; `commit` writes them with an offset."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # Sorted, so a range scan finds its pending changes in O(log n + k):
        # per-event scans inside a large batch must not cost O(batch) each.
        self.changes: SortedDict[bytes, bytes | None] = SortedDict()
        # The latest changes, not sorted yet: a put is a plain dict store, and
        # they join `changes` only when a scan needs order (a sorted insert per
        # put cost the probe join more than its RocksDB writes).
        self._recent: dict[bytes, bytes | None] = {}
        self._before_commit: list[Callable[[], None]] = []

    def before_commit(self, hook: Callable[[], None]) -> None:
        """Call `hook` at every commit, before the changes are written (to add its own)."""
        self._before_commit.append(hook)

    def get(self, key: bytes) -> bytes | None:
        if key in self._recent:
            return self._recent[key]
        if key in self.changes:
            return self.changes[key]
        return self.store.get(key)

    def get_many(self, keys: list[bytes]) -> list[bytes | None]:
        """`get` of each key, the store's in one multi-get."""
        values = self.store.get_many(keys)
        if not (self._recent or self.changes):
            return values
        recent, changes = self._recent, self.changes
        return [recent[key] if key in recent else changes.get(key, value)
                for key, value in zip(keys, values, strict=True)]

    def put(self, key: bytes, value: bytes) -> None:
        self._recent[key] = value

    def delete(self, key: bytes) -> None:
        self._recent[key] = None

    def update(self, changes: Iterable[tuple[bytes, bytes | None]]) -> None:
        """Puts (a value) and deletes (None) in order; a later change of a key wins."""
        self._recent.update(changes)

    def scan(self, start: bytes, end: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Items in [start, end) in key order, with this transaction's changes applied.

        A lazy merge of the store's range and the pending changes in it, so a
        caller that stops early reads only what it needs. Changes made while
        iterating may or may not be seen: collect first, then change.
        """
        if self._recent:
            self.changes.update(self._recent)
            self._recent = {}
        pending = list(self.changes.irange(start, end, (True, False)))
        if not pending:
            yield from self.store.scan(start, end)
            return
        changes = self.changes
        i = 0
        for key, value in self.store.scan(start, end):
            while i < len(pending) and pending[i] < key:
                new = changes[pending[i]]
                if new is not None:
                    yield pending[i], new
                i += 1
            if i < len(pending) and pending[i] == key:
                new = changes[key]
                i += 1
                if new is not None:
                    yield key, new
                continue
            yield key, value
        for key in pending[i:]:
            new = changes[key]
            if new is not None:
                yield key, new

    def scan_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return self.scan(prefix, prefix_end(prefix))

    def prepare(self) -> None:
        """Run the before-commit hooks now, so that their errors surface with the
        handler's, before anything is sent (the hooks write what they keep in
        memory and clear it: `commit` runs them again at no cost)."""
        for hook in self._before_commit:
            hook()

    def commit(self, offset: int | None = None) -> None:
        for hook in self._before_commit:
            hook()
        changes = dict(self.changes)  # a write batch needs no order
        changes.update(self._recent)
        self.store.write(changes, offset)
        self.changes, self._recent = SortedDict(), {}
