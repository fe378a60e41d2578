"""Webhooks are never trusted for money: lies, junk and replays change nothing and never 5xx.

The gateway only queues a notification; the processor re-reads the payment from the
provider. So a forged "succeeded" for a pending payment must leave it pending, and a
replayed genuine notification must not move, grant or notify anything again.
"""

import asyncio
import copy
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.fixtures import ledger
from tests.stack.conftest import Stack, User
from tests.stack.flows import (
    eventually,
    get_payment,
    notifications,
    pay,
    refund,
    roles,
    wait_for_status,
)

SETTLE_S = 4.0  # long enough for the processor to have handled a queued notification


def _url(stack: Stack) -> str:
    return f"{stack.gateway}/api/v1/webhooks/yookassa"


def _notification(event: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"type": "notification", "event": event, "object": obj}


async def _provider_payment(
    http: httpx.AsyncClient, stack: Stack, payment_id: str
) -> dict[str, Any]:
    book = await ledger(http, stack)
    return next(p for p in book["payments"] if p["metadata"].get("payment_id") == payment_id)


async def _pending(http: httpx.AsyncClient, stack: Stack, user: User) -> dict[str, Any]:
    payment = await pay(http, stack, user)
    return await wait_for_status(
        http, stack, user, payment["payment_id"], lambda p: p["confirmation_url"] is not None
    )


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'"notification"',
        b"{}",
        b'{"type": "notification"}',
        b'{"type": "notification", "event": 7, "object": []}',
        b"\xff\xfe\x00",
    ],
)
async def test_a_body_that_is_not_a_notification_is_400(
    http: httpx.AsyncClient, stack: Stack, body: bytes
) -> None:
    response = await http.post(
        _url(stack), content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"]


async def test_unknown_event_and_unknown_payment_change_nothing(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    before = await ledger(http, stack)
    ghost = {
        "id": str(uuid.uuid4()),
        "status": "succeeded",
        "paid": True,
        "amount": {"value": "499.00", "currency": "RUB"},
        "metadata": {},
    }

    answers = [
        await http.post(_url(stack), json=_notification("payment.teleported", ghost)),
        await http.post(_url(stack), json=_notification("payment.succeeded", ghost)),
        await http.post(_url(stack), json=_notification("refund.succeeded", ghost)),
    ]
    await asyncio.sleep(SETTLE_S)

    assert all(r.status_code < 500 for r in answers), [r.text for r in answers]
    after = await ledger(http, stack)
    assert (len(after["payments"]), len(after["refunds"])) >= (
        len(before["payments"]),
        len(before["refunds"]),
    )
    assert not any(p["id"] == ghost["id"] for p in after["payments"])


@pytest.mark.parametrize("lie", ["status the provider does not confirm", "wrong amount"])
async def test_a_forged_success_for_a_pending_payment_leaves_it_pending(
    http: httpx.AsyncClient, stack: Stack, user: User, lie: str
) -> None:
    payment = await _pending(http, stack, user)
    obj = copy.deepcopy(await _provider_payment(http, stack, payment["payment_id"]))
    obj.update(status="succeeded", paid=True)
    if lie == "wrong amount":
        obj["amount"] = {"value": "1.00", "currency": "RUB"}

    response = await http.post(_url(stack), json=_notification("payment.succeeded", obj))
    await asyncio.sleep(SETTLE_S)

    assert response.status_code < 500, response.text
    now = await get_payment(http, stack, user, payment["payment_id"])
    assert now["status"] == "pending"
    assert "subscriber" not in await roles(http, stack, user)
    assert (await _provider_payment(http, stack, payment["payment_id"]))["status"] == "pending"


async def test_a_replayed_genuine_notification_changes_nothing(
    http: httpx.AsyncClient, stack: Stack, user: User, paid_payment: dict[str, Any]
) -> None:
    """Paid, then fully refunded; the old payment.succeeded arrives again."""
    payment_id = paid_payment["payment_id"]
    response = await refund(http, stack, user, payment_id)
    assert response.status_code == 202, response.text
    refunded = await wait_for_status(http, stack, user, payment_id, lambda p: p["refunded"])
    assert refunded["refunded"] is True
    await eventually(lambda: roles(http, stack, user), lambda r: "subscriber" not in r)
    # The revoke's own notification follows the role's removal by a consumer hop or two:
    # the snapshot is taken once it is there, or the replay would be blamed for it.
    sent_before = await eventually(
        lambda: notifications(http, stack, user),
        lambda items: "subscription_revoked" in {n["template"] for n in items},
    )
    genuine = await _provider_payment(http, stack, payment_id)
    genuine = genuine | {"status": "succeeded", "paid": True}

    replay = await http.post(_url(stack), json=_notification("payment.succeeded", genuine))
    await asyncio.sleep(SETTLE_S)

    assert replay.status_code == 200, replay.text
    assert await get_payment(http, stack, user, payment_id) == refunded
    assert "subscriber" not in await roles(http, stack, user)
    sent_after = await notifications(http, stack, user)
    fresh = lambda items: [n for n in items if not n["duplicate"]]  # noqa: E731
    assert fresh(sent_after) == fresh(sent_before)


async def test_an_oversized_webhook_is_413(http: httpx.AsyncClient, stack: Stack) -> None:
    filler = "x" * (2 * 1024 * 1024)
    body = _notification("payment.succeeded", {"id": str(uuid.uuid4()), "filler": filler})

    response = await http.post(_url(stack), json=body)

    assert response.status_code == 413, response.status_code


async def test_an_oversized_payment_request_is_413(
    http: httpx.AsyncClient, stack: Stack, user: User
) -> None:
    body = {"plan_id": "monthly", "return_url": "https://cinema.example/" + "a" * 2_000_000}

    response = await http.post(
        f"{stack.gateway}/api/v1/payments",
        json=body,
        headers={**user.headers, "Idempotency-Key": str(uuid.uuid4())},
    )

    assert response.status_code == 413, response.status_code
