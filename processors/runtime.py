"""What every processor process shares: `bootstrap()` builds the pool and the provider client;
`serve()` runs a coroutine until SIGTERM/SIGINT and then lets it finish gracefully."""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from common import logs
from common.db import create_pool
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
    policy = RetryPolicy(attempts=settings.provider_attempts, timeout_s=settings.provider_timeout_s,
                         backoff_s=settings.provider_backoff_s)  # fmt: skip
    return make_client(settings.provider_url, settings.provider_shop_id,
                       settings.provider_secret_key.get_secret_value(), policy,
                       settings.provider_max_connections)  # fmt: skip


async def connect_pool(
    settings: ProcessorSettings, stop: asyncio.Event | None = None
) -> asyncpg.Pool:
    """PostgreSQL down at start-up is waited for, not fatal."""
    attempt = 0
    while True:
        try:
            return await create_pool(settings, max_size=settings.db_pool_size)
        except (OSError, asyncpg.PostgresError) as exc:
            attempt += 1
            log.warning("PostgreSQL not reachable (%s); retry %d", exc, attempt)
            if stop is not None and stop.is_set():
                raise
            await asyncio.sleep(min(5.0, 0.2 * 2**attempt))


async def bootstrap(settings: ProcessorSettings) -> Context:
    return Context(settings, await connect_pool(settings), provider_client(settings))


def main(name: str, run: Callable[[ProcessorSettings, asyncio.Event], Awaitable[None]]) -> None:
    settings = ProcessorSettings()
    logs.configure(settings.log_level, name)
    asyncio.run(_serve(settings, run))


async def _serve(
    settings: ProcessorSettings, run: Callable[[ProcessorSettings, asyncio.Event], Awaitable[None]]
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await run(settings, stop)
