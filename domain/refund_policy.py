"""How much of a payment goes back when its user asks (CONTRACT §2). Pure: no I/O.

The user does not choose the amount: for a period that has not started, or started less
than `full_refund_window` ago, it is everything not yet refunded; later, it is the unused
*whole* days of that payment's period, pro rata of the payment's amount, rounded down to
the kopeck (never more than is left). A period already over gives nothing back. Operators
in the admin refund any amount up to what is left; this policy is the user's only.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

KOPECK = Decimal("0.01")
DAY = timedelta(days=1)


@dataclass(frozen=True)
class RefundPolicy:
    full_refund_window: timedelta = timedelta(days=14)

    @classmethod
    def of_days(cls, days: float) -> "RefundPolicy":
        if days < 0:
            raise ValueError("the full-refund window cannot be negative")
        return cls(timedelta(days=days))


@dataclass(frozen=True)
class PaidPeriod:
    amount: Decimal
    refunded: Decimal
    start: datetime
    end: datetime


def refund_amount(policy: RefundPolicy, paid: PaidPeriod, at: datetime) -> Decimal:
    """What the user's refund of `paid` at `at` returns (0 when nothing is due)."""
    left = max(Decimal("0"), paid.amount - paid.refunded)
    if at < paid.start + policy.full_refund_window:
        return left
    return min(left, pro_rata_unused(paid, at))


def pro_rata_unused(paid: PaidPeriod, at: datetime) -> Decimal:
    """amount × unused whole days ÷ the period's days, rounded down to the kopeck."""
    length = paid.end - paid.start
    if at >= paid.end or length <= timedelta(0):
        return Decimal("0")
    unused_days = (paid.end - max(at, paid.start)) // DAY
    share = paid.amount * Decimal(unused_days) * Decimal(DAY.total_seconds())
    share /= Decimal(length.total_seconds())
    return share.quantize(KOPECK, rounding=ROUND_DOWN)


def external_refund_ends_access(
    policy: RefundPolicy, paid: PaidPeriod, amount: Decimal, at: datetime
) -> bool:
    """Whether a refund made outside our pipeline (in the provider's dashboard, CONTRACT §2:
    it is still a refund of that payment) ends the time the payment bought.

    It does when it gives back at least what the user's own refund would give at `at`: the
    user then has the money for that time back, as after a refund through the API. A smaller
    one is a goodwill gesture, like an operator's partial refund that keeps access."""
    return amount >= refund_amount(policy, paid, at)
