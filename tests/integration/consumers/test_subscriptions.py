"""The subscriptions consumer against real Kafka and PostgreSQL, with Auth over HTTP."""

import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import asyncpg
from aiokafka import AIOKafkaProducer
from consumer_world import (
    NOWHERE,
    OutsideWorld,
    Topics,
    add_payment,
    eventually,
    publish,
    refund_in_db,
    refund_succeeded,
    running,
    settle,
    subscriber,
    succeeded,
)

from consumers.settings import ConsumerSettings
from schemas import ids

FULL = Decimal("499.00")


async def outbox_types(pool: asyncpg.Pool, user_id: uuid.UUID) -> list[str]:
    rows = await pool.fetch(
        "SELECT type FROM payments_history.outbox WHERE key = $1 AND topic <> $2 ORDER BY id",
        str(user_id),
        NOWHERE,
    )
    return [row["type"] for row in rows]


async def test_payment_succeeded_grants_the_role_once_and_activates_with_the_plan_expiry(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
) -> None:
    user = uuid.uuid4()
    payment = await add_payment(pool, user)
    paid_at = await pool.fetchval(
        "SELECT updated_at FROM payments_history.payments WHERE id = $1", payment
    )
    event = succeeded(user, payment)
    await publish(producer, topics.events, event)

    async with running("subscriptions", settings_for()):
        await eventually(lambda: _active(pool, user))
        await settle()

    row = await subscriber(pool, user)
    assert row is not None
    period_end = await pool.fetchval(
        "SELECT current_period_end FROM payments_history.subscriptions WHERE user_id = $1", user
    )
    assert row["expires_at"] == period_end
    assert abs(period_end - (paid_at + timedelta(days=30))) < timedelta(seconds=5)
    assert row["date_subscribe"] == paid_at.date()
    assert (row["plan_id"], row["payment_id"]) == ("monthly", payment)
    assert world.grants(user) == 1 and world.roles[str(user)] == {"subscriber"}
    assert await outbox_types(pool, user) == ["SubscriptionActivated"]
    announced = await pool.fetchval(
        "SELECT message_id FROM payments_history.outbox WHERE key = $1 AND topic <> $2",
        str(user),
        NOWHERE,
    )
    assert announced == ids.message_id("SubscriptionActivated", event.message_id)


async def test_full_refund_revokes_the_role_and_deactivates_the_row(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
) -> None:
    user = uuid.uuid4()
    payment = await add_payment(pool, user)
    async with running("subscriptions", settings_for()):
        await publish(producer, topics.events, succeeded(user, payment))
        await eventually(lambda: _active(pool, user))
        await refund_in_db(pool, payment, FULL)
        await publish(producer, topics.events, refund_succeeded(user, payment, FULL, FULL))
        await eventually(lambda: _inactive(pool, user))

    assert world.calls == [("POST", str(user)), ("DELETE", str(user))]
    assert world.roles[str(user)] == set()
    assert await outbox_types(pool, user) == ["SubscriptionActivated", "SubscriptionRevoked"]


async def test_refund_committed_while_auth_grants_ends_revoked_in_auth_and_row(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
) -> None:
    """The chaos run's race: the grant is on its way when the full refund commits."""
    user = uuid.uuid4()
    payment = await add_payment(pool, user)

    async def refund_lands() -> None:
        world.during_grant = None
        await refund_in_db(pool, payment, FULL)

    world.during_grant = refund_lands
    async with running("subscriptions", settings_for()):
        await publish(producer, topics.events, succeeded(user, payment))
        await publish(producer, topics.events, refund_succeeded(user, payment, FULL, FULL))
        await eventually(lambda: _revoked_in_auth(world, user))
        await settle()

    assert world.calls == [("POST", str(user)), ("DELETE", str(user))]
    assert world.roles[str(user)] == set()
    assert await _inactive(pool, user)


async def _revoked_in_auth(world: OutsideWorld, user: uuid.UUID) -> bool:
    return world.revokes(user) > 0


async def test_partial_refund_keeps_the_subscription_active(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
) -> None:
    user = uuid.uuid4()
    payment = await add_payment(pool, user)
    partial = Decimal("100.00")
    async with running("subscriptions", settings_for()):
        await publish(producer, topics.events, succeeded(user, payment))
        await eventually(lambda: _active(pool, user))
        await refund_in_db(pool, payment, partial)
        refund = refund_succeeded(user, payment, partial, partial)
        await publish(producer, topics.events, refund)
        await eventually(lambda: _handled(pool, refund.message_id))
        await settle()

    assert await _active(pool, user)
    assert world.calls == [("POST", str(user))]


async def test_one_of_two_payments_fully_refunded_leaves_the_user_subscribed_on_the_other(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
) -> None:
    user = uuid.uuid4()
    older = await add_payment(pool, user)
    newer = await add_payment(pool, user)
    async with running("subscriptions", settings_for()):
        await publish(producer, topics.events, succeeded(user, older), succeeded(user, newer))
        await eventually(lambda: _active(pool, user))
        await refund_in_db(pool, newer, FULL)
        refund = refund_succeeded(user, newer, FULL, FULL)
        await publish(producer, topics.events, refund)
        await eventually(lambda: _handled(pool, refund.message_id))
        await settle()

    row = await subscriber(pool, user)
    assert row is not None and row["subscriber_status"] is True
    assert row["payment_id"] == older
    assert world.revokes(user) == 0
    assert world.roles[str(user)] == {"subscriber"}


async def test_replay_from_offset_zero_calls_auth_no_more(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
) -> None:
    user = uuid.uuid4()
    payment = await add_payment(pool, user)
    event = succeeded(user, payment)
    await publish(producer, topics.events, event, event)  # delivered twice
    async with running("subscriptions", settings_for()):
        await eventually(lambda: _active(pool, user))
        await settle()
    async with running("subscriptions", settings_for()):  # new group: reads from offset 0
        await settle(3)

    assert world.grants(user) == 1
    assert await outbox_types(pool, user) == ["SubscriptionActivated"]


async def test_auth_answering_503_a_few_times_is_retried_into_one_grant(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
) -> None:
    user = uuid.uuid4()
    payment = await add_payment(pool, user)
    world.script = [503, 503, 429]
    await publish(producer, topics.events, succeeded(user, payment))
    async with running("subscriptions", settings_for(consumer_retry_attempts=5)):
        await eventually(lambda: _active(pool, user))
        await settle()

    assert world.script == []
    assert world.grants(user) == 1


async def _active(pool: asyncpg.Pool, user: uuid.UUID) -> bool:
    row = await subscriber(pool, user)
    return row is not None and row["subscriber_status"] is True


async def _inactive(pool: asyncpg.Pool, user: uuid.UUID) -> bool:
    row = await subscriber(pool, user)
    return row is not None and row["subscriber_status"] is False


async def _handled(pool: asyncpg.Pool, message_id: uuid.UUID) -> bool:
    found = await pool.fetchval(
        "SELECT 1 FROM payments_history.inbox WHERE consumer = 'consumer-subscriptions'"
        " AND message_id = $1",
        message_id,
    )
    return found is not None
