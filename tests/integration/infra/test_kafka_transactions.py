"""The Kafka guarantees the exactly-once design leans on, checked on the real broker."""

import asyncio
import uuid
from typing import TYPE_CHECKING

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import ProducerFenced

if TYPE_CHECKING:  # the fixtures live in conftest; import it only for the type checker
    from tests.integration.conftest import NewTopicFactory

READ_TIMEOUT_S = 30


async def read_all(bootstrap: str, topic: str, isolation: str, partitions: int = 1) -> list[bytes]:
    """Every value a consumer with `isolation` can see in `topic`, from offset 0 to the end."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level=isolation, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)  # the LSO under read_committed
        values: list[bytes] = []
        async with asyncio.timeout(READ_TIMEOUT_S):
            while await behind(consumer, ends):
                batches = await consumer.getmany(timeout_ms=500)
                values += [r.value for records in batches.values() for r in records]
        return values
    finally:
        await consumer.stop()


async def behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return True
    return False


async def committed_offset(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int | None:
    """The group's committed offset once the commit marker has reached __consumer_offsets.

    EndTxn returns before the coordinator has written its markers, so for a moment the
    transactional offsets are still pending and the broker reports none.
    """
    async with asyncio.timeout(READ_TIMEOUT_S):
        while (offset := await consumer.committed(tp)) is None:  # noqa: ASYNC110 (a broker)
            await asyncio.sleep(0.1)
    return offset


async def started_producer(bootstrap: str, **config: object) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **config)
    await producer.start()
    return producer


async def test_consume_transform_produce_commits_output_and_offsets_together(
    kafka_bootstrap: str, new_topic: "NewTopicFactory"
) -> None:
    source, sink = await new_topic(), await new_topic()
    group = f"test-group-{uuid.uuid4().hex[:8]}"
    seed = await started_producer(kafka_bootstrap, enable_idempotence=True, acks="all")
    for i in range(3):
        await seed.send_and_wait(source, f"in-{i}".encode(), key=b"k")
    await seed.stop()

    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
    )
    producer = await started_producer(
        kafka_bootstrap, transactional_id=f"test-tx-{uuid.uuid4()}", enable_idempotence=True
    )
    await consumer.start()
    try:
        records: list[ConsumerRecord[bytes, bytes]] = []
        async with asyncio.timeout(READ_TIMEOUT_S):
            while len(records) < 3:
                batches = await consumer.getmany(timeout_ms=500)
                records += [r for batch in batches.values() for r in batch]
        async with producer.transaction():
            for record in records:
                await producer.send(sink, record.value.replace(b"in", b"out"), key=record.key)
            offsets = {TopicPartition(source, 0): records[-1].offset + 1}
            await producer.send_offsets_to_transaction(offsets, group)
        committed = await committed_offset(consumer, TopicPartition(source, 0))
    finally:
        await consumer.stop()
        await producer.stop()

    assert committed == 3
    assert await read_all(kafka_bootstrap, sink, "read_committed") == [
        b"out-0",
        b"out-1",
        b"out-2",
    ]


async def test_aborted_transaction_stays_invisible_to_read_committed_consumers(
    kafka_bootstrap: str, new_topic: "NewTopicFactory"
) -> None:
    topic = await new_topic()
    producer = await started_producer(
        kafka_bootstrap, transactional_id=f"test-tx-{uuid.uuid4()}", enable_idempotence=True
    )
    try:
        await producer.begin_transaction()
        await producer.send_and_wait(topic, b"aborted")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send_and_wait(topic, b"committed")
    finally:
        await producer.stop()

    assert await read_all(kafka_bootstrap, topic, "read_committed") == [b"committed"]
    # The aborted record is in the log all the same: only the isolation level hides it.
    assert await read_all(kafka_bootstrap, topic, "read_uncommitted") == [
        b"aborted",
        b"committed",
    ]


async def test_zombie_producer_is_fenced_by_its_successor(
    kafka_bootstrap: str, new_topic: "NewTopicFactory"
) -> None:
    topic = await new_topic()
    transactional_id = f"test-tx-{uuid.uuid4()}"
    zombie = await started_producer(kafka_bootstrap, transactional_id=transactional_id)
    successor: AIOKafkaProducer | None = None
    try:
        await zombie.begin_transaction()
        await zombie.send_and_wait(topic, b"from-zombie")
        successor = await started_producer(kafka_bootstrap, transactional_id=transactional_id)
        with pytest.raises(ProducerFenced):
            await zombie.commit_transaction()
        async with successor.transaction():
            await successor.send_and_wait(topic, b"from-successor")
    finally:
        await zombie.stop()
        if successor is not None:
            await successor.stop()

    assert await read_all(kafka_bootstrap, topic, "read_committed") == [b"from-successor"]


async def test_idempotent_producer_with_acks_all_writes_each_record_once_in_order(
    kafka_bootstrap: str, new_topic: "NewTopicFactory"
) -> None:
    topic = await new_topic()
    producer = await started_producer(
        kafka_bootstrap, enable_idempotence=True, acks="all", linger_ms=5
    )
    try:
        futures = [await producer.send(topic, f"m-{i}".encode(), key=b"user") for i in range(200)]
        metadata = await asyncio.gather(*futures)
    finally:
        await producer.stop()

    assert [m.offset for m in metadata] == list(range(200))
    assert await read_all(kafka_bootstrap, topic, "read_committed") == [
        f"m-{i}".encode() for i in range(200)
    ]
