"""Nobody sees or refunds another user's money: 404, as if it did not exist."""

from typing import Any

import httpx

from tests.e2e.fixtures import new_user, provider_refunds_of
from tests.stack.conftest import Stack, User
from tests.stack.flows import refund, wait_for_status


async def test_another_users_payment_and_refund_are_404_and_never_listed(
    http: httpx.AsyncClient, stack: Stack, user: User, paid_payment: dict[str, Any]
) -> None:
    payment_id = paid_payment["payment_id"]
    own = await refund(http, stack, user, payment_id)
    assert own.status_code == 202, own.text
    refund_id = own.json()["refund_id"]
    await wait_for_status(http, stack, user, payment_id, lambda p: p["refunded_amount"] != "0.00")
    intruder = await new_user(http, stack)

    payment = await http.get(
        f"{stack.gateway}/api/v1/payments/{payment_id}", headers=intruder.headers
    )
    refund_row = await http.get(
        f"{stack.gateway}/api/v1/refunds/{refund_id}", headers=intruder.headers
    )
    listed = await http.get(f"{stack.gateway}/api/v1/payments", headers=intruder.headers)
    stolen = await refund(http, stack, intruder, payment_id)

    assert payment.status_code == 404, payment.text
    assert refund_row.status_code == 404, refund_row.text
    assert stolen.status_code == 404, stolen.text
    assert listed.status_code == 200 and listed.json()["items"] == []
    assert len(await provider_refunds_of(http, stack, payment_id)) == 1


async def test_the_owner_still_sees_both(
    http: httpx.AsyncClient, stack: Stack, user: User, paid_payment: dict[str, Any]
) -> None:
    """The control case for the 404s above."""
    payment_id = paid_payment["payment_id"]

    payment = await http.get(f"{stack.gateway}/api/v1/payments/{payment_id}", headers=user.headers)
    listed = await http.get(f"{stack.gateway}/api/v1/payments", headers=user.headers)

    assert payment.status_code == 200
    assert [p["payment_id"] for p in listed.json()["items"]] == [payment_id]
