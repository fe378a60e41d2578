"""Who should hold the subscriber role, from the subscription record. Pure: no I/O.

The processors own the subscription (`domain.subscriptions`, `payments_history.subscriptions`):
periods, renewals, dunning, expiry, refunds. A user holds the role exactly while that record
is live (`active` or `past_due`). `date_subscribe` is when the current run of subscription
began: kept while it stays active, so a renewal does not move it; `expires_at` is when access
ends unless something is paid (the period end, or the grace end while past due).
"""

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID


@dataclass(frozen=True)
class Entitlement:
    active: bool
    plan_id: str
    access_until: datetime
    payment_id: UUID | None
    started: date


@dataclass(frozen=True)
class Subscription:
    active: bool
    date_subscribe: date | None = None
    expires_at: datetime | None = None
    plan_id: str | None = None
    payment_id: UUID | None = None


INACTIVE = Subscription(active=False)


def desired(entitlement: Entitlement | None, current: Subscription | None) -> Subscription:
    if entitlement is None or not entitlement.active:
        return INACTIVE
    running = current if current is not None and current.active else None
    started = running.date_subscribe if running and running.date_subscribe else None
    return Subscription(
        active=True,
        date_subscribe=started or entitlement.started,
        expires_at=entitlement.access_until,
        plan_id=entitlement.plan_id,
        payment_id=entitlement.payment_id,
    )


def needs_change(target: Subscription, current: Subscription | None) -> bool:
    """Whether Auth and the subscribers row must move; an absent row counts as inactive."""
    if current is None or not current.active:
        return target.active
    if not target.active:
        return True
    return target != current
