"""One module per instrumented framework, each with `install(recorder, patches) -> bool`.

`install` patches the framework if it can be imported and returns whether it
did; every patch goes through `Patches` so `uninstrument()` can undo it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from lineage_probes.capture import Recorder
from lineage_probes.probe import Patches

Installer = Callable[[Recorder, Patches], bool]

NAMES = ("asgi", "flask", "django", "sqlite3", "psycopg", "requests", "httpx", "urllib3",
         "logging", "confluent_kafka", "aiokafka", "redis", "threads")


def installer(name: str) -> Installer:
    return importlib.import_module(f"lineage_probes.hooks.{name}_hook").install
