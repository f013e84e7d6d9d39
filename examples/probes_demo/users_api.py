"""users-api: an ASGI (FastAPI) service with no probe code in it.

POST /users stores the user in SQLite (the e-mail only as its SHA-256), logs
the signup, and asks the mailer service (an outbound HTTP call) to welcome
the user; GET /users/{user_id} reads one back; POST
/users/{user_id}/offers asks the ads endpoint (on the mailer service) for
offers, sending the user's city when `personalized` (the flow the
enforcement demo's policy forbids, docs/ENFORCEMENT.md). Run it under
`lineage-probe run --service users-api -- uvicorn users_api:app`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

DB = os.environ.get("DEMO_DB", "demo.db")
MAILER_URL = os.environ.get("MAILER_URL", "http://127.0.0.1:8002")

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
log = logging.getLogger("users_api")


class NewUser(BaseModel):
    name: str
    email: str
    city: str


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with httpx.AsyncClient(base_url=MAILER_URL, timeout=10) as client:
        app.state.mailer = client
        yield


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@app.post("/users")
async def create_user(user: NewUser) -> dict[str, Any]:
    digest = hashlib.sha256(user.email.encode("utf-8")).hexdigest()
    with closing(sqlite3.connect(DB, timeout=30)) as conn, conn:
        user_id = conn.execute(
            "INSERT INTO users (name, email_sha256, city) VALUES (?, ?, ?)",
            (user.name, digest, user.city)).lastrowid
    log.info("new user in %s", user.city, extra={"user_id": user_id})
    reply = await app.state.mailer.post(f"/welcome/{user_id}", json={
        "city": user.city, "note": f"Signed up from {user.city}"})
    reply.raise_for_status()
    return {"id": user_id, "greeting": reply.json()["greeting"]}


@app.get("/users/{user_id}")
def get_user(user_id: int) -> dict[str, Any]:
    with closing(sqlite3.connect(DB, timeout=30)) as conn:
        row = conn.execute("SELECT name, city FROM users WHERE id = ?", (user_id,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such user")
    return {"id": user_id, "name": row[0], "city": row[1]}


@app.post("/users/{user_id}/offers")
async def offers(user_id: int, personalized: bool = False) -> dict[str, Any]:
    columns = "name, city" if personalized else "name"
    with closing(sqlite3.connect(DB, timeout=30)) as conn:
        row = conn.execute(f"SELECT {columns} FROM users WHERE id = ?", (user_id,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such user")
    segment = row[1] if personalized else "generic"
    reply = await app.state.mailer.post("/ads/targeting", json={"segment": segment})
    reply.raise_for_status()
    return {"id": user_id, "offers": reply.json()["offers"]}
