"""Time-driven provider work: unpaid payments expire, pending refunds settle.

One background task wakes every ``PROVIDER_SWEEP_INTERVAL_S``, picks what is due through
partial indexes (so an idle sweep costs two index probes) and applies each change in its own
transaction together with its webhook, like every other state change. Nothing is lost by a
crash: due rows are still due after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sandbox.provider import records
from sandbox.provider.domain import Refund, RefundStatus
from sandbox.provider.errors import InvalidRequest, NotFound
from sandbox.provider.service import ProviderService, load_refund
from sandbox.provider.wire import refund_object
from sandbox.sqlite import Connection

log = logging.getLogger(__name__)
BATCH = 100


class Sweeper:
    def __init__(self, service: ProviderService) -> None:
        self._service = service

    async def run(self) -> None:
        interval = self._service.settings.provider_sweep_interval_s
        while True:
            try:
                busy = await self.sweep_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep sweeping; what is due stays due
                log.exception("sweep failed")
                busy = False
            if not busy:
                await asyncio.sleep(interval)

    async def sweep_once(self) -> bool:
        """Expire and settle one batch of what is due; True if there was anything."""
        service, now = self._service, time.time()
        async with service.db.reading() as conn:  # an idle sweep takes no write transaction
            if not await records.anything_due(conn, now):
                return False
        async with service.db.transaction() as conn:
            payments = await records.due_payments(conn, now, BATCH)
            for payment in payments:
                if payment.expire(now):
                    await records.update_payment(conn, payment)
                    await service.announce_payment(conn, payment)
            refunds = await records.due_refunds(conn, now, BATCH)
            for refund in refunds:
                await self._settle(conn, refund, refund.planned, None)
        if payments or refunds:
            service.dispatcher.wake()
        return len(payments) == BATCH or len(refunds) == BATCH

    async def expire_now(self, payment_id: str) -> dict[str, Any]:
        """``POST /sandbox/payments/{id}/expire``: its deadline is now; the sweep does the rest."""
        async with self._service.db.transaction() as conn:
            payment = await records.get_payment(conn, payment_id)
            if payment is None:
                raise NotFound("Payment not found", parameter="payment_id")
            if payment.expires_at is None:
                raise InvalidRequest(f"Payment {payment_id} is {payment.status}", "payment_id")
            payment.expires_at = time.time()
            await records.update_payment(conn, payment)
        await self.sweep_once()
        return await self._service.get_payment(payment_id)

    async def settle_refund(
        self, refund_id: str, status: RefundStatus, reason: str | None
    ) -> dict[str, Any]:
        """``POST /sandbox/refunds/{id}/settle``: settle a pending refund now."""
        async with self._service.db.transaction() as conn:
            refund = await load_refund(conn, refund_id)
            if refund.status is not RefundStatus.PENDING:
                raise InvalidRequest(f"Refund {refund_id} is {refund.status}", "refund_id")
            await self._settle(conn, refund, status, reason)
        self._service.dispatcher.wake()
        return refund_object(refund)

    async def _settle(
        self, conn: Connection, refund: Refund, status: RefundStatus, reason: str | None
    ) -> None:
        service = self._service
        payment = await records.get_payment(conn, refund.payment_id)
        if payment is None or not refund.settle(status, reason, service.timing):
            return
        payment.settle_refund(refund.amount, status is RefundStatus.SUCCEEDED)
        await records.update_payment(conn, payment)
        await records.update_refund(conn, refund)
        await service.announce_refund(conn, refund)
