from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.subscriptions import (
    ALLOWED,
    InvalidSubscriptionChange,
    Period,
    PlanTerms,
    Subscription,
    SubscriptionStatus,
    add_paid_period,
    cancel,
    check_transition,
    end_if_due,
    extend,
    forget_card,
    predecessors,
    reminder_due_at,
    remove_paid_time,
    renewal_due_at,
    renewal_failed,
    resume,
    start,
)

S = SubscriptionStatus
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SEC = timedelta(seconds=1)
TERMS = PlanTerms.of_seconds(60, renew_before=20, retry=(10, 20), grace=40)
MONTHLY = PlanTerms.of_seconds(30 * 86400)


def paid(at: datetime = T0, *, auto_renew: bool = True) -> Subscription:
    return start(at, TERMS, auto_renew=auto_renew, has_card=auto_renew)


def test_a_first_payment_starts_an_active_period_from_the_payment() -> None:
    sub = paid()
    assert (sub.status, sub.period_start, sub.period_end) == (S.ACTIVE, T0, T0 + 60 * SEC)
    assert sub.active and sub.renews and sub.access_until == T0 + 60 * SEC


def test_a_card_without_consent_is_not_kept_for_renewals() -> None:
    sub = start(T0, TERMS, auto_renew=False, has_card=True)
    assert not sub.has_card and not sub.renews


def test_paying_early_stacks_the_new_period_after_the_current_end() -> None:
    monthly = start(T0, MONTHLY, auto_renew=False, has_card=False)
    day25 = T0 + timedelta(days=25)
    again, period = add_paid_period(monthly, day25, MONTHLY)
    assert period == Period(T0 + timedelta(days=30), T0 + timedelta(days=60))
    assert again.period_end == T0 + timedelta(days=60)


def test_a_yearly_remainder_is_kept_when_monthly_is_bought() -> None:
    yearly = start(T0, PlanTerms.of_seconds(365 * 86400), auto_renew=False, has_card=False)
    _, period = add_paid_period(yearly, T0 + timedelta(days=100), MONTHLY)
    assert period.start == T0 + timedelta(days=365)


def test_a_payment_after_the_end_starts_a_fresh_period_from_the_payment() -> None:
    ended = end_if_due(paid(auto_renew=False), T0 + 61 * SEC)
    assert ended is not None and ended.status is S.EXPIRED and not ended.active
    later = T0 + 600 * SEC
    again, period = add_paid_period(ended, later, TERMS)
    assert again.status is S.ACTIVE and period == Period(later, later + 60 * SEC)


def test_a_renewal_buys_the_period_that_starts_at_the_current_end() -> None:
    renewed, period = add_paid_period(paid(), T0 + 40 * SEC, TERMS)
    assert period == Period(T0 + 60 * SEC, T0 + 120 * SEC)
    assert renewed.period_end == T0 + 120 * SEC and renewed.renews


def test_schedules_count_back_from_the_period_end() -> None:
    sub = paid()
    assert renewal_due_at(sub, TERMS) == T0 + 40 * SEC
    assert reminder_due_at(sub, TERMS, timedelta(seconds=15)) == T0 + 25 * SEC
    assert reminder_due_at(sub, TERMS, timedelta(days=3)) == T0  # never before the start


def test_a_failed_renewal_is_past_due_keeps_access_through_grace_and_retries() -> None:
    failed = renewal_failed(paid(), T0 + 40 * SEC, TERMS, "insufficient_funds")
    assert failed.status is S.PAST_DUE and failed.active
    assert failed.dunning_attempt == 1 and failed.last_error == "insufficient_funds"
    assert failed.next_retry_at == T0 + 50 * SEC
    assert failed.access_until == T0 + 100 * SEC  # end 60 s + grace 40 s


def test_retries_follow_the_plan_schedule_then_access_ends_when_spent() -> None:
    sub = renewal_failed(paid(), T0 + 40 * SEC, TERMS, "insufficient_funds")
    sub = renewal_failed(sub, T0 + 50 * SEC, TERMS, "insufficient_funds")
    assert sub.dunning_attempt == 2 and sub.next_retry_at == T0 + 70 * SEC
    sub = renewal_failed(sub, T0 + 70 * SEC, TERMS, "insufficient_funds")
    assert sub.next_retry_at is None and sub.access_until == T0 + 70 * SEC
    assert end_if_due(sub, T0 + 69 * SEC) is None
    ended = end_if_due(sub, T0 + 70 * SEC)
    assert ended is not None and ended.status is S.EXPIRED


def test_spent_retries_never_take_paid_time_away() -> None:
    long_retry = PlanTerms.of_seconds(60, renew_before=50, retry=(5,), grace=40)
    sub = start(T0, long_retry, auto_renew=True, has_card=True)
    sub = renewal_failed(sub, T0 + 10 * SEC, long_retry, "insufficient_funds")
    sub = renewal_failed(sub, T0 + 15 * SEC, long_retry, "insufficient_funds")
    assert sub.next_retry_at is None and sub.access_until == T0 + 60 * SEC


