"""Events about our rows, each with its one deterministic message_id (`schemas.ids`)."""

from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.payments import PaymentStatus
from processors.repository import PaymentRow, RefundRow
from schemas import ids
from schemas.messages import (
    Envelope,
    PaymentCanceled,
    PaymentFailed,
    PaymentPending,
    PaymentSucceeded,
    RefundFailed,
    RefundSucceeded,
)


def payment_event(row: PaymentRow) -> Envelope | None:
    """The event announcing `row`'s current status (None for `accepted`)."""
    common: dict[str, Any] = {
        "payment_id": row.id,
        "user_id": row.user_id,
        "plan_id": row.plan_id,
        "amount": row.amount,
        "currency": row.currency,
    }
    status = row.status
    if status is PaymentStatus.PENDING and row.external_id is not None:
        return PaymentPending(
            message_id=_id("PaymentPending", row.id),
            external_id=row.external_id,
            confirmation_url=row.confirmation_url or "",
            **common,
        )
    if status is PaymentStatus.SUCCEEDED and row.external_id is not None:
        return PaymentSucceeded(
            message_id=_id("PaymentSucceeded", row.id), external_id=row.external_id, **common
        )
    if status is PaymentStatus.CANCELED:
        return PaymentCanceled(
            message_id=_id("PaymentCanceled", row.id), reason=row.failure_reason or "", **common
        )
    if status is PaymentStatus.FAILED:
        return PaymentFailed(
            message_id=_id("PaymentFailed", row.id), reason=row.failure_reason or "", **common
        )
    return None


def refund_succeeded(
    refund: RefundRow, external_id: UUID, refunded_amount: Decimal, refunded: bool
) -> RefundSucceeded:
    return RefundSucceeded(
        message_id=_id("RefundSucceeded", refund.id),
        refund_id=refund.id,
        payment_id=refund.payment_id,
        user_id=refund.user_id,
        amount=refund.amount,
        currency=refund.currency,
        external_id=external_id,
        payment_refunded_amount=refunded_amount,
        payment_refunded=refunded,
    )


def refund_failed(refund: RefundRow, reason: str) -> RefundFailed:
    return RefundFailed(
        message_id=_id("RefundFailed", refund.id),
        refund_id=refund.id,
        payment_id=refund.payment_id,
        user_id=refund.user_id,
        amount=refund.amount,
        currency=refund.currency,
        reason=reason,
    )


def _id(type_: str, subject: UUID) -> UUID:
    return ids.message_id(type_, subject)
