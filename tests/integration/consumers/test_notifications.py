"""The notifications consumer: one send per event, dedup_key = message_id, replay sends none."""

import uuid
from collections.abc import Callable
from decimal import Decimal

import asyncpg
from aiokafka import AIOKafkaProducer
from consumer_world import (
    OutsideWorld,
    Topics,
    add_payment,
    eventually,
    pending,
    publish,
    refund_succeeded,
    running,
    settle,
    succeeded,
)

from consumers.settings import ConsumerSettings


async def test_each_event_is_notified_once_with_its_message_id_as_dedup_key(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
) -> None:
    user = uuid.uuid4()
    payment = await add_payment(pool, user)
    paid = succeeded(user, payment)
    refund = refund_succeeded(user, payment, Decimal("100.00"), Decimal("100.00"))
    await publish(producer, topics.events, pending(user, payment), paid, paid, refund)
    async with running("notifications", settings_for()):
        await eventually(lambda: _sent(world, user, 2))
        await settle()
    async with running("notifications", settings_for()):  # replay from offset 0
        await settle(3)

    notes = world.notes(user)
    assert [n["template"] for n in notes] == ["payment_succeeded", "refund_succeeded"]
    assert [n["dedup_key"] for n in notes] == [str(paid.message_id), str(refund.message_id)]
    assert notes[0]["payload"]["amount"] == "499.00"
    assert notes[0]["payload"]["plan_id"] == "monthly"
    assert notes[1]["payload"]["refund_id"] == str(refund.refund_id)
    assert not any(n["duplicate"] for n in notes)


async def test_notify_failing_transiently_is_retried_into_one_send(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
) -> None:
    user = uuid.uuid4()
    world.script = [500, 502, 503]
    await publish(producer, topics.events, succeeded(user, await add_payment(pool, user)))
    async with running("notifications", settings_for(consumer_retry_attempts=5)):
        await eventually(lambda: _sent(world, user, 1))
        await settle()

    assert len(world.notes(user)) == 1


async def _sent(world: OutsideWorld, user: uuid.UUID, n: int) -> bool:
    return len(world.notes(user)) >= n