def test_a_retry_after_the_grace_is_not_scheduled() -> None:
    short_grace = PlanTerms.of_seconds(60, renew_before=0, retry=(50,), grace=10)
    sub = start(T0, short_grace, auto_renew=True, has_card=True)
    failed = renewal_failed(sub, T0 + 60 * SEC, short_grace, "general_decline")
    assert failed.next_retry_at is None and failed.access_until == T0 + 60 * SEC


@pytest.mark.parametrize("reason", ["permission_revoked", "card_expired"])
def test_a_hard_decline_forgets_the_card_and_is_never_retried(reason: str) -> None:
    failed = renewal_failed(paid(), T0 + 40 * SEC, TERMS, reason)
    assert failed.status is S.PAST_DUE and failed.next_retry_at is None
    assert not failed.has_card and not failed.renews
    assert failed.access_until == T0 + 60 * SEC


def test_a_successful_retry_makes_it_active_again_from_the_old_end() -> None:
    failed = renewal_failed(paid(), T0 + 40 * SEC, TERMS, "insufficient_funds")
    renewed, period = add_paid_period(failed, T0 + 50 * SEC, TERMS)
    assert renewed.status is S.ACTIVE and period.start == T0 + 60 * SEC
    assert (renewed.dunning_attempt, renewed.next_retry_at, renewed.last_error) == (0, None, None)
    assert renewed.grace_until is None and renewed.renews


def test_a_retry_in_the_grace_continues_from_the_old_end() -> None:
    sub = renewal_failed(paid(), T0 + 40 * SEC, TERMS, "insufficient_funds")
    sub = renewal_failed(sub, T0 + 50 * SEC, TERMS, "insufficient_funds")
    _, period = add_paid_period(sub, T0 + 70 * SEC, TERMS)
    assert period == Period(T0 + 60 * SEC, T0 + 120 * SEC)


def test_cancel_stops_renewals_keeps_access_until_the_end_and_resume_undoes_it() -> None:
    canceled = cancel(paid())
    assert canceled.active and canceled.cancel_at_period_end and not canceled.renews
    assert cancel(canceled) == canceled
    assert end_if_due(canceled, T0 + 59 * SEC) is None
    ended = end_if_due(canceled, T0 + 60 * SEC)
    assert ended is not None and ended.status is S.CANCELED
    resumed = resume(canceled, T0 + 30 * SEC)
    assert resumed.renews and not resumed.cancel_at_period_end


def test_resume_after_the_end_and_cancel_of_an_ended_one_are_refused() -> None:
    canceled = cancel(paid())
    with pytest.raises(InvalidSubscriptionChange):
        resume(canceled, T0 + 60 * SEC)
    ended = end_if_due(canceled, T0 + 61 * SEC)
    assert ended is not None
    with pytest.raises(InvalidSubscriptionChange):
        cancel(ended)


def test_forgetting_the_card_stops_renewals_and_retries() -> None:
    failed = renewal_failed(paid(), T0 + 40 * SEC, TERMS, "insufficient_funds")
    forgot = forget_card(failed)
    assert not forgot.renews and forgot.next_retry_at is None and forgot.active


def test_a_refund_mid_period_ends_access_now() -> None:
    sub = paid()
    at = T0 + 30 * SEC
    ended = remove_paid_time(sub, at, Period(T0, T0 + 60 * SEC))
    assert ended.status is S.CANCELED and not ended.active and ended.period_end == at


def test_refunding_a_stacked_period_keeps_the_one_running() -> None:
    sub, later = add_paid_period(paid(), T0 + 10 * SEC, TERMS)
    kept = remove_paid_time(sub, T0 + 20 * SEC, later)
    assert kept.active and kept.period_end == T0 + 60 * SEC


def test_refunding_the_running_period_moves_the_stacked_one_up() -> None:
    sub, _ = add_paid_period(paid(), T0 + 10 * SEC, TERMS)
    kept = remove_paid_time(sub, T0 + 20 * SEC, Period(T0, T0 + 60 * SEC))
    assert kept.active and kept.period_end == T0 + 80 * SEC


def test_extend_adds_free_time_to_a_running_subscription_only() -> None:
    assert extend(paid(), timedelta(days=3)).period_end == T0 + 60 * SEC + timedelta(days=3)
    ended = end_if_due(paid(), T0 + 60 * SEC)
    assert ended is not None
    with pytest.raises(InvalidSubscriptionChange):
        extend(ended, timedelta(days=1))
    with pytest.raises(InvalidSubscriptionChange):
        extend(paid(), timedelta(0))


def test_ended_subscriptions_only_come_back_by_paying() -> None:
    for ended in (S.CANCELED, S.EXPIRED):
        assert ALLOWED[ended] == frozenset({S.ACTIVE})
        with pytest.raises(InvalidSubscriptionChange):
            check_transition(ended, S.PAST_DUE)
    assert sorted(predecessors(S.EXPIRED)) == ["active", "past_due"]
    assert end_if_due(replace(paid(), status=S.EXPIRED), T0 + 600 * SEC) is None


def test_plan_terms_refuse_nonsense() -> None:
    for bad in ({"period": 0}, {"period": 60, "retry": (0,)}, {"period": 60, "grace": -1}):
        with pytest.raises(InvalidSubscriptionChange):
            PlanTerms.of_seconds(**bad)  # type: ignore[arg-type]
