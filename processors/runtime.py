"""What every processor process shares: `bootstrap()` builds the pool and the provider client,
`keyed_loop()` the common run loop of a topic, `main()` the process (common/process.py)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
from aiokafka import ConsumerRecord

from common import process
from common.db import create_pool
from common.kafka import make_consumer
from common.retry import until_up
from common.runloop import KeyedRunLoop, RunLoopConfig
from processors.provider.yookassa import RetryPolicy, YooKassaClient, make_client
from processors.settings import ProcessorSettings

log = logging.getLogger(__name__)


@dataclass
class Context:
    settings: ProcessorSettings
    pool: asyncpg.Pool
    provider: YooKassaClient

    async def aclose(self) -> None:
        await self.provider.aclose()
        await self.pool.close()


def provider_client(settings: ProcessorSettings) -> YooKassaClient:
    policy = RetryPolicy(
        attempts=settings.provider_attempts,
        timeout_s=settings.provider_timeout_s,
        backoff_s=settings.provider_backoff_s,
    )
    return make_client(
        settings.provider_url,
        settings.provider_shop_id,
        settings.provider_secret_key.get_secret_value(),
        policy,
        settings.provider_max_connections,
    )


async def connect_pool(
    settings: ProcessorSettings, stop: asyncio.Event | None = None
) -> asyncpg.Pool:
    """PostgreSQL down at start-up is waited for, not fatal."""
    pool = await until_up(
        "PostgreSQL",
        lambda: create_pool(settings, max_size=settings.db_pool_size, reset=_release_as_is),
        stop,
    )
    if pool is None:
        raise ConnectionError("stopped before PostgreSQL was reachable")
    return pool


async def _release_as_is(conn: asyncpg.Connection) -> None:
    """Pool release without asyncpg's default server-side reset (`SELECT
    pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`), one more round trip on every
    release, i.e. twice per handled command. asyncpg still rolls back an open transaction and
    drops listeners before calling this; the processors never change session state on a pooled
    connection (the relay's advisory lock and LISTEN live on a connection of their own)."""


async def bootstrap(settings: ProcessorSettings) -> Context:
    return Context(settings, await connect_pool(settings), provider_client(settings))


RecordHandler = Callable[[ConsumerRecord], Awaitable[None]]


def keyed_loop(
    ctx: Context, name: str, group: str, topic: str, handle: RecordHandler
) -> KeyedRunLoop:
    """The run loop of a processor that reads `topic` as consumer group `group`."""
    config = RunLoopConfig(name=name, max_in_flight=ctx.settings.processor_max_in_flight)
    return KeyedRunLoop(lambda: make_consumer(ctx.settings, group), [topic], handle, config)


async def run_loop(
    settings: ProcessorSettings, stop: asyncio.Event, build: Callable[[Context], KeyedRunLoop]
) -> None:
    """Bootstrap, run the loop `build` makes until `stop`, then close what bootstrap opened."""
    ctx = await bootstrap(settings)
    try:
        await build(ctx).run(stop)
    finally:
        await ctx.aclose()


def main(name: str, run: Callable[[ProcessorSettings, asyncio.Event], Awaitable[None]]) -> None:
    process.main(name, ProcessorSettings(), run)
