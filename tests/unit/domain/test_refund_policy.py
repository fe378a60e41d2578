from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.refund_policy import (
    PaidPeriod,
    RefundPolicy,
    external_refund_ends_access,
    pro_rata_unused,
    refund_amount,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MONTH = PaidPeriod(Decimal("499.00"), Decimal("0"), T0, T0 + timedelta(days=30))
POLICY = RefundPolicy()


def test_a_period_not_started_yet_is_refunded_in_full() -> None:
    assert refund_amount(POLICY, MONTH, T0 - timedelta(days=3)) == Decimal("499.00")


def test_within_fourteen_days_of_the_start_everything_left_goes_back() -> None:
    assert refund_amount(POLICY, MONTH, T0 + timedelta(days=13, hours=23)) == Decimal("499.00")
    partly = PaidPeriod(Decimal("499.00"), Decimal("100.00"), MONTH.start, MONTH.end)
    assert refund_amount(POLICY, partly, T0 + timedelta(days=1)) == Decimal("399.00")


def test_after_fourteen_days_only_unused_whole_days_pro_rata_rounded_down() -> None:
    at = T0 + timedelta(days=14, hours=5)  # 15 d 19 h unused → 15 whole days
    assert refund_amount(POLICY, MONTH, at) == Decimal("249.50")
    at = T0 + timedelta(days=20)  # 10 days: 499 × 10 / 30 = 166.333… → 166.33
    assert refund_amount(POLICY, MONTH, at) == Decimal("166.33")


def test_pro_rata_never_exceeds_what_is_left_unrefunded() -> None:
    partly = PaidPeriod(Decimal("499.00"), Decimal("400.00"), MONTH.start, MONTH.end)
    assert refund_amount(POLICY, partly, T0 + timedelta(days=15)) == Decimal("99.00")
    spent = PaidPeriod(Decimal("499.00"), Decimal("499.00"), MONTH.start, MONTH.end)
    assert refund_amount(POLICY, spent, T0) == Decimal("0")


def test_a_period_that_is_over_gives_nothing_back() -> None:
    assert refund_amount(POLICY, MONTH, MONTH.end) == Decimal("0")
    assert refund_amount(POLICY, MONTH, MONTH.end + timedelta(days=40)) == Decimal("0")


def test_the_last_partial_day_counts_for_nothing() -> None:
    assert pro_rata_unused(MONTH, MONTH.end - timedelta(hours=23)) == Decimal("0")
    assert pro_rata_unused(MONTH, MONTH.end - timedelta(hours=25)) == Decimal("16.63")


def test_the_window_is_configurable() -> None:
    none = RefundPolicy.of_days(0)
    assert refund_amount(none, MONTH, T0 + timedelta(hours=1)) == Decimal("482.36")  # 29 d
    with pytest.raises(ValueError):
        RefundPolicy.of_days(-1)


def test_a_short_plan_is_refunded_in_full_while_it_runs() -> None:
    minute = PaidPeriod(Decimal("10.00"), Decimal("0"), T0, T0 + timedelta(seconds=60))
    assert refund_amount(POLICY, minute, T0 + timedelta(seconds=30)) == Decimal("10.00")
    assert refund_amount(POLICY, minute, T0 + timedelta(seconds=60)) == Decimal("10.00")


def test_a_dashboard_refund_ends_access_when_it_gives_back_what_the_users_own_would() -> None:
    early = T0 + timedelta(days=2)  # the user's own refund would give back all 499.00
    assert external_refund_ends_access(POLICY, MONTH, Decimal("499.00"), early)
    assert not external_refund_ends_access(POLICY, MONTH, Decimal("498.99"), early)
    late = T0 + timedelta(days=20)  # the user's own refund: 166.33, the unused 10 days
    assert external_refund_ends_access(POLICY, MONTH, Decimal("166.33"), late)
    assert not external_refund_ends_access(POLICY, MONTH, Decimal("10.00"), late)
