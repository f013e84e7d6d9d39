"""`zone_values`' shortcut (only the subtrees under top-level zone fields) finds what
the walk over every leaf finds, and `needles_of` the same forms as spelled out."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st
from lineage_probes.enforcement import values
from lineage_probes.enforcement.values import leaves, needles_of, zone_values

NAMES = st.sampled_from(["city", "name", "user", "a.b", "tags[]", "user.city", "c", "ab"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8),
                    st.sampled_from(["Valparaiso", "Ada Lovelace", "x/y z"]))
PAYLOADS = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(NAMES, inner, max_size=4)), max_leaves=12)
ZONES = st.frozensets(NAMES, min_size=1, max_size=3)


def _by_every_leaf(payload: Any, zone_fields: frozenset[str]) -> tuple[str | None, list[str]]:
    """`zone_values` as the walk over every leaf computes it (the reference)."""
    hit, found = None, []
    for path, value in leaves(payload):
        field = values._under(path, zone_fields)
        if field is None:
            continue
        hit = field if hit is None else hit
        text = values.usable(value)
        if text is not None:
            found.append(text)
    return hit, found[:values.MAX_VALUES + 1]


@given(PAYLOADS, ZONES)
def test_the_shortcut_finds_what_every_leaf_finds(payload: Any, zones: frozenset[str]) -> None:
    assert zone_values(payload, zones) == _by_every_leaf(payload, zones)


def test_the_shortcut_is_taken_for_plain_names() -> None:
    payload = {"note": {"deep": ["Ignored-1"]}, "city": "Valparaiso", "user": {"city": "Lima-22"}}
    assert list(values._zone_leaves(payload, frozenset({"city"}))) == [("city", "Valparaiso")]
    # a dotted zone field needs the walk: `user.city` lies under `user`
    assert zone_values(payload, frozenset({"user.city"})) == ("user.city", ["Lima-22"])
    # a dotted key needs it too: `a.b` lies under the zone field `a`
    assert zone_values({"a.b": "Kept-value"}, frozenset({"a"})) == ("a", ["Kept-value"])


@given(st.text(min_size=1, max_size=12))
def test_needles_are_the_lowered_text_and_its_encodings(text: str) -> None:
    raw = text.encode("utf-8")
    assert needles_of([text]) == {
        text.lower(), quote(text, safe="").lower(),
        base64.b64encode(raw).decode("ascii").rstrip("=").lower(),
        hashlib.md5(raw).hexdigest(), hashlib.sha1(raw).hexdigest(),
        hashlib.sha256(raw).hexdigest()}
