"""The relay marks a batch published in the statement of its next read when a NOTIFY came
while the batch was being published (one statement per batch while rows keep coming), and
marks it before it stops."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from common import outbox
from common.producer import Producer
from processors.relay import Relay
from processors.runtime import Context
from tests.integration.conftest import NewTopicFactory
from tests.integration.processors.test_relay_wakeup import CountingPool, _event, _until


class Statements(CountingPool):
    """`CountingPool` that also counts `execute` (the relay's separate `published_at` update)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self.executes = 0

    async def execute(self, *args: Any) -> str:
        self.executes += 1
        return await self._pool.execute(*args)


async def _queue(pool: asyncpg.Pool, topic: str) -> uuid.UUID:
    event = _event()
    async with pool.acquire() as conn:
        await outbox.append(conn, event, topic=topic, key=str(event.user_id))
    return event.message_id


async def _published(pool: asyncpg.Pool, message_id: uuid.UUID) -> bool:
    sql = "SELECT published_at IS NOT NULL FROM payments_history.outbox WHERE message_id = $1"
    return bool(await pool.fetchval(sql, message_id))


def _relay(ctx: Context, topic: str, pool: Statements, hook: Any) -> tuple[Relay, Producer]:
    settings = ctx.settings.model_copy(
        update={
            "relay_topics": topic,
            "relay_lock_key": uuid.uuid4().int % 2**62,
            "relay_poll_s": 60.0,
        }
    )
    producer = Producer(settings)
    return Relay(settings, pool, producer, after_produce=hook), producer  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def _active(
    ctx: Context, topic: str, pool: Statements, stop: asyncio.Event, hook: Any
) -> AsyncIterator[tuple[Relay, "asyncio.Task[None]"]]:
    """A relay of its own on `topic`, running until `stop`; yielded once it holds the lock
    and listens (its first, empty, read done)."""
    relay, producer = _relay(ctx, topic, pool, hook)
    task = asyncio.create_task(relay.run(stop))
    try:
        await _until(lambda: pool.fetches == 1, within=20)
        await asyncio.sleep(0.3)  # listening
        yield relay, task
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await producer.close()


async def test_a_batch_notified_over_is_marked_by_the_next_read(
    ctx: Context, new_topic: NewTopicFactory
) -> None:
    topic, pool, stop = await new_topic(partitions=1), Statements(ctx.pool), asyncio.Event()
    second: list[uuid.UUID] = []

    async def another_row_meanwhile() -> None:
        if not second:  # while the first batch is published, a second row and its NOTIFY
            second.append(await _queue(ctx.pool, topic))
            await _until(lambda: relay._wake.is_set(), within=10)

    async with _active(ctx, topic, pool, stop, another_row_meanwhile) as (relay, _):
        first = await _queue(ctx.pool, topic)
        await _until(lambda: relay.published == 2, within=15)
        await asyncio.sleep(0.5)
        assert await _published(ctx.pool, first) and await _published(ctx.pool, second[0])
        # reads: the first, the first row's, the second's (marking the first row's batch);
        # one update of its own: the second batch's, no NOTIFY having come during it
        assert (pool.fetches, pool.executes) == (3, 1)


async def test_a_batch_left_unmarked_is_marked_at_a_graceful_stop(
    ctx: Context, new_topic: NewTopicFactory
) -> None:
    topic, pool, stop = await new_topic(partitions=1), Statements(ctx.pool), asyncio.Event()

    async def notified_then_stopped() -> None:
        await _queue(ctx.pool, topic)
        await _until(lambda: relay._wake.is_set(), within=10)
        stop.set()

    async with _active(ctx, topic, pool, stop, notified_then_stopped) as (relay, task):
        first = await _queue(ctx.pool, topic)
        await asyncio.wait_for(task, 15)
        assert relay.published == 1 and await _published(ctx.pool, first)


async def test_a_batch_left_unmarked_is_marked_when_the_lock_connection_is_lost(
    ctx: Context, new_topic: NewTopicFactory
) -> None:
    """The lock connection dies while a notified-over batch waits for the next read to mark
    it: the relay marks it as it lets the lock go, so a standby relay taking the lock (here:
    nobody, the relay is stopped in its reconnect pause) does not publish it again."""
    topic, pool, stop = await new_topic(partitions=1), Statements(ctx.pool), asyncio.Event()

    async def notified_then_lock_lost() -> None:
        await _queue(ctx.pool, topic)
        await _until(lambda: relay._wake.is_set(), within=10)
        holder = await ctx.pool.fetchval(_LOCK_HOLDER, relay._settings.relay_lock_key)
        assert await ctx.pool.fetchval("SELECT pg_terminate_backend($1)", holder)
        await asyncio.sleep(0.5)  # the relay's connection sees the end of its socket

    async with _active(ctx, topic, pool, stop, notified_then_lock_lost) as (relay, task):
        first = await _queue(ctx.pool, topic)
        await _until(lambda: relay.published == 1, within=15)
        await asyncio.sleep(0.3)  # inside the relay's 1 s pause before it reconnects
        stop.set()
        await asyncio.wait_for(task, 15)
        assert relay.published == 1 and await _published(ctx.pool, first)


# Who holds the relay's session advisory lock: a bigint key is (classid, objid) = its high
# and low 32 bits, objsubid 1.
_LOCK_HOLDER = """
SELECT pid FROM pg_locks
WHERE locktype = 'advisory' AND granted AND objsubid = 1
  AND ((classid::bigint << 32) | objid::bigint) = $1
"""
