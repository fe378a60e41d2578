"""/sandbox/faults: injected errors, latency, hangs after commit, webhook faults."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.unit.sandbox.conftest import (
    WebhookInbox,
    create_payment,
    new_key,
    paid_payment,
    payment_body,
)


async def set_faults(client: httpx.AsyncClient, **faults: object) -> None:
    response = await client.post("/sandbox/faults", json=faults)
    assert response.status_code == 200, response.text


async def test_error_rate_one_fails_v3_calls_before_doing_anything(
    provider: httpx.AsyncClient,
) -> None:
    await set_faults(provider, error_rate=1.0)
    response = await provider.post(
        "/v3/payments", json=payment_body(), headers={"Idempotence-Key": new_key()}
    )
    assert response.status_code == 500
    assert response.json()["code"] == "internal_server_error"
    assert (await provider.get("/sandbox/ledger")).json()["payments"] == []
    await provider.delete("/sandbox/faults")
    assert (await provider.get("/sandbox/faults")).json()["error_rate"] == 0.0


async def test_seeded_error_rate_is_reproducible(provider: httpx.AsyncClient) -> None:
    async def outcomes() -> list[int]:
        await set_faults(provider, error_rate=0.5, seed=7)
        calls = [provider.get("/v3/payments/x") for _ in range(12)]
        return [(await call).status_code for call in calls]

    first = await outcomes()
    assert set(first) == {404, 500}
    assert await outcomes() == first


async def test_latency_delays_v3_answers(provider: httpx.AsyncClient) -> None:
    await set_faults(provider, latency_ms=150)
    started = time.monotonic()
    await provider.get("/v3/payments/x")
    assert time.monotonic() - started >= 0.15


async def test_timeout_after_commit_keeps_the_payment_and_replay_returns_it(
    provider: httpx.AsyncClient,
) -> None:
    await set_faults(provider, timeout_after_commit_rate=1.0)
    body, key = payment_body(), new_key()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(
            provider.post("/v3/payments", json=body, headers={"Idempotence-Key": key}), 0.5
        )
    [row] = (await provider.get("/sandbox/ledger")).json()["payments"]
    assert row["idempotence_key"] == key
    await provider.delete("/sandbox/faults")
    replay = await provider.post("/v3/payments", json=body, headers={"Idempotence-Key": key})
    assert replay.json()["id"] == row["id"]


async def test_drop_webhook_records_dropped_delivery_and_sends_nothing(
    provider: httpx.AsyncClient, webhook_inbox: WebhookInbox
) -> None:
    await set_faults(provider, drop_webhook_rate=1.0)
    payment = await paid_payment(provider)
    await asyncio.sleep(0.3)
    assert webhook_inbox.received == []
    response = await provider.get("/sandbox/deliveries", params={"object_id": payment["id"]})
    assert [d["status"] for d in response.json()["items"]] == ["dropped"]


async def test_duplicate_webhook_is_delivered_twice(
    provider: httpx.AsyncClient, webhook_inbox: WebhookInbox
) -> None:
    await set_faults(provider, duplicate_webhook_rate=1.0)
    payment = await paid_payment(provider)
    await webhook_inbox.wait_for(2)
    assert webhook_inbox.events(payment["id"]) == ["payment.succeeded", "payment.succeeded"]


async def test_webhook_delay_holds_deliveries_back(
    provider: httpx.AsyncClient, webhook_inbox: WebhookInbox
) -> None:
    await set_faults(provider, webhook_delay_ms=400)
    started = time.monotonic()
    await paid_payment(provider)
    await webhook_inbox.wait_for(1)
    assert webhook_inbox.received[0][0] - started >= 0.4


async def test_fault_rates_outside_zero_one_are_rejected(provider: httpx.AsyncClient) -> None:
    response = await provider.post("/sandbox/faults", json={"error_rate": 1.5})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert response.json()["parameter"] == "error_rate"


async def test_faults_do_not_touch_sandbox_hooks(provider: httpx.AsyncClient) -> None:
    payment = await create_payment(provider)
    await set_faults(provider, error_rate=1.0)
    response = await provider.post(
        f"/sandbox/payments/{payment['id']}/confirm", json={"card_number": "4242424242424242"}
    )
    assert response.status_code == 200
