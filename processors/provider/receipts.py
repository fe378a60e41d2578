"""54-FZ receipts our client attaches to payments, refunds and autopayments (issue 11).

Not wired into the client yet: ``create_payment``/``create_refund`` are being reshaped (typed
provider objects), and the receipt needs the customer's contact carried from the gateway
(the JWT ``email`` claim, or the request's optional ``email``) through the command. What is
here is the part that does not depend on that: who the receipt goes to, and what it says.

A YooKassa shop with receipts on refuses a payment or refund without a valid one (400,
``parameter: receipt``); the items must add up to exactly the amount, so a refund's receipt
is built for the refunded amount, not the payment's.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.errors import DomainError

DESCRIPTION_MAX = 128


class ReceiptContactRequired(DomainError):
    """Receipts are on and the customer has no email: nothing may be charged (422)."""


@dataclass(frozen=True)
class ReceiptPolicy:
    """What every receipt line says; configurable per plan in the admin later."""

    enabled: bool = True
    vat_code: int = 1
    payment_mode: str = "full_payment"
    payment_subject: str = "service"
    tax_system_code: int | None = None


def customer_email(token_email: str | None, request_email: str | None) -> str | None:
    """The request's ``email`` when the user gave one, else the token's ``email`` claim."""
    for email in (request_email, token_email):
        if email and email.strip():
            return email.strip()
    return None


def receipt_for(
    policy: ReceiptPolicy, description: str, amount: Decimal, currency: str, email: str | None
) -> dict[str, Any] | None:
    """One line for the whole amount, or ``None`` when receipts are off.

    Raises ``ReceiptContactRequired`` before anything is sent when receipts are on and there
    is no email: a shop with receipts on would refuse the charge anyway."""
    if not policy.enabled:
        return None
    if email is None:
        raise ReceiptContactRequired("a receipt needs the customer's email")
    receipt: dict[str, Any] = {
        "customer": {"email": email},
        "items": [
            {
                "description": description[:DESCRIPTION_MAX] or "Subscription",
                "quantity": "1.00",
                "amount": {"value": f"{amount:.2f}", "currency": currency},
                "vat_code": policy.vat_code,
                "payment_mode": policy.payment_mode,
                "payment_subject": policy.payment_subject,
            }
        ],
    }
    if policy.tax_system_code is not None:
        receipt["tax_system_code"] = policy.tax_system_code
    return receipt
