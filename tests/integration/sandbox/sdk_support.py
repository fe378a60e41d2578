"""Helpers for the official-SDK suites: SDK set-up, our client's bodies, webhook parsing."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from yookassa import Configuration, Payment
from yookassa.domain.notification import (
    WebhookNotification,
    WebhookNotificationFactory,
)
from yookassa.domain.response import PaymentResponse

from tests.integration.sandbox.conftest import (
    SECRET,
    SHOP_ID,
    SimulatorProcess,
    WebhookReceiver,
)

RETURN_URL = "https://cinema.test/return"


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
