"""What is refundable and how much: the one rule the gateway, the admin and the processor
call (`domain.refunds.grant`), and the refund guards the SQL is given."""

from decimal import Decimal

import pytest

from domain import refunds
from domain.errors import (
    NothingLeftToRefund,
    PaymentNotSucceeded,
    RefundAmountInvalid,
    RefundExceedsAvailable,
)
from domain.payments import PaymentStatus
from domain.refunds import RefundStatus

D = Decimal
R = RefundStatus


def test_available_subtracts_refunded_and_held_money() -> None:
    assert refunds.available(D("499.00"), D("100.00"), [D("150.00")]) == D("249.00")
    assert refunds.available(D("499.00"), D("0"), []) == D("499.00")


def test_grant_gives_what_is_asked_up_to_what_is_left() -> None:
    assert refunds.grant(PaymentStatus.SUCCEEDED, D("249.00"), D("249.00")) == D("249.00")
    with pytest.raises(RefundExceedsAvailable, match="exceeds"):
        refunds.grant(PaymentStatus.SUCCEEDED, D("249.01"), D("249.00"))


def test_no_amount_means_everything_that_is_left() -> None:
    assert refunds.grant(PaymentStatus.SUCCEEDED, None, D("398.90")) == D("398.90")


@pytest.mark.parametrize("requested", [None, D("0.01")])
def test_nothing_left_is_its_own_refusal_and_still_an_excess(requested: Decimal | None) -> None:
    with pytest.raises(NothingLeftToRefund) as refused:
        refunds.grant(PaymentStatus.SUCCEEDED, requested, D("0.00"))
    assert isinstance(refused.value, RefundExceedsAvailable) and "exceeds" in str(refused.value)


@pytest.mark.parametrize("status", ["accepted", "pending", "canceled", "failed"])
def test_only_succeeded_payments_are_refundable(status: str) -> None:
    with pytest.raises(PaymentNotSucceeded, match="only succeeded"):
        refunds.grant(status, D("1.00"), D("499.00"))


@pytest.mark.parametrize("amount", [D("0"), D("-1.00"), D("1.001")])
def test_amounts_must_be_positive_whole_kopecks(amount: Decimal) -> None:
    with pytest.raises(RefundAmountInvalid):
        refunds.grant(PaymentStatus.SUCCEEDED, amount, D("499.00"))


def test_refund_guards_come_from_its_transitions_table() -> None:
    assert refunds.predecessors(R.SUCCEEDED) == ["accepted"]
    assert refunds.predecessors(R.FAILED) == ["accepted"]
    assert refunds.holding() == ["accepted"]
    assert refunds.FINAL == {R.SUCCEEDED, R.FAILED}
    assert not refunds.can_move(R.SUCCEEDED, R.FAILED)
    assert refunds.can_move(R.ACCEPTED, R.SUCCEEDED)
