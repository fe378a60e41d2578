"""The official ``yookassa`` SDK against the sandbox's shop-wide behaviour: 54-FZ receipts,
expiry and pending refunds, YooKassa's error objects, 403/429, ``/me`` and ``/webhooks``.
See ``test_official_sdk.py`` for why the SDK is the oracle."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import pytest
from yookassa import Payment, Refund, Settings, Webhook
from yookassa.client import ApiClient
from yookassa.domain.exceptions import (
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    TooManyRequestsError,
    UnauthorizedError,
)

from processors.provider.receipts import ReceiptLine, receipt_for, refund_receipt
from tests.integration.sandbox.conftest import (
    SHOP_ID,
    SimulatorProcess,
    WebhookReceiver,
)
from tests.integration.sandbox.sdk_support import (
    eventually,
    hook,
    notifications,
    our_payment_body,
    paid,
    receipt,
    use,
)


def test_receipts_are_required_and_registered(
    fiscal: SimulatorProcess, receiver: WebhookReceiver
) -> None:
    use(fiscal)
    with pytest.raises(BadRequestError) as refused:
        Payment.create(our_payment_body(), str(uuid.uuid4()))
    assert refused.value.error.parameter == "receipt"
    payment = paid(fiscal, save_payment_method=True, receipt=receipt("499.00"))
    assert payment.receipt_registration in {"pending", "succeeded"}
    eventually(lambda: Payment.find_one(payment.id).receipt_registration == "succeeded")
    refund = Refund.create(
        {
            "payment_id": payment.id,
            "amount": {"value": "99.00", "currency": "RUB"},
            "receipt": receipt("99.00"),
        },
        str(uuid.uuid4()),
    )
    assert refund.receipt_registration == "pending"
    renewal = Payment.create(
        {
            "amount": {"value": "499.00", "currency": "RUB"},
            "capture": True,
            "payment_method_id": payment.payment_method.id,
            "receipt": receipt("499.00"),
        },
        str(uuid.uuid4()),
    )
    assert renewal.status == "succeeded"
    assert notifications(receiver, renewal.id, 1)[0].object.receipt_registration == "pending"
    assert Settings.get_account_settings().fiscalization_enabled is True


def test_our_clients_receipts_are_accepted_and_none_is_refused_everywhere(
    fiscal: SimulatorProcess,
) -> None:
    """The receipts our client builds (processors/provider/receipts.py) for a payment, a
    partial refund and an autopayment pass the shop's checks through the SDK; the same calls
    without a receipt are 400 ``parameter: receipt``."""
    use(fiscal)
    line = ReceiptLine("Monthly subscription", Decimal(3), 4, "full_prepayment", "service")
    ours = receipt_for(True, line, Decimal("499.00"), "RUB", "viewer@cinema.test")
    payment = paid(fiscal, save_payment_method=True, receipt=ours)
    assert payment.status == "succeeded"
    part = refund_receipt(ours, Decimal("499.00"), Decimal("100.01"), "RUB")
    refund_body = {"payment_id": payment.id, "amount": {"value": "100.01", "currency": "RUB"}}
    with pytest.raises(BadRequestError) as bare_refund:
        Refund.create(refund_body, str(uuid.uuid4()))
    assert bare_refund.value.error.parameter == "receipt"
    assert Refund.create({**refund_body, "receipt": part}, str(uuid.uuid4())).status in {
        "succeeded",
        "pending",
    }
    autopayment = {
        "amount": {"value": "499.00", "currency": "RUB"},
        "capture": True,
        "payment_method_id": payment.payment_method.id,
    }
    with pytest.raises(BadRequestError) as bare_renewal:
        Payment.create(autopayment, str(uuid.uuid4()))
    assert bare_renewal.value.error.parameter == "receipt"
    renewal = Payment.create({**autopayment, "receipt": ours}, str(uuid.uuid4()))
    assert renewal.status == "succeeded"
    assert renewal.receipt_registration in {"pending", "succeeded"}


def test_unpaid_payment_expires_and_pending_refunds_settle(
    timers: SimulatorProcess, receiver: WebhookReceiver
) -> None:
    use(timers)
    unpaid = Payment.create(our_payment_body(), str(uuid.uuid4()))
    payment = paid(timers)
    eventually(lambda: Payment.find_one(unpaid.id).status == "canceled")
    assert Payment.find_one(unpaid.id).cancellation_details.reason == "expired_on_confirmation"
    [expired] = notifications(receiver, unpaid.id, 1)
    assert expired.event == "payment.canceled"
    hook(timers, "/faults", {"refund_pending_rate": 1.0})
    pending = Refund.create(
        {"payment_id": payment.id, "amount": {"value": "5.00", "currency": "RUB"}},
        str(uuid.uuid4()),
    )
    assert pending.status == "pending"
    eventually(lambda: Refund.find_one(pending.id).status == "succeeded")
    [settled] = notifications(receiver, pending.id, 1)
    assert (settled.event, settled.object.status) == ("refund.succeeded", "succeeded")
    hook(timers, "/faults", {"refund_pending_rate": 1.0, "refund_canceled_rate": 1.0})
    doomed = Refund.create(
        {"payment_id": payment.id, "amount": {"value": "5.00", "currency": "RUB"}},
        str(uuid.uuid4()),
    )
    eventually(lambda: Refund.find_one(doomed.id).status == "canceled")
    assert Refund.find_one(doomed.id).cancellation_details.reason == "general_decline"
    # YooKassa documents no refund.canceled event: the SDK parses it as a generic notification.
    [canceled] = notifications(receiver, doomed.id, 1)
    assert (canceled.event, canceled.object.id) == ("refund.canceled", doomed.id)
    httpx.delete(f"{timers.url}/sandbox/faults")


def test_errors_are_yookassa_error_objects(plain: SimulatorProcess) -> None:
    use(plain)
    with pytest.raises(NotFoundError) as missing:
        Payment.find_one(str(uuid.uuid4()))
    assert (missing.value.error.type, missing.value.error.code) == ("error", "not_found")
    with pytest.raises(NotFoundError) as no_route:
        ApiClient().request("GET", "/payouts")
    assert no_route.value.error.code == "not_found"
    with pytest.raises(BadRequestError) as unsupported:
        body = {**our_payment_body(), "merchant_customer_id": "42"}
        ApiClient().request("POST", "/payments", None, {"Idempotence-Key": "k1"}, body)
    assert unsupported.value.error.parameter == "merchant_customer_id"
    use(plain, secret="wrong")
    with pytest.raises(UnauthorizedError):
        Payment.find_one(str(uuid.uuid4()))


def test_forbidden_and_too_many_requests(plain: SimulatorProcess) -> None:
    use(plain)
    hook(plain, "/faults", {"forbidden_rate": 1.0})
    with pytest.raises(ForbiddenError) as forbidden:
        Payment.create(our_payment_body(), str(uuid.uuid4()))
    assert forbidden.value.error.code == "forbidden"
    hook(plain, "/faults", {"too_many_requests_rate": 1.0, "retry_after_s": 2})
    with pytest.raises(TooManyRequestsError) as throttled:
        Payment.find_one(str(uuid.uuid4()))
    assert (throttled.value.error.code, throttled.value.error.retry_after) == (
        "too_many_requests",
        2000,
    )
    httpx.delete(f"{plain.url}/sandbox/faults")


def test_account_settings_and_webhook_list(
    plain: SimulatorProcess, receiver: WebhookReceiver
) -> None:
    use(plain)
    me = Settings.get_account_settings()
    assert (me.account_id, me.test, me.fiscalization_enabled) == (SHOP_ID, True, False)
    hooks = Webhook.list()
    assert {item.url for item in hooks.items} == {receiver.url}
    assert "payment.succeeded" in {item.event for item in hooks.items}
