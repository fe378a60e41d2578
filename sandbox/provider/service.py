"""The provider's operations: what happens to the ledger for each ``/v3/`` call.

Each mutating operation is one SQLite transaction that covers the idempotence key, the
payment/refund rows and the webhook outbox; it commits before the caller answers. An
``Idempotence-Key`` is shop-wide and remembered 24 h with a fingerprint of the request
(its kind, its target and its body): the same request replays the object's current state,
another request under the same key is refused.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from sandbox.clock import now_iso
from sandbox.faults import FaultInjector
from sandbox.provider import commands, methods, records, store, webhooks
from sandbox.provider.domain import Payment, Refund, RefundStatus, Timing, YooKassaStatus
from sandbox.provider.errors import IdempotenceKeyReused, InvalidRequest, NotFound
from sandbox.provider.faults import ProviderFaults
from sandbox.provider.methods import SavedMethod
from sandbox.provider.receipts import check_receipt
from sandbox.provider.settings import ProviderSettings
from sandbox.provider.wire import payment_object, refund_object
from sandbox.sqlite import Connection, Database

PAYMENT_EVENTS = {
    YooKassaStatus.WAITING_FOR_CAPTURE: "payment.waiting_for_capture",
    YooKassaStatus.SUCCEEDED: "payment.succeeded",
    YooKassaStatus.CANCELED: "payment.canceled",
}
REFUND_EVENTS = {
    RefundStatus.SUCCEEDED: "refund.succeeded",
    RefundStatus.CANCELED: "refund.canceled",
}


@dataclass
class ProviderService:
    db: Database
    settings: ProviderSettings
    faults: FaultInjector[ProviderFaults]
    dispatcher: webhooks.WebhookDispatcher

    @property
    def timing(self) -> Timing:
        return Timing(
            self.settings.provider_capture_expiry_s, self.settings.provider_receipt_delay_s
        )

    async def create_payment(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        command = commands.create_payment(body, self.settings.provider_receipts_required)
        fingerprint = commands.fingerprint("payment", body)
        async with self.db.transaction() as conn:
            existing = await self._replay(conn, key, fingerprint)
            if existing is not None:
                return await self._payment_wire(conn, existing)
            payment = self._new_payment(key, command)
            if command.payment_method_id is not None:
                await self._charge_saved_method(conn, payment, command.payment_method_id)
            await records.insert_payment(conn, payment)
            await store.remember_key(conn, key, fingerprint, "payment", payment.id)
            await self.announce_payment(conn, payment)
        self.dispatcher.wake()
        return payment_object(payment, self.settings)

    async def get_payment(self, payment_id: str) -> dict[str, Any]:
        async with self.db.reading() as conn:
            return await self._payment_wire(conn, payment_id)

    async def confirm_payment(self, payment_id: str, card_number: str) -> dict[str, Any]:
        """The payment page and ``/sandbox/payments/{id}/confirm`` both land here."""
        async with self.db.transaction() as conn:
            payment = await _load_payment(conn, payment_id)
            card = payment.confirm(card_number, self.timing)
            if card is not None:
                await records.update_payment(conn, payment)
                if payment.payment_method_id == payment.id:  # saved by this very payment
                    method = SavedMethod(payment.id, card.number, now_iso())
                    await methods.insert(conn, method)
                await self.announce_payment(conn, payment)
        self.dispatcher.wake()
        return payment_object(payment, self.settings)

    async def capture_payment(
        self, key: str, payment_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        command = commands.capture_payment(body)
        fingerprint = commands.fingerprint(f"capture {payment_id}", body)
        async with self.db.transaction() as conn:
            existing = await self._replay(conn, key, fingerprint)
            if existing is None:
                payment = await _load_payment(conn, payment_id)
                self._capture(payment, command)
                await self._save_decision(conn, key, fingerprint, payment)
        self.dispatcher.wake()
        return await self.get_payment(payment_id)

    async def cancel_payment(self, key: str, payment_id: str) -> dict[str, Any]:
        fingerprint = commands.fingerprint(f"cancel {payment_id}", {})
        async with self.db.transaction() as conn:
            existing = await self._replay(conn, key, fingerprint)
            if existing is None:
                payment = await _load_payment(conn, payment_id)
                payment.cancel_by_merchant()
                await self._save_decision(conn, key, fingerprint, payment)
        self.dispatcher.wake()
        return await self.get_payment(payment_id)

    async def create_refund(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        command = commands.create_refund(body, self.settings.provider_receipts_required)
        fingerprint = commands.fingerprint("refund", body)
        async with self.db.transaction() as conn:
            existing = await self._replay(conn, key, fingerprint)
            if existing is not None:
                return refund_object(await load_refund(conn, existing))
            refund = await self._refund(conn, key, command)
            await store.remember_key(conn, key, fingerprint, "refund", refund.id)
            await self.announce_refund(conn, refund)
        self.dispatcher.wake()
        return refund_object(refund)

    async def get_refund(self, refund_id: str) -> dict[str, Any]:
        async with self.db.reading() as conn:
            return refund_object(await load_refund(conn, refund_id))

    async def announce_payment(self, conn: Connection, payment: Payment) -> None:
        """Queue the webhook of a payment that has just changed status (same transaction)."""
        event = PAYMENT_EVENTS.get(payment.status)
        if event is not None:
            wire = payment_object(payment, self.settings)
            await webhooks.enqueue(conn, self.faults, event, wire)

    async def announce_refund(self, conn: Connection, refund: Refund) -> None:
        event = REFUND_EVENTS.get(refund.status)
        if event is not None:
            await webhooks.enqueue(conn, self.faults, event, refund_object(refund))

    def _capture(self, payment: Payment, command: commands.CapturePayment) -> None:
        if command.currency is not None and command.currency != payment.currency:
            raise InvalidRequest("Capture currency differs from payment", "amount.currency")
        amount = payment.amount if command.amount is None else command.amount
        needs_new = amount != payment.amount and payment.receipt is not None
        required = self.settings.provider_receipts_required or needs_new
        receipt = check_receipt(command.receipt, amount, payment.currency, required)
        payment.capture_funds(amount, receipt, self.timing)

    async def _save_decision(
        self, conn: Connection, key: str, fingerprint: str, payment: Payment
    ) -> None:
        await records.update_payment(conn, payment)
        await store.remember_key(conn, key, fingerprint, "payment", payment.id)
        await self.announce_payment(conn, payment)

    async def _replay(self, conn: Connection, key: str, fingerprint: str) -> str | None:
        found = await store.find_key(conn, key, time.time())
        if found is None:
            return None
        if found[0] != fingerprint:
            raise IdempotenceKeyReused()
        return found[2]

    async def _refund(self, conn: Connection, key: str, command: commands.CreateRefund) -> Refund:
        payment = await records.get_payment(conn, command.payment_id)
        if payment is None:
            raise InvalidRequest(
                f"Payment {command.payment_id} doesn't exist or access denied", "payment_id"
            )
        pending = self.faults.roll(self.faults.config.refund_pending_rate)
        payment.take_refund(command.amount, command.currency, pending)
        await records.update_payment(conn, payment)
        refund = Refund(
            id=str(uuid.uuid4()),
            payment_id=payment.id,
            idempotence_key=key,
            amount=command.amount,
            currency=command.currency,
            created_at=now_iso(),
            description=command.description,
            metadata=command.metadata,
            receipt=command.receipt,
        )
        self._schedule(refund, pending)
        await records.insert_refund(conn, refund)
        return refund

    def _schedule(self, refund: Refund, pending: bool) -> None:
        """A pending refund settles later, on its own, as decided now (seeded faults)."""
        if pending:
            refund.status = RefundStatus.PENDING
            refund.settle_at = time.time() + self.settings.provider_refund_settle_s
            if self.faults.roll(self.faults.config.refund_canceled_rate):
                refund.planned = RefundStatus.CANCELED
        elif refund.receipt is not None:
            refund.receipt_registered_at = time.time() + self.settings.provider_receipt_delay_s

    def _new_payment(self, key: str, command: commands.CreatePayment) -> Payment:
        payment = Payment(
            id=str(uuid.uuid4()),
            idempotence_key=key,
            status=YooKassaStatus.PENDING,
            amount=command.amount,
            currency=command.currency,
            created_at=now_iso(),
            return_url=command.return_url,
            description=command.description,
            metadata=command.metadata,
            save_payment_method=command.save_payment_method,
            capture=command.capture,
            receipt=command.receipt,
        )
        if payment.has_confirmation:
            payment.expires_at = time.time() + self.settings.provider_pending_expiry_s
        return payment

    async def _charge_saved_method(
        self, conn: Connection, payment: Payment, method_id: str
    ) -> None:
        """An autopayment settles at once: the saved card (or its script) decides."""
        method = await methods.get(conn, method_id)
        if method is None:
            raise InvalidRequest(
                f"Payment method {method_id} doesn't exist or can't be used", "payment_method_id"
            )
        payment.payment_method_id = method.id
        payment.charge(method.card, method.next_decline(), self.timing)
        await methods.update(conn, method)

    async def _payment_wire(self, conn: Connection, payment_id: str) -> dict[str, Any]:
        return payment_object(await _load_payment(conn, payment_id), self.settings)


async def _load_payment(conn: Connection, payment_id: str) -> Payment:
    payment = await records.get_payment(conn, payment_id)
    if payment is None:
        raise NotFound("Payment not found or forbidden", parameter="payment_id")
    return payment


async def load_refund(conn: Connection, refund_id: str) -> Refund:
    refund = await records.get_refund(conn, refund_id)
    if refund is None:
        raise NotFound("Refund not found or forbidden", parameter="refund_id")
    return refund
