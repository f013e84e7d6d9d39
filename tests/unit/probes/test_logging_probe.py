from __future__ import annotations

import contextlib
import io
import logging
from typing import Any

from lineage_probes import context


def test_args_extra_and_message(probes: Any) -> None:
    cap = probes(service="api", redact=["card"])
    logger = logging.getLogger("api.audit")
    logger.setLevel(logging.INFO)
    token = context.begin(None, 1.0)
    try:
        logger.info("moved %s to %s", "Ada Lovelace", "Paris 75011",
                    extra={"user_id": "u-81723", "card": "4111111111111111"})
        logger.warning("%(who)s logged in", {"who": "grace@example.com"})
        logger.debug("below the level: not written, not captured %s", "hidden-value")
        logging.getLogger("lineage_probes.kafka").warning("own records are never captured")
    finally:
        context.end(token)
    events = cap.of("log://api/")
    assert [e["asset"] for e in events] == ["log://api/api.audit"] * 2
    assert events[0]["payload"] == {"message": "moved Ada Lovelace to Paris 75011",
                                    "args": ["Ada Lovelace", "Paris 75011"],
                                    "user_id": "u-81723"}
    assert events[1]["payload"] == {"message": "grace@example.com logged in",
                                    "args": {"who": "grace@example.com"}}
    assert events[0]["code_location"].startswith("tests/unit/probes/test_logging_probe.py:")
    assert b"4111111111111111" not in b"".join(v for _, v in cap.emitter.sent)


def test_a_bad_format_string_of_the_app_is_not_a_probe_error(probes: Any) -> None:
    cap = probes(service="api")
    logger = logging.getLogger("api.bad")
    # The app's own handler, not pytest's (which raises on a bad format string
    # where logging's handlers print the error and go on).
    handler = logging.StreamHandler(io.StringIO())
    logger.addHandler(handler)
    logger.propagate = False
    token = context.begin(None, 1.0)
    try:
        with contextlib.redirect_stderr(io.StringIO()) as reported:
            logger.error("two %s %s", "only-one")  # logging reports this itself
    finally:
        context.end(token)
        logger.removeHandler(handler)
        logger.propagate = True
    assert "not enough arguments" in reported.getvalue()
    [event] = cap.of("log://api/api.bad")
    assert event["payload"]["message"] == "two %s %s"
