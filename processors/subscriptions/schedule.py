"""What the scheduler must do next for a subscription, queued in the writer's transaction.

Every row is planned where the state that makes it due is written, so a crash can never
leave a subscription with a future and nobody to act on it. Rows that a later change made
pointless stay: each command re-checks the subscription before doing anything.
"""

import asyncpg

from domain.subscriptions import PlanTerms, SubscriptionStatus, renewal_due_at
from processors.journal import Due, Journal
from processors.subscriptions.repository import SubscriptionRow

REMIND, RENEW, EXPIRE = "remind", "renew", "expire"


def due(row: SubscriptionRow, terms: PlanTerms) -> list[Due]:
    """The rows `row` makes due. A `remind` row carries the charge time; the scheduler sends
    it its lead earlier."""
    s = row.state
    upcoming = row.periods + 1
    rows: list[Due] = []
    if s.renews and s.status is SubscriptionStatus.ACTIVE:
        rows.append((REMIND, renewal_due_at(s, terms), upcoming, 0))
        rows.append((RENEW, renewal_due_at(s, terms), upcoming, 0))
    if s.status is SubscriptionStatus.PAST_DUE and s.renews and s.next_retry_at is not None:
        rows.append((RENEW, s.next_retry_at, upcoming, s.dunning_attempt))
    if s.active:
        rows.append((EXPIRE, s.access_until, row.periods, 0))
    return rows


async def plan_next(conn: asyncpg.Connection, row: SubscriptionRow, terms: PlanTerms) -> None:
    """Queue `due(row, terms)` now, in the caller's transaction (one statement)."""
    journal = Journal()
    journal.plan(row.id, row.user_id, due(row, terms))
    await journal.flush(conn)
