"""What the provider says about a payment or a refund, in our terms.

Built at the edge (`yookassa.py`) from the provider's JSON: Decimal amounts, our own status
enums, our payment id from the metadata. The raw JSON rides along only to be stored as the
row's `external_payment` / `external_refund` jsonb; nothing reads fields out of it.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.payments import PaymentStatus
from domain.refunds import RefundStatus


def as_uuid(value: object) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


@dataclass(frozen=True)
class SavedCard:
    """A card the provider saved for later charges (`save_payment_method`), as YooKassa's
    `payment_method` describes it: its id is what an autopayment charges."""

    payment_method_id: str
    last4: str | None
    expiry: str | None  # "MM/YYYY"


@dataclass(frozen=True)
class ProviderPayment:
    id: str  # the provider's id, as it gave it
    status: PaymentStatus
    amount: Decimal | None  # None when the provider's amount is unreadable
    currency: str
    our_payment_id: UUID | None  # the payment_id we put in its metadata
    confirmation_url: str | None = None
    cancellation_reason: str = ""
    saved_card: SavedCard | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def external_id(self) -> UUID | None:
        return as_uuid(self.id)


@dataclass(frozen=True)
class ProviderRefund:
    id: str
    payment_id: str  # the provider's id of the refunded payment
    status: RefundStatus
    amount: Decimal | None
    currency: str
    cancellation_reason: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # the refund of ours its description names (`descriptions.refund_id_in`); None: not ours
    our_refund_id: UUID | None = None

    @property
    def external_id(self) -> UUID | None:
        return as_uuid(self.id)
