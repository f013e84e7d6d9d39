"""Type stubs for the native matcher extension, `matcher_rs._native`.

Inside one sampled request, decide which sink carries which source value.
Payloads are JSON text or raw bytes; JSON is flattened into leaves (strings
and numbers, numbers in canonical text) with paths joining keys with ``.`` and
list positions with ``[]``; anything else, or a JSON string at top level, is
one leaf with an empty path. A source leaf too short (``min_length``
characters), with no letter or digit, or on the stop-list never matches.
"""

from collections.abc import Sequence
from typing import Final, final

__all__ = [
    "DEFAULT_MAX_CAPTURE_BYTES",
    "DEFAULT_MIN_LENGTH",
    "ProbeBatch",
    "RequestResult",
    "decode_probe_events",
    "default_stop_list",
    "flatten",
    "join_traces",
    "match_requests",
    "transform_names",
    "version",
]

DEFAULT_MIN_LENGTH: Final[int]
"""The default minimum length of a source value, in characters (4)."""

DEFAULT_MAX_CAPTURE_BYTES: Final[int]
"""The default cap on one capture, in bytes (1 MiB)."""

@final
class RequestResult:
    """The outcome of matching one request; immutable.

    Lists are built on each attribute access from the compact native result.
    """

    @property
    def matches(self) -> list[tuple[int, str, int, str, str, str | None]]:
        """Matches as ``(source_index, source_path, sink_index, sink_path, kind, transform)``.

        ``kind`` is ``"EXACT_MATCH"`` (the sink leaf equals the source leaf,
        after the transform) or ``"CONTAINS"`` (the sink leaf holds it inside a
        longer value). ``transform`` names what was applied to the source value
        (``"lowercase"``, ``"url"``, ``"base64"``, ``"md5"``, ``"sha1"``,
        ``"sha256"``, ``"md5_base64"``, ``"sha1_base64"``, ``"sha256_base64"``),
        ``None`` when none. One match per pair of leaves (the best: exact
        before contains, then transforms in that order); sorted, no duplicates.
        """

    @property
    def nomatch(self) -> list[tuple[int, int]]:
        """``(source_index, sink_index)`` capture pairs that share no value."""

    @property
    def truncated(self) -> int:
        """How many captures of the request were over the cap and truncated."""

    @property
    def searcher(self) -> str:
        """The searcher used: ``"none"``, ``"memmem"``, ``"hash"``, ``"teddy"`` or ``"nfa"``."""

    @property
    def failed(self) -> bool:
        """True when matching this request hit an internal error (no results)."""

def match_requests(
    requests: Sequence[tuple[Sequence[bytes], Sequence[bytes]]],
    *,
    min_length: int = 4,
    transforms: Sequence[str] | None = None,
    stop_list: Sequence[str] | None = None,
    max_capture_bytes: int = 1048576,
) -> list[RequestResult]:
    """Match a batch of requests; one result per request, in order.

    Args:
        requests: ``(sources, sinks)`` per request, each a list of payload bytes
            (JSON text or raw bytes; invalid JSON or UTF-8 is raw bytes).
        min_length: Minimum length of a source value, in characters.
        transforms: Transform names to try besides the value itself; ``None``
            for all of :func:`transform_names`, ``[]`` for none.
        stop_list: Values never evidence (ASCII case-insensitive); ``None`` for
            :func:`default_stop_list`.
        max_capture_bytes: Captures longer than this are truncated to it and
            counted in :attr:`RequestResult.truncated`.

    Returns:
        One :class:`RequestResult` per request.

    Raises:
        ValueError: An unknown transform name.
        TypeError: A request that is not a pair of lists of bytes.

    The GIL is released while the batch is matched; no Python object is
    touched meanwhile.

    >>> [r] = match_requests([([b'{"email": "alice@example.com"}'],
    ...                        [b'{"to": ["alice@example.com"]}'])])
    >>> r.matches
    [(0, 'email', 0, 'to[]', 'EXACT_MATCH', None)]
    """

