"""What every processor process shares: `bootstrap()` builds the pool and the provider client;
`serve()` runs a coroutine until SIGTERM/SIGINT and then lets it finish gracefully."""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord

from common import logs
from common.db import create_pool
from common.kafka import make_consumer
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
    attempt = 0
    while True:
        try:
            return await create_pool(settings, max_size=settings.db_pool_size, reset=_release_as_is)
        except (OSError, asyncpg.PostgresError) as exc:
            attempt += 1
            log.warning("PostgreSQL not reachable (%s); retry %d", exc, attempt)
            if stop is not None and stop.is_set():
                raise
            await asyncio.sleep(min(5.0, 0.2 * 2**attempt))


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
    settings = ProcessorSettings()
    logs.configure(settings.log_level, name, settings.log_format)
    _run(_serve(settings, run))


def _run(main: Coroutine[Any, Any, None]) -> None:
    """uvloop (shipped with uvicorn[standard]) when present: the processors are event-loop
    bound, and its loop costs less CPU per socket operation than asyncio's selector loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


async def _serve(
    settings: ProcessorSettings, run: Callable[[ProcessorSettings, asyncio.Event], Awaitable[None]]
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await run(settings, stop)
