"""Saved cards (``save_payment_method``), autopayments by ``payment_method_id``, card scripts."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.unit.sandbox.conftest import WebhookInbox, new_key, payment_body

INSUFFICIENT_LATER = "4000000000009995"


async def saved_card(client: httpx.AsyncClient, card: str = "4242424242424242") -> dict[str, Any]:
    """A payment made with the person present and the card saved; returns the paid payment."""
    body = payment_body("499.00", save_payment_method=True)
    created = await client.post("/v3/payments", json=body, headers={"Idempotence-Key": new_key()})
    assert created.status_code == 200, created.text
    confirmed = await client.post(
        f"/sandbox/payments/{created.json()['id']}/confirm", json={"card_number": card}
    )
    paid: dict[str, Any] = confirmed.json()
    return paid


def autopayment_body(method_id: str, value: str = "499.00") -> dict[str, object]:
    return {
        "amount": {"value": value, "currency": "RUB"},
        "capture": True,
        "payment_method_id": method_id,
        "description": "Renewal",
        "metadata": {"subscription_id": str(uuid.uuid4()), "period": "2"},
    }


async def charge(
    client: httpx.AsyncClient, method_id: str, body: dict[str, object] | None = None, key: str = ""
) -> httpx.Response:
    return await client.post(
        "/v3/payments",
        json=body or autopayment_body(method_id),
        headers={"Idempotence-Key": key or new_key()},
    )


async def test_saved_card_is_on_the_succeeded_payment(provider: httpx.AsyncClient) -> None:
    paid = await saved_card(provider)
    assert paid["status"] == "succeeded"
    method = paid["payment_method"]
    assert method["type"] == "bank_card"
    assert method["saved"] is True
    uuid.UUID(method["id"])
    assert method["card"]["last4"] == "4242"
    assert method["card"]["expiry_month"] == "12"
    assert method["card"]["expiry_year"] == "2030"


async def test_card_is_not_saved_without_consent_or_on_decline(
    provider: httpx.AsyncClient,
) -> None:
    declined = await saved_card(provider, "4000000000000002")
    assert declined["status"] == "canceled"
    assert declined["payment_method"]["saved"] is False
    response = await charge(provider, declined["payment_method"]["id"])
    assert response.status_code == 400
    assert response.json()["parameter"] == "payment_method_id"


async def test_autopayment_succeeds_at_once_with_webhook(
    provider: httpx.AsyncClient, webhook_inbox: WebhookInbox
) -> None:
    method_id = (await saved_card(provider))["payment_method"]["id"]
    response = await charge(provider, method_id)
    assert response.status_code == 200
    payment = response.json()
    assert payment["status"] == "succeeded"
    assert payment["paid"] is True
    assert "confirmation" not in payment
    assert payment["payment_method"]["id"] == method_id
    assert payment["payment_method"]["saved"] is True
    await webhook_inbox.wait_for(2)
    assert webhook_inbox.events(payment["id"]) == ["payment.succeeded"]


async def test_scripted_results_are_consumed_in_order_then_card_pays(
    provider: httpx.AsyncClient,
) -> None:
    method_id = (await saved_card(provider))["payment_method"]["id"]
    script = {"next_results": ["insufficient_funds", "general_decline", "succeeded"]}
    scripted = await provider.post(f"/sandbox/payment_methods/{method_id}", json=script)
    assert scripted.status_code == 200, scripted.text
    outcomes = [(await charge(provider, method_id)).json() for _ in range(4)]
    assert [p["status"] for p in outcomes] == ["canceled", "canceled", "succeeded", "succeeded"]
    assert outcomes[0]["cancellation_details"] == {
        "party": "payment_network",
        "reason": "insufficient_funds",
    }
    assert outcomes[1]["cancellation_details"]["reason"] == "general_decline"


async def test_revoked_card_declines_every_later_charge(provider: httpx.AsyncClient) -> None:
    method_id = (await saved_card(provider))["payment_method"]["id"]
    await provider.post(f"/sandbox/payment_methods/{method_id}", json={"revoked": True})
    for _ in range(2):
        payment = (await charge(provider, method_id)).json()
        assert payment["status"] == "canceled"
        assert payment["cancellation_details"]["reason"] == "permission_revoked"


async def test_insufficient_funds_test_card_pays_then_declines_autopayments(
    provider: httpx.AsyncClient,
) -> None:
    paid = await saved_card(provider, INSUFFICIENT_LATER)
    assert paid["status"] == "succeeded"
    renewal = (await charge(provider, paid["payment_method"]["id"])).json()
    assert renewal["status"] == "canceled"
    assert renewal["cancellation_details"]["reason"] == "insufficient_funds"


async def test_autopayment_replay_returns_same_payment_and_consumes_no_script(
    provider: httpx.AsyncClient,
) -> None:
    method_id = (await saved_card(provider))["payment_method"]["id"]
    await provider.post(
        f"/sandbox/payment_methods/{method_id}",
        json={"next_results": ["insufficient_funds", "succeeded"]},
    )
    key, body = new_key(), autopayment_body(method_id)
    first = (await charge(provider, method_id, body, key)).json()
    again = await charge(provider, method_id, body, key)
    assert again.json() == first
    assert first["cancellation_details"]["reason"] == "insufficient_funds"
    state = (await provider.get(f"/sandbox/payment_methods/{method_id}")).json()
    assert state["next_results"] == ["succeeded"]
    ledger = (await provider.get("/sandbox/ledger")).json()
    rows = [p for p in ledger["payments"] if p["idempotence_key"] == key]
    assert [(r["id"], r["autopayment"], r["payment_method_id"]) for r in rows] == [
        (first["id"], True, method_id)
    ]


async def test_autopayment_with_confirmation_or_unknown_method_is_refused(
    provider: httpx.AsyncClient,
) -> None:
    method_id = (await saved_card(provider))["payment_method"]["id"]
    body = {**autopayment_body(method_id), "confirmation": {"type": "redirect", "return_url": "x"}}
    response = await provider.post(
        "/v3/payments", json=body, headers={"Idempotence-Key": new_key()}
    )
    assert (response.status_code, response.json()["parameter"]) == (400, "confirmation")
    unknown = await charge(provider, str(uuid.uuid4()))
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "invalid_request"


async def test_script_refuses_unknown_result_and_unknown_method(
    provider: httpx.AsyncClient,
) -> None:
    method_id = (await saved_card(provider))["payment_method"]["id"]
    bad = await provider.post(
        f"/sandbox/payment_methods/{method_id}", json={"next_results": ["lucky"]}
    )
    assert bad.status_code == 400
    assert bad.json()["type"] == "error"
    missing = await provider.post(f"/sandbox/payment_methods/{uuid.uuid4()}", json={})
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
