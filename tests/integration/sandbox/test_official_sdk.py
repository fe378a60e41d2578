"""The official ``yookassa`` SDK as the oracle: it must not tell the sandbox from YooKassa.

A real provider process is driven only through the SDK (``Configuration.configure(...,
api_url=".../v3")``) for every call our client makes and every call the sandbox supports;
``/sandbox/`` hooks stand in for the person on the payment page. Every webhook the sandbox
sends in these tests is parsed with ``WebhookNotificationFactory``. Where the SDK and the
sandbox disagree, the sandbox is wrong. The SDK is synchronous (requests), so these tests are.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from yookassa import Payment, Refund
from yookassa.domain.exceptions import (
    BadRequestError,
)
from yookassa.domain.notification import (
    RefundWebhookNotification,
)
from yookassa.domain.response import PaymentResponse, RefundResponse

from tests.integration.sandbox.conftest import (
    SimulatorProcess,
    WebhookReceiver,
)
from tests.integration.sandbox.sdk_support import (
    hook,
    notifications,
    our_payment_body,
    paid,
    use,
)


def test_our_clients_payment_flow(plain: SimulatorProcess, receiver: WebhookReceiver) -> None:
    use(plain)
    key, body = str(uuid.uuid4()), our_payment_body()
    created = Payment.create(body, key)
    assert created.status == "pending"
    assert created.paid is False
    assert created.confirmation.confirmation_url == f"{plain.url}/checkout/{created.id}"
    assert created.metadata["payment_id"] == body["metadata"]["payment_id"]
    assert Payment.create(body, key).id == created.id
    hook(plain, f"/payments/{created.id}/confirm", {"card_number": "4242424242424242"})
    payment = Payment.find_one(created.id)
    assert (payment.status, payment.paid, payment.refundable) == ("succeeded", True, True)
    assert payment.payment_method.card.last4 == "4242"
    assert payment.payment_method.saved is False
    [event] = notifications(receiver, created.id, 1)
    assert event.event == "payment.succeeded"
    assert isinstance(event.object, PaymentResponse)
    assert event.object.status == "succeeded"


def test_declined_card_reason_is_one_the_sdk_knows(
    plain: SimulatorProcess, receiver: WebhookReceiver
) -> None:
    use(plain)
    for card, reason in [
        ("4000000000000002", "card_expired"),
        ("4000000000000051", "insufficient_funds"),
        ("4000000000009235", "fraud_suspected"),
    ]:
        payment = paid(plain, card)
        assert payment.status == "canceled"
        assert payment.cancellation_details.reason == reason  # the SDK maps unknown ones away
        [event] = notifications(receiver, payment.id, 1)
        assert event.event == "payment.canceled"
        assert event.object.cancellation_details.reason == reason


def test_full_and_partial_refunds(plain: SimulatorProcess, receiver: WebhookReceiver) -> None:
    use(plain)
    payment = paid(plain)
    first = Refund.create(
        {
            "payment_id": payment.id,
            "amount": {"value": "100.00", "currency": "RUB"},
            "description": f"Refund {uuid.uuid4()}",
        },
        str(uuid.uuid4()),
    )
    assert (first.status, first.amount.value) == ("succeeded", Decimal("100.00"))
    rest = Refund.create(
        {"payment_id": payment.id, "amount": {"value": "399.00", "currency": "RUB"}},
        str(uuid.uuid4()),
    )
    assert Refund.find_one(rest.id).payment_id == payment.id
    assert Payment.find_one(payment.id).refunded_amount.value == Decimal("499.00")
    with pytest.raises(BadRequestError) as refused:
        Refund.create(
            {"payment_id": payment.id, "amount": {"value": "0.01", "currency": "RUB"}},
            str(uuid.uuid4()),
        )
    assert (refused.value.error.code, refused.value.error.parameter) == (
        "invalid_request",
        "amount.value",
    )
    [event] = notifications(receiver, first.id, 1)
    assert isinstance(event, RefundWebhookNotification)
    assert isinstance(event.object, RefundResponse)
    assert event.object.status == "succeeded"


def test_saved_card_and_autopayments(plain: SimulatorProcess, receiver: WebhookReceiver) -> None:
    use(plain)
    first = paid(plain, save_payment_method=True)
    method = first.payment_method
    assert (method.type, method.saved, method.card.last4) == ("bank_card", True, "4242")
    assert (method.card.expiry_month, method.card.expiry_year) == ("12", "2030")
    hook(plain, f"/payment_methods/{method.id}", {"next_results": ["insufficient_funds"]})
    outcomes = []
    for _ in range(2):
        renewal = Payment.create(
            {
                "amount": {"value": "499.00", "currency": "RUB"},
                "capture": True,
                "payment_method_id": method.id,
                "description": "Renewal",
                "metadata": {"subscription_id": str(uuid.uuid4()), "period": "2"},
            },
            str(uuid.uuid4()),
        )
        assert renewal.confirmation is None
        outcomes.append((renewal.status, renewal.cancellation_details))
        [event] = notifications(receiver, renewal.id, 1)
        assert event.object.status == renewal.status
    assert outcomes[0][0] == "canceled"
    assert (outcomes[0][1].party, outcomes[0][1].reason) == (
        "payment_network",
        "insufficient_funds",
    )
    assert outcomes[1] == ("succeeded", None)
    hook(plain, f"/payment_methods/{method.id}", {"revoked": True})
    revoked = Payment.create(
        {
            "amount": {"value": "1.00", "currency": "RUB"},
            "capture": True,
            "payment_method_id": method.id,
        },
        str(uuid.uuid4()),
    )
    assert revoked.cancellation_details.reason == "permission_revoked"


def test_insufficient_funds_card_saves_a_card_that_later_declines(plain: SimulatorProcess) -> None:
    use(plain)
    first = paid(plain, "4000000000009995", save_payment_method=True)
    assert first.status == "succeeded"
    renewal = Payment.create(
        {
            "amount": {"value": "499.00", "currency": "RUB"},
            "capture": True,
            "payment_method_id": first.payment_method.id,
        },
        str(uuid.uuid4()),
    )
    assert (renewal.status, renewal.cancellation_details.reason) == (
        "canceled",
        "insufficient_funds",
    )


def test_lists_page_with_cursor(plain: SimulatorProcess) -> None:
    use(plain)
    since = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 1))
    created = [Payment.create(our_payment_body(f"{n}.00"), str(uuid.uuid4())).id for n in (1, 2, 3)]
    seen: list[str] = []
    params: dict[str, Any] = {"created_at.gte": since, "limit": 2}
    while True:
        page = Payment.list(params)
        assert page.type == "list"
        seen += [item.id for item in page.items]
        if not page.next_cursor:
            break
        params["cursor"] = page.next_cursor
    assert [i for i in seen if i in created] == created[::-1]
    payment = paid(plain)
    for value in ("1.00", "2.00"):
        Refund.create(
            {"payment_id": payment.id, "amount": {"value": value, "currency": "RUB"}},
            str(uuid.uuid4()),
        )
    refunds = Refund.list({"payment_id": payment.id})
    assert [r.amount.value for r in refunds.items] == [Decimal("2.00"), Decimal("1.00")]


def test_two_stage_capture_and_cancel(plain: SimulatorProcess, receiver: WebhookReceiver) -> None:
    use(plain)
    held = Payment.create(our_payment_body("10.00", capture=False), str(uuid.uuid4()))
    hook(plain, f"/payments/{held.id}/confirm", {"card_number": "4242424242424242"})
    assert Payment.find_one(held.id).status == "waiting_for_capture"
    captured = Payment.capture(
        held.id, {"amount": {"value": "7.00", "currency": "RUB"}}, str(uuid.uuid4())
    )
    assert (captured.status, captured.amount.value) == ("succeeded", Decimal("7.00"))
    events = notifications(receiver, held.id, 2)
    assert [e.event for e in events] == ["payment.waiting_for_capture", "payment.succeeded"]
    other = Payment.create(our_payment_body("10.00", capture=False), str(uuid.uuid4()))
    hook(plain, f"/payments/{other.id}/confirm", {"card_number": "4242424242424242"})
    canceled = Payment.cancel(other.id, str(uuid.uuid4()))
    assert (canceled.status, canceled.cancellation_details.reason) == (
        "canceled",
        "canceled_by_merchant",
    )
