"""Durable webhook deliveries: an outbox table plus one background dispatcher.

A notification row is inserted in the same transaction as the state change it reports,
so a crash can never leave a succeeded payment without its pending webhook. The
dispatcher retries every row until the receiver answers exactly 200 (as YooKassa does),
with exponential backoff, and picks up where it left off after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import aiohttp

from sandbox.clock import now_iso
from sandbox.faults import FaultInjector
from sandbox.provider import store
from sandbox.provider.faults import ProviderFaults
from sandbox.provider.settings import ProviderSettings
from sandbox.sqlite import Connection, Database

log = logging.getLogger(__name__)

BATCH = 100
JSON = {"Content-Type": "application/json"}
IDLE_POLL_S = 5.0


async def enqueue(
    conn: Connection,
    faults: FaultInjector[ProviderFaults],
    event: str,
    obj: dict[str, Any],
) -> None:
    """Queue ``event`` for ``obj``, applying the drop/duplicate/delay faults."""
    body = {"type": "notification", "event": event, "object": obj}
    config = faults.config
    due_at = time.time() + config.webhook_delay_ms / 1000
    if faults.roll(config.drop_webhook_rate):
        await store.insert_delivery(conn, event, obj["id"], body, "dropped", due_at)
        return
    copies = 2 if faults.roll(config.duplicate_webhook_rate) else 1
    for _ in range(copies):
        await store.insert_delivery(conn, event, obj["id"], body, "pending", due_at)


def backoff(attempts: int, start: float, cap: float) -> float:
    """Delay after the ``attempts``-th failure: start, 2·start, 4·start … capped."""
    return float(min(cap, start * 2 ** max(0, attempts - 1)))


class WebhookDispatcher:
    def __init__(self, db: Database, settings: ProviderSettings, session: aiohttp.ClientSession):
        self._db = db
        self._settings = settings
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=settings.webhook_timeout_s)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                if not await self._deliver_due():
                    await self._sleep_until_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep delivering; the row stays pending and is retried
                log.exception("webhook dispatcher iteration failed")
                await asyncio.sleep(1.0)

    async def _deliver_due(self) -> bool:
        async with self._db.reading() as conn:
            rows = await store.due_deliveries(conn, time.time(), BATCH)
        await asyncio.gather(*(self._deliver(r["id"], r["body"], r["attempts"]) for r in rows))
        return bool(rows)

    async def _deliver(self, delivery_id: int, body: str, attempts: int) -> None:
        attempted_at = now_iso()
        error = await self._post(body)
        delay = backoff(
            attempts + 1,
            self._settings.webhook_backoff_start_s,
            self._settings.webhook_backoff_cap_s,
        )
        async with self._db.transaction() as conn:
            await store.record_attempt(conn, delivery_id, attempted_at, error, time.time() + delay)

    async def _post(self, body: str) -> str | None:
        """None when the receiver answered 200, else what went wrong (kept in `last_error`).

        aiohttp itself, not httpx's API on it: httpx's own layer cost as much CPU per webhook
        as aiohttp did (docs/performance.md, round 11)."""
        try:
            async with self._session.post(
                self._settings.webhook_url,
                data=body.encode(),
                headers=JSON,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                await response.read()
        except TimeoutError:
            return f"timeout: no answer in {self._settings.webhook_timeout_s} s"
        except aiohttp.ClientError as exc:
            return f"{type(exc).__name__}: {exc}"
        return None if response.status == 200 else f"HTTP {response.status}"

    async def _sleep_until_due(self) -> None:
        async with self._db.reading() as conn:
            due = await store.next_due_at(conn)
        timeout = IDLE_POLL_S if due is None else min(IDLE_POLL_S, max(0.0, due - time.time()))
        # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel that races a wake.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        self._wake.clear()
