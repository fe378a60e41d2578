"""Statuses, the one transitions table per kind, and how much of a payment can go back.

SQL updates are guarded by the same tables (`predecessors`), so a status only ever moves
forward whichever process — commands, webhooks, reconciler — gets there first.
"""

from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum

from processors.errors import InvalidTransition, RefundExceedsPayment


class PaymentStatus(StrEnum):
    ACCEPTED = "accepted"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"
    FAILED = "failed"


class RefundStatus(StrEnum):
    ACCEPTED = "accepted"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


_P = PaymentStatus
ALLOWED: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    _P.ACCEPTED: frozenset({_P.PENDING, _P.SUCCEEDED, _P.CANCELED, _P.FAILED}),
    _P.PENDING: frozenset({_P.SUCCEEDED, _P.CANCELED, _P.FAILED}),
    _P.SUCCEEDED: frozenset(),
    _P.CANCELED: frozenset(),
    _P.FAILED: frozenset(),
}
FINAL: frozenset[PaymentStatus] = frozenset(s for s, nxt in ALLOWED.items() if not nxt)

_R = RefundStatus
REFUND_ALLOWED: dict[RefundStatus, frozenset[RefundStatus]] = {
    _R.ACCEPTED: frozenset({_R.SUCCEEDED, _R.FAILED}),
    _R.SUCCEEDED: frozenset(),
    _R.FAILED: frozenset(),
}


def check_payment_transition(current: PaymentStatus, target: PaymentStatus) -> None:
    if target not in ALLOWED[current]:
        raise InvalidTransition(f"payment cannot move {current} → {target}")


def check_refund_transition(current: RefundStatus, target: RefundStatus) -> None:
    if target not in REFUND_ALLOWED[current]:
        raise InvalidTransition(f"refund cannot move {current} → {target}")


def predecessors(target: PaymentStatus) -> list[str]:
    """Statuses from which `target` may be reached: the guard of every SQL update."""
    return [str(s) for s, nxt in ALLOWED.items() if target in nxt]


def refund_available(
    amount: Decimal, refunded_amount: Decimal, reserved_by_others: Iterable[Decimal]
) -> Decimal:
    """What is left to refund: the ledger minus refunds already in flight (reserved).

    Checked against our own rows under a row lock, not the request, because two refunds
    racing for the same money must not both pass.
    """
    return amount - refunded_amount - sum(reserved_by_others, Decimal("0"))


def require_refundable(status: PaymentStatus, requested: Decimal, available: Decimal) -> None:
    if status is not PaymentStatus.SUCCEEDED:
        raise RefundExceedsPayment(f"payment is {status}; only succeeded payments are refundable")
    if requested <= 0:
        raise RefundExceedsPayment(f"refund amount {requested} is not positive")
    if requested > available:
        raise RefundExceedsPayment(f"refund {requested} exceeds what is left ({available})")
