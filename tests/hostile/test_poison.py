"""Poison and refunds from outside the pipeline, against the running stack (issue 10.4, 10.7).

* A message on the commands topic that no version of ours can read (someone with Kafka
  access, a broken writer) reaches billing.dlq.v1 with its reason and does not hold the
  user's lane: the same user's next payment goes through.
* A forged `refund.succeeded` (a refund the provider never made) records nothing.
* A refund made in the provider's dashboard, notified again and again, is recorded once.
"""

import asyncio
import json
import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from tests.chaos.stack import StackUrls
from tests.e2e.fixtures import ledger
from tests.stack.conftest import Stack, User
from tests.stack.flows import (
    eventually,
    external_id,
    get_payment,
    pay,
    refund_in_dashboard,
    roles,
    wait_for_status,
)

SETTLE_S = 4.0  # long enough for the processor to have handled a queued notification


def _webhook(stack: Stack) -> str:
    return f"{stack.gateway}/api/v1/webhooks/yookassa"


async def test_a_poison_command_is_dead_lettered_and_the_users_next_payment_goes_through(
    http: httpx.AsyncClient, stack: Stack, user: User, urls: StackUrls, db: asyncpg.Pool
) -> None:
    marker = uuid.uuid4().hex
    poison = {"type": "CreatePayment", "message_id": str(uuid.uuid4()), "plan_id": marker}
    producer = AIOKafkaProducer(bootstrap_servers=urls.kafka, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            "billing.commands.v1", json.dumps(poison).encode(), key=str(user.id).encode()
        )
    finally:
        await producer.stop()

    payment = await pay(http, stack, user)  # same user, same Kafka key: the same lane
    payment = await wait_for_status(
        http, stack, user, payment["payment_id"], lambda p: p["confirmation_url"] is not None
    )
    assert payment["status"] == "pending"

    async def letter() -> Any:
        return await db.fetchrow(
            "SELECT consumer, origin_topic, error, key FROM payments_history.dead_letters"
            " WHERE payload LIKE '%' || $1 || '%'",
            marker,
        )

    row = await eventually(letter, lambda r: r is not None)
    assert row is not None, "the poison message was not dead-lettered"
    await db.execute(  # handled: no pending dead letter left for the stack's operator
        "DELETE FROM payments_history.dead_letters WHERE payload LIKE '%' || $1 || '%'", marker
    )
    assert (row["consumer"], row["origin_topic"], row["key"]) == (
        "processor-commands",
        "billing.commands.v1",
        str(user.id),
    )
    assert row["error"].startswith("undecodable: ")


async def test_a_forged_refund_notification_records_no_refund(
    http: httpx.AsyncClient, stack: Stack, user: User, paid_payment: dict[str, Any]
) -> None:
    await eventually(lambda: roles(http, stack, user), lambda r: "subscriber" in r)
    forged = {
        "id": str(uuid.uuid4()),
        "payment_id": external_id(paid_payment),
        "status": "succeeded",
        "amount": {"value": paid_payment["amount"], "currency": "RUB"},
    }
    body = {"type": "notification", "event": "refund.succeeded", "object": forged}

    response = await http.post(_webhook(stack), json=body)
    await asyncio.sleep(SETTLE_S)

    assert response.status_code == 200, response.text
    now = await get_payment(http, stack, user, paid_payment["payment_id"])
    assert (now["refunded_amount"], now["refunded"]) == ("0.00", False)
    assert "subscriber" in await roles(http, stack, user)


async def test_a_dashboard_refund_notified_again_and_again_is_recorded_once(
    http: httpx.AsyncClient,
    stack: Stack,
    user: User,
    paid_payment: dict[str, Any],
    db: asyncpg.Pool,
) -> None:
    made = await refund_in_dashboard(http, stack, paid_payment, "100.00")
    assert made.status_code == 200, made.text
    body = {"type": "notification", "event": "refund.succeeded", "object": made.json()}
    replays = [await http.post(_webhook(stack), json=body) for _ in range(3)]
    assert {r.status_code for r in replays} == {200}

    done = await eventually(
        lambda: get_payment(http, stack, user, paid_payment["payment_id"]),
        lambda p: Decimal(p["refunded_amount"]) > 0,
    )
    await asyncio.sleep(SETTLE_S)  # every replay handled
    now = await get_payment(http, stack, user, paid_payment["payment_id"])
    assert Decimal(done["refunded_amount"]) == Decimal(now["refunded_amount"]) == Decimal("100")
    rows = await db.fetch(
        "SELECT status, requested_by FROM payments_history.refunds WHERE payment_id = $1",
        uuid.UUID(paid_payment["payment_id"]),
    )
    assert [tuple(r) for r in rows] == [("succeeded", "provider")]
    assert [r["id"] for r in (await ledger(http, stack))["refunds"]].count(made.json()["id"]) == 1
