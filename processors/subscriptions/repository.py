"""SQL of subscriptions: one row per user, its periods, its due rows. Callers hold the lock.

`lock_user` serialises every writer of one user's subscription (a payment succeeding through
the webhooks processor while the commands processor renews, an operator's change), so each
read-modify-write below runs on the row as it is.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from domain.payments import PaymentStatus
from domain.subscriptions import PlanTerms, Subscription, SubscriptionStatus
from processors.provider.objects import SavedCard as Card
from processors.provider.receipts import ReceiptLine
from schemas import ids

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool
LOCK_NAMESPACE = 1398  # pg_advisory_xact_lock(namespace, hashtext(user_id))

_COLUMNS = """id, user_id, plan_id, status, current_period_start, current_period_end, periods,
    auto_renew, cancel_at_period_end, payment_method_id, card_last4, card_expiry,
    dunning_attempt, next_retry_at, last_error, grace_until"""


@dataclass(frozen=True)
class SubscriptionRow:
    id: UUID
    user_id: UUID
    plan_id: str
    periods: int
    card: Card | None
    state: Subscription

    @classmethod
    def of(cls, r: Mapping[str, Any]) -> "SubscriptionRow":
        card = None
        if r["payment_method_id"]:
            card = Card(r["payment_method_id"], r["card_last4"], r["card_expiry"])
        state = Subscription(
            status=SubscriptionStatus(r["status"]),
            period_start=r["current_period_start"],
            period_end=r["current_period_end"],
            auto_renew=r["auto_renew"],
            has_card=card is not None,
            cancel_at_period_end=r["cancel_at_period_end"],
            dunning_attempt=r["dunning_attempt"],
            next_retry_at=r["next_retry_at"],
            last_error=r["last_error"],
            grace_until=r["grace_until"],
        )
        return cls(r["id"], r["user_id"], r["plan_id"], r["periods"], card, state)


@dataclass(frozen=True)
class Plan:
    id: str
    amount: Decimal
    currency: str
    terms: PlanTerms
    receipt_line: ReceiptLine


def user_lock(user_id_sql: str) -> str:
    """The SQL call that takes `lock_user`'s lock, for a statement that names the user in SQL
    (`processors.repository.move_payment` takes it in the statement that moves the payment)."""
    return f"pg_advisory_xact_lock({LOCK_NAMESPACE}, hashtext(({user_id_sql})::text))"


async def lock_user(conn: asyncpg.Connection, user_id: UUID) -> None:
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))", LOCK_NAMESPACE, str(user_id)
    )


async def load(conn: Conn, user_id: UUID) -> SubscriptionRow | None:
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM payments_history.subscriptions WHERE user_id = $1", user_id
    )
    return None if record is None else SubscriptionRow.of(record)


_PLAN_COLUMNS = """id, title, amount, currency, period_seconds, renew_before_seconds,
    retry_seconds, grace_seconds, receipt_description, receipt_quantity, receipt_vat_code,
    receipt_payment_mode, receipt_payment_subject"""


async def load_plan(conn: Conn, plan_id: str) -> Plan | None:
    r = await conn.fetchrow(
        f"SELECT {_PLAN_COLUMNS} FROM payments_history.plans WHERE id = $1", plan_id
    )
    return None if r is None else _plan_of(r)


def _plan_of(r: Mapping[str, Any]) -> Plan:
    terms = PlanTerms.of_seconds(
        r["period_seconds"],
        r["renew_before_seconds"],
        tuple(r["retry_seconds"]),
        r["grace_seconds"],
    )
    line = ReceiptLine.of_plan(r["title"], dict(r))
    return Plan(r["id"], r["amount"], r["currency"].strip(), terms, line)


# A payment's email: the column, else the one in its stored receipt (the same value today).
_EMAIL = "NULLIF(btrim(COALESCE(customer_email, receipt->'customer'->>'email')), '')"


async def customer_email(conn: Conn, user_id: UUID) -> str | None:
    """Where the subscription's receipts go: the email stored with the user's payments (the
    subscription keeps no contact of its own). The latest succeeded payment's that has one
    (the first payment's, carried on by every renewal; a later payment the user made with
    another email moves it), else the latest of any payment of the user (a renewal attempt,
    a payment the user tried and did not finish). None when no payment has one: a subscriber
    who paid before migration 0008 until the email is backfilled (docs/deploy.md)."""
    email: str | None = await conn.fetchval(
        f"""SELECT {_EMAIL} FROM payments_history.payments
            WHERE user_id = $1 AND {_EMAIL} IS NOT NULL
            ORDER BY status = $2 DESC, created_at DESC LIMIT 1""",
        user_id,
        str(PaymentStatus.SUCCEEDED),
    )
    return email


async def save(
    conn: asyncpg.Connection,
    user_id: UUID,
    plan_id: str,
    state: Subscription,
    *,
    periods: int,
    card: Card | None,
) -> SubscriptionRow:
    """Upsert the user's one subscription; `card=None` forgets the saved card."""
    s = state
    record = await conn.fetchrow(
        f"""
        INSERT INTO payments_history.subscriptions AS t
            (id, user_id, plan_id, status, current_period_start, current_period_end, periods,
             auto_renew, cancel_at_period_end, payment_method_id, card_last4, card_expiry,
             dunning_attempt, next_retry_at, last_error, grace_until)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
        ON CONFLICT (user_id) DO UPDATE SET
            plan_id = EXCLUDED.plan_id, status = EXCLUDED.status,
            current_period_start = EXCLUDED.current_period_start,
            current_period_end = EXCLUDED.current_period_end, periods = EXCLUDED.periods,
            auto_renew = EXCLUDED.auto_renew,
            cancel_at_period_end = EXCLUDED.cancel_at_period_end,
            payment_method_id = EXCLUDED.payment_method_id,
            card_last4 = EXCLUDED.card_last4, card_expiry = EXCLUDED.card_expiry,
            dunning_attempt = EXCLUDED.dunning_attempt, next_retry_at = EXCLUDED.next_retry_at,
            last_error = EXCLUDED.last_error, grace_until = EXCLUDED.grace_until,
            updated_at = now()
        RETURNING {_COLUMNS}
        """,
        ids.subscription_id(user_id),
        user_id,
        plan_id,
        str(s.status),
        s.period_start,
        s.period_end,
        periods,
        s.auto_renew,
        s.cancel_at_period_end,
        card.payment_method_id if card and s.has_card else None,
        card.last4 if card and s.has_card else None,
        card.expiry if card and s.has_card else None,
        s.dunning_attempt,
        s.next_retry_at,
        s.last_error,
        s.grace_until,
    )
    return SubscriptionRow.of(record)


