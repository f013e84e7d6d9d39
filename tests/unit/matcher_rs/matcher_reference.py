"""A slow, obviously-correct pure-Python payload matcher: the reference.

It follows the rules of ``matcher_rs`` one by one, with no cleverness: every
sink is flattened, every source leaf is tried against every sink leaf under
every transform with ``in`` and ``==``. The property tests check that the
Rust matcher agrees with it; the benchmark times it as a peer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

MAX_DEPTH = 128
DEFAULT_MAX_CAPTURE_BYTES = 1 << 20
B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
TRANSFORM_ORDER: tuple[str | None, ...] = (
    None,
    "lowercase",
    "url",
    "base64",
    "md5",
    "sha1",
    "sha256",
    "md5_base64",
    "sha1_base64",
    "sha256_base64",
)
KIND_ORDER = ("EXACT_MATCH", "CONTAINS")

Match = tuple[int, str, int, str, str, str | None]


class _Invalid(ValueError):
    """The payload is not JSON the matcher accepts."""


@dataclass
class _Number:
    text: str
    is_integer: bool


@dataclass
class _Object:
    pairs: list[tuple[str, Any]]


# -- numbers -------------------------------------------------------------------


def _ryu(v: float) -> str:
    """Shortest round-trip text of a finite float, in ryu's layout."""
    if v == 0:
        return "-0.0" if math.copysign(1.0, v) < 0 else "0.0"
    sign = "-" if v < 0 else ""
    t = Decimal(repr(abs(v))).as_tuple()
    digits, k = list(t.digits), int(t.exponent)
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        k += 1
    s = "".join(map(str, digits))
    kk = len(s) + k
    if k >= 0 and kk <= 16:
        out = s + "0" * k + ".0"
    elif 0 < kk <= 16:
        out = s[:kk] + "." + s[kk:]
    elif -5 < kk <= 0:
        out = "0." + "0" * -kk + s
    elif len(s) == 1:
        out = f"{s}e{kk - 1}"
    else:
        out = f"{s[0]}.{s[1:]}e{kk - 1}"
    return sign + out


def canonical_number(text: str, is_integer: bool) -> str:
    """Integers in 64 bits as decimal; anything else as a double, ryu style."""
    if is_integer and len(text) <= 21:
        n = int(text)
        if -(2**63) <= n < 2**64:
            return str(n)
    v = float(text)
    return _ryu(v) if math.isfinite(v) else text


# -- flattening ----------------------------------------------------------------


def _reject(_: str) -> Any:
    raise _Invalid("NaN and Infinity are not JSON")


def flatten(payload: bytes) -> list[tuple[str, bytes]]:
    """(path, value) leaves of a payload; non-JSON is one raw leaf."""
    try:
        text = payload.decode("utf-8")
        doc = json.loads(
            text,
            object_pairs_hook=_Object,
            parse_float=lambda s: _Number(s, False),
            parse_int=lambda s: _Number(s, True),
            parse_constant=_reject,
        )
        leaves: list[tuple[str, bytes]] = []
        _walk(doc, "", 0, leaves)
    except (ValueError, RecursionError):
        return [("", payload)]
    return leaves


def _walk(node: Any, path: str, depth: int, out: list[tuple[str, bytes]]) -> None:
    if depth > MAX_DEPTH:
        raise _Invalid("too deep")
    if isinstance(node, _Object):
        for key, value in node.pairs:
            key.encode("utf-8")  # a lone surrogate is not valid
            _walk(value, f"{path}.{key}" if path else key, depth + 1, out)
    elif isinstance(node, list):
        for value in node:
            _walk(value, path + "[]", depth + 1, out)
    elif isinstance(node, str):
        out.append((path, node.encode("utf-8")))
    elif isinstance(node, _Number):
        out.append((path, canonical_number(node.text, node.is_integer).encode()))


# -- guards --------------------------------------------------------------------


def char_length(value: bytes) -> int:
    try:
        return len(value.decode("utf-8"))
    except UnicodeDecodeError:
        return len(value)


def is_evidence(value: bytes, min_length: int, stop: set[bytes]) -> bool:
    n = char_length(value)
    return (
        n >= min_length
        and n > 0
        and any(b >= 0x80 or chr(b).isalnum() for b in value)
        and value.lower() not in stop
    )


# -- transforms ----------------------------------------------------------------

# A test (contains, exact) on a sink leaf for one form of a source value.
Test = tuple[Callable[[bytes], bool], Callable[[bytes], bool]]


