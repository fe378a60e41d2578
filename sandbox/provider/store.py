"""SQLite schema of the provider, its migrations, idempotence keys and webhook deliveries.

Payment and refund rows are in ``records``, saved cards in ``methods``.

Every function takes a connection that the caller holds inside ``Database.transaction()``
or ``Database.reading()``, so a payment change and the webhook it triggers are one commit.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sandbox.provider import methods
from sandbox.sqlite import KV_SCHEMA, Connection, Row

IDEMPOTENCE_TTL_S = 24 * 3600

SCHEMA = (
    KV_SCHEMA
    + """
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY,
    idempotence_key TEXT NOT NULL,
    status TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    refunded TEXT NOT NULL,
    description TEXT,
    metadata TEXT NOT NULL,
    return_url TEXT NOT NULL,
    created_at TEXT NOT NULL,
    captured_at TEXT,
    card_last4 TEXT,
    cancellation_reason TEXT
);
CREATE TABLE IF NOT EXISTS refunds (
    id TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL REFERENCES payments(id),
    idempotence_key TEXT NOT NULL,
    status TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    description TEXT,
    metadata TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotence (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    object_id TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    attempted_at TEXT NOT NULL DEFAULT '[]',
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    created_at REAL NOT NULL,
    delivered_at REAL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(status, next_attempt_at);
"""
    + methods.SCHEMA
)
ADDED_COLUMNS: dict[str, dict[str, str]] = {
    "payments": {
        "save_payment_method": "INTEGER NOT NULL DEFAULT 0",
        "payment_method_id": "TEXT",
        "card": "TEXT NOT NULL DEFAULT '{}'",
        "cancellation_party": "TEXT",
        "capture": "INTEGER NOT NULL DEFAULT 1",
        "receipt": "TEXT",
        "receipt_registered_at": "REAL",
        "expires_at": "REAL",
        "refund_pending": "TEXT NOT NULL DEFAULT '0.00'",
    },
    "refunds": {
        "receipt": "TEXT",
        "receipt_registered_at": "REAL",
        "settle_at": "REAL",
        "planned": "TEXT NOT NULL DEFAULT 'succeeded'",
        "cancellation_reason": "TEXT",
    },
}
INDEXES = """
CREATE INDEX IF NOT EXISTS payments_expiry ON payments(expires_at)
    WHERE status IN ('pending', 'waiting_for_capture');
CREATE INDEX IF NOT EXISTS refunds_settle ON refunds(settle_at) WHERE status = 'pending';
"""


async def find_key(conn: Connection, key: str, now: float) -> tuple[str, str, str] | None:
    """``(fingerprint, kind, object_id)`` for a live key; a key older than 24 h is forgotten."""
    cur = await conn.execute(
        "SELECT fingerprint, kind, object_id, created_at FROM idempotence WHERE key = ?", (key,)
    )
    row = await cur.fetchone()
    if row is None:
        return None
    if now - row["created_at"] > IDEMPOTENCE_TTL_S:
        await conn.execute("DELETE FROM idempotence WHERE key = ?", (key,))
        return None
    return row["fingerprint"], row["kind"], row["object_id"]


async def remember_key(
    conn: Connection, key: str, fingerprint: str, kind: str, object_id: str
) -> None:
    await conn.execute(
        "INSERT INTO idempotence(key, fingerprint, kind, object_id, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (key, fingerprint, kind, object_id, time.time()),
    )


async def migrate(conn: Connection) -> None:
    """Add the columns a newer sandbox needs to a database an older one created."""
    for table, columns in ADDED_COLUMNS.items():
        cur = await conn.execute(f"PRAGMA table_info({table})")
        present = {row["name"] for row in await cur.fetchall()}
        for name, decl in columns.items():
            if name not in present:
                await conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")
    for statement in INDEXES.split(";"):
        if statement.strip():
            await conn.execute(statement)


async def insert_delivery(
    conn: Connection,
    event: str,
    object_id: str,
    body: dict[str, Any],
    status: str,
    due_at: float,
) -> None:
    await conn.execute(
        "INSERT INTO deliveries(event, object_id, body, status, next_attempt_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (event, object_id, json.dumps(body), status, due_at, time.time()),
    )


async def due_deliveries(conn: Connection, now: float, limit: int) -> list[Row]:
    cur = await conn.execute(
        "SELECT id, body, attempts FROM deliveries WHERE status = 'pending'"
        " AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
        (now, limit),
    )
    return list(await cur.fetchall())


async def next_due_at(conn: Connection) -> float | None:
    cur = await conn.execute(
        "SELECT MIN(next_attempt_at) AS due FROM deliveries WHERE status = 'pending'"
    )
    row = await cur.fetchone()
    return None if row is None or row["due"] is None else float(row["due"])


async def record_attempt(
    conn: Connection, delivery_id: int, at: str, error: str | None, retry_at: float
) -> None:
    """Delivered when ``error`` is None, else rescheduled at ``retry_at``."""
    status = "pending" if error else "delivered"
    await conn.execute(
        "UPDATE deliveries SET attempts = attempts + 1, status = ?, last_error = ?,"
        " next_attempt_at = ?, attempted_at = json_insert(attempted_at, '$[#]', ?),"
        " delivered_at = CASE WHEN ? IS NULL THEN ? ELSE delivered_at END WHERE id = ?",
        (status, error, retry_at, at, error, time.time(), delivery_id),
    )


async def list_deliveries(conn: Connection, object_id: str | None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM deliveries"
    args: tuple[str, ...] = ()
    if object_id:
        sql, args = sql + " WHERE object_id = ?", (object_id,)
    cur = await conn.execute(sql + " ORDER BY id", args)
    return [_delivery(row) for row in await cur.fetchall()]


def _delivery(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "event": row["event"],
        "object_id": row["object_id"],
        "status": row["status"],
        "attempts": row["attempts"],
        "attempted_at": json.loads(row["attempted_at"]),
        "last_error": row["last_error"],
    }
