"""Bad money is 422 and nothing reaches the provider; amounts beyond what is left are refused."""

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e.fixtures import provider_refunds_of
from tests.stack.conftest import Stack, User
from tests.stack.flows import pay, refund, wait_for_status

BAD_AMOUNTS: dict[str, bytes] = {
    "negative": b'{"amount": "-1.00"}',
    "negative number": b'{"amount": -100}',
    "zero": b'{"amount": "0.00"}',
    "zero number": b'{"amount": 0}',
    "NaN string": b'{"amount": "NaN"}',
    "NaN literal": b'{"amount": NaN}',
    "Infinity literal": b'{"amount": Infinity}',
    "1e309": b'{"amount": 1e309}',
    "1e309 string": b'{"amount": "1e309"}',
    "20 decimals": b'{"amount": "1.00000000000000000001"}',
    "20 decimals number": b'{"amount": 1.00000000000000000001}',
    "3 decimals": b'{"amount": "1.005"}',
    "boolean": b'{"amount": true}',
    "object": b'{"amount": {"value": "1.00", "currency": "RUB"}}',
    "currency mismatch": b'{"amount": "100.00", "currency": "USD"}',
    "huge": b'{"amount": "99999999999999999999.00"}',
    "hex": b'{"amount": "0x10"}',
    "spaces": b'{"amount": " 1.00 "}',
}


async def _refund_raw(
    http: httpx.AsyncClient, stack: Stack, user: User, payment_id: str, body: bytes
) -> httpx.Response:
    return await http.post(
        f"{stack.gateway}/api/v1/payments/{payment_id}/refunds",
        content=body,
        headers={
            **user.headers,
            "Idempotency-Key": str(uuid.uuid4()),
            "Content-Type": "application/json",
        },
    )


async def test_every_bad_amount_is_422_and_nothing_is_sent_to_the_provider(
    http: httpx.AsyncClient, stack: Stack, user: User, paid_payment: dict[str, Any]
) -> None:
    payment_id = paid_payment["payment_id"]
    answers = {}
    for name, body in BAD_AMOUNTS.items():
        response = await _refund_raw(http, stack, user, payment_id, body)
        answers[name] = (response.status_code, response.text[:200])

    assert {n: a for n, a in answers.items() if a[0] != 422} == {}
    assert await provider_refunds_of(http, stack, payment_id) == []


async def test_a_user_chosen_amount_and_a_second_refund_are_refused_and_nothing_is_sent(
    http: httpx.AsyncClient, stack: Stack, user: User, paid_payment: dict[str, Any]
) -> None:
    """The refund policy sets the user's amount (CONTRACT §2); what it gave is all there is."""
    payment_id, amount = paid_payment["payment_id"], Decimal(paid_payment["amount"])
    chosen = await refund(http, stack, user, payment_id, amount=str(amount - Decimal("0.01")))
    assert chosen.status_code == 422 and chosen.json()["error"]["code"] == "amount_not_allowed"
    first = await refund(http, stack, user, payment_id)
    assert first.status_code == 202, first.text
    await wait_for_status(
        http, stack, user, payment_id, lambda p: Decimal(p["refunded_amount"]) > 0
    )

    again = await refund(http, stack, user, payment_id)

    assert again.status_code == 409, again.text
    sent = await provider_refunds_of(http, stack, payment_id)
    assert [r["amount"]["value"] for r in sent] == [str(amount)]


async def test_a_refund_of_a_payment_that_is_not_succeeded_is_refused_and_nothing_is_sent(
    http: httpx.AsyncClient, stack: Stack, user: User
) -> None:
    payment = await pay(http, stack, user)

    response = await refund(http, stack, user, payment["payment_id"])

    assert response.status_code in (409, 422), response.text
    assert await provider_refunds_of(http, stack, payment["payment_id"]) == []


@pytest.mark.parametrize("plan_id", ["no-such-plan", "", "monthly' OR '1'='1", "MONTHLY"])
async def test_an_unknown_plan_is_422(
    http: httpx.AsyncClient, stack: Stack, user: User, plan_id: str
) -> None:
    response = await http.post(
        f"{stack.gateway}/api/v1/payments",
        json={"plan_id": plan_id, "return_url": "https://cinema.example/"},
        headers={**user.headers, "Idempotency-Key": str(uuid.uuid4())},
    )

    assert response.status_code == 422, response.text
