"""`python -m processors.relay`: publish outbox rows to Kafka in id order, then mark them.

One active relay at a time (a PostgreSQL session advisory lock; a second instance waits for
it). It wakes on `NOTIFY billing_outbox` (every outbox insert sends one when it commits) and
polls every `RELAY_POLL_S` anyway, for a row written without one. It reads again at once only
after a full batch: after a short one, whatever was committed since is announced by its own
NOTIFY, which may already have come while the batch was being published. A crash
between the broker's ack and the `published_at` update republishes the same rows with the
same message_id; consumers dedupe on it.

When a NOTIFY came while a batch was being published (the relay reads again at once), the
batch's `published_at` is set by the next read's statement (`_MARK_AND_BATCH`) instead of one
of its own: one statement per batch instead of two while rows keep coming. Nothing waits for
it (the next read is the very next thing the relay does), the relay marks what is left as it
lets the lock go (a stop, a lost lock connection), and a crash before it republishes the
batch, as a crash before the update always did.

`after_produce` is a seam for the crash-window test (tests/integration/processors/relay_crash.py
dies there); production passes nothing.
"""

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from prometheus_client import Counter

from common.outbox import CHANNEL
from common.producer import Message, Producer
from common.retry import pause
from processors.runtime import connect_pool, main
from processors.settings import ProcessorSettings

log = logging.getLogger(__name__)
PUBLISHED = Counter("billing_outbox_published", "Outbox rows published to Kafka by the relay")

# The rows to publish next ($1 at most; $2: the topics, NULL for all), and the update that
# marks rows published ($n: their ids): `_BATCH` and `_MARK` alone, or both in one statement.
_UNPUBLISHED = """
SELECT id, topic, key, payload FROM payments_history.outbox
WHERE published_at IS NULL AND ($2::text[] IS NULL OR topic = ANY($2::text[]))
"""
_SET_PUBLISHED = (
    "UPDATE payments_history.outbox SET published_at = now() WHERE id = ANY(${n}::bigint[])"
)
_BATCH = _UNPUBLISHED + "ORDER BY id LIMIT $1"
_MARK = _SET_PUBLISHED.format(n=1)
# The previous batch marked and the next one read, in one statement. The read's snapshot is
# the statement's, taken before the update: it leaves out the rows being marked itself.
_MARK_AND_BATCH = (
    f"WITH marked AS ({_SET_PUBLISHED.format(n=3)})"
    + _UNPUBLISHED
    + "AND id <> ALL($3::bigint[]) ORDER BY id LIMIT $1"
)


Hook = Callable[[], Awaitable[None]]


class Relay:
    def __init__(
        self,
        settings: ProcessorSettings,
        pool: asyncpg.Pool,
        producer: Producer,
        after_produce: Hook | None = None,
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._producer = producer
        self._after_produce = after_produce
        self._wake = asyncio.Event()
        topics = settings.relay_topic_list
        self._topics: list[str] | None = topics or None
        self._unmarked: list[int] = []  # published, acknowledged, `published_at` not set yet
        self.published = 0

    async def publish_once(self) -> int:
        """Publish one batch; the number of rows published. Its rows are marked published
        before this returns, unless a NOTIFY came meanwhile: then by the next call's read."""
        rows = await self._read()
        if not rows:
            return 0
        await self._producer.send_all([_message(r) for r in rows])
        if self._after_produce is not None:
            await self._after_produce()
        self._unmarked = [r["id"] for r in rows]
        if not self._wake.is_set():  # no read follows at once: mark them now
            await self.mark()
        self.published += len(rows)
        PUBLISHED.inc(len(rows))
        return len(rows)

    async def _read(self) -> list[asyncpg.Record]:
        batch, topics, unmarked = self._settings.relay_batch, self._topics, self._unmarked
        if not unmarked:
            return await self._pool.fetch(_BATCH, batch, topics)
        rows = await self._pool.fetch(_MARK_AND_BATCH, batch, topics, unmarked)
        self._unmarked = []
        return rows

    async def mark(self) -> None:
        """Set `published_at` of the rows published and not marked yet."""
        if self._unmarked:
            await self._pool.execute(_MARK, self._unmarked)
            self._unmarked = []

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._hold_lock_and_publish(stop)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("relay lost PostgreSQL (%s); reconnecting", exc)
                await pause(stop, 1.0)

    async def _hold_lock_and_publish(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(
            self._settings.database_url, server_settings={"application_name": holder_name()}
        )
        try:
            if not await self._wait_for_lock(conn, stop):
                return
            await conn.add_listener(CHANNEL, self._notified)
            log.info("relay active")
            while not stop.is_set():
                if conn.is_closed():
                    raise asyncpg.InterfaceError("lock connection closed")
                await self._step(stop)
        finally:
            # However the hold ends (a stop, the lock connection lost, an error), the rows
            # published and acknowledged are marked as the lock goes: a standby relay taking
            # it would publish them again. If this fails too, they are (consumers dedupe).
            with contextlib.suppress(Exception):
                await self.mark()
            with contextlib.suppress(Exception):
                await conn.close()

    async def _step(self, stop: asyncio.Event) -> None:
        self._wake.clear()
        try:
            if await self.publish_once() >= self._settings.relay_batch or self._wake.is_set():
                return  # maybe more queued; or notified meanwhile: read (and mark) at once
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            raise
        except Exception as exc:  # Kafka: the producer was reset; try again shortly
            log.warning("relay could not publish (%s); retrying", exc)
            await pause(stop, 1.0)
            return
        await _pause_or(self._wake, stop, self._settings.relay_poll_s)

    async def _wait_for_lock(self, conn: asyncpg.Connection, stop: asyncio.Event) -> bool:
        while not stop.is_set():
            if await conn.fetchval(
                "SELECT pg_try_advisory_lock($1)", self._settings.relay_lock_key
            ):
                return True
            await pause(stop, 1.0)
        return False

    def _notified(self, *_: Any) -> None:
        self._wake.set()


def holder_name() -> str:
    """`outbox-relay-<n>`: who holds the lock, as pg_stat_activity shows it (one per instance)."""
    return f"outbox-relay-{os.environ.get('BILLING_INSTANCE', '0')}"


def _message(row: asyncpg.Record) -> Message:
    payload = row["payload"]
    value = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return Message(row["topic"], row["key"].encode(), value.encode())


async def _pause_or(wake: asyncio.Event, stop: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def run(
    settings: ProcessorSettings, stop: asyncio.Event, after_produce: Hook | None = None
) -> None:
    pool = await connect_pool(settings)
    producer = Producer(settings)
    try:
        await Relay(settings, pool, producer, after_produce).run(stop)
    finally:
        await producer.close()
        await pool.close()


if __name__ == "__main__":
    main("outbox-relay", run)
