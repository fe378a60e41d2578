"""The statements each consumer sends PostgreSQL per event, counted on its own connections,
and the subscriptions consumer's transaction that begins with the user's lock in one of them.

Every statement of the consumer under test (run in this process) is logged by asyncpg's
query logger, added to each connection its pool opens; the counts are what a flow costs the
database in round trips (docs/performance.md, round 9).
"""

import asyncio
import uuid
from collections.abc import Callable, Iterator

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from consumer_world import (
    OutsideWorld,
    Topics,
    add_payment,
    eventually,
    publish,
    publish_at_once,
    running,
    settle,
    subscriber,
    succeeded,
)

from common import db
from consumers.settings import ConsumerSettings
from consumers.subscriptions import repository as repo
from consumers.subscriptions.state import Subscription


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The text of every statement the pools opened in this test send, in order."""
    sent: list[str] = []
    init = db._init_connection

    async def counted(conn: asyncpg.Connection) -> None:
        await init(conn)  # its codec look-ups are not the handlers' statements
        conn.add_query_logger(lambda logged: sent.append(" ".join(logged.query.split())))

    monkeypatch.setattr(db, "_init_connection", counted)
    yield sent


def _pre_reads(sent: list[str]) -> list[str]:
    return [q for q in sent if "message_id = ANY(" in q]


def _ours(query: str) -> bool:
    """Not asyncpg's own look-ups of types and settings (made once per connection)."""
    if "payments_history" in query or "pg_advisory" in query:
        return True
    return query.startswith(("BEGIN", "COMMIT", "ROLLBACK"))


def _handlers(sent: list[str]) -> list[str]:
    """Less the run loop's batch pre-read and its bulk inbox insert before a commit."""
    pre_read_or_flush = ("message_id = ANY(", "FROM unnest(")
    return [q for q in sent if _ours(q) and not any(s in q for s in pre_read_or_flush)]


async def test_a_change_costs_the_subscriptions_consumer_five_round_trips(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
    statements: list[str],
) -> None:
    """A look, BEGIN with the user's lock, the look under it, the row with its announcement
    and inbox row, COMMIT (8 before: the lock, the upsert, the outbox and the inbox row
    were a statement each)."""
    user = uuid.uuid4()
    payment = await add_payment(pool, user)
    await publish(producer, topics.events, succeeded(user, payment))
    async with running("subscriptions", settings_for()):
        await eventually(lambda: _active(pool, user))
        await settle(0.5)

    sent = _handlers(statements)
    assert len(sent) == 5, sent
    assert sent[1].startswith("BEGIN;") and "pg_advisory_xact_lock" in sent[1]
    assert sent[-1] == "COMMIT"
    assert world.grants(user) == 1
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM payments_history.outbox WHERE key = $1 AND type = $2",
            str(user),
            "SubscriptionActivated",
        )
        == 1
    )


async def test_a_looked_up_batch_is_notified_without_a_check_per_message(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
    statements: list[str],
) -> None:
    """Twelve notified events in one fetched batch: the pre-read's one look-up is their only
    inbox check (twelve more before); a replay of them sends nothing."""
    user = uuid.uuid4()
    events = [succeeded(user, await add_payment(pool, user)) for _ in range(12)]
    await publish(producer, topics.events, *events)  # one key: one partition, one fetch
    async with running("notifications", settings_for()):
        await eventually(lambda: _sent(world, user, 12))
        await settle(0.5)
    assert len(_pre_reads(statements)) == 1
    assert _handlers(statements) == []

    async with running("notifications", settings_for()):  # replay from offset 0
        await settle(2)

    notes = world.notes(user)
    assert sorted(n["dedup_key"] for n in notes) == sorted(str(e.message_id) for e in events)
    assert not any(n["duplicate"] for n in notes)


async def test_events_arriving_within_the_fetch_wait_come_in_one_fetch(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
    statements: list[str],
) -> None:
    """Twelve events published at once to a waiting consumer, for users on every partition:
    the broker holds the fetch for `consumer_fetch_max_wait_ms` (1 s here) and answers them
    together, one batch and one pre-read; a fetch answered at the first byte brought them one
    or two at a time, each checked by its handler (twelve statements). Sent one by one, each
    waiting for its ack, a loaded box's slow sends could straddle the end of a wait."""
    settings = settings_for(consumer_fetch_max_wait_ms=1000)
    first = uuid.uuid4()
    async with running("notifications", settings):
        await publish(producer, topics.events, succeeded(first, await add_payment(pool, first)))
        await eventually(lambda: _sent(world, first, 1))  # joined, assigned, fetching
        await settle(0.5)
        users = [uuid.uuid4() for _ in range(12)]
        paid = [succeeded(user, await add_payment(pool, user)) for user in users]
        statements.clear()  # less the set-up's own
        await publish_at_once(producer, topics.events, *paid)
        for user in users:
            await eventually(lambda user=user: _sent(world, user, 1))
    assert len(_pre_reads(statements)) == 1
    assert _handlers(statements) == []


async def _active(pool: asyncpg.Pool, user: uuid.UUID) -> bool:
    row = await subscriber(pool, user)
    return row is not None and row["subscriber_status"]


async def _sent(world: OutsideWorld, user: uuid.UUID, n: int) -> bool:
    return len(world.notes(user)) >= n


async def test_the_one_round_trip_begin_holds_the_users_lock_until_commit(
    pool: asyncpg.Pool,
) -> None:
    """`repository.locked`: a second writer of the user waits for the first one's COMMIT and
    then reads what it wrote (the look after the lock is a statement of its own)."""
    user = uuid.uuid4()
    order: list[str] = []

    async def second() -> None:
        async with repo.locked(pool, user) as conn:
            order.append("second locked")
            found = await repo.look(conn, user)
            order.append(f"second saw {found.current is not None}")

    async with repo.locked(pool, user) as conn:
        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.3)
        order.append("first writes")
        await repo.save(conn, user, Subscription(active=False))
    await asyncio.wait_for(waiting, 5)

    assert order == ["first writes", "second locked", "second saw True"]


async def test_a_block_that_raises_is_rolled_back_and_frees_the_lock(pool: asyncpg.Pool) -> None:
    user = uuid.uuid4()
    with pytest.raises(RuntimeError):
        async with repo.locked(pool, user) as conn:
            await repo.save(conn, user, Subscription(active=False))
            raise RuntimeError("the handler failed")

    assert await subscriber(pool, user) is None
    async with pool.acquire() as conn, conn.transaction():
        free = await conn.fetchval(
            "SELECT pg_try_advisory_xact_lock($1, hashtext($2))", repo.LOCK_NAMESPACE, str(user)
        )
    assert free
