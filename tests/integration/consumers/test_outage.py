"""PostgreSQL going away mid-stream: the consumer waits, loses nothing, dead-letters nothing.

The consumer reaches PostgreSQL through `Cut`, a TCP relay this test can sever and
restore, so the shared database itself is never stopped.
"""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from consumer_world import (
    OutsideWorld,
    Topics,
    add_payment,
    eventually,
    free_port,
    publish,
    running,
    subscriber,
    succeeded,
)

from consumers.settings import ConsumerSettings


class Cut:
    """A TCP relay to PostgreSQL with an off switch that also drops live connections."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.Task[None]] = set()

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def down(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for pipe in list(self.pipes):
            pipe.cancel()
        await asyncio.gather(*self.pipes, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        pipes = [
            asyncio.create_task(_pump(reader, up_writer)),
            asyncio.create_task(_pump(up_reader, writer)),
        ]
        self.pipes.update(pipes)
        try:
            await asyncio.gather(*pipes)
        except asyncio.CancelledError:
            pass
        finally:
            for w in (writer, up_writer):
                w.close()
            self.pipes.difference_update(pipes)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()


@pytest.fixture
async def cut(database_url: str) -> AsyncIterator[tuple[Cut, str]]:
    parts = urlsplit(database_url)
    relay = Cut(parts.hostname or "127.0.0.1", parts.port or 5432)
    await relay.up()
    netloc = parts.netloc.rsplit("@", 1)[0] + f"@127.0.0.1:{relay.port}"
    yield relay, urlunsplit(parts._replace(netloc=netloc))
    await relay.down()


async def test_postgres_outage_pauses_the_consumer_and_it_catches_up_losing_nothing(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    topics: Topics,
    world: OutsideWorld,
    settings_for: Callable[..., ConsumerSettings],
    cut: tuple[Cut, str],
) -> None:
    relay, relayed_url = cut
    first, *later = [uuid.uuid4() for _ in range(4)]
    events = {user: succeeded(user, await add_payment(pool, user)) for user in [first, *later]}
    settings = settings_for(database_url=relayed_url, consumer_outage_max_seconds=0.5)
    async with running("subscriptions", settings):
        await publish(producer, topics.events, events[first])
        await eventually(lambda: _active(pool, first))
        await relay.down()
        await publish(producer, topics.events, *(events[user] for user in later))
        await asyncio.sleep(2)
        assert not [user for user in later if await _active(pool, user)]
        assert all(world.grants(user) == 0 for user in later)
        await relay.up()
        for user in later:
            await eventually(lambda u=user: _active(pool, u), within=30)

    assert all(world.grants(user) == 1 for user in [first, *later])
    letters = await pool.fetchval(
        "SELECT count(*) FROM payments_history.dead_letters WHERE origin_topic = $1", topics.events
    )
    assert letters == 0


async def _active(pool: asyncpg.Pool, user: uuid.UUID) -> bool:
    row = await subscriber(pool, user)
    return row is not None and row["subscriber_status"] is True
