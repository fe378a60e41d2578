"""SQL against payments_history: loads, and guarded updates that only move statuses forward.

Every status change is `UPDATE ... WHERE status = ANY(<allowed predecessors>)`: when two
processes race, the database lets exactly one of them through; the other matches nothing
and emits nothing.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, TypeAlias
from uuid import UUID

import asyncpg

from domain import payments, refunds
from domain.payments import PaymentStatus
from domain.refunds import RefundStatus
from processors.subscriptions import repository as subscriptions
from schemas.ids import SYSTEM_YOOKASSA

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool

_PAYMENT_COLUMNS = """id, user_id, plan_id, amount, currency, status, external_id,
    return_url, confirmation_url, refunded_amount, refunded, failure_reason, auto_renew,
    created_at, receipt, subscription_id, period_number"""


@dataclass(frozen=True)
class PaymentRow:
    id: UUID
    user_id: UUID
    plan_id: str
    amount: Decimal
    currency: str
    status: PaymentStatus
    external_id: UUID | None
    return_url: str
    confirmation_url: str | None
    refunded_amount: Decimal
    refunded: bool
    failure_reason: str | None
    auto_renew: bool = False  # the user's consent to save the card (CONTRACT §2a)
    created_at: datetime | None = None  # the give-up age (processors/give_up.py)
    receipt: dict[str, Any] | None = None  # the 54-FZ receipt it is sent with, built once
    subscription_id: UUID | None = None  # a renewal's subscription (its period: period_number)
    period_number: int | None = None

    @classmethod
    def of(cls, record: asyncpg.Record) -> "PaymentRow":
        return cls.of_fields(dict(record))

    @classmethod
    def of_fields(cls, fields: dict[str, Any]) -> "PaymentRow":
        fields["status"] = PaymentStatus(fields["status"])
        return cls(**fields)


@dataclass(frozen=True)
class RefundRow:
    id: UUID
    payment_id: UUID
    user_id: UUID
    amount: Decimal
    currency: str
    status: RefundStatus
    external_id: UUID | None
    reserved: bool
    requested_by: str
    created_at: datetime | None = None
    receipt: dict[str, Any] | None = None  # set when the money is reserved, then sent as is

    @classmethod
    def of(cls, record: asyncpg.Record) -> "RefundRow":
        fields = dict(record)
        fields["status"] = RefundStatus(fields["status"])
        return cls(**fields)


_REFUND_COLUMNS = """id, payment_id, user_id, amount, currency, status, external_id, reserved,
    requested_by, created_at, receipt"""

# A payment that never reached the provider (no answer, no provider id): the only one the
# give-up `not_sent_in_time` may fail; the reconciler selects with it and
# `move_payment(unsent_only=True)` guards its UPDATE with it (a re-drive that just moved the
# row to `pending` must win).
UNSENT_PAYMENT = f"status = '{payments.NOT_SENT}' AND external_id IS NULL"

# A refund the provider never answered (no provider id; sent or not): the only one the give-up
# `not_at_provider` may fail, once the list call did not find it (processors/refund_lookup.py);
# `fail_refund(unanswered_only=True)` guards its UPDATE with it (a webhook or re-read that
# brought its provider id must win).
# A refund that never reached the provider: no answer, and never sent (a reserved one passed
# `_reserve` and was sent at least once; the provider may have refunded it). Only these may be
# given up as `not_sent_in_time` (processors/give_up.py): the reconciler selects them with it
# and `fail_refund(unsent_only=True)` guards its UPDATE with it.
UNANSWERED_REFUND = f"status = '{RefundStatus.ACCEPTED}' AND external_id IS NULL"
UNSENT_REFUND = f"{UNANSWERED_REFUND} AND NOT reserved"


async def load_payment(conn: Conn, payment_id: UUID, *, lock: bool = False) -> PaymentRow | None:
    sql = f"SELECT {_PAYMENT_COLUMNS} FROM payments_history.payments WHERE id = $1"
    record = await conn.fetchrow(sql + (" FOR UPDATE" if lock else ""), payment_id)
    return None if record is None else PaymentRow.of(record)


async def load_payment_unless_seen(
    conn: Conn, payment_id: UUID, consumer: str, message_id: UUID
) -> tuple[bool, PaymentRow | None]:
    """One round trip for the inbox check and the payment: (already handled?, the row)."""
    return await _unless_seen(conn, "id", payment_id, consumer, message_id)


async def payment_by_external_unless_seen(
    conn: Conn, external_id: str, consumer: str, message_id: UUID
) -> tuple[bool, PaymentRow | None]:
    """`load_payment_unless_seen` by the provider's payment id (None when it is no UUID or
    no row of ours has it yet): a webhook's inbox check and, before the provider's object
    says which payment it is, the row its notification names — to be checked against it."""
    try:
        key: UUID | None = UUID(external_id)
    except ValueError:
        key = None
    return await _unless_seen(conn, "external_id", key, consumer, message_id)


async def _unless_seen(
    conn: Conn,
    column: Literal["id", "external_id"],
    key: UUID | None,
    consumer: str,
    message_id: UUID,
) -> tuple[bool, PaymentRow | None]:
    """Whether `consumer` handled `message_id`, and the payment whose `column` is `key`."""
    record = await conn.fetchrow(
        f"""SELECT EXISTS (SELECT 1 FROM payments_history.inbox
                           WHERE consumer = $2 AND message_id = $3) AS seen, p.*
            FROM (SELECT 1) AS one
            LEFT JOIN (SELECT {_PAYMENT_COLUMNS} FROM payments_history.payments
                       WHERE {column} = $1) p
            ON true""",
        key,
        consumer,
        message_id,
    )
    fields = dict(record)
    seen = bool(fields.pop("seen"))
    return seen, None if fields["id"] is None else PaymentRow.of_fields(fields)


async def now(conn: Conn) -> datetime:
    """The database's clock: the one `created_at` was written with."""
    moment: datetime = await conn.fetchval("SELECT now()")
    return moment


