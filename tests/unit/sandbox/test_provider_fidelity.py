"""YooKassa's error object everywhere; unsupported fields refused; 403/429; /me, /webhooks."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.unit.sandbox.conftest import SHOP_ID, WebhookInbox, new_key, payment_body


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert "detail" not in body
    assert body["type"] == "error"
    assert body["code"] == code
    uuid.UUID(body["id"])
    return body


async def create(client: httpx.AsyncClient, body: dict[str, object]) -> httpx.Response:
    return await client.post("/v3/payments", json=body, headers={"Idempotence-Key": new_key()})


async def test_unknown_routes_and_methods_answer_error_objects(provider: httpx.AsyncClient) -> None:
    assert_error(await provider.get("/v3/payouts"), 404, "not_found")
    assert_error(await provider.get("/nowhere"), 404, "not_found")
    assert_error(await provider.delete("/v3/payments"), 405, "invalid_request")
    assert_error(await provider.put(f"/v3/refunds/{uuid.uuid4()}"), 405, "invalid_request")
    assert_error(await provider.get(f"/v3/payments/{uuid.uuid4()}"), 404, "not_found")


@pytest.mark.parametrize(
    ("extra", "parameter"),
    [
        ({"merchant_customer_id": "42"}, "merchant_customer_id"),
        ({"transfers": [{"account_id": "1"}]}, "transfers"),
        (
            {"confirmation": {"type": "redirect", "return_url": "x", "locale": "en_US"}},
            "confirmation.locale",
        ),
        ({"amount": {"value": "1.00", "currency": "RUB", "extra": 1}}, "amount.extra"),
        ({"payment_method_data": {"type": "sbp"}}, "payment_method_data.type"),
        ({"payment_method_data": {"type": "bank_card", "card": {}}}, "payment_method_data.card"),
        ({"capture": "yes"}, "capture"),
    ],
)
async def test_unsupported_payment_fields_are_refused(
    provider: httpx.AsyncClient, extra: dict[str, object], parameter: str
) -> None:
    body = assert_error(await create(provider, payment_body(**extra)), 400, "invalid_request")
    assert body["parameter"] == parameter
    assert (await provider.get("/sandbox/ledger")).json()["payments"] == []


async def test_sdk_defaults_for_unused_fields_are_accepted(provider: httpx.AsyncClient) -> None:
    extra = {
        "transfers": [],
        "statements": [],
        "sources": None,
        "payment_method_data": {"type": "bank_card"},
    }
    response = await create(provider, payment_body(**extra))
    assert response.status_code == 200, response.text


async def test_unsupported_refund_field_is_refused(provider: httpx.AsyncClient) -> None:
    body = {
        "payment_id": str(uuid.uuid4()),
        "amount": {"value": "1.00", "currency": "RUB"},
        "refund_method_data": {"type": "sbp"},
    }
    response = await provider.post("/v3/refunds", json=body, headers={"Idempotence-Key": new_key()})
    assert assert_error(response, 400, "invalid_request")["parameter"] == "refund_method_data"


async def test_forbidden_and_too_many_requests_faults(provider: httpx.AsyncClient) -> None:
    await provider.post("/sandbox/faults", json={"forbidden_rate": 1.0})
    assert_error(await create(provider, payment_body()), 403, "forbidden")
    await provider.post("/sandbox/faults", json={"too_many_requests_rate": 1.0, "retry_after_s": 7})
    response = await provider.get(f"/v3/payments/{uuid.uuid4()}")
    assert_error(response, 429, "too_many_requests")
    assert response.headers["Retry-After"] == "7"
    await provider.delete("/sandbox/faults")
    assert (await provider.get("/sandbox/ledger")).json()["payments"] == []


async def test_me_and_webhooks_describe_the_shop(
    provider: httpx.AsyncClient, webhook_inbox: WebhookInbox
) -> None:
    me = (await provider.get("/v3/me")).json()
    assert me["account_id"] == SHOP_ID
    assert me["test"] is True
    assert me["fiscalization_enabled"] is False
    hooks = (await provider.get("/v3/webhooks")).json()
    assert hooks["type"] == "list"
    assert {h["event"] for h in hooks["items"]} >= {"payment.succeeded", "refund.succeeded"}
    assert {h["url"] for h in hooks["items"]} == {webhook_inbox.url}  # the configured URL
    assert_error(await provider.post("/v3/webhooks", json={}), 405, "invalid_request")


async def test_sandbox_hook_validation_answers_error_object(provider: httpx.AsyncClient) -> None:
    response = await provider.post(f"/sandbox/payments/{uuid.uuid4()}/confirm", json={})
    assert assert_error(response, 400, "invalid_request")["parameter"] == "card_number"
