"""The payment transitions table: what `apply` asks before the SQL and what the SQL guards
(`repository.move_payment`'s `status = ANY(predecessors)`) are built from."""

from domain import payments
from domain.payments import ALLOWED, FINAL, PaymentStatus

P = PaymentStatus


def test_final_statuses_allow_no_move() -> None:
    assert FINAL == {P.SUCCEEDED, P.CANCELED, P.FAILED}
    for final in FINAL:
        assert not any(payments.can_move(final, target) for target in P)


def test_statuses_only_move_forward() -> None:
    assert payments.can_move(P.ACCEPTED, P.PENDING)
    assert payments.can_move(P.PENDING, P.SUCCEEDED)
    assert not payments.can_move(P.PENDING, P.ACCEPTED)
    assert not payments.can_move(P.PENDING, P.PENDING)  # the same status is no move
    assert all(P.ACCEPTED not in nxt for nxt in ALLOWED.values())


def test_sql_guards_come_from_the_transitions_table() -> None:
    assert payments.predecessors(P.SUCCEEDED) == ["accepted", "pending"]
    assert payments.predecessors(P.CANCELED) == ["accepted", "pending"]
    assert payments.predecessors(P.FAILED) == ["accepted", "pending"]
    assert payments.predecessors(P.PENDING) == ["accepted"]
    assert payments.predecessors(P.ACCEPTED) == []


def test_is_final_reads_database_strings() -> None:
    assert payments.is_final("succeeded") and not payments.is_final("pending")


def test_the_provider_description_is_a_function_of_the_plan_only() -> None:
    assert payments.description("monthly") == "Subscription monthly"
