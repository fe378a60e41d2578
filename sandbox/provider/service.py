"""The provider's operations: what happens to the ledger for each API call.

Each mutating operation is one SQLite transaction that covers the idempotence key, the
payment/refund rows and the webhook outbox; it commits before the caller answers.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiosqlite

from sandbox.clock import now_iso
from sandbox.faults import FaultInjector
from sandbox.provider import commands, store, webhooks
from sandbox.provider.domain import Payment, Refund, YooKassaStatus, money
from sandbox.provider.errors import IdempotenceKeyReused, InvalidRequest, NotFound
from sandbox.provider.faults import ProviderFaults
from sandbox.provider.settings import ProviderSettings
from sandbox.provider.wire import payment_object, refund_object
from sandbox.sqlite import Database

EVENTS = {
    YooKassaStatus.SUCCEEDED: "payment.succeeded",
    YooKassaStatus.CANCELED: "payment.canceled",
}


@dataclass
class ProviderService:
    db: Database
    settings: ProviderSettings
    faults: FaultInjector[ProviderFaults]
    dispatcher: webhooks.WebhookDispatcher

    async def create_payment(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        command = commands.create_payment(body)
        fingerprint = commands.fingerprint("payment", body)
        async with self.db.transaction() as conn:
            existing = await self._replay(conn, key, fingerprint)
            if existing is not None:
                return await self._payment_wire(conn, existing)
            payment = _new_payment(key, command)
            await store.insert_payment(conn, payment)
            await store.remember_key(conn, key, fingerprint, "payment", payment.id)
        return payment_object(payment, self.settings)

    async def get_payment(self, payment_id: str) -> dict[str, Any]:
        async with self.db.reading() as conn:
            return await self._payment_wire(conn, payment_id)

    async def confirm_payment(self, payment_id: str, card_number: str) -> dict[str, Any]:
        """The payment page and ``/sandbox/payments/{id}/confirm`` both land here."""
        async with self.db.transaction() as conn:
            payment = await _load_payment(conn, payment_id)
            if payment.confirm(card_number):
                await store.update_payment(conn, payment)
                wire = payment_object(payment, self.settings)
                await webhooks.enqueue(conn, self.faults, EVENTS[payment.status], wire)
        self.dispatcher.wake()
        return payment_object(payment, self.settings)

    async def create_refund(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        command = commands.create_refund(body)
        fingerprint = commands.fingerprint("refund", body)
        async with self.db.transaction() as conn:
            existing = await self._replay(conn, key, fingerprint)
            if existing is not None:
                return refund_object(await _load_refund(conn, existing))
            refund = await self._refund(conn, key, command)
            await store.remember_key(conn, key, fingerprint, "refund", refund.id)
            await webhooks.enqueue(conn, self.faults, "refund.succeeded", refund_object(refund))
        self.dispatcher.wake()
        return refund_object(refund)

    async def get_refund(self, refund_id: str) -> dict[str, Any]:
        async with self.db.reading() as conn:
            return refund_object(await _load_refund(conn, refund_id))

    async def ledger(self) -> dict[str, Any]:
        async with self.db.reading() as conn:
            payments = await store.all_payments(conn)
            refunds = await store.all_refunds(conn)
        captured = [p.amount for p in payments if p.status is YooKassaStatus.SUCCEEDED]
        return {
            "payments": [_ledger_payment(p) for p in payments],
            "refunds": [_ledger_refund(r) for r in refunds],
            "captured_total": str(sum(captured, Decimal("0.00"))),
            "refunded_total": str(sum((r.amount for r in refunds), Decimal("0.00"))),
        }

    async def _replay(self, conn: aiosqlite.Connection, key: str, fingerprint: str) -> str | None:
        found = await store.find_key(conn, key, time.time())
        if found is None:
            return None
        if found[0] != fingerprint:
            raise IdempotenceKeyReused()
        return found[2]

    async def _refund(
        self, conn: aiosqlite.Connection, key: str, command: commands.CreateRefund
    ) -> Refund:
        payment = await store.get_payment(conn, command.payment_id)
        if payment is None:
            raise InvalidRequest(
                f"Payment {command.payment_id} doesn't exist or access denied", "payment_id"
            )
        payment.take_refund(command.amount, command.currency)
        await store.update_payment(conn, payment)
        refund = Refund(
            id=str(uuid.uuid4()),
            payment_id=payment.id,
            idempotence_key=key,
            amount=command.amount,
            currency=command.currency,
            created_at=now_iso(),
            description=command.description,
            metadata=command.metadata,
        )
        await store.insert_refund(conn, refund)
        return refund

    async def _payment_wire(self, conn: aiosqlite.Connection, payment_id: str) -> dict[str, Any]:
        return payment_object(await _load_payment(conn, payment_id), self.settings)


def _new_payment(key: str, command: commands.CreatePayment) -> Payment:
    return Payment(
        id=str(uuid.uuid4()),
        idempotence_key=key,
        status=YooKassaStatus.PENDING,
        amount=command.amount,
        currency=command.currency,
        created_at=now_iso(),
        return_url=command.return_url,
        description=command.description,
        metadata=command.metadata,
    )


async def _load_payment(conn: aiosqlite.Connection, payment_id: str) -> Payment:
    payment = await store.get_payment(conn, payment_id)
    if payment is None:
        raise NotFound("Payment not found or forbidden", parameter="payment_id")
    return payment


async def _load_refund(conn: aiosqlite.Connection, refund_id: str) -> Refund:
    refund = await store.get_refund(conn, refund_id)
    if refund is None:
        raise NotFound("Refund not found or forbidden", parameter="refund_id")
    return refund


def _ledger_payment(p: Payment) -> dict[str, Any]:
    return {
        "id": p.id,
        "status": str(p.status),
        "amount": money(p.amount, p.currency),
        "refunded_amount": money(p.refunded, p.currency),
        "metadata": p.metadata,
        "idempotence_key": p.idempotence_key,
        "created_at": p.created_at,
        "captured_at": p.captured_at,
    }


def _ledger_refund(r: Refund) -> dict[str, Any]:
    return {
        "id": r.id,
        "payment_id": r.payment_id,
        "status": r.status,
        "amount": money(r.amount, r.currency),
        "metadata": r.metadata,
        "idempotence_key": r.idempotence_key,
        "created_at": r.created_at,
    }
