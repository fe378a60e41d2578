"""CONTRACT §2 flows end to end through the running stack: gateway → Kafka → processors →
provider → webhooks → consumers → Auth and Notifications. Ground truth is the sandbox ledger."""

import asyncio
import uuid
from decimal import Decimal

import httpx
import pytest

from tests.stack.conftest import Stack, User
from tests.stack.flows import (
    DECLINED_CARD,
    FINAL,
    confirm,
    eventually,
    get_payment,
    ledger_for,
    notifications,
    paid,
    pay,
    refund,
    roles,
    subscription,
    wait_for_status,
)

pytestmark = pytest.mark.e2e


async def test_paid_subscription_grants_the_role_and_notifies(
    http: httpx.AsyncClient, stack: Stack, user: User
) -> None:
    payment = await paid(http, stack, user)

    assert payment["status"] == "succeeded"
    sub = await eventually(lambda: subscription(http, stack, user), lambda s: s["active"])
    assert sub["active"] is True and sub["plan_id"] == "monthly" and sub["expires_at"]
    assert "subscriber" in await eventually(
        lambda: roles(http, stack, user), lambda r: "subscriber" in r
    )
    sent = await eventually(
        lambda: notifications(http, stack, user),
        lambda items: any(n["template"] == "payment_succeeded" for n in items),
    )
    assert [n["template"] for n in sent if not n["duplicate"]].count("payment_succeeded") == 1
    ledger = await ledger_for(http, stack, user)
    assert [p["status"] for p in ledger["payments"]] == ["succeeded"]


async def test_full_refund_revokes_the_subscription(
    http: httpx.AsyncClient, stack: Stack, user: User
) -> None:
    payment = await paid(http, stack, user)
    await eventually(lambda: subscription(http, stack, user), lambda s: s["active"])

    response = await refund(http, stack, user, payment["payment_id"])

    assert response.status_code == 202, response.text
    assert Decimal(response.json()["amount"]) == Decimal(payment["amount"])
    done = await wait_for_status(http, stack, user, payment["payment_id"], lambda p: p["refunded"])
    assert Decimal(done["refunded_amount"]) == Decimal(done["amount"])
    sub = await eventually(lambda: subscription(http, stack, user), lambda s: not s["active"])
    assert sub["active"] is False
    assert "subscriber" not in await eventually(
        lambda: roles(http, stack, user), lambda r: "subscriber" not in r
    )
    refund_id = response.json()["refund_id"]
    got = await http.get(f"{stack.gateway}/api/v1/refunds/{refund_id}", headers=user.headers)
    assert got.json()["status"] == "succeeded"


async def test_a_user_refund_takes_the_policys_amount_once_and_ends_access(
    http: httpx.AsyncClient, stack: Stack, user: User
) -> None:
    """Issue 9: a self-refund of 498.99 of 499.00 used to keep the subscription."""
    payment = await paid(http, stack, user)
    chosen = await refund(http, stack, user, payment["payment_id"], "498.99")
    assert chosen.status_code == 422 and chosen.json()["error"]["code"] == "amount_not_allowed"
    first = await refund(http, stack, user, payment["payment_id"])
    assert first.status_code == 202 and first.json()["amount"] == "499.00", first.text
    done = await wait_for_status(http, stack, user, payment["payment_id"], lambda p: p["refunded"])
    assert done["refunded_amount"] == "499.00"

    nothing_left = await refund(http, stack, user, payment["payment_id"])
    assert nothing_left.status_code == 409
    refunds = (await ledger_for(http, stack, user))["refunds"]
    assert [Decimal(r["amount"]["value"]) for r in refunds] == [Decimal("499.00")]
    ended = await eventually(
        lambda: subscription(http, stack, user), lambda s: s["active"] is False
    )
    assert ended["status"] == "canceled"


async def test_declined_card_cancels_the_payment_and_grants_nothing(
    http: httpx.AsyncClient, stack: Stack, user: User
) -> None:
    payment = await pay(http, stack, user)
    payment = await wait_for_status(
        http, stack, user, payment["payment_id"], lambda p: p["confirmation_url"] is not None
    )
    await confirm(http, stack, payment, DECLINED_CARD)

    done = await wait_for_status(
        http, stack, user, payment["payment_id"], lambda p: p["status"] in FINAL
    )
    assert done["status"] == "canceled"
    await eventually(lambda: notifications(http, stack, user), lambda items: len(items) > 0)
    assert (await subscription(http, stack, user))["active"] is False
    assert "subscriber" not in await roles(http, stack, user)


async def test_replayed_payment_request_charges_once(
    http: httpx.AsyncClient, stack: Stack, user: User
) -> None:
    key = f"replay-{uuid.uuid4()}"
    first, second = await asyncio.gather(
        pay(http, stack, user, key=key), pay(http, stack, user, key=key)
    )
    third = await pay(http, stack, user, key=key)

    assert first["payment_id"] == second["payment_id"] == third["payment_id"]
    await wait_for_status(
        http, stack, user, first["payment_id"], lambda p: p["confirmation_url"] is not None
    )
    assert len((await ledger_for(http, stack, user))["payments"]) == 1


async def test_same_key_with_another_body_is_refused(
    http: httpx.AsyncClient, stack: Stack, user: User
) -> None:
    key = f"reuse-{uuid.uuid4()}"
    await pay(http, stack, user, key=key, plan="monthly")
    response = await http.post(
        f"{stack.gateway}/api/v1/payments",
        json={"plan_id": "yearly", "return_url": "https://cinema.example/thanks"},
        headers={**user.headers, "Idempotency-Key": key},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"


async def test_racing_refunds_for_the_same_money_refund_once(
    http: httpx.AsyncClient, stack: Stack, user: User
) -> None:
    payment = await paid(http, stack, user)

    responses = await asyncio.gather(
        *(refund(http, stack, user, payment["payment_id"]) for _ in range(4))
    )

    assert any(r.status_code == 202 for r in responses)
    await wait_for_status(http, stack, user, payment["payment_id"], lambda p: p["refunded"])
    await asyncio.sleep(2)  # let any loser reach the provider if it (wrongly) could
    refunds = (await ledger_for(http, stack, user))["refunds"]
    assert sum(Decimal(r["amount"]["value"]) for r in refunds) == Decimal(payment["amount"])


async def test_refund_of_an_unpaid_payment_sends_nothing(
    http: httpx.AsyncClient, stack: Stack, user: User
) -> None:
    payment = await pay(http, stack, user)
    response = await refund(http, stack, user, payment["payment_id"])
    assert response.status_code == 409
    assert (await ledger_for(http, stack, user))["refunds"] == []


async def test_another_users_payment_is_not_found(
    http: httpx.AsyncClient, stack: Stack, user: User
) -> None:
    payment = await pay(http, stack, user)
    stranger_id = uuid.uuid4()
    token = (
        await http.post(f"{stack.auth}/api/v1/token", json={"user_id": str(stranger_id)})
    ).json()["access_token"]
    stranger = User(id=stranger_id, headers={"Authorization": f"Bearer {token}"})

    assert (
        await http.get(
            f"{stack.gateway}/api/v1/payments/{payment['payment_id']}", headers=stranger.headers
        )
    ).status_code == 404
    assert (await refund(http, stack, stranger, payment["payment_id"])).status_code == 404
    assert (await get_payment(http, stack, user, payment["payment_id"]))["payment_id"]
