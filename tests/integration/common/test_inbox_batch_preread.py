"""The run loop's inbox pre-read on the real broker and database: a replayed batch whose
messages the inbox holds is committed without one handler call, and only those."""

import asyncio
import uuid

import asyncpg
from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient

from common import inbox
from common.inbox import Origin, SeenInBatch
from common.kafka import make_consumer
from common.retry import RetryPolicy
from common.runloop import KeyedRunLoop, RunLoopConfig
from common.settings import Settings
from schemas.codec import decode, encode, encode_key
from schemas.messages import PaymentPending
from tests.events import payment_pending
from tests.integration.conftest import NewTopicFactory


def pending() -> PaymentPending:
    return payment_pending(confirmation_url="http://127.0.0.1/x")


async def test_seen_any_reads_the_inbox_of_one_consumer(database_url: str) -> None:
    consumer, other = f"test-{uuid.uuid4().hex}", f"test-{uuid.uuid4().hex}"
    done, fresh = uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(database_url)
    try:
        await inbox.record(conn, consumer, done, "T", Origin("t", 0, 0))
        await inbox.record(conn, other, fresh, "T", Origin("t", 0, 1))

        assert await inbox.seen_any(conn, consumer, [done, fresh, done]) == {done}
        assert await inbox.seen_any(conn, consumer, []) == set()
    finally:
        await conn.execute(
            "DELETE FROM payments_history.inbox WHERE consumer = ANY($1)", [consumer, other]
        )
        await conn.close()


async def test_a_replayed_batch_skips_what_the_inbox_holds(
    database_url: str,
    kafka_bootstrap: str,
    kafka_admin: AIOKafkaAdminClient,
    new_topic: NewTopicFactory,
) -> None:
    topic, name = await new_topic(partitions=2), f"test-{uuid.uuid4().hex}"
    events = [pending() for _ in range(40)]
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    assert pool is not None
    try:
        for event in events[::2]:  # every other one was handled before the rewind
            await inbox.record(pool, name, event.message_id, event.type, Origin(topic, 0, 0))
        await _produce(kafka_bootstrap, topic, events)
        handled, loop = await _run(kafka_bootstrap, topic, name, pool, len(events))

        assert sorted(map(str, handled)) == sorted(str(e.message_id) for e in events[1::2])
        assert loop.skipped == 20
        committed = await kafka_admin.list_consumer_group_offsets(name)
        assert sum(meta.offset for meta in committed.values()) == len(events)
    finally:
        await pool.execute("DELETE FROM payments_history.inbox WHERE consumer = $1", name)
        await pool.close()


async def _produce(bootstrap: str, topic: str, events: list[PaymentPending]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(topic, encode(event), key=encode_key(event.user_id))
    finally:
        await producer.stop()


async def _run(
    bootstrap: str, topic: str, name: str, pool: asyncpg.Pool, total: int
) -> tuple[list[uuid.UUID], KeyedRunLoop]:
    """Run the loop until every record is committed; the message ids its handler got."""
    handled: list[uuid.UUID] = []

    async def handle(record: ConsumerRecord) -> None:
        handled.append(decode(record.value).message_id)

    settings = Settings(kafka_bootstrap_servers=bootstrap)
    config = RunLoopConfig(
        name, 256, commit_interval_s=0.05, policy=RetryPolicy.until_it_works(0.01, 0.02)
    )
    loop = KeyedRunLoop(
        lambda: make_consumer(settings, name),
        [topic],
        handle,
        config,
        already_done=SeenInBatch(pool, name, min_batch=1),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    try:
        async with asyncio.timeout(60):
            while loop.handled + loop.skipped < total:  # noqa: ASYNC110 - polling the loop
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    return handled, loop
