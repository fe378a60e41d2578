"""``GET /v3/payments`` and ``GET /v3/refunds``: YooKassa's list object, filters, cursor."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from sandbox.clock import now_iso
from tests.unit.sandbox.conftest import create_payment, new_key, paid_payment


async def all_pages(client: httpx.AsyncClient, path: str, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        response = await client.get(path, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["type"] == "list"
        assert len(page["items"]) <= int(params.get("limit", "10"))
        items += page["items"]
        if "next_cursor" not in page:
            return items
        params["cursor"] = page["next_cursor"]


async def after_millisecond_of(created_at: str) -> None:
    """Return once the clock has left the millisecond `created_at` names: two payments
    created within one millisecond are the same moment for every time filter."""
    await asyncio.sleep(0.002)
    assert now_iso() > created_at


async def test_payments_list_pages_newest_first_without_gaps(provider: httpx.AsyncClient) -> None:
    created = [(await create_payment(provider, f"{n}.00"))["id"] for n in range(1, 6)]
    listed = await all_pages(provider, "/v3/payments", limit="2")
    assert [p["id"] for p in listed] == created[::-1]


async def test_payments_list_filters_by_time_range_and_status(provider: httpx.AsyncClient) -> None:
    before = await create_payment(provider)
    await after_millisecond_of(before["created_at"])  # the filters' resolution
    paid = await paid_payment(provider)
    pending = await create_payment(provider)
    window = {"created_at.gte": paid["created_at"], "created_at.lt": "2999-01-01T00:00:00Z"}
    in_window = await all_pages(provider, "/v3/payments", **window)
    assert [p["id"] for p in in_window] == [pending["id"], paid["id"]]
    succeeded = await all_pages(provider, "/v3/payments", status="succeeded", **window)
    assert [p["id"] for p in succeeded] == [paid["id"]]
    earlier = await all_pages(provider, "/v3/payments", **{"created_at.lt": paid["created_at"]})
    assert before["id"] in [p["id"] for p in earlier]
    assert paid["id"] not in [p["id"] for p in earlier]


async def test_refunds_list_filters_by_payment(provider: httpx.AsyncClient) -> None:
    payment = await paid_payment(provider)
    refund_ids = []
    for value in ("1.00", "2.00"):
        body = {"payment_id": payment["id"], "amount": {"value": value, "currency": "RUB"}}
        response = await provider.post(
            "/v3/refunds", json=body, headers={"Idempotence-Key": new_key()}
        )
        refund_ids.append(response.json()["id"])
    listed = await all_pages(provider, "/v3/refunds", payment_id=payment["id"], limit="1")
    assert [r["id"] for r in listed] == refund_ids[::-1]


async def test_unsupported_or_bad_list_parameters_are_refused(provider: httpx.AsyncClient) -> None:
    cases = {
        "metadata.user_id": "x",
        "limit": "101",
        "cursor": "not-a-cursor",
        "created_at.gte": "yesterday",
        "status": "paid",
    }
    for name, value in cases.items():
        response = await provider.get("/v3/payments", params={name: value})
        assert response.status_code == 400, name
        body = response.json()
        assert (body["type"], body["code"], body["parameter"]) == ("error", "invalid_request", name)