def lowercase(value: bytes) -> bytes:
    try:
        return value.decode("utf-8").lower().encode("utf-8")
    except UnicodeDecodeError:
        return value.lower()


def _plain(form: bytes) -> Test:
    return (lambda leaf: form in leaf, lambda leaf: leaf == form)


def _b64_whole(value: bytes) -> Test:
    padded = base64.b64encode(value)
    unpadded = padded.rstrip(b"=")
    if len(value) % 3 == 0:
        return _plain(padded)
    # The last digit also holds bits of whatever follows the value: any digit
    # whose top bits are the value's last bits will do.
    bits = 2 if len(value) % 3 == 1 else 4
    last = value[-1] & ((1 << bits) - 1)
    stem = unpadded[:-1]
    nexts = [B64_ALPHABET[d : d + 1] for d in range(64) if d >> (6 - bits) == last]
    return (
        lambda leaf: any(stem + c in leaf for c in nexts),
        lambda leaf: leaf in (padded, unpadded),
    )


def _b64_digest(digest: bytes) -> Test:
    padded = base64.b64encode(digest)
    unpadded = padded.rstrip(b"=")
    return (lambda leaf: unpadded in leaf, lambda leaf: leaf in (padded, unpadded))


def transform_tests(value: bytes, transforms: Sequence[str]) -> list[tuple[str | None, Test]]:
    """(name, test) for the value itself and each transform that changes it."""
    out: list[tuple[str | None, Test]] = [(None, _plain(value))]
    for name in TRANSFORM_ORDER[1:]:
        if name is None or name not in transforms:
            continue
        if name == "lowercase":
            form = lowercase(value)
            if form != value:
                out.append((name, _plain(form)))
        elif name == "url":
            form = urllib.parse.quote(value, safe="").encode()
            if form != value:
                out.append((name, _plain(form)))
        elif name == "base64":
            out.append((name, _b64_whole(value)))
        elif name.endswith("_base64"):
            out.append((name, _b64_digest(hashlib.new(name[: -len("_base64")], value).digest())))
        else:
            out.append((name, _plain(hashlib.new(name, value).hexdigest().encode())))
    return out


# -- matching ------------------------------------------------------------------


@dataclass
class ReferenceResult:
    matches: list[Match] = field(default_factory=list)
    nomatch: list[tuple[int, int]] = field(default_factory=list)
    truncated: int = 0


def match_request(
    sources: Sequence[bytes],
    sinks: Sequence[bytes],
    *,
    min_length: int = 4,
    transforms: Sequence[str] | None = None,
    stop_list: Sequence[str] | None = None,
    max_capture_bytes: int = DEFAULT_MAX_CAPTURE_BYTES,
) -> ReferenceResult:
    """Match one request the slow way."""
    import matcher_rs  # the default stop-list and transform names only

    names = list(matcher_rs.transform_names()) if transforms is None else list(transforms)
    words = matcher_rs.default_stop_list() if stop_list is None else stop_list
    stop = {w.encode("utf-8").lower() for w in words}
    result = ReferenceResult()

    def cap(p: bytes) -> bytes:
        if len(p) > max_capture_bytes:
            result.truncated += 1
            return p[:max_capture_bytes]
        return p

    source_leaves = [flatten(cap(p)) for p in sources]
    sink_leaves = [flatten(cap(p)) for p in sinks]
    found: set[Match] = set()
    matched: set[tuple[int, int]] = set()
    for si, leaves in enumerate(source_leaves):
        for spath, value in leaves:
            if not is_evidence(value, min_length, stop):
                continue
            tests = transform_tests(value, names)
            for ki, sink in enumerate(sink_leaves):
                for kpath, leaf in sink:
                    best: tuple[int, int] | None = None
                    for name, (contains, exact) in tests:
                        kind = 0 if exact(leaf) else 1 if contains(leaf) else None
                        if kind is not None:
                            rank = (kind, TRANSFORM_ORDER.index(name))
                            best = rank if best is None else min(best, rank)
                    if best is not None:
                        kind_name, t_name = KIND_ORDER[best[0]], TRANSFORM_ORDER[best[1]]
                        found.add((si, spath, ki, kpath, kind_name, t_name))
                        matched.add((si, ki))
    result.matches = sorted(found, key=lambda m: (*m[:5], m[5] or ""))
    result.nomatch = [
        (i, j) for i in range(len(sources)) for j in range(len(sinks)) if (i, j) not in matched
    ]
    return result
