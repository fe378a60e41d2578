"""The provider outcomes the sandbox learned for issue 11, met by our own pipeline end to end:
an unpaid payment that expires, a refund that stays pending and settles by webhook, and a
provider that answers 429 for a while."""

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.stack.conftest import Stack, User
from tests.stack.flows import (
    eventually,
    get_payment,
    ledger_for,
    paid,
    pay,
    refund,
    wait_for_status,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
async def faults(http: httpx.AsyncClient, stack: Stack) -> AsyncIterator[str]:
    """The provider's fault URL; whatever a test sets is reset afterwards."""
    url = f"{stack.provider}/sandbox/faults"
    yield url
    await http.delete(url)


async def test_expired_pending_payment_becomes_canceled(
    http: httpx.AsyncClient, stack: Stack, user: User
) -> None:
    payment = await pay(http, stack, user)
    payment = await wait_for_status(
        http, stack, user, payment["payment_id"], lambda p: p["confirmation_url"] is not None
    )
    external_id = payment["confirmation_url"].rstrip("/").rsplit("/", 1)[-1]
    expired = await http.post(f"{stack.provider}/sandbox/payments/{external_id}/expire")
    assert expired.json()["cancellation_details"]["reason"] == "expired_on_confirmation"

    final = await wait_for_status(
        http, stack, user, payment["payment_id"], lambda p: p["status"] != "pending"
    )

    assert final["status"] == "canceled"
    [row] = (await ledger_for(http, stack, user))["payments"]
    assert row["cancellation_reason"] == "expired_on_confirmation"


async def test_pending_refund_settles_by_webhook(
    http: httpx.AsyncClient, stack: Stack, user: User, faults: str
) -> None:
    payment = await paid(http, stack, user)
    await http.post(faults, json={"refund_pending_rate": 1.0})

    response = await refund(http, stack, user, payment["payment_id"])
    assert response.status_code == 202, response.text
    refund_id = response.json()["refund_id"]

    async def ours() -> dict[str, object]:
        got = await http.get(f"{stack.gateway}/api/v1/refunds/{refund_id}", headers=user.headers)
        return dict(got.json())

    settled = await eventually(ours, lambda r: r["status"] in ("succeeded", "failed"), within=45)
    assert settled["status"] == "succeeded"
    [provider_refund] = (await ledger_for(http, stack, user))["refunds"]
    assert provider_refund["status"] == "succeeded"
    assert (await get_payment(http, stack, user, payment["payment_id"]))["refunded"] is True


async def test_payment_goes_through_a_throttling_provider(
    http: httpx.AsyncClient, stack: Stack, user: User, faults: str
) -> None:
    await http.post(faults, json={"too_many_requests_rate": 0.5, "retry_after_s": 1, "seed": 11})
    payment = await paid(http, stack, user)
    assert payment["status"] == "succeeded"
    assert len((await ledger_for(http, stack, user))["payments"]) == 1


async def test_gateway_takes_refund_canceled_notifications(
    http: httpx.AsyncClient, stack: Stack, user: User, faults: str
) -> None:
    payment = await paid(http, stack, user)
    await http.post(faults, json={"refund_pending_rate": 1.0})
    response = await refund(http, stack, user, payment["payment_id"])
    assert response.status_code == 202, response.text
    rows = await eventually(
        lambda: ledger_for(http, stack, user), lambda book: bool(book["refunds"]), within=30
    )
    [provider_refund] = rows["refunds"]
    body = {"status": "canceled", "reason": "rejected_by_payee"}
    await http.post(f"{stack.provider}/sandbox/refunds/{provider_refund['id']}/settle", json=body)

    async def deliveries() -> list[dict[str, object]]:
        got = await http.get(
            f"{stack.provider}/sandbox/deliveries", params={"object_id": provider_refund["id"]}
        )
        return list(got.json()["items"])

    def delivered(items: list[dict[str, object]]) -> bool:
        return any(d["event"] == "refund.canceled" and d["status"] == "delivered" for d in items)

    sent = await eventually(deliveries, delivered, within=15)
    [canceled] = [d for d in sent if d["event"] == "refund.canceled"]
    assert canceled["status"] == "delivered", canceled
    refund_id = response.json()["refund_id"]

    async def ours() -> dict[str, object]:
        got = await http.get(f"{stack.gateway}/api/v1/refunds/{refund_id}", headers=user.headers)
        return dict(got.json())

    final = await eventually(ours, lambda r: r["status"] != "accepted", within=15)
    assert final["status"] == "failed"  # the money it held is free again
