"""54-FZ receipts (``PROVIDER_RECEIPTS_REQUIRED=1``): checked, then ``receipt_registration``."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import httpx
import pytest

from tests.unit.sandbox.conftest import new_key, payment_body, receipt


async def create(client: httpx.AsyncClient, body: dict[str, object]) -> httpx.Response:
    return await client.post("/v3/payments", json=body, headers={"Idempotence-Key": new_key()})


def broken(path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    bad: dict[str, Any] = copy.deepcopy(receipt())
    target: Any = bad
    for part in path[:-1]:
        target = target[part]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return bad


@pytest.mark.parametrize(
    "bad",
    [
        None,
        broken(("customer",), {"full_name": "No Contact"}),
        broken(("items", 0, "vat_code"), 13),
        broken(("items", 0, "payment_mode"), "whenever"),
        broken(("items", 0, "payment_subject"), None),
        broken(("items", 0, "amount", "value"), "400.00"),
        broken(("items", 0, "quantity"), "0"),
        broken(("items", 0, "agent_type"), "agent"),
        broken(("items",), []),
    ],
)
async def test_payment_without_a_valid_receipt_is_refused(
    tuned_provider: httpx.AsyncClient, bad: dict[str, Any] | None
) -> None:
    body = payment_body("499.00") if bad is None else payment_body("499.00", receipt=bad)
    response = await create(tuned_provider, body)
    assert response.status_code == 400, response.text
    assert (response.json()["code"], response.json()["parameter"]) == ("invalid_request", "receipt")
    assert (await tuned_provider.get("/sandbox/ledger")).json()["payments"] == []


async def test_receipt_registration_goes_pending_then_succeeded(
    tuned_provider: httpx.AsyncClient,
) -> None:
    body = payment_body("499.00", receipt=receipt(phone="79000000000"))
    created = (await create(tuned_provider, body)).json()
    assert created["receipt_registration"] == "pending"
    paid = await tuned_provider.post(
        f"/sandbox/payments/{created['id']}/confirm", json={"card_number": "4242424242424242"}
    )
    assert paid.json()["receipt_registration"] == "pending"
    await asyncio.sleep(0.3)
    now = (await tuned_provider.get(f"/v3/payments/{created['id']}")).json()
    assert now["receipt_registration"] == "succeeded"


async def test_refund_needs_a_receipt_for_its_own_amount(tuned_provider: httpx.AsyncClient) -> None:
    created = (await create(tuned_provider, payment_body("499.00", receipt=receipt()))).json()
    await tuned_provider.post(
        f"/sandbox/payments/{created['id']}/confirm", json={"card_number": "4242424242424242"}
    )
    refund = {"payment_id": created["id"], "amount": {"value": "100.00", "currency": "RUB"}}
    for bad in (None, receipt("499.00")):
        body = refund if bad is None else {**refund, "receipt": bad}
        response = await tuned_provider.post(
            "/v3/refunds", json=body, headers={"Idempotence-Key": new_key()}
        )
        assert (response.status_code, response.json()["parameter"]) == (400, "receipt")
    ok = await tuned_provider.post(
        "/v3/refunds",
        json={**refund, "receipt": receipt("100.00")},
        headers={"Idempotence-Key": new_key()},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["receipt_registration"] == "pending"


async def test_receipts_are_optional_when_the_shop_has_them_off(
    provider: httpx.AsyncClient,
) -> None:
    plain = (await create(provider, payment_body())).json()
    assert "receipt_registration" not in plain
    with_receipt = await create(provider, payment_body("499.00", receipt=receipt()))
    assert with_receipt.json()["receipt_registration"] == "pending"
    invalid = await create(provider, payment_body("499.00", receipt=receipt("1.00")))
    assert (invalid.status_code, invalid.json()["parameter"]) == (400, "receipt")


@pytest.fixture
def receipts_required_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``make test PROVIDER_RECEIPTS_REQUIRED=1`` exports for the stack's sandbox."""
    monkeypatch.setenv("PROVIDER_RECEIPTS_REQUIRED", "1")


async def test_the_unit_shop_keeps_receipts_off_whatever_the_environment_says(
    receipts_required_in_env: None, provider: httpx.AsyncClient
) -> None:
    """Requested before ``provider``, the variable is set when its settings are built: the
    unit tests' shop must not pick it up, or every receipt-less create here is a 400."""
    plain = await create(provider, payment_body())
    assert plain.status_code == 200, plain.text
    assert (await provider.get("/v3/me")).json()["fiscalization_enabled"] is False
