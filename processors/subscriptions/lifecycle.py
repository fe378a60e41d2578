"""Subscriptions follow payments, inside the transaction that moves the payment.

`apply.apply_payment` / `fail_payment` / `apply_refund` call these right after their guarded
update, so a payment becoming `succeeded` and the period it buys commit together (or not at
all), and the guarded update makes each run exactly once per payment. A renewal payment that
is declined moves the subscription into dunning the same way.
"""

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

import asyncpg

from common import outbox
from domain.payments import PaymentStatus
from domain.subscriptions import (
    Period,
    add_paid_period,
    remove_paid_time,
    renewal_failed,
)
from processors.provider.objects import SavedCard
from processors.subscriptions import events
from processors.subscriptions import repository as repo
from processors.subscriptions.schedule import plan_next

DECLINED = frozenset({PaymentStatus.CANCELED, PaymentStatus.FAILED})


@dataclass(frozen=True)
class PaymentFacts:
    id: UUID
    user_id: UUID
    plan_id: str
    amount: Decimal
    currency: str
    status: str
    auto_renew: bool
    subscription_id: UUID | None
    period_number: int | None
    failure_reason: str | None


async def facts(conn: asyncpg.Connection, payment_id: UUID) -> PaymentFacts:
    r = await conn.fetchrow(
        """SELECT id, user_id, plan_id, amount, currency, status, auto_renew, subscription_id,
                  period_number, failure_reason
           FROM payments_history.payments WHERE id = $1""",
        payment_id,
    )
    fields = dict(r)
    fields["currency"] = fields["currency"].strip()
    return PaymentFacts(**fields)


async def on_payment_moved(
    conn: asyncpg.Connection, payment_id: UUID, card: SavedCard | None, *, topic: str
) -> None:
    payment = await facts(conn, payment_id)
    if payment.status == PaymentStatus.SUCCEEDED:
        await paid(conn, payment, card, topic)
    elif payment.status in DECLINED and payment.subscription_id is not None:
        await declined(conn, payment, topic)


async def paid(
    conn: asyncpg.Connection, payment: PaymentFacts, saved: SavedCard | None, topic: str
) -> None:
    """The payment's period joins the subscription (after the current end while subscribed)."""
    await repo.lock_user(conn, payment.user_id)
    if await repo.period_of_payment(conn, payment.id) is not None:
        return
    plan = await repo.load_plan(conn, payment.plan_id)
    if plan is None:
        raise LookupError(f"payment {payment.id}: plan {payment.plan_id} is gone")
    current = await repo.load(conn, payment.user_id)
    card = saved if payment.auto_renew else None
    state, period = add_paid_period(
        current.state if current else None,
        await repo.now(conn),
        plan.terms,
        auto_renew=payment.auto_renew,
        has_card=card is not None,
    )
    number = (current.periods if current else 0) + 1
    keep = card or (current.card if current else None)
    row = await repo.save(conn, payment.user_id, plan.id, state, periods=number, card=keep)
    kind = "renewal" if payment.subscription_id else "payment"
    await repo.add_period(conn, row.id, number, payment.id, kind, (period.start, period.end))
    await plan_next(conn, row, plan.terms)
    if payment.subscription_id is not None:
        event = events.renewed(row, payment.id, payment.amount, payment.currency)
        await outbox.append(conn, event, topic=topic, key=str(row.user_id), payment_id=payment.id)


async def declined(conn: asyncpg.Connection, payment: PaymentFacts, topic: str) -> None:
    """A renewal charge was declined: dunning, unless the period got paid meanwhile."""
    await repo.lock_user(conn, payment.user_id)
    current = await repo.load(conn, payment.user_id)
    if current is None or not current.state.active:
        return
    if payment.period_number is None or current.periods >= payment.period_number:
        return
    plan = await repo.load_plan(conn, current.plan_id)
    if plan is None:
        raise LookupError(f"subscription {current.id}: plan {current.plan_id} is gone")
    reason = payment.failure_reason or "declined"
    state = renewal_failed(current.state, await repo.now(conn), plan.terms, reason)
    row = await repo.save(
        conn, current.user_id, current.plan_id, state, periods=current.periods, card=current.card
    )
    await plan_next(conn, row, plan.terms)
    event = events.past_due(row, payment.id)
    await outbox.append(conn, event, topic=topic, key=str(row.user_id), payment_id=payment.id)


async def on_refund_succeeded(conn: asyncpg.Connection, refund_id: UUID, *, topic: str) -> None:
    """A refund that ends access takes back what is ahead of its payment's period."""
    r = await conn.fetchrow(
        "SELECT payment_id, user_id, ends_access FROM payments_history.refunds WHERE id = $1",
        refund_id,
    )
    if r is None or not r["ends_access"]:
        return
    await repo.lock_user(conn, r["user_id"])
    period = await repo.period_of_payment(conn, r["payment_id"])
    current = await repo.load(conn, r["user_id"])
    if period is None or period["ended_early_at"] is not None or current is None:
        return
    at = await repo.now(conn)
    state = remove_paid_time(current.state, at, Period(period["starts_at"], period["ends_at"]))
    await repo.end_period_early(conn, r["payment_id"], at)
    row = await repo.save(
        conn, current.user_id, current.plan_id, state, periods=current.periods, card=current.card
    )
    plan = await repo.load_plan(conn, row.plan_id)
    if plan is not None:
        await plan_next(conn, row, plan.terms)
    cause = f"refund:{refund_id}"
    event = (
        events.changed(row, "refund", cause)
        if state.active
        else events.canceled(row, at_period_end=False, reason="refunded", cause=cause)
    )
    await outbox.append(conn, event, topic=topic, key=str(row.user_id), refund_id=refund_id)
