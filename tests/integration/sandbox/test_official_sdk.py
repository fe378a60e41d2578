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
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from yookassa import Configuration, Payment, Refund, Settings, Webhook
from yookassa.client import ApiClient
from yookassa.domain.exceptions import (
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    TooManyRequestsError,
    UnauthorizedError,
)
from yookassa.domain.notification import (
    RefundWebhookNotification,
    WebhookNotification,
    WebhookNotificationFactory,
)
from yookassa.domain.response import PaymentResponse, RefundResponse

from tests.integration.sandbox.conftest import (
    SECRET,
    SHOP_ID,
    SimulatorProcess,
    WebhookReceiver,
    provider_process,
)

RETURN_URL = "https://cinema.test/return"


def start(tmp: Any, receiver: WebhookReceiver, **env: str) -> Iterator[SimulatorProcess]:
    proc = provider_process(tmp, receiver)
    proc.env.update(env)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def plain(
    tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver
) -> Iterator[SimulatorProcess]:
    """A provider as ``make up`` runs it: receipts off, default clocks."""
    yield from start(tmp_path_factory.mktemp("plain"), receiver)


@pytest.fixture(scope="module")
def fiscal(
    tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver
) -> Iterator[SimulatorProcess]:
    """A 54-FZ shop: every payment and refund needs a receipt."""
    env = {"PROVIDER_RECEIPTS_REQUIRED": "1", "PROVIDER_RECEIPT_DELAY_S": "0.2"}
    yield from start(tmp_path_factory.mktemp("fiscal"), receiver, **env)


@pytest.fixture(scope="module")
def timers(
    tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver
) -> Iterator[SimulatorProcess]:
    """Short clocks: unpaid payments expire after 1 s, pending refunds settle after 0.3 s."""
    env = {
        "PROVIDER_PAYMENT_EXPIRY_S": "1",
        "PROVIDER_REFUND_SETTLE_S": "0.3",
        "PROVIDER_SWEEP_INTERVAL_S": "0.1",
    }
    yield from start(tmp_path_factory.mktemp("timers"), receiver, **env)


def use(proc: SimulatorProcess, secret: str = SECRET) -> None:
    Configuration.configure(SHOP_ID, secret, api_url=f"{proc.url}/v3")


def hook(proc: SimulatorProcess, path: str, body: dict[str, Any] | None = None) -> Any:
    response = httpx.post(f"{proc.url}/sandbox{path}", json=body or {}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def our_payment_body(value: str = "499.00", **extra: Any) -> dict[str, Any]:
    """Exactly what ``processors/provider/yookassa.py`` sends to create a payment."""
    body: dict[str, Any] = {
        "amount": {"value": value, "currency": "RUB"},
        "capture": True,
        "confirmation": {"type": "redirect", "return_url": RETURN_URL},
        "metadata": {"payment_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4())},
        "description": "Monthly subscription",
    }
    return {**body, **extra}


def receipt(value: str) -> dict[str, Any]:
    return {
        "customer": {"email": "viewer@cinema.test"},
        "items": [
            {
                "description": "Monthly subscription",
                "quantity": "1.00",
                "amount": {"value": value, "currency": "RUB"},
                "vat_code": 1,
                "payment_mode": "full_payment",
                "payment_subject": "service",
            }
        ],
    }


def paid(proc: SimulatorProcess, card: str = "4242424242424242", **extra: Any) -> PaymentResponse:
    created = Payment.create(our_payment_body(**extra), str(uuid.uuid4()))
    hook(proc, f"/payments/{created.id}/confirm", {"card_number": card})
    return Payment.find_one(created.id)


def notifications(
    receiver: WebhookReceiver, object_id: str, count: int
) -> list[WebhookNotification]:
    """The object's webhooks as the SDK parses them (``WebhookNotificationFactory``)."""
    receiver.wait_for(object_id, count)
    with receiver.lock:
        bodies = [b for _, b, _ in receiver.received if b["object"]["id"] == object_id]
    return [WebhookNotificationFactory().create(body) for body in bodies]


def eventually(check: Callable[[], bool], within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


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
