"""mailer: a WSGI (Flask) service with no probe code in it.

POST /welcome/<user_id> reads the user from the shared SQLite database,
queues a welcome mail in its outbox table, logs it and answers with the
greeting. POST /ads/targeting plays the ads service: it logs each request's
segment in its ad_requests table and answers with offers. Run it under
`lineage-probe run --service mailer -- gunicorn mailer:app`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from contextlib import closing
from typing import Any

from flask import Flask, abort, jsonify, request

DB = os.environ.get("DEMO_DB", "demo.db")

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
log = logging.getLogger("mailer")
app = Flask("mailer")


@app.get("/health")
def health() -> Any:
    return jsonify(ok=True)


@app.post("/welcome/<int:user_id>")
def welcome(user_id: int) -> Any:
    body = request.get_json()
    with closing(sqlite3.connect(DB, timeout=30)) as conn, conn:
        row = conn.execute("SELECT name, email_sha256 FROM users WHERE id = ?",
                           (user_id,)).fetchone()
        if row is None:
            abort(404)
        name, recipient = row
        subject = f"Welcome to the club, {name}!"
        conn.execute(
            "INSERT INTO outbox (user_id, recipient_sha256, subject, city) VALUES (?, ?, ?, ?)",
            (user_id, recipient, subject, body["city"]))
    log.info("welcome mail queued for %s", name)
    return jsonify(greeting=subject, queued=True)


@app.post("/ads/targeting")
def ad_targeting() -> Any:
    body = request.get_json()
    with closing(sqlite3.connect(DB, timeout=30)) as conn, conn:
        conn.execute("INSERT INTO ad_requests (segment) VALUES (?)", (str(body["segment"]),))
    return jsonify(offers=["coffee beans", "hiking boots"])


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8002")))
