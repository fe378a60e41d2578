"""What happens by itself: unpaid payments expire, pending refunds settle by webhook."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.unit.sandbox.conftest import (
    WebhookInbox,
    create_payment,
    new_key,
    paid_payment,
    payment_body,
    receipt,
)


async def eventually(client: httpx.AsyncClient, path: str, status: str) -> dict[str, Any]:
    for _ in range(100):
        body: dict[str, Any] = (await client.get(path)).json()
        if body["status"] == status:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} still {body['status']}, want {status}")


async def test_unpaid_payment_expires_with_webhook(
    tuned_provider: httpx.AsyncClient, webhook_inbox: WebhookInbox
) -> None:
    body = payment_body("499.00", receipt=receipt())
    created = await tuned_provider.post(
        "/v3/payments", json=body, headers={"Idempotence-Key": new_key()}
    )
    payment_id = created.json()["id"]
    expired = await eventually(tuned_provider, f"/v3/payments/{payment_id}", "canceled")
    assert expired["cancellation_details"] == {
        "party": "yoo_money",
        "reason": "expired_on_confirmation",
    }
    assert expired["receipt_registration"] == "canceled"
    await webhook_inbox.wait_for(1)
    assert webhook_inbox.events(payment_id) == ["payment.canceled"]
    late = await tuned_provider.post(
        f"/sandbox/payments/{payment_id}/confirm", json={"card_number": "4242424242424242"}
    )
    assert late.json()["status"] == "canceled"


async def refund(client: httpx.AsyncClient, payment_id: str, value: str) -> httpx.Response:
    body = {"payment_id": payment_id, "amount": {"value": value, "currency": "RUB"}}
    return await client.post("/v3/refunds", json=body, headers={"Idempotence-Key": new_key()})


async def test_pending_refund_reserves_then_succeeds_by_webhook(
    provider: httpx.AsyncClient, webhook_inbox: WebhookInbox
) -> None:
    payment = await paid_payment(provider, "10.00")
    await provider.post("/sandbox/faults", json={"refund_pending_rate": 1.0})
    pending = (await refund(provider, payment["id"], "6.00")).json()
    assert pending["status"] == "pending"
    over = await refund(provider, payment["id"], "5.00")
    assert (over.status_code, over.json()["parameter"]) == (400, "amount.value")
    assert (await provider.get("/sandbox/ledger")).json()["refunded_total"] == "0.00"
    settled = await eventually(provider, f"/v3/refunds/{pending['id']}", "succeeded")
    assert "cancellation_details" not in settled
    await webhook_inbox.wait_for(2)
    assert webhook_inbox.events(pending["id"]) == ["refund.succeeded"]
    paid = (await provider.get(f"/v3/payments/{payment['id']}")).json()
    assert paid["refunded_amount"]["value"] == "6.00"


async def test_canceled_pending_refund_gives_the_amount_back(
    provider: httpx.AsyncClient, webhook_inbox: WebhookInbox
) -> None:
    payment = await paid_payment(provider, "10.00")
    await provider.post(
        "/sandbox/faults", json={"refund_pending_rate": 1.0, "refund_canceled_rate": 1.0}
    )
    pending = (await refund(provider, payment["id"], "10.00")).json()
    canceled = await eventually(provider, f"/v3/refunds/{pending['id']}", "canceled")
    assert canceled["cancellation_details"]["party"] == "refund_network"
    await webhook_inbox.wait_for(2)
    assert webhook_inbox.events(pending["id"]) == ["refund.canceled"]
    await provider.delete("/sandbox/faults")
    assert (await refund(provider, payment["id"], "10.00")).json()["status"] == "succeeded"


async def test_settle_hook_cancels_a_pending_refund_now(provider: httpx.AsyncClient) -> None:
    payment = await paid_payment(provider, "10.00")
    await provider.post("/sandbox/faults", json={"refund_pending_rate": 1.0})
    pending = (await refund(provider, payment["id"], "3.00")).json()
    body = {"status": "canceled", "reason": "rejected_by_payee"}
    settled = await provider.post(f"/sandbox/refunds/{pending['id']}/settle", json=body)
    assert settled.json()["status"] == "canceled"
    assert settled.json()["cancellation_details"]["reason"] == "rejected_by_payee"
    again = await provider.post(f"/sandbox/refunds/{pending['id']}/settle", json=body)
    assert again.status_code == 400


async def test_default_provider_never_expires_a_fresh_payment(
    provider: httpx.AsyncClient,
) -> None:
    payment = await create_payment(provider)
    await asyncio.sleep(0.3)
    assert (await provider.get(f"/v3/payments/{payment['id']}")).json()["status"] == "pending"


async def test_expire_hook_runs_out_the_clock_now(
    provider: httpx.AsyncClient, webhook_inbox: WebhookInbox
) -> None:
    payment = await create_payment(provider)
    expired = await provider.post(f"/sandbox/payments/{payment['id']}/expire")
    assert expired.json()["status"] == "canceled"
    assert expired.json()["cancellation_details"]["reason"] == "expired_on_confirmation"
    await webhook_inbox.wait_for(1)
    assert webhook_inbox.events(payment["id"]) == ["payment.canceled"]
    again = await provider.post(f"/sandbox/payments/{payment['id']}/expire")
    assert again.status_code == 400