def flatten(payload: bytes, *, max_capture_bytes: int = 1048576) -> list[tuple[str, bytes]]:
    """Flatten one payload into ``(path, value)`` leaves, in document order.

    >>> flatten(b'{"a": {"b": "x"}, "c": [1.50, true]}')
    [('a.b', b'x'), ('c[]', b'1.5')]
    >>> flatten(b'not json')
    [('', b'not json')]
    """

def decode_probe_events(
    values: Sequence[bytes],
) -> list[tuple[str, int, str, str, bytes] | str | None]:
    """Decode and validate a batch of probe-event record values; one item per value.

    Each item is, for a valid probe event, ``(trace_id, ts, role, asset,
    payload)`` with ``payload`` the bytes ``orjson.dumps(event["payload"])``
    gives; for an invalid one, the reason ``analyzers.events.validate_event``
    gives (it names fields, never values); or ``None`` when the value is left
    to the Python validator: not valid JSON (its reason quotes orjson's error
    position), another event type, ``v`` or ``ts`` not a plain 64-bit integer,
    duplicate keys, a float or an integer beyond 64 bits inside the payload,
    lone surrogates, nesting deeper than 128, or ``payload_b64`` present.

    The GIL is released while the batch is decoded.

    Raises:
        TypeError: ``values`` is not a sequence of ``bytes``.

    >>> decode_probe_events([b'{"v":1,"type":"probe","ts":5,"trace_id":"t","role":"sink",'
    ...                      b'"asset":"db://x","payload":{"a": [1, "x"]}}', b'[]', b'{'])
    [('t', 5, 'sink', 'db://x', b'{"a":[1,"x"]}'), 'event is not a JSON object', None]
    """

def join_traces(
    events: Sequence[tuple[str, int, str, str, bytes]],
    trace_ids: Sequence[str],
    priors: Sequence[tuple[tuple[int, int, int, int, int], bytes | None] | None],
    *,
    watermark: int,
    size_ms: int,
    allowed_lateness_ms: int,
    max_captures: int,
    max_bytes: int,
    prefixes: tuple[bytes, bytes, bytes],
    open_windows: int,
    min_length: int = 4,
    transforms: Sequence[str] | None = None,
    max_capture_bytes: int = 1048576,
) -> tuple[
    bytes,
    int,
    tuple[
        list[tuple[bytes, bytes | None]],
        list[tuple[bytes, tuple[int, int, bytes]]],
        bytes,
        list[int],
        tuple[int, int],
    ],
    list[tuple[str, str, str, str | None, int, int, int]],
    int,
    int,
    int,
]:
    r"""The probe join's per-event work over one decoded batch, in one call.

    ``events`` are ``(trace_id, ts, role, asset, payload)`` as
    ``decode_probe_events`` gives them; ``trace_ids`` every trace id among
    them, and ``priors`` each one's window before the batch:
    ``((first_ts, close_at, count, size, overflow), packed)`` with ``packed``
    its readable captures as ``state.traces.pack_captures`` packs them (or
    ``None``), or ``None`` for no window. ``watermark`` is the partition's
    before the batch; the sizes and caps are the topology's; ``prefixes``
    the key namespaces of the window metadata, the expiry index and the
    capture records (``state.traces.TraceWindows.prefixes``); ``open_windows``
    the partition's count of open windows before the batch.

    Each event is offered to its trace's window as ``TraceWindows.add``
    would (the watermark moves to its ``ts``; late, over the caps, or stored);
    a stored capture is paired with the earlier captures of the other role in
    its window, the pairs are matched as ``match_requests`` would, and the
    results folded as ``analyzers.runtime.RuntimeFold`` folds them.

    Returns ``(admissions, watermark, writes, observations, requests,
    matched_bytes, failed)``: one byte per event (0 stored, 1 late, 2 over
    the caps); the watermark after the batch; the store writes of the traces
    a non-late event touched (``state.traces.Writes``: the window changes in
    order as ``(key, value or None)``, the capture records to seal as
    ``(key, (close_at, count, packed))``, per touched trace in first-touch
    order its flags (bit 0 earlier captures read, bit 1 earlier window
    closed, bit 2 window at the end opened in the batch) and its index into
    ``trace_ids``, and ``(windows closed early, open windows after the
    batch's events)``, that count never taken below zero); the folded
    observations ``(src, dst, kind, transform, count, latest, earliest)`` in
    first-seen order; how many requests were matched, their payload bytes,
    and how many failed. The GIL is released while the batch is joined.

    Raises:
        ValueError: a role other than ``source``/``sink``, an event's trace
            id not in ``trace_ids``, ``priors`` not as long as
            ``trace_ids``, a packed record that is not one, or an unknown
            transform.
        struct.error: a stored capture's asset (over 65,535 bytes) or payload
            too long for its record, as ``state.traces.pack_captures`` raises.

    >>> admissions, wm, writes, observations, *_ = join_traces(
    ...     [("t", 10, "source", "web://s/r", b'{"loc": "Home, 123 Main St"}'),
    ...      ("t", 11, "sink", "db://x/t", b'"Home, 123 Main St"')], ["t"], [None],
    ...     watermark=-1, size_ms=100, allowed_lateness_ms=50, max_captures=8, max_bytes=1000,
    ...     prefixes=(b"m|", b"x|", b"c|"), open_windows=0)
    >>> admissions, wm, [key for key, _ in writes[0]], writes[1][0][0], writes[2:]
    (b'\x00\x00', 11, [b'x|00000000000000000160|t', b'm|t'], b'c|1:t|', (b'\x04', [0], (0, 1)))
    >>> observations
    [('web://s/r#loc', 'db://x/t', 'EXACT_MATCH', None, 1, 11, 11)]
    """

