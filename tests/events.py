"""Billing's events as the tests build them, one builder per kind: the fields a test does
not name get values no rule acts on. The message id is the relay's (derived from the type
and the payment) unless one is given."""

import uuid
from decimal import Decimal

from schemas import ids
from schemas.messages import PaymentFailed, PaymentPending

AMOUNT = Decimal("499.00")


def payment_pending(
    user_id: uuid.UUID | None = None,
    payment_id: uuid.UUID | None = None,
    message_id: uuid.UUID | None = None,
    confirmation_url: str = "https://pay.example/checkout/x",
) -> PaymentPending:
    """The payment's page is ready."""
    payment = payment_id or uuid.uuid4()
    return PaymentPending(
        message_id=message_id or ids.message_id("PaymentPending", payment),
        payment_id=payment,
        user_id=user_id or uuid.uuid4(),
        plan_id="monthly",
        amount=AMOUNT,
        currency="RUB",
        external_id=uuid.uuid4(),
        confirmation_url=confirmation_url,
    )


def payment_failed(user_id: uuid.UUID | None = None) -> PaymentFailed:
    """A payment of its own (a new id) failed."""
    payment = uuid.uuid4()
    return PaymentFailed(
        message_id=ids.message_id("PaymentFailed", payment),
        payment_id=payment,
        user_id=user_id or uuid.uuid4(),
        plan_id="monthly",
        amount=AMOUNT,
        currency="RUB",
        reason="test",
    )
