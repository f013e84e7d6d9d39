"""profiles-api: a FastAPI service over PostgreSQL (psycopg 3) with no probe code in
it, for tests/integration/test_probes_postgres.py.

POST /profiles stores a profile through an async connection; GET
/profiles/{profile_id} reads it back through a sync one (in Starlette's thread
pool). `PG_CONNINFO` names the database. Run it under
`lineage-probe run --service profiles-api -- uvicorn pg_profiles_api:app`.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

CONNINFO = os.environ.get("PG_CONNINFO", "")
SCHEMA = ("CREATE TABLE IF NOT EXISTS profiles (id serial PRIMARY KEY, handle text NOT NULL,"
          " home_city text NOT NULL)")

app = FastAPI()


class NewProfile(BaseModel):
    handle: str
    city: str


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@app.post("/profiles")
async def create_profile(profile: NewProfile) -> dict[str, Any]:
    async with await psycopg.AsyncConnection.connect(CONNINFO) as conn:
        cur = await conn.execute(
            "INSERT INTO profiles (handle, home_city) VALUES (%(handle)s, %(city)s) RETURNING id",
            {"handle": profile.handle, "city": profile.city})
        row = await cur.fetchone()
    assert row is not None
    return {"id": row[0]}


@app.get("/profiles/{profile_id}")
def get_profile(profile_id: int) -> dict[str, Any]:
    with psycopg.connect(CONNINFO) as conn:
        row = conn.execute("SELECT handle, home_city FROM profiles WHERE id = %s",
                           (profile_id,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such profile")
    return {"id": profile_id, "handle": row[0], "city": row[1]}
