from decimal import Decimal

import pytest

from processors.domain import (
    ALLOWED,
    FINAL,
    PaymentStatus,
    check_payment_transition,
    refund_available,
    require_refundable,
)
from processors.domain.state import predecessors
from processors.errors import InvalidTransition, RefundExceedsPayment

P = PaymentStatus


def test_final_statuses_allow_no_transition() -> None:
    assert FINAL == {P.SUCCEEDED, P.CANCELED, P.FAILED}
    for final in FINAL:
        with pytest.raises(InvalidTransition):
            check_payment_transition(final, P.PENDING)


def test_pending_never_goes_back_to_accepted() -> None:
    with pytest.raises(InvalidTransition):
        check_payment_transition(P.PENDING, P.ACCEPTED)
    check_payment_transition(P.ACCEPTED, P.SUCCEEDED)


def test_sql_guards_come_from_the_transitions_table() -> None:
    assert sorted(predecessors(P.SUCCEEDED)) == ["accepted", "pending"]
    assert predecessors(P.PENDING) == ["accepted"]
    assert all(P.ACCEPTED not in nxt for nxt in ALLOWED.values())


def test_refund_availability_subtracts_refunded_and_reserved_money() -> None:
    left = refund_available(Decimal("499.00"), Decimal("100.00"), [Decimal("150.00")])
    assert left == Decimal("249.00")
    require_refundable(P.SUCCEEDED, Decimal("249.00"), left)
    with pytest.raises(RefundExceedsPayment):
        require_refundable(P.SUCCEEDED, Decimal("249.01"), left)


def test_only_succeeded_payments_are_refundable() -> None:
    with pytest.raises(RefundExceedsPayment):
        require_refundable(P.PENDING, Decimal("1.00"), Decimal("499.00"))
