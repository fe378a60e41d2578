"""What a client and a card holder do, step by step, against the running stack."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from common.settings import Settings
from tests.stack.client import Client
from tests.stack.conftest import Stack, User

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
FINAL = {"succeeded", "canceled", "failed"}


async def eventually(
    probe: Callable[[], Awaitable[Any]],
    done: Callable[[Any], bool],
    within: float = 30,
    every: float = 0.2,
) -> Any:
    """Poll `probe` every `every` s until `done(result)`; return the last result either way."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await probe()
        if done(result) or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(every)


async def pay(
    http: Client,
    stack: Stack,
    user: User,
    key: str | None = None,
    plan: str = "monthly",
    prefer: str | None = "wait=10",
) -> dict[str, Any]:
    headers = {**user.headers, "Idempotency-Key": key or str(uuid.uuid4())}
    if prefer:
        headers["Prefer"] = prefer
    response = await http.post(
        f"{stack.gateway}/api/v1/payments",
        json={"plan_id": plan, "return_url": "https://cinema.example/thanks"},
        headers=headers,
    )
    assert response.status_code in (201, 202), response.text
    return response.json()


async def get_payment(http: Client, stack: Stack, user: User, payment_id: str) -> dict[str, Any]:
    response = await http.get(f"{stack.gateway}/api/v1/payments/{payment_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def wait_for_status(
    http: Client,
    stack: Stack,
    user: User,
    payment_id: str,
    done: Callable[[Any], bool],
    every: float = 0.2,
) -> dict[str, Any]:
    return await eventually(lambda: get_payment(http, stack, user, payment_id), done, every=every)


async def confirm(http: Client, stack: Stack, payment: dict[str, Any], card: str) -> None:
    """The card holder pays on the provider's page (the sandbox hook runs the same code path)."""
    external_id = payment["confirmation_url"].rstrip("/").rsplit("/", 1)[-1]
    response = await http.post(
        f"{stack.provider}/sandbox/payments/{external_id}/confirm", json={"card_number": card}
    )
    assert response.status_code == 200, response.text


async def paid(http: httpx.AsyncClient, stack: Stack, user: User) -> dict[str, Any]:
    """A payment taken all the way to succeeded."""
    payment = await pay(http, stack, user)
    payment = await wait_for_status(
        http, stack, user, payment["payment_id"], lambda p: p["confirmation_url"] is not None
    )
    await confirm(http, stack, payment, GOOD_CARD)
    return await wait_for_status(
        http, stack, user, payment["payment_id"], lambda p: p["status"] == "succeeded"
    )


async def refund(
    http: httpx.AsyncClient,
    stack: Stack,
    user: User,
    payment_id: str,
    amount: str | None = None,
    key: str | None = None,
) -> httpx.Response:
    return await http.post(
        f"{stack.gateway}/api/v1/payments/{payment_id}/refunds",
        json={} if amount is None else {"amount": amount},
        headers={**user.headers, "Idempotency-Key": key or str(uuid.uuid4())},
    )


def external_id(payment: dict[str, Any]) -> str:
    """The provider's id of one of our payments (the last part of its confirmation URL)."""
    return str(payment["confirmation_url"]).rstrip("/").rsplit("/", 1)[-1]


async def refund_in_dashboard(
    http: httpx.AsyncClient,
    stack: Stack,
    payment: dict[str, Any],
    amount: str,
    description: str | None = None,
) -> httpx.Response:
    """The shop's operator refunds ``amount`` of ``payment`` at the provider, not through us.

    The dashboard uses the shop's credentials and, on a shop with 54-FZ receipts, attaches
    a refund receipt filled from the payment's (`refund_receipt_like`); a payment sent
    without one gets a refund without one, as on a shop with receipts off."""
    settings = Settings()
    paid_with = await provider_payment(http, stack, external_id(payment))
    body: dict[str, Any] = {
        "payment_id": paid_with["id"],
        "amount": {"value": amount, "currency": payment["currency"]},
    }
    if description is not None:
        body["description"] = description
    if paid_with["receipt"] is not None:
        body["receipt"] = refund_receipt_like(paid_with["receipt"], amount, payment["currency"])
    return await http.post(
        f"{stack.provider}/v3/refunds",
        json=body,
        headers={"Idempotence-Key": str(uuid.uuid4())},
        auth=(settings.provider_shop_id, settings.provider_secret_key.get_secret_value()),
    )


async def provider_payment(http: httpx.AsyncClient, stack: Stack, payment_id: str) -> Any:
    """The provider's ledger entry of one payment: what it was sent, receipt included."""
    ledger = (await http.get(f"{stack.provider}/sandbox/ledger")).json()
    return next(p for p in ledger["payments"] if p["id"] == payment_id)


def refund_receipt_like(receipt: dict[str, Any], amount: str, currency: str) -> dict[str, Any]:
    """A refund receipt as the dashboard fills it: the payment's customer and the kind of its
    first line (description, VAT, mode, subject), one unit for exactly the refunded amount."""
    first = receipt["items"][0]
    item = {**first, "quantity": "1", "amount": {"value": amount, "currency": currency}}
    return {"customer": dict(receipt["customer"]), "items": [item]}


async def subscription(http: httpx.AsyncClient, stack: Stack, user: User) -> dict[str, Any]:
    response = await http.get(f"{stack.gateway}/api/v1/subscription", headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def ledger_for(http: httpx.AsyncClient, stack: Stack, user: User) -> dict[str, list[Any]]:
    params = {"user_id": str(user.id)}
    ledger = (await http.get(f"{stack.provider}/sandbox/ledger", params=params)).json()
    return {"payments": ledger["payments"], "refunds": ledger["refunds"]}


async def roles(http: Client, stack: Stack, user: User) -> list[str]:
    response = await http.get(f"{stack.auth}/api/v1/users/{user.id}/roles")
    return list(response.json()["roles"])


async def notifications(http: Client, stack: Stack, user: User) -> list[dict[str, Any]]:
    response = await http.get(
        f"{stack.notify}/api/v1/notifications", params={"user_id": str(user.id)}
    )
    return list(response.json()["items"])