class ProbeBatch:
    r"""A partition's probe-event values, decoded for the trace join without the
    decoded events crossing into Python (``analyzers.probe_events.decode_probe_batch``).

    Made from the raw record values (``None``: a tombstone), decoded as
    ``decode_probe_events`` decodes them with the GIL released; the values
    it leaves (``undecided``) are settled by the caller's validator
    (``settle``); ``bound`` refuses events too far from their record
    timestamps; ``trace_ids`` fixes the events the join takes (valid, payload
    at most the capture cap) and gives their traces in first-seen order, and
    ``join`` joins them as ``join_traces`` would. ``len()`` is the number of
    valid events (a readable payload or not, within the bounds).

    >>> batch = ProbeBatch([b'{"v":1,"type":"probe","ts":5,"trace_id":"t","role":"sink",'
    ...                     b'"asset":"db://x","payload":"Home, 123 Main St"}', b'[]', None])
    >>> batch.undecided()
    [2]
    >>> batch.settle(2, "a tombstone")
    >>> len(batch), batch.dead()
    (1, [(1, 'event is not a JSON object', None), (2, 'a tombstone', None)])
    >>> batch.trace_ids(1024)
    ['t']
    >>> refusals, (admissions, wm, *_) = batch.join(
    ...     [None], watermark=-1, size_ms=100, allowed_lateness_ms=50, max_captures=8,
    ...     max_bytes=1000, prefixes=(b"m|", b"x|", b"c|"), open_windows=0,
    ...     max_capture_bytes=1024)
    >>> refusals, admissions, wm
    ([], b'\x00', 5)
    """

    def __init__(self, values: Sequence[bytes | None]) -> None: ...
    def __len__(self) -> int: ...
    def valid(self) -> list[tuple[int, tuple[str, int, str, str, bytes] | tuple[str, int] | None]]:
        """The valid events in order with their indexes: ``(trace_id, ts, role,
        asset, payload)``, ``(reason, ts)`` for a payload fault, ``None`` for one
        held (see ``held``)."""
    def held(self) -> list[int]:
        """The valid events whose ``ts`` is beyond 64 bits (settled so, in order):
        the caller bounds them; ``trace_ids`` and ``join`` raise ``OverflowError``
        while one is left."""
    def undecided(self) -> list[int]:
        """The indexes of the values left to the caller's validator."""
    def settle(self, index: int, verdict: tuple[str, int, str, str, bytes]
               | tuple[str, int] | str) -> None:
        """The validator's verdict for value ``index``: an event ``(trace_id, ts,
        role, asset, payload)``, a payload fault ``(reason, ts)``, or the reason
        of an invalid envelope. An event or fault whose ``ts`` is beyond 64 bits
        is held (``held``).

        Raises:
            ValueError: no such value, or a role other than ``source``/``sink``.
            TypeError: a verdict of another shape.
        """
    def bound(self, record_ts: Sequence[int | None], max_future_ms: int,
              max_age_ms: int) -> None:
        """Refuse the valid events whose ``ts`` is more than ``max_future_ms``
        ahead of their record timestamp (one per value; ``None`` or negative:
        no bound) or more than ``max_age_ms`` behind it (negative: no lower
        bound), as ``state.windows.EventTimeBounds.refusal`` does.

        Raises:
            ValueError: not one record timestamp per value.
        """
    def dead(self) -> list[tuple[int, str | None, int | None]]:
        """The values dead before any window, in order: ``(index, reason, None)``
        for an invalid envelope, ``(index, None, ts)`` for an event out of bounds."""
    def trace_ids(self, max_capture_bytes: int) -> list[str]:
        """The traces of the events the join takes, in first-seen order.

        Raises:
            ValueError: a value is still undecided.
            OverflowError: a value is held.
        """
    def join(
        self,
        priors: Sequence[tuple[tuple[int, int, int, int, int], bytes | None] | None],
        *,
        watermark: int,
        size_ms: int,
        allowed_lateness_ms: int,
        max_captures: int,
        max_bytes: int,
        prefixes: tuple[bytes, bytes, bytes],
        open_windows: int,
        min_length: int = 4,
        transforms: Sequence[str] | None = None,
        max_capture_bytes: int = 1048576,
    ) -> tuple[
        list[tuple[int, int, int, str | int | None]],
        tuple[
            bytes,
            int,
            tuple[
                list[tuple[bytes, bytes | None]],
                list[tuple[bytes, tuple[int, int, bytes]]],
                bytes,
                list[int],
                tuple[int, int],
            ],
            list[tuple[bytes, bytes]],
            int,
            int,
            int,
        ],
    ]:
        """Join the events ``trace_ids`` fixed (``priors``: one per trace id,
        and the other arguments as for ``join_traces``, ``max_capture_bytes`` the
        same cap as ``trace_ids``'s).

        Returns ``(refusals, outcome)``: ``outcome`` as ``join_traces`` returns
        it, but for the observations: each is its ``flow-signals`` record
        ``(key, value)``, the bytes ``analyzers.runtime.observed_signal`` gives
        through ``FlowSignal.edge_id`` and ``FlowSignal.to_json``; ``refusals``
        every valid event that reached no window, in event order, as ``(index,
        code, ts, detail)``: code 0 a payload fault (``detail`` its reason), 1 a
        payload over the cap (``detail`` its size in bytes), 2 late, 3 over its
        window's caps (``detail`` None).

        Raises:
            ValueError: ``trace_ids`` not called first with the same cap, and
                as ``join_traces``.
            struct.error: as ``join_traces``.
        """