async def load_refund(conn: Conn, refund_id: UUID, *, lock: bool = False) -> RefundRow | None:
    sql = f"SELECT {_REFUND_COLUMNS} FROM payments_history.refunds WHERE id = $1"
    record = await conn.fetchrow(sql + (" FOR UPDATE" if lock else ""), refund_id)
    return None if record is None else RefundRow.of(record)


async def find_refund_by_external_id(conn: Conn, external_id: UUID) -> RefundRow | None:
    sql = f"SELECT {_REFUND_COLUMNS} FROM payments_history.refunds WHERE external_id = $1"
    record = await conn.fetchrow(sql, external_id)
    return None if record is None else RefundRow.of(record)


@dataclass(frozen=True)
class PaymentChange:
    status: PaymentStatus
    external_id: UUID | None = None
    external_payment: dict[str, Any] | None = None
    confirmation_url: str | None = None
    failure_reason: str | None = None


async def move_payment(
    conn: Conn,
    payment_id: UUID,
    change: PaymentChange,
    recheck_after_s: float,
    *,
    unsent_only: bool = False,
    lock_user: bool = False,
) -> PaymentRow | None:
    """Guarded move to `change.status`; the updated row, or None if someone got there first.
    With `unsent_only`, only while the row is `UNSENT_PAYMENT`. With `lock_user`, the moved
    payment's user's subscription lock is taken in the same statement, after the row's
    (`subscriptions.repository.lock_user`, the order the subscription hooks always took
    them in)."""
    record = await conn.fetchrow(
        _LOCKING_MOVE if lock_user else _MOVE,
        payment_id,
        str(change.status),
        change.external_id,
        change.external_payment,
        change.confirmation_url,
        SYSTEM_YOOKASSA,
        change.failure_reason,
        recheck_after_s,
        payments.predecessors(change.status),
        # re-read later unless a webhook comes; a new status restarts the backoff (the
        # re-sends of an `accepted` row must not stretch its re-reads to the cap)
        change.status is payments.AWAITING_PROVIDER,
        unsent_only,
    )
    return None if record is None else PaymentRow.of(record)


