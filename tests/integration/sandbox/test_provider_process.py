"""The real provider process over HTTP: what the billing pipeline relies on."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.sandbox.conftest import (
    SHOP_ID,
    SimulatorProcess,
    WebhookReceiver,
    provider_process,
)

SUCCESS, DECLINED = "4242424242424242", "4000000000000002"


def body(value: str = "499.00") -> dict[str, Any]:
    return {
        "amount": {"value": value, "currency": "RUB"},
        "capture": True,
        "confirmation": {"type": "redirect", "return_url": "https://cinema.test/back"},
        "description": "Monthly subscription",
        "metadata": {"payment_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4())},
    }


def create(client: httpx.Client, payload: dict[str, Any], key: str) -> httpx.Response:
    return client.post("/v3/payments", json=payload, headers={"Idempotence-Key": key})


def new_payment(client: httpx.Client, value: str = "499.00") -> dict[str, Any]:
    response = create(client, body(value), str(uuid.uuid4()))
    assert response.status_code == 200, response.text
    payment: dict[str, Any] = response.json()
    return payment


def confirm(client: httpx.Client, payment_id: str, card: str = SUCCESS) -> dict[str, Any]:
    response = client.post(f"/sandbox/payments/{payment_id}/confirm", json={"card_number": card})
    assert response.status_code == 200, response.text
    payment: dict[str, Any] = response.json()
    return payment


def refund(client: httpx.Client, payment_id: str, value: str) -> httpx.Response:
    payload = {"payment_id": payment_id, "amount": {"value": value, "currency": "RUB"}}
    return client.post("/v3/refunds", json=payload, headers={"Idempotence-Key": str(uuid.uuid4())})


def ledger_ids(client: httpx.Client, key: str) -> list[str]:
    rows = client.get("/sandbox/ledger").json()["payments"]
    return [row["id"] for row in rows if row["idempotence_key"] == key]


def test_same_key_same_body_returns_same_payment_and_no_new_ledger_row(
    provider: httpx.Client,
) -> None:
    payload, key = body(), str(uuid.uuid4())
    first = create(provider, payload, key).json()
    second = create(provider, payload, key)
    assert second.status_code == 200
    assert second.json()["id"] == first["id"]
    assert ledger_ids(provider, key) == [first["id"]]


def test_same_key_other_body_is_400_and_charges_nothing(provider: httpx.Client) -> None:
    key = str(uuid.uuid4())
    first = create(provider, body("499.00"), key).json()
    response = create(provider, body("1.00"), key)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert "Idempotence key" in response.json()["description"]
    assert ledger_ids(provider, key) == [first["id"]]


def test_success_card_on_the_payment_page_pays_and_redirects(provider: httpx.Client) -> None:
    payment = new_payment(provider)
    page = httpx.get(payment["confirmation"]["confirmation_url"])
    assert page.status_code == 200 and 'name="card_number"' in page.text
    submitted = httpx.post(
        payment["confirmation"]["confirmation_url"], data={"card_number": SUCCESS}
    )
    assert submitted.status_code == 303
    assert submitted.headers["location"] == "https://cinema.test/back"
    now = provider.get(f"/v3/payments/{payment['id']}").json()
    assert now["status"] == "succeeded" and now["paid"] is True


def test_declined_card_cancels_the_payment(provider: httpx.Client) -> None:
    payment = new_payment(provider)
    canceled = confirm(provider, payment["id"], DECLINED)
    assert canceled["status"] == "canceled"
    assert canceled["cancellation_details"]["party"] == "payment_network"
    row = next(
        r for r in provider.get("/sandbox/ledger").json()["payments"] if r["id"] == payment["id"]
    )
    assert row["status"] == "canceled"


def test_partial_refunds_then_refund_beyond_what_is_left_is_refused(provider: httpx.Client) -> None:
    payment = new_payment(provider, "300.00")
    confirm(provider, payment["id"])
    assert refund(provider, payment["id"], "100.00").status_code == 200
    assert refund(provider, payment["id"], "150.00").status_code == 200
    refused = refund(provider, payment["id"], "50.01")
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_request"
    now = provider.get(f"/v3/payments/{payment['id']}").json()
    assert now["refunded_amount"] == {"value": "250.00", "currency": "RUB"}


def test_wrong_basic_auth_is_refused(provider_proc: SimulatorProcess) -> None:
    response = httpx.post(
        f"{provider_proc.url}/v3/payments",
        json=body(),
        headers={"Idempotence-Key": str(uuid.uuid4())},
        auth=(SHOP_ID, "not-the-secret"),
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_webhook_is_retried_with_backoff_until_the_receiver_answers_200(
    provider: httpx.Client, receiver: WebhookReceiver
) -> None:
    payment = new_payment(provider)
    receiver.failures[payment["id"]] = 2
    confirm(provider, payment["id"])
    attempts = receiver.wait_for(payment["id"], 3)
    time.sleep(1.0)
    attempts = receiver.deliveries(payment["id"])
    assert [status for _, _, status in attempts] == [500, 500, 200]
    assert {event for _, event, _ in attempts} == {"payment.succeeded"}
    gaps = [b[0] - a[0] for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps[0] >= 0.4
    assert gaps[1] >= 1.5 * gaps[0]


def test_duplicate_webhook_fault_delivers_twice(
    provider: httpx.Client, receiver: WebhookReceiver
) -> None:
    provider.post("/sandbox/faults", json={"duplicate_webhook_rate": 1.0}).raise_for_status()
    payment = new_payment(provider)
    confirm(provider, payment["id"])
    delivered = receiver.wait_for(payment["id"], 2)
    assert [event for _, event, _ in delivered] == ["payment.succeeded"] * 2


def test_drop_webhook_fault_delivers_nothing_and_records_it(
    provider: httpx.Client, receiver: WebhookReceiver
) -> None:
    provider.post("/sandbox/faults", json={"drop_webhook_rate": 1.0}).raise_for_status()
    payment = new_payment(provider)
    confirm(provider, payment["id"])
    time.sleep(1.0)
    assert receiver.deliveries(payment["id"]) == []
    items = provider.get("/sandbox/deliveries", params={"object_id": payment["id"]}).json()
    assert [d["status"] for d in items["items"]] == ["dropped"]


def test_timeout_after_commit_keeps_the_payment_and_the_retry_returns_it(
    provider: httpx.Client,
) -> None:
    provider.post("/sandbox/faults", json={"timeout_after_commit_rate": 1.0}).raise_for_status()
    payload, key = body(), str(uuid.uuid4())
    with pytest.raises(httpx.ReadTimeout):
        provider.post("/v3/payments", json=payload, headers={"Idempotence-Key": key}, timeout=1.0)
    [charged] = ledger_ids(provider, key)
    provider.delete("/sandbox/faults").raise_for_status()
    retry = create(provider, payload, key)
    assert retry.json()["id"] == charged
    assert ledger_ids(provider, key) == [charged]


def test_ledger_and_faults_survive_kill_9(
    tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver
) -> None:
    proc = provider_process(tmp_path_factory.mktemp("restart"), receiver)
    proc.start()
    try:
        with httpx.Client(base_url=proc.url, auth=(SHOP_ID, "integration-secret-key")) as client:
            paid = new_payment(client, "10.00")
            confirm(client, paid["id"])
            refund(client, paid["id"], "3.00").raise_for_status()
            new_payment(client, "20.00")
            client.post("/sandbox/faults", json={"latency_ms": 1}).raise_for_status()
            before = client.get("/sandbox/ledger").json()
            proc.kill9()
            proc.start()
            assert client.get("/sandbox/ledger").json() == before
            assert client.get("/sandbox/faults").json()["latency_ms"] == 1
            assert before["captured_total"] == "10.00" and before["refunded_total"] == "3.00"
    finally:
        proc.stop()


def test_pending_webhook_is_delivered_after_a_restart(
    tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver
) -> None:
    proc = provider_process(tmp_path_factory.mktemp("resume"), receiver)
    proc.start()
    try:
        with httpx.Client(base_url=proc.url, auth=(SHOP_ID, "integration-secret-key")) as client:
            payment = new_payment(client)
            receiver.failures[payment["id"]] = 1_000_000
            confirm(client, payment["id"])
            receiver.wait_for(payment["id"], 1)
            proc.kill9()
            receiver.failures[payment["id"]] = 0
            proc.start()
            delivered = receiver.wait_for(payment["id"], 2)
            assert delivered[-1][2] == 200
    finally:
        proc.stop()
