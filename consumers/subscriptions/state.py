"""The subscription a user should have, computed from their payments. Pure: no I/O.

A user is a subscriber exactly when they hold a `succeeded` payment that is not fully
refunded. The newest such payment sets the plan and the expiry (its success time + the
plan's period). `date_subscribe` is when the current run of subscription began: kept while
it stays active, so a renewal does not move it. While the same payment keeps the user
subscribed the expiry stays as first computed, so later writes to that payment row (a
partial refund touches `updated_at`) neither extend it nor call Auth again.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID


@dataclass(frozen=True)
class ActivePayment:
    payment_id: UUID
    plan_id: str
    succeeded_at: datetime
    period_days: int


@dataclass(frozen=True)
class Subscription:
    active: bool
    date_subscribe: date | None = None
    expires_at: datetime | None = None
    plan_id: str | None = None
    payment_id: UUID | None = None


INACTIVE = Subscription(active=False)


def desired(newest: ActivePayment | None, current: Subscription | None) -> Subscription:
    if newest is None:
        return INACTIVE
    active = current if current is not None and current.active else None
    started = active.date_subscribe if active and active.date_subscribe else None
    expires = active.expires_at if active and active.payment_id == newest.payment_id else None
    return Subscription(
        active=True,
        date_subscribe=started or newest.succeeded_at.date(),
        expires_at=expires or newest.succeeded_at + timedelta(days=newest.period_days),
        plan_id=newest.plan_id,
        payment_id=newest.payment_id,
    )


def needs_change(target: Subscription, current: Subscription | None) -> bool:
    """Whether Auth and the subscribers row must move; an absent row counts as inactive."""
    if current is None or not current.active:
        return target.active
    if not target.active:
        return True
    return target != current
