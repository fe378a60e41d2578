"""One SQLite connection per simulator, serialised by an asyncio lock.

A single connection keeps writes ordered and avoids ``database is locked`` retries; the
lock makes every ``transaction()`` atomic with respect to the other coroutines sharing
the connection. WAL mode lets the OS flush in the background; ``synchronous=NORMAL``
keeps every committed transaction across a process crash (``kill -9``), which is the
failure these simulators must survive; ``FULL`` is available for power-loss safety.

Statements run on the event loop's own thread (`Connection`), not on a worker thread as
aiosqlite runs them: the simulators' statements touch a few rows of a small local file and
take microseconds (WAL with ``NORMAL`` writes without an fsync), while a hop to a thread
and back cost more CPU than the statement itself (docs/performance.md, round 9).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from sandbox.settings import ensure_parent

Row = sqlite3.Row
Parameters = Sequence[object] | Mapping[str, object]


class Cursor:
    """The rows of one statement, read with aiosqlite's awaitable interface."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def fetchone(self) -> Row | None:
        row: Row | None = self._cursor.fetchone()
        return row

    async def fetchall(self) -> list[Row]:
        return self._cursor.fetchall()


class Connection:
    """A ``sqlite3`` connection behind awaitable methods, run in the calling thread."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, parameters: Parameters = ()) -> Cursor:
        return Cursor(self._conn.execute(sql, parameters))

    async def executescript(self, script: str) -> None:
        self._conn.executescript(script)

    async def close(self) -> None:
        self._conn.close()


class Database:
    """An open SQLite database with a write lock and explicit transactions."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, schema: str, synchronous: str = "NORMAL") -> Database:
        if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"bad synchronous mode: {synchronous!r}")
        raw = sqlite3.connect(ensure_parent(path), isolation_level=None)
        raw.row_factory = Row
        conn = Connection(raw)
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.executescript(schema)
        return cls(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
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
    async def reading(self) -> AsyncIterator[Connection]:
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
