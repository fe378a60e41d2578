"""The subscription state machine: periods, renewal, dunning, cancel, expiry. Pure: no I/O.

Statuses (CONTRACT §2a): `active` and `past_due` give access (`active` is true), `canceled`
and `expired` do not. Every change is a function from the old value to a new one that
checks its guard against the one transitions table and raises `InvalidSubscriptionChange`.

Time is paid time. A payment while subscribed adds a period after the current end, so
nothing paid is lost; a renewal buys the period that starts at the current end.
`period_start`/`period_end` are those of the newest period bought (its start may still be
ahead: the history of periods says which one runs now); `period_end` is the paid-up end. A failed
renewal makes the subscription `past_due`: access is kept until `grace_until` (the period
end plus the plan's grace) while retries follow the plan's `retry` intervals, each counted
from the previous failure. A hard decline, or retries spent, leaves no retry: access ends
at the later of now and the period end (paid time is still never taken away). Refunding a
payment removes the part of its period that is still ahead.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum


class InvalidSubscriptionChange(ValueError):
    """A change the transitions table or a guard forbids (e.g. resume after the end)."""


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    EXPIRED = "expired"


_S = SubscriptionStatus
ALLOWED: dict[SubscriptionStatus, frozenset[SubscriptionStatus]] = {
    _S.ACTIVE: frozenset({_S.ACTIVE, _S.PAST_DUE, _S.CANCELED, _S.EXPIRED}),
    _S.PAST_DUE: frozenset({_S.ACTIVE, _S.PAST_DUE, _S.CANCELED, _S.EXPIRED}),
    _S.CANCELED: frozenset({_S.ACTIVE}),
    _S.EXPIRED: frozenset({_S.ACTIVE}),
}
LIVE: frozenset[SubscriptionStatus] = frozenset({_S.ACTIVE, _S.PAST_DUE})
HARD_DECLINES: frozenset[str] = frozenset({"permission_revoked", "card_expired"})


def predecessors(target: SubscriptionStatus) -> list[str]:
    """Statuses from which `target` may be reached: the guard of SQL updates."""
    return [str(s) for s, nxt in ALLOWED.items() if target in nxt]


def check_transition(current: SubscriptionStatus, target: SubscriptionStatus) -> None:
    if target not in ALLOWED[current]:
        raise InvalidSubscriptionChange(f"subscription cannot move {current} → {target}")


@dataclass(frozen=True)
class PlanTerms:
    """A plan's schedule (CONTRACT §2a `billing plans set`), all in whole seconds."""

    period: timedelta
    renew_before: timedelta = timedelta(0)
    retry: tuple[timedelta, ...] = ()
    grace: timedelta = timedelta(0)

    @classmethod
    def of_seconds(
        cls, period: int, renew_before: int = 0, retry: tuple[int, ...] = (), grace: int = 0
    ) -> "PlanTerms":
        if period <= 0 or renew_before < 0 or grace < 0 or any(r <= 0 for r in retry):
            raise InvalidSubscriptionChange("period > 0; renew_before, grace >= 0; retries > 0")
        return cls(
            timedelta(seconds=period),
            timedelta(seconds=renew_before),
            tuple(timedelta(seconds=r) for r in retry),
            timedelta(seconds=grace),
        )


