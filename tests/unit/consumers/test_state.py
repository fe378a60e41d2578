"""Who should be a subscriber: exactly whoever's subscription record is live."""

import uuid
from datetime import UTC, date, datetime, timedelta

from consumers.subscriptions.state import INACTIVE, Entitlement, Subscription, desired, needs_change

UNTIL = datetime(2025, 4, 9, 12, 0, tzinfo=UTC)


def live(until: datetime = UNTIL, *, active: bool = True) -> Entitlement:
    return Entitlement(active, "monthly", until, uuid.uuid4(), date(2025, 3, 10))


def test_no_subscription_or_an_ended_one_means_not_a_subscriber() -> None:
    assert desired(None, None) == INACTIVE
    assert desired(live(active=False), None) == INACTIVE


def test_a_live_subscription_grants_until_its_access_ends() -> None:
    ent = live()
    target = desired(ent, None)
    assert target.active and target.expires_at == UNTIL and target.payment_id == ent.payment_id
    assert target.date_subscribe == date(2025, 3, 10) and target.plan_id == "monthly"


def test_a_renewal_moves_the_expiry_but_keeps_the_subscription_date() -> None:
    first = desired(live(), None)
    later = live(UNTIL + timedelta(days=30))
    target = desired(later, Subscription(True, date(2025, 1, 1), UNTIL, "monthly", uuid.uuid4()))
    assert target.date_subscribe == date(2025, 1, 1) and target.expires_at > first.expires_at  # type: ignore[operator]
    assert needs_change(target, first)


def test_the_same_record_again_changes_nothing() -> None:
    ent = live()
    current = desired(ent, None)
    assert not needs_change(desired(ent, current), current)


def test_ending_a_live_subscription_needs_a_revoke_and_an_inactive_row_none() -> None:
    assert needs_change(INACTIVE, desired(live(), None))
    assert not needs_change(INACTIVE, None)
    assert not needs_change(INACTIVE, INACTIVE)
