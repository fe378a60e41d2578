"""Our refunds' description at the provider, `Refund <our id>`: written and read back in one
module (processors/provider/descriptions.py), by the client that sends it and the code that
tells our refunds from the dashboard's (external_refunds) and finds them by listing."""

import uuid
from decimal import Decimal

import pytest
from aiohttp import web
from provider_server import provider_client

from processors.provider.descriptions import refund_description, refund_id_in
from processors.provider.yookassa import RetryPolicy, refund_of

FAST = RetryPolicy(attempts=1, timeout_s=1.0, backoff_s=0.001)


def test_the_description_reads_back_as_the_refund_it_names() -> None:
    refund_id = uuid.uuid4()
    assert refund_id_in(refund_description(refund_id)) == refund_id
    assert refund_id_in(refund_description(refund_id).upper().replace("REFUND", "Refund")) == (
        refund_id
    )


@pytest.mark.parametrize(
    "description",
    [
        None,
        42,
        "",
        "Refund",
        "Refund not-a-uuid-at-all-but-thirty-six",
        "Refund ------------------------------------",
        f"Refund {uuid.uuid4()} (goodwill)",
        f"refund {uuid.uuid4()}",
        f"Возврат {uuid.uuid4()}",
    ],
)
def test_anything_else_names_none_of_ours(description: object) -> None:
    assert refund_id_in(description) is None


async def test_the_client_sends_it_and_reads_it_back_from_the_answer() -> None:
    sent: list[dict[str, object]] = []

    async def handler(request: web.Request) -> web.Response:
        body = await request.json()
        sent.append(body)
        answer = {"id": str(uuid.uuid4()), "status": "pending", "payment_id": "p1"}
        return web.json_response(answer | {"description": body["description"]})

    refund_id = uuid.uuid4()
    async with provider_client(handler, FAST) as client:
        obj = await client.create_refund(refund_id, "p1", Decimal("10"), "RUB")
    assert sent[0]["description"] == refund_description(refund_id)
    assert obj.our_refund_id == refund_id


def test_a_dashboard_refund_names_none_of_ours() -> None:
    obj = refund_of({"id": "r1", "status": "succeeded", "description": "Goodwill"})
    assert obj.our_refund_id is None
