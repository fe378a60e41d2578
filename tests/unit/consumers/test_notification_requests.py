"""What the Notification service is asked to send, per event."""

import uuid
from decimal import Decimal

from consumers.notifications.handler import notification_for
from schemas.messages import PaymentPending, PaymentSucceeded, RefundFailed

USER, PAYMENT = uuid.uuid4(), uuid.uuid4()
COMMON = {"payment_id": PAYMENT, "user_id": USER, "plan_id": "monthly", "currency": "RUB"}


def test_payment_succeeded_is_sent_with_amount_as_string_and_message_id_as_dedup_key() -> None:
    event = PaymentSucceeded(
        message_id=uuid.uuid4(), amount=Decimal("499"), external_id=uuid.uuid4(), **COMMON
    )
    request = notification_for(event)
    assert request is not None
    assert request["template"] == "payment_succeeded"
    assert request["dedup_key"] == str(event.message_id) and request["user_id"] == str(USER)
    assert request["payload"]["amount"] == "499.00"
    assert request["payload"]["payment_id"] == str(PAYMENT)


def test_refund_failed_carries_the_reason() -> None:
    event = RefundFailed(
        message_id=uuid.uuid4(),
        refund_id=uuid.uuid4(),
        payment_id=PAYMENT,
        user_id=USER,
        amount=Decimal("1.50"),
        currency="RUB",
        reason="declined",
    )
    request = notification_for(event)
    assert request is not None and request["template"] == "refund_failed"
    assert request["payload"]["reason"] == "declined" and request["payload"]["amount"] == "1.50"


def test_pending_payments_are_not_notified() -> None:
    event = PaymentPending(
        message_id=uuid.uuid4(),
        amount=Decimal("499"),
        external_id=uuid.uuid4(),
        confirmation_url="https://x",
        **COMMON,
    )
    assert notification_for(event) is None
