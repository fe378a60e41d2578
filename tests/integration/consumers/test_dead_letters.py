"""Permanent refusals end in billing.dlq.v1 + dead_letters (transient ones never); reinject."""

import uuid
from collections.abc import Callable

import asyncpg
from aiokafka import AIOKafkaProducer
from consumer_world import (
    OutsideWorld,
    Topics,
    add_payment,
    committed,
    eventually,
    publish,
    read_all,
    running,
    subscriber,
    succeeded,
)

from consumers import dlq
from consumers.settings import ConsumerSettings
from consumers.subscriptions.handler import CONSUMER
from schemas import ids
from schemas.codec import decode
from schemas.messages import DeadLetter


async def dead_letters(pool: asyncpg.Pool, topic: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT * FROM payments_history.dead_letters WHERE origin_topic = $1 ORDER BY id", topic
    )


async def test_auth_failing_transiently_past_every_attempt_is_waited_out_not_dead_lettered(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
) -> None:
    """Issue 9: Auth away for longer than the retry budget used to dead-letter the grant,
    and nothing ever repaired the user's role."""
    user, next_user = uuid.uuid4(), uuid.uuid4()
    first = succeeded(user, await add_payment(pool, user))
    then = succeeded(next_user, await add_payment(pool, next_user))
    world.script = [503, 429, 503, 503, 503, 503, 503, 503]  # twice the attempts allowed
    await publish(producer, topics.events, first, then, partition=0)
    async with running("subscriptions", settings_for(consumer_retry_attempts=4)):
        await eventually(lambda: _active(pool, next_user))
        assert await _active(pool, user)

    assert await dead_letters(pool, topics.events) == []
    assert world.script == [] and world.grants(user) == 1 and world.grants(next_user) == 1


async def test_a_permanent_auth_refusal_dead_letters_the_message_and_moves_on(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
    kafka_bootstrap: str,
) -> None:
    doomed, next_user = uuid.uuid4(), uuid.uuid4()
    doomed_event = succeeded(doomed, await add_payment(pool, doomed))
    next_event = succeeded(next_user, await add_payment(pool, next_user))
    settings = settings_for(consumer_retry_attempts=4)
    world.script = [400]  # a refusal retrying cannot fix
    await publish(producer, topics.events, doomed_event, next_event, partition=0)
    async with running("subscriptions", settings):
        await eventually(lambda: _active(pool, next_user))

    [row] = await dead_letters(pool, topics.events)
    assert (row["consumer"], row["key"], row["origin_offset"]) == (CONSUMER, str(doomed), 0)
    assert row["message_id"] == doomed_event.message_id and "400" in row["error"]
    [record] = await read_all(kafka_bootstrap, topics.dlq)
    letter = decode(record.value)
    assert isinstance(letter, DeadLetter) and record.key == str(doomed).encode()
    origin = f"{topics.events}:0:0"
    assert letter.message_id == ids.message_id("DeadLetter", CONSUMER, origin)
    assert decode(letter.original_value) == doomed_event
    assert await subscriber(pool, doomed) is None  # no inbox, no row: still to be done
    assert world.grants(doomed) == 0 and world.grants(next_user) == 1
    group = settings.consumer_group_id
    assert await committed(kafka_bootstrap, group, topics.events, 0) == 2


async def test_reinjected_dead_letter_is_processed_once_auth_is_healthy(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
) -> None:
    user = uuid.uuid4()
    world.script = [403]  # permanent: dead-lettered at once
    async with running("subscriptions", settings_for()):
        await publish(producer, topics.events, succeeded(user, await add_payment(pool, user)))
        await eventually(lambda: _count(pool, topics.events, 1))
        [row] = await dead_letters(pool, topics.events)
        assert "permanent" in row["error"]
        pending = await dlq.list_dead_letters(pool, consumer=CONSUMER, pending_only=True)
        assert row["id"] in [letter.id for letter in pending]

        done = await dlq.reinject(pool, producer, row["id"], by="ops@test")
        await eventually(lambda: _active(pool, user))

    assert done.reinjected_by == "ops@test" and done.reinjected_at is not None
    assert world.grants(user) == 1
    assert row["id"] not in [
        letter.id for letter in await dlq.list_dead_letters(pool, pending_only=True, limit=1000)
    ]


async def test_undecodable_message_is_dead_lettered_without_blocking_the_partition(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
) -> None:
    user = uuid.uuid4()
    await producer.send_and_wait(topics.events, b"{not json", key=str(user).encode(), partition=0)
    async with running("notifications", settings_for()):
        await eventually(lambda: _count(pool, topics.events, 1))
        await publish(producer, topics.events, succeeded(user, await add_payment(pool, user)))
        await eventually(lambda: _notified(world, user))

    [row] = await dead_letters(pool, topics.events)
    assert row["payload"] == "{not json" and row["message_id"] is None
    assert row["error"].startswith("undecodable")


async def _count(pool: asyncpg.Pool, topic: str, n: int) -> bool:
    return len(await dead_letters(pool, topic)) >= n


async def _active(pool: asyncpg.Pool, user: uuid.UUID) -> bool:
    row = await subscriber(pool, user)
    return row is not None and row["subscriber_status"] is True


async def _notified(world: OutsideWorld, user: uuid.UUID) -> bool:
    return bool(world.notes(user))
