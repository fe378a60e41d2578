"""The gateway in-process (lifespan run) against the real Kafka and PostgreSQL."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from fastapi import FastAPI
from gateway_it_support import SECRET, Client, GatewayFactory, TopicTail, bearer

from gateway.app import create_app
from gateway.settings import GatewaySettings
from schemas import topics

# Private topics: the live pipeline of `make up` may be running next to these tests, and
# its processors must not act on (or race with) what these tests send.
_RUN = uuid.uuid4().hex[:10]
COMMANDS = f"test.gateway.{_RUN}.commands"
WEBHOOKS = f"test.gateway.{_RUN}.webhooks"


def gateway_settings(kafka: str, database: str, **overrides: Any) -> GatewaySettings:
    options: dict[str, Any] = {
        "_env_file": None,
        "commands_topic": COMMANDS,
        "webhooks_topic": WEBHOOKS,
        "jwt_secret": SECRET,
        "kafka_bootstrap_servers": kafka,
        "database_url": database,
        "gateway_return_url_origins": "https://cinema.test,https://cinema.example",
        "gateway_produce_timeout_s": 3.0,
        "gateway_db_timeout_s": 2.0,
    }
    options.update(overrides)
    return GatewaySettings(**options)


async def serve(settings: GatewaySettings) -> AsyncIterator[Client]:
    async for _, http in serve_app(settings):
        yield http


async def serve_app(settings: GatewaySettings) -> AsyncIterator[tuple[FastAPI, Client]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield app, http


@pytest.fixture(scope="session")
async def private_topics(kafka_bootstrap: str) -> AsyncIterator[None]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    names = {COMMANDS: topics.TOPICS[topics.COMMANDS], WEBHOOKS: topics.TOPICS[topics.WEBHOOKS]}
    try:
        await admin.create_topics(
            [NewTopic(name, partitions, 1) for name, partitions in names.items()]
        )
        yield
        await admin.delete_topics(list(names))
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def client(
    kafka_bootstrap: str, database_url: str, private_topics: None
) -> AsyncIterator[Client]:
    async for http in serve(gateway_settings(kafka_bootstrap, database_url)):
        yield http


@pytest.fixture
async def make_gateway(
    kafka_bootstrap: str, database_url: str, private_topics: None
) -> AsyncIterator[GatewayFactory]:
    """`await make_gateway(kafka_bootstrap_servers=..., ...)`: a gateway with overrides."""
    generators: list[AsyncIterator[Client]] = []

    async def make(**overrides: Any) -> Client:
        generator = serve(gateway_settings(kafka_bootstrap, database_url, **overrides))
        generators.append(generator)
        return await anext(generator)

    yield make
    for generator in generators:
        await anext(generator, None)


@pytest.fixture
async def served(
    kafka_bootstrap: str, database_url: str, private_topics: None
) -> AsyncIterator[tuple[FastAPI, Client]]:
    """A gateway of the test's own, with its app (for its services: the pool, the caches)."""
    async for pair in serve_app(gateway_settings(kafka_bootstrap, database_url)):
        yield pair


@pytest.fixture
async def make_served(
    kafka_bootstrap: str, database_url: str, private_topics: None
) -> AsyncIterator[Callable[..., Awaitable[tuple[FastAPI, Client]]]]:
    """`await make_served(**overrides)`: `served` with settings of the test's own."""
    generators: list[AsyncIterator[tuple[FastAPI, Client]]] = []

    async def make(**overrides: Any) -> tuple[FastAPI, Client]:
        generator = serve_app(gateway_settings(kafka_bootstrap, database_url, **overrides))
        generators.append(generator)
        return await anext(generator)

    yield make
    for generator in generators:
        await anext(generator, None)


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
def commands(kafka_bootstrap: str) -> TopicTail:
    return TopicTail(kafka_bootstrap, COMMANDS, topics.TOPICS[topics.COMMANDS])


@pytest.fixture(scope="session")
def webhooks(kafka_bootstrap: str) -> TopicTail:
    return TopicTail(kafka_bootstrap, WEBHOOKS, topics.TOPICS[topics.WEBHOOKS])


@pytest.fixture
def user() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def headers(user: uuid.UUID) -> dict[str, str]:
    return bearer(user)


@pytest.fixture
async def plan(db: asyncpg.Pool) -> AsyncIterator[str]:
    """A plan of the test's own (10.00 RUB), deleted after it with its payments."""
    plan_id = f"t-{uuid.uuid4().hex[:12]}"
    await db.execute(
        "INSERT INTO payments_history.plans (id, title, amount, currency, period_days)"
        " VALUES ($1, 'Test plan', 10.00, 'RUB', 30)",
        plan_id,
    )
    yield plan_id
    await db.execute("DELETE FROM payments_history.payments WHERE plan_id = $1", plan_id)
    await db.execute("DELETE FROM payments_history.plans WHERE id = $1", plan_id)
