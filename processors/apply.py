"""Apply what the provider says about a payment or refund to our rows: one shared code path
for the webhooks processor, the reconciler and the commands processor.

The provider object is the truth about money, but only for the payment it names: its
metadata must carry our payment_id, its id must match the external_id we already know (if
any), and its amount and currency must be ours. Anything else is an anomaly: logged, nothing
changed.
"""

import logging
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import asyncpg

from common import outbox
from processors import events, repository
from processors.domain import PaymentStatus, RefundStatus
from processors.provider.yookassa import cancellation_reason, payment_status, refund_status
from processors.repository import PaymentChange, PaymentRow, RefundRow

log = logging.getLogger(__name__)


def our_payment_id(obj: dict[str, Any]) -> UUID | None:
    try:
        return UUID(str((obj.get("metadata") or {}).get("payment_id")))
    except ValueError:
        return None


def external_uuid(obj: dict[str, Any]) -> UUID | None:
    try:
        return UUID(str(obj.get("id")))
    except ValueError:
        return None


def anomaly(row: PaymentRow, obj: dict[str, Any]) -> str | None:
    """Why `obj` must not be applied to `row`, or None when it belongs to it."""
    if our_payment_id(obj) != row.id:
        return "metadata.payment_id is not ours"
    external_id = external_uuid(obj)
    if external_id is None or row.external_id not in (None, external_id):
        return f"provider id {obj.get('id')!r} differs from ours {row.external_id}"
    amount = obj.get("amount") or {}
    try:
        same = Decimal(str(amount.get("value"))) == row.amount
    except InvalidOperation:
        same = False
    if not same or amount.get("currency") != row.currency:
        return f"amount {amount} differs from ours {row.amount} {row.currency}"
    return None


def change_for(obj: dict[str, Any]) -> PaymentChange:
    status = payment_status(obj)
    confirmation = obj.get("confirmation") or {}
    reason = cancellation_reason(obj) if status is PaymentStatus.CANCELED else None
    return PaymentChange(
        status=status,
        external_id=external_uuid(obj),
        external_payment=obj,
        confirmation_url=confirmation.get("confirmation_url"),
        failure_reason=reason,
    )


async def apply_payment(
    conn: asyncpg.Connection,
    row: PaymentRow,
    obj: dict[str, Any],
    *,
    topic: str,
    recheck_after_s: float,
) -> PaymentRow | None:
    """Move `row` to the provider's status (guarded) and queue its event; None if no change."""
    problem = anomaly(row, obj)
    if problem is not None:
        log.error("payment %s: provider object not applied: %s", row.id, problem)
        return None
    change = change_for(obj)
    if change.status is row.status:
        return None
    moved = await repository.move_payment(conn, row.id, change, recheck_after_s)
    if moved is not None:
        await publish_payment(conn, moved, topic)
    return moved


async def fail_payment(
    conn: asyncpg.Connection, row: PaymentRow, reason: str, *, topic: str
) -> PaymentRow | None:
    change = PaymentChange(status=PaymentStatus.FAILED, failure_reason=reason)
    moved = await repository.move_payment(conn, row.id, change, 0)
    if moved is not None:
        await publish_payment(conn, moved, topic)
    return moved


async def publish_payment(conn: asyncpg.Connection, row: PaymentRow, topic: str) -> None:
    event = events.payment_event(row)
    if event is not None:
        await outbox.append(conn, event, topic=topic, key=str(row.user_id), payment_id=row.id)


async def apply_refund(
    conn: asyncpg.Connection, refund: RefundRow, obj: dict[str, Any], *, topic: str
) -> bool:
    """Finish an accepted refund as the provider's refund object says (T2). True if moved."""
    status = refund_status(obj)
    external_id = external_uuid(obj)
    if status is RefundStatus.FAILED:
        return await fail_refund(conn, refund, cancellation_reason(obj), topic=topic)
    if status is not RefundStatus.SUCCEEDED or external_id is None:
        return False
    done = await repository.succeed_refund(conn, refund.id, external_id, obj)
    if done is None:
        return False
    moved, refunded_amount, refunded = done
    event = events.refund_succeeded(moved, external_id, refunded_amount, refunded)
    await outbox.append(
        conn,
        event,
        topic=topic,
        key=str(moved.user_id),
        payment_id=moved.payment_id,
        refund_id=moved.id,
    )
    return True


async def fail_refund(
    conn: asyncpg.Connection, refund: RefundRow, reason: str, *, topic: str
) -> bool:
    moved = await repository.fail_refund(conn, refund.id, reason)
    if moved is None:
        return False
    await outbox.append(
        conn,
        events.refund_failed(moved, reason),
        topic=topic,
        key=str(moved.user_id),
        payment_id=moved.payment_id,
        refund_id=moved.id,
    )
    return True
