"""PostgreSQL pool factory (asyncpg). JSON and JSONB columns come back as Python objects."""

import json
from typing import Any

import asyncpg

from common.settings import Settings


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(settings: Settings, **overrides: Any) -> asyncpg.Pool:
    options: dict[str, Any] = {"min_size": 1, "max_size": 10, "command_timeout": 30}
    options.update(overrides)
    pool = await asyncpg.create_pool(settings.database_url, init=_init_connection, **options)
    if pool is None:  # asyncpg types it Optional; never None once awaited
        raise RuntimeError("asyncpg.create_pool returned no pool")
    return pool
