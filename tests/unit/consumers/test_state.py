"""Who should be a subscriber, computed from payments alone."""

import uuid
from datetime import UTC, date, datetime, timedelta

from consumers.subscriptions.state import (
    INACTIVE,
    ActivePayment,
    Subscription,
    desired,
    needs_change,
)

PAID = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def payment(at: datetime = PAID, days: int = 30) -> ActivePayment:
    return ActivePayment(uuid.uuid4(), "monthly", at, days)


def test_no_unrefunded_succeeded_payment_means_not_a_subscriber() -> None:
    assert desired(None, None) == INACTIVE


def test_new_subscription_expires_one_period_after_the_payment_succeeded() -> None:
    paid = payment()
    target = desired(paid, None)
    assert target.active and target.expires_at == PAID + timedelta(days=30)
    assert target.date_subscribe == date(2025, 3, 10) and target.payment_id == paid.payment_id


def test_renewal_keeps_the_start_date_and_moves_the_expiry() -> None:
    first = desired(payment(), None)
    renewal = payment(PAID + timedelta(days=29), days=365)
    target = desired(renewal, first)
    assert target.date_subscribe == first.date_subscribe
    assert target.expires_at == PAID + timedelta(days=29 + 365)


def test_same_payment_keeps_its_first_expiry_when_the_row_is_touched_later() -> None:
    paid = payment()
    current = desired(paid, None)
    touched = ActivePayment(paid.payment_id, "monthly", PAID + timedelta(days=3), 30)
    assert desired(touched, current) == current
    assert not needs_change(desired(touched, current), current)


def test_resubscribing_after_a_revocation_starts_a_new_date() -> None:
    old = Subscription(False, date(2024, 1, 1))
    assert desired(payment(), old).date_subscribe == date(2025, 3, 10)


def test_inactive_target_changes_only_an_active_row() -> None:
    assert not needs_change(INACTIVE, None)
    assert not needs_change(INACTIVE, Subscription(False))
    assert needs_change(INACTIVE, desired(payment(), None))


def test_active_target_changes_a_missing_or_different_row() -> None:
    target = desired(payment(), None)
    assert needs_change(target, None)
    assert not needs_change(target, target)
