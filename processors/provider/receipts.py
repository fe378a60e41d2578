"""54-FZ receipts our client attaches to payments, refunds and autopayments (issue 11).

Who builds which receipt, and when, so that every attempt of one payment or refund sends the
same body under the same ``Idempotence-Key`` (the provider refuses another body):

* a payment's receipt is built by the gateway when it accepts the payment (the customer's
  email is known only there: the request's ``email`` or the token's ``email`` claim) and is
  stored on the row; the processor sends the stored one;
* an autopayment's is built when the renewal's payment row is inserted, for the email stored
  with the subscription's earlier payments, and stored on that row;
* a refund's is derived from its payment's stored receipt when the refund's money is
  reserved, and stored on the refund row.

A YooKassa shop with receipts on refuses a payment or refund without a valid one (400,
``parameter: receipt``); the items must add up to exactly the amount, so a refund's receipt
is built for the refunded amount, not the payment's.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.errors import DomainError

DESCRIPTION_MAX = 128
CENT = Decimal("0.01")
ONE = Decimal(1)


class ReceiptContactRequired(DomainError):
    """Receipts are on and the customer has no email: nothing may be charged (422)."""


@dataclass(frozen=True)
class ReceiptLine:
    """What a plan's receipt line says: per plan, edited in the admin (``plans.receipt_*``)."""

    description: str
    quantity: Decimal = ONE
    vat_code: int = 1
    payment_mode: str = "full_payment"
    payment_subject: str = "service"

    @classmethod
    def of_plan(cls, title: str, fields: dict[str, Any]) -> "ReceiptLine":
        """From a plan row's ``receipt_*`` columns; an empty description is the plan's title."""
        return cls(
            description=(fields.get("receipt_description") or title or "Subscription"),
            quantity=Decimal(fields.get("receipt_quantity") or ONE),
            vat_code=int(fields.get("receipt_vat_code") or 1),
            payment_mode=str(fields.get("receipt_payment_mode") or "full_payment"),
            payment_subject=str(fields.get("receipt_payment_subject") or "service"),
        )


def customer_email(token_email: str | None, request_email: str | None) -> str | None:
    """The request's ``email`` when the user gave one, else the token's ``email`` claim."""
    for email in (request_email, token_email):
        if isinstance(email, str) and email.strip():
            return email.strip()
    return None


def receipt_for(
    enabled: bool, line: ReceiptLine, amount: Decimal, currency: str, email: str | None
) -> dict[str, Any] | None:
    """The receipt of a payment of ``amount``, or ``None`` when receipts are off.

    Raises ``ReceiptContactRequired`` before anything is sent when receipts are on and there
    is no email: a shop with receipts on would refuse the charge anyway."""
    if not enabled:
        return None
    if email is None:
        raise ReceiptContactRequired("a receipt needs the customer's email")
    return {"customer": {"email": email}, "items": [_item(line, amount, currency)]}


def refund_receipt(
    paid: dict[str, Any] | None, paid_amount: Decimal, amount: Decimal, currency: str
) -> dict[str, Any] | None:
    """The receipt of a refund of ``amount`` of a payment sent with receipt ``paid``.

    A full refund returns the payment's lines as they were; a partial one is one line of the
    same kind (description, VAT, mode, subject), quantity 1, for exactly the refunded amount.
    """
    if paid is None:
        return None
    if amount == paid_amount:
        return {"customer": dict(paid["customer"]), "items": [dict(i) for i in paid["items"]]}
    first = paid["items"][0]
    item = {**first, "quantity": "1", "amount": {"value": f"{amount:.2f}", "currency": currency}}
    return {"customer": dict(paid["customer"]), "items": [item]}


def _item(line: ReceiptLine, amount: Decimal, currency: str) -> dict[str, Any]:
    quantity, price = _split(amount, line.quantity)
    return {
        "description": line.description[:DESCRIPTION_MAX],
        "quantity": f"{quantity.normalize():f}",
        "amount": {"value": f"{price:.2f}", "currency": currency},
        "vat_code": line.vat_code,
        "payment_mode": line.payment_mode,
        "payment_subject": line.payment_subject,
    }


def _split(amount: Decimal, quantity: Decimal) -> tuple[Decimal, Decimal]:
    """(quantity, unit price) adding up to exactly ``amount``: the plan's quantity when the
    amount divides into whole kopecks by it, otherwise one unit at the whole amount (a
    receipt whose lines miss the amount by a kopeck is refused)."""
    try:
        price = (amount / quantity).quantize(CENT)
    except (InvalidOperation, ZeroDivisionError):
        return ONE, amount
    if quantity <= 0 or (price * quantity).quantize(CENT) != amount:
        return ONE, amount
    return quantity, price
