"""Fixtures for the consumers against real Kafka and PostgreSQL (helpers: consumer_world)."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer
from consumer_world import OutsideWorld, Topics

from common.db import create_pool
from consumers.settings import ConsumerSettings


@pytest.fixture(scope="module", autouse=True)
def stack_access_reconciler_paused(pause_stack_programs: Callable[..., None]) -> None:
    """The stack's access reconciler repairs the role of every live subscription in the
    stack's Auth and records it in `subscribers`. These tests' users talk to a private fake
    Auth, so that repair would pre-empt the consumer under test (it then sees the row already
    granted and calls nobody). Paused while each module runs, when a stack is up."""
    pause_stack_programs("access-reconciler")


@pytest.fixture
async def world() -> AsyncIterator[OutsideWorld]:
    world = OutsideWorld()
    config = uvicorn.Config(world.app(), host="127.0.0.1", port=world.port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    yield world
    server.should_exit = True
    await task


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(ConsumerSettings(database_url=database_url))
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, enable_idempotence=True, acks="all"
    )
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture
async def topics(
    new_topic: Callable[..., Awaitable[str]], pool: asyncpg.Pool
) -> AsyncIterator[Topics]:
    """A test's private topics; the dead letters its consumers wrote are deleted after it, so
    the stack's `DeadLettersPending` alert never fires for a test's deliberate poison."""
    topics = Topics(events=await new_topic(3), dlq=await new_topic(1))
    yield topics
    await pool.execute(
        "DELETE FROM payments_history.dead_letters WHERE origin_topic = $1", topics.events
    )


@pytest.fixture
def settings_for(
    kafka_bootstrap: str, database_url: str, topics: Topics, world: OutsideWorld
) -> Callable[..., ConsumerSettings]:
    def make(**overrides: Any) -> ConsumerSettings:
        values: dict[str, Any] = {
            "kafka_bootstrap_servers": kafka_bootstrap,
            "database_url": database_url,
            "auth_url": world.url,
            "notify_url": world.url,
            "consumer_events_topic": topics.events,
            "consumer_dlq_topic": topics.dlq,
            "consumer_group_id": f"test-{uuid.uuid4().hex[:10]}",
            "consumer_retry_attempts": 4,
            "consumer_retry_base_seconds": 0.05,
            "consumer_retry_max_seconds": 0.2,
        }
        values.update(overrides)
        return ConsumerSettings(**values)

    return make
