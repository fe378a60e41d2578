"""Accepting a refund: advisory checks under the payment's row lock, then the command.

The checks are what the gateway can see (the payment's refunded_amount and the refunds
still `accepted`); the processor re-checks authoritatively under its own row lock before
it asks the provider. Locking the payment row here serialises concurrent refund requests
for one payment across gateway instances, so two of them cannot both take the last rouble;
the key is looked up again under that lock, so a same-key twin answers with the refund its
twin created instead of counting that refund's reservation against itself.
"""

import uuid
from decimal import Decimal

import asyncpg

from gateway.deps import Services
from gateway.errors import (
    DatabaseUnavailable,
    IdempotencyKeyReused,
    NotFound,
    NothingToRefund,
    PaymentNotRefundable,
    RefundExceedsPayment,
)
from gateway.models import fingerprint
from gateway.repository import (
    NewRefund,
    Record,
    insert_refund,
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
    svc: Services, user_id: uuid.UUID, key: str, payment_id: uuid.UUID, amount: Decimal | None
) -> Record:
    fp = refund_fingerprint(payment_id, amount)
    row = await _stored_refund(svc, user_id, key, payment_id, amount, fp)
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
    amount: Decimal | None,
    fp: str,
) -> Record:
    async with svc.db.connection() as conn:
        row = await refund_by_key(conn, user_id, key)
        if row is not None:
            return row
        async with conn.transaction():
            payment = await user_payment(conn, user_id, payment_id, lock=True)
            # A twin with this key may have committed while we waited for the lock: its
            # refund is ours, and its reservation must not be counted against us.
            row = await refund_by_key(conn, user_id, key)
            if row is None:
                granted = await _refundable(conn, payment, amount)
                await insert_refund(conn, _new_refund(user_id, key, payment, granted, fp))
                row = await refund_by_key(conn, user_id, key)
    if row is None:
        raise DatabaseUnavailable("the refund row vanished; retry")
    return row


async def _refundable(
    conn: asyncpg.Connection, payment: Record | None, amount: Decimal | None
) -> Decimal:
    """The amount to refund: the one asked for, or all that is left; raises if impossible."""
    if payment is None:
        raise NotFound("no such payment")
    if payment["status"] != "succeeded":
        raise PaymentNotRefundable()
    reserved = await reserved_by_accepted_refunds(conn, payment["payment_id"])
    available = payment["amount"] - payment["refunded_amount"] - reserved
    if available <= 0:
        raise NothingToRefund()
    if amount is None:
        return available
    if amount > available:
        raise RefundExceedsPayment(f"at most {available:.2f} is left to refund")
    return amount


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