def default_stop_list() -> list[str]:
    """The default stop-list of values too common to be evidence."""

def transform_names() -> list[str]:
    """The name of every transform, in preference order."""

def version() -> str:
    """Return the version of the native matcher crate."""

def sql_fingerprint(sql: str) -> tuple[str, list[int]] | None:
    """``(fingerprint, word ends)`` of an ASCII SQL text as ``analyzers.sql.keys`` computes
    them, or None (non-ASCII text, or a list of literals too long): use the Python version."""

def sql_word_positions(sql: str, words: list[str]) -> list[int] | None:
    """Offsets of the words of an ASCII SQL text outside comments and masked literals whose
    lower-case form is in ``words``, as ``analyzers.sql.keys.word_positions`` finds them;
    None for text left to the Python version."""

def sql_table_words(sql: str, ends: list[int]) -> list[tuple[int, bool]] | None:
    """Per word end of ``sql_fingerprint``: the word's start, and whether a table keyword
    comes before it; None for text left to the Python version."""


#: A folded observation: ``FlowSignal``'s fields in order (src, dst, kind,
#: origin, ts, transform, masking, count, earliest, producer).
SignalFields = tuple[str, str, str, str, int, str | None, bool, int, int | None, str | None]

class SignalBatch:
    """A partition's ``flow-signals`` values, decoded, validated as
    ``analyzers.signals.parse_signal`` does and folded per observation as
    ``analyzers.signals.fold`` does, without a Python object per signal
    (``analyzers.signal_batch.decode_signal_batch``).

    Made from the raw record values (``None``: a tombstone) and the known
    kinds and origins, decoded with the GIL released; the values it leaves
    (``undecided``: invalid JSON, a repeated key, an integer beyond 64 bits, a
    tombstone) are settled by the caller's validator (``settle``). ``len()``
    is the number of valid signals.

    >>> batch = SignalBatch([b'{"v":1,"src":"a","dst":"b","kind":"CONTAINS",'
    ...                      b'"origin":"sql","ts":5}', b'[]', None], ["CONTAINS"], ["sql"])
    >>> batch.undecided()
    [2]
    >>> batch.settle(2, ("a", "b", "CONTAINS", "sql", 9, None, False, 2, 1, None))
    >>> len(batch), batch.dead()
    (2, [(1, 'event is not a JSON object')])
    >>> batch.groups()
    [(('a', 'b', 'CONTAINS', 'sql', 9, None, False, 3, 1, None), [0, 2])]
    """

    def __init__(self, values: Sequence[bytes | None], kinds: Sequence[str],
                 origins: Sequence[str]) -> None: ...
    def __len__(self) -> int: ...
    def undecided(self) -> list[int]:
        """The indexes of the values left to the caller's validator."""
    def settle(self, index: int, verdict: SignalFields | str) -> None:
        """The validator's verdict for value ``index``: the signal's fields, or
        the reason it is invalid.

        Raises:
            ValueError: no such value, an unknown kind or origin, or a tuple of
                another length.
            TypeError, OverflowError: a field of another type or range.
        """
    def dead(self) -> list[tuple[int, str]]:
        """The invalid values with their reasons, in order."""
    def groups(self) -> list[tuple[SignalFields, list[int]]]:
        """The valid signals folded per observation, in the order each first
        appears, with the indexes of the values folded: counts summed, the
        latest ``ts``, the earliest first time (``earliest``, or ``ts``); a
        single signal as it came."""


