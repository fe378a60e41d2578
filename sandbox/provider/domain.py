"""Payments and refunds as the provider keeps them; pure, no I/O.

Money is ``Decimal`` quantised to kopecks; it crosses the wire as a string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sandbox.clock import now_iso
from sandbox.provider.errors import InvalidRequest, UnknownCard

CENT = Decimal("0.01")
CURRENCIES = frozenset({"RUB", "USD", "EUR", "BYN", "KZT", "UZS", "AMD", "GEL", "KGS", "TRY"})


class YooKassaStatus(StrEnum):
    """YooKassa's own payment statuses on the wire (ours are `domain.payments.PaymentStatus`)."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


ALLOWED: dict[YooKassaStatus, frozenset[YooKassaStatus]] = {
    YooKassaStatus.PENDING: frozenset({YooKassaStatus.SUCCEEDED, YooKassaStatus.CANCELED}),
    YooKassaStatus.SUCCEEDED: frozenset(),
    YooKassaStatus.CANCELED: frozenset(),
}


@dataclass(frozen=True)
class CardOutcome:
    status: YooKassaStatus
    reason: str | None = None


SUCCESS_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
CARD_OUTCOMES: dict[str, CardOutcome] = {
    SUCCESS_CARD: CardOutcome(YooKassaStatus.SUCCEEDED),
    DECLINED_CARD: CardOutcome(YooKassaStatus.CANCELED, "card_expired"),
}


def card_outcome(card_number: str) -> CardOutcome:
    digits = "".join(card_number.split())
    outcome = CARD_OUTCOMES.get(digits)
    if outcome is None:
        raise UnknownCard(digits)
    return outcome


def parse_money(value: Any, currency: Any, parameter: str = "amount") -> tuple[Decimal, str]:
    """Validate an amount as YooKassa does: positive, at most 2 decimals, known currency."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InvalidRequest(f"Invalid {parameter}.value", parameter=f"{parameter}.value")
    try:
        amount = Decimal(str(value).strip())
    except ArithmeticError as exc:
        raise InvalidRequest(f"Invalid {parameter}.value", f"{parameter}.value") from exc
    if not amount.is_finite() or amount <= 0 or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise InvalidRequest(
            f"{parameter}.value must be positive with at most 2 decimal places",
            parameter=f"{parameter}.value",
        )
    if not isinstance(currency, str) or currency not in CURRENCIES:
        raise InvalidRequest(f"Invalid {parameter}.currency", parameter=f"{parameter}.currency")
    return amount.quantize(CENT), currency


def money(value: Decimal, currency: str) -> dict[str, str]:
    return {"value": str(value.quantize(CENT)), "currency": currency}


@dataclass
class Payment:
    id: str
    idempotence_key: str
    status: YooKassaStatus
    amount: Decimal
    currency: str
    created_at: str
    return_url: str
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    refunded: Decimal = Decimal("0.00")
    captured_at: str | None = None
    card_last4: str | None = None
    cancellation_reason: str | None = None

    @property
    def refundable_left(self) -> Decimal:
        if self.status is not YooKassaStatus.SUCCEEDED:
            return Decimal("0.00")
        return self.amount - self.refunded

    def confirm(self, card_number: str) -> bool:
        """Apply the card; return False (and change nothing) if already final."""
        if not ALLOWED[self.status]:
            return False
        outcome = card_outcome(card_number)
        self.status = outcome.status
        self.card_last4 = "".join(card_number.split())[-4:]
        if outcome.status is YooKassaStatus.SUCCEEDED:
            self.captured_at = now_iso()
        self.cancellation_reason = outcome.reason
        return True

    def take_refund(self, amount: Decimal, currency: str) -> None:
        """Refunds are checked against what the provider itself recorded, never the request."""
        if self.status is not YooKassaStatus.SUCCEEDED:
            raise InvalidRequest(
                f"Payment {self.id} is {self.status}; only succeeded payments can be refunded",
                parameter="payment_id",
            )
        if currency != self.currency:
            raise InvalidRequest("Refund currency differs from payment", "amount.currency")
        if amount > self.refundable_left:
            raise InvalidRequest(
                f"Refund amount {amount} exceeds the amount left to refund {self.refundable_left}",
                parameter="amount.value",
            )
        self.refunded += amount


@dataclass(frozen=True)
class Refund:
    id: str
    payment_id: str
    idempotence_key: str
    amount: Decimal
    currency: str
    created_at: str
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    status: str = "succeeded"
