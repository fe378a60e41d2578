"""Apply what the provider says about a payment or refund to our rows: one shared code path
for the webhooks processor, the reconciler and the commands processor.

The provider object is the truth about money, but only for the payment it names: its
metadata must carry our payment_id, its id must match the external_id we already know (if
any), and its amount and currency must be ours (a refund's likewise). Anything else is money
at the provider that contradicts our ledger: nothing is changed, `billing_ledger_anomalies_
total{kind}` counts it (alert `LedgerAnomaly`) and `LedgerAnomaly` is raised, so the message
that brought it is dead-lettered with the reason (processors/runtime.py `PERMANENT`) for an
operator; the reconciler, which has no message, logs it and carries on. The objects are
`ProviderPayment` / `ProviderRefund`, already in our terms.
"""

import logging

from common.metrics import LEDGER_ANOMALIES
from domain import payments, refunds
from domain.payments import PaymentStatus
from domain.refunds import RefundStatus
from processors import events
from processors.errors import LedgerAnomaly
from processors.inbox import InboxEntry
from processors.ports import Deps, Store
from processors.provider.objects import ProviderPayment, ProviderRefund
from processors.repository import PaymentChange, PaymentRow, RefundRow

log = logging.getLogger(__name__)


def anomaly(row: PaymentRow, obj: ProviderPayment) -> str | None:
    """Why `obj` must not be applied to `row`, or None when it belongs to it."""
    if obj.our_payment_id != row.id:
        return "metadata.payment_id is not ours"
    if obj.external_id is None or row.external_id not in (None, obj.external_id):
        return f"provider id {obj.id!r} differs from ours {row.external_id}"
    if obj.amount != row.amount or obj.currency != row.currency:
        return f"amount {obj.amount} {obj.currency} differs from ours {row.amount} {row.currency}"
    return None


def contradiction(kind: str, message: str) -> LedgerAnomaly:
    """Count a provider object that contradicts our ledger; the error to raise with it."""
    LEDGER_ANOMALIES.labels(kind).inc()
    log.error("ledger anomaly (%s): %s", kind, message)
    return LedgerAnomaly(f"ledger anomaly: {message}")


def change_for(obj: ProviderPayment) -> PaymentChange:
    canceled = obj.status is PaymentStatus.CANCELED
    return PaymentChange(
        status=obj.status,
        external_id=obj.external_id,
        external_payment=obj.raw,
        confirmation_url=obj.confirmation_url,
        failure_reason=obj.cancellation_reason if canceled else None,
    )


async def apply_payment(
    store: Store, row: PaymentRow, obj: ProviderPayment, *, topic: str, recheck_after_s: float
) -> PaymentRow | None:
    """Move `row` to the provider's status (guarded) and queue its event; None if no change.
    Raises `LedgerAnomaly` if `obj` contradicts `row` (`anomaly`).

    The subscription follows in the same transaction (`subscriptions.lifecycle`)."""
    problem = anomaly(row, obj)
    if problem is not None:
        raise contradiction("payment", f"payment {row.id}: provider payment {obj.id}: {problem}")
    if not payments.can_move(row.status, obj.status):
        return None  # the same status, or behind us: statuses only move forward
    moved = await store.move_payment(row.id, change_for(obj), recheck_after_s)
    if moved is not None:
        await publish_payment(store, moved, topic)
        await store.on_payment_moved(moved, obj.saved_card, topic=topic)
    return moved


