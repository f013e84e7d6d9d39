"""`logging`: each record a sampled request logs, as a sink of `log://SERVICE/LOGGER`.

The payload is the formatted message, the record's args and every `extra`
field (`log://photos-web/app#message`, `#args[]`, `#user_id`). Records of
the probes' own loggers are never captured.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from lineage_probes import context, naming
from lineage_probes.capture import Recorder
from lineage_probes.enforcement.enforcer import Deferred
from lineage_probes.probe import Patches, Probe

_STANDARD = frozenset(vars(logging.LogRecord("n", 0, "p", 0, "m", None, None))) | {
    "message", "asctime", "taskName"}


def payload_of(record: logging.LogRecord) -> dict[str, Any]:
    """What a record carries: message, args and extra fields."""
    try:
        message = record.getMessage()
    except Exception:  # the application's own format mismatch: keep the template
        message = str(record.msg)
    payload: dict[str, Any] = {"message": message}
    args = record.args
    if isinstance(args, Mapping):
        payload["args"] = dict(args)
    elif args:
        payload["args"] = list(args)
    for key, value in vars(record).items():
        if key not in _STANDARD:
            payload[key] = value
    return payload


def _where(record: logging.LogRecord) -> str:
    path = record.pathname
    cwd = os.getcwd()
    if path.startswith(cwd + os.sep):
        path = os.path.relpath(path, cwd)
    return f"{path}:{record.lineno}"


def install(rec: Recorder, patches: Patches) -> bool:
    probe = Probe("logging")
    original = logging.Logger.handle

    def handle(self: logging.Logger, record: logging.LogRecord) -> Any:
        current = context.CURRENT.get()
        if current is None:
            return original(self, record)
        if current.taint and rec.enforcer is not None \
                and not self.name.startswith("lineage_probes"):
            rec.guard(current, naming.log(rec.cfg.service, self.name), "log",
                      code_location=Deferred(lambda: _where(record)),
                      payload=Deferred(lambda: payload_of(record)))
        if current.sampled and probe.enabled and not self.name.startswith("lineage_probes"):
            try:
                rec.sink(current, naming.log(rec.cfg.service, self.name), payload_of(record),
                         kind="log", code_location=_where(record))
            except Exception as exc:
                probe.fail(exc)
        return original(self, record)

    patches.patch(logging.Logger, "handle", handle)
    return True
