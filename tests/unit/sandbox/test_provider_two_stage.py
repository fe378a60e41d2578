"""Two-stage payments: ``capture: false`` → ``waiting_for_capture`` → capture or cancel."""

from __future__ import annotations

from typing import Any

import httpx

from tests.unit.sandbox.conftest import WebhookInbox, new_key, payment_body


async def authorised(client: httpx.AsyncClient, value: str = "499.00") -> dict[str, Any]:
    body = payment_body(value, capture=False)
    created = await client.post("/v3/payments", json=body, headers={"Idempotence-Key": new_key()})
    assert created.status_code == 200, created.text
    confirmed = await client.post(
        f"/sandbox/payments/{created.json()['id']}/confirm",
        json={"card_number": "4242424242424242"},
    )
    payment: dict[str, Any] = confirmed.json()
    return payment


async def test_confirmed_two_stage_payment_waits_for_capture(
    provider: httpx.AsyncClient, webhook_inbox: WebhookInbox
) -> None:
    payment = await authorised(provider)
    assert payment["status"] == "waiting_for_capture"
    assert payment["paid"] is True
    assert payment["expires_at"].endswith("Z")
    assert "captured_at" not in payment
    await webhook_inbox.wait_for(1)
    assert webhook_inbox.events(payment["id"]) == ["payment.waiting_for_capture"]
    ledger = (await provider.get("/sandbox/ledger")).json()
    assert ledger["captured_total"] == "0.00"


async def test_partial_capture_takes_that_amount_once(
    provider: httpx.AsyncClient, webhook_inbox: WebhookInbox
) -> None:
    payment = await authorised(provider, "499.00")
    key, body = new_key(), {"amount": {"value": "300.00", "currency": "RUB"}}
    path = f"/v3/payments/{payment['id']}/capture"
    first = await provider.post(path, json=body, headers={"Idempotence-Key": key})
    again = await provider.post(path, json=body, headers={"Idempotence-Key": key})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "succeeded"
    assert first.json()["amount"] == {"value": "300.00", "currency": "RUB"}
    assert again.json() == first.json()
    assert (await provider.get("/sandbox/ledger")).json()["captured_total"] == "300.00"
    await webhook_inbox.wait_for(2)
    assert webhook_inbox.events(payment["id"]) == [
        "payment.waiting_for_capture",
        "payment.succeeded",
    ]


async def test_capture_without_body_takes_everything(provider: httpx.AsyncClient) -> None:
    payment = await authorised(provider, "10.00")
    response = await provider.post(
        f"/v3/payments/{payment['id']}/capture", headers={"Idempotence-Key": new_key()}
    )
    assert response.json()["status"] == "succeeded"
    assert response.json()["amount"]["value"] == "10.00"


async def test_cancel_releases_the_hold(provider: httpx.AsyncClient) -> None:
    payment = await authorised(provider)
    response = await provider.post(
        f"/v3/payments/{payment['id']}/cancel", json={}, headers={"Idempotence-Key": new_key()}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "canceled"
    assert response.json()["cancellation_details"] == {
        "party": "merchant",
        "reason": "canceled_by_merchant",
    }


async def test_capture_refused_unless_waiting_and_never_above_the_hold(
    provider: httpx.AsyncClient,
) -> None:
    payment = await authorised(provider, "10.00")
    path = f"/v3/payments/{payment['id']}/capture"
    over = {"amount": {"value": "10.01", "currency": "RUB"}}
    response = await provider.post(path, json=over, headers={"Idempotence-Key": new_key()})
    assert (response.status_code, response.json()["parameter"]) == (400, "amount.value")
    await provider.post(path, headers={"Idempotence-Key": new_key()})
    again = await provider.post(path, headers={"Idempotence-Key": new_key()})
    assert again.status_code == 400
    cancel = await provider.post(
        f"/v3/payments/{payment['id']}/cancel", headers={"Idempotence-Key": new_key()}
    )
    assert cancel.status_code == 400
    no_key = await provider.post(path)
    assert (no_key.status_code, no_key.json()["parameter"]) == (400, "Idempotence-Key")
