"""Asset names of what the probes capture (CONTRACT.md, "Assets the probe library names").

>>> web("photos-web", "/photos/{id}")
'web://photos-web/photos/{id}'
>>> http("http", "api.example.com", 80, "/users/42/photos/9f1c2d3e-1111-2222-3333-444455556666")
'http://api.example.com/users/{id}/photos/{id}'
>>> http("https", "api.example.com", 8443, "/v1/search")
'http://api.example.com:8443/v1/search'
>>> kafka("b1:9092,b2:9092", "orders"), redis("localhost", 6379, 0)
('kafka://b1:9092/orders', 'redis://localhost:6379/0')
>>> sqlite("/srv/data/app.db", "users"), postgres("db", 5432, "shop", "public", "orders")
('sqlite://app.db/users', 'postgres://db:5432/shop.public.orders')
>>> key_template("session:9f1c2d3e4b5a69788a9b0c1d2e3f4a5b"), key_template("user:42:name")
('session:{id}', 'user:{id}:name')
"""

from __future__ import annotations

import os
import re

_ID = re.compile(
    r"\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{16,}|(?=[^/]*\d)[A-Za-z0-9_-]{22,}"
)
_DEFAULT_PORT = {"http": 80, "https": 443}


def _template(part: str) -> str:
    return "{id}" if _ID.fullmatch(part) else part


def path_template(path: str) -> str:
    """A URL path with its id-like segments (numbers, uuids, long hex or tokens) as `{id}`."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    return "/".join(_template(p) for p in path.split("/")) or "/"


def key_template(key: str) -> str:
    """A cache key with its id-like `:`-separated parts as `{id}`."""
    return ":".join(_template(p) for p in key.split(":"))


def web(service: str, route: str) -> str:
    return f"web://{service}/{route.lstrip('/')}"


def http(scheme: str, host: str, port: int | None, path: str) -> str:
    authority = host if port in (None, _DEFAULT_PORT.get(scheme)) else f"{host}:{port}"
    return f"http://{authority}/{path_template(path).lstrip('/')}"


def log(service: str, logger_name: str) -> str:
    return f"log://{service}/{logger_name}"


def kafka(bootstrap: str | list[str], topic: str) -> str:
    """Named by the first bootstrap server, as given to the client."""
    first = bootstrap[0] if isinstance(bootstrap, list) else bootstrap.split(",")[0]
    return f"kafka://{first.strip()}/{topic}"


def redis(host: str, port: int, db: int) -> str:
    return f"redis://{host}:{port}/{db}"


def sqlite(database: str, table: str) -> str:
    name = "memory" if database in ("", ":memory:") or database.startswith("file::memory:") \
        else os.path.basename(database.split("?", 1)[0].removeprefix("file:"))
    return f"sqlite://{name}/{table.lower()}"


def postgres(host: str, port: int, db: str, schema: str, table: str) -> str:
    return f"postgres://{host}:{port}/{db}.{schema}.{table}".lower()
