"""A refund's statuses, its transitions table, and what is refundable and how much.

The money a payment can still give back is its amount, minus what was refunded, minus
what refunds in flight hold (`HOLDING`). The gateway and the admin check it at intake (all
accepted refunds hold); the processor checks it again, authoritatively, under the payment's
row lock before it asks the provider (the refunds that reserved their amount hold). Both
call `grant`, so the rule is written here only.
"""

from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum

from domain.errors import (
    NothingLeftToRefund,
    PaymentNotSucceeded,
    RefundAmountInvalid,
    RefundExceedsAvailable,
)
from domain.payments import PaymentStatus

CENT = Decimal("0.01")


class RefundStatus(StrEnum):
    ACCEPTED = "accepted"  # our row exists; the money is held once the processor reserves it
    SUCCEEDED = "succeeded"
    FAILED = "failed"


_R = RefundStatus
ALLOWED: dict[RefundStatus, frozenset[RefundStatus]] = {
    _R.ACCEPTED: frozenset({_R.SUCCEEDED, _R.FAILED}),
    _R.SUCCEEDED: frozenset(),
    _R.FAILED: frozenset(),
}
FINAL: frozenset[RefundStatus] = frozenset(s for s, nxt in ALLOWED.items() if not nxt)
HOLDING: frozenset[RefundStatus] = frozenset(s for s in RefundStatus if s not in FINAL)
REFUNDABLE_PAYMENT = PaymentStatus.SUCCEEDED


def can_move(current: RefundStatus, target: RefundStatus) -> bool:
    return target in ALLOWED[current]


def predecessors(target: RefundStatus) -> list[str]:
    """Statuses from which `target` may be reached: the guard of every SQL update."""
    return sorted(str(s) for s, nxt in ALLOWED.items() if target in nxt)


def holding() -> list[str]:
    """Statuses whose refunds still hold their amount: the SQL filter of `available`."""
    return sorted(str(s) for s in HOLDING)


def available(amount: Decimal, refunded_amount: Decimal, held: Iterable[Decimal]) -> Decimal:
    """What is left to refund: the payment, minus what went back, minus what is held."""
    return amount - refunded_amount - sum(held, Decimal("0"))


def grant(payment_status: str, requested: Decimal | None, left: Decimal) -> Decimal:
    """The amount to refund — `requested`, or all that is `left` when None — or a refusal."""
    if payment_status != REFUNDABLE_PAYMENT:
        raise PaymentNotSucceeded(payment_status)
    amount = left if requested is None else requested
    if left <= 0:
        raise NothingLeftToRefund(amount, left)
    if amount <= 0:
        raise RefundAmountInvalid(f"refund amount {amount} is not positive")
    if amount != amount.quantize(CENT):
        raise RefundAmountInvalid(f"refund amount {amount} has more than two decimals")
    if amount > left:
        raise RefundExceedsAvailable(amount, left)
    return amount
