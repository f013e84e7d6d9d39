from __future__ import annotations

import logging
import sqlite3
from typing import Any

import aiokafka
import confluent_kafka
import flask
import httpx
import lineage_probes
import psycopg
import redis
import requests
from django.core.handlers.base import BaseHandler
from starlette import applications, routing
from urllib3 import connectionpool

TARGETS: list[tuple[Any, str]] = [
    (applications.Starlette, "__call__"), (routing.Route, "handle"),
    (flask.Flask, "wsgi_app"), (flask.Flask, "dispatch_request"),
    (flask.Flask, "finalize_request"), (BaseHandler, "get_response"),
    (BaseHandler, "get_response_async"), (BaseHandler, "resolve_request"),
    (sqlite3, "connect"), (sqlite3.dbapi2, "connect"),
    (psycopg.Cursor, "execute"), (psycopg.Cursor, "fetchall"),
    (psycopg.AsyncCursor, "execute"), (requests.Session, "send"), (httpx.Client, "send"),
    (httpx.AsyncClient, "send"), (connectionpool.HTTPConnectionPool, "urlopen"),
    (logging.Logger, "handle"), (confluent_kafka, "Producer"), (confluent_kafka, "Consumer"),
    (aiokafka.AIOKafkaProducer, "send"), (aiokafka.AIOKafkaConsumer, "getone"),
    (aiokafka.AIOKafkaConsumer, "getmany"), (redis.Redis, "execute_command"),
]


def _now() -> list[Any]:
    return [getattr(owner, name) for owner, name in TARGETS]


def test_every_patch_is_undone(probes: Any) -> None:
    before = _now()
    installed = set(lineage_probes.hooks.NAMES)
    probes()
    during = _now()
    assert all(a is not b for a, b in zip(before, during, strict=True))
    lineage_probes.uninstrument()
    assert all(a is b for a, b in zip(before, _now(), strict=True))
    assert installed  # all frameworks are installed in the dev environment


def test_instrument_twice_patches_once(probes: Any) -> None:
    probes()
    first = _now()
    lineage_probes.instrument(service="again")
    assert _now() == first
    assert lineage_probes.active_config().service == "svc"  # type: ignore[union-attr]
