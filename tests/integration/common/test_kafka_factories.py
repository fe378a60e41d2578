"""The shared Kafka factories against the real broker.

A fresh `make up` starts the programs before it creates the topics. `make up` restarts the
Kafka readers after creating topics, and `make_consumer` refreshes metadata every 5 s so a
group that was assigned nothing for a missing topic rebalances within seconds.
"""

import asyncio
import uuid

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import UnknownTopicOrPartitionError

from common.kafka import make_consumer, make_producer
from common.settings import Settings


async def test_a_consumer_started_before_its_topic_exists_gets_its_messages(
    kafka_bootstrap: str,
) -> None:
    settings = Settings(kafka_bootstrap_servers=kafka_bootstrap)
    topic = f"test.late.{uuid.uuid4().hex}"
    consumer = make_consumer(settings, f"test-late-{uuid.uuid4().hex}", topic)
    starting = asyncio.create_task(consumer.start())
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    producer = make_producer(settings)
    try:
        await asyncio.sleep(2.0)  # subscribing, and the topic is still missing
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
        await starting
        await producer.start()
        await _send_when_known(producer, topic)

        record = await asyncio.wait_for(consumer.getone(), timeout=20)

        assert record.value == b"hello"
    finally:
        await producer.stop()
        await consumer.stop()
        await admin.delete_topics([topic])
        await admin.close()


async def _send_when_known(producer: AIOKafkaProducer, topic: str) -> None:
    """The new topic's metadata reaches the producer a moment after creation."""
    for _ in range(50):
        try:
            await producer.send_and_wait(topic, b"hello", key=b"k")
            return
        except UnknownTopicOrPartitionError:
            await asyncio.sleep(0.2)
    raise AssertionError(f"{topic} never became known to the producer")
