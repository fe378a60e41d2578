"""Auth sandbox state: roles per user and the log of every call received."""

from __future__ import annotations

import json
from typing import Any

from sandbox.sqlite import KV_SCHEMA, Database

SCHEMA = (
    KV_SCHEMA
    + """
CREATE TABLE IF NOT EXISTS roles (
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);
CREATE TABLE IF NOT EXISTS calls (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    user_id TEXT,
    body TEXT,
    status INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_user ON calls(user_id, seq);
"""
)


async def grant(db: Database, user_id: str, role: str, at: str) -> list[str]:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO roles(user_id, role, granted_at) VALUES (?, ?, ?)"
            " ON CONFLICT(user_id, role) DO NOTHING",
            (user_id, role, at),
        )
    return await roles_of(db, user_id)


async def revoke(db: Database, user_id: str, role: str) -> list[str]:
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM roles WHERE user_id = ? AND role = ?", (user_id, role))
    return await roles_of(db, user_id)


async def roles_of(db: Database, user_id: str) -> list[str]:
    async with db.reading() as conn:
        cur = await conn.execute(
            "SELECT role FROM roles WHERE user_id = ? ORDER BY role", (user_id,)
        )
        return [row["role"] for row in await cur.fetchall()]


async def log_call(db: Database, call: dict[str, Any]) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO calls(method, path, user_id, body, status, at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                call["method"],
                call["path"],
                call["user_id"],
                json.dumps(call["body"]),
                call["status"],
                call["at"],
            ),
        )


async def calls(
    db: Database, user_id: str | None, after: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """The calls logged after `seq` `after` (0: all), of `user_id` if given, in order, and
    the newest `seq` in the log at that moment (0 when empty)."""
    sql, args = "SELECT * FROM calls WHERE seq > ?", list[object]([after])
    if user_id:
        sql, args = sql + " AND user_id = ?", [*args, user_id]
    async with db.reading() as conn:
        cur = await conn.execute(sql + " ORDER BY seq", args)
        rows = await cur.fetchall()
        cur = await conn.execute("SELECT coalesce(max(seq), 0) FROM calls")
        last = await cur.fetchone()
    return [
        {
            "seq": row["seq"],
            "method": row["method"],
            "path": row["path"],
            "user_id": row["user_id"],
            "body": json.loads(row["body"]),
            "status": row["status"],
            "ok": row["status"] < 400,
            "at": row["at"],
        }
        for row in rows
    ], int(last[0]) if last else 0
