"""A processor transaction's tail in one statement (processors/journal.py), the user's lock
taken by the payment's guarded update, and the subscription's reads in one statement —
against the real PostgreSQL: rows, order, NOTIFY at commit, nothing on a rollback."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from common.inbox import Origin
from common.outbox import CHANNEL
from domain.payments import PaymentStatus
from domain.subscriptions import Subscription, SubscriptionStatus
from processors import repository
from processors.inbox import InboxEntry
from processors.journal import Journal
from processors.repository import PaymentChange
from processors.subscriptions import repository as repo
from schemas import ids
from schemas.messages import PaymentFailed
from tests.events import payment_failed

PLAN = "monthly"


@pytest.fixture
async def conns(database_url: str) -> AsyncIterator[tuple[asyncpg.Connection, ...]]:
    opened = [await asyncpg.connect(database_url) for _ in range(2)]
    yield tuple(opened)
    for conn in opened:
        await conn.close()


def failed(user: uuid.UUID) -> PaymentFailed:
    return payment_failed(user)


async def subscription(conn: asyncpg.Connection, user: uuid.UUID) -> repo.SubscriptionRow:
    now = await repo.now(conn)
    state = Subscription(SubscriptionStatus.ACTIVE, now, now + timedelta(days=30), False, False)
    return await repo.save(conn, user, PLAN, state, periods=1, card=None)


async def test_the_tail_is_written_in_order_and_announced_only_at_commit(
    conns: tuple[asyncpg.Connection, ...],
) -> None:
    writer, listener = conns
    heard: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(CHANNEL, lambda *args: heard.put_nowait(args[2]))
    user, journal = uuid.uuid4(), Journal()
    first, second = failed(user), failed(user)
    entry = InboxEntry("test-journal", uuid.uuid4(), "T", Origin("t", 3, 42), first.payment_id)
    async with writer.transaction():
        sub = await subscription(writer, user)
        journal.append(first, topic="t", key=str(user), payment_id=first.payment_id)
        journal.append(second, topic="t", key=str(user))
        journal.append(first.model_copy(update={"reason": "again"}), topic="t", key="x")
        journal.record(entry)
        journal.add_period(
            sub.id, 1, None, "payment", (sub.state.period_start, sub.state.period_end)
        )
        journal.plan(sub.id, user, [("expire", sub.state.period_end, 1, 0)] * 2)
        await journal.flush(writer)
        assert not journal
        await asyncio.sleep(0.2)
        assert heard.empty()  # NOTIFY is delivered at COMMIT, not before
    await asyncio.wait_for(heard.get(), 5)

    events = await writer.fetch(
        "SELECT message_id, key, type, payload::text FROM payments_history.outbox"
        " WHERE message_id = ANY($1::uuid[]) ORDER BY id",
        [first.message_id, second.message_id],
    )
    assert [e["message_id"] for e in events] == [first.message_id, second.message_id]
    assert json.loads(events[0]["payload"])["reason"] == "test"  # the first append is kept
    assert events[0]["type"] == "PaymentFailed" and events[0]["key"] == str(user)
    inbox = await writer.fetchrow(
        'SELECT partition, "offset", payment_id FROM payments_history.inbox'
        " WHERE consumer = 'test-journal' AND message_id = $1",
        entry.message_id,
    )
    assert tuple(inbox) == (3, 42, first.payment_id)
    assert (
        await writer.fetchval(
            "SELECT count(*) FROM payments_history.subscription_periods WHERE subscription_id = $1",
            sub.id,
        )
        == 1
    )
    assert (
        await writer.fetchval(
            "SELECT count(*) FROM payments_history.subscription_due WHERE subscription_id = $1",
            sub.id,
        )
        == 1
    )


async def test_a_transaction_that_fails_after_its_tail_leaves_nothing(
    conns: tuple[asyncpg.Connection, ...],
) -> None:
    writer, _ = conns
    user, journal = uuid.uuid4(), Journal()
    event = failed(user)
    with pytest.raises(RuntimeError):
        async with writer.transaction():
            journal.append(event, topic="t", key=str(user))
            journal.record(InboxEntry("test-journal", event.message_id, "T", Origin("t", 0, 1)))
            await journal.flush(writer)
            raise RuntimeError("dies before COMMIT")
    assert (
        await writer.fetchval(
            "SELECT count(*) FROM payments_history.outbox WHERE message_id = $1", event.message_id
        )
        == 0
    )
    assert (
        await writer.fetchval(
            "SELECT count(*) FROM payments_history.inbox WHERE message_id = $1", event.message_id
        )
        == 0
    )


async def accepted_payment(conn: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    user, key = uuid.uuid4(), uuid.uuid4().hex
    payment = ids.payment_id(user, key)
    await conn.execute(
        """INSERT INTO payments_history.payments (id, user_id, plan_id, amount, currency,
           idempotency_key, request_fingerprint, return_url)
           VALUES ($1, $2, $3, 499, 'RUB', $4, 'fp', 'https://x/')""",
        payment,
        user,
        PLAN,
        key,
    )
    return payment, user


@pytest.mark.parametrize("lock_user", [True, False])
async def test_the_guarded_update_takes_the_users_lock_when_asked(
    conns: tuple[asyncpg.Connection, ...], lock_user: bool
) -> None:
    mover, other = conns
    payment, user = await accepted_payment(mover)
    change = PaymentChange(status=PaymentStatus.FAILED, failure_reason="test finished")
    async with mover.transaction():
        moved = await repository.move_payment(mover, payment, change, 0, lock_user=lock_user)
        assert moved is not None and moved.status is PaymentStatus.FAILED
        async with other.transaction():
            free = await other.fetchval(
                "SELECT pg_try_advisory_xact_lock($1, hashtext($2))",
                repo.LOCK_NAMESPACE,
                str(user),
            )
        assert free is not lock_user
    async with other.transaction():
        assert await other.fetchval(
            "SELECT pg_try_advisory_xact_lock($1, hashtext($2))", repo.LOCK_NAMESPACE, str(user)
        )


async def test_the_subscriptions_reads_in_one_statement_match_the_separate_reads(
    conns: tuple[asyncpg.Connection, ...],
) -> None:
    conn, _ = conns
    payment, user = await accepted_payment(conn)
    async with conn.transaction():
        sub = await subscription(conn, user)
        await repo.add_period(
            conn, sub.id, 1, payment, "payment", (sub.state.period_start, sub.state.period_end)
        )
        read = await repo.inputs(conn, payment, PLAN, user)
        assert read.has_period and read.now == await repo.now(conn)
        assert read.plan == await repo.load_plan(conn, PLAN)
        assert read.current == await repo.load(conn, user) == sub
        nothing = await repo.inputs(conn, uuid.uuid4(), "no-such-plan", uuid.uuid4())
        assert (nothing.has_period, nothing.plan, nothing.current) == (False, None, None)
        await conn.execute(
            "UPDATE payments_history.payments SET status = 'failed' WHERE id = $1", payment
        )


async def test_the_notification_names_the_payments_its_events_are_about(
    conns: tuple[asyncpg.Connection, ...],
) -> None:
    """A gateway holding `Prefer: wait` requests re-reads only for the payments named."""
    writer, listener = conns
    heard: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(CHANNEL, lambda *args: heard.put_nowait(args[3]))
    user, journal = uuid.uuid4(), Journal()
    first, second = failed(user), failed(user)
    async with writer.transaction():
        for event in (first, second):
            journal.append(event, topic="t", key=str(user), payment_id=event.payment_id)
        await journal.flush(writer)
    payload = await asyncio.wait_for(heard.get(), 5)
    assert sorted(payload.split(",")) == sorted([str(first.payment_id), str(second.payment_id)])
