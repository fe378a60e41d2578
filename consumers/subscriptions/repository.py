"""SQL of the subscriptions consumer: read the truth, write the row, announce the change."""

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeAlias
from uuid import UUID

import asyncpg

from common import outbox
from common.inbox import Row as Handled
from consumers.subscriptions.state import Entitlement, Subscription
from domain.subscriptions import LIVE, SubscriptionStatus
from schemas.codec import encode
from schemas.messages import SubscriptionActivated, SubscriptionRevoked

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool
Announcement: TypeAlias = SubscriptionActivated | SubscriptionRevoked
LOCK_NAMESPACE = 1397  # pg_advisory_xact_lock(namespace, hashtext(user_id))

_UPSERT = """
    INSERT INTO payments_history.subscribers AS s
        (user_id, subscriber_status, date_subscribe, expires_at, plan_id, payment_id,
         updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, now())
    ON CONFLICT (user_id) DO UPDATE SET
        subscriber_status = EXCLUDED.subscriber_status,
        date_subscribe = EXCLUDED.date_subscribe,
        expires_at = EXCLUDED.expires_at,
        plan_id = COALESCE(EXCLUDED.plan_id, s.plan_id),
        payment_id = COALESCE(EXCLUDED.payment_id, s.payment_id),
        updated_at = now()
"""
_SAVE = _UPSERT
# The upsert, the outbox row keyed by the user (`common.outbox.append`) and the inbox row
# (`common.inbox.record`), then the relay's NOTIFY, as `append` sends it.
_SETTLE = f"""
WITH saved AS ({_UPSERT}
), queued AS (
    INSERT INTO payments_history.outbox (message_id, topic, key, type, payload, payment_id)
    VALUES ($7, $8, $9, $10, $11::text::jsonb, $12)
    ON CONFLICT (message_id) DO NOTHING
    RETURNING payment_id
), recorded AS (
    INSERT INTO payments_history.inbox
        (consumer, message_id, type, topic, partition, "offset", payment_id)
    VALUES ($13, $14, $15, $16, $17, $18, $19)
    ON CONFLICT (consumer, message_id) DO NOTHING
)
SELECT pg_notify($20, coalesce((SELECT payment_id::text FROM queued), ''))
"""


_LOOK = """
SELECT EXISTS (SELECT 1 FROM payments_history.inbox i
               WHERE i.consumer = $4 AND i.message_id = $5) AS seen,
       e.active, e.plan_id, e.access_until, e.payment_id, e.started,
       c.subscriber_status, c.date_subscribe, c.expires_at,
       c.plan_id AS c_plan_id, c.payment_id AS c_payment_id
FROM (SELECT) AS one
LEFT JOIN LATERAL (
    SELECT s.status = ANY($2::text[]) AS active, s.plan_id,
           CASE WHEN s.status = $3::text AND s.grace_until IS NOT NULL
                THEN GREATEST(s.grace_until, s.current_period_end)
                ELSE s.current_period_end END AS access_until,
           (SELECT p.payment_id FROM payments_history.subscription_periods p
            WHERE p.subscription_id = s.id AND p.payment_id IS NOT NULL
              AND p.ended_early_at IS NULL
            ORDER BY p.number DESC LIMIT 1) AS payment_id,
           s.created_at::date AS started
    FROM payments_history.subscriptions s WHERE s.user_id = $1
) e ON true
LEFT JOIN LATERAL (
    SELECT subscriber_status, date_subscribe, expires_at, plan_id, payment_id
    FROM payments_history.subscribers WHERE user_id = $1
) c ON true
"""


@dataclass(frozen=True)
class Look:
    """What one statement says about a user (and, if asked, a message of theirs)."""

    seen: bool  # the consumer's inbox holds the message
    entitlement: Entitlement | None  # the subscription record as the role sees it
    current: Subscription | None  # the subscribers row


async def look(
    conn: Conn, user_id: UUID, consumer: str | None = None, message_id: UUID | None = None
) -> Look:
    """The entitlement, the subscribers row and whether `consumer` handled `message_id`:
    one round trip (one snapshot) instead of three."""
    row = await conn.fetchrow(
        _LOOK, user_id, sorted(LIVE), str(SubscriptionStatus.PAST_DUE), consumer, message_id
    )
    if row is None:  # FROM (SELECT) yields exactly one row
        raise RuntimeError("the look query returned no row")
    entitlement = None
    if row["started"] is not None:  # created_at is NOT NULL: None means no subscription
        entitlement = Entitlement(
            row["active"], row["plan_id"], row["access_until"], row["payment_id"], row["started"]
        )
    current = None
    if row["subscriber_status"] is not None:  # NOT NULL in the table: None means no row
        current = Subscription(
            row["subscriber_status"],
            row["date_subscribe"],
            row["expires_at"],
            row["c_plan_id"],
            row["c_payment_id"],
        )
    return Look(row["seen"], entitlement, current)


async def lock_user(conn: asyncpg.Connection, user_id: UUID) -> None:
    """Serialise writers of one user's row (a rebalance may briefly run two deliveries)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))", LOCK_NAMESPACE, str(user_id)
    )


@asynccontextmanager
async def locked(pool: asyncpg.Pool, user_id: UUID) -> AsyncIterator[asyncpg.Connection]:
    """A transaction holding the user's lock (`lock_user`), BEGIN and the lock in one round
    trip: one simple query of two statements (BEGIN leaves the transaction open after it).
    Committed when the block ends, rolled back when it raises. Only constants and the UUID's
    canonical text go into the query. The block's first read must be a statement of its own,
    after this one: a statement that waits for a lock reads the data of before the wait."""
    key = str(UUID(str(user_id)))  # canonical hex and dashes, nothing else
    begin = f"BEGIN; SELECT pg_advisory_xact_lock({LOCK_NAMESPACE}, hashtext('{key}'))"
    async with pool.acquire() as conn:
        try:
            await conn.execute(begin)
            yield conn
        except BaseException:
            if not conn.is_closed():
                with contextlib.suppress(Exception):  # a broken connection is reset by the pool
                    await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")


async def save(conn: asyncpg.Connection, user_id: UUID, target: Subscription) -> None:
    """Upsert the row; a revoked row keeps the last plan and payment for the record."""
    await conn.execute(_SAVE, *_row(user_id, target))


async def settle(
    conn: asyncpg.Connection,
    target: Subscription,
    news: tuple[str, Announcement],
    handled: tuple[str, Handled],
) -> None:
    """The row, the announcement (outbox + NOTIFY) and the inbox row: one statement.

    `news` is (topic, event), `handled` (consumer, inbox row). What `save`,
    `common.outbox.append` and `common.inbox.record` write, with their conflict rules, in the
    caller's transaction (the NOTIFY is delivered at its commit)."""
    (topic, event), (consumer, row) = news, handled
    await conn.execute(
        _SETTLE,
        *_row(event.user_id, target),
        *_queued(topic, event),
        consumer,
        *row,
        outbox.CHANNEL,
    )


def _row(user_id: UUID, target: Subscription) -> tuple[object, ...]:
    t = target
    return (user_id, t.active, t.date_subscribe, t.expires_at, t.plan_id, t.payment_id)


def _queued(topic: str, event: Announcement) -> tuple[object, ...]:
    """The outbox row `common.outbox.append` writes for the announcement (keyed by user)."""
    key, payload = str(event.user_id), encode(event).decode()
    return (event.message_id, topic, key, event.type, payload, event.payment_id)
