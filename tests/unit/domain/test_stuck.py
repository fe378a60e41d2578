"""domain.stuck: one rule for "really stuck", read by the gauges and the admin's tile."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.payments import PaymentStatus
from domain.stuck import StuckRule

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
RULE = StuckRule(timedelta(seconds=30), timedelta(hours=1), timedelta(minutes=10))


@pytest.mark.parametrize(
    ("status", "age", "stuck"),
    [
        ("accepted", timedelta(seconds=31), True),  # never reached the commands processor
        ("accepted", timedelta(seconds=5), False),
        ("pending", timedelta(minutes=71), True),  # past the provider's expiry and a re-check
        ("pending", timedelta(minutes=65), False),  # expired, its re-check may not be due yet
        ("pending", timedelta(minutes=10), False),  # a user still on the payment page
        ("succeeded", timedelta(days=30), False),
        ("canceled", timedelta(days=30), False),
    ],
)
def test_a_payment_is_stuck_only_past_its_statuss_age(
    status: str, age: timedelta, stuck: bool
) -> None:
    assert RULE.is_stuck(status, NOW - age, NOW) is stuck


def test_the_pending_age_is_the_provider_expiry_plus_one_full_recheck() -> None:
    assert RULE.ages() == {
        PaymentStatus.ACCEPTED: timedelta(seconds=30),
        PaymentStatus.PENDING: timedelta(minutes=70),
    }


def test_the_rule_reads_the_pipelines_settings() -> None:
    class Ages:
        reconcile_after_seconds = 12.0
        provider_pending_expiry_s = 100.0
        reconcile_backoff_cap_seconds = 20.0

    assert StuckRule.of(Ages()).cutoffs(NOW) == {
        PaymentStatus.ACCEPTED: NOW - timedelta(seconds=12),
        PaymentStatus.PENDING: NOW - timedelta(seconds=120),
    }
