"""Everything a running provider holds, built by ``open_runtime`` and torn down with it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import Request

from common.http_session import new_session
from sandbox.faults import FaultInjector
from sandbox.provider import store
from sandbox.provider.faults import ProviderFaults
from sandbox.provider.service import ProviderService
from sandbox.provider.settings import ProviderSettings
from sandbox.provider.store import SCHEMA
from sandbox.provider.sweeper import Sweeper
from sandbox.provider.webhooks import WebhookDispatcher
from sandbox.sqlite import Database


@dataclass
class ProviderRuntime:
    settings: ProviderSettings
    service: ProviderService
    faults: FaultInjector[ProviderFaults]
    sweeper: Sweeper


@contextlib.asynccontextmanager
async def open_runtime(settings: ProviderSettings) -> AsyncIterator[ProviderRuntime]:
    db = await Database.open(settings.provider_db_path, SCHEMA, settings.provider_db_synchronous)
    async with db.transaction() as conn:
        await store.migrate(conn)
    faults = FaultInjector(db, ProviderFaults)
    await faults.load()
    # aiohttp's pool (common.http_session): httpx's own pool cost O(connections) per webhook,
    # ~19 % of the provider's samples under `make bench` (round 7). A connection idle
    # KEEPALIVE_S is not reused: uvicorn (the gateway) closes it at 5 s, and a webhook sent on
    # it then fails.
    async with new_session() as session:
        dispatcher = WebhookDispatcher(db, settings, session)
        service = ProviderService(db, settings, faults, dispatcher)
        sweeper = Sweeper(service)
        tasks = [
            asyncio.create_task(dispatcher.run(), name="webhook-dispatcher"),
            asyncio.create_task(sweeper.run(), name="sweeper"),
        ]
        try:
            yield ProviderRuntime(settings, service, faults, sweeper)
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await db.close()


async def runtime(request: Request) -> ProviderRuntime:
    """FastAPI dependency: the runtime that the app's lifespan opened.

    ``async`` on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, one
    thread hop per request for an attribute read (~12% of the provider's CPU under load)."""
    value: ProviderRuntime = request.app.state.runtime
    return value