async def period_of_payment(conn: Conn, payment_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT subscription_id, number, starts_at, ends_at, ended_early_at
           FROM payments_history.subscription_periods WHERE payment_id = $1""",
        payment_id,
    )


async def add_period(
    conn: asyncpg.Connection,
    subscription_id: UUID,
    number: int,
    payment_id: UUID | None,
    kind: str,
    span: tuple[datetime, datetime],
) -> None:
    await conn.execute(
        """INSERT INTO payments_history.subscription_periods
               (subscription_id, number, payment_id, kind, starts_at, ends_at)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        subscription_id,
        number,
        payment_id,
        kind,
        *span,
    )


async def end_period_early(conn: asyncpg.Connection, payment_id: UUID, at: datetime) -> None:
    await conn.execute(
        """UPDATE payments_history.subscription_periods
           SET ended_early_at = COALESCE(ended_early_at, $2) WHERE payment_id = $1""",
        payment_id,
        at,
    )


async def plan_due(
    conn: asyncpg.Connection,
    row: SubscriptionRow,
    kind: str,
    due_at: datetime,
    period: int,
    attempt: int = 0,
) -> None:
    """Queue work for the scheduler; planning the same (kind, time) twice queues it once."""
    await conn.execute(
        """INSERT INTO payments_history.subscription_due
               (subscription_id, user_id, kind, due_at, period_number, attempt)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (subscription_id, kind, due_at) DO NOTHING""",
        row.id,
        row.user_id,
        kind,
        due_at,
        period,
        attempt,
    )


@dataclass(frozen=True)
class Inputs:
    """What a subscription's change reads under the user's lock, in one statement."""

    now: datetime  # the transaction's clock, as `now()`
    has_period: bool  # the payment already bought a period
    plan: Plan | None
    current: SubscriptionRow | None


def _aliased(columns: str, prefix: str, table: str) -> str:
    return ", ".join(f"{table}.{c.strip()} AS {prefix}{c.strip()}" for c in columns.split(","))


_INPUTS = f"""
SELECT now() AS now,
       EXISTS (SELECT 1 FROM payments_history.subscription_periods WHERE payment_id = $1)
           AS has_period,
       {_aliased(_PLAN_COLUMNS, "plan__", "p")}, {_aliased(_COLUMNS, "sub__", "s")}
FROM (SELECT 1) AS one
LEFT JOIN payments_history.plans p ON p.id = $2
LEFT JOIN payments_history.subscriptions s ON s.user_id = $3
"""


async def inputs(
    conn: asyncpg.Connection, payment_id: UUID | None, plan_id: str, user_id: UUID
) -> Inputs:
    """The clock, whether `payment_id` has its period, the plan and the user's subscription:
    `now`, `period_of_payment`, `load_plan` and `load` in one round trip. Take the user's
    lock in an earlier statement: a statement reads what was committed when it began."""
    r = await conn.fetchrow(_INPUTS, payment_id, plan_id, user_id)
    plan = {k.removeprefix("plan__"): v for k, v in r.items() if k.startswith("plan__")}
    sub = {k.removeprefix("sub__"): v for k, v in r.items() if k.startswith("sub__")}
    return Inputs(
        now=r["now"],
        has_period=r["has_period"],
        plan=None if plan["id"] is None else _plan_of(plan),
        current=None if sub["id"] is None else SubscriptionRow.of(sub),
    )


async def now(conn: Conn) -> datetime:
    """The database's clock: every process agrees on it."""
    value: datetime = await conn.fetchval("SELECT now()")
    return value
