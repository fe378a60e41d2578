"""Every program's pool keeps the connections a burst opened: a new one costs PostgreSQL a
backend, an authentication and the json codecs' type introspection (≈ 6-7 ms of its CPU,
docs/performance.md round 11 (pg)), so a quiet spell must not close them for the next burst
to open again."""

import asyncio

import asyncpg
import pytest

from common.db import create_pool
from common.settings import Settings
from consumers.settings import ConsumerSettings
from gateway.settings import GatewaySettings
from processors.runtime import connect_pool
from processors.settings import ProcessorSettings

BURST = 4


async def _burst_then_idle(pool: asyncpg.Pool, idle_s: float) -> set[int]:
    """Backend pids of the pool's connections after BURST concurrent queries and `idle_s`."""
    await asyncio.gather(*(pool.fetchval("SELECT pg_sleep(0.2)") for _ in range(BURST)))
    await asyncio.sleep(idle_s)
    pids = await asyncio.gather(*(_held_pid(pool) for _ in range(BURST)))
    return set(pids)


async def _held_pid(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        pid: int = await conn.fetchval("SELECT pg_backend_pid()")
        await asyncio.sleep(0.2)  # held, so the BURST acquires take BURST connections
        return pid


async def _backends_of(pool: asyncpg.Pool) -> set[int]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend'"
        )
    return {r["pid"] for r in rows}


async def test_a_bursts_connections_stay_open_through_a_quiet_spell(database_url: str) -> None:
    pool = await connect_pool(ProcessorSettings(database_url=database_url))
    try:
        await asyncio.gather(*(_held_pid(pool) for _ in range(BURST)))
        first = await _backends_of(pool)
        again = await _burst_then_idle(pool, idle_s=1.5)
        assert pool.get_size() >= BURST
        assert again <= first, "the second burst opened new connections"
    finally:
        await pool.close()


async def test_an_idle_limit_closes_what_a_burst_opened(database_url: str) -> None:
    """The setting reaches the pool (and shows what the default 0 prevents)."""
    settings = ProcessorSettings(database_url=database_url, db_connection_idle_s=0.5)
    await _assert_reopened_after_idle(await connect_pool(settings))


@pytest.mark.parametrize("kind", [ConsumerSettings, GatewaySettings], ids=lambda k: k.__name__)
async def test_every_programs_pool_takes_the_idle_limit(
    database_url: str, kind: type[Settings]
) -> None:
    """`common.db.create_pool` reads it from the common settings: the gateway's and the
    consumers' pools keep or close their connections as the processors' do."""
    pool = await create_pool(kind(database_url=database_url, db_connection_idle_s=0.5))
    await _assert_reopened_after_idle(pool)


async def _assert_reopened_after_idle(pool: asyncpg.Pool) -> None:
    """A burst, 1.5 s idle past the pool's 0.5 s limit, a burst again: some connection of
    the second burst is new. Closes the pool."""
    try:
        await asyncio.gather(*(_held_pid(pool) for _ in range(BURST)))
        first = await _backends_of(pool)
        again = await _burst_then_idle(pool, idle_s=1.5)
        assert again - first, "no connection was closed and opened again"
    finally:
        await pool.close()
