"""SQL of the subscriptions consumer: read the truth, write the row, announce the change."""

from dataclasses import dataclass
from typing import TypeAlias
from uuid import UUID

import asyncpg

from common import outbox
from consumers.subscriptions.state import Entitlement, Subscription
from domain.subscriptions import LIVE, SubscriptionStatus
from schemas.messages import SubscriptionActivated, SubscriptionRevoked

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool
LOCK_NAMESPACE = 1397  # pg_advisory_xact_lock(namespace, hashtext(user_id))


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


async def save(conn: asyncpg.Connection, user_id: UUID, target: Subscription) -> None:
    """Upsert the row; a revoked row keeps the last plan and payment for the record."""
    await conn.execute(
        """
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
        """,
        user_id,
        target.active,
        target.date_subscribe,
        target.expires_at,
        target.plan_id,
        target.payment_id,
    )


async def announce(
    conn: asyncpg.Connection, topic: str, event: SubscriptionActivated | SubscriptionRevoked
) -> None:
    """Outbox row + NOTIFY in the caller's transaction; the relay publishes it."""
    await outbox.append(
        conn, event, topic=topic, key=str(event.user_id), payment_id=event.payment_id
    )
