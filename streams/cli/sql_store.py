"""`lineage analyze-sql --log FILE --cache DIR`: answers kept on disk across runs.

A query log repeats its statement shapes day after day; the first analysis of
each shape is most of a run's work. With ``--cache DIR`` each answer the
fingerprint cache may share (:meth:`~analyzers.sql.cache.SqlAnalyzer.stored_key`)
is kept in one file, ``DIR/analyze-sql.cache``, and a later run answers those
entries from it without parsing them (or importing sqlglot when every entry
is known).

What it holds, and what it never holds:

- keys: 20-byte digests of the engine, namespace, default schema, the known
  columns' digest and the statement's fingerprint or template key (literal
  values masked); never a statement's text;
- values: the JSON lines' bodies of answers without errors that do not depend
  on a literal (no file path or query text taken from a literal): texts that
  differ only in literal values share them, so no literal of any statement is
  in them;
- the words of each dialect seen (sqlglot's keywords and functions), so that a
  run answered entirely from the file computes its keys without sqlglot.

The file names the code it was written by (a digest of the analyzer's and this
command's source files, sqlglot's version and the Rust extension's build); written
by other code, it is
ignored and replaced. It is bounded (:data:`MAX_ENTRIES`, :data:`MAX_BYTES`):
a run that adds answers rewrites it with the answers it used first, then the
older ones, up to the bounds. Written to a temporary file and renamed: a
reader sees the old file or the new one whole; two runs at once: the last
rename wins. A file that cannot be read or does not check out is ignored.
"""

from __future__ import annotations

import hashlib
import importlib.util
import mmap
import os
import re
import struct
from collections.abc import Mapping
from pathlib import Path

import orjson

FILE_NAME = "analyze-sql.cache"
MAGIC = b"lineage analyze-sql cache 1\n"
#: Answers kept at most, and their bytes at most.
MAX_ENTRIES = 100_000
MAX_BYTES = 512 << 20
_KEY = 20  # bytes of a key (SqlAnalyzer.stored_key)


def code_identity() -> str:
    """A digest of the code that computes the answers: the analyzer's source files,
    this command's encoding of them, sqlglot's version (read without importing it) and
    the build of the Rust extension that computes the keys."""
    import analyzers.sql
    import streams.cli.sql_log

    h = hashlib.blake2b(digest_size=16)
    sources = sorted(Path(analyzers.sql.__file__).parent.glob("*.py"))
    sources += [Path(streams.cli.sql_log.__file__), Path(__file__)]
    for path in sources:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for package in ("sqlglot", "sqlglotc"):
        h.update(f"{package}={_version(package)}\0".encode())
    try:  # the Rust scan of the keys: its build (size and time; hashing it costs 10 ms)
        import matcher_rs._native

        info = os.stat(matcher_rs._native.__file__)
        h.update(f"native={info.st_size},{info.st_mtime_ns}\0".encode())
    except (ImportError, OSError, TypeError):
        h.update(b"native=none\0")
    return h.hexdigest()


_VERSION = re.compile(r"""__version__\s*=\s*(?:version\s*=\s*)?['"]([^'"]+)['"]""")


def _version(package: str) -> str:
    """The installed version of ``package`` ("" when absent), without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return ""
    if spec is None:
        return ""
    if spec.origin:
        try:
            m = _VERSION.search(Path(spec.origin).with_name("_version.py").read_text())
        except OSError:
            m = None
        if m is not None:
            return m.group(1)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


class AnswerStore:
    """The answers of earlier runs in ``directory`` and those of this run (see the module)."""

    def __init__(self, directory: str | os.PathLike[str], identity: str | None = None) -> None:
        self.path = Path(directory) / FILE_NAME
        self.identity = identity if identity is not None else code_identity()
        self.hits = 0
        self._view: memoryview | None = None
        self._map: mmap.mmap | None = None
        self._index: dict[bytes, tuple[int, int]] = {}  # key -> (offset, length)
        self._used: dict[bytes, None] = {}  # keys read this run, in order
        self._added: dict[bytes, bytes] = {}
        self.reserved: dict[str, frozenset[str] | None] = {}
        self._load()

    def _load(self) -> None:
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < len(MAGIC) + 8:
                    return
                data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return
        try:
            self._read(data, size)
        except (ValueError, TypeError, KeyError, struct.error, orjson.JSONDecodeError):
            self._index = {}
            self.reserved = {}
        if self._index:
            self._map, self._view = data, memoryview(data)
        else:
            data.close()

    def _read(self, data: mmap.mmap, size: int) -> None:
        if data[: len(MAGIC)] != MAGIC:
            return
        (n,) = struct.unpack_from("<Q", data, len(MAGIC))
        start = len(MAGIC) + 8
        header = orjson.loads(data[start : start + n])
        if header["identity"] != self.identity:
            return
        lengths: list[int] = header["lengths"]
        keys = bytes.fromhex(header["keys"])
        if len(keys) != _KEY * len(lengths) or start + n + sum(lengths) != size:
            return
        offset = start + n
        index: dict[bytes, tuple[int, int]] = {}
        for i, length in enumerate(lengths):
            index[keys[_KEY * i : _KEY * (i + 1)]] = (offset, length)
            offset += length
        self.reserved = {
            engine: None if words is None else frozenset(words)
            for engine, words in header["reserved"].items()
        }
        self._index = index

    def __len__(self) -> int:
        return len(self._index) + len(self._added)

    def get(self, key: bytes) -> bytes | None:
        """The body kept under ``key``, or None."""
        body = self._added.get(key)
        if body is not None:
            return body
        where = self._index.get(key)
        if where is None or self._view is None:
            return None
        self.hits += 1
        self._used[key] = None
        offset, length = where
        return bytes(self._view[offset : offset + length])

    def put(self, key: bytes, body: bytes) -> None:
        """Keep ``body`` under ``key`` (written by :meth:`save`)."""
        if len(key) == _KEY and key not in self._index:
            self._added[key] = body

    def save(self, reserved: Mapping[str, frozenset[str] | None]) -> bool:
        """Rewrite the file when this run added answers or dialect words; whether it did.
        Errors writing are left to the caller (the answers were already given)."""
        words = {e: w for e, w in reserved.items() if e not in self.reserved}
        if not self._added and not words:
            return False
        entries: dict[bytes, bytes | tuple[int, int]] = {}
        for key in self._used:  # read this run, then added, then the older ones
            entries[key] = self._index[key]
        entries.update(self._added)
        for key, where in self._index.items():
            entries.setdefault(key, where)
        keys: list[bytes] = []
        bodies: list[bytes] = []
        total = 0
        for key, value in entries.items():
            body = value if isinstance(value, bytes) else self._slice(value)
            if len(keys) >= MAX_ENTRIES or total + len(body) > MAX_BYTES:
                break
            keys.append(key)
            bodies.append(body)
            total += len(body)
        all_words = {**self.reserved, **words}
        header = orjson.dumps(
            {
                "identity": self.identity,
                "reserved": {e: None if w is None else sorted(w) for e, w in all_words.items()},
                "keys": b"".join(keys).hex(),
                "lengths": [len(b) for b in bodies],
            }
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + struct.pack("<Q", len(header)) + header)
                f.writelines(bodies)
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def _slice(self, where: tuple[int, int]) -> bytes:
        assert self._view is not None
        offset, length = where
        return bytes(self._view[offset : offset + length])

    def close(self) -> None:
        if self._view is not None:
            self._view.release()
            self._view = None
        if self._map is not None:
            self._map.close()
            self._map = None
