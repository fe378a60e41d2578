"""Payments and refunds as the provider keeps them; pure, no I/O.

Money is ``Decimal`` quantised to kopecks; it crosses the wire as a string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sandbox.clock import now_iso
from sandbox.provider.cards import SandboxCard, find_card, party
from sandbox.provider.errors import InvalidRequest

CENT = Decimal("0.01")
CURRENCIES = frozenset({"RUB", "USD", "EUR", "BYN", "KZT", "UZS", "AMD", "GEL", "KGS", "TRY"})


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


ALLOWED: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.PENDING: frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED}),
    PaymentStatus.SUCCEEDED: frozenset(),
    PaymentStatus.CANCELED: frozenset(),
}


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
    status: PaymentStatus
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
    save_payment_method: bool = False
    payment_method_id: str | None = None
    """The saved card this payment created (``save_payment_method``) or charged (autopayment)."""
    card: dict[str, str] = field(default_factory=dict)
    """Snapshot of the card: ``first6``, ``last4``, ``expiry_month``, ``expiry_year``."""
    cancellation_party: str | None = None

    @property
    def has_confirmation(self) -> bool:
        """An autopayment has no ``confirmation``: nobody is there to confirm it."""
        return bool(self.return_url)

    @property
    def refundable_left(self) -> Decimal:
        if self.status is not PaymentStatus.SUCCEEDED:
            return Decimal("0.00")
        return self.amount - self.refunded

    def confirm(self, card_number: str) -> SandboxCard | None:
        """Apply the card the person typed; ``None`` (and no change) if already final."""
        if not ALLOWED[self.status]:
            return None
        card = find_card(card_number)
        self.charge(card, card.decline)
        if self.save_payment_method and self.status is PaymentStatus.SUCCEEDED:
            self.payment_method_id = self.id
        return card

    def charge(self, card: SandboxCard, decline: str | None) -> None:
        """Settle the payment on ``card``: succeeded, or canceled with ``decline``."""
        self.card = {
            "first6": card.first6,
            "last4": card.last4,
            "expiry_month": card.expiry_month,
            "expiry_year": card.expiry_year,
        }
        self.card_last4 = card.last4
        if decline is None:
            self.status = PaymentStatus.SUCCEEDED
            self.captured_at = now_iso()
        else:
            self.cancel(decline)

    def cancel(self, reason: str) -> None:
        self.status = PaymentStatus.CANCELED
        self.cancellation_reason = reason
        self.cancellation_party = party(reason)

    def take_refund(self, amount: Decimal, currency: str) -> None:
        """Refunds are checked against what the provider itself recorded, never the request."""
        if self.status is not PaymentStatus.SUCCEEDED:
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
