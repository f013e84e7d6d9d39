"""Deny globs: the table of docs/POLICY.md, and the rules behind it."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analyzers.policy import DenyGlob, DenySet, globs, graph, model, monitor, zone
from analyzers.policy.globs import glob_to_regex

DOC = Path(__file__).resolve().parents[3] / "docs" / "POLICY.md"
_ROW = re.compile(r"^\| `(?P<glob>[^`]+)` \| `(?P<asset>[^`]+)` \| (?P<denied>yes|no) \|$")


def doc_rows() -> list[tuple[str, str, bool]]:
    rows = [
        (m["glob"], m["asset"], m["denied"] == "yes")
        for m in map(_ROW.match, DOC.read_text().splitlines())
        if m
    ]
    assert len(rows) >= 20, "the glob table of docs/POLICY.md went missing"
    return rows


@pytest.mark.parametrize(("glob", "asset", "denied"), doc_rows())
def test_doc_table(glob: str, asset: str, denied: bool) -> None:
    assert DenyGlob.compile(glob).matches(asset) is denied


@pytest.mark.parametrize("module", [globs, model, zone, monitor, graph])
def test_doctests(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]


def test_regex_metacharacters_are_literal() -> None:
    g = DenyGlob.compile("http://x/a.b(c)+[d]")
    assert g.matches("http://x/a.b(c)+[d]")
    assert not g.matches("http://x/aXb(c)+[d]")
    assert glob_to_regex("**") == ".*"


def test_star_does_not_cross_field_but_fields_are_included() -> None:
    g = DenyGlob.compile("s://h/t*")
    assert g.matches("s://h/table#col")  # via the table
    assert not DenyGlob.compile("s://h/t*l").matches("s://h/t#col")  # * stops at '#'


def test_deny_set_any_and_patterns() -> None:
    deny = DenySet.compile(["a/*", "b/**", "a/*"])
    assert deny.patterns == ("a/*", "b/**")
    assert deny.matches("b/x/y#z") and deny.matches("a/x") and not deny.matches("c/x")
    assert not DenySet.compile([]).matches("a/x")


segment = st.text(alphabet="abc.-_:", min_size=1, max_size=5)


@given(st.lists(segment, min_size=1, max_size=4), st.none() | segment)
def test_double_star_below_a_prefix_matches_everything_below(
    parts: list[str], field: str | None
) -> None:
    asset = "ns://host/" + "/".join(parts) + ("" if field is None else f"#{field}")
    assert DenyGlob.compile("ns://host/**").matches(asset)
    assert DenyGlob.compile("**").matches(asset)
    assert not DenyGlob.compile("ns://other/**").matches(asset)


@given(st.lists(segment, min_size=2, max_size=4))
def test_single_star_stays_in_one_segment(parts: list[str]) -> None:
    asset = "ns://host/" + "/".join(parts)
    assert not DenyGlob.compile("ns://host/*").matches(asset)
    assert DenyGlob.compile("ns://host/*/" + "/".join(parts[1:])).matches(asset)
