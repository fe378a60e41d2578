"""Read-only views: YooKassa's list calls and the sandbox's ledger (the ground truth)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sandbox.provider import listing, records
from sandbox.provider.domain import Payment, Refund, RefundStatus, YooKassaStatus, money
from sandbox.provider.settings import ProviderSettings
from sandbox.provider.wire import payment_object, refund_object
from sandbox.sqlite import Database


async def list_payments(
    db: Database, settings: ProviderSettings, params: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    query = listing.payments_query(params)
    async with db.reading() as conn:
        rows, cursor = await listing.page(conn, query)
    items = [payment_object(records.payment_from_row(row), settings) for row in rows]
    return listing.list_object(items, cursor)


async def list_refunds(db: Database, params: Sequence[tuple[str, str]]) -> dict[str, Any]:
    query = listing.refunds_query(params)
    async with db.reading() as conn:
        rows, cursor = await listing.page(conn, query)
    return listing.list_object([refund_object(records.refund_from_row(r)) for r in rows], cursor)


async def ledger(db: Database, user_id: str | None = None) -> dict[str, Any]:
    """Every payment and refund ever made (or only one user's: ``metadata.user_id``, and the
    refunds of those payments); totals count only money that really moved."""
    async with db.reading() as conn:
        payments = await records.all_payments(conn, user_id)
        refunds = await records.all_refunds(conn, user_id)
    captured = [p.amount for p in payments if p.status is YooKassaStatus.SUCCEEDED]
    refunded = [r.amount for r in refunds if r.status is RefundStatus.SUCCEEDED]
    return {
        "payments": [_ledger_payment(p) for p in payments],
        "refunds": [_ledger_refund(r) for r in refunds],
        "captured_total": str(sum(captured, Decimal("0.00"))),
        "refunded_total": str(sum(refunded, Decimal("0.00"))),
    }


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
        "payment_method_id": p.payment_method_id,
        "autopayment": not p.has_confirmation,
        "cancellation_reason": p.cancellation_reason,
        "receipt": p.receipt,
    }


def _ledger_refund(r: Refund) -> dict[str, Any]:
    return {
        "id": r.id,
        "payment_id": r.payment_id,
        "status": str(r.status),
        "amount": money(r.amount, r.currency),
        "metadata": r.metadata,
        "idempotence_key": r.idempotence_key,
        "created_at": r.created_at,
        "receipt": r.receipt,
    }
