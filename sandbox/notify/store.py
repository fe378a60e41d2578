"""Every notification received, in order; the first per ``dedup_key`` is the delivery.

The duplicate check and the insert share one transaction, so two concurrent sends with
the same key cannot both be recorded as the delivery.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sandbox.clock import now_iso
from sandbox.sqlite import KV_SCHEMA, Database

SCHEMA = (
    KV_SCHEMA
    + """
CREATE TABLE IF NOT EXISTS notifications (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    template TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    duplicate INTEGER NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_user ON notifications(user_id, seq);
CREATE INDEX IF NOT EXISTS notifications_dedup ON notifications(dedup_key, seq);
"""
)


async def receive(
    db: Database, user_id: str, template: str, payload: dict[str, Any], dedup_key: str
) -> tuple[str, bool]:
    notification_id = str(uuid.uuid4())
    async with db.transaction() as conn:
        cur = await conn.execute(
            "SELECT 1 FROM notifications WHERE dedup_key = ? LIMIT 1", (dedup_key,)
        )
        duplicate = await cur.fetchone() is not None
        await conn.execute(
            "INSERT INTO notifications(id, user_id, template, payload, dedup_key, duplicate,"
            " received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                notification_id,
                user_id,
                template,
                json.dumps(payload),
                dedup_key,
                duplicate,
                now_iso(),
            ),
        )
    return notification_id, duplicate


async def received(
    db: Database, user_id: str | None, dedup_key: str | None, after: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """The receipts after `seq` `after` (0: all), filtered by the fields given, in order, and
    the newest `seq` stored at that moment (0 when empty)."""
    clauses, args = ["seq > ?"], list[object]([after])
    for column, value in (("user_id", user_id), ("dedup_key", dedup_key)):
        if value:
            clauses.append(f"{column} = ?")
            args.append(value)
    where = f" WHERE {' AND '.join(clauses)}"
    async with db.reading() as conn:
        cur = await conn.execute(f"SELECT * FROM notifications{where} ORDER BY seq", args)
        rows = await cur.fetchall()
        cur = await conn.execute("SELECT coalesce(max(seq), 0) FROM notifications")
        last = await cur.fetchone()
    return [
        {
            "seq": row["seq"],
            "id": row["id"],
            "user_id": row["user_id"],
            "template": row["template"],
            "payload": json.loads(row["payload"]),
            "dedup_key": row["dedup_key"],
            "duplicate": bool(row["duplicate"]),
            "received_at": row["received_at"],
        }
        for row in rows
    ], int(last[0]) if last else 0
