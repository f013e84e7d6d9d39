"""Deny globs: asset URI patterns of a policy, compiled once to a matcher.

The syntax (the table of examples in docs/POLICY.md is also a test):

- `**` matches any characters, `/` and `#` included (across segments and
  into fields); `/**/` also matches a single `/` (zero segments between);
- `*` matches any characters within one path segment: not `/`, not `#`;
- every other character is literal (`?`, `[`, `.` included).

Fields are included: an asset `T#f` matches when the glob matches it or its
table `T` (denying a table denies its fields). A table-level asset `T` stands
for all of its fields, so it matches a glob written for fields of it: when
the glob's part before its first literal `#` matches `T`.

>>> g = DenyGlob.compile("model://registry/ad_*")
>>> g.matches("model://registry/ad_targeting_model"), g.matches("model://registry/ads/x")
(True, False)
>>> DenyGlob.compile("http://ads-service/*").matches("http://ads-service/ad_targeting#location")
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from vocab import split_field

__all__ = ["DenyGlob", "DenySet", "glob_to_regex"]


def glob_to_regex(glob: str) -> str:
    """The regular expression (for `fullmatch`) of a deny glob.

    >>> glob_to_regex("a/**/b*")
    'a/(?:.*/)?b[^/#]*'
    """
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        if glob.startswith("/**/", i):
            out.append("/(?:.*/)?")
            i += 4
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/#]*")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return "".join(out)


def _table_part(glob: str) -> str | None:
    """The part of `glob` before its first literal `#`, if it has one."""
    return glob.partition("#")[0] if "#" in glob else None


@dataclass(frozen=True, slots=True)
class DenyGlob:
    """One compiled deny glob."""

    glob: str
    _full: re.Pattern[str]
    _table: re.Pattern[str] | None  # the glob's table part, if it names a field

    @classmethod
    def compile(cls, glob: str) -> DenyGlob:
        table = _table_part(glob)
        return cls(
            glob,
            re.compile(glob_to_regex(glob), re.DOTALL),
            None if table is None else re.compile(glob_to_regex(table), re.DOTALL),
        )

    def matches(self, asset: str) -> bool:
        """Whether `asset` (a table, a field) is denied by this glob."""
        if self._full.fullmatch(asset):
            return True
        table, field = split_field(asset)
        if field is not None:
            return self._full.fullmatch(table) is not None
        return self._table is not None and self._table.fullmatch(table) is not None


@dataclass(frozen=True, slots=True)
class DenySet:
    """A policy's deny globs; `matches` is true when any of them matches."""

    globs: tuple[DenyGlob, ...]

    @classmethod
    def compile(cls, globs: Iterable[str]) -> DenySet:
        return cls(tuple(DenyGlob.compile(g) for g in dict.fromkeys(globs)))

    @property
    def patterns(self) -> tuple[str, ...]:
        return tuple(g.glob for g in self.globs)

    def matches(self, asset: str) -> bool:
        return any(g.matches(asset) for g in self.globs)
