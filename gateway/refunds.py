"""Accepting a user's refund: the policy's amount under the payment's row lock, then the command.

The amount is `domain.refund_policy` applied to the period that payment bought (CONTRACT §2);
the refund ends that period when it succeeds (`processors.subscriptions.lifecycle`).

The checks are what the gateway can see (the payment's refunded_amount and the refunds
still `accepted`); the processor re-checks authoritatively under its own row lock before
it asks the provider. Locking the payment row here serialises concurrent refund requests
for one payment across gateway instances, so two of them cannot both take the last rouble.
"""

import uuid
from decimal import Decimal

import asyncpg

from domain.refund_policy import PaidPeriod, RefundPolicy, refund_amount
from gateway.deps import Services
from gateway.errors import (
    DatabaseUnavailable,
    IdempotencyKeyReused,
    NotFound,
    NothingToRefund,
    PaymentNotRefundable,
)
from gateway.models import fingerprint
from gateway.repository import (
    NewRefund,
    Record,
    insert_refund,
    paid_period,
    refund_by_key,
    reserved_by_accepted_refunds,
    user_payment,
)
from schemas import ids
from schemas.messages import RefundPayment


def refund_fingerprint(payment_id: uuid.UUID, amount: Decimal | None) -> str:
    return fingerprint(
        {"payment_id": str(payment_id), "amount": None if amount is None else f"{amount:.2f}"}
    )


async def accept_refund(
    svc: Services, user_id: uuid.UUID, key: str, payment_id: uuid.UUID
) -> Record:
    """The user's refund: the amount is the refund policy's, and it ends the paid time."""
    fp = refund_fingerprint(payment_id, None)
    row = await _stored_refund(svc, user_id, key, payment_id, fp)
    if row["request_fingerprint"] != fp:
        raise IdempotencyKeyReused()
    if row["status"] == "accepted":
        await svc.publisher.publish(svc.settings.commands_topic, user_id, refund_command(row))
        svc.metrics.produced.labels(svc.settings.commands_topic, "RefundPayment").inc()
    return row


async def _stored_refund(
    svc: Services,
    user_id: uuid.UUID,
    key: str,
    payment_id: uuid.UUID,
    fp: str,
) -> Record:
    async with svc.db.connection() as conn:
        row = await refund_by_key(conn, user_id, key)
        if row is not None:
            return row
        async with conn.transaction():
            payment = await user_payment(conn, user_id, payment_id, lock=True)
            granted = await _refundable(conn, payment, svc.settings.refund_policy())
            await insert_refund(conn, _new_refund(user_id, key, payment, granted, fp))
            row = await refund_by_key(conn, user_id, key)
    if row is None:
        raise DatabaseUnavailable("the refund row vanished; retry")
    return row


async def _refundable(
    conn: asyncpg.Connection, payment: Record | None, policy: RefundPolicy
) -> Decimal:
    """What the refund policy gives back for this payment now; raises if nothing."""
    if payment is None:
        raise NotFound("no such payment")
    if payment["status"] != "succeeded":
        raise PaymentNotRefundable()
    reserved = await reserved_by_accepted_refunds(conn, payment["payment_id"])
    taken = payment["refunded_amount"] + reserved
    if payment["amount"] - taken <= 0:
        raise NothingToRefund()
    period = await paid_period(conn, payment["payment_id"])
    now = await conn.fetchval("SELECT now()")
    start, end = period if period is not None else (now, now)  # no period: all that is left
    due = refund_amount(policy, PaidPeriod(payment["amount"], taken, start, end), now)
    if due <= 0:
        raise NothingToRefund("the refund policy gives nothing back for this payment now")
    return due


def _new_refund(
    user_id: uuid.UUID, key: str, payment: Record, amount: Decimal, fp: str
) -> NewRefund:
    return NewRefund(
        refund_id=ids.refund_id(user_id, key),
        payment_id=payment["payment_id"],
        user_id=user_id,
        amount=amount,
        currency=payment["currency"].strip(),
        idempotency_key=key,
        fingerprint=fp,
    )


def refund_command(row: Record) -> RefundPayment:
    return RefundPayment(
        message_id=ids.message_id("RefundPayment", row["refund_id"]),
        refund_id=row["refund_id"],
        payment_id=row["payment_id"],
        user_id=row["user_id"],
        amount=row["amount"],
        currency=row["currency"].strip(),
        requested_by=row["requested_by"],
    )
