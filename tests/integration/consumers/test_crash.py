"""SIGKILL mid-stream, restart: every user granted and notified exactly once in effect."""

import asyncio
import signal
import uuid
from collections.abc import Callable

import asyncpg
from aiokafka import AIOKafkaProducer
from consumer_world import OutsideWorld, Topics, add_payment, eventually, publish, spawn, succeeded

from consumers.settings import ConsumerSettings

USERS = 30


async def test_consumers_killed_mid_stream_and_restarted_grant_and_notify_each_user_once(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
) -> None:
    users = [uuid.uuid4() for _ in range(USERS)]
    events = [succeeded(user, await add_payment(pool, user)) for user in users]
    world.latency = 0.05  # slow enough to be killed in the middle of the stream
    subs, notes = settings_for(), settings_for()
    await publish(producer, topics.events, *events)

    first = [await spawn("subscriptions", subs), await spawn("notifications", notes)]
    await eventually(lambda: _inbox_at_least(pool, events, 6), within=30)
    for process in first:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert await _inbox_count(pool, events) < 2 * USERS  # killed mid-stream indeed

    second = [await spawn("subscriptions", subs), await spawn("notifications", notes)]
    try:
        await eventually(lambda: _inbox_at_least(pool, events, 2 * USERS), within=60)
    finally:
        for process in second:
            process.send_signal(signal.SIGTERM)
        assert [await asyncio.wait_for(p.wait(), 20) for p in second] == [0, 0]

    assert all(world.roles.get(str(user)) == {"subscriber"} for user in users)
    double = [user for user in users if world.grants(user) > 1]
    assert len(double) <= 3  # at most the one in flight per partition when killed
    assert all(world.grants(user) >= 1 for user in users)
    outbox = await pool.fetchval(
        "SELECT count(*) FROM payments_history.outbox WHERE key = ANY($1::text[])",
        [str(user) for user in users],
    )
    assert outbox == USERS
    delivered = {n["dedup_key"] for user in users for n in world.notes(user) if not n["duplicate"]}
    assert delivered == {str(event.message_id) for event in events}


async def _inbox_count(pool: asyncpg.Pool, events: list) -> int:  # type: ignore[type-arg]
    return await pool.fetchval(
        "SELECT count(*) FROM payments_history.inbox WHERE message_id = ANY($1::uuid[])",
        [event.message_id for event in events],
    )


async def _inbox_at_least(pool: asyncpg.Pool, events: list, n: int) -> bool:  # type: ignore[type-arg]
    return await _inbox_count(pool, events) >= n
