"""common.db's pools give a connection back without asyncpg's server-side reset: what that
reset would have cleaned must still not leak to the next user of the connection."""

import asyncpg

from common.db import create_pool
from common.settings import Settings


async def _pool(database_url: str) -> asyncpg.Pool:
    return await create_pool(Settings(database_url=database_url), min_size=1, max_size=1)


async def test_a_transaction_left_open_is_rolled_back_on_release(database_url: str) -> None:
    pool = await _pool(database_url)
    try:
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("CREATE TEMP TABLE left_open (x int)")
        async with pool.acquire() as conn:  # max_size=1: the same connection
            assert not conn.is_in_transaction()
            exists = await conn.fetchval("SELECT to_regclass('pg_temp.left_open')")
            assert exists is None
    finally:
        await pool.close()


async def test_a_transaction_scoped_lock_ends_with_its_transaction(database_url: str) -> None:
    """The consumers' per-user lock (pg_advisory_xact_lock) needs no session reset."""
    pool = await _pool(database_url)
    try:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(1397, 4242)")
        async with pool.acquire() as conn:
            held = await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid()"
            )
            assert held == 0
    finally:
        await pool.close()


async def test_release_sends_no_reset_query(database_url: str) -> None:
    """One statement, one round trip: the server saw no `RESET ALL` after it."""
    pool = await _pool(database_url)
    try:
        async with pool.acquire() as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
        other = await asyncpg.connect(database_url)
        try:
            last = await other.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", pid)
        finally:
            await other.close()
        assert last == "SELECT pg_backend_pid()"
    finally:
        await pool.close()
