"""SQL against payments_history (schema owned by admin_project's migrations).

Idempotency lives in the database: `(user_id, idempotency_key)` is unique on payments and
refunds, rows are inserted `ON CONFLICT DO NOTHING` and read back, so concurrent
duplicates from any number of gateway instances converge on one row. The conflict target
is left out on purpose: the primary key is derived from the same (user, key) pair, and a
twin whose primary-key entry is in place before its `(user_id, idempotency_key)` entry
must be a conflict too, not a unique violation (issue 10 §3b). Currencies are CHAR(3)
columns: every query returns them trimmed (`rtrim`), so callers get clean values.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
from asyncpg import Record

from domain import refunds
from domain.payments import FINAL, PaymentStatus
from domain.refunds import RefundStatus
from gateway.ratelimit import RateLimiter, take_statement
from schemas.ids import SYSTEM_YOOKASSA

__all__ = ["Record"]

PAYMENT_COLUMNS = """
    id AS payment_id, user_id, plan_id, amount, rtrim(currency) AS currency, status,
    confirmation_url,
    refunded_amount, refunded, return_url, request_fingerprint, created_at, updated_at
"""
REFUND_COLUMNS = """
    id AS refund_id, payment_id, user_id, amount, rtrim(currency) AS currency, status,
    request_fingerprint,
    requested_by, created_at
"""


PLAN_COLUMNS = "id, title, amount, rtrim(currency) AS currency, period_days, period_seconds"
RECEIPT_COLUMNS = """receipt_description, receipt_quantity, receipt_vat_code,
    receipt_payment_mode, receipt_payment_subject"""


@dataclass(frozen=True)
class NewPayment:
    payment_id: uuid.UUID
    user_id: uuid.UUID
    plan_id: str
    amount: Decimal
    currency: str
    idempotency_key: str
    fingerprint: str
    return_url: str
    auto_renew: bool = False
    request_id: str | None = None
    customer_email: str | None = None
    receipt: dict[str, Any] | None = None


@dataclass(frozen=True)
class NewRefund:
    refund_id: uuid.UUID
    payment_id: uuid.UUID
    user_id: uuid.UUID
    amount: Decimal
    currency: str
    idempotency_key: str
    fingerprint: str
    requested_by: str = "api"
    request_id: str | None = None


async def active_plans(conn: asyncpg.Connection) -> list[Record]:
    return await conn.fetch(
        f"SELECT {PLAN_COLUMNS} FROM payments_history.plans WHERE active ORDER BY amount, id"
    )


async def active_plan(conn: asyncpg.Connection, plan_id: str) -> Record | None:
    """The plan with its 54-FZ receipt line (`processors.provider.receipts.ReceiptLine`) and
    its `version`: a digest of the whole row, which `insert_or_existing` checks."""
    return await conn.fetchrow(
        f"SELECT {PLAN_COLUMNS}, {RECEIPT_COLUMNS}, md5(p::text) AS version"
        " FROM payments_history.plans p WHERE id = $1 AND active",
        plan_id,
    )


_INSERT_PAYMENT = """
INSERT INTO payments_history.payments
    (id, user_id, plan_id, amount, currency, status, system_id, idempotency_key,
     request_fingerprint, return_url, auto_renew, request_id, customer_email, receipt)"""


def _payment_values(arg: Callable[[int], str]) -> str:
    """The VALUES of `_INSERT_PAYMENT`, the n-th of `_payment_args` named `arg(n)`."""
    return (
        f"{arg(1)}, {arg(2)}, {arg(3)}::varchar, {arg(4)}, {arg(5)}, {arg(10)}::text, {arg(6)},"
        f" {arg(7)}, {arg(8)}, {arg(9)}, {arg(11)}, {arg(12)}, {arg(13)}, {arg(14)}::jsonb"
    )


def _param(n: int) -> str:
    return f"${n}"


def _column(n: int) -> str:
    return f"r.c{n}"


def _insert_or_existing(arg: Callable[[int], str], req: str = "") -> str:
    """First the caller's rate-limit token (arg(2)'s bucket: capacity $16, rate $17, now $18).
    Then, if one was taken: the new row if its plan is still exactly the version it was
    priced from (arg(15)) and neither its (user, key) nor its id is taken; else the row of
    this (user, key) that the statement sees — by key first, then by the id derived from it
    (a key the retention clean-up dropped). One row per POST: the bucket's answer, and the
    payment's columns or NULLs. Of one POST (`arg` = `_param`), or of each row of `req`, a
    batch (`arg` = `_column`), in its order: the buckets and the rows are written in it."""
    take = take_statement(arg(2), "$16", "$17", "$18", "req r ORDER BY r.ord" if req else "")
    source = "req r JOIN take ON take.user_id = r.c2" if req else "take"
    order = "ORDER BY r.ord" if req else ""
    return f"""
