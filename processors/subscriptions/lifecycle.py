"""Subscriptions follow payments, inside the transaction that moves the payment.

`apply.apply_payment` / `fail_payment` / `apply_refund` call these right after their guarded
update, so a payment becoming `succeeded` and the period it buys commit together (or not at
all), and the guarded update makes each run exactly once per payment. A renewal payment that
is declined moves the subscription into dunning the same way.

What they insert and nothing reads back in the transaction (events, the new period, the
scheduler's due rows) goes to the transaction's `Journal`, written in one statement before
COMMIT (processors/journal.py); the reads under the user's lock are one statement
(`repository.inputs`). The user's lock itself may already be held: the payment's guarded
update takes it in the same statement when the subscription may follow (`locks_user`).
"""

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

import asyncpg

from domain.payments import PaymentStatus
from domain.subscriptions import (
    Period,
    add_paid_period,
    remove_paid_time,
    renewal_failed,
)
from processors.journal import Journal
from processors.provider.objects import SavedCard
from processors.repository import PaymentRow
from processors.subscriptions import events
from processors.subscriptions import repository as repo
from processors.subscriptions.schedule import due

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


def facts_of(row: PaymentRow) -> PaymentFacts:
    """The facts of a payment row as the guarded update returned it (no read)."""
    return PaymentFacts(
        row.id,
        row.user_id,
        row.plan_id,
        row.amount,
        row.currency.strip(),
        str(row.status),
        row.auto_renew,
        row.subscription_id,
        row.period_number,
        row.failure_reason,
    )


def locks_user(status: PaymentStatus) -> bool:
    """Whether a payment moving to `status` may move its user's subscription: the guarded
    update then takes the user's lock in the same statement (`repository.move_payment`)."""
    return status is PaymentStatus.SUCCEEDED or status in DECLINED


async def on_payment_moved(
    conn: asyncpg.Connection, payment_id: UUID, card: SavedCard | None, *, topic: str
) -> None:
    """`follow` for a payment moved by the caller, read again, written at once."""
    journal = Journal()
    await follow(conn, journal, await facts(conn, payment_id), card, topic=topic)
    await journal.flush(conn)


async def follow(
    conn: asyncpg.Connection,
    journal: Journal,
    payment: PaymentFacts,
    card: SavedCard | None,
    *,
    topic: str,
    locked: bool = False,
) -> None:
    """The subscription follows `payment`'s new status; `locked`: the user's lock is held."""
    if payment.status == PaymentStatus.SUCCEEDED:
        await paid(conn, journal, payment, card, topic, locked)
    elif payment.status in DECLINED and payment.subscription_id is not None:
        await declined(conn, journal, payment, topic, locked)


async def paid(
    conn: asyncpg.Connection,
    journal: Journal,
    payment: PaymentFacts,
    saved: SavedCard | None,
    topic: str,
    locked: bool,
) -> None:
    """The payment's period joins the subscription (after the current end while subscribed)."""
    if not locked:
        await repo.lock_user(conn, payment.user_id)
    read = await repo.inputs(conn, payment.id, payment.plan_id, payment.user_id)
    plan, current = read.plan, read.current
    if read.has_period:
        return
    if plan is None:
        raise LookupError(f"payment {payment.id}: plan {payment.plan_id} is gone")
    card = saved if payment.auto_renew else None
    state, period = add_paid_period(
        current.state if current else None,
        read.now,
        plan.terms,
        auto_renew=payment.auto_renew,
        has_card=card is not None,
    )
    number = (current.periods if current else 0) + 1
    keep = card or (current.card if current else None)
    row = await repo.save(conn, payment.user_id, plan.id, state, periods=number, card=keep)
    kind = "renewal" if payment.subscription_id else "payment"
    journal.add_period(row.id, number, payment.id, kind, (period.start, period.end))
    journal.plan(row.id, row.user_id, due(row, plan.terms))
    if payment.subscription_id is not None:
        event = events.renewed(row, payment.id, payment.amount, payment.currency)
        journal.append(event, topic=topic, key=str(row.user_id), payment_id=payment.id)


async def declined(
    conn: asyncpg.Connection, journal: Journal, payment: PaymentFacts, topic: str, locked: bool
) -> None:
    """A renewal charge was declined: dunning, unless the period got paid meanwhile."""
    if not locked:
        await repo.lock_user(conn, payment.user_id)
    current = await repo.load(conn, payment.user_id)
    if current is None or not current.state.active:
        return
    if payment.period_number is None or current.periods >= payment.period_number:
        return
    read = await repo.inputs(conn, None, current.plan_id, payment.user_id)
    if read.plan is None:
        raise LookupError(f"subscription {current.id}: plan {current.plan_id} is gone")
    reason = payment.failure_reason or "declined"
    state = renewal_failed(current.state, read.now, read.plan.terms, reason)
    row = await repo.save(
        conn, current.user_id, current.plan_id, state, periods=current.periods, card=current.card
    )
    journal.plan(row.id, row.user_id, due(row, read.plan.terms))
    event = events.past_due(row, payment.id)
    journal.append(event, topic=topic, key=str(row.user_id), payment_id=payment.id)


async def on_refund_succeeded(conn: asyncpg.Connection, refund_id: UUID, *, topic: str) -> None:
    """`refund_succeeded`, written at once."""
    journal = Journal()
    await refund_succeeded(conn, journal, refund_id, topic=topic)
    await journal.flush(conn)


async def refund_succeeded(
    conn: asyncpg.Connection, journal: Journal, refund_id: UUID, *, topic: str
) -> None:
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
        journal.plan(row.id, row.user_id, due(row, plan.terms))
    cause = f"refund:{refund_id}"
    event = (
        events.changed(row, "refund", cause)
        if state.active
        else events.canceled(row, at_period_end=False, reason="refunded", cause=cause)
    )
    journal.append(event, topic=topic, key=str(row.user_id), refund_id=refund_id)