#: What ``read_record_batches`` returns: the offsets, timestamps, keys and
#: values of the records read; the next offset to consume; where the batch to
#: read next starts; and why it stopped (``"end"``, ``"limit"``, ``"unread"``).
RecordColumns = tuple[list[int], list[int], list[bytes | None], list[bytes | None], int, int,
                      str]

def read_record_batches(raw: bytes, pos: int, next_offset: int, limit: int, *,
                        check_crcs: bool = True) -> RecordColumns:
    r"""A partition's fetched record set (Kafka message format v2) read into columns
    from byte ``pos``, as aiokafka's ``PartitionRecords`` reads it, with no object per
    record (``streams.pipeline.record_columns``).

    Records below ``next_offset`` are skipped and control batches passed over. It
    stops after ``limit`` records (``"limit"``: read on from the batch at the position
    returned), at the end of the complete batches (``"end"``: a truncated last batch
    is for the next fetch), or at a batch it leaves to aiokafka's own reader
    (``"unread"``): compressed, of an older format, with a CRC-32C that does not match
    (when ``check_crcs``) or not exactly as the format says. A batch is returned whole
    or not at all.

    >>> batch = bytes.fromhex(
    ...     "0000000000000007" "0000003a" "00000000" "02" "233dad44" "0000" "00000000"
    ...     "00000000000003e8" "00000000000003e8" "ffffffffffffffff" "ffff" "ffffffff"
    ...     "00000001" "10" "00" "00" "00" "01" "04" "6869" "00")
    >>> read_record_batches(batch, 0, 0, 100)
    ([7], [1000], [None], [b'hi'], 8, 70, 'end')
    >>> read_record_batches(batch[:-1], 0, 0, 100)[4:]
    (0, 0, 'end')
    """
