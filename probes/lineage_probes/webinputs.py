"""A web request's inputs and JSON response as capture payloads (shared by ASGI and WSGI).

>>> inputs({"page": ["2"], "tag": ["a", "b"]}, {"id": 7}, b'{"name": "Ada"}', "application/json")
{'page': '2', 'tag': ['a', 'b'], 'id': 7, 'name': 'Ada'}
>>> inputs({}, {}, b"city=Paris&note=hi", "application/x-www-form-urlencoded")
{'city': 'Paris', 'note': 'hi'}
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs


def _flat(multi: dict[str, list[str]]) -> dict[str, Any]:
    return {k: v[0] if len(v) == 1 else v for k, v in multi.items()}


def body_value(body: bytes, content_type: str) -> Any:
    """The decoded body when it is JSON or a urlencoded form, else None."""
    if not body:
        return None
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            return json.loads(body)
        except ValueError:
            return None
    if ctype == "application/x-www-form-urlencoded":
        try:
            return _flat(parse_qs(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return None
    return None


def inputs(query: dict[str, list[str]], path_params: dict[str, Any], body: bytes,
           content_type: str) -> dict[str, Any]:
    """Query, path parameters and body fields as one object (later names win)."""
    payload: dict[str, Any] = _flat(query)
    payload.update(path_params)
    value = body_value(body, content_type)
    if isinstance(value, dict):
        payload.update(value)
    elif value is not None:
        payload["body"] = value
    return payload


def query_of(raw: str) -> dict[str, list[str]]:
    return parse_qs(raw, keep_blank_values=True) if raw else {}


def decodable(content_type: str) -> bool:
    """Whether a body of this type is captured (JSON or a urlencoded form)."""
    return is_json(content_type) or content_type.split(";", 1)[0].strip().lower() \
        == "application/x-www-form-urlencoded"


def is_json(content_type: str) -> bool:
    ctype = content_type.split(";", 1)[0].strip().lower()
    return ctype == "application/json" or ctype.endswith("+json")


def response_payload(body: bytes) -> Any:
    """`{"response": value}` so fields read `#response.name`; None when not JSON."""
    try:
        return {"response": json.loads(body)}
    except ValueError:
        return None
