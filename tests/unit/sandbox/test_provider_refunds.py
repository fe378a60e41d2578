"""POST/GET /v3/refunds: partial refunds, the refundable remainder, idempotence."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.unit.sandbox.conftest import WebhookInbox, create_payment, new_key, paid_payment


async def refund(
    client: httpx.AsyncClient, payment_id: str, value: str, key: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"payment_id": payment_id, "amount": {"value": value, "currency": "RUB"}}
    return await client.post(
        "/v3/refunds", json=body, headers={"Idempotence-Key": key or new_key()}
    )


async def test_partial_refunds_add_up_on_the_payment(provider: httpx.AsyncClient) -> None:
    payment = await paid_payment(provider, "499.00")
    first = await refund(provider, payment["id"], "100.00")
    assert first.status_code == 200
    body = first.json()
    assert body["status"] == "succeeded"
    assert body["payment_id"] == payment["id"]
    assert body["amount"] == {"value": "100.00", "currency": "RUB"}
    uuid.UUID(body["id"])
    await refund(provider, payment["id"], "0.50")
    now = (await provider.get(f"/v3/payments/{payment['id']}")).json()
    assert now["refunded_amount"] == {"value": "100.50", "currency": "RUB"}
    assert now["refundable"] is True
    ledger = (await provider.get("/sandbox/ledger")).json()
    assert ledger["refunded_total"] == "100.50"
    assert ledger["captured_total"] == "499.00"


async def test_refund_beyond_what_is_left_is_refused(provider: httpx.AsyncClient) -> None:
    payment = await paid_payment(provider, "499.00")
    assert (await refund(provider, payment["id"], "400.00")).status_code == 200
    response = await refund(provider, payment["id"], "99.01")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert (await refund(provider, payment["id"], "99.00")).status_code == 200
    now = (await provider.get(f"/v3/payments/{payment['id']}")).json()
    assert now["refunded_amount"]["value"] == "499.00"
    assert now["refundable"] is False
    assert (await refund(provider, payment["id"], "0.01")).status_code == 400
    assert len((await provider.get("/sandbox/ledger")).json()["refunds"]) == 2


async def test_refund_of_a_pending_payment_is_refused(provider: httpx.AsyncClient) -> None:
    payment = await create_payment(provider)
    response = await refund(provider, payment["id"], "1.00")
    assert response.status_code == 400
    assert response.json()["parameter"] == "payment_id"


async def test_refund_of_unknown_payment_is_refused(provider: httpx.AsyncClient) -> None:
    response = await refund(provider, str(uuid.uuid4()), "1.00")
    assert response.status_code == 400


async def test_refund_replay_with_same_key_refunds_once(provider: httpx.AsyncClient) -> None:
    payment = await paid_payment(provider)
    key = new_key()
    first = (await refund(provider, payment["id"], "10.00", key)).json()
    second = await refund(provider, payment["id"], "10.00", key)
    assert second.json() == first
    other = await refund(provider, payment["id"], "11.00", key)
    assert other.status_code == 400
    assert other.json()["description"] == "Idempotence key duplicated"
    assert (await provider.get(f"/v3/refunds/{first['id']}")).json() == first
    assert len((await provider.get("/sandbox/ledger")).json()["refunds"]) == 1


async def test_get_unknown_refund_is_not_found(provider: httpx.AsyncClient) -> None:
    assert (await provider.get(f"/v3/refunds/{uuid.uuid4()}")).status_code == 404


async def test_refund_emits_refund_succeeded_webhook(
    provider: httpx.AsyncClient, webhook_inbox: WebhookInbox
) -> None:
    payment = await paid_payment(provider)
    created = (await refund(provider, payment["id"], "5.00")).json()
    await webhook_inbox.wait_for(2)
    assert webhook_inbox.events(created["id"]) == ["refund.succeeded"]


async def test_ledger_rows_carry_keys_metadata_and_amounts(provider: httpx.AsyncClient) -> None:
    payment = await paid_payment(provider, "42.00")
    key = new_key()
    await refund(provider, payment["id"], "2.00", key)
    ledger = (await provider.get("/sandbox/ledger")).json()
    [row] = ledger["payments"]
    assert row["id"] == payment["id"]
    assert row["status"] == "succeeded"
    assert row["amount"] == {"value": "42.00", "currency": "RUB"}
    assert row["metadata"] == payment["metadata"]
    assert row["created_at"] == payment["created_at"]
    [refund_row] = ledger["refunds"]
    assert refund_row["idempotence_key"] == key
    assert refund_row["payment_id"] == payment["id"]


async def test_the_ledger_of_one_user_holds_their_payments_and_refunds_only(
    provider: httpx.AsyncClient,
) -> None:
    mine = await paid_payment(provider, "499.00")
    theirs = await paid_payment(provider, "199.00")
    await create_payment(provider)
    assert (await refund(provider, mine["id"], "100.00")).status_code == 200
    assert (await refund(provider, theirs["id"], "199.00")).status_code == 200
    user_id = mine["metadata"]["user_id"]

    ledger = (await provider.get("/sandbox/ledger", params={"user_id": user_id})).json()

    assert [p["id"] for p in ledger["payments"]] == [mine["id"]]
    assert [r["payment_id"] for r in ledger["refunds"]] == [mine["id"]]
    assert (ledger["captured_total"], ledger["refunded_total"]) == ("499.00", "100.00")
    everyone = (await provider.get("/sandbox/ledger")).json()
    assert (len(everyone["payments"]), len(everyone["refunds"])) == (3, 2)
