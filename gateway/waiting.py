"""`Prefer: wait`: hold a payment's answer until it settles, woken by PostgreSQL NOTIFY.

Every move of a payment's status is queued in the outbox by the transaction that makes it,
and the outbox NOTIFYs `billing_outbox` at commit (processors/outbox.py). One dedicated
connection per gateway LISTENs on that channel; each notification wakes one batched re-read
of every payment being waited for (`id = ANY(...)`), never a poll per request, so waiting
requests hold no pool connection while they wait. A notification names the payment(s) its
events are about (`common.outbox`: one id; `processors.journal`: a comma-separated list): one about
payments nobody here waits for wakes nothing (most are: other gateways' payments, refunds,
subscriptions); an empty or unknown payload wakes the re-read as before. The re-read
returns only the rows that settled, so the gateway decodes only the rows it answers with.

Waiting requests are bounded per user (`GATEWAY_WAIT_MAX_PER_USER`) and in all
(`GATEWAY_WAIT_MAX_TOTAL`). Beyond either bound, or while the listening connection is down,
the request is answered at once with what is known (202, no `Preference-Applied`): RFC 7240
lets a server ignore a preference, and a client of `Prefer: wait` already handles the 202 it
gets when the wait runs out.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from typing import Any

import asyncpg

from gateway.database import UNAVAILABLE, Database
from gateway.errors import DatabaseUnavailable
from gateway.payments import is_settled
from gateway.repository import Record, settled_payments
from gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

RECONNECT_AFTER_S = 5.0


class PaymentWaiters:
    def __init__(self, settings: GatewaySettings, db: Database):
        self.settings = settings
        self.db = db
        self.listener: asyncpg.Connection | None = None
        self.waiting: dict[uuid.UUID, list[asyncio.Future[Record]]] = {}
        self.per_user: Counter[uuid.UUID] = Counter()
        self.wake = asyncio.Event()
        self.checker: asyncio.Task[None] | None = None
        self.last_attempt = -RECONNECT_AFTER_S
        self.connecting = asyncio.Lock()

    @property
    def total(self) -> int:
        return sum(self.per_user.values())

    async def start(self) -> None:
        """Listen now if PostgreSQL answers; otherwise on the first wait that asks."""
        self.checker = asyncio.create_task(self._check_on_wake())
        await self._listening()

    async def close(self) -> None:
        if self.checker is not None:
            self.checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.checker
        if self.listener is not None:
            await self.listener.close()

    async def wait(self, row: Record, seconds: int) -> Record:
        """The row once settled, or as it was when the wait ran out or could not start."""
        user_id = row["user_id"]
        if is_settled(row) or not self._has_room(user_id) or not await self._listening():
            return row
        future: asyncio.Future[Record] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(row["payment_id"], []).append(future)
        self.per_user[user_id] += 1
        self.wake.set()  # it may have settled before we listened
        try:
            return await asyncio.wait_for(future, seconds)
        except TimeoutError:
            return row
        finally:
            self._forget(row["payment_id"], user_id, future)

    def _has_room(self, user_id: uuid.UUID) -> bool:
        limits = self.settings
        return (
            self.per_user[user_id] < limits.gateway_wait_max_per_user
            and self.total < limits.gateway_wait_max_total
        )

    def _forget(self, payment_id: uuid.UUID, user_id: uuid.UUID, future: Any) -> None:
        futures = self.waiting.get(payment_id, [])
        if future in futures:
            futures.remove(future)
        if not futures:
            self.waiting.pop(payment_id, None)
        self.per_user[user_id] -= 1
        if self.per_user[user_id] <= 0:
            del self.per_user[user_id]

    async def _listening(self) -> bool:
        if self.listener is not None and not self.listener.is_closed():
            return True
        async with self.connecting:
            if self.listener is not None and not self.listener.is_closed():
                return True
            if time.monotonic() - self.last_attempt < RECONNECT_AFTER_S:
                return False
            self.last_attempt = time.monotonic()
            self.listener = await self._connect()
        return self.listener is not None

    async def _connect(self) -> asyncpg.Connection | None:
        try:
            conn = await asyncpg.connect(
                self.settings.database_url, timeout=self.settings.gateway_db_timeout_s
            )
            await conn.add_listener(self.settings.gateway_wait_channel, self._notified)
        except (*UNAVAILABLE, asyncpg.PostgresError) as exc:
            log.warning("Prefer: wait is off until PostgreSQL answers: %s", exc)
            return None
        return conn

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        """Wake for a payment being waited for, or for any payment when the payload does not
        name payments (empty, or not a comma-separated list of ids)."""
        try:
            about = [uuid.UUID(part) for part in payload.split(",")]
        except ValueError:
            self.wake.set()
            return
        if any(payment_id in self.waiting for payment_id in about):
            self.wake.set()

    async def _check_on_wake(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            if self.waiting:
                await self._resolve_settled()

    async def _resolve_settled(self) -> None:
        try:
            async with self.db.connection() as conn:
                rows = await settled_payments(conn, list(self.waiting))
        except (DatabaseUnavailable, asyncpg.PostgresError) as exc:
            # The waits run out and answer 202 with what they had: nothing is lost.
            log.warning("Prefer: wait could not re-read the payments: %s", exc)
            return
        for row in rows:
            if is_settled(row):
                for future in self.waiting.get(row["payment_id"], []):
                    if not future.done():
                        future.set_result(row)
