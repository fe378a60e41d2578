"""Payments and refunds as the provider keeps them; pure, no I/O.

Money is ``Decimal`` quantised to kopecks; it crosses the wire as a string.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sandbox.clock import now_iso
from sandbox.provider.cards import SandboxCard, find_card, party
from sandbox.provider.errors import InvalidRequest

CENT = Decimal("0.01")
CURRENCIES = frozenset({"RUB", "USD", "EUR", "BYN", "KZT", "UZS", "AMD", "GEL", "KGS", "TRY"})


class YooKassaStatus(StrEnum):
    """YooKassa's own payment statuses on the wire (ours are `domain.payments.PaymentStatus`)."""

    PENDING = "pending"
    WAITING_FOR_CAPTURE = "waiting_for_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


ALLOWED: dict[YooKassaStatus, frozenset[YooKassaStatus]] = {
    YooKassaStatus.PENDING: frozenset(
        {YooKassaStatus.WAITING_FOR_CAPTURE, YooKassaStatus.SUCCEEDED, YooKassaStatus.CANCELED}
    ),
    YooKassaStatus.WAITING_FOR_CAPTURE: frozenset(
        {YooKassaStatus.SUCCEEDED, YooKassaStatus.CANCELED}
    ),
    YooKassaStatus.SUCCEEDED: frozenset(),
    YooKassaStatus.CANCELED: frozenset(),
}


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


@dataclass(frozen=True)
class Timing:
    """The provider's clocks (from settings), in seconds."""

    capture_expiry_s: float = 7 * 24 * 3600.0
    receipt_delay_s: float = 1.0


def receipt_registration(
    receipt: dict[str, Any] | None, registered_at: float | None, canceled: bool, now: float
) -> str | None:
    """``pending`` until the money moved and the fiscal operator answered, then ``succeeded``."""
    if receipt is None:
        return None
    if canceled:
        return "canceled"
    if registered_at is not None and now >= registered_at:
        return "succeeded"
    return "pending"


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
    save_payment_method: bool = False
    payment_method_id: str | None = None
    """The saved card this payment created (``save_payment_method``) or charged (autopayment)."""
    card: dict[str, str] = field(default_factory=dict)
    """Snapshot of the card: ``first6``, ``last4``, ``expiry_month``, ``expiry_year``."""
    cancellation_party: str | None = None
    capture: bool = True
    """``False``: two-stage, the card is only authorised (``waiting_for_capture``)."""
    receipt: dict[str, Any] | None = None
    receipt_registered_at: float | None = None
    expires_at: float | None = None
    """Epoch deadline of a ``pending`` (confirmation) or ``waiting_for_capture`` payment."""
    refund_pending: Decimal = Decimal("0.00")
    """Reserved by refunds that are still ``pending``."""

    @property
    def has_confirmation(self) -> bool:
        """An autopayment has no ``confirmation``: nobody is there to confirm it."""
        return bool(self.return_url)

    @property
    def refundable_left(self) -> Decimal:
        if self.status is not YooKassaStatus.SUCCEEDED:
            return Decimal("0.00")
        return self.amount - self.refunded - self.refund_pending

    def confirm(self, card_number: str, timing: Timing) -> SandboxCard | None:
        """Apply the card the person typed; ``None`` (and no change) if already past it."""
        if self.status is not YooKassaStatus.PENDING:
            return None
        card = find_card(card_number)
        self.charge(card, card.decline, timing)
        if self.save_payment_method and self.status is not YooKassaStatus.CANCELED:
            self.payment_method_id = self.id
        return card

    def charge(self, card: SandboxCard, decline: str | None, timing: Timing) -> None:
        """Settle the card: canceled with ``decline``, else captured or (two-stage) authorised."""
        self.card = {
            "first6": card.first6,
            "last4": card.last4,
            "expiry_month": card.expiry_month,
            "expiry_year": card.expiry_year,
        }
        self.card_last4 = card.last4
        if decline is not None:
            self.cancel(decline)
        elif self.capture:
            self._succeed(timing)
        else:
            self.status = YooKassaStatus.WAITING_FOR_CAPTURE
            self.expires_at = time.time() + timing.capture_expiry_s

    def capture_funds(
        self, amount: Decimal, receipt: dict[str, Any] | None, timing: Timing
    ) -> None:
        """Second stage: take ``amount`` (at most what was authorised) of the held money."""
        self._require(YooKassaStatus.WAITING_FOR_CAPTURE, "captured")
        if amount > self.amount:
            raise InvalidRequest(
                f"Capture amount {amount} exceeds the authorised {self.amount}", "amount.value"
            )
        self.amount = amount
        if receipt is not None:
            self.receipt = receipt
        self._succeed(timing)

    def cancel_by_merchant(self) -> None:
        self._require(YooKassaStatus.WAITING_FOR_CAPTURE, "canceled")
        self.cancel("canceled_by_merchant")

    def expire(self, now: float) -> bool:
        """Cancel an unpaid or uncaptured payment past its deadline; False if not due."""
        if self.expires_at is None or now < self.expires_at:
            return False
        if self.status is YooKassaStatus.PENDING:
            self.cancel("expired_on_confirmation")
        elif self.status is YooKassaStatus.WAITING_FOR_CAPTURE:
            self.cancel("expired_on_capture")
        else:
            return False
        return True

    def cancel(self, reason: str) -> None:
        self.status = YooKassaStatus.CANCELED
        self.expires_at = None
        self.cancellation_reason = reason
        self.cancellation_party = party(reason)

    def take_refund(self, amount: Decimal, currency: str, pending: bool) -> None:
        """Refunds are checked against what the provider itself recorded, never the request.

        A pending refund reserves its amount at once, so two refunds can never together
        exceed the payment while one of them is still settling."""
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
        if pending:
            self.refund_pending += amount
        else:
            self.refunded += amount

    def settle_refund(self, amount: Decimal, succeeded: bool) -> None:
        self.refund_pending -= amount
        if succeeded:
            self.refunded += amount

    def _succeed(self, timing: Timing) -> None:
        self.status = YooKassaStatus.SUCCEEDED
        self.captured_at = now_iso()
        self.expires_at = None
        if self.receipt is not None:
            self.receipt_registered_at = time.time() + timing.receipt_delay_s

    def _require(self, status: YooKassaStatus, verb: str) -> None:
        if self.status is not status:
            raise InvalidRequest(
                f"Payment {self.id} is {self.status}; only a {status} payment can be {verb}",
                parameter="payment_id",
            )


@dataclass
class Refund:
    id: str
    payment_id: str
    idempotence_key: str
    amount: Decimal
    currency: str
    created_at: str
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    status: RefundStatus = RefundStatus.SUCCEEDED
    receipt: dict[str, Any] | None = None
    receipt_registered_at: float | None = None
    settle_at: float | None = None
    """When a ``pending`` refund settles, and how (``planned``: succeeded or canceled)."""
    planned: RefundStatus = RefundStatus.SUCCEEDED
    cancellation_reason: str | None = None

    def settle(self, status: RefundStatus, reason: str | None, timing: Timing) -> bool:
        """Move a pending refund to its final status; False if it is final already."""
        if self.status is not RefundStatus.PENDING or status is RefundStatus.PENDING:
            return False
        self.status = status
        self.settle_at = None
        if status is RefundStatus.CANCELED:
            self.cancellation_reason = reason or "general_decline"
        elif self.receipt is not None:
            self.receipt_registered_at = time.time() + timing.receipt_delay_s
        return True