WITH {f"req AS ({req})," if req else ""}take AS ({take}),
created AS (
    {_INSERT_PAYMENT}
    SELECT {_payment_values(arg)}
    FROM {source} JOIN payments_history.plans p ON p.id = {arg(3)}::varchar
    WHERE take.allowed AND p.active AND md5(p::text) = {arg(15)}
    {order}
    ON CONFLICT DO NOTHING
    RETURNING {PAYMENT_COLUMNS}
)
SELECT take.allowed, take.tokens, found.* FROM {source} LEFT JOIN LATERAL (
    SELECT * FROM (
        SELECT true AS created, * FROM created WHERE payment_id = {arg(1)}
        UNION ALL
        SELECT false, {PAYMENT_COLUMNS} FROM payments_history.payments
        WHERE take.allowed AND user_id = {arg(2)} AND (idempotency_key = {arg(7)} OR id = {arg(1)})
    ) candidates
    ORDER BY created DESC, payment_id = {arg(1)}
    LIMIT 1
) found ON true
{order}
"""


_INSERT_OR_EXISTING = _insert_or_existing(_param)
# The batch's POSTs as rows of arrays ($1..$15 as `_payment_args` and the plan version, each
# an array of one element per POST: at most one POST per user, in user order).
_ARRAY_TYPES = (
    "uuid uuid varchar numeric text uuid text text text text boolean text text jsonb text"
).split()
_ARRAYS = ", ".join(f"${n}::{kind}[]" for n, kind in enumerate(_ARRAY_TYPES, 1))
_NAMES = ", ".join(f"c{n}" for n in range(1, len(_ARRAY_TYPES) + 1))
_INSERT_OR_EXISTING_MANY = _insert_or_existing(
    _column, f"SELECT * FROM unnest({_ARRAYS}) WITH ORDINALITY AS r({_NAMES}, ord)"
)


def _payment_args(new: NewPayment) -> tuple[object, ...]:
    return (
        new.payment_id,
        new.user_id,
        new.plan_id,
        new.amount,
        new.currency,
        SYSTEM_YOOKASSA,
        new.idempotency_key,
        new.fingerprint,
        new.return_url,
        str(PaymentStatus.ACCEPTED),
        new.auto_renew,
        new.request_id,
        new.customer_email,
        new.receipt,
    )


async def insert_payment(conn: asyncpg.Connection, new: NewPayment) -> bool:
    """True if this call inserted the row; False if (user, key) or its id already existed."""
    status = await conn.execute(
        f"{_INSERT_PAYMENT} VALUES ({_payment_values(_param)}) ON CONFLICT DO NOTHING",
        *_payment_args(new),
    )
    return bool(status == "INSERT 0 1")


async def insert_or_existing(
    conn: asyncpg.Connection, new: NewPayment, plan_version: str, limiter: RateLimiter
) -> Record:
    """One statement: a token from the user's bucket, then, if one was taken, the row — the
    new one if the plan is still `plan_version` (`active_plan`'s `version`), else an
    existing row of (user, key). What it says is read by `accepted`."""
    row: Record = await conn.fetchrow(
        _INSERT_OR_EXISTING, *_payment_args(new), plan_version, *limiter.args()
    )
    await limiter.forget_if_due(conn)
    return row


async def insert_or_existing_many(
    conn: asyncpg.Connection, batch: list[tuple[NewPayment, str]], limiter: RateLimiter
) -> list[Record]:
    """`insert_or_existing` of each (payment, plan version) of `batch` — at most one per
    user, in user order — in one statement: one round trip, one commit; its rows in order."""
    columns = zip(*(_payment_args(new) + (version,) for new, version in batch), strict=True)
    rows = await conn.fetch(_INSERT_OR_EXISTING_MANY, *map(list, columns), *limiter.args())
    await limiter.forget_if_due(conn)
    if len(rows) != len(batch):  # one per POST, unless a user came twice: a caller's bug
        raise RuntimeError(f"{len(rows)} rows for a batch of {len(batch)}")
    return rows


def accepted(row: Record, limiter: RateLimiter) -> tuple[Record, bool] | None:
    """What `insert_or_existing` said: `RateLimited` if no token was taken (and nothing else
    done), else (the row, whether this statement created it), or None when it can say
    neither: the plan changed or went inactive, or a twin committed after the statement
    began (its row conflicted but is not in the statement's snapshot). The caller then takes
    the long way (`payment_by_key`, …), which sees both; the token is taken either way."""
    limiter.check(row["allowed"], row["tokens"])
    return None if row["payment_id"] is None else (row, bool(row["created"]))


async def payment_by_key(
    conn: asyncpg.Connection, user_id: uuid.UUID, idempotency_key: str
) -> Record | None:
    return await conn.fetchrow(
        f"SELECT {PAYMENT_COLUMNS} FROM payments_history.payments"
        " WHERE user_id = $1 AND idempotency_key = $2",
        user_id,
        idempotency_key,
    )


async def user_payment(
    conn: asyncpg.Connection, user_id: uuid.UUID, payment_id: uuid.UUID, *, lock: bool = False
) -> Record | None:
    suffix = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(
        f"SELECT {PAYMENT_COLUMNS} FROM payments_history.payments"
        f" WHERE id = $1 AND user_id = $2{suffix}",
        payment_id,
        user_id,
    )


async def settled_payments(conn: asyncpg.Connection, payment_ids: list[uuid.UUID]) -> list[Record]:
    """Those of `payment_ids` that have their page or a final status (`payments.is_settled`,
    in SQL): the rows still moving are neither sent nor decoded."""
    return await conn.fetch(
        f"SELECT {PAYMENT_COLUMNS} FROM payments_history.payments"
        " WHERE id = ANY($1::uuid[])"
        " AND (confirmation_url IS NOT NULL OR status = ANY($2::text[]))",
        payment_ids,
        sorted(FINAL),
    )


async def user_payments(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None,
) -> list[Record]:
    """Newest first; keyset pagination on (created_at, id) so pages never skip or repeat."""
    if before is None:
        return await conn.fetch(
            f"SELECT {PAYMENT_COLUMNS} FROM payments_history.payments WHERE user_id = $1"
            " ORDER BY created_at DESC, id DESC LIMIT $2",
            user_id,
            limit,
        )
    return await conn.fetch(
        f"SELECT {PAYMENT_COLUMNS} FROM payments_history.payments"
        " WHERE user_id = $1 AND (created_at, id) < ($2, $3)"
        " ORDER BY created_at DESC, id DESC LIMIT $4",
        user_id,
        before[0],
        before[1],
        limit,
    )


async def reserved_by_accepted_refunds(conn: asyncpg.Connection, payment_id: uuid.UUID) -> Decimal:
    total = await conn.fetchval(
        "SELECT COALESCE(SUM(amount), 0) FROM payments_history.refunds"
        " WHERE payment_id = $1 AND status = ANY($2::text[])",
        payment_id,
        refunds.holding(),
    )
    return Decimal(total)


async def insert_refund(conn: asyncpg.Connection, new: NewRefund) -> bool:
    status = await conn.execute(
        """
        INSERT INTO payments_history.refunds
            (id, payment_id, user_id, amount, currency, status, idempotency_key,
             request_fingerprint, requested_by, request_id)
        VALUES ($1, $2, $3, $4, $5, $9::text, $6, $7, $8, $10)
        ON CONFLICT DO NOTHING
        """,
        new.refund_id,
        new.payment_id,
        new.user_id,
        new.amount,
        new.currency,
        new.idempotency_key,
        new.fingerprint,
        new.requested_by,
        str(RefundStatus.ACCEPTED),
        new.request_id,
    )
    return bool(status == "INSERT 0 1")


async def refund_by_key(
    conn: asyncpg.Connection, user_id: uuid.UUID, idempotency_key: str
) -> Record | None:
    return await conn.fetchrow(
        f"SELECT {REFUND_COLUMNS} FROM payments_history.refunds"
        " WHERE user_id = $1 AND idempotency_key = $2",
        user_id,
        idempotency_key,
    )


async def user_refund(
    conn: asyncpg.Connection, user_id: uuid.UUID, refund_id: uuid.UUID
) -> Record | None:
    return await conn.fetchrow(
        f"SELECT {REFUND_COLUMNS} FROM payments_history.refunds WHERE id = $1 AND user_id = $2",
        refund_id,
        user_id,
    )


async def paid_period(
    conn: asyncpg.Connection, payment_id: uuid.UUID
) -> tuple[datetime, datetime] | None:
    """The period a payment bought (subscriptions' history), if it bought one."""
    row = await conn.fetchrow(
        "SELECT starts_at, ends_at FROM payments_history.subscription_periods"
        " WHERE payment_id = $1",
        payment_id,
    )
    return None if row is None else (row["starts_at"], row["ends_at"])
