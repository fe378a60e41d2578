"""What the scheduler must do next for a subscription, queued in the writer's transaction.

Every row is planned where the state that makes it due is written, so a crash can never
leave a subscription with a future and nobody to act on it. Rows that a later change made
pointless stay: each command re-checks the subscription before doing anything.
"""

import asyncpg

from domain.subscriptions import PlanTerms, SubscriptionStatus, renewal_due_at
from processors.subscriptions.repository import SubscriptionRow, plan_due

REMIND, RENEW, EXPIRE = "remind", "renew", "expire"


async def plan_next(conn: asyncpg.Connection, row: SubscriptionRow, terms: PlanTerms) -> None:
    """A `remind` row carries the charge time; the scheduler sends it its lead earlier."""
    s = row.state
    upcoming = row.periods + 1
    if s.renews and s.status is SubscriptionStatus.ACTIVE:
        await plan_due(conn, row, REMIND, renewal_due_at(s, terms), upcoming)
        await plan_due(conn, row, RENEW, renewal_due_at(s, terms), upcoming)
    if s.status is SubscriptionStatus.PAST_DUE and s.renews and s.next_retry_at is not None:
        await plan_due(conn, row, RENEW, s.next_retry_at, upcoming, s.dunning_attempt)
    if s.active:
        await plan_due(conn, row, EXPIRE, s.access_until, row.periods)
