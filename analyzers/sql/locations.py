"""Files and object-store paths as datasets, named after OpenLineage's dataset naming.

A location written in a statement (``LOAD DATA INPATH '...'``, ``COPY ... TO
'...'``, ``UNLOAD ... TO '...'``) becomes one dataset URI: the scheme and
authority are the namespace, the path the name. ``s3a``/``s3n`` are ``s3``; a
local path is ``file:/path``; a trailing ``/`` and a trailing file pattern
(``*.csv``) are dropped, so a prefix and the files under it are one dataset.
A path without a scheme is on the engine's default filesystem, which the SQL
does not name: it is taken as a local file (``file:``), as engines in local
mode and OpenLineage's file naming have it; write the full URI for HDFS.

>>> location_uri("s3a://bucket/prefix/"), location_uri("file:///tmp/x")
('s3://bucket/prefix', 'file:/tmp/x')
>>> location_uri("/tmp/export_test"), location_uri("gs://b/out/*.csv")
('file:/tmp/export_test', 'gs://b/out')
>>> location_uri("hdfs://nn:8020/warehouse/t/")
'hdfs://nn:8020/warehouse/t'
"""

from __future__ import annotations

import re

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+):(.*)\Z", re.DOTALL)
_SCHEME_ALIASES = {"s3a": "s3", "s3n": "s3"}
_PATTERN = re.compile(r"[*?\[{]")


def location_uri(path: str) -> str:
    """The dataset URI of a location as written in SQL (see the module docstring)."""
    text = path.strip()
    m = _SCHEME.match(text)
    if m is None:
        scheme, rest = "file", text
    else:
        scheme, rest = m.group(1).lower(), m.group(2)
        scheme = _SCHEME_ALIASES.get(scheme, scheme)
    pattern = _PATTERN.search(rest)
    if pattern is not None:  # a file pattern: the directory that holds the files
        rest = rest[: rest.rfind("/", 0, pattern.start()) + 1]
    if scheme == "file":
        rest = "/" + rest.lstrip("/") if rest.startswith("/") else rest
        rest = rest.rstrip("/") or "/"
        return f"file:{rest}"
    if rest.startswith("//"):
        authority, _, name = rest[2:].partition("/")
        name = name.rstrip("/")
        return f"{scheme}://{authority}/{name}" if name else f"{scheme}://{authority}"
    return f"{scheme}:{rest.rstrip('/')}"
