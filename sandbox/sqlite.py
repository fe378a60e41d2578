"""One SQLite connection per simulator, serialised by an asyncio lock.

A single connection keeps writes ordered and avoids ``database is locked`` retries; the
lock makes every ``transaction()`` atomic with respect to the other coroutines sharing
the connection. WAL mode lets the OS flush in the background; ``synchronous=NORMAL``
keeps every committed transaction across a process crash (``kill -9``), which is the
failure these simulators must survive; ``FULL`` is available for power-loss safety.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from sandbox.settings import ensure_parent


class Database:
    """An open SQLite database with a write lock and explicit transactions."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, schema: str, synchronous: str = "NORMAL") -> Database:
        if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"bad synchronous mode: {synchronous!r}")
        conn = await aiosqlite.connect(ensure_parent(path), isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.executescript(schema)
        return cls(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run a block as one ``BEGIN IMMEDIATE … COMMIT``; roll back on any exception."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._rollback()
                raise
            await self._conn.execute("COMMIT")

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """Read under the lock so that no other coroutine's open transaction is visible."""
        async with self._lock:
            yield self._conn

    async def close(self) -> None:
        await self._conn.close()

    async def _rollback(self) -> None:
        try:
            await self._conn.execute("ROLLBACK")
        except sqlite3.OperationalError:
            pass  # the transaction was already closed (e.g. COMMIT ran before a cancel)


KV_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


async def kv_get(db: Database, key: str) -> str | None:
    async with db.reading() as conn:
        cur = await conn.execute("SELECT value FROM kv WHERE key = ?", (key,))
        row = await cur.fetchone()
    return None if row is None else str(row["value"])


async def kv_put(db: Database, key: str, value: str) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO kv(key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