async def apply_payment_in_transaction(
    ctx: Deps, row: PaymentRow, obj: ProviderPayment, origin: InboxEntry | None
) -> PaymentRow | None:
    """`apply_payment` in a transaction, perhaps one shared with other messages' (group
    commit, `UnitOfWork.grouped`: returns once committed); the message's inbox row (if any)
    only when it moved the payment: an answer that changed nothing (a status we already have, a
    forged notification) must not mark its message done."""
    problem = anomaly(row, obj)  # before the body: a body may run twice, counted once
    if problem is not None:
        raise contradiction("payment", f"payment {row.id}: provider payment {obj.id}: {problem}")

    async def body(tx: Store) -> PaymentRow | None:
        moved = await apply_payment(
            tx,
            row,
            obj,
            topic=ctx.settings.events_topic,
            recheck_after_s=ctx.settings.reconcile_after_seconds,
        )
        if origin is not None and moved is not None:
            await tx.record(origin)
        return moved

    return await ctx.uow.grouped(row.user_id, body)


async def fail_payment(
    store: Store, row: PaymentRow, reason: str, *, topic: str, unsent_only: bool = False
) -> PaymentRow | None:
    """Fail `row` (guarded; see `Store.move_payment`) and queue PaymentFailed."""
    change = PaymentChange(status=PaymentStatus.FAILED, failure_reason=reason)
    moved = await store.move_payment(row.id, change, 0, unsent_only=unsent_only)
    if moved is not None:
        await publish_payment(store, moved, topic)
        await store.on_payment_moved(moved, None, topic=topic)
    return moved


async def publish_payment(store: Store, row: PaymentRow, topic: str) -> None:
    event = events.payment_event(row)
    if event is not None:
        await store.append(event, topic=topic, key=str(row.user_id), payment_id=row.id)


async def apply_refund(store: Store, refund: RefundRow, obj: ProviderRefund, *, topic: str) -> bool:
    """Finish an accepted refund as the provider's refund object says (T2). True if moved.

    A refund the provider has not finished (`pending`) keeps its provider id and stays
    `accepted`: its webhook or the reconciler's re-read finishes it (False: nothing is done).
    Raises `LedgerAnomaly` if `obj` is another refund than ours or for another amount.
    """
    external_id = obj.external_id
    problem = refund_anomaly(refund, obj)
    if problem is not None or external_id is None:
        raise contradiction("refund", f"refund {refund.id}: provider refund {obj.id}: {problem}")
    if obj.status is RefundStatus.FAILED:
        return await fail_refund(store, refund, obj.cancellation_reason, topic=topic)
    if not refunds.can_move(refund.status, obj.status):
        if obj.status is refund.status:
            await store.note_refund_external(refund.id, external_id, obj.raw)
        return False
    done = await store.succeed_refund(refund.id, external_id, obj.raw)
    if done is None:
        return False
    moved, refunded_amount, refunded = done
    event = events.refund_succeeded(moved, external_id, refunded_amount, refunded)
    await store.append(
        event,
        topic=topic,
        key=str(moved.user_id),
        payment_id=moved.payment_id,
        refund_id=moved.id,
    )
    await store.on_refund_succeeded(moved.id, topic=topic)
    return True


def refund_anomaly(refund: RefundRow, obj: ProviderRefund) -> str | None:
    """Why `obj` must not be applied to `refund`, or None when it is ours."""
    if obj.external_id is None or refund.external_id not in (None, obj.external_id):
        return f"provider id differs from ours {refund.external_id}"
    if obj.amount != refund.amount or obj.currency != refund.currency:
        return f"amount {obj.amount} {obj.currency} differs from ours {refund.amount}"
    return None


async def fail_refund(
    store: Store,
    refund: RefundRow,
    reason: str,
    *,
    topic: str,
    unsent_only: bool = False,
    unanswered_only: bool = False,
) -> bool:
    """Fail `refund` (guarded; see `Store.fail_refund`) and queue RefundFailed. True if moved."""
    moved = await store.fail_refund(
        refund.id, reason, unsent_only=unsent_only, unanswered_only=unanswered_only
    )
    if moved is None:
        return False
    await store.append(
        events.refund_failed(moved, reason),
        topic=topic,
        key=str(moved.user_id),
        payment_id=moved.payment_id,
        refund_id=moved.id,
    )
    return True