_MOVE = f"""
        UPDATE payments_history.payments SET
            status = $2::text,
            external_id = COALESCE(external_id, $3),
            external_payment = COALESCE($4::jsonb, external_payment),
            confirmation_url = COALESCE(confirmation_url, $5),
            system_id = COALESCE(system_id, $6),
            failure_reason = COALESCE($7, failure_reason),
            updated_at = now(),
            check_attempts = CASE WHEN $10::bool THEN 0 ELSE check_attempts END,
            next_check_at = CASE WHEN $10::bool
                THEN now() + make_interval(secs => $8::float8) ELSE NULL END
        WHERE id = $1 AND status = ANY($9::text[]) AND (NOT $11::bool OR ({UNSENT_PAYMENT}))
        RETURNING {_PAYMENT_COLUMNS}
        """
_LOCKING_MOVE = f"""
WITH moved AS ({_MOVE})
SELECT {_PAYMENT_COLUMNS} FROM moved
WHERE (SELECT true FROM {subscriptions.user_lock("moved.user_id")})
"""


async def reserved_by_others(conn: Conn, payment_id: UUID, refund_id: UUID) -> list[Decimal]:
    rows = await conn.fetch(
        """SELECT amount FROM payments_history.refunds
           WHERE payment_id = $1 AND id <> $2 AND status = ANY($3::text[]) AND reserved""",
        payment_id,
        refund_id,
        refunds.holding(),
    )
    return [r["amount"] for r in rows]


async def reserve_refund(
    conn: Conn, refund_id: UUID, receipt: dict[str, Any] | None = None
) -> None:
    """Hold the money, and fix the receipt every attempt of this refund will be sent with."""
    await conn.execute(
        """UPDATE payments_history.refunds SET reserved = true, receipt = $2::jsonb,
               updated_at = now()
           WHERE id = $1""",
        refund_id,
        receipt,
    )


async def fail_refund(
    conn: Conn,
    refund_id: UUID,
    reason: str,
    *,
    unsent_only: bool = False,
    unanswered_only: bool = False,
) -> RefundRow | None:
    """Guarded move to `failed`; with `unsent_only`, only while it is `UNSENT_REFUND`; with
    `unanswered_only`, only while it is `UNANSWERED_REFUND`."""
    record = await conn.fetchrow(
        f"""UPDATE payments_history.refunds
            SET status = $3::text, failure_reason = $2, reserved = false, updated_at = now()
            WHERE id = $1 AND status = ANY($4::text[])
              AND (NOT $5::bool OR ({UNSENT_REFUND}))
              AND (NOT $6::bool OR ({UNANSWERED_REFUND}))
            RETURNING {_REFUND_COLUMNS}""",
        refund_id,
        reason,
        str(RefundStatus.FAILED),
        refunds.predecessors(RefundStatus.FAILED),
        unsent_only,
        unanswered_only,
    )
    return None if record is None else RefundRow.of(record)


async def note_refund_external(
    conn: Conn, refund_id: UUID, external_id: UUID, external_refund: dict[str, Any]
) -> None:
    """Keep the provider's id of a refund still in flight, so its webhook and the reconciler's
    re-read can find it; the status does not move."""
    await conn.execute(
        """UPDATE payments_history.refunds
           SET external_id = COALESCE(external_id, $2), external_refund = $3, updated_at = now()
           WHERE id = $1 AND status = ANY($4::text[])""",
        refund_id,
        external_id,
        external_refund,
        refunds.holding(),
    )


async def succeed_refund(
    conn: Conn, refund_id: UUID, external_id: UUID, external_refund: dict[str, Any]
) -> tuple[RefundRow, Decimal, bool] | None:
    """Guarded accepted → succeeded plus the payment's ledger, in the caller's transaction."""
    record = await conn.fetchrow(
        f"""UPDATE payments_history.refunds
            SET status = $4::text, external_id = $2, external_refund = $3, updated_at = now()
            WHERE id = $1 AND status = ANY($5::text[]) RETURNING {_REFUND_COLUMNS}""",
        refund_id,
        external_id,
        external_refund,
        str(RefundStatus.SUCCEEDED),
        refunds.predecessors(RefundStatus.SUCCEEDED),
    )
    if record is None:
        return None
    refund = RefundRow.of(record)
    ledger = await conn.fetchrow(
        """UPDATE payments_history.payments
           SET refunded_amount = refunded_amount + $2,
               refunded = (refunded_amount + $2 = amount), updated_at = now()
           WHERE id = $1 RETURNING refunded_amount, refunded""",
        refund.payment_id,
        refund.amount,
    )
    return refund, ledger["refunded_amount"], ledger["refunded"]
