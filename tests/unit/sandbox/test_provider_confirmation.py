"""The payment page, the confirm hook and the webhooks they trigger."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx

from sandbox.provider.app import create_app as create_provider
from sandbox.provider.settings import ProviderSettings
from tests.unit.sandbox.conftest import (
    SECRET,
    SHOP_ID,
    WebhookInbox,
    create_payment,
    serve,
)

SUCCESS, DECLINED = "4242424242424242", "4000000000000002"


async def confirm(client: httpx.AsyncClient, payment_id: str, card: str) -> httpx.Response:
    return await client.post(f"/sandbox/payments/{payment_id}/confirm", json={"card_number": card})


async def delivered(client: httpx.AsyncClient, object_id: str) -> dict[str, Any]:
    for _ in range(200):
        response = await client.get("/sandbox/deliveries", params={"object_id": object_id})
        [delivery] = response.json()["items"]
        if delivery["status"] == "delivered":
            return dict(delivery)
        await asyncio.sleep(0.02)
    raise AssertionError(f"delivery still {delivery['status']}")


async def test_success_card_captures_payment(provider: httpx.AsyncClient) -> None:
    payment = await create_payment(provider, "499.00")
    confirmed = (await confirm(provider, payment["id"], SUCCESS)).json()
    assert confirmed["status"] == "succeeded"
    assert confirmed["paid"] is True
    assert confirmed["captured_at"].endswith("Z")
    assert confirmed["refundable"] is True
    assert confirmed["refunded_amount"] == {"value": "0.00", "currency": "RUB"}
    assert confirmed["income_amount"] == {"value": "481.53", "currency": "RUB"}
    assert confirmed["payment_method"]["card"]["last4"] == "4242"
    ledger = (await provider.get("/sandbox/ledger")).json()
    assert ledger["captured_total"] == "499.00"


async def test_declined_card_cancels_payment(provider: httpx.AsyncClient) -> None:
    payment = await create_payment(provider)
    confirmed = (await confirm(provider, payment["id"], DECLINED)).json()
    assert confirmed["status"] == "canceled"
    assert confirmed["paid"] is False
    assert confirmed["cancellation_details"] == {
        "party": "payment_network",
        "reason": "card_expired",
    }
    assert (await provider.get("/sandbox/ledger")).json()["captured_total"] == "0.00"


async def test_confirming_a_final_payment_changes_nothing(provider: httpx.AsyncClient) -> None:
    payment = await create_payment(provider)
    first = (await confirm(provider, payment["id"], DECLINED)).json()
    again = (await confirm(provider, payment["id"], SUCCESS)).json()
    assert again == first
    assert again["status"] == "canceled"


async def test_unknown_card_is_refused_and_payment_stays_pending(
    provider: httpx.AsyncClient,
) -> None:
    payment = await create_payment(provider)
    response = await confirm(provider, payment["id"], "1111222233334444")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert (await provider.get(f"/v3/payments/{payment['id']}")).json()["status"] == "pending"


async def test_checkout_page_shows_a_card_form(provider: httpx.AsyncClient) -> None:
    payment = await create_payment(provider, "123.45")
    page = await provider.get(f"/checkout/{payment['id']}")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert 'name="card_number"' in page.text
    assert "123.45 RUB" in page.text


async def test_checkout_form_pays_and_redirects_to_return_url(
    provider: httpx.AsyncClient,
) -> None:
    payment = await create_payment(provider)
    response = await provider.post(
        f"/checkout/{payment['id']}", data={"card_number": "4242 4242 4242 4242"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "https://cinema.test/return"
    assert (await provider.get(f"/v3/payments/{payment['id']}")).json()["status"] == "succeeded"


async def test_checkout_form_with_unknown_card_shows_the_form_again(
    provider: httpx.AsyncClient,
) -> None:
    payment = await create_payment(provider)
    response = await provider.post(f"/checkout/{payment['id']}", data={"card_number": "1234"})
    assert response.status_code == 422
    assert 'name="card_number"' in response.text
    assert "not accepted" in response.text
    assert (await provider.get(f"/v3/payments/{payment['id']}")).json()["status"] == "pending"


async def test_checkout_of_unknown_payment_is_404(provider: httpx.AsyncClient) -> None:
    assert (await provider.get("/checkout/nope")).status_code == 404


async def test_final_payment_emits_one_webhook_with_the_object(
    provider: httpx.AsyncClient, webhook_inbox: WebhookInbox
) -> None:
    paid = await create_payment(provider)
    declined = await create_payment(provider)
    await confirm(provider, paid["id"], SUCCESS)
    await confirm(provider, declined["id"], DECLINED)
    await webhook_inbox.wait_for(2)
    assert webhook_inbox.events(paid["id"]) == ["payment.succeeded"]
    assert webhook_inbox.events(declined["id"]) == ["payment.canceled"]
    body = next(b for _, b in webhook_inbox.received if b["object"]["id"] == paid["id"])
    assert body["type"] == "notification"
    assert body["object"]["status"] == "succeeded"


async def test_webhook_is_retried_with_backoff_until_200(
    provider: httpx.AsyncClient, webhook_inbox: WebhookInbox
) -> None:
    webhook_inbox.script = [500, 503]
    payment = await create_payment(provider)
    await confirm(provider, payment["id"], SUCCESS)
    await webhook_inbox.wait_for(3)
    times = [t for t, _ in webhook_inbox.received]
    assert times[2] - times[1] > times[1] - times[0] >= 0.04
    delivery = await delivered(provider, payment["id"])
    assert delivery["attempts"] == 3
    assert len(delivery["attempted_at"]) == 3


async def _last_error(client: httpx.AsyncClient, object_id: str) -> str:
    for _ in range(200):
        response = await client.get("/sandbox/deliveries", params={"object_id": object_id})
        [delivery] = response.json()["items"]
        if delivery["attempts"] >= 1:
            assert delivery["status"] == "pending"
            return str(delivery["last_error"])
        await asyncio.sleep(0.02)
    raise AssertionError("no attempt made")


async def test_a_webhook_the_receiver_refused_or_left_unanswered_stays_pending_with_why(
    provider_settings: ProviderSettings,
) -> None:
    """Connection refused and no answer in WEBHOOK_TIMEOUT_S are failed attempts, retried."""
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)  # reads nothing
    silent_port = silent.sockets[0].getsockname()[1]
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]  # bound, never listening: connections are refused
    cases = {closed_port: "ClientConnectorError", silent_port: "timeout: no answer in 0.2 s"}
    try:
        for port, why in cases.items():
            settings = provider_settings.model_copy(
                update={
                    "provider_webhook_url": f"http://127.0.0.1:{port}/hook",
                    "webhook_timeout_s": 0.2,
                    "provider_db_path": provider_settings.provider_db_path.with_suffix(f".{port}"),
                }
            )
            async for client in serve(create_provider(settings), "http://provider.test"):
                client.auth = httpx.BasicAuth(SHOP_ID, SECRET)
                payment = await create_payment(client)
                await confirm(client, payment["id"], SUCCESS)
                assert (await _last_error(client, payment["id"])).startswith(why)
    finally:
        closed.close()
        silent.close()
