"""Accepting a user's refund: the policy's amount under the payment's row lock, then the command.

The amount is `domain.refund_policy` applied to the period that payment bought (CONTRACT §2);
the refund ends that period when it succeeds (`processors.subscriptions.lifecycle`).

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

from common import logs
from domain import commands, refunds
from domain.errors import NothingLeftToRefund, PaymentNotSucceeded, RefundExceedsAvailable
from domain.refund_policy import PaidPeriod, RefundPolicy, refund_amount
from domain.refunds import RefundStatus
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
    paid_period,
    refund_by_key,
    reserved_by_accepted_refunds,
    user_payment,
    user_refund,
)
from schemas import ids
from schemas.messages import RefundPayment


def refund_fingerprint(payment_id: uuid.UUID, amount: Decimal | None) -> str:
    return fingerprint(
        {"payment_id": str(payment_id), "amount": None if amount is None else f"{amount:.2f}"}
    )


async def accept_refund(
    svc: Services, user_id: uuid.UUID, key: str, payment_id: uuid.UUID
) -> tuple[Record, bool]:
    """The user's refund: the amount is the refund policy's, and it ends the paid time.
    Returns the refund row and whether it is a replay (the key named an existing refund)."""
    fp = refund_fingerprint(payment_id, None)
    row, replayed = await _stored_refund(svc, user_id, key, payment_id, fp)
    if row["request_fingerprint"] != fp:
        raise IdempotencyKeyReused()
    if row["status"] == RefundStatus.ACCEPTED:
        await svc.publisher.publish(
            svc.settings.commands_topic, user_id, refund_command(row), logs.kafka_headers()
        )
        svc.metrics.produced.labels(svc.settings.commands_topic, "RefundPayment").inc()
    return row, replayed


async def _stored_refund(
    svc: Services,
    user_id: uuid.UUID,
    key: str,
    payment_id: uuid.UUID,
    fp: str,
) -> tuple[Record, bool]:
    """Like payments: by key, else by the id the key derives (its text may have expired)."""
    async with svc.db.connection() as conn:
        row = await refund_by_key(conn, user_id, key)
        row = row or await user_refund(conn, user_id, ids.refund_id(user_id, key))
        if row is not None:
            return row, True
        async with conn.transaction():
            payment = await user_payment(conn, user_id, payment_id, lock=True)
            # A twin with this key may have committed while we waited for the lock: its
            # refund is ours, and its reservation must not be counted against us.
            row = await refund_by_key(conn, user_id, key)
            created = False
            if row is None:
                granted = await _refundable(conn, payment, svc.settings.refund_policy())
                new = _new_refund(user_id, key, payment, granted, fp)
                created = await insert_refund(conn, new)
                row = await user_refund(conn, user_id, new.refund_id)
    if row is None:
        raise DatabaseUnavailable("the refund row vanished; retry")
    return row, not created


async def _refundable(
    conn: asyncpg.Connection, payment: Record | None, policy: RefundPolicy
) -> Decimal:
    """What the refund policy gives back for this payment now; raises if nothing."""
    if payment is None:
        raise NotFound("no such payment")
    held = await reserved_by_accepted_refunds(conn, payment["payment_id"])
    left = refunds.available(payment["amount"], payment["refunded_amount"], [held])
    try:
        refunds.grant(payment["status"], None, left)  # succeeded, and something is left
        period = await paid_period(conn, payment["payment_id"])
        now = await conn.fetchval("SELECT now()")
        start, end = period if period is not None else (now, now)  # no period: all that is left
        paid = PaidPeriod(payment["amount"], payment["amount"] - left, start, end)
        due = refund_amount(policy, paid, now)
        if due <= 0:
            raise NothingToRefund("the refund policy gives nothing back for this payment now")
        return refunds.grant(payment["status"], due, left)
    except PaymentNotSucceeded as exc:
        raise PaymentNotRefundable() from exc
    except NothingLeftToRefund as exc:
        raise NothingToRefund() from exc
    except RefundExceedsAvailable as exc:
        raise RefundExceedsPayment(f"at most {left:.2f} is left to refund") from exc


def _new_refund(
    user_id: uuid.UUID, key: str, payment: Record, amount: Decimal, fp: str
) -> NewRefund:
    return NewRefund(
        refund_id=ids.refund_id(user_id, key),
        payment_id=payment["payment_id"],
        user_id=user_id,
        amount=amount,
        currency=payment["currency"],
        idempotency_key=key,
        fingerprint=fp,
        request_id=logs.current_request_id(),
    )


def refund_command(row: Record) -> RefundPayment:
    return commands.refund_payment(
        refund_id=row["refund_id"],
        payment_id=row["payment_id"],
        user_id=row["user_id"],
        amount=row["amount"],
        currency=row["currency"],
        requested_by=row["requested_by"],
    )
