"""PostgreSQL pool factory (asyncpg). JSON and JSONB columns come back as Python objects.

A connection goes back to the pool as it is (`release_as_is`), without asyncpg's default
server-side reset (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`):
that is one more round trip on every release, i.e. on every `pool.fetch…` and every
`acquire()`. asyncpg still rolls back a transaction left open and drops the listeners before
calling it. No pooled connection of ours changes session state: advisory locks are
transaction-scoped (`pg_advisory_xact_lock`), and the session locks and LISTENs (the relay's
lock, the gateway's wait channel) live on connections of their own, outside any pool.
"""

import json
from typing import Any

import asyncpg

from common.settings import Settings


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def release_as_is(conn: asyncpg.Connection) -> None:
    """The pool's reset: nothing beyond asyncpg's own rollback (see the module's doc)."""


async def create_pool(settings: Settings, **overrides: Any) -> asyncpg.Pool:
    options: dict[str, Any] = {
        "min_size": 1,
        "max_size": 10,
        "command_timeout": 30,
        "reset": release_as_is,
        "max_inactive_connection_lifetime": settings.db_connection_idle_s,
    }
    options.update(overrides)
    pool = await asyncpg.create_pool(settings.database_url, init=_init_connection, **options)
    if pool is None:  # asyncpg types it Optional; never None once awaited
        raise RuntimeError("asyncpg.create_pool returned no pool")
    return pool
