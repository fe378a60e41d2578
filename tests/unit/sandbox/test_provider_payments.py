"""POST/GET /v3/payments: wire format, idempotence, validation, authentication."""

from __future__ import annotations

import re
import uuid

import httpx

from tests.unit.sandbox.conftest import SHOP_ID, new_key, payment_body

ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def create(client: httpx.AsyncClient, body: dict[str, object], key: str) -> httpx.Response:
    return await client.post("/v3/payments", json=body, headers={"Idempotence-Key": key})


async def test_create_payment_returns_pending_yookassa_object(provider: httpx.AsyncClient) -> None:
    body = payment_body("499.00")
    response = await create(provider, body, new_key())
    assert response.status_code == 200
    payment = response.json()
    uuid.UUID(payment["id"])
    assert payment["status"] == "pending"
    assert payment["paid"] is False
    assert payment["amount"] == {"value": "499.00", "currency": "RUB"}
    assert payment["test"] is True
    assert payment["refundable"] is False
    assert ISO_MS_Z.match(payment["created_at"])
    assert payment["metadata"] == body["metadata"]
    assert payment["recipient"]["account_id"] == SHOP_ID
    assert payment["confirmation"] == {
        "type": "redirect",
        "confirmation_url": f"http://provider.test/checkout/{payment['id']}",
        "return_url": "https://cinema.test/return",
    }


async def test_same_key_same_body_returns_same_payment_without_new_row(
    provider: httpx.AsyncClient,
) -> None:
    body, key = payment_body(), new_key()
    first = (await create(provider, body, key)).json()
    second = await create(provider, body, key)
    assert second.status_code == 200
    assert second.json() == first
    ledger = (await provider.get("/sandbox/ledger")).json()
    assert [p["id"] for p in ledger["payments"]] == [first["id"]]
    assert ledger["payments"][0]["idempotence_key"] == key


async def test_numeric_and_string_amount_count_as_the_same_body(
    provider: httpx.AsyncClient,
) -> None:
    body, key = payment_body("10.50"), new_key()
    first = (await create(provider, body, key)).json()
    raw = httpx.Request("POST", "/", json=body).content.replace(b'"10.50"', b"10.50")
    second = await provider.post(
        "/v3/payments",
        content=raw,
        headers={"Idempotence-Key": key, "Content-Type": "application/json"},
    )
    assert second.json()["id"] == first["id"]


async def test_same_key_other_body_is_refused_as_duplicated_key(
    provider: httpx.AsyncClient,
) -> None:
    key = new_key()
    await create(provider, payment_body("499.00"), key)
    response = await create(provider, payment_body("1.00"), key)
    assert response.status_code == 400
    error = response.json()
    assert error["type"] == "error"
    assert error["code"] == "invalid_request"
    assert "Idempotence key" in error["description"]
    assert error["parameter"] == "Idempotence-Key"
    assert len((await provider.get("/sandbox/ledger")).json()["payments"]) == 1


async def test_missing_idempotence_key_is_400(provider: httpx.AsyncClient) -> None:
    response = await provider.post("/v3/payments", json=payment_body())
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert response.json()["parameter"] == "Idempotence-Key"
    uuid.UUID(response.json()["id"])


async def test_invalid_amounts_are_refused(provider: httpx.AsyncClient) -> None:
    for value in ["0.00", "-1.00", "1.001", "abc", "NaN", None]:
        response = await create(provider, payment_body(value), new_key())  # type: ignore[arg-type]
        assert response.status_code == 400, value
        assert response.json()["parameter"] == "amount.value"
    bad_currency = payment_body()
    bad_currency["amount"] = {"value": "1.00", "currency": "XXX"}
    response = await create(provider, bad_currency, new_key())
    assert response.json()["parameter"] == "amount.currency"
    assert (await provider.get("/sandbox/ledger")).json()["payments"] == []


async def test_body_that_is_not_json_is_invalid_request(provider: httpx.AsyncClient) -> None:
    response = await provider.post(
        "/v3/payments", content=b"{nope", headers={"Idempotence-Key": new_key()}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


async def test_wrong_basic_credentials_are_refused(provider: httpx.AsyncClient) -> None:
    for auth in [httpx.BasicAuth(SHOP_ID, "wrong"), httpx.BasicAuth("1", "unit-test-secret")]:
        response = await provider.post(
            "/v3/payments", json=payment_body(), headers={"Idempotence-Key": new_key()}, auth=auth
        )
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_credentials"
    provider.auth = None  # type: ignore[assignment]
    assert (await provider.get(f"/v3/payments/{uuid.uuid4()}")).status_code == 401


async def test_get_unknown_payment_is_not_found(provider: httpx.AsyncClient) -> None:
    response = await provider.get(f"/v3/payments/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_get_payment_returns_current_state(provider: httpx.AsyncClient) -> None:
    created = (await create(provider, payment_body(), new_key())).json()
    fetched = await provider.get(f"/v3/payments/{created['id']}")
    assert fetched.json() == created