@dataclass(frozen=True)
class Period:
    """One paid stretch of time, bought by one payment."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Subscription:
    status: SubscriptionStatus
    period_start: datetime
    period_end: datetime
    auto_renew: bool = False
    has_card: bool = False
    cancel_at_period_end: bool = False
    dunning_attempt: int = 0
    next_retry_at: datetime | None = None
    last_error: str | None = None
    grace_until: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status in LIVE

    @property
    def access_until(self) -> datetime:
        """When access ends unless something is paid: the period end, or the grace end."""
        if self.status is SubscriptionStatus.PAST_DUE and self.grace_until is not None:
            return max(self.grace_until, self.period_end)
        return self.period_end

    @property
    def renews(self) -> bool:
        """Whether the service will charge the saved card for the next period."""
        return self.active and self.auto_renew and self.has_card and not self.cancel_at_period_end

    def _moved(self, target: SubscriptionStatus, **changes: object) -> "Subscription":
        check_transition(self.status, target)
        return replace(self, status=target, **changes)  # type: ignore[arg-type]


def next_period(current: Subscription | None, paid_at: datetime, terms: PlanTerms) -> Period:
    """The period a payment at `paid_at` buys: after the current end while subscribed."""
    start = paid_at
    if current is not None and current.active and current.period_end > paid_at:
        start = current.period_end
    elif current is not None and current.active and current.status is SubscriptionStatus.PAST_DUE:
        start = max(current.period_end, paid_at - terms.period + timedelta(seconds=1))
    return Period(start, start + terms.period)


def start(paid_at: datetime, terms: PlanTerms, *, auto_renew: bool, has_card: bool) -> Subscription:
    """A first subscription (or one bought again after it ended)."""
    period = next_period(None, paid_at, terms)
    return Subscription(
        SubscriptionStatus.ACTIVE, period.start, period.end, auto_renew, has_card and auto_renew
    )


def add_paid_period(
    current: Subscription | None,
    paid_at: datetime,
    terms: PlanTerms,
    *,
    auto_renew: bool = False,
    has_card: bool = False,
) -> tuple[Subscription, Period]:
    """A payment succeeded (a renewal or a manual one): stack its period, clear dunning.

    A new consent (`auto_renew` with a card) switches renewal on; a payment without one
    keeps what the subscription had, so paying by hand does not cancel auto-renewal.
    """
    period = next_period(current, paid_at, terms)
    if current is None or not current.active:
        if current is not None:
            check_transition(current.status, SubscriptionStatus.ACTIVE)
        return start(paid_at, terms, auto_renew=auto_renew, has_card=has_card), period
    renewed = current._moved(
        SubscriptionStatus.ACTIVE,
        period_start=period.start,
        period_end=period.end,
        dunning_attempt=0,
        next_retry_at=None,
        last_error=None,
        grace_until=None,
        auto_renew=current.auto_renew or auto_renew,
        has_card=current.has_card or (has_card and auto_renew),
    )
    return renewed, period


def renewal_due_at(sub: Subscription, terms: PlanTerms) -> datetime:
    return sub.period_end - terms.renew_before


def reminder_due_at(sub: Subscription, terms: PlanTerms, lead: timedelta) -> datetime:
    """When `renewal_upcoming` is sent: `lead` before the charge (never before the start)."""
    return max(sub.period_start, renewal_due_at(sub, terms) - lead)


def renewal_failed(
    sub: Subscription, failed_at: datetime, terms: PlanTerms, reason: str
) -> Subscription:
    """Dunning: `past_due`, access through the grace; the next retry if one is left.

    A hard decline forgets the card: it is never charged again.
    """
    attempt = sub.dunning_attempt + 1
    hard = reason in HARD_DECLINES
    grace_until = sub.grace_until or sub.period_end + terms.grace
    retry_at = None if hard else _retry_at(terms, attempt, failed_at, grace_until)
    if retry_at is None:
        grace_until = max(failed_at, sub.period_end)
    return sub._moved(
        SubscriptionStatus.PAST_DUE,
        dunning_attempt=attempt,
        next_retry_at=retry_at,
        last_error=reason,
        grace_until=grace_until,
        has_card=sub.has_card and not hard,
    )


def _retry_at(
    terms: PlanTerms, attempt: int, failed_at: datetime, grace_until: datetime
) -> datetime | None:
    """Retry `attempt` (1-based, = failures so far) waits `retry[attempt-1]` after the failure;
    none once the schedule is spent or the retry would fall after the grace."""
    if attempt > len(terms.retry):
        return None
    at = failed_at + terms.retry[attempt - 1]
    return at if at < grace_until else None


def cancel(sub: Subscription) -> Subscription:
    """No more renewals; access until the period (or grace) ends. Idempotent."""
    if not sub.active:
        raise InvalidSubscriptionChange(f"a {sub.status} subscription cannot be canceled")
    return replace(sub, cancel_at_period_end=True, next_retry_at=None)


def resume(sub: Subscription, at: datetime) -> Subscription:
    """Undo a cancel before the period ends. Idempotent."""
    if not sub.active or at >= sub.period_end:
        raise InvalidSubscriptionChange("only a running subscription can be resumed")
    return replace(sub, cancel_at_period_end=False)


def forget_card(sub: Subscription) -> Subscription:
    """The saved card is removed: no renewals, no retries; access until the end."""
    return replace(sub, has_card=False, next_retry_at=None)


def end_if_due(sub: Subscription, at: datetime) -> Subscription | None:
    """The subscription once its access has run out at `at`, or None if it has not."""
    if not sub.active or at < sub.access_until:
        return None
    if sub.cancel_at_period_end:
        return sub._moved(SubscriptionStatus.CANCELED, next_retry_at=None)
    return sub._moved(SubscriptionStatus.EXPIRED, next_retry_at=None)


def remove_paid_time(sub: Subscription, at: datetime, refunded: Period) -> Subscription:
    """A refund takes back what is still ahead of its period; periods after it move up.

    The subscription ends (`canceled`) when no paid time is left.
    """
    removed = max(timedelta(0), refunded.end - max(refunded.start, at))
    end = sub.period_end - removed
    if end > at and sub.active:
        return replace(sub, period_end=end, period_start=min(sub.period_start, end))
    ended = replace(sub, period_end=max(at, min(end, sub.period_end)), grace_until=None)
    if not sub.active:
        return ended
    return ended._moved(SubscriptionStatus.CANCELED, next_retry_at=None)


def extend(sub: Subscription, by: timedelta) -> Subscription:
    """An operator's comp: `by` more of the current period, for free (live subscriptions)."""
    if not sub.active or by <= timedelta(0):
        raise InvalidSubscriptionChange("only a running subscription can be extended, by > 0")
    return replace(sub, period_end=sub.period_end + by)
