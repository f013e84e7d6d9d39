"""`lineage analyze-sql --log`: a query log's entries through the cache, JSON lines out.

Each distinct entry is analysed once and its JSON body encoded once; a repeat
costs a dictionary lookup, and its line is written from the same bytes
(``os.writev``, no copy). The first sight of the distinct entries, most of
the work, is spread over ``jobs`` processes: the entries are put in cache
groups (:meth:`SqlAnalyzer.group`: one group's texts may be answered from
each other, no two groups' are), each group goes whole to one process, and
each process analyses its groups' entries in log order with its own copy of
the analyzer (forked). Every entry gets the answer one analyzer gives it in
the serial order, so the output is the same bytes whatever ``jobs`` is; it
is written in log order by this process.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, Protocol

import orjson

from analyzers.sql import AnalysisResult, SqlAnalyzer
from analyzers.sql.querylog import LogEntry

#: Distinct entries whose bodies are kept; beyond it the log is analysed in one process.
MAX_BODIES = 50_000
#: Fewer cache groups than this per process: not worth a fork.
MIN_GROUPS_PER_JOB = 8
_BATCH = 500  # lines per os.writev call: two parts each, within every system's IOV_MAX (1024)


class BodyStore(Protocol):
    """Bodies kept across runs under :meth:`SqlAnalyzer.stored_key` (``--cache``)."""

    def get(self, key: bytes) -> bytes | None: ...

    def put(self, key: bytes, body: bytes) -> None: ...


def log_lines(
    analyzer: SqlAnalyzer,
    entries: list[tuple[int, LogEntry]],
    namespace: str | None,
    engine: str | None,
    jobs: int = 1,
    store: BodyStore | None = None,
) -> Iterator[tuple[bytes, bytes]]:
    """Per entry of the log (:func:`~analyzers.sql.querylog.log_entries`), its JSON line
    (UTF-8) in two parts: ``{"line":N,`` and the rest, newline included. ``store``:
    bodies kept from earlier runs, given the bodies this run computes that may be kept."""
    if analyzer.learn_ddl:  # an answer then depends on the statements before it
        store = None
    distinct = list(dict.fromkeys(entry for _, entry in entries))
    if jobs > 1 and len(distinct) <= min(MAX_BODIES, analyzer.maxsize) and not analyzer.learn_ddl:
        bodies = _bodies(analyzer, distinct, namespace, engine, jobs, store)
        for line, entry in entries:
            yield b'{"line":%d,' % line, bodies[entry]
        return
    cache: dict[LogEntry, bytes] = {}
    encoded: dict[int, tuple[AnalysisResult, bytes]] = {}
    for line, entry in entries:
        body = cache.get(entry)
        if body is None:
            body = entry_body(analyzer, entry, namespace, engine, encoded, store)
            if len(cache) < MAX_BODIES:
                cache[entry] = body
        yield b'{"line":%d,' % line, body


def entry_body(
    analyzer: SqlAnalyzer,
    entry: LogEntry,
    namespace: str | None,
    engine: str | None,
    encoded: dict[int, tuple[AnalysisResult, bytes]] | None = None,
    store: BodyStore | None = None,
) -> bytes:
    """The JSON of one entry's result without its opening brace, with a newline.

    ``encoded`` keeps each result's bytes: the cache gives one result object to every
    text of a fingerprint, which is then encoded once. ``store``: looked up first, and
    given the body of an answer without errors that depends on no literal.
    """
    call = _call(entry, namespace, engine)
    if isinstance(call, str):
        json: dict[str, Any] = {"statements": [], "errors": [{"index": 0, "message": call}]}
        return orjson.dumps(json, option=orjson.OPT_APPEND_NEWLINE)[1:]
    sql, eng, ns, ds = call
    key = None
    if store is not None:
        key = analyzer.stored_key(sql, engine=eng, namespace=ns, default_schema=ds)
        body = store.get(key)
        if body is not None:
            return body
    result = analyzer.analyze(sql, engine=eng, namespace=ns, default_schema=ds)
    known = encoded.get(id(result)) if encoded is not None else None
    if known is not None and known[0] is result:
        body = known[1]
    else:
        body = orjson.dumps(result.to_json(), option=orjson.OPT_APPEND_NEWLINE)[1:]
        if encoded is not None and len(encoded) < MAX_BODIES:
            encoded[id(result)] = (result, body)  # the result kept alive: its id is not reused
    if key is not None and not result.errors and not result.literal_dependent:
        assert store is not None
        store.put(key, body)
    return body


def _call(
    entry: LogEntry, namespace: str | None, engine: str | None
) -> str | tuple[str, str, str, str | None]:
    """The analyzer's arguments for ``entry``, or why it has no answer."""
    problem = entry.error or (None if entry.engine or engine else "no engine (--engine)")
    if problem is not None:
        return problem
    eng = str(entry.engine or engine)
    ns = entry.namespace or namespace or f"{eng.lower()}://default"
    return entry.query, eng, ns, entry.default_schema


def _bodies(
    analyzer: SqlAnalyzer,
    distinct: list[LogEntry],
    namespace: str | None,
    engine: str | None,
    jobs: int,
    store: BodyStore | None = None,
) -> dict[LogEntry, bytes]:
    """The body of each distinct entry, its cache groups shared among ``jobs`` processes
    (those ``store`` does not hold)."""
    bodies: dict[LogEntry, bytes] = {}
    if store is not None:
        pending = []
        for entry in distinct:
            body = _stored(analyzer, entry, namespace, engine, store)
            if body is None:
                pending.append(entry)
            else:
                bodies[entry] = body
        distinct = pending
    groups: dict[object, list[int]] = {}
    for i, entry in enumerate(distinct):
        call = _call(entry, namespace, engine)
        key: object = i
        if not isinstance(call, str):
            sql, eng, ns, ds = call
            key = analyzer.group(sql, engine=eng, namespace=ns, default_schema=ds)
        groups.setdefault(key, []).append(i)
    jobs = min(jobs, len(groups) // MIN_GROUPS_PER_JOB)
    shares = _shares(list(groups.values()), distinct, max(jobs, 1))
    children = [_fork(analyzer, [distinct[i] for i in share], namespace, engine, store)
                for share in shares[1:]]  # fmt: skip
    encoded: dict[int, tuple[AnalysisResult, bytes]] = {}
    for i in shares[0]:
        bodies[distinct[i]] = entry_body(analyzer, distinct[i], namespace, engine, encoded, store)
    for (pid, fd), share in zip(children, shares[1:], strict=True):
        found = _collect(pid, fd, len(share))
        if found is not None and store is not None:
            for key, value in found[1]:  # the worker's templates
                store.put(key, value)
        for n, i in enumerate(share):  # a worker that failed: its share is analysed here
            entry = distinct[i]
            if found is None:
                bodies[entry] = entry_body(analyzer, entry, namespace, engine, encoded, store)
                continue
            body, key = found[0][n]
            bodies[entry] = body
            if key is not None and store is not None:
                store.put(key, body)
    return bodies


def _stored(
    analyzer: SqlAnalyzer,
    entry: LogEntry,
    namespace: str | None,
    engine: str | None,
    store: BodyStore,
) -> bytes | None:
    """The body ``store`` holds for ``entry``, or None."""
    call = _call(entry, namespace, engine)
    if isinstance(call, str):
        return None
    sql, eng, ns, ds = call
    return store.get(analyzer.stored_key(sql, engine=eng, namespace=ns, default_schema=ds))


_NO_KEY = bytes(20)


class _Kept:
    """A worker's view of the store: reads it, notes the key of a body it may keep (and
    what else its analyzer keeps: templates), for the main process to keep."""

    def __init__(self, store: BodyStore | None) -> None:
        self.store = store
        self.key: bytes | None = None
        self.others: list[tuple[bytes, bytes]] = []

    def get(self, key: bytes) -> bytes | None:
        return self.store.get(key) if self.store is not None else None

    def put(self, key: bytes, body: bytes) -> None:
        self.key = key


class _Others:
    """A worker analyzer's store: reads the store, notes what it would keep."""

    def __init__(self, kept: _Kept) -> None:
        self.kept = kept

    def get(self, key: bytes) -> bytes | None:
        return self.kept.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self.kept.others.append((key, value))


def _shares(groups: list[list[int]], distinct: list[LogEntry], jobs: int) -> list[list[int]]:
    """The groups dealt to ``jobs`` processes, the heaviest first to the least loaded
    (weight: the length of a group's first text, its one full analysis); each share in
    log order. Deterministic."""
    loads = [0] * jobs
    shares: list[list[int]] = [[] for _ in range(jobs)]
    weights = [len(distinct[g[0]].query) + 60 * len(g) for g in groups]
    for n in sorted(range(len(groups)), key=lambda n: -weights[n]):
        j = loads.index(min(loads))
        loads[j] += weights[n]
        shares[j].extend(groups[n])
    return [sorted(share) for share in shares]


def _fork(
    analyzer: SqlAnalyzer,
    entries: list[LogEntry],
    namespace: str | None,
    engine: str | None,
    store: BodyStore | None = None,
) -> tuple[int, int]:
    """(pid, read end of its pipe) of a worker process that writes the bodies of
    ``entries``: their lengths (8 bytes each), the key under which each may be kept
    (20 bytes, zeros for none), the bodies, then what else its analyzer would keep
    (templates): their number, and per item its key, length (8 bytes) and bytes."""
    read, write = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write)
        return pid, read
    status = 1
    try:  # the worker: never returns
        os.close(read)
        encoded: dict[int, tuple[AnalysisResult, bytes]] = {}
        kept = _Kept(store) if store is not None else None
        if kept is not None and analyzer.store is not None:
            analyzer.store = _Others(kept)
        bodies, keys = [], []
        for e in entries:
            if kept is not None:
                kept.key = None
            bodies.append(entry_body(analyzer, e, namespace, engine, encoded, kept))
            keys.append(kept.key if kept is not None and kept.key else _NO_KEY)
        head = struct.pack(f"<{len(bodies)}Q", *map(len, bodies))
        _write_all(None, write, [head, *keys])
        for start in range(0, len(bodies), 2 * _BATCH):
            _write_all(None, write, bodies[start : start + 2 * _BATCH])
        others = kept.others if kept is not None else []
        tail = [struct.pack("<Q", len(others))]
        for key, value in others:
            tail += (key, struct.pack("<Q", len(value)), value)
        _write_all(None, write, tail)
        status = 0
    finally:
        os._exit(status)


def _collect(
    pid: int, fd: int, count: int
) -> tuple[list[tuple[bytes, bytes | None]], list[tuple[bytes, bytes]]] | None:
    """The bodies a worker wrote with the keys to keep them under, and the other items
    its analyzer would keep; None when it failed."""
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    data = b"".join(chunks)
    head = 8 * count + len(_NO_KEY) * count
    if status != 0 or len(data) < head:
        return None
    lengths = struct.unpack_from(f"<{count}Q", data)
    pos = head + sum(lengths)
    if pos + 8 > len(data):
        return None
    view = memoryview(data)
    found: list[tuple[bytes, bytes | None]] = []
    at = head
    for i, n in enumerate(lengths):
        k = 8 * count + len(_NO_KEY) * i
        key = data[k : k + len(_NO_KEY)]
        found.append((bytes(view[at : at + n]), None if key == _NO_KEY else key))
        at += n
    (n_others,) = struct.unpack_from("<Q", data, pos)
    pos += 8
    others: list[tuple[bytes, bytes]] = []
    for _ in range(n_others):
        if pos + len(_NO_KEY) + 8 > len(data):
            return None
        key = data[pos : pos + len(_NO_KEY)]
        (n,) = struct.unpack_from("<Q", data, pos + len(_NO_KEY))
        pos += len(_NO_KEY) + 8
        others.append((key, data[pos : pos + n]))
        pos += n
    if pos != len(data):
        return None
    return found, others


def write_lines(
    out: IO[bytes],
    lines: Iterable[tuple[bytes, bytes]],
    advance: Callable[[int], None] | None = None,
) -> None:
    """Write each line's parts in order. To a file descriptor with ``os.writev``: a
    repeated entry's bytes (most of a log's output) are never copied into a buffer."""
    try:
        fd = out.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        fd = -1
    out.flush()
    batch: list[bytes] = []
    for head, body in lines:
        batch += (head, body)
        if len(batch) >= 2 * _BATCH:
            _write_all(out, fd, batch)
            batch = []
            if advance is not None:
                advance(_BATCH)
    _write_all(out, fd, batch)
    out.flush()


def _write_all(out: IO[bytes] | None, fd: int, parts: list[bytes]) -> None:
    if fd < 0:
        assert out is not None
        out.write(b"".join(parts))
        return
    pending: list[bytes | memoryview] = list(parts)
    while pending:
        n = os.writev(fd, pending)
        i = 0
        while i < len(pending) and n >= len(pending[i]):
            n -= len(pending[i])
            i += 1
        pending = pending[i:]
        if n:  # a part written in part
            pending[0] = memoryview(pending[0])[n:]
