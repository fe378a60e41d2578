"""The PostgreSQL pool, created without connecting so the gateway starts while PG is down.

Every connection problem (refused, dropped, pool exhausted, server shutting down) is
translated to `DatabaseUnavailable` at this edge, which the API answers with 503.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from common.db import create_pool
from gateway.errors import DatabaseUnavailable
from gateway.settings import GatewaySettings

UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncio.TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)


class Database:
    def __init__(self, settings: GatewaySettings):
        self.settings = settings
        self.pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        """min_size=0: the pool opens no connection now, each acquire connects as needed."""
        self.pool = await create_pool(
            self.settings,
            min_size=0,
            max_size=self.settings.gateway_db_pool_size,
            timeout=self.settings.gateway_db_timeout_s,
            command_timeout=10,
        )

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        if self.pool is None:
            raise DatabaseUnavailable("the database pool is not open")
        try:
            async with self.pool.acquire(timeout=self.settings.gateway_db_timeout_s) as conn:
                yield conn
        except UNAVAILABLE as exc:
            raise DatabaseUnavailable() from exc

    async def ping(self) -> bool:
        try:
            async with self.connection() as conn:
                return await conn.fetchval("SELECT 1") == 1
        except DatabaseUnavailable:
            return False
